//! The score terms of `resource-aware`, each a pure function on one node's numbers, scaled to
//! 0–100 (Kubernetes' `MaxNodeScore`) with higher better.
//!
//! - [`least_requested_score`], [`most_requested_score`], [`balanced_score`]: Kubernetes'
//!   `LeastAllocated`, `MostAllocated` and `BalancedAllocation`, integer arithmetic as in
//!   `pkg/scheduler/framework/plugins/noderesources/{least_allocated,most_allocated,
//!   balanced_allocation}.go`;
//! - [`tetris_score`]: the alignment of Tetris (Grandl, Ananthanarayanan, Kandula, Rao and Akella,
//!   "Multi-resource packing for cluster schedulers", SIGCOMM 2014, §3.2): the dot product of the
//!   task's demand and the node's free resources, both divided by the node's capacity per
//!   dimension;
//! - [`demand_fit_score`]: the cosine similarity of the same two normalised vectors;
//! - [`queue_score`], [`efficiency_score`], [`response_time_score`]: live and learned state.

use crate::{Resources, N_RESOURCES};

/// Kubernetes' `MaxNodeScore`.
pub const MAX_SCORE: i64 = 100;

/// What the learned terms give a node never observed: the middle of the scale, so that an unknown
/// node is neither preferred to a node that does well nor avoided like one that does badly.
pub const NEUTRAL_SCORE: f64 = 50.0;

/// `LeastAllocated` for one resource (Kubernetes' `leastRequestedScore`).
#[inline]
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_SCORE / capacity
}

/// `MostAllocated` for one resource (Kubernetes' `mostRequestedScore`).
#[inline]
pub fn most_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    requested.min(capacity) * MAX_SCORE / capacity
}

/// `BalancedAllocation` over (requested, capacity) pairs (Kubernetes' `balancedResourceScorer`).
pub fn balanced_score(pairs: &[(i64, i64)]) -> i64 {
    // At most one fraction per resource dimension: kept on the stack (this runs per candidate).
    let mut buf = [0.0f64; N_RESOURCES];
    let mut len = 0;
    for &(req, cap) in pairs.iter().filter(|&&(_, cap)| cap != 0).take(N_RESOURCES) {
        buf[len] = (req as f64 / cap as f64).min(1.0);
        len += 1;
    }
    balanced_from_fractions(&buf[..len])
}

/// `BalancedAllocation` from the capped requested fractions of the resources the node has.
#[inline]
pub(super) fn balanced_from_fractions(fractions: &[f64]) -> i64 {
    let std = match fractions.len() {
        0 | 1 => 0.0,
        2 => ((fractions[0] - fractions[1]) / 2.0).abs(),
        n => {
            let mean = fractions.iter().sum::<f64>() / n as f64;
            (fractions.iter().map(|f| (f - mean) * (f - mean)).sum::<f64>() / n as f64).sqrt()
        }
    };
    ((1.0 - std) * MAX_SCORE as f64) as i64
}

/// Tetris' alignment, scaled to 0–100:
/// `100 · Σ_r w_r · (d_r / c_r) · (f_r / c_r) / Σ_r w_r` over the dimensions with `w_r > 0`, with
/// `d` the task's demand, `f` the node's free resources (before placing the task) and `c` its
/// capacity; each fraction is capped at 1 and a dimension the node lacks (`c_r = 0`) adds 0.
///
/// Tetris ranks by the bare dot product `Σ_r (d_r / c_r)(f_r / c_r)`; dividing by `Σ_r w_r`, the
/// same for every node, keeps its ranking and makes 100 the score of a task that fills an empty
/// node in every weighted dimension. Values are small for small tasks (a 1-core task on an idle
/// 16-core node scores 100/16 = 6.25 on CPU alone): it favours nodes where the task is large and
/// free room plentiful together, so its term weight usually needs to be larger than the others'.
pub fn tetris_score(demand: &Resources, free: &Resources, capacity: &Resources, weights: &[f64; N_RESOURCES]) -> f64 {
    let weight_sum = weights.iter().filter(|&&w| w > 0.0).sum();
    tetris_from(&Alignment::of(demand, free, capacity, weights), weight_sum)
}

/// The sums behind [`tetris_score`] and [`demand_fit_score`], over the dimensions with positive
/// weight that the node has: `Σ w a b`, `Σ w a²` and `Σ w b²`, with `a_r = min(1, d_r / c_r)`
/// and `b_r = min(1, f_r / c_r)`. Computed once per node for both terms.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Alignment {
    dot: f64,
    demand_sq: f64,
    free_sq: f64,
}

