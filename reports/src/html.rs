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
use crate::{tables, Summary};

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
        "detection_cdf" => "The share of faults detected within x seconds, pooled over replications: a long right tail is a detector that sometimes waits far longer than its mean. Combinations that share a detector see the same heartbeats, so their lines usually coincide (the one drawn last shows).",
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
         .n {{ white-space: nowrap; }}\n\
         td.best {{ font-weight: bold; background: #e6f4e6; }}\n\
         .wide {{ overflow-x: auto; }}\n\
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

    // Results table, and paired differences to the baseline.
    let _ = writeln!(
        out,
        "<h2>Results</h2>\n<p>Mean ± half-width of the 95% Student-t interval over replications; the best \
         value of each column is marked.</p>"
    );
    html_table(&mut out, &tables::results(summary), "");
    if let Some(diff) = tables::differences(summary, baseline) {
        let base = escape(&summary.results[baseline].label);
        let _ = writeln!(
            out,
            "<h3>Differences to {base}</h3>\n<p>Per-replication differences (strategy − {base}), mean and 95% \
             interval: the same tasks and faults in each replication, so the pairing removes the workload's own \
             variance. An interval that excludes 0 is a difference the replications support.</p>"
        );
        html_table(&mut out, &diff, "Δ ");
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

/// A [`Table`](tables::Table) as HTML, the best cells marked.
fn html_table(out: &mut String, table: &tables::Table, heading_prefix: &str) {
    let _ = write!(out, "<div class=\"wide\"><table>\n<tr><th>strategy</th>");
    for c in &table.columns {
        let _ = write!(out, "<th>{heading_prefix}{}</th>", escape(&c.title()));
    }
    let _ = writeln!(out, "</tr>");
    for r in &table.rows {
        let _ = write!(out, "<tr><td>{}</td>", escape(&r.label));
        for (cell, best) in r.cells.iter().zip(&r.best) {
            let class = if *best { " class=\"best\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", cell.html());
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</table></div>");
}

/// The alerts section: per strategy and rule, alerts fired and time spent firing per replication
/// (nothing without alert rules).
fn alerts_table(out: &mut String, summary: &Summary) {
    let Some(first) = summary.results.first().filter(|r| !r.alerts.is_empty()) else { return };
    let _ = writeln!(
        out,
        "<h2>Alerts</h2>\n<p>Per replication: alerts fired, and seconds spent firing (mean ± 95% half-width). \
         Each rule is evaluated at every sample after the warm-up; the alert noise of two strategies \
         compares here like any other result (details in <code>alerts.csv</code>).</p>\n<div class=\"wide\"><table>\n\
         <tr><th>strategy</th>"
    );
    for rule in first.alerts.keys() {
        let _ = write!(out, "<th>{} fired</th><th>{} firing (s)</th>", escape(rule), escape(rule));
    }
    let _ = writeln!(out, "</tr>");
    for r in &summary.results {
        let _ = write!(out, "<tr><td>{}</td>", escape(&r.label));
        for a in r.alerts.values() {
            let _ = write!(
                out,
                "<td>{}</td><td>{}</td>",
                tables::estimate(&a.fired).html(),
                tables::estimate(&a.firing_s).html()
            );
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</table></div>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::mean_ci95;
    use crate::tables::tests::summary;
    use crate::MetricSummary;

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
        assert!(
            html.contains(
                "<tr><td>random</td><td><span class=\"n\">2.0 ±</span> <span class=\"n\">5.0</span></td>\
                 <td><span class=\"n\">20 ±</span> <span class=\"n\">25</span></td></tr>"
            ),
            "{html}"
        );
    }

    #[test]
    fn every_strategy_is_listed_the_best_marked_and_text_escaped() {
        let html = report_html(&summary(), &["16 nodes".to_string()], &[], 0);
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
        assert!(html.contains("<h1>s&lt;1&gt;</h1>"));
        assert!(html.contains("<td>random</td>") && html.contains("<td>p2c &amp; co</td>"));
        assert_eq!(html.matches("class=\"best\"").count(), 1);
        assert!(
            html.contains("<td class=\"best\"><span class=\"n\">2.0 ±</span> <span class=\"n\">2.4</span></td>"),
            "{html}"
        );
        // Paired differences −1.0, −0.9, −1.1: mean −1.0, t(2) half-width 4.303 · 0.1/√3 = 0.248.
        let (mean, ci) = mean_ci95(&[1.0 - 2.0, 2.1 - 3.0, 2.9 - 4.0]);
        let (lo, hi) = ci.unwrap();
        assert!((mean + 1.0).abs() < 1e-12 && ((hi - lo) / 2.0 - 0.2484).abs() < 1e-4);
        assert!(
            html.contains("<td><span class=\"n\">-1.00</span> <span class=\"n\">[-1.25, -0.75]</span></td>"),
            "{html}"
        );
        for tag in ["table", "tr", "ul", "h2", "html", "body", "head", "div", "span"] {
            assert_eq!(
                html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count(),
                html.matches(&format!("</{tag}>")).count(),
                "unbalanced <{tag}>"
            );
        }
    }
}
