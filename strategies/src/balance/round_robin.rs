//! `round-robin`: the candidates in turn.
//!
//! Reads nothing of the view. Cost: O(1). Keeps one counter; when the candidate list changes
//! (a task class with fewer feasible nodes, a node suspected), the turn continues modulo the
//! current list's length.

use rand_core::RngCore;

use super::Balancer;
use crate::{ClusterView, NodeId, TaskInfo, Time};

/// Cycles through the candidates.
#[derive(Clone, Copy, Debug, Default)]
pub struct RoundRobin {
    next: u64,
}

impl Balancer for RoundRobin {
    /// Nothing of the view is read.
    fn reads_used(&self) -> bool {
        false
    }

    fn pick(
        &mut self,
        _task: &TaskInfo,
        candidates: &[NodeId],
        _view: &ClusterView<'_>,
        _now: Time,
        _rng: &mut dyn RngCore,
    ) -> Option<NodeId> {
        if candidates.is_empty() {
            return None;
        }
        let node = candidates[(self.next % candidates.len() as u64) as usize];
        self.next = self.next.wrapping_add(1);
        Some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::{task, Fixture};
    use rand_core::SeedableRng;

    #[test]
    fn visits_candidates_in_order() {
        let fx = Fixture::with_tasks(&[0; 4]);
        let candidates = [NodeId(3), NodeId(0), NodeId(2)];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut rr = RoundRobin::default();
        let picks: Vec<u32> =
            (0..7).map(|_| rr.pick(&task(), &candidates, &fx.view(), Time::ZERO, &mut rng).unwrap().0).collect();
        assert_eq!(picks, [3, 0, 2, 3, 0, 2, 3]);
    }
}
