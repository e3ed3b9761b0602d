//! The files of a study, each written to a temporary name and renamed into place.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use fulcrum_sim_core::alerts::Condition;
use fulcrum_sim_core::metrics::SeriesPoint;
use fulcrum_sim_core::SimTime;
use fulcrum_strategies::Resource;

use crate::{LabelInfo, Study, Summary};

/// Which files a study wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutputFiles {
    /// Paths written, in order.
    pub written: Vec<PathBuf>,
}

/// Writes `path` atomically: the content goes to a temporary file beside it, which is renamed
/// over `path` only once complete. On error the temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("output");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let result = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        fill(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Seconds with nine decimals, exactly, from integer nanoseconds.
fn secs(t: SimTime) -> String {
    format!("{}.{:09}", t.0 / 1_000_000_000, t.0 % 1_000_000_000)
}

pub(crate) fn csv_err(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

/// Writes `summary.json`, `runs.csv`, `timeseries.csv`, `nodes.csv` and, if the runs logged tasks,
/// `tasks.csv`
/// into `dir` (which must exist).
pub fn write_study(dir: &Path, study: &Study, summary: &Summary) -> io::Result<OutputFiles> {
    let mut out = OutputFiles::default();

    let path = dir.join("summary.json");
    write_summary(&path, summary)?;
    out.written.push(path);

    let path = dir.join("runs.csv");
    let metrics: Vec<Vec<&[(&str, f64)]>> =
        study.runs.iter().map(|runs| runs.iter().map(|r| r.metrics.as_slice()).collect()).collect();
    write_runs_csv(&path, &study.labels, &metrics)?;
    out.written.push(path);

    let path = dir.join("timeseries.csv");
    write_atomic(&path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(["label", "replication", "t_s", "metric", "value"]).map_err(csv_err)?;
        for (info, runs) in study.labels.iter().zip(&study.runs) {
            for (rep, run) in runs.iter().enumerate() {
                let rep = rep.to_string();
                for p in &run.series {
                    let t = secs(p.t);
                    for (name, value) in SeriesPoint::NAMES.iter().zip(p.values()) {
                        csv.write_record([info.label.as_str(), &rep, &t, name, &value.to_string()]).map_err(csv_err)?;
                    }
                }
            }
        }
        csv.flush()
    })?;
    out.written.push(path);

    let path = dir.join("nodes.csv");
    write_atomic(&path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        let mut header = vec!["label".to_string(), "replication".into(), "node".into(), "group".into()];
        header.extend(Resource::ALL.iter().map(|r| format!("util_{}", r.name())));
        csv.write_record(&header).map_err(csv_err)?;
        let mut group_of = Vec::new();
        for (name, _, count) in &study.node_groups {
            group_of.extend(std::iter::repeat_n(name.as_str(), *count as usize));
        }
        for (info, runs) in study.labels.iter().zip(&study.runs) {
            for (rep, run) in runs.iter().enumerate() {
                let rep = rep.to_string();
                for (node, u) in run.node_utilization.iter().enumerate() {
                    let mut row = vec![info.label.clone(), rep.clone(), node.to_string()];
                    row.push(group_of.get(node).copied().unwrap_or("?").to_string());
                    row.extend(u.iter().map(|v| v.to_string()));
                    csv.write_record(&row).map_err(csv_err)?;
                }
            }
        }
        csv.flush()
    })?;
    out.written.push(path);

    if !study.alert_rules.is_empty() {
        let path = dir.join("alerts.csv");
        write_atomic(&path, |w| {
            let mut csv = csv::Writer::from_writer(w);
            csv.write_record([
                "label",
                "replication",
                "alert",
                "metric",
                "condition",
                "threshold",
                "fired_s",
                "resolved_s",
                "firing_s",
                "peak",
            ])
            .map_err(csv_err)?;
            for (info, runs) in study.labels.iter().zip(&study.runs) {
                for (rep, run) in runs.iter().enumerate() {
                    let rep = rep.to_string();
                    for a in &run.alerts {
                        let rule = &study.alert_rules[a.rule as usize];
                        let (condition, threshold) = match rule.condition {
                            Condition::Above(x) => ("above", x),
                            Condition::Below(x) => ("below", x),
                        };
                        csv.write_record([
                            info.label.as_str(),
                            &rep,
                            &rule.name,
                            rule.metric.name(),
                            condition,
                            &threshold.to_string(),
                            &secs(a.fired),
                            &a.resolved.map(secs).unwrap_or_default(),
                            &a.firing.as_secs_f64().to_string(),
                            &a.peak.to_string(),
                        ])
                        .map_err(csv_err)?;
                    }
                }
            }
            csv.flush()
        })?;
        out.written.push(path);
    }

    if study.runs.iter().flatten().any(|r| r.events.is_some()) {
        let path = dir.join("events.csv");
        write_atomic(&path, |w| {
            let mut csv = csv::Writer::from_writer(w);
            csv.write_record(["label", "replication", "t_s", "event", "node", "task_id"]).map_err(csv_err)?;
            for (info, runs) in study.labels.iter().zip(&study.runs) {
                for (rep, run) in runs.iter().enumerate() {
                    let rep = rep.to_string();
                    for e in run.events.iter().flatten() {
                        csv.write_record([
                            info.label.as_str(),
                            &rep,
                            &secs(e.t),
                            e.kind,
                            &e.node.map(|n| n.to_string()).unwrap_or_default(),
                            &e.task.map(|t| t.to_string()).unwrap_or_default(),
                        ])
                        .map_err(csv_err)?;
                    }
                }
            }
            csv.flush()
        })?;
        out.written.push(path);
    }

    if study.runs.iter().flatten().any(|r| r.tasks.is_some()) {
        let path = dir.join("tasks.csv");
        write_atomic(&path, |w| {
            let mut csv = csv::Writer::from_writer(w);
            csv.write_record([
                "label",
                "replication",
                "task_id",
                "class",
                "arrival_s",
                "work_s",
                "node",
                "start_s",
                "end_s",
                "attempts",
            ])
            .map_err(csv_err)?;
            let opt = |v: Option<String>| v.unwrap_or_default();
            for (info, runs) in study.labels.iter().zip(&study.runs) {
                for (rep, run) in runs.iter().enumerate() {
                    let rep = rep.to_string();
                    for t in run.tasks.iter().flatten() {
                        let class = study.class_names.get(t.class as usize).map_or("?", String::as_str);
                        csv.write_record([
                            info.label.as_str(),
                            &rep,
                            &t.id.to_string(),
                            class,
                            &secs(t.arrival),
                            &secs(SimTime(t.work.0)),
                            &opt(t.node.map(|n| n.to_string())),
                            &opt(t.start.map(secs)),
                            &opt(t.end.map(secs)),
                            &t.attempts.to_string(),
                        ])
                        .map_err(csv_err)?;
                    }
                }
            }
            csv.flush()
        })?;
        out.written.push(path);
    }

    if study.runs.iter().flatten().any(|r| r.decisions.is_some()) {
        let path = dir.join("decisions.jsonl");
        write_atomic(&path, |w| {
            for (info, runs) in study.labels.iter().zip(&study.runs) {
                for (rep, run) in runs.iter().enumerate() {
                    for d in run.decisions.iter().flatten() {
                        serde_json::to_writer(&mut *w, &decision_json(&info.label, rep, d))
                            .map_err(io::Error::other)?;
                        w.write_all(b"\n")?;
                    }
                }
            }
            Ok(())
        })?;
        out.written.push(path);
    }
    Ok(out)
}

