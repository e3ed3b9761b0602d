//! Runs every single-task benchmarked configuration (or those whose label contains the first
//! argument) for a number of decisions on the synthetic cluster and prints a hash of the nodes
//! chosen, so that two builds can be checked to decide identically; also a driver for
//! `valgrind --tool=callgrind --toggle-collect='*Balancer>::pick'` instruction counts.

use fulcrum_benches::decision::{benched, SyntheticCluster};
use fulcrum_strategies::balance::{Explanation, Outcome};
use fulcrum_strategies::{Span, TaskId, Time};
use rand::SeedableRng;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let only = args.get(1).cloned().unwrap_or_default();
    let n_nodes: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let decisions: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(3000);
    let explained = args.get(4).is_some_and(|s| s == "explained");
    for (label, config) in benched() {
        if !label.contains(&only) {
            continue;
        }
        let mut balancer = config.build();
        if balancer.batching().is_some() {
            continue;
        }
        let mut cluster = SyntheticCluster::generate(n_nodes, 7);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut now = Time::from_secs_f64(100.0);
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut why = Explanation::default();
        for seq in 0..decisions {
            let task = cluster.task(seq);
            let class = task.class as usize;
            // Time advances unevenly, sometimes not at all.
            if seq % 3 != 0 {
                now += Span(1_000_000 * (1 + seq % 7));
            }
            let view = cluster.view();
            let picked = if explained {
                balancer.pick_explained(&task, cluster.candidates(class), &view, now, &mut rng, &mut why)
            } else {
                balancer.pick(&task, cluster.candidates(class), &view, now, &mut rng)
            };
            let code = picked.map_or(u64::MAX, |n| u64::from(n.0));
            hash = (hash ^ code).wrapping_mul(0x100_0000_01b3);
            if let Some(node) = picked {
                cluster.dispatch(node, class);
                if balancer.wants_feedback() {
                    let latency = Span(1_000_000 * (1 + (seq * 7919 + u64::from(node.0)) % 5000));
                    let outcome = Outcome {
                        task: TaskId(seq),
                        node,
                        latency,
                        expected_work_s: task.expected_work_s,
                        completed: seq % 13 != 0,
                    };
                    balancer.observe(&outcome, now);
                }
            }
            if seq % 4 == 3 {
                cluster.heartbeat((seq as usize * 31) % n_nodes);
            }
        }
        println!("{hash:016x} {label}");
    }
}
