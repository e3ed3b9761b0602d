//! `fulcrum sweep` and `fulcrum merge`: a grid of scenario variants expanded into independent runs
//! (with `run`'s own expansion, [`scenario_runs`]), run whole or in shards, one result file per
//! run, and merged into per-variant results identical to an unsharded sweep.
//!
//! Sharding is by position in the manifest's run list: shard *I* of *N* takes runs *I*, *I + N*,
//! … — so every shard gets a share of every variant. A shard skips runs whose result file exists
//! (a restarted or pre-empted shard finishes only what is missing); files are written under a
//! temporary name unique to the process and renamed, so shards may share one directory (as Slurm
//! array tasks on a shared file system do) and a killed shard leaves no half-written result.
//! Whichever shard finds every run finished writes the merged results.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use fulcrum_reports::sweep::{
    read_run, run_path, write_merged, write_shared, Exact, Manifest, RunAlerts, RunRef, RunResult, VariantEntry,
};
use fulcrum_reports::ScenarioRef;
use fulcrum_scenarios::sweep::{load_sweep, run_id, Sweep};
use fulcrum_sim_core::RunOptions;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::{all_cores, dir_name, label_infos, run_one, scenario_runs, worker_pool, Failure, VERSION};

#[derive(Args)]
pub(crate) struct SweepArgs {
    /// The sweep file (JSON): a base scenario, a grid of parameter values, labels, replications.
    file: PathBuf,
    /// Output directory [default: fulcrum-results/<sweep name>]. Shards of a sweep may share it.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run only shard I of N (I from 0): runs I, I+N, I+2N, ... [default: from SLURM_ARRAY_TASK_ID
    /// and SLURM_ARRAY_TASK_COUNT when set, else the whole sweep].
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Worker threads [default: SLURM_CPUS_PER_TASK when set, else all cores]. Results do not
    /// depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    threads: Option<u32>,
    /// Run nothing; write OUT/sweep.sbatch, a Slurm job-array script of --shards array tasks, each
    /// running one shard into OUT.
    #[arg(long)]
    emit_slurm: bool,
    /// Array tasks (shards) of the --emit-slurm script.
    #[arg(long, default_value_t = 4, requires = "emit_slurm", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    shards: u32,
    /// CPUs per array task in the --emit-slurm script (each task's thread count).
    #[arg(long, default_value_t = 2, requires = "emit_slurm", value_parser = clap::value_parser!(u32).range(1..=1024))]
    cpus_per_task: u32,
    /// An extra #SBATCH option for the --emit-slurm script, e.g. --sbatch=--time=02:00:00
    /// (repeatable).
    #[arg(long, requires = "emit_slurm", allow_hyphen_values = true, value_name = "OPTION")]
    sbatch: Vec<String>,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
pub(crate) struct MergeArgs {
    /// Sweep directories to combine (the shards' --out; one directory finishes it in place).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Where to write the merged sweep [default: the first DIR].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

fn bad(error: anyhow::Error) -> Failure {
    Failure { code: 2, error }
}

/// One distinct run to execute.
struct Job {
    /// Index in `Manifest::runs`.
    run: usize,
    variant: usize,
    combination: usize,
    replication: u32,
}

/// What a sweep runs, and the files every shard writes alike.
struct Plan {
    manifest: Manifest,
    manifest_json: String,
    jobs: Vec<Job>,
}

fn plan(sweep: &Sweep) -> Plan {
    let width = (sweep.variants.len().saturating_sub(1)).to_string().len().max(3);
    let mut variants = Vec::new();
    let mut runs: Vec<RunRef> = Vec::new();
    let mut jobs = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for v in &sweep.variants {
        let s = &v.scenario;
        let labels = label_infos(s);
        let mut run_ids = vec![Vec::new(); labels.len()];
        for (combination, replication) in scenario_runs(s) {
            let label = &labels[combination].label;
            let id = run_id(&s.sha256, label, replication);
            run_ids[combination].push(id.clone());
            if seen.insert(id.clone()) {
                jobs.push(Job { run: runs.len(), variant: v.index, combination, replication });
                runs.push(RunRef { id, variant: v.index, label: label.clone(), replication });
            }
        }
        variants.push(VariantEntry {
            name: format!("v{:0width$}", v.index),
            params: v.params.iter().cloned().collect(),
            scenario: ScenarioRef { name: s.name.clone(), sha256: s.sha256.clone() },
            seed: s.sim.seed,
            replications: s.replications,
            labels,
            run_ids,
        });
    }
    let manifest = Manifest {
        fulcrum_version: VERSION.to_string(),
        sweep: sweep.name.clone(),
        axes: sweep.axes.clone(),
        variants,
        runs,
    };
    let manifest_json = serde_json::to_string_pretty(&manifest).expect("a manifest serialises") + "\n";
    Plan { manifest, manifest_json, jobs }
}

/// `(I, N, where it came from)`.
fn shard_of(arg: Option<&str>) -> Result<(usize, usize, &'static str), Failure> {
    let parse = |text: &str, what: &str| {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| bad(anyhow::anyhow!("{what} {text:?}: write I/N, e.g. 0/4 for the first of four shards")))?;
        let i: usize =
            i.trim().parse().map_err(|_| bad(anyhow::anyhow!("{what} {text:?}: {i:?} is not a shard index")))?;
        let n: usize =
            n.trim().parse().map_err(|_| bad(anyhow::anyhow!("{what} {text:?}: {n:?} is not a shard count")))?;
        if n == 0 || i >= n {
            return Err(bad(anyhow::anyhow!("{what} {text:?}: need 0 <= I < N")));
        }
        Ok((i, n))
    };
    if let Some(text) = arg {
        let (i, n) = parse(text, "--shard")?;
        return Ok((i, n, "--shard"));
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(id) = env("SLURM_ARRAY_TASK_ID") else { return Ok((0, 1, "whole sweep")) };
    let number = |name: &str, value: &str| {
        value.trim().parse::<usize>().map_err(|_| bad(anyhow::anyhow!("{name}={value:?} is not a number")))
    };
    let count = env("SLURM_ARRAY_TASK_COUNT").ok_or_else(|| {
        bad(anyhow::anyhow!("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard I/N"))
    })?;
    let id = number("SLURM_ARRAY_TASK_ID", &id)?;
    let min = env("SLURM_ARRAY_TASK_MIN").map_or(Ok(0), |v| number("SLURM_ARRAY_TASK_MIN", &v))?;
    let step = env("SLURM_ARRAY_TASK_STEP").map_or(Ok(1), |v| number("SLURM_ARRAY_TASK_STEP", &v))?.max(1);
    let n = number("SLURM_ARRAY_TASK_COUNT", &count)?;
    let i = id.saturating_sub(min) / step;
    if n == 0 || i >= n {
        return Err(bad(anyhow::anyhow!(
            "Slurm array task {id} (array from {min}, step {step}) would be shard {i}, but SLURM_ARRAY_TASK_COUNT is \
             {n}; pass --shard I/N"
        )));
    }
    Ok((i, n, "Slurm array task"))
}

fn threads(arg: Option<u32>) -> usize {
    if let Some(t) = arg {
        return t as usize;
    }
    std::env::var("SLURM_CPUS_PER_TASK")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(all_cores)
}

fn create_dir(dir: &Path) -> Result<(), Failure> {
    Ok(std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))?)
}

