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

use super::terms::{efficiency_score, response_time_score, NEUTRAL_SCORE};

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
    /// What [`efficiency_bound`](Self::efficiency_bound) reads: the observed speed where
    /// completions took time (else 0), the speed ratio that applies otherwise (1 if tasks
    /// completed in no time, and for a node never observed; else 0), and the success rate
    /// capped to 0–1 (½ for a node never observed, so that the bound is then 50).
    bound_speed: f64,
    bound_ratio: f64,
    bound_success: f64,
    /// The response-time term, or [`NEUTRAL_SCORE`] if nothing completed.
    response_or_neutral: f64,
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
            bound_speed: 0.0,
            bound_ratio: 1.0,
            bound_success: 0.5,
            response_or_neutral: NEUTRAL_SCORE,
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
        self.response_or_neutral = self.response_time.unwrap_or(NEUTRAL_SCORE);
        // As `efficiency` tests it: not `outcomes <= 0` (so NaN counts as observed).
        let observed = !matches!(self.outcomes.partial_cmp(&0.0), Some(Ordering::Less | Ordering::Equal));
        let timed = self.latency_s > 0.0;
        let success = self.success_rate;
        self.bound_speed = if observed && timed { self.observed_speed } else { 0.0 };
        self.bound_ratio = if !observed || (!timed && self.completed > 0.0) { 1.0 } else { 0.0 };
        self.bound_success = if !observed {
            0.5
        } else if success >= 0.0 {
            success.min(1.0)
        } else {
            0.0
        };
    }

    /// At least `efficiency(speed).unwrap_or(NEUTRAL_SCORE)`, given `recip_speed = 1 / speed`
    /// as a double, without a division or a branch. The speed ratio is taken as
    /// `min(1, observed speed · recip_speed · (1 + 10⁻¹²))` (or the fixed ratio where that
    /// applies, if larger): at least the rounded quotient `efficiency` computes and caps (the
    /// product is within 3 units in the last place of it), and the rest of the term is
    /// increasing in the ratio. (A NaN product counts as 1, the largest ratio.)
    #[inline(always)]
    pub(super) fn efficiency_bound(&self, recip_speed: f64) -> f64 {
        let scaled = self.bound_speed * recip_speed * (1.0 + 1e-12);
        let ratio = if scaled < 1.0 { scaled } else { 1.0 };
        let ratio = if ratio > self.bound_ratio { ratio } else { self.bound_ratio };
        efficiency_score(ratio, self.bound_success)
    }

    /// [`response_time`](Self::response_time), or [`NEUTRAL_SCORE`].
    #[inline(always)]
    pub(super) fn response_or_neutral(&self) -> f64 {
        self.response_or_neutral
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
}
