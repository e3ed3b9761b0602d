//! Tasks from a [`TaskSource`] (what trace replay plugs in): the run sees exactly the source's
//! tasks, in order, with their classes and sizes; every strategy sees the same ones; an exhausted
//! source ends the arrivals; a source that goes back in time is held at the last arrival.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use fulcrum_sim_core::config::{HeartbeatConfig, NodeGroup, SimConfig, ViewMode};
use fulcrum_sim_core::dist::Dist;
use fulcrum_sim_core::metrics::TaskRecord;
use fulcrum_sim_core::workload::{
    ArrivalProcess, NewTask, SharedSource, SourceFactory, TaskClass, TaskSource, Workload,
};
use fulcrum_sim_core::{run_replication, SimDuration, SimTime};
use fulcrum_strategies::balance::BalancerConfig;
use fulcrum_strategies::{NodeSpec, Resources};

/// Yields `tasks` (already made for each replication by the factory).
struct ListSource(std::vec::IntoIter<NewTask>);

impl TaskSource for ListSource {
    fn next_task(&mut self) -> Option<NewTask> {
        self.0.next()
    }
}

/// Task `i` of replication `r` arrives at `i * 0.5 s (+ r ms)`, class `i % 2`, work `(i % 3 + 1)` s.
/// With `backwards`, task 3 claims to arrive before task 2.
struct Factory {
    n: u64,
    backwards: bool,
    opened: AtomicU32,
}

impl SourceFactory for Factory {
    fn open(&self, _seed: u64, replication: u32) -> Box<dyn TaskSource> {
        self.opened.fetch_add(1, Ordering::Relaxed);
        let tasks: Vec<NewTask> = (0..self.n)
            .map(|i| {
                let mut at_ms = i * 500 + u64::from(replication);
                if self.backwards && i == 3 {
                    at_ms = 100;
                }
                NewTask {
                    arrival: SimTime(at_ms * 1_000_000),
                    class: (i % 2) as u32,
                    work: SimDuration::from_secs_f64((i % 3 + 1) as f64),
                }
            })
            .collect();
        Box::new(ListSource(tasks.into_iter()))
    }

    fn describe(&self) -> String {
        format!("{} listed tasks", self.n)
    }

    fn mean_rate(&self) -> f64 {
        2.0
    }
}

fn config(factory: Arc<Factory>) -> SimConfig {
    let core = |n: u64| Resources([1000 * n, 0, 0, 0, 0, 0]);
    let class = |name: &str, cores: u64, priority: i32| TaskClass {
        name: name.into(),
        share: 0.5,
        work: Dist::Const { value: 2.0 },
        demand: core(cores),
        priority,
    };
    SimConfig {
        nodes: vec![NodeSpec { capacity: core(4), speed: 1.0 }; 3],
        groups: vec![NodeGroup { name: "n".into(), first: 0, count: 3, racks: 1 }],
        workload: Workload {
            // Ignored: the source decides.
            arrival: ArrivalProcess::Poisson { rate: 1000.0 },
            classes: vec![class("small", 1, 0), class("big", 3, 5)],
            source: Some(SharedSource(factory)),
        },
        heartbeat: HeartbeatConfig {
            interval: SimDuration::from_secs_f64(1.0),
            jitter: 0.1,
            loss: 0.0,
            delay: Dist::Const { value: 0.001 },
        },
        dispatch_delay: Dist::Const { value: 0.001 },
        view: ViewMode::Heartbeat { track_dispatches: true },
        dispatchers: Default::default(),
        end: SimTime::from_secs_f64(1000.0),
        warmup: SimTime::ZERO,
        sample_interval: SimDuration::from_secs_f64(10.0),
        seed: 7,
        faults: vec![],
        alerts: vec![],
    }
}

fn tasks(config: &SimConfig, balancer: &BalancerConfig, replication: u32) -> Vec<TaskRecord> {
    let out = run_replication(config, balancer, balancer.kind(), replication, true);
    assert_eq!(out.metric("submitted"), Some(out.tasks.as_ref().unwrap().len() as f64));
    out.tasks.unwrap()
}

#[test]
fn runs_see_exactly_the_source_tasks() {
    let factory = Arc::new(Factory { n: 200, backwards: false, opened: AtomicU32::new(0) });
    let config = config(factory.clone());
    let log = tasks(&config, &BalancerConfig::LeastConnections {}, 1);
    assert_eq!(log.len(), 200, "every task arrives, and nothing else");
    for (i, t) in log.iter().enumerate() {
        let i = i as u64;
        assert_eq!(t.arrival, SimTime((i * 500 + 1) * 1_000_000), "task {i}");
        assert_eq!(t.class, (i % 2) as u32);
        assert_eq!(t.work, SimDuration::from_secs_f64((i % 3 + 1) as f64));
        assert!(t.end.is_some(), "task {i} did not complete in 1000 s");
    }
    // Another strategy sees the same tasks (common random numbers); the factory opens once a run.
    let other = tasks(&config, &BalancerConfig::Random {}, 1);
    let key = |t: &TaskRecord| (t.id, t.class, t.arrival, t.work);
    assert!(log.iter().map(key).eq(other.iter().map(key)));
    assert_eq!(factory.opened.load(Ordering::Relaxed), 2);
    // The workload's rate is the source's.
    assert_eq!(config.workload.mean_rate(), 2.0);
}

#[test]
fn an_exhausted_source_ends_arrivals_and_a_backward_time_is_held() {
    let factory = Arc::new(Factory { n: 5, backwards: true, opened: AtomicU32::new(0) });
    let log = tasks(&config(factory), &BalancerConfig::RoundRobin {}, 0);
    let arrivals: Vec<u64> = log.iter().map(|t| t.arrival.0 / 1_000_000).collect();
    // Task 3 said 100 ms, after task 2 at 1000 ms: it arrives at 1000 ms.
    assert_eq!(arrivals, [0, 500, 1000, 1000, 2000]);
}