impl Alignment {
    /// The sums for one node, in dimension order.
    #[inline(always)]
    pub(super) fn of(demand: &Resources, free: &Resources, capacity: &Resources, weights: &[f64; N_RESOURCES]) -> Self {
        let mut s = Alignment::default();
        for (r, &w) in weights.iter().enumerate() {
            let cap = capacity.0[r];
            if w <= 0.0 || cap == 0 {
                continue;
            }
            let a = (demand.0[r] as f64 / cap as f64).min(1.0);
            let b = (free.0[r] as f64 / cap as f64).min(1.0);
            s.dot += w * a * b;
            s.demand_sq += w * a * a;
            s.free_sq += w * b * b;
        }
        s
    }
}

/// [`tetris_score`] from the node's sums and `Σ_r w_r` over the dimensions with `w_r > 0`.
#[inline(always)]
pub(super) fn tetris_from(s: &Alignment, weight_sum: f64) -> f64 {
    if weight_sum > 0.0 {
        MAX_SCORE as f64 * s.dot / weight_sum
    } else {
        0.0
    }
}

/// [`demand_fit_score`] from the node's sums.
#[inline(always)]
pub(super) fn demand_fit_from(s: &Alignment) -> f64 {
    if s.demand_sq == 0.0 {
        MAX_SCORE as f64
    } else if s.free_sq == 0.0 {
        0.0
    } else {
        (MAX_SCORE as f64 * s.dot / (s.demand_sq.sqrt() * s.free_sq.sqrt())).min(MAX_SCORE as f64)
    }
}

/// How well the node's free resources match the proportions of the task's demand: the weighted
/// cosine similarity `Σ w_r a_r b_r / (√(Σ w_r a_r²) · √(Σ w_r b_r²))` × 100 of `a_r = d_r / c_r`
/// and `b_r = f_r / c_r` (the vectors of [`tetris_score`]) over the weighted dimensions the node
/// has. 100 when the free room has exactly the demand's shape (whatever its size), lower as the
/// free room leans towards dimensions the task does not need. A task demanding nothing in the
/// weighted dimensions scores 100 everywhere; a node with nothing free scores 0.
pub fn demand_fit_score(
    demand: &Resources,
    free: &Resources,
    capacity: &Resources,
    weights: &[f64; N_RESOURCES],
) -> f64 {
    demand_fit_from(&Alignment::of(demand, free, capacity, weights))
}

/// Capacities below this (in milli-units) take the fast paths of [`least_requested_near`] and
/// [`most_requested_near`]: products of up to 101 of them stay far inside `i64`, and the float
/// estimate of a score is within 1 of the exact quotient.
const FAST_CAPACITY: u64 = 1 << 40;

/// `x as f64`, by the cheaper signed conversion where it gives the same value.
#[inline(always)]
pub(super) fn as_f64(x: u64) -> f64 {
    if x <= i64::MAX as u64 {
        x as i64 as f64
    } else {
        x as f64
    }
}

/// `⌊num / den⌋` for `0 ≤ num` and `0 < den`, from an estimate within 1 of it: one or two
/// multiplications instead of an integer division.
#[inline(always)]
pub(super) fn floor_div_near(num: i64, den: i64, estimate: i64) -> i64 {
    if estimate * den > num {
        estimate - 1
    } else if (estimate + 1) * den <= num {
        estimate + 1
    } else {
        estimate
    }
}

/// [`least_requested_score`]`(requested, capacity)` given `fraction = requested / capacity`
/// computed in `f64` (`capacity > 0`): exactly the same integer, without an integer division.
#[inline(always)]
pub(super) fn least_requested_near(requested: u64, capacity: u64, fraction: f64) -> i64 {
    if capacity >= FAST_CAPACITY || requested > capacity {
        return least_requested_score(requested as i64, capacity as i64);
    }
    let estimate = ((1.0 - fraction) * MAX_SCORE as f64) as i64;
    floor_div_near((capacity - requested) as i64 * MAX_SCORE, capacity as i64, estimate)
}

/// [`most_requested_score`]`(requested, capacity)` given `fraction = requested / capacity`
/// computed in `f64` (`capacity > 0`): exactly the same integer, without an integer division.
#[inline(always)]
pub(super) fn most_requested_near(requested: u64, capacity: u64, fraction: f64) -> i64 {
    if capacity >= FAST_CAPACITY || requested > capacity {
        return most_requested_score(requested as i64, capacity as i64);
    }
    let estimate = (fraction * MAX_SCORE as f64) as i64;
    floor_div_near(requested as i64 * MAX_SCORE, capacity as i64, estimate)
}

/// Live queue length: `100 / (1 + tasks)`, with tasks = running + queued + in flight.
#[inline]
pub fn queue_score(tasks: u32) -> f64 {
    MAX_SCORE as f64 / (1.0 + f64::from(tasks))
}

