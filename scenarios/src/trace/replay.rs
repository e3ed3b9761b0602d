//! From a trace to the simulator's tasks.
//!
//! At scenario load, [`TracePlan::build`] streams the file once: it checks every line (so a run
//! never fails halfway), applies the window (`start_s`, `limit`, the run's duration), maps each
//! record's resources to a demand vector, and collects the distinct task *shapes* (demand ×
//! priority) — they become the workload's task classes, so the simulator's per-class machinery
//! (feasible nodes, priorities, the scheduler's size estimate: the shape's mean work) applies
//! unchanged. Then every (strategy, replication) run opens the file again and streams it through
//! the same window and mapping ([`TracePlan`] is the run's
//! [`SourceFactory`](fulcrum_sim_core::workload::SourceFactory)); memory stays independent of the
//! trace's length. Only a file not sorted by submit time is held in memory (sorted once, shared
//! by the runs), with `"sort": true`.
//!
//! Common random numbers: the trace fixes arrivals, sizes and demands. What it lacks is drawn
//! from the replication's streams, identically for every strategy: missing work from the
//! task-sizes stream, the thinning or replication of `load_scale` from the arrivals stream.
//!
//! Time: simulated time 0 is `start_s` on the trace's clock (by default the first replayed
//! submission), and every trace duration is multiplied by `time_scale`, arrivals and work alike,
//! so it changes the pace and not the utilisation; `load_scale` changes the utilisation.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use fulcrum_sim_core::dist::{Dist, Sampler};
use fulcrum_sim_core::rng::{stream, Purpose, Stream};
use fulcrum_sim_core::workload::{NewTask, SourceFactory, TaskClass, TaskSource};
use fulcrum_sim_core::{SimDuration, SimTime};
use fulcrum_strategies::{NodeSpec, Resource, ResourceUnits, Resources, N_RESOURCES};
use rand::Rng;

use super::{open, ReaderOptions, RecordReader, TraceError, TraceFormat, TraceRecord};

/// Most distinct task shapes (demand × priority) a replayed window may have: each becomes a task
/// class, and the simulator keeps a feasible-node list per class.
pub const MAX_SHAPES: usize = 4096;

/// Most records a time-unsorted trace may hold in memory to be sorted.
pub const MAX_SORTED: usize = 50_000_000;

/// How the trace's load is scaled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LoadScale {
    /// Each task arrives `⌊k⌋` or `⌈k⌉` times (k < 1 thins; the fraction is drawn per task).
    Factor(f64),
    /// The factor that makes the trace's offered CPU load this fraction of the cluster's CPU
    /// capacity (cores × speed) over the replayed span.
    TargetUtilization(f64),
}

/// A validated `"workload": {"trace": …}`.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceSpec {
    /// The format.
    pub format: TraceFormat,
    /// Where the file is.
    pub path: PathBuf,
    /// The file as the scenario names it, for messages.
    pub name: String,
    /// Reader options.
    pub reader: ReaderOptions,
    /// Multiplies every trace duration (arrival offsets and work).
    pub time_scale: f64,
    /// Load scaling.
    pub load: LoadScale,
    /// Start of the window on the trace's clock (default: the first submission).
    pub start_s: Option<f64>,
    /// Most records replayed (jobs, submissions, task rows, requests).
    pub limit: Option<u64>,
    /// Sort the window in memory (for files not sorted by submit time).
    pub sort: bool,
    /// Cores per unit of the trace's CPU field.
    pub cpu_cores_per_unit: f64,
    /// GB per unit of the trace's memory field (0: memory is not simulated).
    pub memory_gb_per_unit: f64,
    /// Work, trace seconds, of a task whose trace gives none (scaled by `time_scale` too).
    pub default_work: Dist,
    /// Demand where the trace gives none: its CPU and memory stand in for missing fields, the
    /// other resources (disk, network, GPUs, FPGAs) are added to every task.
    pub default_demand: ResourceUnits,
    /// Credit to give the trace's authors (printed and kept in the outputs).
    pub attribution: Option<String>,
}

