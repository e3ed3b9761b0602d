//! The `fulcrum` command as users run it: the default run, the contract scenario against theory,
//! determinism across runs and thread counts, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fulcrum(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fulcrum")).args(args).output().expect("fulcrum runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn library(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/library").join(name)
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

fn summary(dir: &Path) -> Value {
    serde_json::from_slice(&read(dir, "summary.json")).unwrap()
}

/// Runs `scenario` into a fresh directory with extra `args`; returns the directory.
fn run_into(tmp: &Path, name: &str, scenario: Option<&Path>, args: &[&str]) -> PathBuf {
    let out = tmp.join(name);
    let mut all = vec!["run".to_string()];
    if let Some(s) = scenario {
        all.push(s.display().to_string());
    }
    all.extend(["--out".to_string(), out.display().to_string(), "--quiet".to_string()]);
    all.extend(args.iter().map(|a| a.to_string()));
    let argv: Vec<&str> = all.iter().map(String::as_str).collect();
    let o = fulcrum(&argv);
    assert!(o.status.success(), "fulcrum {argv:?} failed: {}", stderr(&o));
    out
}

const REQUIRED_METRICS: [&str; 13] = [
    "mean_response_s",
    "p50_response_s",
    "p95_response_s",
    "p99_response_s",
    "mean_wait_s",
    "throughput_per_s",
    "submitted",
    "completed",
    "balance_cv",
    "jain_index",
    "max_over_mean",
    "utilization_mean",
    "events",
];

