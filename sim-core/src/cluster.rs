//! The cluster world: nodes that run tasks, a central dispatcher that sees them through
//! heartbeats, the workload, and the metric probes. State is split by owner — [`Node`]s hold what
//! is true, the [`Dispatcher`] holds what the scheduler believes, [`Heartbeats`] hold reports in
//! flight — and each event handler touches only the parts it needs.

use std::collections::VecDeque;

use rand::Rng;

use crate::config::{SimConfig, ViewMode};
use crate::dist::Sampler;
use crate::engine::{Model, Scheduler};
use crate::metrics::{balance_stats, Collector, RunOutput, SeriesPoint, TaskRecord};
use crate::rng::{stream, Purpose, Stream};
use crate::time::{SimDuration, SimTime};
use crate::workload::Generator;
use fulcrum_strategies::balance::{Balancer, BalancerConfig};
use fulcrum_strategies::{ClusterView, NodeId, NodeLoad, NodeSpec, Resource, Resources, TaskId, TaskInfo};

/// Everything that can happen in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The next task of the workload arrives at the dispatcher.
    Arrival,
    /// A dispatch message (task slot) reaches its node.
    Deliver(u32),
    /// A running task (slot) completes.
    Complete(u32),
    /// A node sends a heartbeat.
    Beat(u32),
    /// A heartbeat (report slot) reaches the dispatcher.
    Report(u32),
    /// Time-series sample.
    Sample,
}

/// A task in the system.
#[derive(Clone, Copy, Debug)]
struct Task {
    id: u64,
    arrival: SimTime,
    work: SimDuration,
    class: u32,
    node: u32,
    start: SimTime,
}

/// Tasks in flight, by slot; slots are reused, so memory follows the tasks in flight.
#[derive(Debug, Default)]
struct TaskSlab {
    slots: Vec<Task>,
    free: Vec<u32>,
}

impl TaskSlab {
    #[inline]
    fn insert(&mut self, task: Task) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = task;
                slot
            }
            None => {
                self.slots.push(task);
                (self.slots.len() - 1) as u32
            }
        }
    }

    #[inline]
    fn remove(&mut self, slot: u32) -> Task {
        self.free.push(slot);
        self.slots[slot as usize]
    }

    fn live(&self) -> impl Iterator<Item = &Task> {
        let mut is_free = vec![false; self.slots.len()];
        for &f in &self.free {
            is_free[f as usize] = true;
        }
        self.slots.iter().zip(is_free).filter(|(_, free)| !free).map(|(t, _)| t)
    }
}

/// A node's true state.
#[derive(Debug, Default)]
struct Node {
    used: Resources,
    running: u32,
    queue: VecDeque<u32>,
    /// Dispatches received so far, and their total demand (reported in heartbeats, so the
    /// dispatcher can tell which of its dispatches a heartbeat reflects).
    received: u64,
    received_demand: Resources,
}

/// What the dispatcher sent to a node, cumulatively, and how much of it the node has confirmed.
#[derive(Debug, Default, Clone, Copy)]
struct Tracking {
    sent: u64,
    sent_demand: Resources,
    acked: u64,
    acked_demand: Resources,
}

/// The central dispatcher: its view of the nodes and its balancer.
struct Dispatcher {
    balancer: Box<dyn Balancer>,
    rng: Stream,
    mode: ViewMode,
    loads: Vec<NodeLoad>,
    used: Vec<Resources>,
    tracking: Vec<Tracking>,
    /// Per task class: the nodes whose capacity can hold it.
    candidates: Vec<Vec<NodeId>>,
    delay: Sampler,
    delay_rng: Stream,
}

/// A heartbeat on its way to the dispatcher.
#[derive(Debug, Clone, Copy)]
struct Report {
    node: u32,
    sent_at: SimTime,
    running: u32,
    queued: u32,
    used: Resources,
    received: u64,
    received_demand: Resources,
}

/// Heartbeat timing, loss and delay, and the reports in flight.
#[derive(Debug)]
struct Heartbeats {
    interval_ns: f64,
    jitter: f64,
    loss: f64,
    delay: Sampler,
    jitter_rng: Stream,
    loss_rng: Stream,
    delay_rng: Stream,
    in_flight: Vec<Report>,
    free: Vec<u32>,
}

