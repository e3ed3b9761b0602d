//! `weighted-round-robin`: the classic interleaved weighted round robin of LVS.
//!
//! Cycles through the candidates with a current-weight threshold that steps down by the weights'
//! greatest common divisor each round; a candidate is chosen while its weight reaches the
//! threshold. Weights {5, 1, 1} give a, a, a, a, a, b, c: the same shares as the smooth variant,
//! in bursts (LVS documentation, "Weighted Round-Robin Scheduling"). Weights are rounded to
//! integers (at least 1) after scaling by 1000, so fractional speeds keep their ratios. Reads the
//! candidates' static weights. Cost: O(candidates) per pick: the weights are computed once into a
//! buffer the balancer keeps, and the threshold never needs more than the rest of one sweep and
//! one more sweep to be met.

use rand_core::RngCore;

use super::{weights::WeightBy, Balancer, Explanation};
use crate::{round_to_u64, ClusterView, NodeId, TaskInfo, Time};

/// LVS interleaved weighted round robin.
#[derive(Clone, Debug, Default)]
pub struct WeightedRoundRobin {
    weight_by: WeightBy,
    index: usize,
    current: u64,
    /// The candidates' integer weights, by position in the candidate list (scratch space kept
    /// between picks, so that a pick allocates nothing).
    weights: Vec<u64>,
}

impl WeightedRoundRobin {
    /// Weights from `weight_by`.
    pub fn new(weight_by: WeightBy) -> Self {
        WeightedRoundRobin { weight_by, index: usize::MAX, current: 0, weights: Vec::new() }
    }
}

/// A node's integer weight: its weight × 1000, rounded half away from zero, at least 1.
#[inline(always)]
fn int_weight(weight: f64) -> u64 {
    round_to_u64(weight * 1000.0).max(1)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Balancer for WeightedRoundRobin {
    fn pick(
        &mut self,
        _task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        _rng: &mut dyn RngCore,
    ) -> Option<NodeId> {
        let n = candidates.len();
        if n == 0 {
            return None;
        }
        self.weights.resize(n, 0);
        let (mut g, mut max) = (0, 0);
        self.weight_by.map_into(view, candidates, &mut self.weights, |weight| {
            let w = int_weight(weight);
            // Once the divisor is 1 it stays 1 (fractional speeds usually get there at once).
            if g != 1 {
                g = gcd(g, w);
            }
            max = max.max(w);
            w
        });
        // At most one full sweep of thresholds is ever needed: max / g rounds of n candidates.
        loop {
            self.index = match self.index {
                usize::MAX => 0,
                i if i + 1 < n => i + 1,
                // The end of the list, or past it if the list shrank since the last pick.
                i => (i + 1) % n,
            };
            if self.index == 0 {
                self.current = if self.current <= g { max } else { self.current - g };
                // A threshold above every weight (left by a candidate list with heavier nodes)
                // chooses nobody: skip those rounds at once, stepping down as they would.
                if self.current > max {
                    self.current -= (self.current - max).div_ceil(g) * g;
                }
            }
            if self.weights[self.index] >= self.current {
                return Some(candidates[self.index]);
            }
        }
    }

    /// `pick`, then a note per candidate with its integer weight and the current-weight threshold
    /// the chosen node met (round robin does not rank).
    fn pick_explained(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
        why: &mut Explanation,
    ) -> Option<NodeId> {
        let picked = self.pick(task, candidates, view, now, rng);
        why.clear();
        let current = self.current as f64;
        for &c in candidates {
            let weight = int_weight(self.weight_by.weight(view, c)) as f64;
            why.note(c, None, &[("weight", weight), ("current", current)], None);
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::{assert_explained_matches_pick, task, Fixture};
    use rand_core::SeedableRng;

    #[test]
    fn weights_5_1_1_give_the_lvs_sequence() {
        let fx = Fixture::with_tasks_and_cores(&[0, 0, 0], &[5, 1, 1]);
        let all = fx.all();
        let mut b = WeightedRoundRobin::new(WeightBy::Cores);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let picks: Vec<u32> =
            (0..14).map(|_| b.pick(&task(), &all, &fx.view(), Time::ZERO, &mut rng).unwrap().0).collect();
        assert_eq!(picks, [0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn rounding_without_the_c_library_rounds_as_round_does_and_integer_weights_as_before() {
        let mut values = vec![0.0, 0.5, 1.5, 2.5, 0.49999999999999994, -0.5, -3.7, f64::NAN, f64::INFINITY, 1e300];
        values.extend([4_503_599_627_370_495.5, 4_503_599_627_370_496.0, 9_007_199_254_740_993.0, 1.8e19, 2e19]);
        let mut x = 0.000_123_f64;
        while x < 1e16 {
            values.extend([x, x + 0.5, (x * 1000.0).round() + 0.5, x.next_up(), x.next_down()]);
            x *= 1.37;
        }
        for v in values {
            assert_eq!(round_to_u64(v), v.round() as u64, "{v}");
            for w in [v, v / 1000.0] {
                assert_eq!(int_weight(w), round_to_u64(w * 1000.0).max(1), "{w}");
            }
        }
    }

    #[test]
    fn switching_to_lighter_candidates_skips_the_empty_rounds() {
        // Weights 5000, 1000, 1000; node 0 sets the threshold to 5000. A list of the two light
        // nodes then meets thresholds 4000, 3000 and 2000 in empty rounds, skipped at once, and
        // alternates from the threshold 1000 on, as the plain sweep would.
        let fx = Fixture::with_tasks_and_cores(&[0, 0, 0], &[5, 1, 1]);
        let mut b = WeightedRoundRobin::new(WeightBy::Cores);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        assert_eq!(b.pick(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng), Some(NodeId(0)));
        let light = [NodeId(1), NodeId(2)];
        let picks: Vec<u32> =
            (0..4).map(|_| b.pick(&task(), &light, &fx.view(), Time::ZERO, &mut rng).unwrap().0).collect();
        assert_eq!(picks, [1, 2, 1, 2]);
        assert_eq!(b.current, 1000);
    }

    #[test]
    fn explained_picks_match_plain_picks() {
        for weight_by in [WeightBy::Capacity, WeightBy::Cores, WeightBy::FreeCapacity] {
            assert_explained_matches_pick(WeightedRoundRobin::new(weight_by), 2000);
        }
        // Weights 5000, 1000, 1000: the first pick lowers the threshold from 0 to the largest
        // weight, 5000, which only node 0 meets.
        let fx = Fixture::with_tasks_and_cores(&[0, 0, 0], &[5, 1, 1]);
        let mut b = WeightedRoundRobin::new(WeightBy::Cores);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut why = Explanation::default();
        assert_eq!(b.pick_explained(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng, &mut why), Some(NodeId(0)));
        let terms: Vec<_> = why.notes.iter().map(|n| n.terms.clone()).collect();
        assert_eq!(terms[0], [("weight", 5000.0), ("current", 5000.0)]);
        assert_eq!(terms[2], [("weight", 1000.0), ("current", 5000.0)]);
        assert_eq!(why.rank, crate::balance::Rank::None);
    }
}
