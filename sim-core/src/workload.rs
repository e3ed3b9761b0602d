//! The workload: an arrival process and task classes, generated lazily (one pending arrival at a
//! time) from their own streams; or tasks from a [`TaskSource`] (a recorded trace) that the
//! `scenarios` crate plugs in.

use std::fmt;
use std::sync::Arc;

use rand::Rng;
use rand_distr::{Distribution, Exp1};

use crate::dist::{Dist, Sampler};
use crate::rng::{stream, Purpose, Stream};
use crate::time::{SimDuration, SimTime};
use fulcrum_strategies::Resources;

/// How tasks arrive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ArrivalProcess {
    /// Poisson arrivals at `rate` per second.
    Poisson {
        /// Arrivals per second.
        rate: f64,
    },
    /// One arrival every `1 / rate` seconds.
    Constant {
        /// Arrivals per second.
        rate: f64,
    },
    /// Two-state Markov-modulated Poisson process: Poisson at `rates[s]` while in state `s`,
    /// staying an exponential time of mean `mean_sojourn_s[s]` in each state; starts in state 0.
    Mmpp {
        /// Arrival rate in each state, per second.
        rates: [f64; 2],
        /// Mean time spent in each state, seconds.
        mean_sojourn_s: [f64; 2],
    },
    /// Poisson with rate `rate · (1 + amplitude · sin(2π (t + phase_s) / period_s))`.
    Diurnal {
        /// Mean arrivals per second.
        rate: f64,
        /// Relative amplitude in `[0, 1]`.
        amplitude: f64,
        /// Period, seconds.
        period_s: f64,
        /// Phase shift, seconds.
        phase_s: f64,
    },
}

impl ArrivalProcess {
    /// Long-run mean arrival rate per second.
    pub fn mean_rate(&self) -> f64 {
        match *self {
            ArrivalProcess::Poisson { rate }
            | ArrivalProcess::Constant { rate }
            | ArrivalProcess::Diurnal { rate, .. } => rate,
            ArrivalProcess::Mmpp { rates, mean_sojourn_s } => {
                let total = mean_sojourn_s[0] + mean_sojourn_s[1];
                (rates[0] * mean_sojourn_s[0] + rates[1] * mean_sojourn_s[1]) / total
            }
        }
    }
}

/// A kind of task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskClass {
    /// Name, for output.
    pub name: String,
    /// Fraction of arrivals in this class.
    pub share: f64,
    /// Work in seconds at speed 1.
    pub work: Dist,
    /// Resources held while running.
    pub demand: Resources,
    /// Priority (higher is more important).
    pub priority: i32,
}

/// Arrivals and task classes.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// The arrival process (unused when `source` is set).
    pub arrival: ArrivalProcess,
    /// Task classes; shares sum to 1. With a `source`, every class index it yields must be here,
    /// and a class's `work` is only what the scheduler is told of a task's size (its mean); the
    /// actual work comes from the source.
    pub classes: Vec<TaskClass>,
    /// Tasks from outside (a recorded trace) instead of the arrival process and the class draws.
    pub source: Option<SharedSource>,
}

/// A stream of tasks from outside the simulator, for one replication: a trace being replayed.
///
/// The contract, which the simulator relies on and does not check: arrival times never decrease,
/// every class index is one of the workload's classes, and the sequence depends only on the seed
/// and the replication (never on the strategy), so common random numbers hold. A source cannot
/// fail: one whose input breaks mid-run ends early and reports that through its factory.
pub trait TaskSource: Send {
    /// The next task, or `None` when the source is exhausted.
    fn next_task(&mut self) -> Option<NewTask>;
}

/// Opens a fresh [`TaskSource`] for each (replication, strategy) run.
pub trait SourceFactory: Send + Sync {
    /// The tasks of replication `replication` of a scenario seeded with `seed`; whatever the
    /// source draws at random comes from the streams of [`crate::rng`] for those two numbers.
    fn open(&self, seed: u64, replication: u32) -> Box<dyn TaskSource>;
    /// One line saying what the source replays, for reports.
    fn describe(&self) -> String;
    /// Mean arrival rate per second over the replayed window, for reports.
    fn mean_rate(&self) -> f64;
}

/// A shared [`SourceFactory`]: cheap to clone; two are equal when they are the same factory.
#[derive(Clone)]
pub struct SharedSource(pub Arc<dyn SourceFactory>);

impl fmt::Debug for SharedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedSource({:?})", self.0.describe())
    }
}

impl PartialEq for SharedSource {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Workload {
    /// Long-run mean arrival rate per second: the source's, or the arrival process's.
    pub fn mean_rate(&self) -> f64 {
        match &self.source {
            Some(s) => s.0.mean_rate(),
            None => self.arrival.mean_rate(),
        }
    }
}

/// Where a run's tasks come from: the synthetic generator, or a source. The source is an
/// `Option` beside the generator rather than an enum with it, so the synthetic path costs one
/// null-pointer test per arrival and is otherwise what it was before sources existed.
#[derive(Debug)]
pub(crate) struct Arrivals {
    /// Draws the tasks when there is no source (built either way; unused with a source).
    generator: Generator,
    source: Option<Box<Replay>>,
}

/// A [`TaskSource`] with its next task fetched ahead, so its time can be peeked.
pub(crate) struct Replay {
    source: Box<dyn TaskSource>,
    next: Option<NewTask>,
}

impl fmt::Debug for Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replay").field("next", &self.next).finish_non_exhaustive()
    }
}

