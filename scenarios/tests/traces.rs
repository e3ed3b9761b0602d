//! The trace readers on the real files of `library/traces/`: counts, time spans and field
//! statistics equal to what the traces' documentation (`library/traces/README.md`, the shared
//! provenance notes) states, or to what an independent pass (awk, Python) over the same bytes
//! found, as noted at each figure; and malformed lines reported with file and line.

use std::collections::BTreeSet;
use std::path::PathBuf;

use fulcrum_scenarios::trace::azure::TokenCost;
use fulcrum_scenarios::trace::generic::{Column, Columns};
use fulcrum_scenarios::trace::google::TaskEvents;
use fulcrum_scenarios::trace::{open, BadLines, ReadStats, ReaderOptions, TraceFormat, TraceRecord};

fn trace(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("library/traces").join(rel)
}

/// Streams every record of a library trace through `f`; returns the reader's statistics.
fn each(format: TraceFormat, rel: &str, options: &ReaderOptions, mut f: impl FnMut(&TraceRecord)) -> ReadStats {
    let mut reader = open(format, &trace(rel), rel, options).unwrap_or_else(|e| panic!("{e}"));
    while let Some(r) = reader.next_record().unwrap_or_else(|e| panic!("{e}")) {
        f(&r);
    }
    reader.stats().clone()
}

/// Totals over a trace's records.
#[derive(Debug, Default)]
struct Totals {
    records: u64,
    first_s: f64,
    last_s: f64,
    work_s: f64,
    max_cpu: f64,
    without_work: u64,
    without_cpu: u64,
    without_memory: u64,
    censored: u64,
    sorted: bool,
}

fn totals(format: TraceFormat, rel: &str, options: &ReaderOptions) -> (Totals, ReadStats) {
    let mut t = Totals { first_s: f64::INFINITY, sorted: true, ..Totals::default() };
    let mut previous = f64::NEG_INFINITY;
    let stats = each(format, rel, options, |r| {
        t.records += 1;
        t.first_s = t.first_s.min(r.submit_s);
        t.last_s = t.last_s.max(r.submit_s);
        t.sorted &= r.submit_s >= previous;
        previous = r.submit_s;
        t.work_s += r.work_s.unwrap_or(0.0);
        t.max_cpu = t.max_cpu.max(r.cpu.unwrap_or(0.0));
        t.without_work += u64::from(r.work_s.is_none());
        t.without_cpu += u64::from(r.cpu.is_none());
        t.without_memory += u64::from(r.memory.is_none());
        t.censored += u64::from(r.censored);
    });
    (t, stats)
}

#[test]
fn lcg_2005_holds_188041_serial_jobs_over_11_days() {
    let (t, stats) = totals(TraceFormat::Swf, "swf/LCG-2005-1.swf.gz", &ReaderOptions::default());
    assert_eq!(t.records, 188_041);
    assert_eq!(stats.header("MaxJobs"), Some("188041"));
    assert_eq!(stats.header("MaxProcs"), Some("24515"));
    assert_eq!(stats.header("Acknowledge"), Some("Hui Li"));
    assert_eq!(stats.header("UnixStartTime"), Some("1132444805"));
    // "All are serial (field 5 = 1)"; run times are all there, memory never.
    assert_eq!(t.max_cpu, 1.0);
    assert_eq!((t.without_cpu, t.without_work, t.without_memory), (0, 0, 188_041));
    // 20 Nov – 5 Dec 2005: 11 days of submits; sorted by submit time.
    assert_eq!((t.first_s, t.last_s), (0.0, 950_392.0));
    assert!((t.last_s / 86_400.0 - 11.0).abs() < 0.1);
    assert!(t.sorted);
    // Sum of field 4 (awk over the decompressed file).
    assert_eq!(t.work_s, 1_502_530_759.0);
    assert_eq!(stats.skipped, 0);
}

