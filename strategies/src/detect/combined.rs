//! `combined`: suspect a node when at least `k` of `m` detectors suspect it.
//!
//! Each heartbeat feeds every member; the node is suspected once `k` of them have passed their
//! deadlines, so the combined deadline is the `k`-th earliest of the members'. Requiring agreement
//! (k > 1) trades detection time for fewer false suspicions; k = 1 suspects as soon as the most
//! eager member does. Cost: the members' plus a sort of m deadlines per query.

use super::FailureDetector;
use crate::{NodeId, Time};

/// k-of-m combination of detectors.
pub struct Combined {
    k: usize,
    members: Vec<Box<dyn FailureDetector>>,
}

impl Combined {
    /// Suspects when `k` (clamped to `1..=members.len()`) members do.
    pub fn new(k: usize, members: Vec<Box<dyn FailureDetector>>) -> Combined {
        Combined { k: k.clamp(1, members.len().max(1)), members }
    }
}

impl FailureDetector for Combined {
    fn heartbeat(&mut self, node: NodeId, now: Time, seq: u64) {
        for m in &mut self.members {
            m.heartbeat(node, now, seq);
        }
    }

    fn suspect_at(&self, node: NodeId) -> Option<Time> {
        let mut deadlines: Vec<Time> = self.members.iter().filter_map(|m| m.suspect_at(node)).collect();
        if deadlines.len() < self.k {
            return None;
        }
        deadlines.sort_unstable();
        Some(deadlines[self.k - 1])
    }

    fn reset(&mut self, node: NodeId) {
        for m in &mut self.members {
            m.reset(node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Timeout;
    use crate::Span;

    #[test]
    fn k_of_m_takes_the_kth_deadline() {
        let s = |x: f64| Time::from_secs_f64(x);
        let members = || -> Vec<Box<dyn FailureDetector>> {
            vec![
                Box::new(Timeout::new(1, Span::from_secs_f64(2.0))),
                Box::new(Timeout::new(1, Span::from_secs_f64(5.0))),
                Box::new(Timeout::new(1, Span::from_secs_f64(3.0))),
            ]
        };
        let n = NodeId(0);
        for (k, want) in [(1, 12.0), (2, 13.0), (3, 15.0)] {
            let mut d = Combined::new(k, members());
            assert_eq!(d.suspect_at(n), None);
            d.heartbeat(n, s(10.0), 0);
            assert_eq!(d.suspect_at(n), Some(s(want)), "k = {k}");
            assert!(!d.suspects(n, s(want - 0.001)) && d.suspects(n, s(want)));
        }
    }
}
