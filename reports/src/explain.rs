//! Reading `decisions.jsonl` back: one decision as a table (`fulcrum explain DIR --task ID`), and
//! the first task that two strategies place differently (`fulcrum explain DIR --diff A B`).
//!
//! Every strategy of a scenario sees the same tasks (common random numbers), so task ids line
//! up across labels and across runs of the same scenario: the first (replication, task, attempt)
//! with a different chosen node is where two strategies part ways. After it their clusters
//! differ, so later differences are consequences as much as choices.

use std::fmt::Write as _;
use std::io::BufRead;
use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

/// One decision as logged.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Decision {
    /// Strategy label.
    pub label: String,
    /// Replication index.
    pub replication: usize,
    /// Decision time, seconds (exact decimal).
    pub t_s: String,
    /// Task id.
    pub task: u64,
    /// Attempt (1 for the first dispatch).
    pub attempt: u32,
    /// The node chosen, if any.
    pub chosen: Option<u32>,
    /// Batch size (0 for a single-task decision).
    pub batch: u32,
    /// How scores rank: "none", "lowest" or "highest".
    pub rank: String,
    /// The candidates considered.
    pub candidates: Vec<Candidate>,
}

/// One candidate node of a decision.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Candidate {
    /// Node id.
    pub node: u32,
    /// The filter that rejected it.
    pub rejected_by: Option<String>,
    /// Inputs and score terms, in the balancer's order.
    pub terms: IndexMap<String, Option<f64>>,
    /// The figure the balancer ranks by.
    pub score: Option<f64>,
}

/// Reading a decision log failed.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not a decision.
    #[error("{path}:{line}: not a decision record: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What serde said.
        message: String,
    },
}

/// Reads every decision of a `decisions.jsonl` file, in file order.
pub fn read_decisions(path: &Path) -> Result<Vec<Decision>, ExplainError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| ExplainError::Read { path: shown.clone(), source })?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| ExplainError::Read { path: shown.clone(), source })?;
        if line.trim().is_empty() {
            continue;
        }
        let d: Decision = serde_json::from_str(&line).map_err(|e| ExplainError::Parse {
            path: shown.clone(),
            line: i + 1,
            message: e.to_string(),
        })?;
        out.push(d);
    }
    Ok(out)
}

/// The decision as a table: one row per candidate (best first by the balancer's ranking,
/// rejected nodes last), at most `top` rows, the chosen node marked.
pub fn decision_table(d: &Decision, top: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} replication {}: task {} attempt {} at t = {} s -> {}{}",
        d.label,
        d.replication,
        d.task,
        d.attempt,
        d.t_s,
        d.chosen.map_or("left waiting".to_string(), |n| format!("node {n}")),
        if d.batch > 0 { format!(" (placed in a batch of {})", d.batch) } else { String::new() }
    );
    if d.candidates.is_empty() {
        let _ = writeln!(out, "  (no per-candidate notes: batch decisions are not itemised)");
        return out;
    }
    let mut rows: Vec<&Candidate> = d.candidates.iter().collect();
    let key = |c: &Candidate| -> f64 {
        match (c.rejected_by.is_some(), c.score, d.rank.as_str()) {
            (true, _, _) | (false, None, "lowest" | "highest") => f64::INFINITY,
            (false, Some(s), "lowest") => s,
            (false, Some(s), "highest") => -s,
            _ => 0.0,
        }
    };
    if d.rank != "none" {
        rows.sort_by(|a, b| key(a).total_cmp(&key(b)).then(a.node.cmp(&b.node)));
    }
    // The chosen node is always shown.
    let shown: Vec<&Candidate> = {
        let mut v: Vec<&Candidate> = rows.iter().take(top).copied().collect();
        if let Some(c) = rows.iter().skip(top).find(|c| Some(c.node) == d.chosen) {
            v.push(c);
        }
        v
    };
    let mut term_names: Vec<&str> = Vec::new();
    for c in &shown {
        for k in c.terms.keys() {
            if !term_names.contains(&k.as_str()) {
                term_names.push(k);
            }
        }
    }
    let mut header = vec!["".to_string(), "node".to_string(), "verdict".to_string()];
    header.extend(term_names.iter().map(|t| t.to_string()));
    header.push(format!("score ({})", d.rank));
    let mut table = vec![header];
    for c in &shown {
        let mut row = vec![
            if Some(c.node) == d.chosen { "=>".to_string() } else { String::new() },
            c.node.to_string(),
            c.rejected_by.as_ref().map_or("pass".to_string(), |f| format!("rejected: {f}")),
        ];
        for t in &term_names {
            row.push(match c.terms.get(*t) {
                Some(Some(v)) => number(*v),
                Some(None) => "NaN".to_string(),
                None => String::new(),
            });
        }
        row.push(c.score.map_or(String::new(), number));
        table.push(row);
    }
    let widths: Vec<usize> =
        (0..table[0].len()).map(|i| table.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for row in &table {
        let line: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:>w$}")).collect();
        let _ = writeln!(out, "  {}", line.join("  ").trim_end());
    }
    if rows.len() > shown.len() {
        let _ = writeln!(out, "  ... {} more candidates", rows.len() - shown.len());
    }
    out
}

