//! The search behind `resource-aware`'s `pick`: every candidate is filtered exactly, but the exact
//! score — several divisions per node — is computed only for candidates whose score could still
//! reach the best so far, as judged by an upper bound computed without division.
//!
//! The choice, and the random numbers drawn to break ties, are the same as scoring every
//! candidate exactly: a candidate is skipped only when its bound is below the best score so far
//! (or the threshold), so its exact score is too, and scoring it would have changed nothing — it
//! would have lost, without a draw. `pick_explained`, which notes every candidate's terms, scores
//! them all (`explained_picks_match_plain_picks` and `the_pruned_search_chooses_as_scoring_every_node`
//! compare the two).
//!
//! **Runs.** Candidates are taken in runs of equal capacity (ids of a node group are usually
//! consecutive); for each run the search derives once what depends on the capacity and the
//! demand alone: `1 / c_r`, whether the demand fits at all or `reserve-accelerators` rejects the
//! node, and the largest use each dimension allows — `c_r − d_r`, or less where a utilisation
//! limit allows less (found by [`largest_use_within`]) — so that the fit and utilisation filters
//! cost one comparison per dimension.
//!
//! **The bound.** Each weighted term gets an upper bound of its value, and the bounds are
//! combined by the same weighted mean as the exact terms: each step of that mean (a product by a
//! non-negative weight, a sum, then a product by `1 / Σ w` where that is exact, or else by
//! `1 / Σ w` rounded up rather than the quotient) rounds monotonically, so the mean of the bounds
//! is at least the score. The bounds, for a node that passes the filters (so `a_r = u_r + d_r ≤
//! c_r`, with `u` its believed use, `d` the demand, `c` its capacity):
//! - the requested fraction `a_r / c_r`, that Kubernetes' terms read, is estimated as
//!   `a_r · (1 / c_r)`: it is within `3 · 2^-53` of the exact quotient;
//! - `least_allocated` ≤ `100 · Σ_r w_r (1 − a_r / c_r) / Σ w` (the integer divisions only round
//!   down), `most_allocated` ≤ `100 · Σ_r w_r (a_r / c_r) / Σ w`;
//! - `balanced_allocation` ≤ `100 (1 − R / √(2n))` over the `n ≥ 2` fractions, `R` their range:
//!   the mean minimises the sum of squared deviations, which is then at least
//!   `(max − m)² + (min − m)² ≥ R² / 2`, so the standard deviation is at least `R / √(2n)`
//!   (equal for two fractions); 100 for fewer;
//! - `tetris` with the free fractions `f_r / c_r` estimated the same way (the demand side
//!   `d_r / c_r` is computed exactly, once per run); `demand_fit` by its cosine `c` as
//!   `100 (1 + c²) / 2 ≥ 100 c`, with `c²` estimated from the same sums (see
//!   [`demand_fit_bound`]);
//! - `efficiency` with the speed ratio estimated from the observed speed and `1 / speed`, kept
//!   per node, rounded up (see `NodeHistory::efficiency_bound`); `queue` and `response_time`
//!   exactly (a table and a stored value).
//!
//! Each estimated bound gets [`MARGIN`] added, far more than its rounding error (every estimate is
//! a short sum of non-negative products, within `10⁻¹²` of the exact real value on the 0–100
//! scale). With two weighted dimensions and only Kubernetes' terms, the mean of the bounds is one
//! linear expression ([`Linear`]). Capacities of [`FAST_CAPACITY`] or more skip the bound (every
//! such node is scored).

use std::cmp::Ordering;

use rand_core::RngCore;

use super::terms::MAX_SCORE;
use super::{
    queue_score_fast, ResourceAware, WeightSet, BALANCED, DEMAND_FIT, EFFICIENCY, LEAST, MOST, NEUTRAL_SCORE, N_TERMS,
    QUEUE, RESPONSE_TIME, RUNTIME, TETRIS,
};
use crate::balance::uniform_index;
use crate::resources::{same_amounts, u64_to_f64};
use crate::{ClusterView, NodeId, Resource, TaskInfo, N_RESOURCES};

/// Capacities from this on (milli-units) are scored without the bound.
const FAST_CAPACITY: u64 = 1 << 40;

