//! Invariants of the cluster model over random small worlds, checked after every event.
//!
//! Worlds: 1–6 nodes with random CPU and memory capacities and speeds, 1–3 task classes whose
//! demands fit at least one node (each class is sized as a fraction of an "anchor" node), any of
//! the four balancers, an oracle or a heartbeat view (with or without dispatch tracking, lossy,
//! with random delays), Poisson or constant arrivals at 0.2–1.5 times a rough capacity (idle
//! spells and queues alike), and runs of a few simulated seconds to a minute.
//!
//! The second property adds faults to those worlds — crashes with and without recovery, random
//! crashes, partitions, slowdowns, heartbeat-loss bursts and delay spikes, some as short as a few
//! milliseconds — and a random failure detector and failover policy, and checks the same
//! invariants plus what faults must not break: conservation, and that a task only ever runs twice
//! at once because of a partition or a false suspicion, every extra completion being counted.

use fulcrum_sim_core::cluster::Cluster;
use std::collections::{BTreeMap, BTreeSet};

use fulcrum_sim_core::config::{Dispatchers, HeartbeatConfig, NodeGroup, SimConfig, Split, ViewMode};
use fulcrum_sim_core::dist::Dist;
use fulcrum_sim_core::engine::Simulation;
use fulcrum_sim_core::faults::{FaultSpec, Lifetime, NodeSelection};
use fulcrum_sim_core::metrics::{EventRecord, RunOutput};
use fulcrum_sim_core::workload::{ArrivalProcess, TaskClass, Workload};
use fulcrum_sim_core::{build_simulation, run, run_replication, RunOptions, SimDuration, SimTime, Strategy as Combo};
use fulcrum_strategies::balance::BalancerConfig;
use fulcrum_strategies::detect::{DetectionOptions, DetectorConfig, ProbeConfig};
use fulcrum_strategies::failover::FailoverConfig;
use fulcrum_strategies::{NodeId, NodeSpec, Resources};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;

fn dist(kind: u8, mean: f64) -> Dist {
    match kind {
        0 => Dist::Const { value: mean },
        1 => Dist::Exp { mean },
        2 => Dist::Uniform { low: 0.5 * mean, high: 1.5 * mean },
        _ => Dist::LogNormal { mean, cv: 1.5 },
    }
}

fn node() -> impl Strategy<Value = NodeSpec> {
    (1u64..=8_000, 0u64..=16_000, 0.25f64..4.0)
        .prop_map(|(cpu, mem, speed)| NodeSpec { capacity: Resources([cpu, mem, 0, 0, 0, 0]), speed })
}

/// (anchor node, cpu fraction, memory fraction, share weight, work distribution, work mean, priority)
type ClassParams = (Index, f64, f64, f64, u8, f64, i32);

fn class() -> impl Strategy<Value = ClassParams> {
    (any::<Index>(), 0.01f64..=1.0, 0.0f64..=1.0, 0.1f64..1.0, 0u8..4, 0.01f64..2.0, -2i32..=2)
}

fn view() -> impl Strategy<Value = ViewMode> {
    prop_oneof![
        Just(ViewMode::Oracle),
        Just(ViewMode::Heartbeat { track_dispatches: true }),
        Just(ViewMode::Heartbeat { track_dispatches: false }),
    ]
}

fn balancer() -> impl Strategy<Value = BalancerConfig> {
    prop_oneof![
        Just(BalancerConfig::Random {}),
        Just(BalancerConfig::RoundRobin {}),
        Just(BalancerConfig::LeastConnections {}),
        (1u32..=4).prop_map(|d| BalancerConfig::PowerOfD { d }),
    ]
}