/// [`queue_score`] for the first task counts, computed by it (so identical), read instead of
/// dividing for every candidate.
const QUEUE_TABLE_LEN: usize = 64;
static QUEUE_TABLE: [f64; QUEUE_TABLE_LEN] = {
    let mut table = [0.0; QUEUE_TABLE_LEN];
    let mut tasks = 0;
    while tasks < QUEUE_TABLE_LEN {
        table[tasks] = MAX_SCORE as f64 / (1.0 + tasks as f64);
        tasks += 1;
    }
    table
};

/// [`queue_score`], from a table for short queues.
#[inline(always)]
pub(super) fn queue_score_fast(tasks: u32) -> f64 {
    match QUEUE_TABLE.get(tasks as usize) {
        Some(&score) => score,
        None => queue_score(tasks),
    }
}

/// At least [`queue_score`]: the term for `min(tasks, 63)` (it decreases as tasks grow), read
/// from the table without a branch.
#[inline(always)]
pub(super) fn queue_score_bound(tasks: u32) -> f64 {
    QUEUE_TABLE[(tasks as usize).min(QUEUE_TABLE_LEN - 1)]
}

/// Historical efficiency: `100 · min(1, speed_ratio) · success_rate`, where `speed_ratio` is the
/// node's observed completion speed over its nominal speed (1 when tasks complete as fast as the
/// node's declared speed promises, less when they queue or the node is slower than declared) and
/// `success_rate` the fraction of its outcomes that were completions.
#[inline]
pub fn efficiency_score(speed_ratio: f64, success_rate: f64) -> f64 {
    let ratio = if speed_ratio >= 0.0 { speed_ratio.min(1.0) } else { 0.0 };
    let success = if success_rate >= 0.0 { success_rate.min(1.0) } else { 0.0 };
    MAX_SCORE as f64 * ratio * success
}