/// Added to each estimated bound (terms are on a 0–100 scale; the estimates are within 1e-12).
const MARGIN: f64 = 1e-9;

/// The top of `balanced_allocation`'s bound: 100, and the margin.
const BALANCED_TOP: f64 = MAX_SCORE as f64 + MARGIN;

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

/// The bound of a node with two weighted dimensions, when only Kubernetes' terms are weighted,
/// as one expression: with the fractions `f₀, f₁` (estimated as the bound's), the weighted mean
/// of the terms' bounds is linear in `f₀`, `f₁` and `|f₀ − f₁|` (the standard deviation of two
/// fractions is half their distance), so it is `top + queue_weight · queue − max(p₀ f₀ + p₁ f₁,
/// q₀ f₀ + q₁ f₁)`. Its constants, computed once per run, fold the weights, scales and margins;
/// evaluated so, it is within 1e-12 of the real-valued mean of the terms' bounds (all of its
/// quantities are below a few hundred), hence [`MARGIN`] added once more.
#[derive(Clone, Copy, Debug)]
struct Linear {
    /// The two dimensions and, for each, the demand and `1 / capacity`.
    dims: [usize; 2],
    demand: [u64; 2],
    recip: [f64; 2],
    top: f64,
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
    /// Every capacity is below [`FAST_CAPACITY`]: the bound applies.
    fast: bool,
    /// For each weighted slot: `capacity − demand`, `1 / capacity`, the demand and Tetris'
    /// demand share `min(1, d_r / c_r)` as `Alignment::of` computes it (the last three 0 where
    /// the node lacks the resource, or for a padding slot), and 0 or +∞ to keep such a slot out
    /// of the least and largest fractions.
    slot_limit: [u64; NA],
    slot_recip: [f64; NA],
    slot_demand: [u64; NA],
    slot_share: [f64; NA],
    slot_pad: [f64; NA],
    /// `open` and `fast` for the weighted dimensions alone: all the whole-list search reads, so
    /// that its runs need only those capacities to be equal.
    slot_open: bool,
    slot_fast: bool,
    /// `least_allocated`'s bound is `least_top − (Σ w_r a_r / c_r) · per_weight`: with the
    /// weighted dimensions the node has, `least_top = Σ w_r · per_weight + MARGIN`.
    least_top: f64,
    /// `balanced_allocation`'s bound is `BALANCED_TOP − (max − min) · balanced_slope` over the
    /// node's fractions: `balanced_slope = 100 / √(2n)` for `n ≥ 2` of them, else 0.
    balanced_slope: f64,
    /// The bound as one expression, where the node has two weighted dimensions and only
    /// Kubernetes' terms (and the queue) are weighted.
    linear: Option<Linear>,
    /// `Σ w_r min(1, d_r / c_r)²`, summed as `Alignment::of` sums it (so the same number).
    demand_sq: f64,
}

