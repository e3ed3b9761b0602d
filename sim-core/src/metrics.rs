//! Metric probes: what a run measures, after the warm-up, and the per-run results.

use hdrhistogram::Histogram;

use crate::alerts::{AlertRecord, Monitor};
use crate::time::{SimDuration, SimTime};
use fulcrum_strategies::{Resource, Resources, N_RESOURCES};

/// One completed (or, at the end, unfinished) task, for `tasks.csv`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TaskRecord {
    /// Task id (arrival order within the run).
    pub id: u64,
    /// Class index.
    pub class: u32,
    /// Arrival time.
    pub arrival: SimTime,
    /// Work at speed 1.
    pub work: SimDuration,
    /// Node it was dispatched to, if any.
    pub node: Option<u32>,
    /// When it started running, if it did.
    pub start: Option<SimTime>,
    /// When it completed, if it did.
    pub end: Option<SimTime>,
    /// Executions dispatched for it (1 without failover).
    pub attempts: u32,
}

/// One thing that happened to the cluster, for `events.csv`: a fault action, a suspicion, a
/// re-admission, a migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// When.
    pub t: SimTime,
    /// What (`crash`, `recover`, `partition`, `heal`, `slow_down`, `restore`, `heartbeat_loss`,
    /// `delay_spike`, their `_end`s, `suspect`, `readmit`, `migrate`, `retry_scheduled`,
    /// `task_failed`, `fence`, `probe`, `probe_refuted`, `dispatch_failed`).
    pub kind: &'static str,
    /// The node concerned, if any.
    pub node: Option<u32>,
    /// The task concerned, if any.
    pub task: Option<u64>,
}

/// How an execution ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecOutcome {
    /// It ran to completion.
    Completed,
    /// Its node crashed under it.
    Lost,
    /// It was killed by fencing (its node had been declared failed).
    Fenced,
    /// It was still running when the run ended.
    Unfinished,
}

impl ExecOutcome {
    /// The name used in output files.
    pub fn name(self) -> &'static str {
        match self {
            ExecOutcome::Completed => "completed",
            ExecOutcome::Lost => "lost",
            ExecOutcome::Fenced => "fenced",
            ExecOutcome::Unfinished => "unfinished",
        }
    }
}

/// One execution of a task on a node, from when it started running to when it stopped, for the
/// timeline (`--trace`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecRecord {
    /// The task's id.
    pub task: u64,
    /// The task's class.
    pub class: u32,
    /// The node it ran on.
    pub node: u32,
    /// When it was dispatched.
    pub dispatched: SimTime,
    /// When it started running.
    pub start: SimTime,
    /// When it stopped.
    pub end: SimTime,
    /// How it ended.
    pub outcome: ExecOutcome,
}

/// Every node's state at every time-series sample: the instants of
/// [`RunOutput::series`] (sample `i` of node `n` at index `i * nodes + n`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeSamples {
    /// Number of nodes.
    pub nodes: usize,
    /// CPU in use over CPU capacity.
    pub cpu_utilization: Vec<f32>,
    /// Tasks in the node's queue.
    pub queued: Vec<u32>,
    /// Tasks running on the node.
    pub running: Vec<u32>,
}

impl NodeSamples {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.cpu_utilization.len().checked_div(self.nodes).unwrap_or(0)
    }

    /// True if there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Kinds of node fault whose detection and recovery are measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The node stopped.
    Crash,
    /// The node was cut off.
    Partition,
}

/// One time-series sample, covering the interval that ends at `t`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeriesPoint {
    /// End of the interval.
    pub t: SimTime,
    /// Completions in the interval per second.
    pub throughput_per_s: f64,
    /// Coefficient of variation across nodes of tasks at the node per CPU core, at `t`.
    pub load_cv: f64,
    /// Mean across nodes of instantaneous CPU utilisation, at `t`.
    pub utilization_mean: f64,
    /// Tasks in the system (dispatched or queued or running), at `t`.
    pub in_system: f64,
}

