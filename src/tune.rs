//! `fulcrum tune`: searches a strategy's parameters for the best value of one metric, on training
//! replications, and reports the result on held-out replications.
//!
//! - **Search space**: `--param PATH=LO..HI`, a path inside the strategy's entry of the scenario
//!   (`d`, `weights.least_allocated`, `threshold`); bounds that are both integers make an integer
//!   parameter. The search runs in the unit cube, each axis mapped linearly to its bounds.
//! - **Optimiser**: the scenario's own configuration first, then a Latin-hypercube sample (a third
//!   of the budget, at least `2d`), then Nelder–Mead (Nelder and Mead, 1965; standard coefficients
//!   1, 2, ½, ½) from the best `d + 1` points, restarted around the best point whenever its simplex
//!   collapses, until the budget (configurations evaluated) is spent. Points are clamped to the
//!   cube; an integer parameter is rounded, and a configuration already evaluated is not run again
//!   (the search stops after 20 × budget proposals even if the budget is not spent, as when every
//!   integer value has been tried).
//! - **Evaluation**: the mean of the metric over the training replications `0..train` of every
//!   combination that includes the strategy. Every configuration sees the same tasks and faults
//!   (common random numbers), so differences are the configuration's, not the workload's.
//!   Constraints (`--constraint failed_tasks=0`, `jain_index>=0.9`) rank infeasible points after
//!   every feasible one, by how far they miss.
//! - **Holdout**: the best and the scenario's configuration are then run on replications
//!   `train..train + holdout`, never seen by the search; the report gives both means with 95%
//!   intervals, their paired difference, and how far the best's holdout result is from its
//!   training result (overfitting to the training replications shows there).
//!
//! Everything is deterministic: the optimiser draws from its own stream of the scenario seed, and
//! evaluations run in parallel but are collected in a fixed order.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use fulcrum_reports::charts::{label_colour, Chart, LegendEntry, Line, LinePlot, Plot};
use fulcrum_reports::stats::mean_ci95;
use fulcrum_reports::write_atomic;
use fulcrum_scenarios::Scenario;
use fulcrum_sim_core::rng::splitmix64;
use fulcrum_sim_core::RunOptions;
use fulcrum_strategies::{catalogue, Role};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde_json::{json, Value};

/// Which way the objective should go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Smaller is better.
    Minimise,
    /// Larger is better.
    Maximise,
}

/// One parameter of the search.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Dotted path inside the strategy's entry.
    pub path: Vec<String>,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
    /// Rounded to integers.
    pub integer: bool,
}

impl Param {
    /// Parses `PATH=LO..HI`.
    pub fn parse(text: &str) -> Result<Param, String> {
        let (path, range) = text.split_once('=').ok_or_else(|| format!("{text:?}: expected PATH=LO..HI"))?;
        let (lo, hi) = range.split_once("..").ok_or_else(|| format!("{text:?}: expected a range LO..HI"))?;
        let num = |s: &str| s.trim().parse::<f64>().map_err(|_| format!("{text:?}: {s:?} is not a number"));
        let (lo_v, hi_v) = (num(lo)?, num(hi)?);
        if !(lo_v.is_finite() && hi_v.is_finite() && lo_v < hi_v) {
            return Err(format!("{text:?}: need finite bounds with LO < HI"));
        }
        let path: Vec<String> = path.trim().split('.').map(str::to_string).collect();
        if path.iter().any(|p| p.is_empty()) {
            return Err(format!("{text:?}: empty component in the path"));
        }
        Ok(Param { path, lo: lo_v, hi: hi_v, integer: false })
    }

    /// Checks the path against the catalogue entry of `kind` (in `role`) and learns from it
    /// whether the parameter is an integer (its type says so, or its default is a JSON integer).
    pub fn resolve(&mut self, kind: &str, role: Role) -> Result<(), String> {
        let info = catalogue()
            .iter()
            .find(|i| i.kind == kind && i.role == role)
            .ok_or_else(|| format!("--label: {kind:?} is not in the catalogue"))?;
        let names: Vec<&str> = info.params.iter().map(|p| p.name).collect();
        let param = info.params.iter().find(|p| p.name == self.path[0]).ok_or_else(|| {
            format!(
                "--param {}: {kind} has no parameter {:?}; its parameters are {}",
                self.name(),
                self.path[0],
                names.join(", ")
            )
        })?;
        let mut default: Value = serde_json::from_str(param.default).unwrap_or(Value::Null);
        for key in &self.path[1..] {
            default = default.get(key).cloned().ok_or_else(|| {
                format!(
                    "--param {}: {:?} of {kind} has no field {key:?} (default {})",
                    self.name(),
                    param.name,
                    param.default
                )
            })?;
        }
        if default.is_object() || default.is_array() || default.is_boolean() || default.is_string() {
            return Err(format!("--param {}: not a number (default {default})", self.name()));
        }
        self.integer =
            (self.path.len() == 1 && param.ty.starts_with("integer")) || default.is_u64() || default.is_i64();
        if self.integer && (self.lo.fract() != 0.0 || self.hi.fract() != 0.0) {
            return Err(format!("--param {}: an integer parameter needs integer bounds", self.name()));
        }
        Ok(())
    }

