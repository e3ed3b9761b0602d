//! `checkpoint`: tasks save their progress every `interval` of work, each save costing `cost` of
//! time on the node; a task restarted after a failure resumes from its last checkpoint.
//!
//! The work lost per failure is then at most `interval` (plus the checkpoint in progress, at most
//! `cost`), at the price of `cost` per `interval` of work in normal operation (Young, "A first
//! order approximation to the optimum checkpoint interval", 1974, puts the optimum near
//! √(2 · cost · MTBF)). Orphans are rescheduled at once.

use super::{Checkpointing, FailoverPolicy, Reassign};
use crate::{TaskInfo, Time};

/// Checkpoint/restart.
#[derive(Clone, Copy, Debug)]
pub struct Checkpoint {
    checkpointing: Checkpointing,
}

impl Checkpoint {
    /// Checkpoints as given.
    pub fn new(checkpointing: Checkpointing) -> Checkpoint {
        Checkpoint { checkpointing }
    }
}

impl FailoverPolicy for Checkpoint {
    fn reassign(&mut self, _task: &TaskInfo, _attempts: u32, _now: Time) -> Reassign {
        Reassign::Now
    }

    fn checkpointing(&self) -> Option<Checkpointing> {
        Some(self.checkpointing)
    }
}
