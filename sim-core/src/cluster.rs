//! The cluster world: nodes that run tasks and fail, a central dispatcher that sees them through
//! heartbeats and decides with a balancer, a failure detector and a failover policy, the
//! workload, the fault plan and the metric probes.
//!
//! State is split by owner — [`Node`]s hold what is true, the [`Dispatcher`] what the scheduler
//! believes, [`Heartbeats`] the reports in flight — and each handler touches the parts it needs.
//!
//! A *task* is the unit of work the workload submits; an *execution* is one attempt to run it on
//! one node. A task may have several executions over its life (failover) and, after a partition or
//! a false suspicion, two at once (the later completion is counted as a duplicate). An execution's
//! slot is reused only once neither the node nor the dispatcher refers to it any more, and every
//! reuse or reschedule bumps its generation, so a stale event can never act on the wrong one.

use rand::Rng;

use crate::alerts::{AlertMetric, Monitor, Observation};
use crate::amounts::{Amounts, Dims};
use crate::config::{SimConfig, Split, ViewMode};
use crate::dist::{Dist, Sampler};
use crate::engine::{Model, Scheduler};
use crate::faults::{FaultAction, FaultPlan};
use crate::metrics::{
    balance_stats, Collector, DecisionRecord, ExecOutcome, ExecRecord, FaultKind, NodeSamples, RunOutput, SeriesPoint,
    TaskRecord,
};
use crate::rng::{stream, Purpose, Stream};
use crate::time::{SimDuration, SimTime};
use crate::workload::Arrivals;
use crate::Strategy;
use fulcrum_strategies::balance::{Balancer, Explanation, Outcome};
use fulcrum_strategies::detect::{DetectionOptions, Membership, Transition};
use fulcrum_strategies::failover::{Checkpointing, FailoverPolicy, Reassign};
use fulcrum_strategies::{
    round_to_u64, ClusterView, NodeId, NodeLoad, NodeSpec, Resource, Resources, TaskId, TaskInfo, N_RESOURCES,
};

const NONE: u32 = u32::MAX;

/// Everything that can happen in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The next task of the workload arrives at the dispatcher.
    Arrival,
    /// A dispatch message (execution slot) reaches its node.
    Deliver(u32),
    /// A running execution (slot, generation) ends a phase: completes, or reaches or finishes a
    /// checkpoint. (A 16-bit generation keeps events at 8 bytes; the execution also records the
    /// time its phase ends, so a stale event would have to match both to act.)
    Step(u32, u16),
    /// A node sends a heartbeat.
    Beat(u32),
    /// A heartbeat (report slot) reaches the dispatcher.
    Report(u32),
    /// The failure detector's deadline for a node.
    Check(u32),
    /// A probe of a suspected node is answered.
    ProbeReply(u32),
    /// A probe of a suspected node went unanswered.
    ProbeTimeout(u32),
    /// The next action of the fault plan.
    Fault,
    /// A task (slot) whose retry backoff has elapsed goes back to the balancer.
    Retry(u32),
    /// A batch balancer's window closes (batch generation, dispatcher; stale if that batch
    /// already closed).
    Flush(u32, u16),
    /// Time-series sample.
    Sample,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Pending,
    Done,
    Failed,
}

/// A task in the system. (Aligned to a cache line: a completion reads it at a random place in a
/// large slab, and an unaligned 56-byte record would straddle two lines most of the time.)
#[derive(Clone, Copy, Debug)]
#[repr(align(64))]
struct Task {
    id: u64,
    /// The dispatcher the task arrived at (every attempt goes through it).
    front: u16,
    arrival: SimTime,
    /// Work at speed 1, ns.
    work: u64,
    /// Work saved by checkpoints, ns.
    saved: u64,
    class: u32,
    attempts: u32,
    status: Status,
    /// Executions not yet freed.
    live_execs: u32,
    latest_exec: u32,
    /// Fault instance waiting for this task to run again, or NONE.
    waiting_fault: u32,
    /// In the dispatcher's backlog or waiting for a retry: the slot must stay this task's until
    /// the dispatcher looks at it again, even if an earlier execution completes meanwhile.
    parked: bool,
}

/// Where an execution is in its life. A working execution works from `progress` (ns of work) at
/// `since` towards `target`; a checkpointing one saves a checkpoint of `progress` (see
/// [`Execs::since`], [`Execs::progress`] and [`Execs::target`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    InFlight,
    Queued,
    Working,
    Checkpointing,
    Finished,
    Lost,
}

/// One attempt to run a task on a node: what dispatching, delivering, starting, stepping and
/// finishing it read, in one cache line. The rest is in its [`ExecCold`].
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Exec {
    /// When the current phase ends (the time its Step event is due).
    next_step: SimTime,
    /// The task's work (copied, so starting and stepping need not visit the task).
    work: u64,
    started: SimTime,
    /// The task's arrival (copied, so a completion without failover need not visit the task).
    arrival: SimTime,
    task: u32,
    node: u32,
    /// The node incarnation the dispatch is addressed to (the one the dispatcher believes in): a
    /// restarted node refuses what was meant for its previous life.
    incarnation: u32,
    /// The task's class (copied, like `work`).
    class: u32,
    /// Next execution in its node's queue, or NONE.
    next: u32,
    gen: u16,
    /// The dispatcher that sent it.
    front: u16,
    phase: Phase,
    /// The node no longer refers to it (lost, or its completion reported).
    node_done: bool,
    /// The dispatcher no longer refers to it (completion heard, or orphaned).
    sched_done: bool,
    /// The current phase's `since` is in the cold part (else it is `started`).
    cold_since: bool,
    /// The current phase's `progress` is in the cold part (else it is 0).
    cold_progress: bool,
    /// The current phase's `target` is in the cold part (else it is `work`).
    cold_target: bool,
}

/// The parts of an execution that the plain path (no checkpoints, speed changes, faults, nor
/// timeline) never reads: kept apart so that they cost nothing there.
#[derive(Clone, Copy, Debug)]
struct ExecCold {
    since: SimTime,
    progress: u64,
    target: u64,
    /// When it was dispatched (kept only for the timeline and for balancers that learn).
    dispatched: SimTime,
    /// Its task's id (kept only for the logs and the timeline: see [`World::solo`]).
    task_id: u64,
    /// Position in the dispatcher's outstanding list of its node, or NONE (tracked executions).
    out_pos: u32,
    /// Position in its node's running list, or NONE (tracked executions).
    run_pos: u32,
}

impl ExecCold {
    const EMPTY: ExecCold = ExecCold {
        since: SimTime::ZERO,
        progress: 0,
        target: 0,
        dispatched: SimTime::ZERO,
        task_id: 0,
        out_pos: NONE,
        run_pos: NONE,
    };
}

/// The executions: hot records (one cache line each) beside their cold parts, in slots reused
/// last-freed first (a new execution lands where one just ended, still in cache).
#[derive(Debug, Default)]
struct Execs {
    hot: Vec<Exec>,
    /// Each slot's `Exec::node`, copied into a small dense array: a step reads its node from here
    /// first, so that the execution's line and its node's can be fetched at once.
    node_of: Vec<u32>,
    cold: Vec<ExecCold>,
    free: FreeSlots,
}

impl Execs {
    /// Stores an execution; its cold part is written only if given (else it holds whatever the
    /// slot's last user left, which nothing reads: see [`ExecCold`]).
    #[inline]
    fn insert(&mut self, exec: Exec, cold: Option<ExecCold>) -> u32 {
        match self.free.take() {
            Some(slot) => {
                self.node_of[slot as usize] = exec.node;
                self.hot[slot as usize] = exec;
                if let Some(cold) = cold {
                    self.cold[slot as usize] = cold;
                }
                slot
            }
            None => {
                self.node_of.push(exec.node);
                self.hot.push(exec);
                self.cold.push(cold.unwrap_or(ExecCold::EMPTY));
                (self.hot.len() - 1) as u32
            }
        }
    }

    #[inline]
    fn release(&mut self, slot: u32) {
        self.free.release(slot);
    }

    fn live_mask(&self) -> Vec<bool> {
        self.free.live_mask(self.hot.len())
    }

    /// When the current working phase started.
    #[inline]
    fn since(&self, e: u32) -> SimTime {
        let x = &self.hot[e as usize];
        if x.cold_since {
            self.cold[e as usize].since
        } else {
            x.started
        }
    }

    /// The work done when the current phase started (working) or that is being saved
    /// (checkpointing).
    #[inline]
    fn progress(&self, e: u32) -> u64 {
        if self.hot[e as usize].cold_progress {
            self.cold[e as usize].progress
        } else {
            0
        }
    }

    /// The work done by now at `speed`, for a working or checkpointing execution; `otherwise`
    /// for any other.
    fn progress_at(&self, e: u32, now: SimTime, speed: f64, otherwise: u64) -> u64 {
        let x = &self.hot[e as usize];
        match x.phase {
            Phase::Working => (self.progress(e) + ((now - self.since(e)).0 as f64 * speed) as u64).min(self.target(e)),
            Phase::Checkpointing => self.progress(e),
            _ => otherwise,
        }
    }

    /// Where the current working phase ends (ns of work).
    #[inline]
    fn target(&self, e: u32) -> u64 {
        let x = &self.hot[e as usize];
        if x.cold_target {
            self.cold[e as usize].target
        } else {
            x.work
        }
    }

    #[inline]
    fn set_since(&mut self, e: u32, since: SimTime) {
        let x = &mut self.hot[e as usize];
        x.cold_since = since != x.started;
        if x.cold_since {
            self.cold[e as usize].since = since;
        }
    }

    #[inline]
    fn set_progress(&mut self, e: u32, progress: u64) {
        let x = &mut self.hot[e as usize];
        x.cold_progress = progress != 0;
        if x.cold_progress {
            self.cold[e as usize].progress = progress;
        }
    }

    /// Working from `progress` at `since` towards `target`.
    #[inline]
    fn set_working(&mut self, e: u32, since: SimTime, progress: u64, target: u64) {
        let x = &mut self.hot[e as usize];
        x.phase = Phase::Working;
        x.cold_target = target != x.work;
        if x.cold_target {
            self.cold[e as usize].target = target;
        }
        self.set_since(e, since);
        self.set_progress(e, progress);
    }

    /// Saving a checkpoint of `progress`.
    #[inline]
    fn set_checkpointing(&mut self, e: u32, progress: u64) {
        self.hot[e as usize].phase = Phase::Checkpointing;
        self.set_progress(e, progress);
    }

    /// The task log's record of the task that execution `e` stands for (see [`World::solo`]),
    /// ending at `end` (`None`: still in the system).
    fn task_record(&self, e: u32, end: Option<SimTime>) -> TaskRecord {
        let exec = &self.hot[e as usize];
        TaskRecord {
            id: self.cold[e as usize].task_id,
            class: exec.class,
            arrival: exec.arrival,
            work: SimDuration(exec.work),
            node: Some(exec.node),
            start: matches!(exec.phase, Phase::Working | Phase::Checkpointing | Phase::Finished)
                .then_some(exec.started),
            end,
            attempts: 1,
        }
    }

    /// The timeline's record of execution `e` (of task `task`) that stops at `end`.
    fn record(&self, e: u32, task: u64, end: SimTime, outcome: ExecOutcome) -> ExecRecord {
        let exec = &self.hot[e as usize];
        ExecRecord {
            task,
            class: exec.class,
            node: exec.node,
            dispatched: self.cold[e as usize].dispatched,
            start: exec.started,
            end,
            outcome,
        }
    }
}

/// A FIFO of executions linked through [`Exec::next`], whose head is kept apart (a node's in
/// [`World::heads`]), so that a completion can fetch the next execution to start without waiting
/// for the node's record.
#[derive(Clone, Copy, Debug)]
struct Fifo {
    tail: u32,
    len: u32,
}

impl Fifo {
    const EMPTY: Fifo = Fifo { tail: NONE, len: 0 };

    #[inline]
    fn push_back(&mut self, head: &mut u32, execs: &mut [Exec], e: u32) {
        execs[e as usize].next = NONE;
        if self.tail == NONE {
            *head = e;
        } else {
            execs[self.tail as usize].next = e;
        }
        self.tail = e;
        self.len += 1;
    }

    #[inline]
    fn pop_front(&mut self, head: &mut u32, execs: &[Exec]) -> Option<u32> {
        let e = *head;
        if e == NONE {
            return None;
        }
        *head = execs[e as usize].next;
        if *head == NONE {
            self.tail = NONE;
        }
        self.len -= 1;
        Some(e)
    }

    /// Empties the queue, returning its executions in order.
    fn drain(&mut self, head: &mut u32, execs: &[Exec]) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.len as usize);
        while let Some(e) = self.pop_front(head, execs) {
            out.push(e);
        }
        out
    }
}

/// The free slots of a slab (or of parallel arrays used as one), reused last freed first: memory
/// follows what is live, not what has been, and a new entry lands where one just ended, most
/// likely still in cache.
#[derive(Debug, Default)]
struct FreeSlots(Vec<u32>);

impl FreeSlots {
    /// A free slot to reuse, if any.
    #[inline]
    fn take(&mut self) -> Option<u32> {
        self.0.pop()
    }