/// What the validation pass found (written to `replay.json` beside a run's results).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct TraceSummary {
    /// The file as the scenario names it.
    pub file: String,
    /// SHA-256 of the file's bytes (compressed, as stored), hex.
    pub sha256: String,
    /// Its format.
    pub format: String,
    /// The bad-line policy (`"error"` or `"skip"`).
    pub on_bad_line: String,
    /// Multiplier of every trace duration.
    pub time_scale: f64,
    /// Lines read (possibly not the whole file: reading stops after the window).
    pub lines: u64,
    /// Records replayed.
    pub records: u64,
    /// Tasks they stand for (records × instances), before `load_scale`.
    pub tasks: u64,
    /// Bad lines skipped (`"on_bad_line": "skip"`).
    pub skipped: u64,
    /// The first of them.
    pub first_skipped: Option<String>,
    /// Records of the trace's initial state (not replayed).
    pub initial: u64,
    /// Tasks the trace shows never running (not replayed).
    pub never_ran: u64,
    /// Records before `start_s`.
    pub before_start: u64,
    /// Records after the window (its `limit` or the run's end), for a window sorted in memory
    /// (a time-sorted trace stops reading at the first: see `stopped_early`).
    pub after_window: u64,
    /// Whether reading stopped before the end of the file.
    pub stopped_early: bool,
    /// Replayed records whose work is a lower bound (the trace ended first).
    pub censored: u64,
    /// Replayed records without work (drawn from `default_work_s`).
    pub missing_work: u64,
    /// Replayed records without CPU (the default demand's).
    pub missing_cpu: u64,
    /// Replayed records without memory (the default demand's).
    pub missing_memory: u64,
    /// The window's start on the trace's clock, seconds.
    pub start_s: f64,
    /// First and last replayed submission on the trace's clock, seconds.
    pub first_s: f64,
    /// Last replayed submission on the trace's clock.
    pub last_s: f64,
    /// Simulated time of the last arrival, seconds.
    pub span_s: f64,
    /// CPU core-seconds of work offered (simulated time, before `load_scale`).
    pub offered_core_s: f64,
    /// The load factor applied.
    pub load_scale: f64,
    /// Offered CPU load over the cluster's CPU capacity during the span, after `load_scale`.
    pub utilization: f64,
    /// Task classes (distinct shapes).
    pub classes: usize,
    /// The window was sorted in memory.
    pub sorted_in_memory: bool,
    /// Header facts of the file.
    pub header: Vec<(String, String)>,
    /// Credit to the trace's authors.
    pub attribution: Option<String>,
}

impl TraceSummary {
    /// The summary as lines of text.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "trace {} ({}): {} records replayed as {} tasks in {} classes, trace time {} s to {} s, {:.3} s simulated",
            self.file, self.format, self.records, self.tasks, self.classes, self.first_s, self.last_s, self.span_s
        )];
        out.push(format!(
            "  load scale {} (offered cpu utilisation {:.3} of the cluster); {} lines read{}{}",
            super::inspect::g(self.load_scale),
            self.utilization,
            self.lines,
            if self.stopped_early { ", stopped after the window" } else { "" },
            if self.sorted_in_memory { ", sorted in memory" } else { "" }
        ));
        let counts = [
            (self.skipped, "bad lines skipped"),
            (self.initial, "initial-state records not replayed"),
            (self.never_ran, "tasks that never ran not replayed"),
            (self.before_start, "records before start_s"),
            (self.after_window, "records after the window"),
            (self.censored, "censored (work is a lower bound)"),
            (self.missing_work, "without work (default_work_s)"),
            (self.missing_cpu, "without cpu (default_demand)"),
            (self.missing_memory, "without memory (default_demand)"),
        ];
        let noted: Vec<String> = counts.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect();
        if !noted.is_empty() {
            out.push(format!("  {}", noted.join("; ")));
        }
        if let Some(first) = &self.first_skipped {
            out.push(format!("  first bad line: {first}"));
        }
        if let Some(a) = &self.attribution {
            out.push(format!("  source: {a}"));
        }
        for key in ["Acknowledge", "Computer", "Installation"] {
            if let Some((_, v)) = self.header.iter().find(|(k, _)| k == key) {
                out.push(format!("  {key}: {v}"));
            }
        }
        out
    }
}

/// A task shape: what the simulator's task classes are made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Shape {
    priority: i32,
    demand: [u64; N_RESOURCES],
}

/// A record mapped to simulator units.
#[derive(Clone, Copy, Debug)]
struct Mapped {
    at: SimTime,
    work: Option<SimDuration>,
    shape: Shape,
    copies: u64,
}

/// A replayed task of a sorted-in-memory window.
#[derive(Clone, Copy, Debug)]
struct Entry {
    at: SimTime,
    work: Option<SimDuration>,
    class: u32,
    copies: u64,
}

