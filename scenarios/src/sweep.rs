//! Sweep files: a base scenario, parameter values on a grid, and the scenario variants they
//! expand into. `fulcrum sweep` runs every (variant, strategy, replication) as an independent run.
//!
//! ```json
//! {
//!   "name": "quickstart-load",
//!   "scenario": "quickstart.json",
//!   "replications": 3,
//!   "set": {"duration_s": 1500},
//!   "grid": [
//!     {"path": "workload.arrival.rate_per_s", "values": [12, 18, 24]},
//!     {"path": "balancers[3].d", "values": [2, 3]}
//!   ],
//!   "labels": ["least-connections", "p2c"]
//! }
//! ```
//!
//! `scenario` is relative to the sweep file. `set` changes the base scenario for every variant;
//! `grid` lists axes, the first outermost, and the variants are their cartesian product in that
//! order. A path is dotted with array indices (`balancers[3].d`) or a JSON pointer
//! (`/balancers/3/d`); a missing object key is created, so fields the scenario leaves at their
//! default can be swept too. `labels` (default: all) picks the strategies to run. Each variant is
//! an ordinary scenario, validated like a file: its problems are reported with the variant's
//! parameters and the field path.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{hex, parse_str_in, Problem, Scenario, ScenarioError};

/// Most runs a sweep may expand into.
pub const MAX_RUNS: usize = 1_000_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    scenario: String,
    #[serde(default)]
    replications: Option<u64>,
    #[serde(default)]
    set: BTreeMap<String, Value>,
    #[serde(default)]
    grid: Vec<RawAxis>,
    #[serde(default)]
    labels: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAxis {
    path: String,
    values: Vec<Value>,
}

/// A validated sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// Name (default: the sweep file's stem).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// SHA-256 of the sweep file's bytes, hex.
    pub sha256: String,
    /// The grid's paths, in order.
    pub axes: Vec<String>,
    /// Every variant, in grid order (the last axis varying fastest).
    pub variants: Vec<Variant>,
}

/// One point of the grid: a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// Position in [`Sweep::variants`].
    pub index: usize,
    /// The grid value of each axis, in axis order.
    pub params: Vec<(String, Value)>,
    /// The variant's scenario file text (what its `sha256` is of).
    pub json: String,
    /// The validated scenario, its combinations limited to the sweep's labels.
    pub scenario: Scenario,
}

impl Variant {
    /// `path=value, ...`, for messages and tables.
    pub fn describe(&self) -> String {
        describe(&self.params)
    }
}

fn describe(params: &[(String, Value)]) -> String {
    if params.is_empty() {
        return "base scenario".to_string();
    }
    params.iter().map(|(p, v)| format!("{p}={v}")).collect::<Vec<_>>().join(", ")
}

/// One step of a path into a JSON document.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Parses `a.b[2].c` or the JSON pointer `/a/b/2/c`.
fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    if let Some(pointer) = path.strip_prefix('/') {
        for token in pointer.split('/') {
            let token = token.replace("~1", "/").replace("~0", "~");
            match token.parse::<usize>() {
                Ok(i) if !token.starts_with('+') => steps.push(Step::Index(i)),
                _ if token.is_empty() => return Err("empty step in JSON pointer".to_string()),
                _ => steps.push(Step::Key(token)),
            }
        }
        return Ok(steps);
    }
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() {
            return Err(format!("empty field name in {path:?}: write it as a.b[2].c or /a/b/2/c"));
        }
        steps.push(Step::Key(key.to_string()));
        while !rest.is_empty() {
            let close = rest
                .find(']')
                .filter(|_| rest.starts_with('['))
                .ok_or_else(|| format!("bad index in {path:?}: write it as a.b[2].c or /a/b/2/c"))?;
            let index =
                rest[1..close].parse::<usize>().map_err(|_| format!("{:?} is not an array index", &rest[1..close]))?;
            steps.push(Step::Index(index));
            rest = &rest[close + 1..];
        }
    }
    Ok(steps)
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(_) => "a boolean".to_string(),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(s) => format!("a string ({s:?})"),
        Value::Array(a) => format!("an array of {}", a.len()),
        Value::Object(_) => "an object".to_string(),
    }
}

