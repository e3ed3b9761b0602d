//! `response-time`: power-of-two choices on peak-EWMA latency, as Finagle's and linkerd's
//! `p2cPeakEwma` balancers do.
//!
//! Each node keeps a latency estimate that jumps to any observation above it (peak sensitivity)
//! and otherwise decays towards new observations with weight `exp(−Δt / decay)`; the cost of a node
//! is that estimate × (tasks outstanding + 1). Two distinct candidates are sampled and the cheaper
//! one wins. A node never observed has cost 0, so new nodes get traffic at once. Reads the view's
//! task counts and the latencies the caller reports through [`Balancer::observe`]. Cost: O(1).

use rand_core::RngCore;

use super::{uniform_index, Balancer, Explanation, Notes, Outcome, Rank};
use crate::{ClusterView, NodeId, Span, TaskInfo, Time};

#[derive(Clone, Copy, Debug, Default)]
struct Estimate {
    latency_ns: f64,
    at: Time,
}

/// Peak-EWMA power-of-two choices.
#[derive(Clone, Debug)]
pub struct PeakEwma {
    decay_ns: f64,
    estimates: Vec<Estimate>,
}

impl PeakEwma {
    /// Finagle's default decay time, seconds.
    pub fn default_decay_s() -> f64 {
        10.0
    }

    /// Estimates that decay over `decay`.
    pub fn new(decay: Span) -> Self {
        PeakEwma { decay_ns: (decay.0 as f64).max(1.0), estimates: Vec::new() }
    }

    /// The current latency estimate of `node`, seconds.
    pub fn latency_s(&self, node: NodeId) -> f64 {
        self.estimates.get(node.index()).map_or(0.0, |e| e.latency_ns / 1e9)
    }

    fn cost(&self, view: &ClusterView<'_>, node: NodeId) -> f64 {
        let latency = self.estimates.get(node.index()).map_or(0.0, |e| e.latency_ns);
        latency * f64::from(view.load(node).tasks() + 1)
    }

    /// The decision behind `pick` and `pick_explained`, which notes the two sampled nodes (the
    /// only candidate, if there is one) with their cost as score.
    #[inline]
    fn choose<N: Notes>(
        &self,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        rng: &mut dyn RngCore,
        why: &mut N,
    ) -> Option<NodeId> {
        why.start(Rank::Lowest);
        let mut note = |node: NodeId, cost: f64| {
            if N::ON {
                let tasks = f64::from(view.load(node).tasks());
                why.note(node, None, &[("latency_s", self.latency_s(node)), ("tasks", tasks)], Some(cost));
            }
        };
        match candidates.len() {
            0 => None,
            1 => {
                if N::ON {
                    note(candidates[0], self.cost(view, candidates[0]));
                }
                Some(candidates[0])
            }
            n => {
                let i = uniform_index(rng, n);
                let mut j = uniform_index(rng, n - 1);
                if j >= i {
                    j += 1;
                }
                let (a, b) = (candidates[i], candidates[j]);
                let (cost_a, cost_b) = (self.cost(view, a), self.cost(view, b));
                note(a, cost_a);
                note(b, cost_b);
                Some(if cost_b < cost_a { b } else { a })
            }
        }
    }
}

impl Balancer for PeakEwma {
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

    /// The cost of every candidate: latency estimate × (tasks + 1).
    fn scores(
        &mut self,
        _task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        out: &mut Vec<f64>,
    ) -> bool {
        out.clear();
        out.extend(candidates.iter().map(|&c| self.cost(view, c)));
        true
    }

    fn wants_feedback(&self) -> bool {
        true
    }

    fn observe(&mut self, outcome: &Outcome, now: Time) {
        if !outcome.completed {
            return;
        }
        let (node, latency) = (outcome.node, outcome.latency);
        if self.estimates.len() <= node.index() {
            self.estimates.resize(node.index() + 1, Estimate::default());
        }
        let e = &mut self.estimates[node.index()];
        let rtt = latency.0 as f64;
        if rtt > e.latency_ns {
            e.latency_ns = rtt;
        } else {
            let w = (-(now.saturating_since(e.at).0 as f64) / self.decay_ns).exp();
            e.latency_ns = e.latency_ns * w + rtt * (1.0 - w);
        }
        e.at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::{assert_explained_matches_pick, task, Fixture};
    use rand_core::SeedableRng;

    fn done(node: NodeId, latency: Span) -> Outcome {
        Outcome { task: crate::TaskId(0), node, latency, expected_work_s: 1.0, completed: true }
    }

    #[test]
    fn peaks_jump_and_decay_with_time() {
        let mut b = PeakEwma::new(Span::from_secs_f64(10.0));
        let n = NodeId(0);
        let s = Time::from_secs_f64;
        b.observe(&done(n, Span::from_secs_f64(1.0)), s(0.0));
        b.observe(&done(n, Span::from_secs_f64(3.0)), s(1.0));
        assert_eq!(b.latency_s(n), 3.0, "a peak is taken at once");
        b.observe(&done(n, Span::from_secs_f64(1.0)), s(11.0));
        // Ten seconds later the old value weighs e^-1.
        let want = 3.0 * (-1.0f64).exp() + 1.0 * (1.0 - (-1.0f64).exp());
        assert!((b.latency_s(n) - want).abs() < 1e-9, "{}", b.latency_s(n));
    }

    #[test]
    fn avoids_the_slow_node() {
        let fx = Fixture::with_tasks(&[1, 1]);
        let mut b = PeakEwma::new(Span::from_secs_f64(10.0));
        b.observe(&done(NodeId(0), Span::from_secs_f64(5.0)), Time::ZERO);
        b.observe(&done(NodeId(1), Span::from_secs_f64(0.5)), Time::ZERO);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..20 {
            assert_eq!(b.pick(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng), Some(NodeId(1)));
        }
    }

    #[test]
    fn explained_picks_match_plain_picks() {
        assert_explained_matches_pick(PeakEwma::new(Span::from_secs_f64(10.0)), 3000);
        // The example above: costs 5 s × 2 tasks and 0.5 s × 2 tasks, in nanoseconds.
        let fx = Fixture::with_tasks(&[1, 1]);
        let mut b = PeakEwma::new(Span::from_secs_f64(10.0));
        b.observe(&done(NodeId(0), Span::from_secs_f64(5.0)), Time::ZERO);
        b.observe(&done(NodeId(1), Span::from_secs_f64(0.5)), Time::ZERO);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut why = Explanation::default();
        assert_eq!(b.pick_explained(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng, &mut why), Some(NodeId(1)));
        let mut notes: Vec<_> = why.notes.iter().map(|n| (n.node, n.score.unwrap())).collect();
        notes.sort_by_key(|n| n.0);
        assert_eq!(notes, [(0, 10e9), (1, 1e9)]);
    }
}
