//! `timeout`: suspect a node when no heartbeat has arrived for a fixed time.
//!
//! Reads the last arrival time per node. Cost: O(1) per heartbeat and query. The classic
//! detector; its detection time after a crash is `timeout − (time since the last heartbeat)`,
//! so with interval Δ and a crash at a uniformly random phase it is uniform on
//! `(timeout − Δ, timeout]` plus the network delay.

use super::FailureDetector;
use crate::{NodeId, Span, Time};

/// Fixed-timeout detector.
#[derive(Clone, Debug)]
pub struct Timeout {
    timeout: Span,
    last: Vec<Option<Time>>,
}

impl Timeout {
    /// A detector for `n_nodes` nodes.
    pub fn new(n_nodes: usize, timeout: Span) -> Timeout {
        Timeout { timeout, last: vec![None; n_nodes] }
    }
}

impl FailureDetector for Timeout {
    fn heartbeat(&mut self, node: NodeId, now: Time, _seq: u64) {
        self.last[node.index()] = Some(now);
    }

    fn suspect_at(&self, node: NodeId) -> Option<Time> {
        self.last[node.index()].map(|t| t + self.timeout)
    }

    fn reset(&mut self, node: NodeId) {
        self.last[node.index()] = None;
    }
}
