//! The timeline (`--trace`): replication 0 of every strategy as a Chrome trace-event JSON file,
//! which Perfetto (<https://ui.perfetto.dev>) and `chrome://tracing` open.
//!
//! Format (Chrome's "Trace Event Format"): a JSON object whose `traceEvents` array holds
//! - per strategy a *process* (`pid` = label position + 1, named by `process_name` metadata);
//! - per node a *thread* (`tid` = node id + 1, named `node N (group)`), and thread 0 for the
//!   cluster as a whole;
//! - one complete event (`"ph": "X"`) per execution of a task, from when it started running to
//!   when it stopped, on its node's thread, with `task`, `class`, `attempt` (1 for the first
//!   dispatch, in dispatch order), `outcome` (`completed`, `lost`, `fenced`, `unfinished`) and
//!   the seconds it queued;
//! - one instant event (`"ph": "i"`) per fault action, suspicion, re-admission, migration, … (the
//!   event log), on the node's thread, or the cluster's when it concerns no node;
//! - counters (`"ph": "C"`): tasks in the system for the cluster, and per node its queued and
//!   running tasks, at every time-series sample.
//!
//! Times (`ts`, `dur`) are microseconds, written as exact decimals of the simulator's integer
//! nanoseconds. The file is bounded: at most `limit` events in all (split evenly between
//! strategies), instants first, then executions in the order they ended, then counters; what did
//! not fit is counted in the trace's `metadata` and reported.

use std::collections::BTreeMap;
use std::io::{self, Write};

use fulcrum_sim_core::metrics::{ExecRecord, RunOutput};
use fulcrum_sim_core::SimTime;

use crate::Study;

/// Default bound on the events of a trace (about 40 MB of JSON at most).
pub const DEFAULT_TRACE_LIMIT: usize = 300_000;

/// What a trace holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceCounts {
    /// Events written (metadata excluded).
    pub written: usize,
    /// Events left out by the bound.
    pub dropped: usize,
}

/// Microseconds, exactly, from nanoseconds.
fn micros(ns: u64) -> String {
    if ns.is_multiple_of(1000) {
        (ns / 1000).to_string()
    } else {
        format!("{}.{:03}", ns / 1000, ns % 1000).trim_end_matches('0').to_string()
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"?\"".into())
}

/// Attempt numbers: per task, its executions in dispatch order (then start, end), from 1.
fn attempts(execs: &[ExecRecord]) -> Vec<u32> {
    let mut by_task: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, e) in execs.iter().enumerate() {
        by_task.entry(e.task).or_default().push(i);
    }
    let mut out = vec![0; execs.len()];
    for idx in by_task.values_mut() {
        idx.sort_by_key(|&i| (execs[i].dispatched, execs[i].start, execs[i].end, i));
        for (k, &i) in idx.iter().enumerate() {
            out[i] = k as u32 + 1;
        }
    }
    out
}

/// Writes the timeline of replication 0 of every label to `w`; at most `limit` events.
pub fn write_trace(w: &mut dyn Write, study: &Study, limit: usize) -> io::Result<TraceCounts> {
    let mut counts = TraceCounts::default();
    let per_label = limit / study.labels.len().max(1);
    let mut group_of = Vec::new();
    for (name, _, count) in &study.node_groups {
        group_of.extend(std::iter::repeat_n(name.as_str(), *count as usize));
    }
    let n_nodes = group_of.len();
    writeln!(w, "{{\"displayTimeUnit\": \"ms\", \"traceEvents\": [")?;
    let mut first = true;
    let mut emit = |w: &mut dyn Write, line: String| -> io::Result<()> {
        if !first {
            w.write_all(b",\n")?;
        }
        first = false;
        w.write_all(line.as_bytes())
    };
    for (li, (info, runs)) in study.labels.iter().zip(&study.runs).enumerate() {
        let pid = li + 1;
        let Some(run) = runs.first() else { continue };
        emit(
            w,
            format!(
                "{{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": {pid}, \"tid\": 0, \"args\": {{\"name\": {}}}}}",
                json_str(&format!("{} (replication 0)", info.label))
            ),
        )?;
        emit(
            w,
            format!("{{\"ph\": \"M\", \"name\": \"process_sort_index\", \"pid\": {pid}, \"tid\": 0, \"args\": {{\"sort_index\": {pid}}}}}"),
        )?;
        emit(
            w,
            format!("{{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": {pid}, \"tid\": 0, \"args\": {{\"name\": \"cluster\"}}}}"),
        )?;
        for (node, group) in group_of.iter().enumerate() {
            emit(
                w,
                format!(
                    "{{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": {pid}, \"tid\": {}, \"args\": {{\"name\": {}}}}}",
                    node + 1,
                    json_str(&format!("node {node} ({group})"))
                ),
            )?;
        }
        let mut budget = per_label;
        let mut take = |n: usize| -> usize {
            let k = n.min(budget);
            budget -= k;
            counts.written += k;
            counts.dropped += n - k;
            k
        };
        label_events(w, &mut emit, study, run, pid, n_nodes, &mut take)?;
    }
    write!(
        w,
        "\n], \"metadata\": {{\"source\": \"fulcrum\", \"scenario\": {}, \"seed\": {}, \"events_written\": {}, \"events_dropped\": {}}}}}\n",
        json_str(&study.scenario_name),
        study.seed,
        counts.written,
        counts.dropped
    )?;
    Ok(counts)
}

