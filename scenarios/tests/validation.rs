//! Scenario files: the contract scenario is accepted as it is, every library scenario validates,
//! and each kind of bad input gets one clear message naming the field path.

use fulcrum_scenarios::{parse_str, LIBRARY};
use fulcrum_sim_core::config::ViewMode;
use serde_json::{json, Value};

/// The scenario of the core issue's contract, verbatim.
const CONTRACT: &str = r#"{
  "name": "mm1-check",
  "duration_s": 200000, "warmup_s": 2000, "replications": 4, "seed": 1,
  "cluster": {"node_groups": [{"name": "n", "count": 1, "cpu_cores": 1, "memory_gb": 4}]},
  "heartbeat": {"interval_s": 1.0, "jitter": 0.1, "loss": 0.0, "delay_s": {"dist": "const", "value": 0.001}},
  "view": "heartbeat",
  "workload": {
    "arrival": {"process": "poisson", "rate_per_s": 0.8},
    "classes": [{"name": "t", "share": 1.0, "work_s": {"dist": "exp", "mean": 1.0},
                 "demand": {"cpu_cores": 1, "memory_gb": 1}}]
  },
  "balancers": ["random", "round-robin", "least-connections", {"kind": "power-of-d", "d": 2, "label": "p2c"}]
}"#;

/// Applies `edit` to the contract scenario and returns the error text (panics if it validates).
fn error_after(edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(CONTRACT).unwrap();
    edit(&mut v);
    match parse_str(&v.to_string(), "s.json") {
        Ok(_) => panic!("edited scenario was accepted: {v}"),
        Err(e) => e.to_string(),
    }
}

fn check(edit: impl FnOnce(&mut Value), expected: &str) {
    assert_eq!(error_after(edit), expected);
}

#[test]
fn contract_scenario_is_accepted_as_it_is() {
    let s = parse_str(CONTRACT, "mm1-check.json").unwrap();
    assert_eq!(s.name, "mm1-check");
    assert_eq!(s.replications, 4);
    assert_eq!(s.sim.nodes.len(), 1);
    assert_eq!(s.sim.view, ViewMode::Heartbeat { track_dispatches: true });
    let labels: Vec<&str> = s.combinations.iter().map(|c| c.strategy.label.as_str()).collect();
    assert_eq!(labels, ["random", "round-robin", "least-connections", "p2c"]);
    assert_eq!(s.sha256.len(), 64);
}

#[test]
fn library_scenarios_validate() {
    for (name, json) in LIBRARY {
        parse_str(json, name).unwrap_or_else(|e| panic!("{e}"));
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("library");
    let (mut n, mut sweeps) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let is_sweep = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("sweep-"));
        if path.extension().is_some_and(|e| e == "json") {
            if is_sweep {
                let sweep = fulcrum_scenarios::sweep::load_sweep(&path).unwrap_or_else(|e| panic!("{e}"));
                assert!(!sweep.variants.is_empty());
                sweeps += 1;
            } else {
                fulcrum_scenarios::load(&path).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
    }
    assert!(n >= 4, "{n} library scenarios");
    assert!(sweeps >= 1, "{sweeps} library sweeps");
}

#[test]
fn speed_profiles_are_read_relative_to_the_scenario_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut v: Value = serde_json::from_str(CONTRACT).unwrap();
    v["cluster"]["node_groups"][0]["speed_profile"] = json!("load.csv");
    let scenario = dir.path().join("s.json");
    std::fs::write(&scenario, v.to_string()).unwrap();
    let csv = dir.path().join("load.csv");
    std::fs::write(&csv, "t_s,speed\n0,1\n100,0.5\n").unwrap();
    let s = fulcrum_scenarios::load(&scenario).unwrap();
    assert!(s
        .sim
        .faults
        .iter()
        .any(|f| matches!(f, fulcrum_sim_core::faults::FaultSpec::SpeedProfile { points, .. } if points.len() == 2)));
    std::fs::write(&csv, "t_s,speed\n0,1\n100,-0.5\n").unwrap();
    let err = fulcrum_scenarios::load(&scenario).unwrap_err().to_string();
    assert!(
        err.ends_with(&format!(
            "cluster.node_groups[0].speed_profile: {}:3: speed must be positive and at most 1000, got -0.5",
            csv.display()
        )),
        "{err}"
    );
    std::fs::write(&csv, "time,speed\n0,1\n").unwrap();
    let err = fulcrum_scenarios::load(&scenario).unwrap_err().to_string();
    assert!(err.contains("the header must be `t_s,speed`, got `time,speed`"), "{err}");
    // Without a file on disk there is nothing to resolve the path against.
    let err = parse_str(&v.to_string(), "s.json").unwrap_err().to_string();
    assert!(err.contains("needs a scenario read from disk"), "{err}");
}

