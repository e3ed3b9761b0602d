//! Monitoring and alerting, simulated as real platforms run it: rules over the cluster's metrics,
//! evaluated at every time-series sample, with Prometheus' alerting semantics, so alert rules can be
//! tuned (and their noise compared between strategies) like any other weight.
//!
//! A rule compares one [`AlertMetric`] with a threshold. At each evaluation (every sample after the
//! warm-up), a rule whose condition holds becomes *pending*; once it has held at every evaluation
//! for at least `for_` it *fires* (at that evaluation's time); the first evaluation at which the
//! condition does not hold *resolves* it, and clears a pending rule — Prometheus' `for` clause
//! (`rules/alerting.go`). A metric with no data (a windowed percentile with no completions in the
//! window, a slope from a single sample) makes the condition false, as an absent series does in
//! Prometheus. An alert still firing at the end of the run has no resolution time.
//!
//! Windowed metrics look at the samples and completions of the last `window` (inclusive of its
//! start): rates divide the growth of a counter between the oldest sample in the window and now by
//! the time between them; the slope is the least-squares slope of the queue length over the
//! window's samples.

use std::collections::VecDeque;

use crate::time::{SimDuration, SimTime};

/// What an alert rule watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertMetric {
    /// Mean CPU utilisation across nodes, at the sample (0–1).
    Utilization,
    /// The highest CPU utilisation of any node, at the sample (0–1).
    MaxUtilization,
    /// Coefficient of variation of tasks per core across nodes, at the sample.
    LoadCv,
    /// Tasks in the system (dispatched, queued or running), at the sample.
    TasksInSystem,
    /// Tasks waiting in node queues, at the sample.
    QueueLength,
    /// Least-squares slope of the queue length over the window, tasks per second.
    QueueSlope,
    /// 95th percentile (nearest rank) of the response times of tasks completed in the window, s.
    P95ResponseS,
    /// Mean response time of tasks completed in the window, s.
    MeanResponseS,
    /// Completions per second over the window.
    ThroughputPerS,
    /// Nodes the dispatcher suspects, at the sample.
    SuspectedNodes,
    /// Migrations (tasks moved off a suspected node) in the window, per minute.
    MigrationsPerMin,
}

impl AlertMetric {
    /// Every metric, in the order of [`names`](Self::name).
    pub const ALL: [AlertMetric; 11] = [
        AlertMetric::Utilization,
        AlertMetric::MaxUtilization,
        AlertMetric::LoadCv,
        AlertMetric::TasksInSystem,
        AlertMetric::QueueLength,
        AlertMetric::QueueSlope,
        AlertMetric::P95ResponseS,
        AlertMetric::MeanResponseS,
        AlertMetric::ThroughputPerS,
        AlertMetric::SuspectedNodes,
        AlertMetric::MigrationsPerMin,
    ];

    /// The name scenario files and `alerts.csv` use.
    pub fn name(self) -> &'static str {
        match self {
            AlertMetric::Utilization => "utilization",
            AlertMetric::MaxUtilization => "max_utilization",
            AlertMetric::LoadCv => "load_cv",
            AlertMetric::TasksInSystem => "tasks_in_system",
            AlertMetric::QueueLength => "queue_length",
            AlertMetric::QueueSlope => "queue_slope",
            AlertMetric::P95ResponseS => "p95_response_s",
            AlertMetric::MeanResponseS => "mean_response_s",
            AlertMetric::ThroughputPerS => "throughput_per_s",
            AlertMetric::SuspectedNodes => "suspected_nodes",
            AlertMetric::MigrationsPerMin => "migrations_per_min",
        }
    }

    /// The metric of this name.
    pub fn from_name(name: &str) -> Option<AlertMetric> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// True if the metric is computed over a window.
    pub fn windowed(self) -> bool {
        matches!(
            self,
            AlertMetric::QueueSlope
                | AlertMetric::P95ResponseS
                | AlertMetric::MeanResponseS
                | AlertMetric::ThroughputPerS
                | AlertMetric::MigrationsPerMin
        )
    }

    fn uses_responses(self) -> bool {
        matches!(self, AlertMetric::P95ResponseS | AlertMetric::MeanResponseS)
    }
}

/// When a rule's condition holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Condition {
    /// The metric is strictly above the threshold.
    Above(f64),
    /// The metric is strictly below the threshold.
    Below(f64),
}

impl Condition {
    /// True if `value` meets the condition (never for NaN: no data).
    pub fn holds(self, value: f64) -> bool {
        match self {
            Condition::Above(x) => value > x,
            Condition::Below(x) => value < x,
        }
    }
}

