//! `weighted-least-connections`: the fewest tasks per unit of weight.
//!
//! Chooses the candidate minimising `tasks / weight` (running + queued + in flight, over the
//! node's static weight), as LVS's and nginx's weighted least-connection schedulers do; ties are
//! broken at random. With weight = cores × speed this is "shortest expected queue" on
//! heterogeneous nodes. Cost: O(candidates).

use rand_core::RngCore;

use super::{argmin_random_ties, weights::WeightBy, Balancer, Explanation, Notes, Rank};
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
        self.choose(candidates, view, rng, &mut ())
    }

    fn pick_explained(
        &mut self,
        _task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        rng: &mut dyn RngCore,
        why: &mut Explanation,
    ) -> Option<NodeId> {
        self.choose(candidates, view, rng, why)
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

impl WeightedLeastConnections {
    /// The decision behind `pick` and `pick_explained`: the score is (tasks + 1) / weight.
    #[inline]
    fn choose<N: Notes>(
        &self,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        rng: &mut dyn RngCore,
        why: &mut N,
    ) -> Option<NodeId> {
        why.start(Rank::Lowest);
        // One more task than now: a node with no tasks still prefers the larger weight.
        argmin_random_ties(candidates, rng, |c| {
            let score = f64::from(view.load(c).tasks() + 1) / self.weight_by.weight(view, c);
            if N::ON {
                let (tasks, weight) = (f64::from(view.load(c).tasks()), self.weight_by.weight(view, c));
                why.note(c, None, &[("tasks", tasks), ("weight", weight)], Some(score));
            }
            Some(score)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::{assert_explained_matches_pick, task, Fixture};
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

    #[test]
    fn explained_picks_match_plain_picks() {
        for weight_by in [WeightBy::Capacity, WeightBy::Cores, WeightBy::Equal, WeightBy::FreeCapacity] {
            assert_explained_matches_pick(WeightedLeastConnections::new(weight_by), 2000);
        }
        // The example above: scores 4/4, 1/1 and 7/8.
        let fx = Fixture::with_tasks_and_cores(&[3, 0, 6], &[4, 1, 8]);
        let mut why = Explanation::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut b = WeightedLeastConnections::new(WeightBy::Cores);
        assert_eq!(b.pick_explained(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng, &mut why), Some(NodeId(2)));
        let scores: Vec<_> = why.notes.iter().map(|n| n.score.unwrap()).collect();
        assert_eq!(scores, [1.0, 1.0, 0.875]);
        assert_eq!(why.notes[2].terms, [("tasks", 6.0), ("weight", 8.0)]);
    }
}