fn number(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e12 {
        format!("{v:.0}")
    } else if v.abs() >= 0.01 {
        format!("{v:.3}")
    } else {
        format!("{v:.3e}")
    }
}

/// The decisions of `task` (every attempt), for `label` if given, else for every label.
pub fn find_task<'a>(
    decisions: &'a [Decision],
    task: u64,
    label: Option<&str>,
    replication: usize,
) -> Vec<&'a Decision> {
    decisions
        .iter()
        .filter(|d| d.task == task && d.replication == replication && label.is_none_or(|l| d.label == l))
        .collect()
}

/// The first decision, in (replication, task, attempt) order, that `a` and `b` make
/// differently: the pair, or `None` if every decision both logged agrees. Decisions logged by
/// only one side (the log is bounded) are not compared.
pub fn first_difference<'a>(a: &[&'a Decision], b: &[&'a Decision]) -> Option<(&'a Decision, &'a Decision)> {
    let key = |d: &Decision| (d.replication, d.task, d.attempt);
    let mut a: Vec<&Decision> = a.to_vec();
    let mut b: Vec<&Decision> = b.to_vec();
    a.sort_by_key(|d| key(d));
    b.sort_by_key(|d| key(d));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match key(a[i]).cmp(&key(b[j])) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                if a[i].chosen != b[j].chosen {
                    return Some((a[i], b[j]));
                }
                i += 1;
                j += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(label: &str, task: u64, chosen: Option<u32>) -> Decision {
        let line = format!(
            r#"{{"label":"{label}","replication":0,"t_s":"1.000000000","task":{task},"attempt":1,"chosen":{},"batch":0,
            "rank":"highest","candidates":[
              {{"node":0,"rejected_by":null,"terms":{{"least_allocated":50.0,"queue":10.0}},"score":40.0}},
              {{"node":1,"rejected_by":"fit","terms":{{}},"score":null}},
              {{"node":2,"rejected_by":null,"terms":{{"least_allocated":90.0,"queue":20.0}},"score":70.5}}]}}"#,
            chosen.map_or("null".to_string(), |c| c.to_string())
        );
        serde_json::from_str(&line).unwrap()
    }

    #[test]
    fn table_ranks_best_first_marks_the_choice_and_keeps_term_order() {
        let d = decision("ra", 7, Some(2));
        let t = decision_table(&d, 10);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].contains("task 7") && lines[0].contains("-> node 2"), "{t}");
        assert!(lines[1].find("least_allocated").unwrap() < lines[1].find("queue").unwrap(), "{t}");
        let words = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(words(lines[2]), ["=>", "2", "pass", "90", "20", "70.500"], "best first, marked: {t}");
        assert_eq!(words(lines[3]), ["0", "pass", "50", "10", "40"], "{t}");
        assert!(lines[4].contains("rejected: fit"), "rejected last: {t}");
    }

    #[test]
    fn top_limits_rows_but_always_shows_the_chosen_node() {
        let d = decision("ra", 7, Some(1));
        let t = decision_table(&d, 1);
        assert!(t.lines().any(|l| l.split_whitespace().take(2).eq(["=>", "1"])), "{t}");
        assert!(t.contains("... 1 more candidates"), "{t}");
    }

    #[test]
    fn first_difference_skips_agreement_and_unmatched_decisions() {
        let a = [decision("a", 1, Some(0)), decision("a", 2, Some(2)), decision("a", 3, Some(1))];
        let b = [decision("b", 2, Some(2)), decision("b", 3, Some(0)), decision("b", 4, Some(1))];
        let ra: Vec<&Decision> = a.iter().collect();
        let rb: Vec<&Decision> = b.iter().collect();
        let (x, y) = first_difference(&ra, &rb).unwrap();
        assert_eq!((x.task, x.chosen, y.chosen), (3, Some(1), Some(0)));
        assert!(first_difference(&ra[..2], &rb[..1]).is_none());
    }

    #[test]
    fn a_bad_line_names_file_and_line() {
        let dir = std::env::temp_dir().join(format!("fulcrum-explain-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("decisions.jsonl");
        std::fs::write(&path, "\n{\"label\": 3}\n").unwrap();
        let err = read_decisions(&path).unwrap_err().to_string();
        assert!(err.contains("decisions.jsonl:2: not a decision record"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
