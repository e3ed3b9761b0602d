//! Resource utilisation by dimension: per strategy, the time-averaged utilisation of CPU,
//! memory, disk, network, GPUs and FPGAs (mean over the nodes that have the resource, then over
//! replications, with 95% whiskers); one panel per dimension the cluster has.

use super::{label_bars, metric_panel, Chart, Panel};
use crate::{ReportData, Summary};

/// The dimensions, by the metric that holds them.
const DIMENSIONS: [(&str, &str); 6] = [
    ("utilization_mean", "CPU"),
    ("utilization_memory", "memory"),
    ("utilization_disk", "disk"),
    ("utilization_net", "network"),
    ("utilization_gpu", "GPU"),
    ("utilization_fpga", "FPGA"),
];

/// `utilisation`: utilisation per resource dimension per label; `None` without those metrics.
pub fn utilisation_chart(data: &ReportData, summary: &Summary) -> Option<Chart> {
    let panels: Vec<Panel> = DIMENSIONS
        .into_iter()
        .map(|(metric, name)| metric_panel(summary, name, format!("{name} utilisation (fraction)"), metric))
        .filter(|p| p.values.iter().any(Option::is_some))
        .collect();
    if panels.is_empty() {
        return None;
    }
    let title = format!(
        "{}: utilisation by resource (mean over nodes and {} replications, 95% CI)",
        data.scenario_name, data.replications
    );
    Some(label_bars(data, "utilisation", title, panels))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, data, study};
    use super::super::Plot;
    use super::*;

    #[test]
    fn a_panel_per_resource_the_cluster_has() {
        let s = study(&["best-fit", "worst-fit"], false);
        let summary = Summary::of(&s, "test");
        let chart = utilisation_chart(&data(&s), &summary).unwrap();
        let Plot::Bars(b) = &chart.plot else { panic!("not bars") };
        let titles: Vec<&str> = b.panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["CPU", "memory"]);
        check(&chart, &["best-fit", "worst-fit", "CPU utilisation (fraction)", "memory utilisation (fraction)"]);
    }
}
