//! `missed-heartbeats`: suspect a node after `k` nominal heartbeat intervals of silence.
//!
//! The timeout detector with the timeout stated in heartbeats (`k · interval`), as many cluster
//! managers configure it. Cost: O(1).

use super::{FailureDetector, Timeout};
use crate::{NodeId, Span, Time};

/// Suspects after `k` missed heartbeats.
#[derive(Clone, Debug)]
pub struct MissedHeartbeats {
    inner: Timeout,
}

impl MissedHeartbeats {
    /// A detector for `n_nodes` nodes heartbeating every `interval`.
    pub fn new(n_nodes: usize, k: u32, interval: Span) -> MissedHeartbeats {
        MissedHeartbeats { inner: Timeout::new(n_nodes, Span(interval.0.saturating_mul(u64::from(k)))) }
    }
}

impl FailureDetector for MissedHeartbeats {
    fn heartbeat(&mut self, node: NodeId, now: Time, seq: u64) {
        self.inner.heartbeat(node, now, seq);
    }

    fn suspect_at(&self, node: NodeId) -> Option<Time> {
        self.inner.suspect_at(node)
    }

    fn reset(&mut self, node: NodeId) {
        self.inner.reset(node);
    }
}
