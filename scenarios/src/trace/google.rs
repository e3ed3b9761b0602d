//! Google cluster data 2011 (`clusterdata-2011-2`, Reiss, Wilkes and Hellerstein), the
//! `task_events` table: headerless CSV of 13 columns — time (µs), missing info, job ID, task
//! index, machine ID, event type, user, scheduling class, priority, CPU request, memory request,
//! disk request (normalised to the largest machine), different-machine constraint.
//!
//! [`TaskEvents`] reads the events; [`TaskReader`] joins them into replayable records: every
//! `SUBMIT` is an arrival, and its work is the time from the `SCHEDULE` that follows to the
//! task's next `EVICT`, `FAIL`, `FINISH`, `KILL` or `LOST`. A submission that ends before it is
//! scheduled ran nothing and is not replayed (counted as never run). Events at time 0 describe
//! what was running before the trace began (its window opens at 600 s): those submissions are
//! the initial state, counted and not replayed, so they do not arrive as one burst.
//!
//! The join holds only the submissions of the last `lookahead_s` trace seconds: one still open
//! after that is given up on — its work is the time it was seen running (censored), or unknown
//! if it was never scheduled — so memory does not grow with the file.

use std::collections::{BTreeMap, VecDeque};
use std::io::BufRead;

use csv::ByteRecord;

use super::{integer, optional_number, show, Bad, ReadStats, RecordReader, TraceError, TraceRecord};

/// Columns of `task_events`.
pub const COLUMNS: usize = 13;

/// Default lookahead of the join, trace seconds.
pub const DEFAULT_LOOKAHEAD_S: f64 = 6.0 * 3600.0;

/// Event types of the 2011 trace (they differ from 2019's).
pub const EVENT_NAMES: [&str; 9] =
    ["SUBMIT", "SCHEDULE", "EVICT", "FAIL", "FINISH", "KILL", "LOST", "UPDATE_PENDING", "UPDATE_RUNNING"];

const SUBMIT: u8 = 0;
const SCHEDULE: u8 = 1;

/// One row of `task_events`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TaskEvent {
    /// Line of the file.
    pub line: u64,
    /// Time, µs on the trace clock (0: before the trace).
    pub time_us: i64,
    /// Job ID.
    pub job: i64,
    /// Task index within the job.
    pub index: i64,
    /// Machine ID, if given.
    pub machine: Option<i64>,
    /// Event type, 0–8 (see [`EVENT_NAMES`]).
    pub kind: u8,
    /// Scheduling class 0–3, if given.
    pub scheduling_class: Option<i64>,
    /// Priority 0–11, if given.
    pub priority: Option<i64>,
    /// CPU request, normalised, if given.
    pub cpu: Option<f64>,
    /// Memory request, normalised, if given.
    pub memory: Option<f64>,
}

/// Reads `task_events` rows.
pub struct TaskEvents {
    csv: csv::Reader<super::NoCr>,
    row: ByteRecord,
    bad: Bad,
    stats: ReadStats,
}

impl TaskEvents {
    pub(crate) fn new(input: Box<dyn BufRead + Send>, bad: Bad) -> TaskEvents {
        let csv = super::csv_reader(input, b',');
        TaskEvents { csv, row: ByteRecord::new(), bad, stats: ReadStats::default() }
    }

    /// Opens a `task_events` file (gzipped or not).
    pub fn open(path: &std::path::Path, name: &str, policy: super::BadLines) -> Result<TaskEvents, TraceError> {
        let input =
            super::open_input(path).map_err(|e| TraceError { file: name.into(), line: 0, message: e.to_string() })?;
        Ok(TaskEvents::new(input, Bad { file: name.into(), policy }))
    }

    /// What was read so far.
    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// The next event, `Ok(None)` at the end.
    pub fn next_event(&mut self) -> Result<Option<TaskEvent>, TraceError> {
        loop {
            match self.csv.read_byte_record(&mut self.row) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => return Err(self.bad.io(self.stats.lines + 1, e)),
            }
            self.stats.lines += 1;
            let line = self.row.position().map_or(self.stats.lines, |p| p.line());
            match parse(&self.row, line) {
                Ok(event) => return Ok(Some(event)),
                Err(message) => self.bad.line(&mut self.stats, line, message)?,
            }
        }
    }
}

