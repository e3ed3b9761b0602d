//! `power-of-d`: sample `d` distinct candidates uniformly at random, send the task to the one with
//! the fewest tasks (ties go to the first sampled).
//!
//! Reads [`NodeLoad::tasks`](crate::NodeLoad::tasks) of `d` nodes. Cost: O(d). With `d = 2` and
//! fresh information, the mean response time at load λ tends, as the number of nodes grows, to
//! Σ_{i≥1} λ^{(d^i − d)/(d − 1)} (the "supermarket model": Mitzenmacher, "The power of two choices in
//! randomized load balancing", 2001; Vvedenskaya, Dobrushin and Karpelevich, 1996), exponentially
//! better than random's 1/(1 − λ). With stale information it herds far less than least-connections.

use rand_core::RngCore;

use super::{uniform_index, Balancer, Explanation, Notes, Rank};
use crate::{ClusterView, NodeId, TaskInfo, Time};

/// Power-of-d-choices.
#[derive(Clone, Copy, Debug)]
pub struct PowerOfD {
    d: u32,
}

impl PowerOfD {
    /// The largest `d` accepted (the sample is kept on the stack).
    pub const MAX_D: u32 = 64;

    /// The default number of choices.
    pub fn default_d() -> u32 {
        2
    }

    /// Power-of-`d` choices; `d` is clamped to `1..=MAX_D`.
    pub fn new(d: u32) -> PowerOfD {
        PowerOfD { d: d.clamp(1, Self::MAX_D) }
    }
}

impl Balancer for PowerOfD {
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
}

/// Notes a sampled node with its task count as score.
#[inline]
fn note(why: &mut impl Notes, node: NodeId, tasks: u32) {
    why.note(node, None, &[("tasks", f64::from(tasks))], Some(f64::from(tasks)));
}

impl PowerOfD {
    /// The decision behind `pick` and `pick_explained`, which notes the sampled nodes only.
    #[inline]
    fn choose<N: Notes>(
        &self,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        rng: &mut dyn RngCore,
        why: &mut N,
    ) -> Option<NodeId> {
        why.start(Rank::Lowest);
        let n = candidates.len();
        if n == 0 {
            return None;
        }
        let d = self.d as usize;
        if d >= n {
            // Every candidate is sampled: the first of the least loaded, in candidate order.
            if N::ON {
                for &c in candidates {
                    note(why, c, view.load(c).tasks());
                }
            }
            return candidates.iter().copied().min_by_key(|&c| view.load(c).tasks());
        }
        if d == 2 {
            let i = uniform_index(rng, n);
            let mut j = uniform_index(rng, n - 1);
            if j >= i {
                j += 1;
            }
            let (a, b) = (candidates[i], candidates[j]);
            let (ta, tb) = (view.load(a).tasks(), view.load(b).tasks());
            note(why, a, ta);
            note(why, b, tb);
            return Some(if tb < ta { b } else { a });
        }
        // Distinct sample by partial Fisher-Yates over the index space, kept sparse: the few
        // swapped positions are remembered in a small array instead of copying the candidates.
        let mut swapped: [(usize, usize); Self::MAX_D as usize] = [(0, 0); Self::MAX_D as usize];
        let lookup = |swapped: &[(usize, usize)], k: usize| {
            swapped.iter().rev().find(|(pos, _)| *pos == k).map_or(k, |&(_, v)| v)
        };
        let mut best: Option<(NodeId, u32)> = None;
        for s in 0..d {
            let r = s + uniform_index(rng, n - s);
            // Positions 0..s are settled; swapped[..s] records what moved.
            let chosen = lookup(&swapped[..s], r);
            let displaced = lookup(&swapped[..s], s);
            swapped[s] = (r, displaced);
            let node = candidates[chosen];
            let tasks = view.load(node).tasks();
            note(why, node, tasks);
            if best.is_none_or(|(_, t)| tasks < t) {
                best = Some((node, tasks));
            }
        }
        best.map(|(node, _)| node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::{assert_explained_matches_pick, task, Fixture};
    use rand_core::SeedableRng;

    fn pick_counts(d: u32, tasks: &[u32], rounds: usize) -> Vec<u32> {
        let fx = Fixture::with_tasks(tasks);
        let all: Vec<NodeId> = (0..tasks.len() as u32).map(NodeId).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut p = PowerOfD::new(d);
        let mut counts = vec![0u32; tasks.len()];
        for _ in 0..rounds {
            let n = p.pick(&task(), &all, &fx.view(), Time::ZERO, &mut rng).unwrap();
            counts[n.index()] += 1;
        }
        counts
    }

    #[test]
    fn two_choices_pick_the_lighter_of_a_distinct_pair() {
        // Loads 0 < 1 < 2 < 3: node k wins exactly the pairs where it is the lighter one, so
        // P(k) = (n - 1 - k) / C(n, 2) = 3/6, 2/6, 1/6, 0.
        let counts = pick_counts(2, &[0, 1, 2, 3], 60_000);
        assert_eq!(counts[3], 0, "the heaviest node can never win a distinct pair");
        for (k, expected) in [(0, 30_000.0), (1, 20_000.0), (2, 10_000.0)] {
            let c = counts[k] as f64;
            assert!((c - expected).abs() < 600.0, "node {k}: {c} vs {expected}; {counts:?}");
        }
    }

    #[test]
    fn larger_d_samples_distinct_nodes() {
        // d = 4 of 5 nodes: the heaviest never wins; the lightest wins unless it is the one left out.
        let counts = pick_counts(4, &[0, 1, 2, 3, 4], 50_000);
        assert_eq!(counts[4], 0, "{counts:?}");
        assert!((counts[0] as f64 - 40_000.0).abs() < 600.0, "{counts:?}");
        // d >= n is least-connections with first-index ties.
        assert_eq!(pick_counts(9, &[2, 1, 1], 10), vec![0, 10, 0]);
    }

    #[test]
    fn explained_picks_match_plain_picks_and_note_the_sample() {
        for d in [1, 2, 3, 5, 12] {
            assert_explained_matches_pick(PowerOfD::new(d), 2000);
        }
        let fx = Fixture::with_tasks(&[0, 1, 2, 3, 4, 5]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut why = Explanation::default();
        for d in [2, 4] {
            let picked =
                PowerOfD::new(d).pick_explained(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng, &mut why);
            assert_eq!(why.notes.len(), d as usize, "{why:?}");
            let mut sampled: Vec<u32> = why.notes.iter().map(|n| n.node).collect();
            assert_eq!(picked, sampled.iter().copied().min().map(NodeId), "task count = id here");
            sampled.sort();
            sampled.dedup();
            assert_eq!(sampled.len(), d as usize, "distinct: {why:?}");
        }
    }
}
