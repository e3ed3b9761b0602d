//! `retry`: retries with exponential backoff, up to a maximum number of attempts.
//!
//! After attempt `k` (1-based) fails, the task is retried after `backoff · 2^(k−1)`; a task that
//! has had `max_attempts` attempts is given up and counts as failed — never silently lost.
//! Cost: O(1) per task.

use super::{FailoverPolicy, Reassign};
use crate::{Span, TaskInfo, Time};

/// Bounded retries with exponential backoff.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    max_attempts: u32,
    backoff: Span,
}

impl Retry {
    /// Default attempts.
    pub fn default_max_attempts() -> u32 {
        3
    }
    /// Default first backoff, seconds.
    pub fn default_backoff_s() -> f64 {
        1.0
    }

    /// `max_attempts` attempts in all, the first retry after `backoff`.
    pub fn new(max_attempts: u32, backoff: Span) -> Retry {
        Retry { max_attempts, backoff }
    }
}

impl FailoverPolicy for Retry {
    fn reassign(&mut self, _task: &TaskInfo, attempts: u32, _now: Time) -> Reassign {
        if attempts >= self.max_attempts {
            return Reassign::Fail;
        }
        let doublings = attempts.saturating_sub(1).min(62);
        Reassign::After(Span(self.backoff.0.saturating_mul(1u64 << doublings)))
    }
}
