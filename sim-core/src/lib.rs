//! Fulcrum's simulation core: a deterministic discrete-event engine and the cluster world it runs.
//!
//! # Concepts
//! - **Time** is integer nanoseconds ([`SimTime`], [`SimDuration`]); nothing reads a wall clock.
//! - **The engine** ([`engine`]) is a virtual clock, a pending-event set ([`queue::RadixHeap`]) and
//!   a [`engine::Model`] with a closed `enum` of events. Events at the same instant run in the
//!   order they were scheduled. [`engine::Simulation`] can be stepped (`step`, `steps`,
//!   `run_until`) with the model inspected in between.
//! - **Randomness** comes only from named streams ([`rng`]) derived from the scenario seed, the
//!   replication and the purpose, so every strategy of a replication sees the same tasks and the
//!   same heartbeat timings (common random numbers).
//! - **The world** ([`cluster`]) is nodes with multi-dimensional capacity and a speed, a central
//!   dispatcher that sees them through delayed, jittery, lossy heartbeats (or as an oracle), a
//!   workload ([`workload`]) and metric probes ([`metrics`]).
//! - **Configuration** ([`config::SimConfig`]) arrives validated from the `scenarios` crate, so a
//!   run cannot fail: this crate has no error type on purpose.
//!
//! # Example
//! ```
//! use fulcrum_sim_core::config::{HeartbeatConfig, NodeGroup, SimConfig, ViewMode};
//! use fulcrum_sim_core::dist::Dist;
//! use fulcrum_sim_core::workload::{ArrivalProcess, TaskClass, Workload};
//! use fulcrum_sim_core::{run_replication, SimDuration, SimTime};
//! use fulcrum_strategies::balance::BalancerConfig;
//! use fulcrum_strategies::{NodeSpec, Resources};
//!
//! let one_core = Resources([1000, 0, 0, 0, 0, 0]);
//! let config = SimConfig {
//!     nodes: vec![NodeSpec { capacity: one_core, speed: 1.0 }; 4],
//!     groups: vec![NodeGroup { name: "n".into(), first: 0, count: 4, racks: 1 }],
//!     workload: Workload {
//!         arrival: ArrivalProcess::Poisson { rate: 2.0 },
//!         source: None,
//!         classes: vec![TaskClass {
//!             name: "t".into(), share: 1.0, work: Dist::Exp { mean: 1.0 }, demand: one_core, priority: 0,
//!         }],
//!     },
//!     heartbeat: HeartbeatConfig {
//!         interval: SimDuration::from_secs_f64(1.0), jitter: 0.1, loss: 0.0,
//!         delay: Dist::Const { value: 0.001 },
//!     },
//!     dispatch_delay: Dist::Const { value: 0.001 },
//!     view: ViewMode::Heartbeat { track_dispatches: true },
//!     dispatchers: Default::default(),
//!     end: SimTime::from_secs_f64(1000.0),
//!     warmup: SimTime::from_secs_f64(100.0),
//!     sample_interval: SimDuration::from_secs_f64(100.0),
//!     seed: 1,
//!     faults: vec![],
//!     alerts: vec![],
//! };
//! let out = run_replication(&config, &BalancerConfig::PowerOfD { d: 2 }, "p2c", 0, false);
//! assert!(out.metric("completed").unwrap() > 1500.0);
//! ```
#![deny(missing_docs)]

pub mod alerts;
mod amounts;
pub mod cluster;
pub mod config;
pub mod dist;
pub mod engine;
pub mod faults;
pub mod metrics;
pub mod queue;
pub mod rng;
mod time;
pub mod workload;

pub use time::{SimDuration, SimTime};

use cluster::Cluster;
use config::SimConfig;
use engine::{Scheduler, Simulation};
use fulcrum_strategies::balance::BalancerConfig;
use fulcrum_strategies::detect::{DetectionOptions, DetectorConfig};
use fulcrum_strategies::failover::FailoverConfig;
use metrics::RunOutput;

