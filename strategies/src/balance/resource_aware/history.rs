//! What `resource-aware` learns from outcomes, per node: time-decayed sums of outcomes,
//! completions, the completed tasks' expected work and their latency.
//!
//! Every sum is multiplied by `exp(−Δt / decay)` before an outcome is added, so an outcome seen
//! `age` ago weighs `exp(−age / decay)` and outcomes learned at the same instant (a heartbeat
//! reporting several) weigh the same. From the sums:
//! - the observed completion speed is `Σ expected work / Σ latency` — a ratio of averages, not an
//!   average of per-task ratios, whose mean diverges when work is exponential (a tiny task
//!   finishing at once would count for almost infinite speed);
//! - the success rate is `Σ completions / Σ outcomes`;
//! - the response time is `Σ latency / Σ completions`.

use std::cmp::Ordering;

use crate::balance::Outcome;
use crate::Time;

use super::terms::{efficiency_score, response_time_score, MAX_SCORE, NEUTRAL_SCORE};

/// One node's decayed sums, and what the terms read of them, derived once per outcome rather
/// than once per decision (the same expressions on the same sums: the same values).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct NodeHistory {
    /// When the sums were last decayed.
    at: Time,
    outcomes: f64,
    completed: f64,
    work_s: f64,
    latency_s: f64,
    /// `completed / outcomes`.
    success_rate: f64,
    /// `work_s / latency_s`.
    observed_speed: f64,
    /// The response-time term, if anything completed.
    response_time: Option<f64>,
}

/// What the search's bound reads of one node's history: a 32-byte record (two to a cache line),
/// kept apart from the sums so that a search reads only these.
///
/// **Invariant**: derived from the node's [`NodeHistory`] by [`NodeHistory::bound`] whenever the
/// sums or the latency scale change ([`Histories`] keeps them together), so that
/// [`efficiency`](Self::efficiency) and [`response`](Self::response) are what the node's terms
/// are (see there).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct LearnedBound {
    /// The observed speed where completions took time, else 0.
    speed: f64,
    /// The speed ratio that applies otherwise: 1 if tasks completed in no time, and for a node
    /// never observed; else 0.
    ratio: f64,
    /// The success rate capped to 0–1 (½ for a node never observed, so that the efficiency is
    /// then 50).
    success: f64,
    /// The response-time term, or [`NEUTRAL_SCORE`] if nothing completed.
    response: f64,
}

impl Default for LearnedBound {
    /// Nothing observed.
    fn default() -> Self {
        NodeHistory::default().bound()
    }
}

impl LearnedBound {
    /// At least `efficiency(nominal_speed).unwrap_or(NEUTRAL_SCORE)` of the node's history, and
    /// equal to it (as a number: 0 for −0) unless that speed ratio is NaN (then the ratio counts
    /// as 1, the largest): where completions took time, the ratio is the same quotient
    /// `efficiency` computes (one division), capped alike (a negative ratio is raised to the
    /// fixed ratio, 0); elsewhere the quotient is 0 (or NaN) and the fixed ratio applies. The
    /// product is then formed as [`efficiency_score`] forms it, with the success rate it caps.
    #[inline(always)]
    pub(super) fn efficiency(&self, nominal_speed: f64) -> f64 {
        let ratio = self.speed / nominal_speed;
        // (Comparisons rather than `min` and `max`, so that NaN becomes 1.)
        let ratio = if ratio < 1.0 { ratio } else { 1.0 };
        let ratio = if ratio > self.ratio { ratio } else { self.ratio };
        MAX_SCORE as f64 * ratio * self.success
    }

    /// The response-time term, or [`NEUTRAL_SCORE`] if nothing completed: what `evaluate`
    /// reads, bit for bit.
    #[inline(always)]
    pub(super) fn response(&self) -> f64 {
        self.response
    }
}

/// Every node's history, by node id, and its [`LearnedBound`] beside it.
#[derive(Clone, Debug, Default)]
pub(super) struct Histories {
    sums: Vec<NodeHistory>,
    bounds: Vec<LearnedBound>,
}

impl Histories {
    /// Number of nodes with a history (observed or not).
    pub(super) fn len(&self) -> usize {
        self.sums.len()
    }

