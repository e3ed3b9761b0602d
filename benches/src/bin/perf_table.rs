//! `perf-table`: measures the engine against bare loops on the hold model and the heartbeat
//! cluster in one process and prints a Markdown table (median wall time of a few repetitions, runs
//! of the two sides interleaved so background load hits both alike).
//!
//! ```text
//! cargo run --release -p fulcrum-benches --bin perf-table            # full table, ~2–4 minutes
//! cargo run --release -p fulcrum-benches --bin perf-table -- --quick # smoke run, seconds
//! cargo run --release -p fulcrum-benches --bin perf-table -- --hold  # the hold model only (--cluster: the heartbeat cluster only)
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use fulcrum_benches::heartbeat::{bare_heartbeat_cluster, engine_heartbeat_cluster, Outcome};
use fulcrum_benches::hold::{BinaryHeapHold, BinaryHeapPopPushHold, EngineHold, HoldLoop, RadixHeapHold};

/// What to run.
struct Plan {
    hold_ks: Vec<usize>,
    hold_pops: u64,
    hold_reps: usize,
    /// (nodes, repetitions)
    clusters: Vec<(usize, usize)>,
    cluster_seconds: f64,
}

impl Plan {
    fn full() -> Plan {
        Plan {
            hold_ks: vec![1_000, 100_000, 1_000_000],
            hold_pops: 2_000_000,
            hold_reps: 5,
            clusters: vec![(1_000, 7), (10_000, 5), (100_000, 3)],
            cluster_seconds: 100.0,
        }
    }

    fn quick() -> Plan {
        Plan {
            hold_ks: vec![1_000, 100_000, 1_000_000],
            hold_pops: 200_000,
            hold_reps: 1,
            clusters: vec![(1_000, 1), (10_000, 1), (100_000, 1)],
            cluster_seconds: 10.0,
        }
    }
}

/// One line of the table.
struct Row {
    workload: String,
    baseline: &'static str,
    events: (u64, u64),
    wall: (Duration, Duration),
    same_result: bool,
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// The wall clock, which benchmarks are allowed to read.
#[allow(clippy::disallowed_methods)]
fn wall_clock() -> Instant {
    Instant::now()
}

fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let start = wall_clock();
    let r = f();
    (r, start.elapsed())
}

fn si(n: f64) -> String {
    if n >= 1e6 {
        format!("{:.2} M", n / 1e6)
    } else {
        format!("{:.0} k", n / 1e3)
    }
}

fn k_label(k: usize) -> String {
    match k {
        1_000 => "1e3".into(),
        10_000 => "1e4".into(),
        100_000 => "1e5".into(),
        1_000_000 => "1e6".into(),
        _ => k.to_string(),
    }
}

/// A warmed hold loop, timed rep by rep.
struct HoldRunner {
    name: &'static str,
    run: Box<dyn FnMut(u64) -> u64>,
    times: Vec<Duration>,
    last: Vec<u64>,
}

fn hold_runner<H: HoldLoop + 'static>(k: usize) -> HoldRunner {
    let mut h = H::warmed(k, 1);
    HoldRunner {
        name: H::NAME,
        run: Box::new(move |pops| h.hold(black_box(pops))),
        times: Vec::new(),
        last: Vec::new(),
    }
}

fn hold_rows(plan: &Plan, rows: &mut Vec<Row>) {
    for &k in &plan.hold_ks {
        eprintln!("hold K = {k}: warming …");
        // The dyn call is per batch of pops, not per pop: each loop is monomorphised inside.
        let mut runners = [
            hold_runner::<EngineHold>(k),
            hold_runner::<BinaryHeapHold>(k),
            hold_runner::<BinaryHeapPopPushHold>(k),
            hold_runner::<RadixHeapHold>(k),
        ];
        for rep in 0..plan.hold_reps {
            // Rotate the order so no loop always runs first after the others.
            let n = runners.len();
            for i in 0..n {
                let r = &mut runners[(i + rep) % n];
                let (last, t) = timed(|| (r.run)(plan.hold_pops));
                r.times.push(t);
                r.last.push(last);
            }
        }
        let engine_time = median(runners[0].times.clone());
        let engine_last = runners[0].last.clone();
        for r in &runners[1..] {
            rows.push(Row {
                workload: format!("hold K={}", k_label(k)),
                baseline: r.name,
                events: (plan.hold_pops, plan.hold_pops),
                wall: (engine_time, median(r.times.clone())),
                same_result: r.last == engine_last,
            });
        }
    }
}

