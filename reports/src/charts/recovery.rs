//! Recovery time per strategy combination (detector × failover): the mean and 95th percentile
//! of fault → every stranded task running again or done, with 95% confidence whiskers across
//! replications. Only for scenarios with failure detection.

use super::{label_bars, metric_estimates, Chart, Panel, Plot};
use crate::{ReportData, Summary};

/// `recovery`: recovery-time bars; `None` when the scenario measures no recovery.
pub fn recovery_chart(data: &ReportData, summary: &Summary) -> Option<Chart> {
    let panels = vec![
        Panel {
            title: "mean recovery time".into(),
            x_desc: "mean recovery time (s)".into(),
            values: metric_estimates(summary, "recovery_time_s"),
        },
        Panel {
            title: "p95 recovery time".into(),
            x_desc: "p95 recovery time (s)".into(),
            values: metric_estimates(summary, "recovery_time_p95_s"),
        },
    ];
    if panels[0].values.iter().all(Option::is_none) {
        return None;
    }
    Some(Chart {
        name: "recovery",
        title: format!(
            "{}: recovery time, fault to every stranded task restarted (mean of {} replications, 95% CI)",
            data.scenario_name, data.replications
        ),
        legend: vec![],
        plot: Plot::Bars(label_bars(data, panels)),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, data, study};
    use super::*;

    #[test]
    fn only_with_failure_detection() {
        let s = study(&["p2c+phi+retry", "p2c+timeout+checkpoint"], true);
        let summary = Summary::of(&s, "test");
        let chart = recovery_chart(&data(&s), &summary).unwrap();
        check(&chart, &["p2c+phi+retry", "p2c+timeout+checkpoint", "mean recovery time (s)", "p95 recovery time (s)"]);
        let s = study(&["p2c"], false);
        assert!(recovery_chart(&data(&s), &Summary::of(&s, "test")).is_none());
    }
}
