//! Recorded workloads: one streaming reader per trace format, each turning a file into
//! [`TraceRecord`]s (a submit time, the work, the resources asked for, a priority where known),
//! and the replay that feeds them to the simulator as a [`fulcrum_sim_core::workload::TaskSource`].
//!
//! Readers stream: a line is read, parsed and dropped, `.gz` files are decompressed on the fly
//! (detected by their magic bytes, not their name), and nothing grows with the length of the
//! file except where a format forces it (a time-unsorted file replayed with `"sort": true`).
//! A line that cannot be read is either an error naming the file and the line
//! ([`BadLines::Error`], the default) or skipped and counted ([`BadLines::Skip`]).
//!
//! | format | file | a record is |
//! |---|---|---|
//! | `swf` | Standard Workload Format v2.2 (Parallel Workloads Archive) | a job |
//! | `google-2011` | Google clusterdata-2011-2 `task_events` shards | a task submission, joined with its schedule and end |
//! | `alibaba-2017` | Alibaba cluster-trace-v2017 `batch_task` | a task (its instances as copies) |
//! | `alibaba-2018` | Alibaba cluster-trace-v2018 `batch_task` | a task (its instances as copies) |
//! | `azure-llm` | Azure LLM inference trace 2023 | a request |
//! | `csv` | any CSV, with a column mapping | a row |

pub mod alibaba;
pub mod azure;
pub(crate) mod config;
pub mod generic;
pub mod google;
pub mod inspect;
pub mod machines;
pub mod replay;
pub mod swf;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

pub use replay::{LoadScale, TracePlan, TraceSource, TraceSpec, TraceSummary};

/// A trace format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TraceFormat {
    /// Standard Workload Format v2.2 (Parallel Workloads Archive).
    Swf,
    /// Google cluster data 2011, `task_events` table.
    Google2011,
    /// Alibaba cluster-trace-v2017, `batch_task` table.
    Alibaba2017,
    /// Alibaba cluster-trace-v2018, `batch_task` table.
    Alibaba2018,
    /// Azure LLM inference trace 2023 (`TIMESTAMP,ContextTokens,GeneratedTokens`).
    AzureLlm,
    /// Any CSV file, with a column mapping.
    Csv,
}

impl TraceFormat {
    /// Every format, in the order they are documented.
    pub const ALL: [TraceFormat; 6] = [
        TraceFormat::Swf,
        TraceFormat::Google2011,
        TraceFormat::Alibaba2017,
        TraceFormat::Alibaba2018,
        TraceFormat::AzureLlm,
        TraceFormat::Csv,
    ];

