//! Detection per strategy combination: the mean and 95th percentile of fault → suspicion (the
//! centre and tail of the detection-time distribution), and false suspicions, with 95%
//! confidence whiskers across replications. Only for scenarios with failure detection.

use super::{label_bars, label_colour, label_legend, metric_panel, Chart, Line, LinePlot, Plot};
use crate::{ReportData, Summary};

/// `detection_cdf`: per strategy combination, the empirical distribution of detection times
/// (fault to suspicion) pooled over replications, on a log x axis; `None` when nothing was
/// detected.
pub fn detection_cdf_chart(data: &ReportData) -> Option<Chart> {
    let mut lines = Vec::new();
    let mut any = false;
    for (i, runs) in data.runs.iter().enumerate() {
        let mut times: Vec<f64> = runs.iter().flat_map(|r| r.detection_times_s.iter().map(|t| t.0)).collect();
        times.retain(|t| t.is_finite());
        times.sort_by(f64::total_cmp);
        let n = times.len() as f64;
        // A step function: at each time the share detected rises by 1/n.
        let mut points = Vec::with_capacity(2 * times.len());
        for (k, &t) in times.iter().enumerate() {
            let t = t.max(1e-6);
            points.push((t, k as f64 / n));
            points.push((t, (k + 1) as f64 / n));
        }
        any |= !points.is_empty();
        lines.push(Line { colour: label_colour(i), points, band: None });
    }
    if !any {
        return None;
    }
    Some(Chart {
        name: "detection_cdf",
        title: format!(
            "{}: detection-time distribution, fault to suspicion (pooled over {} replications)",
            data.scenario_name, data.replications
        ),
        legend: label_legend(data),
        plot: Plot::Lines(LinePlot {
            x_desc: "detection time (s, log scale)".into(),
            y_desc: "share of detected faults".into(),
            x_log: true,
            lines,
            markers: vec![],
        }),
    })
}

/// `detection`: detection-time and false-suspicion bars; `None` without failure detection.
pub fn detection_chart(data: &ReportData, summary: &Summary) -> Option<Chart> {
    let panels = vec![
        metric_panel(summary, "mean detection time", "mean detection time (s)", "detection_time_s"),
        metric_panel(summary, "p95 detection time", "p95 detection time (s)", "detection_time_p95_s"),
        metric_panel(summary, "false suspicions", "false suspicions (per replication)", "false_suspicions"),
    ];
    if panels[0].values.iter().all(Option::is_none) {
        return None;
    }
    let title = format!(
        "{}: failure detection, fault to suspicion (mean of {} replications, 95% CI)",
        data.scenario_name, data.replications
    );
    Some(label_bars(data, "detection", title, panels))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, data, study};
    use super::*;

    #[test]
    fn detection_panels_name_their_units() {
        let s = study(&["lc+phi+reschedule", "lc+chen+reschedule"], true);
        let summary = Summary::of(&s, "test");
        let chart = detection_chart(&data(&s), &summary).unwrap();
        check(
            &chart,
            &[
                "lc+phi+reschedule",
                "lc+chen+reschedule",
                "mean detection time (s)",
                "false suspicions (per replication)",
            ],
        );
        let s = study(&["lc"], false);
        assert!(detection_chart(&data(&s), &Summary::of(&s, "test")).is_none());
    }

    #[test]
    fn detection_cdf_pools_replications_into_steps() {
        let s = study(&["lc+phi+reschedule", "lc+chen+reschedule"], true);
        let chart = detection_cdf_chart(&data(&s)).unwrap();
        let Plot::Lines(p) = &chart.plot else { panic!("not lines") };
        // Label 0: replications s = 1.0 and 1.1, times (0.5s, s, 2s): six pooled, sorted.
        let xs: Vec<f64> = p.lines[0].points.iter().step_by(2).map(|pt| pt.0).collect();
        assert_eq!(xs, vec![0.5, 0.55, 1.0, 1.1, 2.0, 2.2]);
        assert_eq!(p.lines[0].points.last().unwrap().1, 1.0);
        assert_eq!(p.lines[0].points[1].1, 1.0 / 6.0);
        check(&chart, &["lc+chen+reschedule", "detection time (s, log scale)", "share of detected faults"]);
        assert!(detection_cdf_chart(&data(&study(&["lc"], false))).is_none());
    }
}
