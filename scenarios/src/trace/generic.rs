//! Any CSV file, with a column mapping: which column holds the submit time (required), the work
//! (or an end time, work = end − submit), the CPU, the memory and the priority. Columns are named
//! by their header or by 0-based index; times are in a stated unit.

use std::io::BufRead;

use csv::ByteRecord;

use super::{integer, number, optional_number, show, Bad, ReadStats, RecordReader, TraceError, TraceRecord};

/// A column, by header name or 0-based index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// By the header's name.
    Name(String),
    /// By position, from 0.
    Index(usize),
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Column::Name(n) => write!(f, "{n:?}"),
            Column::Index(i) => write!(f, "{i}"),
        }
    }
}

/// The column mapping of the `csv` format.
#[derive(Clone, Debug, PartialEq)]
pub struct Columns {
    /// Submit time.
    pub time: Column,
    /// Work.
    pub work: Option<Column>,
    /// End time (work = end − submit), when there is no work column.
    pub end: Option<Column>,
    /// CPU asked for.
    pub cpu: Option<Column>,
    /// Memory asked for.
    pub memory: Option<Column>,
    /// Priority (a whole number).
    pub priority: Option<Column>,
    /// The first line is a header.
    pub header: bool,
    /// Field separator.
    pub delimiter: u8,
    /// Seconds per unit of the time, work and end columns.
    pub time_unit_s: f64,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            time: Column::Index(0),
            work: None,
            end: None,
            cpu: None,
            memory: None,
            priority: None,
            header: true,
            delimiter: b',',
            time_unit_s: 1.0,
        }
    }
}

/// Resolved column positions.
#[derive(Clone, Copy, Debug)]
struct Positions {
    time: usize,
    work: Option<usize>,
    end: Option<usize>,
    cpu: Option<usize>,
    memory: Option<usize>,
    priority: Option<usize>,
    width: usize,
}

/// Reads rows through a column mapping.
pub struct CsvReader {
    csv: csv::Reader<super::NoCr>,
    row: ByteRecord,
    bad: Bad,
    stats: ReadStats,
    at: Positions,
    names: Vec<String>,
    unit: f64,
}

impl CsvReader {
    pub(crate) fn new(input: Box<dyn BufRead + Send>, bad: Bad, columns: &Columns) -> Result<CsvReader, TraceError> {
        let mut csv = super::csv_reader(input, columns.delimiter);
        let mut stats = ReadStats::default();
        let mut names: Vec<String> = Vec::new();
        let mut row = ByteRecord::new();
        if columns.header {
            match csv.read_byte_record(&mut row) {
                Ok(true) => {
                    stats.lines += 1;
                    stats.comments += 1;
                    names = row.iter().map(|f| String::from_utf8_lossy(f).trim().to_string()).collect();
                }
                Ok(false) => {}
                Err(e) => return Err(bad.io(1, e)),
            }
        }
        let resolve = |c: &Column| -> Result<usize, TraceError> {
            match c {
                Column::Index(i) => Ok(*i),
                Column::Name(n) => names.iter().position(|h| h == n).ok_or_else(|| TraceError {
                    file: bad.file.clone(),
                    line: 1,
                    message: if columns.header {
                        format!("no column {n:?} in the header `{}`", names.join(","))
                    } else {
                        format!("column {n:?} is named, but the file has no header (\"header\": false): use an index")
                    },
                }),
            }
        };
        let optional = |c: &Option<Column>| c.as_ref().map(resolve).transpose();
        let mut at = Positions {
            time: resolve(&columns.time)?,
            work: optional(&columns.work)?,
            end: optional(&columns.end)?,
            cpu: optional(&columns.cpu)?,
            memory: optional(&columns.memory)?,
            priority: optional(&columns.priority)?,
            width: 0,
        };
        at.width =
            [Some(at.time), at.work, at.end, at.cpu, at.memory, at.priority].into_iter().flatten().max().unwrap_or(0)
                + 1;
        if names.is_empty() {
            names = (0..at.width).map(|i| format!("column {}", i + 1)).collect();
        }
        Ok(CsvReader { csv, row, bad, stats, at, names, unit: columns.time_unit_s })
    }

    fn name(&self, i: usize) -> String {
        match self.names.get(i) {
            Some(n) if !n.starts_with("column ") => format!("column {} ({n})", i + 1),
            _ => format!("column {}", i + 1),
        }
    }

