//! From a [`RawScenario`] to a validated [`Scenario`]: every field checked, every problem
//! collected with its path, nothing run until all is well.

use fulcrum_sim_core::alerts::{AlertMetric, AlertRule, Condition};
use fulcrum_sim_core::config::{Dispatchers, HeartbeatConfig, NodeGroup, SimConfig, Split, ViewMode};
use fulcrum_sim_core::dist::Dist;
use fulcrum_sim_core::faults::{FaultSpec, Lifetime, NodeSelection};
use fulcrum_sim_core::workload::{ArrivalProcess, SharedSource, TaskClass, Workload};
use fulcrum_sim_core::{SimDuration, SimTime, Strategy};
use fulcrum_strategies::balance::BalancerConfig;
use fulcrum_strategies::detect::{DetectionOptions, DetectorConfig};
use fulcrum_strategies::failover::FailoverConfig;
use fulcrum_strategies::{NodeSpec, Resource, ResourceUnits, Resources};
use serde::de::DeserializeOwned;
use std::path::Path;

use crate::error::Problem;
use crate::raw::{RawAlert, RawArrival, RawDist, RawFault, RawNodes, RawScenario, RawView};
use crate::{Combination, Scenario};

/// Most nodes a scenario may declare.
pub const MAX_NODES: u64 = 10_000_000;
/// Most dispatchers.
pub const MAX_DISPATCHERS: u64 = 1024;
/// Most (dispatcher, node) pairs: every dispatcher keeps a view of every node.
pub const MAX_DISPATCHER_NODES: u64 = 20_000_000;
/// Longest simulated duration, seconds (about 31 years; time is integer nanoseconds).
pub const MAX_DURATION_S: f64 = 1e9;
/// Most replications.
pub const MAX_REPLICATIONS: u64 = 100_000;
/// Largest rate, per second.
pub const MAX_RATE: f64 = 1e9;
/// Largest mean of any distribution of seconds.
pub const MAX_MEAN_S: f64 = 1e8;
/// Largest capacity or demand of one resource on one node, in units.
pub const MAX_UNITS: f64 = 1e12;
/// Most time-series samples per run.
pub const MAX_SAMPLES: f64 = 1e6;

pub(crate) struct Checker {
    pub(crate) problems: Vec<Problem>,
}

impl Checker {
    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    /// A finite number in `[lo, hi]` (bounds inclusive unless stated by `lo_open`).
    pub(crate) fn range(&mut self, path: &str, v: f64, lo: f64, lo_open: bool, hi: f64) -> bool {
        let ok = v.is_finite() && (if lo_open { v > lo } else { v >= lo }) && v <= hi;
        if !ok {
            let lower = if lo_open { format!("greater than {lo}") } else { format!("at least {lo}") };
            self.push(path, format!("must be {lower} and at most {hi}, got {v}"));
        }
        ok
    }

    pub(crate) fn positive(&mut self, path: &str, v: f64, hi: f64) -> bool {
        let ok = v.is_finite() && v > 0.0 && v <= hi;
        if !ok {
            if v.is_finite() && v <= 0.0 {
                self.push(path, format!("must be positive, got {v}"));
            } else {
                self.push(path, format!("must be positive and at most {hi}, got {v}"));
            }
        }
        ok
    }

    fn probability(&mut self, path: &str, v: f64) -> bool {
        let ok = (0.0..=1.0).contains(&v);
        if !ok {
            self.push(path, format!("must be a probability in [0, 1], got {v}"));
        }
        ok
    }

    /// A distribution of seconds. `positive_mean`: the mean must be > 0 (work); otherwise ≥ 0
    /// (delays).
    pub(crate) fn dist(&mut self, path: &str, d: &RawDist, positive_mean: bool) -> Dist {
        let mut ok = true;
        let mut mean = |c: &mut Checker, field: &str, v: f64| {
            let p = format!("{path}.{field}");
            ok &= if positive_mean { c.positive(&p, v, MAX_MEAN_S) } else { c.range(&p, v, 0.0, false, MAX_MEAN_S) };
        };
        let out = match *d {
            RawDist::Const { value } => {
                mean(self, "value", value);
                Dist::Const { value }
            }
            RawDist::Exp { mean: m } => {
                mean(self, "mean", m);
                Dist::Exp { mean: m }
            }
            RawDist::Uniform { low, high } => {
                let low_ok = self.range(&format!("{path}.low"), low, 0.0, false, MAX_MEAN_S);
                let high_ok = self.range(&format!("{path}.high"), high, 0.0, false, MAX_MEAN_S);
                if low_ok && high_ok && high < low {
                    self.push(format!("{path}.high"), format!("must be at least low ({low}), got {high}"));
                } else if positive_mean && low_ok && high_ok && high <= 0.0 {
                    self.push(format!("{path}.high"), "must be positive (the mean must be positive)");
                }
                Dist::Uniform { low, high }
            }
            RawDist::Lognormal { mean: m, cv } => {
                mean(self, "mean", m);
                self.positive(&format!("{path}.cv"), cv, 100.0);
                Dist::LogNormal { mean: m, cv }
            }
            RawDist::Pareto { mean: m, alpha } => {
                mean(self, "mean", m);
                if !(alpha.is_finite() && alpha > 1.0 && alpha <= 1e6) {
                    self.push(
                        format!("{path}.alpha"),
                        format!("must be greater than 1 (the mean is infinite otherwise), got {alpha}"),
                    );
                }
                Dist::Pareto { mean: m, alpha }
            }
            RawDist::Hyperexp { mean: m, cv } => {
                mean(self, "mean", m);
                self.range(&format!("{path}.cv"), cv, 1.0, false, 100.0);
                Dist::HyperExp { mean: m, cv }
            }
        };
        if !positive_mean && !ok {
            return Dist::Const { value: 0.0 };
        }
        out
    }
}