impl<const NA: usize> Run<NA> {
    fn new(
        ra: &ResourceAware,
        capacity: [u64; N_RESOURCES],
        task: &TaskInfo,
        dims: &Dims<NA>,
        weights: &WeightSet,
        scales: &Scales,
    ) -> Self {
        let demand = &task.demand.0;
        let reserved = ra.reserve_accelerators
            && [Resource::Gpu, Resource::Fpga].iter().any(|&r| demand[r as usize] == 0 && capacity[r as usize] > 0);
        let recip = capacity.map(|c| if c > 0 { 1.0 / u64_to_f64(c) } else { 0.0 });
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
            fast: capacity.iter().all(|&c| c < FAST_CAPACITY),
            slot_limit: dims.index.map(|r| capacity[r].wrapping_sub(demand[r])),
            slot_recip: [0.0; NA],
            slot_demand: [0; NA],
            slot_share: [0.0; NA],
            slot_pad: [f64::INFINITY; NA],
            slot_open: dims.index.iter().all(|&r| demand[r] <= capacity[r]),
            slot_fast: dims.index.iter().all(|&r| capacity[r] < FAST_CAPACITY),
            least_top: MARGIN,
            balanced_slope: 0.0,
            linear: None,
            demand_sq: 0.0,
        };
        let (mut n_present, mut present_weight) = (0, 0.0);
        for i in 0..dims.len {
            let r = dims.index[i];
            let cap = capacity[r];
            if cap == 0 {
                continue;
            }
            run.slot_recip[i] = recip[r];
            run.slot_demand[i] = demand[r];
            run.slot_share[i] = (demand[r] as f64 / cap as f64).min(1.0);
            run.demand_sq += dims.weight[i] * run.slot_share[i] * run.slot_share[i];
            run.slot_pad[i] = 0.0;
            n_present += 1;
            present_weight += dims.weight[i];
        }
        run.least_top = present_weight * ra.per_resource_weight() + MARGIN;
        run.balanced_slope = if n_present < 2 { 0.0 } else { MAX_SCORE as f64 * INV_SQRT_2N[n_present] };
        let kubernetes = 1 << LEAST | 1 << MOST | 1 << BALANCED | 1 << QUEUE;
        if n_present == 2 && weights.mask & !kubernetes == 0 {
            let mut slots = [0usize; 2];
            for (k, i) in (0..dims.len).filter(|&i| run.slot_pad[i] == 0.0).enumerate() {
                slots[k] = i;
            }
            let (w, m, per_weight) = (&weights.all, scales.mean, scales.per_weight);
            // Terms: least = pw (w₀ + w₁) + M − pw (w₀ f₀ + w₁ f₁), most = pw (w₀ f₀ + w₁ f₁) + M,
            // balanced = 100 + M − 50 |f₀ − f₁|; the mean multiplies their weighted sum by m.
            let slope = |i: usize| m * (w[LEAST] - w[MOST]) * per_weight * dims.weight[slots[i]];
            let spread = m * w[BALANCED] * MAX_SCORE as f64 / 2.0;
            let top = m * (w[LEAST] * run.least_top + w[MOST] * MARGIN + w[BALANCED] * BALANCED_TOP) + MARGIN;
            run.linear = Some(Linear {
                dims: [dims.index[slots[0]], dims.index[slots[1]]],
                demand: [run.slot_demand[slots[0]], run.slot_demand[slots[1]]],
                recip: [run.slot_recip[slots[0]], run.slot_recip[slots[1]]],
                top,
                p: [slope(0) + spread, slope(1) - spread],
                q: [slope(0) - spread, slope(1) + spread],
            });
        }
        run
    }

    /// True if `capacity` is this run's in every weighted dimension.
    #[inline(always)]
    fn same_weighted(&self, capacity: &[u64; N_RESOURCES], dims: &Dims<NA>) -> bool {
        dims.index.iter().fold(true, |same, &r| same & (capacity[r] == self.capacity[r]))
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
    /// A bound per candidate looked at.
    bounds: Vec<f64>,
    /// By node id, a speed and `1 / speed` (the efficiency term's bound divides by the node's
    /// speed, which is usually the same from one pick to the next).
    speed_recip: Vec<(u64, f64)>,
}

/// `1 / speed` for `node`, from `memo` (by node id, as long as the view), computed again only if
/// its speed changed.
#[inline(always)]
fn recip_speed(memo: &mut [(u64, f64)], node: NodeId, speed: f64) -> f64 {
    let (bits, recip) = &mut memo[node.index()];
    if *bits != speed.to_bits() {
        (*bits, *recip) = (speed.to_bits(), 1.0 / speed);
    }
    *recip
}

/// What the bound estimates over the weighted dimensions of a node: `Σ w_r a_r / c_r` and the
/// least and largest `min(1, a_r / c_r)`, with `a = used + demand`; and, if wanted,
/// `Σ w_r s_r min(1, f_r / c_r)` with `s` the demand share and `f = capacity − used`.
#[derive(Clone, Copy, Debug)]
struct Shares {
    taken: f64,
    low: f64,
    high: f64,
    dot: f64,
    /// `Σ w_r min(1, f_r / c_r)²`, if wanted with the dot product.
    free_sq: f64,
}

