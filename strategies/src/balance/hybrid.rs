//! `hybrid`: switch between two balancers on a rule — the candidates' mean believed CPU
//! utilisation above `utilization` uses `above`, otherwise `below`.
//!
//! A common production pattern: a cheap spreading rule while the cluster is quiet, a load-aware
//! one when it fills up (or packing when quiet, to let nodes idle, and spreading when busy).
//! Both members keep their own state and share the random stream. Cost: O(candidates) for the
//! rule plus the chosen member's cost.

use rand_core::RngCore;

use super::{Balancer, Outcome};
use crate::{ClusterView, NodeId, Resource, TaskInfo, Time};

/// Switches between two balancers on utilisation.
pub struct Hybrid {
    below: Box<dyn Balancer>,
    above: Box<dyn Balancer>,
    utilization: f64,
}

impl Hybrid {
    /// `below` while the candidates' mean CPU utilisation is at most `utilization`, else `above`.
    pub fn new(below: Box<dyn Balancer>, above: Box<dyn Balancer>, utilization: f64) -> Self {
        Hybrid { below, above, utilization }
    }

    /// Mean believed CPU utilisation of the candidates.
    pub fn mean_utilization(candidates: &[NodeId], view: &ClusterView<'_>) -> f64 {
        if candidates.is_empty() {
            return 0.0;
        }
        let sum: f64 = candidates
            .iter()
            .map(|&c| {
                let cap = view.spec(c).capacity.get(Resource::Cpu) as f64;
                if cap > 0.0 {
                    view.used(c).get(Resource::Cpu) as f64 / cap
                } else {
                    0.0
                }
            })
            .sum();
        sum / candidates.len() as f64
    }
}

impl Balancer for Hybrid {
    fn pick(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
    ) -> Option<NodeId> {
        if Self::mean_utilization(candidates, view) > self.utilization {
            self.above.pick(task, candidates, view, now, rng)
        } else {
            self.below.pick(task, candidates, view, now, rng)
        }
    }

    fn wants_feedback(&self) -> bool {
        self.below.wants_feedback() || self.above.wants_feedback()
    }

    fn observe(&mut self, outcome: &Outcome, now: Time) {
        self.below.observe(outcome, now);
        self.above.observe(outcome, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::{task, Fixture};
    use crate::balance::BalancerConfig;
    use crate::Resources;
    use rand_core::SeedableRng;

    #[test]
    fn switches_on_utilisation() {
        let config: BalancerConfig = serde_json::from_str(
            r#"{"kind": "hybrid", "below": {"kind": "round-robin"}, "above": {"kind": "least-connections"},
                "utilization": 0.5}"#,
        )
        .unwrap();
        let mut b = config.build();
        let mut fx = Fixture::with_tasks(&[3, 0, 2]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        // Quiet (no CPU in use): round robin, starting at node 0.
        assert_eq!(b.pick(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng), Some(NodeId(0)));
        // Busy (every core in use): least connections, node 1.
        for u in fx.used.iter_mut() {
            *u = Resources([1000, 0, 0, 0, 0, 0]);
        }
        assert_eq!(b.pick(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng), Some(NodeId(1)));
    }
}