/// Validates `raw`. `sha256` is the hash of the file's bytes.
pub fn validate(raw: RawScenario, sha256: String, base_dir: Option<&Path>) -> Result<Scenario, Vec<Problem>> {
    let mut c = Checker { problems: Vec::new() };

    if raw.name.trim().is_empty() {
        c.push("name", "must not be empty");
    }
    let duration_ok = c.positive("duration_s", raw.duration_s, MAX_DURATION_S);
    let warmup_ok = c.range("warmup_s", raw.warmup_s, 0.0, false, MAX_DURATION_S);
    if duration_ok && warmup_ok && raw.warmup_s >= raw.duration_s {
        c.push("warmup_s", format!("must be less than duration_s ({}), got {}", raw.duration_s, raw.warmup_s));
    }
    if raw.replications == 0 || raw.replications > MAX_REPLICATIONS {
        c.push("replications", format!("must be between 1 and {MAX_REPLICATIONS}, got {}", raw.replications));
    }

    // Cluster.
    let mut nodes = Vec::new();
    let mut groups = Vec::new();
    if raw.cluster.node_groups.is_empty() && raw.cluster.machines.is_none() {
        c.push("cluster.node_groups", "must declare at least one node group");
    }
    let mut total: u64 = 0;
    for (i, g) in raw.cluster.node_groups.iter().enumerate() {
        let p = format!("cluster.node_groups[{i}]");
        if g.name.trim().is_empty() {
            c.push(format!("{p}.name"), "must not be empty");
        } else if raw.cluster.node_groups[..i].iter().any(|o| o.name == g.name) {
            c.push(format!("{p}.name"), format!("duplicate group name {:?}", g.name));
        }
        if g.count == 0 {
            c.push(format!("{p}.count"), "must be at least 1, got 0");
        }
        total = total.saturating_add(g.count);
        let units = ResourceUnits {
            cpu_cores: g.cpu_cores,
            memory_gb: g.memory_gb,
            disk_gb: g.disk_gb,
            net_gbps: g.net_gbps,
            gpus: g.gpus,
            fpgas: g.fpgas,
        };
        let mut ok = c.positive(&format!("{p}.cpu_cores"), g.cpu_cores, MAX_UNITS);
        for (r, v) in Resource::ALL.iter().zip(units.to_array()).skip(1) {
            ok &= c.range(&format!("{p}.{}", r.name()), v, 0.0, false, MAX_UNITS);
        }
        ok &= c.positive(&format!("{p}.speed"), g.speed, 1e6);
        if ok && g.count > 0 && total <= MAX_NODES {
            let capacity = units.to_resources();
            if capacity.get(Resource::Cpu) == 0 {
                c.push(format!("{p}.cpu_cores"), format!("must be at least 0.001, got {}", g.cpu_cores));
            }
            if g.racks == 0 || g.racks > g.count {
                c.push(format!("{p}.racks"), format!("must be between 1 and count ({}), got {}", g.count, g.racks));
            }
            groups.push(NodeGroup {
                name: g.name.clone(),
                first: nodes.len() as u32,
                count: g.count as u32,
                racks: g.racks.clamp(1, g.count.max(1)) as u32,
            });
            nodes.extend(std::iter::repeat_n(NodeSpec { capacity, speed: g.speed }, g.count as usize));
        }
    }
    if let Some(m) = &raw.cluster.machines {
        for g in crate::trace::config::machines(&mut c, "cluster.machines", m, base_dir, &raw.cluster.node_groups) {
            total = total.saturating_add(u64::from(g.count));
            if total <= MAX_NODES {
                groups.push(NodeGroup { name: g.name, first: nodes.len() as u32, count: g.count, racks: 1 });
                nodes.extend(std::iter::repeat_n(g.spec, g.count as usize));
            }
        }
    }
    if total > MAX_NODES {
        c.push("cluster.node_groups", format!("declare {total} nodes in all; at most {MAX_NODES} are supported"));
    }

    // Heartbeats, network, view.
    let hb = &raw.heartbeat;
    c.positive("heartbeat.interval_s", hb.interval_s, 1e6);
    if !(hb.jitter.is_finite() && (0.0..1.0).contains(&hb.jitter)) {
        c.push("heartbeat.jitter", format!("must be a fraction in [0, 1), got {}", hb.jitter));
    }
    c.probability("heartbeat.loss", hb.loss);
    let hb_delay = c.dist("heartbeat.delay_s", &hb.delay_s, false);
    let dispatch_delay = match raw.network.as_ref().and_then(|n| n.dispatch_delay_s.as_ref()) {
        Some(d) => c.dist("network.dispatch_delay_s", d, false),
        None => hb_delay,
    };
    let view = match &raw.view {
        None => ViewMode::Heartbeat { track_dispatches: true },
        Some(serde_json::Value::String(s)) => match s.as_str() {
            "heartbeat" => ViewMode::Heartbeat { track_dispatches: true },
            "oracle" => ViewMode::Oracle,
            other => {
                c.push("view", format!("unknown view {other:?}, expected \"heartbeat\" or \"oracle\""));
                ViewMode::Oracle
            }
        },
        Some(v @ serde_json::Value::Object(_)) => match serde_path_to_error::deserialize::<_, RawView>(v) {
            Ok(RawView::Heartbeat { track_dispatches }) => ViewMode::Heartbeat { track_dispatches },
            Ok(RawView::Oracle {}) => ViewMode::Oracle,
            Err(e) => {
                c.push(join_path("view", &e.path().to_string()), e.inner().to_string());
                ViewMode::Oracle
            }
        },
        Some(other) => {
            c.push("view", format!("must be \"heartbeat\", \"oracle\" or an object with \"kind\", got {other}"));
            ViewMode::Oracle
        }
    };

    let dispatchers = match &raw.dispatchers {
        None => Dispatchers::default(),
        Some(v) => {
            let parsed = match v {
                serde_json::Value::Number(n) => match n.as_u64() {
                    Some(count) => Some((count, Split::Random)),
                    None => {
                        c.push("dispatchers", format!("must be a whole number of dispatchers, got {n}"));
                        None
                    }
                },
                v @ serde_json::Value::Object(_) => {
                    match serde_path_to_error::deserialize::<_, crate::raw::RawDispatchers>(v) {
                        Ok(d) => Some((
                            d.count,
                            match d.split {
                                crate::raw::RawSplit::Random => Split::Random,
                                crate::raw::RawSplit::RoundRobin => Split::RoundRobin,
                            },
                        )),
                        Err(e) => {
                            c.push(join_path("dispatchers", &e.path().to_string()), e.inner().to_string());
                            None
                        }
                    }
                }
                other => {
                    c.push("dispatchers", format!("must be a number or {{\"count\": N, \"split\": ...}}, got {other}"));
                    None
                }
            };
            let path = if v.is_object() { "dispatchers.count" } else { "dispatchers" };
            match parsed {
                Some((count, split)) if (1..=MAX_DISPATCHERS).contains(&count) => {
                    if count * total > MAX_DISPATCHER_NODES {
                        c.push(
                            path,
                            format!(
                                "{count} dispatchers x {total} nodes is {} per-node views; at most {MAX_DISPATCHER_NODES} \
                                 are supported",
                                count * total
                            ),
                        );
                    }
                    Dispatchers { count: count as u32, split }
                }
                Some((count, _)) => {
                    c.push(path, format!("must be between 1 and {MAX_DISPATCHERS}, got {count}"));
                    Dispatchers::default()
                }
                None => Dispatchers::default(),
            }
        }
    };

    // Workload.
    let arrival = match raw.workload.arrival {
        None => {
            if raw.workload.trace.is_none() {
                c.push("workload.arrival", "required (or replay a recorded workload with workload.trace)");
            }
            ArrivalProcess::Poisson { rate: 1.0 }
        }
        Some(RawArrival::Poisson { rate_per_s }) => {
            c.positive("workload.arrival.rate_per_s", rate_per_s, MAX_RATE);
            ArrivalProcess::Poisson { rate: rate_per_s }
        }
        Some(RawArrival::Constant { rate_per_s }) => {
            c.positive("workload.arrival.rate_per_s", rate_per_s, MAX_RATE);
            ArrivalProcess::Constant { rate: rate_per_s }
        }
        Some(RawArrival::Mmpp { rates_per_s, mean_sojourn_s }) => {
            for (i, r) in rates_per_s.iter().enumerate() {
                c.positive(&format!("workload.arrival.rates_per_s[{i}]"), *r, MAX_RATE);
            }
            for (i, s) in mean_sojourn_s.iter().enumerate() {
                c.positive(&format!("workload.arrival.mean_sojourn_s[{i}]"), *s, MAX_DURATION_S);
            }
            ArrivalProcess::Mmpp { rates: rates_per_s, mean_sojourn_s }
        }
        Some(RawArrival::Diurnal { rate_per_s, amplitude, period_s, phase_s }) => {
            c.positive("workload.arrival.rate_per_s", rate_per_s, MAX_RATE);
            c.range("workload.arrival.amplitude", amplitude, 0.0, false, 1.0);
            c.positive("workload.arrival.period_s", period_s, MAX_DURATION_S);
            c.range("workload.arrival.phase_s", phase_s, -MAX_DURATION_S, false, MAX_DURATION_S);
            ArrivalProcess::Diurnal { rate: rate_per_s, amplitude, period_s, phase_s }
        }
    };
    let mut classes = Vec::new();
    if raw.workload.classes.is_empty() && raw.workload.trace.is_none() {
        c.push("workload.classes", "must declare at least one task class");
    }
    let mut share_sum = 0.0;
    let mut shares_ok = true;
    for (i, rc) in raw.workload.classes.iter().enumerate() {
        let p = format!("workload.classes[{i}]");
        if rc.name.trim().is_empty() {
            c.push(format!("{p}.name"), "must not be empty");
        } else if raw.workload.classes[..i].iter().any(|o| o.name == rc.name) {
            c.push(format!("{p}.name"), format!("duplicate class name {:?}", rc.name));
        }
        shares_ok &= c.probability(&format!("{p}.share"), rc.share);
        share_sum += rc.share;
        let work = c.dist(&format!("{p}.work_s"), &rc.work_s, true);
        let mut demand_ok = true;
        for (r, v) in Resource::ALL.iter().zip(rc.demand.to_array()) {
            demand_ok &= c.range(&format!("{p}.demand.{}", r.name()), v, 0.0, false, MAX_UNITS);
        }
        let demand = rc.demand.to_resources();
        if demand_ok && demand.is_zero() {
            c.push(format!("{p}.demand"), "must ask for some resource (e.g. \"cpu_cores\": 1)");
        } else if demand_ok && !nodes.is_empty() && !nodes.iter().any(|n| demand.fits_in(&n.capacity)) {
            c.push(format!("{p}.demand"), format!("no node can ever hold this class: {}", shortfall(&demand, &nodes)));
        }
        classes.push(TaskClass { name: rc.name.clone(), share: rc.share, work, demand, priority: rc.priority });
    }
    if shares_ok && !classes.is_empty() && (share_sum - 1.0).abs() > 1e-6 {
        c.push("workload.classes", format!("shares must sum to 1, got {share_sum}"));
    }
    let trace_spec = raw.workload.trace.as_ref().and_then(|rt| {
        if raw.workload.arrival.is_some() {
            c.push("workload.arrival", "not allowed with workload.trace: the trace gives the arrivals");
        }
        if !raw.workload.classes.is_empty() {
            c.push("workload.classes", "not allowed with workload.trace: the trace's task shapes are the classes");
        }
        crate::trace::config::spec(&mut c, "workload.trace", rt, base_dir, &nodes)
    });

    // Strategies.
    let balancers =
        parse_list(&mut c, "balancers", &raw.balancers, true, BalancerConfig::kind, BalancerConfig::problems);
    let mut detectors =
        parse_list(&mut c, "detectors", &raw.detectors, false, DetectorEntry::kind, DetectorEntry::problems);
    let mut failovers =
        parse_list(&mut c, "failover", &raw.failover, false, FailoverConfig::kind, FailoverConfig::problems);
    // Without detectors, a scenario with faults still needs one (a 3 s timeout); one without
    // faults runs without failure detection at all, as a pure balancing study.
    let detection = !raw.detectors.is_empty() || !raw.failover.is_empty() || !raw.faults.is_empty();
    if detection && detectors.is_empty() {
        let d = DetectorEntry { config: DetectorConfig::default(), options: DetectionOptions::default() };
        detectors.push((d.config.kind().to_string(), d));
    }
    if failovers.is_empty() {
        let f = FailoverConfig::default();
        failovers.push((f.kind().to_string(), f));
    }
    let combinations = combine(&mut c, &raw.combinations, &balancers, &detectors, &failovers, detection);

    // Faults, and the groups' speed profiles (replayed like faults).
    let mut faults: Vec<FaultSpec> = raw
        .faults
        .iter()
        .enumerate()
        .filter_map(|(i, f)| fault(&mut c, &format!("faults[{i}]"), f, &raw, &groups, nodes.len() as u64))
        .collect();
    for (i, g) in raw.cluster.node_groups.iter().enumerate() {
        let Some(file) = &g.speed_profile else { continue };
        let p = format!("cluster.node_groups[{i}].speed_profile");
        if let (Some(points), Some(group)) =
            (speed_profile(&mut c, &p, file, base_dir, raw.duration_s), groups.iter().position(|x| x.name == g.name))
        {
            faults.push(FaultSpec::SpeedProfile { group, points });
        }
    }

    // Metrics.
    let window = raw.duration_s - raw.warmup_s;
    let sample_interval_s = match raw.metrics.sample_interval_s {
        Some(v) => {
            if c.positive("metrics.sample_interval_s", v, MAX_DURATION_S) && window > 0.0 && window / v > MAX_SAMPLES {
                c.push(
                    "metrics.sample_interval_s",
                    format!("gives {:.0} samples per run; at most {MAX_SAMPLES} are supported", window / v),
                );
            }
            v
        }
        None => window / 200.0,
    };

    let alerts = alert_rules(&mut c, &raw.alerts, sample_interval_s);

    // The trace is read only once everything else is valid (its checks need the cluster).
    let mut trace = None;
    if let (Some(spec), true) = (trace_spec, c.problems.is_empty()) {
        match crate::trace::TracePlan::build(spec, &nodes, raw.duration_s) {
            Ok(plan) => trace = Some(std::sync::Arc::new(plan)),
            Err(message) => c.push("workload.trace", message),
        }
    }
    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    let source = trace.as_ref().map(|plan| {
        classes = plan.classes.clone();
        SharedSource(std::sync::Arc::new(crate::trace::TraceSource(plan.clone())))
    });
    let sim = SimConfig {
        nodes,
        groups,
        workload: Workload { arrival, classes, source },
        heartbeat: HeartbeatConfig {
            interval: SimDuration::from_secs_f64(hb.interval_s),
            jitter: hb.jitter,
            loss: hb.loss,
            delay: hb_delay,
        },
        dispatch_delay,
        view,
        dispatchers,
        end: SimTime::from_secs_f64(raw.duration_s),
        warmup: SimTime::from_secs_f64(raw.warmup_s),
        sample_interval: SimDuration::from_secs_f64(sample_interval_s).max(SimDuration(1)),
        seed: raw.seed,
        faults,
        alerts,
    };
    Ok(Scenario {
        name: raw.name,
        description: raw.description,
        sha256,
        replications: raw.replications as u32,
        sim,
        combinations,
        trace,
    })
}

