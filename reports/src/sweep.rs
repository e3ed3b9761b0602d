//! The files of a sweep (`fulcrum sweep`, `fulcrum merge`).
//!
//! A sweep directory holds `manifest.json` (every variant and every run, the same for every
//! shard), `variants/NAME/scenario.json` (each variant's scenario text), one `runs/ID.json` per
//! finished run, and, once every run is there, the merged results: `variants/NAME/summary.json`
//! and `variants/NAME/runs.csv` exactly as `fulcrum run` writes them, and `sweep.csv` (one row per
//! variant × label × metric). The merged files are a pure function of the manifest and the run
//! files, so shards merged in any grouping give the same bytes as one unsharded sweep.
//!
//! Run files keep metric values in shortest round-trip form (non-finite ones as the strings
//! `"NaN"`, `"inf"`, `"-inf"`), so reading them back gives the very same `f64`s.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::write::{csv_err, runs_csv, summary_json};
use crate::{LabelInfo, ScenarioRef, Summary};

/// `manifest.json`: what a sweep runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Version of Fulcrum that planned it.
    pub fulcrum_version: String,
    /// The sweep's name.
    pub sweep: String,
    /// The grid's paths, in order.
    pub axes: Vec<String>,
    /// Every variant, in grid order.
    pub variants: Vec<VariantEntry>,
    /// Every distinct run, in (variant, label, replication) order; runs that two variants share
    /// (identical scenarios) appear once.
    pub runs: Vec<RunRef>,
}

/// One variant of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantEntry {
    /// Directory name under `variants/`.
    pub name: String,
    /// The grid value of each axis.
    pub params: IndexMap<String, serde_json::Value>,
    /// The scenario's name and SHA-256 (of `variants/NAME/scenario.json`).
    pub scenario: ScenarioRef,
    /// Master seed.
    pub seed: u64,
    /// Replications per label.
    pub replications: u32,
    /// The strategy combinations run, in scenario order.
    pub labels: Vec<LabelInfo>,
    /// `run_ids[label_index][replication]`.
    pub run_ids: Vec<Vec<String>>,
}

/// One run of a sweep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRef {
    /// Stable id: a hash of the scenario's SHA-256, the label and the replication.
    pub id: String,
    /// The first variant it belongs to.
    pub variant: usize,
    /// The strategy label.
    pub label: String,
    /// The replication.
    pub replication: u32,
}

/// A metric value that survives JSON exactly, NaN and infinities included.
#[derive(Clone, Copy, Debug)]
pub struct Exact(pub f64);

impl Serialize for Exact {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            s.serialize_f64(self.0)
        } else {
            s.serialize_str(&self.0.to_string())
        }
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Exact, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Number(f64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Number(v) => Ok(Exact(v)),
            Repr::Text(t) => match t.as_str() {
                "NaN" | "inf" | "-inf" => Ok(Exact(t.parse().expect("non-finite spellings parse"))),
                _ => Err(serde::de::Error::custom(format!("{t:?} is not a metric value"))),
            },
        }
    }
}

/// `runs/ID.json`: one finished run.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    /// The run's id.
    pub id: String,
    /// The SHA-256 of the scenario it ran.
    pub scenario_sha256: String,
    /// The strategy label.
    pub label: String,
    /// The replication.
    pub replication: u32,
    /// Metrics in the simulator's order.
    pub metrics: IndexMap<String, Exact>,
    /// Per alert rule of the scenario, in its order: alerts fired and seconds firing (absent
    /// without alert rules, and in run files of versions before alerts were kept).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub alerts: IndexMap<String, RunAlerts>,
}

/// One alert rule's noise in one run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunAlerts {
    /// Alerts fired.
    pub fired: f64,
    /// Seconds spent firing.
    pub firing_s: f64,
}

impl RunResult {
    /// The run's alert noise as [`AlertCounts`](crate::AlertCounts).
    pub fn alert_counts(&self) -> crate::AlertCounts {
        self.alerts.iter().map(|(name, a)| (name.clone(), a.fired, a.firing_s)).collect()
    }
}

impl RunResult {
    /// The run file's text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a run result serialises") + "\n"
    }

    /// Reads a run file's text; `file` names it in errors.
    pub fn from_json(text: &str, file: &Path) -> Result<RunResult, String> {
        serde_json::from_str(text).map_err(|e| format!("{}: not a run result: {e}", file.display()))
    }
}

