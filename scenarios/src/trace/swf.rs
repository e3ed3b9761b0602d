//! Standard Workload Format v2.2 (the Parallel Workloads Archive's, Feitelson et al.): one job a
//! line, 18 whitespace-separated numeric fields, `-1` for "unknown", comment and header lines
//! starting with `;` (`; MaxProcs: 24515`).
//!
//! A job's record: submit time (field 2), run time (4) as the work, processors (the larger of
//! allocated, 5, and requested, 8) as the CPU, memory (requested, 10, else used, 7; KB per
//! processor) times the processors. Every field is checked: 18 of them, each a number, none
//! negative but `-1`, the submit time present.

use std::io::BufRead;

use super::{number, show, Bad, Lines, ReadStats, RecordReader, TraceError, TraceRecord};

/// Fields on a data line.
pub const FIELDS: usize = 18;

/// The 18 fields' names, for messages.
pub const FIELD_NAMES: [&str; FIELDS] = [
    "job number",
    "submit time",
    "wait time",
    "run time",
    "allocated processors",
    "average cpu time",
    "used memory",
    "requested processors",
    "requested time",
    "requested memory",
    "status",
    "user id",
    "group id",
    "executable number",
    "queue number",
    "partition number",
    "preceding job number",
    "think time",
];

/// Reads SWF jobs.
pub struct SwfReader {
    lines: Lines,
    bad: Bad,
    stats: ReadStats,
    /// A data line has been seen: later `;` lines are comments, not header.
    in_body: bool,
}

impl SwfReader {
    /// A reader over `input`.
    pub(crate) fn new(input: Box<dyn BufRead + Send>, bad: Bad) -> SwfReader {
        SwfReader { lines: Lines::new(input), bad, stats: ReadStats::default(), in_body: false }
    }
}

/// A `; Key: value` header line, if this is one (not a continuation line, which is indented).
fn header_fact(comment: &[u8]) -> Option<(&str, &str)> {
    let text = std::str::from_utf8(comment).ok()?.trim_start_matches(';');
    if text.len() - text.trim_start().len() > 2 {
        return None;
    }
    let (key, value) = text.trim().split_once(':')?;
    let key = key.trim();
    (!key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| (key, value.trim()))
}

/// Parses one data line into its 18 fields, or says what is wrong with it. One pass over the
/// bytes: whole numbers (nearly every field of every log) are converted as they are scanned;
/// anything else goes to the general number parser.
fn parse(line: &[u8], fields: &mut [f64; FIELDS]) -> Result<(), String> {
    let len = line.len();
    let mut n = 0;
    let mut i = 0;
    loop {
        while i < len && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == len {
            break;
        }
        let start = i;
        let negative = line[i] == b'-';
        if negative {
            i += 1;
        }
        let digits = i;
        let mut v: u64 = 0;
        while i < len && line[i].is_ascii_digit() && i - digits < 15 {
            v = v * 10 + u64::from(line[i] - b'0');
            i += 1;
        }
        let whole = i > digits && (i == len || line[i].is_ascii_whitespace());
        if !whole {
            while i < len && !line[i].is_ascii_whitespace() {
                i += 1;
            }
        }
        if n < FIELDS {
            fields[n] = if whole {
                if negative {
                    -(v as f64)
                } else {
                    v as f64
                }
            } else {
                let field = &line[start..i];
                number(field)
                    .ok_or_else(|| format!("field {} ({}) is not a number: `{}`", n + 1, FIELD_NAMES[n], show(field)))?
            };
        }
        n += 1;
    }
    if n != FIELDS {
        return Err(format!("expected {FIELDS} whitespace-separated fields, got {n}"));
    }
    for (i, &v) in fields.iter().enumerate() {
        if v < 0.0 && v != -1.0 {
            return Err(format!("field {} ({}) must be -1 (unknown) or at least 0, got {v}", i + 1, FIELD_NAMES[i]));
        }
    }
    if fields[1] < 0.0 {
        return Err("field 2 (submit time) is unknown (-1); a job needs a submit time".to_string());
    }
    Ok(())
}

