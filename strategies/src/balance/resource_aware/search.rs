//! The search behind `resource-aware`'s `pick`: every candidate is filtered exactly, but the exact
//! score — several divisions per node — is computed only for candidates whose score could still
//! reach the best so far, as judged by an upper bound that costs a few multiplications.
//!
//! The choice, and the random numbers drawn to break ties, are the same as scoring every
//! candidate exactly: a candidate is skipped only when its bound is below the best score so far
//! (or the threshold), so its exact score is too, and scoring it would have changed nothing — it
//! would have lost, without a draw. `pick_explained`, which notes every candidate's terms, scores
//! them all (`explained_picks_match_plain_picks` and `the_pruned_search_chooses_as_scoring_every_node`
//! compare the two; `bounds_are_at_least_the_scores` checks the bound itself).
//!
//! **Two passes.** The first goes through the candidates looked at (from where the previous
//! search stopped, until `to_find` have passed the filters or all have been looked at), applies
//! the filters, and writes the candidates that pass one after the other with their bounds, without
//! a branch on the filters (a rejected candidate is written at the same place, then overwritten).
//! The second goes through those in order, scoring a candidate exactly only if its bound reaches
//! the best so far. How the first pass is arranged depends on what the bound costs
//! ([`ResourceAware::first_pass`]); searching the whole list with a term mask known when
//! compiling, it checks only the weighted dimensions and leaves the other filters to the exact
//! score.
//!
//! **Runs.** Candidates are taken in runs of equal capacity (ids of a node group are usually
//! consecutive); for each run the search derives once what depends on the capacity, the demand and
//! the weights alone ([`Run`]): `1 / c_r`, whether the demand fits at all or `reserve-accelerators`
//! rejects the node, the largest use each dimension allows — `c_r − d_r`, or less where a
//! utilisation limit allows less (found by [`largest_use_within`]) — so that the fit and
//! utilisation filters cost one comparison per dimension, and the constants of the bound below.
//! Capacities are read from the view at every pick: nothing about a node is kept from one pick to
//! the next but what the balancer learned itself (checking that a kept capacity still holds would
//! read as much as comparing it with the run's).
//!
//! **The bound.** Each weighted term `t` gets an upper bound `b_t` of its value `v_t`, and the
//! bound of the score `S = Σ_t w_t v_t / Σ_t w_t` is `B = Σ_t (w_t m) b_t + MARGIN`, with `m` at
//! least `1 / Σ_t w_t` ([`Scales`]). As real numbers `B ≥ S + MARGIN`; every quantity in either
//! sum is below a few hundred and each sum is short, so computed in floating point (in whatever
//! order) each is within 10⁻¹² of its real value, and the bound computed is above the score
//! `evaluate` computes. The bounds, for a node that passes the filters (so `a_r = u_r + d_r ≤ c_r`,
//! with `u` its believed use, `d` the demand, `c` its capacity), over the dimensions with
//! positive resource weight `ω_r` that the node has:
//! - the requested fraction `f_r = a_r / c_r`, that Kubernetes' terms read, is estimated as
//!   `u_r · (1 / c_r) + d_r · (1 / c_r)` (the second product once per run): within a few units
//!   in the last place of the exact quotient (such errors, and those of the other estimates
//!   below, are far below the [`MARGIN`] each estimated bound gets);
//! - `least_allocated` ≤ `P · Σ_r ω_r (1 − f_r) + MARGIN` with `P = 100 / Σ ω` over every
//!   weighted dimension (the integer divisions only round down), `most_allocated` ≤
//!   `P · Σ_r ω_r f_r + MARGIN`;
//! - `balanced_allocation` ≤ `100 (1 − R / √(2n)) + MARGIN` over the `n ≥ 2` fractions, `R`
//!   their range: the mean minimises the sum of squared deviations, which is then at least
//!   `(max − m)² + (min − m)² ≥ R² / 2`, so the standard deviation is at least `R / √(2n)`
//!   (equal for two fractions); 100 for fewer (the fractions are at most 1, so the term's cap at 1
//!   changes none);
//! - `tetris` = `P · Σ_r ω_r s_r g_r` with `s_r = min(1, d_r / c_r)` (computed once per run, as
//!   `evaluate` computes it) and the free share `g_r = (c_r − u_r) / c_r = 1 + d_r / c_r − f_r`
//!   (at most 1 for a node that passes): `≤ P · Σ_r ω_r s_r (1 + s_r − f_r) + MARGIN`;
//! - so these four terms' bounds, weighted, together are `top + Σ_r k_r f_r − spread · R`, with
//!   the weights, `m`, the margins and the demand folded into constants of the run: a few
//!   multiplications per weighted dimension, or with two dimensions `top − max(p · f, q · f)`
//!   (`|f₀ − f₁| = max(f₀ − f₁, f₁ − f₀)`);
//! - `queue` by the term of `min(tasks, 63)`, from a table; `efficiency` and `response_time`
//!   from a compact record of the node's history that the balancer keeps beside it
//!   (`LearnedBound`, in `history.rs`): the response-time term itself, and the efficiency term
//!   with the same one division by the node's speed as the term;
//! - `demand_fit` by 100 in the first pass; in the second, for a candidate whose bound reaches
//!   the best so far, by `100 c` with its cosine `c` estimated from the free shares
//!   `(c_r − u_r) · (1 / c_r)`, and the candidate is scored only if the bound so lowered still
//!   reaches it ([`Refiner`], which also takes the integer parts of the Kubernetes terms'
//!   bounds, the terms being integers: only with a run-time term mask, whose exact score costs
//!   the most, and which alone can weigh demand fit).
//!
//! Weighted capacities of [`FAST_CAPACITY`] or more skip the bound (every such node is scored).

use std::cmp::Ordering;

use rand_core::RngCore;

use super::history::LearnedBound;
use super::terms::{queue_score_bound, MAX_SCORE};
use super::{
    ResourceAware, WeightSet, BALANCED, DEMAND_FIT, EFFICIENCY, LEAST, MOST, N_TERMS, QUEUE, RESPONSE_TIME, RUNTIME,
    TETRIS,
};
use crate::balance::uniform_index;
use crate::resources::{same_amounts, u64_to_f64};
use crate::{ClusterView, NodeId, Resource, TaskInfo, N_RESOURCES};

/// Capacities from this on (milli-units) are scored without the bound.
const FAST_CAPACITY: u64 = 1 << 40;

/// Added to each bound (terms are on a 0–100 scale; the estimates are within 1e-12).
const MARGIN: f64 = 1e-9;

/// `1 / √(2n)` for `n` fractions (`n ≥ 2`), rounded down: the standard deviation of `n` values
/// of range `R` is at least `R / √(2n)`.
const INV_SQRT_2N: [f64; N_RESOURCES + 1] =
    [0.0, 0.0, 0.5, 0.408_248_290_463_863, 0.353_553_390_593_273_7, 0.316_227_766_016_837_9, 0.288_675_134_594_812_8];

