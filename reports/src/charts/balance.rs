//! Balance over time: the coefficient of variation of instantaneous load (tasks per CPU core)
//! across nodes, one line per strategy, mean over replications with its 95% band.

use super::{label_legend, mean_series, Chart, LinePlot, Plot};
use crate::ReportData;

/// `balance`: load CV across nodes over time; `None` when no run sampled a time series.
pub fn balance_chart(data: &ReportData) -> Option<Chart> {
    let lines = mean_series(data, |s| &s.load_cv);
    if lines.iter().all(|l| l.points.is_empty()) {
        return None;
    }
    Some(Chart {
        name: "balance",
        title: format!("{}: load imbalance over time ({})", data.scenario_name, super::mean_note(data)),
        legend: label_legend(data),
        plot: Plot::Lines(LinePlot {
            x_desc: "simulated time (s)".into(),
            y_desc: "CV of tasks per CPU core across nodes (ratio)".into(),
            x_log: false,
            lines,
            markers: vec![],
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, data, study};
    use super::*;

    #[test]
    fn one_line_per_label_with_its_band() {
        let s = study(&["least-connections", "p2c"], false);
        let chart = balance_chart(&data(&s)).unwrap();
        let Plot::Lines(p) = &chart.plot else { panic!("not lines") };
        assert_eq!(p.lines.len(), 2);
        // Label 1 has load_cv 0.2 and 0.21 in its two replications: mean 0.205.
        assert!((p.lines[1].points[0].1 - 0.205).abs() < 1e-12);
        assert!(p.lines[1].band.is_some());
        check(&chart, &["least-connections", "p2c", "simulated time (s)"]);
    }
}