fn join_path(prefix: &str, rest: &str) -> String {
    if rest.is_empty() || rest == "." {
        prefix.to_string()
    } else if rest.starts_with('[') {
        format!("{prefix}{rest}")
    } else {
        format!("{prefix}.{rest}")
    }
}

/// A strategy list (`balancers`, `detectors`, `failover`): each entry a kind string, or an object
/// with `kind`, an optional `label`, and parameters. Returns `(label, config)` pairs.
fn parse_list<T: DeserializeOwned>(
    c: &mut Checker,
    key: &str,
    entries: &[serde_json::Value],
    required: bool,
    kind: fn(&T) -> &'static str,
    problems: fn(&T) -> Vec<(&'static str, String)>,
) -> Vec<(String, T)> {
    if required && entries.is_empty() {
        c.push(key, format!("must list at least one {}", key.trim_end_matches('s')));
    }
    let mut out: Vec<(String, T)> = Vec::new();
    for (i, v) in entries.iter().enumerate() {
        let path = format!("{key}[{i}]");
        let mut object = match v {
            serde_json::Value::String(kind) => {
                let mut m = serde_json::Map::new();
                m.insert("kind".into(), serde_json::Value::String(kind.clone()));
                m
            }
            serde_json::Value::Object(m) => m.clone(),
            other => {
                c.push(path, format!("must be a strategy kind string or an object with \"kind\", got {other}"));
                continue;
            }
        };
        let label = match object.remove("label") {
            None => None,
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() && !s.contains('+') => Some(s),
            Some(other) => {
                c.push(format!("{path}.label"), format!("must be a non-empty string without '+', got {other}"));
                continue;
            }
        };
        let config: T = match serde_path_to_error::deserialize(serde_json::Value::Object(object)) {
            Ok(config) => config,
            Err(e) => {
                c.push(join_path(&path, &e.path().to_string()), e.inner().to_string());
                continue;
            }
        };
        for (param, problem) in problems(&config) {
            c.push(format!("{path}.{param}"), problem);
        }
        let label = label.unwrap_or_else(|| kind(&config).to_string());
        if out.iter().any(|(l, _)| *l == label) {
            c.push(format!("{path}.label"), format!("duplicate label {label:?}: give each entry its own \"label\""));
        }
        out.push((label, config));
    }
    out
}

/// A detector entry: the detector, plus the probing and passive-detection options that may sit
/// beside its parameters.
#[derive(Clone, Debug)]
struct DetectorEntry {
    config: DetectorConfig,
    options: DetectionOptions,
}

impl<'de> serde::Deserialize<'de> for DetectorEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut detector = serde_json::Map::deserialize(deserializer)?;
        let mut options = serde_json::Map::new();
        for key in ["probe", "passive"] {
            if let Some(v) = detector.remove(key) {
                options.insert(key.to_string(), v);
            }
        }
        let config = DetectorConfig::deserialize(serde_json::Value::Object(detector)).map_err(D::Error::custom)?;
        let options = DetectionOptions::deserialize(serde_json::Value::Object(options)).map_err(D::Error::custom)?;
        Ok(DetectorEntry { config, options })
    }
}