/// The resource-weighted dimensions (`ResourceAware::active`, in order) in `NA` slots: the first
/// `n_active` real, the others padded with dimension 0 and weight 0 (and, in a [`Run`], nothing
/// to add and nothing to compare), so that loops over them have a length known when compiling.
#[derive(Clone, Copy, Debug)]
struct Dims<const NA: usize> {
    index: [usize; NA],
    weight: [f64; NA],
    /// How many slots are real.
    len: usize,
}

impl<const NA: usize> Dims<NA> {
    fn of(ra: &ResourceAware) -> Self {
        let mut dims = Dims { index: [0; NA], weight: [0.0; NA], len: ra.n_active.min(NA) };
        for (i, &(r, _)) in ra.active[..dims.len].iter().enumerate() {
            (dims.index[i], dims.weight[i]) = (r, ra.resource_weights_f64[r]);
        }
        dims
    }
}

/// The bound of the resource terms of a node with two weighted dimensions, as
/// `top − max(p₀ f₀ + p₁ f₁, q₀ f₀ + q₁ f₁)` with the fractions `f₀, f₁` (see the module doc).
#[derive(Clone, Copy, Debug)]
struct Two {
    /// The two dimensions and, for each, `1 / capacity` and the demand's share `d · (1 / c)`.
    dims: [usize; 2],
    recip: [f64; 2],
    offset: [f64; 2],
    p: [f64; 2],
    q: [f64; 2],
}

/// What the search derives once for a run of candidates of one capacity.
#[derive(Clone, Copy, Debug)]
struct Run<const NA: usize> {
    capacity: [u64; N_RESOURCES],
    /// True unless every node of the run is rejected whatever its use: the demand exceeds the
    /// capacity somewhere, or `reserve-accelerators` keeps such nodes for other tasks.
    open: bool,
    /// Where `open`, a node passes the fit and utilisation filters exactly when its use is at
    /// most this in every dimension: `capacity − demand` (`u + d ≤ c`, and the sum cannot
    /// overflow when `u ≤ c − d`), or less where a utilisation limit allows less.
    limit: [u64; N_RESOURCES],
    /// Every weighted capacity is below [`FAST_CAPACITY`]: the bound applies.
    fast: bool,
    /// `open` and `limit` for the weighted dimensions alone (the limit without the utilisation
    /// filters), one per slot: all that a search of the whole list checks in the first pass, so
    /// that its runs need only those capacities to be equal.
    slot_open: bool,
    slot_limit: [u64; NA],
    /// For each weighted slot where the node has the resource: `1 / capacity`, the demand's share
    /// `d · (1 / c)` (the fraction is estimated as `u · (1 / c) + d · (1 / c)`) and the
    /// fraction's coefficient `k` in the bound; 0 for the others (and for a padding slot). `pad`
    /// is 0 where the node has the resource and +∞ elsewhere, to keep the slot out of the least
    /// and largest fractions.
    slot_recip: [f64; NA],
    slot_offset: [f64; NA],
    slot_coef: [f64; NA],
    slot_pad: [f64; NA],
    /// The bound of the four resource terms is `top + Σ k f − spread · R` (see the module doc).
    top: f64,
    spread: f64,
    /// The same as one expression, where the node has two weighted dimensions.
    two: Option<Two>,
}

impl<const NA: usize> Run<NA> {
    fn new(
        ra: &ResourceAware,
        capacity: [u64; N_RESOURCES],
        task: &TaskInfo,
        dims: &Dims<NA>,
        scales: &Scales,
    ) -> Self {
        let demand = &task.demand.0;
        let reserved = ra.reserve_accelerators
            && [Resource::Gpu, Resource::Fpga].iter().any(|&r| demand[r as usize] == 0 && capacity[r as usize] > 0);
        // The utilisation filters as a largest use per limited dimension, folded into `limit`.
        let mut limit: [u64; N_RESOURCES] = std::array::from_fn(|r| capacity[r].wrapping_sub(demand[r]));
        let mut open = capacity.iter().zip(demand).all(|(c, d)| d <= c) && !reserved;
        for &(r, max) in &ra.limited[..ra.n_limited] {
            match largest_use_within(capacity[r], max) {
                Some(most) => limit[r] = limit[r].min(most),
                None => open = false,
            }
        }
        let mut run = Run {
            capacity,
            open,
            limit,
            fast: dims.index.iter().all(|&r| capacity[r] < FAST_CAPACITY),
            slot_open: dims.index.iter().all(|&r| demand[r] <= capacity[r]),
            slot_limit: dims.index.map(|r| capacity[r].wrapping_sub(demand[r])),
            slot_recip: [0.0; NA],
            slot_offset: [0.0; NA],
            slot_coef: [0.0; NA],
            slot_pad: [f64::INFINITY; NA],
            top: 0.0,
            spread: 0.0,
            two: None,
        };
        let t = &scales.term;
        let per_weight = scales.per_weight;
        let (mut present, mut n_present) = ([0usize; NA], 0);
        // `Σ ω` and `Σ ω s (1 + s)` over the slots the node has.
        let (mut present_weight, mut tetris_sum) = (0.0, 0.0);
        for i in 0..dims.len {
            let r = dims.index[i];
            let cap = capacity[r];
            if cap == 0 {
                continue;
            }
            let weight = dims.weight[i];
            let share = (demand[r] as f64 / cap as f64).min(1.0);
            run.slot_recip[i] = 1.0 / u64_to_f64(cap);
            run.slot_offset[i] = demand[r] as f64 * run.slot_recip[i];
            run.slot_pad[i] = 0.0;
            run.slot_coef[i] = per_weight * weight * (t[MOST] - t[LEAST] - t[TETRIS] * share);
            present[n_present] = i;
            n_present += 1;
            present_weight += weight;
            tetris_sum += weight * share * (1.0 + share);
        }
        run.top = t[LEAST] * (per_weight * present_weight + MARGIN)
            + t[MOST] * MARGIN
            + t[BALANCED] * (MAX_SCORE as f64 + MARGIN)
            + t[TETRIS] * (per_weight * tetris_sum + MARGIN)
            + t[DEMAND_FIT] * MAX_SCORE as f64
            + MARGIN;
        run.spread = if n_present < 2 { 0.0 } else { t[BALANCED] * MAX_SCORE as f64 * INV_SQRT_2N[n_present] };
        if n_present == 2 {
            let (i, j) = (present[0], present[1]);
            let (k, spread) = ([run.slot_coef[i], run.slot_coef[j]], run.spread);
            run.two = Some(Two {
                dims: [dims.index[i], dims.index[j]],
                recip: [run.slot_recip[i], run.slot_recip[j]],
                offset: [run.slot_offset[i], run.slot_offset[j]],
                p: [spread - k[0], -spread - k[1]],
                q: [-spread - k[0], spread - k[1]],
            });
        }
        run
    }

    /// True if `capacity` is this run's in every dimension (in every weighted one if `WHOLE`,
    /// `index` being the weighted dimensions).
    #[inline(always)]
    fn same<const WHOLE: bool>(&self, capacity: &[u64; N_RESOURCES], index: &[usize; NA]) -> bool {
        if WHOLE {
            index.iter().fold(true, |same, &r| same & (capacity[r] == self.capacity[r]))
        } else {
            same_amounts(capacity, &self.capacity)
        }
    }

