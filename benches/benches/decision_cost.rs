//! Criterion bench of decision cost: a few representative balancers at 1,000 nodes on the
//! synthetic cluster of `fulcrum_benches::decision`, blocks of decisions timed together (the
//! dispatch bookkeeping inside, heartbeats and completions outside; see `DecisionLoop`). The
//! `decision-cost` binary covers every balancer at 100, 1,000 and 10,000 nodes.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fulcrum_benches::decision::{benched, warm_up_completions, DecisionLoop};

const NODES: usize = 1_000;

/// One O(1) sampler, one O(nodes) scan, one learner, one scorer and the hybrid.
const REPRESENTATIVE: [&str; 6] = [
    "power-of-d d=2",
    "least-connections",
    "smooth-weighted-round-robin",
    "response-time",
    "resource-aware (defaults)",
    "hybrid p2c below 0.5, else least-connections",
];

fn decision_cost(c: &mut Criterion) {
    let configs = benched();
    let mut group = c.benchmark_group(format!("decision_cost/n={NODES}"));
    group.throughput(Throughput::Elements(1));
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for label in REPRESENTATIVE {
        let Some((_, config)) = configs.iter().find(|(l, _)| *l == label) else {
            panic!("{label:?} is not in BENCHED");
        };
        let mut run = DecisionLoop::new(config, NODES, 1);
        run.warm_up(warm_up_completions(NODES), 1_000);
        group.bench_function(label, |b| b.iter_custom(|iters| run.timed_block(iters as usize)));
    }
    group.finish();
}

criterion_group!(benches, decision_cost);
criterion_main!(benches);