#[test]
fn default_run_prints_a_table_and_writes_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("default");
    let o = fulcrum(&["run", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8(o.stdout).unwrap();
    for label in ["random", "round-robin", "least-connections", "p2c", "swrr", "wlc"] {
        assert!(stdout.lines().any(|l| l.starts_with(label)), "no row for {label} in:\n{stdout}");
    }
    let s = summary(&out);
    assert_eq!(s["scenario"]["name"], "quickstart");
    assert_eq!(s["results"].as_array().unwrap().len(), 6);
    // The quickstart is built so that load-aware strategies visibly win on a heterogeneous cluster.
    let mean = |label: &str| {
        s["results"].as_array().unwrap().iter().find(|r| r["label"] == label).unwrap()["metrics"]["mean_response_s"]
            ["mean"]
            .as_f64()
            .unwrap()
    };
    assert!(mean("least-connections") * 2.0 < mean("round-robin"), "{stdout}");
    assert!(mean("p2c") * 2.0 < mean("random"), "{stdout}");
    // Weighting by capacity fixes round robin's problem on this cluster.
    assert!(mean("swrr") * 2.0 < mean("round-robin"), "{stdout}");
    for f in ["runs.csv", "timeseries.csv", "nodes.csv"] {
        assert!(!read(&out, f).is_empty());
    }
    assert!(!out.join("tasks.csv").exists(), "tasks.csv is written only with --task-log");
    // Charts, on by default: an SVG naming every strategy and a PNG for each.
    for chart in DEFAULT_CHARTS {
        let svg = String::from_utf8(read(&out, &format!("charts/{chart}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "charts/{chart}.svg is not an SVG");
        for label in ["random", "round-robin", "least-connections", "p2c", "swrr", "wlc"] {
            assert!(svg.contains(label), "charts/{chart}.svg does not name {label}");
        }
        assert!(read(&out, &format!("charts/{chart}.png")).starts_with(b"\x89PNG\r\n\x1a\n"), "{chart}.png");
    }
    for chart in FAULT_CHARTS {
        assert!(!out.join(format!("charts/{chart}.svg")).exists(), "{chart} drawn without failure detection");
    }
    assert!(stdout.contains("charts/balance.png"), "{stdout}");
    // report.html: self-contained, every strategy in the table, every chart inline with a caption.
    let html = String::from_utf8(read(&out, "report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    for label in ["random", "round-robin", "least-connections", "p2c", "swrr", "wlc"] {
        assert!(html.contains(&format!("<tr><td>{label}</td>")), "report.html has no row for {label}");
    }
    assert_eq!(html.matches("<svg").count(), DEFAULT_CHARTS.len() + FOCUS_CHARTS.len());
    assert_eq!(html.matches("<figcaption>").count(), DEFAULT_CHARTS.len() + FOCUS_CHARTS.len());
    let heatmap = String::from_utf8(read(&out, "charts/heatmap.svg")).unwrap();
    for group in ["standard", "fast", "big", "random (replication 0)"] {
        assert!(heatmap.contains(group), "the heatmap does not name {group}");
    }
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "report.html refers to outside assets");
    assert!(html.contains("Differences to random"));
    // The same tables for a paper and for Markdown: every strategy, the best of a column in bold.
    let tex = String::from_utf8(read(&out, "results.tex")).unwrap();
    let md = String::from_utf8(read(&out, "results.md")).unwrap();
    for label in ["random", "round-robin", "least-connections", "p2c", "swrr", "wlc"] {
        assert!(tex.contains(&format!("\n{label} & ")), "results.tex has no row for {label}");
        assert!(md.contains(&format!("\n| {label} |")), "results.md has no row for {label}");
    }
    assert!(tex.contains("\\mathbf{") && tex.contains("\\toprule") && md.contains("**"));

    // Another baseline; an unknown one is bad input, caught before anything runs.
    let tmp = tempfile::tempdir().unwrap();
    let other = run_into(tmp.path(), "b", None, &["--replications", "2", "--baseline", "p2c", "--no-charts"]);
    let html = String::from_utf8(read(&other, "report.html")).unwrap();
    assert!(html.contains("Differences to p2c") && !html.contains("<svg"));
    let bad = tmp.path().join("bad");
    let o = fulcrum(&["run", "--out", &bad.display().to_string(), "--baseline", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--baseline \"nope\": no such strategy; the labels are random, round-robin"));
    assert!(!bad.exists());
}

/// Charts every run draws.
const DEFAULT_CHARTS: [&str; 5] = ["balance", "throughput", "response_cdf", "response_quantiles", "utilisation"];
/// Charts every run draws for one strategy (the baseline) only.
const FOCUS_CHARTS: [&str; 1] = ["heatmap"];
/// Charts only runs with failure detection draw.
const FAULT_CHARTS: [&str; 3] = ["recovery", "detection", "detection_cdf"];

/// The chart files of a results directory, `(path, bytes)` in name order.
fn chart_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir.join("charts")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names.into_iter().map(|n| (n.clone(), read(dir, &format!("charts/{n}")))).collect()
}

#[test]
fn contract_scenario_matches_mm1_and_has_every_field() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_into(tmp.path(), "mm1", Some(&library("mm1-check.json")), &[]);
    let s = summary(&out);
    assert_eq!(s["fulcrum_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["scenario"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(s["seed"], 1);
    assert_eq!(s["replications"], 4);
    let results = s["results"].as_array().unwrap();
    let labels: Vec<&str> = results.iter().map(|r| r["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["random", "round-robin", "least-connections", "p2c"]);
    for r in results {
        assert_eq!(r["balancer"], r["label"]);
        for m in REQUIRED_METRICS {
            let metric = &r["metrics"][m];
            assert!(metric["mean"].is_f64() || metric["mean"].is_u64(), "{}: {m} missing", r["label"]);
            assert_eq!(metric["per_replication"].as_array().unwrap().len(), 4);
            let ci = metric["ci95"].as_array().unwrap();
            assert!(ci[0].as_f64().unwrap() <= ci[1].as_f64().unwrap());
        }
        // M/M/1 at ρ = 0.8: mean response 1/(μ − λ) = 5 s (+1 ms dispatch delay). One replication's
        // mean has a relative standard error of about 2.2% here, the mean of four about 1.1%, so
        // 5% is over four standard errors.
        let mean = r["metrics"]["mean_response_s"]["mean"].as_f64().unwrap();
        assert!((mean - 5.001).abs() < 0.05 * 5.0, "{}: mean response {mean}", r["label"]);
        // Counts are per replication: about 0.8 × 198,000 s tasks each.
        let submitted = r["metrics"]["submitted"]["mean"].as_f64().unwrap();
        assert!((submitted - 158_400.0).abs() < 2_000.0, "{submitted}");
    }
    // runs.csv: one row per label × replication, every metric a column.
    let runs = read(&out, "runs.csv");
    let mut csv = csv::Reader::from_reader(&runs[..]);
    let header = csv.headers().unwrap().clone();
    for m in REQUIRED_METRICS {
        assert!(header.iter().any(|h| h == m), "runs.csv lacks {m}");
    }
    assert_eq!(csv.records().count(), 16);
    let series = read(&out, "timeseries.csv");
    let mut ts = csv::Reader::from_reader(&series[..]);
    assert_eq!(ts.headers().unwrap(), vec!["label", "replication", "t_s", "metric", "value"]);
    assert!(ts.records().count() > 16 * 100);
}

#[test]
fn results_are_byte_identical_across_runs_and_thread_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = library("quickstart.json");
    let a = run_into(tmp.path(), "a", Some(&scenario), &["--threads", "1", "--task-log"]);
    let b = run_into(tmp.path(), "b", Some(&scenario), &["--threads", "2", "--task-log"]);
    // Measuring decision cost (wall clock) and logging decisions must not change any result.
    let c = run_into(
        tmp.path(),
        "c",
        Some(&scenario),
        &["--threads", "2", "--task-log", "--decision-cost", "--decision-log", "--decision-limit", "20"],
    );
    let log = String::from_utf8(read(&c, "decisions.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 6 * 5 * 20, "20 decisions per run, 6 balancers x 5 replications");
    let cost: Value = serde_json::from_slice(&read(&c, "cost.json")).unwrap();
    assert_eq!(cost["results"].as_array().unwrap().len(), 6);
    assert!(cost["results"][0]["p99_us"].as_f64().unwrap() > 0.0);
    let d = run_into(tmp.path(), "d", Some(&scenario), &["--threads", "2", "--task-log", "--no-charts"]);
    for f in ["summary.json", "runs.csv", "timeseries.csv", "nodes.csv", "tasks.csv"] {
        assert!(read(&a, f) == read(&b, f), "{f} differs between --threads 1 and --threads 2");
        assert!(read(&b, f) == read(&c, f), "{f} differs between two identical runs");
        assert!(read(&b, f) == read(&d, f), "{f} differs with --no-charts");
    }
    // Charts are deterministic too.
    let charts = chart_files(&a);
    assert_eq!(charts.len(), 2 * (DEFAULT_CHARTS.len() + FOCUS_CHARTS.len()));
    assert!(charts == chart_files(&b), "charts differ between --threads 1 and --threads 2");
    assert!(read(&a, "report.html") == read(&b, "report.html"), "report.html differs between thread counts");
    assert!(read(&a, "report-data.json") == read(&b, "report-data.json"), "report-data.json differs too");
    assert!(!d.join("charts").exists(), "--no-charts drew charts");
    // Common random numbers: every balancer of a replication sees the same tasks.
    let task_bytes = read(&a, "tasks.csv");
    let mut tasks = csv::Reader::from_reader(&task_bytes[..]);
    type TaskColumns = Vec<(String, String, String, String)>;
    let mut per_label_rep: std::collections::BTreeMap<(String, String), TaskColumns> = Default::default();
    for rec in tasks.records() {
        let rec = rec.unwrap();
        per_label_rep.entry((rec[0].to_string(), rec[1].to_string())).or_default().push((
            rec[2].to_string(),
            rec[3].to_string(),
            rec[4].to_string(),
            rec[5].to_string(),
        ));
    }
    let reps: std::collections::BTreeSet<&String> = per_label_rep.keys().map(|(_, r)| r).collect();
    assert_eq!(reps.len(), 5);
    for rep in reps {
        let columns: Vec<_> = per_label_rep.iter().filter(|((_, r), _)| r == rep).map(|(_, v)| v).collect();
        assert_eq!(columns.len(), 6);
        assert!(columns[0].len() > 40_000);
        for other in &columns[1..] {
            assert!(*other == columns[0], "replication {rep}: task id/class/arrival/work differ between balancers");
        }
    }
}

/// Writes `json` to a file, runs `fulcrum run` on it, and checks exit code 2, one message naming
/// the file and `expected`, and that no output directory was created.
fn rejects(json: &str, expected: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bad.json");
    std::fs::write(&file, json).unwrap();
    let out = tmp.path().join("never");
    let o = fulcrum(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&format!("{}: {expected}", file.display())), "expected {expected:?} in {err:?}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists(), "output directory created for a bad scenario");
}

#[test]
fn bad_input_exits_2_with_the_field_path_and_writes_nothing() {
    let good = std::fs::read_to_string(library("mm1-check.json")).unwrap();
    rejects("{\"name\": ", "name: EOF while parsing a value at line 1 column 9");
    rejects(&good.replace("\"seed\": 1", "\"seed\": 1, \"sede\": 2"), "sede: unknown field `sede`");
    rejects(
        &good.replace("\"rate_per_s\": 0.8", "\"rate_per_s\": -0.8"),
        "workload.arrival.rate_per_s: must be positive",
    );
    rejects(&good.replace("\"count\": 1", "\"count\": 0"), "cluster.node_groups[0].count: must be at least 1, got 0");
    rejects(
        &good.replace("\"memory_gb\": 1}", "\"memory_gb\": 8}"),
        "workload.classes[0].demand: no node can ever hold this class: it needs 8 memory_gb and the largest node has 4",
    );
    rejects(&good.replace("\"share\": 1.0", "\"share\": 0.7"), "workload.classes: shares must sum to 1, got 0.7");
    rejects(&good.replace("\"loss\": 0.0", "\"loss\": 2"), "heartbeat.loss: must be a probability in [0, 1], got 2");
    rejects(
        &good.replace("\"count\": 1", "\"count\": 999999999999"),
        "cluster.node_groups: declare 999999999999 nodes",
    );
    rejects(&good.replace("\"d\": 2", "\"d\": 1000"), "balancers[3].d: must be at most 64, got 1000");

    let o = fulcrum(&["run", "/no/such/scenario.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/no/such/scenario.json: cannot read the file"), "{}", stderr(&o));
    let o = fulcrum(&["run", "--replications", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn validate_and_strategies_commands() {
    let o = fulcrum(&["validate", library("quickstart.json").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("ok: scenario \"quickstart\", 16 nodes in 3 groups"));
    let o = fulcrum(&["strategies"]);
    let text = String::from_utf8(o.stdout).unwrap();
    for info in fulcrum_strategies::catalogue() {
        assert!(text.contains(info.kind), "`fulcrum strategies` does not list {}", info.kind);
        for p in info.params {
            assert!(text.contains(p.name) && text.contains(p.default), "{}.{} not listed", info.kind, p.name);
        }
    }
}

#[test]
fn crash_storm_compares_detectors_and_failover_on_the_same_faults() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = library("crash-storm.json");
    let a = run_into(tmp.path(), "a", Some(&scenario), &["--replications", "1", "--threads", "1", "--event-log"]);
    let b = run_into(tmp.path(), "b", Some(&scenario), &["--replications", "1", "--threads", "2", "--event-log"]);
    for f in ["summary.json", "runs.csv", "timeseries.csv", "nodes.csv", "events.csv"] {
        assert!(read(&a, f) == read(&b, f), "{f} differs between --threads 1 and --threads 2");
    }
    let charts = chart_files(&a);
    assert_eq!(charts.len(), 2 * (DEFAULT_CHARTS.len() + FOCUS_CHARTS.len() + FAULT_CHARTS.len()));
    assert!(charts == chart_files(&b), "charts differ between --threads 1 and --threads 2");
    let throughput = String::from_utf8(read(&a, "charts/throughput.svg")).unwrap();
    for mark in ["fault: crash", "fault: partition", "fault: slow_down", "fault: heartbeat_loss", "fault: delay_spike"]
    {
        assert!(throughput.contains(mark), "throughput chart lacks {mark}");
    }
    let recovery = String::from_utf8(read(&a, "charts/recovery.svg")).unwrap();
    assert!(recovery.contains("least-connections+chen+checkpoint"));
    let s = summary(&a);
    let results = s["results"].as_array().unwrap();
    assert_eq!(results.len(), 12, "4 detectors x 3 failover policies");
    let detectors: std::collections::BTreeSet<&str> = results.iter().map(|r| r["detector"].as_str().unwrap()).collect();
    let policies: std::collections::BTreeSet<&str> = results.iter().map(|r| r["failover"].as_str().unwrap()).collect();
    assert_eq!(detectors.len(), 4);
    assert_eq!(policies.len(), 3);
    for r in results {
        let m = |name: &str| r["metrics"][name]["mean"].as_f64().unwrap_or(f64::NAN);
        // No task lost: every submitted task completed, failed or is still in the system.
        assert_eq!(m("submitted"), m("completed") + m("failed_tasks") + m("in_flight_at_end"), "{}", r["label"]);
        assert!(m("faults") >= 10.0, "{}: {} faults", r["label"], m("faults"));
        assert!(m("detections") >= 1.0 && m("detection_time_s") > 0.0, "{}", r["label"]);
        let label = r["label"].as_str().unwrap();
        assert_eq!(
            label,
            format!(
                "{}+{}+{}",
                r["balancer"].as_str().unwrap(),
                r["detector"].as_str().unwrap(),
                r["failover"].as_str().unwrap()
            )
        );
    }
    // Checkpointing loses less work than restarting from scratch, under the same detector.
    let lost = |label: &str| {
        results.iter().find(|r| r["label"] == label).unwrap()["metrics"]["lost_work_s"]["mean"].as_f64().unwrap()
    };
    assert!(lost("least-connections+timeout+checkpoint") < 0.5 * lost("least-connections+timeout+reschedule"));
    // Every combination met the same faults at the same times.
    let events = read(&a, "events.csv");
    let mut per_label: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut csv = csv::Reader::from_reader(&events[..]);
    for rec in csv.records() {
        let rec = rec.unwrap();
        if ["crash", "recover", "partition", "heal", "slow_down", "restore", "heartbeat_loss", "delay_spike"]
            .contains(&&rec[3])
        {
            per_label.entry(rec[0].to_string()).or_default().push(format!("{} {} {}", &rec[2], &rec[3], &rec[4]));
        }
    }
    assert_eq!(per_label.len(), 12);
    let first = per_label.values().next().unwrap();
    assert!(first.len() >= 15, "{first:?}");
    for (label, faults) in &per_label {
        assert!(faults == first, "{label} saw different faults");
    }
}

#[test]
fn report_draws_the_same_charts_again_from_a_results_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = library("crash-storm.json");
    let a = run_into(tmp.path(), "a", Some(&scenario), &["--replications", "2"]);
    let labels: Vec<String> =
        summary(&a)["results"].as_array().unwrap().iter().map(|r| r["label"].as_str().unwrap().to_string()).collect();

    // From summary.json and report-data.json alone: every chart and the report, byte for byte.
    let b = tmp.path().join("b");
    std::fs::create_dir(&b).unwrap();
    for f in ["summary.json", "report-data.json"] {
        std::fs::copy(a.join(f), b.join(f)).unwrap();
    }
    let o = fulcrum(&["report", b.to_str().unwrap(), "--threads", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8(o.stdout).unwrap().contains("report.html"));
    assert_eq!(chart_files(&b).len(), 2 * (DEFAULT_CHARTS.len() + FOCUS_CHARTS.len() + FAULT_CHARTS.len()));
    assert!(chart_files(&b) == chart_files(&a), "charts drawn again differ from the run's");
    assert!(read(&b, "report.html") == read(&a, "report.html"), "report.html drawn again differs from the run's");
    for f in ["results.tex", "results.md"] {
        assert!(read(&b, f) == read(&a, f), "{f} written again differs from the run's");
    }

    // Another baseline: the differences and the heatmap follow it; the data files are untouched.
    let o = fulcrum(&["report", b.to_str().unwrap(), "--baseline", &labels[5], "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = String::from_utf8(read(&b, "report.html")).unwrap();
    assert!(html.contains(&format!("Differences to {}", labels[5])), "the new baseline is not used");
    let heatmap = String::from_utf8(read(&b, "charts/heatmap.svg")).unwrap();
    assert!(heatmap.contains(&format!("{} (replication 0)", labels[5])));
    assert!(read(&b, "summary.json") == read(&a, "summary.json"));

    // summary.json alone (a merged sweep variant, say): the charts it supports, and a note.
    let c = tmp.path().join("c");
    std::fs::create_dir(&c).unwrap();
    std::fs::copy(a.join("summary.json"), c.join("summary.json")).unwrap();
    let o = fulcrum(&["report", c.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("report-data.json not found"), "{}", stderr(&o));
    let drawn: Vec<String> = chart_files(&c).into_iter().map(|(n, _)| n).filter(|n| n.ends_with(".svg")).collect();
    assert_eq!(drawn, ["detection.svg", "recovery.svg", "response_quantiles.svg", "utilisation.svg"]);
    for (name, bytes) in chart_files(&c) {
        assert!(bytes == read(&a, &format!("charts/{name}")), "{name} differs from the run's");
    }
    let html = String::from_utf8(read(&c, "report.html")).unwrap();
    for label in &labels {
        assert!(html.contains(&format!("<tr><td>{label}</td>")), "report.html has no row for {label}");
    }

    // Bad input: exit 2, the file and what is wrong, and nothing written.
    let bad = |dir: &Path, expected: &str, extra: &[&str]| {
        let mut argv = vec!["report", dir.to_str().unwrap()];
        argv.extend(extra);
        let o = fulcrum(&argv);
        assert_eq!(o.status.code(), Some(2), "{argv:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{argv:?}: {}", stderr(&o));
        assert!(!dir.join("report.html").exists(), "{argv:?} wrote report.html");
    };
    bad(&tmp.path().join("missing"), "not a results directory", &[]);
    let d = tmp.path().join("d");
    std::fs::create_dir(&d).unwrap();
    bad(&d, "summary.json: cannot read it", &[]);
    std::fs::copy(a.join("summary.json"), d.join("summary.json")).unwrap();
    let data = String::from_utf8(read(&a, "report-data.json")).unwrap();
    std::fs::write(d.join("report-data.json"), &data[..data.len() / 2]).unwrap();
    bad(&d, "report-data.json: ", &[]);
    let quick = run_into(tmp.path(), "quick", None, &["--replications", "1", "--no-charts"]);
    std::fs::copy(quick.join("report-data.json"), d.join("report-data.json")).unwrap();
    bad(&d, "report-data.json: labels: does not belong to the summary.json beside it", &[]);
    std::fs::copy(a.join("report-data.json"), d.join("report-data.json")).unwrap();
    bad(&d, "--baseline \"nope\": no such strategy", &["--baseline", "nope"]);
}

#[test]
fn explain_shows_a_decision_and_where_two_strategies_part() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run_into(tmp.path(), "d", None, &["--replications", "1", "--decision-log", "--decision-limit", "200"]);
    let dir_s = dir.display().to_string();
    let o = fulcrum(&["explain", &dir_s, "--task", "3", "--label", "least-connections", "--top", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.starts_with("least-connections replication 0: task 3 attempt 1"), "{text}");
    assert_eq!(text.lines().filter(|l| l.trim_start().starts_with("=>")).count(), 1, "{text}");
    assert!(text.contains("more candidates"), "{text}");

    // Round robin and least connections choose differently early on; the diff finds the first.
    let o = fulcrum(&["explain", &dir_s, "--diff", "round-robin", "least-connections"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.starts_with("first difference: replication 0, task "), "{text}");
    // A label against itself (from a second, identical run) never differs.
    let again = run_into(tmp.path(), "e", None, &["--replications", "1", "--decision-log", "--decision-limit", "200"]);
    let again_s = again.display().to_string();
    let o = fulcrum(&["explain", &dir_s, "--diff", "p2c", "p2c", "--against", &again_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("agree on every decision both logged (200 and 200)"));

    for (args, expected) in [
        (vec!["explain", &dir_s, "--task", "999999"], "no logged decision for task 999999"),
        (vec!["explain", &dir_s, "--diff", "nope", "p2c"], "no decisions for label \"nope\""),
    ] {
        let o = fulcrum(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(expected), "{}", stderr(&o));
    }
}

/// A small cluster with a crash, alert rules and two strategies, for the timeline and alerts.
const TIMELINE: &str = r#"{
  "name": "timeline", "duration_s": 600, "warmup_s": 60, "replications": 2, "seed": 3,
  "cluster": {"node_groups": [{"name": "a", "count": 4, "cpu_cores": 2, "memory_gb": 8},
                              {"name": "b", "count": 2, "cpu_cores": 4, "memory_gb": 8, "speed": 2}]},
  "heartbeat": {"interval_s": 1.0, "jitter": 0.1, "loss": 0.0, "delay_s": {"dist": "const", "value": 0.002}},
  "workload": {"arrival": {"process": "poisson", "rate_per_s": 9.0},
               "classes": [{"name": "job", "share": 1.0, "work_s": {"dist": "exp", "mean": 1.0},
                            "demand": {"cpu_cores": 1, "memory_gb": 1}}]},
  "faults": [{"kind": "crash", "at_s": 200, "nodes": {"ids": [4]}, "recover_after_s": 100}],
  "balancers": ["least-connections", "random"],
  "detectors": [{"kind": "timeout", "timeout_s": 3.0}],
  "metrics": {"sample_interval_s": 5},
  "alerts": [{"name": "suspected", "metric": "suspected_nodes", "above": 0},
             {"name": "slow", "metric": "p95_response_s", "above": 4.0, "window_s": 30},
             {"name": "busy", "metric": "utilization", "above": 0.5, "for_s": 10}]
}"#;

#[test]
fn the_timeline_is_a_chrome_trace_whose_slices_match_tasks_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("timeline.json");
    std::fs::write(&scenario, TIMELINE).unwrap();
    let a = run_into(tmp.path(), "a", Some(&scenario), &["--trace", "--task-log", "--threads", "1"]);
    let trace: Value = serde_json::from_slice(&read(&a, "trace.json")).expect("trace.json is JSON");
    let events = trace["traceEvents"].as_array().expect("a traceEvents array");
    assert_eq!(trace["metadata"]["events_dropped"], 0);
    assert!(!a.join("events.csv").exists(), "events.csv only with --event-log");
    for e in events {
        let ph = e["ph"].as_str().expect("every event has a phase");
        assert!(["M", "X", "i", "C"].contains(&ph), "{e}");
        assert!(e["pid"].is_u64() && e["tid"].is_u64(), "{e}");
        if ph != "M" {
            assert!(e["ts"].as_f64().is_some_and(|t| t >= 0.0), "{e}");
        }
        if ph == "X" {
            assert!(e["dur"].as_f64().is_some_and(|d| d >= 0.0), "{e}");
        }
    }
    // Every task of replication 0 that ran to completion is a completed slice on its node's track,
    // at the same start and for the same time as in tasks.csv.
    let labels = ["least-connections+timeout+reschedule", "random+timeout+reschedule"];
    let mut slices = std::collections::BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "X" && e["args"]["outcome"] == "completed") {
        let key = (e["pid"].as_u64().unwrap(), e["args"]["task"].as_u64().unwrap());
        slices.insert(key, (e["tid"].as_u64().unwrap(), e["ts"].as_f64().unwrap(), e["dur"].as_f64().unwrap()));
    }
    let micros = |s: &str| s.parse::<f64>().unwrap() * 1e6;
    let tasks = read(&a, "tasks.csv");
    let mut checked = 0;
    for rec in csv::Reader::from_reader(&tasks[..]).records() {
        let rec = rec.unwrap();
        if &rec[1] != "0" || rec[8].is_empty() {
            continue;
        }
        let pid = labels.iter().position(|l| *l == &rec[0]).unwrap() as u64 + 1;
        let id: u64 = rec[2].parse().unwrap();
        let &(tid, ts, dur) = slices.get(&(pid, id)).unwrap_or_else(|| panic!("no slice for task {id} of {}", &rec[0]));
        assert_eq!(tid, rec[6].parse::<u64>().unwrap() + 1, "task {id}: node");
        assert!((ts - micros(&rec[7])).abs() < 1e-3, "task {id}: start {ts} vs {}", &rec[7]);
        assert!((ts + dur - micros(&rec[8])).abs() < 1e-3, "task {id}: end");
        checked += 1;
    }
    assert!(checked > 5000, "only {checked} tasks checked");
    // The crash and its suspicion are instants on node 4's track; queue counters per node.
    let instant = |name: &str| events.iter().any(|e| e["ph"] == "i" && e["name"] == name && e["tid"] == 5);
    assert!(instant("crash") && instant("suspect"), "crash and suspicion on node 4");
    assert!(events.iter().any(|e| e["ph"] == "C" && e["name"] == "node 5 tasks"));

    // Bounded by --trace-limit, with a note; the results stay the same.
    let b = run_into(tmp.path(), "b", Some(&scenario), &["--trace", "--trace-limit", "1000", "--task-log"]);
    let small: Value = serde_json::from_slice(&read(&b, "trace.json")).unwrap();
    assert_eq!(small["metadata"]["events_written"], 1000);
    assert!(small["metadata"]["events_dropped"].as_u64().unwrap() > 0);
    for f in ["summary.json", "runs.csv", "tasks.csv", "alerts.csv"] {
        assert!(read(&a, f) == read(&b, f), "{f} changed with the trace limit");
    }

    // Alerts: the node's suspicion fires once per replication and strategy, after the crash, and
    // resolves after it recovers; the counts are in summary.json and the report.
    let alerts = read(&a, "alerts.csv");
    let mut suspected = 0;
    for rec in csv::Reader::from_reader(&alerts[..]).records() {
        let rec = rec.unwrap();
        if &rec[2] == "suspected" {
            suspected += 1;
            let (fired, resolved): (f64, f64) = (rec[6].parse().unwrap(), rec[7].parse().unwrap());
            assert!((200.0..=210.0).contains(&fired), "suspected fired at {fired}");
            assert!((300.0..=315.0).contains(&resolved), "suspected resolved at {resolved}");
        }
    }
    assert_eq!(suspected, 4, "once per strategy and replication");
    let s = summary(&a);
    assert_eq!(s["results"][0]["alerts"]["suspected"]["fired"]["mean"], 1.0);
    let html = String::from_utf8(read(&a, "report.html")).unwrap();
    assert!(html.contains("<h2>Alerts</h2>") && html.contains("<th>slow fired</th>"));
}

#[test]
fn tune_improves_held_out_results_within_budget_and_its_best_runs_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let quickstart = library("quickstart.json");
    let tune = |dir: &Path, threads: &str| {
        let o = fulcrum(&[
            "tune",
            quickstart.to_str().unwrap(),
            "--label",
            "p2c",
            "--param",
            "d=1..8",
            "--budget",
            "8",
            "--train",
            "2",
            "--holdout",
            "3",
            "--threads",
            threads,
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let stdout = tune(&a, "1");
    tune(&b, "2");
    for f in ["best.json", "trials.csv", "tune.json", "charts/convergence.svg"] {
        assert!(read(&a, f) == read(&b, f), "{f} differs between --threads 1 and 2");
    }
    let t: Value = serde_json::from_slice(&read(&a, "tune.json")).unwrap();
    assert!(t["evaluations"].as_u64().unwrap() <= 8, "over budget: {t}");
    let trials = read(&a, "trials.csv");
    assert!(csv::Reader::from_reader(&trials[..]).records().count() <= 8);
    // Held-out replications 2..5 were never seen by the search; the best beats the scenario's
    // configuration (d = 2) there, by a paired interval that excludes 0.
    let h = &t["holdout"];
    assert!(h["best"]["mean"].as_f64().unwrap() < h["default"]["mean"].as_f64().unwrap(), "{stdout}");
    assert!(h["best_minus_default"]["ci95"][1].as_f64().unwrap() < 0.0, "{stdout}");
    assert!(stdout.contains("held-out replications 2..5"), "{stdout}");

    // best.json is a strategy entry: a scenario runs it as it is ...
    let best: Value = serde_json::from_slice(&read(&a, "best.json")).unwrap();
    assert_eq!(best["kind"], "power-of-d");
    assert!(best["d"].as_u64().unwrap() > 2, "{best}");
    let mut scenario: Value = serde_json::from_slice(&std::fs::read(&quickstart).unwrap()).unwrap();
    scenario["balancers"] = serde_json::json!([best.clone()]);
    scenario["replications"] = serde_json::json!(1);
    let path = tmp.path().join("tuned.json");
    std::fs::write(&path, scenario.to_string()).unwrap();
    run_into(tmp.path(), "tuned", Some(&path), &["--no-charts"]);
    // ... and so does a production scheduler, which loads the same JSON into the strategies crate.
    let config: fulcrum_strategies::balance::BalancerConfig = serde_json::from_value(best).unwrap();
    assert!(config.problems().is_empty());
    let mut balancer = config.build();
    let specs = vec![fulcrum_strategies::NodeSpec { capacity: fulcrum_strategies::Resources::ZERO, speed: 1.0 }; 8];
    let loads = vec![fulcrum_strategies::NodeLoad::default(); 8];
    let used = vec![fulcrum_strategies::Resources::ZERO; 8];
    let view = fulcrum_strategies::ClusterView::new(&specs, &loads, &used);
    let nodes: Vec<fulcrum_strategies::NodeId> = (0..8).map(fulcrum_strategies::NodeId).collect();
    let task = fulcrum_strategies::TaskInfo {
        id: fulcrum_strategies::TaskId(0),
        class: 0,
        priority: 0,
        demand: fulcrum_strategies::Resources::ZERO,
        expected_work_s: 1.0,
    };
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
    assert!(balancer.pick(&task, &nodes, &view, fulcrum_strategies::Time(0), &mut rng).is_some());

    // Bad input: an unknown parameter or label exits 2 and names it.
    let o = fulcrum(&["tune", quickstart.to_str().unwrap(), "--label", "p2c", "--param", "dd=1..3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("power-of-d has no parameter \"dd\""), "{}", stderr(&o));
    let o = fulcrum(&["tune", quickstart.to_str().unwrap(), "--label", "nope", "--param", "d=1..3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no strategy entry has this label"), "{}", stderr(&o));
    let o =
        fulcrum(&["tune", quickstart.to_str().unwrap(), "--label", "p2c", "--param", "d=1..3", "--objective", "p42"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("metric \"p42\": not a metric of this scenario"), "{}", stderr(&o));
}

/// `(task_id, class, arrival_s, work_s)` per (label, replication) of a tasks.csv.
fn tasks_by_run(dir: &Path) -> std::collections::BTreeMap<(String, String), Vec<[String; 4]>> {
    let bytes = read(dir, "tasks.csv");
    let mut out: std::collections::BTreeMap<(String, String), Vec<[String; 4]>> = Default::default();
    for rec in csv::Reader::from_reader(&bytes[..]).records() {
        let rec = rec.unwrap();
        out.entry((rec[0].to_string(), rec[1].to_string())).or_default().push([
            rec[2].to_string(),
            rec[3].to_string(),
            rec[4].to_string(),
            rec[5].to_string(),
        ]);
    }
    out
}

#[test]
fn trace_replay_is_byte_identical_across_runs_and_thread_counts() {
    let tmp = tempfile::tempdir().unwrap();
    // A streamed trace (Azure LLM requests) and one sorted in memory (Alibaba 2017, a window).
    let sorted = tmp.path().join("alibaba-window.json");
    let alibaba = library("traces/alibaba-2017/batch_task.csv");
    std::fs::write(
        &sorted,
        serde_json::json!({
            "name": "alibaba-window", "duration_s": 2000, "warmup_s": 100, "replications": 2,
            "cluster": {"node_groups": [{"name": "m", "count": 8, "cpu_cores": 8, "memory_gb": 32}]},
            "workload": {"trace": {"format": "alibaba-2017", "path": alibaba.display().to_string(), "instances": "one",
                                   "start_s": 20000, "limit": 3000, "time_scale": 0.2}},
            "balancers": ["random", "least-connections", {"kind": "power-of-d", "d": 2, "label": "p2c"}]
        })
        .to_string(),
    )
    .unwrap();
    for (name, scenario) in [("azure", library("trace-azure-llm.json")), ("alibaba", sorted)] {
        let args = ["--replications", "2", "--task-log", "--no-charts"];
        let a = run_into(tmp.path(), &format!("{name}-a"), Some(&scenario), &[&args[..], &["--threads", "1"]].concat());
        let b = run_into(tmp.path(), &format!("{name}-b"), Some(&scenario), &[&args[..], &["--threads", "2"]].concat());
        let c = run_into(tmp.path(), &format!("{name}-c"), Some(&scenario), &[&args[..], &["--threads", "2"]].concat());
        for f in ["summary.json", "runs.csv", "timeseries.csv", "nodes.csv", "tasks.csv", "replay.json", "report.html"]
        {
            assert!(read(&a, f) == read(&b, f), "{name}: {f} differs between --threads 1 and --threads 2");
            assert!(read(&b, f) == read(&c, f), "{name}: {f} differs between two identical runs");
        }
        // Common random numbers: within a replication every strategy sees the same tasks.
        let runs = tasks_by_run(&a);
        for rep in ["0", "1"] {
            let same: Vec<_> = runs.iter().filter(|((_, r), _)| r == rep).map(|(_, v)| v).collect();
            assert!(same.len() >= 3 && same[0].len() > 1000, "{name}: {} runs, {} tasks", same.len(), same[0].len());
            assert!(same.iter().all(|v| *v == same[0]), "{name} replication {rep}: tasks differ between strategies");
        }
        let trace: Value = serde_json::from_slice(&read(&a, "replay.json")).unwrap();
        assert_eq!(trace["on_bad_line"], "error");
        if name == "azure" {
            // The whole hour, every request; the file is the one the provenance notes name.
            assert_eq!(trace["records"], 19_366);
            assert_eq!(trace["sha256"], "2f1e5b666d4e3055fdbba98598ce2ec307767b9064e03e2fa46676dbcc7d0bf8");
            assert!(trace["attribution"].as_str().unwrap().contains("CC-BY 4.0"));
            let submitted = summary(&a)["results"][0]["metrics"]["submitted"]["mean"].as_f64().unwrap();
            assert!(submitted > 18_000.0 && submitted < 19_366.0, "arrivals after the warm-up: {submitted}");
        } else {
            assert_eq!(trace["records"], 3_000);
            assert_eq!(trace["sorted_in_memory"], true);
        }
    }
}

#[test]
fn trace_inspect_describes_a_trace_and_names_bad_lines() {
    let o = fulcrum(&["trace", "inspect", library("traces/swf/lublin_256.swf").to_str().unwrap(), "--format", "swf"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    for expected in [
        "records: 10000 (10000 tasks with instances); 10007 lines read: 7 comment or header, 0 bad lines skipped",
        "submit times: 5094 s to 7711701 s (span 7706607 s = 2140.72 h); sorted",
        "  MaxNodes: 256",
        "fields missing: memory in 10000 (100.0%), priority in 10000 (100.0%)",
        "arrivals over time (24 bins of 321109 s):",
    ] {
        assert!(out.contains(expected), "no {expected:?} in:\n{out}");
    }
    let cpu = out.lines().find(|l| l.starts_with("cpu ")).unwrap();
    assert!(cpu.split_whitespace().nth(1) == Some("10000") && cpu.ends_with(" 256"), "{cpu}");

    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.swf");
    std::fs::write(&bad, "; Version: 2\n1 0 -1 5 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n2 5\n").unwrap();
    let o = fulcrum(&["trace", "inspect", bad.to_str().unwrap(), "--format", "swf"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        format!("error: {}:3: expected 18 whitespace-separated fields, got 2", bad.display())
    );
    let o = fulcrum(&["trace", "inspect", bad.to_str().unwrap(), "--format", "swf", "--on-bad-line", "skip"]);
    assert!(o.status.success());
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .contains("records: 1 (1 tasks with instances); 3 lines read: 1 comment or header, 1 bad lines skipped"));
    let o = fulcrum(&["trace", "inspect", bad.to_str().unwrap(), "--format", "parquet"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_bad_trace_line_stops_the_run_with_exit_2_unless_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("jobs.swf"),
        "1 0 -1 5 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n2 1 -1 5 one -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n\
         3 2 -1 5 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n",
    )
    .unwrap();
    let scenario = tmp.path().join("s.json");
    std::fs::write(
        &scenario,
        r#"{"name": "s", "duration_s": 100, "replications": 1,
            "cluster": {"node_groups": [{"name": "n", "count": 2, "cpu_cores": 2}]},
            "workload": {"trace": {"format": "swf", "path": "jobs.swf"}}, "balancers": ["random"]}"#,
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = fulcrum(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        format!(
            "error: {}: workload.trace: {}:2: field 5 (allocated processors) is not a number: `one`",
            scenario.display(),
            tmp.path().join("jobs.swf").display()
        )
    );
    assert!(!out.exists());
    let o = fulcrum(&["validate", scenario.to_str().unwrap(), "--on-bad-line", "skip"]);
    assert!(o.status.success());
    assert!(String::from_utf8(o.stdout).unwrap().contains("1 bad lines skipped"));
    run_into(tmp.path(), "out", Some(&scenario), &["--on-bad-line", "skip", "--no-charts"]);
    let trace: Value = serde_json::from_slice(&read(&out, "replay.json")).unwrap();
    assert_eq!((trace["records"].as_u64(), trace["skipped"].as_u64()), (Some(2), Some(1)));
    assert_eq!(trace["on_bad_line"], "skip");
    assert_eq!(summary(&out)["results"][0]["metrics"]["completed"]["mean"], 2.0);
}

fn compare_data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/compare").join(file)
}

/// `tests/data/compare/scenario.json` with `edit` applied, run into `tmp/name`.
fn run_edited(tmp: &Path, name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let text = std::fs::read_to_string(compare_data("scenario.json")).unwrap();
    let edited = edit(&text);
    let file = tmp.join(format!("{name}.json"));
    std::fs::write(&file, edited).unwrap();
    run_into(tmp, name, Some(&file), &["--no-charts"])
}

/// The JUnit file's suites, cases and failures, checked against the common schema's structure.
fn junit_cases(xml: &str) -> Vec<(String, String, Option<String>)> {
    let doc = roxmltree::Document::parse(xml).expect("JUnit XML parses");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    assert_eq!(suites.len(), 1);
    let suite = suites[0];
    assert_eq!(suite.tag_name().name(), "testsuite");
    let cases: Vec<_> = suite.children().filter(|n| n.has_tag_name("testcase")).collect();
    let failures = cases.iter().filter(|c| c.children().any(|n| n.has_tag_name("failure"))).count();
    for (node, what) in [(root, "testsuites"), (suite, "testsuite")] {
        assert_eq!(node.attribute("tests"), Some(cases.len().to_string().as_str()), "{what} tests");
        assert_eq!(node.attribute("failures"), Some(failures.to_string().as_str()), "{what} failures");
        assert_eq!(node.attribute("errors"), Some("0"));
    }
    assert!(suite.attribute("name").unwrap().starts_with("fulcrum compare"));
    // Only these children, in the schema's order: properties, then test cases, then system-err.
    let kinds: Vec<&str> = suite.children().filter(|n| n.is_element()).map(|n| n.tag_name().name()).collect();
    assert_eq!(kinds[0], "properties");
    assert!(kinds[1..].iter().all(|k| *k == "testcase" || *k == "system-err"), "{kinds:?}");
    cases
        .iter()
        .map(|c| {
            let failure = c.children().find(|n| n.has_tag_name("failure")).map(|f| {
                assert_eq!(f.attribute("type"), Some("regression"));
                f.attribute("message").unwrap().to_string()
            });
            (c.attribute("classname").unwrap().to_string(), c.attribute("name").unwrap().to_string(), failure)
        })
        .collect()
}

#[test]
fn compare_flags_a_worse_strategy_and_passes_an_equivalent_one() {
    let tmp = tempfile::tempdir().unwrap();
    let baseline = compare_data("baseline");
    let base = baseline.to_str().unwrap();
    // Power of one choice is random choice: p2c made deliberately worse, under the same label.
    let worse =
        run_edited(tmp.path(), "worse", |t| t.replace(r#""d": 2, "label": "p2c""#, r#""d": 1, "label": "p2c""#));
    let junit = tmp.path().join("ci/junit.xml");
    let o = fulcrum(&["compare", base, worse.to_str().unwrap(), "--junit", junit.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.starts_with("regression: "), "{err}");
    assert!(err.contains("p2c p99_response_s: "), "{err}");
    assert!(!err.contains("least-connections"), "only p2c changed: {err}");
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(table.contains("paired by replication: both runs used seed 42"), "{table}");
    assert!(table.contains("warning: the scenarios differ"), "{table}");
    let regressions = table.lines().filter(|l| l.ends_with("REGRESSION")).count();
    assert!(regressions >= 5, "{table}");
    // JUnit: one case per label x metric (6 labels x 9 metrics with a direction), one failure per
    // regression, all of them p2c's.
    let cases = junit_cases(&std::fs::read_to_string(&junit).unwrap());
    assert_eq!(cases.len(), 6 * 9);
    let failed: Vec<_> = cases.iter().filter(|c| c.2.is_some()).collect();
    assert_eq!(failed.len(), regressions);
    assert!(failed.iter().all(|c| c.0 == "p2c"), "{failed:?}");
    assert!(failed.iter().any(|c| c.1 == "p99_response_s" && c.2.as_ref().unwrap().contains("lower is better")));
    assert!(cases.iter().any(|c| c.0 == "least-connections" && c.1 == "mean_response_s" && c.2.is_none()));

    // Markdown for a CI job summary.
    let o = fulcrum(&["compare", base, worse.to_str().unwrap(), "--markdown"]);
    assert_eq!(o.status.code(), Some(1));
    let md = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(md.starts_with("### Fulcrum compare: quickstart: regression"), "{md}");
    assert!(md.contains("| p2c | p99_response_s (↓) |") && md.contains("**REGRESSION**"), "{md}");
    assert!(stderr(&o).contains("warning: the scenarios differ"));

    // A generous threshold on one metric: worse, but within it.
    let o = fulcrum(&[
        "compare",
        base,
        worse.to_str().unwrap(),
        "--metrics",
        "p99_response_s",
        "--max-regression",
        "p99_response_s=1000%",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("worse (within threshold)"));

    // The same strategies written differently (fields reordered, a kind string as an object),
    // run on another thread count: the same results, so no regression.
    let same = run_edited(tmp.path(), "same", |t| {
        t.replace(
            r#"{"kind": "power-of-d", "d": 2, "label": "p2c"}"#,
            r#"{"label": "p2c", "kind": "power-of-d", "d": 2}"#,
        )
        .replace(r#""least-connections","#, r#"{"kind": "least-connections"},"#)
    });
    let junit_ok = tmp.path().join("ok.xml");
    let o = fulcrum(&["compare", base, same.to_str().unwrap(), "--junit", junit_ok.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n(if the simulator changed on purpose, regenerate the baseline as tests/data/compare/README.md says)",
        String::from_utf8_lossy(&o.stdout)
    );
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(text.contains("no regression in 54 comparisons"), "{text}");
    assert!(junit_cases(&std::fs::read_to_string(&junit_ok).unwrap()).iter().all(|c| c.2.is_none()));

    // Another seed: replications cannot be paired; Welch's interval, said plainly.
    let reseeded = run_edited(tmp.path(), "reseeded", |t| {
        t.replace(r#""seed": 42"#, r#""seed": 43"#).replace(r#""d": 2, "label": "p2c""#, r#""d": 1, "label": "p2c""#)
    });
    let o = fulcrum(&["compare", base, reseeded.to_str().unwrap(), "--labels", "p2c", "--metrics", "mean_response_s"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("NOT paired: the seeds differ (42 and 43)"));
}

#[test]
fn compare_rejects_bad_input_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let base = compare_data("baseline");
    let base = base.to_str().unwrap();
    let policy = tmp.path().join("policy.json");
    std::fs::write(&policy, r#"{"max_regression": {"p99_response_s": "5 percent"}}"#).unwrap();
    let policy = policy.to_str().unwrap();
    let empty = tmp.path().display().to_string();
    for (args, expected) in [
        (vec![base, "/no/such/dir"], "/no/such/dir: cannot read the file"),
        (vec![base, &empty], "no summary.json in this directory"),
        (vec![base, base, "--labels", "p3c"], "label \"p3c\" is not in the baseline summary; its labels are random"),
        (vec![base, base, "--metrics", "p99"], "metric \"p99\" has no direction"),
        (vec![base, base, "--max-regression", "p99_respons_s=5%"], "threshold for \"p99_respons_s\""),
        (vec![base, base, "--max-regression", "p99_response_s"], "write METRIC=THRESHOLD"),
        (vec![base, base, "--max-regression", "p99_response_s=-5%"], "at least 0"),
        (vec![base, base, "--policy", policy], "policy.json: max_regression.p99_response_s: \"5 percent\" is not"),
    ] {
        let mut argv = vec!["compare"];
        argv.extend(args);
        let o = fulcrum(&argv);
        assert_eq!(o.status.code(), Some(2), "{argv:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{argv:?}: expected {expected:?} in {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
    // A file that is not a summary.
    let o = fulcrum(&["compare", base, compare_data("scenario.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("scenario.json: not a summary.json: missing field `scenario`"), "{}", stderr(&o));
}

/// Every file under `dir` (dot files, i.e. temporary ones, left out) by relative path.
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap().to_str().unwrap().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = Default::default();
    walk(dir, dir, &mut out);
    out
}

/// `fulcrum sweep` with `args`; returns stderr's "N runs, K already done, M run now" numbers.
fn sweep_counts(args: &[&str], envs: &[(&str, &str)]) -> (usize, usize, usize) {
    let mut argv = vec!["sweep"];
    argv.extend(args);
    let o = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(&argv)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    assert!(o.status.success(), "fulcrum {argv:?}: {}", stderr(&o));
    let err = stderr(&o);
    let line = err.lines().find(|l| l.contains(" already done, ")).unwrap_or_else(|| panic!("{err}"));
    let numbers: Vec<usize> = line
        .split(['(', ')', ',', ':'])
        .filter_map(|part| {
            let words: Vec<&str> = part.split_whitespace().collect();
            match words.as_slice() {
                [n, "runs"] | [n, "already", "done"] | [n, "run", "now", ..] => n.parse().ok(),
                _ => None,
            }
        })
        .collect();
    assert_eq!(numbers.len(), 3, "{line}");
    (numbers[0], numbers[1], numbers[2])
}

#[test]
fn sweep_shards_merge_to_the_unsharded_sweep_byte_for_byte_and_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = library("sweep-load.json");
    let sweep = sweep.to_str().unwrap();
    let dir = |name: &str| tmp.path().join(name).display().to_string();

    // Unsharded: 3 load levels x 4 strategies x 3 replications.
    let all = dir("all");
    assert_eq!(sweep_counts(&[sweep, "--out", &all, "--threads", "2"], &[]), (36, 0, 36));
    let expected = tree(Path::new(&all));
    assert_eq!(expected.keys().filter(|k| k.starts_with("runs/")).count(), 36);
    for v in ["v000", "v001", "v002"] {
        for f in ["scenario.json", "summary.json", "runs.csv"] {
            assert!(expected.contains_key(&format!("variants/{v}/{f}")), "variants/{v}/{f} missing");
        }
    }
    // A variant's summary holds what `fulcrum run` of its scenario gives for the same labels.
    let run =
        run_into(tmp.path(), "v002-run", Some(&tmp.path().join("all/variants/v002/scenario.json")), &["--no-charts"]);
    let direct = summary(&run);
    let swept: Value = serde_json::from_slice(&expected["variants/v002/summary.json"]).unwrap();
    assert_eq!(swept["scenario"], direct["scenario"]);
    assert_eq!(swept["replications"], 3);
    let swept_results = swept["results"].as_array().unwrap();
    assert_eq!(swept_results.len(), 4);
    for r in swept_results {
        let same = direct["results"].as_array().unwrap().iter().find(|d| d["label"] == r["label"]).unwrap();
        assert_eq!(r, same, "{}", r["label"]);
    }
    let csv_text = String::from_utf8(expected["sweep.csv"].clone()).unwrap();
    assert!(
        csv_text.starts_with("variant,workload.arrival.rate_per_s,label,metric,mean,ci95_lo,ci95_hi,replications\n")
    );
    assert!(csv_text.contains("\nv002,24,p2c,mean_response_s,"), "{csv_text}");

    // Four shards into four directories, merged: the same bytes, every file.
    let shards: Vec<String> = (0..4).map(|i| dir(&format!("shard{i}"))).collect();
    for (i, out) in shards.iter().enumerate() {
        let shard = format!("{i}/4");
        assert_eq!(sweep_counts(&[sweep, "--out", out, "--shard", &shard, "--threads", "1"], &[]), (9, 0, 9));
        assert!(!Path::new(out).join("sweep.csv").exists(), "an incomplete shard wrote merged results");
    }
    let merged = dir("merged");
    let mut argv = vec!["merge"];
    argv.extend(shards.iter().map(String::as_str));
    argv.extend(["--out", &merged]);
    let o = fulcrum(&argv);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = tree(Path::new(&merged));
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (k, v) in &expected {
        assert!(got[k] == *v, "{k} differs between the merged shards and the unsharded sweep");
    }

    // Interrupted shard, simulated: three of its results lost. Merging refuses; re-running the
    // shard runs exactly those three.
    let runs_dir = Path::new(&shards[1]).join("runs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&runs_dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in &files[..3] {
        std::fs::remove_file(f).unwrap();
    }
    let o = fulcrum(&argv);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("3 of 36 runs are in none of the directories given"), "{}", stderr(&o));
    assert_eq!(sweep_counts(&[sweep, "--out", &shards[1], "--shard", "1/4"], &[]), (9, 6, 3));

    // Interrupted for real: a shard killed midway, then re-run, runs only what it had not finished.
    let killed = dir("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["sweep", sweep, "--out", &killed, "--shard", "3/4", "--threads", "1", "--quiet"])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .spawn()
        .unwrap();
    let finished = |d: &str| {
        std::fs::read_dir(Path::new(d).join("runs"))
            .map_or(0, |it| it.filter(|e| !e.as_ref().unwrap().file_name().to_str().unwrap().starts_with('.')).count())
    };
    while finished(&killed) < 1 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = finished(&killed);
    assert!(before < 9, "the shard finished before it could be killed");
    assert_eq!(sweep_counts(&[sweep, "--out", &killed, "--shard", "3/4"], &[]), (9, before, 9 - before));
    let mut argv = vec!["merge"];
    argv.extend([shards[0].as_str(), shards[1].as_str(), shards[2].as_str(), killed.as_str()]);
    argv.extend(["--out", &merged]);
    let o = fulcrum(&argv);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(tree(Path::new(&merged)) == expected, "merged again after the restarts: differs");
}

#[test]
fn a_merged_sweep_carries_the_alert_noise_that_run_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(library("quickstart.json")).unwrap().replace(
        "\"view\": \"heartbeat\",",
        "\"view\": \"heartbeat\", \"alerts\": [{\"name\": \"hot\", \"metric\": \"max_utilization\", \"above\": 0.9, \"for_s\": 5}, {\"name\": \"slow\", \"metric\": \"p95_response_s\", \"above\": 2, \"window_s\": 30}],",
    );
    let base = base.replace("\"duration_s\": 3000", "\"duration_s\": 1000");
    std::fs::write(tmp.path().join("base.json"), base).unwrap();
    let sweep = r#"{"name": "alert-sweep", "scenario": "base.json", "replications": 2,
        "grid": [{"path": "workload.arrival.rate_per_s", "values": [12, 24]}], "labels": ["round-robin", "p2c"]}"#;
    std::fs::write(tmp.path().join("sweep.json"), sweep).unwrap();
    let out = tmp.path().join("out");
    let o =
        fulcrum(&["sweep", tmp.path().join("sweep.json").to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for v in ["v000", "v001"] {
        let variant = out.join("variants").join(v);
        let direct = run_into(tmp.path(), &format!("{v}-run"), Some(&variant.join("scenario.json")), &["--no-charts"]);
        let direct = summary(&direct);
        let swept = summary(&variant);
        let mut fired = 0.0;
        for r in swept["results"].as_array().unwrap() {
            let same = direct["results"].as_array().unwrap().iter().find(|d| d["label"] == r["label"]).unwrap();
            assert_eq!(r["alerts"], same["alerts"], "{v} {}: alerts differ from the run's", r["label"]);
            assert_eq!(r, same, "{v} {}", r["label"]);
            fired += r["alerts"]["hot"]["fired"]["mean"].as_f64().unwrap();
        }
        if v == "v001" {
            assert!(fired > 0.0, "at 80% load no node ever ran hot: the comparison shows nothing");
        }
        // The variant's report: its scenario in brief (from the scenario.json beside it), its
        // alert table, its bar charts.
        let o = fulcrum(&["report", variant.to_str().unwrap(), "--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let html = String::from_utf8(read(&variant, "report.html")).unwrap();
        let rate = if v == "v000" { "12.000" } else { "24.000" };
        assert!(html.contains(&format!("Workload: {rate} tasks/s")), "{v}: no brief in report.html");
        assert!(html.contains("Strategies: 2 combinations x 2 replications."), "{v}");
        assert!(html.contains("<th>hot fired</th>"), "{v}: no alert table");
    }
    let o = fulcrum(&["report", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("a sweep directory; its results are per variant"), "{}", stderr(&o));
}

#[test]
fn sweep_emits_a_slurm_array_script_that_runs_the_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = library("sweep-load.json");
    let out = tmp.path().join("out");
    let o = fulcrum(&[
        "sweep",
        sweep.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--emit-slurm",
        "--shards",
        "4",
        "--cpus-per-task",
        "1",
        "--sbatch=--time=00:10:00",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let script_path = out.join("sweep.sbatch");
    let script = std::fs::read_to_string(&script_path).unwrap();
    for line in ["#!/bin/bash\n", "#SBATCH --array=0-3\n", "#SBATCH --cpus-per-task=1\n", "#SBATCH --time=00:10:00\n"] {
        assert!(script.contains(line), "{line:?} not in\n{script}");
    }
    let command = format!("sweep '{}' --out '{}' --shard \"$SLURM_ARRAY_TASK_ID/4\"", sweep.display(), out.display());
    assert!(script.contains(&command), "{script}");
    assert!(!out.join("runs").exists(), "--emit-slurm ran something");
    // Run it as Slurm would: four array tasks, in any order, sharing the output directory; the
    // last one writes the merged results, identical to an unsharded sweep.
    for id in [2, 0, 3, 1] {
        let o = Command::new("bash")
            .arg(&script_path)
            .env("FULCRUM", env!("CARGO_BIN_EXE_fulcrum"))
            .env("SLURM_ARRAY_TASK_ID", id.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "4")
            .env("SLURM_ARRAY_TASK_MIN", "0")
            .env("SLURM_CPUS_PER_TASK", "1")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains(&format!("shard {id}/4 (--shard): 9 runs, 0 already done, 9 run now")));
        assert!(stderr(&o).contains("on 1 threads"), "{}", stderr(&o));
    }
    // Without --shard, the shard comes from the array variables: task 6 of an array 4-10:2 is
    // shard (6 - 4) / 2 = 1 of 4, already done.
    let o = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["sweep", sweep.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .envs([
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_MIN", "4"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_CPUS_PER_TASK", "1"),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("shard 1/4 (Slurm array task): 9 runs, 9 already done, 0 run now"), "{}", stderr(&o));
    let all = tmp.path().join("all");
    sweep_counts(&[sweep.to_str().unwrap(), "--out", all.to_str().unwrap()], &[]);
    let mut slurm = tree(&out);
    slurm.remove("sweep.sbatch");
    assert!(slurm == tree(&all), "the Slurm-style run differs from the unsharded sweep");
}

#[test]
fn sweep_and_merge_reject_bad_input_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let base = library("quickstart.json");
    let write = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let small = format!(
        r#"{{"scenario": "{}", "replications": 2, "set": {{"duration_s": 400, "warmup_s": 100}}, "labels": ["p2c"]}}"#,
        base.display()
    );
    let a = write("a.json", &small);
    let b = write("b.json", &small.replace("\"p2c\"", "\"wlc\""));
    let dir = |n: &str| tmp.path().join(n).display().to_string();
    let (da, db) = (dir("a"), dir("b"));
    sweep_counts(&[&a, "--out", &da, "--shard", "0/2"], &[]);
    sweep_counts(&[&b, "--out", &db], &[]);
    let bad_rate = write(
        "bad.json",
        &small.replace(
            "\"labels\"",
            "\"grid\": [{\"path\": \"workload.arrival.rate_per_s\", \"values\": [0]}], \"labels\"",
        ),
    );
    for (args, expected) in [
        (vec!["sweep", &a, "--shard", "2/2"], "--shard \"2/2\": need 0 <= I < N"),
        (vec!["sweep", &a, "--shard", "x"], "write I/N"),
        (vec!["sweep", &a, "--shard", "1/0"], "need 0 <= I < N"),
        (vec!["sweep", &b, "--out", &da], "holds a different sweep"),
        (vec!["sweep", "/no/sweep.json"], "/no/sweep.json: cannot read the file"),
        (
            vec!["sweep", &bad_rate],
            "variant 0 (workload.arrival.rate_per_s=0): workload.arrival.rate_per_s: must be positive",
        ),
        (vec!["merge", &da], "1 of 2 runs are in none of the directories given"),
        (vec!["merge", &da, &db], "are not shards of the same sweep"),
        (vec!["merge", "/no/dir"], "is not a sweep directory"),
    ] {
        let o = fulcrum(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{args:?}: expected {expected:?} in {}", stderr(&o));
    }
    for (envs, expected) in [
        (
            vec![("SLURM_ARRAY_TASK_ID", "9"), ("SLURM_ARRAY_TASK_COUNT", "4")],
            "would be shard 9, but SLURM_ARRAY_TASK_COUNT is 4",
        ),
        (vec![("SLURM_ARRAY_TASK_ID", "1")], "SLURM_ARRAY_TASK_COUNT is not"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
            .args(["sweep", &a, "--out", &dir("env")])
            .env_remove("SLURM_ARRAY_TASK_COUNT")
            .envs(envs)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(expected), "expected {expected:?} in {}", stderr(&o));
    }
}

/// The sweep through a real single-node Slurm on localhost, as a job array (`scripts/slurm-sweep.sh`),
/// where Slurm can be installed and started within four minutes; elsewhere (no root, no apt, no
/// mirror) the script reports it cannot and the shard and merge tests above stand alone.
#[test]
fn a_sweep_runs_as_a_slurm_job_array_where_slurm_can_be_installed() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm-sweep.sh");
    let o = Command::new("timeout")
        .args(["240", "bash", script.to_str().unwrap()])
        .env("FULCRUM", env!("CARGO_BIN_EXE_fulcrum"))
        .env("SLURM_PORT", "16917")
        .output()
        .expect("bash and timeout run");
    let stdout = String::from_utf8_lossy(&o.stdout);
    match o.status.code() {
        Some(77) | Some(124) => eprintln!("Slurm check skipped here: {stdout}{}", stderr(&o)),
        _ => {
            assert!(o.status.success(), "slurm-sweep.sh failed:\n{stdout}\n{}", stderr(&o));
            assert!(stdout.contains("merged result identical to the unsharded sweep (36 runs)"), "{stdout}");
            assert!(stdout.contains("re-submitted task 2"), "{stdout}");
        }
    }
}
