//! `online-learning`: a contextual linear model of the slowdown a task would see on a node,
//! trained during the run by recursive least squares, with LinUCB-style optimism.
//!
//! **What it predicts.** The target is the task's *stretch*, `latency / expected_work_s`
//! (dispatch to completion over the work the scheduler expects, both in seconds), so features
//! and target are dimensionless and O(1) whatever the task sizes, and the exploration weight
//! means the same for a 10 ms task as for a 10 min one. For one task `expected_work_s` is
//! common to every node, so the node of least predicted stretch is the node of least predicted
//! latency.
//!
//! **Features** `x`, read at decision time from the view and the task ([`FEATURE_NAMES`]):
//! 1 (intercept); tasks / cores; queued / cores; believed CPU utilisation with the task's demand
//! added; the same for memory; 1 / speed; `(tasks + 1) / (speed · cores)` (the stretch if the
//! node shared its cores among its tasks and this one); and that spec-based stretch
//! `max(1 / speed, (tasks + 1) / (speed · cores))` multiplied by the node's *observed excess*,
//! a per-node average of `stretch seen / spec-based stretch at dispatch` over its recent
//! completions (gain [`EXCESS_GAIN`]), relaxing back to 1 with time constant `decay_s` while the
//! node is not observed. The last feature lets the shared model see a node that is slower than
//! its spec says (a `slow_down` fault no heartbeat reports); the other features only see it
//! through the queue it builds. Load features are capped at 1000, utilisations at 10.
//!
//! **Model.** One linear model shared by all nodes, `stretch ≈ θᵀx`, ridge regression
//! (regulariser `ridge`) trained online by recursive least squares: `A⁻¹` is kept and updated
//! by the Sherman–Morrison formula, O(d²) per outcome, with an optional forgetting factor
//! `λ ≤ 1` (each update first scales `A` and `b` by `λ`) so that the model tracks a changing
//! cluster. While `trace(A⁻¹)` exceeds `λ · d / ridge` an update does not forget, so that
//! `trace(A⁻¹)` never exceeds its initial `d / ridge` and directions the data never excite (no
//! memory in use on a CPU-only cluster, say) cannot wind up. See Haykin, *Adaptive Filter
//! Theory*, ch. 10 (exponentially weighted RLS).
//!
//! **Learning signal.** [`Balancer::observe`]: each completion is paired with the features
//! recorded when the task was dispatched, kept in a ring of [`DISPATCH_SLOTS`] records indexed
//! by task id modulo the capacity, with the id and node stored to detect overwrites and stale
//! copies (ids arrive in order, so a record is lost only when more than [`DISPATCH_SLOTS`]
//! younger tasks were dispatched before it completed — at heavy overload the longest waits are
//! then the ones not learned from). Lost tasks (`completed == false`) are **ignored**: the time
//! to learn of a loss measures the failure detector, not the node's speed, and a node that lost
//! its tasks is out of the candidates until it rejoins. Outcomes of dispatches this balancer did
//! not record are ignored too (a hybrid tells its members where tasks went, through
//! [`Balancer::placed`], so inside a hybrid every dispatch is recorded).
//!
//! **Explore/exploit: LinUCB optimism** (Li, Chu, Langford and Schapire, "A contextual-bandit
//! approach to personalized news article recommendation", WWW 2010): the candidate with the
//! smallest `θᵀx − α·sqrt(xᵀA⁻¹x)` wins, ties broken at random. Chosen over ε-greedy because its
//! exploration is directed: the bonus is large only for feature combinations the model has
//! rarely seen and shrinks as they are observed, so it needs no decay schedule to tune and
//! wastes no decisions on nodes the model already knows to be slow; with forgetting, the bonus
//! never vanishes entirely, so a changed cluster is re-explored. The model is shared, so the
//! bonus explores feature *states*, not node identities; a node avoided for its observed excess
//! is retried once that excess has relaxed (after a few `decay_s`), which is the per-node
//! exploration. Randomness only samples candidates and breaks ties.
//!
//! **Warm-up.** Until `warmup` outcomes have been learned from, decisions are power-of-two
//! choices on task counts (exactly [`PowerOfD`](super::PowerOfD) with `d = 2`, same draws), while
//! features are recorded and the model trains.
//!
//! **Cost.** O(`sample` · d²) per decision with d = 8 (`sample` distinct candidates drawn at
//! random, 8 by default; `null` or 0 scores every candidate, O(candidates · d²)); O(d²) per
//! outcome. Memory: the ring, 2.6 MB, allocated once. Measured (release build, 1,000 candidate
//! nodes, 2 shared cores under load): about 0.6–1.4 µs per decision with the default `sample` of
//! 8, 10–16 µs with 64, 50–90 µs scoring every candidate; 30–80 ns per outcome.

use rand_core::RngCore;

use super::{argmin_random_ties, sample_distinct, uniform_index, Balancer, Explanation, Outcome, Rank};
use crate::{ClusterView, NodeId, Resource, Span, TaskInfo, Time};

/// Number of features.
pub const FEATURES: usize = 8;