#[test]
fn bulletin_board_view_and_defaults() {
    let mut v: Value = serde_json::from_str(CONTRACT).unwrap();
    v["view"] = json!({"kind": "heartbeat", "track_dispatches": false});
    v.as_object_mut().unwrap().remove("heartbeat");
    let s = parse_str(&v.to_string(), "s.json").unwrap();
    assert_eq!(s.sim.view, ViewMode::Heartbeat { track_dispatches: false });
    assert_eq!(s.sim.heartbeat.interval.as_secs_f64(), 1.0);
}

#[test]
fn syntax_errors_name_line_and_column() {
    let err = parse_str("{\n  \"name\": \"x\",\n  oops\n}", "s.json").unwrap_err().to_string();
    assert!(err.starts_with("s.json: "), "{err}");
    assert!(err.contains("line 3 column 3"), "{err}");
}

#[test]
fn unknown_fields_are_rejected_with_their_path() {
    let err = error_after(|v| v["cluster"]["node_groups"][0]["cpus"] = json!(2));
    assert!(err.starts_with("s.json: cluster.node_groups[0].cpus: unknown field `cpus`"), "{err}");
    let err = error_after(|v| v["workload"]["classes"][0]["demand"]["gpu"] = json!(1));
    assert!(err.starts_with("s.json: workload.classes[0].demand.gpu: unknown field `gpu`"), "{err}");
    let err = error_after(|v| v["colour"] = json!("red"));
    assert!(err.starts_with("s.json: colour: unknown field `colour`"), "{err}");
}

#[test]
fn out_of_range_values_name_the_field() {
    check(
        |v| v["cluster"]["node_groups"][0]["count"] = json!(0),
        "s.json: cluster.node_groups[0].count: must be at least 1, got 0",
    );
    check(
        |v| v["workload"]["arrival"]["rate_per_s"] = json!(-2.0),
        "s.json: workload.arrival.rate_per_s: must be positive, got -2",
    );
    check(
        |v| v["workload"]["arrival"]["rate_per_s"] = json!(0),
        "s.json: workload.arrival.rate_per_s: must be positive, got 0",
    );
    check(|v| v["heartbeat"]["loss"] = json!(1.5), "s.json: heartbeat.loss: must be a probability in [0, 1], got 1.5");
    check(|v| v["heartbeat"]["jitter"] = json!(1.0), "s.json: heartbeat.jitter: must be a fraction in [0, 1), got 1");
    check(
        |v| v["cluster"]["node_groups"] = json!([]),
        "s.json: cluster.node_groups: must declare at least one node group",
    );
    check(|v| v["warmup_s"] = json!(300000), "s.json: warmup_s: must be less than duration_s (200000), got 300000");
    check(|v| v["replications"] = json!(0), "s.json: replications: must be between 1 and 100000, got 0");
    check(
        |v| v["workload"]["classes"][0]["work_s"] = json!({"dist": "pareto", "mean": 1.0, "alpha": 0.9}),
        "s.json: workload.classes[0].work_s.alpha: must be greater than 1 (the mean is infinite otherwise), got 0.9",
    );
    check(|v| v["balancers"][3]["d"] = json!(0), "s.json: balancers[3].d: must be at least 1, got 0");
}

#[test]
fn absurd_sizes_are_refused() {
    check(
        |v| v["cluster"]["node_groups"][0]["count"] = json!(20_000_000_000u64),
        "s.json: cluster.node_groups: declare 20000000000 nodes in all; at most 10000000 are supported",
    );
    check(
        |v| v["duration_s"] = json!(1e15),
        "s.json: duration_s: must be positive and at most 1000000000, got 1000000000000000",
    );
    let err = error_after(|v| v["cluster"]["node_groups"][0]["count"] = json!(-1));
    assert!(err.starts_with("s.json: cluster.node_groups[0].count: invalid value: integer `-1`"), "{err}");
}

#[test]
fn shares_must_sum_to_one() {
    check(
        |v| {
            v["workload"]["classes"][0]["share"] = json!(0.5);
        },
        "s.json: workload.classes: shares must sum to 1, got 0.5",
    );
}