    /// True if a node of this run with use `used` passes the filters (those of the weighted
    /// dimensions alone if `WHOLE`), for an open run.
    #[inline(always)]
    fn passes<const WHOLE: bool>(&self, used: &[u64; N_RESOURCES], index: &[usize; NA]) -> bool {
        if WHOLE {
            let mut pass = true;
            for (&r, &limit) in index.iter().zip(&self.slot_limit) {
                pass &= used[r] <= limit;
            }
            pass
        } else {
            let mut pass = true;
            for (&u, &limit) in used.iter().zip(&self.limit) {
                pass &= u <= limit;
            }
            pass
        }
    }

    /// The bound of the four resource terms (see the module doc), for a node of this run that
    /// passes the filters, with `fast` set (for another, some finite number), from its use in
    /// the weighted dimensions `index`.
    #[inline(always)]
    fn resource_bound(&self, used: &[u64; N_RESOURCES], index: &[usize; NA]) -> f64 {
        let (mut sum, mut low, mut high) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
        for i in 0..NA {
            // (The use is exact as a double where the task fits, below 2^40; elsewhere the
            // estimate is some finite number, not used.)
            let fraction = used[index[i]] as i64 as f64 * self.slot_recip[i] + self.slot_offset[i];
            sum += self.slot_coef[i] * fraction;
            // (Comparisons rather than `min` and `max`, which also handle NaN, absent here.)
            let (l, h) = (fraction + self.slot_pad[i], fraction - self.slot_pad[i]);
            low = if l < low { l } else { low };
            high = if h > high { h } else { high };
        }
        // (With fewer than two fractions, `spread` is 0 and the range 0 or −∞.)
        let range = high - low;
        self.top + sum - self.spread * if range > 0.0 { range } else { 0.0 }
    }
}

impl Two {
    /// [`Run::resource_bound`] for a node of a run with two weighted dimensions that the node
    /// has, with `dims` those dimensions (as `self.dims`) and `top` the run's.
    #[inline(always)]
    fn bound(&self, top: f64, dims: [usize; 2], used: &[u64; N_RESOURCES]) -> f64 {
        let fraction = |k: usize| used[dims[k]] as i64 as f64 * self.recip[k] + self.offset[k];
        let (f0, f1) = (fraction(0), fraction(1));
        let (p, q) = (self.p[0] * f0 + self.p[1] * f1, self.q[0] * f0 + self.q[1] * f1);
        top - if p > q { p } else { q }
    }
}

/// The largest use `u` of a dimension of capacity `capacity` that the utilisation filter with
/// limit `max` passes (`!(u as f64 / capacity as f64 > max)`, as `evaluate` tests it), or `None`
/// if it rejects every use. The filter ignores a dimension the node lacks. The quotient is
/// non-decreasing in `u`, so the uses it passes are `0..=u`: found from the estimate
/// `max · capacity`, moved a step at a time (an estimate within a few units of the boundary
/// where the capacity is below 2^53), or by bisection.
fn largest_use_within(capacity: u64, max: f64) -> Option<u64> {
    // Not `u / capacity > max` (so NaN passes), as `evaluate` tests it.
    let passes = |u: u64| (u as f64 / capacity as f64).partial_cmp(&max) != Some(Ordering::Greater);
    if capacity == 0 || passes(u64::MAX) {
        return Some(u64::MAX);
    }
    if !passes(0) {
        return None;
    }
    // passes(low) and !passes(high), narrowed until adjacent.
    let estimate = (max * capacity as f64) as u64;
    let (mut low, mut high) = (0, u64::MAX);
    for u in estimate.saturating_sub(4)..=estimate.saturating_add(4) {
        if passes(u) {
            low = low.max(u);
        } else {
            high = high.min(u);
        }
    }
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if passes(middle) {
            low = middle;
        } else {
            high = middle;
        }
    }
    Some(low)
}

/// Scratch space of the search, kept by the balancer so that a pick allocates nothing.
#[derive(Clone, Debug, Default)]
pub(super) struct Scratch {
    /// The candidates that passed the filters, in the order looked at, with their bounds.
    passed: Vec<(NodeId, f64)>,
}

/// What the bound of one search multiplies by.
#[derive(Clone, Copy, Debug)]
struct Scales {
    /// `100 / Σ_r ω_r` over the resource weights (0 if there is none): the scale of the
    /// Kubernetes terms and of Tetris.
    per_weight: f64,
    /// Each term's weight times at least `1 / Σ_t w_t`: the weighted mean's `1 / Σ w_t` where
    /// that is exact, else that rounded up (a product is then at least the quotient the mean
    /// computes; every weight set has a positive weight).
    term: [f64; N_TERMS],
    /// The terms with positive weight.
    mask: u8,
}

impl Scales {
    fn new(ra: &ResourceAware, weights: &WeightSet) -> Self {
        let mean = match weights.exact_recip {
            Some(recip) => recip,
            // `fl(1 / W)` is within half a unit in the last place of `1 / W`: a unit up is above.
            None => (1.0 / weights.weight_sum).next_up(),
        };
        // Only the positive weights count in the mean (the others are 0 or are not added).
        let term = weights.all.map(|w| if w > 0.0 { w * mean } else { 0.0 });
        Scales { per_weight: ra.per_resource_weight(), term, mask: weights.mask }
    }
}

/// The terms a search bounds node by node, beyond the four the run's constants cover (and
/// `demand_fit`, bounded by 100 until the second pass): bits of [`QUEUE`] and of [`LEARNED`].
/// A constant, so that the loops carry no test of them.
type PerNode = u8;

/// [`PerNode`]'s bit for both learned terms (bounded together: an unweighted one adds 0).
const LEARNED: u8 = 1 << EFFICIENCY;

/// [`PerNode`] of the queue term alone.
const QUEUE_ONLY: u8 = 1 << QUEUE;

/// [`PerNode`] for a term mask.
#[inline(always)]
fn per_node(mask: u8) -> PerNode {
    (mask & 1 << QUEUE) | if mask & (1 << EFFICIENCY | 1 << RESPONSE_TIME) != 0 { LEARNED } else { 0 }
}

impl ResourceAware {
    /// The candidate `pick` chooses among `candidates[start..]` and then `candidates[..start]`,
    /// looking until `to_find` candidates have passed the filters or all have been looked at:
    /// the highest score (at least `min_score`), ties broken as [`argmin_random_ties`] breaks
    /// them (one draw per tie met). Also returns the index after the last candidate looked at.
    ///
    /// [`argmin_random_ties`]: crate::balance::argmin_random_ties
    #[allow(clippy::too_many_arguments)]
    pub(super) fn search<const MASK: u8>(
        &self,
        weights: &WeightSet,
        task: &TaskInfo,
        candidates: &[NodeId],
        start: usize,
        to_find: usize,
        view: &ClusterView<'_>,
        rng: &mut dyn RngCore,
        scratch: &mut Scratch,
    ) -> (Option<NodeId>, usize) {
        // The usual numbers of weighted dimensions get loops compiled for them.
        match self.n_active {
            2 => self.search_in::<MASK, 2>(weights, task, candidates, start, to_find, view, rng, scratch),
            4 => self.search_in::<MASK, 4>(weights, task, candidates, start, to_find, view, rng, scratch),
            _ => self.search_in::<MASK, N_RESOURCES>(weights, task, candidates, start, to_find, view, rng, scratch),
        }
    }