impl DetectorEntry {
    fn kind(&self) -> &'static str {
        self.config.kind()
    }

    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = self.config.problems();
        out.extend(self.options.problems());
        out
    }
}

/// The strategy combinations to run: the cross product, or the explicit list.
fn combine(
    c: &mut Checker,
    explicit: &Option<Vec<crate::raw::RawCombination>>,
    balancers: &[(String, BalancerConfig)],
    detectors: &[(String, DetectorEntry)],
    failovers: &[(String, FailoverConfig)],
    detection: bool,
) -> Vec<Combination> {
    let make = |b: &(String, BalancerConfig), d: Option<&(String, DetectorEntry)>, f: &(String, FailoverConfig)| {
        let label = match d {
            Some(d) => format!("{}+{}+{}", b.0, d.0, f.0),
            None => b.0.clone(),
        };
        Combination {
            balancer: b.0.clone(),
            detector: d.map_or_else(|| "none".to_string(), |d| d.0.clone()),
            failover: f.0.clone(),
            strategy: Strategy {
                label,
                balancer: b.1.clone(),
                detector: d.map(|d| d.1.config.clone()),
                detection: d.map(|d| d.1.options.clone()).unwrap_or_default(),
                failover: f.1.clone(),
            },
        }
    };
    let mut out = Vec::new();
    match explicit {
        None => {
            for b in balancers {
                if detection {
                    for d in detectors {
                        for f in failovers {
                            out.push(make(b, Some(d), f));
                        }
                    }
                } else {
                    out.push(make(b, None, &failovers[0]));
                }
            }
        }
        Some(list) => {
            if list.is_empty() {
                c.push("combinations", "must list at least one combination (or be left out for the cross product)");
            }
            for (i, combo) in list.iter().enumerate() {
                let p = format!("combinations[{i}]");
                let find =
                    |c: &mut Checker, field: &str, want: Option<&String>, labels: Vec<&String>| -> Option<usize> {
                        let want = match want {
                            Some(w) => w,
                            None if labels.len() == 1 => labels[0],
                            None => {
                                c.push(format!("{p}.{field}"), format!("must name one of {labels:?}"));
                                return None;
                            }
                        };
                        let found = labels.iter().position(|l| *l == want);
                        if found.is_none() {
                            c.push(format!("{p}.{field}"), format!("no {field} labelled {want:?}; known: {labels:?}"));
                        }
                        found
                    };
                let b = find(c, "balancer", Some(&combo.balancer), balancers.iter().map(|x| &x.0).collect());
                let d = if detection {
                    find(c, "detector", combo.detector.as_ref(), detectors.iter().map(|x| &x.0).collect()).map(Some)
                } else {
                    if combo.detector.is_some() {
                        c.push(format!("{p}.detector"), "names a detector, but the scenario lists none");
                    }
                    Some(None)
                };
                let f = find(c, "failover", combo.failover.as_ref(), failovers.iter().map(|x| &x.0).collect());
                if let (Some(b), Some(d), Some(f)) = (b, d, f) {
                    let combination = make(&balancers[b], d.map(|d| &detectors[d]), &failovers[f]);
                    if out.iter().any(|o: &Combination| o.strategy.label == combination.strategy.label) {
                        c.push(p, format!("duplicate combination {:?}", combination.strategy.label));
                    } else {
                        out.push(combination);
                    }
                }
            }
        }
    }
    out
}

