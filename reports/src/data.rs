//! `report-data.json`: what the charts and `report.html` are drawn from, beyond `summary.json`.
//!
//! `fulcrum run` writes it next to `summary.json`; `fulcrum report DIR` reads both back and draws
//! the very same charts and report (byte for byte) without running anything again — with another
//! baseline, after a `--no-charts` run on a cluster, or after a newer Fulcrum improved a chart.
//! The charts are a pure function of a [`ReportData`] and a [`Summary`](crate::Summary), so a
//! run's charts and a re-rendering cannot drift apart.
//!
//! It holds, per label and replication, the time series (a column per measure), the response-time quantiles and the
//! detection times; per replication the fault plan's steps (the same for every strategy); per
//! label its replication-0 CPU heatmap, already binned (at most 120 × 150 cells, each a level of
//! 1/32, which is all the chart's colours resolve). Floats are written in shortest round-trip
//! form and read back exactly; times are integer nanoseconds. A directory without the file (a
//! merged sweep variant, or results of an older Fulcrum) still gets the charts `summary.json`
//! supports: [`ReportData::from_summary`].

use serde::{Deserialize, Serialize};

use crate::sweep::Exact;
use crate::{Study, Summary};

/// The format version this Fulcrum writes and reads; files of another version are refused.
const FORMAT: u32 = 1;

/// `report-data.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportData {
    /// The file's format version.
    pub format: u32,
    /// Scenario name.
    pub scenario_name: String,
    /// Replications per label.
    pub replications: u32,
    /// The labels, in scenario order (as in `summary.json`).
    pub labels: Vec<String>,
    /// The scenario in a few lines, for the report's head.
    pub brief: Vec<String>,
    /// The label the run's report compared against (and whose heatmap it drew).
    pub baseline: String,
    /// `runs[label_index][replication]`; empty when only `summary.json` was there.
    pub runs: Vec<Vec<RunData>>,
    /// Per replication, the fault plan's steps after the warm-up (every strategy meets the same).
    pub faults: Vec<Vec<FaultMark>>,
    /// Per label, the binned CPU utilisation of replication 0's nodes (`null` where no node
    /// samples were kept, e.g. with `--no-charts`).
    pub heatmaps: Vec<Option<HeatGrid>>,
}

/// One run's chart inputs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunData {
    /// The time series, as in `timeseries.csv`.
    pub series: Series,
    /// `(q, seconds)`: the response time at each quantile (see
    /// [`RESPONSE_CDF_QUANTILES`](fulcrum_sim_core::metrics::RESPONSE_CDF_QUANTILES)).
    pub response_cdf: Vec<(f64, f64)>,
    /// Each detected fault's time from fault to suspicion, seconds, in detection order.
    pub detection_times_s: Vec<Exact>,
}

/// A run's time series, a column per measure (one entry per sample in each).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Series {
    /// End of each sampled interval, nanoseconds of simulated time.
    pub t_ns: Vec<u64>,
    /// Completions in the interval per second.
    pub throughput_per_s: Vec<Exact>,
    /// Coefficient of variation of tasks per CPU core across nodes.
    pub load_cv: Vec<Exact>,
    /// Mean instantaneous CPU utilisation across nodes.
    pub utilization_mean: Vec<Exact>,
    /// Tasks in the system.
    pub in_system: Vec<Exact>,
}

impl Series {
    /// Samples in the series (the shortest column, should a file be ragged).
    pub fn len(&self) -> usize {
        [self.throughput_per_s.len(), self.load_cv.len(), self.utilization_mean.len(), self.in_system.len()]
            .into_iter()
            .fold(self.t_ns.len(), usize::min)
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A step of the fault plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultMark {
    /// When, nanoseconds of simulated time.
    pub t_ns: u64,
    /// The action (`crash`, `recover`, `partition`, `heal`, …).
    pub kind: String,
}

/// Per-node CPU utilisation over time, binned: rows are runs of consecutive nodes of one group,
/// columns runs of consecutive samples, each cell the mean utilisation rounded to a level of
/// 1/[`HeatGrid::LEVELS`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeatGrid {
    /// Per column, its span of simulated time in seconds.
    pub columns: Vec<(f64, f64)>,
    /// Per row, one character per column: `0`–`9` then `a`–`w` for levels 0 to 32, `.` for no
    /// data.
    pub rows: Vec<String>,
    /// `(group name, first row, rows)`, top to bottom.
    pub groups: Vec<(String, usize, usize)>,
    /// Most nodes averaged into one row.
    pub nodes_per_row: usize,
}

impl HeatGrid {
    /// Colour levels: a cell's value is `level / LEVELS`.
    pub const LEVELS: u32 = 32;
    /// The mark of a cell without data.
    const NONE: char = '.';

