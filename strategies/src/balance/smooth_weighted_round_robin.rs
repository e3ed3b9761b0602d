//! `smooth-weighted-round-robin`: nginx's smooth weighted round robin.
//!
//! Every pick, each candidate's current weight grows by its weight; the candidate with the
//! largest current weight (the first, on ties) is chosen and its current weight drops by the sum
//! of the weights. Over any window the picks follow the weights, and the heavy node's turns are
//! spread out instead of bunched: weights {5, 1, 1} give a, a, b, a, c, a, a (nginx commit
//! 27e94984, "Upstream: smooth weighted round-robin balancing"). Reads the candidates' static
//! weights. Cost: O(candidates).

use rand_core::RngCore;

use super::{weights::WeightBy, Balancer};
use crate::{ClusterView, NodeId, TaskInfo, Time};

/// nginx's smooth weighted round robin.
#[derive(Clone, Debug, Default)]
pub struct SmoothWeightedRoundRobin {
    weight_by: WeightBy,
    /// Current weight by node id (grown on demand).
    current: Vec<f64>,
}

impl SmoothWeightedRoundRobin {
    /// Weights from `weight_by`.
    pub fn new(weight_by: WeightBy) -> Self {
        SmoothWeightedRoundRobin { weight_by, current: Vec::new() }
    }
}

impl Balancer for SmoothWeightedRoundRobin {
    fn pick(
        &mut self,
        _task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        _rng: &mut dyn RngCore,
    ) -> Option<NodeId> {
        if candidates.is_empty() {
            return None;
        }
        if self.current.len() < view.len() {
            self.current.resize(view.len(), 0.0);
        }
        let mut total = 0.0;
        let mut best: Option<(NodeId, f64)> = None;
        for &c in candidates {
            let w = self.weight_by.weight(view, c);
            total += w;
            let cur = &mut self.current[c.index()];
            *cur += w;
            if best.is_none_or(|(_, b)| *cur > b) {
                best = Some((c, *cur));
            }
        }
        let (best, _) = best?;
        self.current[best.index()] -= total;
        Some(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::{task, Fixture};
    use rand_core::SeedableRng;

    #[test]
    fn weights_5_1_1_give_nginx_sequence() {
        let fx = Fixture::with_tasks_and_cores(&[0, 0, 0], &[5, 1, 1]);
        let all = fx.all();
        let mut b = SmoothWeightedRoundRobin::new(WeightBy::Cores);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let names: String = (0..14)
            .map(|_| match b.pick(&task(), &all, &fx.view(), Time::ZERO, &mut rng).unwrap().0 {
                0 => 'a',
                1 => 'b',
                _ => 'c',
            })
            .collect();
        assert_eq!(names, "aabacaaaabacaa");
    }
}
