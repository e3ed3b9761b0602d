//! Criterion bench of the heartbeat cluster (N = 1e3, 1e4, 1e5 nodes, 100 s virtual): Fulcrum's
//! engine (`run_replication`) against the bare hand-written loop that computes the same result.
//! Throughput is in events handled.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use fulcrum_benches::heartbeat::{bare_heartbeat_cluster, engine_heartbeat_cluster, sample_events};

const SECONDS: f64 = 100.0;
const SEED: u64 = 1;

fn heartbeat_cluster(c: &mut Criterion) {
    for n in [1_000, 10_000, 100_000] {
        // One bare run gives the event counts of both sides (the engine also handles its samples).
        let bare_events = bare_heartbeat_cluster(n, SECONDS, SEED).events;
        let engine_events = bare_events + sample_events(SECONDS);
        let mut group = c.benchmark_group(format!("heartbeat_cluster/N={n}"));
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(match n {
            1_000 => 5,
            10_000 => 15,
            _ => 120,
        }));
        group.throughput(Throughput::Elements(engine_events));
        group.bench_function("engine", |b| b.iter(|| engine_heartbeat_cluster(n, SECONDS, SEED)));
        group.throughput(Throughput::Elements(bare_events));
        group.bench_function("bare", |b| b.iter(|| bare_heartbeat_cluster(n, SECONDS, SEED)));
        group.finish();
    }
}

criterion_group!(benches, heartbeat_cluster);
criterion_main!(benches);