    fn parse(&self, line: u64) -> Result<TraceRecord, String> {
        let row = &self.row;
        if row.len() < self.at.width {
            return Err(format!("expected at least {} columns, got {}", self.at.width, row.len()));
        }
        let optional = |i: Option<usize>| -> Result<Option<f64>, String> {
            let Some(i) = i else { return Ok(None) };
            match optional_number(row[i].trim_ascii()) {
                Ok(Some(v)) if v < 0.0 => Err(format!("{} must not be negative, got {v}", self.name(i))),
                Ok(v) => Ok(v),
                Err(()) => Err(format!("{} is not a number: `{}`", self.name(i), show(&row[i]))),
            }
        };
        let t = self.at.time;
        let submit = match number(row[t].trim_ascii()) {
            Some(v) if v >= 0.0 => v * self.unit,
            Some(v) => return Err(format!("{} (submit time) must not be negative, got {v}", self.name(t))),
            None => return Err(format!("{} (submit time) is not a number: `{}`", self.name(t), show(&row[t]))),
        };
        let mut work = optional(self.at.work)?.map(|w| w * self.unit);
        if work.is_none() {
            if let Some(end) = optional(self.at.end)? {
                let end = end * self.unit;
                if end < submit {
                    return Err(format!("end time {end} s is before the submit time {submit} s"));
                }
                work = Some(end - submit);
            }
        }
        let priority = match self.at.priority {
            Some(i) if !row[i].is_empty() => Some(
                integer(row[i].trim_ascii())
                    .and_then(|p| i32::try_from(p).ok())
                    .ok_or_else(|| format!("{} (priority) is not a whole number: `{}`", self.name(i), show(&row[i])))?,
            ),
            _ => None,
        };
        Ok(TraceRecord {
            line,
            submit_s: submit,
            work_s: work,
            cpu: optional(self.at.cpu)?,
            memory: optional(self.at.memory)?,
            priority,
            copies: 1,
            censored: false,
        })
    }
}

impl RecordReader for CsvReader {
    fn next_record(&mut self) -> Result<Option<TraceRecord>, TraceError> {
        loop {
            match self.csv.read_byte_record(&mut self.row) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => return Err(self.bad.io(self.stats.lines + 1, e)),
            }
            self.stats.lines += 1;
            let line = self.row.position().map_or(self.stats.lines, |p| p.line());
            if self.row.iter().all(|f| f.trim_ascii().is_empty()) {
                self.stats.comments += 1;
                continue;
            }
            match self.parse(line) {
                Ok(r) => return Ok(Some(r)),
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

    fn reader(text: &str, columns: &Columns) -> Result<CsvReader, TraceError> {
        CsvReader::new(input_of(text), Bad { file: "c.csv".into(), policy: BadLines::Error }, columns)
    }

    #[test]
    fn columns_by_name_or_index_in_a_unit() {
        let columns = Columns {
            time: Column::Name("t_ms".into()),
            end: Some(Column::Name("done_ms".into())),
            cpu: Some(Column::Index(2)),
            priority: Some(Column::Name("prio".into())),
            time_unit_s: 0.001,
            ..Columns::default()
        };
        let text = "t_ms,done_ms,cores,prio\n1000,3500,2,7\n2000,,0.5,\n";
        let records = read_all(&mut reader(text, &columns).unwrap()).unwrap();
        let got: Vec<_> = records.iter().map(|r| (r.submit_s, r.work_s, r.cpu, r.priority)).collect();
        assert_eq!(got, [(1.0, Some(2.5), Some(2.0), Some(7)), (2.0, None, Some(0.5), None)]);
        assert_eq!(records[1].line, 3);
    }

    #[test]
    fn unknown_columns_and_bad_rows_are_named() {
        let columns = Columns { time: Column::Name("when".into()), ..Columns::default() };
        assert_eq!(
            reader("t,w\n", &columns).err().unwrap().to_string(),
            "c.csv:1: no column \"when\" in the header `t,w`"
        );
        let columns = Columns { work: Some(Column::Name("w".into())), ..Columns::default() };
        let mut r = reader("t,w\n1,2\n-1,2\n", &columns).unwrap();
        assert_eq!(
            read_all(&mut r).unwrap_err().to_string(),
            "c.csv:3: column 1 (t) (submit time) must not be negative, got -1"
        );
        let mut r = reader("t,w\n1,2\n2,two\n", &columns).unwrap();
        assert_eq!(read_all(&mut r).unwrap_err().to_string(), "c.csv:3: column 2 (w) is not a number: `two`");
        let mut r = reader("t,w\n1,2\n2\n", &columns).unwrap();
        assert_eq!(read_all(&mut r).unwrap_err().to_string(), "c.csv:3: expected at least 2 columns, got 1");
    }
}
