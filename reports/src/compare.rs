//! `fulcrum compare`: did a change make a strategy worse? Two `summary.json` files (a baseline and
//! a current run), and for every label present in both and every metric with a direction, the
//! difference current − baseline with a 95% confidence interval and a verdict.
//!
//! **Pairing.** Replication *r* of a scenario draws its workload, heartbeats and faults from
//! streams keyed by (seed, *r*), so two runs with the same seed show replication *r* of every
//! strategy the same tasks (common random numbers). When both summaries have the same seed and
//! the same replications, the interval is the Student-t interval of the per-replication
//! differences, which cancels the workload's own variance. Otherwise pairing is impossible and the
//! interval is Welch's (unequal variances, Welch–Satterthwaite degrees of freedom rounded down,
//! which widens it slightly); the comparison says so.
//!
//! **Verdict.** A row is a *regression* when its whole interval lies on the worse side of zero
//! (strictly) and the mean change exceeds the metric's threshold (relative to the baseline mean,
//! `5%`, or absolute, in the metric's unit). Which side is worse comes from [`DIRECTIONS`], the one
//! table of metric directions (a policy may add directions for other metrics). Without a threshold
//! any significant worsening is a regression.
//!
//! Everything here is pure: reading the files and printing are the caller's.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::stats::{mean_ci95, t975};

/// Which way a metric is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Lower is better (response times, failures).
    Lower,
    /// Higher is better (throughput, fairness).
    Higher,
}

/// The direction of every metric that has one. Metrics not listed (counts of the workload's own
/// making such as `submitted`, `faults`, `events`, or utilisations, where higher is neither better
/// nor worse) are not compared unless a policy gives them a direction.
pub const DIRECTIONS: &[(&str, Direction)] = &[
    ("mean_response_s", Direction::Lower),
    ("p50_response_s", Direction::Lower),
    ("p95_response_s", Direction::Lower),
    ("p99_response_s", Direction::Lower),
    ("mean_wait_s", Direction::Lower),
    ("throughput_per_s", Direction::Higher),
    ("balance_cv", Direction::Lower),
    ("jain_index", Direction::Higher),
    ("max_over_mean", Direction::Lower),
    ("detection_time_s", Direction::Lower),
    ("detection_time_p95_s", Direction::Lower),
    ("false_suspicions", Direction::Lower),
    ("mistake_duration_s", Direction::Lower),
    ("recovery_time_s", Direction::Lower),
    ("recovery_time_p95_s", Direction::Lower),
    ("unrecovered_faults", Direction::Lower),
    ("throughput_recovery_s", Direction::Lower),
    ("lost_work_s", Direction::Lower),
    ("duplicate_executions", Direction::Lower),
    ("failed_tasks", Direction::Lower),
];

/// The direction of `metric` in [`DIRECTIONS`].
pub fn direction(metric: &str) -> Option<Direction> {
    DIRECTIONS.iter().find(|(m, _)| *m == metric).map(|&(_, d)| d)
}

/// Bad input: unreadable or malformed files, unknown labels or metrics, bad thresholds.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A file could not be read.
    #[error("{file}: cannot read the file: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: io::Error,
    },
    /// A file is not what it should be.
    #[error("{file}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong, with the field path where there is one.
        message: String,
    },
    /// The selection or a threshold does not fit the summaries.
    #[error("{0}")]
    Selection(String),
}

/// How much worse a metric may get before it counts as a regression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    /// A fraction of the baseline mean (`5%` is 0.05).
    Relative(f64),
    /// In the metric's own unit.
    Absolute(f64),
}

impl Threshold {
    /// Parses `5%` (relative) or `0.5` (absolute); negative or non-finite values are refused.
    pub fn parse(text: &str) -> Result<Threshold, String> {
        let t = text.trim();
        let (number, relative) = match t.strip_suffix('%') {
            Some(n) => (n.trim(), true),
            None => (t, false),
        };
        let v: f64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a threshold: write a percentage such as 5% or an absolute value"))?;
        if !v.is_finite() || v < 0.0 {
            return Err(format!("{text:?}: a threshold must be a finite number at least 0"));
        }
        Ok(if relative { Threshold::Relative(v / 100.0) } else { Threshold::Absolute(v) })
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Threshold::Relative(r) => write!(f, "{}%", r * 100.0),
            Threshold::Absolute(a) => write!(f, "{a}"),
        }
    }
}

/// What to compare and the thresholds: from `--policy FILE` and the flags.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    /// Thresholds by metric; `"*"` is the default for metrics not named (0 without it).
    pub thresholds: BTreeMap<String, Threshold>,
    /// Only these metrics (default: every metric with a direction).
    pub metrics: Option<Vec<String>>,
    /// Only these labels (default: every label in both summaries).
    pub labels: Option<Vec<String>>,
    /// Directions for metrics [`DIRECTIONS`] does not list, or overriding it.
    pub directions: BTreeMap<String, Direction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    max_regression: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    metrics: Option<Vec<String>>,
    #[serde(default)]
    labels: Option<Vec<String>>,
    #[serde(default)]
    direction: BTreeMap<String, Direction>,
}

