//! Fulcrum's results: aggregation across replications, the files a study writes, and the
//! terminal comparison table.
//!
//! Everything here is a pure function of the runs' outputs, taken in (label, replication) order
//! — never in the order runs finished — so a study's files are byte-identical whatever the thread
//! count. Floats are written in Rust's shortest round-trip form and times as exact decimal
//! seconds from integer nanoseconds. Files are written to a temporary name and renamed into
//! place, so an interrupted run never leaves a half-written file behind.
#![deny(missing_docs)]

pub mod charts;
pub mod compare;
pub mod data;
pub mod explain;
pub mod html;
pub mod stats;
pub mod sweep;
mod table;
pub mod tables;
pub mod trace;
mod write;

pub use data::ReportData;
pub use table::comparison_table;
pub use write::{write_atomic, write_cost, write_runs_csv, write_study, write_summary, OutputFiles};

use fulcrum_sim_core::alerts::AlertRule;
use fulcrum_sim_core::metrics::RunOutput;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Everything one `fulcrum run` produced, in a fixed order.
#[derive(Debug)]
pub struct Study {
    /// Scenario name.
    pub scenario_name: String,
    /// SHA-256 of the scenario file.
    pub scenario_sha256: String,
    /// Master seed.
    pub seed: u64,
    /// Replications per label.
    pub replications: u32,
    /// Task class names, by class index.
    pub class_names: Vec<String>,
    /// Node group names with their first node id and node count, in id order.
    pub node_groups: Vec<(String, u32, u32)>,
    /// One entry per strategy combination, in scenario order.
    pub labels: Vec<LabelInfo>,
    /// `runs[label_index][replication]`.
    pub runs: Vec<Vec<RunOutput>>,
    /// The scenario's alert rules (a run's alerts refer to them by index).
    pub alert_rules: Vec<AlertRule>,
}

/// A strategy combination's names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelInfo {
    /// The result's label.
    pub label: String,
    /// The balancer's label.
    pub balancer: String,
    /// The failure detector's label (`none` without failure detection).
    pub detector: String,
    /// The failover policy's label.
    pub failover: String,
}

/// A metric across replications. `summary.json` writes an undefined value as `null`, which
/// reads back as NaN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    /// Mean over replications.
    #[serde(deserialize_with = "null_as_nan")]
    pub mean: f64,
    /// 95% Student-t interval of the mean; `null` with a single replication. A metric that is
    /// undefined in a replication (e.g. a mean detection time with nothing detected) is `NaN` there
    /// (`null` in JSON), and its mean is then undefined too.
    #[serde(deserialize_with = "interval_with_nulls")]
    pub ci95: Option<[f64; 2]>,
    /// The value of each replication, in replication order.
    #[serde(deserialize_with = "nulls_as_nan")]
    pub per_replication: Vec<f64>,
}

fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

fn nulls_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    Ok(Vec::<Option<f64>>::deserialize(d)?.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

fn interval_with_nulls<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<[f64; 2]>, D::Error> {
    let ci = Option::<[Option<f64>; 2]>::deserialize(d)?;
    Ok(ci.map(|[lo, hi]| [lo.unwrap_or(f64::NAN), hi.unwrap_or(f64::NAN)]))
}

/// One label's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelSummary {
    /// The result's label.
    pub label: String,
    /// The balancer's label.
    pub balancer: String,
    /// The failure detector's label.
    pub detector: String,
    /// The failover policy's label.
    pub failover: String,
    /// Metrics by name, in the simulator's order.
    pub metrics: IndexMap<String, MetricSummary>,
    /// Per alert rule, by name in scenario order: how often it fired and for how long (absent
    /// without alert rules).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub alerts: IndexMap<String, AlertSummary>,
}

/// One alert rule's noise for one label, across replications.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertSummary {
    /// Alerts fired per replication.
    pub fired: MetricSummary,
    /// Seconds spent firing per replication.
    pub firing_s: MetricSummary,
}

/// One run's alert noise: per alert rule in scenario order, `(rule name, alerts fired, seconds
/// firing)`.
pub type AlertCounts = Vec<(String, f64, f64)>;

/// A run's [`AlertCounts`] under the scenario's alert `rules` (to which its alerts refer by
/// index).
pub fn alert_counts(run: &RunOutput, rules: &[AlertRule]) -> AlertCounts {
    rules
        .iter()
        .enumerate()
        .map(|(k, rule)| {
            let mine = run.alerts.iter().filter(|a| a.rule as usize == k);
            let (fired, firing_s) = mine.fold((0.0, 0.0), |(n, s), a| (n + 1.0, s + a.firing.as_secs_f64()));
            (rule.name.clone(), fired, firing_s)
        })
        .collect()
}

