//! Failover policies: what happens to the tasks of a node the detector suspects.
//!
//! The simulator (or a production scheduler) owns the mechanism — which tasks were on the node,
//! re-dispatching them, counting attempts — and asks the policy for each orphaned task whether to
//! send it back to the balancer now, after a delay, or give up. A policy may also ask tasks to
//! checkpoint, so that a restart resumes from the last checkpoint instead of from scratch.

mod checkpoint;
mod priority_migration;
mod reschedule;
mod retry;

pub use checkpoint::Checkpoint;
pub use priority_migration::PriorityMigration;
pub use reschedule::Reschedule;
pub use retry::Retry;

use serde::{Deserialize, Serialize};

use crate::{Span, TaskInfo, Time};

/// What to do with a task whose node is suspected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reassign {
    /// Back to the balancer now.
    Now,
    /// Back to the balancer after this delay.
    After(Span),
    /// Give up: the task counts as failed.
    Fail,
}

/// Periodic checkpoints of running tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpointing {
    /// Work (at speed 1) between two checkpoints.
    pub interval: Span,
    /// Time a checkpoint takes on the node (no work progresses meanwhile).
    pub cost: Span,
}

/// Decides the fate of orphaned tasks.
///
/// # Example
/// ```
/// use fulcrum_strategies::failover::{FailoverConfig, Reassign};
/// use fulcrum_strategies::{Resources, Span, TaskId, TaskInfo, Time};
///
/// let config: FailoverConfig =
///     serde_json::from_str(r#"{"kind": "retry", "max_attempts": 3, "backoff_s": 1.0}"#).unwrap();
/// let mut policy = config.build();
/// let task = TaskInfo { id: TaskId(7), class: 0, priority: 0, demand: Resources::ZERO, expected_work_s: 1.0 };
/// assert_eq!(policy.reassign(&task, 1, Time::ZERO), Reassign::After(Span::from_secs_f64(1.0)));
/// assert_eq!(policy.reassign(&task, 2, Time::ZERO), Reassign::After(Span::from_secs_f64(2.0)));
/// assert_eq!(policy.reassign(&task, 3, Time::ZERO), Reassign::Fail);
/// ```
pub trait FailoverPolicy: Send {
    /// The task has been executed (or dispatched) `attempts` times and its node is suspected.
    fn reassign(&mut self, task: &TaskInfo, attempts: u32, now: Time) -> Reassign;

    /// Whether tasks checkpoint, and how.
    fn checkpointing(&self) -> Option<Checkpointing> {
        None
    }
}

/// A policy with its mechanism options.
pub struct Failover {
    /// The decisions.
    pub policy: Box<dyn FailoverPolicy>,
    /// Fencing: when a suspected node comes back, it is told to kill the copies of tasks that were
    /// failed over meanwhile (so a partition causes no duplicate execution once it heals).
    pub fencing: bool,
}

/// A failover policy's configuration, as scenario files write it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FailoverConfig {
    /// Every task of a suspected node goes straight back to the balancer, without limit.
    Reschedule {
        /// Kill stale copies when the node comes back.
        #[serde(default)]
        fencing: bool,
    },
    /// Retries with exponential backoff; a task that has had `max_attempts` attempts fails.
    Retry {
        /// Attempts allowed, including the first.
        #[serde(default = "Retry::default_max_attempts")]
        max_attempts: u32,
        /// Delay before the first retry, doubled for each further one, seconds.
        #[serde(default = "Retry::default_backoff_s")]
        backoff_s: f64,
        /// Kill stale copies when the node comes back.
        #[serde(default)]
        fencing: bool,
    },
    /// Tasks checkpoint every `interval_s` of work at a cost of `cost_s`; a restarted task resumes
    /// from its last checkpoint. Orphans are rescheduled at once.
    Checkpoint {
        /// Work between checkpoints, seconds.
        interval_s: f64,
        /// Time one checkpoint takes, seconds.
        #[serde(default)]
        cost_s: f64,
        /// Kill stale copies when the node comes back.
        #[serde(default)]
        fencing: bool,
    },
    /// Orphans move highest priority first, at most `rate_per_s` per second, `batch` at a time.
    PriorityMigration {
        /// Migrations per second.
        rate_per_s: f64,
        /// Tasks per batch.
        #[serde(default = "PriorityMigration::default_batch")]
        batch: u32,
        /// Kill stale copies when the node comes back.
        #[serde(default)]
        fencing: bool,
    },
}