fn cluster_rows(plan: &Plan, rows: &mut Vec<Row>) {
    let seconds = plan.cluster_seconds;
    for &(n, reps) in &plan.clusters {
        eprintln!("heartbeat cluster N = {n}, {seconds} s: {reps} repetitions …");
        let mut engine_times = Vec::new();
        let mut bare_times = Vec::new();
        let mut engine_out: Option<Outcome> = None;
        let mut bare_out: Option<Outcome> = None;
        for rep in 0..reps {
            let run_engine = || timed(|| engine_heartbeat_cluster(n, seconds, 1));
            let run_bare = || timed(|| bare_heartbeat_cluster(n, seconds, 1));
            let ((e, te), (b, tb)) = if rep % 2 == 0 {
                let e = run_engine();
                (e, run_bare())
            } else {
                let b = run_bare();
                (run_engine(), b)
            };
            engine_times.push(te);
            bare_times.push(tb);
            engine_out = Some(e);
            bare_out = Some(b);
        }
        let (e, b) = (engine_out.expect("reps > 0"), bare_out.expect("reps > 0"));
        eprintln!(
            "  engine: {} completed, mean response {:.4} s; bare: {} completed, {:.4} s",
            e.completed, e.mean_response_s, b.completed, b.mean_response_s
        );
        rows.push(Row {
            workload: format!("heartbeat N={}, {seconds} s", k_label(n)),
            baseline: "bare loop (radix heap, no engine)",
            events: (e.events, b.events),
            wall: (median(engine_times), median(bare_times)),
            same_result: e.completed == b.completed && e.mean_response_s == b.mean_response_s,
        });
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let quick = flag("--quick");
    let known = ["--quick", "--hold", "--cluster"];
    if flag("--help") || flag("-h") || args.iter().any(|a| !known.contains(&a.as_str())) {
        eprintln!("usage: perf-table [--quick] [--hold | --cluster]");
        std::process::exit(if args.iter().all(|a| a == "--help" || a == "-h") { 0 } else { 2 });
    }
    // Both parts unless one is named.
    let (hold, cluster) = (flag("--hold") || !flag("--cluster"), flag("--cluster") || !flag("--hold"));
    let mut plan = if quick { Plan::quick() } else { Plan::full() };
    if !hold {
        plan.hold_ks.clear();
    }
    if !cluster {
        plan.clusters.clear();
    }
    let started = wall_clock();
    let mut rows = Vec::new();
    hold_rows(&plan, &mut rows);
    cluster_rows(&plan, &mut rows);

    let cluster_reps: Vec<String> =
        plan.clusters.iter().map(|&(n, reps)| format!("{reps} at N={}", k_label(n))).collect();
    println!(
        "Hold: {} timed pops per repetition after K pre-filled events and K warm-up pops, {} \
         repetitions. Heartbeat cluster: {} s virtual, seed 1, repetitions {}. Median wall time; \
         {} hardware threads{}.",
        plan.hold_pops,
        plan.hold_reps,
        plan.cluster_seconds,
        cluster_reps.join(", "),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if quick { "; --quick" } else { "" }
    );
    println!();
    println!(
        "| workload | bare baseline | engine events/s | bare events/s | engine/bare | engine wall s | \
         bare wall s | same result |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|:---:|");
    for r in &rows {
        let rate_e = r.events.0 as f64 / r.wall.0.as_secs_f64();
        let rate_b = r.events.1 as f64 / r.wall.1.as_secs_f64();
        println!(
            "| {} | {} | {} | {} | {:.2}× | {:.3} | {:.3} | {} |",
            r.workload,
            r.baseline,
            si(rate_e),
            si(rate_b),
            rate_e / rate_b,
            r.wall.0.as_secs_f64(),
            r.wall.1.as_secs_f64(),
            if r.same_result { "yes" } else { "NO" }
        );
    }
    println!();
    println!("Total run time {:.1} s.", started.elapsed().as_secs_f64());
    if rows.iter().any(|r| !r.same_result) {
        std::process::exit(1);
    }
}