impl SeriesPoint {
    /// Metric names in output order.
    pub const NAMES: [&'static str; 4] = ["throughput_per_s", "load_cv", "utilization_mean", "in_system"];

    /// Values in [`NAMES`](Self::NAMES) order.
    pub fn values(&self) -> [f64; 4] {
        [self.throughput_per_s, self.load_cv, self.utilization_mean, self.in_system]
    }
}

/// One balancer decision, for `decisions.jsonl` (`--decision-log`).
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionRecord {
    /// When the decision was made.
    pub t: SimTime,
    /// The task placed.
    pub task: u64,
    /// Its attempt number (1 for the first dispatch).
    pub attempt: u32,
    /// The node chosen, or `None` if the task was left waiting.
    pub chosen: Option<u32>,
    /// The size of the batch the task was placed in (0 for a single-task decision).
    pub batch: u32,
    /// What the balancer considered (empty for batch decisions).
    pub why: fulcrum_strategies::balance::Explanation,
}

/// What one replication of one strategy measured.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutput {
    /// Named scalar metrics, in a fixed order.
    pub metrics: Vec<(&'static str, f64)>,
    /// Time series.
    pub series: Vec<SeriesPoint>,
    /// Per node, time-averaged utilisation of each resource after the warm-up (0 where the node
    /// has none of the resource), in [`Resource::ALL`] order.
    pub node_utilization: Vec<[f64; N_RESOURCES]>,
    /// Per-task records, sorted by id, when asked for.
    pub tasks: Option<Vec<TaskRecord>>,
    /// Faults, suspicions, re-admissions and migrations in time order, when asked for.
    pub events: Option<Vec<EventRecord>>,
    /// Wall-clock nanoseconds per balancer decision, when asked for. Not a result: it varies
    /// from run to run and machine to machine, so it is kept apart from everything above.
    pub decision_cost: Option<Histogram<u64>>,
    /// Wall-clock nanoseconds per batch placement (batch balancers), when asked for; like
    /// `decision_cost`, not a result.
    pub batch_cost: Option<Histogram<u64>>,
    /// The first decisions of the run with their explanations, when asked for.
    pub decisions: Option<Vec<DecisionRecord>>,
    /// Every node's state at every sample, when asked for.
    pub node_samples: Option<NodeSamples>,
    /// The first executions to end, in the order they ended, when asked for.
    pub execs: Option<Vec<ExecRecord>>,
    /// The alerts that fired after the warm-up, in firing order.
    pub alerts: Vec<AlertRecord>,
    /// Each detected fault's time from fault to suspicion, seconds, in detection order (faults
    /// after the warm-up).
    pub detection_times: Vec<f64>,
    /// Every step of the fault plan from the end of the warm-up to the end of the run, in time
    /// order, by its [`FaultAction`](crate::faults::FaultAction) name (`crash`, `heal`, …). Always
    /// kept (the plan is in memory anyway), so charts can mark faults without `--event-log`.
    pub fault_times: Vec<(SimTime, &'static str)>,
    /// The response-time distribution after the warm-up: `(q, seconds)` at each quantile of
    /// [`RESPONSE_CDF_QUANTILES`], from the HDR histogram (0.1% precision); empty when nothing
    /// completed.
    pub response_cdf: Vec<(f64, f64)>,
}

/// The quantiles kept in [`RunOutput::response_cdf`]: the minimum, every percentile, the
/// 99.5th and 99.9th, and the maximum (103 points).
pub const RESPONSE_CDF_QUANTILES: [f64; 103] = {
    let mut q = [0.0; 103];
    let mut i = 1;
    while i < 100 {
        q[i] = i as f64 / 100.0;
        i += 1;
    }
    q[100] = 0.995;
    q[101] = 0.999;
    q[102] = 1.0;
    q
};

impl RunOutput {
    /// The value of a metric.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }
}

/// Summary statistics of a set of non-negative values: (cv, Jain's index, max/mean).
/// An all-zero set is perfectly balanced: (0, 1, 1).
pub fn balance_stats(values: &[f64]) -> (f64, f64, f64) {
    let n = values.len() as f64;
    let sum: f64 = values.iter().sum();
    let mean = sum / n;
    if values.is_empty() || mean <= 0.0 {
        return (0.0, 1.0, 1.0);
    }
    let sum_sq: f64 = values.iter().map(|v| v * v).sum();
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    (var.sqrt() / mean, sum * sum / (n * sum_sq), max / mean)
}

/// Collects measurements during a run.
#[derive(Debug)]
pub(crate) struct Collector {
    warmup: SimTime,
    submitted: u64,
    completed: u64,
    response_sum: u128,
    wait_sum: u128,
    responses: Histogram<u64>,
    completions_in_window: u64,
    /// The resource dimensions of utilisation accounting, as indices into [`Resources`] (the
    /// accumulators themselves are kept beside each node, and handed over at the end).
    dims: Vec<usize>,
    completions_since_sample: u64,
    pub(crate) series: Vec<SeriesPoint>,
    pub(crate) task_log: Option<Vec<TaskRecord>>,
    event_log: Option<Vec<EventRecord>>,
    pub(crate) decision_cost: Option<Histogram<u64>>,
    pub(crate) batch_cost: Option<Histogram<u64>>,
    pub(crate) decisions: Option<Vec<DecisionRecord>>,
    /// How many more decisions to record.
    pub(crate) decisions_left: u32,
    pub(crate) node_samples: Option<NodeSamples>,
    pub(crate) execs: Option<Vec<ExecRecord>>,
    /// How many more executions to record.
    pub(crate) execs_left: u32,
    /// The alert rules' evaluator, if there are rules.
    pub(crate) monitor: Option<Monitor>,
    /// Measure faults, detection and recovery.
    fault_metrics: bool,
    detection_times: Vec<f64>,
    recovery_times: Vec<f64>,
    pub(crate) false_suspicions: u64,
    pub(crate) mistake_total: SimDuration,
    /// Work (ns at speed 1) thrown away by crashes.
    pub(crate) lost_work: u64,
    pub(crate) duplicate_executions: u64,
    pub(crate) migrations: u64,
    /// Times the balancer declined a task that had candidates (it waits and is offered again).
    pub(crate) deferrals: u64,
    pub(crate) failed_tasks: u64,
    /// Stale executions killed by fencing.
    pub(crate) fenced: u64,
    pub(crate) probes: u64,
    pub(crate) probe_refutations: u64,
}

impl Collector {
    /// Keeps a decision while the decision log has room.
    pub(crate) fn record_decision(&mut self, record: DecisionRecord) {
        if let Some(log) = self.decisions.as_mut() {
            if self.decisions_left > 0 {
                self.decisions_left -= 1;
                log.push(record);
            }
        }
    }

    pub(crate) fn new(
        dims: &[usize],
        warmup: SimTime,
        task_log: bool,
        event_log: bool,
        fault_metrics: bool,
    ) -> Collector {
        Collector {
            warmup,
            submitted: 0,
            completed: 0,
            response_sum: 0,
            wait_sum: 0,
            // 1 ns to ~146 years, 3 significant digits: quantiles within 0.1%.
            responses: Histogram::new_with_bounds(1, 1 << 62, 3).expect("valid histogram bounds"),
            completions_in_window: 0,
            dims: dims.to_vec(),
            completions_since_sample: 0,
            series: Vec::new(),
            task_log: task_log.then(Vec::new),
            event_log: event_log.then(Vec::new),
            decision_cost: None,
            batch_cost: None,
            decisions: None,
            decisions_left: 0,
            node_samples: None,
            execs: None,
            execs_left: 0,
            monitor: None,
            deferrals: 0,
            fault_metrics,
            detection_times: Vec::new(),
            recovery_times: Vec::new(),
            false_suspicions: 0,
            mistake_total: SimDuration::ZERO,
            lost_work: 0,
            duplicate_executions: 0,
            migrations: 0,
            failed_tasks: 0,
            fenced: 0,
            probes: 0,
            probe_refutations: 0,
        }
    }

    /// Appends to the event log, if it is kept.
    #[inline]
    pub(crate) fn log(&mut self, t: SimTime, kind: &'static str, node: Option<u32>, task: Option<u64>) {
        if let Some(log) = self.event_log.as_mut() {
            log.push(EventRecord { t, kind, node, task });
        }
    }

    /// A fault that happened at `at` was detected at `now`.
    pub(crate) fn on_detection(&mut self, at: SimTime, now: SimTime) {
        if at >= self.warmup {
            self.detection_times.push((now - at).as_secs_f64());
        }
    }

    /// Every task stranded by a fault at `at` is running again or done, at `now`.
    pub(crate) fn on_recovery(&mut self, at: SimTime, now: SimTime) {
        if at >= self.warmup {
            self.recovery_times.push((now - at).as_secs_f64());
        }
    }

    /// The end of the warm-up.
    pub(crate) fn warmup(&self) -> SimTime {
        self.warmup
    }

    /// True if a task arriving at `arrival` is measured.
    #[inline]
    pub(crate) fn counts(&self, arrival: SimTime) -> bool {
        arrival >= self.warmup
    }

    #[inline]
    pub(crate) fn on_arrival(&mut self, arrival: SimTime) {
        if self.counts(arrival) {
            self.submitted += 1;
        }
    }

    /// Keeps an execution record while the log has room.
    #[inline]
    pub(crate) fn record_exec(&mut self, record: impl FnOnce() -> ExecRecord) {
        if let Some(log) = self.execs.as_mut() {
            if self.execs_left > 0 {
                self.execs_left -= 1;
                log.push(record());
            }
        }
    }

    #[inline]
    pub(crate) fn on_completion(&mut self, arrival: SimTime, start: SimTime, end: SimTime) {
        if end >= self.warmup {
            self.completions_in_window += 1;
            self.completions_since_sample += 1;
            if let Some(m) = self.monitor.as_mut() {
                m.completion(end, (end - arrival).0);
            }
        }
        if self.counts(arrival) {
            self.completed += 1;
            let response = (end - arrival).0;
            self.response_sum += u128::from(response);
            self.wait_sum += u128::from((start - arrival).0);
            self.responses.saturating_record(response.max(1));
        }
    }

    /// Completions after the warm-up so far.
    pub(crate) fn completions(&self) -> u64 {
        self.completions_in_window
    }

    pub(crate) fn take_sample(&mut self, mut point: SeriesPoint, interval: SimDuration) {
        point.throughput_per_s = self.completions_since_sample as f64 / interval.as_secs_f64();
        self.completions_since_sample = 0;
        self.series.push(point);
    }

    /// Final metrics, given the nodes' capacities, their utilisation accumulators (per node, the
    /// milli-unit-nanoseconds in use after the warm-up in each of the collector's dimensions, node
    /// after node) and the total events handled.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn finish(
        self,
        capacities: impl Iterator<Item = Resources> + Clone,
        busy: &[u128],
        end: SimTime,
        events: u64,
        in_flight: u64,
        faults: &[(FaultKind, SimTime, bool, u32, u32)],
        fault_times: Vec<(SimTime, &'static str)>,
    ) -> RunOutput {
        assert_eq!(
            self.submitted,
            self.completed + self.failed_tasks + in_flight,
            "task conservation violated: submitted {} != completed {} + failed {} + in flight {}",
            self.submitted,
            self.completed,
            self.failed_tasks,
            in_flight
        );
        let window = (end - self.warmup).as_secs_f64();
        let secs = |ns: f64| ns / 1e9;
        let completed = self.completed as f64;
        let mean_or_zero = |sum: u128| if self.completed == 0 { 0.0 } else { secs(sum as f64) / completed };
        let quantile = |q: f64| {
            if self.completed == 0 {
                0.0
            } else {
                secs(self.responses.value_at_quantile(q) as f64)
            }
        };
        let window_ns = (end - self.warmup).0 as f64;
        let node_utilization: Vec<[f64; N_RESOURCES]> = capacities
            .clone()
            .zip(busy.chunks_exact(self.dims.len()))
            .map(|(cap, compact)| {
                let mut busy = [0u128; N_RESOURCES];
                for (&b, &d) in compact.iter().zip(&self.dims) {
                    busy[d] = b;
                }
                let mut u = [0.0; N_RESOURCES];
                for r in Resource::ALL {
                    if cap.get(r) > 0 {
                        u[r as usize] = busy[r as usize] as f64 / (cap.get(r) as f64 * window_ns);
                    }
                }
                u
            })
            .collect();
        // Per resource: the utilisations of the nodes that have it.
        let utilization = |r: Resource| -> Vec<f64> {
            capacities
                .clone()
                .zip(&node_utilization)
                .filter(|(cap, _)| cap.get(r) > 0)
                .map(|(_, u)| u[r as usize])
                .collect()
        };
        let cpu = utilization(Resource::Cpu);
        let (cv, jain, max_over_mean) = balance_stats(&cpu);
        let mean_of = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let mut metrics = vec![
            ("mean_response_s", mean_or_zero(self.response_sum)),
            ("p50_response_s", quantile(0.50)),
            ("p95_response_s", quantile(0.95)),
            ("p99_response_s", quantile(0.99)),
            ("mean_wait_s", mean_or_zero(self.wait_sum)),
            ("throughput_per_s", self.completions_in_window as f64 / window),
            ("submitted", self.submitted as f64),
            ("completed", self.completed as f64),
            ("in_flight_at_end", in_flight as f64),
            ("balance_cv", cv),
            ("jain_index", jain),
            ("max_over_mean", max_over_mean),
            ("utilization_mean", mean_of(&cpu)),
        ];
        const OTHER: [(Resource, &str); 5] = [
            (Resource::Memory, "utilization_memory"),
            (Resource::Disk, "utilization_disk"),
            (Resource::Network, "utilization_net"),
            (Resource::Gpu, "utilization_gpu"),
            (Resource::Fpga, "utilization_fpga"),
        ];
        for (r, name) in OTHER {
            let u = utilization(r);
            if !u.is_empty() {
                metrics.push((name, mean_of(&u)));
            }
        }
        if self.fault_metrics {
            let measured: Vec<&(FaultKind, SimTime, bool, u32, u32)> =
                faults.iter().filter(|f| f.1 >= self.warmup).collect();
            let mean = |v: &[f64]| if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
            let p95 = |v: &[f64]| {
                if v.is_empty() {
                    return f64::NAN;
                }
                let mut sorted = v.to_vec();
                sorted.sort_by(f64::total_cmp);
                // Nearest rank.
                sorted[((0.95 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
            };
            let throughput_recovery = throughput_recovery_times(&self.series, &measured);
            metrics.extend([
                ("faults", measured.len() as f64),
                ("detections", self.detection_times.len() as f64),
                ("detection_time_s", mean(&self.detection_times)),
                ("detection_time_p95_s", p95(&self.detection_times)),
                ("false_suspicions", self.false_suspicions as f64),
                (
                    "mistake_duration_s",
                    if self.false_suspicions == 0 {
                        f64::NAN
                    } else {
                        self.mistake_total.as_secs_f64() / self.false_suspicions as f64
                    },
                ),
                ("recovery_time_s", mean(&self.recovery_times)),
                ("recovery_time_p95_s", p95(&self.recovery_times)),
                ("unrecovered_faults", measured.iter().filter(|f| f.3 > 0 && f.4 > 0).count() as f64),
                ("throughput_recovery_s", mean(&throughput_recovery)),
                ("lost_work_s", self.lost_work as f64 / 1e9),
                ("duplicate_executions", self.duplicate_executions as f64),
                ("migrations", self.migrations as f64),
                ("fenced_executions", self.fenced as f64),
                ("probes", self.probes as f64),
                ("probe_refutations", self.probe_refutations as f64),
                ("failed_tasks", self.failed_tasks as f64),
            ]);
        }
        metrics.push(("deferrals", self.deferrals as f64));
        metrics.push(("events", events as f64));
        let response_cdf = if self.completed == 0 {
            Vec::new()
        } else {
            RESPONSE_CDF_QUANTILES.iter().map(|&q| (q, secs(self.responses.value_at_quantile(q) as f64))).collect()
        };
        let tasks = self.task_log.map(|mut log| {
            log.sort_by_key(|r| r.id);
            log
        });
        RunOutput {
            metrics,
            series: self.series,
            node_utilization,
            tasks,
            events: self.event_log,
            decision_cost: self.decision_cost,
            batch_cost: self.batch_cost,
            decisions: self.decisions,
            node_samples: self.node_samples,
            execs: self.execs,
            alerts: self.monitor.map(|m| m.finish(end)).unwrap_or_default(),
            detection_times: self.detection_times,
            fault_times,
            response_cdf,
        }
    }
}

/// For each fault, how long until throughput was back within 10% of its level over the minute
/// before: the start of the first sample interval, at or after the fault, whose throughput is at
/// least 90% of the pre-fault mean (0 if throughput never dipped). Faults with less than a minute
/// of samples before them, or no sample after, are skipped.
fn throughput_recovery_times(series: &[SeriesPoint], faults: &[&(FaultKind, SimTime, bool, u32, u32)]) -> Vec<f64> {
    let mut out = Vec::new();
    if series.len() < 2 {
        return out;
    }
    let interval = (series[1].t - series[0].t).as_secs_f64();
    for f in faults {
        let at = f.1.as_secs_f64();
        let before: Vec<f64> = series
            .iter()
            .filter(|p| p.t.as_secs_f64() <= at && p.t.as_secs_f64() > at - 60.0)
            .map(|p| p.throughput_per_s)
            .collect();
        if before.is_empty() || (before.len() as f64) * interval < 60.0 - 1e-9 {
            continue;
        }
        let pre = before.iter().sum::<f64>() / before.len() as f64;
        let after = series.iter().filter(|p| p.t.as_secs_f64() > at);
        if let Some(p) = after.clone().find(|p| p.throughput_per_s >= 0.9 * pre) {
            out.push((p.t.as_secs_f64() - interval - at).max(0.0));
        } else if after.count() > 0 {
            continue; // never recovered within the run: not averaged in
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_statistics_of_known_sets() {
        let (cv, jain, mm) = balance_stats(&[0.5, 0.5, 0.5, 0.5]);
        assert_eq!((cv, jain, mm), (0.0, 1.0, 1.0));
        // One node does everything: cv = sqrt(n - 1), Jain = 1/n, max/mean = n.
        let (cv, jain, mm) = balance_stats(&[0.8, 0.0, 0.0, 0.0]);
        assert!((cv - 3f64.sqrt()).abs() < 1e-12);
        assert!((jain - 0.25).abs() < 1e-12);
        assert!((mm - 4.0).abs() < 1e-12);
        assert_eq!(balance_stats(&[0.0, 0.0]), (0.0, 1.0, 1.0));
    }

    #[test]
    fn response_cdf_holds_the_quantiles_of_the_responses() {
        let mut c = Collector::new(&[0], SimTime::ZERO, false, false, false);
        // Responses of 1, 2, ..., 100 seconds.
        for i in 1..=100u64 {
            c.on_arrival(SimTime::ZERO);
            c.on_completion(SimTime::ZERO, SimTime::ZERO, SimTime(i * 1_000_000_000));
        }
        let cap = Resources::default();
        let out = c.finish(std::iter::once(cap), &[0], SimTime(200_000_000_000), 0, 0, &[], vec![]);
        assert_eq!(out.response_cdf.len(), RESPONSE_CDF_QUANTILES.len());
        let at = |q: f64| out.response_cdf.iter().find(|p| p.0 == q).unwrap().1;
        assert!((at(0.0) - 1.0).abs() < 1e-3, "min {}", at(0.0));
        assert!((at(0.5) - 50.0).abs() < 0.1, "median {}", at(0.5));
        assert!((at(0.99) - 99.0).abs() < 0.1, "p99 {}", at(0.99));
        assert!((at(1.0) - 100.0).abs() < 0.1, "max {}", at(1.0));
        assert!(out.response_cdf.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        let empty = Collector::new(&[0], SimTime::ZERO, false, false, false);
        assert!(empty.finish(std::iter::once(cap), &[0], SimTime(1), 0, 0, &[], vec![]).response_cdf.is_empty());
    }
}