impl Default for FailoverConfig {
    fn default() -> Self {
        FailoverConfig::Reschedule { fencing: false }
    }
}

impl FailoverConfig {
    /// The `kind` string.
    pub fn kind(&self) -> &'static str {
        match self {
            FailoverConfig::Reschedule { .. } => "reschedule",
            FailoverConfig::Retry { .. } => "retry",
            FailoverConfig::Checkpoint { .. } => "checkpoint",
            FailoverConfig::PriorityMigration { .. } => "priority-migration",
        }
    }

    /// Whether stale copies are fenced off when a node comes back.
    pub fn fencing(&self) -> bool {
        match *self {
            FailoverConfig::Reschedule { fencing }
            | FailoverConfig::Retry { fencing, .. }
            | FailoverConfig::Checkpoint { fencing, .. }
            | FailoverConfig::PriorityMigration { fencing, .. } => fencing,
        }
    }

    /// Checks parameter ranges. Returns `(parameter, problem)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match *self {
            FailoverConfig::Reschedule { .. } => {}
            FailoverConfig::PriorityMigration { rate_per_s, batch, .. } => {
                if !(rate_per_s.is_finite() && rate_per_s > 0.0 && rate_per_s <= 1e9) {
                    out.push(("rate_per_s", format!("must be positive and at most 1000000000, got {rate_per_s}")));
                }
                if !(1..=1_000_000).contains(&batch) {
                    out.push(("batch", format!("must be between 1 and 1000000, got {batch}")));
                }
            }
            FailoverConfig::Retry { max_attempts, backoff_s, .. } => {
                if !(1..=1000).contains(&max_attempts) {
                    out.push(("max_attempts", format!("must be between 1 and 1000, got {max_attempts}")));
                }
                if !(backoff_s.is_finite() && (0.0..=1e6).contains(&backoff_s)) {
                    out.push(("backoff_s", format!("must be at least 0 and at most 1000000, got {backoff_s}")));
                }
            }
            FailoverConfig::Checkpoint { interval_s, cost_s, .. } => {
                if !(interval_s.is_finite() && interval_s > 0.0 && interval_s <= 1e8) {
                    out.push(("interval_s", format!("must be positive and at most 100000000, got {interval_s}")));
                }
                if !(cost_s.is_finite() && (0.0..=1e6).contains(&cost_s)) {
                    out.push(("cost_s", format!("must be at least 0 and at most 1000000, got {cost_s}")));
                }
            }
        }
        out
    }

    /// A fresh policy.
    pub fn build(&self) -> Box<dyn FailoverPolicy> {
        match *self {
            FailoverConfig::Reschedule { .. } => Box::new(Reschedule),
            FailoverConfig::Retry { max_attempts, backoff_s, .. } => {
                Box::new(Retry::new(max_attempts, Span::from_secs_f64(backoff_s)))
            }
            FailoverConfig::Checkpoint { interval_s, cost_s, .. } => Box::new(Checkpoint::new(Checkpointing {
                interval: Span::from_secs_f64(interval_s),
                cost: Span::from_secs_f64(cost_s),
            })),
            FailoverConfig::PriorityMigration { rate_per_s, batch, .. } => {
                Box::new(PriorityMigration::new(rate_per_s, batch))
            }
        }
    }

    /// A fresh policy with its mechanism options.
    pub fn build_failover(&self) -> Failover {
        Failover { policy: self.build(), fencing: self.fencing() }
    }
}
