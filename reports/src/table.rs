//! The comparison table printed at the end of a run.

use crate::Summary;

/// Columns: (metric, header, decimals).
const COLUMNS: &[(&str, &str, usize)] = &[
    ("mean_response_s", "mean resp s", 3),
    ("p95_response_s", "p95 s", 3),
    ("p99_response_s", "p99 s", 3),
    ("throughput_per_s", "thruput/s", 2),
    ("balance_cv", "balance cv", 3),
    ("jain_index", "jain", 3),
    ("utilization_mean", "util", 3),
];

/// A plain-text table: one row per label, mean ± 95% CI half-width for each headline metric.
pub fn comparison_table(summary: &Summary) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["label".to_string()];
    header.extend(COLUMNS.iter().map(|c| c.1.to_string()));
    rows.push(header);
    for r in &summary.results {
        let mut row = vec![r.label.clone()];
        for &(metric, _, decimals) in COLUMNS {
            row.push(match r.metrics.get(metric) {
                Some(m) => match m.ci95 {
                    Some([lo, hi]) => format!("{:.*} ± {:.*}", decimals, m.mean, decimals, (hi - lo) / 2.0),
                    None => format!("{:.*}", decimals, m.mean),
                },
                None => "-".to_string(),
            });
        }
        rows.push(row);
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let pad = widths[c] - cell.chars().count();
                if c == 0 {
                    format!("{cell}{}", " ".repeat(pad))
                } else {
                    format!("{}{cell}", " ".repeat(pad))
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
            out.push_str(&"-".repeat(total));
            out.push('\n');
        }
    }
    out
}
