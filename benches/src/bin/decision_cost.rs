//! `decision-cost`: every benchmarked balancer configuration (`fulcrum_benches::decision::BENCHED`)
//! timed on synthetic views of 100, 1,000 and 10,000 nodes; prints Markdown tables (single-task
//! balancers per decision, batch balancers per batch and per task) and optionally writes the same
//! figures as JSON.
//!
//! ```text
//! cargo run --release -p fulcrum-benches --bin decision-cost                      # full, ~1–3 minutes
//! cargo run --release -p fulcrum-benches --bin decision-cost -- --quick           # smoke run, seconds
//! cargo run --release -p fulcrum-benches --bin decision-cost -- --nodes 100,1000 --json cost.json
//! ```
//!
//! Exit codes: 0 success, 2 bad arguments, 3 the JSON file could not be written. A balancer over
//! the 10 µs budget is flagged in the table, not in the exit code: the figures are wall-clock times
//! on whatever else the machine is doing.

use std::time::Duration;

use fulcrum_benches::decision::{
    benched, measure_with, timer_overhead_ns, Cost, DecisionLoop, MeasureOptions, Per, BATCH_TASKS, BLOCK_TARGET,
    MAX_BLOCK, ROUND,
};
use fulcrum_strategies::balance::BalancerConfig;
use serde::Serialize;

/// Budget of a single-task balancer at 1,000 nodes, nanoseconds.
const BUDGET_NS: f64 = 10_000.0;
/// The cluster size the budget applies to.
const BUDGET_NODES: usize = 1_000;

/// Validated arguments.
#[derive(Debug)]
struct Args {
    quick: bool,
    nodes: Vec<usize>,
    decisions: usize,
    json: Option<std::path::PathBuf>,
    /// Only the configurations whose label contains this.
    only: Option<String>,
}

const USAGE: &str =
    "usage: decision-cost [--quick] [--nodes N[,N...]] [--decisions N] [--only LABEL-PART] [--json FILE]";

