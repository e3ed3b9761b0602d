//! `phi-accrual`: the φ accrual failure detector (Hayashibara, Défago, Yared and Katayama, 2004)
//! with the semantics and defaults of Akka's `PhiAccrualFailureDetector`.
//!
//! Reads each node's heartbeat inter-arrival history (the last `max_sample_size` intervals).
//! φ = −log10(1 − F(t − t_last)), where F is the normal CDF with the history's mean (plus the
//! acceptable pause) and standard deviation (floored at `min_std`), computed with Akka's logistic
//! approximation. As in Akka:
//! - a node's first heartbeat bootstraps the history with two intervals, `estimate ∓ estimate/4`;
//! - an interval is added only if the node was available (φ below the threshold) when the
//!   heartbeat arrived, so a long pause does not skew the statistics;
//! - a node never heard from has φ = 0.
//!
//! Defaults (Akka cluster): threshold 8, max sample size 1000, min std 100 ms, acceptable pause
//! 3 s, first-heartbeat estimate = the heartbeat interval. Cost: O(1) per heartbeat (running
//! sums); the deadline is found by solving the approximation's cubic once per heartbeat.

use std::collections::VecDeque;

use super::FailureDetector;
use crate::{NodeId, Span, Time};

/// Akka's φ for an interval `time_diff` given the mean and standard deviation (any unit).
///
/// The logistic approximation of the normal CDF, `1 / (1 + exp(−y (1.5976 + 0.070566 y²)))` with
/// `y = (x − mean) / std` (error 0.00014 at ±3.16), written as Akka writes it.
pub fn akka_phi(time_diff: f64, mean: f64, std: f64) -> f64 {
    let y = (time_diff - mean) / std;
    let e = (-y * (1.5976 + 0.070566 * y * y)).exp();
    if time_diff > mean {
        -(e / (1.0 + e)).log10()
    } else {
        -(1.0 - 1.0 / (1.0 + e)).log10()
    }
}

/// The `y` at which Akka's φ reaches `threshold`: the root of `y (1.5976 + 0.070566 y²) = c`,
/// `c = ln(10^threshold − 1)`, by Newton's method (the cubic is strictly increasing).
fn y_at_threshold(threshold: f64) -> f64 {
    let c = (10f64.powf(threshold) - 1.0).ln();
    let g = |y: f64| y * (1.5976 + 0.070566 * y * y) - c;
    let dg = |y: f64| 1.5976 + 3.0 * 0.070566 * y * y;
    let mut y = (c / 0.070566).abs().cbrt().copysign(c);
    for _ in 0..100 {
        let step = g(y) / dg(y);
        y -= step;
        if step.abs() < 1e-13 * (1.0 + y.abs()) {
            break;
        }
    }
    y
}

#[derive(Clone, Debug, Default)]
struct History {
    intervals: VecDeque<u64>,
    sum: u128,
    sum_sq: u128,
    last: Option<Time>,
    suspect_at: Option<Time>,
}

impl History {
    fn push(&mut self, interval: u64, max: usize) {
        if self.intervals.len() >= max {
            if let Some(old) = self.intervals.pop_front() {
                self.sum -= u128::from(old);
                self.sum_sq -= u128::from(old) * u128::from(old);
            }
        }
        self.intervals.push_back(interval);
        self.sum += u128::from(interval);
        self.sum_sq += u128::from(interval) * u128::from(interval);
    }

    fn mean(&self) -> f64 {
        self.sum as f64 / self.intervals.len() as f64
    }

    fn std(&self) -> f64 {
        let mean = self.mean();
        (self.sum_sq as f64 / self.intervals.len() as f64 - mean * mean).max(0.0).sqrt()
    }
}

/// φ accrual detector.
#[derive(Clone, Debug)]
pub struct PhiAccrual {
    max_sample_size: usize,
    min_std: f64,
    pause: f64,
    first_estimate: u64,
    y_threshold: f64,
    nodes: Vec<History>,
}