    /// The parameter's value at `u` in [0, 1].
    pub fn value(&self, u: f64) -> f64 {
        let v = self.lo + u.clamp(0.0, 1.0) * (self.hi - self.lo);
        if self.integer {
            v.round()
        } else {
            v
        }
    }

    /// The dotted path.
    pub fn name(&self) -> String {
        self.path.join(".")
    }
}

/// A constraint on a metric's mean over the training replications.
#[derive(Clone, Debug, PartialEq)]
pub struct Constraint {
    /// The metric.
    pub metric: String,
    /// `=`, `<=` or `>=`.
    pub op: &'static str,
    /// The bound.
    pub value: f64,
}

impl Constraint {
    /// Parses `METRIC=V`, `METRIC<=V` or `METRIC>=V`.
    pub fn parse(text: &str) -> Result<Constraint, String> {
        for op in ["<=", ">=", "="] {
            if let Some((metric, value)) = text.split_once(op) {
                let value = value.trim().parse::<f64>().map_err(|_| format!("{text:?}: {value:?} is not a number"))?;
                return Ok(Constraint { metric: metric.trim().to_string(), op, value });
            }
        }
        Err(format!("{text:?}: expected METRIC=V, METRIC<=V or METRIC>=V"))
    }

    /// How far `v` misses the constraint (0 if it holds; NaN misses by infinity).
    pub fn violation(&self, v: f64) -> f64 {
        if v.is_nan() {
            return f64::INFINITY;
        }
        match self.op {
            "<=" => (v - self.value).max(0.0),
            ">=" => (self.value - v).max(0.0),
            _ => (v - self.value).abs(),
        }
    }
}

/// What to tune and how.
#[derive(Clone, Debug)]
pub struct TuneSpec {
    /// The scenario file (its directory resolves relative paths in it).
    pub file: PathBuf,
    /// The strategy entry's label (or kind, for an entry without one).
    pub label: String,
    /// The search space.
    pub params: Vec<Param>,
    /// The metric to optimise.
    pub objective: String,
    /// Which way.
    pub direction: Direction,
    /// Constraints.
    pub constraints: Vec<Constraint>,
    /// Configurations to evaluate, the scenario's own included.
    pub budget: usize,
    /// Training replications.
    pub train: u32,
    /// Held-out replications.
    pub holdout: u32,
}

/// One evaluated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    /// How it was chosen: `default`, `lhs`, `nelder-mead` or `restart` (a random point near the
    /// best when the simplex stalls).
    pub phase: &'static str,
    /// Parameter values.
    pub values: Vec<f64>,
    /// Mean objective over the training runs.
    pub objective: f64,
    /// Constraint metrics' means, in constraint order.
    pub constrained: Vec<f64>,
    /// Total violation of the constraints (0: feasible).
    pub violation: f64,
}

/// A tuning result.
#[derive(Clone, Debug)]
pub struct Tuned {
    /// Every trial in order.
    pub trials: Vec<Trial>,
    /// Index of the best trial.
    pub best: usize,
    /// The best configuration's entry (the scenario's form, without its label).
    pub best_entry: Value,
    /// Holdout values per replication: the scenario's configuration, then the best.
    pub holdout_default: Vec<f64>,
    /// Same, for the best configuration.
    pub holdout_best: Vec<f64>,
    /// The combinations that include the strategy.
    pub combinations: Vec<String>,
}

/// Where the strategy's entry sits in the scenario JSON.
#[derive(Debug)]
struct Located {
    array: &'static str,
    index: usize,
    /// The entry as an object (a bare kind string becomes `{"kind": ...}`).
    entry: Value,
}