/// Writes `path` unless it already holds exactly `bytes`.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    Ok(write_shared(path, bytes).with_context(|| format!("cannot write {}", path.display()))?)
}

/// Creates the sweep directory's layout, its manifest and the variants' scenario files; refuses
/// a directory that holds another sweep.
fn prepare(out: &Path, plan: &Plan, scenario_texts: &[&str]) -> Result<(), Failure> {
    if out.exists() && !out.is_dir() {
        return Err(bad(anyhow::anyhow!("--out {}: exists and is not a directory", out.display())));
    }
    let manifest = out.join("manifest.json");
    if let Ok(old) = std::fs::read_to_string(&manifest) {
        if old != plan.manifest_json {
            return Err(bad(anyhow::anyhow!(
                "{}: holds a different sweep (its manifest differs from this sweep file's expansion); use another \
                 --out, or delete the directory",
                manifest.display()
            )));
        }
    }
    create_dir(&out.join("runs"))?;
    for (v, text) in plan.manifest.variants.iter().zip(scenario_texts) {
        let dir = out.join("variants").join(&v.name);
        create_dir(&dir)?;
        write_if_changed(&dir.join("scenario.json"), text.as_bytes())?;
    }
    write_if_changed(&manifest, plan.manifest_json.as_bytes())
}

/// Every run's result from `dirs` (first found), or the runs missing.
fn collect(dirs: &[PathBuf], manifest: &Manifest) -> Result<(Vec<RunResult>, Vec<usize>), Failure> {
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for (i, run) in manifest.runs.iter().enumerate() {
        let mut found = None;
        for d in dirs {
            if let Some(r) = read_run(d, run).map_err(|e| bad(anyhow::anyhow!(e)))? {
                found = Some(r);
                break;
            }
        }
        match found {
            Some(r) => results.push(r),
            None => missing.push(i),
        }
    }
    Ok((results, missing))
}