fn parse(row: &ByteRecord, line: u64) -> Result<TaskEvent, String> {
    if row.len() != COLUMNS {
        return Err(format!("expected {COLUMNS} comma-separated columns, got {}", row.len()));
    }
    let whole = |i: usize, name: &str| -> Result<i64, String> {
        match integer(&row[i]) {
            Some(v) if v >= 0 => Ok(v),
            Some(v) => Err(format!("column {} ({name}) must not be negative, got {v}", i + 1)),
            None => Err(format!("column {} ({name}) is not a whole number: `{}`", i + 1, show(&row[i]))),
        }
    };
    let optional_whole = |i: usize, name: &str| -> Result<Option<i64>, String> {
        if row[i].is_empty() {
            Ok(None)
        } else {
            whole(i, name).map(Some)
        }
    };
    let fraction = |i: usize, name: &str| -> Result<Option<f64>, String> {
        match optional_number(&row[i]) {
            Ok(Some(v)) if v < 0.0 => Err(format!("column {} ({name}) must not be negative, got {v}", i + 1)),
            Ok(v) => Ok(v),
            Err(()) => Err(format!("column {} ({name}) is not a number: `{}`", i + 1, show(&row[i]))),
        }
    };
    let time_us = whole(0, "time")?;
    let job = whole(2, "job id")?;
    let index = whole(3, "task index")?;
    let machine = optional_whole(4, "machine id")?;
    let kind = whole(5, "event type")?;
    if kind > 8 {
        return Err(format!("column 6 (event type) must be 0 to 8, got {kind}"));
    }
    Ok(TaskEvent {
        line,
        time_us,
        job,
        index,
        machine,
        kind: kind as u8,
        scheduling_class: optional_whole(7, "scheduling class")?,
        priority: optional_whole(8, "priority")?,
        cpu: fraction(9, "cpu request")?,
        memory: fraction(10, "memory request")?,
    })
}

/// A submission waiting for its schedule and end.
#[derive(Debug)]
struct Open {
    key: (i64, i64),
    record: TraceRecord,
    submit_us: i64,
    scheduled_us: Option<i64>,
    /// `Some(true)`: resolved, replay it; `Some(false)`: resolved, never ran.
    resolved: Option<bool>,
}

/// Joins `task_events` into records, one per submission after time 0 (see the module doc).
pub struct TaskReader {
    events: TaskEvents,
    lookahead_us: i64,
    /// Open submissions in submit order; entry `i` has sequence number `first_seq + i`.
    queue: VecDeque<Open>,
    first_seq: u64,
    /// (job, index) → sequence number of its open submission.
    open: BTreeMap<(i64, i64), u64>,
    /// Latest event time read.
    now_us: i64,
    at_end: bool,
}

impl TaskReader {
    pub(crate) fn new(input: Box<dyn BufRead + Send>, bad: Bad, lookahead_s: f64) -> TaskReader {
        TaskReader {
            events: TaskEvents::new(input, bad),
            lookahead_us: (lookahead_s * 1e6) as i64,
            queue: VecDeque::new(),
            first_seq: 0,
            open: BTreeMap::new(),
            now_us: 0,
            at_end: false,
        }
    }

    fn slot(&mut self, key: (i64, i64)) -> Option<&mut Open> {
        let seq = *self.open.get(&key)?;
        self.queue.get_mut((seq - self.first_seq) as usize)
    }

    /// Resolves `o` at time `t_us`: ran from its schedule until then, or never ran.
    fn finish(o: &mut Open, t_us: i64, censored: bool) {
        match o.scheduled_us {
            Some(s) => {
                o.record.work_s = Some((t_us - s).max(0) as f64 / 1e6);
                o.record.censored = censored;
                o.resolved = Some(true);
            }
            // Given up on while still pending: replayed with unknown work.
            None if censored => o.resolved = Some(true),
            None => o.resolved = Some(false),
        }
    }

    fn apply(&mut self, e: TaskEvent) {
        self.now_us = self.now_us.max(e.time_us);
        let key = (e.job, e.index);
        match e.kind {
            SUBMIT if e.time_us == 0 => self.events.stats.initial += 1,
            SUBMIT => {
                if let Some(previous) = self.slot(key) {
                    // Submitted again before its end was seen: the first one ends here.
                    TaskReader::finish(previous, e.time_us, false);
                }
                let seq = self.first_seq + self.queue.len() as u64;
                self.open.insert(key, seq);
                let mut record = TraceRecord::at(e.line, e.time_us as f64 / 1e6);
                record.cpu = e.cpu;
                record.memory = e.memory;
                record.priority = e.priority.map(|p| p as i32);
                self.queue.push_back(Open { key, record, submit_us: e.time_us, scheduled_us: None, resolved: None });
            }
            SCHEDULE => {
                if let Some(o) = self.slot(key) {
                    o.scheduled_us.get_or_insert(e.time_us);
                }
            }
            2..=6 => {
                if let Some(o) = self.slot(key) {
                    TaskReader::finish(o, e.time_us, false);
                }
                self.open.remove(&key);
            }
            _ => {}
        }
    }

    /// Gives up on open submissions older than the lookahead (all of them at the end).
    fn expire(&mut self) {
        let now = self.now_us;
        for (i, o) in self.queue.iter_mut().enumerate() {
            if !self.at_end && o.submit_us.saturating_add(self.lookahead_us) >= now {
                break;
            }
            if o.resolved.is_none() {
                TaskReader::finish(o, now, true);
                if self.open.get(&o.key) == Some(&(self.first_seq + i as u64)) {
                    self.open.remove(&o.key);
                }
            }
        }
    }

    /// The head of the queue, if resolved.
    fn pop_resolved(&mut self) -> Option<Open> {
        self.queue.front()?.resolved?;
        let o = self.queue.pop_front()?;
        let seq = self.first_seq;
        self.first_seq += 1;
        if self.open.get(&o.key) == Some(&seq) {
            self.open.remove(&o.key);
        }
        Some(o)
    }
}