    /// [`search`](Self::search) with `NA` weighted slots.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn search_in<const MASK: u8, const NA: usize>(
        &self,
        weights: &WeightSet,
        task: &TaskInfo,
        candidates: &[NodeId],
        start: usize,
        to_find: usize,
        view: &ClusterView<'_>,
        rng: &mut dyn RngCore,
        scratch: &mut Scratch,
    ) -> (Option<NodeId>, usize) {
        let n = candidates.len();
        let passed = &mut scratch.passed;
        if passed.len() < n {
            passed.resize(n, (NodeId(0), 0.0));
        }
        let dims = Dims::<NA>::of(self);
        let scales = Scales::new(self, weights);

        // Pass 1: filters and bounds. Searching the whole list with the term set known, nothing
        // depends on how many candidates pass the filters: the first pass then checks only the
        // weighted dimensions (where the bound needs room for the task), and leaves the other
        // filters to the exact score.
        let (found, end) = if to_find >= n && MASK != RUNTIME {
            self.first_pass::<MASK, NA, true>(task, candidates, start, to_find, view, &dims, &scales, passed)
        } else {
            self.first_pass::<MASK, NA, false>(task, candidates, start, to_find, view, &dims, &scales, passed)
        };

        // Pass 2: in the same order, the exact score where the bound reaches the best so far.
        let min_score = self.min_score.unwrap_or(f64::NEG_INFINITY);
        // The best so far, with its key (the negated score), and how many tie with it.
        let mut best: Option<(NodeId, f64)> = None;
        let mut ties = 0usize;
        // Only a score at least this can change the choice.
        let mut threshold = min_score;
        let mut terms = [0.0; N_TERMS];
        // When the score depends on the node's capacity and use alone (and its task count, with
        // the queue term), a node whose inputs are the best's has the best's score: a tie,
        // without scoring it again.
        let learned_terms = 1 << EFFICIENCY | 1 << RESPONSE_TIME;
        let inputs_decide = weights.mask & learned_terms == 0;
        let with_tasks = weights.mask & 1 << QUEUE != 0;
        // With a run-time mask the exact score costs the most: the first bound is refined first.
        let refine = MASK == RUNTIME;
        let mut refiner = Refiner::<NA>::new();
        let mut best_inputs = ([0u64; N_RESOURCES], [0u64; N_RESOURCES], 0u32);
        for &(c, bound) in &passed[..found] {
            if bound < threshold {
                continue;
            }
            let capacity = &view.spec(c).capacity.0;
            let used = &view.used(c).0;
            if refine
                && bound < f64::INFINITY
                && bound - refiner.lower(task, capacity, used, &dims, &scales) < threshold
            {
                continue;
            }
            let tasks = if with_tasks { view.load(c).tasks() } else { 0 };
            let key = match best {
                Some((_, b))
                    if inputs_decide
                        && tasks == best_inputs.2
                        && same_amounts(capacity, &best_inputs.0)
                        && same_amounts(used, &best_inputs.1) =>
                {
                    b
                }
                _ => match self.evaluate::<false, MASK>(weights, task, view, c, &mut terms) {
                    Ok(score) if score >= min_score => -score,
                    _ => continue,
                },
            };
            match best {
                Some((_, b)) if key > b => continue,
                Some((_, b)) if key == b => {
                    ties += 1;
                    if uniform_index(rng, ties) != 0 {
                        continue;
                    }
                }
                _ => ties = 1,
            }
            best = Some((c, key));
            best_inputs = (*capacity, *used, tasks);
            threshold = min_score.max(-key);
        }
        (best.map(|(c, _)| c), end)
    }

    /// The first pass of [`search_in`](Self::search_in): from `start`, wrapping around, the
    /// candidates that pass the filters (only those of the weighted dimensions if `WHOLE`), with
    /// their bounds, one after the other in `passed` until `to_find` have passed; returns how many
    /// passed, and the index after the last candidate looked at.
    ///
    /// With a term mask known when compiling, the bound is cheap: every candidate gets one, with
    /// no branch on the filters. With a run-time mask it costs more than a mispredicted branch:
    /// the bounds are computed afterwards, a run at a time, for the candidates that passed
    /// ([`bound_run`](Self::bound_run)). And a sampled search, which compares every capacity, or
    /// one with more than two weighted dimensions, would keep more numbers at hand than the
    /// processor has registers in one loop: one loop finds how far the run goes (at most as far
    /// as must still be looked at), and another filters (and bounds) its candidates.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn first_pass<const MASK: u8, const NA: usize, const WHOLE: bool>(
        &self,
        task: &TaskInfo,
        candidates: &[NodeId],
        start: usize,
        to_find: usize,
        view: &ClusterView<'_>,
        dims: &Dims<NA>,
        scales: &Scales,
        passed: &mut [(NodeId, f64)],
    ) -> (usize, usize) {
        let n = candidates.len();
        let learned = self.history.bounds();
        let fused = MASK != RUNTIME;
        let split = !WHOLE || NA > 2;
        // Known at compile time unless `MASK` is `RUNTIME`.
        let per = if fused { per_node(MASK) } else { per_node(scales.mask) };
        // (Every index is below `N_RESOURCES`: so clamped, the compiler knows it too.)
        let index = dims.index.map(|r| r.min(N_RESOURCES - 1));
        let Some(&first) = candidates.get(start) else { return (0, start) };
        let mut run = Run::new(self, view.spec(first).capacity.0, task, dims, scales);
        // `passed[run_start..found]` passed in this run.
        let (mut found, mut run_start, mut end) = (0, 0, start);
        'search: for (from, to) in [(start, n), (0, start)] {
            let mut pos = from;
            while pos < to {
                if found >= to_find {
                    end = pos;
                    break 'search;
                }
                let capacity = &view.spec(candidates[pos]).capacity.0;
                if !run.same::<WHOLE>(capacity, &index) {
                    if !fused {
                        Self::bound_run(&run, &mut passed[run_start..found], &index, scales, per, view, learned);
                    }
                    run_start = found;
                    run = Run::new(self, *capacity, task, dims, scales);
                }
                let mut rest = &candidates[pos..to];
                if split || !(if WHOLE { run.slot_open } else { run.open }) {
                    // As many candidates as must still be looked at, at most, while they are
                    // nodes of the run (then the filters look at all of them).
                    rest = &rest[..rest.len().min(to_find - found)];
                    let same = |&c: &NodeId| run.same::<WHOLE>(&view.spec(c).capacity.0, &index);
                    rest = &rest[..rest.iter().position(|c| !same(c)).unwrap_or(rest.len())];
                    if !(if WHOLE { run.slot_open } else { run.open }) {
                        // The whole run is rejected.
                        pos += rest.len();
                        continue;
                    }
                }
                // A loop compiled for each case: `CHECK` unless the candidates are known to be
                // nodes of the run.
                macro_rules! scan {
                    ($check:literal) => {
                        if !fused {
                            scan_run::<NA, WHOLE, $check>(&run, rest, view, &index, passed, found, to_find, |_, _| 0.0)
                        } else if !run.fast {
                            // +∞ (score it) where the bound does not apply.
                            let infinite = |_, _: &[u64; N_RESOURCES]| f64::INFINITY;
                            scan_run::<NA, WHOLE, $check>(&run, rest, view, &index, passed, found, to_find, infinite)
                        } else if let Some(two) = &run.two {
                            // (With two slots, both present, they are `index` itself.)
                            let two_dims = if NA == 2 {
                                [index[0], index[1 % NA]]
                            } else {
                                two.dims.map(|r| r.min(N_RESOURCES - 1))
                            };
                            let top = run.top;
                            let bound = |c, used: &[u64; N_RESOURCES]| {
                                node_terms(two.bound(top, two_dims, used), scales, per, c, view, learned)
                            };
                            scan_run::<NA, WHOLE, $check>(&run, rest, view, &index, passed, found, to_find, bound)
                        } else {
                            let bound = |c, used: &[u64; N_RESOURCES]| {
                                node_terms(run.resource_bound(used, &index), scales, per, c, view, learned)
                            };
                            scan_run::<NA, WHOLE, $check>(&run, rest, view, &index, passed, found, to_find, bound)
                        }
                    };
                }
                let looked;
                (found, looked) = if split { scan!(false) } else { scan!(true) };
                pos += looked;
            }
        }
        if !fused {
            Self::bound_run(&run, &mut passed[run_start..found], &index, scales, per, view, learned);
        }
        (found, end)
    }

    /// Writes beside each candidate of `passed`, nodes of `run` that pass the filters, its bound
    /// (+∞ where the run's capacities are too large for the bound).
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn bound_run<const NA: usize>(
        run: &Run<NA>,
        passed: &mut [(NodeId, f64)],
        index: &[usize; NA],
        scales: &Scales,
        per: PerNode,
        view: &ClusterView<'_>,
        learned: &[LearnedBound],
    ) {
        if !run.fast {
            for (_, bound) in passed.iter_mut() {
                *bound = f64::INFINITY;
            }
            return;
        }
        // A loop compiled for each set of terms bounded node by node.
        match per {
            0 => fill_bounds::<NA, 0>(run, passed, index, scales, view, learned),
            LEARNED => fill_bounds::<NA, LEARNED>(run, passed, index, scales, view, learned),
            QUEUE_ONLY => fill_bounds::<NA, QUEUE_ONLY>(run, passed, index, scales, view, learned),
            _ => fill_bounds::<NA, { QUEUE_ONLY | LEARNED }>(run, passed, index, scales, view, learned),
        }
    }

    /// The first pass's candidates and bounds, over the whole list, demand fit's bound refined
    /// as the second pass refines it (`WHOLE`: as a search of the whole list with a term mask
    /// known when compiling checks them).
    #[cfg(test)]
    fn first_pass_bounds<const MASK: u8, const WHOLE: bool>(
        &self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
    ) -> Vec<(NodeId, f64)> {
        fn run<const MASK: u8, const NA: usize, const WHOLE: bool>(
            ra: &ResourceAware,
            task: &TaskInfo,
            candidates: &[NodeId],
            view: &ClusterView<'_>,
        ) -> Vec<(NodeId, f64)> {
            let weights = ra.weights_for(task.priority);
            let (dims, scales) = (Dims::<NA>::of(ra), Scales::new(ra, weights));
            let mut passed = vec![(NodeId(0), 0.0); candidates.len()];
            let n = candidates.len();
            let (found, end) =
                ra.first_pass::<MASK, NA, WHOLE>(task, candidates, 0, n, view, &dims, &scales, &mut passed);
            assert_eq!(end, 0, "the whole list is looked at");
            passed.truncate(found);
            if MASK == RUNTIME {
                for (c, bound) in &mut passed {
                    let (capacity, used) = (&view.spec(*c).capacity.0, &view.used(*c).0);
                    if *bound < f64::INFINITY {
                        *bound -= Refiner::new().lower(task, capacity, used, &dims, &scales);
                    }
                }
            }
            passed
        }
        match self.n_active {
            2 => run::<MASK, 2, WHOLE>(self, task, candidates, view),
            4 => run::<MASK, 4, WHOLE>(self, task, candidates, view),
            _ => run::<MASK, N_RESOURCES, WHOLE>(self, task, candidates, view),
        }
    }

    /// `100 / Σ_r w_r` over the resource weights (0 if there is none): the Kubernetes terms'
    /// scale.
    fn per_resource_weight(&self) -> f64 {
        if self.resource_weight_sum > 0 {
            MAX_SCORE as f64 / self.resource_weight_sum as f64
        } else {
            0.0
        }
    }
}