impl PhiAccrual {
    /// Akka's default threshold.
    pub fn default_threshold() -> f64 {
        8.0
    }
    /// Akka's default sample size.
    pub fn default_max_sample_size() -> u32 {
        1000
    }
    /// Akka's default minimum standard deviation, seconds.
    pub fn default_min_std_s() -> f64 {
        0.1
    }
    /// Akka's default acceptable heartbeat pause, seconds.
    pub fn default_acceptable_pause_s() -> f64 {
        3.0
    }

    /// A detector for `n_nodes` nodes (times in nanoseconds).
    pub fn new(
        n_nodes: usize,
        threshold: f64,
        max_sample_size: usize,
        min_std: Span,
        acceptable_pause: Span,
        first_heartbeat_estimate: Span,
    ) -> PhiAccrual {
        PhiAccrual {
            max_sample_size: max_sample_size.max(1),
            min_std: min_std.0 as f64,
            pause: acceptable_pause.0 as f64,
            first_estimate: first_heartbeat_estimate.0,
            y_threshold: y_at_threshold(threshold),
            nodes: vec![History::default(); n_nodes],
        }
    }

    /// φ of `node` at `now` (0 before its first heartbeat).
    pub fn phi(&self, node: NodeId, now: Time) -> f64 {
        let h = &self.nodes[node.index()];
        match h.last {
            None => 0.0,
            Some(last) => {
                let diff = now.0 as f64 - last.0 as f64;
                akka_phi(diff, h.mean() + self.pause, h.std().max(self.min_std))
            }
        }
    }

    fn deadline(&self, h: &History) -> Option<Time> {
        let last = h.last?;
        let std = h.std().max(self.min_std);
        let offset = h.mean() + self.pause + self.y_threshold * std;
        Some(Time(last.0.saturating_add(offset.max(0.0).ceil() as u64)))
    }
}

impl FailureDetector for PhiAccrual {
    fn heartbeat(&mut self, node: NodeId, now: Time, _seq: u64) {
        let (max, estimate) = (self.max_sample_size, self.first_estimate);
        let h = &mut self.nodes[node.index()];
        match h.last {
            None => {
                // Akka's bootstrap: two intervals around the estimate with std = estimate / 4.
                let std = estimate / 4;
                *h = History::default();
                h.push(estimate - std, max);
                h.push(estimate + std, max);
            }
            Some(last) => {
                let available = h.suspect_at.is_none_or(|t| now < t);
                if available {
                    h.push(now.0.saturating_sub(last.0), max);
                }
            }
        }
        h.last = Some(now);
        let deadline = self.deadline(&self.nodes[node.index()]);
        self.nodes[node.index()].suspect_at = deadline;
    }

    fn suspect_at(&self, node: NodeId) -> Option<Time> {
        self.nodes[node.index()].suspect_at
    }

    fn suspicion(&self, node: NodeId, now: Time) -> f64 {
        self.phi(node, now)
    }