/// Response time: `100 / (1 + latency / scale)`, so 100 for an instant node, 50 for a node whose
/// average latency equals `scale` (the same as [`NEUTRAL_SCORE`], the score of a node never
/// observed) and towards 0 as latency grows.
#[inline]
pub fn response_time_score(latency_s: f64, scale_s: f64) -> f64 {
    MAX_SCORE as f64 / (1.0 + latency_s.max(0.0) / scale_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn kubernetes_terms_reproduce_hand_computed_scores() {
        // A node of 4 cores and 10 GB, requesting 3 cores and 5 GB with the task included.
        // LeastAllocated: cpu (4000−3000)·100/4000 = 25, memory 50. MostAllocated: 75 and 50.
        // BalancedAllocation: |0.75 − 0.5| / 2 = 0.125 → 87.
        assert_eq!(least_requested_score(3000, 4000), 25);
        assert_eq!(least_requested_score(5000, 10000), 50);
        assert_eq!(most_requested_score(3000, 4000), 75);
        assert_eq!(balanced_score(&[(3000, 4000), (5000, 10000)]), 87);
        assert_eq!(least_requested_score(5000, 4000), 0, "over capacity scores 0");
        assert_eq!(most_requested_score(5000, 4000), 100, "requested is capped at capacity");
        assert_eq!(balanced_score(&[(1, 3), (2, 3), (3, 3)]), 72, "std of 1/3, 2/3, 1 is 0.2722");
    }

    #[test]
    fn division_free_kubernetes_scores_equal_the_integer_ones() {
        // Every requested amount for small capacities, and a sweep with awkward large ones
        // (including the fallback above the fast range and a request over capacity).
        let mut pairs: Vec<(u64, u64)> = (1..=400u64).flat_map(|c| (0..=c + 1).map(move |r| (r, c))).collect();
        for c in [999_983u64, 2_000_000, 64_000, 1 << 39, (1 << 40) + 7, 1 << 50] {
            for k in 0..=2000u64 {
                let r = (c as u128 * k as u128 / 2000) as u64;
                pairs.extend([(r, c), (r.saturating_sub(1), c), ((r + 1).min(c), c)]);
            }
        }
        for (r, c) in pairs {
            let fraction = r as f64 / c as f64;
            assert_eq!(least_requested_near(r, c, fraction), least_requested_score(r as i64, c as i64), "{r}/{c}");
            assert_eq!(most_requested_near(r, c, fraction), most_requested_score(r as i64, c as i64), "{r}/{c}");
        }
        for den in 1..=60i64 {
            for num in 0..=100 * den {
                let estimate = (num as f64 * (1.0 / den as f64)) as i64;
                assert_eq!(floor_div_near(num, den, estimate), num / den, "{num}/{den}");
            }
        }
    }

    #[test]
    fn queue_table_equals_the_formula() {
        for tasks in 0..200 {
            assert_eq!(queue_score_fast(tasks).to_bits(), queue_score(tasks).to_bits(), "{tasks}");
            assert!(queue_score_bound(tasks) >= queue_score(tasks), "{tasks}");
        }
        assert!(queue_score_bound(u32::MAX) >= queue_score(u32::MAX));
    }

    const CPU_MEM: [f64; N_RESOURCES] = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0];

    #[test]
    fn tetris_is_the_capacity_normalised_dot_product() {
        // Node: 4 cores, 10 GB; 2 cores and 3 GB used, so 2 and 7 free. Task: 1 core, 2 GB.
        // a = (1/4, 2/10) = (0.25, 0.2), b = (2/4, 7/10) = (0.5, 0.7);
        // a·b = 0.125 + 0.14 = 0.265; × 100 / (1 + 1) = 13.25.
        let cap = Resources([4000, 10_000, 0, 0, 0, 0]);
        let free = Resources([2000, 7000, 0, 0, 0, 0]);
        let demand = Resources([1000, 2000, 0, 0, 0, 0]);
        let s = tetris_score(&demand, &free, &cap, &CPU_MEM);
        assert!(close(s, 13.25, 1e-9), "{s}");
        // CPU weighted 3, memory 1: (3 · 0.125 + 0.14) · 100 / 4 = 12.875.
        let s = tetris_score(&demand, &free, &cap, &[3.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        assert!(close(s, 12.875, 1e-9), "{s}");
        // A task filling an empty node in both dimensions scores the maximum.
        assert!(close(tetris_score(&cap, &cap, &cap, &CPU_MEM), 100.0, 1e-9));
        // A weighted dimension the node lacks counts in the denominator only: (0.125 + 0.14 + 0)·100/3.
        let s = tetris_score(&demand, &free, &cap, &[1.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
        assert!(close(s, 26.5 / 3.0, 1e-9), "{s}");
        assert_eq!(tetris_score(&demand, &free, &cap, &[0.0; N_RESOURCES]), 0.0);
    }

    #[test]
    fn demand_fit_is_the_cosine_of_demand_and_free_room() {
        let cap = Resources([4000, 8000, 0, 0, 0, 0]);
        let demand = Resources([1000, 2000, 0, 0, 0, 0]);
        // Free (2 cores, 4 GB) has the demand's shape, a = (0.25, 0.25), b = (0.5, 0.5): 100.
        let same_shape = Resources([2000, 4000, 0, 0, 0, 0]);
        assert!(close(demand_fit_score(&demand, &same_shape, &cap, &CPU_MEM), 100.0, 1e-9));
        // Free (2 cores, 8 GB): b = (0.5, 1); cos = 0.375 / (√0.125 · √1.25) = 3/√10 = 0.948683.
        let memory_heavy = Resources([2000, 8000, 0, 0, 0, 0]);
        let s = demand_fit_score(&demand, &memory_heavy, &cap, &CPU_MEM);
        assert!(close(s, 300.0 / 10f64.sqrt(), 1e-9), "{s}");
        assert!(close(s, 94.868, 1e-3), "{s}");
        // The tetris example: a = (0.25, 0.2), b = (0.5, 0.7): 0.265 / √(0.1025 · 0.74) = 96.2206.
        let s = demand_fit_score(
            &Resources([1000, 2000, 0, 0, 0, 0]),
            &Resources([2000, 7000, 0, 0, 0, 0]),
            &Resources([4000, 10_000, 0, 0, 0, 0]),
            &CPU_MEM,
        );
        assert!(close(s, 96.2206, 1e-4), "{s}");
        assert_eq!(demand_fit_score(&Resources::ZERO, &same_shape, &cap, &CPU_MEM), 100.0);
        assert_eq!(demand_fit_score(&demand, &Resources::ZERO, &cap, &CPU_MEM), 0.0);
    }

    #[test]
    fn live_and_learned_terms_map_to_the_scale() {
        assert_eq!(queue_score(0), 100.0);
        assert_eq!(queue_score(3), 25.0);
        assert_eq!(efficiency_score(0.8, 0.5), 40.0);
        assert_eq!(efficiency_score(1.7, 1.0), 100.0, "faster than nominal is capped");
        assert_eq!(efficiency_score(f64::NAN, 1.0), 0.0);
        assert_eq!(response_time_score(0.0, 2.0), 100.0);
        assert_eq!(response_time_score(2.0, 2.0), NEUTRAL_SCORE);
        assert_eq!(response_time_score(6.0, 2.0), 25.0);
    }
}