/// Sets `path` in `root` to `value`, creating missing object keys.
fn set_path(root: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let steps = parse_path(path)?;
    let mut at = root;
    let mut walked = String::new();
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        at = match step {
            Step::Key(k) => {
                let here = if walked.is_empty() { "the scenario".to_string() } else { walked.clone() };
                let Value::Object(map) = at else {
                    let hint = if matches!(at, Value::String(_)) {
                        ": write that entry as an object, e.g. {\"kind\": ...}, in the scenario"
                    } else {
                        ""
                    };
                    return Err(format!("{here} is {}, not an object{hint}", kind(at)));
                };
                if !walked.is_empty() {
                    walked.push('.');
                }
                walked.push_str(k);
                if last {
                    map.insert(k.clone(), value);
                    return Ok(());
                }
                map.entry(k.clone()).or_insert_with(|| Value::Object(Default::default()))
            }
            Step::Index(n) => {
                let Value::Array(items) = at else {
                    return Err(format!("{walked} is {}, not an array", kind(at)));
                };
                let len = items.len();
                let Some(item) = items.get_mut(*n) else {
                    return Err(format!("{walked} has {len} elements, so [{n}] does not exist"));
                };
                walked.push_str(&format!("[{n}]"));
                if last {
                    *item = value;
                    return Ok(());
                }
                item
            }
        };
    }
    Err("empty path".to_string())
}

/// A run's stable id: the first 16 hex digits of the SHA-256 of the scenario's SHA-256, the
/// strategy label and the replication. The same run of the same scenario has the same id in any
/// sweep, whatever the grid around it, so finished runs are found again after a restart.
pub fn run_id(scenario_sha256: &str, label: &str, replication: u32) -> String {
    let digest = Sha256::digest(format!("fulcrum-run\0{scenario_sha256}\0{label}\0{replication}").as_bytes());
    hex(&digest[..8])
}

/// Reads and expands a sweep file.
pub fn load_sweep(path: &Path) -> Result<Sweep, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read { file: file.clone(), source })?;
    parse_sweep(&text, &file, path.parent().unwrap_or(Path::new(".")))
}