impl Shares {
    /// Over the weighted slots; the dot product and the free shares' squares if `alignment`.
    #[inline(always)]
    fn of<const NA: usize>(alignment: bool, run: &Run<NA>, used: &[u64; N_RESOURCES], dims: &Dims<NA>) -> Shares {
        let mut out = Shares { taken: 0.0, low: f64::INFINITY, high: f64::NEG_INFINITY, dot: 0.0, free_sq: 0.0 };
        for i in 0..NA {
            let r = dims.index[i];
            // Where the task fits the amounts are below 2^40, exact as doubles (elsewhere the
            // estimate is not used, and wraps rather than overflows).
            let fraction = used[r].wrapping_add(run.slot_demand[i]) as i64 as f64 * run.slot_recip[i];
            out.taken += dims.weight[i] * fraction;
            // (Comparisons rather than `min` and `max`, which also handle NaN, absent here.)
            let capped = if fraction < 1.0 { fraction } else { 1.0 };
            let (low, high) = (capped + run.slot_pad[i], capped - run.slot_pad[i]);
            out.low = if low < out.low { low } else { out.low };
            out.high = if high > out.high { high } else { out.high };
            if alignment {
                let free = run.capacity[r].wrapping_sub(used[r]) as i64 as f64 * run.slot_recip[i];
                let free = if free < 1.0 { free } else { 1.0 };
                out.dot += dims.weight[i] * run.slot_share[i] * free;
                out.free_sq += dims.weight[i] * free * free;
            }
        }
        out
    }
}

impl ResourceAware {
    /// The candidate `pick` chooses among `candidates[start..]` and then `candidates[..start]`,
    /// looking until `to_find` candidates have passed the filters or all have been looked at:
    /// the highest score (at least `min_score`), ties broken as [`argmin_random_ties`] breaks
    /// them (one draw per tie met). Also returns the index after the last candidate looked at.
    ///
    /// Two passes over the candidates looked at: the first applies the filters and writes each
    /// candidate's bound to `bounds` (−∞ if a filter rejects it), with no branch on either, so
    /// that the processor overlaps the work of successive candidates; the second goes through
    /// them again in order, scoring a candidate exactly only if its bound reaches the best so
    /// far. Searching the whole list, nothing depends on how many candidates pass the filters:
    /// the first pass then checks only the weighted dimensions (a candidate without room for the
    /// task there gets −∞), and leaves the other filters to the exact score.
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
        let Scratch { bounds, speed_recip } = scratch;
        // The speed is read for the efficiency term alone (which only a run-time mask weighs).
        let with_speed = MASK == RUNTIME && weights.all[EFFICIENCY] > 0.0;
        if with_speed && speed_recip.len() < view.len() {
            // (The bit pattern of a NaN, with its reciprocal: right for that speed.)
            speed_recip.resize(view.len(), (u64::MAX, 1.0 / f64::from_bits(u64::MAX)));
        }
        let next = |index: usize| if index + 1 == n { 0 } else { index + 1 };