impl Policy {
    /// Parses a policy file:
    /// `{"max_regression": {"p99_response_s": "5%", "failed_tasks": 0, "*": "10%"},
    ///   "metrics": [...], "labels": [...], "direction": {"events": "lower"}}` (every key optional;
    /// a number is an absolute threshold). `file` names it in errors.
    pub fn from_json(text: &str, file: &str) -> Result<Policy, CompareError> {
        let invalid = |message: String| CompareError::Invalid { file: file.to_string(), message };
        let mut de = serde_json::Deserializer::from_str(text);
        let raw: RawPolicy = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            invalid(if path == "." { e.inner().to_string() } else { format!("{path}: {}", e.inner()) })
        })?;
        let mut thresholds = BTreeMap::new();
        for (metric, value) in raw.max_regression {
            let parsed = match &value {
                serde_json::Value::Number(n) => Threshold::parse(&n.to_string()),
                serde_json::Value::String(s) => Threshold::parse(s),
                other => Err(format!("{other} is not a threshold: write \"5%\" or a number")),
            };
            thresholds.insert(metric.clone(), parsed.map_err(|e| invalid(format!("max_regression.{metric}: {e}")))?);
        }
        Ok(Policy { thresholds, metrics: raw.metrics, labels: raw.labels, directions: raw.direction })
    }

    /// The threshold of `metric`.
    pub fn threshold(&self, metric: &str) -> Threshold {
        self.thresholds.get(metric).or_else(|| self.thresholds.get("*")).copied().unwrap_or(Threshold::Relative(0.0))
    }

    /// The direction of `metric`: the policy's, else [`DIRECTIONS`].
    pub fn direction(&self, metric: &str) -> Option<Direction> {
        self.directions.get(metric).copied().or_else(|| direction(metric))
    }
}

/// The parts of a `summary.json` a comparison reads (other fields are ignored, so summaries
/// written by other versions still compare).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct SummaryFile {
    /// The scenario.
    pub scenario: ScenarioId,
    /// Master seed.
    pub seed: u64,
    /// Replications per label.
    pub replications: u32,
    /// Per label.
    pub results: Vec<LabelResults>,
}

/// Scenario identity.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ScenarioId {
    /// Name.
    pub name: String,
    /// SHA-256 of the scenario file.
    pub sha256: String,
}

/// One label's metrics.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct LabelResults {
    /// The label.
    pub label: String,
    /// Metrics by name, in the file's order.
    pub metrics: IndexMap<String, MetricValues>,
}

/// One metric of one label.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct MetricValues {
    /// Per replication, in replication order; `null` (undefined) becomes NaN.
    #[serde(deserialize_with = "nulls_as_nan")]
    pub per_replication: Vec<f64>,
}

fn nulls_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    let v: Vec<Option<f64>> = Deserialize::deserialize(d)?;
    Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
}

impl SummaryFile {
    /// Parses `summary.json` text; `file` names it in errors.
    pub fn from_json(text: &str, file: &str) -> Result<SummaryFile, CompareError> {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            CompareError::Invalid {
                file: file.to_string(),
                message: if path == "." {
                    format!("not a summary.json: {}", e.inner())
                } else {
                    format!("not a summary.json: {path}: {}", e.inner())
                },
            }
        })
    }

    fn label(&self, label: &str) -> Option<&LabelResults> {
        self.results.iter().find(|r| r.label == label)
    }
}

/// How a difference's interval was computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// Student-t over per-replication differences.
    Paired {
        /// Pairs used.
        pairs: usize,
    },
    /// Welch's unequal-variance interval.
    Welch {
        /// Welch–Satterthwaite degrees of freedom (before rounding down).
        df: f64,
    },
}

/// current − baseline for one metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Difference {
    /// Mean difference.
    pub mean: f64,
    /// 95% interval; `None` when there are too few values for one.
    pub ci95: Option<(f64, f64)>,
    /// How.
    pub method: Method,
}

/// Mean and 95% interval of the paired differences `current[r] − baseline[r]`. `None` with no
/// pair.
pub fn paired_difference(baseline: &[f64], current: &[f64]) -> Option<Difference> {
    let d: Vec<f64> = baseline.iter().zip(current).map(|(b, c)| c - b).collect();
    if d.is_empty() {
        return None;
    }
    let (mean, ci95) = mean_ci95(&d);
    Some(Difference { mean, ci95, method: Method::Paired { pairs: d.len() } })
}

/// Welch's interval of `mean(current) − mean(baseline)` for independent samples. `None` when a
/// side is empty; no interval with fewer than two values on a side.
pub fn welch_difference(baseline: &[f64], current: &[f64]) -> Option<Difference> {
    let (nb, nc) = (baseline.len(), current.len());
    if nb == 0 || nc == 0 {
        return None;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let var = |v: &[f64], m: f64| v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64;
    let (mb, mc) = (mean(baseline), mean(current));
    let diff = mc - mb;
    if nb < 2 || nc < 2 {
        return Some(Difference { mean: diff, ci95: None, method: Method::Welch { df: f64::NAN } });
    }
    let (qb, qc) = (var(baseline, mb) / nb as f64, var(current, mc) / nc as f64);
    let se2 = qb + qc;
    if se2 == 0.0 {
        return Some(Difference { mean: diff, ci95: Some((diff, diff)), method: Method::Welch { df: f64::INFINITY } });
    }
    let df = se2 * se2 / (qb * qb / (nb - 1) as f64 + qc * qc / (nc - 1) as f64);
    // Rounding the degrees of freedom down keeps the interval conservative.
    let half = t975((df.floor() as u32).max(1)) * se2.sqrt();
    Some(Difference { mean: diff, ci95: Some((diff - half, diff + half)), method: Method::Welch { df } })
}

/// The verdict on one label × metric.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Significantly worse by more than the threshold.
    Regression,
    /// Significantly worse, within the threshold.
    WorseWithinThreshold,
    /// The interval contains zero.
    NoSignificantChange,
    /// Significantly better.
    Better,
    /// Not compared, and why (a side lacks the metric, too few defined values).
    NotCompared(String),
}