/// Reads a speed profile: a CSV file with the header `t_s,speed`, times ascending from 0,
/// multipliers positive.
fn speed_profile(
    c: &mut Checker,
    p: &str,
    file: &str,
    base_dir: Option<&Path>,
    duration_s: f64,
) -> Option<Vec<(SimTime, f64)>> {
    let Some(base) = base_dir else {
        c.push(p, "a speed profile file needs a scenario read from disk (paths are relative to it)");
        return None;
    };
    let path = base.join(file);
    let mut reader = match csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(&path) {
        Ok(r) => r,
        Err(e) => {
            c.push(p, format!("cannot read {}: {e}", path.display()));
            return None;
        }
    };
    let at = |line: u64| format!("{}:{line}", path.display());
    match reader.headers() {
        Ok(h) if h.iter().eq(["t_s", "speed"]) => {}
        Ok(h) => {
            c.push(
                p,
                format!("{}: the header must be `t_s,speed`, got `{}`", at(1), h.iter().collect::<Vec<_>>().join(",")),
            );
            return None;
        }
        Err(e) => {
            c.push(p, format!("{}: {e}", at(1)));
            return None;
        }
    }
    let mut points: Vec<(SimTime, f64)> = Vec::new();
    let mut last = -1.0f64;
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                c.push(p, format!("{}: {e}", path.display()));
                return None;
            }
        };
        let line = record.position().map_or(0, |pos| pos.line());
        let field = |i: usize| record.get(i).and_then(|v| v.parse::<f64>().ok());
        let (Some(t), Some(speed)) = (field(0), field(1)) else {
            c.push(
                p,
                format!(
                    "{}: expected two numbers `t_s,speed`, got `{}`",
                    at(line),
                    record.iter().collect::<Vec<_>>().join(",")
                ),
            );
            return None;
        };
        if !(t.is_finite() && t >= 0.0) || t <= last {
            c.push(p, format!("{}: t_s must be non-negative and increasing, got {t} after {last}", at(line)));
            return None;
        }
        if !(speed.is_finite() && speed > 0.0 && speed <= 1000.0) {
            c.push(p, format!("{}: speed must be positive and at most 1000, got {speed}", at(line)));
            return None;
        }
        last = t;
        if t < duration_s {
            points.push((SimTime::from_secs_f64(t), speed));
        }
    }
    if points.is_empty() {
        c.push(p, format!("{}: no points before duration_s", path.display()));
        return None;
    }
    Some(points)
}

