//! Response-time quantiles: p50, p95 and p99 per strategy, mean over replications with 95%
//! confidence whiskers, one panel per quantile.

use super::{label_bars, metric_panel, Chart, Panel};
use crate::{ReportData, Summary};

/// `response_quantiles`: p50/p95/p99 response time per label; `None` without those metrics.
pub fn response_bars_chart(data: &ReportData, summary: &Summary) -> Option<Chart> {
    let panels: Vec<Panel> = [("p50", "p50_response_s"), ("p95", "p95_response_s"), ("p99", "p99_response_s")]
        .into_iter()
        .map(|(q, metric)| {
            metric_panel(summary, format!("{q} response time"), format!("{q} response time (s)"), metric)
        })
        .collect();
    if panels.iter().all(|p| p.values.iter().all(Option::is_none)) {
        return None;
    }
    let title =
        format!("{}: response-time quantiles (mean of {} replications, 95% CI)", data.scenario_name, data.replications);
    Some(label_bars(data, "response_quantiles", title, panels))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, data, study};
    use super::super::Plot;
    use super::*;

    #[test]
    fn three_panels_of_every_label() {
        let s = study(&["least-connections", "random"], false);
        let summary = Summary::of(&s, "test");
        let chart = response_bars_chart(&data(&s), &summary).unwrap();
        let Plot::Bars(b) = &chart.plot else { panic!("not bars") };
        assert_eq!(b.panels.len(), 3);
        // Label 1's p99: 3 × (2.0, 2.1) → mean 6.15.
        assert!((b.panels[2].values[1].unwrap().0 - 6.15).abs() < 1e-12);
        check(&chart, &["least-connections", "random", "p50 response time (s)", "p99 response time (s)"]);
    }
}