fn locate(scenario: &Value, label: &str) -> Result<Located, String> {
    let mut found = Vec::new();
    let mut labels = Vec::new();
    for array in ["balancers", "detectors", "failover"] {
        for (index, e) in scenario.get(array).and_then(Value::as_array).into_iter().flatten().enumerate() {
            let (own, entry) = match e {
                Value::String(kind) => (kind.clone(), json!({ "kind": kind })),
                Value::Object(o) => {
                    let kind = o.get("kind").and_then(Value::as_str).unwrap_or("?");
                    let own = o.get("label").and_then(Value::as_str).unwrap_or(kind).to_string();
                    (own, e.clone())
                }
                _ => continue,
            };
            if own == label {
                found.push(Located { array, index, entry });
            }
            labels.push(own);
        }
    }
    match found.len() {
        1 => Ok(found.pop().expect("one")),
        0 => Err(format!("--label {label:?}: no strategy entry has this label; the labels are {}", labels.join(", "))),
        _ => Err(format!("--label {label:?}: several entries have this label")),
    }
}

fn set_path(entry: &mut Value, path: &[String], v: Value) {
    let mut at = entry;
    for key in &path[..path.len() - 1] {
        if !at.get(key).is_some_and(Value::is_object) {
            at[key.as_str()] = json!({});
        }
        at = &mut at[key.as_str()];
    }
    at[path[path.len() - 1].as_str()] = v;
}

/// The entry with the parameters at `values`.
fn entry_with(entry: &Value, params: &[Param], values: &[f64]) -> Value {
    let mut e = entry.clone();
    for (p, &v) in params.iter().zip(values) {
        let v = if p.integer { json!(v as i64) } else { json!(v) };
        set_path(&mut e, &p.path, v);
    }
    e
}

/// Evaluates configurations of one strategy entry.
struct Evaluator {
    raw: Value,
    located: Located,
    spec: TuneSpec,
    base_dir: Option<PathBuf>,
    file: String,
}

impl Evaluator {
    /// The scenario with the entry replaced.
    fn scenario(&self, entry: &Value) -> Result<Scenario, String> {
        let mut raw = self.raw.clone();
        raw[self.located.array][self.located.index] = entry.clone();
        fulcrum_scenarios::parse_str_in(&raw.to_string(), &self.file, self.base_dir.as_deref())
            .map_err(|e| e.to_string())
    }