/// [`ResourceAware::bound_run`] for the terms `PER` (see [`PerNode`]).
#[inline(always)]
fn fill_bounds<const NA: usize, const PER: PerNode>(
    run: &Run<NA>,
    passed: &mut [(NodeId, f64)],
    index: &[usize; NA],
    scales: &Scales,
    view: &ClusterView<'_>,
    learned: &[LearnedBound],
) {
    if let Some(two) = &run.two {
        let (top, dims) = (run.top, two.dims.map(|r| r.min(N_RESOURCES - 1)));
        for (c, bound) in passed.iter_mut() {
            *bound = node_terms(two.bound(top, dims, &view.used(*c).0), scales, PER, *c, view, learned);
        }
    } else {
        for (c, bound) in passed.iter_mut() {
            *bound = node_terms(run.resource_bound(&view.used(*c).0, index), scales, PER, *c, view, learned);
        }
    }
}

/// Looks at the candidates of `rest` (if `CHECK`, while they are nodes of `run` and fewer than
/// `to_find` have passed; else all of them, known to be): writes each in `passed[found]` with its
/// `bound` (from its id and use), and counts it in `found` if it passes the filters.
/// Returns `found` and how many it looked at.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn scan_run<const NA: usize, const WHOLE: bool, const CHECK: bool>(
    run: &Run<NA>,
    rest: &[NodeId],
    view: &ClusterView<'_>,
    index: &[usize; NA],
    passed: &mut [(NodeId, f64)],
    mut found: usize,
    to_find: usize,
    bound: impl Fn(NodeId, &[u64; N_RESOURCES]) -> f64,
) -> (usize, usize) {
    for (k, &c) in rest.iter().enumerate() {
        if CHECK && (found >= to_find || !run.same::<WHOLE>(&view.spec(c).capacity.0, index)) {
            return (found, k);
        }
        let used = &view.used(c).0;
        let pass = run.passes::<WHOLE>(used, index);
        passed[found] = (c, bound(c, used));
        found += usize::from(pass);
    }
    (found, rest.len())
}

/// `resources` (the bound of the resource terms) plus the bounds of the terms of node `c` that
/// `per` lists (see [`PerNode`]), weighted.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn node_terms(
    resources: f64,
    scales: &Scales,
    per: PerNode,
    c: NodeId,
    view: &ClusterView<'_>,
    learned: &[LearnedBound],
) -> f64 {
    let t = &scales.term;
    let queue = || t[QUEUE] * queue_score_bound(view.load(c).tasks());
    // (Every node's record is there when a learned term is weighted: see `choose`.)
    let learned = || {
        let record = &learned[c.index()];
        t[EFFICIENCY] * record.efficiency(view.spec(c).speed) + t[RESPONSE_TIME] * record.response()
    };
    match (per & 1 << QUEUE != 0, per & LEARNED != 0) {
        (false, false) => resources,
        (true, false) => resources + queue(),
        (false, true) => resources + learned(),
        (true, true) => resources + queue() + learned(),
    }
}

