//! `resource-aware`: filter, then score, as kube-scheduler does.
//!
//! **Filters**, in this order; the first that rejects a candidate names it (`rejected_by` in an
//! [`Explanation`]):
//! - `fit`: the task's demand must fit in the node's capacity minus its believed use
//!   (Kubernetes' `NodeResourcesFit` filter, on the dispatcher's view);
//! - `cpu-utilization`, `memory-utilization`, `disk-utilization`, `network-utilization`,
//!   `gpu-utilization`, `fpga-utilization`: the node's believed use over capacity (before the
//!   task) must be at most the limit set for that dimension (`max_utilization`, or the older
//!   `max_cpu_utilization`); dimensions the node lacks are not checked;
//! - `reserve-accelerators` (if `reserve_accelerators`): a node with GPUs (FPGAs) is kept for
//!   tasks that use them — a task demanding no GPU (no FPGA) does not go there.
//!
//! If no candidate passes, the task goes to the candidate with the fewest tasks, to queue there
//! (or waits, when `min_score` is set).
//!
//! **Score**: a weighted mean, over the terms with positive weight, of terms scaled to 0–100 with
//! higher better (formulas and references in `terms.rs`):
//! - `least_allocated`: Kubernetes `LeastAllocated`, `Σ_r w_r · (cap_r − req_r)·100 / cap_r / Σ_r w_r`
//!   in integer arithmetic, with `req` = believed use + the task's demand (spreads load);
//! - `most_allocated`: Kubernetes `MostAllocated`, `Σ_r w_r · min(req_r, cap_r)·100 / cap_r / Σ_r w_r`
//!   (packs);
//! - `balanced_allocation`: Kubernetes `BalancedAllocation`, `(1 − std(req_r / cap_r))·100` over the
//!   weighted resources the node has (fractions capped at 1; with two resources std = |f₁ − f₂| / 2);
//! - `queue`: live state, `100 / (1 + tasks)` with tasks = running + queued + in flight;
//! - `tetris`: Tetris' alignment (Grandl et al., SIGCOMM 2014), `100 · Σ_r w_r (d_r/c_r)(f_r/c_r) / Σ_r w_r`
//!   with `d` the demand and `f` the free resources (packs tasks where they fit best);
//! - `demand_fit`: 100 × the cosine similarity of the same normalised demand and free vectors;
//! - `efficiency`: learned, `100 · min(1, observed speed / nominal speed) · success rate`, from
//!   time-decayed sums of the outcomes the caller reports (see `history.rs`);
//! - `response_time`: learned, `100 / (1 + L / latency_scale_s)` with `L` the time-decayed mean
//!   latency of the node's completions.
//!
//! `w_r` are the resource weights (`resources`); the learned terms give a node never observed
//! [`NEUTRAL_SCORE`] (50). The highest score wins; ties are broken at random, as kube-scheduler's
//! `selectHost` does. Formulas of the first three follow
//! `pkg/scheduler/framework/plugins/noderesources/{least_allocated,most_allocated,
//! balanced_allocation}.go` of Kubernetes. New terms default to weight 0, so a configuration
//! written before they existed scores exactly as it did.
//!
//! **Profiles**: `profiles` lists term weights by priority; a task uses the profile with the
//! highest `min_priority` at most its priority, or `weights` if none applies.
//!
//! **Threshold**: with `min_score` set, a candidate scoring below it is rejected (`min-score`);
//! if none is left, `pick` returns `None` and the task waits: the simulator parks it and offers it
//! again [`retry_after`](Balancer::retry_after) later (`retry_after_s`, default 0.5 s).
//!
//! Learns from outcomes ([`Balancer::wants_feedback`]) only when a learned term has a positive
//! weight in `weights` or a profile. Cost: O(candidates × resources), no allocation after the
//! first picks; `pick` computes the exact score only for the candidates whose upper bound (a few
//! multiplications) reaches the best so far (`search.rs`), `pick_explained` for every one.

mod history;
mod search;
mod terms;

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use super::{argmin_random_ties, Balancer, Explanation, Notes, Outcome, Rank};
use crate::{ClusterView, NodeId, Resource, ResourceUnits, Span, TaskInfo, Time, N_RESOURCES};
use history::Histories;
pub use terms::{
    balanced_score, demand_fit_score, least_requested_score, most_requested_score, tetris_score, NEUTRAL_SCORE,
};
use terms::{demand_fit_from, least_requested_near, most_requested_near, queue_score_fast, tetris_from, Alignment};

/// Number of score terms.
pub const N_TERMS: usize = 8;

/// The terms' names, in the order of [`TermWeights::to_array`] and of an explanation's terms.
pub const TERM_NAMES: [&str; N_TERMS] = [
    "least_allocated",
    "most_allocated",
    "balanced_allocation",
    "queue",
    "tetris",
    "demand_fit",
    "efficiency",
    "response_time",
];

const LEAST: usize = 0;
const MOST: usize = 1;
const BALANCED: usize = 2;
const QUEUE: usize = 3;
const TETRIS: usize = 4;
const DEMAND_FIT: usize = 5;
const EFFICIENCY: usize = 6;
const RESPONSE_TIME: usize = 7;

/// A term mask meaning "read the weights at run time" (no weight set has it: at least one
/// weight is positive).
const RUNTIME: u8 = 0;
/// The mask of kube-scheduler's default terms, LeastAllocated and BalancedAllocation.
const KUBERNETES_DEFAULT: u8 = 1 << LEAST | 1 << BALANCED;
/// The mask of the four terms of the original scorer.
const KUBERNETES_ALL: u8 = 1 << LEAST | 1 << MOST | 1 << BALANCED | 1 << QUEUE;

/// The utilisation filters' names, by resource dimension.
const UTILIZATION_FILTERS: [&str; N_RESOURCES] = [
    "cpu-utilization",
    "memory-utilization",
    "disk-utilization",
    "network-utilization",
    "gpu-utilization",
    "fpga-utilization",
];

/// Weights of the score terms.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TermWeights {
    /// Spread: favour free capacity.
    pub least_allocated: f64,
    /// Pack: favour full nodes.
    pub most_allocated: f64,
    /// Favour nodes whose resources are used evenly.
    pub balanced_allocation: f64,
    /// Favour short queues.
    pub queue: f64,
    /// Pack by Tetris' alignment of demand and free resources.
    pub tetris: f64,
    /// Favour nodes whose free resources have the demand's proportions.
    pub demand_fit: f64,
    /// Favour nodes that have completed tasks fast and without loss.
    pub efficiency: f64,
    /// Favour nodes with a low observed latency.
    pub response_time: f64,
}

impl Default for TermWeights {
    /// kube-scheduler's default profile: LeastAllocated and BalancedAllocation, equally weighted.
    fn default() -> Self {
        TermWeights {
            least_allocated: 1.0,
            most_allocated: 0.0,
            balanced_allocation: 1.0,
            queue: 0.0,
            tetris: 0.0,
            demand_fit: 0.0,
            efficiency: 0.0,
            response_time: 0.0,
        }
    }
}