/// Expands sweep JSON whose `scenario` is relative to `base_dir`; `file` names it in errors.
pub fn parse_sweep(text: &str, file: &str, base_dir: &Path) -> Result<Sweep, ScenarioError> {
    let invalid = |problems: Vec<Problem>| ScenarioError::Invalid { file: file.to_string(), problems };
    let mut de = serde_json::Deserializer::from_str(text);
    let raw: RawSweep = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        invalid(vec![Problem::new(if path == "." { String::new() } else { path }, e.inner().to_string())])
    })?;

    let mut problems = Vec::new();
    if raw.replications.is_some_and(|r| r == 0) {
        problems.push(Problem::new("replications", "must be at least 1"));
    }
    for (i, axis) in raw.grid.iter().enumerate() {
        if let Err(e) = parse_path(&axis.path) {
            problems.push(Problem::new(format!("grid[{i}].path"), e));
        }
        if axis.values.is_empty() {
            problems.push(Problem::new(format!("grid[{i}].values"), "must list at least one value"));
        }
        if raw.grid[..i].iter().any(|a| a.path == axis.path) {
            problems.push(Problem::new(format!("grid[{i}].path"), format!("{:?} appears twice", axis.path)));
        }
    }
    if raw.labels.as_ref().is_some_and(|l| l.is_empty()) {
        problems.push(Problem::new("labels", "must list at least one label (or be left out for all)"));
    }
    let n_variants = raw.grid.iter().try_fold(1usize, |acc, a| acc.checked_mul(a.values.len().max(1)));
    if !matches!(n_variants, Some(n) if n <= MAX_RUNS) {
        problems.push(Problem::new("grid", format!("expands into more than {MAX_RUNS} variants")));
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }

    let base_path = base_dir.join(&raw.scenario);
    let base_file = base_path.display().to_string();
    let base_text = std::fs::read_to_string(&base_path).map_err(|source| ScenarioError::Invalid {
        file: file.to_string(),
        problems: vec![Problem::new("scenario", format!("cannot read {base_file}: {source}"))],
    })?;
    let mut base: Value = serde_json::from_str(&base_text).map_err(|e| ScenarioError::Invalid {
        file: base_file.clone(),
        problems: vec![Problem::new("", e.to_string())],
    })?;
    if let Some(r) = raw.replications {
        set_path(&mut base, "replications", Value::from(r)).expect("a scenario is an object");
    }
    for (path, value) in &raw.set {
        set_path(&mut base, path, value.clone()).map_err(|e| invalid(vec![Problem::new(format!("set.{path}"), e)]))?;
    }
    let scenario_dir = base_path.parent().unwrap_or(Path::new("."));

    let mut variants = Vec::new();
    let n = n_variants.expect("checked");
    let mut runs = 0usize;
    for index in 0..n {
        // Mixed-radix digits of `index`, the last axis fastest.
        let mut rest = index;
        let mut picks = vec![0; raw.grid.len()];
        for (k, axis) in raw.grid.iter().enumerate().rev() {
            picks[k] = rest % axis.values.len();
            rest /= axis.values.len();
        }
        let mut doc = base.clone();
        let mut params = Vec::new();
        for (k, axis) in raw.grid.iter().enumerate() {
            let value = axis.values[picks[k]].clone();
            set_path(&mut doc, &axis.path, value.clone())
                .map_err(|e| invalid(vec![Problem::new(format!("grid[{k}].path"), e)]))?;
            params.push((axis.path.clone(), value));
        }
        let json = serde_json::to_string_pretty(&doc).expect("a JSON value serialises") + "\n";
        let described = format!("{file}: variant {index} ({})", describe(&params));
        let mut scenario = parse_str_in(&json, &described, Some(scenario_dir))?;
        if let Some(labels) = &raw.labels {
            let missing: Vec<&String> =
                labels.iter().filter(|l| !scenario.combinations.iter().any(|c| &c.strategy.label == *l)).collect();
            if !missing.is_empty() {
                let have: Vec<&str> = scenario.combinations.iter().map(|c| c.strategy.label.as_str()).collect();
                return Err(invalid(vec![Problem::new(
                    "labels",
                    format!(
                        "variant {index} ({}) has no strategy labelled {}; its labels are {}",
                        describe(&params),
                        missing.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>().join(", "),
                        have.join(", ")
                    ),
                )]));
            }
            scenario.combinations.retain(|c| labels.contains(&c.strategy.label));
        }
        runs += scenario.combinations.len() * scenario.replications as usize;
        if runs > MAX_RUNS {
            return Err(invalid(vec![Problem::new("grid", format!("expands into more than {MAX_RUNS} runs"))]));
        }
        variants.push(Variant { index, params, json, scenario });
    }
    let name =
        raw.name.unwrap_or_else(|| Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or("sweep").to_string());
    Ok(Sweep {
        name,
        description: raw.description,
        sha256: hex(&Sha256::digest(text.as_bytes())),
        axes: raw.grid.iter().map(|a| a.path.clone()).collect(),
        variants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn run_ids_are_stable_and_distinct() {
        let a = run_id("ab", "p2c", 0);
        assert_eq!(a.len(), 16);
        assert_eq!(a, run_id("ab", "p2c", 0));
        assert_ne!(a, run_id("ab", "p2c", 1));
        assert_ne!(a, run_id("ab", "p2", 0));
        assert_ne!(a, run_id("ac", "p2c", 0));
        // Pinned (computed independently: SHA-256 of b"fulcrum-run\0ab\0p2c\01", first 8 bytes): a
        // change here would orphan every finished run of every sweep directory.
        assert_eq!(run_id("ab", "p2c", 1), "df625aaff3812b5e");
    }

    #[test]
    fn paths_parse_in_both_spellings() {
        let dotted = parse_path("balancers[3].d").unwrap();
        assert_eq!(dotted, vec![Step::Key("balancers".into()), Step::Index(3), Step::Key("d".into())]);
        assert_eq!(parse_path("/balancers/3/d").unwrap(), dotted);
        assert_eq!(parse_path("a[1][2]").unwrap(), vec![Step::Key("a".into()), Step::Index(1), Step::Index(2)]);
        assert_eq!(parse_path("/a~1b/c~0").unwrap(), vec![Step::Key("a/b".into()), Step::Key("c~".into())]);
        assert!(parse_path("a..b").is_err());
        assert!(parse_path("a[x]").unwrap_err().contains("not an array index"));
        assert!(parse_path("a[1").is_err());
    }

    #[test]
    fn setting_creates_keys_and_names_what_is_wrong() {
        let mut v =
            json!({"workload": {"arrival": {"rate_per_s": 1}}, "balancers": ["random", {"kind": "power-of-d"}]});
        set_path(&mut v, "workload.arrival.rate_per_s", json!(3)).unwrap();
        set_path(&mut v, "heartbeat.loss", json!(0.1)).unwrap();
        set_path(&mut v, "balancers[1].d", json!(4)).unwrap();
        assert_eq!(v["workload"]["arrival"]["rate_per_s"], 3);
        assert_eq!(v["heartbeat"]["loss"], 0.1);
        assert_eq!(v["balancers"][1], json!({"kind": "power-of-d", "d": 4}));
        let err = set_path(&mut v, "balancers[0].d", json!(2)).unwrap_err();
        assert_eq!(
            err,
            "balancers[0] is a string (\"random\"), not an object: write that entry as an object, e.g. {\"kind\": ...}, in the scenario"
        );
        assert_eq!(
            set_path(&mut v, "balancers[5].d", json!(2)).unwrap_err(),
            "balancers has 2 elements, so [5] does not exist"
        );
        assert_eq!(
            set_path(&mut v, "workload.arrival.rate_per_s.x", json!(2)).unwrap_err(),
            "workload.arrival.rate_per_s is a number (3), not an object"
        );
    }

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const BASE: &str = r#"{
      "name": "tiny", "duration_s": 100, "replications": 2,
      "cluster": {"node_groups": [{"name": "n", "count": 2, "cpu_cores": 1}]},
      "workload": {"arrival": {"process": "poisson", "rate_per_s": 1.0},
                   "classes": [{"name": "t", "share": 1.0, "work_s": {"dist": "exp", "mean": 1.0},
                                "demand": {"cpu_cores": 1}}]},
      "balancers": ["random", {"kind": "power-of-d", "d": 2, "label": "p2c"}]
    }"#;

    #[test]
    fn a_grid_expands_in_order_with_valid_variants() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "base.json", BASE);
        let sweep = write(
            dir.path(),
            "s.json",
            r#"{"scenario": "base.json", "replications": 3, "set": {"duration_s": 50},
                "grid": [{"path": "workload.arrival.rate_per_s", "values": [0.5, 1.5]},
                         {"path": "/balancers/1/d", "values": [1, 2, 3]}],
                "labels": ["p2c"]}"#,
        );
        let s = load_sweep(&sweep).unwrap();
        assert_eq!(s.name, "s");
        assert_eq!(s.variants.len(), 6);
        assert_eq!(s.variants[4].describe(), "workload.arrival.rate_per_s=1.5, /balancers/1/d=2");
        for v in &s.variants {
            assert_eq!(v.scenario.replications, 3);
            assert_eq!(v.scenario.sim.end.as_secs_f64(), 50.0);
            assert_eq!(v.scenario.combinations.len(), 1);
            assert_eq!(v.scenario.combinations[0].strategy.label, "p2c");
            // The variant text is itself a scenario with the same hash.
            assert_eq!(crate::parse_str(&v.json, "v.json").unwrap().sha256, v.scenario.sha256);
        }
        assert_eq!(s.variants[5].scenario.sim.workload.arrival.mean_rate(), 1.5);
        // The same file expands the same way.
        assert_eq!(load_sweep(&sweep).unwrap(), s);
    }

    #[test]
    fn bad_sweeps_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "base.json", BASE);
        let check = |text: &str, expected: &str| {
            let p = write(dir.path(), "bad.json", text);
            let err = load_sweep(&p).unwrap_err().to_string();
            assert!(err.contains(expected), "expected {expected:?} in {err:?}");
            assert!(err.starts_with(&p.display().to_string()), "{err}");
        };
        check(r#"{"scenario": "nope.json"}"#, "scenario: cannot read");
        check(r#"{"scenario": "base.json", "gird": []}"#, "unknown field `gird`");
        check(r#"{"scenario": "base.json", "grid": [{"path": "a[", "values": [1]}]}"#, "grid[0].path: bad index");
        check(r#"{"scenario": "base.json", "grid": [{"path": "seed", "values": []}]}"#, "grid[0].values: must list");
        check(
            r#"{"scenario": "base.json", "grid": [{"path": "balancers[0].d", "values": [2]}]}"#,
            "grid[0].path: balancers[0] is a string",
        );
        check(
            r#"{"scenario": "base.json", "grid": [{"path": "workload.arrival.rate_per_s", "values": [1, -1]}]}"#,
            "variant 1 (workload.arrival.rate_per_s=-1): workload.arrival.rate_per_s: must be positive",
        );
        check(
            r#"{"scenario": "base.json", "labels": ["p3c"]}"#,
            "labels: variant 0 (base scenario) has no strategy labelled \"p3c\"",
        );
    }
}