/// Writes `path` atomically under a temporary name unique to this process, so that shards
/// sharing a directory can write the same file (with the same content) at the same time.
pub fn write_shared(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("output");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The run file of `id` in sweep directory `dir`.
pub fn run_path(dir: &Path, id: &str) -> PathBuf {
    dir.join("runs").join(format!("{id}.json"))
}

/// Reads the run file of `run` in `dir`: `Ok(None)` if there is none, an error if it is not the
/// result of that run.
pub fn read_run(dir: &Path, run: &RunRef) -> Result<Option<RunResult>, String> {
    let path = run_path(dir, &run.id);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: cannot read the file: {e}", path.display())),
    };
    let r = RunResult::from_json(&text, &path)?;
    if r.id != run.id || r.label != run.label || r.replication != run.replication {
        return Err(format!(
            "{}: holds run {} ({}, replication {}), expected {} ({}, replication {})",
            path.display(),
            r.id,
            r.label,
            r.replication,
            run.id,
            run.label,
            run.replication
        ));
    }
    Ok(Some(r))
}

/// Writes the merged results of a complete sweep into `dir`: per variant `summary.json` and
/// `runs.csv`, and `sweep.csv`. `results` holds every run of `manifest.runs`, in that order.
/// Returns the paths written.
pub fn write_merged(
    dir: &Path,
    manifest: &Manifest,
    results: &[RunResult],
    fulcrum_version: &str,
) -> io::Result<Vec<PathBuf>> {
    let by_id: std::collections::BTreeMap<&str, &RunResult> = results.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut written = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for v in &manifest.variants {
        let vdir = dir.join("variants").join(&v.name);
        std::fs::create_dir_all(&vdir)?;
        let metrics: Vec<Vec<Vec<(String, f64)>>> = v
            .run_ids
            .iter()
            .map(|ids| {
                ids.iter()
                    .map(|id| {
                        let r = by_id.get(id.as_str()).ok_or_else(|| io::Error::other(format!("run {id} missing")))?;
                        Ok(r.metrics.iter().map(|(k, x)| (k.clone(), x.0)).collect())
                    })
                    .collect::<io::Result<Vec<_>>>()
            })
            .collect::<io::Result<_>>()?;
        let slices: Vec<Vec<&[(String, f64)]>> =
            metrics.iter().map(|runs| runs.iter().map(Vec::as_slice).collect()).collect();
        let mut summary =
            Summary::from_metrics(v.scenario.clone(), v.seed, v.replications, &v.labels, &slices, fulcrum_version);
        let alerts: Vec<Vec<crate::AlertCounts>> = v
            .run_ids
            .iter()
            .map(|ids| ids.iter().filter_map(|id| by_id.get(id.as_str())).map(|r| r.alert_counts()).collect())
            .collect();
        summary.add_alerts(&alerts);
        let path = vdir.join("summary.json");
        let mut text = Vec::new();
        summary_json(&mut text, &summary)?;
        write_shared(&path, &text)?;
        written.push(path);
        let path = vdir.join("runs.csv");
        let mut csv_bytes = Vec::new();
        runs_csv(&mut csv_bytes, &v.labels, &slices)?;
        write_shared(&path, &csv_bytes)?;
        written.push(path);
        for r in &summary.results {
            for (metric, m) in &r.metrics {
                let mut row = vec![v.name.clone()];
                row.extend(manifest.axes.iter().map(|a| v.params.get(a).map_or(String::new(), |x| x.to_string())));
                row.push(r.label.clone());
                row.push(metric.clone());
                row.push(m.mean.to_string());
                row.push(m.ci95.map_or(String::new(), |c| c[0].to_string()));
                row.push(m.ci95.map_or(String::new(), |c| c[1].to_string()));
                row.push(m.per_replication.len().to_string());
                rows.push(row);
            }
        }
    }
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["variant".to_string()];
    header.extend(manifest.axes.iter().cloned());
    header.extend(["label", "metric", "mean", "ci95_lo", "ci95_hi", "replications"].map(String::from));
    csv.write_record(&header).map_err(csv_err)?;
    for row in &rows {
        csv.write_record(row).map_err(csv_err)?;
    }
    let bytes = csv.into_inner().map_err(|e| io::Error::other(e.to_string()))?;
    let path = dir.join("sweep.csv");
    write_shared(&path, &bytes)?;
    written.push(path);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_values_round_trip_exactly() {
        let values = [0.1 + 0.2, 1e-300, 123_456_789.123_456_78, f64::NAN, f64::INFINITY, -f64::INFINITY, -0.0, 5e-324];
        let r = RunResult {
            id: "x".into(),
            scenario_sha256: "s".into(),
            label: "l".into(),
            replication: 0,
            metrics: values.iter().enumerate().map(|(i, v)| (format!("m{i}"), Exact(*v))).collect(),
            alerts: IndexMap::new(),
        };
        let back = RunResult::from_json(&r.to_json(), Path::new("r.json")).unwrap();
        for (i, v) in values.iter().enumerate() {
            let got = back.metrics[&format!("m{i}")].0;
            assert!(got.to_bits() == v.to_bits() || (got.is_nan() && v.is_nan()), "{v} came back as {got}");
        }
        assert!(RunResult::from_json(r#"{"id": "x"}"#, Path::new("r.json"))
            .unwrap_err()
            .starts_with("r.json: not a run result"));
    }
}