    /// The name scenario files and the command line use.
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Swf => "swf",
            TraceFormat::Google2011 => "google-2011",
            TraceFormat::Alibaba2017 => "alibaba-2017",
            TraceFormat::Alibaba2018 => "alibaba-2018",
            TraceFormat::AzureLlm => "azure-llm",
            TraceFormat::Csv => "csv",
        }
    }

    /// The format called `name`.
    pub fn parse(name: &str) -> Option<TraceFormat> {
        TraceFormat::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether files of this format come sorted by submit time as their sources ship them (the
    /// Alibaba task tables do not), which is the default of `"sort"`.
    pub fn sorted_as_shipped(self) -> bool {
        !matches!(self, TraceFormat::Alibaba2017 | TraceFormat::Alibaba2018)
    }

    /// All names, quoted, for messages.
    pub fn names() -> String {
        TraceFormat::ALL.iter().map(|f| format!("\"{}\"", f.name())).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for TraceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to do with a line that cannot be read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BadLines {
    /// Stop with an error naming the file and the line (the default).
    #[default]
    Error,
    /// Skip it and count it.
    Skip,
}

impl BadLines {
    /// `"error"` or `"skip"`.
    pub fn name(self) -> &'static str {
        match self {
            BadLines::Error => "error",
            BadLines::Skip => "skip",
        }
    }

    /// The policy named `s` (`"error"` or `"skip"`).
    pub fn parse(s: &str) -> Option<BadLines> {
        match s {
            "error" => Some(BadLines::Error),
            "skip" => Some(BadLines::Skip),
            _ => None,
        }
    }
}

/// Something wrong in a trace file: at a line, or (line 0) with the file as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line number; 0 when the problem is not on one line (the file cannot be opened).
    pub line: u64,
    /// What is wrong, lowercase, no final full stop.
    pub message: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for TraceError {}

/// One unit of replayable work as the trace states it, in the trace's own units (the replay
/// maps them to the simulator's). `None` is a field the trace does not give.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceRecord {
    /// Line of the file the record comes from (for a joined record, its submission's line).
    pub line: u64,
    /// Submit time, seconds on the trace's clock.
    pub submit_s: f64,
    /// Work: run time in seconds on the trace's clock.
    pub work_s: Option<f64>,
    /// CPU asked for, in the trace's unit (SWF processors, Google's normalised CPU, Alibaba's
    /// plan_cpu where 100 is a core).
    pub cpu: Option<f64>,
    /// Memory asked for, in the trace's unit (SWF KB in all, normalised elsewhere).
    pub memory: Option<f64>,
    /// Priority (Google 0–11).
    pub priority: Option<i32>,
    /// Identical tasks this record stands for (an Alibaba task's instances), at least 1.
    pub copies: u64,
    /// The trace ends before the work does: `work_s` is what was seen, a lower bound.
    pub censored: bool,
}

impl TraceRecord {
    /// A record with only a submit time.
    pub fn at(line: u64, submit_s: f64) -> TraceRecord {
        TraceRecord {
            line,
            submit_s,
            work_s: None,
            cpu: None,
            memory: None,
            priority: None,
            copies: 1,
            censored: false,
        }
    }
}

/// What a reader saw besides its records.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadStats {
    /// Lines read (data, comments, headers and bad lines).
    pub lines: u64,
    /// Comment, header and blank lines.
    pub comments: u64,
    /// Bad lines skipped under [`BadLines::Skip`].
    pub skipped: u64,
    /// The first bad line skipped.
    pub first_skipped: Option<TraceError>,
    /// Records of what was there before the trace began (Google tasks submitted at time 0,
    /// Alibaba tasks created before 0): the initial state, not arrivals, so not replayed.
    pub initial: u64,
    /// Tasks the trace shows never running (ended before being scheduled; Alibaba `Waiting`):
    /// not replayed.
    pub never_ran: u64,
    /// `Key: value` facts from the file's header (SWF `; Acknowledge: …`, a time origin), first
    /// occurrence of each key, at most [`MAX_HEADER`].
    pub header: Vec<(String, String)>,
}

/// Most header facts kept.
pub const MAX_HEADER: usize = 64;

impl ReadStats {
    /// The header value of `key`.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.header.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub(crate) fn add_header(&mut self, key: &str, value: &str) {
        if self.header.len() < MAX_HEADER && self.header(key).is_none() {
            self.header.push((key.to_string(), value.to_string()));
        }
    }
}

/// A streaming reader of one trace format.
pub trait RecordReader: Send {
    /// The next record, `Ok(None)` at the end of the file.
    fn next_record(&mut self) -> Result<Option<TraceRecord>, TraceError>;
    /// What was read so far.
    fn stats(&self) -> &ReadStats;
}

/// Options of the readers (each reads the ones of its format).
#[derive(Clone, Debug, PartialEq)]
pub struct ReaderOptions {
    /// What to do with a bad line.
    pub bad_lines: BadLines,
    /// `google-2011`: how long after its submission (trace seconds) a task whose end has not
    /// been seen is given up on: its work is then what was seen (censored), or unknown if it was
    /// never scheduled. Bounds the memory of the join.
    pub lookahead_s: f64,
    /// `alibaba-*`: one task per instance (true) or one per task row (false).
    pub expand_instances: bool,
    /// `azure-llm`: the work of a request from its tokens.
    pub token_cost: azure::TokenCost,
    /// `csv`: the column mapping.
    pub columns: generic::Columns,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            bad_lines: BadLines::Error,
            lookahead_s: google::DEFAULT_LOOKAHEAD_S,
            expand_instances: true,
            token_cost: azure::TokenCost::default(),
            columns: generic::Columns::default(),
        }
    }
}

/// Opens `path` (named `name` in errors) as a trace of `format`.
pub fn open(
    format: TraceFormat,
    path: &Path,
    name: &str,
    options: &ReaderOptions,
) -> Result<Box<dyn RecordReader>, TraceError> {
    let input = open_input(path).map_err(|e| TraceError { file: name.to_string(), line: 0, message: e.to_string() })?;
    from_reader(format, input, name, options)
}

