//! Machines from a trace, to define the cluster: Alibaba cluster-trace-v2018 `machine_meta.csv`
//! (headerless: `machine_id, time_stamp, failure_domain_1, failure_domain_2, cpu_num, mem_size,
//! status`; several rows per machine as its status changes). A machine is its first row;
//! machines of the same CPU and memory make one node group.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;

use csv::ByteRecord;

use super::{number, show, Bad, BadLines, ReadStats, TraceError};

/// Columns of `machine_meta.csv`.
pub const COLUMNS: usize = 7;

/// Machines of one shape, in the trace's units.
#[derive(Clone, Debug, PartialEq)]
pub struct MachineGroup {
    /// CPU cores (`cpu_num`).
    pub cpu: f64,
    /// Memory, normalised 0–100 (`mem_size`).
    pub memory: f64,
    /// Machines of this shape.
    pub count: u64,
    /// Line of the first of them.
    pub first_line: u64,
}

/// The first `limit` distinct machines of `input` (in file order), grouped by shape in shape order.
pub fn alibaba_2018(
    input: Box<dyn BufRead + Send>,
    name: &str,
    policy: BadLines,
    limit: Option<u64>,
) -> Result<(Vec<MachineGroup>, ReadStats), TraceError> {
    let bad = Bad { file: name.to_string(), policy };
    let mut csv = super::csv_reader(input, b',');
    let mut row = ByteRecord::new();
    let mut stats = ReadStats::default();
    let mut seen: BTreeSet<Vec<u8>> = BTreeSet::new();
    // (cpu, memory) bit patterns → group; both are non-negative, so bit order is numeric order.
    let mut groups: BTreeMap<(u64, u64), MachineGroup> = BTreeMap::new();
    let limit = limit.unwrap_or(u64::MAX);
    while (seen.len() as u64) < limit {
        match csv.read_byte_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(bad.io(stats.lines + 1, e)),
        }
        stats.lines += 1;
        let line = row.position().map_or(stats.lines, |p| p.line());
        let parsed = (|| {
            if row.len() != COLUMNS {
                return Err(format!("expected {COLUMNS} comma-separated columns, got {}", row.len()));
            }
            if row[0].is_empty() {
                return Err("column 1 (machine_id) is empty".to_string());
            }
            let value = |i: usize, what: &str| match number(&row[i]) {
                Some(v) if v > 0.0 => Ok(v),
                _ => Err(format!("column {} ({what}) must be a positive number, got `{}`", i + 1, show(&row[i]))),
            };
            Ok((value(4, "cpu_num")?, value(5, "mem_size")?))
        })();
        match parsed {
            Ok((cpu, memory)) => {
                if seen.insert(row[0].to_vec()) {
                    groups
                        .entry((cpu.to_bits(), memory.to_bits()))
                        .or_insert(MachineGroup { cpu, memory, count: 0, first_line: line })
                        .count += 1;
                }
            }
            Err(message) => bad.line(&mut stats, line, message)?,
        }
    }
    Ok((groups.into_values().collect(), stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::input_of;

    #[test]
    fn machines_are_their_first_rows_grouped_by_shape() {
        let text = "m_1,0,1,1,96,100,USING\nm_1,50,1,1,96,100,USING\nm_2,0,1,1,64,50,USING\n\
                    m_3,0,1,1,96,100,IMPORT_INSTALLING\nm_4,0,1,1,64,50,USING\n";
        let (groups, stats) = alibaba_2018(input_of(text), "m.csv", BadLines::Error, None).unwrap();
        let got: Vec<(f64, f64, u64, u64)> = groups.iter().map(|g| (g.cpu, g.memory, g.count, g.first_line)).collect();
        assert_eq!(got, [(64.0, 50.0, 2, 3), (96.0, 100.0, 2, 1)]);
        assert_eq!(stats.lines, 5);
        let (groups, _) = alibaba_2018(input_of(text), "m.csv", BadLines::Error, Some(2)).unwrap();
        assert_eq!(groups.iter().map(|g| g.count).sum::<u64>(), 2);
        let err = alibaba_2018(input_of("m_1,0,1,1,x,100,USING\n"), "m.csv", BadLines::Error, None).unwrap_err();
        assert_eq!(err.to_string(), "m.csv:1: column 5 (cpu_num) must be a positive number, got `x`");
    }
}