prop_compose! {
    fn world()(
        nodes in prop::collection::vec(node(), 1..=6),
        classes in prop::collection::vec(class(), 1..=3),
        (poisson, load) in (any::<bool>(), 0.2f64..1.5),
        (interval, jitter, loss, hb_delay_kind, hb_delay) in (0.05f64..2.0, 0.0f64..0.5, 0.0f64..0.3, 0u8..2, 0.0f64..0.2),
        (dispatch_kind, dispatch_delay) in (0u8..3, 0.0f64..0.05),
        view in view(),
        (n_dispatchers, round_robin_split) in (prop_oneof![3 => Just(1u32), 1 => 2u32..=4], any::<bool>()),
        (end, warmup_fraction, sample) in (5.0f64..60.0, prop_oneof![Just(0.0), 0.0f64..0.5], 0.2f64..5.0),
        seed in any::<u64>(),
    ) -> SimConfig {
        let total_share: f64 = classes.iter().map(|c| c.3).sum();
        let classes: Vec<TaskClass> = classes
            .iter()
            .enumerate()
            .map(|(i, &(anchor, cpu, mem, share, kind, mean, priority))| {
                let cap = nodes[anchor.index(nodes.len())].capacity;
                // At least one milli-core, so that every task holds some CPU while it runs.
                let cpu = ((cpu * cap.0[0] as f64) as u64).max(1);
                let mem = (mem * cap.0[1] as f64) as u64;
                TaskClass {
                    name: format!("c{i}"),
                    share: share / total_share,
                    work: dist(kind, mean),
                    demand: Resources([cpu, mem, 0, 0, 0, 0]),
                    priority,
                }
            })
            .collect();
        // Arrival rate: `load` times a rough service capacity (share-weighted mean demand and work),
        // so that worlds range from mostly idle to overloaded; bounded to keep runs short.
        let mean = |f: &dyn Fn(&TaskClass) -> f64| classes.iter().map(|c: &TaskClass| c.share * f(c)).sum::<f64>();
        let cpu_demand = mean(&|c| c.demand.0[0] as f64);
        let work = mean(&|c| c.work.mean());
        let slots: f64 = nodes.iter().map(|n| n.speed * (n.capacity.0[0] as f64 / cpu_demand).floor().max(1.0)).sum();
        let rate = (load * slots / work).clamp(0.1, 100.0);
        let n = nodes.len() as u32;
        SimConfig {
            nodes,
            groups: vec![NodeGroup { name: "all".into(), first: 0, count: n, racks: 1 }],
            workload: Workload {
                arrival: if poisson { ArrivalProcess::Poisson { rate } } else { ArrivalProcess::Constant { rate } },
                source: None,
                classes,
            },
            heartbeat: HeartbeatConfig {
                interval: SimDuration::from_secs_f64(interval),
                jitter,
                loss,
                delay: dist(hb_delay_kind, hb_delay),
            },
            dispatch_delay: dist(dispatch_kind, dispatch_delay),
            view,
            dispatchers: Dispatchers {
                count: n_dispatchers,
                split: if round_robin_split { Split::RoundRobin } else { Split::Random },
            },
            end: SimTime::from_secs_f64(end),
            warmup: SimTime::from_secs_f64(end * warmup_fraction),
            sample_interval: SimDuration::from_secs_f64(sample),
            seed,
            faults: vec![],
            alerts: vec![],
        }
    }
}

