//! The validated description of one simulated world. The `scenarios` crate builds it from a
//! scenario file after checking every field; everything here is known to be in range, so running
//! it cannot fail.

use crate::alerts::AlertRule;
use crate::dist::Dist;
use crate::faults::FaultSpec;
use crate::time::{SimDuration, SimTime};
use crate::workload::Workload;
use fulcrum_strategies::NodeSpec;

/// A named run of consecutive node ids.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeGroup {
    /// Group name.
    pub name: String,
    /// First node id of the group.
    pub first: u32,
    /// Number of nodes.
    pub count: u32,
    /// Racks the group's nodes are split into (consecutive equal blocks), for correlated faults.
    pub racks: u32,
}

/// How nodes report to the scheduler.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeartbeatConfig {
    /// Nominal interval between two heartbeats of a node.
    pub interval: SimDuration,
    /// Each interval is `interval · (1 + jitter · U(-1, 1))`; `jitter` in `[0, 1)`.
    pub jitter: f64,
    /// Probability that a heartbeat is lost, in `[0, 1]`.
    pub loss: f64,
    /// One-way delay of a heartbeat, seconds.
    pub delay: Dist,
}

/// What the scheduler knows about the nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewMode {
    /// The latest heartbeat of each node; with `track_dispatches`, plus the scheduler's own record
    /// of the tasks it sent that the heartbeat does not reflect yet.
    Heartbeat {
        /// Count the scheduler's own dispatches since the heartbeat.
        track_dispatches: bool,
    },
    /// The true state, instantly (for upper bounds).
    Oracle,
}

/// How arrivals are split between several dispatchers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Split {
    /// Each task goes to a uniformly random dispatcher (its own seeded stream).
    #[default]
    Random,
    /// Dispatchers in turn.
    RoundRobin,
}

/// The dispatchers of the scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dispatchers {
    /// How many independent dispatchers, each with its own balancer, view and dispatch
    /// tracking (1: one central dispatcher). They share membership and failover.
    pub count: u32,
    /// How arrivals are split between them.
    pub split: Split,
}

impl Default for Dispatchers {
    fn default() -> Self {
        Dispatchers { count: 1, split: Split::Random }
    }
}

/// One simulated world, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Every node, by dense id.
    pub nodes: Vec<NodeSpec>,
    /// Node groups, in declaration order, covering `nodes`.
    pub groups: Vec<NodeGroup>,
    /// Arrivals and task classes.
    pub workload: Workload,
    /// Heartbeats.
    pub heartbeat: HeartbeatConfig,
    /// One-way delay of a dispatch message, seconds.
    pub dispatch_delay: Dist,
    /// The scheduler's knowledge.
    pub view: ViewMode,
    /// The scheduler's dispatchers.
    pub dispatchers: Dispatchers,
    /// End of the run.
    pub end: SimTime,
    /// End of the warm-up: nothing before it is measured.
    pub warmup: SimTime,
    /// Interval between time-series samples.
    pub sample_interval: SimDuration,
    /// Master seed.
    pub seed: u64,
    /// Faults, in scenario order.
    pub faults: Vec<FaultSpec>,
    /// Alert rules, evaluated at every time-series sample after the warm-up.
    pub alerts: Vec<AlertRule>,
}