/// Validates one fault.
fn fault(
    c: &mut Checker,
    p: &str,
    f: &RawFault,
    raw: &RawScenario,
    groups: &[NodeGroup],
    n_nodes: u64,
) -> Option<FaultSpec> {
    let before = c.problems.len();
    let at = |c: &mut Checker, v: f64| {
        if c.range(&format!("{p}.at_s"), v, 0.0, false, MAX_DURATION_S) && v >= raw.duration_s {
            c.push(format!("{p}.at_s"), format!("must be before duration_s ({}), got {v}", raw.duration_s));
        }
        SimTime::from_secs_f64(v)
    };
    let duration = |c: &mut Checker, v: f64| {
        c.positive(&format!("{p}.duration_s"), v, MAX_DURATION_S);
        SimDuration::from_secs_f64(v)
    };
    let spec = match f {
        RawFault::Crash {
            at_s,
            nodes,
            recover_after_s,
            mtbf_s,
            mttr_s,
            distribution,
            shape,
            repair_distribution,
            repair_shape,
            per,
        } => match (at_s, mtbf_s, mttr_s) {
            (Some(t), None, None) => {
                let at = at(c, *t);
                let Some(nodes) = nodes.as_ref() else {
                    c.push(
                        format!("{p}.nodes"),
                        "a crash at a given time needs \"nodes\" ({\"group\", \"count\"} or {\"ids\"})",
                    );
                    return None;
                };
                let nodes = selection(c, &format!("{p}.nodes"), nodes, groups, n_nodes)?;
                let recover_after = recover_after_s.map(|r| {
                    c.positive(&format!("{p}.recover_after_s"), r, MAX_DURATION_S);
                    SimDuration::from_secs_f64(r)
                });
                for (field, set) in [
                    ("distribution", distribution.is_some()),
                    ("shape", shape.is_some()),
                    ("repair_distribution", repair_distribution.is_some()),
                    ("repair_shape", repair_shape.is_some()),
                    ("per", per.is_some()),
                ] {
                    if set {
                        c.push(format!("{p}.{field}"), "applies only to random crashes (mtbf_s, mttr_s)");
                    }
                }
                FaultSpec::Crash { nodes, at, recover_after }
            }
            (None, Some(mtbf), Some(mttr)) => {
                let nodes = match nodes {
                    None => NodeSelection::All,
                    Some(n) => selection(c, &format!("{p}.nodes"), n, groups, n_nodes)?,
                };
                if recover_after_s.is_some() {
                    c.push(format!("{p}.recover_after_s"), "random crashes take their repair time from mttr_s");
                }
                let mtbf = lifetime(c, p, "mtbf_s", *mtbf, "distribution", distribution, "shape", *shape);
                let mttr = lifetime(
                    c,
                    p,
                    "mttr_s",
                    *mttr,
                    "repair_distribution",
                    repair_distribution,
                    "repair_shape",
                    *repair_shape,
                );
                let per_rack = match per.as_deref() {
                    None | Some("node") => false,
                    Some("rack") => true,
                    Some(other) => {
                        c.push(format!("{p}.per"), format!("must be \"node\" or \"rack\", got {other:?}"));
                        false
                    }
                };
                FaultSpec::RandomCrashes { nodes, mtbf: mtbf?, mttr: mttr?, per_rack }
            }
            _ => {
                c.push(p, "a crash needs either \"at_s\" (with \"nodes\") or both \"mtbf_s\" and \"mttr_s\"");
                return None;
            }
        },
        RawFault::Partition { at_s, duration_s, nodes } => {
            let at = at(c, *at_s);
            let duration = duration(c, *duration_s);
            let nodes = selection(c, &format!("{p}.nodes"), nodes, groups, n_nodes)?;
            FaultSpec::Partition { nodes, at, duration }
        }
        RawFault::Slowdown { at_s, duration_s, nodes, factor } => {
            let at = at(c, *at_s);
            let duration = duration(c, *duration_s);
            c.positive(&format!("{p}.factor"), *factor, 1000.0);
            let nodes = selection(c, &format!("{p}.nodes"), nodes, groups, n_nodes)?;
            FaultSpec::Slowdown { nodes, at, duration, factor: *factor }
        }
        RawFault::HeartbeatLoss { at_s, duration_s, loss } => {
            let at = at(c, *at_s);
            let duration = duration(c, *duration_s);
            c.probability(&format!("{p}.loss"), *loss);
            FaultSpec::HeartbeatLoss { at, duration, loss: *loss }
        }
        RawFault::DelaySpike { at_s, duration_s, delay_s } => {
            let at = at(c, *at_s);
            let duration = duration(c, *duration_s);
            c.range(&format!("{p}.delay_s"), *delay_s, 0.0, false, MAX_MEAN_S);
            FaultSpec::DelaySpike { at, duration, extra_s: *delay_s }
        }
    };
    (c.problems.len() == before).then_some(spec)
}