#[test]
fn nasa_ipsc_holds_18239_jobs_over_92_days() {
    let (t, stats) = totals(TraceFormat::Swf, "swf/NASA-iPSC-1993-3.1-cln.swf.gz", &ReaderOptions::default());
    assert_eq!(t.records, 18_239);
    // The header counts the raw log: 24,025 jobs were cleaned out of 42,264.
    assert_eq!(stats.header("MaxJobs"), Some("42264"));
    assert_eq!(stats.header("UnixStartTime"), Some("749458803"));
    assert_eq!(stats.header("TimeZoneString"), Some("US/Pacific"));
    assert_eq!(stats.header("Acknowledge"), Some("Bill Nitzberg"));
    assert_eq!(t.max_cpu, 128.0);
    // Fields 7 and 10 (memory) are -1 throughout; run times (4) are populated.
    assert_eq!((t.without_memory, t.without_work), (18_239, 0));
    assert_eq!(t.first_s, 0.0);
    assert_eq!(t.last_s, 7_948_936.0);
    assert!((t.last_s / 86_400.0 - 92.0).abs() < 0.5, "1 Oct – 31 Dec 1993");
}

#[test]
fn lublin_model_output_holds_10000_jobs_over_89_days() {
    let (t, stats) = totals(TraceFormat::Swf, "swf/lublin_256.swf", &ReaderOptions::default());
    assert_eq!(t.records, 10_000);
    assert_eq!(stats.header("MaxNodes"), Some("256"));
    assert_eq!(stats.header("MaxJobs"), Some("10000"));
    assert_eq!(t.max_cpu, 256.0);
    assert_eq!((t.first_s, t.last_s), (5_094.0, 7_711_701.0));
    assert!(((t.last_s - t.first_s) / 86_400.0 - 89.0).abs() < 0.5);
    assert_eq!(t.work_s, 48_627_667.0);
}

#[test]
fn google_2011_shard_0_holds_190926_tasks_of_4895_jobs_on_12492_machines() {
    let rel = "google-2011/task_events/part-00000-of-00500.csv.gz";
    let mut events = TaskEvents::open(&trace(rel), rel, BadLines::Error).unwrap();
    let (mut tasks, mut jobs, mut machines) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let (mut rows, mut at_zero, mut last_us, mut submits) = (0u64, 0u64, 0i64, 0u64);
    while let Some(e) = events.next_event().unwrap() {
        rows += 1;
        tasks.insert((e.job, e.index));
        jobs.insert(e.job);
        machines.extend(e.machine);
        at_zero += u64::from(e.time_us == 0);
        submits += u64::from(e.kind == 0);
        last_us = last_us.max(e.time_us);
    }
    assert_eq!(rows, 450_146);
    assert_eq!((tasks.len(), jobs.len(), machines.len()), (190_926, 4_895, 12_492));
    assert_eq!(at_zero, 277_321, "rows at t = 0 give the initial state");
    assert_eq!(last_us, 5_611_086_346, "the shard covers trace time 0 … 5.61e9 µs");

    // The join: every submission after t = 0 is a record unless it ended before being scheduled.
    // Figures from an independent Python join of the same file (same rules, no lookahead limit:
    // the default 6 h is longer than the shard).
    let (t, stats) = totals(TraceFormat::Google2011, rel, &ReaderOptions::default());
    assert_eq!(stats.initial + t.records + stats.never_ran, submits);
    assert_eq!(stats.initial, 144_339);
    assert_eq!((t.records, stats.never_ran, t.censored, t.without_work), (57_110, 42, 7_628, 399));
    assert!((t.work_s - 42_984_174.939237).abs() < 1e-3, "{}", t.work_s);
    assert_eq!((t.first_s, t.last_s), (600.047726, 5_611.086346));
    assert!(t.sorted);
}