/// A reader of `format` over `input` (decompressed already), named `name` in errors.
pub fn from_reader(
    format: TraceFormat,
    input: Box<dyn BufRead + Send>,
    name: &str,
    options: &ReaderOptions,
) -> Result<Box<dyn RecordReader>, TraceError> {
    let bad = Bad { file: name.to_string(), policy: options.bad_lines };
    Ok(match format {
        TraceFormat::Swf => Box::new(swf::SwfReader::new(input, bad)),
        TraceFormat::Google2011 => Box::new(google::TaskReader::new(input, bad, options.lookahead_s)),
        TraceFormat::Alibaba2017 => Box::new(alibaba::BatchTaskReader::v2017(input, bad, options.expand_instances)),
        TraceFormat::Alibaba2018 => Box::new(alibaba::BatchTaskReader::v2018(input, bad, options.expand_instances)),
        TraceFormat::AzureLlm => Box::new(azure::AzureReader::new(input, bad, options.token_cost)),
        TraceFormat::Csv => Box::new(generic::CsvReader::new(input, bad, &options.columns)?),
    })
}

/// The bytes of `path`, gunzipped if they start with gzip's magic bytes.
pub fn open_input(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let file = File::open(path)?;
    let mut buffered = BufReader::with_capacity(1 << 16, file);
    let gzipped = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzipped {
        Box::new(BufReader::with_capacity(1 << 16, flate2::bufread::MultiGzDecoder::new(buffered)))
    } else {
        Box::new(buffered)
    })
}

/// A byte stream with every `\r` removed, so that CRLF files read like LF files (and the CSV
/// parser's line numbers, which count `\n`, stay right).
pub(crate) struct NoCr(pub(crate) Box<dyn BufRead + Send>);

impl io::Read for NoCr {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.0.read(out)?;
            if n == 0 {
                return Ok(0);
            }
            let mut kept = 0;
            for i in 0..n {
                if out[i] != b'\r' {
                    out[kept] = out[i];
                    kept += 1;
                }
            }
            if kept > 0 {
                return Ok(kept);
            }
        }
    }
}

/// A CSV reader (no header handling, rows of any width) over `input` without `\r`s.
pub(crate) fn csv_reader(input: Box<dyn BufRead + Send>, delimiter: u8) -> csv::Reader<NoCr> {
    csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(NoCr(input))
}

/// The bad-line policy with the file name, shared by the readers.
#[derive(Clone, Debug)]
pub(crate) struct Bad {
    pub(crate) file: String,
    pub(crate) policy: BadLines,
}

impl Bad {
    /// Line `line` is bad: an error, or counted in `stats` and skipped.
    pub(crate) fn line(&self, stats: &mut ReadStats, line: u64, message: String) -> Result<(), TraceError> {
        let e = TraceError { file: self.file.clone(), line, message };
        match self.policy {
            BadLines::Error => Err(e),
            BadLines::Skip => {
                stats.skipped += 1;
                stats.first_skipped.get_or_insert(e);
                Ok(())
            }
        }
    }

    /// An error reading the file itself (never skipped).
    pub(crate) fn io(&self, line: u64, e: impl fmt::Display) -> TraceError {
        TraceError { file: self.file.clone(), line, message: format!("cannot read: {e}") }
    }
}

/// Lines of a byte stream: `\n`-terminated, a trailing `\r` removed, numbered from 1.
pub(crate) struct Lines {
    input: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    /// Number of the line in `buf`.
    pub(crate) number: u64,
}

impl Lines {
    pub(crate) fn new(input: Box<dyn BufRead + Send>) -> Lines {
        Lines { input, buf: Vec::with_capacity(256), number: 0 }
    }

    /// The next line, without its line ending, with its number.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        self.buf.clear();
        if self.input.read_until(b'\n', &mut self.buf)? == 0 {
            return Ok(None);
        }
        self.number += 1;
        let mut end = self.buf.len();
        if end > 0 && self.buf[end - 1] == b'\n' {
            end -= 1;
        }
        if end > 0 && self.buf[end - 1] == b'\r' {
            end -= 1;
        }
        Ok(Some((self.number, &self.buf[..end])))
    }
}