impl TermWeights {
    /// Every weight zero (a base to set a few on).
    pub const ZERO: TermWeights = TermWeights {
        least_allocated: 0.0,
        most_allocated: 0.0,
        balanced_allocation: 0.0,
        queue: 0.0,
        tetris: 0.0,
        demand_fit: 0.0,
        efficiency: 0.0,
        response_time: 0.0,
    };

    /// The weights in the order of [`TERM_NAMES`].
    pub fn to_array(&self) -> [f64; N_TERMS] {
        [
            self.least_allocated,
            self.most_allocated,
            self.balanced_allocation,
            self.queue,
            self.tetris,
            self.demand_fit,
            self.efficiency,
            self.response_time,
        ]
    }

    /// What is wrong with these weights, if anything.
    pub fn problem(&self) -> Option<String> {
        let w = self.to_array();
        if w.iter().any(|w| !(w.is_finite() && (0.0..=1e6).contains(w))) || w.iter().all(|w| *w == 0.0) {
            Some("must be between 0 and 1000000, and at least one positive".to_string())
        } else {
            None
        }
    }

    /// True if a term learned from outcomes has a positive weight.
    pub fn uses_feedback(&self) -> bool {
        self.efficiency > 0.0 || self.response_time > 0.0
    }
}

/// Term weights for the tasks of priority `min_priority` and above (up to the next profile's).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightProfile {
    /// The lowest priority the profile applies to.
    pub min_priority: i32,
    /// The weights that replace the balancer's `weights` for these tasks.
    pub weights: TermWeights,
}

/// Per-dimension utilisation limits: a node whose believed use over capacity exceeds a set limit
/// is filtered out. Each in (0, 1]; unset dimensions are not checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UtilizationLimits {
    /// CPU.
    pub cpu: Option<f64>,
    /// Memory.
    pub memory: Option<f64>,
    /// Disk.
    pub disk: Option<f64>,
    /// Network.
    pub network: Option<f64>,
    /// GPUs.
    pub gpu: Option<f64>,
    /// FPGAs.
    pub fpga: Option<f64>,
}

impl UtilizationLimits {
    /// The limits in [`Resource::ALL`] order.
    pub fn to_array(&self) -> [Option<f64>; N_RESOURCES] {
        [self.cpu, self.memory, self.disk, self.network, self.gpu, self.fpga]
    }

    /// A `dimension: problem` message for each limit out of range.
    pub fn problems(&self) -> Vec<String> {
        const NAMES: [&str; N_RESOURCES] = ["cpu", "memory", "disk", "network", "gpu", "fpga"];
        NAMES
            .iter()
            .zip(self.to_array())
            .filter_map(|(name, limit)| {
                let m = limit?;
                (!(m.is_finite() && m > 0.0 && m <= 1.0)).then(|| format!("{name}: must be in (0, 1], got {m}"))
            })
            .collect()
    }
}

/// Default resource weights: CPU and memory, 1 each (kube-scheduler's default).
pub fn default_resource_weights() -> ResourceUnits {
    ResourceUnits { cpu_cores: 1.0, memory_gb: 1.0, ..Default::default() }
}

/// Why a filter rejected a node.
#[derive(Clone, Copy, Debug)]
struct Rejection {
    filter: &'static str,
    /// The utilisation that failed a utilisation filter.
    utilization: Option<f64>,
}

impl Rejection {
    fn by(filter: &'static str) -> Self {
        Rejection { filter, utilization: None }
    }
}

/// A set of term weights and the sum of those that count (the positive ones).
#[derive(Clone, Copy, Debug)]
struct WeightSet {
    /// The weights, in term order.
    all: [f64; N_TERMS],
    /// Σ of the positive weights, summed in term order.
    weight_sum: f64,
    /// Bit `t` set if term `t` has a positive weight.
    mask: u8,
    /// `1 / weight_sum` when that is exact (a power of two), so that multiplying by it gives the
    /// quotient bit for bit.
    exact_recip: Option<f64>,
}

impl WeightSet {
    fn new(weights: &TermWeights) -> Self {
        let all = weights.to_array();
        let weight_sum: f64 = all.iter().filter(|&&w| w > 0.0).sum();
        let recip = 1.0 / weight_sum;
        // x / 2^k and x · 2^-k round the same real number: equal whenever 2^-k is exact.
        let power_of_two = weight_sum.is_normal() && weight_sum.to_bits() & ((1u64 << 52) - 1) == 0;
        let exact_recip = (power_of_two && recip.is_normal()).then_some(recip);
        let mask = all.iter().enumerate().filter(|(_, &w)| w > 0.0).fold(0, |m, (t, _)| m | 1 << t);
        WeightSet { all, weight_sum, mask, exact_recip }
    }

    /// The weighted mean from the weighted sum of the terms.
    #[inline(always)]
    fn mean(&self, total: f64) -> f64 {
        match self.exact_recip {
            Some(recip) => total * recip,
            None if self.weight_sum > 0.0 => total / self.weight_sum,
            None => 0.0,
        }
    }
}

/// Filter-then-score placement.
#[derive(Clone, Debug)]
pub struct ResourceAware {
    /// Term weights for tasks no profile covers.
    weights: WeightSet,
    /// `(min_priority, weights)`, sorted by `min_priority`.
    profiles: Vec<(i32, WeightSet)>,
    /// Resource weights, rounded to integers (Kubernetes weights are integers), as floats for
    /// the terms computed in floating point.
    resource_weights_f64: [f64; N_RESOURCES],
    /// `(dimension, weight)` of the dimensions with positive weight, in dimension order.
    active: [(usize, i64); N_RESOURCES],
    n_active: usize,
    /// Σ of the integer resource weights.
    resource_weight_sum: i64,
    /// `1 / resource_weight_sum` (an estimate, corrected exactly).
    resource_weight_recip: f64,
    /// Σ of the positive resource weights as floats, in dimension order (Tetris' denominator).
    tetris_weight_sum: f64,
    /// Utilisation limit per dimension (infinite: none).
    limits: [f64; N_RESOURCES],
    /// `(dimension, limit)` of the finite limits, in dimension order.
    limited: [(usize, f64); N_RESOURCES],
    n_limited: usize,
    reserve_accelerators: bool,
    min_score: Option<f64>,
    retry_after: Span,
    decay_ns: f64,
    latency_scale_s: f64,
    /// True if a learned term has a positive weight somewhere.
    feedback: bool,
    /// Learned per node, by id (grown on demand).
    history: Histories,
    /// Kubernetes' `percentageOfNodesToScore` (0: adaptive).
    percentage_of_nodes_to_score: u32,
    /// Where the next search of a large candidate list starts (kube-scheduler's
    /// `nextStartNodeIndex`).
    next_start: usize,
    /// Scratch space of `pick`'s search.
    scratch: search::Scratch,
}

impl ResourceAware {
    /// Default delay before a declined task is offered again, seconds.
    pub fn default_retry_after_s() -> f64 {
        0.5
    }

    /// Default decay time of the learned averages, seconds (Finagle's for latency).
    pub fn default_decay_s() -> f64 {
        10.0
    }

