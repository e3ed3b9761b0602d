//! Failure detectors: from heartbeat arrival times, decide which nodes to suspect.
//!
//! One algorithm per file. A detector sees only what a real scheduler sees — when each heartbeat
//! arrived (`now`, passed in) and its sequence number — and answers two questions: is the node
//! suspected at time `t`, and, if no further heartbeat arrives, *when* will it be
//! ([`FailureDetector::suspect_at`]). The second lets a simulator (or a production timer wheel)
//! set one timer per node instead of polling.
//!
//! [`Membership`] wraps any detector with the suspicion / re-admission life cycle: a suspected
//! node rejoins after `rejoin_after` consecutive heartbeats, as a new incarnation whose detector
//! history starts afresh (a 60 s outage is not a heartbeat interval).

mod chen;
mod combined;
mod membership;
mod missed_heartbeats;
mod phi_accrual;
mod timeout;

pub use chen::Chen;
pub use combined::Combined;
pub use membership::{Membership, NodeHealth, Transition};
pub use missed_heartbeats::MissedHeartbeats;
pub use phi_accrual::{akka_phi, PhiAccrual};
pub use timeout::Timeout;

use serde::{Deserialize, Serialize};

use crate::{NodeId, Span, Time};

/// Decides from heartbeat arrivals whether a node has failed.
///
/// # Example
/// ```
/// use fulcrum_strategies::detect::{DetectorConfig, FailureDetector};
/// use fulcrum_strategies::{NodeId, Span, Time};
///
/// let config: DetectorConfig = serde_json::from_str(r#"{"kind": "timeout", "timeout_s": 3.0}"#).unwrap();
/// let mut detector = config.build(2, Span::from_secs_f64(1.0));
/// let n = NodeId(0);
/// detector.heartbeat(n, Time::from_secs_f64(10.0), 10);
/// assert!(!detector.suspects(n, Time::from_secs_f64(12.9)));
/// assert!(detector.suspects(n, Time::from_secs_f64(13.0)));
/// assert_eq!(detector.suspect_at(n), Some(Time::from_secs_f64(13.0)));
/// ```
pub trait FailureDetector: Send {
    /// A heartbeat from `node`, numbered `seq` by the node (consecutive within an incarnation, so
    /// gaps are losses), arrived at `now`.
    fn heartbeat(&mut self, node: NodeId, now: Time, seq: u64);

    /// The earliest time at which `node` is suspected if no further heartbeat arrives; `None`
    /// before its first heartbeat (a node never heard from is not monitored).
    fn suspect_at(&self, node: NodeId) -> Option<Time>;

    /// True if `node` is suspected at `now`.
    fn suspects(&self, node: NodeId, now: Time) -> bool {
        self.suspect_at(node).is_some_and(|t| now >= t)
    }

    /// The suspicion level at `now` (φ for accrual detectors; for binary ones 0 before the
    /// deadline and infinity after).
    fn suspicion(&self, node: NodeId, now: Time) -> f64 {
        if self.suspects(node, now) {
            f64::INFINITY
        } else {
            0.0
        }
    }

    /// Forgets everything about `node`: its next heartbeat starts a new history.
    fn reset(&mut self, node: NodeId);
}