/// The events of one run: instants, executions, counters, each cut to what `take` allows.
fn label_events(
    w: &mut dyn Write,
    emit: &mut dyn FnMut(&mut dyn Write, String) -> io::Result<()>,
    study: &Study,
    run: &RunOutput,
    pid: usize,
    n_nodes: usize,
    take: &mut dyn FnMut(usize) -> usize,
) -> io::Result<()> {
    let ts = |t: SimTime| micros(t.0);
    // Instants: the event log if it was kept, else the fault plan's steps.
    let instants: Vec<(SimTime, &str, Option<u32>, Option<u64>)> = match &run.events {
        Some(events) => events.iter().map(|e| (e.t, e.kind, e.node, e.task)).collect(),
        None => run.fault_times.iter().map(|&(t, kind)| (t, kind, None, None)).collect(),
    };
    let k = take(instants.len());
    for &(t, kind, node, task) in &instants[..k] {
        let tid = node.map_or(0, |n| n as usize + 1);
        let scope = if node.is_some() { "t" } else { "p" };
        let args = task.map_or(String::new(), |id| format!(", \"args\": {{\"task\": {id}}}"));
        emit(
            w,
            format!(
                "{{\"ph\": \"i\", \"s\": \"{scope}\", \"name\": {}, \"cat\": \"cluster\", \"ts\": {}, \"pid\": {pid}, \"tid\": {tid}{args}}}",
                json_str(kind),
                ts(t)
            ),
        )?;
    }
    // Executions.
    let execs: &[ExecRecord] = run.execs.as_deref().unwrap_or(&[]);
    let attempt = attempts(execs);
    let k = take(execs.len());
    for (e, attempt) in execs.iter().zip(&attempt).take(k) {
        let class = study.class_names.get(e.class as usize).map_or("?", String::as_str);
        emit(
            w,
            format!(
                "{{\"ph\": \"X\", \"name\": \"task {}\", \"cat\": {}, \"ts\": {}, \"dur\": {}, \"pid\": {pid}, \"tid\": {}, \
                 \"args\": {{\"task\": {}, \"class\": {}, \"attempt\": {attempt}, \"outcome\": \"{}\", \"queued_s\": {}}}}}",
                e.task,
                json_str(class),
                ts(e.start),
                micros((e.end - e.start).0),
                e.node + 1,
                e.task,
                json_str(class),
                e.outcome.name(),
                (e.start - e.dispatched).as_secs_f64()
            ),
        )?;
    }
    // Counters: the cluster's tasks in system, then each node's queue, sample by sample.
    let k = take(run.series.len());
    for p in &run.series[..k] {
        emit(
            w,
            format!(
                "{{\"ph\": \"C\", \"name\": \"tasks in system\", \"ts\": {}, \"pid\": {pid}, \"tid\": 0, \"args\": {{\"tasks\": {}}}}}",
                ts(p.t),
                p.in_system
            ),
        )?;
    }
    if let Some(samples) = run.node_samples.as_ref().filter(|s| s.nodes == n_nodes && s.len() == run.series.len()) {
        let k = take(samples.len() * n_nodes);
        for i in 0..k {
            let (sample, node) = (i / n_nodes, i % n_nodes);
            emit(
                w,
                format!(
                    "{{\"ph\": \"C\", \"name\": \"node {node} tasks\", \"ts\": {}, \"pid\": {pid}, \"tid\": {}, \
                     \"args\": {{\"queued\": {}, \"running\": {}}}}}",
                    ts(run.series[sample].t),
                    node + 1,
                    samples.queued[i],
                    samples.running[i]
                ),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::tests::study;
    use fulcrum_sim_core::metrics::{EventRecord, ExecOutcome};

    fn exec(task: u64, node: u32, dispatched: u64, start: u64, end: u64, outcome: ExecOutcome) -> ExecRecord {
        ExecRecord {
            task,
            class: 0,
            node,
            dispatched: SimTime(dispatched),
            start: SimTime(start),
            end: SimTime(end),
            outcome,
        }
    }

    #[test]
    fn microseconds_are_exact_decimals() {
        assert_eq!(micros(1_500_000), "1500");
        assert_eq!(micros(1_500_250), "1500.25");
        assert_eq!(micros(7), "0.007");
    }

    #[test]
    fn attempts_follow_dispatch_order() {
        let execs = [
            exec(5, 0, 300, 400, 500, ExecOutcome::Completed),
            exec(5, 1, 100, 150, 250, ExecOutcome::Lost),
            exec(6, 1, 200, 260, 900, ExecOutcome::Completed),
        ];
        assert_eq!(attempts(&execs), vec![2, 1, 1]);
    }

    #[test]
    fn the_trace_is_valid_json_with_tracks_slices_instants_and_counters() {
        let mut s = study(&["a", "b"], true);
        for runs in &mut s.runs {
            runs[0].execs = Some(vec![
                exec(1, 2, 1_000, 2_000, 5_000_500, ExecOutcome::Completed),
                exec(2, 0, 1_000, 3_000, 4_000, ExecOutcome::Lost),
                exec(2, 1, 5_000, 6_000, 9_000, ExecOutcome::Completed),
            ]);
            runs[0].events = Some(vec![EventRecord { t: SimTime(4_000), kind: "crash", node: Some(0), task: None }]);
        }
        let mut out = Vec::new();
        let counts = write_trace(&mut out, &s, 1_000_000).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        let events = v["traceEvents"].as_array().unwrap();
        // Per label: 1 instant + 3 slices + 50 cluster counters + 50 × 4 node counters.
        assert_eq!(counts, TraceCounts { written: 2 * (1 + 3 + 50 + 200), dropped: 0 });
        for e in events {
            assert!(e["ph"].is_string() && e["pid"].is_u64() && e["tid"].is_u64(), "{e}");
            if e["ph"] != "M" {
                assert!(e["ts"].is_number(), "{e}");
            }
        }
        let slices: Vec<&serde_json::Value> = events.iter().filter(|e| e["ph"] == "X" && e["pid"] == 1).collect();
        assert_eq!(slices.len(), 3);
        assert_eq!(slices[0]["ts"], 2.0);
        assert_eq!(slices[0]["dur"], 4998.5);
        assert_eq!(slices[0]["tid"], 3, "node 2 is thread 3");
        assert_eq!(slices[2]["args"]["attempt"], 2);
        assert_eq!(slices[1]["args"]["outcome"], "lost");
        let names: Vec<&str> =
            events.iter().filter(|e| e["name"] == "thread_name").map(|e| e["args"]["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"node 3 (n)"), "{names:?}");
        assert_eq!(events.iter().filter(|e| e["ph"] == "i").count(), 2);

        // Bounded: 10 events in all, 5 per label: the instant and four slices or counters.
        let mut out = Vec::new();
        let counts = write_trace(&mut out, &s, 10).unwrap();
        assert_eq!(counts, TraceCounts { written: 10, dropped: 2 * (1 + 3 + 50 + 200) - 10 });
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON when cut");
        assert_eq!(v["metadata"]["events_dropped"], counts.dropped);
    }
}
