//! `smooth-weighted-round-robin`: nginx's smooth weighted round robin.
//!
//! Every pick, each candidate's current weight grows by its weight; the candidate with the
//! largest current weight (the first, on ties) is chosen and its current weight drops by the sum
//! of the weights. Over any window the picks follow the weights, and the heavy node's turns are
//! spread out instead of bunched: weights {5, 1, 1} give a, a, b, a, c, a, a (nginx commit
//! 27e94984, "Upstream: smooth weighted round-robin balancing"). Reads the candidates' static
//! weights. Cost: O(candidates).

use rand_core::RngCore;

use super::{weights::WeightBy, Balancer, Explanation, Notes, Rank};
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
        self.choose(candidates, view, &mut ())
    }

    fn pick_explained(
        &mut self,
        _task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        _rng: &mut dyn RngCore,
        why: &mut Explanation,
    ) -> Option<NodeId> {
        self.choose(candidates, view, why)
    }
}

impl SmoothWeightedRoundRobin {
    /// The decision behind `pick` and `pick_explained`, which notes each candidate's weight and
    /// its current weight when compared (after the increase, before the winner's decrease).
    #[inline]
    fn choose<N: Notes>(&mut self, candidates: &[NodeId], view: &ClusterView<'_>, why: &mut N) -> Option<NodeId> {
        why.start(Rank::None);
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
            why.note(c, None, &[("weight", w), ("current", *cur)], None);
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
    use crate::balance::testkit::{assert_explained_matches_pick, task, Fixture};
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

    #[test]
    fn explained_picks_match_plain_picks() {
        for weight_by in [WeightBy::Capacity, WeightBy::Speed, WeightBy::FreeCapacity] {
            assert_explained_matches_pick(SmoothWeightedRoundRobin::new(weight_by), 2000);
        }
        // Weights 5, 1, 1: current weights 5, 1, 1 after the first increase (node 0 wins and
        // drops to −2); 3, 2, 2 after the second.
        let fx = Fixture::with_tasks_and_cores(&[0, 0, 0], &[5, 1, 1]);
        let mut b = SmoothWeightedRoundRobin::new(WeightBy::Cores);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut why = Explanation::default();
        let mut current = || {
            b.pick_explained(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng, &mut why);
            why.notes.iter().map(|n| n.terms[1].1).collect::<Vec<_>>()
        };
        assert_eq!(current(), [5.0, 1.0, 1.0]);
        assert_eq!(current(), [3.0, 2.0, 2.0]);
    }
}
