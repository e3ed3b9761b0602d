//! Linking the strategies into a production scheduler: a balancer, a failure detector and a
//! failover policy loaded from the same JSON a scenario file uses (what a tuning run emits), driven
//! from a hand-written node list with the real clock.
//!
//! Run with `cargo run -p fulcrum-strategies --example production`. Nothing here depends on the
//! simulator: the scheduler owns its node records, reads its own clock and passes `now` in.
//!
//! `-- --balancer best.json` (or `--detector FILE`, `--failover FILE`) replaces that part of the
//! built-in configuration with a file holding one strategy entry, such as the `best.json` that
//! `fulcrum tune` writes.

use std::time::{Duration, Instant};

use fulcrum_strategies::balance::BalancerConfig;
use fulcrum_strategies::detect::{DetectorConfig, Membership, Transition};
use fulcrum_strategies::failover::{FailoverConfig, Reassign};
use fulcrum_strategies::{
    ClusterView, NodeId, NodeLoad, NodeSpec, ResourceUnits, Resources, Span, TaskId, TaskInfo, Time,
};
use rand_core::SeedableRng;

/// The configuration, exactly as a scenario file (or `fulcrum tune`'s `best.json`) writes it.
const CONFIG: &str = r#"{
  "balancer": {"kind": "power-of-d", "d": 2},
  "detector": {"kind": "phi-accrual", "threshold": 8.0, "acceptable_pause_s": 0.05, "min_std_s": 0.005},
  "failover": {"kind": "retry", "max_attempts": 3, "backoff_s": 0.01}
}"#;

#[derive(serde::Deserialize)]
struct Config {
    balancer: BalancerConfig,
    detector: DetectorConfig,
    failover: FailoverConfig,
}

/// The configuration, with the parts the command line names read from files.
fn configuration() -> Result<Config, String> {
    let mut config: serde_json::Value = serde_json::from_str(CONFIG).map_err(|e| e.to_string())?;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let part = match flag.as_str() {
            "--balancer" => "balancer",
            "--detector" => "detector",
            "--failover" => "failover",
            other => return Err(format!("unknown argument {other:?}; expected --balancer/--detector/--failover FILE")),
        };
        let path = args.next().ok_or_else(|| format!("{flag}: a file is needed"))?;
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        config[part] = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    }
    serde_json::from_value(config).map_err(|e| format!("invalid configuration: {e}"))
}

fn main() {
    let config = match configuration() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    // The scheduler's own records of its nodes.
    let node = |cores: f64, memory_gb: f64| NodeSpec {
        capacity: ResourceUnits { cpu_cores: cores, memory_gb, ..Default::default() }.to_resources(),
        speed: 1.0,
    };
    let specs = vec![node(4.0, 16.0), node(4.0, 16.0), node(8.0, 32.0), node(2.0, 8.0)];
    let mut loads = vec![NodeLoad::default(); specs.len()];
    let used = vec![Resources::ZERO; specs.len()];
    let heartbeat = Span::from_secs_f64(0.01);

    let mut balancer = config.balancer.build();
    let mut membership =
        Membership::new(config.detector.build(specs.len(), heartbeat), config.detector.rejoin_after(), specs.len());
    let mut failover = config.failover.build();
    // Production may use any generator; a seeded one keeps this example repeatable.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);

    // The real clock, as integer nanoseconds since the scheduler started.
    #[allow(clippy::disallowed_methods)] // production reads the wall clock; the simulator never does
    let start = Instant::now();
    let now = || Time(start.elapsed().as_nanos() as u64);

    let demand = ResourceUnits { cpu_cores: 1.0, memory_gb: 2.0, ..Default::default() }.to_resources();
    for round in 0..30u64 {
        let seq = round; // heartbeat sequence numbers, one beat per node per round
        std::thread::sleep(Duration::from_millis(10));
        // Heartbeats arrive from every node but node 3, which went silent after round 10.
        for n in 0..specs.len() as u32 {
            if n != 3 || round < 10 {
                membership.on_heartbeat(NodeId(n), now(), seq);
            }
            if membership.check(NodeId(n), now()) == Some(Transition::Suspected) {
                println!("t={:>6.3}s node {n} suspected", now().as_secs_f64());
                let orphan = TaskInfo { id: TaskId(round), class: 0, priority: 0, demand, expected_work_s: 1.0 };
                match failover.reassign(&orphan, 1, now()) {
                    Reassign::Now => println!("           its tasks go back to the balancer now"),
                    Reassign::After(d) => println!("           its tasks are retried after {:.3}s", d.as_secs_f64()),
                    Reassign::Fail => println!("           its tasks fail"),
                }
            }
        }
        // Place one task among the trusted nodes.
        let candidates: Vec<NodeId> = (0..specs.len() as u32).map(NodeId).filter(|&n| membership.is_alive(n)).collect();
        let view = ClusterView::new(&specs, &loads, &used);
        let task = TaskInfo { id: TaskId(round), class: 0, priority: 0, demand, expected_work_s: 1.0 };
        if let Some(n) = balancer.pick(&task, &candidates, &view, now(), &mut rng) {
            loads[n.index()].queued += 1;
            if round % 10 == 0 {
                println!("t={:>6.3}s task {round} -> node {}", now().as_secs_f64(), n.0);
            }
        }
    }
    let placed: Vec<u32> = loads.iter().map(|l| l.queued).collect();
    println!("tasks per node: {placed:?} (node 3 stopped receiving once suspected)");
}
