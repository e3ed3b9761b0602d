//! `fulcrum report DIR`: the charts and `report.html` drawn again from a results directory, and
//! the drawing code `fulcrum run` shares with it (so the two cannot drift apart).
//!
//! It reads `summary.json` (required) and `report-data.json` (written by `fulcrum run`; without
//! it, as in a merged sweep variant, only the charts `summary.json` supports are drawn) and
//! writes `charts/*.svg`, `charts/*.png`, `report.html`, `results.tex` and `results.md` into the
//! directory, each atomically.
//! Nothing runs again; the files are byte-identical to the run's when nothing is changed.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use fulcrum_reports::charts::Chart;
use fulcrum_reports::{ReportData, Summary};
use rayon::prelude::*;

use crate::{all_cores, worker_pool, Failure};

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// A results directory: summary.json and, from `fulcrum run`, report-data.json.
    dir: PathBuf,
    /// The strategy label report.html compares the others to, and whose nodes the heatmap shows
    /// [default: the run's baseline].
    #[arg(long)]
    baseline: Option<String>,
    /// Only report.html, without charts (neither charts/*.svg and charts/*.png nor inline).
    #[arg(long)]
    no_charts: bool,
    /// Worker threads [default: all cores]. The files do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    threads: Option<u32>,
    /// Print nothing on success.
    #[arg(long)]
    quiet: bool,
}

fn bad(error: String) -> Failure {
    Failure { code: 2, error: anyhow::anyhow!(error) }
}

/// The index of `label` among the summary's labels, or an error listing them.
pub(crate) fn baseline_index(summary: &Summary, label: &str) -> Result<usize, Failure> {
    summary.results.iter().position(|r| r.label == label).ok_or_else(|| {
        let labels: Vec<&str> = summary.results.iter().map(|r| r.label.as_str()).collect();
        bad(format!("--baseline {label:?}: no such strategy; the labels are {}", labels.join(", ")))
    })
}

pub(crate) fn report(args: &ReportArgs) -> Result<(), Failure> {
    let dir = &args.dir;
    if !dir.is_dir() {
        return Err(bad(format!("{}: not a results directory", dir.display())));
    }
    if dir.join("manifest.json").is_file() && !dir.join("summary.json").exists() {
        return Err(bad(format!(
            "{}: a sweep directory; its results are per variant: fulcrum report {}",
            dir.display(),
            dir.join("variants").join("NAME").display()
        )));
    }
    let summary_path = dir.join("summary.json");
    let text = std::fs::read_to_string(&summary_path)
        .map_err(|e| bad(format!("{}: cannot read it: {e}", summary_path.display())))?;
    let summary = Summary::from_json(&text, &summary_path.display().to_string()).map_err(bad)?;
    let data_path = dir.join("report-data.json");
    let data = match std::fs::read_to_string(&data_path) {
        Ok(text) => ReportData::from_json(&text, &data_path.display().to_string(), &summary).map_err(bad)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !args.quiet {
                eprintln!(
                    "note: {} not found: drawing only what summary.json holds (no time series, distributions or heatmap)",
                    data_path.display()
                );
            }
            let mut data = ReportData::from_summary(&summary);
            data.brief = brief_beside(dir, &summary);
            data
        }
        Err(e) => return Err(bad(format!("{}: cannot read it: {e}", data_path.display()))),
    };
    let baseline = match &args.baseline {
        Some(label) => baseline_index(&summary, label)?,
        None => summary.results.iter().position(|r| r.label == data.baseline).unwrap_or(0),
    };
    let pool = worker_pool(args.threads.map_or_else(all_cores, |t| t as usize))?;
    let written = draw(&pool, dir, &summary, &data, baseline, !args.no_charts)?;
    if !args.quiet {
        for f in &written {
            println!("wrote {}", f.display());
        }
    }
    Ok(())
}

/// The scenario in brief from the `scenario.json` beside a summary (a merged sweep variant keeps
/// one), if it is the scenario the summary ran (same SHA-256); else a line saying what is missing.
fn brief_beside(dir: &Path, summary: &Summary) -> Vec<String> {
    let file = dir.join("scenario.json");
    match crate::load(Some(&file), None) {
        Ok(scenario) if scenario.sha256 == summary.scenario.sha256 => {
            crate::scenario_brief(&scenario, summary.results.len(), summary.replications)
        }
        _ => vec!["The scenario's description is not in this directory (no report-data.json).".to_string()],
    }
}

/// Draws every chart the data supports into `dir/charts` and writes `dir/report.html` with them
/// inline (without `with_charts`, the report alone), and the report's tables as `results.tex` and
/// `results.md`; returns the paths written, in a fixed order.
pub(crate) fn draw(
    pool: &rayon::ThreadPool,
    dir: &Path,
    summary: &Summary,
    data: &ReportData,
    baseline: usize,
    with_charts: bool,
) -> Result<Vec<PathBuf>, Failure> {
    let charts = if with_charts { fulcrum_reports::charts::charts(data, summary, baseline) } else { Vec::new() };
    let mut written = Vec::new();
    if with_charts {
        let chart_dir = dir.join("charts");
        std::fs::create_dir_all(&chart_dir)
            .with_context(|| format!("cannot create chart directory {}", chart_dir.display()))?;
        // Each chart renders on its own; collected in chart order, so the list is deterministic.
        let files: Vec<std::io::Result<[PathBuf; 2]>> =
            pool.install(|| charts.par_iter().map(|chart| chart.write(&chart_dir)).collect());
        for paths in files {
            written.extend(paths.with_context(|| format!("cannot write charts to {}", chart_dir.display()))?);
        }
    }
    // report.html: the charts inline, rendered again as SVG text (about a millisecond each).
    let rendered: Vec<(Chart, String)> = pool
        .install(|| charts.par_iter().map(|c| c.svg().map(|svg| (c.clone(), svg))).collect::<Result<_, _>>())
        .context("cannot draw charts for report.html")?;
    let html = fulcrum_reports::html::report_html(summary, &data.brief, &rendered, baseline);
    // The report's tables for a paper (LaTeX, booktabs) and for a README or an issue (Markdown).
    for (name, text) in [
        ("report.html", html),
        ("results.tex", fulcrum_reports::tables::latex(summary, baseline)),
        ("results.md", fulcrum_reports::tables::markdown(summary, baseline)),
    ] {
        let path = dir.join(name);
        fulcrum_reports::write_atomic(&path, |w| w.write_all(text.as_bytes()))
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
