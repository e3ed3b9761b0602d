//! The scenario file as written: serde structs that mirror the JSON one to one, with
//! `deny_unknown_fields` everywhere. Nothing here is checked beyond types; [`crate::validate`]
//! turns a [`RawScenario`] into a validated [`crate::Scenario`].

use fulcrum_strategies::ResourceUnits;
use serde::Deserialize;

/// A whole scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub duration_s: f64,
    #[serde(default)]
    pub warmup_s: f64,
    #[serde(default = "default_replications")]
    pub replications: u64,
    #[serde(default = "default_seed")]
    pub seed: u64,
    pub cluster: RawCluster,
    #[serde(default)]
    pub heartbeat: RawHeartbeat,
    #[serde(default)]
    pub network: Option<RawNetwork>,
    /// `"heartbeat"`, `"oracle"` or `{"kind": "heartbeat", "track_dispatches": false}`.
    #[serde(default)]
    pub view: Option<serde_json::Value>,
    /// `N`, or `{"count": N, "split": "random" | "round-robin"}`.
    #[serde(default)]
    pub dispatchers: Option<serde_json::Value>,
    pub workload: RawWorkload,
    /// Each a kind string or a `{"kind": …, "label": …, params…}` object.
    pub balancers: Vec<serde_json::Value>,
    /// Failure detectors, in the same form.
    #[serde(default)]
    pub detectors: Vec<serde_json::Value>,
    /// Failover policies, in the same form.
    #[serde(default)]
    pub failover: Vec<serde_json::Value>,
    /// Explicit strategy combinations (by label) instead of the cross product.
    #[serde(default)]
    pub combinations: Option<Vec<RawCombination>>,
    /// Fault plan.
    #[serde(default)]
    pub faults: Vec<RawFault>,
    #[serde(default)]
    pub metrics: RawMetrics,
    /// Alert rules.
    #[serde(default)]
    pub alerts: Vec<RawAlert>,
}

/// An alert rule: `metric` above or below a threshold, for a while, over a window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlert {
    pub name: String,
    pub metric: String,
    #[serde(default)]
    pub above: Option<f64>,
    #[serde(default)]
    pub below: Option<f64>,
    #[serde(default)]
    pub for_s: f64,
    #[serde(default)]
    pub window_s: Option<f64>,
}

fn default_replications() -> u64 {
    5
}

fn default_seed() -> u64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    #[serde(default)]
    pub node_groups: Vec<RawNodeGroup>,
    /// Machines read from a trace, as node groups after `node_groups`.
    #[serde(default)]
    pub machines: Option<RawMachines>,
}

/// `"cluster": {"machines": {...}}`: the cluster's machines from a trace's machine table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMachines {
    /// `"alibaba-2018"` (`machine_meta.csv`).
    pub format: String,
    /// Relative to the scenario file.
    pub path: String,
    /// The first this-many machines of the file.
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub cpu_cores_per_unit: Option<f64>,
    #[serde(default)]
    pub memory_gb_per_unit: Option<f64>,
    #[serde(default)]
    pub speed: Option<f64>,
    #[serde(default)]
    pub on_bad_line: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNodeGroup {
    pub name: String,
    pub count: u64,
    pub cpu_cores: f64,
    #[serde(default)]
    pub memory_gb: f64,
    #[serde(default)]
    pub disk_gb: f64,
    #[serde(default)]
    pub net_gbps: f64,
    #[serde(default)]
    pub gpus: f64,
    #[serde(default)]
    pub fpgas: f64,
    #[serde(default = "one")]
    pub speed: f64,
    /// Racks the group is split into, for correlated (`"per": "rack"`) crashes.
    #[serde(default = "one_u64")]
    pub racks: u64,
    /// A CSV file (`t_s,speed`, relative to the scenario file) of speed multipliers over time.
    #[serde(default)]
    pub speed_profile: Option<String>,
}

fn one_u64() -> u64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCombination {
    pub balancer: String,
    #[serde(default)]
    pub detector: Option<String>,
    #[serde(default)]
    pub failover: Option<String>,
}