#[test]
fn alibaba_2017_batch_task_holds_80553_tasks_in_12951_jobs() {
    let rel = "alibaba-2017/batch_task.csv";
    let (t, stats) = totals(TraceFormat::Alibaba2017, rel, &ReaderOptions::default());
    // Every row is a record, the initial state (created before 0) or a task that never ran.
    assert_eq!(t.records + stats.initial + stats.never_ran, 80_553);
    assert_eq!((t.records, stats.initial, stats.never_ran), (71_539, 167, 8_847));
    assert_eq!(t.censored, 3_567, "Running tasks");
    assert_eq!(stats.comments, 1, "the added header line");
    // 9,017 rows have both plan fields empty; 170 of them are not Waiting and are replayed.
    assert_eq!((t.without_cpu, t.without_memory), (170, 170));
    // End time 0 (208 Running rows) or before the create time (one row, by 1 s): work unknown.
    assert_eq!(t.without_work, 209);
    assert!(!t.sorted, "the table is not in time order");
    // Create times of the replayed tasks (awk); the table's -1,078 s is among the initial state.
    assert_eq!((t.first_s, t.last_s), (5.0, 60_181.0));
    let mut ends = f64::NEG_INFINITY;
    let mut instances = 0;
    each(TraceFormat::Alibaba2017, rel, &ReaderOptions::default(), |r| {
        ends = ends.max(r.submit_s + r.work_s.unwrap_or(0.0));
        instances += r.copies;
    });
    assert_eq!(ends, 61_668.0, "times run to 61,668 s");
    assert_eq!(instances, 11_019_412, "instances of the tasks that ran (awk)");
    // Jobs, through the generic reader: column 3 (job_id, header name trimmed) read as a priority,
    // and as the "submit" time too (create and end times can be negative).
    let columns =
        Columns { time: Column::Index(2), priority: Some(Column::Name("job_id".into())), ..Columns::default() };
    let mut jobs = BTreeSet::new();
    let stats = each(TraceFormat::Csv, rel, &ReaderOptions { columns, ..ReaderOptions::default() }, |r| {
        jobs.insert(r.priority.unwrap());
    });
    assert_eq!(jobs.len(), 12_951);
    assert_eq!(stats.skipped, 0);
}

#[test]
fn azure_llm_traces_hold_their_requests_and_token_counts() {
    // Work = the token count of one kind, so the statistics are of the tokens themselves.
    let context = TokenCost { per_request_s: 0.0, per_context_token_s: 1.0, per_generated_token_s: 0.0 };
    let generated = TokenCost { per_request_s: 0.0, per_context_token_s: 0.0, per_generated_token_s: 1.0 };
    for (rel, requests, max_context, max_generated, sum_context, sum_generated, span_s) in [
        (
            "azure-llm-2023/AzureLLMInferenceTrace_conv.csv",
            19_366,
            14_050.0,
            1_000.0,
            22_361_870.0,
            4_088_665.0,
            3_501.721937,
        ),
        (
            "azure-llm-2023/AzureLLMInferenceTrace_code.csv",
            8_819,
            7_437.0,
            1_899.0,
            18_059_974.0,
            245_896.0,
            3_435.948056,
        ),
    ] {
        for (cost, max, sum) in [(context, max_context, sum_context), (generated, max_generated, sum_generated)] {
            let mut most = 0.0f64;
            let (t, stats) =
                totals(TraceFormat::AzureLlm, rel, &ReaderOptions { token_cost: cost, ..Default::default() });
            each(TraceFormat::AzureLlm, rel, &ReaderOptions { token_cost: cost, ..Default::default() }, |r| {
                most = most.max(r.work_s.unwrap())
            });
            assert_eq!(t.records, requests, "{rel}");
            assert_eq!((most, t.work_s), (max, sum), "{rel}");
            assert!(t.sorted);
            assert_eq!(t.first_s, 0.0);
            assert!((t.last_s - span_s).abs() < 1e-6, "{rel}: {}", t.last_s);
            assert!(stats.header("TimeOrigin").unwrap().starts_with("2023-11-16 18:1"));
        }
    }
}

/// A copy of the first lines of a real trace with one line replaced; returns its path.
fn corrupt(dir: &std::path::Path, rel: &str, keep: usize, line: usize, with: &str, crlf: bool) -> PathBuf {
    let mut text = String::new();
    let mut input = fulcrum_scenarios::trace::open_input(&trace(rel)).unwrap();
    std::io::Read::read_to_string(&mut input, &mut text).unwrap();
    let mut lines: Vec<&str> = text.lines().take(keep).collect();
    lines[line - 1] = with;
    let eol = if crlf { "\r\n" } else { "\n" };
    static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("{n}-{}", rel.rsplit('/').next().unwrap().trim_end_matches(".gz")));
    std::fs::write(&path, lines.join(eol) + eol).unwrap();
    path
}