    #[inline]
    fn release(&mut self, slot: u32) {
        self.0.push(slot);
    }

    /// Per slot of `len`, whether it is in use.
    fn live_mask(&self, len: usize) -> Vec<bool> {
        let mut live = vec![true; len];
        for &f in &self.0 {
            live[f as usize] = false;
        }
        live
    }
}

/// A slab whose slots are reused (see [`FreeSlots`]).
#[derive(Debug)]
struct Slab<T> {
    slots: Vec<T>,
    free: FreeSlots,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { slots: Vec::new(), free: FreeSlots::default() }
    }
}

impl<T> Slab<T> {
    #[inline]
    fn insert(&mut self, value: T) -> u32 {
        match self.free.take() {
            Some(slot) => {
                self.slots[slot as usize] = value;
                slot
            }
            None => {
                self.slots.push(value);
                (self.slots.len() - 1) as u32
            }
        }
    }

    #[inline]
    fn release(&mut self, slot: u32) {
        self.free.release(slot);
    }

    fn live_mask(&self) -> Vec<bool> {
        self.free.live_mask(self.slots.len())
    }
}

/// [`NodeHot::flags`]: the node is down (crashed).
const DOWN: u8 = 1;
/// [`NodeHot::flags`]: the node is partitioned away.
const CUT_OFF: u8 = 2;
/// [`NodeHot::flags`]: the node's speed differs from its shape's (read [`NodeCold::speed`]).
const OWN_SPEED: u8 = 4;

/// A node's true state that every event at the node reads or writes (a delivery, a start, a
/// completion, a heartbeat), in one record aligned to a cache line (with one resource dimension).
/// The rest is in its [`NodeCold`], and what never changes in its [`Shape`].
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct NodeHot<const K: usize> {
    used: Amounts<K>,
    /// The total demand of the dispatches received so far (see `received`).
    received_demand: Amounts<K>,
    /// The total demand of dispatcher 0's dispatches to the node so far (see `sent`).
    sent_demand: Amounts<K>,
    /// Dispatches received so far (32-bit, wrapping: see [`unacked`]) (reported in heartbeats,
    /// so the dispatcher can tell which of its dispatches a heartbeat reflects).
    received: u32,
    /// Dispatcher 0's dispatches to the node so far (32-bit, wrapping): the dispatcher's record,
    /// kept here with `sent_demand` because a dispatch updates them (in the line its delivery
    /// reads), and its report reads them again. Not kept with a lean dispatch (see
    /// [`World::lean_dispatch`]). (The other dispatchers' are in their [`Front::tracking`].)
    sent: u32,
    /// Queued executions, first in first out, linked through the executions themselves (no
    /// per-node buffer to miss in the cache).
    queue: Fifo,
    /// Executions running.
    n_running: u32,
    incarnation: u32,
    /// The incarnation the dispatcher believes in (the dispatcher's, kept here in the line the
    /// dispatch's delivery reads; a dispatch reads it only once a restart has been heard of:
    /// see [`World::restart_heard`]).
    known_incarnation: u32,
    /// Index of its capacity and nominal speed in [`World::shapes`].
    shape: u32,
    /// [`DOWN`], [`CUT_OFF`], [`OWN_SPEED`].
    flags: u8,
}

// One resource dimension: a node's hot state, and the rest of what its messages read, each in one
// cache line.
const _: () = assert!(std::mem::size_of::<NodeHot<1>>() == 64 && std::mem::size_of::<Desk<1>>() == 64);

/// The rest of a node's true state: what only faults, speed changes and failure tracking touch.
#[derive(Debug)]
struct NodeCold {
    /// Executions running (kept as a list only when something can fail: crashes and slowdowns
    /// need to find them).
    running: Vec<u32>,
    /// Completed executions not yet reported.
    unreported: Vec<u32>,
    /// Dispatches that reached the node while it was partitioned: held by the network (a
    /// reliable channel keeps retransmitting) and delivered when the partition heals, or lost if
    /// the node crashes first.
    held: Vec<u32>,
    /// Crash and partition nesting depths (0: up, reachable; mirrored by [`DOWN`] and
    /// [`CUT_OFF`]).
    down: u32,
    partitioned: u32,
    /// Active slowdown factors.
    slowdowns: Vec<f64>,
    /// Speed-profile multiplier (1 without a profile).
    profile: f64,
    /// The resulting speed (read when [`OWN_SPEED`] is set; else it equals the shape's).
    speed: f64,
    /// A Beat event is pending for this node.
    beating: bool,
    /// Latest fault instance (crash or partition) not yet detected nor healed, or NONE.
    fault: u32,
}

/// A node's capacity and nominal speed, stored once for all the nodes that have the same.
#[derive(Debug, Clone, Copy)]
struct Shape<const K: usize> {
    capacity: Amounts<K>,
    speed: f64,
}

/// "Never": no report heard yet.
const NEVER: SimTime = SimTime::MAX;

/// What a dispatcher sent to a node, cumulatively, and how much of it the node has confirmed.
#[derive(Debug, Clone, Copy)]
struct Tracking<const K: usize> {
    sent: u64,
    acked: u64,
    sent_demand: Amounts<K>,
    acked_demand: Amounts<K>,
}

impl<const K: usize> Tracking<K> {
    const EMPTY: Tracking<K> = Tracking { sent: 0, acked: 0, sent_demand: Amounts::ZERO, acked_demand: Amounts::ZERO };
}

/// The rest of what a heartbeat, its report and a completion read: the node's heartbeat
/// sequence number, what dispatcher 0 last heard of the node (how many of its dispatches, of
/// what total demand, had arrived; when), and the node's utilisation accumulators. Owned by the
/// node, the dispatcher and the metrics, but stored beside the node's [`NodeHot`] (see
/// [`NodeRecord`]).
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Desk<const K: usize> {
    /// Per dimension, milli-unit-nanoseconds in use after the warm-up (the metrics' probe).
    busy: [u128; K],
    hb_seq: u64,
    /// The total demand of dispatcher 0's dispatches the node had received by its latest report
    /// (see `acked`).
    acked_demand: Amounts<K>,
    /// When the node's latest report (or, for an oracle, change) was sent, [`NEVER`] before the
    /// first.
    reported_at: SimTime,
    /// Dispatcher 0's belief about the node's resource use, in the run's dimensions, and about
    /// its load: copies of the node's entries in its view (`used`, `loads`), so that a dispatch
    /// updates the copies here (in a line it has at hand) and overwrites the view's entries
    /// rather than reading them first, and a report that changes nothing writes nothing. (Not
    /// kept with a lean dispatch, which updates the view's entry directly: see
    /// [`World::lean_dispatch`].)
    believed: Amounts<K>,
    /// Dispatcher 0's count of its dispatches the node had received by its latest report
    /// (32-bit, wrapping, like [`NodeHot::sent`]).
    acked: u32,
    load: NodeLoad,
}

impl<const K: usize> Desk<K> {
    /// Adds the part of `[start, end]` after the end of the warm-up, weighted by `demand`, to the
    /// node's utilisation.
    #[inline]
    fn add_busy(&mut self, warmup: SimTime, demand: &Amounts<K>, start: SimTime, end: SimTime) {
        let from = start.max(warmup);
        if end > from {
            let dt = u128::from((end - from).0);
            for (b, &d) in self.busy.iter_mut().zip(&demand.0) {
                *b += u128::from(d) * dt;
            }
        }
    }
}

/// Reads `x` here, where the caller would otherwise read it only later: a load issued early, so
/// that its cache miss overlaps with others (`black_box` keeps the compiler from moving the load
/// to where the value is used).
#[inline(always)]
fn touch<T: Copy>(x: &T) -> T {
    std::hint::black_box(*x)
}

/// Asks the processor to bring the cache line of `x` into its caches, without waiting for it.
/// Unlike [`touch`], which holds up the instructions after it until the line arrives, a prefetch
/// lets the current event's handling go on meanwhile: [`World::prefetch`] with plain reads gained
/// nothing on the 1e5-node heartbeat run, with prefetches it takes 12-18 % off the run. (Elsewhere
/// than on x86-64 it does nothing.)
#[inline(always)]
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it reads nothing the program sees, never faults, and `x`
    // is a valid reference anyway.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((x as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// `sent - acked` floored at zero, from 32-bit wrapping counts of dispatches: exactly what the
/// 64-bit counts would give, since their true difference is bounded by the dispatches in flight
/// (or in flight at a suspicion), which never approach 2^31.
#[inline(always)]
fn unacked(sent: u32, acked: u32) -> u32 {
    (sent.wrapping_sub(acked) as i32).max(0) as u32
}

/// A node's [`NodeHot`] and its [`Desk`] side by side, in two cache lines (with one resource
/// dimension) aligned as a pair: the messages between the dispatcher and the node come in pairs
/// half a millisecond apart (a dispatch and its delivery, a heartbeat and its report), each
/// reading (a lean dispatch only prefetching) one half, and a processor that fetches one line of
/// an aligned pair into its L2 cache fetches the other with it.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(128))]
struct NodeRecord<const K: usize> {
    hot: NodeHot<K>,
    desk: Desk<K>,
}

/// One dispatcher instance: its balancer, its view of the nodes, and its record of what it sent.
/// A scenario runs one, or several that split the arrivals between them (as several load-balancer
/// instances, or Sparrow's distributed schedulers, do) and decide without coordinating.
struct Front<const K: usize> {
    balancer: Box<dyn Balancer>,
    rng: Stream,
    loads: Vec<NodeLoad>,
    used: Vec<Resources>,
    /// What this dispatcher sent to each node (empty for dispatcher 0, whose tracking is in the
    /// nodes' [`Desk`]s).
    tracking: Vec<Tracking<K>>,
    /// The batch being collected, for a batch balancer.
    batch: Option<Batch>,
    /// Scratch for decision explanations.
    why: Explanation,
}

/// The scheduler: its dispatchers, and the control plane they share (membership, failover,
/// the records of what runs where).
struct Dispatcher<const K: usize> {
    fronts: Vec<Front<K>>,
    /// How arrivals are split between the dispatchers.
    split: Split,
    split_rng: Stream,
    next_front: u32,
    mode: ViewMode,
    /// Per task class: the trusted nodes whose capacity can hold it, and each node's position.
    candidates: Vec<Vec<NodeId>>,
    candidate_pos: Vec<Vec<u32>>,
    feasible: Vec<Vec<bool>>,
    delay: Delay,
    delay_rng: Stream,
    membership: Option<Membership>,
    failover: Box<dyn FailoverPolicy>,
    fencing: bool,
    checkpointing: Option<Checkpointing>,
    /// Per node: executions believed to be there (sent, not known complete).
    outstanding: Vec<Vec<u32>>,
    check_pending: Vec<bool>,
    /// Tasks waiting for a trusted node that can hold them.
    backlog: Vec<u32>,
    /// Per node: when a false suspicion started.
    mistake_since: Vec<Option<SimTime>>,
    /// Probing and passive detection.
    options: DetectionOptions,
    probe_rng: Stream,
    /// Per node: a suspicion being confirmed by probes (attempt, and when its reply or timeout is
    /// due; events that do not match are stale).
    probing: Vec<Option<(u32, SimTime)>>,
}

/// Tasks collected for a batch balancer.
struct Batch {
    window: SimDuration,
    size: usize,
    /// Counts closed batches: a window's Flush event acts only on the batch it opened.
    generation: u32,
    slots: Vec<u32>,
    infos: Vec<TaskInfo>,
    picked: Vec<Option<NodeId>>,
}

impl<const K: usize> Dispatcher<K> {
    fn remove_candidate(&mut self, node: u32) {
        for (cands, pos) in self.candidates.iter_mut().zip(self.candidate_pos.iter_mut()) {
            let p = pos[node as usize];
            if p != NONE {
                cands.swap_remove(p as usize);
                if let Some(moved) = cands.get(p as usize) {
                    pos[moved.index()] = p;
                }
                pos[node as usize] = NONE;
            }
        }
    }

    fn add_candidate(&mut self, node: u32) {
        for c in 0..self.candidates.len() {
            if self.feasible[c][node as usize] && self.candidate_pos[c][node as usize] == NONE {
                self.candidate_pos[c][node as usize] = self.candidates[c].len() as u32;
                self.candidates[c].push(NodeId(node));
            }
        }
    }
}

/// A heartbeat on its way to the dispatcher.
#[derive(Debug, Clone)]
struct Report<const K: usize> {
    node: u32,
    incarnation: u32,
    seq: u64,
    sent_at: SimTime,
    running: u32,
    queued: u32,
    used: Amounts<K>,
    received: u32,
    received_demand: Amounts<K>,
    completions: Vec<u32>,
}

/// Heartbeat timing, loss and delay, and the reports in flight.
#[derive(Debug)]
struct Heartbeats<const K: usize> {
    interval_ns: f64,
    jitter: f64,
    base_loss: f64,
    loss: f64,
    loss_bursts: Vec<f64>,
    extra_delay: Vec<f64>,
    delay: Delay,
    jitter_rng: Stream,
    loss_rng: Stream,
    delay_rng: Stream,
    in_flight: Slab<Report<K>>,
}

