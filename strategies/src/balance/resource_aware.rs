//! `resource-aware`: filter, then score, as kube-scheduler does.
//!
//! **Filter**: a candidate passes if the task's demand fits in its capacity minus its believed
//! use (Kubernetes' `NodeResourcesFit` filter, on the dispatcher's view) and, if
//! `max_cpu_utilization` is set, its believed CPU utilisation is at most that. If no candidate
//! passes, the task goes to the candidate with the fewest tasks, to queue there.
//!
//! **Score** (each term 0–100, combined as a weighted mean of the terms with non-zero weight):
//! - `least_allocated`: Kubernetes `LeastAllocated`, `Σ_r w_r · (cap_r − req_r)·100 / cap_r / Σ_r w_r`
//!   in integer arithmetic, with `req` = believed use + the task's demand (spreads load);
//! - `most_allocated`: Kubernetes `MostAllocated`, `Σ_r w_r · min(req_r, cap_r)·100 / cap_r / Σ_r w_r`
//!   (packs);
//! - `balanced_allocation`: Kubernetes `BalancedAllocation`, `(1 − std(req_r / cap_r))·100` over the
//!   weighted resources the node has (fractions capped at 1; with two resources std = |f₁ − f₂| / 2);
//! - `queue`: live state, `100 / (1 + tasks)` with tasks = running + queued + in flight.
//!
//! The highest score wins; ties are broken at random, as kube-scheduler's `selectHost` does.
//! Formulas follow `pkg/scheduler/framework/plugins/noderesources/{least_allocated,
//! most_allocated,balanced_allocation}.go` of Kubernetes. Cost: O(candidates × resources).

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use super::{argmin_random_ties, Balancer};
use crate::{ClusterView, NodeId, Resource, ResourceUnits, TaskInfo, Time, N_RESOURCES};

/// Kubernetes' `MaxNodeScore`.
pub const MAX_SCORE: i64 = 100;

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
}

impl Default for TermWeights {
    /// kube-scheduler's default profile: LeastAllocated and BalancedAllocation, equally weighted.
    fn default() -> Self {
        TermWeights { least_allocated: 1.0, most_allocated: 0.0, balanced_allocation: 1.0, queue: 0.0 }
    }
}

/// Default resource weights: CPU and memory, 1 each (kube-scheduler's default).
pub fn default_resource_weights() -> ResourceUnits {
    ResourceUnits { cpu_cores: 1.0, memory_gb: 1.0, ..Default::default() }
}

/// `LeastAllocated` for one resource (Kubernetes' `leastRequestedScore`).
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_SCORE / capacity
}

/// `MostAllocated` for one resource (Kubernetes' `mostRequestedScore`).
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
    let fractions = &buf[..len];
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

/// Filter-then-score placement.
#[derive(Clone, Debug)]
pub struct ResourceAware {
    terms: TermWeights,
    /// Integer resource weights (Kubernetes weights are integers), by dimension.
    resource_weights: [i64; N_RESOURCES],
    max_cpu_utilization: Option<f64>,
}

impl ResourceAware {
    /// A scorer with these weights; resource weights are rounded to integers.
    pub fn new(terms: TermWeights, resource_weights: ResourceUnits, max_cpu_utilization: Option<f64>) -> Self {
        let mut w = [0i64; N_RESOURCES];
        for (o, v) in w.iter_mut().zip(resource_weights.to_array()) {
            *o = v.round().max(0.0) as i64;
        }
        ResourceAware { terms, resource_weights: w, max_cpu_utilization }
    }