/// The validated trace: its classes, its summary, and the recipe to replay it.
pub struct TracePlan {
    spec: TraceSpec,
    /// The workload's task classes, in shape order.
    pub classes: Vec<TaskClass>,
    shapes: BTreeMap<Shape, u32>,
    /// What the validation pass found.
    pub summary: TraceSummary,
    /// The window, sorted, for traces replayed with `"sort": true`.
    sorted: Option<Arc<Vec<Entry>>>,
    /// The file's size and modification time when validated.
    stamp: Option<(u64, Option<SystemTime>)>,
    end: SimTime,
    failures: Mutex<Vec<String>>,
}

impl std::fmt::Debug for TracePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracePlan").field("spec", &self.spec).field("summary", &self.summary).finish_non_exhaustive()
    }
}

impl PartialEq for TracePlan {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec && self.summary == other.summary && self.classes == other.classes
    }
}

/// The window of a time-sorted trace: the same for the validation pass and every replay.
struct Window {
    start: Option<f64>,
    horizon_s: f64,
    limit: u64,
    taken: u64,
    last: Option<(f64, u64)>,
    before: u64,
    /// Set when a record past the window was read (reading stops there).
    past: bool,
}

impl Window {
    fn new(spec: &TraceSpec, start: Option<f64>, duration_s: f64) -> Window {
        Window {
            start,
            horizon_s: duration_s,
            limit: spec.limit.unwrap_or(u64::MAX),
            taken: 0,
            last: None,
            before: 0,
            past: false,
        }
    }

    /// The next record of the window.
    fn next(&mut self, reader: &mut dyn RecordReader, spec: &TraceSpec) -> Result<Option<TraceRecord>, TraceError> {
        loop {
            if self.past {
                return Ok(None);
            }
            let Some(r) = reader.next_record()? else { return Ok(None) };
            if let Some((t, line)) = self.last {
                if r.submit_s < t {
                    return Err(TraceError {
                        file: spec.name.clone(),
                        line: r.line,
                        message: format!(
                            "submit time {} s is before the previous record's {} s (line {line}): the file is not \
                             sorted by submit time; set \"sort\": true to sort it in memory",
                            r.submit_s, t
                        ),
                    });
                }
            }
            self.last = Some((r.submit_s, r.line));
            let start = *self.start.get_or_insert(r.submit_s);
            if r.submit_s < start {
                self.before += 1;
                continue;
            }
            if self.taken >= self.limit || (r.submit_s - start) * spec.time_scale >= self.horizon_s {
                self.past = true;
                return Ok(None);
            }
            self.taken += 1;
            return Ok(Some(r));
        }
    }
}

/// Shape, work and arrival of a record; counts what it lacks into `summary` when given.
fn map(spec: &TraceSpec, r: &TraceRecord, start_s: f64, summary: Option<&mut TraceSummary>) -> Mapped {
    let mut units = spec.default_demand;
    if let Some(c) = r.cpu {
        units.cpu_cores = c * spec.cpu_cores_per_unit;
    }
    if let Some(m) = r.memory {
        units.memory_gb = m * spec.memory_gb_per_unit;
    }
    let mut demand = units.to_resources();
    if demand.is_zero() {
        // A task must hold something: a zero request becomes a thousandth of a core.
        demand.0[Resource::Cpu as usize] = 1;
    }
    if let Some(s) = summary {
        s.missing_work += u64::from(r.work_s.is_none());
        s.missing_cpu += u64::from(r.cpu.is_none());
        s.missing_memory += u64::from(r.memory.is_none() && spec.memory_gb_per_unit > 0.0);
        s.censored += u64::from(r.censored);
    }
    Mapped {
        at: SimTime::from_secs_f64((r.submit_s - start_s) * spec.time_scale),
        work: r.work_s.map(|w| SimDuration::from_secs_f64(w * spec.time_scale)),
        shape: Shape { priority: r.priority.unwrap_or(0), demand: demand.0 },
        copies: r.copies.max(1),
    }
}

/// Per-shape totals while validating.
#[derive(Clone, Copy, Debug, Default)]
struct ShapeStats {
    tasks: u64,
    known_work_s: f64,
    unknown: u64,
    first_line: u64,
}