#[test]
fn a_class_no_node_can_hold_is_refused() {
    check(
        |v| v["workload"]["classes"][0]["demand"]["gpus"] = json!(1),
        "s.json: workload.classes[0].demand: no node can ever hold this class: it needs 1 gpus and the largest node has 0",
    );
    check(
        |v| v["workload"]["classes"][0]["demand"] = json!({}),
        "s.json: workload.classes[0].demand: must ask for some resource (e.g. \"cpu_cores\": 1)",
    );
}

#[test]
fn balancer_entries_are_checked() {
    let err = error_after(|v| v["balancers"][1] = json!("round-robbin"));
    assert!(err.starts_with("s.json: balancers[1].kind: unknown variant `round-robbin`"), "{err}");
    let err = error_after(|v| v["balancers"][3]["e"] = json!(1));
    assert_eq!(err, "s.json: balancers[3]: unknown field `e`, expected `d`");
    check(
        |v| v["balancers"][1] = json!("random"),
        "s.json: balancers[1].label: duplicate label \"random\": give each entry its own \"label\"",
    );
    check(|v| v["balancers"] = json!([]), "s.json: balancers: must list at least one balancer");
    let err = error_after(|v| v["view"] = json!("gossip"));
    assert_eq!(err, "s.json: view: unknown view \"gossip\", expected \"heartbeat\" or \"oracle\"");
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = error_after(|v| {
        v["cluster"]["node_groups"][0]["count"] = json!(0);
        v["heartbeat"]["loss"] = json!(-0.1);
    });
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
}

#[test]
fn fault_and_strategy_lists_of_the_contract_are_accepted() {
    let mut v: Value = serde_json::from_str(CONTRACT).unwrap();
    v["cluster"]["node_groups"] = json!([
        {"name": "small", "count": 6, "cpu_cores": 2, "memory_gb": 4},
        {"name": "large", "count": 4, "cpu_cores": 8, "memory_gb": 32, "racks": 2}
    ]);
    v["faults"] = json!([
      {"kind": "crash", "at_s": 600, "nodes": {"group": "small", "count": 3}, "recover_after_s": 120},
      {"kind": "crash", "mtbf_s": 36000, "mttr_s": 300},
      {"kind": "partition", "at_s": 900, "duration_s": 45, "nodes": {"group": "large", "count": 2}},
      {"kind": "slowdown", "at_s": 1200, "duration_s": 300, "nodes": {"ids": [7]}, "factor": 0.25},
      {"kind": "heartbeat-loss", "at_s": 1500, "duration_s": 30, "loss": 0.6}
    ]);
    v["detectors"] = json!([{"kind": "timeout", "timeout_s": 3.0},
                  {"kind": "missed-heartbeats", "k": 3},
                  {"kind": "phi-accrual", "threshold": 8.0, "min_std_s": 0.1, "acceptable_pause_s": 0.0}]);
    v["failover"] = json!([{"kind": "reschedule"}, {"kind": "checkpoint", "interval_s": 30, "cost_s": 0.5},
             {"kind": "retry", "max_attempts": 3, "backoff_s": 1.0}]);
    let s = parse_str(&v.to_string(), "s.json").unwrap();
    assert_eq!(s.sim.faults.len(), 5);
    assert_eq!(s.combinations.len(), 4 * 3 * 3);
    let c = &s.combinations[1];
    assert_eq!(c.strategy.label, "random+timeout+checkpoint");
    assert_eq!((c.balancer.as_str(), c.detector.as_str(), c.failover.as_str()), ("random", "timeout", "checkpoint"));
    // Explicit combinations instead of the cross product.
    v["combinations"] = json!([{"balancer": "p2c", "detector": "phi-accrual", "failover": "retry"}]);
    let s = parse_str(&v.to_string(), "s.json").unwrap();
    let labels: Vec<&str> = s.combinations.iter().map(|c| c.strategy.label.as_str()).collect();
    assert_eq!(labels, ["p2c+phi-accrual+retry"]);
}