/// One combination of strategies to run: a balancer, optionally a failure detector, and a
/// failover policy, under a label that keys their random stream and names the results.
#[derive(Clone, Debug, PartialEq)]
pub struct Strategy {
    /// Result label, e.g. `p2c+timeout+reschedule`.
    pub label: String,
    /// The balancer.
    pub balancer: BalancerConfig,
    /// The failure detector; `None` runs without failure detection (no faults to detect).
    pub detector: Option<DetectorConfig>,
    /// Probing and passive detection around the detector.
    pub detection: DetectionOptions,
    /// The failover policy.
    pub failover: FailoverConfig,
}

impl Strategy {
    /// A balancer alone: no failure detection, `reschedule` failover.
    pub fn balancer(label: &str, balancer: BalancerConfig) -> Strategy {
        Strategy {
            label: label.to_string(),
            balancer,
            detector: None,
            detection: DetectionOptions::default(),
            failover: FailoverConfig::default(),
        }
    }
}

/// What a run records beyond its metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Keep one record per task.
    pub task_log: bool,
    /// Keep the log of faults, suspicions, re-admissions and migrations.
    pub event_log: bool,
    /// Measure the wall-clock time each balancer decision takes (into
    /// [`RunOutput::decision_cost`](metrics::RunOutput::decision_cost), apart from the results,
    /// which stay deterministic).
    pub decision_cost: bool,
    /// Record the first this-many balancer decisions of each run with the balancer's
    /// explanation (into [`RunOutput::decisions`](metrics::RunOutput::decisions)). Recording
    /// changes no result.
    pub decision_log: Option<u32>,
    /// Keep each node's CPU utilisation, queue length and running tasks at every time-series
    /// sample (into [`RunOutput::node_samples`](metrics::RunOutput::node_samples)), for the
    /// utilisation heatmap and the timeline.
    pub node_samples: bool,
    /// Keep the first this-many executions to end (into
    /// [`RunOutput::execs`](metrics::RunOutput::execs)), for the timeline.
    pub exec_log: Option<u32>,
}

/// A cluster simulation ready to step: the model and its schedule.
pub fn build_simulation(
    config: &SimConfig,
    strategy: &Strategy,
    replication: u32,
    options: &RunOptions,
) -> Simulation<Cluster> {
    let mut scheduler = Scheduler::new();
    let cluster = Cluster::new(config, strategy, replication, options, &mut scheduler);
    Simulation::with_scheduler(cluster, scheduler)
}

/// Runs replication `replication` of `config` with `strategy` to the end and returns what it
/// measured.
pub fn run(config: &SimConfig, strategy: &Strategy, replication: u32, options: &RunOptions) -> RunOutput {
    let mut sim = build_simulation(config, strategy, replication, options);
    sim.run_until(config.end);
    let events = sim.scheduler().processed();
    sim.into_model().finish(events)
}

/// How far a run has got, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Simulated time reached.
    pub now: SimTime,
    /// End of the run.
    pub end: SimTime,
    /// Events handled so far.
    pub events: u64,
}

/// Steps of simulated time between two progress reports of [`run_with_progress`].
pub const PROGRESS_STEPS: u64 = 100;

/// [`run`], reporting progress [`PROGRESS_STEPS`] times, at equal steps of simulated time. The
/// results are those of `run`: the run stops at the steps only to report.
pub fn run_with_progress(
    config: &SimConfig,
    strategy: &Strategy,
    replication: u32,
    options: &RunOptions,
    report: &mut dyn FnMut(Progress),
) -> RunOutput {
    let mut sim = build_simulation(config, strategy, replication, options);
    let end = config.end;
    for k in 1..=PROGRESS_STEPS {
        let until = SimTime((u128::from(end.0) * u128::from(k) / u128::from(PROGRESS_STEPS)) as u64);
        sim.run_until(until);
        report(Progress { now: until, end, events: sim.scheduler().processed() });
    }
    let events = sim.scheduler().processed();
    sim.into_model().finish(events)
}

/// Runs replication `replication` of `config` with one balancer (no failure detection) and
/// returns what it measured. `label` keys the balancer's own random stream.
pub fn run_replication(
    config: &SimConfig,
    balancer: &BalancerConfig,
    label: &str,
    replication: u32,
    task_log: bool,
) -> RunOutput {
    let strategy = Strategy::balancer(label, balancer.clone());
    run(config, &strategy, replication, &RunOptions { task_log, ..RunOptions::default() })
}