        // Pass 1: filters and bounds.
        if bounds.len() < n {
            bounds.resize(n, 0.0);
        }
        let dims = Dims::<NA>::of(self);
        // (Only a run-time mask weighs Tetris or demand fit.)
        let alignment = MASK == RUNTIME && (weights.all[TETRIS] > 0.0 || weights.all[DEMAND_FIT] > 0.0);
        let scales = Scales::new(self, weights);
        let (mut index, mut looked, mut found) = (start, 0, 0);
        // (A run for some capacity to start with: right for that capacity.)
        let mut run = Run::new(self, [0; N_RESOURCES], task, &dims, weights, &scales);
        // −∞ where a filter rejects, added (the compiler does not turn that into a branch).
        let rejected = |passed: bool| f64::from_bits(u64::from(!passed) * f64::NEG_INFINITY.to_bits());
        if to_find >= n && MASK != RUNTIME {
            for (bound, &c) in bounds[..n].iter_mut().zip(candidates) {
                let spec = view.spec(c);
                let capacity = &spec.capacity.0;
                if !run.same_weighted(capacity, &dims) {
                    run = Run::new(self, *capacity, task, &dims, weights, &scales);
                }
                let used = &view.used(c).0;
                let mut room = run.slot_open;
                for i in 0..NA {
                    room &= used[dims.index[i]] <= run.slot_limit[i];
                }
                let value = if !run.slot_fast {
                    f64::INFINITY
                } else if let Some(linear) = &run.linear {
                    self.linear_bound(weights, &scales, linear, used, c, view)
                } else {
                    let shares = Shares::of(alignment, &run, used, &dims);
                    self.bound::<MASK, NA>(weights, &scales, &run, &shares, c, 0.0, view)
                };
                *bound = value + rejected(room);
            }
            looked = n;
        }
        while looked < n && found < to_find {
            let c = candidates[index];
            index = next(index);
            let spec = view.spec(c);
            let capacity = &spec.capacity.0;
            if !same_amounts(capacity, &run.capacity) {
                run = Run::new(self, *capacity, task, &dims, weights, &scales);
            }
            if !run.open {
                // The whole run is rejected (a branch taken or not for runs at a time).
                bounds[looked] = f64::NEG_INFINITY;
                looked += 1;
                continue;
            }
            let used = &view.used(c).0;
            let mut passed = true;
            for (&u, &limit) in used.iter().zip(&run.limit) {
                passed &= u <= limit;
            }
            found += usize::from(passed);
            // +∞ (score it) where the bound does not apply. A run-time mask's bound costs more
            // than a mispredicted branch: it is skipped where a filter rejects.
            let bound = if !run.fast {
                f64::INFINITY
            } else if MASK == RUNTIME && !passed {
                0.0
            } else if let Some(linear) = &run.linear {
                self.linear_bound(weights, &scales, linear, used, c, view)
            } else {
                let shares = Shares::of(alignment, &run, used, &dims);
                let recip = if with_speed { recip_speed(speed_recip, c, spec.speed) } else { 0.0 };
                self.bound::<MASK, NA>(weights, &scales, &run, &shares, c, recip, view)
            };
            bounds[looked] = bound + rejected(passed);
            looked += 1;
        }
        let end = index;

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
        let learned = 1 << EFFICIENCY | 1 << RESPONSE_TIME;
        let inputs_decide = weights.mask & learned == 0;
        let with_tasks = weights.mask & 1 << QUEUE != 0;
        let mut best_inputs = ([0u64; N_RESOURCES], [0u64; N_RESOURCES], 0u32);
        let mut index = start;
        for &bound in &bounds[..looked] {
            let c = candidates[index];
            index = next(index);
            // (A rejected candidate's −∞ is below any threshold but −∞; then `evaluate` rejects it.)
            if bound < threshold {
                continue;
            }
            let capacity = &view.spec(c).capacity.0;
            let used = &view.used(c).0;
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

    /// `100 / Σ_r w_r` over the resource weights (0 if there is none): the Kubernetes terms'
    /// scale.
    fn per_resource_weight(&self) -> f64 {
        if self.resource_weight_sum > 0 {
            MAX_SCORE as f64 / self.resource_weight_sum as f64
        } else {
            0.0
        }
    }

    /// The bound by [`Linear`].
    #[inline(always)]
    fn linear_bound(
        &self,
        weights: &WeightSet,
        scales: &Scales,
        linear: &Linear,
        used: &[u64; N_RESOURCES],
        node: NodeId,
        view: &ClusterView<'_>,
    ) -> f64 {
        // Below 2^40 where the task fits: exact as doubles (elsewhere not used).
        let fraction = |i: usize| used[linear.dims[i]].wrapping_add(linear.demand[i]) as i64 as f64 * linear.recip[i];
        let (f0, f1) = (fraction(0), fraction(1));
        let (p, q) = (linear.p[0] * f0 + linear.p[1] * f1, linear.q[0] * f0 + linear.q[1] * f1);
        let queue = if weights.all[QUEUE] > 0.0 {
            scales.mean * weights.all[QUEUE] * queue_score_fast(view.load(node).tasks())
        } else {
            0.0
        };
        linear.top + queue - if p > q { p } else { q }
    }

    /// An upper bound of the node's score (see the module doc), for a node that passes the
    /// filters in a run with `fast` set (for another, some number), from its `shares`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn bound<const MASK: u8, const NA: usize>(
        &self,
        weights: &WeightSet,
        scales: &Scales,
        run: &Run<NA>,
        shares: &Shares,
        node: NodeId,
        recip_speed: f64,
        view: &ClusterView<'_>,
    ) -> f64 {
        let w = &weights.all;
        // With a run-time mask every term is bounded and added, weighted: an unweighted one adds
        // 0, which changes no sum (the sums are never −0); that costs less than a test per
        // term and node.
        let weighted = |term: usize| MASK == RUNTIME || MASK >> term & 1 == 1;
        let taken = shares.taken * scales.per_weight;
        // In term order, as `evaluate` sums them.
        let mut total = 0.0;
        if weighted(LEAST) {
            total += w[LEAST] * (run.least_top - taken);
        }
        if weighted(MOST) {
            total += w[MOST] * (taken + MARGIN);
        }
        if weighted(BALANCED) {
            total += w[BALANCED] * (BALANCED_TOP - (shares.high - shares.low).max(0.0) * run.balanced_slope);
        }
        if weighted(QUEUE) {
            total += w[QUEUE] * queue_score_fast(view.load(node).tasks());
        }
        if weighted(TETRIS) {
            // (Only a run-time mask weighs it: then `shares` has the dot product.)
            total += w[TETRIS] * (shares.dot * scales.tetris + MARGIN);
        }
        if weighted(DEMAND_FIT) {
            total += w[DEMAND_FIT] * demand_fit_bound(run.demand_sq, shares.dot, shares.free_sq);
        }
        if weighted(EFFICIENCY) || weighted(RESPONSE_TIME) {
            let history = self.history.get(node.index());
            if weighted(EFFICIENCY) {
                total += w[EFFICIENCY] * history.map_or(NEUTRAL_SCORE, |h| h.efficiency_bound(recip_speed));
            }
            if weighted(RESPONSE_TIME) {
                total += w[RESPONSE_TIME] * history.map_or(NEUTRAL_SCORE, |h| h.response_or_neutral());
            }
        }
        total * scales.mean
    }
}