    /// Default latency at which the response-time term scores 50, seconds.
    pub fn default_latency_scale_s() -> f64 {
        1.0
    }

    /// A scorer with these weights; resource weights are rounded to integers. The other options
    /// take their defaults (see the `with_` methods).
    pub fn new(terms: TermWeights, resource_weights: ResourceUnits, max_cpu_utilization: Option<f64>) -> Self {
        let mut w = [0i64; N_RESOURCES];
        for (o, v) in w.iter_mut().zip(resource_weights.to_array()) {
            *o = v.round().max(0.0) as i64;
        }
        let mut active = [(0usize, 0i64); N_RESOURCES];
        let mut n_active = 0;
        for (r, &weight) in w.iter().enumerate().filter(|(_, &weight)| weight > 0) {
            active[n_active] = (r, weight);
            n_active += 1;
        }
        let mut limits = [f64::INFINITY; N_RESOURCES];
        if let Some(max) = max_cpu_utilization {
            limits[Resource::Cpu as usize] = max;
        }
        let resource_weight_sum: i64 = w.iter().sum();
        let resource_weights_f64 = w.map(|v| v as f64);
        ResourceAware {
            weights: WeightSet::new(&terms),
            profiles: Vec::new(),
            resource_weights_f64,
            active,
            n_active,
            resource_weight_sum,
            resource_weight_recip: 1.0 / resource_weight_sum.max(1) as f64,
            tetris_weight_sum: resource_weights_f64.iter().filter(|&&w| w > 0.0).sum(),
            limits,
            limited: [(0, f64::INFINITY); N_RESOURCES],
            n_limited: 0,
            reserve_accelerators: false,
            min_score: None,
            retry_after: Span::from_secs_f64(Self::default_retry_after_s()),
            decay_ns: Self::default_decay_s() * 1e9,
            latency_scale_s: Self::default_latency_scale_s(),
            feedback: terms.uses_feedback(),
            history: Histories::default(),
            percentage_of_nodes_to_score: 0,
            next_start: 0,
            scratch: search::Scratch::default(),
        }
        .with_limited()
    }

    /// Lists the finite utilisation limits, the ones the filter checks.
    fn with_limited(mut self) -> Self {
        self.n_limited = 0;
        for (r, &max) in self.limits.iter().enumerate().filter(|(_, max)| max.is_finite()) {
            self.limited[self.n_limited] = (r, max);
            self.n_limited += 1;
        }
        self
    }

    /// Adds per-dimension utilisation limits (where a CPU limit was already set, the lower wins).
    pub fn with_max_utilization(mut self, limits: UtilizationLimits) -> Self {
        for (own, limit) in self.limits.iter_mut().zip(limits.to_array()) {
            if let Some(m) = limit {
                *own = own.min(m);
            }
        }
        self.with_limited()
    }

    /// Keeps accelerator nodes for the tasks that use them (off by default).
    pub fn with_reserve_accelerators(mut self, reserve: bool) -> Self {
        self.reserve_accelerators = reserve;
        self
    }

    /// Term weights by priority (none by default). Sorted here; of two profiles with the same
    /// `min_priority` (which `problems` reports) the later applies.
    pub fn with_profiles(mut self, profiles: &[WeightProfile]) -> Self {
        self.profiles = profiles.iter().map(|p| (p.min_priority, WeightSet::new(&p.weights))).collect();
        self.profiles.sort_by_key(|&(p, _)| p);
        self.feedback |= profiles.iter().any(|p| p.weights.uses_feedback());
        self
    }

    /// A score below which a task waits rather than goes anywhere, and the delay before it is
    /// offered again (none and 0.5 s by default).
    pub fn with_min_score(mut self, min_score: Option<f64>, retry_after: Span) -> Self {
        self.min_score = min_score;
        self.retry_after = retry_after;
        self
    }

    /// Scores only part of a large candidate list, as kube-scheduler does: `percentage` of the
    /// nodes (0: adaptive, 50% less one point per 125 nodes, at least 5%), but at least 100 nodes
    /// that pass the filters; lists of fewer than 100 candidates are always scored whole, and
    /// 100 scores every node.
    pub fn with_percentage_of_nodes_to_score(mut self, percentage: u32) -> Self {
        self.percentage_of_nodes_to_score = percentage.min(100);
        self
    }