impl Verdict {
    /// A short word for tables.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Regression => "REGRESSION",
            Verdict::WorseWithinThreshold => "worse (within threshold)",
            Verdict::NoSignificantChange => "no significant change",
            Verdict::Better => "better",
            Verdict::NotCompared(_) => "not compared",
        }
    }
}

/// One label × metric.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The label.
    pub label: String,
    /// The metric.
    pub metric: String,
    /// Which way is better.
    pub direction: Direction,
    /// Baseline mean over the values used (NaN if missing).
    pub baseline_mean: f64,
    /// Current mean over the values used (NaN if missing).
    pub current_mean: f64,
    /// current − baseline, when compared.
    pub difference: Option<Difference>,
    /// The threshold applied.
    pub threshold: Threshold,
    /// The verdict.
    pub verdict: Verdict,
    /// Anything the reader should know about this row (replications left out).
    pub note: Option<String>,
}

impl Row {
    /// The mean change relative to the baseline mean, when that is non-zero.
    pub fn relative_change(&self) -> Option<f64> {
        let d = self.difference?;
        (self.baseline_mean != 0.0 && self.baseline_mean.is_finite()).then(|| d.mean / self.baseline_mean.abs())
    }

    /// One line saying what happened, for failure messages.
    pub fn describe(&self) -> String {
        let Some(d) = self.difference else {
            return format!("{} {}: {}", self.label, self.metric, self.verdict.word());
        };
        let rel = self.relative_change().map_or(String::new(), |r| format!(" ({})", signed_percent(r)));
        let ci = d.ci95.map_or("no interval".to_string(), |(lo, hi)| format!("95% CI [{}, {}]", num(lo), num(hi)));
        let better = match self.direction {
            Direction::Lower => "lower is better",
            Direction::Higher => "higher is better",
        };
        format!(
            "{} {}: {} -> {}, change {}{rel}, {ci}, threshold {}; {better}",
            self.label,
            self.metric,
            num(self.baseline_mean),
            num(self.current_mean),
            signed(d.mean),
            self.threshold
        )
    }
}

/// Whether and why the comparison is paired.
#[derive(Clone, Debug, PartialEq)]
pub enum Pairing {
    /// Same seed and replications: paired by replication.
    Paired {
        /// The shared seed.
        seed: u64,
        /// Replications 0..this.
        replications: u32,
    },
    /// Not pairable; Welch's interval, and why.
    Welch(String),
}

/// A whole comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// How the intervals were computed.
    pub pairing: Pairing,
    /// Rows, label by label in the baseline's order, metrics in the baseline's order.
    pub rows: Vec<Row>,
    /// Things the reader must know: a different scenario, labels or metrics on one side only.
    pub warnings: Vec<String>,
}

impl Comparison {
    /// The regressions.
    pub fn regressions(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.verdict == Verdict::Regression)
    }
}

/// Compares `current` to `baseline` under `policy`. Errors are bad input: a selected label or
/// metric absent, a threshold for a metric no summary has.
pub fn compare(baseline: &SummaryFile, current: &SummaryFile, policy: &Policy) -> Result<Comparison, CompareError> {
    let mut warnings = Vec::new();
    if baseline.scenario.sha256 != current.scenario.sha256 {
        warnings.push(format!(
            "the scenarios differ (baseline {:?} sha256 {}, current {:?} sha256 {}): expected when a strategy's \
             configuration changed; make sure the workload did not",
            baseline.scenario.name,
            short(&baseline.scenario.sha256),
            current.scenario.name,
            short(&current.scenario.sha256)
        ));
    }

    // Labels.
    let labels: Vec<String> = match &policy.labels {
        Some(wanted) => {
            for l in wanted {
                for (side, s) in [("baseline", baseline), ("current", current)] {
                    if s.label(l).is_none() {
                        return Err(CompareError::Selection(format!(
                            "label {l:?} is not in the {side} summary; its labels are {}",
                            s.results.iter().map(|r| r.label.as_str()).collect::<Vec<_>>().join(", ")
                        )));
                    }
                }
            }
            wanted.clone()
        }
        None => {
            let only = |a: &SummaryFile, b: &SummaryFile| -> Vec<String> {
                a.results.iter().filter(|r| b.label(&r.label).is_none()).map(|r| r.label.clone()).collect()
            };
            let (only_b, only_c) = (only(baseline, current), only(current, baseline));
            if !only_b.is_empty() {
                warnings.push(format!("labels only in the baseline, not compared: {}", only_b.join(", ")));
            }
            if !only_c.is_empty() {
                warnings.push(format!("labels only in the current run, not compared: {}", only_c.join(", ")));
            }
            baseline.results.iter().filter(|r| current.label(&r.label).is_some()).map(|r| r.label.clone()).collect()
        }
    };
    if labels.is_empty() {
        return Err(CompareError::Selection(
            "the two summaries have no label in common, so there is nothing to compare".to_string(),
        ));
    }

    // Metrics: names in the baseline's order, then any only the current run has.
    let mut all_metrics: Vec<&str> = Vec::new();
    for s in [baseline, current] {
        for l in &labels {
            for m in s.label(l).map(|r| r.metrics.keys()).into_iter().flatten() {
                if !all_metrics.contains(&m.as_str()) {
                    all_metrics.push(m);
                }
            }
        }
    }
    let in_both = |m: &str| {
        labels.iter().any(|l| baseline.label(l).is_some_and(|r| r.metrics.contains_key(m)))
            && labels.iter().any(|l| current.label(l).is_some_and(|r| r.metrics.contains_key(m)))
    };
    let metrics: Vec<String> = match &policy.metrics {
        Some(wanted) => {
            for m in wanted {
                if policy.direction(m).is_none() {
                    return Err(CompareError::Selection(format!(
                        "metric {m:?} has no direction (lower or higher is better); give it one in a policy \
                         file's \"direction\""
                    )));
                }
                if !in_both(m) {
                    let side = if labels.iter().any(|l| baseline.label(l).is_some_and(|r| r.metrics.contains_key(m))) {
                        "current"
                    } else {
                        "baseline"
                    };
                    return Err(CompareError::Selection(format!(
                        "metric {m:?} is not in the {side} summary for the labels compared; metrics there: {}",
                        all_metrics.join(", ")
                    )));
                }
            }
            wanted.clone()
        }
        None => all_metrics.iter().filter(|m| policy.direction(m).is_some()).map(|m| m.to_string()).collect(),
    };
    for m in policy.thresholds.keys().filter(|m| *m != "*") {
        if !metrics.contains(m) {
            return Err(CompareError::Selection(format!(
                "threshold for {m:?}, which is not compared (it is {}); compared metrics: {}",
                if !all_metrics.contains(&m.as_str()) {
                    "in neither summary"
                } else if policy.direction(m).is_none() {
                    "a metric without a direction"
                } else {
                    "not selected"
                },
                metrics.join(", ")
            )));
        }
    }

    let pairing = if baseline.seed != current.seed {
        Pairing::Welch(format!(
            "the seeds differ ({} and {}), so replications cannot be paired",
            baseline.seed, current.seed
        ))
    } else if baseline.replications != current.replications {
        Pairing::Welch(format!(
            "the replication counts differ ({} and {}), so replications cannot be paired",
            baseline.replications, current.replications
        ))
    } else {
        Pairing::Paired { seed: baseline.seed, replications: baseline.replications }
    };

    let mut rows = Vec::new();
    for label in &labels {
        let (b, c) = (baseline.label(label).expect("label in both"), current.label(label).expect("label in both"));
        for metric in &metrics {
            let direction = policy.direction(metric).expect("compared metrics have a direction");
            rows.push(compare_metric(
                label,
                metric,
                direction,
                policy.threshold(metric),
                b.metrics.get(metric),
                c.metrics.get(metric),
                matches!(pairing, Pairing::Paired { .. }),
            ));
        }
    }
    Ok(Comparison { pairing, rows, warnings })
}

