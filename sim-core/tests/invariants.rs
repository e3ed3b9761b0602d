//! Invariants of the cluster model over random small worlds, checked after every event.
//!
//! Worlds: 1–6 nodes with random CPU and memory capacities and speeds, 1–3 task classes whose
//! demands fit at least one node (each class is sized as a fraction of an "anchor" node), any of
//! the four balancers, an oracle or a heartbeat view (with or without dispatch tracking, lossy,
//! with random delays), Poisson or constant arrivals at 0.2–1.5 times a rough capacity (idle
//! spells and queues alike), and runs of a few simulated seconds to a minute.

use fulcrum_sim_core::cluster::Cluster;
use fulcrum_sim_core::config::{HeartbeatConfig, NodeGroup, SimConfig, ViewMode};
use fulcrum_sim_core::dist::Dist;
use fulcrum_sim_core::engine::Simulation;
use fulcrum_sim_core::workload::{ArrivalProcess, TaskClass, Workload};
use fulcrum_sim_core::{build_simulation, run_replication, RunOptions, SimDuration, SimTime, Strategy as Combo};
use fulcrum_strategies::balance::BalancerConfig;
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
            end: SimTime::from_secs_f64(end),
            warmup: SimTime::from_secs_f64(end * warmup_fraction),
            sample_interval: SimDuration::from_secs_f64(sample),
            seed,
            faults: vec![],
        }
    }
}

/// Checks the state of every node between two events.
fn check_nodes(sim: &Simulation<Cluster>, config: &SimConfig) -> Result<(), TestCaseError> {
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
        if config.view == ViewMode::Oracle {
            let load = view.load(id);
            prop_assert_eq!((load.running, load.queued), (running, queued), "oracle view of node {} at {}", i, at);
            prop_assert!(load.reported_at.is_some());
        }
        on_nodes += (running + queued) as usize;
    }
    // The rest of the tasks in the system are on their way to a node.
    prop_assert!(cluster.in_system() >= on_nodes);
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
        check_nodes(&sim, &config)?;
        while sim.scheduler().next_time().is_some_and(|t| t <= config.end) {
            prop_assert!(sim.step());
            prop_assert!(sim.now() >= last, "time went backwards: {} after {}", sim.now(), last);
            prop_assert!(sim.now() <= config.end);
            if let Some(next) = sim.scheduler().next_time() {
                prop_assert!(next >= sim.now(), "event pending at {} before now {}", next, sim.now());
            }
            last = sim.now();
            check_nodes(&sim, &config)?;
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
