//! Memory of the engine on the heartbeat cluster (issue 2's "memory linear in nodes + tasks in
//! flight, no per-event allocation"), measured with a counting global allocator: in steady state
//! a run allocates next to nothing per event, its peak heap grows with the number of nodes (and
//! the tasks in flight, which grow with them at a fixed load), and not with how long it runs.
//!
//! One test function, because the allocator counts for the whole test binary and tests of one
//! binary run in parallel.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use fulcrum_benches::heartbeat::{balancer, heartbeat_config, LABEL};
use fulcrum_sim_core::{build_simulation, RunOptions, SimTime, Strategy};

/// The system allocator, counting allocations and live bytes (with their peak).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);

fn grew(bytes: i64) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        grew(layout.size() as i64);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        grew(new_size as i64 - layout.size() as i64);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What one run of `nodes` nodes for `seconds` (split at `split_s`) measured.
#[derive(Debug)]
struct Measured {
    /// Events handled after `split_s`.
    steady_events: u64,
    /// Allocations (and reallocations) after `split_s`.
    steady_allocations: u64,
    /// Peak live heap bytes during the run, above what was live before the world was built.
    peak_bytes: i64,
}

fn measure(nodes: usize, seconds: f64, split_s: f64) -> Measured {
    let config = heartbeat_config(nodes, seconds, 1);
    let strategy = Strategy::balancer(LABEL, balancer());
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut sim = build_simulation(&config, &strategy, 0, &RunOptions::default());
    sim.run_until(SimTime::from_secs_f64(split_s));
    let (events0, allocations0) = (sim.scheduler().processed(), ALLOCATIONS.load(Ordering::Relaxed));
    sim.run_until(config.end);
    let measured = Measured {
        steady_events: sim.scheduler().processed() - events0,
        steady_allocations: ALLOCATIONS.load(Ordering::Relaxed) - allocations0,
        peak_bytes: PEAK.load(Ordering::Relaxed) - base,
    };
    let out = sim.into_model().finish(0);
    assert!(out.metric("completed").unwrap() > 0.7 * 0.8 * nodes as f64 * seconds, "the cluster did not run");
    measured
}

#[test]
fn no_allocation_per_event_and_memory_grows_with_nodes_not_with_time() {
    // Steady state: past 50 s every buffer has grown to its working size; what still allocates
    // (a time-series point every 10 s, a buffer doubling now and then) is rare, not per event.
    let short = measure(2_000, 100.0, 50.0);
    let long = measure(2_000, 400.0, 50.0);
    assert!(long.steady_events > 2_000_000, "{long:?}");
    let per_event = long.steady_allocations as f64 / long.steady_events as f64;
    assert!(per_event < 1e-4, "{per_event} allocations per event in steady state: {long:?}");

    // Four times as long: about the same peak memory (time series and histograms stay small).
    let ratio = long.peak_bytes as f64 / short.peak_bytes as f64;
    assert!(ratio < 1.25, "peak heap grew {ratio}x from 100 s to 400 s: {short:?} {long:?}");

    // Four times the nodes (and, at the same load, the tasks in flight): about four times the peak.
    let big = measure(8_000, 100.0, 50.0);
    let ratio = big.peak_bytes as f64 / short.peak_bytes as f64;
    assert!((3.0..5.0).contains(&ratio), "peak heap {ratio}x for 4x the nodes: {short:?} {big:?}");
    let per_node = big.peak_bytes as f64 / 8_000.0;
    assert!(per_node < 4096.0, "{per_node} bytes per node: {big:?}");
}