    /// Indices of the combinations that include the entry.
    fn combinations(&self, scenario: &Scenario) -> Vec<usize> {
        let label = &self.spec.label;
        scenario
            .combinations
            .iter()
            .enumerate()
            .filter(|(_, c)| match self.located.array {
                "balancers" => &c.balancer == label,
                "detectors" => &c.detector == label,
                _ => &c.failover == label,
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Per replication in `reps`, the mean over the combinations of each metric in `metrics`;
    /// `Err` if the configuration does not validate.
    fn per_replication(
        &self,
        entry: &Value,
        reps: std::ops::Range<u32>,
        metrics: &[&str],
    ) -> Result<Vec<Vec<f64>>, String> {
        let scenario = self.scenario(entry)?;
        let combos = self.combinations(&scenario);
        let jobs: Vec<(usize, u32)> = reps.clone().flat_map(|r| combos.iter().map(move |&c| (c, r))).collect();
        let outputs: Vec<Vec<f64>> = jobs
            .par_iter()
            .map(|&(c, r)| {
                let out =
                    fulcrum_sim_core::run(&scenario.sim, &scenario.combinations[c].strategy, r, &RunOptions::default());
                metrics.iter().map(|m| out.metric(m).unwrap_or(f64::NAN)).collect()
            })
            .collect();
        Ok(outputs
            .chunks(combos.len())
            .map(|rows| {
                (0..metrics.len()).map(|k| rows.iter().map(|r| r[k]).sum::<f64>() / rows.len() as f64).collect()
            })
            .collect())
    }

    /// One trial on the training replications, of the parameters at `values`.
    fn trial(&self, phase: &'static str, values: Vec<f64>) -> Trial {
        let entry = entry_with(&self.located.entry, &self.spec.params, &values);
        self.trial_of(phase, &entry, values)
    }

    /// One trial of `entry`, recorded with `values`.
    fn trial_of(&self, phase: &'static str, entry: &Value, values: Vec<f64>) -> Trial {
        let mut names = vec![self.spec.objective.as_str()];
        names.extend(self.spec.constraints.iter().map(|c| c.metric.as_str()));
        match self.per_replication(entry, 0..self.spec.train, &names) {
            Ok(rows) => {
                let mean = |k: usize| rows.iter().map(|r| r[k]).sum::<f64>() / rows.len() as f64;
                let constrained: Vec<f64> = (1..names.len()).map(mean).collect();
                let violation =
                    self.spec.constraints.iter().zip(&constrained).fold(0.0, |sum, (c, &v)| sum + c.violation(v));
                Trial { phase, values, objective: mean(0), constrained, violation }
            }
            // A configuration the scenario refuses (e.g. weights all zero) is infeasible.
            Err(_) => Trial {
                phase,
                values,
                objective: f64::NAN,
                constrained: vec![f64::NAN; self.spec.constraints.len()],
                violation: f64::INFINITY,
            },
        }
    }
}

/// `a` ranks before `b`: feasible first, then by less violation, then by the objective.
fn better(a: &Trial, b: &Trial, direction: Direction) -> bool {
    if a.violation != b.violation {
        return a.violation < b.violation;
    }
    let key = |t: &Trial| {
        let v = if direction == Direction::Minimise { t.objective } else { -t.objective };
        if v.is_nan() {
            f64::INFINITY
        } else {
            v
        }
    };
    key(a) < key(b)
}

fn best_index(trials: &[Trial], direction: Direction) -> usize {
    let mut best = 0;
    for i in 1..trials.len() {
        if better(&trials[i], &trials[best], direction) {
            best = i;
        }
    }
    best
}

/// Runs the search.
pub fn tune(spec: TuneSpec, show_progress: bool) -> Result<(TuneSpec, Tuned), crate::Failure> {
    let bad = |e: String| crate::Failure { code: 2, error: anyhow!(e) };
    let text =
        std::fs::read_to_string(&spec.file).map_err(|e| bad(format!("{}: cannot read: {e}", spec.file.display())))?;
    let file = spec.file.display().to_string();
    let base_dir = spec.file.parent().map(Path::to_path_buf);
    // Validates the scenario as it is, with its own messages.
    let original = fulcrum_scenarios::parse_str_in(&text, &file, base_dir.as_deref())?;
    let raw: Value = serde_json::from_str(&text).map_err(|e| bad(format!("{file}: {e}")))?;
    let located = locate(&raw, &spec.label).map_err(bad)?;
    let mut spec = spec;
    let kind = located.entry.get("kind").and_then(Value::as_str).unwrap_or("?").to_string();
    let role = match located.array {
        "balancers" => Role::Balancer,
        "detectors" => Role::Detector,
        _ => Role::Failover,
    };
    for p in &mut spec.params {
        p.resolve(&kind, role).map_err(bad)?;
    }
    let names: Vec<String> = spec.params.iter().map(Param::name).collect();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(bad(format!("--param {n}: given twice")));
        }
    }
    if spec.budget < 2 {
        return Err(bad("--budget: at least 2 evaluations (the scenario's configuration and one more)".into()));
    }
    // The metrics a run of this scenario reports (replication 0 of its first combination).
    let known: Vec<&'static str> = original
        .combinations
        .first()
        .map(|c| {
            let out = fulcrum_sim_core::run(&original.sim, &c.strategy, 0, &RunOptions::default());
            out.metrics.iter().map(|&(n, _)| n).collect()
        })
        .unwrap_or_default();
    for m in std::iter::once(&spec.objective).chain(spec.constraints.iter().map(|c| &c.metric)) {
        if !known.contains(&m.as_str()) {
            return Err(bad(format!(
                "metric {m:?}: not a metric of this scenario; its metrics are {}",
                known.join(", ")
            )));
        }
    }
    let ev = Evaluator { raw, located, spec: spec.clone(), base_dir, file };
    // The scenario's configuration as written: each parameter's value there, or NaN where the
    // entry leaves it to its default; in the search space, its point (the middle if unset).
    let d = spec.params.len();
    let written: Vec<f64> = spec
        .params
        .iter()
        .map(|p| {
            let mut at = &ev.located.entry;
            for k in &p.path {
                at = at.get(k).unwrap_or(&Value::Null);
            }
            at.as_f64().unwrap_or(f64::NAN)
        })
        .collect();
    let default_point: Vec<f64> = spec
        .params
        .iter()
        .zip(&written)
        .map(|(p, v)| if v.is_finite() { ((v - p.lo) / (p.hi - p.lo)).clamp(0.0, 1.0) } else { 0.5 })
        .collect();
    let bar = if show_progress {
        let b = indicatif::ProgressBar::new(spec.budget as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} tuning [{bar:30}] {pos}/{len} configurations, {msg}, eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };

    let mut trials: Vec<Trial> = Vec::with_capacity(spec.budget);
    let mut points: Vec<Vec<f64>> = Vec::with_capacity(spec.budget); // unit-cube points, by trial
                                                                     // The scenario's own configuration, exactly as written.
    let first = ev.trial_of("default", &ev.located.entry.clone(), written);
    trials.push(first);
    points.push(default_point);
    bar.inc(1);

    let mut rng = ChaCha8Rng::seed_from_u64(splitmix64(splitmix64(original.sim.seed) ^ 0x7475_6e65)); // "tune"
                                                                                                      // Latin hypercube: n points, each axis cut into n strata, one point per stratum, shuffled.
    let n_lhs = (spec.budget / 3).max(2 * d).min(spec.budget - 1);
    let mut axes: Vec<Vec<f64>> = Vec::with_capacity(d);
    for _ in 0..d {
        let mut strata: Vec<f64> = (0..n_lhs).map(|i| (i as f64 + rng.random::<f64>()) / n_lhs as f64).collect();
        for i in (1..strata.len()).rev() {
            let j = rng.random_range(0..=i);
            strata.swap(i, j);
        }
        axes.push(strata);
    }
    let lhs: Vec<Vec<f64>> = (0..n_lhs).map(|i| axes.iter().map(|a| a[i]).collect()).collect();
    let values = |u: &[f64]| -> Vec<f64> { spec.params.iter().zip(u).map(|(p, &x)| p.value(x)).collect() };
    let evaluated: Vec<Trial> = lhs.par_iter().map(|u| ev.trial("lhs", values(u))).collect();
    for (u, t) in lhs.into_iter().zip(evaluated) {
        points.push(u);
        trials.push(t);
        bar.inc(1);
    }
    let show_best = |trials: &[Trial]| {
        let b = &trials[best_index(trials, spec.direction)];
        format!("best {} = {:.6}", spec.objective, b.objective)
    };
    bar.set_message(show_best(&trials));

    // Nelder–Mead on the rest of the budget.
    // A point whose parameter values were evaluated already (integers round) is not run again:
    // it is that trial. Proposals are bounded too, so the search ends even when it keeps
    // proposing known configurations.
    let proposals = std::cell::Cell::new(0usize);
    let max_proposals = 20 * spec.budget;
    let evaluate = |trials: &mut Vec<Trial>, points: &mut Vec<Vec<f64>>, u: Vec<f64>, phase: &'static str| -> usize {
        proposals.set(proposals.get() + 1);
        let u: Vec<f64> = u.iter().map(|x| x.clamp(0.0, 1.0)).collect();
        let v = values(&u);
        if let Some(seen) = trials.iter().position(|t| t.values == v) {
            return seen;
        }
        trials.push(ev.trial(phase, v));
        points.push(u);
        bar.inc(1);
        bar.set_message(show_best(trials));
        trials.len() - 1
    };
    // The d + 1 best trials, best first.
    let ranked = |trials: &[Trial]| -> Vec<usize> {
        let mut order: Vec<usize> = (0..trials.len()).collect();
        order.sort_by(|&a, &b| {
            if better(&trials[a], &trials[b], spec.direction) {
                std::cmp::Ordering::Less
            } else if better(&trials[b], &trials[a], spec.direction) {
                std::cmp::Ordering::Greater
            } else {
                a.cmp(&b)
            }
        });
        order.truncate(d + 1);
        order
    };
    let mut simplex = ranked(&trials);
    let beats = |trials: &[Trial], a: usize, b: usize| better(&trials[a], &trials[b], spec.direction);
    let mut stalled = false;
    while trials.len() < spec.budget && proposals.get() < max_proposals {
        if stalled || simplex.len() < d + 1 {
            // The simplex collapsed or proposes only known configurations: a random point near the
            // best (Gaussian, σ = 0.2 of each range), then the d + 1 best trials as the simplex.
            let best = simplex[0];
            let u: Vec<f64> = points[best]
                .iter()
                .map(|&x| {
                    let (a, b): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
                    x + 0.2 * (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
                })
                .collect();
            evaluate(&mut trials, &mut points, u, "restart");
            simplex = ranked(&trials);
            stalled = false;
            continue;
        }
        let before = trials.len();
        simplex.sort_by(|&a, &b| {
            if beats(&trials, a, b) {
                std::cmp::Ordering::Less
            } else if beats(&trials, b, a) {
                std::cmp::Ordering::Greater
            } else {
                a.cmp(&b)
            }
        });
        let worst = simplex[d];
        let centroid: Vec<f64> =
            (0..d).map(|k| simplex[..d].iter().map(|&i| points[i][k]).sum::<f64>() / d as f64).collect();
        let spread = simplex
            .iter()
            .map(|&i| points[i].iter().zip(&centroid).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max))
            .fold(0.0, f64::max);
        if spread < 1e-3 {
            stalled = true;
            continue;
        }
        let worst_point = points[worst].clone();
        let along = |t: f64| -> Vec<f64> { centroid.iter().zip(&worst_point).map(|(c, w)| c + t * (c - w)).collect() };
        let r = evaluate(&mut trials, &mut points, along(1.0), "nelder-mead");
        if beats(&trials, r, simplex[0]) {
            if trials.len() >= spec.budget {
                simplex[d] = r;
                break;
            }
            let e = evaluate(&mut trials, &mut points, along(2.0), "nelder-mead");
            simplex[d] = if beats(&trials, e, r) { e } else { r };
        } else if beats(&trials, r, simplex[d - 1]) {
            simplex[d] = r;
        } else {
            if trials.len() >= spec.budget {
                break;
            }
            let outside = beats(&trials, r, worst);
            let c = evaluate(&mut trials, &mut points, along(if outside { 0.5 } else { -0.5 }), "nelder-mead");
            if beats(&trials, c, if outside { r } else { worst }) {
                simplex[d] = c;
            } else {
                // Shrink towards the best.
                let best = simplex[0];
                for slot in 1..=d {
                    if trials.len() >= spec.budget {
                        break;
                    }
                    let u: Vec<f64> =
                        points[best].iter().zip(&points[simplex[slot]]).map(|(b, x)| b + 0.5 * (x - b)).collect();
                    simplex[slot] = evaluate(&mut trials, &mut points, u, "nelder-mead");
                }
            }
        }
        let mut distinct = simplex.clone();
        distinct.sort_unstable();
        distinct.dedup();
        stalled = trials.len() == before || distinct.len() < simplex.len();
    }
    bar.finish_and_clear();

