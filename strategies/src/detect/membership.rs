//! Suspicion and re-admission around any [`FailureDetector`].

use super::FailureDetector;
use crate::{NodeId, Time};

/// What the scheduler currently believes about a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeHealth {
    /// Trusted: eligible for new tasks.
    Alive,
    /// Suspected since `since`; `healthy` consecutive heartbeats have arrived since.
    Suspected {
        /// When the suspicion started.
        since: Time,
        /// Consecutive heartbeats received while suspected.
        healthy: u32,
        /// Sequence number of the latest of them.
        last_seq: Option<u64>,
    },
}

/// A change of belief.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// The node is now suspected.
    Suspected,
    /// The node was suspected and now rejoins, as a new incarnation.
    Readmitted,
}

/// The suspicion / re-admission life cycle over a failure detector.
///
/// ```
/// use fulcrum_strategies::detect::{DetectorConfig, Membership, Transition};
/// use fulcrum_strategies::{NodeId, Span, Time};
///
/// let config = DetectorConfig::Timeout { timeout_s: 3.0, rejoin_after: 2 };
/// let mut m = Membership::new(config.build(1, Span::from_secs_f64(1.0)), config.rejoin_after(), 1);
/// let (n, s) = (NodeId(0), |x: f64| Time::from_secs_f64(x));
/// assert_eq!(m.on_heartbeat(n, s(1.0), 1), None);
/// assert_eq!(m.deadline(n), Some(s(4.0)));
/// assert_eq!(m.check(n, s(4.0)), Some(Transition::Suspected));
/// assert_eq!(m.on_heartbeat(n, s(60.0), 0), None); // a restarted node numbers from 0 again
/// assert_eq!(m.on_heartbeat(n, s(61.0), 1), Some(Transition::Readmitted));
/// assert!(m.is_alive(n));
/// ```
pub struct Membership {
    detector: Box<dyn FailureDetector>,
    rejoin_after: u32,
    health: Vec<NodeHealth>,
}

impl Membership {
    /// Every node starts alive (and unmonitored until its first heartbeat).
    pub fn new(detector: Box<dyn FailureDetector>, rejoin_after: u32, n_nodes: usize) -> Membership {
        Membership { detector, rejoin_after: rejoin_after.max(1), health: vec![NodeHealth::Alive; n_nodes] }
    }

    /// The node's current health.
    pub fn health(&self, node: NodeId) -> NodeHealth {
        self.health[node.index()]
    }

    /// True if the node is trusted.
    pub fn is_alive(&self, node: NodeId) -> bool {
        self.health[node.index()] == NodeHealth::Alive
    }

    /// The detector (for its suspicion level).
    pub fn detector(&self) -> &dyn FailureDetector {
        &*self.detector
    }

    /// A heartbeat arrived. Feeds the detector if the node is alive; counts towards re-admission
    /// if it is suspected (consecutive sequence numbers only).
    pub fn on_heartbeat(&mut self, node: NodeId, now: Time, seq: u64) -> Option<Transition> {
        match &mut self.health[node.index()] {
            NodeHealth::Alive => {
                self.detector.heartbeat(node, now, seq);
                None
            }
            NodeHealth::Suspected { healthy, last_seq, .. } => {
                let consecutive = last_seq.is_some_and(|l| seq == l + 1);
                *healthy = if consecutive { *healthy + 1 } else { 1 };
                *last_seq = Some(seq);
                if *healthy >= self.rejoin_after {
                    self.health[node.index()] = NodeHealth::Alive;
                    self.detector.reset(node);
                    self.detector.heartbeat(node, now, seq);
                    Some(Transition::Readmitted)
                } else {
                    None
                }
            }
        }
    }

    /// When the node will be suspected if nothing arrives (`None` if suspected or unmonitored).
    pub fn deadline(&self, node: NodeId) -> Option<Time> {
        match self.health[node.index()] {
            NodeHealth::Alive => self.detector.suspect_at(node),
            NodeHealth::Suspected { .. } => None,
        }
    }

    /// Checks the node at `now`; returns `Suspected` if it just became suspected.
    pub fn check(&mut self, node: NodeId, now: Time) -> Option<Transition> {
        if self.is_alive(node) && self.detector.suspects(node, now) {
            self.suspect(node, now)
        } else {
            None
        }
    }

    /// Withdraws a suspicion that turned out wrong (a probe was answered): the node is trusted
    /// again at once, with a fresh detector history (its next heartbeat starts it).
    pub fn refute(&mut self, node: NodeId) {
        if !self.is_alive(node) {
            self.health[node.index()] = NodeHealth::Alive;
            self.detector.reset(node);
        }
    }

    /// Suspects the node on outside evidence (a failed probe, failed tasks).
    pub fn suspect(&mut self, node: NodeId, now: Time) -> Option<Transition> {
        if !self.is_alive(node) {
            return None;
        }
        self.health[node.index()] = NodeHealth::Suspected { since: now, healthy: 0, last_seq: None };
        Some(Transition::Suspected)
    }
}
