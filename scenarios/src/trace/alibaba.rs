//! Alibaba's cluster traces, the `batch_task` tables: one row per task, which runs
//! `instance_num` identical instances.
//!
//! - **v2017** (`cluster-trace-v2017`, `trace_201708.md`): `create_timestamp, modify_timestamp,
//!   job_id, task_id, instance_num, status, plan_cpu, plan_mem`. Seconds; negative create times
//!   are tasks that existed before the trace began. A header line is allowed (the copy we ship
//!   has one added), and CRLF line ends.
//! - **v2018** (`cluster-trace-v2018`, `schema.txt`): `task_name, instance_num, job_name,
//!   task_type, status, start_time, end_time, plan_cpu, plan_mem`. Seconds; 0 means outside the
//!   trace's window.
//!
//! A record is a task that ran: submitted at its create (v2017) or start (v2018) time, with work
//! from then to its end time (for v2017 this includes the original queueing, so it is an upper
//! bound), `plan_cpu` (100 = one core) and `plan_mem` (normalised: a fraction of a machine in
//! v2017, 0–100 in v2018) per instance, and its instances as copies. `Running` tasks are censored
//! (the trace ends first); `Waiting` (and v2018 `Ready`, `Cancelled`) tasks never ran and are
//! counted, not replayed; tasks from before the trace are the initial state, likewise. An end
//! time of 0 (208 `Running` rows of v2017) or before the submit time leaves the work unknown.
//! Neither table is sorted by time, so the replay sorts (see `"sort"`).

use std::io::BufRead;

use csv::ByteRecord;

use super::{integer, number, optional_number, show, Bad, ReadStats, RecordReader, TraceError, TraceRecord};

/// Which version of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V2017,
    V2018,
}

/// Reads `batch_task` rows.
pub struct BatchTaskReader {
    csv: csv::Reader<super::NoCr>,
    row: ByteRecord,
    bad: Bad,
    stats: ReadStats,
    version: Version,
    expand: bool,
}

/// What a status says about the task.
enum Ran {
    Yes,
    StillRunning,
    Never,
}

fn status(s: &[u8]) -> Option<Ran> {
    Some(match s {
        b"Terminated" | b"Failed" | b"Interrupted" => Ran::Yes,
        b"Running" => Ran::StillRunning,
        b"Waiting" | b"Ready" | b"Cancelled" => Ran::Never,
        _ => return None,
    })
}

impl BatchTaskReader {
    pub(crate) fn v2017(input: Box<dyn BufRead + Send>, bad: Bad, expand: bool) -> BatchTaskReader {
        BatchTaskReader::new(input, bad, Version::V2017, expand)
    }

    pub(crate) fn v2018(input: Box<dyn BufRead + Send>, bad: Bad, expand: bool) -> BatchTaskReader {
        BatchTaskReader::new(input, bad, Version::V2018, expand)
    }

    fn new(input: Box<dyn BufRead + Send>, bad: Bad, version: Version, expand: bool) -> BatchTaskReader {
        let csv = super::csv_reader(input, b',');
        BatchTaskReader { csv, row: ByteRecord::new(), bad, stats: ReadStats::default(), version, expand }
    }

    /// The record of a row, `Ok(None)` for a row that is not replayed (counted), or what is wrong.
    fn parse(&mut self, line: u64) -> Result<Option<TraceRecord>, String> {
        let row = &self.row;
        let columns = match self.version {
            Version::V2017 => 8,
            Version::V2018 => 9,
        };
        if row.len() != columns {
            return Err(format!("expected {columns} comma-separated columns, got {}", row.len()));
        }
        let (submit_col, end_col, instances_col, status_col) = match self.version {
            Version::V2017 => (0, 1, 4, 5),
            Version::V2018 => (5, 6, 1, 4),
        };
        let time = |i: usize, name: &str| {
            number(&row[i]).ok_or_else(|| format!("column {} ({name}) is not a number: `{}`", i + 1, show(&row[i])))
        };
        let submit = time(submit_col, if self.version == Version::V2017 { "create time" } else { "start time" })?;
        let end = time(end_col, "end time")?;
        let instances = match integer(&row[instances_col]) {
            Some(n) if n >= 1 => n as u64,
            _ => {
                return Err(format!(
                    "column {} (instance_num) must be a whole number of at least 1, got `{}`",
                    instances_col + 1,
                    show(&row[instances_col])
                ))
            }
        };
        let Some(ran) = status(&row[status_col]) else {
            return Err(format!(
                "column {} (status) must be Terminated, Failed, Interrupted, Running, Waiting, Ready or Cancelled, \
                 got `{}`",
                status_col + 1,
                show(&row[status_col])
            ));
        };
        let plan = |i: usize, name: &str| match optional_number(&row[i]) {
            Ok(Some(v)) if v < 0.0 => Err(format!("column {} ({name}) must not be negative, got {v}", i + 1)),
            Ok(v) => Ok(v),
            Err(()) => Err(format!("column {} ({name}) is not a number: `{}`", i + 1, show(&row[i]))),
        };
        let cpu = plan(columns - 2, "plan_cpu")?;
        let memory = plan(columns - 1, "plan_mem")?;
        let before_trace = match self.version {
            Version::V2017 => submit < 0.0,
            Version::V2018 => submit <= 0.0,
        };
        if matches!(ran, Ran::Never) {
            self.stats.never_ran += 1;
            return Ok(None);
        }
        if before_trace {
            self.stats.initial += 1;
            return Ok(None);
        }
        // End 0 is outside the window (a running task's end); an end before the submit (one
        // v2017 row, by a second) says nothing either: the work is unknown.
        let work = (end > 0.0 && end >= submit).then_some(end - submit);
        Ok(Some(TraceRecord {
            line,
            submit_s: submit,
            work_s: work,
            cpu,
            memory,
            priority: None,
            copies: if self.expand { instances } else { 1 },
            censored: matches!(ran, Ran::StillRunning),
        }))
    }

