//! `least-connections`: the candidate with the fewest tasks (running + queued + in flight), ties
//! broken uniformly at random.
//!
//! Reads [`NodeLoad::tasks`](crate::NodeLoad::tasks). Cost: O(candidates). Optimal-ish with fresh
//! information (join-the-shortest-queue); with stale information every dispatcher sends to the
//! same "least loaded" node and herds (Mitzenmacher, "How useful is old information?", 2000).

use rand_core::RngCore;

use super::{argmin_random_ties, Balancer, Explanation, Notes, Rank};
use crate::{ClusterView, NodeId, TaskInfo, Time};

/// Joins the shortest queue as the view sees it.
#[derive(Clone, Copy, Debug, Default)]
pub struct LeastConnections;

impl Balancer for LeastConnections {
    /// Only the task counts are read.
    fn reads_used(&self) -> bool {
        false
    }

    fn pick(
        &mut self,
        _task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        rng: &mut dyn RngCore,
    ) -> Option<NodeId> {
        choose(candidates, view, rng, &mut ())
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
        choose(candidates, view, rng, why)
    }

    /// The task counts.
    fn scores(
        &mut self,
        _task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        out: &mut Vec<f64>,
    ) -> bool {
        out.clear();
        out.extend(candidates.iter().map(|&c| f64::from(view.load(c).tasks())));
        true
    }
}

/// The decision behind `pick` and `pick_explained`: each candidate's task count is its score.
#[inline]
fn choose<N: Notes>(
    candidates: &[NodeId],
    view: &ClusterView<'_>,
    rng: &mut dyn RngCore,
    why: &mut N,
) -> Option<NodeId> {
    why.start(Rank::Lowest);
    argmin_random_ties(candidates, rng, |c| {
        let tasks = f64::from(view.load(c).tasks());
        why.note(c, None, &[("tasks", tasks)], Some(tasks));
        Some(tasks)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::{assert_explained_matches_pick, task, Fixture};
    use rand_core::SeedableRng;

    #[test]
    fn picks_the_least_loaded_and_splits_ties_evenly() {
        let fx = Fixture::with_tasks(&[3, 1, 2, 1, 5]);
        let all: Vec<NodeId> = (0..5).map(NodeId).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut counts = [0u32; 5];
        for _ in 0..20_000 {
            let n = LeastConnections.pick(&task(), &all, &fx.view(), Time::ZERO, &mut rng).unwrap();
            counts[n.index()] += 1;
        }
        assert_eq!(counts[0] + counts[2] + counts[4], 0, "{counts:?}");
        assert!((9_600..10_400).contains(&counts[1]), "{counts:?}");
        // Restricted candidates: node 2 is the least loaded among {0, 2, 4}.
        let some = [NodeId(0), NodeId(2), NodeId(4)];
        assert_eq!(LeastConnections.pick(&task(), &some, &fx.view(), Time::ZERO, &mut rng), Some(NodeId(2)));
    }

    #[test]
    fn explained_picks_match_plain_picks() {
        assert_explained_matches_pick(LeastConnections, 3000);
        let fx = Fixture::with_tasks(&[2, 0, 1]);
        let mut why = Explanation::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let picked = LeastConnections.pick_explained(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng, &mut why);
        assert_eq!(picked, Some(NodeId(1)));
        assert_eq!(why.rank, Rank::Lowest);
        let scores: Vec<_> = why.notes.iter().map(|n| (n.node, n.score)).collect();
        assert_eq!(scores, [(0, Some(2.0)), (1, Some(0.0)), (2, Some(1.0))]);
    }
}