/// Checks the state of every node between two events. With `faults`, two checks no longer hold
/// and are skipped: the oracle view of a suspected node is emptied while a partitioned node keeps
/// running, and a duplicate execution occupies a node beside (or after) its task's other one.
fn check_nodes(sim: &Simulation<Cluster>, config: &SimConfig, faults: bool) -> Result<(), TestCaseError> {
    let cluster = sim.model();
    let view = cluster.view();
    let single_class = match config.workload.classes.as_slice() {
        [only] => Some(only.demand),
        _ => None,
    };
    let mut on_nodes = 0usize;
    for (i, spec) in config.nodes.iter().enumerate() {
        let id = NodeId(i as u32);
        let (used, running, queued) = cluster.node_usage(id);
        let at = sim.now();
        prop_assert!(used.fits_in(&spec.capacity), "node {i} over capacity at {at}: {used:?} > {:?}", spec.capacity);
        // Every demand holds some CPU, so a node uses resources exactly when it runs something.
        prop_assert_eq!(running == 0, used.is_zero(), "node {} at {}: {} running, {:?} used", i, at, running, used);
        // Work conservation: a queued task's demand fits the node, so an idle node starts it.
        prop_assert!(queued == 0 || running > 0, "node {i} idle with {queued} queued at {at}");
        if let (Some(demand), true) = (single_class, queued > 0) {
            prop_assert!(!used.plus(&demand).fits_in(&spec.capacity), "node {i}: the head of its queue fits at {at}");
        }
        if !cluster.node_is_up(id) {
            prop_assert_eq!((running, queued), (0, 0), "crashed node {} at {}", i, at);
        }
        if config.view == ViewMode::Oracle && !faults {
            let load = view.load(id);
            prop_assert_eq!((load.running, load.queued), (running, queued), "oracle view of node {} at {}", i, at);
            prop_assert!(cluster.reported_at(id).is_some());
        }
        on_nodes += (running + queued) as usize;
    }
    // The rest of the tasks in the system are on their way to a node.
    prop_assert!(faults || cluster.in_system() >= on_nodes);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        // Integration tests have no lib.rs beside them: keep regressions in tests/regressions/.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn capacity_time_and_conservation(config in world(), balancer in balancer(), replication in 0u32..4) {
        let label = balancer.kind();
        let mut sim = build_simulation(&config, &Combo::balancer(label, balancer.clone()), replication, &RunOptions::default());
        let mut last = sim.now();
        check_nodes(&sim, &config, false)?;
        while sim.scheduler().next_time().is_some_and(|t| t <= config.end) {
            prop_assert!(sim.step());
            prop_assert!(sim.now() >= last, "time went backwards: {} after {}", sim.now(), last);
            prop_assert!(sim.now() <= config.end);
            if let Some(next) = sim.scheduler().next_time() {
                prop_assert!(next >= sim.now(), "event pending at {} before now {}", next, sim.now());
            }
            last = sim.now();
            check_nodes(&sim, &config, false)?;
        }
        sim.run_until(config.end);
        prop_assert_eq!(sim.now(), config.end);
        let in_system = sim.model().in_system();
        let events = sim.scheduler().processed();
        let out = sim.into_model().finish(events);

        let m = |k: &str| out.metric(k).unwrap();
        prop_assert_eq!(m("submitted"), m("completed") + m("in_flight_at_end"));
        prop_assert!(m("in_flight_at_end") <= in_system as f64);
        if config.warmup == SimTime::ZERO {
            // Every task is counted, so the ones not completed are exactly those left in the system.
            prop_assert_eq!(m("in_flight_at_end"), in_system as f64);
        }
        for (name, v) in &out.metrics {
            prop_assert!(v.is_finite() && *v >= 0.0, "{} = {}", name, v);
        }
        for name in ["utilization_mean", "utilization_memory"] {
            if let Some(u) = out.metric(name) {
                prop_assert!(u <= 1.0 + 1e-9, "{} = {}", name, u);
            }
        }
        prop_assert_eq!(out.node_utilization.len(), config.nodes.len());
        for (i, u) in out.node_utilization.iter().enumerate() {
            prop_assert!(u.iter().all(|&x| (0.0..=1.0 + 1e-9).contains(&x)), "node {}: {:?}", i, u);
        }
        // Stepping one event at a time and running to the end in one go are the same run.
        prop_assert_eq!(out, run_replication(&config, &balancer, label, replication, false));
    }
}

/// (kind, node, all nodes, start as a fraction of the run, length as a fraction, magnitude in [0, 1])
type FaultParams = (u8, Index, bool, f64, f64, f64);

fn fault() -> impl Strategy<Value = FaultParams> {
    (
        0u8..8,
        any::<Index>(),
        prop::bool::weighted(0.2),
        0.0f64..1.0,
        prop_oneof![0.0002f64..0.02, 0.02f64..0.5],
        0.0f64..1.0,
    )
}

