//! `random`: a uniformly random candidate.
//!
//! Reads nothing of the view. Cost: one random draw. The baseline of every load-balancing study:
//! with `n` identical nodes and Poisson arrivals it turns the cluster into `n` independent M/M/1
//! queues at rate λ/n.

use rand_core::RngCore;

use super::{uniform_index, Balancer};
use crate::{ClusterView, NodeId, TaskInfo, Time};

/// Picks a candidate uniformly at random.
#[derive(Clone, Copy, Debug, Default)]
pub struct Random;

impl Balancer for Random {
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
        rng: &mut dyn RngCore,
    ) -> Option<NodeId> {
        if candidates.is_empty() {
            return None;
        }
        Some(candidates[uniform_index(rng, candidates.len())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::{task, Fixture};
    use rand_core::SeedableRng;

    #[test]
    fn spreads_evenly_and_never_leaves_the_candidates() {
        let fx = Fixture::with_tasks(&[0; 8]);
        let candidates = [NodeId(1), NodeId(4), NodeId(6)];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0u32; 8];
        for _ in 0..30_000 {
            let n = Random.pick(&task(), &candidates, &fx.view(), Time::ZERO, &mut rng).unwrap();
            counts[n.index()] += 1;
        }
        for c in [1, 4, 6] {
            // 10,000 expected, sd ~82
            assert!((9_600..10_400).contains(&counts[c]), "{counts:?}");
        }
        assert_eq!(counts[0] + counts[2] + counts[3] + counts[5] + counts[7], 0);
        assert_eq!(Random.pick(&task(), &[], &fx.view(), Time::ZERO, &mut rng), None);
    }
}