/// The second pass's tighter bound, with a run-time term mask (whose exact score costs the
/// most), for the candidates whose first bound reaches the best so far: how much lower than the
/// first bound it is. Demand fit's first bound, 100, becomes its own ([`demand_fit_bound`], from
/// the free shares `(c_r − u_r) · (1 / c_r)` and the demand shares computed as `Alignment::of`
/// computes them); and as `least_allocated`, `most_allocated` and `balanced_allocation` are
/// integers, each bound `x + MARGIN` (from the same estimates as the first pass's) becomes the
/// integer [`floor_of`] gives. What depends on the capacity alone is kept for the next
/// candidate of the same capacity (in the weighted dimensions).
#[derive(Clone, Copy, Debug)]
struct Refiner<const NA: usize> {
    /// The weighted dimensions' capacities the rest was derived for.
    capacity: [u64; NA],
    /// Per slot where the node has the resource, `1 / c`, `d · (1 / c)`, `ω s` and `ω` (0
    /// elsewhere), and 0 (+∞ elsewhere) to keep the slot out of the least and largest fractions.
    recip: [f64; NA],
    offset: [f64; NA],
    share_weight: [f64; NA],
    weight: [f64; NA],
    pad: [f64; NA],
    /// `Σ ω s²`, summed as `Alignment::of` sums it (so the same number).
    demand_sq: f64,
    /// `Σ ω` over the slots the node has.
    present_weight: f64,
    /// `100 / √(2n)` for `n ≥ 2` weighted dimensions that the node has, else 0.
    slope: f64,
}

/// At least `⌊x + MARGIN⌋`, and equal to it unless `x + MARGIN` is within 2⁻²⁰ below the next
/// integer (then that integer), for `|x| < 2^50` (else some finite number): three additions,
/// rounding `x + MARGIN − ½ + 2⁻²⁰` to the nearest integer by adding and subtracting
/// `1.5 · 2^52` (every double of that size is an integer, and the default rounding is to the
/// nearest).
#[inline(always)]
fn floor_of(x: f64) -> f64 {
    const ROUND: f64 = 1.5 * (1u64 << 52) as f64;
    const SHIFT: f64 = MARGIN - 0.5 + 1.0 / (1u64 << 20) as f64;
    (x + SHIFT + ROUND) - ROUND
}

impl<const NA: usize> Refiner<NA> {
    /// For no capacity yet.
    fn new() -> Self {
        Refiner {
            capacity: [u64::MAX; NA],
            recip: [0.0; NA],
            offset: [0.0; NA],
            share_weight: [0.0; NA],
            weight: [0.0; NA],
            pad: [f64::INFINITY; NA],
            demand_sq: 0.0,
            present_weight: 0.0,
            slope: 0.0,
        }
    }

    /// How much lower the tighter bound of a node of capacity `capacity` and use `used` is than
    /// its first bound (see the type), for a node that passes the filters (in the weighted
    /// dimensions), with those capacities below [`FAST_CAPACITY`].
    #[inline(never)]
    fn lower(
        &mut self,
        task: &TaskInfo,
        capacity: &[u64; N_RESOURCES],
        used: &[u64; N_RESOURCES],
        dims: &Dims<NA>,
        scales: &Scales,
    ) -> f64 {
        let weighted: [u64; NA] = dims.index.map(|r| capacity[r]);
        if weighted != self.capacity {
            *self = Refiner::new();
            self.capacity = weighted;
            let mut n_present = 0;
            for i in 0..dims.len {
                let (r, weight) = (dims.index[i], dims.weight[i]);
                let cap = capacity[r];
                if cap == 0 {
                    continue;
                }
                let share = (task.demand.0[r] as f64 / cap as f64).min(1.0);
                self.recip[i] = 1.0 / u64_to_f64(cap);
                self.offset[i] = task.demand.0[r] as f64 * self.recip[i];
                self.share_weight[i] = weight * share;
                self.weight[i] = weight;
                self.pad[i] = 0.0;
                self.demand_sq += weight * share * share;
                self.present_weight += weight;
                n_present += 1;
            }
            self.slope = if n_present < 2 { 0.0 } else { MAX_SCORE as f64 * INV_SQRT_2N[n_present] };
        }
        let (mut taken, mut low, mut high, mut dot, mut free_sq) = (0.0, f64::INFINITY, f64::NEG_INFINITY, 0.0, 0.0);
        for i in 0..NA {
            let r = dims.index[i];
            // (0 where the node lacks the resource, and for a padding slot.)
            let fraction = used[r] as i64 as f64 * self.recip[i] + self.offset[i];
            taken += self.weight[i] * fraction;
            let (l, h) = (fraction + self.pad[i], fraction - self.pad[i]);
            low = if l < low { l } else { low };
            high = if h > high { h } else { high };
            let free = capacity[r].wrapping_sub(used[r]) as i64 as f64 * self.recip[i];
            let free = if free < 1.0 { free } else { 1.0 };
            dot += self.share_weight[i] * free;
            free_sq += self.weight[i] * free * free;
        }
        let range = high - low;
        let range = if range > 0.0 { range } else { 0.0 };
        let t = &scales.term;
        // Each first bound `x + MARGIN`, less the integer in its place.
        let excess = |x: f64| x + MARGIN - floor_of(x);
        t[LEAST] * excess(scales.per_weight * (self.present_weight - taken))
            + t[MOST] * excess(scales.per_weight * taken)
            + t[BALANCED] * excess(MAX_SCORE as f64 - self.slope * range)
            + t[DEMAND_FIT] * (MAX_SCORE as f64 - demand_fit_bound(self.demand_sq, dot, free_sq))
    }
}

/// At least `demand_fit`'s value, from the demand's exact `Σ w a²` and the estimates of
/// `Σ w a b` and `Σ w b²` (each within 10 units in the last place of the exact sum, relatively:
/// every free share is within 3 of the exact one, and all the terms are non-negative). With
/// `y = dot² / (Σ w a² · Σ w b²)`, the estimated cosine squared, within 40 units in the last
/// place, `√y` is within 21 of the cosine, and `evaluate`'s quotient within a few: the rounding
/// up by 10⁻¹² covers both. The exact term is the cosine × 100, capped at 100, or 100 where the
/// demand has no weighted part, or 0 where the node has no free room. With almost no free room,
/// where the free shares' squares could underflow, the bound is 100.
#[inline(always)]
fn demand_fit_bound(demand_sq: f64, dot: f64, free_sq: f64) -> f64 {
    if demand_sq == 0.0 || free_sq.partial_cmp(&1e-200) != Some(Ordering::Greater) {
        return MAX_SCORE as f64;
    }
    let y = dot * dot / (demand_sq * free_sq);
    let bound = MAX_SCORE as f64 * y.sqrt() * (1.0 + 1e-12) + MARGIN;
    if bound < MAX_SCORE as f64 {
        bound
    } else {
        MAX_SCORE as f64
    }
}