impl Heartbeats {
    #[inline]
    fn next_interval(&mut self) -> SimDuration {
        if self.jitter == 0.0 {
            return SimDuration(self.interval_ns as u64);
        }
        let u: f64 = self.jitter_rng.random::<f64>() * 2.0 - 1.0;
        SimDuration((self.interval_ns * (1.0 + self.jitter * u)).round() as u64)
    }
}

/// Class properties the hot path needs.
#[derive(Debug, Clone, Copy)]
struct ClassInfo {
    demand: Resources,
    priority: i32,
}

/// The cluster model: one replication of one strategy.
pub struct Cluster {
    specs: Vec<NodeSpec>,
    nodes: Vec<Node>,
    tasks: TaskSlab,
    next_task_id: u64,
    classes: Vec<ClassInfo>,
    generator: Generator,
    dispatcher: Dispatcher,
    heartbeats: Heartbeats,
    metrics: Collector,
    end: SimTime,
    sample_interval: SimDuration,
    sample_scratch: Vec<f64>,
}

impl Cluster {
    /// A cluster for `config`, replication `replication`, dispatching with `balancer`, whose own
    /// random stream is keyed by `label`. Schedules the initial events on `scheduler`.
    pub fn new(
        config: &SimConfig,
        balancer: &BalancerConfig,
        label: &str,
        replication: u32,
        task_log: bool,
        scheduler: &mut Scheduler<Event>,
    ) -> Cluster {
        let n = config.nodes.len();
        let seed = config.seed;
        let candidates = config
            .workload
            .classes
            .iter()
            .map(|c| {
                (0..n as u32)
                    .map(NodeId)
                    .filter(|id| c.demand.fits_in(&config.nodes[id.index()].capacity))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut heartbeats = Heartbeats {
            interval_ns: config.heartbeat.interval.0 as f64,
            jitter: config.heartbeat.jitter,
            loss: config.heartbeat.loss,
            delay: config.heartbeat.delay.sampler(),
            jitter_rng: stream(seed, replication, Purpose::HeartbeatJitter),
            loss_rng: stream(seed, replication, Purpose::HeartbeatLoss),
            delay_rng: stream(seed, replication, Purpose::HeartbeatDelay),
            in_flight: Vec::new(),
            free: Vec::new(),
        };
        // Each node beats first at a uniformly random phase within one interval.
        for node in 0..n as u32 {
            let phase = heartbeats.jitter_rng.random::<f64>() * heartbeats.interval_ns;
            scheduler.schedule_at(SimTime(phase as u64), Event::Beat(node));
        }
        let generator = Generator::new(&config.workload, seed, replication);
        if generator.peek_time() < config.end {
            scheduler.schedule_at(generator.peek_time(), Event::Arrival);
        }
        let first_sample = config.warmup + config.sample_interval;
        if first_sample <= config.end {
            scheduler.schedule_at(first_sample, Event::Sample);
        }
        let initial_load = match config.view {
            ViewMode::Oracle => NodeLoad { reported_at: Some(SimTime::ZERO), ..NodeLoad::default() },
            ViewMode::Heartbeat { .. } => NodeLoad::default(),
        };
        Cluster {
            specs: config.nodes.clone(),
            nodes: (0..n).map(|_| Node::default()).collect(),
            tasks: TaskSlab::default(),
            next_task_id: 0,
            classes: config
                .workload
                .classes
                .iter()
                .map(|c| ClassInfo { demand: c.demand, priority: c.priority })
                .collect(),
            generator,
            dispatcher: Dispatcher {
                balancer: balancer.build(),
                rng: stream(seed, replication, Purpose::Strategy(label)),
                mode: config.view,
                loads: vec![initial_load; n],
                used: vec![Resources::ZERO; n],
                tracking: vec![Tracking::default(); n],
                candidates,
                delay: config.dispatch_delay.sampler(),
                delay_rng: stream(seed, replication, Purpose::DispatchDelay),
            },
            heartbeats,
            metrics: Collector::new(n, config.warmup, task_log),
            end: config.end,
            sample_interval: config.sample_interval,
            sample_scratch: Vec::with_capacity(n),
        }
    }

    /// The number of tasks in the system (dispatched, queued or running).
    pub fn in_system(&self) -> usize {
        self.tasks.slots.len() - self.tasks.free.len()
    }

    /// A node's true state: resources in use, tasks running, tasks queued (for tools and tests
    /// that step the simulation).
    pub fn node_usage(&self, node: NodeId) -> (Resources, u32, u32) {
        let n = &self.nodes[node.index()];
        (n.used, n.running, n.queue.len() as u32)
    }

    /// The dispatcher's current view of the nodes (for tools that step the simulation).
    pub fn view(&self) -> ClusterView<'_> {
        ClusterView::new(&self.specs, &self.dispatcher.loads, &self.dispatcher.used)
    }

    /// Ends the run at `end`: accounts for tasks still running and returns the measurements.
    pub fn finish(mut self, events: u64) -> RunOutput {
        let end = self.end;
        let live: Vec<Task> = self.tasks.live().copied().collect();
        for task in &live {
            if task.start != SimTime::MAX {
                let demand = self.classes[task.class as usize].demand;
                self.metrics.add_busy(task.node as usize, &demand, task.start, end);
            }
            if self.metrics.counts(task.arrival) {
                if let Some(log) = self.metrics.task_log.as_mut() {
                    log.push(TaskRecord {
                        id: task.id,
                        class: task.class,
                        arrival: task.arrival,
                        work: task.work,
                        node: (task.node != u32::MAX).then_some(task.node),
                        start: (task.start != SimTime::MAX).then_some(task.start),
                        end: None,
                    });
                }
            }
        }
        let capacities = self.specs.iter().map(|s| s.capacity);
        self.metrics.finish(capacities, end, events)
    }

    fn on_arrival(&mut self, s: &mut Scheduler<Event>) {
        let now = s.now();
        let new = self.generator.next_task();
        debug_assert_eq!(new.arrival, now);
        let next = self.generator.peek_time();
        if next < self.end {
            s.schedule_at(next, Event::Arrival);
        }
        self.metrics.on_arrival(now);
        let id = self.next_task_id;
        self.next_task_id += 1;
        let class = self.classes[new.class as usize];
        let info = TaskInfo { id: TaskId(id), class: new.class, priority: class.priority, demand: class.demand };
        let d = &mut self.dispatcher;
        let view = ClusterView::new(&self.specs, &d.loads, &d.used);
        let candidates = &d.candidates[new.class as usize];
        let node = d
            .balancer
            .pick(&info, candidates, &view, now, &mut d.rng)
            .expect("validated scenarios give every class a feasible node");
        debug_assert!(candidates.contains(&node), "balancer picked a node outside the candidates");
        let n = node.index();
        let t = &mut d.tracking[n];
        t.sent += 1;
        t.sent_demand.add_assign(&class.demand);
        if d.mode != (ViewMode::Heartbeat { track_dispatches: false }) {
            d.loads[n].in_flight += 1;
            d.used[n].add_assign(&class.demand);
        }
        let slot = self.tasks.insert(Task {
            id,
            arrival: now,
            work: new.work,
            class: new.class,
            node: node.0,
            start: SimTime::MAX,
        });
        let delay = d.delay.sample(&mut d.delay_rng);
        s.schedule_in(SimDuration::from_secs_f64(delay), Event::Deliver(slot));
    }

    fn on_deliver(&mut self, slot: u32, s: &mut Scheduler<Event>) {
        let task = self.tasks.slots[slot as usize];
        let n = task.node as usize;
        let demand = self.classes[task.class as usize].demand;
        let node = &mut self.nodes[n];
        node.received += 1;
        node.received_demand.add_assign(&demand);
        node.queue.push_back(slot);
        self.try_start(n, s);
    }

    fn on_complete(&mut self, slot: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let task = self.tasks.remove(slot);
        let n = task.node as usize;
        let demand = self.classes[task.class as usize].demand;
        let node = &mut self.nodes[n];
        node.used.sub_assign(&demand);
        node.running -= 1;
        self.metrics.add_busy(n, &demand, task.start, now);
        self.metrics.on_completion(task.arrival, task.start, now);
        if self.metrics.counts(task.arrival) {
            if let Some(log) = self.metrics.task_log.as_mut() {
                log.push(TaskRecord {
                    id: task.id,
                    class: task.class,
                    arrival: task.arrival,
                    work: task.work,
                    node: Some(task.node),
                    start: Some(task.start),
                    end: Some(now),
                });
            }
        }
        self.try_start(n, s);
    }

    /// Starts queued tasks in FIFO order while the head of the queue fits in the free resources
    /// (no overtaking), then refreshes an oracle view.
    #[inline]
    fn try_start(&mut self, n: usize, s: &mut Scheduler<Event>) {
        let spec = &self.specs[n];
        let node = &mut self.nodes[n];
        while let Some(&slot) = node.queue.front() {
            let task = &mut self.tasks.slots[slot as usize];
            let demand = self.classes[task.class as usize].demand;
            let would_use = node.used.plus(&demand);
            if !would_use.fits_in(&spec.capacity) {
                break;
            }
            node.queue.pop_front();
            node.used = would_use;
            node.running += 1;
            task.start = s.now();
            let run = if spec.speed == 1.0 {
                task.work
            } else {
                SimDuration((task.work.0 as f64 / spec.speed).round() as u64)
            };
            s.schedule_in(run, Event::Complete(slot));
        }
        if self.dispatcher.mode == ViewMode::Oracle {
            let d = &mut self.dispatcher;
            let t = &d.tracking[n];
            d.loads[n] = NodeLoad {
                running: node.running,
                queued: node.queue.len() as u32,
                in_flight: (t.sent - node.received) as u32,
                reported_at: Some(s.now()),
            };
            d.used[n] = node.used.plus(&t.sent_demand.minus(&node.received_demand));
        }
    }

    fn on_beat(&mut self, n: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let hb = &mut self.heartbeats;
        let next = hb.next_interval();
        s.schedule_in(next, Event::Beat(n));
        if hb.loss > 0.0 && hb.loss_rng.random::<f64>() < hb.loss {
            return;
        }
        let node = &self.nodes[n as usize];
        let report = Report {
            node: n,
            sent_at: now,
            running: node.running,
            queued: node.queue.len() as u32,
            used: node.used,
            received: node.received,
            received_demand: node.received_demand,
        };
        let slot = match hb.free.pop() {
            Some(slot) => {
                hb.in_flight[slot as usize] = report;
                slot
            }
            None => {
                hb.in_flight.push(report);
                (hb.in_flight.len() - 1) as u32
            }
        };
        let delay = hb.delay.sample(&mut hb.delay_rng);
        s.schedule_in(SimDuration::from_secs_f64(delay), Event::Report(slot));
    }

    fn on_report(&mut self, slot: u32) {
        let hb = &mut self.heartbeats;
        let r = hb.in_flight[slot as usize];
        hb.free.push(slot);
        let d = &mut self.dispatcher;
        let n = r.node as usize;
        let load = &mut d.loads[n];
        let newer = load.reported_at.is_none_or(|t| r.sent_at > t);
        let track = match d.mode {
            ViewMode::Oracle => return,
            ViewMode::Heartbeat { track_dispatches } => track_dispatches,
        };
        if !newer {
            return; // overtaken by a later heartbeat
        }
        let t = &mut d.tracking[n];
        t.acked = r.received;
        t.acked_demand = r.received_demand;
        *load = NodeLoad {
            running: r.running,
            queued: r.queued,
            in_flight: if track { (t.sent - t.acked) as u32 } else { 0 },
            reported_at: Some(r.sent_at),
        };
        d.used[n] = if track { r.used.plus(&t.sent_demand.minus(&t.acked_demand)) } else { r.used };
    }

    fn on_sample(&mut self, s: &mut Scheduler<Event>) {
        let now = s.now();
        let next = now + self.sample_interval;
        if next <= self.end {
            s.schedule_at(next, Event::Sample);
        }
        let loads = &mut self.sample_scratch;
        loads.clear();
        let mut util_sum = 0.0;
        for (node, spec) in self.nodes.iter().zip(&self.specs) {
            let cores = spec.capacity.units(Resource::Cpu);
            loads.push(f64::from(node.running + node.queue.len() as u32) / cores);
            util_sum += node.used.get(Resource::Cpu) as f64 / spec.capacity.get(Resource::Cpu) as f64;
        }
        let (load_cv, _, _) = balance_stats(loads);
        let point = SeriesPoint {
            t: now,
            throughput_per_s: 0.0,
            load_cv,
            utilization_mean: util_sum / self.nodes.len() as f64,
            in_system: self.in_system() as f64,
        };
        self.metrics.take_sample(point, self.sample_interval);
    }
}

impl Model for Cluster {
    type Event = Event;

    #[inline]
    fn handle(&mut self, event: Event, s: &mut Scheduler<Event>) {
        match event {
            Event::Arrival => self.on_arrival(s),
            Event::Deliver(slot) => self.on_deliver(slot, s),
            Event::Complete(slot) => self.on_complete(slot, s),
            Event::Beat(node) => self.on_beat(node, s),
            Event::Report(slot) => self.on_report(slot),
            Event::Sample => self.on_sample(s),
        }
    }
}