impl RecordReader for SwfReader {
    fn next_record(&mut self) -> Result<Option<TraceRecord>, TraceError> {
        let mut fields = [0f64; FIELDS];
        loop {
            let (number, line) = match self.lines.next_line() {
                Ok(Some(numbered)) => numbered,
                Ok(None) => return Ok(None),
                Err(e) => return Err(self.bad.io(self.lines.number + 1, e)),
            };
            self.stats.lines += 1;
            let start = line.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(line.len());
            let line = &line[start..];
            if line.is_empty() || line[0] == b';' {
                self.stats.comments += 1;
                if !self.in_body {
                    if let Some((key, value)) = header_fact(line) {
                        self.stats.add_header(key, value);
                    }
                }
                continue;
            }
            self.in_body = true;
            if let Err(message) = parse(line, &mut fields) {
                self.bad.line(&mut self.stats, number, message)?;
                continue;
            }
            let known = |i: usize| (fields[i] >= 0.0).then_some(fields[i]);
            let processors = match (known(4), known(7)) {
                (Some(a), Some(r)) => Some(a.max(r)),
                (a, r) => a.or(r),
            };
            let memory_per_processor = known(9).or(known(6));
            return Ok(Some(TraceRecord {
                line: number,
                submit_s: fields[1],
                work_s: known(3),
                cpu: processors,
                memory: memory_per_processor.map(|m| m * processors.unwrap_or(1.0)),
                priority: None,
                copies: 1,
                censored: false,
            }));
        }
    }

    fn stats(&self) -> &ReadStats {
        &self.stats
    }
}

/// A synthetic SWF log generated on the fly, for measuring the reader and the replay at scales
/// no shipped file has (`Read` it, or write it to a file): a header, then `jobs` jobs one second
/// apart on average, with run times of 1 s to about 3 hours and 1 to 64 processors drawn from a
/// SplitMix64 sequence of `seed`. Its lines look like the archive's (about 80 bytes each).
pub struct Synthetic {
    jobs: u64,
    next: u64,
    submit: u64,
    state: u64,
    line: Vec<u8>,
    at: usize,
}

impl Synthetic {
    /// A log of `jobs` jobs.
    pub fn new(jobs: u64, seed: u64) -> Synthetic {
        let header = b"; Version: 2.2\n; Computer: synthetic\n; MaxProcs: 64\n".to_vec();
        Synthetic { jobs, next: 0, submit: 0, state: seed, line: header, at: 0 }
    }

    fn draw(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        fulcrum_sim_core::rng::splitmix64(self.state)
    }

    fn refill(&mut self) {
        self.line.clear();
        self.at = 0;
        if self.next >= self.jobs {
            return;
        }
        self.next += 1;
        self.submit += self.draw() % 3;
        let run = 1 + (self.draw() % 10_000) * (self.draw() % 1_000) / 1_000;
        let procs = 1i64 << (self.draw() % 7);
        let (user, group) = (1 + self.draw() % 500, 1 + self.draw() % 20);
        let fields: [(i64, usize); FIELDS] = [
            (self.next as i64, 9),
            (self.submit as i64, 9),
            (-1, 6),
            (run as i64, 7),
            (procs, 4),
            (-1, 6),
            (-1, 6),
            (procs, 4),
            (2 * run as i64, 7),
            (-1, 6),
            (1, 2),
            (user as i64, 4),
            (group as i64, 3),
            (-1, 3),
            (1, 2),
            (-1, 2),
            (-1, 2),
            (-1, 2),
        ];
        for (i, (v, width)) in fields.into_iter().enumerate() {
            // Right-aligned in `width` columns, one space apart, as the archive's files are.
            let mut digits = [0u8; 20];
            let mut k = digits.len();
            let mut x = v.unsigned_abs();
            loop {
                k -= 1;
                digits[k] = b'0' + (x % 10) as u8;
                x /= 10;
                if x == 0 {
                    break;
                }
            }
            if v < 0 {
                k -= 1;
                digits[k] = b'-';
            }
            let text = &digits[k..];
            if i > 0 {
                self.line.push(b' ');
            }
            self.line.extend(std::iter::repeat_n(b' ', width.saturating_sub(text.len())));
            self.line.extend_from_slice(text);
        }
        self.line.push(b'\n');
    }
}

impl std::io::Read for Synthetic {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < out.len() {
            if self.at == self.line.len() {
                self.refill();
                if self.line.is_empty() {
                    break;
                }
            }
            let k = (self.line.len() - self.at).min(out.len() - n);
            out[n..n + k].copy_from_slice(&self.line[self.at..self.at + k]);
            self.at += k;
            n += k;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{input_of, read_all, BadLines};

    fn reader(text: &str, policy: BadLines) -> SwfReader {
        SwfReader::new(input_of(text), Bad { file: "t.swf".into(), policy })
    }

    const HEAD: &str = "; Version: 2.2\n; MaxProcs: 128\n;       http://continued: not a fact\n\n";

