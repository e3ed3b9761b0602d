//! Criterion bench of the hold model: Fulcrum's engine against bare event sets, K = 1e3, 1e5, 1e6
//! pending events, 2e6 timed pops per iteration on a structure warmed beforehand.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use fulcrum_benches::hold::{BinaryHeapHold, BinaryHeapPopPushHold, EngineHold, HoldLoop, RadixHeapHold};

const POPS: u64 = 2_000_000;

fn bench_one<H: HoldLoop>(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, k: usize) {
    // Warmed once; the hold model is stationary, so later iterations continue where earlier ones
    // stopped without changing what is measured.
    let mut h = H::warmed(k, 1);
    group.bench_function(H::NAME, |b| b.iter(|| h.hold(black_box(POPS))));
}

fn hold(c: &mut Criterion) {
    for k in [1_000, 100_000, 1_000_000] {
        let mut group = c.benchmark_group(format!("hold/K={k}"));
        group.throughput(Throughput::Elements(POPS));
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(if k >= 1_000_000 { 12 } else { 6 }));
        bench_one::<EngineHold>(&mut group, k);
        bench_one::<BinaryHeapHold>(&mut group, k);
        bench_one::<BinaryHeapPopPushHold>(&mut group, k);
        bench_one::<RadixHeapHold>(&mut group, k);
        group.finish();
    }
}

criterion_group!(benches, hold);
criterion_main!(benches);