    /// True if no node has one.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.sums.is_empty()
    }

    /// A node's history, if it has one.
    #[inline]
    pub(super) fn get(&self, node: usize) -> Option<&NodeHistory> {
        self.sums.get(node)
    }

    /// The bounds' records, by node id (as many as [`len`](Self::len)).
    #[inline]
    pub(super) fn bounds(&self) -> &[LearnedBound] {
        &self.bounds
    }

    /// Gives the nodes up to `len` a history of nothing observed.
    pub(super) fn grow(&mut self, len: usize) {
        if self.sums.len() < len {
            self.sums.resize(len, NodeHistory::default());
            self.bounds.resize(len, LearnedBound::default());
        }
    }

    /// Adds an outcome learned at `now` to its node's history (see [`NodeHistory::record`]).
    pub(super) fn record(&mut self, outcome: &Outcome, now: Time, decay_ns: f64, scale_s: f64) {
        let i = outcome.node.index();
        self.grow(i + 1);
        self.sums[i].record(outcome, now, decay_ns, scale_s);
        self.bounds[i] = self.sums[i].bound();
    }

    /// Derives every node's terms again with this latency scale.
    pub(super) fn refresh(&mut self, scale_s: f64) {
        for (sums, bound) in self.sums.iter_mut().zip(&mut self.bounds) {
            sums.refresh(scale_s);
            *bound = sums.bound();
        }
    }
}

impl Default for NodeHistory {
    /// Nothing observed.
    fn default() -> Self {
        NodeHistory {
            at: Time::ZERO,
            outcomes: 0.0,
            completed: 0.0,
            work_s: 0.0,
            latency_s: 0.0,
            success_rate: 0.0,
            observed_speed: 0.0,
            response_time: None,
        }
    }
}

impl NodeHistory {
    /// Adds an outcome learned at `now`, after decaying the sums over `decay_ns`; the
    /// response-time term is derived with latency scale `scale_s`.
    pub(super) fn record(&mut self, outcome: &Outcome, now: Time, decay_ns: f64, scale_s: f64) {
        let keep = (-(now.saturating_since(self.at).0 as f64) / decay_ns).exp();
        self.outcomes = self.outcomes * keep + 1.0;
        self.completed *= keep;
        self.work_s *= keep;
        self.latency_s *= keep;
        if outcome.completed {
            self.completed += 1.0;
            self.work_s += outcome.expected_work_s.max(0.0);
            self.latency_s += outcome.latency.as_secs_f64();
        }
        self.at = self.at.max(now);
        self.refresh(scale_s);
    }

    /// Derives what the terms read from the sums, with this latency scale.
    pub(super) fn refresh(&mut self, scale_s: f64) {
        self.success_rate = self.completed / self.outcomes;
        self.observed_speed = self.work_s / self.latency_s;
        self.response_time = self.mean_latency_s().map(|latency| response_time_score(latency, scale_s));
    }

    /// What the search's bound reads of this history (see [`LearnedBound`]).
    pub(super) fn bound(&self) -> LearnedBound {
        // As `efficiency` tests it: not `outcomes <= 0` (so NaN counts as observed).
        let observed = !matches!(self.outcomes.partial_cmp(&0.0), Some(Ordering::Less | Ordering::Equal));
        let timed = self.latency_s > 0.0;
        let success = self.success_rate;
        LearnedBound {
            speed: if observed && timed { self.observed_speed } else { 0.0 },
            ratio: if !observed || (!timed && self.completed > 0.0) { 1.0 } else { 0.0 },
            success: if !observed {
                0.5
            } else if success >= 0.0 {
                success.min(1.0)
            } else {
                0.0
            },
            response: self.response_time.unwrap_or(NEUTRAL_SCORE),
        }
    }

    /// The efficiency term for a node of this nominal speed, or `None` if nothing was observed.
    pub(super) fn efficiency(&self, nominal_speed: f64) -> Option<f64> {
        if self.outcomes <= 0.0 {
            return None;
        }
        let success_rate = self.success_rate;
        let speed_ratio = if self.latency_s > 0.0 {
            self.observed_speed / nominal_speed
        } else if self.completed > 0.0 {
            1.0 // completions took no time at all: as fast as can be
        } else {
            0.0 // only losses: the success rate is 0 anyway
        };
        Some(efficiency_score(speed_ratio, success_rate))
    }

    /// The decayed mean latency of completions, seconds, or `None` if none completed.
    pub(super) fn mean_latency_s(&self) -> Option<f64> {
        (self.completed > 0.0).then(|| self.latency_s / self.completed)
    }

    /// The response-time term with the latency scale of the last `record` or `refresh`, or
    /// `None` if nothing completed.
    pub(super) fn response_time(&self) -> Option<f64> {
        self.response_time
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NodeId, Span, TaskId};

    fn outcome(expected_work_s: f64, latency_s: f64, completed: bool) -> Outcome {
        Outcome {
            task: TaskId(0),
            node: NodeId(0),
            latency: Span::from_secs_f64(latency_s),
            expected_work_s,
            completed,
        }
    }