    /// Whether the row at line 1 is a header: its instance count is not a number.
    fn is_header(&self, line: u64) -> bool {
        let col = match self.version {
            Version::V2017 => 4,
            Version::V2018 => 1,
        };
        line == 1 && self.row.get(col).is_some_and(|f| integer(f).is_none())
    }
}

impl RecordReader for BatchTaskReader {
    fn next_record(&mut self) -> Result<Option<TraceRecord>, TraceError> {
        loop {
            match self.csv.read_byte_record(&mut self.row) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => return Err(self.bad.io(self.stats.lines + 1, e)),
            }
            self.stats.lines += 1;
            let line = self.row.position().map_or(self.stats.lines, |p| p.line());
            if self.is_header(line) {
                self.stats.comments += 1;
                continue;
            }
            match self.parse(line) {
                Ok(Some(record)) => return Ok(Some(record)),
                Ok(None) => {}
                Err(message) => self.bad.line(&mut self.stats, line, message)?,
            }
        }
    }

    fn stats(&self) -> &ReadStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{input_of, read_all, BadLines};

    fn v2017(text: &str) -> BatchTaskReader {
        BatchTaskReader::v2017(input_of(text), Bad { file: "b.csv".into(), policy: BadLines::Error }, true)
    }

    #[test]
    fn v2017_rows_with_a_header_and_crlf() {
        let text = "create,end,job,task,n,status,cpu,mem\r\n\
                    100,160,1,1,3,Terminated,50,0.01\r\n\
                    -20,40,1,2,1,Terminated,100,0.02\r\n\
                    120,130,2,3,2,Waiting,,\r\n\
                    90,300,2,4,1,Running,100,\r\n\
                    95,0,2,5,1,Running,100,0.01\r\n\
                    99,98,2,6,1,Terminated,100,0.01\r\n";
        let mut r = v2017(text);
        let got: Vec<_> = read_all(&mut r)
            .unwrap()
            .iter()
            .map(|r| (r.line, r.submit_s, r.work_s, r.cpu, r.memory, r.copies, r.censored))
            .collect();
        assert_eq!(
            got,
            [
                (2, 100.0, Some(60.0), Some(50.0), Some(0.01), 3, false),
                (5, 90.0, Some(210.0), Some(100.0), None, 1, true),
                (6, 95.0, None, Some(100.0), Some(0.01), 1, true),
                (7, 99.0, None, Some(100.0), Some(0.01), 1, false),
            ]
        );
        assert_eq!((r.stats().comments, r.stats().initial, r.stats().never_ran), (1, 1, 1));
    }

    #[test]
    fn v2018_rows() {
        // Hand-made rows in the v2018 schema.txt column order (we hold no real v2018 batch_task).
        let text = "M1,2,j_1,1,Terminated,1000,1100,100,0.39\nR2_1,1,j_1,1,Terminated,0,1200,50,0.2\n\
                    M3,1,j_2,1,Running,1500,0,100,0.5\n";
        let mut r =
            BatchTaskReader::v2018(input_of(text), Bad { file: "b.csv".into(), policy: BadLines::Error }, false);
        let got: Vec<(f64, Option<f64>, u64, bool)> =
            read_all(&mut r).unwrap().iter().map(|r| (r.submit_s, r.work_s, r.copies, r.censored)).collect();
        assert_eq!(got, [(1000.0, Some(100.0), 1, false), (1500.0, None, 1, true)]);
        assert_eq!(r.stats().initial, 1);
    }

    #[test]
    fn bad_rows_are_named() {
        for (bad, message) in [
            ("1,2,3", "expected 8 comma-separated columns, got 3"),
            ("x,2,1,1,1,Terminated,50,0.1", "column 1 (create time) is not a number: `x`"),
            ("5,9,1,1,0,Terminated,50,0.1", "column 5 (instance_num) must be a whole number of at least 1, got `0`"),
            ("5,9,1,1,1,Done,50,0.1", "column 6 (status) must be Terminated, Failed, Interrupted, Running, Waiting, Ready or Cancelled, got `Done`"),
            ("5,9,1,1,1,Terminated,-50,0.1", "column 7 (plan_cpu) must not be negative, got -50"),
        ] {
            let text = format!("1,2,1,1,1,Terminated,50,0.1\n{bad}\n");
            assert_eq!(read_all(&mut v2017(&text)).unwrap_err().to_string(), format!("b.csv:2: {message}"));
        }
    }
}