    /// The character of a utilisation: its nearest level (values outside [0, 1] clamped).
    pub fn encode(u: f64) -> char {
        if !u.is_finite() {
            return Self::NONE;
        }
        let level = (u.clamp(0.0, 1.0) * f64::from(Self::LEVELS)).round() as u32;
        char::from_digit(level, 36).expect("levels stay below 36")
    }

    /// A cell's value: `level / LEVELS`, or NaN for no data (or a character no level has).
    pub fn decode(c: char) -> f64 {
        match c.to_digit(36).filter(|&l| l <= Self::LEVELS) {
            Some(level) => f64::from(level) / f64::from(Self::LEVELS),
            None => f64::NAN,
        }
    }

    /// `cells[row][column]`, decoded.
    pub fn cells(&self) -> Vec<Vec<f64>> {
        self.rows.iter().map(|r| r.chars().map(Self::decode).collect()).collect()
    }
}

impl ReportData {
    /// The chart inputs of a study. `brief` is the scenario in a few lines; `baseline` the index
    /// of the label differences are taken against.
    pub fn of(study: &Study, brief: Vec<String>, baseline: usize) -> ReportData {
        let runs = study
            .runs
            .iter()
            .map(|runs| {
                runs.iter()
                    .map(|r| RunData {
                        series: Series {
                            t_ns: r.series.iter().map(|p| p.t.0).collect(),
                            throughput_per_s: r.series.iter().map(|p| Exact(p.throughput_per_s)).collect(),
                            load_cv: r.series.iter().map(|p| Exact(p.load_cv)).collect(),
                            utilization_mean: r.series.iter().map(|p| Exact(p.utilization_mean)).collect(),
                            in_system: r.series.iter().map(|p| Exact(p.in_system)).collect(),
                        },
                        response_cdf: r.response_cdf.clone(),
                        detection_times_s: r.detection_times.iter().map(|&t| Exact(t)).collect(),
                    })
                    .collect()
            })
            .collect();
        let faults = study
            .runs
            .first()
            .into_iter()
            .flatten()
            .map(|r| r.fault_times.iter().map(|&(t, kind)| FaultMark { t_ns: t.0, kind: kind.to_string() }).collect())
            .collect();
        let heatmaps = study
            .runs
            .iter()
            .map(|runs| runs.first().and_then(|r| crate::charts::heat_grid(r, &study.node_groups)))
            .collect();
        ReportData {
            format: FORMAT,
            scenario_name: study.scenario_name.clone(),
            replications: study.replications,
            labels: study.labels.iter().map(|l| l.label.clone()).collect(),
            brief,
            baseline: study.labels.get(baseline).map_or_else(String::new, |l| l.label.clone()),
            runs,
            faults,
            heatmaps,
        }
    }

    /// What `summary.json` alone gives: names and counts, no per-run data (so only the bar charts
    /// are drawn).
    pub fn from_summary(summary: &Summary) -> ReportData {
        let labels: Vec<String> = summary.results.iter().map(|r| r.label.clone()).collect();
        ReportData {
            format: FORMAT,
            scenario_name: summary.scenario.name.clone(),
            replications: summary.replications,
            baseline: labels.first().cloned().unwrap_or_default(),
            heatmaps: vec![None; labels.len()],
            labels,
            brief: Vec::new(),
            runs: Vec::new(),
            faults: Vec::new(),
        }
    }

    /// The file's text: compact JSON (it is data for programs; `summary.json` is the one to read)
    /// and a final newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("report data serialises") + "\n"
    }