    /// How many nodes that pass the filters a search of `n` candidates looks for before it
    /// stops: kube-scheduler's `numFeasibleNodesToFind`.
    pub fn nodes_to_find(&self, n: usize) -> usize {
        const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
        const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;
        if n < MIN_FEASIBLE_NODES_TO_FIND || self.percentage_of_nodes_to_score >= 100 {
            return n;
        }
        let mut percentage = self.percentage_of_nodes_to_score as usize;
        if percentage == 0 {
            percentage = 50usize.saturating_sub(n / 125).max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
        }
        (n * percentage / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
    }

    /// How the learned terms weigh the past (`decay`: an outcome `age` old weighs
    /// `exp(−age / decay)`) and the latency at which the response-time term scores 50 (a scale
    /// that is not a positive number keeps the default, 1 s).
    pub fn with_history(mut self, decay: Span, latency_scale_s: f64) -> Self {
        self.decay_ns = (decay.0 as f64).max(1.0);
        if latency_scale_s > 0.0 && latency_scale_s.is_finite() {
            self.latency_scale_s = latency_scale_s;
        }
        self.history.refresh(self.latency_scale_s);
        self
    }

    /// The term weights that apply to a task of this priority.
    #[inline]
    fn weights_for(&self, priority: i32) -> &WeightSet {
        self.profiles.iter().rev().find(|(p, _)| *p <= priority).map_or(&self.weights, |(_, w)| w)
    }

    /// The node's score for the task (0–100), or `None` if a filter rejects it. The score
    /// threshold is not applied.
    pub fn score(&self, task: &TaskInfo, view: &ClusterView<'_>, node: NodeId) -> Option<f64> {
        let mut terms = [0.0; N_TERMS];
        self.evaluate::<false, RUNTIME>(self.weights_for(task.priority), task, view, node, &mut terms).ok()
    }

    /// Every term of the node for the task, before weighting, in the order of [`TERM_NAMES`],
    /// or the name of the filter that rejects the node.
    pub fn terms(&self, task: &TaskInfo, view: &ClusterView<'_>, node: NodeId) -> Result<[f64; N_TERMS], &'static str> {
        let mut terms = [0.0; N_TERMS];
        match self.evaluate::<true, RUNTIME>(self.weights_for(task.priority), task, view, node, &mut terms) {
            Ok(_) => Ok(terms),
            Err(rejection) => Err(rejection.filter),
        }
    }

    /// Applies the filters to `node`; if it passes, returns the weighted mean of the terms with
    /// positive weight and, if `ALL`, fills `terms` with every term.
    ///
    /// Only the terms with positive weight are computed (all of them if `ALL`), and the work they
    /// share is done once: one `f64` division per weighted dimension gives the requested fraction
    /// that `BalancedAllocation` reads and that estimates the Kubernetes integer scores, which an
    /// exact correction then turns into the quotient an integer division would give; one pass
    /// gives both Tetris' and demand fit's sums. Every value is bit-for-bit what the term's own
    /// function computes.
    #[inline(always)]
    fn evaluate<const ALL: bool, const MASK: u8>(
        &self,
        weights: &WeightSet,
        task: &TaskInfo,
        view: &ClusterView<'_>,
        node: NodeId,
        terms: &mut [f64; N_TERMS],
    ) -> Result<f64, Rejection> {
        let spec = view.spec(node);
        let cap = &spec.capacity;
        let used = view.used(node);
        // `used.plus(demand).fits_in(cap)`, without branches.
        let mut req = [0u64; N_RESOURCES];
        let mut fits = true;
        for (((q, &u), &d), &c) in req.iter_mut().zip(&used.0).zip(&task.demand.0).zip(&cap.0) {
            *q = u.saturating_add(d);
            fits &= *q <= c;
        }
        if !fits {
            return Err(Rejection::by("fit"));
        }
        for &(r, max) in &self.limited[..self.n_limited] {
            let c = cap.0[r];
            if c > 0 {
                let utilization = used.0[r] as f64 / c as f64;
                if utilization > max {
                    return Err(Rejection { filter: UTILIZATION_FILTERS[r], utilization: Some(utilization) });
                }
            }
        }
        if self.reserve_accelerators {
            for r in [Resource::Gpu, Resource::Fpga] {
                if task.demand.get(r) == 0 && cap.get(r) > 0 {
                    return Err(Rejection::by("reserve-accelerators"));
                }
            }
        }
        let w = &weights.all;
        debug_assert!(MASK == RUNTIME || MASK == weights.mask);
        // Known at compile time unless `MASK` is `RUNTIME`.
        let weighted = |term: usize| if MASK == RUNTIME { w[term] > 0.0 } else { MASK >> term & 1 == 1 };
        let need = |term: usize| ALL || weighted(term);
        let mut values = [0.0f64; N_TERMS];
        if need(LEAST) || need(MOST) || need(BALANCED) {
            let (mut least, mut most) = (0i64, 0i64);
            let mut fractions = [0.0f64; N_RESOURCES];
            let mut len = 0;
            for &(r, weight) in &self.active[..self.n_active] {
                let c = cap.0[r];
                if c == 0 {
                    continue; // both Kubernetes scores are 0 there, and balance ignores it
                }
                let requested = req[r];
                let fraction = terms::as_f64(requested) / terms::as_f64(c);
                if need(LEAST) {
                    least += least_requested_near(requested, c, fraction) * weight;
                }
                if need(MOST) {
                    most += most_requested_near(requested, c, fraction) * weight;
                }
                fractions[len] = fraction.min(1.0);
                len += 1;
            }
            if self.resource_weight_sum > 0 {
                values[LEAST] = self.div_by_resource_weights(least) as f64;
                values[MOST] = self.div_by_resource_weights(most) as f64;
            }
            if need(BALANCED) {
                values[BALANCED] = terms::balanced_from_fractions(&fractions[..len]) as f64;
            }
        }
        if need(QUEUE) {
            values[QUEUE] = queue_score_fast(view.load(node).tasks());
        }
        if need(TETRIS) || need(DEMAND_FIT) {
            let alignment = Alignment::of(&task.demand, &cap.minus(used), cap, &self.resource_weights_f64);
            values[TETRIS] = tetris_from(&alignment, self.tetris_weight_sum);
            values[DEMAND_FIT] = demand_fit_from(&alignment);
        }
        if need(EFFICIENCY) {
            values[EFFICIENCY] =
                self.history.get(node.index()).and_then(|h| h.efficiency(spec.speed)).unwrap_or(NEUTRAL_SCORE);
        }
        if need(RESPONSE_TIME) {
            values[RESPONSE_TIME] =
                self.history.get(node.index()).and_then(|h| h.response_time()).unwrap_or(NEUTRAL_SCORE);
        }
        if ALL {
            *terms = values;
        }
        // Term by term, in term order: the same sums as before profiles and new terms, so
        // scores are bit-identical to that scorer's.
        let mut total = 0.0;
        for term in 0..N_TERMS {
            if weighted(term) {
                total += w[term] * values[term];
            }
        }
        Ok(weights.mean(total))
    }

    /// `total / Σ_r w_r` over the integer resource weights (positive), truncated as Kubernetes'
    /// integer division does, by an exact correction of a float estimate.
    #[inline(always)]
    fn div_by_resource_weights(&self, total: i64) -> i64 {
        let estimate = (total as f64 * self.resource_weight_recip) as i64;
        terms::floor_div_near(total, self.resource_weight_sum, estimate)
    }

    /// The one decision behind `pick` and `pick_explained`. Picking searches with the bound of
    /// `search.rs`, which scores only the candidates that could win; explaining scores them all.
    fn choose<N: Notes>(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        rng: &mut dyn RngCore,
        why: &mut N,
    ) -> Option<NodeId> {
        let n = candidates.len();
        let to_find = self.nodes_to_find(n);
        if !N::ON {
            if self.feedback && self.history.len() < view.len() {
                // Every node's history at hand (a node never observed has the default one, as
                // `observe` would give it), so that the search does not branch on its absence.
                self.history.grow(view.len());
            }
            let mut scratch = std::mem::take(&mut self.scratch);
            let weights = self.weights_for(task.priority);
            let sampled = to_find < n;
            let start = if sampled { self.next_start % n } else { 0 };
            let b = &mut scratch;
            // The common term sets get a search compiled for them alone.
            let (best, next) = match weights.mask {
                KUBERNETES_DEFAULT => {
                    self.search::<KUBERNETES_DEFAULT>(weights, task, candidates, start, to_find, view, rng, b)
                }
                KUBERNETES_ALL => {
                    self.search::<KUBERNETES_ALL>(weights, task, candidates, start, to_find, view, rng, b)
                }
                _ => self.search::<RUNTIME>(weights, task, candidates, start, to_find, view, rng, b),
            };
            self.scratch = scratch;
            if sampled {
                self.next_start = next;
            }
            return self.fallback(best, candidates, view);
        }
        if to_find < n {
            return self.choose_among_found(task, candidates, to_find, view, rng, why);
        }
        let weights = self.weights_for(task.priority);
        let min_score = self.min_score.unwrap_or(f64::NEG_INFINITY);
        why.start(Rank::Highest);
        // Highest score among the candidates the filters and the threshold pass.
        let best = argmin_random_ties(candidates, rng, |c| {
            let mut terms = [0.0; N_TERMS];
            match self.evaluate::<true, RUNTIME>(weights, task, view, c, &mut terms) {
                Ok(score) => {
                    let named: [(&'static str, f64); N_TERMS] = std::array::from_fn(|i| (TERM_NAMES[i], terms[i]));
                    let rejected_by = (score < min_score).then_some("min-score");
                    why.note(c, rejected_by, &named, Some(score));
                    (score >= min_score).then_some(-score)
                }
                Err(rejection) => {
                    let tasks = ("tasks", f64::from(view.load(c).tasks()));
                    match rejection.utilization {
                        Some(u) => why.note(c, Some(rejection.filter), &[tasks, ("utilization", u)], None),
                        None => why.note(c, Some(rejection.filter), &[tasks], None),
                    }
                    None
                }
            }
        });
        self.fallback(best, candidates, view)
    }

    /// With no acceptable candidate: wait if there is a threshold, else the fewest tasks.
    fn fallback(&self, best: Option<NodeId>, candidates: &[NodeId], view: &ClusterView<'_>) -> Option<NodeId> {
        match best {
            Some(node) => Some(node),
            // With a threshold, nothing acceptable means waiting.
            None if self.min_score.is_some() => None,
            // Otherwise the task queues at the candidate with the fewest tasks.
            None => candidates.iter().copied().min_by_key(|&c| view.load(c).tasks()),
        }
    }

    /// kube-scheduler's search of a large list: from where the previous search stopped, wrapping
    /// around, until `to_find` candidates pass the filters; the best of those (random tie-break,
    /// drawn as [`argmin_random_ties`] draws) wins, and the next search starts after the last
    /// candidate looked at.
    fn choose_among_found<N: Notes>(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        to_find: usize,
        view: &ClusterView<'_>,
        rng: &mut dyn RngCore,
        why: &mut N,
    ) -> Option<NodeId> {
        let n = candidates.len();
        let weights = self.weights_for(task.priority);
        let min_score = self.min_score.unwrap_or(f64::NEG_INFINITY);
        why.start(Rank::Highest);
        let mut index = self.next_start % n;
        let (mut found, mut looked) = (0, 0);
        let mut best: Option<(NodeId, f64)> = None;
        let mut ties = 0usize;
        let mut terms = [0.0; N_TERMS];
        while looked < n && found < to_find {
            let c = candidates[index];
            index += 1;
            if index == n {
                index = 0;
            }
            looked += 1;
            let evaluated = self.evaluate::<true, RUNTIME>(weights, task, view, c, &mut terms);
            let key = match evaluated {
                Ok(score) => {
                    found += 1;
                    if N::ON {
                        let named: [(&'static str, f64); N_TERMS] = std::array::from_fn(|i| (TERM_NAMES[i], terms[i]));
                        why.note(c, (score < min_score).then_some("min-score"), &named, Some(score));
                    }
                    (score >= min_score).then_some(-score)
                }
                Err(rejection) => {
                    if N::ON {
                        let tasks = ("tasks", f64::from(view.load(c).tasks()));
                        match rejection.utilization {
                            Some(u) => why.note(c, Some(rejection.filter), &[tasks, ("utilization", u)], None),
                            None => why.note(c, Some(rejection.filter), &[tasks], None),
                        }
                    }
                    None
                }
            };
            let Some(k) = key else { continue };
            match best {
                Some((_, b)) if k > b => {}
                Some((_, b)) if k == b => {
                    ties += 1;
                    if super::uniform_index(rng, ties) == 0 {
                        best = Some((c, k));
                    }
                }
                _ => {
                    best = Some((c, k));
                    ties = 1;
                }
            }
        }
        self.next_start = index;
        self.fallback(best.map(|(c, _)| c), candidates, view)
    }
}

impl Balancer for ResourceAware {
    fn pick(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        rng: &mut dyn RngCore,
    ) -> Option<NodeId> {
        self.choose(task, candidates, view, rng, &mut ())
    }

    fn pick_explained(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        rng: &mut dyn RngCore,
        why: &mut Explanation,
    ) -> Option<NodeId> {
        self.choose(task, candidates, view, rng, why)
    }

    fn wants_feedback(&self) -> bool {
        self.feedback
    }

    fn observe(&mut self, outcome: &Outcome, now: Time) {
        if !self.feedback {
            return;
        }
        self.history.record(outcome, now, self.decay_ns, self.latency_scale_s);
    }

    fn retry_after(&self) -> Span {
        self.retry_after
    }

    /// The negated score; `INFINITY` for a candidate a filter or the threshold rejects.
    fn scores(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        out: &mut Vec<f64>,
    ) -> bool {
        let min_score = self.min_score.unwrap_or(f64::NEG_INFINITY);
        out.clear();
        out.extend(candidates.iter().map(|&c| match self.score(task, view, c) {
            Some(s) if s >= min_score => -s,
            _ => f64::INFINITY,
        }));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::terms::MAX_SCORE;
    use super::*;
    use crate::balance::testkit::{assert_explained_matches_pick, task, Fixture};
    use crate::balance::BalancerConfig;
    use crate::{Resources, TaskId};
    use rand_core::SeedableRng;

    fn rng() -> rand_chacha::ChaCha8Rng {
        rand_chacha::ChaCha8Rng::seed_from_u64(0)
    }

    fn only(weights: TermWeights) -> ResourceAware {
        ResourceAware::new(weights, default_resource_weights(), None)
    }

    /// One 4-core, 10-GB node using 2 cores and 3 GB; a task of 1 core and 2 GB.
    fn one_node() -> (Fixture, TaskInfo) {
        let mut fx = Fixture::with_tasks(&[3]);
        fx.specs[0].capacity = Resources([4000, 10_000, 0, 0, 0, 0]);
        fx.used[0] = Resources([2000, 3000, 0, 0, 0, 0]);
        (fx, TaskInfo { demand: Resources([1000, 2000, 0, 0, 0, 0]), ..task() })
    }

    #[test]
    fn each_term_alone_gives_its_hand_computed_value() {
        // With the task: 3 of 4 cores, 5 of 10 GB. LeastAllocated (25 + 50) / 2 = 37 (integer),
        // MostAllocated (75 + 50) / 2 = 62, BalancedAllocation (1 − 0.125)·100 = 87, queue 100/4.
        // Free before the task (2 cores, 7 GB): tetris 13.25 and demand fit 96.2206 (see terms).
        let (fx, t) = one_node();
        let score = |w: TermWeights| only(w).score(&t, &fx.view(), NodeId(0)).unwrap();
        let z = TermWeights::ZERO;
        assert_eq!(score(TermWeights { least_allocated: 1.0, ..z }), 37.0);
        assert_eq!(score(TermWeights { most_allocated: 1.0, ..z }), 62.0);
        assert_eq!(score(TermWeights { balanced_allocation: 1.0, ..z }), 87.0);
        assert_eq!(score(TermWeights { queue: 1.0, ..z }), 25.0);
        assert!((score(TermWeights { tetris: 1.0, ..z }) - 13.25).abs() < 1e-9);
        assert!((score(TermWeights { demand_fit: 1.0, ..z }) - 96.2206).abs() < 1e-4);
        assert_eq!(score(TermWeights { efficiency: 1.0, ..z }), NEUTRAL_SCORE, "never observed");
        assert_eq!(score(TermWeights { response_time: 1.0, ..z }), NEUTRAL_SCORE, "never observed");
        assert_eq!(score(TermWeights::default()), (37.0 + 87.0) / 2.0);
        // Weighted mean: (3·37 + 1·25) / 4 = 34.
        assert_eq!(score(TermWeights { least_allocated: 3.0, queue: 1.0, ..z }), 34.0);
        // Every term at once, before weighting.
        let all = only(TermWeights::default()).terms(&t, &fx.view(), NodeId(0)).unwrap();
        assert_eq!(&all[..4], &[37.0, 62.0, 87.0, 25.0]);
        assert_eq!(all[6..], [NEUTRAL_SCORE, NEUTRAL_SCORE]);
    }

    /// The scorer as it was before the tetris, fit and learned terms, profiles and the
    /// threshold: default configurations must score exactly as it did.
    fn legacy_score(
        terms: TermWeights,
        rw: [i64; N_RESOURCES],
        max_cpu: Option<f64>,
        task: &TaskInfo,
        view: &ClusterView<'_>,
        node: NodeId,
    ) -> Option<f64> {
        let cap = view.spec(node).capacity;
        let req = view.used(node).plus(&task.demand);
        if !req.fits_in(&cap) {
            return None;
        }
        if let Some(max) = max_cpu {
            let cpu = cap.get(Resource::Cpu);
            if cpu > 0 && view.used(node).get(Resource::Cpu) as f64 / cpu as f64 > max {
                return None;
            }
        }
        let weighted = |f: fn(i64, i64) -> i64| {
            let (mut score, mut weights) = (0i64, 0i64);
            for r in Resource::ALL {
                let w = rw[r as usize];
                if w > 0 {
                    score += f(req.get(r) as i64, cap.get(r) as i64) * w;
                    weights += w;
                }
            }
            if weights == 0 {
                0
            } else {
                score / weights
            }
        };
        let mut total = 0.0;
        let mut weight = 0.0;
        let mut add = |w: f64, term: &dyn Fn() -> f64| {
            if w > 0.0 {
                total += w * term();
                weight += w;
            }
        };
        add(terms.least_allocated, &|| weighted(least_requested_score) as f64);
        add(terms.most_allocated, &|| weighted(most_requested_score) as f64);
        add(terms.balanced_allocation, &|| {
            let mut pairs = [(0i64, 0i64); N_RESOURCES];
            let mut len = 0;
            for r in Resource::ALL.into_iter().filter(|&r| rw[r as usize] > 0) {
                pairs[len] = (req.get(r) as i64, cap.get(r) as i64);
                len += 1;
            }
            balanced_score(&pairs[..len]) as f64
        });
        add(terms.queue, &|| MAX_SCORE as f64 / f64::from(1 + view.load(node).tasks()));
        Some(if weight > 0.0 { total / weight } else { 0.0 })
    }

    #[test]
    fn old_configurations_score_bit_for_bit_as_before() {
        let mut gen = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut next = |n: u64| gen.next_u64() % n;
        let z = TermWeights::ZERO;
        let configs = [
            (TermWeights::default(), ResourceUnits { cpu_cores: 1.0, memory_gb: 1.0, ..Default::default() }, None),
            (
                TermWeights { least_allocated: 0.5, most_allocated: 2.0, balanced_allocation: 1.5, queue: 3.0, ..z },
                ResourceUnits { cpu_cores: 2.0, memory_gb: 1.0, gpus: 3.0, ..Default::default() },
                Some(0.7),
            ),
            (TermWeights { queue: 1.0, ..z }, ResourceUnits::default(), Some(0.9)),
        ];
        for (weights, resources, max_cpu) in configs {
            let b = ResourceAware::new(weights, resources, max_cpu);
            let rw = resources.to_array().map(|v| v.round().max(0.0) as i64);
            for _ in 0..2000 {
                let mut fx = Fixture::with_tasks(&[next(9) as u32]);
                let cap = Resources([next(3) * 4000, next(3) * 8000, 0, 0, next(2) * 2000, 0]);
                fx.specs[0].capacity = cap;
                fx.used[0] = Resources(cap.0.map(|c| if c == 0 { 0 } else { next(c + 1) }));
                let t = TaskInfo { demand: Resources([next(3000), next(5000), 0, 0, next(2) * 1000, 0]), ..task() };
                let want = legacy_score(weights, rw, max_cpu, &t, &fx.view(), NodeId(0));
                let got = b.score(&t, &fx.view(), NodeId(0));
                assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "{:?} {:?} {t:?}", fx.specs, fx.used);
            }
        }
    }

    #[test]
    fn filters_then_spreads_or_packs() {
        // Three 4-core nodes using 3, 1 and 2 cores; a 2-core task does not fit node 0.
        let mut fx = Fixture::with_tasks(&[0, 0, 0]);
        for (i, used) in [3u64, 1, 2].into_iter().enumerate() {
            fx.specs[i].capacity = Resources([4000, 0, 0, 0, 0, 0]);
            fx.used[i] = Resources([used * 1000, 0, 0, 0, 0, 0]);
        }
        let t = TaskInfo { demand: Resources([2000, 0, 0, 0, 0, 0]), ..task() };
        let cpu_only = ResourceUnits { cpu_cores: 1.0, ..Default::default() };
        let all = fx.all();
        let mut rng = rng();
        let spread = TermWeights { least_allocated: 1.0, ..TermWeights::ZERO };
        let pack = TermWeights { most_allocated: 1.0, ..TermWeights::ZERO };
        let mut spreader = ResourceAware::new(spread, cpu_only, None);
        let mut packer = ResourceAware::new(pack, cpu_only, None);
        assert_eq!(spreader.pick(&t, &all, &fx.view(), Time::ZERO, &mut rng), Some(NodeId(1)));
        assert_eq!(packer.pick(&t, &all, &fx.view(), Time::ZERO, &mut rng), Some(NodeId(2)));
        // Excluding nodes over 40% CPU leaves only node 1 (25%).
        let mut strict = ResourceAware::new(pack, cpu_only, Some(0.4));
        assert_eq!(strict.pick(&t, &all, &fx.view(), Time::ZERO, &mut rng), Some(NodeId(1)));
    }

    /// Node 0: a CPU node at 95% CPU. Node 1: a CPU node at 50% CPU and 97% memory.
    /// Node 2: a GPU node. Node 3: a CPU node too small for the task.
    fn filter_fixture() -> Fixture {
        let mut fx = Fixture::with_tasks(&[1, 2, 0, 0]);
        let node = |cores: u64, gb: u64, gpus: u64| Resources([cores * 1000, gb * 1000, 0, 0, gpus * 1000, 0]);
        fx.specs[0].capacity = node(40, 100, 0);
        fx.used[0] = Resources([38_000, 10_000, 0, 0, 0, 0]);
        fx.specs[1].capacity = node(20, 100, 0);
        fx.used[1] = Resources([10_000, 97_000, 0, 0, 0, 0]);
        fx.specs[2].capacity = node(20, 100, 4);
        fx.specs[3].capacity = node(1, 100, 0);
        fx
    }

    #[test]
    fn filter_verdicts_name_the_filter() {
        let fx = filter_fixture();
        let cpu_task = TaskInfo { demand: Resources([2000, 1000, 0, 0, 0, 0]), ..task() };
        let config = r#"{"kind": "resource-aware", "max_utilization": {"cpu": 0.9, "memory": 0.95},
                         "reserve_accelerators": true}"#;
        let config: BalancerConfig = serde_json::from_str(config).unwrap();
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        let mut b = config.build();
        let mut why = Explanation::default();
        let all = fx.all();
        // Every candidate is rejected: the task queues at the one with the fewest tasks (node 2).
        let picked = b.pick_explained(&cpu_task, &all, &fx.view(), Time::ZERO, &mut rng(), &mut why);
        assert_eq!(picked, Some(NodeId(2)));
        let verdicts: Vec<_> = why.notes.iter().map(|n| n.rejected_by).collect();
        assert_eq!(
            verdicts,
            [Some("cpu-utilization"), Some("memory-utilization"), Some("reserve-accelerators"), Some("fit")]
        );
        assert_eq!(why.notes[0].terms, [("tasks", 1.0), ("utilization", 0.95)]);
        assert_eq!(why.notes[1].terms, [("tasks", 2.0), ("utilization", 0.97)]);
        // A GPU task is welcome on the GPU node; the others stay rejected (node 3 lacks GPUs).
        let gpu_task = TaskInfo { demand: Resources([2000, 1000, 0, 0, 1000, 0]), ..task() };
        assert_eq!(b.pick_explained(&gpu_task, &all, &fx.view(), Time::ZERO, &mut rng(), &mut why), Some(NodeId(2)));
        assert_eq!(why.notes[2].rejected_by, None);
        assert!(why.notes[2].score.is_some());
        // The old form still parses and sets the CPU limit alone.
        let old: BalancerConfig =
            serde_json::from_str(r#"{"kind": "resource-aware", "max_cpu_utilization": 0.9}"#).unwrap();
        let mut old = old.build();
        old.pick_explained(&cpu_task, &all, &fx.view(), Time::ZERO, &mut rng(), &mut why);
        let verdicts: Vec<_> = why.notes.iter().map(|n| n.rejected_by).collect();
        assert_eq!(verdicts, [Some("cpu-utilization"), None, None, Some("fit")]);
    }

    #[test]
    fn the_profile_with_the_highest_min_priority_at_most_the_task_priority_applies() {
        // Node 0 is emptier (spread wins), node 1 fuller (pack wins).
        let mut fx = Fixture::with_tasks(&[0, 0]);
        for (i, used) in [1u64, 3].into_iter().enumerate() {
            fx.specs[i].capacity = Resources([8000, 8000, 0, 0, 0, 0]);
            fx.used[i] = Resources([used * 1000, used * 1000, 0, 0, 0, 0]);
        }
        let config = r#"{"kind": "resource-aware", "weights": {"least_allocated": 1, "balanced_allocation": 0},
            "profiles": [{"min_priority": 10, "weights": {"least_allocated": 1, "balanced_allocation": 0}},
                         {"min_priority": 5, "weights": {"most_allocated": 1, "least_allocated": 0, "balanced_allocation": 0}}]}"#;
        let config: BalancerConfig = serde_json::from_str(config).unwrap();
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        let mut b = config.build();
        let mut pick = |priority| {
            let t = TaskInfo { priority, ..task() };
            b.pick(&t, &fx.all(), &fx.view(), Time::ZERO, &mut rng()).unwrap().0
        };
        assert_eq!(pick(0), 0, "below every profile: weights (spread)");
        assert_eq!(pick(4), 0);
        assert_eq!(pick(5), 1, "the min_priority 5 profile (pack)");
        assert_eq!(pick(9), 1);
        assert_eq!(pick(10), 0, "the min_priority 10 profile (spread)");
        assert_eq!(pick(1000), 0);
        assert_eq!(pick(-3), 0);
    }

    #[test]
    fn profiles_are_validated() {
        let parse = |json: &str| serde_json::from_str::<BalancerConfig>(json).unwrap().problems();
        let dup = parse(
            r#"{"kind": "resource-aware", "profiles": [{"min_priority": 1, "weights": {"queue": 1}},
                                                       {"min_priority": 1, "weights": {"queue": 2}}]}"#,
        );
        assert_eq!(dup.len(), 1, "{dup:?}");
        assert_eq!(dup[0].0, "profiles");
        assert!(dup[0].1.contains("min_priority 1"), "{dup:?}");
        let zero = parse(
            r#"{"kind": "resource-aware", "profiles": [{"min_priority": 1, "weights":
                {"least_allocated": 0, "balanced_allocation": 0}}]}"#,
        );
        assert!(zero[0].1.contains("at least one positive"), "{zero:?}");
        let err =
            serde_json::from_str::<BalancerConfig>(r#"{"kind": "resource-aware", "profiles": [{"min_priority": 1}]}"#)
                .unwrap_err();
        assert!(err.to_string().contains("missing field `weights`"), "{err}");
    }

    #[test]
    fn below_the_threshold_the_task_waits() {
        // One 4-core node with 3 cores in use: LeastAllocated for a 1-core task is 0.
        let mut fx = Fixture::with_tasks(&[3, 3]);
        for i in 0..2 {
            fx.specs[i].capacity = Resources([4000, 0, 0, 0, 0, 0]);
        }
        fx.used[0] = Resources([3000, 0, 0, 0, 0, 0]);
        fx.used[1] = Resources([4000, 0, 0, 0, 0, 0]);
        let config = r#"{"kind": "resource-aware", "weights": {"balanced_allocation": 0},
                         "resources": {"cpu_cores": 1}, "min_score": 10, "retry_after_s": 2.5}"#;
        let config: BalancerConfig = serde_json::from_str(config).unwrap();
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        let mut b = config.build();
        assert_eq!(b.retry_after(), Span::from_secs_f64(2.5));
        let mut why = Explanation::default();
        // Node 0 scores 0 < 10, node 1 does not fit: wait.
        assert_eq!(b.pick_explained(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng(), &mut why), None);
        assert_eq!(why.notes[0].rejected_by, Some("min-score"));
        assert_eq!(why.notes[0].score, Some(0.0));
        assert_eq!(why.notes[1].rejected_by, Some("fit"));
        assert_eq!(b.pick(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng()), None);
        // With 2 cores in use node 0 scores (4 − 3)·100/4 = 25 ≥ 10: it goes there.
        fx.used[0] = Resources([2000, 0, 0, 0, 0, 0]);
        assert_eq!(b.pick(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng()), Some(NodeId(0)));
        // Without a threshold the default wait is 0.5 s and nothing waits.
        let plain = only(TermWeights::default());
        assert_eq!(plain.retry_after(), Span::from_secs_f64(0.5));
    }

