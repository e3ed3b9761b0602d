//! Per-node CPU utilisation over time (node × time heatmap) for one strategy, replication 0: hot
//! spots, idle nodes and how load moves after a fault, which the averages hide.
//!
//! Rows are nodes in id order, grouped by node group (groups separated by a line and named on the
//! left); columns are the time-series samples (each cell the node's instantaneous CPU utilisation
//! at the sample). Large clusters and long runs are binned to at most [`MAX_ROWS`] rows (each the
//! mean of consecutive nodes of one group, every group keeping at least one row) and
//! [`MAX_COLUMNS`] columns (each the mean of consecutive samples), so the chart stays legible and
//! the SVG small. Each cell is rounded to a level of 1/32, which is all the colours resolve (a
//! run's report and `fulcrum report` draw from that same [`HeatGrid`]). Colours: viridis, dark
//! purple idle to yellow full.

use fulcrum_sim_core::metrics::RunOutput;

use super::{Chart, HeatPlot, LegendEntry, Plot};
use crate::data::HeatGrid;
use crate::ReportData;

/// Most rows drawn.
pub const MAX_ROWS: usize = 120;
/// Most columns drawn.
pub const MAX_COLUMNS: usize = 150;

/// Matplotlib's viridis at 0, 1/8, …, 1 (perceptually uniform, legible in grey and to most
/// colour-blind readers).
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (72, 40, 120),
    (62, 73, 137),
    (49, 104, 142),
    (38, 130, 142),
    (31, 158, 137),
    (53, 183, 121),
    (110, 206, 88),
    (253, 231, 37),
];

