//! `chen`: the adaptive detector of Chen, Toueg and Aguilera ("On the quality of service of
//! failure detectors", IEEE ToC 2002).
//!
//! Reads the last `window` heartbeats' arrival times `A_i` and sequence numbers `s_i`. The next
//! heartbeat is expected at `EA = mean(A_i − Δ·s_i) + Δ·(s_last + 1)` (Δ the nominal interval),
//! which absorbs clock offset and mean delay and lets lost heartbeats (gaps in `s`) count for
//! nothing; the node is suspected if nothing arrives by `EA + α`. Cost: O(1) per heartbeat.

use std::collections::VecDeque;

use super::FailureDetector;
use crate::{NodeId, Span, Time};

#[derive(Clone, Debug, Default)]
struct Window {
    /// `A_i − Δ·s_i`, nanoseconds (may be negative).
    normalised: VecDeque<i128>,
    sum: i128,
    last_seq: u64,
    suspect_at: Option<Time>,
}

/// Chen–Toueg–Aguilera detector.
#[derive(Clone, Debug)]
pub struct Chen {
    window: usize,
    interval: i128,
    alpha: i128,
    nodes: Vec<Window>,
}

impl Chen {
    /// Default window: 100 heartbeats.
    pub fn default_window() -> u32 {
        100
    }
    /// Default safety margin, seconds.
    pub fn default_alpha_s() -> f64 {
        0.5
    }

    /// A detector for `n_nodes` nodes with nominal interval `interval` and margin `alpha`.
    pub fn new(n_nodes: usize, window: usize, interval: Span, alpha: Span) -> Chen {
        Chen {
            window: window.max(1),
            interval: i128::from(interval.0),
            alpha: i128::from(alpha.0),
            nodes: vec![Window::default(); n_nodes],
        }
    }

    /// When the next heartbeat of `node` is expected (`None` before the first).
    pub fn expected_arrival(&self, node: NodeId) -> Option<Time> {
        let w = &self.nodes[node.index()];
        if w.normalised.is_empty() {
            return None;
        }
        let mean = w.sum.div_euclid(w.normalised.len() as i128);
        let ea = mean + self.interval * (i128::from(w.last_seq) + 1);
        Some(Time(ea.clamp(0, i128::from(u64::MAX)) as u64))
    }
}

impl FailureDetector for Chen {
    fn heartbeat(&mut self, node: NodeId, now: Time, seq: u64) {
        let w = &mut self.nodes[node.index()];
        if !w.normalised.is_empty() && seq <= w.last_seq {
            return; // stale or duplicate
        }
        if w.normalised.len() >= self.window {
            if let Some(old) = w.normalised.pop_front() {
                w.sum -= old;
            }
        }
        let v = i128::from(now.0) - self.interval * i128::from(seq);
        w.normalised.push_back(v);
        w.sum += v;
        w.last_seq = seq;
        let ea = self.expected_arrival(node).expect("just pushed");
        self.nodes[node.index()].suspect_at = Some(Time(ea.0.saturating_add(self.alpha as u64)));
    }

    fn suspect_at(&self, node: NodeId) -> Option<Time> {
        self.nodes[node.index()].suspect_at
    }

    fn reset(&mut self, node: NodeId) {
        self.nodes[node.index()] = Window::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expects_the_next_beat_one_interval_after_the_mean_phase() {
        let s = 1_000_000_000u64;
        let mut d = Chen::new(1, 10, Span(s), Span(s / 2));
        let n = NodeId(0);
        // Beats sent at k seconds, arriving 5 ms late ± 2 ms; beat 4 is lost.
        for (seq, jitter) in [(1u64, 2i64), (2, -2), (3, 0), (5, 1), (6, -1)] {
            let at = (seq * s) as i64 + 5_000_000 + jitter * 1_000_000;
            d.heartbeat(n, Time(at as u64), seq);
        }
        // mean(A_i − Δ s_i) = 5 ms exactly, so EA = 7 s + 5 ms and the deadline 7.505 s.
        assert_eq!(d.expected_arrival(n), Some(Time(7 * s + 5_000_000)));
        assert_eq!(d.suspect_at(n), Some(Time(7 * s + 505_000_000)));
        assert!(!d.suspects(n, Time(7 * s + 504_999_999)));
        assert!(d.suspects(n, Time(7 * s + 505_000_000)));
        d.reset(n);
        assert_eq!(d.suspect_at(n), None);
    }
}