fn make_fault((kind, node, all, start, length, x): FaultParams, n_nodes: usize, end_s: f64) -> FaultSpec {
    let nodes = if all { NodeSelection::All } else { NodeSelection::Ids(vec![node.index(n_nodes) as u32]) };
    let at = SimTime::from_secs_f64(start * end_s);
    let duration = SimDuration::from_secs_f64(length * end_s);
    match kind {
        0 | 1 => FaultSpec::Crash { nodes, at, recover_after: Some(duration) },
        2 => FaultSpec::Crash { nodes, at, recover_after: None },
        3 => FaultSpec::Partition { nodes, at, duration },
        4 => FaultSpec::Slowdown { nodes, at, duration, factor: 0.05 + 0.95 * x },
        5 => FaultSpec::HeartbeatLoss { at, duration, loss: 0.3 + 0.7 * x },
        6 => FaultSpec::DelaySpike { at, duration, extra_s: 0.5 * x },
        _ => FaultSpec::RandomCrashes {
            nodes,
            mtbf: Lifetime::Exp { mean_s: end_s * (0.05 + 0.5 * x) },
            mttr: Lifetime::Exp { mean_s: length * end_s },
            per_rack: false,
        },
    }
}

/// (kind, a, b, k, rejoin_after): a and b in [0, 1] scale the detector's parameters.
type DetectorParams = (u8, f64, f64, u32, u32);

fn make_detector((kind, a, b, k, rejoin_after): DetectorParams, interval_s: f64) -> DetectorConfig {
    match kind {
        0 => DetectorConfig::Timeout { timeout_s: interval_s * (0.5 + 4.5 * a), rejoin_after },
        1 => DetectorConfig::MissedHeartbeats { k, rejoin_after },
        2 => DetectorConfig::PhiAccrual {
            threshold: 0.5 + 11.5 * a,
            max_sample_size: 1 + (200.0 * b) as u32,
            min_std_s: 0.1 * interval_s,
            acceptable_pause_s: 2.0 * interval_s * b,
            first_heartbeat_estimate_s: None,
            rejoin_after,
        },
        3 => DetectorConfig::Chen { window: 1 + (50.0 * b) as u32, alpha_s: 2.0 * interval_s * a, rejoin_after },
        _ => DetectorConfig::Combined {
            k: 1 + k % 2,
            of: vec![
                DetectorConfig::Timeout { timeout_s: interval_s * (0.5 + 4.5 * a), rejoin_after },
                DetectorConfig::Chen { window: 1 + (50.0 * b) as u32, alpha_s: 2.0 * interval_s * a, rejoin_after },
            ],
            rejoin_after,
        },
    }
}

fn failover() -> impl Strategy<Value = FailoverConfig> {
    prop_oneof![
        any::<bool>().prop_map(|fencing| FailoverConfig::Reschedule { fencing }),
        (1u32..=4, 0.0f64..2.0, any::<bool>()).prop_map(|(max_attempts, backoff_s, fencing)| FailoverConfig::Retry {
            max_attempts,
            backoff_s,
            fencing
        }),
        (0.05f64..2.0, 0.0f64..0.2, any::<bool>())
            .prop_map(|(interval_s, cost_s, fencing)| FailoverConfig::Checkpoint { interval_s, cost_s, fencing }),
        (0.5f64..50.0, 1u32..5, any::<bool>())
            .prop_map(|(rate_per_s, batch, fencing)| FailoverConfig::PriorityMigration { rate_per_s, batch, fencing }),
    ]
}