#[cfg(test)]
mod tests {
    use rand_core::{RngCore, SeedableRng};

    use super::*;
    use crate::balance::resource_aware::{
        TermWeights, UtilizationLimits, WeightProfile, KUBERNETES_ALL, KUBERNETES_DEFAULT,
    };
    use crate::balance::testkit::{task, Fixture};
    use crate::balance::{Balancer, Explanation, Outcome};
    use crate::{ResourceUnits, Resources, Span, TaskId, Time};

    #[test]
    fn the_largest_use_within_a_limit_is_the_utilisation_filters_boundary() {
        let mut gen = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut cases = vec![(0, 0.9), (4000, 0.9), (4000, 1.0), (3, 0.5), (1 << 62, 0.95), (7, -0.5), (9, 2.0)];
        cases.extend((0..2000).map(|_| (1 + gen.next_u64() % 10_000_000, (1 + gen.next_u64() % 1000) as f64 / 1000.0)));
        cases.extend([(u64::MAX, 0.3), (1000, f64::NAN), (1000, f64::INFINITY)]);
        for (capacity, max) in cases {
            let passes = |u: u64| (u as f64 / capacity as f64).partial_cmp(&max) != Some(Ordering::Greater);
            match largest_use_within(capacity, max) {
                Some(most) => {
                    assert!(capacity == 0 || passes(most), "{capacity} {max}: {most}");
                    assert!(most == u64::MAX || !passes(most + 1), "{capacity} {max}: {most}");
                }
                None => assert!(!passes(0), "{capacity} {max}"),
            }
        }
    }

    #[test]
    fn floor_of_is_the_integer_part_with_the_margin_or_the_next_integer() {
        let mut gen = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut xs: Vec<f64> = (0..=300).flat_map(|k| [k as f64, k as f64 - 1e-12, k as f64 + 1e-12]).collect();
        xs.extend((0..300).map(|k| k as f64 - MARGIN));
        xs.extend((0..100_000).map(|_| (gen.next_u64() % 400_000_000) as f64 / 1e6 - 100.0));
        for x in xs {
            let (floor, got) = ((x + MARGIN).floor(), floor_of(x));
            assert!(got == floor || (got == floor + 1.0 && x + MARGIN > floor + 1.0 - 1e-6), "{x}: {got}");
        }
    }

    #[test]
    fn the_deviation_bound_constants_are_below_their_values() {
        for (n, &constant) in INV_SQRT_2N.iter().enumerate().skip(2) {
            let exact = 1.0 / (2.0 * n as f64).sqrt();
            assert!(constant <= exact && exact - constant < 1e-15, "{n}");
        }
    }

    /// A cluster of `n` nodes in runs of a few capacities (some lacking resources, one huge),
    /// with uses that tie, nearly tie, fill a node or overflow it.
    fn cluster(gen: &mut rand_chacha::ChaCha8Rng, n: usize) -> Fixture {
        let mut next = |k: u64| gen.next_u64() % k;
        let capacities = [
            Resources([16_000, 64_000, 500_000, 10_000, 0, 0]),
            Resources([64_000, 256_000, 2_000_000, 25_000, 0, 0]),
            Resources([32_000, 256_000, 1_000_000, 25_000, 4000, 0]),
            Resources([16_000, 128_000, 500_000, 10_000, 0, 2000]),
            Resources([8000, 0, 100_000, 0, 0, 0]),
            Resources([1 << 45, 1 << 45, 1 << 45, 1 << 45, 1 << 45, 1 << 45]),
        ];
        let mut fx = Fixture::with_tasks(&vec![0; n]);
        let mut cap = capacities[0];
        for i in 0..n {
            if next(8) == 0 {
                cap = capacities[next(capacities.len() as u64) as usize];
            }
            fx.specs[i].capacity = cap;
            fx.specs[i].speed = [0.5, 1.0, 1.5][next(3) as usize];
            fx.loads[i].queued = next(4) as u32;
            fx.loads[i].running = next(3) as u32;
            fx.used[i] = Resources(cap.0.map(|c| match next(10) {
                0 => 0,
                1 => c + 1 + next(2000), // over capacity: tasks in flight
                2 => c / 2,
                3 => c / 2 + 1,
                _ => next(c + 1) / 250 * 250,
            }));
        }
        fx
    }

    /// The configurations compared: Kubernetes' default and every term set the search treats
    /// apart, with filters, a threshold, profiles, learned terms, whole and sampled lists.
    fn configurations() -> Vec<ResourceAware> {
        let z = TermWeights::ZERO;
        let cpu_mem = ResourceUnits { cpu_cores: 1.0, memory_gb: 1.0, ..Default::default() };
        let four = ResourceUnits { cpu_cores: 1.0, memory_gb: 2.0, gpus: 1.0, fpgas: 3.0, ..Default::default() };
        let three = ResourceUnits { cpu_cores: 2.0, memory_gb: 1.0, disk_gb: 1.0, ..Default::default() };
        let kubernetes_all =
            TermWeights { least_allocated: 1.0, most_allocated: 0.5, balanced_allocation: 1.0, queue: 1.0, ..z };
        let every = TermWeights {
            least_allocated: 1.0,
            most_allocated: 0.0,
            balanced_allocation: 1.0,
            queue: 1.0,
            tetris: 1.0,
            demand_fit: 1.0,
            efficiency: 1.0,
            response_time: 1.0,
        };
        let mut out = Vec::new();
        for percentage in [0, 100, 30] {
            out.push(
                ResourceAware::new(TermWeights::default(), cpu_mem, None).with_percentage_of_nodes_to_score(percentage),
            );
            out.push(ResourceAware::new(kubernetes_all, four, Some(0.9)).with_percentage_of_nodes_to_score(percentage));
            out.push(
                ResourceAware::new(TermWeights { most_allocated: 2.0, balanced_allocation: 1.0, ..z }, three, None)
                    .with_percentage_of_nodes_to_score(percentage),
            );
            out.push(
                ResourceAware::new(every, cpu_mem, None)
                    .with_max_utilization(UtilizationLimits { memory: Some(0.95), ..Default::default() })
                    .with_reserve_accelerators(true)
                    .with_profiles(&[WeightProfile {
                        min_priority: 3,
                        weights: TermWeights { most_allocated: 1.0, ..z },
                    }])
                    .with_min_score(Some(30.0), Span::from_secs_f64(0.5))
                    .with_percentage_of_nodes_to_score(percentage),
            );
            out.push(
                ResourceAware::new(TermWeights { tetris: 2.0, demand_fit: 1.0, queue: 0.5, ..z }, four, None)
                    .with_percentage_of_nodes_to_score(percentage),
            );
        }
        out
    }