fn compare_metric(
    label: &str,
    metric: &str,
    direction: Direction,
    threshold: Threshold,
    baseline: Option<&MetricValues>,
    current: Option<&MetricValues>,
    paired: bool,
) -> Row {
    let mut row = Row {
        label: label.to_string(),
        metric: metric.to_string(),
        direction,
        baseline_mean: f64::NAN,
        current_mean: f64::NAN,
        difference: None,
        threshold,
        verdict: Verdict::NotCompared(String::new()),
        note: None,
    };
    let (b, c) = match (baseline, current) {
        (Some(b), Some(c)) => (&b.per_replication, &c.per_replication),
        (b, _) => {
            let side = if b.is_none() { "baseline" } else { "current run" };
            row.verdict = Verdict::NotCompared(format!("the {side} has no {metric} for {label}"));
            return row;
        }
    };
    let mean = |v: &[f64]| if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
    let difference = if paired && b.len() == c.len() {
        // A replication where either side is undefined (NaN) is left out of the pairs.
        let pairs: Vec<(f64, f64)> =
            b.iter().zip(c.iter()).filter(|(x, y)| x.is_finite() && y.is_finite()).map(|(&x, &y)| (x, y)).collect();
        if pairs.len() < b.len() {
            row.note =
                Some(format!("{} of {} replications undefined on a side, left out", b.len() - pairs.len(), b.len()));
        }
        let (pb, pc): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
        row.baseline_mean = mean(&pb);
        row.current_mean = mean(&pc);
        paired_difference(&pb, &pc)
    } else {
        let fb: Vec<f64> = b.iter().copied().filter(|x| x.is_finite()).collect();
        let fc: Vec<f64> = c.iter().copied().filter(|x| x.is_finite()).collect();
        if fb.len() < b.len() || fc.len() < c.len() {
            row.note = Some(format!(
                "undefined in {} baseline and {} current replications, left out",
                b.len() - fb.len(),
                c.len() - fc.len()
            ));
        }
        if paired {
            row.note = Some(format!("{} and {} values: not paired", b.len(), c.len()));
        }
        row.baseline_mean = mean(&fb);
        row.current_mean = mean(&fc);
        welch_difference(&fb, &fc)
    };
    let Some(d) = difference.filter(|d| d.ci95.is_some()) else {
        row.difference = difference;
        row.verdict = Verdict::NotCompared("fewer than two defined values on a side: no interval".to_string());
        return row;
    };
    row.difference = Some(d);
    let (lo, hi) = d.ci95.expect("filtered");
    // Oriented so that positive is worse.
    let (worse_lo, worse_hi, worse_mean) = match direction {
        Direction::Lower => (lo, hi, d.mean),
        Direction::Higher => (-hi, -lo, -d.mean),
    };
    let exceeds = match threshold {
        Threshold::Absolute(a) => worse_mean > a,
        Threshold::Relative(r) => {
            if row.baseline_mean == 0.0 {
                worse_mean > 0.0
            } else {
                worse_mean / row.baseline_mean.abs() > r
            }
        }
    };
    row.verdict = if worse_lo > 0.0 {
        if exceeds {
            Verdict::Regression
        } else {
            Verdict::WorseWithinThreshold
        }
    } else if worse_hi < 0.0 {
        Verdict::Better
    } else {
        Verdict::NoSignificantChange
    };
    row
}

/// The first 12 hex digits of a hash.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// A number with about four significant digits.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() { "–".to_string() } else { format!("{v}") };
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
}

fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", num(v))
    } else {
        num(v)
    }
}

fn signed_percent(r: f64) -> String {
    format!("{}{:.2}%", if r > 0.0 { "+" } else { "" }, 100.0 * r)
}

/// Names of the two sides for the outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Sides<'a> {
    /// Where the baseline came from.
    pub baseline: &'a str,
    /// Where the current run came from.
    pub current: &'a str,
    /// The baseline's scenario name.
    pub scenario: &'a str,
}

fn cells(row: &Row) -> [String; 8] {
    let (diff, ci) = match row.difference {
        Some(d) => {
            (signed(d.mean), d.ci95.map_or("–".to_string(), |(lo, hi)| format!("[{}, {}]", signed(lo), signed(hi))))
        }
        None => ("–".to_string(), "–".to_string()),
    };
    [
        row.label.clone(),
        format!("{} ({})", row.metric, if row.direction == Direction::Lower { "↓" } else { "↑" }),
        num(row.baseline_mean),
        num(row.current_mean),
        diff,
        ci,
        row.relative_change().map_or("–".to_string(), signed_percent),
        row.threshold.to_string(),
    ]
}

fn verdict_text(row: &Row) -> String {
    let mut v = match &row.verdict {
        Verdict::NotCompared(why) => format!("not compared: {why}"),
        other => other.word().to_string(),
    };
    if let Some(note) = &row.note {
        let _ = write!(v, " ({note})");
    }
    v
}

fn pairing_line(c: &Comparison) -> String {
    match &c.pairing {
        Pairing::Paired { seed, replications } => format!(
            "paired by replication: both runs used seed {seed} and replications 0 to {}, so each \
             replication saw the same workload (common random numbers)",
            replications.saturating_sub(1)
        ),
        Pairing::Welch(why) => format!("NOT paired: {why}; intervals are Welch's (independent samples, wider)"),
    }
}

fn verdict_line(c: &Comparison) -> String {
    let regressions: Vec<&Row> = c.regressions().collect();
    if regressions.is_empty() {
        let not = c.rows.iter().filter(|r| matches!(r.verdict, Verdict::NotCompared(_))).count();
        format!(
            "no regression in {} comparisons{}",
            c.rows.len() - not,
            if not > 0 { format!(" ({not} not compared)") } else { String::new() }
        )
    } else {
        let names: Vec<String> = regressions.iter().map(|r| format!("{} {}", r.label, r.metric)).collect();
        format!(
            "{} regression{}: {}",
            regressions.len(),
            if regressions.len() == 1 { "" } else { "s" },
            names.join(", ")
        )
    }
}

/// The terminal table: one row per label × metric, then the verdict.
pub fn table(c: &Comparison, sides: &Sides<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "baseline: {}\ncurrent:  {}", sides.baseline, sides.current);
    let _ = writeln!(out, "{}", pairing_line(c));
    let _ = writeln!(out, "change = current - baseline, with its 95% CI; ↓ lower is better, ↑ higher is better\n");
    let header = ["label", "metric", "baseline", "current", "change", "95% CI", "rel", "threshold", "verdict"];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for r in &c.rows {
        let mut row = cells(r).to_vec();
        row.push(verdict_text(r));
        rows.push(row);
    }
    let n = header.len();
    let widths: Vec<usize> = (0..n).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for (k, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i < 2 || i == n - 1 {
                line.push_str(cell);
                if i < n - 1 {
                    line.push_str(&" ".repeat(pad));
                }
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
            if i < n - 1 {
                line.push_str("  ");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
        if k == 0 {
            let _ = writeln!(out, "{}", "-".repeat(widths.iter().sum::<usize>() + 2 * (n - 1)));
        }
    }
    for w in &c.warnings {
        let _ = writeln!(out, "\nwarning: {w}");
    }
    let _ = writeln!(out, "\n{}", verdict_line(c));
    out
}

fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('<', "&lt;").replace('>', "&gt;")
}

/// GitHub-flavoured Markdown for a CI job summary: the verdict, the rows that changed
/// significantly, then every row in a collapsed section.
pub fn markdown(c: &Comparison, sides: &Sides<'_>) -> String {
    let mut out = String::new();
    let regressions = c.regressions().count();
    let _ = writeln!(
        out,
        "### Fulcrum compare: {}: {}\n",
        md(sides.scenario),
        if regressions == 0 { "no regression" } else { "regression" }
    );
    let _ = writeln!(out, "Baseline `{}`, current `{}`.  ", sides.baseline, sides.current);
    let _ = writeln!(out, "{}.\n", md(&pairing_line(c)));
    let _ = writeln!(out, "**{}**\n", md(&verdict_line(c)));
    for w in &c.warnings {
        let _ = writeln!(out, "> **Warning:** {}\n", md(w));
    }
    let header = "| label | metric | baseline | current | change | 95% CI | rel | threshold | verdict |\n\
                  |---|---|---:|---:|---:|---:|---:|---:|---|\n";
    let line = |r: &Row| {
        let cells = cells(r);
        let verdict = if r.verdict == Verdict::Regression { "**REGRESSION**".to_string() } else { verdict_text(r) };
        let mut s = String::from("|");
        for cell in cells.iter().chain([&verdict]) {
            let _ = write!(s, " {} |", md(cell));
        }
        s.push('\n');
        s
    };
    let changed: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Regression | Verdict::WorseWithinThreshold | Verdict::Better))
        .collect();
    if changed.is_empty() {
        let _ = writeln!(out, "No metric changed significantly.\n");
    } else {
        let _ =
            writeln!(out, "Significant changes:\n\n{header}{}", changed.iter().map(|r| line(r)).collect::<String>());
    }
    let _ = writeln!(
        out,
        "<details><summary>All {} comparisons</summary>\n\n{header}{}\n</details>",
        c.rows.len(),
        c.rows.iter().map(line).collect::<String>()
    );
    out
}