/// One alert rule.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRule {
    /// Name, as in `alerts.csv`.
    pub name: String,
    /// What it watches.
    pub metric: AlertMetric,
    /// When it is met.
    pub condition: Condition,
    /// How long the condition must hold, at every evaluation, before the alert fires.
    pub for_: SimDuration,
    /// The window of a windowed metric.
    pub window: SimDuration,
}

/// What the cluster looks like at one evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Observation {
    /// Evaluation time.
    pub t: SimTime,
    /// Mean CPU utilisation across nodes.
    pub utilization: f64,
    /// Highest node CPU utilisation.
    pub max_utilization: f64,
    /// Load coefficient of variation.
    pub load_cv: f64,
    /// Tasks in the system.
    pub in_system: f64,
    /// Tasks in node queues.
    pub queue_length: f64,
    /// Suspected nodes.
    pub suspected: f64,
    /// Migrations so far (a counter).
    pub migrations: u64,
    /// Completions so far (a counter).
    pub completions: u64,
}

/// One alert: a rule that fired, and when it resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlertRecord {
    /// Index of the rule in the scenario's list.
    pub rule: u32,
    /// When it fired.
    pub fired: SimTime,
    /// When it resolved (`None`: still firing at the end of the run).
    pub resolved: Option<SimTime>,
    /// The metric's most extreme value while firing (highest for `Above`, lowest for `Below`).
    pub peak: f64,
    /// How long it fired: to its resolution, or to the end of the run.
    pub firing: SimDuration,
}

/// The alert evaluator of one run.
#[derive(Clone, Debug)]
pub struct Monitor {
    rules: Vec<AlertRule>,
    /// Per rule: since when its condition has held (pending or firing).
    holding_since: Vec<Option<SimTime>>,
    /// Per rule: its firing alert, as an index into `records`.
    firing: Vec<Option<usize>>,
    records: Vec<AlertRecord>,
    /// Observations within the longest window.
    history: VecDeque<Observation>,
    /// `(completion time, response ns)` within the longest window, if a rule reads responses.
    responses: Option<VecDeque<(SimTime, u64)>>,
    longest_window: SimDuration,
    scratch: Vec<u64>,
}

impl Monitor {
    /// A monitor of these rules.
    pub fn new(rules: Vec<AlertRule>) -> Monitor {
        let longest_window =
            rules.iter().filter(|r| r.metric.windowed()).map(|r| r.window).max().unwrap_or(SimDuration::ZERO);
        let responses = rules.iter().any(|r| r.metric.uses_responses()).then(VecDeque::new);
        Monitor {
            holding_since: vec![None; rules.len()],
            firing: vec![None; rules.len()],
            rules,
            records: Vec::new(),
            history: VecDeque::new(),
            responses,
            longest_window,
            scratch: Vec::new(),
        }
    }

    /// True if some rule watches the metric (so the caller need not compute it otherwise).
    pub fn watches(&self, metric: AlertMetric) -> bool {
        self.rules.iter().any(|r| r.metric == metric)
    }

    /// A task completed at `t` after `response_ns`.
    #[inline]
    pub fn completion(&mut self, t: SimTime, response_ns: u64) {
        if let Some(r) = self.responses.as_mut() {
            r.push_back((t, response_ns));
        }
    }

    /// Evaluates every rule at `obs.t` (times must not decrease).
    pub fn observe(&mut self, obs: Observation) {
        let now = obs.t;
        self.history.push_back(obs);
        let oldest = SimTime(now.0.saturating_sub(self.longest_window.0));
        while self.history.front().is_some_and(|o| o.t < oldest) {
            self.history.pop_front();
        }
        if let Some(r) = self.responses.as_mut() {
            while r.front().is_some_and(|&(t, _)| t <= oldest) {
                r.pop_front();
            }
        }
        for i in 0..self.rules.len() {
            let (metric, window, condition, for_) =
                (self.rules[i].metric, self.rules[i].window, self.rules[i].condition, self.rules[i].for_);
            let value = self.value(metric, window, &obs);
            if condition.holds(value) {
                let since = *self.holding_since[i].get_or_insert(now);
                match self.firing[i] {
                    Some(k) => {
                        let peak = &mut self.records[k].peak;
                        *peak = match condition {
                            Condition::Above(_) => peak.max(value),
                            Condition::Below(_) => peak.min(value),
                        };
                    }
                    None if now - since >= for_ => {
                        self.firing[i] = Some(self.records.len());
                        self.records.push(AlertRecord {
                            rule: i as u32,
                            fired: now,
                            resolved: None,
                            peak: value,
                            firing: SimDuration::ZERO,
                        });
                    }
                    None => {}
                }
            } else {
                self.holding_since[i] = None;
                if let Some(k) = self.firing[i].take() {
                    self.records[k].resolved = Some(now);
                }
            }
        }
    }