impl RecordReader for TaskReader {
    fn next_record(&mut self) -> Result<Option<TraceRecord>, TraceError> {
        loop {
            while let Some(o) = self.pop_resolved() {
                if o.resolved == Some(true) {
                    return Ok(Some(o.record));
                }
                self.events.stats.never_ran += 1;
            }
            if self.at_end {
                return Ok(None);
            }
            match self.events.next_event()? {
                Some(e) => self.apply(e),
                None => self.at_end = true,
            }
            self.expire();
        }
    }

    fn stats(&self) -> &ReadStats {
        &self.events.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{input_of, read_all, BadLines};

    fn reader(text: &str, lookahead_s: f64) -> TaskReader {
        TaskReader::new(input_of(text), Bad { file: "g.csv".into(), policy: BadLines::Error }, lookahead_s)
    }

    /// A `task_events` row.
    fn row(t_us: i64, job: i64, index: i64, kind: u8, cpu: &str) -> String {
        format!("{t_us},,{job},{index},,{kind},user,2,9,{cpu},0.25,0.001,0\n")
    }

    #[test]
    fn submissions_join_their_schedule_and_end() {
        let text = [
            row(0, 1, 0, SUBMIT, "0.5"), // initial state: not an arrival
            row(0, 1, 0, SCHEDULE, "0.5"),
            row(600_000_000, 2, 0, SUBMIT, "0.125"),
            row(601_000_000, 2, 1, SUBMIT, "0.0625"),
            row(602_000_000, 2, 0, SCHEDULE, ""),
            row(603_000_000, 2, 2, SUBMIT, ""),
            row(604_000_000, 2, 2, 5, ""), // killed while pending: never ran
            row(605_000_000, 1, 0, 4, ""), // the initial task finishing: ignored
            row(612_000_000, 2, 0, 4, ""), // finished after 10 s
            row(613_000_000, 2, 1, SCHEDULE, ""),
            row(620_000_000, 3, 0, SUBMIT, "0.25"), // still open at the end: censored below
            row(621_000_000, 3, 0, SCHEDULE, ""),
            row(630_000_000, 2, 1, 2, ""), // evicted after 17 s
        ]
        .concat();
        let mut r = reader(&text, 3600.0);
        let records = read_all(&mut r).unwrap();
        let got: Vec<_> = records.iter().map(|r| (r.line, r.submit_s, r.work_s, r.cpu, r.censored)).collect();
        assert_eq!(
            got,
            [
                (3, 600.0, Some(10.0), Some(0.125), false),
                (4, 601.0, Some(17.0), Some(0.0625), false),
                (11, 620.0, Some(9.0), Some(0.25), true),
            ]
        );
        assert_eq!(records[0].priority, Some(9));
        assert_eq!(records[0].memory, Some(0.25));
        assert_eq!((r.stats().initial, r.stats().never_ran), (1, 1));
    }

    #[test]
    fn the_lookahead_bounds_the_join() {
        // Task 1 is scheduled and never ends; with a 5 s lookahead it is given up on when the
        // clock passes 605 s, with the 4 s it was seen running; task 2 is never scheduled and is
        // replayed with unknown work.
        let text = [
            row(600_000_000, 1, 0, SUBMIT, "0.1"),
            row(601_000_000, 2, 0, SUBMIT, "0.1"),
            row(602_000_000, 1, 0, SCHEDULE, ""),
            row(606_000_000, 3, 0, SUBMIT, "0.1"),
            row(606_500_000, 3, 0, SCHEDULE, ""),
            row(607_000_000, 3, 0, 4, ""),
            row(700_000_000, 1, 0, 4, ""), // too late: task 1 was given up on
        ]
        .concat();
        let records = read_all(&mut reader(&text, 5.0)).unwrap();
        let got: Vec<(f64, Option<f64>, bool)> = records.iter().map(|r| (r.submit_s, r.work_s, r.censored)).collect();
        assert_eq!(got, [(600.0, Some(4.0), true), (601.0, None, false), (606.0, Some(0.5), false)]);
    }

    #[test]
    fn bad_rows_are_named() {
        let cases = [
            ("1,2,3\n", "expected 13 comma-separated columns, got 3"),
            ("x,,1,0,,0,u,2,9,0.1,0.1,0,0\n", "column 1 (time) is not a whole number: `x`"),
            ("-5,,1,0,,0,u,2,9,0.1,0.1,0,0\n", "column 1 (time) must not be negative, got -5"),
            ("5,,1,0,,12,u,2,9,0.1,0.1,0,0\n", "column 6 (event type) must be 0 to 8, got 12"),
            ("5,,1,0,,0,u,2,9,abc,0.1,0,0\n", "column 10 (cpu request) is not a number: `abc`"),
        ];
        for (bad, message) in cases {
            let text = format!("{}{bad}", row(600_000_000, 1, 0, SUBMIT, "0.1"));
            let err = read_all(&mut reader(&text, 60.0)).unwrap_err();
            assert_eq!(err.to_string(), format!("g.csv:2: {message}"));
        }
    }
}