/// A field as text for messages: at most 40 characters, invalid UTF-8 replaced.
pub(crate) fn show(field: &[u8]) -> String {
    let s = String::from_utf8_lossy(field);
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.into_owned()
    }
}

/// A finite decimal number (`12`, `-1`, `3.5`, `1e-3`); `None` for anything else, including
/// `inf` and `NaN`. Whole numbers of up to 15 digits take a fast path.
pub(crate) fn number(field: &[u8]) -> Option<f64> {
    let (negative, digits) = match field.first() {
        Some(b'-') => (true, &field[1..]),
        Some(b'+') => (false, &field[1..]),
        _ => (false, field),
    };
    if !digits.is_empty() && digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
        let v = digits.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0')) as f64;
        return Some(if negative { -v } else { v });
    }
    // Only digits, signs, points and exponents reach the general parser (it would accept
    // "inf" and "NaN").
    if digits.is_empty() || !field.iter().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')) {
        return None;
    }
    let v: f64 = std::str::from_utf8(field).ok()?.parse().ok()?;
    v.is_finite().then_some(v)
}

/// A whole number (no point, no exponent).
pub(crate) fn integer(field: &[u8]) -> Option<i64> {
    let (negative, digits) = match field.first() {
        Some(b'-') => (true, &field[1..]),
        _ => (false, field),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits.iter().fold(0i64, |acc, &d| acc * 10 + i64::from(d - b'0'));
    Some(if negative { -v } else { v })
}

/// A field that may be empty: `Ok(None)` if empty, `Err(())` if present but not a number.
pub(crate) fn optional_number(field: &[u8]) -> Result<Option<f64>, ()> {
    if field.is_empty() {
        Ok(None)
    } else {
        number(field).map(Some).ok_or(())
    }
}

/// A reader over `text` (tests).
#[cfg(test)]
pub(crate) fn input_of(text: &str) -> Box<dyn BufRead + Send> {
    Box::new(io::Cursor::new(text.as_bytes().to_vec()))
}

/// Every record of a reader (tests).
#[cfg(test)]
pub(crate) fn read_all(reader: &mut dyn RecordReader) -> Result<Vec<TraceRecord>, TraceError> {
    let mut out = Vec::new();
    while let Some(r) = reader.next_record()? {
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn numbers_parse_exactly_and_reject_what_is_not_one() {
        assert_eq!(number(b"12"), Some(12.0));
        assert_eq!(number(b"-1"), Some(-1.0));
        assert_eq!(number(b"3.25"), Some(3.25));
        assert_eq!(number(b"1e-3"), Some(0.001));
        assert_eq!(number(b"0.0004244"), Some(0.0004244));
        assert_eq!(number(b"+7"), Some(7.0));
        for bad in [&b""[..], b"-", b"abc", b"1x", b"inf", b"NaN", b"1..2", b"1e999", b" 1"] {
            assert_eq!(number(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(integer(b"5285926325"), Some(5_285_926_325));
        assert_eq!(integer(b"-1078"), Some(-1078));
        assert_eq!(integer(b"1.5"), None);
        assert_eq!(optional_number(b""), Ok(None));
        assert_eq!(optional_number(b"x"), Err(()));
    }

    #[test]
    fn lines_drop_lf_and_crlf_and_count_from_one() {
        let mut lines = Lines::new(input_of("a\r\nb\n\nc"));
        let mut seen = Vec::new();
        while let Some((n, l)) = lines.next_line().unwrap() {
            seen.push((n, String::from_utf8(l.to_vec()).unwrap()));
        }
        assert_eq!(seen, [(1, "a".into()), (2, "b".into()), (3, String::new()), (4, "c".into())]);
    }

    #[test]
    fn gzip_is_detected_by_its_magic_bytes() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("t.txt");
        std::fs::write(&plain, "hello\n").unwrap();
        let gz = dir.path().join("t.data");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"hello\n").unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        for p in [plain, gz] {
            let mut s = String::new();
            open_input(&p).unwrap().read_to_string(&mut s).unwrap();
            assert_eq!(s, "hello\n", "{}", p.display());
        }
    }

    #[test]
    fn formats_round_trip_their_names() {
        for f in TraceFormat::ALL {
            assert_eq!(TraceFormat::parse(f.name()), Some(f));
        }
        assert_eq!(TraceFormat::parse("parquet"), None);
    }
}
