//! `priority-migration`: the tasks of a suspected node move to other nodes in batches, at most
//! `rate_per_s` tasks per second, highest priority first.
//!
//! A mass failover can flood the surviving nodes (and a real scheduler's control plane); rate
//! limiting spreads it out, and ordering by priority lets the important work restart first. The
//! simulator offers each suspected node's orphans highest priority first; this policy releases a
//! batch of `batch` tasks every `batch / rate_per_s` seconds. Cost: O(1) per task.

use super::{FailoverPolicy, Reassign};
use crate::{Span, TaskInfo, Time};

/// Rate-limited, batched failover.
#[derive(Clone, Copy, Debug)]
pub struct PriorityMigration {
    period: Span,
    batch: u32,
    /// Release time of the batch being filled, and how many it holds.
    current: Time,
    used: u32,
    next_release: Time,
}

impl PriorityMigration {
    /// Default batch size.
    pub fn default_batch() -> u32 {
        10
    }

    /// At most `rate_per_s` migrations per second, `batch` at a time.
    pub fn new(rate_per_s: f64, batch: u32) -> PriorityMigration {
        let batch = batch.max(1);
        PriorityMigration {
            period: Span::from_secs_f64(f64::from(batch) / rate_per_s),
            batch,
            current: Time::ZERO,
            used: 0,
            next_release: Time::ZERO,
        }
    }
}

impl FailoverPolicy for PriorityMigration {
    fn reassign(&mut self, _task: &TaskInfo, _attempts: u32, now: Time) -> Reassign {
        if now >= self.next_release {
            // Idle long enough: a fresh batch leaves now.
            self.current = now;
            self.used = 0;
            self.next_release = now + self.period;
        }
        if self.used >= self.batch {
            self.current = self.next_release;
            self.next_release = self.current + self.period;
            self.used = 0;
        }
        self.used += 1;
        if self.current <= now {
            Reassign::Now
        } else {
            Reassign::After(self.current.saturating_since(now))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Resources, TaskId};

    #[test]
    fn batches_leave_at_the_configured_rate() {
        let task = TaskInfo { id: TaskId(0), class: 0, priority: 0, demand: Resources::ZERO, expected_work_s: 1.0 };
        let mut p = PriorityMigration::new(4.0, 2); // 2 tasks every 0.5 s
        let now = Time::from_secs_f64(100.0);
        let delays: Vec<f64> = (0..7)
            .map(|_| match p.reassign(&task, 1, now) {
                Reassign::Now => 0.0,
                Reassign::After(d) => d.as_secs_f64(),
                Reassign::Fail => f64::NAN,
            })
            .collect();
        assert_eq!(delays, [0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 1.5]);
        // Long after, the bucket is empty again.
        assert_eq!(p.reassign(&task, 1, Time::from_secs_f64(200.0)), Reassign::Now);
    }
}