/// A failure detector's configuration, as scenario files and production programs write it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DetectorConfig {
    /// Suspect when no heartbeat arrived for `timeout_s`.
    Timeout {
        /// Silence that triggers suspicion, seconds.
        timeout_s: f64,
        /// Consecutive heartbeats before a suspected node rejoins.
        #[serde(default = "default_rejoin")]
        rejoin_after: u32,
    },
    /// Suspect after `k` heartbeat intervals without a heartbeat.
    MissedHeartbeats {
        /// Intervals of silence that trigger suspicion.
        k: u32,
        /// Consecutive heartbeats before a suspected node rejoins.
        #[serde(default = "default_rejoin")]
        rejoin_after: u32,
    },
    /// Hayashibara et al.'s φ accrual detector with Akka's semantics and defaults.
    PhiAccrual {
        /// Suspect when φ reaches this.
        #[serde(default = "PhiAccrual::default_threshold")]
        threshold: f64,
        /// Inter-arrival samples kept per node.
        #[serde(default = "PhiAccrual::default_max_sample_size")]
        max_sample_size: u32,
        /// Floor on the standard deviation, seconds.
        #[serde(default = "PhiAccrual::default_min_std_s")]
        min_std_s: f64,
        /// Pause accepted on top of the mean interval, seconds.
        #[serde(default = "PhiAccrual::default_acceptable_pause_s")]
        acceptable_pause_s: f64,
        /// Bootstrap mean interval, seconds (default: the heartbeat interval).
        #[serde(default)]
        first_heartbeat_estimate_s: Option<f64>,
        /// Consecutive heartbeats before a suspected node rejoins.
        #[serde(default = "default_rejoin")]
        rejoin_after: u32,
    },
    /// Chen, Toueg and Aguilera's adaptive detector: expected arrival from a sliding window plus
    /// a safety margin.
    Chen {
        /// Heartbeats in the estimation window.
        #[serde(default = "Chen::default_window")]
        window: u32,
        /// Safety margin α, seconds.
        #[serde(default = "Chen::default_alpha_s")]
        alpha_s: f64,
        /// Consecutive heartbeats before a suspected node rejoins.
        #[serde(default = "default_rejoin")]
        rejoin_after: u32,
    },
    /// Suspect when at least `k` of the listed detectors do.
    Combined {
        /// Agreement needed.
        k: u32,
        /// The member detectors (their own `rejoin_after` is ignored).
        of: Vec<DetectorConfig>,
        /// Consecutive heartbeats before a suspected node rejoins.
        #[serde(default = "default_rejoin")]
        rejoin_after: u32,
    },
}

fn default_rejoin() -> u32 {
    3
}

/// How a suspicion is confirmed, and what else counts as evidence: options that go with any
/// detector. In a scenario file they sit beside the detector's own parameters:
/// `{"kind": "timeout", "timeout_s": 3, "probe": {"timeout_s": 0.5, "retries": 1}, "passive": true}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionOptions {
    /// Before acting on a suspicion, probe the node; a reply refutes the suspicion.
    #[serde(default)]
    pub probe: Option<ProbeConfig>,
    /// Suspect a node at once when a dispatch to it fails (passive detection from task
    /// failures).
    #[serde(default)]
    pub passive: bool,
}

/// Active probing of a suspected node.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    /// How long to wait for a reply, seconds.
    pub timeout_s: f64,
    /// Further probes after the first times out, before the suspicion stands.
    #[serde(default = "ProbeConfig::default_retries")]
    pub retries: u32,
}

impl ProbeConfig {
    /// Default retries.
    pub fn default_retries() -> u32 {
        1
    }
}

impl DetectionOptions {
    /// Checks parameter ranges. Returns `(parameter, problem)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(p) = self.probe {
            if !(p.timeout_s.is_finite() && p.timeout_s > 0.0 && p.timeout_s <= 1e6) {
                out.push(("probe.timeout_s", format!("must be positive and at most 1000000, got {}", p.timeout_s)));
            }
            if p.retries > 100 {
                out.push(("probe.retries", format!("must be at most 100, got {}", p.retries)));
            }
        }
        out
    }
}

impl Default for DetectorConfig {
    /// A 3 s timeout: what a scenario without detectors gets.
    fn default() -> Self {
        DetectorConfig::Timeout { timeout_s: 3.0, rejoin_after: default_rejoin() }
    }
}