#[allow(clippy::too_many_arguments)]
fn lifetime(
    c: &mut Checker,
    p: &str,
    mean_field: &str,
    mean: f64,
    dist_field: &str,
    dist: &Option<String>,
    shape_field: &str,
    shape: Option<f64>,
) -> Option<Lifetime> {
    if !c.positive(&format!("{p}.{mean_field}"), mean, MAX_DURATION_S) {
        return None;
    }
    let need_shape = |c: &mut Checker| -> Option<f64> {
        match shape {
            Some(k) if k.is_finite() && k > 0.0 && k <= 100.0 => Some(k),
            Some(k) => {
                c.push(format!("{p}.{shape_field}"), format!("must be positive and at most 100, got {k}"));
                None
            }
            None => {
                c.push(
                    format!("{p}.{shape_field}"),
                    format!("is required with {dist_field} {:?}", dist.as_deref().unwrap_or("")),
                );
                None
            }
        }
    };
    match dist.as_deref() {
        None | Some("exp") => {
            if shape.is_some() {
                c.push(format!("{p}.{shape_field}"), "does not apply to the exponential distribution");
            }
            Some(Lifetime::Exp { mean_s: mean })
        }
        Some("weibull") => need_shape(c).map(|shape| Lifetime::Weibull { mean_s: mean, shape }),
        Some("lognormal") => need_shape(c).map(|sigma| Lifetime::LogNormal { mean_s: mean, sigma }),
        Some("gamma") => need_shape(c).map(|shape| Lifetime::Gamma { mean_s: mean, shape }),
        Some(other) => {
            c.push(
                format!("{p}.{dist_field}"),
                format!("unknown distribution {other:?}, expected \"exp\", \"weibull\", \"lognormal\" or \"gamma\""),
            );
            None
        }
    }
}