/// The colour of a utilisation in [0, 1]: viridis, interpolated linearly between its ninths.
pub fn heat_colour(u: f64) -> plotters::style::RGBColor {
    let x = u.clamp(0.0, 1.0) * 8.0;
    let i = (x.floor() as usize).min(7);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (f64::from(p) + (f64::from(q) - f64::from(p)) * f).round() as u8;
    plotters::style::RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Splits `n` items into `bins` consecutive runs as equal as possible: the end of each run.
fn bin_ends(n: usize, bins: usize) -> Vec<usize> {
    let bins = bins.clamp(1, n.max(1));
    (1..=bins).map(|b| b * n / bins).collect()
}

/// Bins a run's node samples into a [`HeatGrid`]: rows are consecutive nodes of one group (each
/// group in proportion to its nodes, at least one row), columns consecutive samples; `None` if the
/// run kept no node samples or there are none. `node_groups` is `(name, first node, nodes)`.
pub fn heat_grid(run: &RunOutput, node_groups: &[(String, u32, u32)]) -> Option<HeatGrid> {
    let samples = run.node_samples.as_ref()?;
    let (n_nodes, n_samples) = (samples.nodes, samples.len());
    if n_nodes == 0 || n_samples == 0 || run.series.len() != n_samples {
        return None;
    }
    let value = |sample: usize, node: usize| f64::from(samples.cpu_utilization[sample * n_nodes + node]);

    // Rows: each group gets rows in proportion to its nodes, at least one.
    let groups: Vec<(String, usize, usize)> = if node_groups.is_empty() {
        vec![(String::new(), 0, n_nodes)]
    } else {
        node_groups.iter().map(|(name, first, count)| (name.clone(), *first as usize, *count as usize)).collect()
    };
    let mut row_nodes: Vec<(usize, usize)> = Vec::new(); // (first node, end node) per row
    let mut row_groups = Vec::new();
    for (name, first, count) in &groups {
        let rows = ((count * MAX_ROWS).div_ceil(n_nodes)).clamp(1, *count);
        let start_row = row_nodes.len();
        let mut from = *first;
        for end in bin_ends(*count, rows) {
            row_nodes.push((from, first + end));
            from = first + end;
        }
        row_groups.push((name.clone(), start_row, row_nodes.len() - start_row));
    }
    // Columns: consecutive samples.
    let col_ends = bin_ends(n_samples, MAX_COLUMNS);
    let mut cols: Vec<(usize, usize)> = Vec::with_capacity(col_ends.len());
    let mut from = 0;
    for end in col_ends {
        cols.push((from, end));
        from = end;
    }
    let rows: Vec<String> = row_nodes
        .iter()
        .map(|&(n0, n1)| {
            cols.iter()
                .map(|&(s0, s1)| {
                    let mut sum = 0.0;
                    for s in s0..s1 {
                        for node in n0..n1 {
                            sum += value(s, node);
                        }
                    }
                    HeatGrid::encode(sum / ((s1 - s0) * (n1 - n0)) as f64)
                })
                .collect()
        })
        .collect();
    let t = |i: usize| run.series[i].t.as_secs_f64();
    let interval = if n_samples > 1 { t(1) - t(0) } else { t(0) };
    let columns: Vec<(f64, f64)> = cols.iter().map(|&(s0, s1)| (t(s0) - interval, t(s1 - 1))).collect();
    Some(HeatGrid { columns, nodes_per_row: n_nodes.div_ceil(row_nodes.len()), rows, groups: row_groups })
}

/// `heatmap`: CPU utilisation per node and sample for the label at `focus`, replication 0; `None`
/// if its samples were not kept or there are none.
pub fn heatmap_chart(data: &ReportData, focus: usize) -> Option<Chart> {
    let grid = data.heatmaps.get(focus)?.as_ref()?;
    let mut legend: Vec<LegendEntry> = [0.0, 0.25, 0.5, 0.75, 1.0]
        .iter()
        .map(|&u| LegendEntry { text: format!("{:.0}% CPU", u * 100.0), colour: heat_colour(u), thin: false })
        .collect();
    if grid.nodes_per_row > 1 {
        legend.push(LegendEntry {
            text: format!("a row: mean of ≤ {} nodes", grid.nodes_per_row),
            colour: plotters::style::WHITE,
            thin: true,
        });
    }
    Some(Chart {
        name: "heatmap",
        title: format!(
            "{}: CPU utilisation per node over time, {} (replication 0)",
            data.scenario_name, data.labels[focus]
        ),
        legend,
        plot: Plot::Heat(HeatPlot {
            x_desc: "time (s)".into(),
            y_desc: "nodes by group".into(),
            columns: grid.columns.clone(),
            cells: grid.cells(),
            groups: grid.groups.clone(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, data, study};
    use super::*;

    #[test]
    fn heatmap_rows_are_nodes_columns_samples_and_groups_are_named() {
        let s = study(&["p2c", "random"], false);
        let chart = heatmap_chart(&data(&s), 1).unwrap();
        let Plot::Heat(h) = &chart.plot else { panic!("not a heatmap") };
        // Four nodes, one group: a row per node; 50 samples: a column per sample.
        assert_eq!(h.cells.len(), 4);
        assert_eq!(h.cells[0].len(), 50);
        assert_eq!(h.groups, vec![("n".to_string(), 0, 4)]);
        // Node 2 of label 1 (s = 2.0) sits at 0.5 + 0.02 in every sample: level round(0.52 × 32) = 17.
        assert_eq!(h.cells[2][7], 17.0 / 32.0);
        assert!((h.columns[0].0 - 0.0).abs() < 1e-9 && (h.columns[0].1 - 10.0).abs() < 1e-9);
        assert!(chart.title.contains("random"));
        check(&chart, &["nodes by group", "time (s)", "100% CPU", "random"]);
    }

    #[test]
    fn colours_run_from_viridis_purple_to_yellow() {
        assert_eq!(heat_colour(0.0), plotters::style::RGBColor(68, 1, 84));
        assert_eq!(heat_colour(1.0), plotters::style::RGBColor(253, 231, 37));
        assert_eq!(heat_colour(0.5), plotters::style::RGBColor(38, 130, 142));
        assert_eq!(heat_colour(7.0), heat_colour(1.0), "clamped");
    }

    #[test]
    fn bins_cover_every_item_once_and_keep_groups_apart() {
        assert_eq!(bin_ends(10, 3), vec![3, 6, 10]);
        assert_eq!(bin_ends(2, 5), vec![1, 2]);
        assert_eq!(bin_ends(1000, 150).len(), 150);
        // A large cluster: 1,000 nodes in two groups of 990 and 10 → rows within each group only.
        let mut s = study(&["a"], false);
        s.node_groups = vec![("big".into(), 0, 990), ("small".into(), 990, 10)];
        let run = &mut s.runs[0][0];
        let samples = run.node_samples.as_mut().unwrap();
        samples.nodes = 1000;
        samples.cpu_utilization = (0..50 * 1000).map(|k| if k % 1000 >= 990 { 1.0 } else { 0.0 }).collect();
        let chart = heatmap_chart(&data(&s), 0).unwrap();
        let Plot::Heat(h) = &chart.plot else { panic!() };
        assert!(h.cells.len() <= MAX_ROWS + 2);
        let (_, small_first, small_rows) = h.groups[1];
        assert_eq!(small_first + small_rows, h.cells.len());
        assert!(h.cells[small_first..].iter().all(|r| r.iter().all(|&v| v == 1.0)), "small group rows are full");
        assert!(h.cells[..small_first].iter().all(|r| r.iter().all(|&v| v == 0.0)), "big group rows are idle");
        assert!(chart.legend.iter().any(|e| e.text.starts_with("a row: mean of")));
    }
}