impl TracePlan {
    /// Validates the trace of `spec` for a cluster of `nodes` and a run of `duration_s`
    /// simulated seconds; the message of an error names the file and the line.
    pub fn build(spec: TraceSpec, nodes: &[NodeSpec], duration_s: f64) -> Result<TracePlan, String> {
        let stamp = std::fs::metadata(&spec.path).ok().map(|m| (m.len(), m.modified().ok()));
        let mut reader = open(spec.format, &spec.path, &spec.name, &spec.reader).map_err(|e| e.to_string())?;
        let mut summary = TraceSummary {
            file: spec.name.clone(),
            sha256: sha256_of(&spec.path).map_err(|e| format!("{}: cannot read: {e}", spec.name))?,
            format: spec.format.name().to_string(),
            on_bad_line: spec.reader.bad_lines.name().to_string(),
            time_scale: spec.time_scale,
            attribution: spec.attribution.clone(),
            ..TraceSummary::default()
        };
        let mut shapes: BTreeMap<Shape, ShapeStats> = BTreeMap::new();
        let note = |m: &Mapped, line: u64, shapes: &mut BTreeMap<Shape, ShapeStats>| {
            let s = shapes.entry(m.shape).or_insert(ShapeStats { first_line: line, ..ShapeStats::default() });
            s.tasks += m.copies;
            match m.work {
                Some(w) => s.known_work_s += w.as_secs_f64() * m.copies as f64,
                None => s.unknown += m.copies,
            }
        };
        let mut last_at = SimTime::ZERO;
        let mut first_last: Option<(f64, f64)> = None;
        let mut sorted_raw: Vec<(Mapped, u64, f64)> = Vec::new();
        if spec.sort {
            // Every record, then sorted: the window needs the earliest submission.
            let mut all: Vec<TraceRecord> = Vec::new();
            while let Some(r) = reader.next_record().map_err(|e| e.to_string())? {
                if all.len() >= MAX_SORTED {
                    return Err(format!(
                        "{}: more than {MAX_SORTED} records to sort in memory; cut the file to the window you need",
                        spec.name
                    ));
                }
                all.push(r);
            }
            all.sort_by(|a, b| a.submit_s.total_cmp(&b.submit_s).then(a.line.cmp(&b.line)));
            let start = spec.start_s.or(all.first().map(|r| r.submit_s)).unwrap_or(0.0);
            let limit = spec.limit.unwrap_or(u64::MAX);
            for r in &all {
                if r.submit_s < start {
                    summary.before_start += 1;
                } else if summary.records >= limit || (r.submit_s - start) * spec.time_scale >= duration_s {
                    summary.after_window += 1;
                } else {
                    let m = map(&spec, r, start, Some(&mut summary));
                    note(&m, r.line, &mut shapes);
                    summary.records += 1;
                    summary.tasks += m.copies;
                    last_at = m.at;
                    first_last = Some((first_last.map_or(r.submit_s, |f| f.0), r.submit_s));
                    sorted_raw.push((m, r.line, r.submit_s));
                }
            }
            summary.start_s = start;
            summary.sorted_in_memory = true;
        } else {
            let mut window = Window::new(&spec, spec.start_s, duration_s);
            while let Some(r) = window.next(reader.as_mut(), &spec).map_err(|e| e.to_string())? {
                let start = window.start.unwrap_or(0.0);
                let m = map(&spec, &r, start, Some(&mut summary));
                note(&m, r.line, &mut shapes);
                summary.records += 1;
                summary.tasks += m.copies;
                last_at = m.at;
                first_last = Some((first_last.map_or(r.submit_s, |f| f.0), r.submit_s));
                if shapes.len() > MAX_SHAPES {
                    return Err(too_many_shapes(&spec.name, r.line));
                }
            }
            summary.before_start = window.before;
            summary.stopped_early = window.past;
            summary.start_s = window.start.unwrap_or(0.0);
        }
        let stats = reader.stats();
        summary.lines = stats.lines;
        summary.skipped = stats.skipped;
        summary.first_skipped = stats.first_skipped.as_ref().map(|e| e.to_string());
        summary.initial = stats.initial;
        summary.never_ran = stats.never_ran;
        summary.header = stats.header.clone();
        if summary.records == 0 {
            return Err(format!(
                "{}: no record to replay in the window ({} lines read, {} before start_s, {} bad lines skipped)",
                spec.name, summary.lines, summary.before_start, summary.skipped
            ));
        }
        if shapes.len() > MAX_SHAPES {
            return Err(too_many_shapes(&spec.name, 0));
        }
        let (first_s, last_s) = first_last.unwrap_or((0.0, 0.0));
        summary.first_s = first_s;
        summary.last_s = last_s;
        summary.span_s = last_at.as_secs_f64();

        // Every shape must fit some node.
        for (shape, s) in &shapes {
            let demand = Resources(shape.demand);
            if !nodes.iter().any(|n| demand.fits_in(&n.capacity)) {
                return Err(format!(
                    "{}:{}: no node can ever hold this task: {} ({} tasks of the window ask for as much; map the \
                     trace's units with cpu_cores_per_unit / memory_gb_per_unit, or choose larger nodes)",
                    spec.name,
                    s.first_line,
                    crate::validate::shortfall(&demand, nodes),
                    s.tasks
                ));
            }
        }

        // Classes: one per shape, in shape order; the scheduler's estimate is the shape's mean work.
        let default_work_s = spec.default_work.mean() * spec.time_scale;
        let index: BTreeMap<Shape, u32> = shapes.keys().enumerate().map(|(i, s)| (*s, i as u32)).collect();
        let classes: Vec<TaskClass> = shapes
            .iter()
            .map(|(shape, s)| {
                let mean = (s.known_work_s + s.unknown as f64 * default_work_s) / s.tasks.max(1) as f64;
                TaskClass {
                    name: shape_name(shape),
                    share: s.tasks as f64 / summary.tasks as f64,
                    work: Dist::Const { value: mean },
                    demand: Resources(shape.demand),
                    priority: shape.priority,
                }
            })
            .collect();
        summary.classes = classes.len();
        summary.offered_core_s = classes
            .iter()
            .map(|c| c.share * summary.tasks as f64 * c.work.mean() * c.demand.units(Resource::Cpu))
            .sum();
        let capacity: f64 = nodes.iter().map(|n| n.capacity.units(Resource::Cpu) * n.speed).sum();
        let base_utilization =
            if summary.span_s > 0.0 { summary.offered_core_s / (capacity * summary.span_s) } else { f64::NAN };
        summary.load_scale = match spec.load {
            LoadScale::Factor(k) => k,
            LoadScale::TargetUtilization(target) => {
                if !(base_utilization.is_finite() && base_utilization > 0.0) {
                    return Err(format!(
                        "{}: target_utilization needs a window with work spread over time (span {} s, {} core-seconds \
                         offered)",
                        spec.name, summary.span_s, summary.offered_core_s
                    ));
                }
                let k = target / base_utilization;
                if !(k > 0.0 && k <= 1000.0) {
                    return Err(format!(
                        "{}: target_utilization {target} needs load_scale {k:.4}, outside (0, 1000]: the trace \
                         offers {base_utilization:.4} of the cluster's cpu",
                        spec.name
                    ));
                }
                k
            }
        };
        summary.utilization = base_utilization * summary.load_scale;

        let sorted = spec.sort.then(|| {
            Arc::new(
                sorted_raw
                    .iter()
                    .map(|(m, _, _)| Entry { at: m.at, work: m.work, class: index[&m.shape], copies: m.copies })
                    .collect(),
            )
        });
        Ok(TracePlan {
            end: SimTime::from_secs_f64(duration_s),
            spec,
            classes,
            shapes: index,
            summary,
            sorted,
            stamp,
            failures: Mutex::new(Vec::new()),
        })
    }