fn finish(out: &Path, manifest: &Manifest, results: &[RunResult], quiet: bool) -> Result<(), Failure> {
    let written = write_merged(out, manifest, results, VERSION)
        .with_context(|| format!("cannot write the merged results to {}", out.display()))?;
    if !quiet {
        println!(
            "{}: all {} runs of {} variants done; per variant summary.json and runs.csv under {}, and {}",
            manifest.sweep,
            manifest.runs.len(),
            manifest.variants.len(),
            out.join("variants").display(),
            written.last().map_or(String::new(), |p| p.display().to_string())
        );
    }
    Ok(())
}

pub(crate) fn sweep(args: SweepArgs) -> Result<(), Failure> {
    let sweep = load_sweep(&args.file)?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("fulcrum-results").join(dir_name(&sweep.name)));
    let plan = plan(&sweep);
    if args.emit_slurm {
        return emit_slurm(&args, &sweep, &plan, &out);
    }
    let (shard, shards, source) = shard_of(args.shard.as_deref())?;
    let texts: Vec<&str> = sweep.variants.iter().map(|v| v.json.as_str()).collect();
    prepare(&out, &plan, &texts)?;

    let mine: Vec<&Job> = plan.jobs.iter().enumerate().filter(|(i, _)| i % shards == shard).map(|(_, j)| j).collect();
    let mut todo = Vec::new();
    for job in &mine {
        match read_run(&out, &plan.manifest.runs[job.run]) {
            Ok(Some(_)) => {}
            Ok(None) => todo.push(*job),
            Err(e) => {
                eprintln!("warning: {e}; running it again");
                todo.push(*job);
            }
        }
    }
    let n_threads = threads(args.threads);
    let pool = worker_pool(n_threads)?;
    let progress = if !args.quiet && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(todo.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} runs, {elapsed} elapsed, eta {eta}")
                .expect("valid progress template")
                .progress_chars("=> "),
        );
        bar.set_message(sweep.name.clone());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    } else {
        ProgressBar::hidden()
    };
    // Wall clock for the runs-per-second line only; no result depends on it.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let options = RunOptions::default();
    let written: Vec<std::io::Result<()>> = pool.install(|| {
        todo.par_iter()
            .map(|job| {
                let variant = &sweep.variants[job.variant];
                let output = run_one(&variant.scenario, (job.combination, job.replication), &options);
                let run = &plan.manifest.runs[job.run];
                let result = RunResult {
                    id: run.id.clone(),
                    scenario_sha256: variant.scenario.sha256.clone(),
                    label: run.label.clone(),
                    replication: run.replication,
                    metrics: output.metrics.iter().map(|&(name, v)| (name.to_string(), Exact(v))).collect(),
                    alerts: fulcrum_reports::alert_counts(&output, &variant.scenario.sim.alerts)
                        .into_iter()
                        .map(|(name, fired, firing_s)| (name, RunAlerts { fired, firing_s }))
                        .collect(),
                };
                let done = write_shared(&run_path(&out, &run.id), result.to_json().as_bytes());
                progress.inc(1);
                done
            })
            .collect()
    });
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    for w in written {
        w.with_context(|| format!("cannot write run results under {}", out.join("runs").display()))?;
    }
    if !args.quiet {
        eprintln!(
            "{}: shard {shard}/{shards} ({source}): {} runs, {} already done, {} run now in {seconds:.2} s \
             ({:.2} runs/s on {n_threads} threads)",
            sweep.name,
            mine.len(),
            mine.len() - todo.len(),
            todo.len(),
            if seconds > 0.0 { todo.len() as f64 / seconds } else { 0.0 }
        );
    }

    let (results, missing) = collect(std::slice::from_ref(&out), &plan.manifest)?;
    if missing.is_empty() {
        finish(&out, &plan.manifest, &results, args.quiet)
    } else {
        if !args.quiet {
            println!(
                "{}: {} of {} runs still to do in other shards; when they are done here, the last shard writes the \
                 merged results (or combine separate shard directories with `fulcrum merge`)",
                sweep.name,
                missing.len(),
                plan.manifest.runs.len()
            );
        }
        Ok(())
    }
}

