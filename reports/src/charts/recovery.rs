//! Recovery time per strategy combination (detector × failover): the mean and 95th percentile
//! of fault → every stranded task running again or done, with 95% confidence whiskers across
//! replications. Only for scenarios with failure detection.

use super::{label_bars, metric_panel, Chart};
use crate::{ReportData, Summary};

/// `recovery`: recovery-time bars; `None` when the scenario measures no recovery.
pub fn recovery_chart(data: &ReportData, summary: &Summary) -> Option<Chart> {
    let panels = vec![
        metric_panel(summary, "mean recovery time", "mean recovery time (s)", "recovery_time_s"),
        metric_panel(summary, "p95 recovery time", "p95 recovery time (s)", "recovery_time_p95_s"),
    ];
    if panels[0].values.iter().all(Option::is_none) {
        return None;
    }
    let title = format!(
        "{}: recovery time, fault to every stranded task restarted (mean of {} replications, 95% CI)",
        data.scenario_name, data.replications
    );
    Some(label_bars(data, "recovery", title, panels))
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