    fn outcome(node: u32, expected_work_s: f64, latency_s: f64, completed: bool) -> Outcome {
        Outcome {
            task: TaskId(0),
            node: NodeId(node),
            latency: Span::from_secs_f64(latency_s),
            expected_work_s,
            completed,
        }
    }

    #[test]
    fn learned_terms_follow_outcomes_and_only_they_ask_for_feedback() {
        assert!(!only(TermWeights::default()).wants_feedback());
        let z = TermWeights::ZERO;
        assert!(only(TermWeights { efficiency: 1.0, ..z }).wants_feedback());
        assert!(only(TermWeights { response_time: 0.5, ..z }).wants_feedback());
        let profiled = only(TermWeights::default())
            .with_profiles(&[WeightProfile { min_priority: 3, weights: TermWeights { efficiency: 1.0, ..z } }]);
        assert!(profiled.wants_feedback());

        let fx = Fixture::with_tasks(&[0, 0, 0]);
        let all = fx.all();
        let t = Time::from_secs_f64(50.0);
        let mut efficient = only(TermWeights { efficiency: 1.0, ..z });
        // Node 0: 1 s of work in 2 s, one loss in three: 100 · 0.5 · 2/3 = 33.3.
        // Node 1: 1 s of work in 1.25 s, no loss: 80. Node 2: never observed, 50.
        for o in [outcome(0, 1.0, 2.0, true), outcome(0, 1.0, 2.0, true), outcome(0, 1.0, 9.0, false)] {
            efficient.observe(&o, t);
        }
        efficient.observe(&outcome(1, 1.0, 1.25, true), t);
        let scores: Vec<f64> = all.iter().map(|&c| efficient.score(&task(), &fx.view(), c).unwrap()).collect();
        assert!((scores[0] - 100.0 / 3.0).abs() < 1e-9, "{scores:?}");
        assert!((scores[1] - 80.0).abs() < 1e-9, "{scores:?}");
        assert_eq!(scores[2], NEUTRAL_SCORE);
        assert_eq!(efficient.pick(&task(), &all, &fx.view(), t, &mut rng()), Some(NodeId(1)));

        // Response time with a 2 s scale: node 0 at 2 s scores 50, node 1 at 0.5 s scores 80;
        // node 2, never observed, 50.
        let mut fast = only(TermWeights { response_time: 1.0, ..z }).with_history(Span::from_secs_f64(10.0), 2.0);
        fast.observe(&outcome(0, 1.0, 2.0, true), t);
        fast.observe(&outcome(1, 1.0, 0.5, true), t);
        let scores: Vec<f64> = all.iter().map(|&c| fast.score(&task(), &fx.view(), c).unwrap()).collect();
        assert_eq!(scores, [50.0, 80.0, 50.0]);
        // A balancer that does not use them keeps nothing.
        let mut plain = only(TermWeights::default());
        plain.observe(&outcome(1, 1.0, 0.5, true), t);
        assert!(plain.history.is_empty());
    }

