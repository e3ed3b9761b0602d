//! The report's two tables — results (mean ± 95% CI, the best per column marked) and paired
//! differences to a baseline — as data, and rendered for a paper: `results.tex` (LaTeX, booktabs)
//! and `results.md` (Markdown). `report.html` renders the same [`Table`]s, so the three never
//! disagree.
//!
//! Differences are paired by replication: every strategy of a replication sees the same tasks
//! and faults (common random numbers), so the per-replication difference cancels most of the
//! workload's own variance and its t-interval is much narrower than the two strategies'
//! intervals side by side.

use std::fmt::Write as _;

use crate::compare::{direction, Direction};
use crate::stats::mean_ci95;
use crate::{MetricSummary, Summary};

/// The columns the tables can show: metric, heading, unit. Which way each is better (and so
/// whether a best is marked and a difference shown) is `compare`'s
/// [`DIRECTIONS`](crate::compare::DIRECTIONS).
const COLUMNS: &[(&str, &str, &str)] = &[
    ("mean_response_s", "mean response", "s"),
    ("p95_response_s", "p95 response", "s"),
    ("p99_response_s", "p99 response", "s"),
    ("throughput_per_s", "throughput", "/s"),
    ("balance_cv", "balance CV", ""),
    ("utilization_mean", "CPU utilisation", ""),
    ("detection_time_s", "detection", "s"),
    ("false_suspicions", "false suspicions", ""),
    ("recovery_time_s", "recovery", "s"),
    ("duplicate_executions", "duplicates", ""),
    ("failed_tasks", "failed tasks", ""),
];

/// A column of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// The metric's name in `summary.json`.
    pub metric: &'static str,
    /// Heading.
    pub heading: &'static str,
    /// Unit (empty for ratios and counts).
    pub unit: &'static str,
}

/// A cell: an estimate and its interval.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Nothing to show (the metric is missing or undefined).
    Empty,
    /// A mean with the half-width of its 95% interval (none with one replication).
    MeanHalf(f64, Option<f64>),
    /// A mean difference with its 95% interval (none with one replication).
    MeanInterval(f64, Option<(f64, f64)>),
}

/// A row: a strategy and its cells, one per column.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The strategy's label.
    pub label: String,
    /// One per column.
    pub cells: Vec<Cell>,
    /// Per column, whether this row holds the column's best value.
    pub best: Vec<bool>,
}

/// A table.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Columns, left to right (after the label column).
    pub columns: Vec<Column>,
    /// Rows, top to bottom.
    pub rows: Vec<Row>,
}

/// A number for a table: short, and `–` when undefined.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    let a = v.abs();
    if a >= 1000.0 || v == v.trunc() && a < 1e6 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

/// `mean ± half-width` of a metric across replications (the mean alone with one replication).
pub fn estimate(m: &MetricSummary) -> Cell {
    match m.ci95 {
        Some([lo, hi]) if m.mean.is_finite() => Cell::MeanHalf(m.mean, Some((hi - lo) / 2.0)),
        _ => Cell::MeanHalf(m.mean, None),
    }
}

/// Decimals that show a 95% half-width to two significant digits (at most 6; none from 10 up), so
/// an estimate carries no more digits than its interval supports; `None` for a zero or undefined
/// half-width.
pub fn decimals_for(half: f64) -> Option<usize> {
    if !(half.is_finite() && half > 0.0) {
        return None;
    }
    Some((1 - half.log10().floor() as i64).clamp(0, 6) as usize)
}

/// `v` with `decimals`, or `–` when undefined; a value that rounds to zero has no sign (`0.000`,
/// not `-0.000`).
fn fixed(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    let text = format!("{v:.decimals$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_string(),
        _ => text,
    }
}

/// A cell's numbers as text, rounded for showing.
enum Shown {
    Undefined,
    Plain(String),
    /// Estimate, half-width.
    Half(String, String),
    /// Estimate, interval ends.
    Interval(String, String, String),
}

