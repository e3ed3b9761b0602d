//! Fulcrum's scenario files: the JSON format, its validation, and the library of ready scenarios.
//!
//! A scenario file is parsed into raw serde structs ([`raw`]) that mirror the JSON with
//! `deny_unknown_fields`, then validated ([`validate`]) into a [`Scenario`]: a
//! [`SimConfig`] the simulator can run without failing, plus the labelled strategies to compare.
//! Every problem is reported with the file and the field path, all at once, before anything runs.
//!
//! ```
//! let json = r#"{
//!   "name": "tiny", "duration_s": 100, "replications": 2,
//!   "cluster": {"node_groups": [{"name": "n", "count": 2, "cpu_cores": 1}]},
//!   "workload": {"arrival": {"process": "poisson", "rate_per_s": 1.0},
//!                "classes": [{"name": "t", "share": 1.0, "work_s": {"dist": "exp", "mean": 1.0},
//!                             "demand": {"cpu_cores": 1}}]},
//!   "balancers": ["random", {"kind": "power-of-d", "d": 2, "label": "p2c"}]
//! }"#;
//! let scenario = fulcrum_scenarios::parse_str(json, "tiny.json").unwrap();
//! assert_eq!(scenario.combinations[1].strategy.label, "p2c");
//!
//! let bad = json.replace(r#""count": 2"#, r#""count": 0"#);
//! let err = fulcrum_scenarios::parse_str(&bad, "tiny.json").unwrap_err();
//! assert_eq!(err.to_string(), "tiny.json: cluster.node_groups[0].count: must be at least 1, got 0");
//! ```
#![deny(missing_docs)]

mod error;
#[allow(missing_docs)]
pub mod raw;
pub mod sweep;
pub mod trace;
pub mod validate;

pub use error::{Problem, ScenarioError};

use fulcrum_sim_core::config::SimConfig;
use fulcrum_sim_core::Strategy;
use sha2::{Digest, Sha256};
use std::path::Path;

/// One strategy combination of a scenario, with the labels its results carry.
#[derive(Clone, Debug, PartialEq)]
pub struct Combination {
    /// The balancer's label.
    pub balancer: String,
    /// The detector's label (`"none"` in a scenario without failure detection).
    pub detector: String,
    /// The failover policy's label.
    pub failover: String,
    /// What runs; `strategy.label` is the result's label (`balancer+detector+failover`, or the
    /// balancer's label alone without failure detection).
    pub strategy: Strategy,
}

/// A validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Free-text description.
    pub description: Option<String>,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// Replications per strategy.
    pub replications: u32,
    /// The world to simulate.
    pub sim: SimConfig,
    /// The strategy combinations to compare, in order: balancers outermost, then detectors,
    /// then failover policies (or the explicit `combinations` list).
    pub combinations: Vec<Combination>,
    /// The replayed trace, when the workload is one (`sim.workload.source` replays it).
    pub trace: Option<std::sync::Arc<trace::TracePlan>>,
}

/// Scenarios of `scenarios/library/` embedded in the binary: `(file name, contents)`. (Scenarios
/// that refer to other files, such as speed profiles, are read from disk instead.)
pub const LIBRARY: &[(&str, &str)] = &[
    ("quickstart.json", include_str!("../library/quickstart.json")),
    ("mm1-check.json", include_str!("../library/mm1-check.json")),
    ("scale-10k.json", include_str!("../library/scale-10k.json")),
];

/// The built-in default scenario (`quickstart.json`).
pub fn default_scenario() -> (&'static str, &'static str) {
    LIBRARY[0]
}

/// Parses and validates scenario JSON; `file` names it in errors. Files it refers to (speed
/// profiles) cannot be read: use [`load`] for those.
pub fn parse_str(json: &str, file: &str) -> Result<Scenario, ScenarioError> {
    parse_str_in(json, file, None)
}

/// Settings that override a scenario file's own when it is loaded (from the command line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// The bad-line policy of a replayed trace (`--on-bad-line`).
    pub on_bad_line: Option<trace::BadLines>,
}

/// Parses and validates scenario JSON whose relative paths are relative to `base_dir`.
pub fn parse_str_in(json: &str, file: &str, base_dir: Option<&Path>) -> Result<Scenario, ScenarioError> {
    parse_str_with(json, file, base_dir, &LoadOptions::default())
}

/// [`parse_str_in`] with `options` overriding the file's settings.
pub fn parse_str_with(
    json: &str,
    file: &str,
    base_dir: Option<&Path>,
    options: &LoadOptions,
) -> Result<Scenario, ScenarioError> {
    let invalid = |problems| ScenarioError::Invalid { file: file.to_string(), problems };
    let mut de = serde_json::Deserializer::from_str(json);
    let raw: raw::RawScenario = match serde_path_to_error::deserialize(&mut de) {
        Ok(raw) => raw,
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            return Err(invalid(vec![Problem::new(path, e.inner().to_string())]));
        }
    };
    if let Err(e) = de.end() {
        return Err(invalid(vec![Problem::new("", e.to_string())]));
    }
    let mut raw = raw;
    if let (Some(policy), Some(trace)) = (options.on_bad_line, raw.workload.trace.as_mut()) {
        trace.on_bad_line = Some(policy.name().to_string());
    }
    let sha256 = hex(&Sha256::digest(json.as_bytes()));
    validate::validate(raw, sha256, base_dir).map_err(invalid)
}

/// Reads, parses and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with(path, &LoadOptions::default())
}

/// [`load`] with `options` overriding the file's settings.
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ScenarioError::Read { file: file.clone(), source })?;
    let json = String::from_utf8(bytes).map_err(|e| ScenarioError::Invalid {
        file: file.clone(),
        problems: vec![Problem::new(
            "",
            format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
        )],
    })?;
    parse_str_with(&json, &file, Some(path.parent().unwrap_or(Path::new("."))), options)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