    /// The metric's value now; NaN when there is no data.
    fn value(&mut self, metric: AlertMetric, window: SimDuration, obs: &Observation) -> f64 {
        let start = SimTime(obs.t.0.saturating_sub(window.0));
        let in_window = || self.history.iter().filter(move |o| o.t >= start);
        let rate = |counter: fn(&Observation) -> u64| {
            let first = in_window().next().copied().unwrap_or(*obs);
            if obs.t > first.t {
                (counter(obs) - counter(&first)) as f64 / (obs.t - first.t).as_secs_f64()
            } else {
                f64::NAN
            }
        };
        match metric {
            AlertMetric::Utilization => obs.utilization,
            AlertMetric::MaxUtilization => obs.max_utilization,
            AlertMetric::LoadCv => obs.load_cv,
            AlertMetric::TasksInSystem => obs.in_system,
            AlertMetric::QueueLength => obs.queue_length,
            AlertMetric::SuspectedNodes => obs.suspected,
            AlertMetric::ThroughputPerS => rate(|o| o.completions),
            AlertMetric::MigrationsPerMin => 60.0 * rate(|o| o.migrations),
            AlertMetric::QueueSlope => {
                let points: Vec<(f64, f64)> = in_window().map(|o| (o.t.as_secs_f64(), o.queue_length)).collect();
                least_squares_slope(&points)
            }
            AlertMetric::P95ResponseS | AlertMetric::MeanResponseS => {
                self.scratch.clear();
                if let Some(r) = &self.responses {
                    self.scratch.extend(r.iter().filter(|&&(t, _)| t > start).map(|&(_, ns)| ns));
                }
                if self.scratch.is_empty() {
                    return f64::NAN;
                }
                if metric == AlertMetric::MeanResponseS {
                    return self.scratch.iter().map(|&ns| ns as f64).sum::<f64>() / self.scratch.len() as f64 / 1e9;
                }
                self.scratch.sort_unstable();
                let rank = ((0.95 * self.scratch.len() as f64).ceil() as usize).clamp(1, self.scratch.len());
                self.scratch[rank - 1] as f64 / 1e9
            }
        }
    }

    /// The rules.
    pub fn rules(&self) -> &[AlertRule] {
        &self.rules
    }

    /// Every alert that fired, in firing order, with its firing time up to `end` (the end of the
    /// run) if it never resolved.
    pub fn finish(mut self, end: SimTime) -> Vec<AlertRecord> {
        for r in &mut self.records {
            r.firing = r.resolved.unwrap_or(end.max(r.fired)) - r.fired;
        }
        self.records
    }
}