/// Scenario identity in `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioRef {
    /// Name.
    pub name: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
}

/// The contents of `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Version of Fulcrum that wrote it.
    pub fulcrum_version: String,
    /// The scenario.
    pub scenario: ScenarioRef,
    /// Master seed.
    pub seed: u64,
    /// Replications per label.
    pub replications: u32,
    /// Per label, in scenario order.
    pub results: Vec<LabelSummary>,
}

impl Summary {
    /// Reads `summary.json` text back (undefined values, written as `null`, become NaN); `file`
    /// names it in errors, which give the field path.
    pub fn from_json(text: &str, file: &str) -> Result<Summary, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                format!("{file}: not a summary.json: {}", e.inner())
            } else {
                format!("{file}: {path}: {}", e.inner())
            }
        })
    }

    /// Aggregates a study.
    pub fn of(study: &Study, fulcrum_version: &str) -> Summary {
        let metrics: Vec<Vec<&[(&str, f64)]>> =
            study.runs.iter().map(|runs| runs.iter().map(|r| r.metrics.as_slice()).collect()).collect();
        let mut summary = Summary::from_metrics(
            ScenarioRef { name: study.scenario_name.clone(), sha256: study.scenario_sha256.clone() },
            study.seed,
            study.replications,
            &study.labels,
            &metrics,
            fulcrum_version,
        );
        // Alert noise per label and rule: alerts fired and seconds firing, per replication.
        let counts: Vec<Vec<AlertCounts>> =
            study.runs.iter().map(|runs| runs.iter().map(|r| alert_counts(r, &study.alert_rules)).collect()).collect();
        summary.add_alerts(&counts);
        summary
    }

    /// Adds per-label alert summaries from per-run counts: `counts[label_index][replication]`
    /// holds, per alert rule in scenario order, `(rule name, alerts fired, seconds firing)`.
    /// [`Summary::of`] and `fulcrum merge` (from the sweep's run files) both go through it.
    pub fn add_alerts(&mut self, counts: &[Vec<AlertCounts>]) {
        let summarise = |per_replication: Vec<f64>| {
            let (mean, ci) = stats::mean_ci95(&per_replication);
            MetricSummary { mean, ci95: ci.map(|(lo, hi)| [lo, hi]), per_replication }
        };
        for (result, runs) in self.results.iter_mut().zip(counts) {
            let Some(first) = runs.first() else { continue };
            for (k, (name, _, _)) in first.iter().enumerate() {
                let fired = runs.iter().map(|r| r[k].1).collect();
                let firing = runs.iter().map(|r| r[k].2).collect();
                result
                    .alerts
                    .insert(name.clone(), AlertSummary { fired: summarise(fired), firing_s: summarise(firing) });
            }
        }
    }

    /// Aggregates per-run metrics: `metrics[label_index][replication]` holds one run's
    /// `(name, value)` pairs, every run of a label in the same order (as [`RunOutput::metrics`]).
    /// [`Summary::of`] is this over a study's runs; `fulcrum merge` calls it with metrics read back
    /// from a sweep's run files.
    pub fn from_metrics<N: AsRef<str>>(
        scenario: ScenarioRef,
        seed: u64,
        replications: u32,
        labels: &[LabelInfo],
        metrics: &[Vec<&[(N, f64)]>],
        fulcrum_version: &str,
    ) -> Summary {
        let results = labels
            .iter()
            .zip(metrics)
            .map(|(info, runs)| {
                let mut metrics = IndexMap::new();
                if let Some(first) = runs.first() {
                    for (i, (name, _)) in first.iter().enumerate() {
                        let per_replication: Vec<f64> = runs.iter().map(|r| r[i].1).collect();
                        let (mean, ci) = stats::mean_ci95(&per_replication);
                        metrics.insert(
                            name.as_ref().to_string(),
                            MetricSummary { mean, ci95: ci.map(|(lo, hi)| [lo, hi]), per_replication },
                        );
                    }
                }
                LabelSummary {
                    label: info.label.clone(),
                    balancer: info.balancer.clone(),
                    detector: info.detector.clone(),
                    failover: info.failover.clone(),
                    metrics,
                    alerts: IndexMap::new(),
                }
            })
            .collect();
        Summary { fulcrum_version: fulcrum_version.to_string(), scenario, seed, replications, results }
    }
}