prop_compose! {
    fn faulty_world()(
        config in world(),
        faults in prop::collection::vec(fault(), 1..=6),
        detector in (0u8..5, 0.0f64..1.0, 0.0f64..1.0, 1u32..=5, 1u32..=4),
        failover in failover(),
        balancer in balancer(),
        (probe, probe_timeout, retries, passive) in (any::<bool>(), 0.001f64..2.0, 0u32..3, any::<bool>()),
    ) -> (SimConfig, Combo) {
        let mut config = config;
        let end_s = config.end.as_secs_f64();
        config.faults = faults.into_iter().map(|f| make_fault(f, config.nodes.len(), end_s)).collect();
        let detector = make_detector(detector, config.heartbeat.interval.as_secs_f64());
        let label = format!("{}+{}+{}", balancer.kind(), detector.kind(), failover.kind());
        let detection = DetectionOptions {
            probe: probe.then_some(ProbeConfig { timeout_s: probe_timeout, retries }),
            passive,
        };
        (config, Combo { label, balancer, detector: Some(detector), detection, failover })
    }
}

/// What the event log implies about faults, replayed with the simulator's rules: a crash (of an
/// up node) or a partition (of an up, reachable node) opens a fault, unless the dispatcher already
/// distrusts the node; a heal before detection closes it undetected; a suspicion detects the open
/// fault, and is a mistake if there is none and the node is up and reachable.
struct Replay {
    faults: f64,
    detections: f64,
    false_suspicions: f64,
    /// Per node: the first partition or false suspicion, the two ways a healthy node's tasks can
    /// be started elsewhere while it keeps running them.
    troubled_since: Vec<Option<SimTime>>,
}

fn replay(events: &[EventRecord], n_nodes: usize, oracle: bool, warmup: SimTime) -> Replay {
    #[derive(Clone, Copy, Default)]
    struct State {
        down: u32,
        partitioned: u32,
        suspected: bool,
        open_fault: Option<SimTime>,
    }
    let mut nodes = vec![State::default(); n_nodes];
    let mut r = Replay { faults: 0.0, detections: 0.0, false_suspicions: 0.0, troubled_since: vec![None; n_nodes] };
    for e in events {
        let Some(n) = e.node.map(|n| n as usize) else { continue };
        let x = &mut nodes[n];
        let opens = match e.kind {
            "crash" => {
                x.down += 1;
                x.down == 1
            }
            "recover" => {
                x.down = x.down.saturating_sub(1);
                false
            }
            "partition" => {
                x.partitioned += 1;
                r.troubled_since[n].get_or_insert(e.t);
                x.partitioned == 1 && x.down == 0
            }
            "heal" => {
                x.partitioned = x.partitioned.saturating_sub(1);
                if x.partitioned == 0 && x.down == 0 {
                    x.open_fault = None;
                }
                false
            }
            "suspect" => {
                if let Some(at) = x.open_fault.take() {
                    r.detections += f64::from(u8::from(at >= warmup));
                } else if x.down == 0 && x.partitioned == 0 {
                    r.false_suspicions += 1.0;
                    r.troubled_since[n].get_or_insert(e.t);
                }
                x.suspected = true;
                false
            }
            "readmit" => {
                x.suspected = false;
                false
            }
            _ => false,
        };
        if opens {
            r.faults += f64::from(u8::from(e.t >= warmup));
            // Only a heartbeat dispatcher can already distrust the node (the oracle never errs).
            x.open_fault = if x.suspected && !oracle { None } else { Some(e.t) };
        }
    }
    r
}