/// The least-squares slope of `y` on `x`; NaN with fewer than two distinct `x`.
pub fn least_squares_slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return f64::NAN;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx == 0.0 {
        f64::NAN
    } else {
        sxy / sxx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(metric: AlertMetric, condition: Condition, for_s: f64, window_s: f64) -> AlertRule {
        AlertRule {
            name: "r".into(),
            metric,
            condition,
            for_: SimDuration::from_secs_f64(for_s),
            window: SimDuration::from_secs_f64(window_s),
        }
    }

    fn secs(s: f64) -> SimDuration {
        SimDuration::from_secs_f64(s)
    }

    fn at(s: f64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs_f64(s)
    }

    /// Utilisation sampled every 10 s: 0.5 at 0, 0.95 at 10–30, 0.5 at 40, 0.95 at 50 (once),
    /// 0.95 from 70 to the end at 90.
    fn utilisation_series() -> Vec<Observation> {
        [0.5, 0.95, 0.95, 0.95, 0.5, 0.95, 0.5, 0.95, 0.95, 0.95]
            .iter()
            .enumerate()
            .map(|(i, &u)| Observation { t: at(10.0 * i as f64), utilization: u, ..Default::default() })
            .collect()
    }

    fn run(rules: Vec<AlertRule>, series: &[Observation]) -> Vec<AlertRecord> {
        let mut m = Monitor::new(rules);
        for &o in series {
            m.observe(o);
        }
        m.finish(at(100.0))
    }

    #[test]
    fn a_rule_fires_after_holding_for_its_duration_and_resolves_when_it_stops() {
        // Pending from 10; held 10 s at 20 (< 15), 20 s at 30: fires at 30, resolves at 40. The
        // single high sample at 50 is pending only. From 70: fires at 90 (held 20 s), still firing.
        let records =
            run(vec![rule(AlertMetric::Utilization, Condition::Above(0.9), 15.0, 0.0)], &utilisation_series());
        assert_eq!(
            records,
            vec![
                AlertRecord { rule: 0, fired: at(30.0), resolved: Some(at(40.0)), peak: 0.95, firing: secs(10.0) },
                AlertRecord { rule: 0, fired: at(90.0), resolved: None, peak: 0.95, firing: secs(10.0) },
            ]
        );
        // Without `for`, every high sample fires at once.
        let records = run(vec![rule(AlertMetric::Utilization, Condition::Above(0.9), 0.0, 0.0)], &utilisation_series());
        let times: Vec<(SimTime, Option<SimTime>)> = records.iter().map(|r| (r.fired, r.resolved)).collect();
        assert_eq!(times, vec![(at(10.0), Some(at(40.0))), (at(50.0), Some(at(60.0))), (at(70.0), None)]);
        // `Below` is the mirror image.
        let records = run(vec![rule(AlertMetric::Utilization, Condition::Below(0.6), 0.0, 0.0)], &utilisation_series());
        let times: Vec<(SimTime, Option<SimTime>)> = records.iter().map(|r| (r.fired, r.resolved)).collect();
        assert_eq!(times, vec![(at(0.0), Some(at(10.0))), (at(40.0), Some(at(50.0))), (at(60.0), Some(at(70.0)))]);
    }

    #[test]
    fn windowed_rates_percentiles_and_slopes_follow_the_window() {
        // Queue length grows 2 per 10 s from t = 30 (0, 0, 0, 0, 2, 4, 6); slope over a 30 s window
        // is 0 at 30 (four flat points), then (0,0,0,2)→0.06, (0,0,2,4)→0.14, (0,2,4,6)→0.2.
        let queue = [0.0, 0.0, 0.0, 0.0, 2.0, 4.0, 6.0];
        let series: Vec<Observation> = queue
            .iter()
            .enumerate()
            .map(|(i, &q)| Observation {
                t: at(10.0 * i as f64),
                queue_length: q,
                migrations: if i >= 5 { 12 } else { 0 },
                ..Default::default()
            })
            .collect();
        let records = run(vec![rule(AlertMetric::QueueSlope, Condition::Above(0.1), 0.0, 30.0)], &series);
        let times: Vec<(SimTime, Option<SimTime>)> = records.iter().map(|r| (r.fired, r.resolved)).collect();
        assert_eq!(times, vec![(at(50.0), None)], "fires when the slope reaches 0.14 tasks/s");
        assert!((records[0].peak - 0.2).abs() < 1e-12, "peak slope {}", records[0].peak);
        // 12 migrations between 40 and 50: over a 60 s window starting at 0, 12 per 50 s = 14.4/min.
        let records = run(vec![rule(AlertMetric::MigrationsPerMin, Condition::Above(10.0), 0.0, 60.0)], &series);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].fired, at(50.0));
        assert!((records[0].peak - 14.4).abs() < 1e-9, "{}", records[0].peak);

        // p95 over a 20 s window of completions: 1 s responses, then a 9 s one at t = 15.
        let mut m = Monitor::new(vec![rule(AlertMetric::P95ResponseS, Condition::Above(5.0), 0.0, 20.0)]);
        for i in 0..10 {
            m.completion(at(i as f64), 1_000_000_000);
        }
        m.observe(Observation { t: at(10.0), ..Default::default() });
        m.completion(at(15.0), 9_000_000_000);
        m.observe(Observation { t: at(20.0), ..Default::default() });
        // At 40 the window (20, 40] holds nothing: no data, so the alert resolves.
        m.observe(Observation { t: at(40.0), ..Default::default() });
        let records = m.finish(at(100.0));
        assert_eq!(
            records,
            vec![AlertRecord { rule: 0, fired: at(20.0), resolved: Some(at(40.0)), peak: 9.0, firing: secs(20.0) }]
        );
    }

    #[test]
    fn slope_is_least_squares() {
        assert!((least_squares_slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]) - 2.0).abs() < 1e-12);
        assert!(least_squares_slope(&[(1.0, 1.0)]).is_nan());
        assert_eq!(AlertMetric::from_name("p95_response_s"), Some(AlertMetric::P95ResponseS));
        assert!(AlertMetric::ALL.iter().all(|m| AlertMetric::from_name(m.name()) == Some(*m)));
    }
}