    fn reset(&mut self, node: NodeId) {
        self.nodes[node.index()] = History::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line-by-line port of Akka's detector in milliseconds (Long arithmetic), the reference.
    struct AkkaPort {
        threshold: f64,
        max: usize,
        min_std_ms: f64,
        pause_ms: i64,
        intervals: VecDeque<i64>,
        sum: i64,
        sum_sq: i64,
        timestamp: Option<i64>,
        first_ms: i64,
    }

    impl AkkaPort {
        fn new(threshold: f64, max: usize, min_std_ms: f64, pause_ms: i64, first_ms: i64) -> Self {
            AkkaPort {
                threshold,
                max,
                min_std_ms,
                pause_ms,
                intervals: VecDeque::new(),
                sum: 0,
                sum_sq: 0,
                timestamp: None,
                first_ms,
            }
        }
        fn add(&mut self, i: i64) {
            if self.intervals.len() >= self.max {
                let o = self.intervals.pop_front().unwrap();
                self.sum -= o;
                self.sum_sq -= o * o;
            }
            self.intervals.push_back(i);
            self.sum += i;
            self.sum_sq += i * i;
        }
        fn phi(&self, t: i64) -> f64 {
            match self.timestamp {
                None => 0.0,
                Some(last) => {
                    let n = self.intervals.len() as f64;
                    let mean = self.sum as f64 / n;
                    let var = self.sum_sq as f64 / n - mean * mean;
                    let std = var.sqrt().max(self.min_std_ms);
                    akka_phi((t - last) as f64, mean + self.pause_ms as f64, std)
                }
            }
        }
        fn heartbeat(&mut self, t: i64) {
            match self.timestamp {
                None => {
                    self.intervals.clear();
                    self.sum = 0;
                    self.sum_sq = 0;
                    let std = self.first_ms / 4;
                    self.add(self.first_ms - std);
                    self.add(self.first_ms + std);
                }
                Some(last) => {
                    if self.phi(t) < self.threshold {
                        self.add(t - last);
                    }
                }
            }
            self.timestamp = Some(t);
        }
    }

    fn ms(t: i64) -> Time {
        Time(t as u64 * 1_000_000)
    }

    #[test]
    fn phi_matches_a_port_of_akka_on_a_recorded_series() {
        // Arrivals (ms) of a 1 s heartbeat with jitter, a lost beat, a 6 s GC pause and recovery.
        let arrivals: [i64; 16] =
            [1000, 2003, 2990, 4010, 5001, 5998, 7012, 9005, 10002, 11000, 17100, 18095, 19102, 20001, 21003, 22000];
        for (threshold, pause_ms, min_std_ms, max) in
            [(8.0, 0, 100.0, 1000), (3.0, 500, 50.0, 5), (12.0, 3000, 100.0, 200)]
        {
            let mut akka = AkkaPort::new(threshold, max, min_std_ms, pause_ms, 1000);
            let mut ours = PhiAccrual::new(
                1,
                threshold,
                max,
                Span(min_std_ms as u64 * 1_000_000),
                Span(pause_ms as u64 * 1_000_000),
                Span::from_secs_f64(1.0),
            );
            let n = NodeId(0);
            assert_eq!(ours.phi(n, ms(500)), 0.0);
            for &a in &arrivals {
                // φ just before each arrival and at a few points in between.
                for probe in [a - 700, a - 300, a - 1] {
                    let (want, got) = (akka.phi(probe), ours.phi(n, ms(probe)));
                    assert!(
                        want == got || (want - got).abs() <= 1e-9 * want.abs().max(1.0),
                        "threshold {threshold}: φ({probe} ms) = {got}, Akka {want}"
                    );
                    assert_eq!(ours.suspects(n, ms(probe)), want >= threshold, "at {probe} ms, φ {want}");
                }
                akka.heartbeat(a);
                ours.heartbeat(n, ms(a), 0);
            }
        }
    }

    #[test]
    fn deadline_is_where_phi_crosses_the_threshold() {
        for threshold in [0.1, 1.0, 3.0, 8.0, 16.0] {
            let mut d = PhiAccrual::new(1, threshold, 100, Span(100_000_000), Span(0), Span(1_000_000_000));
            let n = NodeId(0);
            for k in 1..=20u64 {
                d.heartbeat(n, Time(k * 1_000_000_000 + (k % 3) * 40_000_000), k);
            }
            let at = d.suspect_at(n).unwrap();
            assert!(d.phi(n, at) >= threshold - 1e-6, "threshold {threshold}: φ at deadline {}", d.phi(n, at));
            assert!(d.phi(n, Time(at.0 - 1_000)) < threshold, "threshold {threshold}: suspected early");
        }
        assert!(
            (y_at_threshold(8.0) * (1.5976 + 0.070566 * y_at_threshold(8.0).powi(2)) - (1e8f64 - 1.0).ln()).abs()
                < 1e-9
        );
    }
}