/// At least `demand_fit`'s value, from the demand's exact `Σ w a²` and the estimates of
/// `Σ w a b` and `Σ w b²` (each within 10 units in the last place of the exact sum, relatively:
/// every free share is within 3 of the exact one, and all the terms are non-negative). With
/// `y = dot² / (Σ w a² · Σ w b²)`, the estimated cosine squared, `√y ≤ (1 + y) / 2`, and the
/// relative error of `y` (below 40 units in the last place) moves the cosine by less than the
/// rounding up by 10⁻¹² covers; the exact term is the cosine × 100, capped at 100, or 100 where
/// the demand has no weighted part, or 0 where the node has no free room. With almost no free
/// room, where the free shares' squares could underflow, the bound is 100.
#[inline(always)]
fn demand_fit_bound(demand_sq: f64, dot: f64, free_sq: f64) -> f64 {
    if demand_sq == 0.0 || free_sq.partial_cmp(&1e-200) != Some(Ordering::Greater) {
        return MAX_SCORE as f64;
    }
    let y = dot * dot / (demand_sq * free_sq);
    let bound = MAX_SCORE as f64 / 2.0 * (1.0 + y) * (1.0 + 1e-12) + MARGIN;
    if bound < MAX_SCORE as f64 {
        bound
    } else {
        MAX_SCORE as f64
    }
}

/// What the bound of one search multiplies by.
#[derive(Clone, Copy, Debug)]
struct Scales {
    /// `100 / Σ_r w_r` over the resource weights (0 if there is none).
    per_weight: f64,
    /// `100 / Σ_r w_r` over the positive resource weights, for Tetris (0 if there is none).
    tetris: f64,
    /// At least `1 / Σ_t w_t` over the term weights: the weighted mean's `1 / Σ w_t` where
    /// that is exact, else that rounded up (a product is then at least the quotient the mean
    /// computes; every weight set has a positive weight).
    mean: f64,
}

impl Scales {
    fn new(ra: &ResourceAware, weights: &WeightSet) -> Self {
        let mean = match weights.exact_recip {
            Some(recip) => recip,
            // `fl(1 / W)` is within half a unit in the last place of `1 / W`: a unit up is above.
            None => (1.0 / weights.weight_sum).next_up(),
        };
        Scales {
            per_weight: ra.per_resource_weight(),
            tetris: if ra.tetris_weight_sum > 0.0 { MAX_SCORE as f64 / ra.tetris_weight_sum } else { 0.0 },
            mean,
        }
    }
}

#[cfg(test)]
mod tests {
    use rand_core::{RngCore, SeedableRng};

    use super::*;
    use crate::balance::resource_aware::{TermWeights, UtilizationLimits, WeightProfile};
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
}
