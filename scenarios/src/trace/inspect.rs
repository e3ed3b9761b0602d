//! What a trace holds, before anyone simulates it (`fulcrum trace inspect`): records, time span,
//! arrival rate over time, the distribution of sizes and demands, and the fields it lacks. Two
//! streaming passes (the span first, then the rate per bin), so memory does not grow with the
//! file; quantiles come from HDR histograms (0.1% relative precision).

use std::path::Path;

use hdrhistogram::Histogram;

use super::{open, ReadStats, ReaderOptions, TraceError, TraceFormat};

/// Quantiles of one field.
#[derive(Clone, Debug, PartialEq)]
pub struct Distribution {
    /// Records that give the field.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Smallest.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// Collects a field's values: exact count, mean, min and max; quantiles from a histogram of the
/// values in `1 / scale` units.
struct Collector {
    scale: f64,
    histogram: Histogram<u64>,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Collector {
    fn new(scale: f64) -> Collector {
        Collector {
            scale,
            histogram: Histogram::new_with_bounds(1, 1 << 62, 3).expect("valid histogram bounds"),
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn add(&mut self, v: f64, weight: u64) {
        self.count += weight;
        self.sum += v * weight as f64;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        let scaled = (v * self.scale).round().clamp(1.0, (1u64 << 62) as f64) as u64;
        let _ = self.histogram.record_n(scaled, weight);
    }

    fn finish(&self) -> Option<Distribution> {
        (self.count > 0).then(|| {
            let q = |p: f64| (self.histogram.value_at_quantile(p) as f64 / self.scale).clamp(self.min, self.max);
            Distribution {
                count: self.count,
                mean: self.sum / self.count as f64,
                min: self.min,
                p50: q(0.5),
                p90: q(0.9),
                p99: q(0.99),
                max: self.max,
            }
        })
    }
}

/// What a trace holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Inspection {
    /// The file.
    pub file: String,
    /// Its format.
    pub format: TraceFormat,
    /// What the reader saw (lines, comments, skipped, initial state, never run, header).
    pub stats: ReadStats,
    /// Replayable records.
    pub records: u64,
    /// Tasks they stand for (with instances).
    pub tasks: u64,
    /// Records whose submit time is before the previous record's.
    pub out_of_order: u64,
    /// Earliest and latest submit time, trace seconds.
    pub first_s: f64,
    /// Latest submit time.
    pub last_s: f64,
    /// Submissions per bin of equal width over `[first_s, last_s]`.
    pub bins: Vec<u64>,
    /// Work (trace seconds), CPU and memory (trace units), priority.
    pub work_s: Option<Distribution>,
    /// CPU asked for.
    pub cpu: Option<Distribution>,
    /// Memory asked for.
    pub memory: Option<Distribution>,
    /// Priority.
    pub priority: Option<Distribution>,
    /// Records without work, CPU, memory, priority.
    pub missing: [u64; 4],
    /// Censored records (work is a lower bound).
    pub censored: u64,
    /// How the format's work was derived, where the reader computes it (Azure's token costs).
    pub note: Option<String>,
}

/// Reads `path` (named `name`) twice and describes it, with `bins` bins of arrival rate.
pub fn inspect(
    format: TraceFormat,
    path: &Path,
    name: &str,
    options: &ReaderOptions,
    bins: usize,
) -> Result<Inspection, TraceError> {
    let bins = bins.max(1);
    let mut reader = open(format, path, name, options)?;
    let (mut first, mut last) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut records, mut tasks, mut out_of_order, mut censored) = (0u64, 0u64, 0u64, 0u64);
    let mut previous = f64::NEG_INFINITY;
    let mut missing = [0u64; 4];
    let mut work = Collector::new(1e3);
    let mut cpu = Collector::new(1e6);
    let mut memory = Collector::new(1e6);
    let mut priority = Collector::new(1.0);
    while let Some(r) = reader.next_record()? {
        records += 1;
        tasks += r.copies;
        censored += u64::from(r.censored);
        out_of_order += u64::from(r.submit_s < previous);
        previous = r.submit_s;
        first = first.min(r.submit_s);
        last = last.max(r.submit_s);
        for (i, (value, c)) in [
            (r.work_s, &mut work),
            (r.cpu, &mut cpu),
            (r.memory, &mut memory),
            (r.priority.map(f64::from), &mut priority),
        ]
        .into_iter()
        .enumerate()
        {
            match value {
                Some(v) => c.add(v, r.copies),
                None => missing[i] += 1,
            }
        }
    }
    let stats = reader.stats().clone();
    let mut counts = vec![0u64; bins];
    if records > 0 {
        let width = (last - first) / bins as f64;
        let mut again = open(format, path, name, options)?;
        while let Some(r) = again.next_record()? {
            let i = if width > 0.0 { ((r.submit_s - first) / width) as usize } else { 0 };
            counts[i.min(bins - 1)] += r.copies;
        }
    }
    Ok(Inspection {
        file: name.to_string(),
        format,
        stats,
        records,
        tasks,
        out_of_order,
        first_s: if records > 0 { first } else { 0.0 },
        last_s: if records > 0 { last } else { 0.0 },
        bins: counts,
        work_s: work.finish(),
        cpu: cpu.finish(),
        memory: memory.finish(),
        priority: priority.finish(),
        missing,
        censored,
        note: (format == TraceFormat::AzureLlm).then(|| {
            let c = options.token_cost;
            format!(
                "work_s = {} s + {} s x context tokens + {} s x generated tokens",
                c.per_request_s, c.per_context_token_s, c.per_generated_token_s
            )
        }),
    })
}

/// A number with about 6 significant digits, trailing zeros dropped.
pub(crate) fn g(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        return "0".to_string();
    }
    if !(1e-3..1e9).contains(&a) {
        return format!("{v:.3e}");
    }
    let int_digits = if a >= 1.0 { a.log10().floor() as i32 + 1 } else { 0 };
    let decimals = (6 - int_digits).clamp(0, 9) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

impl Inspection {
    /// The inspection as text.
    pub fn text(&self) -> String {
        let s = &self.stats;
        let mut out = format!("{} ({})\n", self.file, self.format);
        for (k, v) in &s.header {
            out.push_str(&format!("  {k}: {v}\n"));
        }
        out.push_str(&format!(
            "records: {} ({} tasks with instances); {} lines read: {} comment or header, {} bad lines skipped\n",
            self.records, self.tasks, s.lines, s.comments, s.skipped
        ));
        if let Some(e) = &s.first_skipped {
            out.push_str(&format!("  first bad line: {e}\n"));
        }
        if s.initial > 0 || s.never_ran > 0 || self.censored > 0 {
            out.push_str(&format!(
                "not replayed: {} initial-state records, {} tasks that never ran; {} censored (work is a lower bound)\n",
                s.initial, s.never_ran, self.censored
            ));
        }
        let span = self.last_s - self.first_s;
        out.push_str(&format!(
            "submit times: {} s to {} s (span {} s = {:.2} h){}\n",
            g(self.first_s),
            g(self.last_s),
            g(span),
            span / 3600.0,
            if self.out_of_order > 0 {
                format!("; NOT sorted: {} records go back in time (replay with \"sort\": true)", self.out_of_order)
            } else {
                "; sorted".to_string()
            }
        ));
        if self.records > 0 && span > 0.0 {
            out.push_str(&format!("mean arrival rate: {}/s\n", g(self.tasks as f64 / span)));
        }
        let names = ["work_s", "cpu", "memory", "priority"];
        let missing: Vec<String> = names
            .iter()
            .zip(self.missing)
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| format!("{name} in {n} ({:.1}%)", 100.0 * n as f64 / self.records.max(1) as f64))
            .collect();
        if let Some(note) = &self.note {
            out.push_str(&format!("{note}\n"));
        }
        out.push_str(&format!(
            "fields missing: {}\n",
            if missing.is_empty() { "none".to_string() } else { missing.join(", ") }
        ));
        out.push_str(&format!(
            "\n{:<10} {:>10} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}\n",
            "field", "tasks", "mean", "min", "p50", "p90", "p99", "max"
        ));
        for (name, d) in names.iter().zip([&self.work_s, &self.cpu, &self.memory, &self.priority]) {
            if let Some(d) = d {
                out.push_str(&format!(
                    "{:<10} {:>10} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}\n",
                    name,
                    d.count,
                    g(d.mean),
                    g(d.min),
                    g(d.p50),
                    g(d.p90),
                    g(d.p99),
                    g(d.max)
                ));
            }
        }
        if self.records > 0 {
            let width = span / self.bins.len() as f64;
            let most = self.bins.iter().copied().max().unwrap_or(1).max(1);
            out.push_str(&format!("\narrivals over time ({} bins of {} s):\n", self.bins.len(), g(width)));
            for (i, &n) in self.bins.iter().enumerate() {
                let from = self.first_s + i as f64 * width;
                let rate = if width > 0.0 { format!("{}/s", g(n as f64 / width)) } else { "-".to_string() };
                let bar = "#".repeat(((n as f64 / most as f64) * 40.0).round() as usize);
                out.push_str(&format!("  {:>14} s {:>9} {:>12}  {bar}\n", g(from), n, rate));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_with_six_significant_digits() {
        assert_eq!(g(0.0), "0");
        assert_eq!(g(188041.0), "188041");
        assert_eq!(g(5611.086346), "5611.09");
        assert_eq!(g(0.0625), "0.0625");
        assert_eq!(g(0.0004244), "4.244e-4");
        assert_eq!(g(-1078.0), "-1078");
    }
}