impl Arrivals {
    /// The tasks of `workload` for replication `replication`.
    pub(crate) fn new(workload: &Workload, seed: u64, replication: u32) -> Arrivals {
        let source = workload.source.as_ref().map(|factory| {
            let mut source = factory.0.open(seed, replication);
            let next = source.next_task();
            Box::new(Replay { source, next })
        });
        Arrivals { generator: Generator::new(workload, seed, replication), source }
    }

    /// When the next task arrives ([`SimTime::MAX`] once a source is exhausted).
    #[inline]
    pub(crate) fn peek_time(&self) -> SimTime {
        match &self.source {
            None => self.generator.peek_time(),
            Some(r) => r.next.map_or(SimTime::MAX, |t| t.arrival),
        }
    }

    /// The next task; call only when [`Arrivals::peek_time`] is not `MAX`.
    #[inline]
    pub(crate) fn next_task(&mut self) -> NewTask {
        match &mut self.source {
            None => self.generator.next_task(),
            Some(r) => r.next_task(),
        }
    }
}

impl Replay {
    /// The fetched task, fetching the one after it. Out of line, so that the synthetic path
    /// inlined into the arrival handler stays as short as before sources existed.
    #[inline(never)]
    fn next_task(&mut self) -> NewTask {
        let task = self.next.take().expect("an arrival was scheduled, so the source had a task");
        // Arrivals never go back in time, even from a faulty source.
        self.next = self.source.next_task().map(|t| NewTask { arrival: t.arrival.max(task.arrival), ..t });
        task
    }
}

/// A task as generated, before it goes anywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewTask {
    /// Arrival time.
    pub arrival: SimTime,
    /// Class index.
    pub class: u32,
    /// Work at speed 1, nanoseconds.
    pub work: SimDuration,
}

/// Generates arrivals from a [`Workload`].
#[derive(Debug)]
pub struct Generator {
    arrival: ArrivalProcess,
    samplers: Vec<Sampler>,
    cumulative_shares: Vec<f64>,
    arrivals_rng: Stream,
    classes_rng: Stream,
    sizes_rng: Stream,
    /// Time of the next arrival, as produced by the process.
    next: SimTime,
    /// MMPP state and the time it ends.
    mmpp_state: usize,
    mmpp_switch: SimTime,
}

impl Generator {
    /// A generator for replication `replication` of a scenario seeded with `seed`.
    pub fn new(workload: &Workload, seed: u64, replication: u32) -> Generator {
        let mut cumulative_shares = Vec::with_capacity(workload.classes.len());
        let mut acc = 0.0;
        for c in &workload.classes {
            acc += c.share;
            cumulative_shares.push(acc);
        }
        let mut g = Generator {
            arrival: workload.arrival,
            samplers: workload.classes.iter().map(|c| c.work.sampler()).collect(),
            cumulative_shares,
            arrivals_rng: stream(seed, replication, Purpose::Arrivals),
            classes_rng: stream(seed, replication, Purpose::TaskClasses),
            sizes_rng: stream(seed, replication, Purpose::TaskSizes),
            next: SimTime::ZERO,
            mmpp_state: 0,
            mmpp_switch: SimTime::ZERO,
        };
        if let ArrivalProcess::Mmpp { mean_sojourn_s, .. } = g.arrival {
            g.mmpp_switch = SimTime::ZERO + g.exp_span(mean_sojourn_s[0]);
        }
        g.next = g.following(SimTime::ZERO);
        g
    }

    /// When the next task arrives.
    #[inline]
    pub fn peek_time(&self) -> SimTime {
        self.next
    }

    /// The next task; advances the generator. Classes and sizes are drawn here, in arrival order,
    /// so the task sequence does not depend on anything the simulation does with it.
    #[inline]
    pub fn next_task(&mut self) -> NewTask {
        let arrival = self.next;
        let class = if self.cumulative_shares.len() == 1 {
            0
        } else {
            let u: f64 = self.classes_rng.random();
            let last = self.cumulative_shares.len() - 1;
            self.cumulative_shares.iter().position(|&c| u < c).unwrap_or(last)
        };
        let work_s = self.samplers[class].sample(&mut self.sizes_rng);
        self.next = self.following(arrival);
        NewTask { arrival, class: class as u32, work: SimDuration::from_secs_f64(work_s) }
    }

    #[inline]
    fn exp_span(&mut self, mean_s: f64) -> SimDuration {
        let e: f64 = Exp1.sample(&mut self.arrivals_rng);
        SimDuration::from_secs_f64(mean_s * e)
    }

