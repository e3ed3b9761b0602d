//! What a strategy may read: a read-only view of the nodes as the scheduler believes them to be,
//! and the task being placed.

use crate::Resources;

/// Dense node identifier: nodes are numbered from 0 in the order they are declared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The id as an index into per-node slices.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Task identifier, unique within a run, in arrival order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub u64);

/// What does not change about a node: its capacity and relative speed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NodeSpec {
    /// Total capacity.
    pub capacity: Resources,
    /// Relative speed: a task of work `w` seconds takes `w / speed` seconds here.
    pub speed: f64,
}

/// The scheduler's belief about how busy a node is: the counts from its latest report, plus the
/// tasks dispatched to it that the report does not yet reflect. (Twelve bytes: balancers that
/// sample nodes at random read these, and a small record keeps a large cluster's view in cache.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeLoad {
    /// Tasks running at the time of the latest report.
    pub running: u32,
    /// Tasks queued at the time of the latest report.
    pub queued: u32,
    /// Tasks dispatched to the node that its latest report does not reflect yet (zero when the
    /// scheduler does not track its own dispatches).
    pub in_flight: u32,
}

impl NodeLoad {
    /// Running + queued + in flight: what "least connections" counts.
    #[inline]
    pub fn tasks(&self) -> u32 {
        self.running + self.queued + self.in_flight
    }
}

/// A read-only view of the cluster, indexed by [`NodeId`].
///
/// The three slices have one entry per node. A production scheduler builds it from its own
/// records; the simulator builds it from heartbeats (or from the truth, for an oracle view).
#[derive(Clone, Copy, Debug)]
pub struct ClusterView<'a> {
    specs: &'a [NodeSpec],
    loads: &'a [NodeLoad],
    used: &'a [Resources],
}

impl<'a> ClusterView<'a> {
    /// A view over per-node slices of equal length.
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn new(specs: &'a [NodeSpec], loads: &'a [NodeLoad], used: &'a [Resources]) -> Self {
        assert_eq!(specs.len(), loads.len(), "one load per node");
        assert_eq!(specs.len(), used.len(), "one usage per node");
        ClusterView { specs, loads, used }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// True if there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// A node's capacity and speed.
    #[inline]
    pub fn spec(&self, node: NodeId) -> &'a NodeSpec {
        &self.specs[node.index()]
    }

    /// The believed load of a node.
    #[inline]
    pub fn load(&self, node: NodeId) -> &'a NodeLoad {
        &self.loads[node.index()]
    }

    /// The believed resource use of a node: as last reported, plus the demand of the tasks in
    /// flight to it when the scheduler tracks its dispatches.
    #[inline]
    pub fn used(&self, node: NodeId) -> &'a Resources {
        &self.used[node.index()]
    }
}

/// The task being placed, as the scheduler knows it (not its actual work: schedulers are not
/// clairvoyant).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// Index of the task's class in the workload.
    pub class: u32,
    /// Priority (higher is more important).
    pub priority: i32,
    /// Resources the task holds while it runs.
    pub demand: Resources,
    /// The scheduler's estimate of the task's work, in seconds at speed 1: the class mean in the
    /// simulator, a user's declared estimate in production (as Slurm's time limit). Balancers
    /// that plan, such as the batch optimisers, read it; the actual work stays unknown.
    pub expected_work_s: f64,
}
