//! The cost of a batch decision: each optimiser, with its default parameters, on a batch of 64
//! tasks over 100 and 1,000 candidate nodes (heterogeneous speeds and cores, random backlogs),
//! for each objective; and the cost of a lone `pick` at 1,000 candidates.
//!
//! Run with `cargo run --release -p fulcrum-strategies --example batch_cost`. Prints, per
//! optimiser, the fastest and the median wall time per batch (problem building included), the
//! evaluations spent, and the mean objective relative to the greedy plan's (1.0 = no better than
//! greedy). Wall time varies between machines and with their load (the fastest of the batches is
//! the least disturbed); nothing here is asserted.

use std::time::Instant;

use fulcrum_strategies::balance::BalancerConfig;
use fulcrum_strategies::batch::{Objective, OptimiserConfig, Plan, Problem};
use fulcrum_strategies::{ClusterView, NodeId, NodeLoad, NodeSpec, Resources, TaskId, TaskInfo, Time};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

struct Instance {
    specs: Vec<NodeSpec>,
    loads: Vec<NodeLoad>,
    used: Vec<Resources>,
    tasks: Vec<TaskInfo>,
    all: Vec<NodeId>,
}

fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn instance(seed: u64, n_tasks: usize, n_nodes: usize) -> Instance {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let specs = (0..n_nodes)
        .map(|_| NodeSpec {
            capacity: Resources([1000 * (1 + rng.next_u64() % 8), 0, 0, 0, 0, 0]),
            speed: 0.5 + 2.5 * unit(&mut rng),
        })
        .collect();
    let loads = (0..n_nodes).map(|_| NodeLoad { queued: (rng.next_u64() % 6) as u32, ..Default::default() }).collect();
    let tasks = (0..n_tasks)
        .map(|i| TaskInfo {
            id: TaskId(i as u64),
            class: 0,
            priority: 0,
            demand: Resources([1000 * (1 + rng.next_u64() % 4), 0, 0, 0, 0, 0]),
            expected_work_s: 0.1 + 9.9 * unit(&mut rng),
        })
        .collect();
    Instance {
        specs,
        loads,
        used: vec![Resources::ZERO; n_nodes],
        tasks,
        all: (0..n_nodes as u32).map(NodeId).collect(),
    }
}

#[allow(clippy::disallowed_methods)] // wall time is what this example measures
fn main() {
    let kinds = ["greedy", "genetic", "simulated-annealing", "particle-swarm", "ant-colony"];
    let objectives = [
        ("makespan", Objective::Makespan),
        ("balance", Objective::Balance),
        ("weighted", Objective::Weighted { makespan: 1.0, balance: 1.0 }),
    ];
    const REPS: u64 = 21;
    for n_nodes in [100, 1000] {
        println!(
            "64 tasks x {n_nodes} candidate nodes ({REPS} batches: fastest / median time; objective / greedy's, mean)"
        );
        for (name, objective) in &objectives {
            for kind in kinds {
                let config: OptimiserConfig = serde_json::from_str(&format!(r#"{{"kind": "{kind}"}}"#)).unwrap();
                let mut optimiser = config.build();
                let mut greedy = OptimiserConfig::Greedy {}.build();
                let (mut times, mut ratio, mut evaluations) = (Vec::new(), 0.0, 0);
                let mut problem = Problem::default();
                let (mut plan, mut reference) = (Plan::default(), Plan::default());
                for rep in 0..REPS {
                    let inst = instance(rep, 64, n_nodes);
                    let view = ClusterView::new(&inst.specs, &inst.loads, &inst.used);
                    let cands = vec![inst.all.as_slice(); inst.tasks.len()];
                    let mut rng = ChaCha8Rng::seed_from_u64(rep);
                    let start = Instant::now();
                    problem.rebuild(&inst.tasks, &cands, &view);
                    optimiser.optimise(&problem, objective, &mut rng, &mut plan);
                    times.push(start.elapsed().as_secs_f64());
                    greedy.optimise(&problem, objective, &mut ChaCha8Rng::seed_from_u64(rep), &mut reference);
                    ratio += if reference.objective > 0.0 { plan.objective / reference.objective } else { 1.0 };
                    evaluations = plan.evaluations;
                }
                times.sort_by(f64::total_cmp);
                println!(
                    "  {name:<9} {kind:<20} {:>7.3} / {:>7.3} ms  {evaluations:>5} evaluations  objective {:.4} of greedy",
                    times[0] * 1e3,
                    times[times.len() / 2] * 1e3,
                    ratio / REPS as f64
                );
            }
        }
    }

    // A lone task through `pick`, at 1,000 candidates.
    let inst = instance(0, 1, 1000);
    let view = ClusterView::new(&inst.specs, &inst.loads, &inst.used);
    let mut balancer = serde_json::from_str::<BalancerConfig>(r#"{"kind": "batch"}"#).unwrap().build();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (rounds, mut best, mut sink) = (2_000, f64::INFINITY, 0u64);
    for _ in 0..20 {
        let start = Instant::now();
        for _ in 0..rounds {
            sink += u64::from(balancer.pick(&inst.tasks[0], &inst.all, &view, Time::ZERO, &mut rng).unwrap().0);
        }
        best = best.min(start.elapsed().as_secs_f64() / rounds as f64);
    }
    println!(
        "pick (a batch of one, 1000 candidates): {:.2} us per decision, fastest of 20 rounds (checksum {sink})",
        best * 1e6
    );
}