impl<const K: usize> Heartbeats<K> {
    #[inline]
    fn next_interval(&mut self) -> SimDuration {
        if self.jitter == 0.0 {
            return SimDuration(self.interval_ns as u64);
        }
        let u: f64 = self.jitter_rng.random::<f64>() * 2.0 - 1.0;
        SimDuration(round_to_u64(self.interval_ns * (1.0 + self.jitter * u)))
    }

    fn refresh_loss(&mut self) {
        let keep = self.loss_bursts.iter().fold(1.0 - self.base_loss, |k, b| k * (1.0 - b));
        self.loss = 1.0 - keep;
    }

    #[inline]
    fn extra_delay_s(&self) -> f64 {
        self.extra_delay.iter().sum()
    }
}

/// A message's delay: a draw from its distribution, plus the delay spikes in force.
#[derive(Debug, Clone, Copy)]
struct Delay {
    sampler: Sampler,
    /// A constant distribution's delay in whole nanoseconds, converted once.
    fixed: Option<SimDuration>,
}

impl Delay {
    fn new(dist: &Dist) -> Delay {
        let fixed = match *dist {
            Dist::Const { value } => Some(SimDuration::from_secs_f64(value)),
            _ => None,
        };
        Delay { sampler: dist.sampler(), fixed }
    }

    /// The next delay, with the spikes `extra` (seconds) in force. (A constant draws nothing;
    /// without spikes its sum is the constant itself, converted as before.)
    #[inline]
    fn draw(&self, rng: &mut Stream, extra: &[f64]) -> SimDuration {
        match self.fixed {
            Some(delay) if extra.is_empty() => delay,
            _ => SimDuration::from_secs_f64(self.sampler.sample(rng) + extra.iter().sum::<f64>()),
        }
    }
}

/// Class properties the hot path needs.
#[derive(Debug, Clone, Copy)]
struct ClassInfo<const K: usize> {
    demand: Resources,
    /// The demand in the run's dimensions.
    amounts: Amounts<K>,
    priority: i32,
    /// Mean work, seconds at speed 1: what the scheduler is told of a task's size.
    expected_work_s: f64,
}

/// A crash or partition as it happened, for detection and recovery metrics.
#[derive(Debug, Clone, Copy)]
struct FaultInstance {
    kind: FaultKind,
    at: SimTime,
    detected: bool,
    /// Tasks that were on the node and have not run again yet.
    pending: u32,
    affected: u32,
}

/// The cluster model: one replication of one strategy combination.
///
/// Inside, a `World` that keeps its per-node resource sums in the dimensions the task classes
/// demand — one, two, or all six (see the `amounts` module) — chosen when the cluster is built.
pub struct Cluster(Worlds);

enum Worlds {
    One(World<1>),
    Two(World<2>),
    All(World<N_RESOURCES>),
}

/// Runs `$body` with `$w` bound to the world, whatever its number of dimensions.
macro_rules! with_world {
    ($worlds:expr, $w:ident => $body:expr) => {
        match $worlds {
            Worlds::One($w) => $body,
            Worlds::Two($w) => $body,
            Worlds::All($w) => $body,
        }
    };
}

impl Cluster {
    /// A cluster for `config`, replication `replication`, run with `strategy`. Schedules the
    /// initial events on `scheduler`.
    pub fn new(
        config: &SimConfig,
        strategy: &Strategy,
        replication: u32,
        options: &crate::RunOptions,
        scheduler: &mut Scheduler<Event>,
    ) -> Cluster {
        // A dimension no class demands stays zero everywhere and never decides a fit.
        let demanded: Vec<usize> =
            (0..N_RESOURCES).filter(|&d| config.workload.classes.iter().any(|c| c.demand.0[d] > 0)).collect();
        Cluster(match demanded.len() {
            0 | 1 => Worlds::One(World::new(config, Dims::new(&demanded), strategy, replication, options, scheduler)),
            2 => Worlds::Two(World::new(config, Dims::new(&demanded), strategy, replication, options, scheduler)),
            _ => Worlds::All(World::new(config, Dims::new(&demanded), strategy, replication, options, scheduler)),
        })
    }

    /// The number of tasks in the system (not yet completed or failed).
    pub fn in_system(&self) -> usize {
        with_world!(&self.0, w => w.in_system())
    }

    /// The dispatcher's current view of the nodes (for tools that step the simulation). Its
    /// resource use is kept only when the balancer reads it (`Balancer::reads_used`); otherwise
    /// every node's is zero.
    pub fn view(&self) -> ClusterView<'_> {
        with_world!(&self.0, w => w.view())
    }

    /// A node's true state: resources in use, executions running, executions queued.
    pub fn node_usage(&self, node: NodeId) -> (Resources, u32, u32) {
        with_world!(&self.0, w => w.node_usage(node))
    }

    /// When the dispatcher's view of a node was last refreshed (its latest report's send time;
    /// for an oracle view, its latest change), `None` before the first.
    pub fn reported_at(&self, node: NodeId) -> Option<SimTime> {
        with_world!(&self.0, w => w.reported_at(node))
    }

    /// True if the node is up (not crashed).
    pub fn node_is_up(&self, node: NodeId) -> bool {
        with_world!(&self.0, w => w.node_is_up(node))
    }

    /// The executions running on a node, as (execution slot, task id). A slot identifies an
    /// execution for as long as it runs; the same task id on two slots is a duplicate execution.
    pub fn running_executions(&self, node: NodeId) -> impl Iterator<Item = (u32, u64)> + '_ {
        let (cold, execs, tasks) = with_world!(&self.0, w => (&w.nodes_cold, &w.execs, &w.tasks));
        cold[node.index()].running.iter().map(|&e| (e, tasks.slots[execs.hot[e as usize].task as usize].id))
    }

    /// Ends the run: accounts for work still running, checks task conservation, and returns the
    /// measurements.
    ///
    /// # Panics
    /// If tasks were lost: `submitted ≠ completed + failed + in flight` is a simulator bug.
    pub fn finish(self, events: u64) -> RunOutput {
        with_world!(self.0, w => w.finish(events))
    }
}

impl Model for Cluster {
    type Event = Event;

    #[inline]
    fn handle(&mut self, event: Event, s: &mut Scheduler<Event>) {
        with_world!(&mut self.0, w => w.handle(event, s))
    }

    #[inline]
    fn prefetch(&self, next: &Event) {
        with_world!(&self.0, w => w.prefetch(next))
    }

    const PREFETCHES: bool = true;
}

/// The cluster model with its resource sums in the `K` dimensions of [`Dims<K>`].
struct World<const K: usize> {
    /// The dimensions of resource accounting (those the task classes demand).
    dims: Dims<K>,
    /// Which of them is the CPU, if any.
    cpu: Option<usize>,
    /// Per node: capacity and nominal speed, as the balancers' view shows them.
    specs: Vec<NodeSpec>,
    /// The distinct capacities and speeds of the nodes ([`NodeHot::shape`]).
    shapes: Vec<Shape<K>>,
    nodes: Vec<NodeRecord<K>>,
    /// The head of each node's queue (see [`Fifo`]), NONE when it is empty.
    heads: Vec<u32>,
    nodes_cold: Vec<NodeCold>,
    tasks: Slab<Task>,
    execs: Execs,
    next_task_id: u64,
    classes: Vec<ClassInfo<K>>,
    arrivals: Arrivals,
    dispatcher: Dispatcher<K>,
    heartbeats: Heartbeats<K>,
    plan: FaultPlan,
    next_fault: usize,
    instances: Vec<FaultInstance>,
    metrics: Collector,
    end: SimTime,
    sample_interval: SimDuration,
    sample_scratch: Vec<f64>,
    spare_vecs: Vec<Vec<u32>>,
    /// With several dispatchers: per (node, dispatcher), dispatches received and their demand,
    /// at index `node * dispatchers + dispatcher` (empty with one dispatcher).
    received_by: Vec<(u64, Amounts<K>)>,
    /// With several dispatchers: for each report in flight (by slot), what its node had received
    /// from each dispatcher when it sent the report, at `slot * dispatchers + dispatcher`. (With
    /// one dispatcher the report's own `received` says it all, and this stays empty.)
    report_received: Vec<(u64, Amounts<K>)>,
    /// Tasks neither completed nor failed.
    pending: u64,
    /// Keep the dispatcher's per-node records of executions and report completions: needed only
    /// when something can fail (faults or a detector). Without it, a pure balancing study skips
    /// that bookkeeping entirely.
    track_execs: bool,
    /// The balancer learns from completions (dispatcher 0's answer, asked once).
    feedback: bool,
    /// The balancer reads the view's `used` (`Balancer::reads_used`, asked once): else the
    /// dispatchers leave it at zero.
    keep_used: bool,
    /// Dispatcher 0 keeps its count of dispatches in flight to each node only in its view's
    /// entry (`Front::loads`), where the pick has just read it: a dispatch then reads nothing of
    /// the node's record, which is most likely a cache miss. This holds with a heartbeat view that
    /// tracks dispatches, a balancer that does not read `used` and no membership: the count then
    /// only ever grows by dispatches and drops to what a report says is unacked, so it always
    /// equals `NodeHot::sent - Desk::acked` (never floored: only a suspicion resets `sent`), and a
    /// report derives `sent` from it; `sent`, `sent_demand`, `Desk::load` and `Desk::believed`
    /// are then left unmaintained (the demands only feed `believed`, which nothing reads).
    lean_dispatch: bool,
    /// The dispatcher has heard of a node's restart: until then it believes every node is in its
    /// first life (`NodeHot::known_incarnation` is 0), and a dispatch need not read it.
    restart_heard: bool,
    /// Without failover (untracked executions, no checkpoints) a placed task has exactly one
    /// execution, which carries all the task still needs (its arrival, work and class, and, for
    /// the logs, its id): the task's slot is freed as soon as it is placed (and the next arrival
    /// reuses it, still in cache), and the execution alone stands for the task until it
    /// completes. `Exec::task` then names a freed slot and is never read.
    solo: bool,
    /// Something reads an execution's cold part beyond what faults and checkpoints need: the
    /// timeline, the task log, or a balancer that learns (the dispatch time, the task id).
    cold_execs: bool,
}