    let best = best_index(&trials, spec.direction);
    let best_entry = entry_with(&ev.located.entry, &spec.params, &trials[best].values);
    let holdout = spec.train..spec.train + spec.holdout;
    let objective = [spec.objective.as_str()];
    let column = |rows: Vec<Vec<f64>>| rows.into_iter().map(|r| r[0]).collect::<Vec<f64>>();
    let holdout_default = column(ev.per_replication(&ev.located.entry, holdout.clone(), &objective).map_err(bad)?);
    let holdout_best = column(ev.per_replication(&best_entry, holdout, &objective).map_err(bad)?);
    let combinations =
        ev.combinations(&original).iter().map(|&c| original.combinations[c].strategy.label.clone()).collect();
    let mut best_entry = best_entry;
    if let Some(o) = best_entry.as_object_mut() {
        o.remove("label");
    }
    Ok((spec, Tuned { trials, best, best_entry, holdout_default, holdout_best, combinations }))
}

/// Writes `best.json`, `trials.csv`, `tune.json` and the convergence chart into `dir`; returns the
/// report text and the paths written.
pub fn write_tuned(
    dir: &Path,
    spec: &TuneSpec,
    tuned: &Tuned,
    seed: u64,
    name: &str,
) -> Result<(String, Vec<PathBuf>)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    let best = &tuned.trials[tuned.best];

    let path = dir.join("best.json");
    let text = serde_json::to_string_pretty(&tuned.best_entry)? + "\n";
    write_atomic(&path, |w| w.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path);

    let path = dir.join("trials.csv");
    write_atomic(&path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        let mut header = vec!["trial".to_string(), "phase".into()];
        header.extend(spec.params.iter().map(Param::name));
        header.push(spec.objective.clone());
        header.extend(spec.constraints.iter().map(|c| c.metric.clone()));
        header.extend(["violation".to_string(), "best_so_far".into()]);
        csv.write_record(&header).map_err(std::io::Error::other)?;
        for (i, t) in tuned.trials.iter().enumerate() {
            let so_far = best_index(&tuned.trials[..=i], spec.direction);
            let mut row = vec![i.to_string(), t.phase.to_string()];
            row.extend(t.values.iter().map(|v| v.to_string()));
            row.push(t.objective.to_string());
            row.extend(t.constrained.iter().map(|v| v.to_string()));
            row.push(t.violation.to_string());
            row.push(tuned.trials[so_far].objective.to_string());
            csv.write_record(&row).map_err(std::io::Error::other)?;
        }
        csv.flush()
    })
    .with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path);

    let (d_mean, d_ci) = mean_ci95(&tuned.holdout_default);
    let (b_mean, b_ci) = mean_ci95(&tuned.holdout_best);
    let diffs: Vec<f64> = tuned.holdout_best.iter().zip(&tuned.holdout_default).map(|(b, d)| b - d).collect();
    let (diff, diff_ci) = mean_ci95(&diffs);
    let gap = (b_mean - best.objective) / best.objective.abs().max(1e-300);
    let summary = json!({
        "scenario": name,
        "seed": seed,
        "label": spec.label,
        "combinations": tuned.combinations,
        "objective": spec.objective,
        "direction": if spec.direction == Direction::Minimise { "minimise" } else { "maximise" },
        "constraints": spec.constraints.iter().map(|c| format!("{}{}{}", c.metric, c.op, c.value)).collect::<Vec<_>>(),
        "budget": spec.budget,
        "evaluations": tuned.trials.len(),
        "train_replications": [0, spec.train],
        "holdout_replications": [spec.train, spec.train + spec.holdout],
        "params": spec.params.iter().zip(&best.values).map(|(p, v)| (p.name(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "best": tuned.best_entry,
        "train": {"default": tuned.trials[0].objective, "best": best.objective, "best_feasible": best.violation == 0.0},
        "holdout": {
            "default": {"mean": d_mean, "ci95": d_ci.map(|(a, b)| [a, b])},
            "best": {"mean": b_mean, "ci95": b_ci.map(|(a, b)| [a, b])},
            "best_minus_default": {"mean": diff, "ci95": diff_ci.map(|(a, b)| [a, b])},
            "best_holdout_vs_train": gap,
        },
    });
    let path = dir.join("tune.json");
    let text = serde_json::to_string_pretty(&summary)? + "\n";
    write_atomic(&path, |w| w.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path);

    // Convergence: each trial's objective and the best so far (feasible trials only).
    let feasible: Vec<(f64, f64)> = tuned
        .trials
        .iter()
        .enumerate()
        .filter(|(_, t)| t.violation == 0.0 && t.objective.is_finite())
        .map(|(i, t)| (i as f64 + 1.0, t.objective))
        .collect();
    let mut so_far = Vec::new();
    for i in 0..tuned.trials.len() {
        let b = &tuned.trials[best_index(&tuned.trials[..=i], spec.direction)];
        if b.violation == 0.0 && b.objective.is_finite() {
            so_far.push((i as f64 + 1.0, b.objective));
        }
    }
    let chart = Chart {
        name: "convergence",
        title: format!("{name}: tuning {} ({} of {})", spec.label, spec.objective, spec.direction_word()),
        legend: vec![
            LegendEntry { text: "best so far".into(), colour: label_colour(0), thin: false },
            LegendEntry { text: "each configuration".into(), colour: label_colour(1), thin: false },
        ],
        plot: Plot::Lines(LinePlot {
            x_desc: "configurations evaluated".into(),
            y_desc: format!("{} (mean of training replications)", spec.objective),
            x_log: false,
            lines: vec![
                Line { colour: label_colour(1), points: feasible, band: None },
                Line { colour: label_colour(0), points: so_far, band: None },
            ],
            markers: vec![],
        }),
    };
    let charts = dir.join("charts");
    std::fs::create_dir_all(&charts).with_context(|| format!("cannot create {}", charts.display()))?;
    written.extend(chart.write(&charts).with_context(|| format!("cannot write charts to {}", charts.display()))?);

    let mut report = String::new();
    let fmt_ci = |m: f64, ci: Option<(f64, f64)>| match ci {
        Some((a, b)) => format!("{m:.6} [{a:.6}, {b:.6}]"),
        None => format!("{m:.6}"),
    };
    let _ = writeln!(
        report,
        "tuned {} of {} ({}) over {} configurations",
        spec.label,
        name,
        tuned.combinations.join(", "),
        tuned.trials.len()
    );
    for (p, v) in spec.params.iter().zip(&best.values) {
        let _ = writeln!(report, "  {} = {}", p.name(), v);
    }
    let _ = writeln!(
        report,
        "{} ({}), training replications 0..{}: scenario's configuration {:.6}, best {:.6}{}",
        spec.objective,
        spec.direction_word(),
        spec.train,
        tuned.trials[0].objective,
        best.objective,
        if best.violation == 0.0 { "" } else { " (no configuration met the constraints)" }
    );
    let _ = writeln!(
        report,
        "held-out replications {}..{}: scenario's configuration {}, best {}; best − scenario's {} (paired)",
        spec.train,
        spec.train + spec.holdout,
        fmt_ci(d_mean, d_ci),
        fmt_ci(b_mean, b_ci),
        fmt_ci(diff, diff_ci)
    );
    let _ = writeln!(report, "the best's held-out result is {:+.1}% off its training result", 100.0 * gap);
    Ok((report, written))
}

impl TuneSpec {
    fn direction_word(&self) -> &'static str {
        match self.direction {
            Direction::Minimise => "minimised",
            Direction::Maximise => "maximised",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_and_constraints_parse() {
        let p = Param::parse("weights.cpu_cores=0..1").unwrap();
        assert_eq!(p.path, ["weights", "cpu_cores"]);
        assert!(!p.integer);
        assert_eq!(p.value(0.25), 0.25);
        let mut d = Param::parse("d=1..8").unwrap();
        d.resolve("power-of-d", Role::Balancer).unwrap();
        assert!(d.integer);
        assert_eq!(d.value(0.5), 5.0, "1 + 3.5 rounds to 5");
        let mut w = Param::parse("weights.queue=0..1").unwrap();
        w.resolve("resource-aware", Role::Balancer).unwrap();
        assert!(!w.integer, "weights are numbers even with integer bounds");
        let err = Param::parse("weights.cpu=0..1").unwrap().resolve("resource-aware", Role::Balancer).unwrap_err();
        assert!(err.contains("has no field \"cpu\""), "{err}");
        let err = Param::parse("dd=1..3").unwrap().resolve("power-of-d", Role::Balancer).unwrap_err();
        assert!(err.contains("power-of-d has no parameter \"dd\"; its parameters are d"), "{err}");
        assert!(Param::parse("d=1.5..3").unwrap().resolve("power-of-d", Role::Balancer).is_err());
        assert!(Param::parse("d=3..1").is_err());
        assert!(Param::parse("d").is_err());
        assert!(Param::parse("d=a..2").is_err());
        let c = Constraint::parse("jain_index>=0.9").unwrap();
        assert_eq!((c.op, c.value), (">=", 0.9));
        assert_eq!(c.violation(0.8), 0.09999999999999998);
        assert_eq!(Constraint::parse("failed_tasks=0").unwrap().violation(2.0), 2.0);
        assert_eq!(Constraint::parse("x<=1").unwrap().violation(f64::NAN), f64::INFINITY);
    }

    #[test]
    fn entries_are_found_by_label_or_kind_and_edited_by_path() {
        let s = json!({"balancers": ["random", {"kind": "power-of-d", "d": 2, "label": "p2c"}],
                       "detectors": [{"kind": "phi-accrual"}]});
        let l = locate(&s, "p2c").unwrap();
        assert_eq!((l.array, l.index), ("balancers", 1));
        assert_eq!(locate(&s, "random").unwrap().entry, json!({"kind": "random"}));
        assert_eq!(locate(&s, "phi-accrual").unwrap().array, "detectors");
        assert!(locate(&s, "nope").unwrap_err().contains("the labels are random, p2c, phi-accrual"));
        let params = [
            Param::parse("weights.cpu_cores=0..1").unwrap(),
            Param { integer: true, ..Param::parse("d=1..8").unwrap() },
        ];
        let e = entry_with(&l.entry, &params, &[0.5, 4.0]);
        assert_eq!(e, json!({"kind": "power-of-d", "d": 4, "label": "p2c", "weights": {"cpu_cores": 0.5}}));
    }

    #[test]
    fn ranking_puts_feasible_first_then_the_objective() {
        let t = |objective: f64, violation: f64| Trial {
            phase: "lhs",
            values: vec![],
            objective,
            constrained: vec![],
            violation,
        };
        assert!(better(&t(5.0, 0.0), &t(1.0, 0.1), Direction::Minimise));
        assert!(better(&t(1.0, 0.0), &t(2.0, 0.0), Direction::Minimise));
        assert!(better(&t(2.0, 0.0), &t(1.0, 0.0), Direction::Maximise));
        assert!(better(&t(2.0, 0.0), &t(f64::NAN, 0.0), Direction::Minimise));
        assert_eq!(best_index(&[t(3.0, 0.0), t(1.0, 0.0), t(0.5, 1.0)], Direction::Minimise), 1);
    }
}