    /// The arrival after one at `t`.
    fn following(&mut self, t: SimTime) -> SimTime {
        match self.arrival {
            ArrivalProcess::Poisson { rate } => t + self.exp_span(1.0 / rate),
            ArrivalProcess::Constant { rate } => t + SimDuration::from_secs_f64(1.0 / rate),
            ArrivalProcess::Mmpp { rates, mean_sojourn_s } => {
                // Memoryless: a candidate past the state switch is discarded and redrawn from the
                // switch with the new state's rate.
                let mut from = t;
                loop {
                    let candidate = from + self.exp_span(1.0 / rates[self.mmpp_state]);
                    if candidate < self.mmpp_switch {
                        return candidate;
                    }
                    from = self.mmpp_switch;
                    self.mmpp_state ^= 1;
                    let sojourn = self.exp_span(mean_sojourn_s[self.mmpp_state]);
                    self.mmpp_switch = from + sojourn;
                }
            }
            ArrivalProcess::Diurnal { rate, amplitude, period_s, phase_s } => {
                // Thinning (Lewis and Shedler, 1979) against the peak rate.
                let peak = rate * (1.0 + amplitude);
                let mut at = t;
                loop {
                    at += self.exp_span(1.0 / peak);
                    let x = std::f64::consts::TAU * (at.as_secs_f64() + phase_s) / period_s;
                    let accept = rate * (1.0 + amplitude * x.sin()) / peak;
                    if self.arrivals_rng.random::<f64>() < accept {
                        return at;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(arrival: ArrivalProcess) -> Workload {
        Workload {
            arrival,
            source: None,
            classes: vec![
                TaskClass {
                    name: "a".into(),
                    share: 0.25,
                    work: Dist::Const { value: 1.0 },
                    demand: Resources::ZERO,
                    priority: 0,
                },
                TaskClass {
                    name: "b".into(),
                    share: 0.75,
                    work: Dist::Exp { mean: 2.0 },
                    demand: Resources::ZERO,
                    priority: 0,
                },
            ],
        }
    }

    fn count_until(arrival: ArrivalProcess, horizon_s: f64) -> (usize, [usize; 2]) {
        let mut g = Generator::new(&workload(arrival), 7, 0);
        let end = SimTime::from_secs_f64(horizon_s);
        let mut n = 0;
        let mut per_class = [0; 2];
        let mut last = SimTime::ZERO;
        while g.peek_time() < end {
            let t = g.next_task();
            assert!(t.arrival >= last);
            last = t.arrival;
            n += 1;
            per_class[t.class as usize] += 1;
        }
        (n, per_class)
    }

    #[test]
    fn arrival_processes_hit_their_mean_rates() {
        let horizon = 200_000.0;
        let processes = [
            ArrivalProcess::Poisson { rate: 2.0 },
            ArrivalProcess::Constant { rate: 2.0 },
            ArrivalProcess::Mmpp { rates: [1.0, 5.0], mean_sojourn_s: [30.0, 10.0] },
            ArrivalProcess::Diurnal { rate: 2.0, amplitude: 0.8, period_s: 1000.0, phase_s: 0.0 },
        ];
        for p in processes {
            let (n, per_class) = count_until(p, horizon);
            let expected = p.mean_rate() * horizon;
            // Poisson sd is sqrt(n) ~ 630; MMPP bursts inflate it (index of dispersion ~ 20 here).
            let tol = 6.0 * (expected * 25.0).sqrt();
            assert!((n as f64 - expected).abs() < tol, "{p:?}: {n} arrivals, expected {expected}");
            let share_a = per_class[0] as f64 / n as f64;
            assert!((share_a - 0.25).abs() < 0.005, "{p:?}: class share {share_a}");
        }
        assert_eq!(ArrivalProcess::Mmpp { rates: [1.0, 5.0], mean_sojourn_s: [30.0, 10.0] }.mean_rate(), 2.0);
    }

    #[test]
    fn diurnal_rate_follows_the_sine() {
        let p = ArrivalProcess::Diurnal { rate: 10.0, amplitude: 0.5, period_s: 100.0, phase_s: 0.0 };
        let mut g = Generator::new(&workload(p), 3, 0);
        // Count arrivals in the first and second half-periods over many periods.
        let (mut up, mut down) = (0u32, 0u32);
        while g.peek_time() < SimTime::from_secs_f64(100_000.0) {
            let t = g.next_task().arrival.as_secs_f64();
            if t % 100.0 < 50.0 {
                up += 1
            } else {
                down += 1
            }
        }
        // E[up]/E[down] = (1 + 2a/π) / (1 - 2a/π) with a = 0.5: 1.3183 / 0.6817 = 1.934.
        let ratio = f64::from(up) / f64::from(down);
        assert!((ratio - 1.934).abs() < 0.04, "ratio {ratio}");
    }

    #[test]
    fn same_seed_same_tasks() {
        let w = workload(ArrivalProcess::Poisson { rate: 3.0 });
        let mut a = Generator::new(&w, 11, 2);
        let mut b = Generator::new(&w, 11, 2);
        let mut c = Generator::new(&w, 11, 3);
        let xs: Vec<NewTask> = (0..100).map(|_| a.next_task()).collect();
        let ys: Vec<NewTask> = (0..100).map(|_| b.next_task()).collect();
        let zs: Vec<NewTask> = (0..100).map(|_| c.next_task()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }
}