    /// Reads `report-data.json` text, checked against the `summary.json` it sits beside; `file`
    /// names it in errors, which give the field path.
    pub fn from_json(text: &str, file: &str, summary: &Summary) -> Result<ReportData, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        let data: ReportData = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                format!("{file}: not a report-data.json: {}", e.inner())
            } else {
                format!("{file}: {path}: {}", e.inner())
            }
        })?;
        if data.format != FORMAT {
            return Err(format!(
                "{file}: format: version {} is not one this Fulcrum reads (it reads {FORMAT}); run the scenario again",
                data.format
            ));
        }
        let labels: Vec<&str> = summary.results.iter().map(|r| r.label.as_str()).collect();
        if data.labels != labels || data.scenario_name != summary.scenario.name {
            return Err(format!(
                "{file}: labels: does not belong to the summary.json beside it (scenario {:?} with {}, against {:?} with {})",
                data.scenario_name,
                data.labels.join(", "),
                summary.scenario.name,
                labels.join(", ")
            ));
        }
        let n = data.labels.len();
        let shape_ok = (data.runs.is_empty() || data.runs.len() == n) && data.heatmaps.len() == n;
        if !shape_ok {
            return Err(format!("{file}: runs, heatmaps: need one entry per label ({n})"));
        }
        if let Some(l) = data.runs.iter().position(|r| r.len() != data.replications as usize) {
            return Err(format!("{file}: runs[{l}]: need one entry per replication ({})", data.replications));
        }
        for (l, grid) in data.heatmaps.iter().enumerate() {
            let Some(g) = grid else { continue };
            if let Some(r) = g.rows.iter().position(|row| row.chars().count() != g.columns.len()) {
                return Err(format!("{file}: heatmaps[{l}].rows[{r}]: need one character per column"));
            }
            let covered = g.groups.iter().all(|&(_, first, rows)| first + rows <= g.rows.len());
            if !covered {
                return Err(format!("{file}: heatmaps[{l}].groups: a group runs past the last row"));
            }
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::tests::study;

    #[test]
    fn levels_round_trip_through_their_characters() {
        for level in 0..=HeatGrid::LEVELS {
            let u = f64::from(level) / 32.0;
            assert_eq!(HeatGrid::decode(HeatGrid::encode(u)), u);
        }
        assert_eq!(HeatGrid::encode(0.0), '0');
        assert_eq!(HeatGrid::encode(1.0), 'w');
        assert_eq!(HeatGrid::encode(7.0), 'w', "clamped");
        assert_eq!(HeatGrid::encode(0.52), 'h', "0.52 × 32 = 16.64 → level 17");
        assert!(HeatGrid::decode(HeatGrid::encode(f64::NAN)).is_nan());
        assert!(HeatGrid::decode('z').is_nan(), "past the last level");
    }

    #[test]
    fn the_file_reads_back_to_the_same_data() {
        let s = study(&["p2c", "random"], true);
        let summary = Summary::of(&s, "test");
        let mut data = ReportData::of(&s, vec!["Cluster: 4 nodes.".into()], 1);
        data.runs[0][0].series.load_cv[3] = Exact(f64::NAN);
        let back = ReportData::from_json(&data.to_json(), "report-data.json", &summary).unwrap();
        assert_eq!(back.to_json(), data.to_json());
        assert!(back.runs[0][0].series.load_cv[3].0.is_nan());
        assert_eq!(back.baseline, "random");
        assert_eq!(back.faults.len(), 2, "one entry per replication");
        assert_eq!(back.faults[0][0], FaultMark { t_ns: 100_000_000_000, kind: "crash".into() });
    }

    #[test]
    fn a_file_of_other_results_or_a_bad_shape_is_refused_with_its_field() {
        let s = study(&["p2c", "random"], false);
        let summary = Summary::of(&s, "test");
        let data = ReportData::of(&s, vec![], 0);
        let other = Summary::of(&study(&["p2c"], false), "test");
        let err = ReportData::from_json(&data.to_json(), "d/report-data.json", &other).unwrap_err();
        assert!(err.starts_with("d/report-data.json: labels: does not belong"), "{err}");

        let mut short = data.clone();
        short.runs[1].pop();
        let err = ReportData::from_json(&short.to_json(), "f", &summary).unwrap_err();
        assert_eq!(err, "f: runs[1]: need one entry per replication (2)");

        let mut ragged = data.clone();
        ragged.heatmaps[0].as_mut().unwrap().rows[2].push('0');
        let err = ReportData::from_json(&ragged.to_json(), "f", &summary).unwrap_err();
        assert_eq!(err, "f: heatmaps[0].rows[2]: need one character per column");

        let text = data.to_json().replace("\"replications\":2", "\"replications\":\"two\"");
        let err = ReportData::from_json(&text, "f", &summary).unwrap_err();
        assert!(err.starts_with("f: replications: invalid type"), "{err}");

        let text = data.to_json().replace("\"format\":1", "\"format\":9");
        let err = ReportData::from_json(&text, "f", &summary).unwrap_err();
        assert!(err.starts_with("f: format: version 9"), "{err}");
    }
}