    #[test]
    fn the_pruned_search_chooses_as_scoring_every_node() {
        // `pick` (the pruned search) against `pick_explained` (every candidate scored): the same
        // choices, the same draws, the same next start, decision after decision, on clusters of
        // up to 400 nodes (sampled searches from 100 on), learning the same outcomes.
        let mut gen = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        let mut why = Explanation::default();
        let (mut decisions, mut chosen) = (0, 0);
        for (k, mut plain) in configurations().into_iter().enumerate() {
            let mut explained = plain.clone();
            let (mut rng_plain, mut rng_explained) =
                (rand_chacha::ChaCha8Rng::seed_from_u64(k as u64), rand_chacha::ChaCha8Rng::seed_from_u64(k as u64));
            for round in 0..40u64 {
                let n = [30, 150, 400][(round % 3) as usize];
                let fx = cluster(&mut gen, n);
                let all: Vec<NodeId> = (0..n as u32).filter(|_| gen.next_u32() % 8 != 0).map(NodeId).collect();
                let t = TaskInfo {
                    id: TaskId(round),
                    priority: (gen.next_u32() % 5) as i32,
                    demand: Resources([
                        u64::from(gen.next_u32() % 4) * 500,
                        u64::from(gen.next_u32() % 8) * 1000,
                        u64::from(gen.next_u32() % 3) * 5000,
                        u64::from(gen.next_u32() % 2) * 100,
                        u64::from(gen.next_u32() % 4 / 3) * 1000,
                        0,
                    ]),
                    ..task()
                };
                let now = Time(round * 50_000_000);
                let a = plain.pick(&t, &all, &fx.view(), now, &mut rng_plain);
                let b = explained.pick_explained(&t, &all, &fx.view(), now, &mut rng_explained, &mut why);
                assert_eq!(a, b, "configuration {k}, round {round}");
                assert_eq!(rng_plain.next_u64(), rng_explained.next_u64(), "configuration {k}, round {round}: draws");
                assert_eq!(plain.next_start, explained.next_start, "configuration {k}, round {round}");
                decisions += 1;
                chosen += usize::from(a.is_some());
                for _ in 0..5 {
                    let outcome = Outcome {
                        task: TaskId(round),
                        node: NodeId(gen.next_u32() % n as u32),
                        // Speeds observed below and above the nodes' own.
                        latency: Span::from_millis(1 + u64::from(gen.next_u32() % 20_000)),
                        expected_work_s: 0.1 + f64::from(gen.next_u32() % 8),
                        completed: gen.next_u32() % 6 != 0,
                    };
                    plain.observe(&outcome, now);
                    explained.observe(&outcome, now);
                }
            }
        }
        assert!(chosen > decisions / 2, "only {chosen} of {decisions} decisions chose a node");
    }

    #[test]
    fn bounds_are_at_least_the_scores() {
        // Every candidate that the first pass lets through, with its bound: the sampled search's
        // filters are exact, and every bound (demand fit's refined) is at least the exact score;
        // the whole-list search lets through at least the candidates that pass. Speeds include
        // the absurd (the efficiency term divides by them), weights the extreme.
        let mut gen = rand_chacha::ChaCha8Rng::seed_from_u64(23);
        let z = TermWeights::ZERO;
        let mut configs = configurations();
        configs.push(ResourceAware::new(
            TermWeights { least_allocated: 1e6, most_allocated: 1e-6, tetris: 3.0, queue: 0.25, ..z },
            ResourceUnits { cpu_cores: 7.0, memory_gb: 1.0, disk_gb: 2.0, net_gbps: 1.0, gpus: 5.0, fpgas: 1.0 },
            Some(0.75),
        ));
        configs.push(
            ResourceAware::new(
                TermWeights { demand_fit: 1.0, efficiency: 3.0, response_time: 0.1, balanced_allocation: 2.0, ..z },
                ResourceUnits { cpu_cores: 1.0, gpus: 1.0, fpgas: 1.0, ..Default::default() },
                None,
            )
            .with_history(Span::from_secs_f64(3.0), 0.5),
        );
        let (mut checked, mut scored) = (0, 0);
        for (k, mut ra) in configs.into_iter().enumerate() {
            for round in 0..12u64 {
                let n = [40, 300][(round % 2) as usize];
                let mut fx = cluster(&mut gen, n);
                for spec in fx.specs.iter_mut() {
                    let draw = gen.next_u32();
                    if draw % 16 == 0 {
                        spec.speed = [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-300, 1e300][(draw / 16 % 6) as usize];
                    }
                }
                let all = fx.all();
                let t = TaskInfo {
                    priority: (gen.next_u32() % 5) as i32,
                    demand: Resources([
                        u64::from(gen.next_u32() % 4) * 500,
                        u64::from(gen.next_u32() % 8) * 1000,
                        u64::from(gen.next_u32() % 3) * 5000,
                        u64::from(gen.next_u32() % 2) * 100,
                        u64::from(gen.next_u32() % 4 / 3) * 1000,
                        u64::from(gen.next_u32() % 5 / 4) * 1000,
                    ]),
                    ..task()
                };
                if ra.wants_feedback() {
                    ra.history.grow(n);
                    for _ in 0..50 {
                        let outcome = Outcome {
                            task: TaskId(0),
                            node: NodeId(gen.next_u32() % n as u32),
                            latency: Span::from_millis(u64::from(gen.next_u32() % 5000)),
                            expected_work_s: f64::from(gen.next_u32() % 8),
                            completed: gen.next_u32() % 4 != 0,
                        };
                        ra.observe(&outcome, Time(round * 1_000_000_000));
                    }
                }
                let view = fx.view();
                let mask = ra.weights_for(t.priority).mask;
                let sampled = match mask {
                    KUBERNETES_DEFAULT => ra.first_pass_bounds::<KUBERNETES_DEFAULT, false>(&t, &all, &view),
                    KUBERNETES_ALL => ra.first_pass_bounds::<KUBERNETES_ALL, false>(&t, &all, &view),
                    _ => ra.first_pass_bounds::<RUNTIME, false>(&t, &all, &view),
                };
                let whole = match mask {
                    KUBERNETES_DEFAULT => ra.first_pass_bounds::<KUBERNETES_DEFAULT, true>(&t, &all, &view),
                    KUBERNETES_ALL => ra.first_pass_bounds::<KUBERNETES_ALL, true>(&t, &all, &view),
                    _ => ra.first_pass_bounds::<RUNTIME, true>(&t, &all, &view),
                };
                let passing: Vec<NodeId> = all.iter().copied().filter(|&c| ra.score(&t, &view, c).is_some()).collect();
                let sampled_nodes: Vec<NodeId> = sampled.iter().map(|&(c, _)| c).collect();
                assert_eq!(sampled_nodes, passing, "configuration {k}, round {round}: the filters");
                let whole_nodes: Vec<NodeId> = whole.iter().map(|&(c, _)| c).collect();
                assert!(passing.iter().all(|c| whole_nodes.contains(c)), "configuration {k}, round {round}");
                for &(c, bound) in sampled.iter().chain(&whole) {
                    if let Some(score) = ra.score(&t, &view, c) {
                        assert!(bound >= score, "configuration {k}, round {round}, node {c:?}: {bound} < {score}");
                        checked += 1;
                        scored += usize::from(bound < f64::INFINITY);
                    }
                }
            }
        }
        assert!(scored > checked / 2, "{scored} of {checked} bounds finite");
    }
}
