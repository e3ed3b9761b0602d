//! `weighted-least-connections`: the fewest tasks per unit of weight.
//!
//! Chooses the candidate minimising `tasks / weight` (running + queued + in flight, over the
//! node's static weight), as LVS's and nginx's weighted least-connection schedulers do; ties are
//! broken at random. With weight = cores × speed this is "shortest expected queue" on
//! heterogeneous nodes. Cost: O(candidates).

use rand_core::RngCore;

use super::{argmin_random_ties, weights::WeightBy, Balancer};
use crate::{ClusterView, NodeId, TaskInfo, Time};

/// Least tasks per unit of weight.
#[derive(Clone, Copy, Debug, Default)]
pub struct WeightedLeastConnections {
    weight_by: WeightBy,
}

impl WeightedLeastConnections {
    /// Weights from `weight_by`.
    pub fn new(weight_by: WeightBy) -> Self {
        WeightedLeastConnections { weight_by }
    }
}

impl Balancer for WeightedLeastConnections {
    fn pick(
        &mut self,
        _task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        rng: &mut dyn RngCore,
    ) -> Option<NodeId> {
        // One more task than now: a node with no tasks still prefers the larger weight.
        argmin_random_ties(candidates, rng, |c| {
            Some(f64::from(view.load(c).tasks() + 1) / self.weight_by.weight(view, c))
        })
    }

    /// (tasks + 1) / weight.
    fn scores(
        &mut self,
        _task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        out: &mut Vec<f64>,
    ) -> bool {
        out.clear();
        out.extend(candidates.iter().map(|&c| f64::from(view.load(c).tasks() + 1) / self.weight_by.weight(view, c)));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::{task, Fixture};
    use rand_core::SeedableRng;

    #[test]
    fn prefers_capacity_per_task() {
        // Node 0: 4 cores, 3 tasks → 4/4 = 1; node 1: 1 core, 0 tasks → 1/1 = 1; node 2: 8 cores,
        // 6 tasks → 7/8: the lowest.
        let fx = Fixture::with_tasks_and_cores(&[3, 0, 6], &[4, 1, 8]);
        let all = fx.all();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut b = WeightedLeastConnections::new(WeightBy::Cores);
        assert_eq!(b.pick(&task(), &all, &fx.view(), Time::ZERO, &mut rng), Some(NodeId(2)));
        // Equal weights: plain least connections.
        let mut plain = WeightedLeastConnections::new(WeightBy::Equal);
        assert_eq!(plain.pick(&task(), &all, &fx.view(), Time::ZERO, &mut rng), Some(NodeId(1)));
    }
}