fn parse_args(raw: &[String]) -> Result<Option<Args>, String> {
    let mut args = Args { quick: false, nodes: vec![100, 1_000, 10_000], decisions: 0, json: None, only: None };
    let mut decisions = None;
    let mut it = raw.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name}: missing value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--quick" => args.quick = true,
            "--nodes" => {
                let v = value("--nodes")?;
                args.nodes = v
                    .split(',')
                    .map(|s| match s.trim().replace('_', "").parse::<usize>() {
                        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
                        _ => Err(format!("--nodes: {s:?} is not a node count in 1..=1000000")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--decisions" => {
                let v = value("--decisions")?;
                decisions = Some(match v.parse::<usize>() {
                    Ok(n) if n >= 1 => n,
                    _ => return Err(format!("--decisions: must be a positive integer, got {v:?}")),
                });
            }
            "--json" => args.json = Some(value("--json")?.into()),
            "--only" => args.only = Some(value("--only")?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    args.decisions = decisions.unwrap_or(if args.quick { 1_000 } else { 20_000 });
    Ok(Some(args))
}

/// One measured cell.
struct Cell {
    label: &'static str,
    config: BalancerConfig,
    nodes: usize,
    /// Samples asked for.
    requested: usize,
    cost: Cost,
}

impl Cell {
    /// Over the single-task budget: median or block figure above 10 µs at 1,000 nodes.
    fn over_budget(&self) -> Option<bool> {
        (self.cost.per == Per::Decision && self.nodes == BUDGET_NODES)
            .then(|| self.cost.median_ns.max(self.cost.block_median_ns) > BUDGET_NS)
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    fulcrum_version: &'static str,
    quick: bool,
    seed: u64,
    decisions: usize,
    round: usize,
    max_block: usize,
    batch_tasks: usize,
    nodes: &'a [usize],
    hardware_threads: usize,
    timer_overhead_ns: f64,
    budget_ns_at_1000_nodes: f64,
    results: Vec<JsonEntry<'a>>,
}

#[derive(Serialize)]
struct JsonEntry<'a> {
    label: &'static str,
    kind: &'static str,
    config: &'a BalancerConfig,
    nodes: usize,
    /// "decision" or "batch".
    per: &'static str,
    tasks_per_sample: usize,
    samples: usize,
    median_ns: f64,
    p99_ns: f64,
    mean_ns: f64,
    block_median_ns: f64,
    block_size: usize,
    /// Single-task balancers at 1,000 nodes: whether the median or block figure is above 10 µs.
    over_budget: Option<bool>,
}

/// Rounded to 0.1 ns, so the file does not carry meaningless digits.
fn tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Microseconds with three significant digits or so.
fn us(ns: f64) -> String {
    let x = ns / 1e3;
    if x < 1.0 {
        format!("{x:.3}")
    } else if x < 10.0 {
        format!("{x:.2}")
    } else if x < 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

fn thousands(n: usize) -> String {
    if n < 1000 {
        n.to_string()
    } else {
        format!("{},{:03}", thousands(n / 1000), n % 1000)
    }
}

fn write_json(path: &std::path::Path, report: &JsonReport<'_>) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, text + "\n")?;
    std::fs::rename(&tmp, path)
}

/// A table's last column, computed from a row's cells.
type RowTail = dyn Fn(&[&Cell]) -> String;

/// Rows by label in `labels` order, cells by `nodes`: `cell` formats one measured cell, "–" marks
/// one not measured; `tail` adds the row's last columns.
fn table(
    header: &str,
    columns: [&str; 3],
    nodes: &[usize],
    labels: &[&'static str],
    cells: &[&Cell],
    cell: impl Fn(&Cell) -> [String; 3],
    tail: Option<(&str, &RowTail)>,
) -> String {
    let mut out = format!("| {header} |");
    let mut rule = String::from("|---|");
    for &n in nodes {
        let n = thousands(n);
        for c in columns {
            out.push_str(&format!(" {c} ({n}) |"));
            rule.push_str("---:|");
        }
    }
    if let Some((name, _)) = tail {
        out.push_str(&format!(" {name} |"));
        rule.push_str(":---:|");
    }
    out.push('\n');
    out.push_str(&rule);
    out.push('\n');
    for label in labels {
        let row: Vec<&Cell> = cells.iter().copied().filter(|c| c.label == *label).collect();
        if row.is_empty() {
            continue;
        }
        out.push_str(&format!("| {label} |"));
        for &n in nodes {
            match row.iter().find(|c| c.nodes == n) {
                Some(c) => {
                    let [a, b, c] = cell(c);
                    out.push_str(&format!(" {a} | {b} | {c} |"));
                }
                None => out.push_str(" – | – | – |"),
            }
        }
        if let Some((_, tail)) = tail {
            out.push_str(&format!(" {} |", tail(&row)));
        }
        out.push('\n');
    }
    out
}

/// `†` after a cell's first figure when the time budget stopped it short of the samples asked.
fn dagger(c: &Cell) -> &'static str {
    if c.cost.samples < c.requested {
        "†"
    } else {
        ""
    }
}

/// The single-task table: median, p99 and block‡ per node count, and the budget flag.
fn single_table(nodes: &[usize], labels: &[&'static str], cells: &[Cell]) -> String {
    let single: Vec<&Cell> = cells.iter().filter(|c| c.cost.per == Per::Decision).collect();
    let flag = |row: &[&Cell]| {
        match row.iter().find_map(|c| c.over_budget()) {
            Some(true) => "**over**",
            Some(false) => "yes",
            None => "n/a",
        }
        .to_string()
    };
    table(
        "balancer",
        ["median", "p99", "block‡"],
        nodes,
        labels,
        &single,
        |c| [format!("{}{}", us(c.cost.median_ns), dagger(c)), us(c.cost.p99_ns), us(c.cost.block_median_ns)],
        Some(("≤ 10 µs at 1,000", &flag)),
    )
}

/// The batch table: per-batch median and p99, and per-task median, per node count.
fn batch_table(nodes: &[usize], labels: &[&'static str], cells: &[Cell]) -> String {
    let batch: Vec<&Cell> = cells.iter().filter(|c| c.cost.per != Per::Decision).collect();
    if batch.is_empty() {
        return "No batch balancer (`batching()` is `Some`) among the benchmarked configurations.\n".to_string();
    }
    table(
        "batch balancer",
        ["batch median", "batch p99", "per task"],
        nodes,
        labels,
        &batch,
        |c| {
            [
                format!("{}{}", us(c.cost.median_ns), dagger(c)),
                us(c.cost.p99_ns),
                us(c.cost.median_ns / c.cost.tasks_per_sample() as f64),
            ]
        },
        None,
    )
}

/// The wall clock, for the report's total run time.
#[allow(clippy::disallowed_methods)] // the decision-cost report measures wall time by design
fn wall_clock() -> std::time::Instant {
    std::time::Instant::now()
}

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&raw) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("decision-cost: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let mut configs = benched();
    if let Some(only) = &args.only {
        configs.retain(|(label, _)| label.contains(only.as_str()));
        if configs.is_empty() {
            eprintln!("decision-cost: --only: no benchmarked configuration's label contains {only:?}");
            std::process::exit(2);
        }
    }
    let budget = Duration::from_secs(if args.quick { 1 } else { 15 });
    let overhead = timer_overhead_ns();
    let run_started = wall_clock();

    let mut cells = Vec::new();
    for &n in &args.nodes {
        eprintln!("{} nodes …", thousands(n));
        for (label, config) in &configs {
            let is_batch = DecisionLoop::new(config, 1, 1).is_batch();
            // A batch places BATCH_TASKS tasks: time as many tasks as for the others, in batches.
            let decisions = if is_batch { (args.decisions / BATCH_TASKS).max(20) } else { args.decisions };
            let options = MeasureOptions { budget: Some(budget), ..MeasureOptions::new(n, decisions) };
            let cost = measure_with(config, &options);
            eprintln!(
                "  {label}: median {} µs, p99 {} µs, block {} µs ({} samples)",
                us(cost.median_ns),
                us(cost.p99_ns),
                us(cost.block_median_ns),
                cost.samples
            );
            cells.push(Cell { label, config: config.clone(), nodes: n, requested: decisions, cost });
        }
    }

    println!(
        "Decision cost in µs per decision, release build, {} hardware threads, seed 1{}. Per cell: {} \
         individually timed decisions (median, p99) in rounds of {ROUND}, each round followed by a \
         block of decisions timed together, sized to last about {} µs (1 to {MAX_BLOCK} decisions); \
         block‡ is the median over blocks of the mean decision in the block. Learners \
         first hear a few thousand synthetic completions. Each individually timed decision includes \
         one timer reading, ≈ {:.0} ns on this machine; block‡ does not, so read it below 1 µs. \
         ≤ 10 µs at 1,000: the median and block‡ at 1,000 nodes are both at most 10 µs.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if args.quick { ", --quick" } else { "" },
        args.decisions,
        BLOCK_TARGET.as_micros(),
        overhead
    );
    println!();
    let labels: Vec<&'static str> = configs.iter().map(|(l, _)| *l).collect();
    print!("{}", single_table(&args.nodes, &labels, &cells));
    println!();
    println!(
        "Batch balancers, µs per `assign` of {BATCH_TASKS} tasks (median, p99) and per task (median / {BATCH_TASKS}), \
         {} batches per cell.",
        (args.decisions / BATCH_TASKS).max(20)
    );
    println!();
    print!("{}", batch_table(&args.nodes, &labels, &cells));
    println!();
    if cells.iter().any(|c| c.cost.samples < c.requested) {
        println!(
            "† stopped by the time budget ({} s per cell) with fewer samples; the JSON has the counts.",
            budget.as_secs()
        );
        println!();
    }
    println!("{} configurations; total run time {:.1} s.", configs.len(), run_started.elapsed().as_secs_f64());

    if let Some(path) = &args.json {
        let report = JsonReport {
            fulcrum_version: env!("CARGO_PKG_VERSION"),
            quick: args.quick,
            seed: 1,
            decisions: args.decisions,
            round: ROUND,
            max_block: MAX_BLOCK,
            batch_tasks: BATCH_TASKS,
            nodes: &args.nodes,
            hardware_threads: std::thread::available_parallelism().map_or(0, |n| n.get()),
            timer_overhead_ns: tenth(overhead),
            budget_ns_at_1000_nodes: BUDGET_NS,
            results: cells
                .iter()
                .map(|c| JsonEntry {
                    label: c.label,
                    kind: c.config.kind(),
                    config: &c.config,
                    nodes: c.nodes,
                    per: if c.cost.per == Per::Decision { "decision" } else { "batch" },
                    tasks_per_sample: c.cost.tasks_per_sample(),
                    samples: c.cost.samples,
                    median_ns: tenth(c.cost.median_ns),
                    p99_ns: tenth(c.cost.p99_ns),
                    mean_ns: tenth(c.cost.mean_ns),
                    block_median_ns: tenth(c.cost.block_median_ns),
                    block_size: c.cost.block_size,
                    over_budget: c.over_budget(),
                })
                .collect(),
        };
        if let Err(e) = write_json(path, &report) {
            eprintln!("decision-cost: {}: {e}", path.display());
            std::process::exit(3);
        }
        eprintln!("wrote {}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn arguments_parse_and_bad_ones_are_named() {
        let a = parse(&["--quick", "--nodes", "100,1_000", "--json", "x.json", "--only", "fit"]).unwrap().unwrap();
        assert_eq!(a.only.as_deref(), Some("fit"));
        assert!(a.quick);
        assert_eq!(a.nodes, vec![100, 1000]);
        assert_eq!(a.decisions, 1_000);
        assert_eq!(a.json.as_deref(), Some(std::path::Path::new("x.json")));
        assert_eq!(parse(&[]).unwrap().unwrap().decisions, 20_000);
        assert!(parse(&["--help"]).unwrap().is_none());
        assert!(parse(&["--nodes", "0"]).unwrap_err().contains("--nodes"));
        assert!(parse(&["--nodes"]).unwrap_err().contains("missing value"));
        assert!(parse(&["--decisions", "x"]).unwrap_err().contains("positive integer"));
        assert!(parse(&["--fast"]).unwrap_err().contains("\"--fast\""));
    }

    fn cell(label: &'static str, nodes: usize, per: Per, median_ns: f64, samples: usize) -> Cell {
        let cost = Cost {
            per,
            samples,
            median_ns,
            p99_ns: 2.0 * median_ns,
            mean_ns: median_ns,
            block_median_ns: median_ns,
            block_size: 1,
        };
        Cell { label, config: BalancerConfig::RoundRobin {}, nodes, requested: 100, cost }
    }

    #[test]
    fn tables_put_single_task_and_batch_balancers_apart() {
        let cells = [
            cell("fast", 100, Per::Decision, 50.0, 100),
            cell("fast", 1000, Per::Decision, 500.0, 100),
            cell("slow", 1000, Per::Decision, 12_000.0, 40),
            cell("batched", 1000, Per::Batch { tasks: 64 }, 640_000.0, 100),
        ];
        let labels = ["fast", "slow", "batched"];
        let single = single_table(&[100, 1000], &labels, &cells);
        let lines: Vec<&str> = single.lines().collect();
        assert_eq!(lines.len(), 4, "{single}");
        assert!(lines[0].starts_with("| balancer | median (100) | p99 (100) | block‡ (100) | median (1,000) |"));
        assert_eq!(lines[2], "| fast | 0.050 | 0.100 | 0.050 | 0.500 | 1.00 | 0.500 | yes |");
        assert_eq!(lines[3], "| slow | – | – | – | 12.0† | 24.0 | 12.0 | **over** |");
        let batch = batch_table(&[100, 1000], &labels, &cells);
        let lines: Vec<&str> = batch.lines().collect();
        assert_eq!(lines.len(), 3, "{batch}");
        assert_eq!(lines[2], "| batched | – | – | – | 640 | 1280 | 10.0 |");
        assert!(batch_table(&[100], &labels, &cells[..1]).starts_with("No batch balancer"));
        assert_eq!(
            single_table(&[100], &labels, &cells[..1]).lines().nth(2),
            Some("| fast | 0.050 | 0.100 | 0.050 | n/a |")
        );
    }

    #[test]
    fn figures_are_formatted_for_the_table() {
        assert_eq!(us(32.0), "0.032");
        assert_eq!(us(4_567.0), "4.57");
        assert_eq!(us(12_345.0), "12.3");
        assert_eq!(us(123_456.0), "123");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(100), "100");
        assert_eq!(thousands(1_002_003), "1,002,003");
    }
}
