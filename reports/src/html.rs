//! `report.html`: one self-contained page (charts inline as SVG, no external assets) with the
//! scenario in brief, the results table (mean ± 95% CI, the best per column marked, differences to
//! a baseline with paired-replication intervals) and every chart with a line on what to read from
//! it.
//!
//! Differences to the baseline are paired by replication: every strategy of a replication sees
//! the same tasks and faults (common random numbers), so the per-replication difference cancels
//! most of the workload's own variance and its t-interval is much narrower than the two
//! strategies' intervals side by side.

use std::fmt::Write as _;

use crate::charts::Chart;
use crate::compare::{direction, Direction};
use crate::stats::mean_ci95;
use crate::{MetricSummary, Summary};

/// The columns of the results table: metric, heading, unit. Which way each is better (and so
/// whether a best is marked) is `compare`'s table, [`DIRECTIONS`](crate::compare::DIRECTIONS).
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

/// What to read from each chart, by chart name.
fn caption(name: &str) -> &'static str {
    match name {
        "balance" => "How evenly the load is spread over time: lower is more even; a strategy whose line climbs is piling work on some nodes.",
        "throughput" => "Completed tasks per second over time; vertical lines mark faults, and the dip after each shows how long the strategy took to recover.",
        "response_cdf" => "The share of tasks completed within x seconds: further left is faster; the right end is the tail that users notice.",
        "response_quantiles" => "Median, p95 and p99 response per strategy with 95% intervals: compare tails, not only means.",
        "utilisation" => "Mean utilisation of each resource by strategy: higher at equal throughput means less idle capacity; uneven dimensions mean stranded resources.",
        "recovery" => "Time from a fault until every task that was on the node is running again or done, per strategy combination.",
        "detection" => "Time from a fault to its suspicion, and suspicions of nodes that were fine: the trade-off every detector makes.",
        "detection_cdf" => "The share of faults detected within x seconds, pooled over replications: a long right tail is a detector that sometimes waits far longer than its mean.",
        "heatmap" => "Each node's CPU utilisation over time for the baseline strategy (rows grouped by node group): bright stripes are hot spots, dark ones idle nodes; faults show as rows going dark.",
        _ => "",
    }
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn number(v: f64) -> String {
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

fn cell(m: &MetricSummary) -> String {
    match m.ci95 {
        Some([lo, hi]) if m.mean.is_finite() => format!("{} ± {}", number(m.mean), number((hi - lo) / 2.0)),
        _ => number(m.mean),
    }
}

/// The page. `brief` holds lines describing the scenario (cluster, workload, faults); `charts`
/// the charts with their SVG text; `baseline` the index of the label differences are taken to.
pub fn report_html(summary: &Summary, brief: &[String], charts: &[(Chart, String)], baseline: usize) -> String {
    let mut out = String::new();
    let name = escape(&summary.scenario.name);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{name} — Fulcrum report</title>\n\
         <style>\nbody {{ font-family: sans-serif; max-width: 1300px; margin: 2em auto; color: #222; }}\n\
         table {{ border-collapse: collapse; font-size: 0.9em; }}\n\
         th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }}\n\
         th:first-child, td:first-child {{ text-align: left; }}\n\
         td.best {{ font-weight: bold; background: #e6f4e6; }}\n\
         figure {{ margin: 2em 0; }} figcaption {{ color: #555; margin-top: 0.5em; }}\n\
         svg {{ max-width: 100%; height: auto; }}\n</style>\n</head>\n<body>\n"
    );
    let _ = writeln!(out, "<h1>{name}</h1>");
    let _ = writeln!(
        out,
        "<p>Fulcrum {}, seed {}, {} replications per strategy; scenario SHA-256 <code>{}</code>.</p>",
        escape(&summary.fulcrum_version),
        summary.seed,
        summary.replications,
        escape(&summary.scenario.sha256)
    );
    let _ = writeln!(out, "<h2>Scenario</h2>\n<ul>");
    for line in brief {
        let _ = writeln!(out, "<li>{}</li>", escape(line));
    }
    let _ = writeln!(out, "</ul>");

    // Results table.
    let present: Vec<&(&str, &str, &str)> = COLUMNS
        .iter()
        .filter(|(metric, ..)| {
            summary.results.iter().any(|r| r.metrics.get(*metric).is_some_and(|m| m.mean.is_finite()))
        })
        .collect();
    let _ = writeln!(
        out,
        "<h2>Results</h2>\n<p>Mean ± half-width of the 95% Student-t interval over replications; the best \
         value of each column is marked.</p>\n<table>\n<tr><th>strategy</th>"
    );
    for (_, heading, unit) in &present {
        let unit = if unit.is_empty() { String::new() } else { format!(" ({unit})") };
        let _ = write!(out, "<th>{}{}</th>", escape(heading), escape(&unit));
    }
    let _ = writeln!(out, "</tr>");
    let best: Vec<Option<usize>> = present
        .iter()
        .map(|(metric, _, _)| {
            let better = direction(metric)?;
            let values = summary.results.iter().map(|r| r.metrics.get(*metric).map_or(f64::NAN, |m| m.mean));
            let mut best: Option<(usize, f64)> = None;
            for (i, v) in values.enumerate().filter(|(_, v)| v.is_finite()) {
                let wins = match best {
                    None => true,
                    Some((_, b)) => (better == Direction::Lower && v < b) || (better == Direction::Higher && v > b),
                };
                if wins {
                    best = Some((i, v));
                }
            }
            best.filter(|_| summary.results.len() > 1).map(|(i, _)| i)
        })
        .collect();
    for (i, r) in summary.results.iter().enumerate() {
        let _ = write!(out, "<tr><td>{}</td>", escape(&r.label));
        for ((metric, ..), best) in present.iter().zip(&best) {
            let class = if *best == Some(i) { " class=\"best\"" } else { "" };
            let text = r.metrics.get(*metric).map_or("–".to_string(), cell);
            let _ = write!(out, "<td{class}>{}</td>", escape(&text));
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</table>");

    // Paired differences to the baseline.
    if let Some(base) = summary.results.get(baseline).filter(|_| summary.results.len() > 1) {
        let _ = writeln!(
            out,
            "<h3>Differences to {}</h3>\n<p>Per-replication differences (strategy − {}), mean and 95% interval: \
             the same tasks and faults in each replication, so the pairing removes the workload's own \
             variance. An interval that excludes 0 is a difference the replications support.</p>\n<table>\n\
             <tr><th>strategy</th>",
            escape(&base.label),
            escape(&base.label)
        );
        let diff_columns: Vec<_> = present.iter().filter(|c| direction(c.0).is_some()).collect();
        for (_, heading, unit) in &diff_columns {
            let unit = if unit.is_empty() { String::new() } else { format!(" ({unit})") };
            let _ = write!(out, "<th>Δ {}{}</th>", escape(heading), escape(&unit));
        }
        let _ = writeln!(out, "</tr>");
        for r in summary.results.iter().filter(|r| r.label != base.label) {
            let _ = write!(out, "<tr><td>{}</td>", escape(&r.label));
            for (metric, ..) in &diff_columns {
                let text = match (r.metrics.get(*metric), base.metrics.get(*metric)) {
                    (Some(a), Some(b)) => {
                        let d: Vec<f64> =
                            a.per_replication.iter().zip(&b.per_replication).map(|(x, y)| x - y).collect();
                        let (mean, ci) = mean_ci95(&d);
                        match ci {
                            Some((lo, hi)) if mean.is_finite() => {
                                format!("{} [{}, {}]", number(mean), number(lo), number(hi))
                            }
                            _ => number(mean),
                        }
                    }
                    _ => "–".to_string(),
                };
                let _ = write!(out, "<td>{}</td>", escape(&text));
            }
            let _ = writeln!(out, "</tr>");
        }
        let _ = writeln!(out, "</table>");
    }

    alerts_table(&mut out, summary);

    if !charts.is_empty() {
        let _ = writeln!(out, "<h2>Charts</h2>");
    }
    for (chart, svg) in charts {
        let svg = match svg.find("<svg") {
            Some(start) => &svg[start..],
            None => svg.as_str(),
        };
        let _ = writeln!(
            out,
            "<figure id=\"{}\">\n{}\n<figcaption><b>{}.</b> {}</figcaption>\n</figure>",
            chart.name,
            svg,
            escape(&chart.title),
            escape(caption(chart.name))
        );
    }
    let _ = writeln!(out, "</body>\n</html>");
    out
}

/// The alerts section: per strategy and rule, alerts fired and time spent firing per replication
/// (nothing without alert rules).
fn alerts_table(out: &mut String, summary: &Summary) {
    let Some(first) = summary.results.first().filter(|r| !r.alerts.is_empty()) else { return };
    let _ = writeln!(
        out,
        "<h2>Alerts</h2>\n<p>Per replication: alerts fired, and seconds spent firing (mean ± 95% half-width). \
         Each rule is evaluated at every sample after the warm-up; the alert noise of two strategies \
         compares here like any other result (details in <code>alerts.csv</code>).</p>\n<table>\n\
         <tr><th>strategy</th>"
    );
    for rule in first.alerts.keys() {
        let _ = write!(out, "<th>{} fired</th><th>{} firing (s)</th>", escape(rule), escape(rule));
    }
    let _ = writeln!(out, "</tr>");
    for r in &summary.results {
        let _ = write!(out, "<tr><td>{}</td>", escape(&r.label));
        for a in r.alerts.values() {
            let _ = write!(out, "<td>{}</td><td>{}</td>", escape(&cell(&a.fired)), escape(&cell(&a.firing_s)));
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</table>");
}

#[cfg(test)]
mod tests {
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

    fn summary() -> Summary {
        Summary {
            fulcrum_version: "0.1.0".into(),
            scenario: ScenarioRef { name: "s<1>".into(), sha256: "ab".into() },
            seed: 1,
            replications: 3,
            results: vec![label("random", [2.0, 3.0, 4.0]), label("p2c & co", [1.0, 2.1, 2.9])],
        }
    }

    #[test]
    fn alerts_are_tabled_per_strategy_and_rule() {
        let mut s = summary();
        assert!(!report_html(&s, &[], &[], 0).contains("<h2>Alerts</h2>"), "no rules, no section");
        for (k, r) in s.results.iter_mut().enumerate() {
            let m = |v: Vec<f64>| {
                let (mean, ci) = mean_ci95(&v);
                MetricSummary { mean, ci95: ci.map(|(a, b)| [a, b]), per_replication: v }
            };
            let fired = m(vec![k as f64, k as f64 + 2.0, k as f64 + 4.0]);
            r.alerts.insert("hot<cpu>".into(), crate::AlertSummary { fired, firing_s: m(vec![10.0, 20.0, 30.0]) });
        }
        let html = report_html(&s, &[], &[], 0);
        assert!(html.contains("<h2>Alerts</h2>"));
        assert!(html.contains("<th>hot&lt;cpu&gt; fired</th><th>hot&lt;cpu&gt; firing (s)</th>"), "{html}");
        assert!(html.contains("<tr><td>random</td><td>2 ± 4.969</td><td>20 ± 24.843</td></tr>"), "{html}");
    }

    #[test]
    fn every_strategy_is_listed_the_best_marked_and_text_escaped() {
        let html = report_html(&summary(), &["16 nodes".to_string()], &[], 0);
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
        assert!(html.contains("<h1>s&lt;1&gt;</h1>"));
        assert!(html.contains("<td>random</td>") && html.contains("<td>p2c &amp; co</td>"));
        assert_eq!(html.matches("class=\"best\"").count(), 1);
        assert!(html.contains("<td class=\"best\">2 ± 2.370</td>"), "{html}");
        // Paired differences −1.0, −0.9, −1.1: mean −1.0, t(2) half-width 4.303 · 0.1/√3 = 0.248.
        let (mean, ci) = mean_ci95(&[1.0 - 2.0, 2.1 - 3.0, 2.9 - 4.0]);
        let (lo, hi) = ci.unwrap();
        assert!((mean + 1.0).abs() < 1e-12 && ((hi - lo) / 2.0 - 0.2484).abs() < 1e-4);
        let want = format!("{} [{}, {}]", number(mean), number(lo), number(hi));
        assert!(html.contains(&want), "{want} not in {html}");
        for tag in ["table", "tr", "ul", "h2", "html", "body", "head"] {
            assert_eq!(
                html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count(),
                html.matches(&format!("</{tag}>")).count(),
                "unbalanced <{tag}>"
            );
        }
    }
}
