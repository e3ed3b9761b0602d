//! `trace-replay`: trace replay at a scale no shipped file has — a synthetic SWF log of 10 million
//! jobs (`fulcrum_scenarios::trace::swf::Synthetic`) — measured for speed (lines per second) and
//! memory (the process's peak resident set, `VmHWM`, which includes the program itself), and
//! checked against the targets: at least 1 million lines per second, under 100 MiB.
//!
//! ```text
//! cargo run --release -p fulcrum-benches --bin trace-replay                    # 10M lines, ~1 min, 0.8 GB in $TMPDIR
//! cargo run --release -p fulcrum-benches --bin trace-replay -- --lines 1000000 # smaller
//! cargo run --release -p fulcrum-benches --bin trace-replay -- --gzip          # also from a .gz file
//! cargo run --release -p fulcrum-benches --bin trace-replay -- --simulate      # also a whole simulated run
//! ```
//!
//! Phases, in one process so the peak covers them all: the SWF reader alone over the generator
//! (no file); the scenario's validation pass over the file written to disk (parse, window, shapes,
//! SHA-256 of the file); one run's replay (the stream the simulator pulls tasks from); with
//! `--gzip` the same two over a gzipped copy; with `--simulate` a full `fulcrum_sim_core::run` of
//! the replay (64 nodes of 32 cores, power of two choices, heartbeats every second).
//! Exits 1 if a target is missed.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use fulcrum_scenarios::trace::swf::Synthetic;
use fulcrum_scenarios::trace::{from_reader, LoadScale, ReaderOptions, TraceFormat, TracePlan, TraceSource, TraceSpec};
use fulcrum_sim_core::config::{HeartbeatConfig, NodeGroup, SimConfig, ViewMode};
use fulcrum_sim_core::dist::Dist;
use fulcrum_sim_core::workload::{ArrivalProcess, SharedSource, SourceFactory, Workload};
use fulcrum_sim_core::{SimDuration, SimTime, Strategy};
use fulcrum_strategies::balance::BalancerConfig;
use fulcrum_strategies::{NodeSpec, ResourceUnits, Resources};

/// The wall clock, which benchmarks are allowed to read.
#[allow(clippy::disallowed_methods)]
fn wall_clock() -> Instant {
    Instant::now()
}

/// Peak resident set of this process so far, MiB (`VmHWM` of `/proc/self/status`; Linux only).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU time this process has used so far, seconds (user + system, from `/proc/self/stat`; Linux
/// only). On a shared machine the wall time includes waiting for a core; this does not.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Simulated cores per SWF processor and time scale for `--simulate`: about 70% of 64 x 32 cores.
const CORES_PER_PROCESSOR: f64 = 1.0 / 64.0;
const TIME_SCALE: f64 = 0.001;

fn spec(path: &std::path::Path) -> TraceSpec {
    TraceSpec {
        format: TraceFormat::Swf,
        path: path.to_path_buf(),
        name: path.display().to_string(),
        reader: ReaderOptions::default(),
        time_scale: TIME_SCALE,
        load: LoadScale::Factor(1.0),
        start_s: None,
        limit: None,
        sort: false,
        cpu_cores_per_unit: CORES_PER_PROCESSOR,
        memory_gb_per_unit: 0.0,
        default_work: Dist::Const { value: 1.0 },
        default_demand: ResourceUnits { cpu_cores: 1.0, ..ResourceUnits::default() },
        attribution: None,
    }
}

fn nodes() -> Vec<NodeSpec> {
    vec![NodeSpec { capacity: Resources([32_000, 0, 0, 0, 0, 0]), speed: 1.0 }; 64]
}

