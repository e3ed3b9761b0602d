//! Throughput over time, one line per strategy (mean over replications with its 95% band), with
//! the fault plan's actions marked as vertical lines. Every strategy meets the same faults in a
//! replication, so the marks are those of every replication's plan, each drawn once.

use plotters::style::RGBColor;

use super::{label_legend, mean_series, Chart, LegendEntry, LinePlot, Marker, Plot};
use crate::ReportData;

/// Fault actions marked, with their colours; the ends of faults (`recover`, `heal`, …) are not.
const MARKED: [(&str, RGBColor); 6] = [
    ("crash", RGBColor(40, 40, 40)),
    ("partition", RGBColor(120, 60, 160)),
    ("slow_down", RGBColor(160, 120, 40)),
    ("speed_profile", RGBColor(200, 170, 120)),
    ("heartbeat_loss", RGBColor(110, 160, 110)),
    ("delay_spike", RGBColor(90, 140, 200)),
];

/// `throughput`: completions per second over time with fault marks; `None` without a series.
pub fn throughput_chart(data: &ReportData) -> Option<Chart> {
    let lines = mean_series(data, |s| &s.throughput_per_s);
    if lines.iter().all(|l| l.points.is_empty()) {
        return None;
    }
    let mut faults: Vec<(u64, &str)> = data.faults.iter().flatten().map(|f| (f.t_ns, f.kind.as_str())).collect();
    faults.sort_unstable();
    faults.dedup();
    let mut markers = Vec::new();
    let mut legend = label_legend(data);
    for (kind, colour) in MARKED {
        let before = markers.len();
        markers.extend(faults.iter().filter(|f| f.1 == kind).map(|f| Marker { x: f.0 as f64 / 1e9, colour }));
        if markers.len() > before {
            legend.push(LegendEntry { text: format!("fault: {kind}"), colour, thin: true });
        }
    }
    Some(Chart {
        name: "throughput",
        title: format!("{}: throughput over time ({})", data.scenario_name, super::mean_note(data)),
        legend,
        plot: Plot::Lines(LinePlot {
            x_desc: "simulated time (s)".into(),
            y_desc: "throughput (completed tasks/s)".into(),
            x_log: false,
            lines,
            markers,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, data, study};
    use super::*;

    #[test]
    fn faults_are_marked_once_each() {
        let s = study(&["random", "round-robin"], true);
        let chart = throughput_chart(&data(&s)).unwrap();
        let Plot::Lines(p) = &chart.plot else { panic!("not lines") };
        // Both replications have a crash at 100 s and a partition at 200 s: two marks.
        assert_eq!(p.markers.iter().map(|m| m.x).collect::<Vec<_>>(), [100.0, 200.0]);
        check(&chart, &["random", "round-robin", "fault: crash", "fault: partition", "throughput (completed tasks/s)"]);
    }

    #[test]
    fn no_fault_legend_without_faults() {
        let s = study(&["random"], false);
        let chart = throughput_chart(&data(&s)).unwrap();
        assert_eq!(chart.legend.len(), 1);
    }
}
