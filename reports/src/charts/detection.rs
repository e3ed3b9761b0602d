//! Detection per strategy combination: the mean and 95th percentile of fault → suspicion (the
//! centre and tail of the detection-time distribution), and false suspicions, with 95%
//! confidence whiskers across replications. Only for scenarios with failure detection.

use super::{label_bars, metric_estimates, Chart, Panel, Plot};
use crate::{Study, Summary};

/// `detection`: detection-time and false-suspicion bars; `None` without failure detection.
pub fn detection_chart(study: &Study, summary: &Summary) -> Option<Chart> {
    let panels = vec![
        Panel {
            title: "mean detection time".into(),
            x_desc: "mean detection time (s)".into(),
            values: metric_estimates(summary, "detection_time_s"),
        },
        Panel {
            title: "p95 detection time".into(),
            x_desc: "p95 detection time (s)".into(),
            values: metric_estimates(summary, "detection_time_p95_s"),
        },
        Panel {
            title: "false suspicions".into(),
            x_desc: "false suspicions (per replication)".into(),
            values: metric_estimates(summary, "false_suspicions"),
        },
    ];
    if panels[0].values.iter().all(Option::is_none) {
        return None;
    }
    Some(Chart {
        name: "detection",
        title: format!(
            "{}: failure detection, fault to suspicion (mean of {} replications, 95% CI)",
            study.scenario_name, study.replications
        ),
        legend: vec![],
        plot: Plot::Bars(label_bars(study, panels)),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, study};
    use super::*;

    #[test]
    fn detection_panels_name_their_units() {
        let s = study(&["lc+phi+reschedule", "lc+chen+reschedule"], true);
        let summary = Summary::of(&s, "test");
        let chart = detection_chart(&s, &summary).unwrap();
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
        assert!(detection_chart(&s, &Summary::of(&s, "test")).is_none());
    }
}