impl<const K: usize> World<K> {
    /// A world for `config` accounting for resources in dimensions `dims`, replication
    /// `replication`, run with `strategy`. Schedules the initial events on `scheduler`.
    fn new(
        config: &SimConfig,
        dims: Dims<K>,
        strategy: &Strategy,
        replication: u32,
        options: &crate::RunOptions,
        scheduler: &mut Scheduler<Event>,
    ) -> World<K> {
        let n = config.nodes.len();
        let seed = config.seed;
        let feasible: Vec<Vec<bool>> = config
            .workload
            .classes
            .iter()
            .map(|c| config.nodes.iter().map(|node| c.demand.fits_in(&node.capacity)).collect())
            .collect();
        let candidates: Vec<Vec<NodeId>> =
            feasible.iter().map(|f| (0..n as u32).filter(|&i| f[i as usize]).map(NodeId).collect()).collect();
        let candidate_pos = feasible
            .iter()
            .map(|f| {
                let mut pos = vec![NONE; n];
                let mut k = 0;
                for (i, &ok) in f.iter().enumerate() {
                    if ok {
                        pos[i] = k;
                        k += 1;
                    }
                }
                pos
            })
            .collect();
        let mut heartbeats = Heartbeats {
            interval_ns: config.heartbeat.interval.0 as f64,
            jitter: config.heartbeat.jitter,
            base_loss: config.heartbeat.loss,
            loss: config.heartbeat.loss,
            loss_bursts: Vec::new(),
            extra_delay: Vec::new(),
            delay: Delay::new(&config.heartbeat.delay),
            jitter_rng: stream(seed, replication, Purpose::HeartbeatJitter),
            loss_rng: stream(seed, replication, Purpose::HeartbeatLoss),
            delay_rng: stream(seed, replication, Purpose::HeartbeatDelay),
            in_flight: Slab::default(),
        };
        // Each node beats first at a uniformly random phase within one interval.
        for node in 0..n as u32 {
            let phase = heartbeats.jitter_rng.random::<f64>() * heartbeats.interval_ns;
            scheduler.schedule_at(SimTime(phase as u64), Event::Beat(node));
        }
        let arrivals = Arrivals::new(&config.workload, seed, replication);
        if arrivals.peek_time() < config.end {
            scheduler.schedule_at(arrivals.peek_time(), Event::Arrival);
        }
        let first_sample = config.warmup + config.sample_interval;
        if first_sample <= config.end {
            scheduler.schedule_at(first_sample, Event::Sample);
        }
        let layout: Vec<(u32, u32, u32)> = config.groups.iter().map(|g| (g.first, g.count, g.racks)).collect();
        let plan = FaultPlan::draw(&config.faults, &layout, n as u32, seed, replication, config.end);
        if let Some(&(t, _)) = plan.actions.first() {
            scheduler.schedule_at(t, Event::Fault);
        }
        let initial_load = match config.view {
            ViewMode::Oracle => NodeLoad::default(),
            ViewMode::Heartbeat { .. } => NodeLoad::default(),
        };
        let membership = match (&strategy.detector, config.view) {
            (Some(d), ViewMode::Heartbeat { .. }) => {
                Some(Membership::new(d.build(n, config.heartbeat.interval), d.rejoin_after(), n))
            }
            _ => None,
        };
        let failover = strategy.failover.build();
        let checkpointing = failover.checkpointing();
        let has_faults = !config.faults.is_empty() || strategy.detector.is_some();
        let n_fronts = config.dispatchers.count.max(1) as usize;
        let fronts: Vec<Front<K>> = (0..n_fronts)
            .map(|f| {
                let balancer = strategy.balancer.build();
                let batch = balancer.batching().map(|b| Batch {
                    window: SimDuration(b.window.0.max(1)),
                    size: b.size.max(1),
                    generation: 0,
                    slots: Vec::with_capacity(b.size.clamp(1, 1 << 16)),
                    infos: Vec::new(),
                    picked: Vec::new(),
                });
                // Dispatcher 0 draws from the strategy's own stream, so one dispatcher is the
                // plain case; the others get streams of their own.
                let purpose = if f == 0 {
                    Purpose::Strategy(&strategy.label)
                } else {
                    Purpose::Dispatcher(&strategy.label, f as u32)
                };
                Front {
                    balancer,
                    rng: stream(seed, replication, purpose),
                    loads: vec![initial_load; n],
                    used: vec![Resources::ZERO; n],
                    tracking: if f == 0 { Vec::new() } else { vec![Tracking::EMPTY; n] },
                    batch,
                    why: Explanation::default(),
                }
            })
            .collect();
        let batching = fronts[0].batch.is_some();
        // Completions reach the dispatcher (in heartbeats) when something can fail or the
        // balancer learns from them.
        let feedback = fronts[0].balancer.wants_feedback();
        let fronts_read_used = fronts.iter().any(|f| f.balancer.reads_used());
        let checkpointing_off = checkpointing.is_none();
        let membership_off = membership.is_none();
        let track_execs = has_faults || feedback;
        // Nodes of the same capacity and speed share one shape (a cluster is usually a few groups
        // of identical machines, so the shapes stay in cache).
        let mut shape_ids = std::collections::BTreeMap::new();
        let mut shapes = Vec::new();
        let node_shapes: Vec<u32> = config
            .nodes
            .iter()
            .map(|spec| {
                *shape_ids.entry((spec.capacity.0, spec.speed.to_bits())).or_insert_with(|| {
                    shapes.push(Shape { capacity: dims.gather(&spec.capacity), speed: spec.speed });
                    (shapes.len() - 1) as u32
                })
            })
            .collect();
        World {
            dims,
            cpu: dims.indices().iter().position(|&d| d == Resource::Cpu as usize),
            specs: config.nodes.clone(),
            shapes,
            nodes: node_shapes
                .iter()
                .map(|&shape| NodeRecord {
                    hot: NodeHot {
                        used: Amounts::ZERO,
                        received: 0,
                        received_demand: Amounts::ZERO,
                        sent: 0,
                        sent_demand: Amounts::ZERO,
                        queue: Fifo::EMPTY,
                        n_running: 0,
                        incarnation: 0,
                        known_incarnation: 0,
                        shape,
                        flags: 0,
                    },
                    desk: Desk {
                        hb_seq: 0,
                        acked: 0,
                        acked_demand: Amounts::ZERO,
                        believed: Amounts::ZERO,
                        load: NodeLoad::default(),
                        reported_at: if config.view == ViewMode::Oracle { SimTime::ZERO } else { NEVER },
                        busy: [0; K],
                    },
                })
                .collect(),
            heads: vec![NONE; n],
            nodes_cold: config
                .nodes
                .iter()
                .map(|spec| NodeCold {
                    running: Vec::new(),
                    unreported: Vec::new(),
                    held: Vec::new(),
                    down: 0,
                    partitioned: 0,
                    slowdowns: Vec::new(),
                    profile: 1.0,
                    speed: spec.speed,
                    beating: true,
                    fault: NONE,
                })
                .collect(),
            tasks: Slab::default(),
            execs: Execs::default(),
            next_task_id: 0,
            classes: config
                .workload
                .classes
                .iter()
                .map(|c| ClassInfo {
                    demand: c.demand,
                    amounts: dims.gather(&c.demand),
                    priority: c.priority,
                    expected_work_s: c.work.mean(),
                })
                .collect(),
            arrivals,
            dispatcher: Dispatcher {
                fronts,
                split: config.dispatchers.split,
                split_rng: stream(seed, replication, Purpose::DispatchSplit),
                next_front: 0,
                mode: config.view,
                candidates,
                candidate_pos,
                feasible,
                delay: Delay::new(&config.dispatch_delay),
                delay_rng: stream(seed, replication, Purpose::DispatchDelay),
                membership,
                failover,
                fencing: strategy.failover.fencing(),
                checkpointing,
                outstanding: vec![Vec::new(); n],
                check_pending: vec![false; n],
                backlog: Vec::new(),
                mistake_since: vec![None; n],
                options: strategy.detection.clone(),
                probe_rng: stream(seed, replication, Purpose::Probes),
                probing: vec![None; n],
            },
            heartbeats,
            plan,
            next_fault: 0,
            instances: Vec::new(),
            metrics: {
                let mut c =
                    Collector::new(dims.indices(), config.warmup, options.task_log, options.event_log, has_faults);
                let histogram = || hdrhistogram::Histogram::new_with_bounds(1, 1 << 40, 3).expect("valid bounds");
                c.decision_cost = options.decision_cost.then(histogram);
                c.batch_cost = (options.decision_cost && batching).then(histogram);
                if let Some(limit) = options.decision_log {
                    c.decisions = Some(Vec::new());
                    c.decisions_left = limit;
                }
                if options.node_samples {
                    c.node_samples = Some(NodeSamples { nodes: n, ..Default::default() });
                }
                if let Some(limit) = options.exec_log {
                    c.execs = Some(Vec::new());
                    c.execs_left = limit;
                }
                if !config.alerts.is_empty() {
                    c.monitor = Some(Monitor::new(config.alerts.clone()));
                }
                c
            },
            end: config.end,
            sample_interval: config.sample_interval,
            sample_scratch: Vec::with_capacity(n),
            spare_vecs: Vec::new(),
            received_by: if n_fronts > 1 { vec![(0, Amounts::ZERO); n * n_fronts] } else { Vec::new() },
            report_received: Vec::new(),
            pending: 0,
            track_execs,
            feedback,
            keep_used: fronts_read_used,
            lean_dispatch: config.view == (ViewMode::Heartbeat { track_dispatches: true })
                && !fronts_read_used
                && membership_off,
            restart_heard: false,
            solo: !track_execs && checkpointing_off,
            cold_execs: track_execs || feedback || options.exec_log.is_some() || options.task_log,
        }
    }

    fn in_system(&self) -> usize {
        self.pending as usize
    }