/// The features' names, in order (the intercept first).
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "intercept",
    "tasks_per_core",
    "queued_per_core",
    "cpu_utilization",
    "memory_utilization",
    "inverse_speed",
    "shared_stretch",
    "observed_stretch",
];

/// Dispatch records kept for pairing outcomes with their features.
pub const DISPATCH_SLOTS: usize = 1 << 15;

/// Weight of a new observation in a node's observed excess.
pub const EXCESS_GAIN: f64 = 0.25;

/// Cap on the load features.
const MAX_LOAD: f64 = 1e3;
/// Cap on the utilisation features.
const MAX_UTILIZATION: f64 = 10.0;
/// Range of one observed excess ratio.
const EXCESS_RANGE: (f64, f64) = (0.05, 50.0);
/// Cap on a learned stretch.
const MAX_STRETCH: f64 = 1e4;

/// Ridge regression trained one observation at a time by recursive least squares.
///
/// Keeps `P = A⁻¹` with `A = ridge·I + Σ xxᵀ` (every term, `ridge·I` included, scaled by the
/// forgetting factors applied since it was added) and the weights `θ = A⁻¹ b`, `b = Σ y·x`. Each update is O(D²) (the
/// Sherman–Morrison formula) and allocates nothing.
///
/// ```
/// use fulcrum_strategies::balance::RecursiveRidge;
/// let mut model = RecursiveRidge::<2>::new(1e-9, 1.0);
/// for (x, y) in [([1.0, 0.0], 2.0), ([1.0, 1.0], 5.0), ([1.0, 2.0], 8.0)] {
///     model.update(&x, y);
/// }
/// assert!((model.predict(&[1.0, 3.0]) - 11.0).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct RecursiveRidge<const D: usize> {
    p: [[f64; D]; D],
    theta: [f64; D],
    forgetting: f64,
    /// `D / ridge`: the trace of `P` before any data.
    trace_cap: f64,
    updates: u64,
}

impl<const D: usize> RecursiveRidge<D> {
    /// A model with `A = ridge · I` (`ridge > 0`) and forgetting factor `forgetting` in (0, 1].
    pub fn new(ridge: f64, forgetting: f64) -> Self {
        let mut p = [[0.0; D]; D];
        for (i, row) in p.iter_mut().enumerate() {
            row[i] = 1.0 / ridge;
        }
        RecursiveRidge { p, theta: [0.0; D], forgetting, trace_cap: D as f64 / ridge, updates: 0 }
    }

    /// The prediction `θᵀx`.
    #[inline]
    pub fn predict(&self, x: &[f64; D]) -> f64 {
        dot(&self.theta, x)
    }

    /// `sqrt(xᵀA⁻¹x)`: the width of the model's confidence at `x`, in units of the noise.
    #[inline]
    pub fn uncertainty(&self, x: &[f64; D]) -> f64 {
        // (A⁻¹x)_j = Σ_i A⁻¹_ij x_i (A⁻¹ is symmetric): row by row, D independent sums rather than
        // one chain of D² dependent additions.
        let mut px = [0.0; D];
        for (row, xi) in self.p.iter().zip(x) {
            for (o, p) in px.iter_mut().zip(row) {
                *o += p * xi;
            }
        }
        dot(&px, x).max(0.0).sqrt()
    }

    /// Learns one observation: `y` seen at `x`.
    pub fn update(&mut self, x: &[f64; D], y: f64) {
        let trace: f64 = (0..D).map(|i| self.p[i][i]).sum();
        // Anti-windup: forget only while the trace stays within its initial value after it.
        let lambda = if trace <= self.forgetting * self.trace_cap { self.forgetting } else { 1.0 };
        let mut px = [0.0; D];
        for (o, row) in px.iter_mut().zip(&self.p) {
            *o = dot(row, x);
        }
        let denom = lambda + dot(x, &px);
        let error = y - self.predict(x);
        for (t, k) in self.theta.iter_mut().zip(&px) {
            *t += k / denom * error;
        }
        // P ← (P − (Px)(Px)ᵀ / denom) / λ: symmetric by construction.
        for (row, pi) in self.p.iter_mut().zip(&px) {
            for (v, pj) in row.iter_mut().zip(&px) {
                *v = (*v - pi * pj / denom) / lambda;
            }
        }
        self.updates += 1;
    }

    /// The weights `θ`.
    pub fn weights(&self) -> &[f64; D] {
        &self.theta
    }

    /// `A⁻¹`.
    pub fn inverse(&self) -> &[[f64; D]; D] {
        &self.p
    }

    /// How many observations have been learned.
    pub fn updates(&self) -> u64 {
        self.updates
    }
}