    #[test]
    fn reads_jobs_and_header_facts() {
        let text = format!(
            "{HEAD}    1   0  -1  100  4  -1  -1  8  -1  2000  1  1 1 -1 -1 -1 -1 -1\n\
             2  5.5 -1  -1  -1  -1  300  -1  -1  -1  1  1 1 -1 -1 -1 -1 -1\n"
        );
        let mut r = reader(&text, BadLines::Error);
        let jobs = read_all(&mut r).unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].line, 5);
        assert_eq!(
            (jobs[0].submit_s, jobs[0].work_s, jobs[0].cpu, jobs[0].memory),
            (0.0, Some(100.0), Some(8.0), Some(16000.0))
        );
        // Unknown run time and processors; used memory stands in for requested.
        assert_eq!((jobs[1].submit_s, jobs[1].work_s, jobs[1].cpu, jobs[1].memory), (5.5, None, None, Some(300.0)));
        assert_eq!(r.stats().header("MaxProcs"), Some("128"));
        assert_eq!(r.stats().header("Version"), Some("2.2"));
        assert_eq!(r.stats().header.len(), 2);
        assert_eq!((r.stats().lines, r.stats().comments), (6, 4));
    }

    #[test]
    fn bad_lines_name_the_file_and_line_or_are_skipped_and_counted() {
        let good = "1 0 -1 10 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1";
        let cases = [
            ("1 0 -1 10 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1", "expected 18 whitespace-separated fields, got 17"),
            ("1 0 -1 10 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1 7", "expected 18 whitespace-separated fields, got 19"),
            ("1 0 -1 ten 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1", "field 4 (run time) is not a number: `ten`"),
            (
                "1 -5 -1 10 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1",
                "field 2 (submit time) must be -1 (unknown) or at least 0, got -5",
            ),
            (
                "1 -1 -1 10 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1",
                "field 2 (submit time) is unknown (-1); a job needs a submit time",
            ),
            (
                "1 0 -1 -3 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1",
                "field 4 (run time) must be -1 (unknown) or at least 0, got -3",
            ),
        ];
        for (bad, message) in cases {
            let text = format!("; h\n{good}\n{bad}\n{good}\n");
            let err = read_all(&mut reader(&text, BadLines::Error)).unwrap_err();
            assert_eq!(err.to_string(), format!("t.swf:3: {message}"));
            let mut r = reader(&text, BadLines::Skip);
            assert_eq!(read_all(&mut r).unwrap().len(), 2);
            assert_eq!(r.stats().skipped, 1);
            assert_eq!(r.stats().first_skipped.as_ref().unwrap().line, 3);
        }
    }

    #[test]
    fn the_synthetic_log_reads_back_as_its_jobs() {
        let input: Box<dyn BufRead + Send> = Box::new(std::io::BufReader::new(Synthetic::new(5_000, 1)));
        let mut r = SwfReader::new(input, Bad { file: "synthetic".into(), policy: BadLines::Error });
        let jobs = read_all(&mut r).unwrap();
        assert_eq!(jobs.len(), 5_000);
        assert_eq!(r.stats().header("MaxProcs"), Some("64"));
        assert!(jobs.windows(2).all(|w| w[0].submit_s <= w[1].submit_s));
        // Submit gaps of 0, 1 or 2 s: about 1 s on average.
        let mean_gap = jobs.last().unwrap().submit_s / 4_999.0;
        assert!((mean_gap - 1.0).abs() < 0.05, "{mean_gap}");
        assert!(jobs.iter().all(|j| j.cpu.unwrap() <= 64.0 && j.work_s.unwrap() >= 1.0));
    }

    #[test]
    fn crlf_files_read_like_lf_files() {
        let lf = format!(
            "{HEAD}1 0 -1 10 1 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n2 3 -1 20 2 -1 -1 -1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n"
        );
        let crlf = lf.replace('\n', "\r\n");
        let a = read_all(&mut reader(&lf, BadLines::Error)).unwrap();
        let b = read_all(&mut reader(&crlf, BadLines::Error)).unwrap();
        assert_eq!(a, b);
        assert_eq!(b[1].line, 6);
        // A bad line in a CRLF file is reported at the right line, without the `\r`.
        let bad = crlf.replace("2 3 -1 20", "2 3 -1 2x");
        let err = read_all(&mut reader(&bad, BadLines::Error)).unwrap_err();
        assert_eq!(err.to_string(), "t.swf:6: field 4 (run time) is not a number: `2x`");
    }
}