/// Writes `summary.json` (pretty JSON and a final newline).
pub fn write_summary(path: &Path, summary: &Summary) -> io::Result<()> {
    write_atomic(path, |w| summary_json(w, summary))
}

/// The bytes of `summary.json`.
pub(crate) fn summary_json(w: &mut dyn Write, summary: &Summary) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, summary).map_err(io::Error::other)?;
    w.write_all(b"\n")
}

/// Writes `runs.csv`: one row per label × replication, `metrics[label_index][replication]` as in
/// [`Summary::from_metrics`], every metric a column (named after the first run's).
pub fn write_runs_csv<N: AsRef<str>>(
    path: &Path,
    labels: &[LabelInfo],
    metrics: &[Vec<&[(N, f64)]>],
) -> io::Result<()> {
    write_atomic(path, |w| runs_csv(w, labels, metrics))
}

/// The bytes of `runs.csv`.
pub(crate) fn runs_csv<N: AsRef<str>>(
    w: &mut dyn Write,
    labels: &[LabelInfo],
    metrics: &[Vec<&[(N, f64)]>],
) -> io::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    let names: Vec<&str> =
        metrics.iter().flatten().next().map(|r| r.iter().map(|(n, _)| n.as_ref()).collect()).unwrap_or_default();
    let mut header = vec!["label", "balancer", "detector", "failover", "replication"];
    header.extend(&names);
    csv.write_record(&header).map_err(csv_err)?;
    for (info, runs) in labels.iter().zip(metrics) {
        for (rep, run) in runs.iter().enumerate() {
            let mut row = vec![
                info.label.clone(),
                info.balancer.clone(),
                info.detector.clone(),
                info.failover.clone(),
                rep.to_string(),
            ];
            row.extend(run.iter().map(|(_, v)| v.to_string()));
            csv.write_record(&row).map_err(csv_err)?;
        }
    }
    csv.flush()
}

/// One line of `decisions.jsonl` (fields in this order; terms in the balancer's order).
#[derive(serde::Serialize)]
struct DecisionLine<'a> {
    label: &'a str,
    replication: usize,
    t_s: String,
    task: u64,
    attempt: u32,
    chosen: Option<u32>,
    batch: u32,
    rank: fulcrum_strategies::balance::Rank,
    candidates: Vec<CandidateLine>,
}