#[test]
fn faults_alone_get_a_default_detector_and_reschedule() {
    let mut v: Value = serde_json::from_str(CONTRACT).unwrap();
    v["faults"] = json!([{"kind": "crash", "at_s": 10, "nodes": {"ids": [0]}, "recover_after_s": 5}]);
    let s = parse_str(&v.to_string(), "s.json").unwrap();
    assert_eq!(s.combinations[3].strategy.label, "p2c+timeout+reschedule");
    // Without faults or detectors, labels are the balancers' alone and nothing is detected.
    let s = parse_str(CONTRACT, "s.json").unwrap();
    assert!(s.combinations.iter().all(|c| c.strategy.detector.is_none() && c.detector == "none"));
}

#[test]
fn bad_faults_name_the_field() {
    check(
        |v| v["faults"] = json!([{"kind": "crash", "at_s": 10, "nodes": {"group": "gpu", "count": 1}}]),
        "s.json: faults[0].nodes.group: no node group named \"gpu\"; groups: [\"n\"]",
    );
    check(
        |v| v["faults"] = json!([{"kind": "crash", "at_s": 10, "nodes": {"group": "n", "count": 2}}]),
        "s.json: faults[0].nodes.count: must be between 1 and the group's 1 nodes, got 2",
    );
    check(
        |v| v["faults"] = json!([{"kind": "partition", "at_s": 10, "duration_s": 0, "nodes": {"ids": [0]}}]),
        "s.json: faults[0].duration_s: must be positive, got 0",
    );
    check(
        |v| {
            v["faults"] =
                json!([{"kind": "slowdown", "at_s": 10, "duration_s": 5, "nodes": {"ids": [3]}, "factor": 0.5}])
        },
        "s.json: faults[0].nodes.ids[0]: no node 3: node ids run from 0 to 0",
    );
    check(
        |v| v["faults"] = json!([{"kind": "crash", "mtbf_s": 100}]),
        "s.json: faults[0]: a crash needs either \"at_s\" (with \"nodes\") or both \"mtbf_s\" and \"mttr_s\"",
    );
    check(
        |v| v["faults"] = json!([{"kind": "crash", "mtbf_s": 100, "mttr_s": 10, "distribution": "weibull"}]),
        "s.json: faults[0].shape: is required with distribution \"weibull\"",
    );
    check(
        |v| v["faults"] = json!([{"kind": "heartbeat-loss", "at_s": 300000, "duration_s": 5, "loss": 0.5}]),
        "s.json: faults[0].at_s: must be before duration_s (200000), got 300000",
    );
    check(
        |v| v["detectors"] = json!([{"kind": "timeout", "timeout_s": 0}]),
        "s.json: detectors[0].timeout_s: must be positive and at most 1000000, got 0",
    );
    check(
        |v| v["failover"] = json!([{"kind": "retry", "max_attempts": 0}]),
        "s.json: failover[0].max_attempts: must be between 1 and 1000, got 0",
    );
    let err = error_after(|v| v["detectors"] = json!(["phi"]));
    assert!(err.starts_with("s.json: detectors[0]: unknown variant `phi`"), "{err}");
    check(
        |v| {
            v["detectors"] = json!([{"kind": "timeout", "timeout_s": 3}]);
            v["combinations"] = json!([{"balancer": "p2c", "detector": "chen"}]);
        },
        "s.json: combinations[0].detector: no detector labelled \"chen\"; known: [\"timeout\"]",
    );
}

#[test]
fn detector_options_sit_beside_the_detector() {
    let mut v: Value = serde_json::from_str(CONTRACT).unwrap();
    v["detectors"] = json!([
        {"kind": "timeout", "timeout_s": 3, "probe": {"timeout_s": 0.5, "retries": 2}, "passive": true},
        {"kind": "combined", "k": 2, "of": [{"kind": "timeout", "timeout_s": 2}, {"kind": "chen"}], "label": "both"}
    ]);
    v["failover"] = json!([{"kind": "priority-migration", "rate_per_s": 5, "fencing": true}]);
    let s = parse_str(&v.to_string(), "s.json").unwrap();
    let first = &s.combinations[0].strategy;
    assert_eq!(first.label, "random+timeout+priority-migration");
    assert!(first.detection.passive);
    assert_eq!(first.detection.probe.unwrap().retries, 2);
    assert!(first.failover.fencing());
    assert_eq!(s.combinations[1].strategy.label, "random+both+priority-migration");
    assert!(!s.combinations[1].strategy.detection.passive);
    check(
        |v| v["detectors"] = json!([{"kind": "combined", "k": 3, "of": [{"kind": "chen"}]}]),
        "s.json: detectors[0].k: must be between 1 and the 1 detectors listed, got 3",
    );
}