    fn view(&self) -> ClusterView<'_> {
        let front = &self.dispatcher.fronts[0];
        ClusterView::new(&self.specs, &front.loads, &front.used)
    }

    fn node_usage(&self, node: NodeId) -> (Resources, u32, u32) {
        let n = &self.nodes[node.index()].hot;
        (self.dims.expand(&n.used), n.n_running, n.queue.len)
    }

    /// A node's current speed.
    #[inline]
    fn speed(&self, n: usize) -> f64 {
        let node = &self.nodes[n].hot;
        if node.flags & OWN_SPEED != 0 {
            self.nodes_cold[n].speed
        } else {
            self.shapes[node.shape as usize].speed
        }
    }

    /// Recomputes a node's speed from its nominal speed, profile and slowdowns.
    fn refresh_speed(&mut self, n: usize) {
        let node = &mut self.nodes[n].hot;
        let cold = &mut self.nodes_cold[n];
        let nominal = self.shapes[node.shape as usize].speed;
        cold.speed = self.specs[n].speed * cold.profile * cold.slowdowns.iter().product::<f64>();
        if cold.speed.to_bits() == nominal.to_bits() {
            node.flags &= !OWN_SPEED;
        } else {
            node.flags |= OWN_SPEED;
        }
    }

    fn reported_at(&self, node: NodeId) -> Option<SimTime> {
        let t = self.nodes[node.index()].desk.reported_at;
        (t != NEVER).then_some(t)
    }

    fn node_is_up(&self, node: NodeId) -> bool {
        self.nodes[node.index()].hot.flags & DOWN == 0
    }

    fn finish(mut self, events: u64) -> RunOutput {
        let end = self.end;
        let live_execs = self.execs.live_mask();
        for (e, (exec, &live)) in self.execs.hot.iter().zip(&live_execs).enumerate() {
            if live && matches!(exec.phase, Phase::Working | Phase::Checkpointing) {
                let demand = self.classes[exec.class as usize].amounts;
                self.nodes[exec.node as usize].desk.add_busy(self.metrics.warmup(), &demand, exec.started, end);
                let (execs, tasks, solo) = (&self.execs, &self.tasks, self.solo);
                self.metrics.record_exec(|| {
                    let id = if solo { execs.cold[e].task_id } else { tasks.slots[exec.task as usize].id };
                    execs.record(e as u32, id, end, ExecOutcome::Unfinished)
                });
            }
        }
        let mut in_flight = 0u64;
        if self.solo {
            // Placed tasks live in their executions.
            for (e, (exec, &live)) in self.execs.hot.iter().zip(&live_execs).enumerate() {
                if live && self.metrics.counts(exec.arrival) {
                    in_flight += 1;
                    if let Some(log) = self.metrics.task_log.as_mut() {
                        log.push(self.execs.task_record(e as u32, None));
                    }
                }
            }
        }
        let live = self.tasks.live_mask();
        for (task, live) in self.tasks.slots.iter().zip(live) {
            if !live || task.status != Status::Pending || !self.metrics.counts(task.arrival) {
                continue;
            }
            in_flight += 1;
            if let Some(log) = self.metrics.task_log.as_mut() {
                let exec = (task.latest_exec != NONE).then(|| self.execs.hot[task.latest_exec as usize]);
                let started = exec.filter(|e| matches!(e.phase, Phase::Working | Phase::Checkpointing));
                log.push(TaskRecord {
                    id: task.id,
                    class: task.class,
                    arrival: task.arrival,
                    work: SimDuration(task.work),
                    node: exec.map(|e| e.node),
                    start: started.map(|e| e.started),
                    end: None,
                    attempts: task.attempts,
                });
            }
        }
        let instances: Vec<(FaultKind, SimTime, bool, u32, u32)> =
            self.instances.iter().map(|f| (f.kind, f.at, f.detected, f.affected, f.pending)).collect();
        let warmup = self.metrics.warmup();
        let fault_times = self
            .plan
            .actions
            .iter()
            .filter(|&&(t, _)| t >= warmup && t <= end)
            .map(|&(t, action)| (t, action.name()))
            .collect();
        let capacities = self.specs.iter().map(|s| s.capacity);
        let busy: Vec<u128> = self.nodes.iter().flat_map(|r| r.desk.busy).collect();
        self.metrics.finish(capacities, &busy, end, events, in_flight, &instances, fault_times)
    }

    // ----- workload and dispatch -----

    fn on_arrival(&mut self, s: &mut Scheduler<Event>) {
        let now = s.now();
        let new = self.arrivals.next_task();
        debug_assert_eq!(new.arrival, now);
        let next = self.arrivals.peek_time();
        if next < self.end {
            s.schedule_at(next, Event::Arrival);
        }
        self.metrics.on_arrival(now);
        let id = self.next_task_id;
        self.next_task_id += 1;
        self.pending += 1;
        let d = &mut self.dispatcher;
        let front = match d.fronts.len() {
            1 => 0,
            n => match d.split {
                Split::Random => d.split_rng.random_range(0..n as u32),
                Split::RoundRobin => {
                    let f = d.next_front;
                    d.next_front = (f + 1) % n as u32;
                    f
                }
            },
        } as u16;
        let slot = self.tasks.insert(Task {
            id,
            front,
            arrival: now,
            work: new.work.0,
            saved: 0,
            class: new.class,
            attempts: 0,
            status: Status::Pending,
            live_execs: 0,
            latest_exec: NONE,
            waiting_fault: NONE,
            parked: false,
        });
        self.dispatch(slot, s);
    }

    /// Offers a task to the balancer: at once, or, for a batch balancer, with the next batch.
    fn dispatch(&mut self, task_slot: u32, s: &mut Scheduler<Event>) {
        let f = self.tasks.slots[task_slot as usize].front;
        if let Some(batch) = self.dispatcher.fronts[f as usize].batch.as_mut() {
            if batch.slots.is_empty() {
                s.schedule_in(batch.window, Event::Flush(batch.generation, f));
            }
            batch.slots.push(task_slot);
            // The slot stays this task's while it waits for its batch.
            self.tasks.slots[task_slot as usize].parked = true;
            if batch.slots.len() >= batch.size {
                self.flush_batch(f, s);
            }
            return;
        }
        let now = s.now();
        let task = &self.tasks.slots[task_slot as usize];
        let class = self.classes[task.class as usize];
        let info = TaskInfo {
            id: TaskId(task.id),
            class: task.class,
            priority: class.priority,
            demand: class.demand,
            expected_work_s: class.expected_work_s,
        };
        let attempt = task.attempts + 1;
        let d = &mut self.dispatcher;
        let candidates = &d.candidates[task.class as usize];
        let d = &mut d.fronts[f as usize];
        let view = ClusterView::new(&self.specs, &d.loads, &d.used);
        let explain = self.metrics.decisions_left > 0;
        // The one wall-clock read in the simulator, for the separate decision-cost report.
        #[allow(clippy::disallowed_methods)]
        let started = self.metrics.decision_cost.is_some().then(std::time::Instant::now);
        let picked = if explain {
            d.balancer.pick_explained(&info, candidates, &view, now, &mut d.rng, &mut d.why)
        } else {
            d.balancer.pick(&info, candidates, &view, now, &mut d.rng)
        };
        if let (Some(started), Some(cost)) = (started, self.metrics.decision_cost.as_mut()) {
            cost.saturating_record(started.elapsed().as_nanos().max(1) as u64);
        }
        if explain {
            self.metrics.record_decision(DecisionRecord {
                t: now,
                task: info.id.0,
                attempt,
                chosen: picked.map(|n| n.0),
                batch: 0,
                why: d.why.clone(),
            });
        }
        self.place(task_slot, picked, s);
    }

    /// Closes the current batch and places its tasks together.
    fn flush_batch(&mut self, f: u16, s: &mut Scheduler<Event>) {
        let now = s.now();
        let Some(batch) = self.dispatcher.fronts[f as usize].batch.as_mut() else { return };
        batch.generation = batch.generation.wrapping_add(1);
        let mut slots = std::mem::take(&mut batch.slots);
        let mut infos = std::mem::take(&mut batch.infos);
        let mut picked = std::mem::take(&mut batch.picked);
        // Tasks whose earlier execution completed (or that failed) while they waited drop out.
        slots.retain(|&t| {
            let task = &mut self.tasks.slots[t as usize];
            task.parked = false;
            if task.status == Status::Pending {
                true
            } else {
                self.maybe_free_task(t);
                false
            }
        });
        infos.clear();
        infos.extend(slots.iter().map(|&t| {
            let task = &self.tasks.slots[t as usize];
            let class = &self.classes[task.class as usize];
            TaskInfo {
                id: TaskId(task.id),
                class: task.class,
                priority: class.priority,
                demand: class.demand,
                expected_work_s: class.expected_work_s,
            }
        }));
        let d = &mut self.dispatcher;
        let candidates: Vec<&[NodeId]> = infos.iter().map(|i| d.candidates[i.class as usize].as_slice()).collect();
        let d = &mut d.fronts[f as usize];
        let view = ClusterView::new(&self.specs, &d.loads, &d.used);
        #[allow(clippy::disallowed_methods)]
        let started = self.metrics.batch_cost.is_some().then(std::time::Instant::now);
        d.balancer.assign(&infos, &candidates, &view, now, &mut d.rng, &mut picked);
        if let (Some(started), Some(cost)) = (started, self.metrics.batch_cost.as_mut()) {
            let elapsed = started.elapsed().as_nanos().max(1) as u64;
            cost.saturating_record(elapsed);
            // Each task of the batch is charged an equal share, for the per-task figures.
            if let (Some(per_task), n @ 1..) = (self.metrics.decision_cost.as_mut(), slots.len() as u64) {
                let _ = per_task.record_n((elapsed / n).max(1), n);
            }
        }
        debug_assert_eq!(picked.len(), slots.len(), "a batch balancer places every task of its batch");
        for (i, &t) in slots.iter().enumerate() {
            let chosen = picked.get(i).copied().flatten();
            if self.metrics.decisions_left > 0 {
                let task = &self.tasks.slots[t as usize];
                self.metrics.record_decision(DecisionRecord {
                    t: now,
                    task: task.id,
                    attempt: task.attempts + 1,
                    chosen: chosen.map(|n| n.0),
                    batch: slots.len() as u32,
                    why: Default::default(),
                });
            }
            self.place(t, chosen, s);
        }
        let batch = self.dispatcher.fronts[f as usize].batch.as_mut().expect("batching");
        slots.clear();
        if batch.slots.is_empty() {
            batch.slots = slots; // keep the buffer
        }
        batch.infos = infos;
        batch.picked = picked;
    }

    /// Sends a task to the node chosen for it; with no node, parks it until a node that can hold
    /// it is trusted again, or, if the balancer declined although there were candidates, retries
    /// after the balancer's delay.
    #[inline]
    fn place(&mut self, task_slot: u32, picked: Option<NodeId>, s: &mut Scheduler<Event>) {
        let now = s.now();
        let task = &mut self.tasks.slots[task_slot as usize];
        let class = self.classes[task.class as usize];
        let d = &mut self.dispatcher;
        let candidates = &d.candidates[task.class as usize];
        let front = &mut d.fronts[task.front as usize];
        let Some(node) = picked else {
            task.parked = true;
            if candidates.is_empty() {
                d.backlog.push(task_slot);
            } else {
                self.metrics.deferrals += 1;
                s.schedule_in(SimDuration(front.balancer.retry_after().0.max(1)), Event::Retry(task_slot));
            }
            return;
        };
        debug_assert!(candidates.contains(&node), "balancer picked a node outside the candidates");
        let n = node.index();
        let f = task.front as usize;
        let lean = f == 0 && self.lean_dispatch;
        // The node's record is most likely a cache miss (the pick read only the view's entries),
        // and its delivery reads it half a millisecond later: start loading it now, without
        // waiting for it. A lean dispatch does not read it at all; otherwise the record is updated
        // last, after the work that does not need it, so that the load overlaps that work.
        prefetch(&self.nodes[n].hot);
        if !lean {
            prefetch(&self.nodes[n].desk);
        }
        // Until the dispatcher hears of a restart, it believes every node is in its first life.
        let read_incarnation = d.mode == ViewMode::Oracle || self.restart_heard;
        let out = &mut d.outstanding[n];
        let track = self.track_execs;
        let cold = self.cold_execs.then_some(ExecCold {
            dispatched: now,
            task_id: task.id,
            out_pos: if track { out.len() as u32 } else { NONE },
            ..ExecCold::EMPTY
        });
        let exec = self.execs.insert(
            Exec {
                next_step: SimTime::MAX,
                work: task.work,
                started: SimTime::MAX,
                arrival: task.arrival,
                task: task_slot,
                node: node.0,
                incarnation: 0, // or, if `read_incarnation`, read from the record below
                class: task.class,
                next: NONE,
                gen: 0,
                front: task.front,
                phase: Phase::InFlight,
                node_done: false,
                sched_done: !track,
                cold_since: false,
                cold_progress: false,
                cold_target: false,
            },
            cold,
        );
        if track {
            out.push(exec);
        }
        if self.solo {
            self.tasks.release(task_slot);
        } else {
            task.attempts += 1;
            task.live_execs += 1;
            task.latest_exec = exec;
        }
        let delay = d.delay.draw(&mut d.delay_rng, &self.heartbeats.extra_delay);
        s.schedule_in(delay, Event::Deliver(exec));
        if lean {
            // The view's entry, in cache since the pick, is the dispatcher's count (see
            // `World::lean_dispatch`).
            front.loads[n].in_flight += 1;
            if cfg!(debug_assertions) {
                // Debug builds (the tests) keep the node-side count too, so that every report
                // checks the invariant the lean dispatch rests on.
                let hot = &mut self.nodes[n].hot;
                hot.sent = hot.sent.wrapping_add(1);
            }
        } else {
            if f == 0 {
                let hot = &mut self.nodes[n].hot;
                hot.sent = hot.sent.wrapping_add(1);
                hot.sent_demand.add_assign(&class.amounts);
            } else {
                let t = &mut front.tracking[n];
                t.sent += 1;
                t.sent_demand.add_assign(&class.amounts);
            }
            if d.mode != (ViewMode::Heartbeat { track_dispatches: false }) {
                if f == 0 {
                    let desk = &mut self.nodes[n].desk;
                    desk.load.in_flight += 1;
                    front.loads[n] = desk.load;
                    desk.believed.add_assign(&class.amounts);
                    if self.keep_used {
                        self.dims.write(&desk.believed, &mut front.used[n]);
                    }
                } else {
                    front.loads[n].in_flight += 1;
                    if self.keep_used {
                        self.dims.add(&class.amounts, &mut front.used[n]);
                    }
                }
            }
        }
        if read_incarnation {
            let hot = &self.nodes[n].hot;
            self.execs.hot[exec as usize].incarnation =
                if d.mode == ViewMode::Oracle { hot.incarnation } else { hot.known_incarnation };
        }
    }

    // ----- nodes -----

    fn on_deliver(&mut self, e: u32, s: &mut Scheduler<Event>) {
        let exec = &mut self.execs.hot[e as usize];
        let n = exec.node as usize;
        let node = &mut self.nodes[n].hot;
        // Lost if the node is down, or has restarted since the dispatcher last heard from it (the
        // dispatcher fails such a task over when it learns of the restart).
        if node.flags & DOWN != 0 || exec.incarnation != node.incarnation {
            exec.phase = Phase::Lost;
            exec.node_done = true;
            let refused_by_node = exec.node;
            self.maybe_free_exec(e);
            self.on_dispatch_failed(refused_by_node, s);
            return;
        }
        if node.flags & CUT_OFF != 0 {
            self.nodes_cold[n].held.push(e);
            return;
        }
        let demand = self.classes[exec.class as usize].amounts;
        exec.phase = Phase::Queued;
        node.received = node.received.wrapping_add(1);
        node.received_demand.add_assign(&demand);
        let n_fronts = self.dispatcher.fronts.len();
        if n_fronts > 1 {
            let by = &mut self.received_by[n * n_fronts + exec.front as usize];
            by.0 += 1;
            by.1.add_assign(&demand);
        }
        let was_empty = node.queue.len == 0;
        node.queue.push_back(&mut self.heads[n], &mut self.execs.hot, e);
        if was_empty {
            self.try_start(n, s);
        } else {
            // The head of the queue did not fit before (or it would have started), and nothing
            // it waits for has changed: the new execution waits behind it.
            debug_assert!({
                let node = &self.nodes[n].hot;
                let head = &self.execs.hot[self.heads[n] as usize];
                let demand = self.classes[head.class as usize].amounts;
                !node.used.plus(&demand).fits_in(&self.shapes[node.shape as usize].capacity)
            });
            self.refresh_oracle(n, s.now());
        }
    }

    /// Where the next phase of work ends: the next checkpoint, or the end of the task.
    #[inline]
    fn next_target(&self, progress: u64, work: u64) -> u64 {
        match self.dispatcher.checkpointing {
            None => work,
            Some(c) => progress.saturating_add(c.interval.0.max(1)).min(work),
        }
    }

    #[inline]
    fn run_time(work: u64, speed: f64) -> SimDuration {
        if speed == 1.0 {
            SimDuration(work)
        } else {
            SimDuration(round_to_u64(work as f64 / speed))
        }
    }

    /// Starts queued executions in FIFO order while the head of the queue fits in the free
    /// resources (no overtaking), then refreshes an oracle view.
    #[inline]
    fn try_start(&mut self, n: usize, s: &mut Scheduler<Event>) {
        let now = s.now();
        let track = self.track_execs;
        loop {
            let node = &self.nodes[n].hot;
            let e = self.heads[n];
            if e == NONE {
                break;
            }
            let exec = &self.execs.hot[e as usize];
            let demand = self.classes[exec.class as usize].amounts;
            let would_use = node.used.plus(&demand);
            if !would_use.fits_in(&self.shapes[node.shape as usize].capacity) {
                break;
            }
            // Only checkpoints and faults need the task itself: without them a start reads
            // nothing but the execution.
            let (saved, waiting_fault) = if track {
                let task = &self.tasks.slots[exec.task as usize];
                (task.saved, task.waiting_fault)
            } else {
                (0, NONE)
            };
            let target = self.next_target(saved, exec.work);
            let speed = self.speed(n);
            let node = &mut self.nodes[n].hot;
            node.queue.pop_front(&mut self.heads[n], &self.execs.hot);
            node.used = would_use;
            node.n_running += 1;
            if track {
                let running = &mut self.nodes_cold[n].running;
                self.execs.cold[e as usize].run_pos = running.len() as u32;
                running.push(e);
            }
            let exec = &mut self.execs.hot[e as usize];
            exec.started = now;
            exec.gen = exec.gen.wrapping_add(1);
            let task_slot = exec.task;
            exec.next_step = now + Self::run_time(target - saved, speed);
            let (next_step, gen) = (exec.next_step, exec.gen);
            self.execs.set_working(e, now, saved, target);
            s.schedule_at(next_step, Event::Step(e, gen));
            if waiting_fault != NONE {
                self.resolve_fault_wait(task_slot, now);
            }
        }
        self.refresh_oracle(n, now);
    }

    /// An oracle view sees node `n` as it is now.
    #[inline(always)]
    fn refresh_oracle(&mut self, n: usize, now: SimTime) {
        if self.dispatcher.mode == ViewMode::Oracle {
            self.refresh_oracle_view(n, now);
        }
    }

    fn refresh_oracle_view(&mut self, n: usize, now: SimTime) {
        let record = &mut self.nodes[n];
        record.desk.reported_at = now;
        let node = &record.hot;
        let d = &mut self.dispatcher;
        let n_fronts = d.fronts.len();
        for (f, front) in d.fronts.iter_mut().enumerate() {
            let (in_flight, sent_demand, received_demand) = match (f, n_fronts) {
                (0, 1) => (unacked(node.sent, node.received), node.sent_demand, node.received_demand),
                (0, _) => {
                    let (received, received_demand) = self.received_by[n * n_fronts];
                    (unacked(node.sent, received as u32), node.sent_demand, received_demand)
                }
                _ => {
                    let (received, received_demand) = self.received_by[n * n_fronts + f];
                    let t = &front.tracking[n];
                    (t.sent.saturating_sub(received) as u32, t.sent_demand, received_demand)
                }
            };
            let load = NodeLoad { running: node.n_running, queued: node.queue.len, in_flight };
            front.loads[n] = load;
            let used = node.used.plus(&sent_demand.minus(&received_demand));
            if self.keep_used {
                self.dims.write(&used, &mut front.used[n]);
            }
            if f == 0 {
                record.desk.believed = used;
                record.desk.load = load;
            }
        }
    }

    fn on_step(&mut self, e: u32, gen: u16, s: &mut Scheduler<Event>) {
        let now = s.now();
        // A completion reads the execution, both lines of its node's record and the execution
        // at the head of the node's queue (which it starts), each most likely a cache miss: find
        // the node and the head in their small dense arrays and start all four loads now, so that
        // they overlap.
        let n = self.execs.node_of[e as usize] as usize;
        touch(&self.nodes[n].hot.queue.len);
        touch(&self.nodes[n].desk.busy);
        let head = self.heads[n];
        if head != NONE {
            touch(&self.execs.hot[head as usize].class);
        }
        let exec = self.execs.hot[e as usize];
        if exec.gen != gen || exec.next_step != now {
            return; // rescheduled or gone
        }
        let task_slot = exec.task as usize;
        match exec.phase {
            Phase::Working => {
                let target = self.execs.target(e);
                if target >= exec.work {
                    self.finish_exec(e, s);
                    return;
                }
                let cost = self.dispatcher.checkpointing.map_or(SimDuration::ZERO, |c| c.cost);
                self.execs.set_checkpointing(e, target);
                let ex = &mut self.execs.hot[e as usize];
                ex.next_step = now + cost;
                s.schedule_at(ex.next_step, Event::Step(e, gen));
            }
            Phase::Checkpointing => {
                let progress = self.execs.progress(e);
                let task = &mut self.tasks.slots[task_slot];
                task.saved = task.saved.max(progress);
                let work = task.work;
                let target = self.next_target(progress, work);
                let speed = self.speed(exec.node as usize);
                self.execs.set_working(e, now, progress, target);
                let ex = &mut self.execs.hot[e as usize];
                ex.next_step = now + Self::run_time(target - progress, speed);
                s.schedule_at(ex.next_step, Event::Step(e, gen));
            }
            _ => {}
        }
    }

    fn finish_exec(&mut self, e: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let exec = self.execs.hot[e as usize];
        let n = exec.node as usize;
        let demand = self.classes[exec.class as usize].amounts;
        let node = &mut self.nodes[n].hot;
        node.used.sub_assign(&demand);
        node.n_running -= 1;
        if self.solo {
            // The execution stands for its task (see `solo`): the task completes with it, and the
            // execution's slot is freed (as `maybe_free_exec` would).
            self.nodes[n].desk.add_busy(self.metrics.warmup(), &demand, exec.started, now);
            let execs = &self.execs;
            self.metrics.record_exec(|| execs.record(e, execs.cold[e as usize].task_id, now, ExecOutcome::Completed));
            self.pending -= 1;
            self.metrics.on_completion(exec.arrival, exec.started, now);
            if self.metrics.counts(exec.arrival) {
                if let Some(log) = self.metrics.task_log.as_mut() {
                    log.push(self.execs.task_record(e, Some(now)));
                }
            }
            let x = &mut self.execs.hot[e as usize];
            x.phase = Phase::Finished;
            x.node_done = true;
            x.gen = x.gen.wrapping_add(1);
            self.execs.release(e);
            self.try_start(n, s);
            return;
        }
        let task = &mut self.tasks.slots[exec.task as usize];
        if self.track_execs {
            Self::remove_running(&mut self.nodes_cold[n], &mut self.execs.cold, e);
        }
        self.execs.hot[e as usize].phase = Phase::Finished;
        if self.track_execs {
            self.nodes_cold[n].unreported.push(e);
        } else {
            self.execs.hot[e as usize].node_done = true;
        }
        self.nodes[n].desk.add_busy(self.metrics.warmup(), &demand, exec.started, now);
        let execs = &self.execs;
        self.metrics.record_exec(|| execs.record(e, task.id, now, ExecOutcome::Completed));
        if task.status == Status::Pending {
            task.status = Status::Done;
            self.pending -= 1;
            self.metrics.on_completion(task.arrival, exec.started, now);
            if self.metrics.counts(task.arrival) {
                if let Some(log) = self.metrics.task_log.as_mut() {
                    log.push(TaskRecord {
                        id: task.id,
                        class: task.class,
                        arrival: task.arrival,
                        work: SimDuration(task.work),
                        node: Some(exec.node),
                        start: Some(exec.started),
                        end: Some(now),
                        attempts: task.attempts,
                    });
                }
            }
            if task.waiting_fault != NONE {
                self.resolve_fault_wait(exec.task, now);
            }
        } else {
            self.metrics.duplicate_executions += 1;
        }
        if !self.track_execs {
            self.maybe_free_exec(e);
        }
        self.try_start(n, s);
    }

    fn remove_running(node: &mut NodeCold, execs: &mut [ExecCold], e: u32) {
        let pos = execs[e as usize].run_pos as usize;
        node.running.swap_remove(pos);
        if let Some(&moved) = node.running.get(pos) {
            execs[moved as usize].run_pos = pos as u32;
        }
        execs[e as usize].run_pos = NONE;
    }

    fn on_beat(&mut self, n: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        if self.nodes[n as usize].hot.flags & DOWN != 0 {
            self.nodes_cold[n as usize].beating = false;
            return; // a crashed node is silent; it beats again when it recovers
        }
        let hb = &mut self.heartbeats;
        let next = hb.next_interval();
        s.schedule_in(next, Event::Beat(n));
        let record = &mut self.nodes[n as usize];
        let seq = record.desk.hb_seq;
        record.desk.hb_seq += 1;
        let node = &record.hot;
        if node.flags & CUT_OFF != 0 {
            return;
        }
        if hb.loss > 0.0 && hb.loss_rng.random::<f64>() < hb.loss {
            return;
        }
        // Completions are reported only when they are tracked (else there are none).
        let completions = if self.track_execs {
            let mut completions = self.spare_vecs.pop().unwrap_or_default();
            std::mem::swap(&mut completions, &mut self.nodes_cold[n as usize].unreported);
            completions
        } else {
            Vec::new()
        };
        let report = Report {
            node: n,
            incarnation: node.incarnation,
            seq,
            sent_at: now,
            running: node.n_running,
            queued: node.queue.len,
            used: node.used,
            received: node.received,
            received_demand: node.received_demand,
            completions,
        };
        let slot = hb.in_flight.insert(report);
        let n_fronts = self.dispatcher.fronts.len();
        if n_fronts > 1 {
            let (at, first) = (slot as usize * n_fronts, n as usize * n_fronts);
            if self.report_received.len() < at + n_fronts {
                self.report_received.resize(at + n_fronts, (0, Amounts::ZERO));
            }
            self.report_received[at..at + n_fronts].copy_from_slice(&self.received_by[first..first + n_fronts]);
        }
        let delay = hb.delay.draw(&mut hb.delay_rng, &hb.extra_delay);
        s.schedule_in(delay, Event::Report(slot));
    }

    // ----- the dispatcher hears from a node -----

    fn on_report(&mut self, slot: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        self.heartbeats.in_flight.release(slot);
        if self.track_execs {
            self.hear_completions(slot, now);
        }
        let r = &self.heartbeats.in_flight.slots[slot as usize];
        let n = r.node;
        let (incarnation, seq, sent_at) = (r.incarnation, r.seq, r.sent_at);
        let (running, queued, used, received, received_demand) =
            (r.running, r.queued, r.used, r.received, r.received_demand);
        if self.dispatcher.mode == ViewMode::Oracle {
            return;
        }
        let known = &mut self.nodes[n as usize].hot.known_incarnation;
        if incarnation > *known {
            // The node restarted: whatever the dispatcher sent to its previous incarnation is gone.
            *known = incarnation;
            self.restart_heard = true;
            if self.dispatcher.membership.is_some() {
                // A suspicion still being probed is confirmed by the restart: acting on it now
                // fails over what went to the previous incarnation, where waiting for the probes
                // would keep sending to the node and then orphan what its new life is running.
                let probing = self.dispatcher.probing[n as usize].is_some();
                let suspected = self.dispatcher.membership.as_mut().and_then(|m| m.suspect(NodeId(n), now));
                if suspected.is_some() || probing {
                    self.on_suspected(n, s);
                }
            }
        }
        if self.dispatcher.membership.is_some() && !self.hear_alive(n, seq, s) {
            return;
        }
        let d = &mut self.dispatcher;
        let nu = n as usize;
        let record = &mut self.nodes[nu];
        let (hot, desk) = (&record.hot, &mut record.desk);
        if desk.reported_at != NEVER && sent_at <= desk.reported_at {
            return; // overtaken by a later heartbeat
        }
        desk.reported_at = sent_at;
        let track = d.mode == ViewMode::Heartbeat { track_dispatches: true };
        let n_fronts = d.fronts.len();
        for (f, front) in d.fronts.iter_mut().enumerate() {
            // (The report's slot was released above, but nothing reuses it before this reads it:
            // only a heartbeat being sent does.)
            let (in_flight, unacked_demand) = if f == 0 {
                let acked_before = desk.acked;
                (desk.acked, desk.acked_demand) = if n_fronts > 1 {
                    let (received, received_demand) = self.report_received[slot as usize * n_fronts];
                    (received as u32, received_demand)
                } else {
                    (received, received_demand)
                };
                if self.lean_dispatch {
                    // The view's count is `sent - acked_before` (see `World::lean_dispatch`); the
                    // demand goes only into `believed`, which nothing reads.
                    let sent = acked_before.wrapping_add(front.loads[nu].in_flight);
                    debug_assert_eq!(sent, hot.sent, "node {n}: the view's in-flight count drifted");
                    let load = NodeLoad { running, queued, in_flight: unacked(sent, desk.acked) };
                    front.loads[nu] = load;
                    continue;
                }
                (unacked(hot.sent, desk.acked), hot.sent_demand.minus(&desk.acked_demand))
            } else {
                let t = &mut front.tracking[nu];
                (t.acked, t.acked_demand) = self.report_received[slot as usize * n_fronts + f];
                (t.sent.saturating_sub(t.acked) as u32, t.sent_demand.minus(&t.acked_demand))
            };
            let load = NodeLoad { running, queued, in_flight: if track { in_flight } else { 0 } };
            let believed = if track { used.plus(&unacked_demand) } else { used };
            if f != 0 {
                front.loads[nu] = load;
                if self.keep_used {
                    self.dims.write(&believed, &mut front.used[nu]);
                }
            } else {
                // (The shadows say what the view's entries hold: rewriting them unchanged is
                // skipped.)
                if load != desk.load {
                    front.loads[nu] = load;
                    desk.load = load;
                }
                if believed != desk.believed {
                    if self.keep_used {
                        self.dims.write(&believed, &mut front.used[nu]);
                    }
                    desk.believed = believed;
                }
            }
        }
    }

    /// The membership hears heartbeat `seq` of node `n` (re-admitting it, or arming its check);
    /// returns false if the node is still suspected (its report then changes no view).
    #[inline(never)]
    fn hear_alive(&mut self, n: u32, seq: u64, s: &mut Scheduler<Event>) -> bool {
        let now = s.now();
        if let Some(m) = self.dispatcher.membership.as_mut() {
            if m.on_heartbeat(NodeId(n), now, seq) == Some(Transition::Readmitted) {
                self.readmit(n, s);
            }
        }
        if let Some(m) = self.dispatcher.membership.as_ref() {
            if !m.is_alive(NodeId(n)) {
                return false;
            }
            if !self.dispatcher.check_pending[n as usize] {
                if let Some(deadline) = m.deadline(NodeId(n)) {
                    self.dispatcher.check_pending[n as usize] = true;
                    s.schedule_at(deadline.max(now), Event::Check(n));
                }
            }
        }
        true
    }

    /// The dispatcher hears from the report in `slot` which executions its node completed.
    #[inline(never)]
    fn hear_completions(&mut self, slot: u32, now: SimTime) {
        let r = &mut self.heartbeats.in_flight.slots[slot as usize];
        let n = r.node;
        let mut completions = std::mem::take(&mut r.completions);
        for &e in &completions {
            let exec = &mut self.execs.hot[e as usize];
            if self.feedback && exec.phase == Phase::Finished {
                let outcome = Outcome {
                    task: TaskId(self.tasks.slots[exec.task as usize].id),
                    node: NodeId(exec.node),
                    latency: exec.next_step.saturating_since(self.execs.cold[e as usize].dispatched),
                    expected_work_s: self.classes[exec.class as usize].expected_work_s,
                    completed: true,
                };
                self.dispatcher.fronts[exec.front as usize].balancer.observe(&outcome, now);
            }
            self.execs.hot[e as usize].node_done = true;
            let cold = &mut self.execs.cold[e as usize];
            if cold.out_pos != NONE {
                let pos = cold.out_pos as usize;
                cold.out_pos = NONE;
                let out = &mut self.dispatcher.outstanding[n as usize];
                out.swap_remove(pos);
                if let Some(&moved) = out.get(pos) {
                    self.execs.cold[moved as usize].out_pos = pos as u32;
                }
            }
            self.execs.hot[e as usize].sched_done = true;
            self.maybe_free_exec(e);
        }
        completions.clear();
        self.spare_vecs.push(completions);
    }

    fn on_check(&mut self, n: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        self.dispatcher.check_pending[n as usize] = false;
        let Some(m) = self.dispatcher.membership.as_mut() else { return };
        if m.check(NodeId(n), now) == Some(Transition::Suspected) {
            if self.dispatcher.options.probe.is_some() {
                self.send_probe(n, 0, s);
            } else {
                self.on_suspected(n, s);
            }
        } else if let Some(deadline) = m.deadline(NodeId(n)) {
            self.dispatcher.check_pending[n as usize] = true;
            s.schedule_at(deadline.max(now), Event::Check(n));
        }
    }

    /// Probes a node the detector suspects: a reply (a round trip of two heartbeat delays, if the
    /// node is up and reachable and answers within the timeout) refutes the suspicion.
    fn send_probe(&mut self, n: u32, attempt: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let Some(probe) = self.dispatcher.options.probe else { return };
        self.metrics.probes += 1;
        self.metrics.log(now, "probe", Some(n), None);
        let timeout = SimDuration::from_secs_f64(probe.timeout_s);
        let node = &self.nodes[n as usize].hot;
        let rtt = {
            let hb = &mut self.heartbeats;
            let one_way = hb.delay.sampler.sample(&mut self.dispatcher.probe_rng) + hb.extra_delay_s();
            let back = hb.delay.sampler.sample(&mut self.dispatcher.probe_rng) + hb.extra_delay_s();
            SimDuration::from_secs_f64(one_way + back)
        };
        let (due, event) = if node.flags & (DOWN | CUT_OFF) == 0 && rtt <= timeout {
            (now + rtt, Event::ProbeReply(n))
        } else {
            (now + timeout, Event::ProbeTimeout(n))
        };
        self.dispatcher.probing[n as usize] = Some((attempt, due));
        s.schedule_at(due, event);
    }

    fn on_probe_reply(&mut self, n: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        if self.dispatcher.probing[n as usize].is_none_or(|(_, due)| due != now) {
            return; // stale: settled meanwhile
        }
        self.dispatcher.probing[n as usize] = None;
        if let Some(m) = self.dispatcher.membership.as_mut() {
            m.refute(NodeId(n));
        }
        self.metrics.probe_refutations += 1;
        self.metrics.log(now, "probe_refuted", Some(n), None);
    }

    fn on_probe_timeout(&mut self, n: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let Some((attempt, due)) = self.dispatcher.probing[n as usize] else { return };
        if due != now {
            return;
        }
        let retries = self.dispatcher.options.probe.map_or(0, |p| p.retries);
        if attempt < retries {
            self.send_probe(n, attempt + 1, s);
        } else {
            self.on_suspected(n, s);
        }
    }

    /// A dispatch to node `n` failed: with passive detection, that alone makes it suspected.
    fn on_dispatch_failed(&mut self, n: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        self.metrics.log(now, "dispatch_failed", Some(n), None);
        if !self.dispatcher.options.passive {
            return;
        }
        let suspected = self.dispatcher.membership.as_mut().and_then(|m| m.suspect(NodeId(n), now));
        if suspected.is_some() {
            self.on_suspected(n, s);
        }
    }

    /// The dispatcher now suspects node `n`: stop sending to it and fail over its tasks.
    fn on_suspected(&mut self, n: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let nu = n as usize;
        self.dispatcher.probing[nu] = None;
        self.dispatcher.remove_candidate(n);
        let really_failed = self.nodes[nu].hot.flags & (DOWN | CUT_OFF) != 0;
        let node = &mut self.nodes_cold[nu];
        if node.fault != NONE {
            // A crash or partition (or a crash already over: a restart noticed late) detected.
            let f = &mut self.instances[node.fault as usize];
            node.fault = NONE;
            f.detected = true;
            let at = f.at;
            self.metrics.on_detection(at, now);
        } else if !really_failed {
            self.metrics.false_suspicions += 1;
            self.dispatcher.mistake_since[nu] = Some(now);
        }
        self.metrics.log(now, "suspect", Some(n), None);
        let d = &mut self.dispatcher;
        for (f, front) in d.fronts.iter_mut().enumerate() {
            if f == 0 {
                let record = &mut self.nodes[nu];
                record.hot.sent = record.desk.acked;
                record.hot.sent_demand = record.desk.acked_demand;
            } else {
                let t = &mut front.tracking[nu];
                *t = Tracking { sent: t.acked, sent_demand: t.acked_demand, ..*t };
            }
            front.loads[nu] = NodeLoad::default();
            if self.keep_used {
                self.dims.write(&Amounts::ZERO, &mut front.used[nu]);
            }
            if f == 0 {
                self.nodes[nu].desk.believed = Amounts::ZERO;
                self.nodes[nu].desk.load = NodeLoad::default();
            }
        }
        let mut orphans = std::mem::take(&mut d.outstanding[nu]);
        // Highest priority first (then oldest task): rate-limited policies move those first.
        let (execs, tasks, classes) = (&self.execs.hot, &self.tasks.slots, &self.classes);
        orphans.sort_by_key(|&e| {
            let task = &tasks[execs[e as usize].task as usize];
            (std::cmp::Reverse(classes[task.class as usize].priority), task.id)
        });
        for &e in &orphans {
            self.execs.cold[e as usize].out_pos = NONE;
            let exec = &mut self.execs.hot[e as usize];
            exec.sched_done = true;
            let task_slot = exec.task;
            self.orphan(task_slot, e, s);
            self.maybe_free_exec(e);
        }
        orphans.clear();
        self.dispatcher.outstanding[nu] = orphans;
    }

    /// Asks the failover policy what to do with a task whose execution `e` was orphaned.
    fn orphan(&mut self, task_slot: u32, e: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let task = self.tasks.slots[task_slot as usize];
        if task.status != Status::Pending || task.latest_exec != e {
            return; // already done, or a newer attempt is under way
        }
        let class = self.classes[task.class as usize];
        let info = TaskInfo {
            id: TaskId(task.id),
            class: task.class,
            priority: class.priority,
            demand: class.demand,
            expected_work_s: class.expected_work_s,
        };
        match self.dispatcher.failover.reassign(&info, task.attempts, now) {
            Reassign::Now => {
                self.metrics.migrations += 1;
                self.metrics.log(now, "migrate", None, Some(task.id));
                self.dispatch(task_slot, s);
            }
            Reassign::After(delay) => {
                self.metrics.migrations += 1;
                self.metrics.log(now, "retry_scheduled", None, Some(task.id));
                self.tasks.slots[task_slot as usize].parked = true;
                s.schedule_in(delay, Event::Retry(task_slot));
            }
            Reassign::Fail => {
                let t = &mut self.tasks.slots[task_slot as usize];
                t.status = Status::Failed;
                self.pending -= 1;
                if self.metrics.counts(t.arrival) {
                    self.metrics.failed_tasks += 1;
                }
                self.metrics.log(now, "task_failed", None, Some(task.id));
                if t.waiting_fault != NONE {
                    self.resolve_fault_wait(task_slot, now);
                }
                self.maybe_free_task(task_slot);
            }
        }
    }

    fn on_retry(&mut self, task_slot: u32, s: &mut Scheduler<Event>) {
        self.unpark(task_slot, s);
    }

    /// The dispatcher takes a parked task up again (its retry is due, or a node was re-admitted):
    /// sends it if it still needs to run, or lets it go if an earlier execution completed (or it
    /// failed) while it waited.
    fn unpark(&mut self, task_slot: u32, s: &mut Scheduler<Event>) {
        let task = &mut self.tasks.slots[task_slot as usize];
        debug_assert!(task.parked, "unparking a task that is not parked");
        task.parked = false;
        if task.status == Status::Pending {
            self.dispatch(task_slot, s);
        } else {
            self.maybe_free_task(task_slot);
        }
    }

    /// Node `n` is trusted again.
    fn readmit(&mut self, n: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let nu = n as usize;
        if let Some(since) = self.dispatcher.mistake_since[nu].take() {
            self.metrics.mistake_total += now - since;
        }
        self.metrics.log(now, "readmit", Some(n), None);
        self.dispatcher.probing[nu] = None;
        if self.dispatcher.fencing {
            self.fence(n, s);
        }
        self.dispatcher.add_candidate(n);
        let backlog = std::mem::take(&mut self.dispatcher.backlog);
        for task_slot in backlog {
            self.unpark(task_slot, s);
        }
    }

    /// Tells node `n`, back in favour, to kill every execution the dispatcher gave up on while it
    /// was suspected: those tasks were failed over, so these copies would only run twice.
    fn fence(&mut self, n: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let nu = n as usize;
        let stale = |execs: &[Exec], e: u32| execs[e as usize].sched_done;
        let node = &mut self.nodes[nu].hot;
        let head = &mut self.heads[nu];
        let (queued, kept): (Vec<u32>, Vec<u32>) =
            node.queue.drain(head, &self.execs.hot).into_iter().partition(|&e| stale(&self.execs.hot, e));
        for e in kept {
            node.queue.push_back(head, &mut self.execs.hot, e);
        }
        let running: Vec<u32> =
            self.nodes_cold[nu].running.iter().copied().filter(|&e| stale(&self.execs.hot, e)).collect();
        let speed = self.speed(nu);
        for &e in &running {
            let exec = self.execs.hot[e as usize];
            let demand = self.classes[exec.class as usize].amounts;
            let saved = self.tasks.slots[exec.task as usize].saved;
            let progress = self.execs.progress_at(e, now, speed, saved);
            self.metrics.lost_work += progress.saturating_sub(saved);
            self.nodes[nu].desk.add_busy(self.metrics.warmup(), &demand, exec.started, now);
            let id = self.tasks.slots[exec.task as usize].id;
            let execs = &self.execs;
            self.metrics.record_exec(|| execs.record(e, id, now, ExecOutcome::Fenced));
            let node = &mut self.nodes[nu].hot;
            node.used.sub_assign(&demand);
            node.n_running -= 1;
            Self::remove_running(&mut self.nodes_cold[nu], &mut self.execs.cold, e);
        }
        for e in queued.into_iter().chain(running) {
            let exec = &mut self.execs.hot[e as usize];
            exec.phase = Phase::Lost;
            exec.gen = exec.gen.wrapping_add(1);
            exec.node_done = true;
            self.metrics.fenced += 1;
            self.metrics.log(now, "fence", Some(n), Some(self.tasks.slots[exec.task as usize].id));
            self.maybe_free_exec(e);
        }
        self.try_start(nu, s);
    }

    fn maybe_free_exec(&mut self, e: u32) {
        debug_assert!(!self.solo, "a solo execution is freed when it completes");
        let exec = self.execs.hot[e as usize];
        if exec.node_done && exec.sched_done {
            self.execs.hot[e as usize].gen = exec.gen.wrapping_add(1);
            self.execs.release(e);
            let task = &mut self.tasks.slots[exec.task as usize];
            task.live_execs -= 1;
            if task.latest_exec == e {
                task.latest_exec = NONE;
            }
            self.maybe_free_task(exec.task);
        }
    }

    fn maybe_free_task(&mut self, t: u32) {
        let task = &self.tasks.slots[t as usize];
        if task.status != Status::Pending && task.live_execs == 0 && !task.parked {
            self.tasks.release(t);
        }
    }

    // ----- faults -----

    fn on_fault(&mut self, s: &mut Scheduler<Event>) {
        let now = s.now();
        let (_, action) = self.plan.actions[self.next_fault];
        self.next_fault += 1;
        if let Some(&(t, _)) = self.plan.actions.get(self.next_fault) {
            s.schedule_at(t, Event::Fault);
        }
        self.metrics.log(now, action.name(), action.node(), None);
        let oracle = self.dispatcher.mode == ViewMode::Oracle;
        match action {
            FaultAction::Crash(n) => {
                let node = &mut self.nodes_cold[n as usize];
                node.down += 1;
                self.nodes[n as usize].hot.flags |= DOWN;
                if node.down == 1 {
                    self.open_fault_instance(n, FaultKind::Crash, now);
                    self.crash(n, now);
                    if oracle {
                        self.on_suspected(n, s);
                    }
                }
            }
            FaultAction::Recover(n) => {
                let node = &mut self.nodes_cold[n as usize];
                node.down = node.down.saturating_sub(1);
                if node.down == 0 {
                    let hot = &mut self.nodes[n as usize].hot;
                    hot.flags &= !DOWN;
                    hot.incarnation += 1;
                    self.nodes[n as usize].desk.hb_seq = 0;
                    self.refresh_speed(n as usize);
                    let node = &mut self.nodes_cold[n as usize];
                    if !node.beating {
                        node.beating = true;
                        s.schedule_at(now, Event::Beat(n));
                    }
                    // The oracle trusts a node again once it is up *and* reachable.
                    if oracle && node.partitioned == 0 {
                        self.readmit(n, s);
                    }
                }
            }
            FaultAction::Partition(n) => {
                let node = &mut self.nodes_cold[n as usize];
                node.partitioned += 1;
                self.nodes[n as usize].hot.flags |= CUT_OFF;
                if node.partitioned == 1 && node.down == 0 {
                    self.open_fault_instance(n, FaultKind::Partition, now);
                    if oracle {
                        self.on_suspected(n, s);
                    }
                }
            }
            FaultAction::Heal(n) => {
                let node = &mut self.nodes_cold[n as usize];
                node.partitioned = node.partitioned.saturating_sub(1);
                if node.partitioned == 0 {
                    self.nodes[n as usize].hot.flags &= !CUT_OFF;
                }
                if node.partitioned == 0 && node.down == 0 {
                    node.fault = NONE; // healed before anyone noticed: nothing left to detect
                    let held = std::mem::take(&mut node.held);
                    for &e in &held {
                        self.on_deliver(e, s);
                    }
                    if oracle {
                        self.readmit(n, s);
                    }
                }
            }
            FaultAction::SlowDown(n, factor) => {
                self.nodes_cold[n as usize].slowdowns.push(factor);
                self.rebase_speed(n, s);
            }
            FaultAction::Restore(n, factor) => {
                let node = &mut self.nodes_cold[n as usize];
                if let Some(i) = node.slowdowns.iter().position(|&f| f == factor) {
                    node.slowdowns.remove(i);
                }
                self.rebase_speed(n, s);
            }
            FaultAction::Profile(n, m) => {
                self.nodes_cold[n as usize].profile = m;
                self.rebase_speed(n, s);
            }
            FaultAction::LossBurst(l) => {
                self.heartbeats.loss_bursts.push(l);
                self.heartbeats.refresh_loss();
            }
            FaultAction::LossBurstEnd(l) => {
                let b = &mut self.heartbeats.loss_bursts;
                if let Some(i) = b.iter().position(|&x| x == l) {
                    b.remove(i);
                }
                self.heartbeats.refresh_loss();
            }
            FaultAction::DelaySpike(x) => self.heartbeats.extra_delay.push(x),
            FaultAction::DelaySpikeEnd(x) => {
                let d = &mut self.heartbeats.extra_delay;
                if let Some(i) = d.iter().position(|&y| y == x) {
                    d.remove(i);
                }
            }
        }
    }

    /// Records a crash or partition of node `n`, and the tasks it strands.
    fn open_fault_instance(&mut self, n: u32, kind: FaultKind, now: SimTime) {
        let id = self.instances.len() as u32;
        let mut affected = 0;
        for &e in &self.dispatcher.outstanding[n as usize] {
            let t = self.execs.hot[e as usize].task;
            let task = &mut self.tasks.slots[t as usize];
            if task.status == Status::Pending && task.latest_exec == e {
                if task.waiting_fault != NONE {
                    self.instances[task.waiting_fault as usize].pending -= 1;
                }
                task.waiting_fault = id;
                affected += 1;
            }
        }
        // A node the dispatcher already distrusts (a false suspicion still running) has nothing
        // left to detect: the fault is recorded, with no detection time.
        // (A suspicion still being confirmed by probes has not been acted on: that one counts.)
        let already_suspected = self.dispatcher.probing[n as usize].is_none()
            && self.dispatcher.membership.as_ref().is_some_and(|m| !m.is_alive(NodeId(n)));
        self.instances.push(FaultInstance { kind, at: now, detected: already_suspected, pending: affected, affected });
        self.nodes_cold[n as usize].fault = if already_suspected { NONE } else { id };
    }

    /// A task that a fault stranded is running again, done, or given up.
    fn resolve_fault_wait(&mut self, task_slot: u32, now: SimTime) {
        let task = &mut self.tasks.slots[task_slot as usize];
        let f = &mut self.instances[task.waiting_fault as usize];
        task.waiting_fault = NONE;
        f.pending -= 1;
        if f.pending == 0 {
            let at = f.at;
            self.metrics.on_recovery(at, now);
        }
    }

    /// Node `n` stops: everything on it is lost.
    fn crash(&mut self, n: u32, now: SimTime) {
        let nu = n as usize;
        let speed = self.speed(nu);
        let node = &mut self.nodes[nu].hot;
        node.n_running = 0;
        let queue = node.queue.drain(&mut self.heads[nu], &self.execs.hot);
        node.used = Amounts::ZERO;
        let cold = &mut self.nodes_cold[nu];
        let running = std::mem::take(&mut cold.running);
        let unreported = std::mem::take(&mut cold.unreported);
        let held = std::mem::take(&mut cold.held);
        for &e in &running {
            let exec = self.execs.hot[e as usize];
            let task = self.tasks.slots[exec.task as usize];
            let demand = self.classes[task.class as usize].amounts;
            self.nodes[nu].desk.add_busy(self.metrics.warmup(), &demand, exec.started, now);
            let execs = &self.execs;
            self.metrics.record_exec(|| execs.record(e, task.id, now, ExecOutcome::Lost));
            let progress = self.execs.progress_at(e, now, speed, task.saved);
            self.metrics.lost_work += progress.saturating_sub(task.saved);
        }
        for e in running.iter().chain(queue.iter()).chain(unreported.iter()).chain(held.iter()).copied() {
            self.execs.cold[e as usize].run_pos = NONE;
            let exec = &mut self.execs.hot[e as usize];
            if exec.phase != Phase::Finished {
                exec.phase = Phase::Lost;
            }
            exec.gen = exec.gen.wrapping_add(1);
            exec.node_done = true;
            self.maybe_free_exec(e);
        }
        let node = &mut self.nodes_cold[nu];
        node.running = running;
        node.running.clear();
        node.unreported = unreported;
        node.unreported.clear();
        node.held = held;
        node.held.clear();
    }

    /// Node `n`'s speed changed: re-time its running work.
    fn rebase_speed(&mut self, n: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let nu = n as usize;
        let old = self.speed(nu);
        self.refresh_speed(nu);
        let new = self.speed(nu);
        if self.nodes[nu].hot.flags & DOWN != 0 {
            return;
        }
        for &e in &self.nodes_cold[nu].running {
            if self.execs.hot[e as usize].phase == Phase::Working {
                let target = self.execs.target(e);
                let done = self.execs.progress_at(e, now, old, 0);
                self.execs.set_working(e, now, done, target);
                let exec = &mut self.execs.hot[e as usize];
                exec.gen = exec.gen.wrapping_add(1);
                exec.next_step = now + Self::run_time(target - done, new);
                s.schedule_at(exec.next_step, Event::Step(e, exec.gen));
            }
        }
    }

    /// A node's CPU in use (0 if no class demands CPU).
    fn cpu_used(&self) -> impl Fn(&NodeHot<K>) -> u64 {
        let cpu = self.cpu;
        move |node| cpu.map_or(0, |k| node.used.0[k])
    }

    fn on_sample(&mut self, s: &mut Scheduler<Event>) {
        let now = s.now();
        let next = now + self.sample_interval;
        if next <= self.end {
            s.schedule_at(next, Event::Sample);
        }
        let cpu_used = self.cpu_used();
        let loads = &mut self.sample_scratch;
        loads.clear();
        let mut util_sum = 0.0;
        for (node, spec) in self.nodes.iter().map(|r| &r.hot).zip(&self.specs) {
            let cores = spec.capacity.units(Resource::Cpu);
            loads.push(f64::from(node.n_running + node.queue.len) / cores);
            util_sum += cpu_used(node) as f64 / spec.capacity.get(Resource::Cpu) as f64;
        }
        let (load_cv, _, _) = balance_stats(loads);
        let point = SeriesPoint {
            t: now,
            throughput_per_s: 0.0,
            load_cv,
            utilization_mean: util_sum / self.nodes.len() as f64,
            in_system: self.in_system() as f64,
        };
        if let Some(samples) = self.metrics.node_samples.as_mut() {
            for (node, spec) in self.nodes.iter().map(|r| &r.hot).zip(&self.specs) {
                let cpu = cpu_used(node) as f64 / spec.capacity.get(Resource::Cpu) as f64;
                samples.cpu_utilization.push(cpu as f32);
                samples.queued.push(node.queue.len);
                samples.running.push(node.n_running);
            }
        }
        if self.metrics.monitor.is_some() {
            self.observe_alerts(&point);
        }
        self.metrics.take_sample(point, self.sample_interval);
    }

    /// Evaluates the alert rules on the cluster as it is now.
    fn observe_alerts(&mut self, point: &SeriesPoint) {
        let Some(monitor) = self.metrics.monitor.as_ref() else { return };
        let cpu_used = self.cpu_used();
        let mut max_utilization = 0.0f64;
        let mut queue_length = 0u64;
        for (node, spec) in self.nodes.iter().map(|r| &r.hot).zip(&self.specs) {
            let cpu = cpu_used(node) as f64 / spec.capacity.get(Resource::Cpu) as f64;
            max_utilization = max_utilization.max(cpu);
            queue_length += u64::from(node.queue.len);
        }
        let suspected = match (&self.dispatcher.membership, monitor.watches(AlertMetric::SuspectedNodes)) {
            (Some(m), true) => (0..self.nodes.len() as u32).filter(|&n| !m.is_alive(NodeId(n))).count(),
            _ => 0,
        };
        let observation = Observation {
            t: point.t,
            utilization: point.utilization_mean,
            max_utilization,
            load_cv: point.load_cv,
            in_system: point.in_system,
            queue_length: queue_length as f64,
            suspected: suspected as f64,
            migrations: self.metrics.migrations,
            completions: self.metrics.completions(),
        };
        if let Some(monitor) = self.metrics.monitor.as_mut() {
            monitor.observe(observation);
        }
    }
}