impl Cell {
    /// Every number rounded to the decimals its interval supports ([`decimals_for`]).
    fn shown(&self) -> Shown {
        match *self {
            Cell::MeanHalf(mean, Some(half)) if mean.is_finite() => match decimals_for(half) {
                Some(d) => Shown::Half(fixed(mean, d), fixed(half, d)),
                None => Shown::Half(number(mean), number(half)),
            },
            Cell::MeanInterval(mean, Some((lo, hi))) if mean.is_finite() => match decimals_for((hi - lo) / 2.0) {
                Some(d) => Shown::Interval(fixed(mean, d), fixed(lo, d), fixed(hi, d)),
                None => Shown::Interval(number(mean), number(lo), number(hi)),
            },
            Cell::MeanHalf(mean, _) | Cell::MeanInterval(mean, _) if mean.is_finite() => Shown::Plain(number(mean)),
            _ => Shown::Undefined,
        }
    }

    /// The estimate as shown (rounded like [`Cell::text`]), `None` when undefined.
    fn shown_mean(&self) -> Option<f64> {
        match self.shown() {
            Shown::Undefined => None,
            Shown::Plain(mean) | Shown::Half(mean, _) | Shown::Interval(mean, ..) => mean.parse().ok(),
        }
    }

    /// Plain text: `1.23 ± 0.056`, `-1.00 [-1.25, -0.75]`, or `–`.
    pub fn text(&self) -> String {
        match self.shown() {
            Shown::Undefined => "–".to_string(),
            Shown::Plain(mean) => mean,
            Shown::Half(mean, half) => format!("{mean} ± {half}"),
            Shown::Interval(mean, lo, hi) => format!("{mean} [{lo}, {hi}]"),
        }
    }

    /// HTML: like [`Cell::text`], with the estimate and its interval each kept on one line (a
    /// narrow table breaks between them, never inside a number or an interval).
    pub fn html(&self) -> String {
        match self.shown() {
            Shown::Undefined => "–".to_string(),
            Shown::Plain(mean) => mean,
            Shown::Half(mean, half) => format!("<span class=\"n\">{mean} ±</span> <span class=\"n\">{half}</span>"),
            Shown::Interval(mean, lo, hi) => {
                format!("<span class=\"n\">{mean}</span> <span class=\"n\">[{lo}, {hi}]</span>")
            }
        }
    }

    /// LaTeX math: `$1.23 \pm 0.056$`, bold when `best`.
    fn latex(&self, best: bool) -> String {
        let body = match self.shown() {
            Shown::Undefined => return "--".to_string(),
            Shown::Plain(mean) => mean,
            Shown::Half(mean, half) => format!("{mean} \\pm {half}"),
            Shown::Interval(mean, lo, hi) => format!("{mean}\\ [{lo}, {hi}]"),
        };
        if best {
            format!("$\\mathbf{{{body}}}$")
        } else {
            format!("${body}$")
        }
    }
}

impl Column {
    /// `heading (unit)`, or the heading alone.
    pub fn title(&self) -> String {
        if self.unit.is_empty() {
            self.heading.to_string()
        } else {
            format!("{} ({})", self.heading, self.unit)
        }
    }
}

/// The results table: every column some strategy has a defined value for; in each column with a
/// direction, every strategy with the best mean marked (none when all are equal).
pub fn results(summary: &Summary) -> Table {
    let columns: Vec<Column> = COLUMNS
        .iter()
        .filter(|(metric, ..)| {
            summary.results.iter().any(|r| r.metrics.get(*metric).is_some_and(|m| m.mean.is_finite()))
        })
        .map(|&(metric, heading, unit)| Column { metric, heading, unit })
        .collect();
    // Per column, the best mean as shown (rounded to the digits its interval supports, so that
    // rows which read the same are marked alike); every row that reaches it is marked (ties
    // included), unless every row does (nothing then stands out).
    let cells: Vec<Vec<Cell>> = summary
        .results
        .iter()
        .map(|r| columns.iter().map(|c| r.metrics.get(c.metric).map_or(Cell::Empty, estimate)).collect())
        .collect();
    let best: Vec<Option<f64>> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let better = direction(c.metric)?;
            let values: Vec<f64> = cells.iter().filter_map(|row| row[i].shown_mean()).collect();
            let best = values.iter().copied().reduce(|a, b| match better {
                Direction::Lower => a.min(b),
                Direction::Higher => a.max(b),
            })?;
            (values.iter().any(|&v| v != best)).then_some(best)
        })
        .collect();
    let rows = summary
        .results
        .iter()
        .zip(cells)
        .map(|(r, cells)| Row {
            label: r.label.clone(),
            best: cells.iter().zip(&best).map(|(cell, b)| b.is_some() && *b == cell.shown_mean()).collect(),
            cells,
        })
        .collect();
    Table { columns, rows }
}

