//! Azure LLM inference trace 2023 (`Azure/AzurePublicDataset`, Patel et al., *Splitwise*, ISCA
//! 2024): CSV with the header `TIMESTAMP,ContextTokens,GeneratedTokens`, one request a row, the
//! timestamp wall-clock time with up to 7 fractional digits (`2023-11-16 18:15:46.6805900`).
//!
//! A request's submit time is seconds since the first request of the file (the header fact
//! `TimeOrigin` says which instant that is); its work is stated by a [`TokenCost`]: a fixed cost
//! per request plus a cost per prompt token (prefill) and per generated token (decode). The trace
//! gives no CPU or memory: the replay's default demand applies.

use std::io::BufRead;

use csv::ByteRecord;

use super::{integer, show, Bad, ReadStats, RecordReader, TraceError, TraceRecord};

/// The work of a request from its tokens, seconds at speed 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenCost {
    /// Fixed cost of any request.
    pub per_request_s: f64,
    /// Cost per context (prompt) token.
    pub per_context_token_s: f64,
    /// Cost per generated token.
    pub per_generated_token_s: f64,
}

impl Default for TokenCost {
    /// 50 ms per request, 0.1 ms per prompt token, 10 ms per generated token: a request of
    /// 1,000 prompt and 100 generated tokens costs 1.15 s.
    fn default() -> Self {
        TokenCost { per_request_s: 0.05, per_context_token_s: 0.0001, per_generated_token_s: 0.01 }
    }
}

impl TokenCost {
    /// The work of a request.
    pub fn work_s(&self, context: u64, generated: u64) -> f64 {
        self.per_request_s + context as f64 * self.per_context_token_s + generated as f64 * self.per_generated_token_s
    }
}

/// The expected header.
pub const HEADER: [&str; 3] = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"];

/// Reads Azure LLM requests.
pub struct AzureReader {
    csv: csv::Reader<super::NoCr>,
    row: ByteRecord,
    bad: Bad,
    stats: ReadStats,
    cost: TokenCost,
    /// Ticks (100 ns since 1970) of the first request.
    origin: Option<i64>,
}

impl AzureReader {
    pub(crate) fn new(input: Box<dyn BufRead + Send>, bad: Bad, cost: TokenCost) -> AzureReader {
        let csv = super::csv_reader(input, b',');
        AzureReader { csv, row: ByteRecord::new(), bad, stats: ReadStats::default(), cost, origin: None }
    }

    fn parse(&mut self) -> Result<(i64, u64, u64), String> {
        let row = &self.row;
        if row.len() != 3 {
            return Err(format!("expected 3 comma-separated columns, got {}", row.len()));
        }
        let ticks = timestamp(&row[0]).ok_or_else(|| {
            format!("column 1 (TIMESTAMP) is not a time like 2023-11-16 18:15:46.6805900: `{}`", show(&row[0]))
        })?;
        let tokens = |i: usize| match integer(&row[i]) {
            Some(n) if n >= 0 => Ok(n as u64),
            _ => Err(format!(
                "column {} ({}) must be a whole number of tokens, got `{}`",
                i + 1,
                HEADER[i],
                show(&row[i])
            )),
        };
        Ok((ticks, tokens(1)?, tokens(2)?))
    }
}