    /// The validated options.
    pub fn spec(&self) -> &TraceSpec {
        &self.spec
    }

    /// Problems met while replaying (the file changed or could not be read since it was
    /// validated); a run that met one replayed fewer tasks than the trace holds.
    pub fn failures(&self) -> Vec<String> {
        self.failures.lock().map(|f| f.clone()).unwrap_or_default()
    }

    fn fail(&self, message: String) {
        if let Ok(mut f) = self.failures.lock() {
            if !f.contains(&message) {
                f.push(message);
            }
        }
    }
}

/// SHA-256 of a file's bytes, hex, read in blocks.
fn sha256_of(path: &std::path::Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn too_many_shapes(file: &str, line: u64) -> String {
    let at = if line > 0 { format!("{file}:{line}") } else { file.to_string() };
    format!(
        "{at}: more than {MAX_SHAPES} distinct task shapes (demand x priority) in the window; map the trace's units \
         more coarsely or replay a shorter window"
    )
}

/// `cpu0.5-mem2-p9`: a class name from a shape.
fn shape_name(shape: &Shape) -> String {
    let d = Resources(shape.demand);
    let mut parts = Vec::new();
    for (r, short) in Resource::ALL.iter().zip(["cpu", "mem", "disk", "net", "gpu", "fpga"]) {
        if d.get(*r) > 0 || *r == Resource::Cpu {
            parts.push(format!("{short}{}", d.units(*r)));
        }
    }
    if shape.priority != 0 {
        parts.push(format!("p{}", shape.priority));
    }
    parts.join("-")
}

/// A [`TracePlan`] as the simulator's [`SourceFactory`]: every run streams the trace afresh.
#[derive(Clone, Debug)]
pub struct TraceSource(pub Arc<TracePlan>);

impl SourceFactory for TraceSource {
    fn open(&self, seed: u64, replication: u32) -> Box<dyn TaskSource> {
        let plan = &self.0;
        let input = match &plan.sorted {
            Some(entries) => Input::Sorted { entries: entries.clone(), next: 0 },
            None => plan.stream(),
        };
        Box::new(Replay {
            plan: plan.clone(),
            input,
            sizes: stream(seed, replication, Purpose::TaskSizes),
            thinning: stream(seed, replication, Purpose::Arrivals),
            default_work: plan.spec.default_work.sampler(),
            current: None,
            left: 0,
        })
    }

    fn describe(&self) -> String {
        let plan = &self.0;
        format!("{} trace {} ({} tasks)", plan.spec.format, plan.spec.name, plan.summary.tasks)
    }

    fn mean_rate(&self) -> f64 {
        let s = &self.0.summary;
        if s.span_s > 0.0 {
            s.tasks as f64 * s.load_scale / s.span_s
        } else {
            0.0
        }
    }
}

impl TracePlan {
    /// A fresh stream over the file, or nothing (with a failure noted) if it changed.
    fn stream(&self) -> Input {
        let now = std::fs::metadata(&self.spec.path).ok().map(|m| (m.len(), m.modified().ok()));
        if now != self.stamp {
            self.fail(format!("{}: the file changed after the scenario was validated", self.spec.name));
            return Input::Done;
        }
        match open(self.spec.format, &self.spec.path, &self.spec.name, &self.spec.reader) {
            Ok(reader) => Input::Stream {
                reader,
                window: Window::new(&self.spec, Some(self.summary.start_s), self.end.as_secs_f64()),
            },
            Err(e) => {
                self.fail(e.to_string());
                Input::Done
            }
        }
    }
}

enum Input {
    Stream { reader: Box<dyn RecordReader>, window: Window },
    Sorted { entries: Arc<Vec<Entry>>, next: usize },
    Done,
}

/// One run's replay of a [`TracePlan`].
struct Replay {
    plan: Arc<TracePlan>,
    input: Input,
    sizes: Stream,
    thinning: Stream,
    default_work: Sampler,
    current: Option<Entry>,
    left: u64,
}

impl Replay {
    /// The next entry of the window, mapped to a class.
    fn next_entry(&mut self) -> Option<Entry> {
        let plan = &self.plan;
        let (entry, failure) = match &mut self.input {
            Input::Done => (None, None),
            Input::Sorted { entries, next } => {
                *next += 1;
                (entries.get(*next - 1).copied(), None)
            }
            Input::Stream { reader, window } => match window.next(reader.as_mut(), &plan.spec) {
                Ok(Some(r)) => {
                    let m = map(&plan.spec, &r, plan.summary.start_s, None);
                    match plan.shapes.get(&m.shape) {
                        Some(&class) => (Some(Entry { at: m.at, work: m.work, class, copies: m.copies }), None),
                        None => (
                            None,
                            Some(format!(
                                "{}:{}: a task shape the validation did not see: the file changed",
                                plan.spec.name, r.line
                            )),
                        ),
                    }
                }
                Ok(None) => (None, None),
                Err(e) => (None, Some(e.to_string())),
            },
        };
        if let Some(message) = failure {
            plan.fail(message);
            self.input = Input::Done;
        }
        entry
    }

    /// How many tasks an entry of `copies` becomes under the load scale.
    fn scaled(&mut self, copies: u64) -> u64 {
        let k = self.plan.summary.load_scale;
        if k == 1.0 {
            return copies;
        }
        let whole = k.floor() as u64;
        let fraction = k - k.floor();
        (0..copies).map(|_| whole + u64::from(self.thinning.random::<f64>() < fraction)).sum()
    }
}

impl TaskSource for Replay {
    fn next_task(&mut self) -> Option<NewTask> {
        while self.left == 0 {
            let e = self.next_entry()?;
            self.left = self.scaled(e.copies);
            self.current = Some(e);
        }
        self.left -= 1;
        let e = self.current?;
        let work = match e.work {
            Some(w) => w,
            None => SimDuration::from_secs_f64(self.default_work.sample(&mut self.sizes) * self.plan.spec.time_scale),
        };
        Some(NewTask { arrival: e.at, class: e.class, work })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::BadLines;
    use fulcrum_strategies::Resources;

    /// An SWF job line: number, submit, run time, processors.
    fn job(n: u64, submit: f64, run: f64, procs: i64) -> String {
        format!("{n} {submit} -1 {run} {procs} -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n")
    }

    fn spec(path: &std::path::Path) -> TraceSpec {
        TraceSpec {
            format: TraceFormat::Swf,
            path: path.to_path_buf(),
            name: "t.swf".into(),
            reader: ReaderOptions::default(),
            time_scale: 1.0,
            load: LoadScale::Factor(1.0),
            start_s: None,
            limit: None,
            sort: false,
            cpu_cores_per_unit: 1.0,
            memory_gb_per_unit: 0.0,
            default_work: Dist::Const { value: 7.0 },
            default_demand: ResourceUnits { cpu_cores: 1.0, ..ResourceUnits::default() },
            attribution: None,
        }
    }

    fn nodes(cores: u64) -> Vec<NodeSpec> {
        vec![NodeSpec { capacity: Resources([cores * 1000, 0, 0, 0, 0, 0]), speed: 1.0 }; 2]
    }

    fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn drain(plan: &Arc<TracePlan>, seed: u64, replication: u32) -> Vec<NewTask> {
        let mut source = TraceSource(plan.clone()).open(seed, replication);
        std::iter::from_fn(|| source.next_task()).collect()
    }

    #[test]
    fn the_window_maps_times_work_and_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let text: String = [
            job(1, 100.0, 10.0, 1),
            job(2, 150.0, 20.0, 2),
            job(3, 200.0, -1.0, 1), // no run time: the default work
            job(4, 250.0, 30.0, 4),
            job(5, 300.0, 40.0, 1),
            job(6, 900.0, 50.0, 1),
        ]
        .concat();
        let path = write(dir.path(), "t.swf", &text);
        let spec = TraceSpec { start_s: Some(150.0), limit: Some(3), time_scale: 0.5, ..spec(&path) };
        let plan = Arc::new(TracePlan::build(spec, &nodes(4), 1000.0).unwrap());
        let s = &plan.summary;
        assert_eq!((s.records, s.tasks, s.before_start, s.missing_work, s.classes), (3, 3, 1, 1, 3));
        assert!(s.stopped_early, "the limit stops reading at job 5");
        assert_eq!((s.first_s, s.last_s, s.span_s), (150.0, 250.0, 50.0));
        // Classes by shape: 1, 2 and 4 cores; the 1-core class's estimate is its one (default) task.
        let names: Vec<&str> = plan.classes.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["cpu1", "cpu2", "cpu4"]);
        assert_eq!(plan.classes[0].work.mean(), 3.5);
        assert_eq!(plan.classes[1].work.mean(), 10.0);
        let tasks = drain(&plan, 1, 0);
        let got: Vec<(f64, u32, f64)> =
            tasks.iter().map(|t| (t.arrival.as_secs_f64(), t.class, t.work.as_secs_f64())).collect();
        assert_eq!(got, [(0.0, 1, 10.0), (25.0, 0, 3.5), (50.0, 2, 15.0)]);
        // The run's end cuts the window too: 60 simulated s = trace 150 s to 270 s.
        let spec = TraceSpec { start_s: Some(150.0), time_scale: 0.5, ..self::spec(&path) };
        let plan = Arc::new(TracePlan::build(spec, &nodes(4), 60.0).unwrap());
        assert_eq!(plan.summary.records, 3);
        assert_eq!(drain(&plan, 1, 0).len(), 3);
    }

    #[test]
    fn load_scale_thins_and_replicates_the_same_way_for_every_run_of_a_replication() {
        let dir = tempfile::tempdir().unwrap();
        let text: String = (0..10_000).map(|i| job(i + 1, i as f64, 5.0, 1)).collect();
        let path = write(dir.path(), "t.swf", &text);
        for (k, sd) in [(0.5, 50.0), (2.5, 50.0)] {
            let spec = TraceSpec { load: LoadScale::Factor(k), ..spec(&path) };
            let plan = Arc::new(TracePlan::build(spec, &nodes(4), 1e6).unwrap());
            let a = drain(&plan, 3, 0);
            // Binomial: 10,000 draws of a Bernoulli(0.5) part, sd 50.
            assert!((a.len() as f64 - 10_000.0 * k).abs() < 5.0 * sd, "k {k}: {} tasks", a.len());
            assert_eq!(a, drain(&plan, 3, 0), "the same replication sees the same tasks");
            assert_ne!(a, drain(&plan, 3, 1), "another replication draws again");
            assert!(a.windows(2).all(|w| w[0].arrival <= w[1].arrival));
        }
        // A target utilisation: 10,000 tasks of 5 core-seconds over 9,999 s on 8 cores is 0.625.
        let spec = TraceSpec { load: LoadScale::TargetUtilization(0.5), ..spec(&path) };
        let plan = TracePlan::build(spec, &nodes(4), 1e6).unwrap();
        assert!((plan.summary.load_scale - 0.5 / (50_000.0 / (8.0 * 9_999.0))).abs() < 1e-12);
        assert!((plan.summary.utilization - 0.5).abs() < 1e-12);
    }

    #[test]
    fn missing_work_is_drawn_from_the_task_sizes_stream() {
        let dir = tempfile::tempdir().unwrap();
        let text: String = (0..4_000).map(|i| job(i + 1, i as f64, -1.0, 1)).collect();
        let path = write(dir.path(), "t.swf", &text);
        let spec = TraceSpec { default_work: Dist::Exp { mean: 2.0 }, ..spec(&path) };
        let plan = Arc::new(TracePlan::build(spec, &nodes(4), 1e6).unwrap());
        let a = drain(&plan, 9, 0);
        assert_eq!(a, drain(&plan, 9, 0));
        let mean = a.iter().map(|t| t.work.as_secs_f64()).sum::<f64>() / a.len() as f64;
        // Exp(2): sd of the mean over 4,000 is 2 / sqrt(4000) = 0.032.
        assert!((mean - 2.0).abs() < 0.16, "mean work {mean}");
        assert_eq!(plan.summary.missing_work, 4_000);
    }

    #[test]
    fn an_unsorted_file_is_refused_or_sorted_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let text = [job(1, 10.0, 1.0, 1), job(2, 30.0, 2.0, 1), job(3, 20.0, 3.0, 2), job(4, 5.0, 4.0, 1)].concat();
        let path = write(dir.path(), "t.swf", &text);
        let err = TracePlan::build(spec(&path), &nodes(4), 1e6).err().unwrap();
        assert_eq!(
            err,
            "t.swf:3: submit time 20 s is before the previous record's 30 s (line 2): the file is not sorted by \
             submit time; set \"sort\": true to sort it in memory"
        );
        let plan = Arc::new(TracePlan::build(TraceSpec { sort: true, ..spec(&path) }, &nodes(4), 1e6).unwrap());
        assert!(plan.summary.sorted_in_memory);
        let got: Vec<(f64, f64)> =
            drain(&plan, 1, 0).iter().map(|t| (t.arrival.as_secs_f64(), t.work.as_secs_f64())).collect();
        assert_eq!(got, [(0.0, 4.0), (5.0, 1.0), (15.0, 3.0), (25.0, 2.0)]);
    }

    #[test]
    fn oversize_tasks_and_bad_lines_are_named_and_skips_counted() {
        let dir = tempfile::tempdir().unwrap();
        let text = [job(1, 10.0, 1.0, 1), job(2, 11.0, 1.0, 8), job(3, 12.0, 1.0, 8)].concat();
        let path = write(dir.path(), "t.swf", &text);
        let err = TracePlan::build(spec(&path), &nodes(4), 1e6).err().unwrap();
        assert!(
            err.starts_with(
                "t.swf:2: no node can ever hold this task: it needs 8 cpu_cores and the largest node has 4 (2 tasks"
            ),
            "{err}"
        );
        let text = [job(1, 10.0, 1.0, 1), "2 11 x\n".to_string(), job(3, 12.0, 1.0, 1)].concat();
        let path = write(dir.path(), "bad.swf", &text);
        let err = TracePlan::build(spec(&path), &nodes(4), 1e6).err().unwrap();
        assert_eq!(err, "t.swf:2: field 3 (wait time) is not a number: `x`");
        let mut skip = spec(&path);
        skip.reader.bad_lines = BadLines::Skip;
        let plan = TracePlan::build(skip, &nodes(4), 1e6).unwrap();
        assert_eq!((plan.summary.records, plan.summary.skipped), (2, 1));
        assert_eq!(plan.summary.first_skipped.as_deref(), Some("t.swf:2: field 3 (wait time) is not a number: `x`"));
    }

    #[test]
    fn a_file_changed_after_validation_is_reported_not_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "t.swf", &[job(1, 0.0, 1.0, 1), job(2, 1.0, 1.0, 1)].concat());
        let plan = Arc::new(TracePlan::build(spec(&path), &nodes(4), 1e6).unwrap());
        assert_eq!(drain(&plan, 1, 0).len(), 2);
        assert!(plan.failures().is_empty());
        std::fs::write(&path, [job(1, 0.0, 1.0, 1), job(2, 1.0, 1.0, 1), job(3, 2.0, 1.0, 1)].concat()).unwrap();
        assert_eq!(drain(&plan, 1, 0).len(), 0);
        assert_eq!(plan.failures(), ["t.swf: the file changed after the scenario was validated"]);
    }
}