pub(crate) fn merge(args: &MergeArgs) -> Result<(), Failure> {
    let out = args.out.clone().unwrap_or_else(|| args.dirs[0].clone());
    let read_manifest = |dir: &Path| {
        let path = dir.join("manifest.json");
        std::fs::read_to_string(&path).map_err(|e| {
            bad(anyhow::anyhow!(
                "{}: cannot read it ({e}): {} is not a sweep directory (`fulcrum sweep --out DIR` writes one)",
                path.display(),
                dir.display()
            ))
        })
    };
    let text = read_manifest(&args.dirs[0])?;
    for d in &args.dirs[1..] {
        if read_manifest(d)? != text {
            return Err(bad(anyhow::anyhow!(
                "{} and {}: their manifest.json differ, so they are not shards of the same sweep",
                args.dirs[0].join("manifest.json").display(),
                d.join("manifest.json").display()
            )));
        }
    }
    let manifest_path = args.dirs[0].join("manifest.json");
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| bad(anyhow::anyhow!("{}: not a sweep manifest: {e}", manifest_path.display())))?;
    let (results, missing) = collect(&args.dirs, &manifest)?;
    if let Some(&first) = missing.first() {
        let run = &manifest.runs[first];
        return Err(bad(anyhow::anyhow!(
            "{} of {} runs are in none of the directories given, e.g. run {} (variant {}, {}, replication {}); \
             finish the shards that hold them (re-running `fulcrum sweep` with the same --shard runs only what is \
             missing), or give every shard's directory",
            missing.len(),
            manifest.runs.len(),
            run.id,
            manifest.variants[run.variant].name,
            run.label,
            run.replication
        )));
    }

    // The merged directory holds what an unsharded sweep's does: manifest, scenarios, run files.
    create_dir(&out.join("runs"))?;
    for v in &manifest.variants {
        let dir = out.join("variants").join(&v.name);
        create_dir(&dir)?;
        let source = args
            .dirs
            .iter()
            .map(|d| d.join("variants").join(&v.name).join("scenario.json"))
            .find(|p| p.is_file())
            .ok_or_else(|| bad(anyhow::anyhow!("no directory given holds variants/{}/scenario.json", v.name)))?;
        let bytes = std::fs::read(&source).with_context(|| format!("cannot read {}", source.display()))?;
        write_if_changed(&dir.join("scenario.json"), &bytes)?;
    }
    for r in &results {
        // Run files are a pure function of their content, so rewriting gives the shard's bytes.
        write_if_changed(&run_path(&out, &r.id), r.to_json().as_bytes())?;
    }
    write_if_changed(&out.join("manifest.json"), text.as_bytes())?;
    finish(&out, &manifest, &results, args.quiet)
}

fn emit_slurm(args: &SweepArgs, sweep: &Sweep, plan: &Plan, out: &Path) -> Result<(), Failure> {
    let absolute = |p: &Path| -> Result<PathBuf, Failure> {
        Ok(if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().context("cannot read the current directory")?.join(p)
        })
    };
    let sweep_file = absolute(&args.file)?;
    let out_abs = absolute(out)?;
    let exe = std::env::current_exe().context("cannot find the fulcrum executable")?;
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let logs = out_abs.join("slurm-logs");
    create_dir(&logs)?;
    let runs = plan.jobs.len();
    let shards = args.shards.max(1);
    let mut script = format!(
        "#!/bin/bash\n\
         # Written by `fulcrum sweep --emit-slurm`: sweep {name:?} ({variants} variants, {runs} runs) as a Slurm job\n\
         # array of {shards} tasks. Each task runs one shard (about {per} runs) on {cpus} threads, writing one result\n\
         # file per run into the shared output directory; the last task to finish writes the merged results.\n\
         # A task that is pre-empted or fails can be re-run alone (sbatch --array=I THIS_FILE): it runs the\n\
         # runs of shard I not yet finished.\n\
         #SBATCH --job-name=fulcrum-{job}\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task={cpus}\n\
         #SBATCH --ntasks=1\n\
         #SBATCH --output={logs}/%A_%a.out\n",
        name = sweep.name,
        variants = sweep.variants.len(),
        per = runs.div_ceil(shards as usize),
        cpus = args.cpus_per_task,
        job = dir_name(&sweep.name),
        last = shards - 1,
        logs = logs.display(),
    );
    for option in &args.sbatch {
        script.push_str(&format!("#SBATCH {option}\n"));
    }
    script.push_str(&format!(
        "set -euo pipefail\n\
         # The shard count is fixed here rather than read from SLURM_ARRAY_TASK_COUNT, so that a re-submitted\n\
         # subset of the array still runs the right shards; the threads come from SLURM_CPUS_PER_TASK.\n\
         FULCRUM=\"${{FULCRUM:-{exe}}}\"\n\
         exec \"$FULCRUM\" sweep {sweep} --out {out} --shard \"$SLURM_ARRAY_TASK_ID/{shards}\"\n",
        exe = exe.display(),
        sweep = quote(&sweep_file),
        out = quote(&out_abs),
    ));
    let path = out_abs.join("sweep.sbatch");
    write_shared(&path, script.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    if !args.quiet {
        println!(
            "wrote {}: {shards} array tasks x {} CPUs for {runs} runs; submit it with `sbatch {}`",
            path.display(),
            args.cpus_per_task,
            path.display()
        );
    }
    Ok(())
}