#[test]
fn several_dispatchers_as_a_number_or_an_object() {
    use fulcrum_sim_core::config::{Dispatchers, Split};
    let parse = |d: Value| {
        let mut v: Value = serde_json::from_str(CONTRACT).unwrap();
        v["dispatchers"] = d;
        parse_str(&v.to_string(), "s.json").unwrap().sim.dispatchers
    };
    assert_eq!(parse(json!(4)), Dispatchers { count: 4, split: Split::Random });
    assert_eq!(parse(json!({"count": 3, "split": "round-robin"})), Dispatchers { count: 3, split: Split::RoundRobin });
    let s = parse_str(CONTRACT, "s.json").unwrap();
    assert_eq!(s.sim.dispatchers, Dispatchers { count: 1, split: Split::Random });

    let e = error_after(|v| v["dispatchers"] = json!(0));
    assert!(e.contains("dispatchers: must be between 1 and 1024, got 0"), "{e}");
    let e = error_after(|v| v["dispatchers"] = json!({"count": 2, "split": "hash"}));
    assert!(e.contains("dispatchers.split: unknown variant `hash`"), "{e}");
    let e = error_after(|v| v["dispatchers"] = json!({"count": 2000}));
    assert!(e.contains("dispatchers.count: must be between 1 and 1024, got 2000"), "{e}");
    let e = error_after(|v| v["dispatchers"] = json!(2.5));
    assert!(e.contains("dispatchers: must be a whole number of dispatchers, got 2.5"), "{e}");
}

#[test]
fn alert_rules_are_read_and_checked() {
    use fulcrum_sim_core::alerts::{AlertMetric, Condition};
    let mut v: Value = serde_json::from_str(CONTRACT).unwrap();
    v["alerts"] = json!([
        {"name": "hot", "metric": "utilization", "above": 0.9, "for_s": 30},
        {"name": "slow", "metric": "p95_response_s", "above": 5.0, "window_s": 2000},
        {"name": "idle", "metric": "throughput_per_s", "below": 0.1}
    ]);
    let s = parse_str(&v.to_string(), "s.json").unwrap();
    let rules = &s.sim.alerts;
    assert_eq!(rules.len(), 3);
    assert_eq!((rules[0].metric, rules[0].condition), (AlertMetric::Utilization, Condition::Above(0.9)));
    assert_eq!(rules[0].for_.as_secs_f64(), 30.0);
    assert_eq!(rules[1].window.as_secs_f64(), 2000.0);
    // The default window is 60 s, but never shorter than the sampling interval (here 990 s).
    assert_eq!(rules[2].window.as_secs_f64(), 990.0);

    let alert = |a: Value| move |v: &mut Value| v["alerts"] = json!([a]);
    check(
        alert(json!({"name": "x", "metric": "utilisation", "above": 1})),
        "s.json: alerts[0].metric: unknown metric \"utilisation\"; expected one of utilization, max_utilization, \
         load_cv, tasks_in_system, queue_length, queue_slope, p95_response_s, mean_response_s, throughput_per_s, \
         suspected_nodes, migrations_per_min",
    );
    check(
        alert(json!({"name": "x", "metric": "utilization", "above": 1, "below": 0})),
        "s.json: alerts[0]: give either `above` or `below`, not both",
    );
    check(
        alert(json!({"name": "x", "metric": "utilization"})),
        "s.json: alerts[0]: give a threshold: `above` or `below`",
    );
    check(
        alert(json!({"name": "x", "metric": "utilization", "above": 0.5, "window_s": 60})),
        "s.json: alerts[0].window_s: \"utilization\" is an instantaneous metric and takes no window (got 60)",
    );
    check(
        alert(json!({"name": "x", "metric": "queue_slope", "above": 0.5, "window_s": 60})),
        "s.json: alerts[0].window_s: 60 s is shorter than the sampling interval (990 s): rules are evaluated at \
         each sample, so the window would hold one sample",
    );
    check(
        alert(json!({"name": "x", "metric": "utilization", "above": 0.5, "for_s": -1})),
        "s.json: alerts[0].for_s: must be at least 0 and at most 1000000000, got -1",
    );
}