    /// The node's score for the task (0–100), or `None` if the filter rejects it.
    pub fn score(&self, task: &TaskInfo, view: &ClusterView<'_>, node: NodeId) -> Option<f64> {
        let cap = view.spec(node).capacity;
        let req = view.used(node).plus(&task.demand);
        if !req.fits_in(&cap) {
            return None;
        }
        if let Some(max) = self.max_cpu_utilization {
            let cpu = cap.get(Resource::Cpu);
            if cpu > 0 && view.used(node).get(Resource::Cpu) as f64 / cpu as f64 > max {
                return None;
            }
        }
        let weighted = |f: fn(i64, i64) -> i64| {
            let (mut score, mut weights) = (0i64, 0i64);
            for r in Resource::ALL {
                let w = self.resource_weights[r as usize];
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
        let t = &self.terms;
        let mut total = 0.0;
        let mut weight = 0.0;
        let mut add = |w: f64, term: &dyn Fn() -> f64| {
            if w > 0.0 {
                total += w * term();
                weight += w;
            }
        };
        add(t.least_allocated, &|| weighted(least_requested_score) as f64);
        add(t.most_allocated, &|| weighted(most_requested_score) as f64);
        add(t.balanced_allocation, &|| {
            let mut pairs = [(0i64, 0i64); N_RESOURCES];
            let mut len = 0;
            for r in Resource::ALL.into_iter().filter(|&r| self.resource_weights[r as usize] > 0) {
                pairs[len] = (req.get(r) as i64, cap.get(r) as i64);
                len += 1;
            }
            balanced_score(&pairs[..len]) as f64
        });
        add(t.queue, &|| MAX_SCORE as f64 / f64::from(1 + view.load(node).tasks()));
        Some(if weight > 0.0 { total / weight } else { 0.0 })
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
        // Highest score among the candidates the filter passes; none passing, the task queues at
        // the candidate with the fewest tasks.
        let best = argmin_random_ties(candidates, rng, |c| self.score(task, view, c).map(|s| -s));
        best.or_else(|| candidates.iter().copied().min_by_key(|&c| view.load(c).tasks()))
    }

    /// The negated score; `INFINITY` for a candidate the filter rejects.
    fn scores(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        out: &mut Vec<f64>,
    ) -> bool {
        out.clear();
        out.extend(candidates.iter().map(|&c| self.score(task, view, c).map_or(f64::INFINITY, |s| -s)));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::{task, Fixture};
    use crate::Resources;
    use rand_core::SeedableRng;

    #[test]
    fn kubernetes_terms_reproduce_hand_computed_scores() {
        // A node of 4 cores and 10 GB, requesting 3 cores and 5 GB with the task included.
        // LeastAllocated: cpu (4000−3000)·100/4000 = 25, memory 50 → (25 + 50) / 2 = 37.
        // MostAllocated: 75 and 50 → 62. BalancedAllocation: |0.75 − 0.5| / 2 = 0.125 → 87.
        assert_eq!(least_requested_score(3000, 4000), 25);
        assert_eq!(least_requested_score(5000, 10000), 50);
        assert_eq!(most_requested_score(3000, 4000), 75);
        assert_eq!(balanced_score(&[(3000, 4000), (5000, 10000)]), 87);
        assert_eq!(least_requested_score(5000, 4000), 0, "over capacity scores 0");
        assert_eq!(most_requested_score(5000, 4000), 100, "requested is capped at capacity");
        assert_eq!(balanced_score(&[(1, 3), (2, 3), (3, 3)]), 72, "std of 1/3, 2/3, 1 is 0.2722");

        let mut fx = Fixture::with_tasks(&[0]);
        fx.specs[0].capacity = Resources([4000, 10_000, 0, 0, 0, 0]);
        fx.used[0] = Resources([2000, 3000, 0, 0, 0, 0]);
        let t = TaskInfo { demand: Resources([1000, 2000, 0, 0, 0, 0]), ..task() };
        let only = |terms| ResourceAware::new(terms, default_resource_weights(), None).score(&t, &fx.view(), NodeId(0));
        let zero = TermWeights { least_allocated: 0.0, most_allocated: 0.0, balanced_allocation: 0.0, queue: 0.0 };
        assert_eq!(only(TermWeights { least_allocated: 1.0, ..zero }), Some(37.0));
        assert_eq!(only(TermWeights { most_allocated: 1.0, ..zero }), Some(62.0));
        assert_eq!(only(TermWeights { balanced_allocation: 1.0, ..zero }), Some(87.0));
        assert_eq!(only(TermWeights::default()), Some((37.0 + 87.0) / 2.0));
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
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let spread = TermWeights { least_allocated: 1.0, balanced_allocation: 0.0, ..TermWeights::default() };
        let pack = TermWeights { least_allocated: 0.0, most_allocated: 1.0, balanced_allocation: 0.0, queue: 0.0 };
        let mut spreader = ResourceAware::new(spread, cpu_only, None);
        let mut packer = ResourceAware::new(pack, cpu_only, None);
        assert_eq!(spreader.pick(&t, &all, &fx.view(), Time::ZERO, &mut rng), Some(NodeId(1)));
        assert_eq!(packer.pick(&t, &all, &fx.view(), Time::ZERO, &mut rng), Some(NodeId(2)));
        // Excluding nodes over 40% CPU leaves only node 1 (25%).
        let mut strict = ResourceAware::new(pack, cpu_only, Some(0.4));
        assert_eq!(strict.pick(&t, &all, &fx.view(), Time::ZERO, &mut rng), Some(NodeId(1)));
    }
}