    #[test]
    fn explained_picks_match_plain_picks() {
        let z = TermWeights::ZERO;
        let every = TermWeights {
            least_allocated: 1.0,
            most_allocated: 0.5,
            balanced_allocation: 1.0,
            queue: 2.0,
            tetris: 3.0,
            demand_fit: 1.0,
            efficiency: 1.0,
            response_time: 1.0,
        };
        let variants = [
            only(TermWeights::default()),
            only(TermWeights { queue: 1.0, ..z }), // many ties: exercises the random tie-break
            // Queue scores are 100 / (1 + tasks): often exactly the threshold.
            only(TermWeights { queue: 1.0, ..z }).with_min_score(Some(50.0), Span::from_secs_f64(1.0)),
            ResourceAware::new(every, ResourceUnits { gpus: 2.0, ..default_resource_weights() }, Some(0.95))
                .with_max_utilization(UtilizationLimits { memory: Some(0.9), ..Default::default() })
                .with_reserve_accelerators(true)
                .with_profiles(&[WeightProfile { min_priority: 2, weights: TermWeights { tetris: 1.0, ..z } }])
                .with_min_score(Some(40.0), Span::from_secs_f64(0.5)),
        ];
        for b in variants {
            assert_explained_matches_pick(b, 3000);
        }
    }

