//! `fulcrum`: the command-line front end. It parses arguments, loads and validates a scenario,
//! runs every (strategy, replication) pair in parallel, and writes the results. All the logic
//! lives in the library crates; this file only wires them together and maps errors to exit codes:
//! 0 success, 2 bad input (scenario or arguments), 3 any other failure (e.g. an unwritable output
//! directory). Exit code 1 is reserved for "regression found" (`fulcrum compare`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use fulcrum_reports::{comparison_table, write_study, LabelInfo, Study, Summary};
use fulcrum_scenarios::trace::{BadLines, TraceFormat};
use fulcrum_scenarios::{LoadOptions, Scenario, ScenarioError};
use fulcrum_sim_core::metrics::RunOutput;
use fulcrum_sim_core::RunOptions;
use fulcrum_strategies::{catalogue, Resource, Role, StrategyInfo};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

mod report;
mod sweep;
mod tune;

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Parser)]
#[command(
    name = "fulcrum",
    version,
    about = "Deterministic testbed for load balancing and failover in task schedulers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario (the built-in quickstart if no file is given) and write its results.
    Run(RunArgs),
    /// Check a scenario file without running it.
    Validate {
        /// The scenario file.
        file: PathBuf,
        /// What to do with a bad line of a replayed trace [default: the scenario's, "error"].
        #[arg(long, value_enum)]
        on_bad_line: Option<OnBadLine>,
    },
    /// List every strategy with its parameters and defaults.
    Strategies,
    /// Show one logged decision as a table, or where two strategies first decide differently
    /// (reads DIR/decisions.jsonl, written by `run --decision-log`).
    Explain(ExplainArgs),
    /// Search a strategy's parameters for the best value of a metric (training replications),
    /// then report it on held-out replications; writes best.json, trials.csv, tune.json and a
    /// convergence chart.
    Tune(TuneArgs),
    /// Workload traces: `fulcrum trace inspect FILE --format F` prints what a trace holds.
    #[command(subcommand)]
    Trace(TraceCommand),
    /// Compare a run to a baseline (each a summary.json or a results directory): per label and
    /// metric, the difference with a 95% CI, paired by replication when the seeds match. Exits 1
    /// if a metric got significantly worse by more than its threshold.
    Compare(CompareArgs),
    /// Run a sweep: a base scenario x a grid of parameter values x strategies x replications, as
    /// independent runs (all, or one shard of them), one result file per run; re-running skips
    /// finished runs. `--emit-slurm` writes a Slurm job-array script instead.
    Sweep(sweep::SweepArgs),
    /// Combine sweep directories (shards) into one, with every variant's summary.json and runs.csv.
    Merge(sweep::MergeArgs),
    /// Draw the charts and report.html of a results directory again, from its summary.json and
    /// report-data.json (nothing runs; e.g. with another --baseline).
    Report(report::ReportArgs),
}