/// The contract scenario replaying `trace` (a `workload.trace` object) from a directory that
/// holds `files`; returns the load result's error text, or the scenario.
fn with_trace(trace: Value, files: &[(&str, &str)]) -> Result<fulcrum_scenarios::Scenario, String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let mut v: Value = serde_json::from_str(CONTRACT).unwrap();
    v["cluster"]["node_groups"][0]["cpu_cores"] = json!(4);
    v["workload"] = json!({"trace": trace});
    let path = dir.path().join("s.json");
    std::fs::write(&path, v.to_string()).unwrap();
    fulcrum_scenarios::load(&path).map_err(|e| e.to_string().replace(&format!("{}/", dir.path().display()), ""))
}

const SWF: &str = "; Version: 2.2\n1 0 -1 10 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n\
                   2 5 -1 20 2 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n";

#[test]
fn a_trace_workload_becomes_classes_and_a_source() {
    let s = with_trace(json!({"format": "swf", "path": "t.swf", "time_scale": 2}), &[("t.swf", SWF)]).unwrap();
    let names: Vec<&str> = s.sim.workload.classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["cpu1", "cpu2"]);
    assert!(s.sim.workload.source.is_some());
    let plan = s.trace.as_ref().unwrap();
    assert_eq!((plan.summary.records, plan.summary.span_s), (2, 10.0));
    assert_eq!(plan.summary.sha256.len(), 64);
    // 2 tasks over 10 simulated seconds.
    assert_eq!(s.sim.workload.mean_rate(), 0.2);
}

#[test]
fn trace_options_are_checked_with_their_paths() {
    let err = |trace: Value| with_trace(trace, &[("t.swf", SWF)]).err().unwrap();
    assert_eq!(
        err(json!({"format": "parquet", "path": "t.swf"})),
        "s.json: workload.trace.format: unknown trace format \"parquet\", expected one of \"swf\", \"google-2011\", \
         \"alibaba-2017\", \"alibaba-2018\", \"azure-llm\", \"csv\""
    );
    assert_eq!(
        err(json!({"format": "swf", "path": "nope.swf"})),
        "s.json: workload.trace.path: no such file: nope.swf"
    );
    assert_eq!(
        err(json!({"format": "swf", "path": "t.swf", "lookahead_s": 60})),
        "s.json: workload.trace.lookahead_s: only applies to format \"google-2011\""
    );
    assert_eq!(
        err(json!({"format": "swf", "path": "t.swf", "load_scale": 2, "target_utilization": 0.5})),
        "s.json: workload.trace.target_utilization: give load_scale or target_utilization, not both"
    );
    assert_eq!(
        err(json!({"format": "swf", "path": "t.swf", "on_bad_line": "ignore"})),
        "s.json: workload.trace.on_bad_line: must be \"error\" or \"skip\", got \"ignore\""
    );
    assert_eq!(
        err(json!({"format": "swf", "path": "t.swf", "time_scale": 0})),
        "s.json: workload.trace.time_scale: must be positive, got 0"
    );
    assert_eq!(
        err(json!({"format": "swf", "path": "t.swf", "limit": 0})),
        "s.json: workload.trace.limit: must be at least 1, got 0"
    );
    assert_eq!(
        err(json!({"format": "csv", "path": "t.swf"})),
        "s.json: workload.trace.columns: a csv trace needs a column mapping, e.g. {\"time\": \"submit_s\", \"work\": \"run_s\"}"
    );
    let e = err(json!({"format": "swf", "path": "t.swf", "speed": 2}));
    assert!(e.starts_with("s.json: workload.trace.speed: unknown field `speed`"), "{e}");
    // A trace replaces the arrival process and the classes.
    let e = error_after(|v| v["workload"]["trace"] = json!({"format": "swf", "path": "t.swf"}));
    assert!(
        e.contains("s.json: workload.arrival: not allowed with workload.trace: the trace gives the arrivals"),
        "{e}"
    );
    assert!(e.contains("s.json: workload.classes: not allowed with workload.trace"), "{e}");
    // parse_str has no directory to find the file in.
    assert!(e.contains("workload.trace.path: a trace file needs a scenario read from disk"), "{e}");
    let e = error_after(|v| v["workload"] = json!({"classes": v["workload"]["classes"].clone()}));
    assert_eq!(e, "s.json: workload.arrival: required (or replay a recorded workload with workload.trace)");
}