/// Which nodes a fault hits: a group (all of it, or `count` random nodes of it) or explicit ids.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNodes {
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub ids: Option<Vec<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawFault {
    Crash {
        #[serde(default)]
        at_s: Option<f64>,
        #[serde(default)]
        nodes: Option<RawNodes>,
        #[serde(default)]
        recover_after_s: Option<f64>,
        #[serde(default)]
        mtbf_s: Option<f64>,
        #[serde(default)]
        mttr_s: Option<f64>,
        /// Time-to-failure distribution: exp (default), weibull, lognormal, gamma.
        #[serde(default)]
        distribution: Option<String>,
        #[serde(default)]
        shape: Option<f64>,
        /// Time-to-repair distribution.
        #[serde(default)]
        repair_distribution: Option<String>,
        #[serde(default)]
        repair_shape: Option<f64>,
        /// "node" (default) or "rack".
        #[serde(default)]
        per: Option<String>,
    },
    Partition {
        at_s: f64,
        duration_s: f64,
        nodes: RawNodes,
    },
    Slowdown {
        at_s: f64,
        duration_s: f64,
        nodes: RawNodes,
        factor: f64,
    },
    HeartbeatLoss {
        at_s: f64,
        duration_s: f64,
        loss: f64,
    },
    DelaySpike {
        at_s: f64,
        duration_s: f64,
        delay_s: f64,
    },
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeartbeat {
    #[serde(default = "one")]
    pub interval_s: f64,
    #[serde(default)]
    pub jitter: f64,
    #[serde(default)]
    pub loss: f64,
    #[serde(default = "default_delay")]
    pub delay_s: RawDist,
}

impl Default for RawHeartbeat {
    fn default() -> Self {
        RawHeartbeat { interval_s: 1.0, jitter: 0.0, loss: 0.0, delay_s: default_delay() }
    }
}

fn default_delay() -> RawDist {
    RawDist::Const { value: 0.001 }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// One-way delay of a dispatch message; defaults to the heartbeat delay.
    #[serde(default)]
    pub dispatch_delay_s: Option<RawDist>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawView {
    Heartbeat {
        #[serde(default = "yes")]
        track_dispatches: bool,
    },
    Oracle {},
}

fn yes() -> bool {
    true
}

/// A distribution, parameterised by its mean where it has one.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum RawDist {
    Const { value: f64 },
    Exp { mean: f64 },
    Uniform { low: f64, high: f64 },
    Lognormal { mean: f64, cv: f64 },
    Pareto { mean: f64, alpha: f64 },
    Hyperexp { mean: f64, cv: f64 },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    /// Required unless `trace` is given.
    #[serde(default)]
    pub arrival: Option<RawArrival>,
    #[serde(default)]
    pub classes: Vec<RawClass>,
    /// A recorded workload to replay instead of `arrival` and `classes`.
    #[serde(default)]
    pub trace: Option<RawTrace>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "process", rename_all = "lowercase", deny_unknown_fields)]
pub enum RawArrival {
    Poisson {
        rate_per_s: f64,
    },
    Constant {
        rate_per_s: f64,
    },
    Mmpp {
        rates_per_s: [f64; 2],
        mean_sojourn_s: [f64; 2],
    },
    Diurnal {
        rate_per_s: f64,
        amplitude: f64,
        #[serde(default = "default_period")]
        period_s: f64,
        #[serde(default)]
        phase_s: f64,
    },
}

fn default_period() -> f64 {
    86_400.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClass {
    pub name: String,
    pub share: f64,
    pub work_s: RawDist,
    pub demand: ResourceUnits,
    #[serde(default)]
    pub priority: i32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    /// Time-series sampling interval; default: the measured window / 200.
    #[serde(default)]
    pub sample_interval_s: Option<f64>,
}

/// Several dispatchers, in object form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDispatchers {
    pub count: u64,
    #[serde(default)]
    pub split: RawSplit,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawSplit {
    #[default]
    Random,
    RoundRobin,
}

/// `"workload": {"trace": {...}}`: a recorded workload to replay (see `crate::trace`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrace {
    pub format: String,
    /// Relative to the scenario file.
    pub path: String,
    #[serde(default)]
    pub time_scale: Option<f64>,
    #[serde(default)]
    pub load_scale: Option<f64>,
    #[serde(default)]
    pub target_utilization: Option<f64>,
    #[serde(default)]
    pub start_s: Option<f64>,
    #[serde(default)]
    pub limit: Option<u64>,
    /// `"error"` (default) or `"skip"`.
    #[serde(default)]
    pub on_bad_line: Option<String>,
    #[serde(default)]
    pub sort: Option<bool>,
    #[serde(default)]
    pub cpu_cores_per_unit: Option<f64>,
    #[serde(default)]
    pub memory_gb_per_unit: Option<f64>,
    #[serde(default)]
    pub default_work_s: Option<RawDist>,
    #[serde(default)]
    pub default_demand: Option<ResourceUnits>,
    /// google-2011.
    #[serde(default)]
    pub lookahead_s: Option<f64>,
    /// alibaba-*: `"expand"` (default) or `"one"`.
    #[serde(default)]
    pub instances: Option<String>,
    /// azure-llm.
    #[serde(default)]
    pub per_request_s: Option<f64>,
    #[serde(default)]
    pub per_context_token_s: Option<f64>,
    #[serde(default)]
    pub per_generated_token_s: Option<f64>,
    /// csv.
    #[serde(default)]
    pub columns: Option<RawColumns>,
    #[serde(default)]
    pub attribution: Option<String>,
}

/// The column mapping of a `csv` trace.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawColumns {
    pub time: RawColumn,
    #[serde(default)]
    pub work: Option<RawColumn>,
    #[serde(default)]
    pub end: Option<RawColumn>,
    #[serde(default)]
    pub cpu: Option<RawColumn>,
    #[serde(default)]
    pub memory: Option<RawColumn>,
    #[serde(default)]
    pub priority: Option<RawColumn>,
    #[serde(default)]
    pub header: Option<bool>,
    #[serde(default)]
    pub delimiter: Option<String>,
    /// `"s"` (default), `"ms"`, `"us"` or `"ns"`.
    #[serde(default)]
    pub time_unit: Option<String>,
}

/// A column by header name or 0-based index.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawColumn {
    Index(u64),
    Name(String),
}