#[derive(Args)]
struct TuneArgs {
    /// The scenario file.
    file: PathBuf,
    /// The strategy entry to tune: its label (or its kind, for an entry without a label).
    #[arg(long)]
    label: String,
    /// A parameter and its range, PATH=LO..HI inside the entry (e.g. `d=1..8`,
    /// `weights.least_allocated=0..1`); the catalogue says which are integers. Repeatable.
    #[arg(long = "param", required = true)]
    params: Vec<String>,
    /// The metric to optimise (a column of runs.csv).
    #[arg(long, default_value = "mean_response_s")]
    objective: String,
    /// Maximise the objective (default: minimise).
    #[arg(long)]
    maximise: bool,
    /// A constraint on a metric's mean: METRIC=V, METRIC<=V or METRIC>=V. Repeatable.
    #[arg(long = "constraint")]
    constraints: Vec<String>,
    /// Configurations to evaluate, the scenario's own included.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(2..=100_000))]
    budget: u32,
    /// Training replications [default: the scenario's replications].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    train: Option<u32>,
    /// Held-out replications, after the training ones [default: the scenario's replications].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    holdout: Option<u32>,
    /// Output directory [default: fulcrum-results/<scenario name>-tune-<label>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    threads: Option<u32>,
    /// Print nothing on success.
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum TraceCommand {
    /// Print what a trace holds: records, time span, arrival rate over time, size and demand
    /// distributions, the fields it lacks (two streaming passes over the file).
    Inspect(InspectArgs),
}

#[derive(Args)]
struct InspectArgs {
    /// The trace file (gzipped or not).
    file: PathBuf,
    /// Its format: swf, google-2011, alibaba-2017, alibaba-2018, azure-llm or csv.
    #[arg(long, value_parser = parse_format)]
    format: TraceFormat,
    /// What to do with a line that cannot be read.
    #[arg(long, value_enum, default_value = "error")]
    on_bad_line: OnBadLine,
    /// Bins of the arrival rate over time.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=1000))]
    bins: u32,
    /// csv: a column, as KEY=NAME or KEY=INDEX (KEY: time, work, end, cpu, memory, priority).
    #[arg(long = "column", value_name = "KEY=COLUMN")]
    columns: Vec<String>,
    /// csv: the file has no header line (columns by index only).
    #[arg(long)]
    no_header: bool,
    /// csv: unit of the time, work and end columns (s, ms, us, ns).
    #[arg(long, default_value = "s")]
    time_unit: String,
}

/// `--on-bad-line`.
#[derive(Clone, Copy, ValueEnum)]
enum OnBadLine {
    /// Stop with an error naming the file and line.
    Error,
    /// Skip the line and count it.
    Skip,
}

impl OnBadLine {
    fn policy(self) -> BadLines {
        match self {
            OnBadLine::Error => BadLines::Error,
            OnBadLine::Skip => BadLines::Skip,
        }
    }
}

fn parse_format(s: &str) -> Result<TraceFormat, String> {
    TraceFormat::parse(s).ok_or_else(|| format!("unknown trace format {s:?}, expected one of {}", TraceFormat::names()))
}

#[derive(Args)]
struct CompareArgs {
    /// The baseline: a summary.json, or a results directory holding one.
    baseline: PathBuf,
    /// The run to check, likewise.
    current: PathBuf,
    /// How much worse METRIC may get before it is a regression: a share of the baseline mean
    /// (`p99_response_s=5%`) or an absolute value in the metric's unit (`failed_tasks=0`);
    /// `*=T` sets the default (0: any significant worsening). Repeatable; overrides --policy.
    #[arg(long = "max-regression", value_name = "METRIC=T")]
    max_regression: Vec<String>,
    /// A JSON policy: {"max_regression": {"p99_response_s": "5%", "*": "10%"}, "metrics": [...],
    /// "labels": [...], "direction": {"metric": "lower" | "higher"}}.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Only these metrics (comma-separated) [default: every metric with a direction].
    #[arg(long, value_delimiter = ',')]
    metrics: Option<Vec<String>>,
    /// Only these labels (comma-separated) [default: every label in both].
    #[arg(long, value_delimiter = ',')]
    labels: Option<Vec<String>>,
    /// Print GitHub-flavoured Markdown (for a CI job summary) instead of the table.
    #[arg(long)]
    markdown: bool,
    /// Also write JUnit XML: one test case per label x metric, a failure per regression.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

#[derive(Args)]
struct ExplainArgs {
    /// A results directory written by `fulcrum run --decision-log`.
    dir: PathBuf,
    /// The task whose decisions to show.
    #[arg(long, required_unless_present = "diff", conflicts_with = "diff")]
    task: Option<u64>,
    /// Only this strategy label.
    #[arg(long)]
    label: Option<String>,
    /// Replication.
    #[arg(long, default_value_t = 0)]
    replication: usize,
    /// Show the first decision where strategy A and strategy B choose differently.
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    diff: Option<Vec<String>>,
    /// Read strategy B of --diff from this other results directory (default: DIR).
    #[arg(long, requires = "diff")]
    against: Option<PathBuf>,
    /// Candidates shown per decision, best first (the chosen node is always shown).
    #[arg(long, default_value_t = 20)]
    top: usize,
}

#[derive(Args)]
struct RunArgs {
    /// Scenario file (JSON). Without it, the built-in `quickstart` scenario runs.
    file: Option<PathBuf>,
    /// Output directory [default: fulcrum-results/<scenario name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replications per strategy (overrides the scenario's `replications`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    replications: Option<u32>,
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    threads: Option<u32>,
    /// Also write tasks.csv: one row per task.
    #[arg(long)]
    task_log: bool,
    /// Also write events.csv: faults, suspicions, re-admissions and migrations.
    #[arg(long)]
    event_log: bool,
    /// Also write cost.json: the wall-clock time each balancer spends per decision (median, p99).
    /// It varies between runs and machines, so it is kept out of the results.
    #[arg(long)]
    decision_cost: bool,
    /// Also write decisions.jsonl: each balancer decision with, per candidate node, the filter
    /// that rejected it or its score terms (read it with `fulcrum explain`). Changes no result.
    #[arg(long)]
    decision_log: bool,
    /// Decisions logged per run (strategy x replication) with --decision-log.
    #[arg(long, default_value_t = 1000, requires = "decision_log")]
    decision_limit: u32,
    /// Also write trace.json: replication 0 of every strategy as a Chrome trace-event timeline
    /// (open it in https://ui.perfetto.dev): task executions per node, faults, suspicions and
    /// migrations, queue-length counters.
    #[arg(long)]
    trace: bool,
    /// Most events in trace.json (split evenly between strategies).
    #[arg(long, default_value_t = fulcrum_reports::trace::DEFAULT_TRACE_LIMIT, requires = "trace")]
    trace_limit: usize,
    /// Do not draw the charts (charts/*.svg and charts/*.png).
    #[arg(long)]
    no_charts: bool,
    /// The strategy label report.html compares the others to [default: the first].
    #[arg(long)]
    baseline: Option<String>,
    /// Print nothing on success (no progress bar, no table).
    #[arg(long)]
    quiet: bool,
    /// What to do with a bad line of a replayed trace [default: the scenario's, "error"].
    #[arg(long, value_enum)]
    on_bad_line: Option<OnBadLine>,
}

/// An error with its exit code.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl From<ScenarioError> for Failure {
    fn from(e: ScenarioError) -> Self {
        let code = match e {
            ScenarioError::Read { .. } | ScenarioError::Invalid { .. } => 2,
        };
        Failure { code, error: e.into() }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure { code: 3, error }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Validate { file, on_bad_line } => validate(&file, on_bad_line),
        Command::Strategies => {
            print!("{}", strategies_text());
            Ok(())
        }
        Command::Explain(args) => explain(&args),
        Command::Tune(args) => tune_command(args),
        Command::Trace(TraceCommand::Inspect(args)) => inspect(&args),
        Command::Compare(args) => compare(&args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Merge(args) => sweep::merge(&args),
        Command::Report(args) => report::report(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A regression is a finding, not an error.
        Err(f) if f.code == 1 => {
            eprintln!("{:#}", f.error);
            ExitCode::from(1)
        }
        Err(f) => {
            eprintln!("error: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

fn tune_command(args: TuneArgs) -> Result<(), Failure> {
    let bad = |e: String| Failure { code: 2, error: anyhow::anyhow!(e) };
    let scenario = load(Some(&args.file), None)?;
    let params = args
        .params
        .iter()
        .map(|p| tune::Param::parse(p).map_err(|e| bad(format!("--param {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let constraints = args
        .constraints
        .iter()
        .map(|c| tune::Constraint::parse(c).map_err(|e| bad(format!("--constraint {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let spec = tune::TuneSpec {
        file: args.file.clone(),
        label: args.label.clone(),
        params,
        objective: args.objective.clone(),
        direction: if args.maximise { tune::Direction::Maximise } else { tune::Direction::Minimise },
        constraints,
        budget: args.budget as usize,
        train: args.train.unwrap_or(scenario.replications),
        holdout: args.holdout.unwrap_or(scenario.replications),
    };
    let threads =
        args.threads.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |t| t as usize);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().context("cannot start worker threads")?;
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let (spec, tuned) = pool.install(|| tune::tune(spec, show_progress))?;
    let out_dir = args.out.clone().unwrap_or_else(|| {
        Path::new("fulcrum-results").join(dir_name(&format!("{}-tune-{}", scenario.name, args.label)))
    });
    let (report, written) = tune::write_tuned(&out_dir, &spec, &tuned, scenario.sim.seed, &scenario.name)
        .with_context(|| format!("cannot write results to {}", out_dir.display()))?;
    if !args.quiet {
        print!("{report}");
        for f in written {
            println!("wrote {}", f.display());
        }
    }
    Ok(())
}

fn load(file: Option<&Path>, on_bad_line: Option<OnBadLine>) -> Result<Scenario, Failure> {
    let options = LoadOptions { on_bad_line: on_bad_line.map(OnBadLine::policy) };
    Ok(match file {
        Some(path) => fulcrum_scenarios::load_with(path, &options)?,
        None => {
            let (name, json) = fulcrum_scenarios::default_scenario();
            fulcrum_scenarios::parse_str(json, &format!("<built-in {name}>"))?
        }
    })
}

fn validate(file: &Path, on_bad_line: Option<OnBadLine>) -> Result<(), Failure> {
    let s = load(Some(file), on_bad_line)?;
    println!(
        "{}: ok: scenario {:?}, {} nodes in {} groups, {} task classes, {} faults, {} strategy combinations, {} replications",
        file.display(),
        s.name,
        s.sim.nodes.len(),
        s.sim.groups.len(),
        s.sim.workload.classes.len(),
        s.sim.faults.len(),
        s.combinations.len(),
        s.replications
    );
    if let Some(trace) = &s.trace {
        for line in trace.summary.lines() {
            println!("{line}");
        }
    }
    Ok(())
}

fn inspect(args: &InspectArgs) -> Result<(), Failure> {
    use fulcrum_scenarios::trace::generic::{Column, Columns};
    use fulcrum_scenarios::trace::ReaderOptions;
    let bad = |message: String| Failure { code: 2, error: anyhow::anyhow!(message) };
    let mut columns = Columns { header: !args.no_header, ..Columns::default() };
    columns.time_unit_s = match args.time_unit.as_str() {
        "s" => 1.0,
        "ms" => 1e-3,
        "us" => 1e-6,
        "ns" => 1e-9,
        other => return Err(bad(format!("--time-unit {other:?}: expected s, ms, us or ns"))),
    };
    for c in &args.columns {
        let Some((key, col)) = c.split_once('=') else {
            return Err(bad(format!("--column {c:?}: expected KEY=COLUMN, e.g. time=submit_s")));
        };
        let col = match col.parse::<usize>() {
            Ok(i) => Column::Index(i),
            Err(_) => Column::Name(col.to_string()),
        };
        match key {
            "time" => columns.time = col,
            "work" => columns.work = Some(col),
            "end" => columns.end = Some(col),
            "cpu" => columns.cpu = Some(col),
            "memory" => columns.memory = Some(col),
            "priority" => columns.priority = Some(col),
            other => {
                return Err(bad(format!(
                    "--column {c:?}: unknown key {other:?}, expected time, work, end, cpu, memory or priority"
                )))
            }
        }
    }
    if !args.columns.is_empty() && args.format != TraceFormat::Csv {
        return Err(bad(format!("--column applies to --format csv only, not {}", args.format)));
    }
    let options = ReaderOptions { bad_lines: args.on_bad_line.policy(), columns, ..ReaderOptions::default() };
    let name = args.file.display().to_string();
    let inspection =
        fulcrum_scenarios::trace::inspect::inspect(args.format, &args.file, &name, &options, args.bins as usize)
            .map_err(|e| bad(e.to_string()))?;
    print!("{}", inspection.text());
    Ok(())
}

fn strategies_text() -> String {
    let mut out = String::new();
    // Grouped by role, each group in catalogue order (entries of a role need not be adjacent).
    for role in Role::ALL {
        let key = match role {
            Role::Optimiser => "\"optimiser\", inside a \"batch\" balancer".to_string(),
            _ => format!("\"{}\"", role.scenario_key()),
        };
        out.push_str(&format!("{} (scenario key {key}):\n", format!("{role:?}s").to_lowercase()));
        for info in catalogue().iter().filter(|i| i.role == role) {
            strategy_text(&mut out, info);
        }
    }
    out.push_str("Every entry also takes an optional \"label\" (default: its kind).\n");
    out
}

fn explain(args: &ExplainArgs) -> Result<(), Failure> {
    use fulcrum_reports::explain::{decision_table, find_task, first_difference, read_decisions};
    let read = |dir: &Path| {
        read_decisions(&dir.join("decisions.jsonl")).map_err(|e| Failure {
            code: 2,
            error: anyhow::anyhow!("{e} (write it with `fulcrum run --decision-log`)"),
        })
    };
    let decisions = read(&args.dir)?;
    if let Some(task) = args.task {
        let found = find_task(&decisions, task, args.label.as_deref(), args.replication);
        if found.is_empty() {
            return Err(Failure {
                code: 2,
                error: anyhow::anyhow!(
                    "{}: no logged decision for task {task} in replication {}{} (the log keeps the first \
                     --decision-limit decisions of each run)",
                    args.dir.join("decisions.jsonl").display(),
                    args.replication,
                    args.label.as_ref().map_or(String::new(), |l| format!(" with label {l:?}"))
                ),
            });
        }
        for d in found {
            println!("{}", decision_table(d, args.top));
        }
        return Ok(());
    }
    let names = args.diff.as_ref().expect("clap requires --task or --diff");
    let other = match &args.against {
        Some(dir) => read(dir)?,
        None => Vec::new(),
    };
    let b_source = if args.against.is_some() { &other } else { &decisions };
    fn pick<'a>(
        all: &'a [fulcrum_reports::explain::Decision],
        label: &str,
        dir: &Path,
    ) -> Result<Vec<&'a fulcrum_reports::explain::Decision>, Failure> {
        let v: Vec<_> = all.iter().filter(|d| d.label == label).collect();
        if v.is_empty() {
            let mut labels: Vec<&str> = all.iter().map(|d| d.label.as_str()).collect();
            labels.dedup();
            return Err(Failure {
                code: 2,
                error: anyhow::anyhow!(
                    "{}: no decisions for label {label:?}; labels: {}",
                    dir.display(),
                    labels.join(", ")
                ),
            });
        }
        Ok(v)
    }
    let a = pick(&decisions, &names[0], &args.dir)?;
    let b = pick(b_source, &names[1], args.against.as_deref().unwrap_or(&args.dir))?;
    match first_difference(&a, &b) {
        None => {
            println!("{} and {} agree on every decision both logged ({} and {}).", names[0], names[1], a.len(), b.len())
        }
        Some((x, y)) => {
            println!(
                "first difference: replication {}, task {} attempt {}: {} chose {}, {} chose {}\n",
                x.replication,
                x.task,
                x.attempt,
                names[0],
                x.chosen.map_or("to wait".to_string(), |n| format!("node {n}")),
                names[1],
                y.chosen.map_or("to wait".to_string(), |n| format!("node {n}"))
            );
            println!("{}", decision_table(x, args.top));
            println!("{}", decision_table(y, args.top));
        }
    }
    Ok(())
}

fn bad_input(error: anyhow::Error) -> Failure {
    Failure { code: 2, error }
}

/// Reads a summary.json, or DIR/summary.json.
fn read_summary(path: &Path) -> Result<(String, fulcrum_reports::compare::SummaryFile), Failure> {
    let file = if path.is_dir() { path.join("summary.json") } else { path.to_path_buf() };
    let text = std::fs::read_to_string(&file).map_err(|e| {
        bad_input(if path.is_dir() && e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!(
                "{}: no summary.json in this directory (`fulcrum run --out DIR` writes one)",
                path.display()
            )
        } else {
            anyhow::anyhow!("{}: cannot read the file: {e}", file.display())
        })
    })?;
    let name = file.display().to_string();
    let summary = fulcrum_reports::compare::SummaryFile::from_json(&text, &name).map_err(|e| bad_input(e.into()))?;
    Ok((name, summary))
}

fn compare(args: &CompareArgs) -> Result<(), Failure> {
    use fulcrum_reports::compare::{self as cmp, Policy, Threshold};
    let (base_name, baseline) = read_summary(&args.baseline)?;
    let (cur_name, current) = read_summary(&args.current)?;
    let mut policy = match &args.policy {
        None => Policy::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| bad_input(anyhow::anyhow!("{}: cannot read the file: {e}", path.display())))?;
            Policy::from_json(&text, &path.display().to_string()).map_err(|e| bad_input(e.into()))?
        }
    };
    for spec in &args.max_regression {
        let (metric, threshold) = spec.split_once('=').ok_or_else(|| {
            bad_input(anyhow::anyhow!("--max-regression {spec:?}: write METRIC=THRESHOLD, e.g. p99_response_s=5%"))
        })?;
        let threshold =
            Threshold::parse(threshold).map_err(|e| bad_input(anyhow::anyhow!("--max-regression {spec:?}: {e}")))?;
        policy.thresholds.insert(metric.trim().to_string(), threshold);
    }
    if args.metrics.is_some() {
        policy.metrics.clone_from(&args.metrics);
    }
    if args.labels.is_some() {
        policy.labels.clone_from(&args.labels);
    }
    let comparison = cmp::compare(&baseline, &current, &policy).map_err(|e| bad_input(e.into()))?;
    let sides = cmp::Sides { baseline: &base_name, current: &cur_name, scenario: &baseline.scenario.name };
    if args.markdown {
        print!("{}", cmp::markdown(&comparison, &sides));
        for w in &comparison.warnings {
            eprintln!("warning: {w}");
        }
    } else {
        print!("{}", cmp::table(&comparison, &sides));
    }
    if let Some(path) = &args.junit {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fulcrum_reports::write_atomic(path, |w| cmp::junit(&comparison, &sides, w))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let regressions: Vec<String> = comparison.regressions().map(|r| r.describe()).collect();
    if regressions.is_empty() {
        return Ok(());
    }
    Err(Failure {
        code: 1,
        error: anyhow::anyhow!(
            "regression: {} metric{} significantly worse beyond the threshold:\n  {}",
            regressions.len(),
            if regressions.len() == 1 { "" } else { "s" },
            regressions.join("\n  ")
        ),
    })
}

fn strategy_text(out: &mut String, info: &StrategyInfo) {
    out.push_str(&format!("  {:<28} {}\n", info.kind, info.summary));
    for p in info.params {
        out.push_str(&format!("      {:<16} {:<16} default {:<8} {}\n", p.name, p.ty, p.default, p.doc));
    }
}

/// The scenario in a few lines, for report.html: `combinations` strategy combinations of it ran
/// `replications` times each.
fn scenario_brief(scenario: &Scenario, combinations: usize, replications: u32) -> Vec<String> {
    let sim = &scenario.sim;
    let mut lines = Vec::new();
    if let Some(d) = &scenario.description {
        lines.push(d.clone());
    }
    let groups: Vec<String> = sim
        .groups
        .iter()
        .map(|g| {
            let spec = &sim.nodes[g.first as usize];
            let units = |r| spec.capacity.units(r);
            let mut parts = vec![format!("{} cores", units(Resource::Cpu))];
            for (v, name) in [
                (units(Resource::Memory), "GB memory"),
                (units(Resource::Gpu), "GPUs"),
                (units(Resource::Fpga), "FPGAs"),
            ] {
                if v > 0.0 {
                    parts.push(format!("{v} {name}"));
                }
            }
            if spec.speed != 1.0 {
                parts.push(format!("speed {}", spec.speed));
            }
            format!("{} x {} ({})", g.name, g.count, parts.join(", "))
        })
        .collect();
    lines.push(format!("Cluster: {} nodes: {}.", sim.nodes.len(), groups.join("; ")));
    let classes: Vec<String> = sim
        .workload
        .classes
        .iter()
        .map(|c| format!("{} ({:.0}%, mean work {:.3} s)", c.name, 100.0 * c.share, c.work.mean()))
        .collect();
    lines.push(format!(
        "Workload: {:.3} tasks/s on average; classes {}.",
        sim.workload.mean_rate(),
        classes.join(", ")
    ));
    if let Some(trace) = &scenario.trace {
        lines.extend(trace.summary.lines().into_iter().map(|l| l.trim().to_string()));
    }
    lines.push(format!(
        "Run: {} s of simulated time after a {} s warm-up; heartbeats every {} s; {} dispatcher{}; the scheduler sees {}.",
        (sim.end.as_secs_f64() - sim.warmup.as_secs_f64()),
        sim.warmup.as_secs_f64(),
        sim.heartbeat.interval.as_secs_f64(),
        sim.dispatchers.count,
        if sim.dispatchers.count == 1 { "" } else { "s" },
        match sim.view {
            fulcrum_sim_core::config::ViewMode::Heartbeat { track_dispatches: true } => {
                "heartbeats plus its own dispatches since"
            }
            fulcrum_sim_core::config::ViewMode::Heartbeat { track_dispatches: false } => "heartbeats only",
            fulcrum_sim_core::config::ViewMode::Oracle => "the true state (oracle)",
        }
    ));
    lines.push(if sim.faults.is_empty() {
        "Faults: none.".to_string()
    } else {
        format!("Faults: {} fault specifications (the same fault times for every strategy).", sim.faults.len())
    });
    lines.push(format!("Strategies: {combinations} combinations x {replications} replications."));
    lines
}

/// A directory-safe version of a scenario name.
fn dir_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .collect();
    if s.trim_matches('.').is_empty() {
        "scenario".to_string()
    } else {
        s
    }
}

/// Every run of a scenario as (combination index, replication), in result order: combinations in
/// scenario order, replications ascending. `run` and `sweep` both expand scenarios with it.
fn scenario_runs(scenario: &Scenario) -> Vec<(usize, u32)> {
    let reps = scenario.replications;
    (0..scenario.combinations.len()).flat_map(|b| (0..reps).map(move |r| (b, r))).collect()
}

/// One run of [`scenario_runs`].
fn run_one(scenario: &Scenario, (combination, replication): (usize, u32), options: &RunOptions) -> RunOutput {
    fulcrum_sim_core::run(&scenario.sim, &scenario.combinations[combination].strategy, replication, options)
}

/// The names each combination's results carry.
fn label_infos(scenario: &Scenario) -> Vec<LabelInfo> {
    scenario
        .combinations
        .iter()
        .map(|c| LabelInfo {
            label: c.strategy.label.clone(),
            balancer: c.balancer.clone(),
            detector: c.detector.clone(),
            failover: c.failover.clone(),
        })
        .collect()
}

fn all_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn worker_pool(threads: usize) -> Result<rayon::ThreadPool, Failure> {
    Ok(rayon::ThreadPoolBuilder::new().num_threads(threads).build().context("cannot start worker threads")?)
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let mut scenario = load(args.file.as_deref(), args.on_bad_line)?;
    if let Some(r) = args.replications {
        scenario.replications = r;
    }
    let out_dir = args.out.clone().unwrap_or_else(|| Path::new("fulcrum-results").join(dir_name(&scenario.name)));
    if out_dir.exists() && !out_dir.is_dir() {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!("--out {}: exists and is not a directory", out_dir.display()),
        });
    }

    // Checked before anything runs, so a typo costs nothing.
    let baseline = match &args.baseline {
        None => 0,
        Some(label) => scenario.combinations.iter().position(|c| &c.strategy.label == label).ok_or_else(|| {
            let labels: Vec<&str> = scenario.combinations.iter().map(|c| c.strategy.label.as_str()).collect();
            Failure {
                code: 2,
                error: anyhow::anyhow!("--baseline {label:?}: no such strategy; the labels are {}", labels.join(", ")),
            }
        })?,
    };
    let reps = scenario.replications;
    let jobs = scenario_runs(&scenario);
    let pool = worker_pool(args.threads.map_or_else(all_cores, |t| t as usize))?;

    let options = RunOptions {
        task_log: args.task_log,
        event_log: args.event_log,
        decision_cost: args.decision_cost,
        decision_log: args.decision_log.then_some(args.decision_limit),
        ..RunOptions::default()
    };
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let progress = Progress::new(show_progress, jobs.len() as u64, &scenario.name);
    let outputs: Vec<RunOutput> = pool.install(|| {
        jobs.par_iter()
            .map(|&(b, rep)| {
                let strategy = &scenario.combinations[b].strategy;
                // Replication 0 also keeps what the heatmap and the timeline draw.
                let options = if rep == 0 {
                    RunOptions {
                        node_samples: !args.no_charts || args.trace,
                        event_log: options.event_log || args.trace,
                        exec_log: args.trace.then_some(args.trace_limit.min(u32::MAX as usize) as u32),
                        ..options
                    }
                } else {
                    options
                };
                let mut run = progress.run(&strategy.label, rep);
                let out =
                    fulcrum_sim_core::run_with_progress(&scenario.sim, strategy, rep, &options, &mut |p| run.update(p));
                progress.finish(run, out.metric("events").unwrap_or(0.0) as u64);
                out
            })
            .collect()
    });
    progress.done();
    if let Some(trace) = &scenario.trace {
        let failures = trace.failures();
        if !failures.is_empty() {
            return Err(Failure {
                code: 2,
                error: anyhow::anyhow!("replaying the trace failed, nothing was written: {}", failures.join("; ")),
            });
        }
    }

    let mut outputs = outputs.into_iter();
    let runs: Vec<Vec<RunOutput>> =
        scenario.combinations.iter().map(|_| outputs.by_ref().take(reps as usize).collect()).collect();
    let mut study = Study {
        scenario_name: scenario.name.clone(),
        scenario_sha256: scenario.sha256.clone(),
        seed: scenario.sim.seed,
        replications: reps,
        class_names: scenario.sim.workload.classes.iter().map(|c| c.name.clone()).collect(),
        node_groups: scenario.sim.groups.iter().map(|g| (g.name.clone(), g.first, g.count)).collect(),
        labels: label_infos(&scenario),
        runs,
        alert_rules: scenario.sim.alerts.clone(),
    };
    let summary = Summary::of(&study, VERSION);
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create output directory {}", out_dir.display()))?;
    let mut trace_note = None;
    let mut trace_path = None;
    if args.trace {
        let path = out_dir.join("trace.json");
        let mut counts = Default::default();
        fulcrum_reports::write_atomic(&path, |w| {
            counts = fulcrum_reports::trace::write_trace(w, &study, args.trace_limit)?;
            Ok(())
        })
        .with_context(|| format!("cannot write {}", path.display()))?;
        let counts: fulcrum_reports::trace::TraceCounts = counts;
        if counts.dropped > 0 {
            trace_note = Some(format!(
                "trace.json: {} events written, {} left out by --trace-limit {}",
                counts.written, counts.dropped, args.trace_limit
            ));
        }
        trace_path = Some(path);
        // The timeline needed replication 0's event log; events.csv only comes with --event-log.
        if !args.event_log {
            for runs in &mut study.runs {
                runs[0].events = None;
            }
        }
    }
    let mut files = write_study(&out_dir, &study, &summary)
        .with_context(|| format!("cannot write results to {}", out_dir.display()))?;
    files.written.extend(trace_path);
    if let Some(trace) = &scenario.trace {
        let path = out_dir.join("replay.json");
        let json = serde_json::to_string_pretty(&trace.summary).context("cannot serialise the trace summary")? + "\n";
        fulcrum_reports::write_atomic(&path, |w| w.write_all(json.as_bytes()))
            .with_context(|| format!("cannot write {}", path.display()))?;
        files.written.push(path);
    }
    if args.decision_cost {
        let path = out_dir.join("cost.json");
        fulcrum_reports::write_cost(&path, &study).with_context(|| format!("cannot write {}", path.display()))?;
        files.written.push(path);
    }
    // The charts and report.html are drawn from report-data.json's contents, as `fulcrum report`
    // draws them again.
    let data =
        fulcrum_reports::ReportData::of(&study, scenario_brief(&scenario, scenario.combinations.len(), reps), baseline);
    let path = out_dir.join("report-data.json");
    fulcrum_reports::write_atomic(&path, |w| w.write_all(data.to_json().as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    files.written.push(path);
    files.written.extend(report::draw(&pool, &out_dir, &summary, &data, baseline, !args.no_charts)?);

    if !args.quiet {
        println!(
            "{}: {} nodes, {} strategies x {} replications, seed {}",
            scenario.name,
            scenario.sim.nodes.len(),
            scenario.combinations.len(),
            reps,
            scenario.sim.seed
        );
        if let Some(trace) = &scenario.trace {
            for line in trace.summary.lines() {
                println!("{line}");
            }
        }
        println!(
            "mean ± 95% CI half-width over replications, after a {} s warm-up\n",
            scenario.sim.warmup.as_secs_f64()
        );
        print!("{}", comparison_table(&summary));
        println!();
        for f in &files.written {
            println!("wrote {}", f.display());
        }
        if let Some(note) = &trace_note {
            eprintln!("note: {note}");
        }
    }
    Ok(())
}

/// Progress on a terminal: one bar for the study (runs done, events per second, ETA) and one per
/// run in progress (simulated time, events per second). Hidden when stderr is not a terminal or
/// with `--quiet`; wall-clock readings here never reach the results.
struct Progress {
    multi: MultiProgress,
    overall: ProgressBar,
    shown: bool,
    events: std::sync::atomic::AtomicU64,
    #[allow(clippy::disallowed_types)]
    started: std::time::Instant,
}

/// One run's bar.
struct RunBar {
    bar: ProgressBar,
    #[allow(clippy::disallowed_types)]
    started: std::time::Instant,
}

impl RunBar {
    fn update(&mut self, p: fulcrum_sim_core::Progress) {
        if self.bar.is_hidden() {
            return;
        }
        self.bar.set_position(p.now.0 / p.end.0.max(1).div_ceil(100));
        let rate = p.events as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        self.bar.set_message(format!("{:.2} M events/s", rate / 1e6));
    }
}

impl Progress {
    #[allow(clippy::disallowed_methods)] // wall clock for the display only
    fn new(shown: bool, runs: u64, name: &str) -> Progress {
        let target = if shown { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(runs));
        overall.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix} [{bar:30}] {pos}/{len} runs, {msg}, {elapsed} elapsed, eta {eta}",
            )
            .expect("valid progress template")
            .progress_chars("=> "),
        );
        overall.set_prefix(name.to_string());
        overall.set_message("starting");
        if shown {
            overall.enable_steady_tick(Duration::from_millis(200));
        }
        Progress {
            multi,
            overall,
            shown,
            events: std::sync::atomic::AtomicU64::new(0),
            started: std::time::Instant::now(),
        }
    }

    #[allow(clippy::disallowed_methods)] // wall clock for the display only
    fn run(&self, label: &str, rep: u32) -> RunBar {
        let bar = if self.shown {
            let bar = self.multi.add(ProgressBar::new(100));
            bar.set_style(
                ProgressStyle::with_template("  {prefix:40!} [{bar:30}] {pos:>3}% simulated, {msg}")
                    .expect("valid progress template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(format!("#{rep} {label}"));
            bar
        } else {
            ProgressBar::hidden()
        };
        RunBar { bar, started: std::time::Instant::now() }
    }

    fn finish(&self, run: RunBar, events: u64) {
        run.bar.finish_and_clear();
        self.multi.remove(&run.bar);
        let total = self.events.fetch_add(events, std::sync::atomic::Ordering::Relaxed) + events;
        let rate = total as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        self.overall.set_message(format!("{:.2} M events/s", rate / 1e6));
        self.overall.inc(1);
    }

    fn done(&self) {
        self.overall.finish_and_clear();
    }
}