#[derive(serde::Serialize)]
struct CandidateLine {
    node: u32,
    rejected_by: Option<&'static str>,
    terms: indexmap::IndexMap<&'static str, serde_json::Value>,
    score: Option<serde_json::Value>,
}

fn decision_json<'a>(
    label: &'a str,
    replication: usize,
    d: &fulcrum_sim_core::metrics::DecisionRecord,
) -> DecisionLine<'a> {
    DecisionLine {
        label,
        replication,
        t_s: secs(d.t),
        task: d.task,
        attempt: d.attempt,
        chosen: d.chosen,
        batch: d.batch,
        rank: d.why.rank,
        candidates: d
            .why
            .notes
            .iter()
            .map(|n| CandidateLine {
                node: n.node,
                rejected_by: n.rejected_by,
                terms: n.terms.iter().map(|(k, v)| (*k, finite(*v))).collect(),
                score: n.score.map(finite),
            })
            .collect(),
    }
}

/// A number for JSON: non-finite values become null.
fn finite(x: f64) -> serde_json::Value {
    serde_json::Number::from_f64(x).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// Writes `cost.json`: per label, the wall-clock time its balancer spent per decision over all
/// replications (decisions, mean, median and 99th percentile, microseconds). Timings vary between
/// runs and machines, which is why they live here and not in `summary.json`.
pub fn write_cost(path: &Path, study: &Study) -> io::Result<()> {
    let mut results = Vec::new();
    for (info, runs) in study.labels.iter().zip(&study.runs) {
        let mut merged: Option<hdrhistogram::Histogram<u64>> = None;
        for h in runs.iter().filter_map(|r| r.decision_cost.as_ref()) {
            match merged.as_mut() {
                None => merged = Some(h.clone()),
                Some(m) => m.add(h).map_err(io::Error::other)?,
            }
        }
        let mut batches: Option<hdrhistogram::Histogram<u64>> = None;
        for h in runs.iter().filter_map(|r| r.batch_cost.as_ref()) {
            match batches.as_mut() {
                None => batches = Some(h.clone()),
                Some(m) => m.add(h).map_err(io::Error::other)?,
            }
        }
        let us = |ns: f64| ns / 1000.0;
        if let Some(h) = batches.filter(|h| !h.is_empty()) {
            results.push(serde_json::json!({
                "label": info.label,
                "balancer": info.balancer,
                "batches": h.len(),
                "mean_us_per_batch": us(h.mean()),
                "p50_us_per_batch": us(h.value_at_quantile(0.5) as f64),
                "p99_us_per_batch": us(h.value_at_quantile(0.99) as f64),
                "tasks": merged.as_ref().map_or(0, |t| t.len()),
                "mean_us_per_task": merged.as_ref().map_or(f64::NAN, |t| us(t.mean())),
            }));
            continue;
        }
        let Some(h) = merged else { continue };
        results.push(serde_json::json!({
            "label": info.label,
            "balancer": info.balancer,
            "decisions": h.len(),
            "mean_us": us(h.mean()),
            "p50_us": us(h.value_at_quantile(0.5) as f64),
            "p99_us": us(h.value_at_quantile(0.99) as f64),
        }));
    }
    let doc = serde_json::json!({
        "note": "wall-clock time per balancer decision on this machine; not deterministic, not part of the results",
        "scenario": study.scenario_name,
        "results": results,
    });
    write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::other)?;
        w.write_all(b"\n")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_exact() {
        assert_eq!(secs(SimTime(1_500_000_001)), "1.500000001");
        assert_eq!(secs(SimTime(0)), "0.000000000");
    }

    #[test]
    fn summary_json_reads_back_to_the_same_bytes_nulls_included() {
        let study = crate::charts::tests::study(&["p2c", "random"], true);
        let mut summary = Summary::of(&study, "test");
        let m = summary.results[1].metrics.get_mut("recovery_time_s").unwrap();
        m.per_replication[0] = f64::NAN;
        m.mean = f64::NAN;
        m.ci95 = Some([f64::NAN, f64::NAN]);
        let mut text = Vec::new();
        summary_json(&mut text, &summary).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("null"));
        let back = Summary::from_json(&text, "summary.json").unwrap();
        let mut again = Vec::new();
        summary_json(&mut again, &back).unwrap();
        assert_eq!(String::from_utf8(again).unwrap(), text);
        assert!(back.results[1].metrics["recovery_time_s"].mean.is_nan());

        let err = Summary::from_json(&text.replace("\"seed\": 1", "\"seed\": -1"), "d/summary.json").unwrap_err();
        assert!(err.starts_with("d/summary.json: seed: invalid value"), "{err}");
        let err = Summary::from_json("[]", "s").unwrap_err();
        assert!(err.starts_with("s: not a summary.json"), "{err}");
    }

    #[test]
    fn atomic_write_leaves_nothing_behind_on_error() {
        let dir = std::env::temp_dir().join(format!("fulcrum-reports-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.csv");
        write_atomic(&path, |w| w.write_all(b"old")).unwrap();
        let err = write_atomic(&path, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("interrupted"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "temporary file left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