/// JUnit XML in the common schema: `<testsuites>` holding one `<testsuite>` with one
/// `<testcase classname="LABEL" name="METRIC">` per row; a regression carries a `<failure>`, a
/// row not compared a `<skipped>`. Warnings go to the suite's `<system-err>`.
pub fn junit(c: &Comparison, sides: &Sides<'_>, w: &mut dyn io::Write) -> io::Result<()> {
    use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
    let mut x = quick_xml::Writer::new_with_indent(w, b' ', 2);
    let tests = c.rows.len().to_string();
    let failures = c.regressions().count().to_string();
    let skipped = c.rows.iter().filter(|r| matches!(r.verdict, Verdict::NotCompared(_))).count().to_string();
    let suite_name = format!("fulcrum compare: {}", sides.scenario);
    let counts = |e: &mut BytesStart<'_>| {
        e.push_attribute(("tests", tests.as_str()));
        e.push_attribute(("failures", failures.as_str()));
        e.push_attribute(("errors", "0"));
        e.push_attribute(("skipped", skipped.as_str()));
    };
    x.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute(("name", "fulcrum compare"));
    counts(&mut suites);
    x.write_event(Event::Start(suites))?;
    let mut suite = BytesStart::new("testsuite");
    suite.push_attribute(("name", suite_name.as_str()));
    counts(&mut suite);
    suite.push_attribute(("time", "0"));
    x.write_event(Event::Start(suite))?;
    x.write_event(Event::Start(BytesStart::new("properties")))?;
    let pairing = pairing_line(c);
    for (name, value) in [("baseline", sides.baseline), ("current", sides.current), ("pairing", pairing.as_str())] {
        let mut p = BytesStart::new("property");
        p.push_attribute(("name", name));
        p.push_attribute(("value", value));
        x.write_event(Event::Empty(p))?;
    }
    x.write_event(Event::End(BytesEnd::new("properties")))?;
    for r in &c.rows {
        let mut case = BytesStart::new("testcase");
        case.push_attribute(("classname", r.label.as_str()));
        case.push_attribute(("name", r.metric.as_str()));
        case.push_attribute(("time", "0"));
        match &r.verdict {
            Verdict::Regression => {
                x.write_event(Event::Start(case))?;
                let mut f = BytesStart::new("failure");
                let message = r.describe();
                f.push_attribute(("message", message.as_str()));
                f.push_attribute(("type", "regression"));
                x.write_event(Event::Start(f))?;
                let body = format!("{}\n{}", message, pairing);
                x.write_event(Event::Text(BytesText::new(&body)))?;
                x.write_event(Event::End(BytesEnd::new("failure")))?;
                x.write_event(Event::End(BytesEnd::new("testcase")))?;
            }
            Verdict::NotCompared(why) => {
                x.write_event(Event::Start(case))?;
                let mut s = BytesStart::new("skipped");
                s.push_attribute(("message", why.as_str()));
                x.write_event(Event::Empty(s))?;
                x.write_event(Event::End(BytesEnd::new("testcase")))?;
            }
            _ => {
                x.write_event(Event::Start(case))?;
                x.write_event(Event::Start(BytesStart::new("system-out")))?;
                x.write_event(Event::Text(BytesText::new(&format!("{}: {}", r.describe(), verdict_text(r)))))?;
                x.write_event(Event::End(BytesEnd::new("system-out")))?;
                x.write_event(Event::End(BytesEnd::new("testcase")))?;
            }
        }
    }
    if !c.warnings.is_empty() {
        x.write_event(Event::Start(BytesStart::new("system-err")))?;
        x.write_event(Event::Text(BytesText::new(&c.warnings.join("\n"))))?;
        x.write_event(Event::End(BytesEnd::new("system-err")))?;
    }
    x.write_event(Event::End(BytesEnd::new("testsuite")))?;
    x.write_event(Event::End(BytesEnd::new("testsuites")))?;
    x.into_inner().write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A label's metrics: (name, per-replication values).
    type Metrics<'a> = &'a [(&'a str, &'a [f64])];

    fn summary(seed: u64, labels: &[(&str, Metrics<'_>)]) -> SummaryFile {
        let n = labels.first().and_then(|l| l.1.first()).map_or(0, |m| m.1.len()) as u32;
        SummaryFile {
            scenario: ScenarioId { name: "s".into(), sha256: "ab".repeat(32) },
            seed,
            replications: n,
            results: labels
                .iter()
                .map(|(label, metrics)| LabelResults {
                    label: label.to_string(),
                    metrics: metrics
                        .iter()
                        .map(|(m, v)| (m.to_string(), MetricValues { per_replication: v.to_vec() }))
                        .collect(),
                })
                .collect(),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn paired_interval_by_hand() {
        // d = [1, 1, 2, 1, 1]: mean 1.2, s² = (4 × 0.04 + 0.64) / 4 = 0.2, se = sqrt(0.2 / 5) = 0.2,
        // half-width t(0.975, 4) × se = 2.776 × 0.2 = 0.5552.
        let d = paired_difference(&[10.0, 12.0, 11.0, 13.0, 14.0], &[11.0, 13.0, 13.0, 14.0, 15.0]).unwrap();
        assert!(close(d.mean, 1.2));
        let (lo, hi) = d.ci95.unwrap();
        assert!(close(lo, 0.6448) && close(hi, 1.7552), "{lo} {hi}");
        assert_eq!(d.method, Method::Paired { pairs: 5 });
    }

    #[test]
    fn welch_interval_by_hand() {
        // Baseline 1..5: mean 3, s² 2.5; current 2, 4, .., 10: mean 6, s² 10. se² = 2.5/5 + 10/5 = 2.5;
        // df = 2.5² / (0.5²/4 + 2²/4) = 6.25 / 1.0625 = 5.882 → 5, t = 2.571, half = 2.571 × 1.5811.
        let d = welch_difference(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 4.0, 6.0, 8.0, 10.0]).unwrap();
        assert!(close(d.mean, 3.0));
        let Method::Welch { df } = d.method else { panic!() };
        assert!((df - 5.882_352_94).abs() < 1e-6, "{df}");
        let half = 2.571 * 2.5f64.sqrt();
        let (lo, hi) = d.ci95.unwrap();
        assert!(close(lo, 3.0 - half) && close(hi, 3.0 + half), "{lo} {hi}");
    }

    #[test]
    fn thresholds_parse() {
        assert_eq!(Threshold::parse("5%"), Ok(Threshold::Relative(0.05)));
        assert_eq!(Threshold::parse(" 0.5 "), Ok(Threshold::Absolute(0.5)));
        assert!(Threshold::parse("-1%").is_err());
        assert!(Threshold::parse("five").unwrap_err().contains("not a threshold"));
        assert_eq!(Threshold::Relative(0.05).to_string(), "5%");
    }

    const BASE_RESP: [f64; 5] = [10.0, 12.0, 11.0, 13.0, 14.0];
    const WORSE_RESP: [f64; 5] = [11.0, 13.0, 13.0, 14.0, 15.0];

    #[test]
    fn a_significant_worsening_beyond_the_threshold_is_a_regression() {
        let b = summary(1, &[("a", &[("mean_response_s", &BASE_RESP), ("jain_index", &[0.9, 0.9, 0.9, 0.9, 0.9])])]);
        let c =
            summary(1, &[("a", &[("mean_response_s", &WORSE_RESP), ("jain_index", &[0.95, 0.95, 0.95, 0.95, 0.96])])]);
        let cmp = compare(&b, &c, &Policy::default()).unwrap();
        assert!(matches!(cmp.pairing, Pairing::Paired { seed: 1, replications: 5 }));
        assert_eq!(cmp.rows.len(), 2);
        assert_eq!(cmp.rows[0].verdict, Verdict::Regression);
        // Higher is better for Jain's index: an increase is an improvement.
        assert_eq!(cmp.rows[1].verdict, Verdict::Better);
        // +1.2 on a mean of 12 is +10%: within a 15% threshold, beyond 8%, and beyond 1.0 absolute.
        let policy = |t: &str| Policy {
            thresholds: [("mean_response_s".to_string(), Threshold::parse(t).unwrap())].into(),
            ..Policy::default()
        };
        let within = compare(&b, &c, &policy("15%")).unwrap();
        assert_eq!(within.rows[0].verdict, Verdict::WorseWithinThreshold);
        assert!(close(within.rows[0].relative_change().unwrap(), 0.1));
        assert_eq!(compare(&b, &c, &policy("8%")).unwrap().rows[0].verdict, Verdict::Regression);
        assert_eq!(compare(&b, &c, &policy("1.0")).unwrap().rows[0].verdict, Verdict::Regression);
        assert_eq!(compare(&b, &c, &policy("1.3")).unwrap().rows[0].verdict, Verdict::WorseWithinThreshold);
        // Swapped, the same numbers are an improvement; identical runs show no change.
        assert_eq!(compare(&c, &b, &Policy::default()).unwrap().rows[0].verdict, Verdict::Better);
        assert_eq!(compare(&b, &b, &Policy::default()).unwrap().rows[0].verdict, Verdict::NoSignificantChange);
    }

    #[test]
    fn different_seeds_fall_back_to_welch_and_say_so() {
        let b = summary(1, &[("a", &[("mean_response_s", &BASE_RESP)])]);
        let c = summary(2, &[("a", &[("mean_response_s", &WORSE_RESP)])]);
        let cmp = compare(&b, &c, &Policy::default()).unwrap();
        let Pairing::Welch(why) = &cmp.pairing else { panic!() };
        assert!(why.contains("seeds differ (1 and 2)"), "{why}");
        // Unpaired, a +1.2 shift over a spread of ±1.6 is not significant.
        assert_eq!(cmp.rows[0].verdict, Verdict::NoSignificantChange);
        assert!(matches!(cmp.rows[0].difference.unwrap().method, Method::Welch { .. }));
        assert!(table(&cmp, &Sides { baseline: "b", current: "c", scenario: "s" }).contains("NOT paired"));
    }

    #[test]
    fn missing_labels_and_metrics_are_reported() {
        let b = summary(1, &[("a", &[("mean_response_s", &BASE_RESP)]), ("gone", &[("mean_response_s", &BASE_RESP)])]);
        let c = summary(
            1,
            &[
                ("a", &[("mean_response_s", &BASE_RESP), ("failed_tasks", &[0.0; 5])]),
                ("new", &[("events", &[1.0; 5])]),
            ],
        );
        let cmp = compare(&b, &c, &Policy::default()).unwrap();
        assert!(cmp.warnings.iter().any(|w| w.contains("only in the baseline") && w.contains("gone")));
        assert!(cmp.warnings.iter().any(|w| w.contains("only in the current run") && w.contains("new")));
        assert_eq!(cmp.rows.len(), 2);
        assert_eq!(cmp.rows[1].metric, "failed_tasks");
        assert!(
            matches!(&cmp.rows[1].verdict, Verdict::NotCompared(why) if why.contains("baseline has no failed_tasks"))
        );

        let sel = |labels: Option<&[&str]>, metrics: Option<&[&str]>| Policy {
            labels: labels.map(|l| l.iter().map(|s| s.to_string()).collect()),
            metrics: metrics.map(|l| l.iter().map(|s| s.to_string()).collect()),
            ..Policy::default()
        };
        let err = compare(&b, &c, &sel(Some(&["gone"]), None)).unwrap_err().to_string();
        assert!(err.contains("label \"gone\" is not in the current summary"), "{err}");
        let err = compare(&b, &c, &sel(None, Some(&["p99_response_s"]))).unwrap_err().to_string();
        assert!(err.contains("metric \"p99_response_s\" is not in the baseline summary"), "{err}");
        let err = compare(&b, &c, &sel(None, Some(&["events"]))).unwrap_err().to_string();
        assert!(err.contains("has no direction"), "{err}");
        let typo = Policy {
            thresholds: [("mean_respons_s".to_string(), Threshold::Relative(0.05))].into(),
            ..Policy::default()
        };
        assert!(compare(&b, &c, &typo).unwrap_err().to_string().contains("in neither summary"));
    }

    #[test]
    fn undefined_replications_are_left_out_of_the_pairs() {
        let b = summary(1, &[("a", &[("detection_time_s", &[1.0, f64::NAN, 1.0, 1.1, 0.9])])]);
        let c = summary(1, &[("a", &[("detection_time_s", &[2.0, 2.0, f64::NAN, 2.1, 1.9])])]);
        let cmp = compare(&b, &c, &Policy::default()).unwrap();
        let row = &cmp.rows[0];
        assert_eq!(row.difference.unwrap().method, Method::Paired { pairs: 3 });
        assert!(close(row.difference.unwrap().mean, 1.0));
        assert_eq!(row.verdict, Verdict::Regression);
        assert!(row.note.as_deref().unwrap().contains("2 of 5"));
    }

    #[test]
    fn policy_files_parse_with_field_paths() {
        let p = Policy::from_json(
            r#"{"max_regression": {"p99_response_s": "5%", "failed_tasks": 0, "*": "10%"},
                "labels": ["p2c"], "direction": {"events": "lower"}}"#,
            "policy.json",
        )
        .unwrap();
        assert_eq!(p.threshold("p99_response_s"), Threshold::Relative(0.05));
        assert_eq!(p.threshold("failed_tasks"), Threshold::Absolute(0.0));
        assert_eq!(p.threshold("mean_wait_s"), Threshold::Relative(0.1));
        assert_eq!(p.direction("events"), Some(Direction::Lower));
        assert_eq!(p.labels.as_deref(), Some(&["p2c".to_string()][..]));
        let err = Policy::from_json(r#"{"max_regression": {"x": "5 %%"}}"#, "p.json").unwrap_err().to_string();
        assert!(err.starts_with("p.json: max_regression.x: "), "{err}");
        let err = Policy::from_json(r#"{"direction": {"x": "up"}}"#, "p.json").unwrap_err().to_string();
        assert!(err.starts_with("p.json: direction.x: unknown variant `up`"), "{err}");
        let err = Policy::from_json(r#"{"treshold": 1}"#, "p.json").unwrap_err().to_string();
        assert!(err.contains("unknown field `treshold`"), "{err}");
    }

    #[test]
    fn summaries_read_nulls_as_undefined() {
        let s = SummaryFile::from_json(
            r#"{"fulcrum_version": "0", "scenario": {"name": "x", "sha256": "00"}, "seed": 3, "replications": 2,
                "results": [{"label": "a", "balancer": "a", "metrics": {"m": {"mean": null, "ci95": null,
                "per_replication": [1.5, null]}}}]}"#,
            "s.json",
        )
        .unwrap();
        let v = &s.results[0].metrics["m"].per_replication;
        assert_eq!(v[0], 1.5);
        assert!(v[1].is_nan());
        let err = SummaryFile::from_json(r#"{"scenario": {"name": "x", "sha256": "00"}, "seed": "3"}"#, "s.json")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.json: not a summary.json: seed: invalid type"), "{err}");
    }

    #[test]
    fn outputs_name_the_regression() {
        let b = summary(1, &[("a", &[("mean_response_s", &BASE_RESP), ("p99_response_s", &BASE_RESP)])]);
        let c = summary(1, &[("a", &[("mean_response_s", &WORSE_RESP), ("p99_response_s", &BASE_RESP)])]);
        let cmp = compare(&b, &c, &Policy::default()).unwrap();
        let sides = Sides { baseline: "base/summary.json", current: "cur/summary.json", scenario: "s<1>" };
        let t = table(&cmp, &sides);
        assert!(t.contains("1 regression: a mean_response_s"), "{t}");
        assert!(t.lines().any(|l| l.starts_with("a") && l.contains("mean_response_s") && l.contains("REGRESSION")));
        let m = markdown(&cmp, &sides);
        assert!(m.starts_with("### Fulcrum compare: s&lt;1&gt;: regression"), "{m}");
        assert!(m.contains("| a | mean_response_s (↓) | 12.00 | 13.20 | +1.200 | [+0.6448, +1.755] | +10.00% | 0% | **REGRESSION** |"), "{m}");
        let mut xml = Vec::new();
        junit(&cmp, &sides, &mut xml).unwrap();
        let xml = String::from_utf8(xml).unwrap();
        assert!(xml.contains("<testsuite name=\"fulcrum compare: s&lt;1&gt;\" tests=\"2\" failures=\"1\""), "{xml}");
        assert_eq!(xml.matches("<failure ").count(), 1);
        assert_eq!(xml.matches("<testcase ").count(), 2);
    }
}