/// Per-replication differences (strategy − baseline) of every results column with a direction,
/// mean and 95% interval, for every strategy but the baseline; `None` with a single strategy or
/// a baseline out of range.
pub fn differences(summary: &Summary, baseline: usize) -> Option<Table> {
    let base = summary.results.get(baseline).filter(|_| summary.results.len() > 1)?;
    let columns: Vec<Column> = results(summary).columns.into_iter().filter(|c| direction(c.metric).is_some()).collect();
    let rows = summary
        .results
        .iter()
        .filter(|r| r.label != base.label)
        .map(|r| Row {
            label: r.label.clone(),
            cells: columns
                .iter()
                .map(|c| match (r.metrics.get(c.metric), base.metrics.get(c.metric)) {
                    (Some(a), Some(b)) => {
                        let d: Vec<f64> =
                            a.per_replication.iter().zip(&b.per_replication).map(|(x, y)| x - y).collect();
                        let (mean, ci) = mean_ci95(&d);
                        Cell::MeanInterval(mean, ci)
                    }
                    _ => Cell::Empty,
                })
                .collect(),
            best: vec![false; columns.len()],
        })
        .collect();
    Some(Table { columns, rows })
}

/// Escapes text for LaTeX's text mode.
pub fn latex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '<' => out.push_str("\\textless{}"),
            '>' => out.push_str("\\textgreater{}"),
            c => out.push(c),
        }
    }
    out
}

fn latex_tabular(out: &mut String, table: &Table, heading_prefix: &str) {
    let _ = writeln!(out, "\\begin{{tabular}}{{l{}}}", "r".repeat(table.columns.len()));
    let _ = writeln!(out, "\\toprule");
    let _ = write!(out, "strategy");
    for c in &table.columns {
        let _ = write!(out, " & {heading_prefix}{}", latex_escape(&c.title()));
    }
    let _ = writeln!(out, " \\\\\n\\midrule");
    for r in &table.rows {
        let _ = write!(out, "{}", latex_escape(&r.label));
        for (cell, best) in r.cells.iter().zip(&r.best) {
            let _ = write!(out, " & {}", cell.latex(*best));
        }
        let _ = writeln!(out, " \\\\");
    }
    let _ = writeln!(out, "\\bottomrule\n\\end{{tabular}}");
}

/// `results.tex`: the results table and the differences to the baseline as LaTeX `table`s
/// (needs `\usepackage{booktabs}`), each with a caption saying what the numbers are.
pub fn latex(summary: &Summary, baseline: usize) -> String {
    let mut out = String::new();
    let name = latex_escape(&summary.scenario.name);
    let _ = writeln!(
        out,
        "% Fulcrum {}: scenario {}, seed {}, SHA-256 {}. Needs \\usepackage{{booktabs}}.",
        summary.fulcrum_version, summary.scenario.name, summary.seed, summary.scenario.sha256
    );
    let _ = writeln!(out, "\\begin{{table}}\n\\centering");
    let _ = writeln!(
        out,
        "\\caption{{{name}: mean $\\pm$ half-width of the 95\\% Student-t interval over {} replications; the \
         best value of each column in bold.}}",
        summary.replications
    );
    latex_tabular(&mut out, &results(summary), "");
    let _ = writeln!(out, "\\end{{table}}");
    if let Some(diff) = differences(summary, baseline) {
        let base = latex_escape(&summary.results[baseline].label);
        let _ = writeln!(out, "\n\\begin{{table}}\n\\centering");
        let _ = writeln!(
            out,
            "\\caption{{{name}: differences to {base} (strategy $-$ {base}), paired by replication (the same \
             tasks and faults), mean and 95\\% interval.}}"
        );
        latex_tabular(&mut out, &diff, "$\\Delta$ ");
        let _ = writeln!(out, "\\end{{table}}");
    }
    out
}

fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn markdown_table(out: &mut String, table: &Table, heading_prefix: &str) {
    let _ = write!(out, "| strategy |");
    for c in &table.columns {
        let _ = write!(out, " {heading_prefix}{} |", markdown_cell(&c.title()));
    }
    let _ = write!(out, "\n|---|");
    for _ in &table.columns {
        let _ = write!(out, "---:|");
    }
    let _ = writeln!(out);
    for r in &table.rows {
        let _ = write!(out, "| {} |", markdown_cell(&r.label));
        for (cell, best) in r.cells.iter().zip(&r.best) {
            let text = markdown_cell(&cell.text());
            let _ = if *best { write!(out, " **{text}** |") } else { write!(out, " {text} |") };
        }
        let _ = writeln!(out);
    }
}

/// `results.md`: the same two tables in GitHub-flavoured Markdown.
pub fn markdown(summary: &Summary, baseline: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## {}\n\nMean ± half-width of the 95% Student-t interval over {} replications (seed {}); the best value \
         of each column in bold.\n",
        markdown_cell(&summary.scenario.name),
        summary.replications,
        summary.seed
    );
    markdown_table(&mut out, &results(summary), "");
    if let Some(diff) = differences(summary, baseline) {
        let base = markdown_cell(&summary.results[baseline].label);
        let _ = writeln!(
            out,
            "\nDifferences to {base} (strategy − {base}), paired by replication (the same tasks and faults), mean \
             and 95% interval:\n"
        );
        markdown_table(&mut out, &diff, "Δ ");
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{LabelSummary, ScenarioRef};
    use indexmap::IndexMap;

    fn label(name: &str, response: [f64; 3]) -> LabelSummary {
        let mut metrics = IndexMap::new();
        let (mean, ci) = mean_ci95(&response);
        metrics.insert(
            "mean_response_s".to_string(),
            MetricSummary { mean, ci95: ci.map(|(a, b)| [a, b]), per_replication: response.to_vec() },
        );
        LabelSummary {
            label: name.to_string(),
            balancer: name.to_string(),
            detector: "none".into(),
            failover: "reschedule".into(),
            metrics,
            alerts: IndexMap::new(),
        }
    }

    /// Two strategies: `random` (2, 3, 4 s) and `p2c & co` (1, 2.1, 2.9 s).
    pub(crate) fn summary() -> Summary {
        Summary {
            fulcrum_version: "0.1.0".into(),
            scenario: ScenarioRef { name: "s<1>".into(), sha256: "ab".into() },
            seed: 1,
            replications: 3,
            results: vec![label("random", [2.0, 3.0, 4.0]), label("p2c & co", [1.0, 2.1, 2.9])],
        }
    }

    #[test]
    fn the_best_is_marked_and_differences_are_paired() {
        let s = summary();
        let t = results(&s);
        assert_eq!(t.columns.len(), 1, "only columns with values");
        assert_eq!(t.rows[0].best, [false]);
        assert_eq!(t.rows[1].best, [true], "lower response is better");
        // random: mean 3, sd 1, t(2) = 4.303: half-width 4.303/√3 = 2.484.
        assert_eq!(t.rows[0].cells[0].text(), "3.0 ± 2.5");
        let d = differences(&s, 0).unwrap();
        assert_eq!(d.rows.len(), 1);
        // Paired differences −1.0, −0.9, −1.1: mean −1.0, half-width 4.303 · 0.1/√3 = 0.248.
        let Cell::MeanInterval(mean, Some((lo, hi))) = d.rows[0].cells[0] else { panic!("{:?}", d.rows[0]) };
        assert!((mean + 1.0).abs() < 1e-12 && ((hi - lo) / 2.0 - 0.2484).abs() < 1e-4);
        assert_eq!(d.rows[0].cells[0].text(), "-1.00 [-1.25, -0.75]");
        assert!(differences(&s, 5).is_none());
    }

    #[test]
    fn ties_for_the_best_are_all_marked_and_a_column_of_equals_none() {
        let mut s = summary();
        s.results.push(label("p2c again", [1.0, 2.1, 2.9]));
        let t = results(&s);
        let marked: Vec<bool> = t.rows.iter().map(|r| r.best[0]).collect();
        assert_eq!(marked, [false, true, true]);
        for r in &mut s.results {
            *r = label(&r.label.clone(), [0.0, 0.0, 0.0]);
        }
        assert!(results(&s).rows.iter().all(|r| r.best == [false]), "every strategy ties: nothing stands out");
    }

    #[test]
    fn rows_that_read_the_same_are_marked_alike() {
        // 17.99 ± 0.12 three times: the unrounded means differ in the fourth decimal, but a reader
        // sees the same number, so all three are marked; 17.96 is not.
        let mut s = summary();
        let throughput = |v: [f64; 3]| {
            let mut l = label("x", v);
            let m = l.metrics.shift_remove("mean_response_s").unwrap();
            l.metrics.insert("throughput_per_s".into(), m);
            l
        };
        s.results = [[17.90, 17.99, 18.08], [17.91, 17.99, 18.08], [17.90, 17.98, 18.09], [17.87, 17.96, 18.05]]
            .into_iter()
            .enumerate()
            .map(|(i, v)| LabelSummary { label: format!("s{i}"), ..throughput(v) })
            .collect();
        let t = results(&s);
        let shown: Vec<String> = t.rows.iter().map(|r| r.cells[0].text()).collect();
        let marked: Vec<bool> = t.rows.iter().map(|r| r.best[0]).collect();
        assert_eq!(shown[..3], ["17.99 ± 0.22", "17.99 ± 0.21", "17.99 ± 0.24"], "{shown:?}");
        assert_eq!(marked, [true, true, true, false], "{shown:?}");
    }

    #[test]
    fn estimates_carry_the_digits_their_interval_supports() {
        // The half-width to two significant digits, the mean to the same decimal place.
        assert_eq!(Cell::MeanHalf(17.96, Some(0.1064)).text(), "17.96 ± 0.11");
        assert_eq!(Cell::MeanHalf(38.239, Some(18.269)).text(), "38 ± 18");
        assert_eq!(Cell::MeanHalf(1234.4, Some(250.0)).text(), "1234 ± 250");
        assert_eq!(Cell::MeanHalf(0.04743, Some(0.00188)).text(), "0.0474 ± 0.0019");
        assert_eq!(Cell::MeanInterval(-1.163, Some((-3.258, 0.9332))).text(), "-1.2 [-3.3, 0.9]");
        assert_eq!(Cell::MeanInterval(-0.0004, Some((-0.0330, 0.0321))).text(), "0.000 [-0.033, 0.032]");
        // Without an interval, or with a zero one (identical replications), a short number.
        assert_eq!(Cell::MeanHalf(2.0, None).text(), "2");
        assert_eq!(Cell::MeanHalf(0.123456, Some(0.0)).text(), "0.1235 ± 0");
        assert_eq!(Cell::MeanHalf(f64::NAN, Some(1.0)).text(), "–");
        assert_eq!(Cell::Empty.text(), "–");
        assert_eq!(decimals_for(1e-12), Some(6));
        assert_eq!(decimals_for(f64::INFINITY), None);
    }

    #[test]
    fn latex_is_escaped_balanced_and_bolds_the_best() {
        let tex = latex(&summary(), 0);
        assert!(tex.contains("p2c \\& co"), "{tex}");
        assert!(tex.contains("s\\textless{}1\\textgreater{}"), "{tex}");
        assert!(tex.contains("$\\mathbf{2.0 \\pm 2.4}$"), "{tex}");
        assert!(tex.contains("$3.0 \\pm 2.5$"), "{tex}");
        assert!(tex.contains("$\\Delta$ mean response (s)"), "{tex}");
        assert_eq!(tex.matches("\\begin{table}").count(), 2);
        for env in ["table", "tabular", "center"] {
            assert_eq!(
                tex.matches(&format!("\\begin{{{env}}}")).count(),
                tex.matches(&format!("\\end{{{env}}}")).count(),
                "unbalanced {env}"
            );
        }
        assert_eq!(tex.matches('{').count(), tex.matches('}').count(), "{tex}");
        // Every row has as many cells as the header.
        for line in tex.lines().filter(|l| l.ends_with("\\\\")) {
            assert_eq!(line.matches(" & ").count(), 1, "{line}");
        }
    }

    #[test]
    fn markdown_rows_have_every_cell() {
        let md = markdown(&summary(), 1);
        assert!(md.contains("| strategy | mean response (s) |\n|---|---:|\n"), "{md}");
        assert!(md.contains("| p2c & co | **2.0 ± 2.4** |"), "{md}");
        assert!(md.contains("Differences to p2c & co"), "{md}");
        assert!(md.contains("| random | 1.00 [0.75, 1.25] |"), "{md}");
    }
}