impl<const K: usize> World<K> {
    /// Starts loading what `event`, most likely the next to be handled, will read first, where
    /// that is most likely a cache miss in a large cluster: a completion's execution, its node's
    /// record and queue head; a heartbeat's node record (see [`Model::prefetch`]). The lines
    /// then arrive while the current event is handled. (A dispatch's delivery and a heartbeat's
    /// report find their node's record in cache: the dispatch and the heartbeat brought it in
    /// half a millisecond before.)
    #[inline(always)]
    fn prefetch(&self, event: &Event) {
        match *event {
            Event::Step(e, _) => {
                if let (Some(exec), Some(&n)) = (self.execs.hot.get(e as usize), self.execs.node_of.get(e as usize)) {
                    prefetch(exec);
                    if let Some(record) = self.nodes.get(n as usize) {
                        prefetch(&record.hot);
                        prefetch(&record.desk);
                    }
                    if let Some(head) = self.heads.get(n as usize) {
                        prefetch(head);
                    }
                }
            }
            Event::Beat(n) => {
                if let Some(record) = self.nodes.get(n as usize) {
                    prefetch(&record.hot);
                    prefetch(&record.desk);
                }
            }
            _ => {}
        }
    }

    #[inline(always)]
    fn handle(&mut self, event: Event, s: &mut Scheduler<Event>) {
        match event {
            Event::Arrival => self.on_arrival(s),
            Event::Deliver(e) => self.on_deliver(e, s),
            Event::Step(e, gen) => self.on_step(e, gen, s),
            Event::Beat(node) => self.on_beat(node, s),
            Event::Report(slot) => self.on_report(slot, s),
            Event::Check(node) => self.on_check(node, s),
            Event::ProbeReply(node) => self.on_probe_reply(node, s),
            Event::ProbeTimeout(node) => self.on_probe_timeout(node, s),
            Event::Fault => self.on_fault(s),
            Event::Retry(task) => self.on_retry(task, s),
            Event::Flush(generation, f) => {
                if self.dispatcher.fronts[f as usize].batch.as_ref().is_some_and(|b| b.generation == generation) {
                    self.flush_batch(f, s);
                }
            }
            Event::Sample => self.on_sample(s),
        }
    }
}