    #[test]
    fn large_lists_are_searched_as_kube_scheduler_does() {
        // numFeasibleNodesToFind: all below 100 nodes; adaptive 50% − n/125 (at least 5%), at
        // least 100 nodes.
        let ra = only(TermWeights::default());
        let find: Vec<usize> = [50, 100, 300, 1000, 5000, 10_000, 100_000].map(|n| ra.nodes_to_find(n)).to_vec();
        assert_eq!(find, [50, 100, 144, 420, 500, 500, 5000]);
        let fifth = only(TermWeights::default()).with_percentage_of_nodes_to_score(20);
        assert_eq!((fifth.nodes_to_find(1000), fifth.nodes_to_find(300)), (200, 100));
        assert_eq!(only(TermWeights::default()).with_percentage_of_nodes_to_score(100).nodes_to_find(1000), 1000);

        // 300 four-core nodes half used, except node 200, idle: the best. The first search looks
        // at nodes 0..144 and cannot see it; the second, 144..288, finds it; the third wraps.
        let mut fx = Fixture::with_tasks_and_cores(&[1; 300], &[4; 300]);
        for (i, used) in fx.used.iter_mut().enumerate() {
            *used = Resources([if i == 200 { 0 } else { 2000 }, 0, 0, 0, 0, 0]);
        }
        fx.loads[200].queued = 0;
        let all = fx.all();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let mut sampled = only(TermWeights::default());
        let picks: Vec<NodeId> =
            (0..3).map(|_| sampled.pick(&task(), &all, &fx.view(), Time::ZERO, &mut rng).unwrap()).collect();
        assert!(picks[0].0 < 144 && picks[2].0 != 200, "{picks:?}");
        assert_eq!(picks[1], NodeId(200));
        let mut every = only(TermWeights::default()).with_percentage_of_nodes_to_score(100);
        assert_eq!(every.pick(&task(), &all, &fx.view(), Time::ZERO, &mut rng), Some(NodeId(200)));

        // Explaining a sampled search chooses and draws exactly as picking does.
        let mut gen = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut plain = only(TermWeights { queue: 1.0, ..TermWeights::default() });
        let mut explained = plain.clone();
        let (mut rng_a, mut rng_b) =
            (rand_chacha::ChaCha8Rng::seed_from_u64(1), rand_chacha::ChaCha8Rng::seed_from_u64(1));
        let mut why = Explanation::default();
        for _ in 0..200 {
            for (load, used) in fx.loads.iter_mut().zip(fx.used.iter_mut()) {
                load.queued = gen.next_u32() % 3;
                *used = Resources([u64::from(gen.next_u32() % 5) * 1000, 0, 0, 0, 0, 0]);
            }
            let a = plain.pick(&task(), &all, &fx.view(), Time::ZERO, &mut rng_a);
            let b = explained.pick_explained(&task(), &all, &fx.view(), Time::ZERO, &mut rng_b, &mut why);
            assert_eq!(a, b);
            assert!((144..=300).contains(&why.notes.len()), "notes cover the nodes looked at: {}", why.notes.len());
            assert_eq!(rng_a.next_u64(), rng_b.next_u64());
        }
    }
}