#[inline]
fn dot<const D: usize>(a: &[f64; D], b: &[f64; D]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The settings of an [`OnlineLearning`] balancer (the defaults are the configuration's).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LearningSettings {
    /// Ridge regulariser, `> 0`.
    pub ridge: f64,
    /// Forgetting factor in (0, 1]; 1 never forgets.
    pub forgetting: f64,
    /// Optimism `α ≥ 0`: the weight of the confidence width subtracted from the prediction.
    pub exploration: f64,
    /// Outcomes learned from before the model decides.
    pub warmup: u32,
    /// Candidates scored per decision; 0 scores all.
    pub sample: u32,
    /// Time constant with which a node's observed excess relaxes back to 1.
    pub decay: Span,
}

impl Default for LearningSettings {
    fn default() -> Self {
        LearningSettings {
            ridge: OnlineLearning::default_ridge(),
            forgetting: OnlineLearning::default_forgetting(),
            exploration: OnlineLearning::default_exploration(),
            warmup: OnlineLearning::default_warmup(),
            sample: 8,
            decay: Span::from_secs_f64(OnlineLearning::default_decay_s()),
        }
    }
}

/// The features recorded for one dispatch.
#[derive(Clone, Copy, Debug)]
struct Dispatch {
    /// Task id, `u64::MAX` for an empty slot.
    task: u64,
    node: u32,
    x: [f64; FEATURES],
}

const EMPTY: Dispatch = Dispatch { task: u64::MAX, node: 0, x: [0.0; FEATURES] };

/// A node's observed excess stretch.
#[derive(Clone, Copy, Debug)]
struct Excess {
    value: f64,
    at: Time,
}

impl Excess {
    const NONE: Excess = Excess { value: 1.0, at: Time::ZERO };

    /// The value at `now`, relaxed towards 1.
    #[inline]
    fn at(&self, now: Time, decay_ns: f64) -> f64 {
        if self.value == 1.0 {
            return 1.0;
        }
        let w = (-(now.saturating_since(self.at).0 as f64) / decay_ns).exp();
        1.0 + (self.value - 1.0) * w
    }
}

/// Contextual linear regression on stretch, LinUCB exploration, power-of-two warm-up.
#[derive(Clone, Debug)]
pub struct OnlineLearning {
    model: RecursiveRidge<FEATURES>,
    exploration: f64,
    warmup: u64,
    sample: usize,
    decay_ns: f64,
    /// Outcomes learned from.
    learned: u64,
    dispatches: Vec<Dispatch>,
    /// By node index; grown on demand.
    excess: Vec<Excess>,
    /// Scratch: the sampled candidates and the sparse Fisher–Yates swaps.
    sampled: Vec<NodeId>,
    swaps: Vec<(usize, usize)>,
}

impl OnlineLearning {
    /// The largest `sample` accepted (sampling costs O(sample²)).
    pub const MAX_SAMPLE: u32 = 64;

    /// Default ridge regulariser.
    pub fn default_ridge() -> f64 {
        1.0
    }
    /// Default forgetting factor: a memory of about 1 / (1 − λ) = 1000 outcomes.
    pub fn default_forgetting() -> f64 {
        0.999
    }
    /// Default optimism.
    pub fn default_exploration() -> f64 {
        0.5
    }
    /// Default warm-up, in outcomes.
    pub fn default_warmup() -> u32 {
        50
    }
    /// Default candidates per decision (`null` in JSON scores all).
    pub fn default_sample() -> Option<u32> {
        Some(8)
    }
    /// Default time constant of the observed excess, seconds.
    pub fn default_decay_s() -> f64 {
        10.0
    }

    /// A fresh learner.
    pub fn new(settings: LearningSettings) -> Self {
        OnlineLearning {
            model: RecursiveRidge::new(settings.ridge, settings.forgetting),
            exploration: settings.exploration,
            warmup: u64::from(settings.warmup),
            sample: settings.sample.min(Self::MAX_SAMPLE) as usize,
            decay_ns: (settings.decay.0 as f64).max(1.0),
            learned: 0,
            dispatches: vec![EMPTY; DISPATCH_SLOTS],
            excess: Vec::new(),
            sampled: Vec::with_capacity(Self::MAX_SAMPLE as usize),
            swaps: Vec::with_capacity(Self::MAX_SAMPLE as usize),
        }
    }

    /// The model.
    pub fn model(&self) -> &RecursiveRidge<FEATURES> {
        &self.model
    }

    /// Outcomes learned from so far.
    pub fn learned(&self) -> u64 {
        self.learned
    }

    /// True while decisions are still power-of-two choices.
    pub fn warming_up(&self) -> bool {
        self.learned < self.warmup
    }

    /// `node`'s observed excess stretch at `now` (1 for a node that behaves as its spec says).
    pub fn excess(&self, node: NodeId, now: Time) -> f64 {
        self.excess.get(node.index()).map_or(1.0, |e| e.at(now, self.decay_ns))
    }

    /// The features of placing `task` on `node` at `now` (see the module doc).
    pub fn features(&self, task: &TaskInfo, view: &ClusterView<'_>, node: NodeId, now: Time) -> [f64; FEATURES] {
        let spec = view.spec(node);
        let load = view.load(node);
        let used = view.used(node);
        let cpu_cap = spec.capacity.get(Resource::Cpu);
        let cores = if cpu_cap > 0 { cpu_cap as f64 / 1000.0 } else { 1.0 };
        let speed = if spec.speed.is_finite() && spec.speed > 0.0 { spec.speed.clamp(1e-3, 1e3) } else { 1.0 };
        let utilization = |r: Resource| {
            let cap = spec.capacity.get(r);
            if cap == 0 {
                0.0
            } else {
                (used.get(r).saturating_add(task.demand.get(r)) as f64 / cap as f64).min(MAX_UTILIZATION)
            }
        };
        let tasks = f64::from(load.tasks());
        let inverse_speed = 1.0 / speed;
        let shared = (tasks + 1.0) / (speed * cores);
        let spec_stretch = inverse_speed.max(shared);
        [
            1.0,
            (tasks / cores).min(MAX_LOAD),
            (f64::from(load.queued) / cores).min(MAX_LOAD),
            utilization(Resource::Cpu),
            utilization(Resource::Memory),
            inverse_speed,
            shared.min(MAX_LOAD),
            (self.excess(node, now) * spec_stretch).min(MAX_LOAD),
        ]
    }

    /// The predicted stretch, the confidence width and the score (prediction − α · width).
    #[inline]
    fn assess(&self, x: &[f64; FEATURES]) -> (f64, f64, f64) {
        let prediction = self.model.predict(x);
        let bonus = self.model.uncertainty(x);
        (prediction, bonus, prediction - self.exploration * bonus)
    }

    fn record(&mut self, task: &TaskInfo, node: NodeId, view: &ClusterView<'_>, now: Time) {
        let x = self.features(task, view, node, now);
        self.dispatches[(task.id.0 % DISPATCH_SLOTS as u64) as usize] = Dispatch { task: task.id.0, node: node.0, x };
    }

    /// Power-of-two choices on task counts, draw for draw as `PowerOfD::new(2)`.
    fn two_choices(
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        rng: &mut dyn RngCore,
        why: Option<&mut Explanation>,
    ) -> NodeId {
        let n = candidates.len();
        let tasks = |c: NodeId| view.load(c).tasks();
        let (chosen, considered): (NodeId, [Option<NodeId>; 2]) = if n <= 2 {
            let best = candidates.iter().copied().min_by_key(|&c| tasks(c)).unwrap_or(candidates[0]);
            (best, [Some(candidates[0]), candidates.get(1).copied()])
        } else {
            let i = uniform_index(rng, n);
            let mut j = uniform_index(rng, n - 1);
            if j >= i {
                j += 1;
            }
            let (a, b) = (candidates[i], candidates[j]);
            (if tasks(b) < tasks(a) { b } else { a }, [Some(a), Some(b)])
        };
        if let Some(why) = why {
            for c in considered.into_iter().flatten() {
                let t = f64::from(tasks(c));
                why.note(c, None, &[("tasks", t)], Some(t));
            }
        }
        chosen
    }

    fn decide(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
        mut why: Option<&mut Explanation>,
    ) -> Option<NodeId> {
        if let Some(why) = why.as_deref_mut() {
            why.clear();
            why.rank = Rank::Lowest;
        }
        if candidates.is_empty() {
            return None;
        }
        let chosen = if self.warming_up() {
            Self::two_choices(candidates, view, rng, why)
        } else {
            let n = candidates.len();
            let mut sampled = std::mem::take(&mut self.sampled);
            let scored = if self.sample == 0 || self.sample >= n {
                candidates
            } else {
                sample_distinct(candidates, self.sample, rng, &mut sampled, &mut self.swaps);
                &sampled[..]
            };
            let this = &*self;
            let best = argmin_random_ties(scored, rng, |c| {
                let x = this.features(task, view, c, now);
                let (prediction, bonus, score) = this.assess(&x);
                if let Some(why) = why.as_deref_mut() {
                    let mut terms = [("", 0.0); FEATURES + 1];
                    for (t, (name, v)) in terms.iter_mut().zip(FEATURE_NAMES.iter().zip(x).skip(1)) {
                        *t = (*name, v);
                    }
                    terms[FEATURES - 1] = ("prediction", prediction);
                    terms[FEATURES] = ("bonus", bonus);
                    why.note(c, None, &terms, Some(score));
                }
                Some(score)
            });
            self.sampled = sampled;
            best.unwrap_or(candidates[0])
        };
        self.record(task, chosen, view, now);
        Some(chosen)
    }
}

impl Balancer for OnlineLearning {
    fn pick(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
    ) -> Option<NodeId> {
        self.decide(task, candidates, view, now, rng, None)
    }

    fn pick_explained(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
        why: &mut Explanation,
    ) -> Option<NodeId> {
        self.decide(task, candidates, view, now, rng, Some(why))
    }

    /// The score `pick` ranks by, for every candidate (no sampling); during warm-up, the task
    /// count, which power-of-two choices ranks by.
    fn scores(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        out: &mut Vec<f64>,
    ) -> bool {
        out.clear();
        if self.warming_up() {
            out.extend(candidates.iter().map(|&c| f64::from(view.load(c).tasks())));
        } else {
            out.extend(candidates.iter().map(|&c| self.assess(&self.features(task, view, c, now)).2));
        }
        true
    }

    fn placed(&mut self, task: &TaskInfo, node: NodeId, view: &ClusterView<'_>, now: Time) {
        self.record(task, node, view, now);
    }

    fn wants_feedback(&self) -> bool {
        true
    }

    fn observe(&mut self, outcome: &Outcome, now: Time) {
        let slot = &mut self.dispatches[(outcome.task.0 % DISPATCH_SLOTS as u64) as usize];
        if slot.task != outcome.task.0 || slot.node != outcome.node.0 {
            return; // not dispatched by this balancer, overwritten, or a stale copy
        }
        let x = slot.x;
        *slot = EMPTY;
        let work = outcome.expected_work_s;
        if !(outcome.completed && work.is_finite() && work > 0.0) {
            return;
        }
        let stretch = (outcome.latency.as_secs_f64() / work).min(MAX_STRETCH);
        self.model.update(&x, stretch);
        self.learned += 1;
        // Observed excess: the stretch seen over the spec-based stretch at dispatch.
        let spec_stretch = x[5].max(x[6]);
        let ratio = (stretch / spec_stretch).clamp(EXCESS_RANGE.0, EXCESS_RANGE.1);
        let node = outcome.node.index();
        if self.excess.len() <= node {
            self.excess.resize(node + 1, Excess::NONE);
        }
        let e = &mut self.excess[node];
        let current = e.at(now, self.decay_ns);
        *e = Excess { value: current + EXCESS_GAIN * (ratio - current), at: now };
    }
}

#[cfg(test)]
// Matrix algebra in the closed-form checks reads best with indices.
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::balance::testkit::{task, Fixture};
    use crate::balance::{BalancerConfig, PowerOfD};
    use crate::{NodeLoad, Resources, TaskId};
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    /// `A⁻¹` by Gauss–Jordan elimination with partial pivoting.
    fn inverse<const D: usize>(a: [[f64; D]; D]) -> [[f64; D]; D] {
        let mut m = a;
        let mut inv = [[0.0; D]; D];
        for (i, row) in inv.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        for col in 0..D {
            let pivot = (col..D).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs())).unwrap();
            m.swap(col, pivot);
            inv.swap(col, pivot);
            let p = m[col][col];
            for j in 0..D {
                m[col][j] /= p;
                inv[col][j] /= p;
            }
            for i in (0..D).filter(|&i| i != col) {
                let f = m[i][col];
                for j in 0..D {
                    m[i][j] -= f * m[col][j];
                    inv[i][j] -= f * inv[col][j];
                }
            }
        }
        inv
    }

    fn times<const D: usize>(a: &[[f64; D]; D], b: &[f64; D]) -> [f64; D] {
        let mut out = [0.0; D];
        for (o, row) in out.iter_mut().zip(a) {
            *o = dot(row, b);
        }
        out
    }

    /// A small fixed dataset: y = 2 + 3·x₁ − x₂ plus a deterministic wobble.
    fn dataset() -> Vec<([f64; 3], f64)> {
        (0..12)
            .map(|i| {
                let (x1, x2) = (i as f64 * 0.37 % 2.0, (i * i) as f64 * 0.11 % 1.7);
                ([1.0, x1, x2], 2.0 + 3.0 * x1 - x2 + 0.05 * ((i * 7) % 5) as f64 - 0.1)
            })
            .collect()
    }

    #[test]
    fn recursive_least_squares_reproduces_closed_form_ridge() {
        let ridge = 0.7;
        let mut model = RecursiveRidge::<3>::new(ridge, 1.0);
        let mut a = [[0.0; 3]; 3];
        let mut b = [0.0; 3];
        for (i, row) in a.iter_mut().enumerate() {
            row[i] = ridge;
        }
        for (x, y) in dataset() {
            model.update(&x, y);
            for i in 0..3 {
                b[i] += y * x[i];
                for j in 0..3 {
                    a[i][j] += x[i] * x[j];
                }
            }
        }
        let p = inverse(a);
        let theta = times(&p, &b);
        for i in 0..3 {
            assert!((model.weights()[i] - theta[i]).abs() < 1e-9, "{:?} vs {theta:?}", model.weights());
            for j in 0..3 {
                assert!((model.inverse()[i][j] - p[i][j]).abs() < 1e-9, "A⁻¹[{i}][{j}]");
            }
        }
        // The fit is near the generating slope (ridge shrinks it a little).
        assert!((2.5..3.5).contains(&theta[1]), "{theta:?}");
        assert_eq!(model.updates(), 12);
    }

    #[test]
    fn forgetting_matches_the_exponentially_weighted_closed_form() {
        let (ridge, lambda) = (0.5, 0.9);
        let mut model = RecursiveRidge::<3>::new(ridge, lambda);
        let mut a = [[0.0; 3]; 3];
        let mut b = [0.0; 3];
        for (i, row) in a.iter_mut().enumerate() {
            row[i] = ridge;
        }
        let mut forgot = 0;
        for (x, y) in dataset() {
            // The anti-windup rule, on the closed form: forget only while trace(A⁻¹) ≤ λ · d / ridge.
            let p = inverse(a);
            let l = if p[0][0] + p[1][1] + p[2][2] <= lambda * 3.0 / ridge { lambda } else { 1.0 };
            forgot += usize::from(l < 1.0);
            for i in 0..3 {
                b[i] = l * b[i] + y * x[i];
                for j in 0..3 {
                    a[i][j] = l * a[i][j] + x[i] * x[j];
                }
            }
            model.update(&x, y);
        }
        assert!(forgot >= 10, "the rule must let most updates forget, got {forgot}");
        let theta = times(&inverse(a), &b);
        for i in 0..3 {
            assert!((model.weights()[i] - theta[i]).abs() < 1e-9, "{:?} vs {theta:?}", model.weights());
        }
    }

    #[test]
    fn unexcited_directions_do_not_wind_up() {
        // Only the intercept is ever excited: without the rule, the other two diagonal entries of
        // A⁻¹ would grow as 0.9^-n and overflow. With it the trace stays within d / ridge = 3.
        let mut model = RecursiveRidge::<3>::new(1.0, 0.9);
        for i in 0..10_000 {
            model.update(&[1.0, 0.0, 0.0], (i % 3) as f64);
        }
        let p = model.inverse();
        assert!(p[0][0] + p[1][1] + p[2][2] <= 3.0 + 1e-12, "{p:?}");
        assert!(p[1][1] > 1.0, "forgetting still acts on the unexcited directions: {p:?}");
        assert!((model.weights()[0] - 1.0).abs() < 0.5, "{:?}", model.weights());
    }

    #[test]
    fn features_reproduce_a_hand_computation() {
        // 4 cores at speed 2, 2 running + 3 queued + 1 in flight, 2 cores and 1 GB of 4 GB used,
        // the task demands a core.
        let mut fx = Fixture::with_tasks(&[0]);
        fx.specs[0] = crate::NodeSpec { capacity: Resources([4000, 4000, 0, 0, 0, 0]), speed: 2.0 };
        fx.loads[0] = NodeLoad { running: 2, queued: 3, in_flight: 1 };
        fx.used[0] = Resources([2000, 1000, 0, 0, 0, 0]);
        let b = OnlineLearning::new(LearningSettings::default());
        let x = b.features(&task(), &fx.view(), NodeId(0), Time::ZERO);
        // tasks/cores 6/4, queued/cores 3/4, CPU (2+1)/4, memory 1/4, 1/speed, (6+1)/(2·4), and
        // excess 1 × max(0.5, 0.875).
        let want = [1.0, 1.5, 0.75, 0.75, 0.25, 0.5, 0.875, 0.875];
        for (got, want) in x.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{x:?}");
        }
    }

    fn done(task: u64, node: u32, latency_s: f64, work: f64) -> Outcome {
        Outcome {
            task: TaskId(task),
            node: NodeId(node),
            latency: Span::from_secs_f64(latency_s),
            expected_work_s: work,
            completed: true,
        }
    }

    #[test]
    fn outcomes_pair_with_their_own_dispatch_only() {
        let fx = Fixture::with_tasks(&[0, 0]);
        let mut b = OnlineLearning::new(LearningSettings::default());
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let t = |id| TaskInfo { id: TaskId(id), ..task() };
        let n0 = b.pick(&t(5), &fx.all(), &fx.view(), Time::ZERO, &mut rng).unwrap();
        // Wrong node: a stale copy elsewhere; ignored, and the record stays.
        b.observe(&done(5, 1 - n0.0, 1.0, 1.0), Time::ZERO);
        assert_eq!(b.learned(), 0);
        b.observe(&done(5, n0.0, 1.0, 1.0), Time::ZERO);
        assert_eq!(b.learned(), 1);
        // The record is consumed: a second report teaches nothing.
        b.observe(&done(5, n0.0, 1.0, 1.0), Time::ZERO);
        assert_eq!(b.learned(), 1);
        // Overwritten by a task DISPATCH_SLOTS younger: the old one is not learned.
        let old = 7;
        let young = old + DISPATCH_SLOTS as u64;
        let a = b.pick(&t(old), &fx.all(), &fx.view(), Time::ZERO, &mut rng).unwrap();
        let c = b.pick(&t(young), &fx.all(), &fx.view(), Time::ZERO, &mut rng).unwrap();
        b.observe(&done(old, a.0, 1.0, 1.0), Time::ZERO);
        assert_eq!(b.learned(), 1);
        b.observe(&done(young, c.0, 1.0, 1.0), Time::ZERO);
        assert_eq!(b.learned(), 2);
        // Losses are ignored.
        let l = b.pick(&t(9), &fx.all(), &fx.view(), Time::ZERO, &mut rng).unwrap();
        b.observe(&Outcome { completed: false, ..done(9, l.0, 3.0, 1.0) }, Time::ZERO);
        assert_eq!(b.learned(), 2);
    }

    #[test]
    fn observed_excess_moves_by_its_gain_and_relaxes_with_time() {
        let fx = Fixture::with_tasks(&[0]);
        let settings = LearningSettings { decay: Span::from_secs_f64(10.0), ..LearningSettings::default() };
        let mut b = OnlineLearning::new(settings);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        b.pick(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng);
        // An idle single-core node at speed 1: the spec says stretch 1; the task took 4× its work.
        b.observe(&done(0, 0, 8.0, 2.0), Time::ZERO);
        assert!((b.excess(NodeId(0), Time::ZERO) - 1.75).abs() < 1e-12);
        let later = b.excess(NodeId(0), Time::from_secs_f64(10.0));
        assert!((later - (1.0 + 0.75 * (-1.0f64).exp())).abs() < 1e-9, "{later}");
        assert_eq!(b.excess(NodeId(1), Time::ZERO), 1.0, "never observed");
    }

    /// A synthetic cluster of 4-core nodes at spec speed 1; `slow` actually runs at speed 1/4.
    /// Each round draws random task counts, lets `b` pick, and reports the latency a fair share
    /// of the cores gives: work · max(1, (tasks + 1) / cores) / true speed.
    fn train(b: &mut OnlineLearning, slow: u32, rounds: u64, seed: u64) {
        let mut fx = Fixture::with_tasks_and_cores(&[0; 4], &[4; 4]);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut world = ChaCha8Rng::seed_from_u64(seed + 1);
        for id in 0..rounds {
            for load in fx.loads.iter_mut() {
                load.queued = uniform_index(&mut world, 9) as u32;
            }
            let work = [0.5, 1.0, 2.0][uniform_index(&mut world, 3)];
            let t = TaskInfo { id: TaskId(id), expected_work_s: work, ..task() };
            let node = b.pick(&t, &fx.all(), &fx.view(), Time::from_secs_f64(id as f64 * 0.01), &mut rng).unwrap();
            let tasks = f64::from(fx.loads[node.index()].tasks());
            let speed = if node.0 == slow { 0.25 } else { 1.0 };
            let latency = work * (1.0f64).max((tasks + 1.0) / 4.0) / speed;
            b.observe(&done(id, node.0, latency, work), Time::from_secs_f64(id as f64 * 0.01));
        }
    }

    #[test]
    fn learns_to_avoid_a_node_four_times_slower_than_its_spec() {
        // A long memory for the excess, so that the test sees what was learned rather than its
        // relaxation (tested on its own above).
        let settings = LearningSettings { sample: 0, decay: Span::from_secs_f64(1e4), ..LearningSettings::default() };
        let mut b = OnlineLearning::new(settings);
        train(&mut b, 2, 2_000, 11);
        assert!(b.learned() == 2_000 && !b.warming_up());
        let now = Time::from_secs_f64(20.0);
        assert!(b.excess(NodeId(2), now) > 2.5, "excess {}", b.excess(NodeId(2), now));
        // Equal task counts: the slow node is never chosen.
        let fx = Fixture::with_tasks_and_cores(&[2; 4], &[4; 4]);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut counts = [0u32; 4];
        for id in 0..200 {
            let t = TaskInfo { id: TaskId(10_000 + id), ..task() };
            counts[b.pick(&t, &fx.all(), &fx.view(), now, &mut rng).unwrap().index()] += 1;
        }
        assert_eq!(counts[2], 0, "{counts:?}");
        // And load still counts: an idle node beats busy ones.
        let fx = Fixture::with_tasks_and_cores(&[8, 8, 8, 0], &[4; 4]);
        assert_eq!(b.pick(&task(), &fx.all(), &fx.view(), now, &mut rng), Some(NodeId(3)));
        // Predicted stretch on the slow node is about 4× the others' at equal load.
        let fx = Fixture::with_tasks_and_cores(&[0; 4], &[4; 4]);
        let predict = |n| b.model().predict(&b.features(&task(), &fx.view(), NodeId(n), now));
        let ratio = predict(2) / predict(0);
        assert!((2.5..5.5).contains(&ratio), "{} / {} = {ratio}", predict(2), predict(0));
    }

    #[test]
    fn warm_up_is_power_of_two_choices_draw_for_draw() {
        for n in [1usize, 2, 3, 7] {
            let mut b = OnlineLearning::new(LearningSettings { warmup: 1_000, ..LearningSettings::default() });
            let mut p2c = PowerOfD::new(2);
            let (mut r1, mut r2) = (ChaCha8Rng::seed_from_u64(n as u64), ChaCha8Rng::seed_from_u64(n as u64));
            let mut world = ChaCha8Rng::seed_from_u64(99);
            let mut fx = Fixture::with_tasks(&vec![0; n]);
            for id in 0..300 {
                for load in fx.loads.iter_mut() {
                    load.queued = uniform_index(&mut world, 4) as u32;
                }
                let t = TaskInfo { id: TaskId(id), ..task() };
                let a = b.pick(&t, &fx.all(), &fx.view(), Time::ZERO, &mut r1);
                let c = p2c.pick(&t, &fx.all(), &fx.view(), Time::ZERO, &mut r2);
                assert_eq!(a, c, "n = {n}, decision {id}");
                if id % 2 == 0 {
                    b.observe(&done(id, a.unwrap().0, 1.0, 1.0), Time::ZERO);
                }
            }
            assert!(b.warming_up() && b.learned() == 150);
            assert_eq!(r1.next_u64(), r2.next_u64(), "same draws");
        }
    }

    /// Decisions of a trained learner on random views, outcomes fed back as they come.
    fn run(b: &mut OnlineLearning, rng: &mut ChaCha8Rng, explained: bool) -> Vec<Option<NodeId>> {
        let mut fx = Fixture::with_tasks_and_cores(&[0; 12], &[4; 12]);
        let mut world = ChaCha8Rng::seed_from_u64(3);
        let mut why = Explanation::default();
        let mut out = Vec::new();
        for id in 0..400u64 {
            for load in fx.loads.iter_mut() {
                load.queued = uniform_index(&mut world, 6) as u32;
            }
            let t = TaskInfo { id: TaskId(id), ..task() };
            let now = Time::from_secs_f64(id as f64 * 0.01);
            let picked = if explained {
                let p = b.pick_explained(&t, &fx.all(), &fx.view(), now, rng, &mut why);
                assert_eq!(why.rank, Rank::Lowest);
                let expected = if b.learned() < 50 { 2 } else { 3 };
                assert_eq!(why.notes.len(), expected, "decision {id}");
                // The chosen node carries the least score among those noted.
                let least = why.notes.iter().filter_map(|n| n.score).fold(f64::INFINITY, f64::min);
                let chosen = why.notes.iter().find(|n| n.node == p.unwrap().0).unwrap();
                assert_eq!(chosen.score, Some(least), "decision {id}");
                p
            } else {
                b.pick(&t, &fx.all(), &fx.view(), now, rng)
            };
            let node = picked.unwrap();
            let slow = if node.0 == 4 { 3.0 } else { 1.0 };
            let latency = slow * f64::max(1.0, f64::from(fx.loads[node.index()].tasks() + 1) / 4.0);
            b.observe(&done(id, node.0, latency, 1.0), now);
            out.push(picked);
        }
        out
    }

    #[test]
    fn pick_explained_chooses_what_pick_chooses_with_the_same_draws() {
        let mut b = OnlineLearning::new(LearningSettings { sample: 3, ..LearningSettings::default() });
        let mut twin = b.clone();
        let (mut r1, mut r2) = (ChaCha8Rng::seed_from_u64(8), ChaCha8Rng::seed_from_u64(8));
        let plain = run(&mut b, &mut r1, false);
        let explained = run(&mut twin, &mut r2, true);
        assert_eq!(plain, explained);
        assert_eq!(r1.next_u64(), r2.next_u64(), "same draws");
        assert_eq!(b.model().weights(), twin.model().weights());
        // The learner mostly left the slow node 4 alone once warmed up.
        let on_slow = plain[200..].iter().filter(|p| **p == Some(NodeId(4))).count();
        assert!(on_slow < 10, "{on_slow} of 200 on the slow node");
    }

    #[test]
    fn same_seed_same_choices() {
        let decisions = |seed| {
            let mut b = OnlineLearning::new(LearningSettings { sample: 5, ..LearningSettings::default() });
            run(&mut b, &mut ChaCha8Rng::seed_from_u64(seed), false)
        };
        assert_eq!(decisions(21), decisions(21));
        assert_ne!(decisions(21), decisions(22), "the seed matters");
    }

    #[test]
    fn scored_then_placed_decisions_are_learned_from() {
        let fx = Fixture::with_tasks(&[3, 1]);
        let mut b = OnlineLearning::new(LearningSettings { warmup: 1, ..LearningSettings::default() });
        let mut scores = Vec::new();
        assert!(b.scores(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut scores));
        assert_eq!(scores, vec![3.0, 1.0], "warm-up scores are task counts");
        b.placed(&task(), NodeId(1), &fx.view(), Time::ZERO);
        b.observe(&done(0, 1, 2.0, 1.0), Time::ZERO);
        assert_eq!(b.learned(), 1);
        assert!(b.scores(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut scores));
        for (i, s) in scores.iter().enumerate() {
            let x = b.features(&task(), &fx.view(), NodeId(i as u32), Time::ZERO);
            let want = b.model().predict(&x) - 0.5 * b.model().uncertainty(&x);
            assert!((s - want).abs() < 1e-12);
        }
    }

    #[test]
    fn config_defaults_and_problems() {
        let c: BalancerConfig = serde_json::from_str(r#"{"kind": "online-learning"}"#).unwrap();
        assert_eq!(
            c,
            BalancerConfig::OnlineLearning {
                ridge: 1.0,
                forgetting: 0.999,
                exploration: 0.5,
                warmup: 50,
                sample: Some(8),
                decay_s: 10.0
            }
        );
        assert!(c.problems().is_empty() && c.has_scores() && c.build().wants_feedback());
        let all: BalancerConfig = serde_json::from_str(r#"{"kind": "online-learning", "sample": null}"#).unwrap();
        assert!(matches!(all, BalancerConfig::OnlineLearning { sample: None, .. }));
        let bad: BalancerConfig = serde_json::from_str(
            r#"{"kind": "online-learning", "ridge": 0, "forgetting": 1.5, "exploration": -1, "sample": 65,
                "decay_s": 0}"#,
        )
        .unwrap();
        let names: Vec<&str> = bad.problems().iter().map(|(p, _)| *p).collect();
        assert_eq!(names, ["ridge", "forgetting", "exploration", "sample", "decay_s"]);
    }
}
