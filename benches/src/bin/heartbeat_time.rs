//! `heartbeat-time`: one run of the heartbeat cluster, the engine's or the bare loop's, timed on
//! its own, for interleaving with other processes (`fulcrum run` of the scenario file) on a
//! shared machine and for profiling one side alone (`perf record`, `valgrind --tool=cachegrind`).
//!
//! ```text
//! cargo run --release -p fulcrum-benches --bin heartbeat-time -- bare 100000 100
//! cargo run --release -p fulcrum-benches --bin heartbeat-time -- engine 10000 20
//! ```

use std::time::Instant;

use fulcrum_benches::heartbeat::{bare_heartbeat_cluster, engine_heartbeat_cluster};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!("usage: heartbeat-time bare|engine NODES SECONDS [SEED]");
        std::process::exit(2)
    };
    if args.len() < 3 || args.len() > 4 {
        usage();
    }
    let nodes: usize = args[1].parse().unwrap_or_else(|_| usage());
    let seconds: f64 = args[2].parse().unwrap_or_else(|_| usage());
    let seed: u64 = args.get(3).map_or(Ok(1), |s| s.parse()).unwrap_or_else(|_| usage());
    // The wall clock, which benchmarks are allowed to read.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let out = match args[0].as_str() {
        "bare" => bare_heartbeat_cluster(nodes, seconds, seed),
        "engine" => engine_heartbeat_cluster(nodes, seconds, seed),
        _ => usage(),
    };
    let wall = started.elapsed().as_secs_f64();
    println!(
        "{} N={nodes} {seconds} s: {wall:.3} s wall, {} events ({:.2} M/s), {} completed, mean response {} s",
        args[0],
        out.events,
        out.events as f64 / wall / 1e6,
        out.completed,
        out.mean_response_s
    );
}