struct Row {
    phase: String,
    lines: u64,
    seconds: f64,
    cpu_seconds: f64,
    peak_mib: Option<f64>,
    rated: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut lines: u64 = 10_000_000;
    let (mut gzip, mut simulate) = (false, false);
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--lines" => {
                i += 1;
                lines = args.get(i).and_then(|v| v.parse().ok()).unwrap_or_else(|| usage());
            }
            "--gzip" => gzip = true,
            "--simulate" => simulate = true,
            _ => usage(),
        }
        i += 1;
    }
    let dir = std::env::temp_dir().join(format!("fulcrum-trace-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("cannot create a temporary directory");
    let total_lines = lines + 3; // the header
    let mut rows: Vec<Row> = Vec::new();
    let mut row = |phase: &str, (wall, cpu): (Instant, f64), rated: bool| {
        rows.push(Row {
            phase: phase.to_string(),
            lines: total_lines,
            seconds: wall.elapsed().as_secs_f64(),
            cpu_seconds: cpu_seconds().unwrap_or(f64::NAN) - cpu,
            peak_mib: peak_rss_mib(),
            rated,
        });
        let r = rows.last().unwrap();
        eprintln!(
            "{}: {:.2} s wall, {:.2} s cpu, {:.2} M lines per cpu second, peak RSS {:.1} MiB",
            r.phase,
            r.seconds,
            r.cpu_seconds,
            r.lines as f64 / r.cpu_seconds / 1e6,
            r.peak_mib.unwrap_or(f64::NAN)
        );
    };

    // 1. The reader alone.
    let started = (wall_clock(), cpu_seconds().unwrap_or(f64::NAN));
    let input = Box::new(std::io::BufReader::with_capacity(1 << 16, Synthetic::new(lines, 42)));
    let mut reader = from_reader(TraceFormat::Swf, input, "synthetic", &ReaderOptions::default()).unwrap();
    let mut n = 0u64;
    while reader.next_record().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, lines);
    row("SWF reader, generated in memory", started, true);

    // 2, 3. Validation pass and one run's replay, from a file.
    let plain = dir.join("synthetic.swf");
    {
        let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&plain).unwrap());
        std::io::copy(&mut Synthetic::new(lines, 42), &mut file).unwrap();
        file.flush().unwrap();
    }
    let size_mb = std::fs::metadata(&plain).unwrap().len() as f64 / 1e6;
    let mut files = vec![(plain.clone(), format!("{size_mb:.0} MB .swf"))];
    if gzip {
        let gz = dir.join("synthetic.swf.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(std::fs::File::create(&gz).unwrap()),
            flate2::Compression::fast(),
        );
        std::io::copy(&mut Synthetic::new(lines, 42), &mut enc).unwrap();
        enc.finish().unwrap().flush().unwrap();
        let gz_mb = std::fs::metadata(&gz).unwrap().len() as f64 / 1e6;
        files.push((gz, format!("{gz_mb:.0} MB .swf.gz")));
    }
    let mut last_plan = None;
    for (path, what) in &files {
        let started = (wall_clock(), cpu_seconds().unwrap_or(f64::NAN));
        let plan = Arc::new(TracePlan::build(spec(path), &nodes(), 1e9).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(plan.summary.records, lines);
        row(&format!("scenario validation pass ({what}: parse, window, shapes, SHA-256)"), started, true);
        let started = (wall_clock(), cpu_seconds().unwrap_or(f64::NAN));
        let mut source = TraceSource(plan.clone()).open(1, 0);
        let mut tasks = 0u64;
        while source.next_task().is_some() {
            tasks += 1;
        }
        assert_eq!(tasks, lines);
        row(&format!("one run's replay ({what})"), started, true);
        last_plan = Some(plan);
    }

    // 4. A whole simulation of the replay.
    if simulate {
        let plan = last_plan.clone().expect("a plan");
        let n_nodes = nodes().len() as u32;
        let config = SimConfig {
            nodes: nodes(),
            groups: vec![NodeGroup { name: "n".into(), first: 0, count: n_nodes, racks: 1 }],
            workload: Workload {
                arrival: ArrivalProcess::Poisson { rate: 1.0 },
                classes: plan.classes.clone(),
                source: Some(SharedSource(Arc::new(TraceSource(plan.clone())))),
            },
            heartbeat: HeartbeatConfig {
                interval: SimDuration::from_secs_f64(1.0),
                jitter: 0.1,
                loss: 0.0,
                delay: Dist::Const { value: 0.001 },
            },
            dispatch_delay: Dist::Const { value: 0.001 },
            view: ViewMode::Heartbeat { track_dispatches: true },
            dispatchers: Default::default(),
            end: SimTime::from_secs_f64(plan.summary.span_s + 1.0),
            warmup: SimTime::ZERO,
            sample_interval: SimDuration::from_secs_f64((plan.summary.span_s / 200.0).max(1.0)),
            seed: 1,
            faults: vec![],
            alerts: vec![],
        };
        let started = (wall_clock(), cpu_seconds().unwrap_or(f64::NAN));
        let strategy = Strategy::balancer("p2c", BalancerConfig::PowerOfD { d: 2 });
        let out = fulcrum_sim_core::run(&config, &strategy, 0, &Default::default());
        eprintln!(
            "simulated: {} tasks submitted, {} completed, {} events, mean response {:.3} s, utilisation {:.3}",
            out.metric("submitted").unwrap_or(f64::NAN),
            out.metric("completed").unwrap_or(f64::NAN),
            out.metric("events").unwrap_or(f64::NAN),
            out.metric("mean_response_s").unwrap_or(f64::NAN),
            out.metric("utilization_mean").unwrap_or(f64::NAN)
        );
        row("whole simulated run (64 nodes, p2c)", started, false);
    }
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "Synthetic SWF log of {lines} jobs ({total_lines} lines), release build, {} hardware threads; peak RSS is the \
         process's VmHWM after the phase (it never decreases).",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| phase | wall s | cpu s | M lines/s (wall) | M lines/s (cpu) | peak RSS MiB |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut ok = true;
    for r in &rows {
        let rate = |seconds: f64| if r.rated { format!("{:.2}", r.lines as f64 / seconds / 1e6) } else { "-".into() };
        let peak = r.peak_mib.map_or("-".to_string(), |m| format!("{m:.1}"));
        println!(
            "| {} | {:.2} | {:.2} | {} | {} | {peak} |",
            r.phase,
            r.seconds,
            r.cpu_seconds,
            rate(r.seconds),
            rate(r.cpu_seconds)
        );
        // The speed target is per second of a core: on a shared machine the wall time also counts
        // waiting for one.
        ok &= !r.rated || r.lines as f64 / r.cpu_seconds >= 1e6;
        ok &= r.peak_mib.is_none_or(|m| m < 100.0);
    }
    if !ok {
        eprintln!("a target was missed: at least 1 M lines/s, under 100 MiB peak");
        std::process::exit(1);
    }
}

fn usage() -> ! {
    eprintln!("usage: trace-replay [--lines N] [--gzip] [--simulate]");
    std::process::exit(2);
}
