//! Replaying a trace uses memory independent of its length, and reads fast.
//!
//! A counting global allocator (this test binary holds this one test, so nothing else allocates
//! meanwhile) measures the peak heap of the validation pass and of a full replay of synthetic SWF
//! logs of 100,000 and 1,000,000 jobs: the peak must not grow with the file. The 10-million-line
//! figures (peak RSS, lines per second) come from `cargo run --release -p fulcrum-benches --bin
//! trace-replay`, recorded in the README; the speed floor here is loose because CI machines are
//! shared.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use fulcrum_scenarios::trace::swf::Synthetic;
use fulcrum_scenarios::trace::{LoadScale, ReaderOptions, TraceFormat, TracePlan, TraceSource, TraceSpec};
use fulcrum_sim_core::dist::Dist;
use fulcrum_sim_core::workload::SourceFactory;
use fulcrum_strategies::{NodeSpec, ResourceUnits, Resources};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call forwards to the system allocator unchanged; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            grew(new_size - layout.size());
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What one replay of an `n`-job log measured.
struct Measured {
    peak_bytes: usize,
    validate_lines_per_s: f64,
    replay_lines_per_s: f64,
    tasks: u64,
}

fn measure(dir: &std::path::Path, n: u64) -> Measured {
    let path = dir.join(format!("synthetic-{n}.swf"));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    std::io::copy(&mut Synthetic::new(n, 42), &mut file).unwrap();
    drop(file);
    let spec = TraceSpec {
        format: TraceFormat::Swf,
        path: path.clone(),
        name: path.display().to_string(),
        reader: ReaderOptions::default(),
        time_scale: 0.01,
        load: LoadScale::Factor(1.0),
        start_s: None,
        limit: None,
        sort: false,
        cpu_cores_per_unit: 1.0,
        memory_gb_per_unit: 0.0,
        default_work: Dist::Const { value: 1.0 },
        default_demand: ResourceUnits { cpu_cores: 1.0, ..ResourceUnits::default() },
        attribution: None,
    };
    let nodes = vec![NodeSpec { capacity: Resources([64_000, 0, 0, 0, 0, 0]), speed: 1.0 }; 4];
    let baseline = CURRENT.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    // Wall-clock time for the speed figure only; no result depends on it.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let plan = Arc::new(TracePlan::build(spec, &nodes, 1e9).unwrap_or_else(|e| panic!("{e}")));
    let validated = started.elapsed().as_secs_f64();
    assert_eq!(plan.summary.records, n);
    let mut source = TraceSource(plan.clone()).open(1, 0);
    let mut tasks = 0;
    let mut last = fulcrum_sim_core::SimTime::ZERO;
    while let Some(t) = source.next_task() {
        assert!(t.arrival >= last);
        last = t.arrival;
        tasks += 1;
    }
    let replayed = started.elapsed().as_secs_f64() - validated;
    let peak_bytes = PEAK.load(Ordering::Relaxed) - baseline;
    drop(source);
    drop(plan);
    std::fs::remove_file(&path).unwrap();
    Measured {
        peak_bytes,
        validate_lines_per_s: (n + 3) as f64 / validated,
        replay_lines_per_s: (n + 3) as f64 / replayed,
        tasks,
    }
}

#[test]
fn replay_memory_does_not_grow_with_the_trace_and_reading_is_fast() {
    let dir = tempfile::tempdir().unwrap();
    let small = measure(dir.path(), 100_000);
    let large = measure(dir.path(), 1_000_000);
    for (n, m) in [(100_000, &small), (1_000_000, &large)] {
        println!(
            "{n} jobs: peak heap {:.1} KiB, validation {:.2} M lines/s, replay {:.2} M lines/s",
            m.peak_bytes as f64 / 1024.0,
            m.validate_lines_per_s / 1e6,
            m.replay_lines_per_s / 1e6
        );
        assert_eq!(m.tasks, n);
        assert!(m.peak_bytes < 4 << 20, "{n} jobs: peak heap {} bytes", m.peak_bytes);
        assert!(m.validate_lines_per_s > 200_000.0 && m.replay_lines_per_s > 200_000.0);
    }
    // Ten times the lines, the same memory (within 64 KiB: the per-shape table, buffers).
    assert!(
        large.peak_bytes <= small.peak_bytes + (64 << 10),
        "peak heap grew from {} to {} bytes",
        small.peak_bytes,
        large.peak_bytes
    );
}