fn selection(c: &mut Checker, p: &str, n: &RawNodes, groups: &[NodeGroup], n_nodes: u64) -> Option<NodeSelection> {
    match (&n.group, &n.ids) {
        (Some(name), None) => {
            let Some(g) = groups.iter().position(|g| &g.name == name) else {
                let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
                c.push(format!("{p}.group"), format!("no node group named {name:?}; groups: {names:?}"));
                return None;
            };
            if let Some(k) = n.count {
                if k == 0 || k > u64::from(groups[g].count) {
                    c.push(
                        format!("{p}.count"),
                        format!("must be between 1 and the group's {} nodes, got {k}", groups[g].count),
                    );
                    return None;
                }
            }
            Some(NodeSelection::Group { group: g, count: n.count.map(|k| k as u32) })
        }
        (None, Some(ids)) => {
            if ids.is_empty() {
                c.push(format!("{p}.ids"), "must list at least one node id");
                return None;
            }
            if let Some((i, bad)) = ids.iter().enumerate().find(|(_, &id)| id >= n_nodes) {
                c.push(
                    format!("{p}.ids[{i}]"),
                    format!("no node {bad}: node ids run from 0 to {}", n_nodes.saturating_sub(1)),
                );
                return None;
            }
            if n.count.is_some() {
                c.push(format!("{p}.count"), "goes with \"group\", not \"ids\"");
            }
            Some(NodeSelection::Ids(ids.iter().map(|&i| i as u32).collect()))
        }
        _ => {
            c.push(p, "must give either \"group\" (with an optional \"count\") or \"ids\"");
            None
        }
    }
}

/// Says why `demand` fits no node: the first resource that exceeds every node's capacity, or that
/// no single node has all of it.
pub(crate) fn shortfall(demand: &Resources, nodes: &[NodeSpec]) -> String {
    for r in Resource::ALL {
        let need = demand.get(r);
        let most = nodes.iter().map(|n| n.capacity.get(r)).max().unwrap_or(0);
        if need > most {
            return format!(
                "it needs {} {} and the largest node has {}",
                demand.units(r),
                r.name(),
                most as f64 / 1000.0
            );
        }
    }
    "no single node has all of its demand at once".to_string()
}

/// Default window of a windowed alert metric, seconds.
const DEFAULT_ALERT_WINDOW_S: f64 = 60.0;

/// The alert rules, checked: a known metric, exactly one of `above` and `below`, a duration and
/// a window that make sense with the sampling interval (rules are evaluated at each sample).
fn alert_rules(c: &mut Checker, raw: &[RawAlert], sample_interval_s: f64) -> Vec<AlertRule> {
    let mut rules = Vec::new();
    for (i, a) in raw.iter().enumerate() {
        let p = format!("alerts[{i}]");
        if a.name.trim().is_empty() {
            c.push(format!("{p}.name"), "must not be empty");
        } else if raw[..i].iter().any(|b| b.name == a.name) {
            c.push(format!("{p}.name"), format!("{:?} is used by an earlier rule; names must be unique", a.name));
        }
        let metric = AlertMetric::from_name(&a.metric);
        if metric.is_none() {
            let names: Vec<&str> = AlertMetric::ALL.iter().map(|m| m.name()).collect();
            c.push(
                format!("{p}.metric"),
                format!("unknown metric {:?}; expected one of {}", a.metric, names.join(", ")),
            );
        }
        let condition = match (a.above, a.below) {
            (Some(x), None) => c.range(&format!("{p}.above"), x, -1e15, false, 1e15).then_some(Condition::Above(x)),
            (None, Some(x)) => c.range(&format!("{p}.below"), x, -1e15, false, 1e15).then_some(Condition::Below(x)),
            (Some(_), Some(_)) => {
                c.push(&p, "give either `above` or `below`, not both");
                None
            }
            (None, None) => {
                c.push(&p, "give a threshold: `above` or `below`");
                None
            }
        };
        c.range(&format!("{p}.for_s"), a.for_s, 0.0, false, MAX_DURATION_S);
        let windowed = metric.is_some_and(AlertMetric::windowed);
        let window_s = match a.window_s {
            Some(w) if metric.is_some() && !windowed => {
                c.push(
                    format!("{p}.window_s"),
                    format!("{:?} is an instantaneous metric and takes no window (got {w})", a.metric),
                );
                0.0
            }
            Some(w) => {
                if c.positive(&format!("{p}.window_s"), w, MAX_DURATION_S) && w < sample_interval_s {
                    c.push(
                        format!("{p}.window_s"),
                        format!(
                            "{w} s is shorter than the sampling interval ({sample_interval_s} s): rules are \
                             evaluated at each sample, so the window would hold one sample"
                        ),
                    );
                }
                w
            }
            None if windowed => DEFAULT_ALERT_WINDOW_S.max(sample_interval_s),
            None => 0.0,
        };
        if let (Some(metric), Some(condition)) = (metric, condition) {
            rules.push(AlertRule {
                name: a.name.clone(),
                metric,
                condition,
                for_: SimDuration::from_secs_f64(a.for_s.max(0.0)),
                window: SimDuration::from_secs_f64(window_s),
            });
        }
    }
    rules
}