/// `YYYY-MM-DD HH:MM:SS[.fffffff]` (or with a `T`) as 100 ns ticks since 1970-01-01 00:00 (the
/// trace's own clock; no time zone is applied).
pub fn timestamp(field: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(field).ok()?;
    let (date, time) = s.split_once([' ', 'T'])?;
    let mut d = date.splitn(3, '-');
    let (year, month, day): (i64, i64, i64) =
        (d.next()?.parse().ok()?, d.next()?.parse().ok()?, d.next()?.parse().ok()?);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':');
    let (h, m, sec): (i64, i64, i64) = (t.next()?.parse().ok()?, t.next()?.parse().ok()?, t.next()?.parse().ok()?);
    let valid = (1..=12).contains(&month) && (1..=31).contains(&day) && h < 24 && m < 60 && sec < 61;
    if !valid || !(1970..=9999).contains(&year) || fraction.len() > 7 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_ticks =
        if fraction.is_empty() { 0 } else { fraction.parse::<i64>().ok()? * 10i64.pow(7 - fraction.len() as u32) };
    let seconds = days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec;
    Some(seconds * 10_000_000 + frac_ticks)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl RecordReader for AzureReader {
    fn next_record(&mut self) -> Result<Option<TraceRecord>, TraceError> {
        loop {
            match self.csv.read_byte_record(&mut self.row) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => return Err(self.bad.io(self.stats.lines + 1, e)),
            }
            self.stats.lines += 1;
            let line = self.row.position().map_or(self.stats.lines, |p| p.line());
            if line == 1 {
                if self.row.iter().eq(HEADER.iter().map(|h| h.as_bytes())) {
                    self.stats.comments += 1;
                    continue;
                }
                let got: Vec<String> = self.row.iter().map(show).collect();
                return Err(TraceError {
                    file: self.bad.file.clone(),
                    line,
                    message: format!("the header must be `{}`, got `{}`", HEADER.join(","), got.join(",")),
                });
            }
            let (ticks, context, generated) = match self.parse() {
                Ok(v) => v,
                Err(message) => {
                    self.bad.line(&mut self.stats, line, message)?;
                    continue;
                }
            };
            let origin = *self.origin.get_or_insert_with(|| {
                self.stats.add_header("TimeOrigin", &String::from_utf8_lossy(&self.row[0]));
                ticks
            });
            let mut record = TraceRecord::at(line, (ticks - origin) as f64 / 1e7);
            record.work_s = Some(self.cost.work_s(context, generated));
            return Ok(Some(record));
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

    #[test]
    fn timestamps_are_exact_ticks() {
        assert_eq!(timestamp(b"1970-01-01 00:00:00"), Some(0));
        assert_eq!(timestamp(b"1970-01-02 00:00:01.5"), Some((86_401) * 10_000_000 + 5_000_000));
        // 2023-11-16 is day 19,677 since 1970.
        assert_eq!(
            timestamp(b"2023-11-16 18:15:46.6805900"),
            Some((19_677 * 86_400 + 65_746) * 10_000_000 + 6_805_900)
        );
        for bad in [&b"2023-13-01 00:00:00"[..], b"2023-11-16", b"yesterday", b"2023-11-16 18:15:46.12345678"] {
            assert_eq!(timestamp(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn requests_are_timed_from_the_first_and_costed_by_tokens() {
        let text = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n\
                    2023-11-16 18:15:50.9951690,396,109\n";
        let mut r = AzureReader::new(
            input_of(text),
            Bad { file: "a.csv".into(), policy: BadLines::Error },
            TokenCost::default(),
        );
        let records = read_all(&mut r).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].submit_s, 0.0);
        assert!((records[1].submit_s - 4.314579).abs() < 1e-9, "{}", records[1].submit_s);
        assert!((records[0].work_s.unwrap() - (0.05 + 0.0374 + 0.44)).abs() < 1e-12);
        assert_eq!(r.stats().header("TimeOrigin"), Some("2023-11-16 18:15:46.6805900"));
    }

    #[test]
    fn a_wrong_header_or_row_is_named() {
        let bad = |text: &str| {
            let mut r = AzureReader::new(
                input_of(text),
                Bad { file: "a.csv".into(), policy: BadLines::Error },
                TokenCost::default(),
            );
            read_all(&mut r).unwrap_err().to_string()
        };
        assert_eq!(
            bad("time,in,out\n"),
            "a.csv:1: the header must be `TIMESTAMP,ContextTokens,GeneratedTokens`, got `time,in,out`"
        );
        assert_eq!(
            bad("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,-3,4\n"),
            "a.csv:2: column 2 (ContextTokens) must be a whole number of tokens, got `-3`"
        );
    }
}