/// Line `line` of a library trace, without its line end.
fn original(rel: &str, line: usize) -> String {
    let mut text = String::new();
    let mut input = fulcrum_scenarios::trace::open_input(&trace(rel)).unwrap();
    std::io::Read::read_to_string(&mut input, &mut text).unwrap();
    text.lines().nth(line - 1).unwrap().to_string()
}

#[test]
fn malformed_lines_of_real_traces_are_reported_with_file_and_line_or_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    // (trace, format, line to break, replacement, message)
    let cases = [
        (
            "swf/lublin_256.swf",
            TraceFormat::Swf,
            20,
            "13 5094 -1 1 1",
            "expected 18 whitespace-separated fields, got 5",
        ),
        (
            "swf/lublin_256.swf",
            TraceFormat::Swf,
            21,
            "14 5170 -1 2 one -1 -1 -1 -1 -1 1 -1 -1 -1 0 -1 -1 -1",
            "field 5 (allocated processors) is not a number: `one`",
        ),
        (
            "swf/lublin_256.swf",
            TraceFormat::Swf,
            22,
            "15 -6742 -1 24089 1 -1 -1 -1 -1 -1 1 -1 -1 -1 0 -1 -1 -1",
            "field 2 (submit time) must be -1 (unknown) or at least 0, got -6742",
        ),
        (
            "google-2011/task_events/part-00000-of-00500.csv.gz",
            TraceFormat::Google2011,
            30,
            "-5,,3418309,0,4155527081,0,user,3,9,,,,",
            "column 1 (time) must not be negative, got -5",
        ),
        (
            "google-2011/task_events/part-00000-of-00500.csv.gz",
            TraceFormat::Google2011,
            31,
            "0,2,3418309,0,4155527081,0,user,3,9",
            "expected 13 comma-separated columns, got 9",
        ),
        (
            "alibaba-2017/batch_task.csv",
            TraceFormat::Alibaba2017,
            40,
            "6459,6524,3,4,15740,Terminated,fifty,0.007956928",
            "column 7 (plan_cpu) is not a number: `fifty`",
        ),
        (
            "azure-llm-2023/AzureLLMInferenceTrace_code.csv",
            TraceFormat::AzureLlm,
            50,
            "2023-11-16 18:17:03.9799600,4808",
            "expected 3 comma-separated columns, got 2",
        ),
    ];
    for crlf in [false, true] {
        for (rel, format, line, with, message) in cases {
            let path = corrupt(dir.path(), rel, 100, line, with, crlf);
            let name = path.display().to_string();
            let mut reader = open(format, &path, &name, &ReaderOptions::default()).unwrap();
            let err = loop {
                match reader.next_record() {
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("{rel}: the broken line {line} was accepted"),
                    Err(e) => break e,
                }
            };
            assert_eq!(err.to_string(), format!("{name}:{line}: {message}"), "crlf {crlf}");
            // Skipped and counted instead: every other line is still read.
            let skip = ReaderOptions { bad_lines: BadLines::Skip, ..ReaderOptions::default() };
            let count = |path: &std::path::Path, options: &ReaderOptions| {
                let mut reader = open(format, path, &name, options).unwrap();
                let mut n = 0;
                while reader.next_record().unwrap().is_some() {
                    n += 1;
                }
                (n, reader.stats().clone())
            };
            let (n, stats) = count(&path, &skip);
            assert_eq!(stats.skipped, 1, "{rel}");
            assert_eq!(stats.first_skipped.as_ref().unwrap().line, line as u64);
            let clean = corrupt(dir.path(), rel, 100, line, original(rel, line).as_str(), crlf);
            let (n_clean, clean_stats) = count(&clean, &ReaderOptions::default());
            assert_eq!(clean_stats.lines, stats.lines, "{rel}");
            assert!(n_clean - n <= 1, "{rel}: {n_clean} records clean, {n} with a line skipped");
        }
    }
}
