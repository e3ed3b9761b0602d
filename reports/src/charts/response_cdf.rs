//! Response-time distribution: per strategy, the fraction of tasks that completed within x
//! seconds, on a log x axis. Each replication's quantiles (`RunOutput::response_cdf`) are
//! averaged at equal probability (the quantile average, or Vincentisation), with the 95% band
//! of each quantile across replications.

use super::{label_colour, label_legend, Chart, Line, LinePlot, Plot};
use crate::{stats, ReportData};

/// `response_cdf`: the response-time CDF on a log x axis; `None` when nothing completed.
pub fn response_cdf_chart(data: &ReportData) -> Option<Chart> {
    let mut lines = Vec::new();
    for (i, runs) in data.runs.iter().enumerate() {
        let cdfs: Vec<&Vec<(f64, f64)>> = runs.iter().map(|r| &r.response_cdf).filter(|c| !c.is_empty()).collect();
        let len = cdfs.iter().map(|c| c.len()).min().unwrap_or(0);
        let mut points = Vec::with_capacity(len);
        let (mut lower, mut upper) = (Vec::new(), Vec::new());
        for k in 0..len {
            let q = cdfs[0][k].0;
            let xs: Vec<f64> = cdfs.iter().map(|c| c[k].1.max(1e-9)).collect();
            let (mean, ci) = stats::mean_ci95(&xs);
            points.push((mean, q));
            if let Some((lo, hi)) = ci {
                lower.push((lo.max(xs.iter().copied().fold(f64::INFINITY, f64::min)), q));
                upper.push((hi, q));
            }
        }
        let band = (!upper.is_empty()).then(|| upper.into_iter().chain(lower.into_iter().rev()).collect());
        lines.push(Line { colour: label_colour(i), points, band });
    }
    if lines.iter().all(|l| l.points.is_empty()) {
        return None;
    }
    Some(Chart {
        name: "response_cdf",
        title: format!(
            "{}: response-time distribution, quantiles averaged ({})",
            data.scenario_name,
            super::mean_note(data)
        ),
        legend: label_legend(data),
        plot: Plot::Lines(LinePlot {
            x_desc: "response time, arrival to completion (s, log scale)".into(),
            y_desc: "fraction of tasks completed within x".into(),
            x_log: true,
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
    fn quantiles_are_averaged_at_equal_probability() {
        let s = study(&["wlc", "swrr"], false);
        let chart = response_cdf_chart(&data(&s)).unwrap();
        let Plot::Lines(p) = &chart.plot else { panic!("not lines") };
        // Label 0: scale 1.0 and 1.1, x = scale * (0.01 + q); at q = 0.5 the mean is 1.05 * 0.51.
        let (x, q) = p.lines[0].points[50];
        assert_eq!(q, 0.5);
        assert!((x - 1.05 * 0.51).abs() < 1e-12, "{x}");
        assert!(p.lines[0].points.windows(2).all(|w| w[0].1 < w[1].1));
        check(&chart, &["wlc", "swrr", "log scale"]);
    }
}