impl DetectorConfig {
    /// The `kind` string.
    pub fn kind(&self) -> &'static str {
        match self {
            DetectorConfig::Timeout { .. } => "timeout",
            DetectorConfig::MissedHeartbeats { .. } => "missed-heartbeats",
            DetectorConfig::PhiAccrual { .. } => "phi-accrual",
            DetectorConfig::Chen { .. } => "chen",
            DetectorConfig::Combined { .. } => "combined",
        }
    }

    /// Heartbeats needed to re-admit a suspected node.
    pub fn rejoin_after(&self) -> u32 {
        match *self {
            DetectorConfig::Timeout { rejoin_after, .. }
            | DetectorConfig::MissedHeartbeats { rejoin_after, .. }
            | DetectorConfig::PhiAccrual { rejoin_after, .. }
            | DetectorConfig::Chen { rejoin_after, .. }
            | DetectorConfig::Combined { rejoin_after, .. } => rejoin_after,
        }
    }

    /// Checks parameter ranges. Returns `(parameter, problem)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut positive = |name: &'static str, v: f64| {
            if !(v.is_finite() && v > 0.0 && v <= 1e6) {
                out.push((name, format!("must be positive and at most 1000000, got {v}")));
            }
        };
        match *self {
            DetectorConfig::Combined { k, ref of, .. } => {
                if of.is_empty() {
                    out.push(("of", "must list at least one detector".to_string()));
                } else if k == 0 || k as usize > of.len() {
                    out.push(("k", format!("must be between 1 and the {} detectors listed, got {k}", of.len())));
                }
                for (i, member) in of.iter().enumerate() {
                    if matches!(member, DetectorConfig::Combined { .. }) {
                        out.push(("of", format!("[{i}]: a combined detector cannot contain another")));
                    }
                    for (param, problem) in member.problems() {
                        if param != "rejoin_after" {
                            out.push(("of", format!("[{i}].{param}: {problem}")));
                        }
                    }
                }
            }
            DetectorConfig::Timeout { timeout_s, .. } => positive("timeout_s", timeout_s),
            DetectorConfig::MissedHeartbeats { k, .. } => {
                if k == 0 {
                    out.push(("k", "must be at least 1, got 0".to_string()));
                }
            }
            DetectorConfig::PhiAccrual {
                threshold,
                max_sample_size,
                min_std_s,
                acceptable_pause_s,
                first_heartbeat_estimate_s,
                ..
            } => {
                positive("threshold", threshold);
                positive("min_std_s", min_std_s);
                if let Some(f) = first_heartbeat_estimate_s {
                    positive("first_heartbeat_estimate_s", f);
                }
                if !(acceptable_pause_s.is_finite() && (0.0..=1e6).contains(&acceptable_pause_s)) {
                    out.push((
                        "acceptable_pause_s",
                        format!("must be at least 0 and at most 1000000, got {acceptable_pause_s}"),
                    ));
                }
                if !(1..=100_000).contains(&max_sample_size) {
                    out.push(("max_sample_size", format!("must be between 1 and 100000, got {max_sample_size}")));
                }
            }
            DetectorConfig::Chen { window, alpha_s, .. } => {
                if !(1..=100_000).contains(&window) {
                    out.push(("window", format!("must be between 1 and 100000, got {window}")));
                }
                if !(alpha_s.is_finite() && (0.0..=1e6).contains(&alpha_s)) {
                    out.push(("alpha_s", format!("must be at least 0 and at most 1000000, got {alpha_s}")));
                }
            }
        }
        if self.rejoin_after() == 0 {
            out.push(("rejoin_after", "must be at least 1, got 0".to_string()));
        }
        out
    }

    /// A fresh detector for `n_nodes` nodes that heartbeat every `interval` (nominally).
    pub fn build(&self, n_nodes: usize, interval: Span) -> Box<dyn FailureDetector> {
        match *self {
            DetectorConfig::Timeout { timeout_s, .. } => {
                Box::new(Timeout::new(n_nodes, Span::from_secs_f64(timeout_s)))
            }
            DetectorConfig::MissedHeartbeats { k, .. } => Box::new(MissedHeartbeats::new(n_nodes, k, interval)),
            DetectorConfig::PhiAccrual {
                threshold,
                max_sample_size,
                min_std_s,
                acceptable_pause_s,
                first_heartbeat_estimate_s,
                ..
            } => Box::new(PhiAccrual::new(
                n_nodes,
                threshold,
                max_sample_size as usize,
                Span::from_secs_f64(min_std_s),
                Span::from_secs_f64(acceptable_pause_s),
                first_heartbeat_estimate_s.map_or(interval, Span::from_secs_f64),
            )),
            DetectorConfig::Chen { window, alpha_s, .. } => {
                Box::new(Chen::new(n_nodes, window as usize, interval, Span::from_secs_f64(alpha_s)))
            }
            DetectorConfig::Combined { k, ref of, .. } => {
                Box::new(Combined::new(k as usize, of.iter().map(|m| m.build(n_nodes, interval)).collect()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_detectors_parse() {
        let list: Vec<DetectorConfig> = serde_json::from_str(
            r#"[{"kind": "timeout", "timeout_s": 3.0},
                {"kind": "missed-heartbeats", "k": 3},
                {"kind": "phi-accrual", "threshold": 8.0, "min_std_s": 0.1, "acceptable_pause_s": 0.0}]"#,
        )
        .unwrap();
        assert_eq!(list[1], DetectorConfig::MissedHeartbeats { k: 3, rejoin_after: 3 });
        assert!(matches!(list[2], DetectorConfig::PhiAccrual { max_sample_size: 1000, .. }));
        for d in &list {
            assert!(d.problems().is_empty(), "{d:?}");
        }
        assert!(!DetectorConfig::Timeout { timeout_s: -1.0, rejoin_after: 3 }.problems().is_empty());
    }
}