#[test]
fn trace_content_errors_name_the_file_and_line() {
    let bad = format!("{SWF}3 7 -1 1 1\n");
    assert_eq!(
        with_trace(json!({"format": "swf", "path": "t.swf"}), &[("t.swf", &bad)]).err().unwrap(),
        "s.json: workload.trace: t.swf:4: expected 18 whitespace-separated fields, got 5"
    );
    let s = with_trace(json!({"format": "swf", "path": "t.swf", "on_bad_line": "skip"}), &[("t.swf", &bad)]).unwrap();
    assert_eq!((s.trace.as_ref().unwrap().summary.skipped, s.trace.as_ref().unwrap().summary.records), (1, 2));
    let wide = SWF.replace("2 5 -1 20 2", "2 5 -1 20 16");
    assert!(with_trace(json!({"format": "swf", "path": "t.swf"}), &[("t.swf", &wide)])
        .err()
        .unwrap()
        .starts_with("s.json: workload.trace: t.swf:3: no node can ever hold this task: it needs 16 cpu_cores and the largest node has 4"));
    // Mapping processors to a quarter of a core each makes it fit.
    let s =
        with_trace(json!({"format": "swf", "path": "t.swf", "cpu_cores_per_unit": 0.25}), &[("t.swf", &wide)]).unwrap();
    assert_eq!(s.sim.workload.classes[1].name, "cpu4");
}

#[test]
fn machines_from_a_trace_define_node_groups() {
    let dir = tempfile::tempdir().unwrap();
    let library_meta =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("library/traces/alibaba-2018/machine_meta.csv");
    std::fs::write(
        dir.path().join("meta.csv"),
        "m_1,0,1,1,96,100,USING\nm_2,0,1,1,64,50,USING\nm_1,9,1,1,96,100,USING\n",
    )
    .unwrap();
    let load = |cluster: Value| {
        let mut v: Value = serde_json::from_str(CONTRACT).unwrap();
        v["cluster"] = cluster;
        let path = dir.path().join("s.json");
        std::fs::write(&path, v.to_string()).unwrap();
        fulcrum_scenarios::load(&path).map_err(|e| e.to_string().replace(&format!("{}/", dir.path().display()), ""))
    };
    // The shipped table: 4,034 machines of 96 cores and memory 100.
    let s = load(json!({"machines": {"format": "alibaba-2018", "path": library_meta.display().to_string()}})).unwrap();
    assert_eq!(s.sim.nodes.len(), 4_034);
    assert_eq!(s.sim.groups.len(), 1);
    assert_eq!(s.sim.groups[0].name, "cpu96-mem100");
    assert_eq!(s.sim.nodes[0].capacity.units(fulcrum_strategies::Resource::Memory), 100.0);
    // Declared groups first, then the machines by shape; a limit and unit mapping.
    let s = load(json!({"node_groups": [{"name": "edge", "count": 2, "cpu_cores": 4, "memory_gb": 8}],
                        "machines": {"format": "alibaba-2018", "path": "meta.csv", "memory_gb_per_unit": 2.56,
                                     "speed": 1.5}}))
    .unwrap();
    let groups: Vec<(&str, u32, u32)> = s.sim.groups.iter().map(|g| (g.name.as_str(), g.first, g.count)).collect();
    assert_eq!(groups, [("edge", 0, 2), ("cpu64-mem50", 2, 1), ("cpu96-mem100", 3, 1)]);
    assert_eq!(s.sim.nodes[3].capacity.units(fulcrum_strategies::Resource::Memory), 256.0);
    assert_eq!(s.sim.nodes[3].speed, 1.5);
    let s = load(json!({"machines": {"format": "alibaba-2018", "path": "meta.csv", "limit": 1}})).unwrap();
    assert_eq!(s.sim.nodes.len(), 1);
    // Errors name the field, or the file and line.
    assert_eq!(
        load(json!({"machines": {"format": "google-2011", "path": "meta.csv"}})).unwrap_err(),
        "s.json: cluster.machines.format: unknown machine table format \"google-2011\", expected \"alibaba-2018\""
    );
    std::fs::write(dir.path().join("bad.csv"), "m_1,0,1,1,96,100,USING\nm_2,0,1,1,lots,50,USING\n").unwrap();
    assert_eq!(
        load(json!({"machines": {"format": "alibaba-2018", "path": "bad.csv"}})).unwrap_err(),
        "s.json: cluster.machines: bad.csv:2: column 5 (cpu_num) must be a positive number, got `lots`"
    );
    assert_eq!(load(json!({})).unwrap_err(), "s.json: cluster.node_groups: must declare at least one node group");
}