/// Metrics as (name, bits), so that NaN (no detection, no mistake) compares equal to itself.
fn metric_bits(out: &RunOutput) -> Vec<(&'static str, u64)> {
    out.metrics.iter().map(|&(k, v)| (k, v.to_bits())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn faults_keep_capacity_conservation_and_explain_every_duplicate(
        (config, combo) in faulty_world(),
        replication in 0u32..4,
    ) {
        let options = RunOptions { event_log: true, ..RunOptions::default() };
        let mut sim = build_simulation(&config, &combo, replication, &options);
        let n = config.nodes.len();
        let mut last = sim.now();
        check_nodes(&sim, &config, true)?;
        // Executions running after the previous step, by (node, slot) → task id.
        let mut running: BTreeMap<(u32, u32), u64> = BTreeMap::new();
        let mut completions: BTreeMap<u64, u32> = BTreeMap::new();
        // Executions seen to stop, by (node, task, when): a fence at that instant may explain them.
        let mut running_fenced: BTreeMap<(u32, u64, SimTime), u32> = BTreeMap::new();
        let mut total_completions = 0u64;
        // Each task seen running more than once at a time: when first, and on which nodes.
        let mut doubled: Vec<(SimTime, u64, Vec<u32>)> = Vec::new();
        let mut doubled_tasks = BTreeSet::new();
        while sim.scheduler().next_time().is_some_and(|t| t <= config.end) {
            prop_assert!(sim.step());
            let now = sim.now();
            prop_assert!(now >= last, "time went backwards: {} after {}", now, last);
            prop_assert!(now <= config.end);
            last = now;
            check_nodes(&sim, &config, true)?;
            let cluster = sim.model();
            let mut current = BTreeMap::new();
            let mut nodes_of: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
            for i in 0..n as u32 {
                for (slot, task) in cluster.running_executions(NodeId(i)) {
                    current.insert((i, slot), task);
                    nodes_of.entry(task).or_default().push(i);
                }
            }
            // An execution that stopped running on a node that is still up completed (a crash
            // takes the node down in the same step).
            for (&(node, slot), &task) in &running {
                if current.get(&(node, slot)) != Some(&task) && cluster.node_is_up(NodeId(node)) {
                    *completions.entry(task).or_default() += 1;
                    total_completions += 1;
                    // Remembered in case a fence at this instant explains it instead.
                    *running_fenced.entry((node, task, now)).or_default() += 1;
                }
            }
            for (task, nodes) in nodes_of {
                if nodes.len() > 1 && doubled_tasks.insert(task) {
                    doubled.push((now, task, nodes));
                }
            }
            running = current;
        }
        sim.run_until(config.end);
        let processed = sim.scheduler().processed();
        // Panics if conservation fails.
        let out = sim.into_model().finish(processed);
        let m = |k: &str| out.metric(k).unwrap();
        prop_assert_eq!(m("submitted"), m("completed") + m("failed_tasks") + m("in_flight_at_end"));

        // Fencing also stops running executions on a node that is up: those were killed, not
        // completed (the event log names each). A fence may kill several stale copies of a task
        // on one node at once, one running and the others queued: each stop seen explains one
        // fence at most.
        for e in out.events.as_deref().unwrap().iter().filter(|e| e.kind == "fence") {
            let task = e.task.expect("a fence names its task");
            if let Some(stopped) = running_fenced.get_mut(&(e.node.unwrap(), task, e.t)).filter(|c| **c > 0) {
                *stopped -= 1;
                *completions.get_mut(&task).unwrap() -= 1;
                total_completions -= 1;
            }
        }
        let excess: u64 = completions.values().map(|&c| u64::from(c.saturating_sub(1))).sum();
        let duplicates = m("duplicate_executions");
        prop_assert!(duplicates >= excess as f64, "{} duplicates < {} excess completions", duplicates, excess);
        if config.warmup == SimTime::ZERO {
            // Every completion either completes its task or is counted as a duplicate.
            prop_assert_eq!(total_completions as f64, m("completed") + m("duplicate_executions"));
        }

        let events = out.events.as_deref().unwrap();
        let r = replay(events, n, config.view == ViewMode::Oracle, config.warmup);
        prop_assert_eq!(r.faults, m("faults"));
        prop_assert_eq!(r.detections, m("detections"));
        prop_assert_eq!(r.false_suspicions, m("false_suspicions"));
        for (t, task, nodes) in &doubled {
            let explained = nodes.iter().any(|&node| r.troubled_since[node as usize].is_some_and(|since| since <= *t));
            prop_assert!(
                explained,
                "task {} ran on nodes {:?} at once at {} with no partition or false suspicion before",
                task, nodes, t
            );
        }
        // Stepping and running to the end in one go are the same run.
        let whole = run(&config, &combo, replication, &options);
        prop_assert_eq!(metric_bits(&out), metric_bits(&whole));
        prop_assert_eq!(&out.events, &whole.events);
    }
}