    #[test]
    fn same_instant_outcomes_weigh_alike_and_losses_lower_the_success_rate() {
        let mut h = NodeHistory::default();
        assert_eq!(h.efficiency(1.0), None);
        assert_eq!(h.mean_latency_s(), None);
        let t = Time::from_secs_f64(100.0);
        // Two completions (1 s of work in 1 s, 3 s of work in 1 s) and one loss, all at once:
        // speed Σwork/Σlatency = 4/2 = 2; on a node of nominal speed 2 the ratio is 1;
        // success 2/3 → efficiency 100 · 1 · 2/3.
        h.record(&outcome(1.0, 1.0, true), t, 10e9, 1.0);
        h.record(&outcome(3.0, 1.0, true), t, 10e9, 1.0);
        h.record(&outcome(5.0, 7.0, false), t, 10e9, 1.0);
        let e = h.efficiency(2.0).unwrap();
        assert!((e - 200.0 / 3.0).abs() < 1e-9, "{e}");
        // On a node of nominal speed 4 the same observations are half its promise: 100 · 0.5 · 2/3.
        assert!((h.efficiency(4.0).unwrap() - 100.0 / 3.0).abs() < 1e-9);
        // The loss's latency does not count: mean latency (1 + 1) / 2 = 1 s.
        assert_eq!(h.mean_latency_s(), Some(1.0));
    }

    #[test]
    fn old_outcomes_decay() {
        let mut h = NodeHistory::default();
        let decay_ns = 10e9;
        // At 0 s: 2 s of work took 4 s. At 10 s: 2 s of work took 1 s. The old one weighs e^-1:
        // speed = (2e^-1 + 2) / (4e^-1 + 1), mean latency = (4e^-1 + 1) / (e^-1 + 1).
        h.record(&outcome(2.0, 4.0, true), Time::ZERO, decay_ns, 1.0);
        h.record(&outcome(2.0, 1.0, true), Time::from_secs_f64(10.0), decay_ns, 1.0);
        let k = (-1.0f64).exp();
        let speed = (2.0 * k + 2.0) / (4.0 * k + 1.0);
        assert!((h.efficiency(1.0).unwrap() - 100.0 * speed.min(1.0)).abs() < 1e-9);
        assert!((h.efficiency(2.0).unwrap() - 100.0 * speed / 2.0).abs() < 1e-9, "speed {speed}");
        let latency = (4.0 * k + 1.0) / (k + 1.0);
        assert!((h.mean_latency_s().unwrap() - latency).abs() < 1e-12);
        // 100 / (1 + latency / 1 s).
        assert!((h.response_time().unwrap() - 100.0 / (1.0 + latency)).abs() < 1e-9);
    }

    #[test]
    fn only_losses_give_zero_efficiency_and_no_latency() {
        let mut h = NodeHistory::default();
        h.record(&outcome(1.0, 3.0, false), Time::ZERO, 1e9, 1.0);
        assert_eq!(h.efficiency(1.0), Some(0.0));
        assert_eq!(h.response_time(), None);
    }

    #[test]
    fn the_learned_bound_is_the_efficiency_term_unless_its_ratio_is_nan() {
        // Histories of every kind (never observed, only losses, completions in no time, slow and
        // fast ones), and speeds of every kind, the absurd included.
        let mut histories = vec![NodeHistory::default()];
        let mut h = NodeHistory::default();
        h.record(&outcome(1.0, 3.0, false), Time::ZERO, 1e9, 1.0);
        histories.push(h);
        let mut h = NodeHistory::default();
        h.record(&outcome(2.0, 0.0, true), Time::ZERO, 1e9, 1.0);
        histories.push(h);
        for (work, latency) in [(1.0, 2.0), (3.0, 0.5), (0.0, 1.0), (1e-9, 7.0), (5.0, 1e-9)] {
            let mut h = NodeHistory::default();
            h.record(&outcome(work, latency, true), Time::ZERO, 1e9, 1.0);
            h.record(&outcome(work, latency, false), Time::from_secs_f64(0.5), 1e9, 1.0);
            histories.push(h);
        }
        let speeds = [1.0, 0.5, 2.0, 1.5, 0.0, -1.0, f64::NAN, f64::INFINITY, 1e-300, 1e300, 0.7];
        for (i, h) in histories.iter().enumerate() {
            let bound = h.bound();
            assert_eq!(bound.response(), h.response_time().unwrap_or(NEUTRAL_SCORE), "history {i}");
            for speed in speeds {
                let exact = h.efficiency(speed).unwrap_or(NEUTRAL_SCORE);
                let ratio_is_nan = h.outcomes > 0.0 && h.latency_s > 0.0 && (h.observed_speed / speed).is_nan();
                if ratio_is_nan {
                    assert!(bound.efficiency(speed) >= exact, "history {i}, speed {speed}");
                } else {
                    // (Equal as numbers: a ratio of −0 gives the term −0, and the bound 0.)
                    assert_eq!(bound.efficiency(speed), exact, "history {i}, speed {speed}");
                }
            }
        }
    }
}
