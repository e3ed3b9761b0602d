//! `reschedule`: every task of a suspected node goes straight back to the balancer.
//!
//! No limit on attempts and no delay: the baseline policy of most schedulers (a lost task is
//! simply resubmitted). Cost: O(1) per task.

use super::{FailoverPolicy, Reassign};
use crate::{TaskInfo, Time};

/// Immediate, unlimited rescheduling.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reschedule;

impl FailoverPolicy for Reschedule {
    fn reassign(&mut self, _task: &TaskInfo, _attempts: u32, _now: Time) -> Reassign {
        Reassign::Now
    }
}
