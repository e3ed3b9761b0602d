//! Decision cost: the wall-clock time a balancer takes to choose a node, on a synthetic but
//! realistic view of 100 to 10,000 nodes.
//!
//! - [`SyntheticCluster`]: a cluster view generated from a seed — four node groups (small and large
//!   CPU nodes, GPU nodes, FPGA nodes) with speeds between 0.5 and 2, nodes idle, lightly loaded or
//!   busy with a queue, believed `used` equal to the demand of the tasks running and in flight, and
//!   a cycle of four task classes (web, memory-heavy batch, GPU training, FPGA inference).
//! - [`DecisionLoop`]: a balancer placing tasks on that view as it would in a run: each dispatch
//!   adds to the chosen node's `in_flight` and `used`, a heartbeat redraws one node every
//!   [`DECISIONS_PER_HEARTBEAT`] decisions, `now` advances, and learners receive one completion
//!   per decision (outside the timed region).
//! - [`measure`] / [`measure_with`]: a balancer's [`Cost`] — median, p99 and mean of individually
//!   timed decisions, and the median over blocks of decisions timed together of the mean decision
//!   in the block. Blocks last about [`BLOCK_TARGET`] (1 to [`MAX_BLOCK`] decisions), long enough
//!   that the timer's own cost vanishes — the figure to read below about 1 µs — and short enough
//!   that few are preempted on a busy machine. A batch balancer ([`Balancer::batching`] is `Some`)
//!   is timed per [`Balancer::assign`] of [`BATCH_TASKS`] tasks.
//! - [`BENCHED`]: the configurations the `decision-cost` binary and the criterion bench measure,
//!   one or more per balancer kind of the catalogue (a test fails when a kind or a parameter has
//!   none).
//!
//! The wall clock is read here on purpose (clippy's ban on `Instant::now` is lifted for one small
//! function): decision cost is a property of the machine, not of the simulation, and it never
//! enters simulated results.

use std::hint::black_box;
use std::time::{Duration, Instant};

use fulcrum_sim_core::rng::splitmix64;
use fulcrum_strategies::balance::{Balancer, BalancerConfig, Outcome};
use fulcrum_strategies::{
    ClusterView, NodeId, NodeLoad, NodeSpec, Resource, ResourceUnits, Resources, Span, TaskId, TaskInfo, Time,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random stream for one purpose (the cluster and its heartbeats, synthetic completions, the
/// balancer) derived from the seed, so that drawing more for one purpose changes no other.
fn stream(seed: u64, purpose: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(splitmix64(splitmix64(seed) ^ purpose))
}

const CLUSTER_STREAM: u64 = 1;
const OUTCOME_STREAM: u64 = 2;
const BALANCER_STREAM: u64 = 3;

/// A balancer configuration that the decision-cost report measures.
#[derive(Clone, Copy, Debug)]
pub struct Benched {
    /// Row label in the table.
    pub label: &'static str,
    /// The configuration, in scenario-file JSON. Every parameter the catalogue lists for the kind
    /// is written out in at least one entry of the kind, so that the table says what it measured
    /// and a new parameter (a new form of a balancer) fails `every_catalogued_parameter_is_benched`
    /// until it is measured too.
    pub json: &'static str,
}

/// Every benchmarked configuration. A new balancer kind is one line here.
pub const BENCHED: &[Benched] = &[
    Benched { label: "random", json: r#"{"kind": "random"}"# },
    Benched { label: "round-robin", json: r#"{"kind": "round-robin"}"# },
    Benched { label: "least-connections", json: r#"{"kind": "least-connections"}"# },
    Benched { label: "power-of-d d=2", json: r#"{"kind": "power-of-d", "d": 2}"# },
    Benched { label: "power-of-d d=5", json: r#"{"kind": "power-of-d", "d": 5}"# },
    Benched { label: "weighted-round-robin", json: r#"{"kind": "weighted-round-robin", "weight_by": "capacity"}"# },
    Benched {
        label: "smooth-weighted-round-robin",
        json: r#"{"kind": "smooth-weighted-round-robin", "weight_by": "capacity"}"#,
    },
    Benched {
        label: "weighted-least-connections",
        json: r#"{"kind": "weighted-least-connections", "weight_by": "capacity"}"#,
    },
    Benched { label: "first-fit", json: r#"{"kind": "first-fit"}"# },
    Benched { label: "best-fit", json: r#"{"kind": "best-fit"}"# },
    Benched { label: "worst-fit", json: r#"{"kind": "worst-fit"}"# },
    Benched { label: "response-time", json: r#"{"kind": "response-time", "decay_s": 10.0}"# },
    Benched { label: "dynamic-weight", json: r#"{"kind": "dynamic-weight"}"# },
    Benched {
        label: "predictive-least-connections",
        json: r#"{"kind": "predictive-least-connections", "decay_s": 5.0, "trend": 1.0}"#,
    },
    Benched {
        label: "hybrid p2c below 0.5, else least-connections",
        json: r#"{"kind": "hybrid", "below": {"kind": "power-of-d", "d": 2},
                  "above": {"kind": "least-connections"}, "utilization": 0.5}"#,
    },
    Benched { label: "resource-aware (defaults)", json: r#"{"kind": "resource-aware"}"# },
    Benched {
        label: "resource-aware (every node scored)",
        json: r#"{"kind": "resource-aware", "percentage_of_nodes_to_score": 100}"#,
    },
    Benched {
        label: "resource-aware (all terms, cpu cap 0.9)",
        json: r#"{"kind": "resource-aware",
                  "weights": {"least_allocated": 1.0, "most_allocated": 0.5, "balanced_allocation": 1.0, "queue": 1.0},
                  "resources": {"cpu_cores": 1.0, "memory_gb": 1.0, "gpus": 1.0, "fpgas": 1.0},
                  "max_cpu_utilization": 0.9}"#,
    },
    Benched {
        label: "resource-aware (8 terms, filters, profile, threshold)",
        json: r#"{"kind": "resource-aware",
                  "weights": {"least_allocated": 1.0, "balanced_allocation": 1.0, "tetris": 1.0, "demand_fit": 1.0,
                              "efficiency": 1.0, "response_time": 1.0, "queue": 1.0},
                  "max_utilization": {"memory": 0.95}, "reserve_accelerators": true,
                  "profiles": [{"min_priority": 5, "weights": {"most_allocated": 1.0}}],
                  "min_score": 1.0, "retry_after_s": 0.5, "decay_s": 10.0, "latency_scale_s": 1.0,
                  "percentage_of_nodes_to_score": 0}"#,
    },
    Benched {
        label: "online-learning (sample 8)",
        json: r#"{"kind": "online-learning", "ridge": 1.0, "forgetting": 0.999, "exploration": 0.5,
                  "warmup": 50, "sample": 8, "decay_s": 10.0}"#,
    },
    Benched {
        label: "hybrid blend least-connections + response-time (sample 8)",
        json: r#"{"kind": "hybrid", "blend": [{"weight": 0.7, "balancer": {"kind": "least-connections"}},
                  {"weight": 0.3, "balancer": {"kind": "response-time"}}], "sample": 8}"#,
    },
    Benched {
        label: "batch greedy (64 tasks)",
        json: r#"{"kind": "batch", "window_s": 1.0, "batch_size": 64, "optimiser": {"kind": "greedy"},
                  "objective": "makespan"}"#,
    },
    Benched {
        label: "batch genetic (64 tasks)",
        json: r#"{"kind": "batch", "optimiser": {"kind": "genetic"}, "objective": {"weighted": {"makespan": 1.0, "balance": 1.0}}}"#,
    },
    Benched {
        label: "batch simulated-annealing (64 tasks)",
        json: r#"{"kind": "batch", "optimiser": {"kind": "simulated-annealing"}, "objective": "balance"}"#,
    },
    Benched {
        label: "batch particle-swarm (64 tasks)",
        json: r#"{"kind": "batch", "optimiser": {"kind": "particle-swarm"}, "objective": "balance"}"#,
    },
    Benched {
        label: "batch ant-colony (64 tasks)",
        json: r#"{"kind": "batch", "optimiser": {"kind": "ant-colony"}, "objective": "balance"}"#,
    },
];

/// The benchmarked configurations, parsed.
///
/// # Panics
/// If an entry of [`BENCHED`] does not parse or has problems (a test checks that none does).
pub fn benched() -> Vec<(&'static str, BalancerConfig)> {
    BENCHED
        .iter()
        .map(|b| {
            let config: BalancerConfig =
                serde_json::from_str(b.json).unwrap_or_else(|e| panic!("BENCHED {:?}: {e}", b.label));
            let problems = config.problems();
            assert!(problems.is_empty(), "BENCHED {:?}: {problems:?}", b.label);
            (b.label, config)
        })
        .collect()
}

/// A node group of the synthetic cluster.
struct Group {
    /// Share of the nodes.
    share: f64,
    capacity: ResourceUnits,
    /// Speeds are drawn uniformly in this range.
    speed: (f64, f64),
}

const GROUPS: [Group; 4] = [
    Group {
        share: 0.45,
        capacity: ResourceUnits {
            cpu_cores: 16.0,
            memory_gb: 64.0,
            disk_gb: 500.0,
            net_gbps: 10.0,
            gpus: 0.0,
            fpgas: 0.0,
        },
        speed: (0.5, 1.0),
    },
    Group {
        share: 0.30,
        capacity: ResourceUnits {
            cpu_cores: 64.0,
            memory_gb: 256.0,
            disk_gb: 2000.0,
            net_gbps: 25.0,
            gpus: 0.0,
            fpgas: 0.0,
        },
        speed: (1.0, 2.0),
    },
    Group {
        share: 0.15,
        capacity: ResourceUnits {
            cpu_cores: 32.0,
            memory_gb: 256.0,
            disk_gb: 1000.0,
            net_gbps: 25.0,
            gpus: 4.0,
            fpgas: 0.0,
        },
        speed: (1.0, 2.0),
    },
    Group {
        share: 0.10,
        capacity: ResourceUnits {
            cpu_cores: 16.0,
            memory_gb: 128.0,
            disk_gb: 500.0,
            net_gbps: 10.0,
            gpus: 0.0,
            fpgas: 2.0,
        },
        speed: (0.8, 1.5),
    },
];

/// A task class of the synthetic workload.
struct Class {
    demand: ResourceUnits,
    expected_work_s: f64,
}

/// Number of task classes.
pub const N_CLASSES: usize = 4;

const CLASSES: [Class; N_CLASSES] = [
    // Web request: one core.
    Class {
        demand: ResourceUnits { cpu_cores: 1.0, memory_gb: 2.0, disk_gb: 0.0, net_gbps: 0.1, gpus: 0.0, fpgas: 0.0 },
        expected_work_s: 0.5,
    },
    // Memory-heavy batch job: at most two fit a small node.
    Class {
        demand: ResourceUnits { cpu_cores: 2.0, memory_gb: 32.0, disk_gb: 10.0, net_gbps: 0.0, gpus: 0.0, fpgas: 0.0 },
        expected_work_s: 20.0,
    },
    // GPU training: only GPU nodes are candidates.
    Class {
        demand: ResourceUnits { cpu_cores: 8.0, memory_gb: 64.0, disk_gb: 50.0, net_gbps: 1.0, gpus: 1.0, fpgas: 0.0 },
        expected_work_s: 120.0,
    },
    // FPGA inference: only FPGA nodes are candidates.
    Class {
        demand: ResourceUnits { cpu_cores: 2.0, memory_gb: 8.0, disk_gb: 0.0, net_gbps: 0.5, gpus: 0.0, fpgas: 1.0 },
        expected_work_s: 2.0,
    },
];

/// The classes of successive tasks, repeated: 60 % web, 20 % memory-heavy, 10 % GPU, 10 % FPGA.
pub const TASK_CYCLE: [usize; 10] = [0, 0, 1, 0, 2, 0, 0, 1, 0, 3];

/// How busy a node is, fixed per node; heartbeats redraw its tasks within its level.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Level {
    /// Nothing running.
    Idle,
    /// CPU utilisation drawn in 10–50 %, no queue.
    Light,
    /// CPU utilisation drawn in 75–100 %, 1–8 tasks queued.
    Busy,
}

/// A generated cluster view and the per-class task counts behind it.
#[derive(Clone, Debug)]
pub struct SyntheticCluster {
    specs: Vec<NodeSpec>,
    loads: Vec<NodeLoad>,
    used: Vec<Resources>,
    levels: Vec<Level>,
    running: Vec<[u32; N_CLASSES]>,
    queued: Vec<[u32; N_CLASSES]>,
    in_flight: Vec<[u32; N_CLASSES]>,
    demands: [Resources; N_CLASSES],
    candidates: [Vec<NodeId>; N_CLASSES],
    rng: ChaCha8Rng,
}

impl SyntheticCluster {
    /// `n_nodes` nodes in the four groups (45 % small CPU, 30 % large CPU, 15 % GPU, 10 % FPGA,
    /// dense ids in group order), a quarter idle, a third lightly loaded and the rest busy, one in
    /// ten with a task or two in flight. The same seed gives the same cluster.
    pub fn generate(n_nodes: usize, seed: u64) -> SyntheticCluster {
        let mut rng = stream(seed, CLUSTER_STREAM);
        let mut specs = Vec::with_capacity(n_nodes);
        let mut assigned = 0usize;
        for (g, group) in GROUPS.iter().enumerate() {
            let count = if g + 1 == GROUPS.len() {
                n_nodes - assigned
            } else {
                ((group.share * n_nodes as f64).round() as usize).min(n_nodes - assigned)
            };
            assigned += count;
            let capacity = group.capacity.to_resources();
            for _ in 0..count {
                let speed = rng.random_range(group.speed.0..=group.speed.1);
                specs.push(NodeSpec { capacity, speed });
            }
        }
        let demands = CLASSES.map(|c| c.demand.to_resources());
        let candidates = std::array::from_fn(|c| {
            (0..n_nodes as u32).map(NodeId).filter(|n| demands[c].fits_in(&specs[n.index()].capacity)).collect()
        });
        let levels = (0..n_nodes)
            .map(|_| match rng.random::<f64>() {
                u if u < 0.25 => Level::Idle,
                u if u < 0.60 => Level::Light,
                _ => Level::Busy,
            })
            .collect();
        let mut cluster = SyntheticCluster {
            loads: vec![NodeLoad::default(); n_nodes],
            used: vec![Resources::ZERO; n_nodes],
            running: vec![[0; N_CLASSES]; n_nodes],
            queued: vec![[0; N_CLASSES]; n_nodes],
            in_flight: vec![[0; N_CLASSES]; n_nodes],
            specs,
            levels,
            demands,
            candidates,
            rng,
        };
        for node in 0..n_nodes {
            cluster.heartbeat(node);
            // Some dispatches the latest report does not reflect yet, where they fit.
            if cluster.rng.random::<f64>() < 0.1 {
                for _ in 0..cluster.rng.random_range(1..=2) {
                    let class = cluster.random_class_for(node);
                    let after = cluster.used[node].plus(&cluster.demands[class]);
                    if after.fits_in(&cluster.specs[node].capacity) {
                        cluster.dispatch(NodeId(node as u32), class);
                    }
                }
            }
        }
        cluster
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// True if there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The view a balancer reads.
    pub fn view(&self) -> ClusterView<'_> {
        ClusterView::new(&self.specs, &self.loads, &self.used)
    }

    /// The nodes whose capacity can ever hold a task of `class`, as the simulator passes them.
    pub fn candidates(&self, class: usize) -> &[NodeId] {
        &self.candidates[class]
    }

    /// The `seq`-th task of the cycle.
    pub fn task(&self, seq: u64) -> TaskInfo {
        let class = TASK_CYCLE[(seq % TASK_CYCLE.len() as u64) as usize];
        TaskInfo {
            id: TaskId(seq),
            class: class as u32,
            priority: 0,
            demand: self.demands[class],
            expected_work_s: CLASSES[class].expected_work_s,
        }
    }

    /// The scheduler sent a task of `class` to `node`: one more in flight, its demand added to the
    /// believed use (as the simulator does, even beyond capacity: the task will queue there).
    #[inline]
    pub fn dispatch(&mut self, node: NodeId, class: usize) {
        let n = node.index();
        self.loads[n].in_flight += 1;
        self.in_flight[n][class] += 1;
        self.used[n].add_assign(&self.demands[class]);
    }

    /// A heartbeat from `node`: its in-flight tasks have arrived and tasks have come and gone, so
    /// its running and queued tasks are redrawn within its level and nothing is in flight.
    pub fn heartbeat(&mut self, node: usize) {
        let capacity = self.specs[node].capacity;
        let cores = capacity.get(Resource::Cpu) as f64;
        let (target, queue) = match self.levels[node] {
            Level::Idle => (0.0, 0),
            Level::Light => (self.rng.random_range(0.1..0.5), 0),
            Level::Busy => (self.rng.random_range(0.75..=1.0), self.rng.random_range(1..=8)),
        };
        let mut running = [0u32; N_CLASSES];
        let mut used = Resources::ZERO;
        let mut misses = 0;
        while target > 0.0 && misses < 8 {
            let class = self.random_class_for(node);
            let after = used.plus(&self.demands[class]);
            if after.fits_in(&capacity) && after.get(Resource::Cpu) as f64 <= target * cores {
                running[class] += 1;
                used = after;
            } else {
                misses += 1;
            }
        }
        let mut queued = [0u32; N_CLASSES];
        for _ in 0..queue {
            queued[self.random_class_for(node)] += 1;
        }
        self.running[node] = running;
        self.queued[node] = queued;
        self.in_flight[node] = [0; N_CLASSES];
        self.loads[node] = NodeLoad { running: running.iter().sum(), queued: queued.iter().sum(), in_flight: 0 };
        self.used[node] = used;
    }

    /// A class from the task cycle that `node` can hold (web, which every node can, if the draw
    /// cannot).
    fn random_class_for(&mut self, node: usize) -> usize {
        let class = TASK_CYCLE[self.rng.random_range(0..TASK_CYCLE.len())];
        if self.demands[class].fits_in(&self.specs[node].capacity) {
            class
        } else {
            0
        }
    }

    /// Checks that the view agrees with the tasks behind it: each node's counts are the sums of
    /// its per-class counts and its believed use is the demand of its running and in-flight tasks.
    /// With `within_capacity`, also that running tasks fit (in-flight ones may overflow a node, as
    /// in the simulator, once [`dispatch`](Self::dispatch) has been called freely).
    pub fn check(&self, within_capacity: bool) -> Result<(), String> {
        for n in 0..self.len() {
            let load = self.loads[n];
            let sum = |counts: &[u32; N_CLASSES]| counts.iter().sum::<u32>();
            if load.running != sum(&self.running[n])
                || load.queued != sum(&self.queued[n])
                || load.in_flight != sum(&self.in_flight[n])
            {
                return Err(format!("node {n}: load {load:?} disagrees with its per-class counts"));
            }
            let mut used = Resources::ZERO;
            let mut running_use = Resources::ZERO;
            for c in 0..N_CLASSES {
                for _ in 0..self.running[n][c] {
                    running_use.add_assign(&self.demands[c]);
                }
                for _ in 0..self.running[n][c] + self.in_flight[n][c] {
                    used.add_assign(&self.demands[c]);
                }
            }
            if used != self.used[n] {
                return Err(format!("node {n}: used {:?}, tasks hold {used:?}", self.used[n]));
            }
            if !running_use.fits_in(&self.specs[n].capacity) {
                return Err(format!("node {n}: running tasks hold {running_use:?}, beyond capacity"));
            }
            if within_capacity && !used.fits_in(&self.specs[n].capacity) {
                return Err(format!("node {n}: used {used:?} beyond capacity {:?}", self.specs[n].capacity));
            }
        }
        Ok(())
    }
}

/// A heartbeat redraws one node every this many decisions.
pub const DECISIONS_PER_HEARTBEAT: u64 = 2;
/// Most decisions timed together in one block ([`Cost::block_median_ns`]).
pub const MAX_BLOCK: usize = 256;
/// Blocks are sized to last about this long.
pub const BLOCK_TARGET: Duration = Duration::from_micros(10);
/// Individually timed decisions between two blocks.
pub const ROUND: usize = 64;

/// Decisions per block for decisions of about `decision_ns` each: enough to fill
/// [`BLOCK_TARGET`], between 1 and [`MAX_BLOCK`].
pub fn block_size_for(decision_ns: f64) -> usize {
    let k = BLOCK_TARGET.as_nanos() as f64 / decision_ns.max(1.0);
    (k.round() as usize).clamp(1, MAX_BLOCK)
}
/// Tasks per [`Balancer::assign`] call when a batch balancer is measured.
pub const BATCH_TASKS: usize = 64;

/// The wall clock: the decision-cost report measures time on the machine, not simulated time.
#[inline]
fn wall_clock() -> Instant {
    // Allowed here only: decision cost is the one figure Fulcrum takes from the wall clock.
    #[allow(clippy::disallowed_methods)]
    Instant::now()
}

/// A balancer placing the synthetic task cycle on a [`SyntheticCluster`], step by step.
pub struct DecisionLoop {
    cluster: SyntheticCluster,
    balancer: Box<dyn Balancer>,
    rng: ChaCha8Rng,
    /// Draws of the synthetic completions.
    outcome_rng: ChaCha8Rng,
    now: Time,
    /// `now` advances by this per decision: each node hears a heartbeat about once a second.
    step: Span,
    seq: u64,
    heartbeat_cursor: usize,
    feedback: bool,
    /// Dispatches of the current block, settled (completions, heartbeats) after it.
    dispatched: Vec<(NodeId, usize)>,
    batch: Vec<TaskInfo>,
    batch_out: Vec<Option<NodeId>>,
}

impl DecisionLoop {
    /// `config`'s balancer on a synthetic cluster of `n_nodes`; the cluster, the synthetic
    /// completions and the balancer each draw from their own stream of `seed`, so the same seed
    /// gives the same decisions. Not warmed up: see [`warm_up`](Self::warm_up).
    pub fn new(config: &BalancerConfig, n_nodes: usize, seed: u64) -> DecisionLoop {
        let balancer = config.build();
        let feedback = balancer.wants_feedback();
        DecisionLoop {
            cluster: SyntheticCluster::generate(n_nodes, seed),
            balancer,
            rng: stream(seed, BALANCER_STREAM),
            outcome_rng: stream(seed, OUTCOME_STREAM),
            now: Time::from_secs_f64(3600.0),
            step: Span((5e8 / n_nodes.max(1) as f64).round().max(1.0) as u64),
            seq: 0,
            heartbeat_cursor: 0,
            feedback,
            dispatched: Vec::with_capacity(BATCH_TASKS.max(MAX_BLOCK)),
            batch: Vec::with_capacity(BATCH_TASKS.max(MAX_BLOCK)),
            batch_out: Vec::with_capacity(BATCH_TASKS),
        }
    }

    /// True if the balancer places batches ([`Balancer::batching`] is `Some`).
    pub fn is_batch(&self) -> bool {
        self.balancer.batching().is_some()
    }

    /// The cluster as it stands.
    pub fn cluster(&self) -> &SyntheticCluster {
        &self.cluster
    }

    /// Feeds a learner `completions` synthetic outcomes (latency = expected work / speed × (1 +
    /// tasks per core) × a uniform jitter in 0.5–1.5, on nodes drawn uniformly among the
    /// candidates), then makes `picks` untimed decisions so caches and counters settle.
    pub fn warm_up(&mut self, completions: usize, picks: usize) {
        if self.feedback {
            for i in 0..completions {
                let class = TASK_CYCLE[i % TASK_CYCLE.len()];
                let n_candidates = self.cluster.candidates[class].len();
                if n_candidates == 0 {
                    continue;
                }
                let node = self.cluster.candidates[class][self.outcome_rng.random_range(0..n_candidates)];
                self.now += self.step;
                let outcome = self.synthetic_outcome(TaskId(u64::MAX - i as u64), node, class);
                self.balancer.observe(&outcome, self.now);
            }
        }
        for _ in 0..picks {
            let task = self.next_task();
            let class = task.class as usize;
            let view = self.cluster.view();
            let picked = self.balancer.pick(&task, self.cluster.candidates(class), &view, self.now, &mut self.rng);
            if let Some(node) = picked {
                self.cluster.dispatch(node, class);
                self.dispatched.push((node, class));
            }
            self.settle();
        }
    }

    fn synthetic_outcome(&mut self, task: TaskId, node: NodeId, class: usize) -> Outcome {
        let spec = self.cluster.specs[node.index()];
        let cores = (spec.capacity.get(Resource::Cpu) as f64 / 1000.0).max(1.0);
        let tasks = f64::from(self.cluster.loads[node.index()].tasks());
        let jitter = self.outcome_rng.random_range(0.5..1.5);
        let work = CLASSES[class].expected_work_s;
        let latency_s = work / spec.speed * (1.0 + tasks / cores) * jitter;
        Outcome { task, node, latency: Span::from_secs_f64(latency_s), expected_work_s: work, completed: true }
    }

    fn next_task(&mut self) -> TaskInfo {
        let task = self.cluster.task(self.seq);
        self.seq += 1;
        self.now += self.step;
        task
    }

    /// After the timed region: learners hear of one completion per dispatch, and heartbeats
    /// redraw one node per [`DECISIONS_PER_HEARTBEAT`] decisions.
    fn settle(&mut self) {
        for i in 0..self.dispatched.len() {
            let (node, class) = self.dispatched[i];
            if self.feedback {
                let outcome = self.synthetic_outcome(TaskId(self.seq), node, class);
                self.balancer.observe(&outcome, self.now);
            }
        }
        self.dispatched.clear();
        while self.heartbeat_cursor as u64 * DECISIONS_PER_HEARTBEAT < self.seq {
            let node = self.heartbeat_cursor % self.cluster.len().max(1);
            if !self.cluster.is_empty() {
                self.cluster.heartbeat(node);
            }
            self.heartbeat_cursor += 1;
        }
    }

    /// One decision timed on its own (the pick only; bookkeeping follows untimed). Nanoseconds.
    pub fn timed_pick(&mut self) -> u64 {
        let task = self.next_task();
        let class = task.class as usize;
        let view = self.cluster.view();
        let candidates = self.cluster.candidates(class);
        let started = wall_clock();
        let picked = self.balancer.pick(&task, candidates, &view, self.now, &mut self.rng);
        let elapsed = started.elapsed();
        if let Some(node) = black_box(picked) {
            self.cluster.dispatch(node, class);
            self.dispatched.push((node, class));
        }
        self.settle();
        elapsed.as_nanos() as u64
    }

    /// `k` decisions timed together, each followed by its dispatch (two counters and one
    /// resource vector: what a scheduler does anyway); completions and heartbeats follow untimed.
    pub fn timed_block(&mut self, k: usize) -> Duration {
        let mut total = Duration::ZERO;
        let mut left = k;
        while left > 0 {
            let this = left.min(MAX_BLOCK);
            left -= this;
            // Tasks drawn and time advanced before the clock starts, as for a single pick.
            self.batch.clear();
            for _ in 0..this {
                let task = self.next_task();
                self.batch.push(task);
            }
            let started = wall_clock();
            for task in &self.batch {
                let class = task.class as usize;
                let view = self.cluster.view();
                let picked = self.balancer.pick(task, &self.cluster.candidates[class], &view, self.now, &mut self.rng);
                if let Some(node) = black_box(picked) {
                    self.cluster.dispatch(node, class);
                    self.dispatched.push((node, class));
                }
            }
            total += started.elapsed();
            self.settle();
        }
        total
    }

    /// One [`Balancer::assign`] of [`BATCH_TASKS`] tasks, timed; returns the time and how many
    /// tasks were placed. Works for any balancer (the default `assign` picks one at a time).
    pub fn timed_batch(&mut self) -> (Duration, usize) {
        self.batch.clear();
        for _ in 0..BATCH_TASKS {
            let task = self.next_task();
            self.batch.push(task);
        }
        let cluster = &self.cluster;
        let candidates: Vec<&[NodeId]> = self.batch.iter().map(|t| cluster.candidates(t.class as usize)).collect();
        let view = cluster.view();
        let started = wall_clock();
        self.balancer.assign(&self.batch, &candidates, &view, self.now, &mut self.rng, &mut self.batch_out);
        let elapsed = started.elapsed();
        let mut placed = 0;
        for (task, node) in self.batch.iter().zip(black_box(&self.batch_out)) {
            if let Some(node) = *node {
                self.cluster.dispatch(node, task.class as usize);
                self.dispatched.push((node, task.class as usize));
                placed += 1;
            }
        }
        self.settle();
        (elapsed, placed)
    }
}

/// What one figure of a [`Cost`] is per.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Per {
    /// One `pick`.
    Decision,
    /// One `assign` of this many tasks.
    Batch {
        /// Tasks in the batch.
        tasks: usize,
    },
}

/// Measured wall-clock cost of a balancer's decisions, nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cost {
    /// What the figures are per.
    pub per: Per,
    /// Individually timed decisions (or batches).
    pub samples: usize,
    /// Median of the individually timed decisions (each includes one timer reading, see
    /// [`timer_overhead_ns`]).
    pub median_ns: f64,
    /// 99th percentile (nearest rank) of the individually timed decisions.
    pub p99_ns: f64,
    /// Mean of the individually timed decisions.
    pub mean_ns: f64,
    /// Blocks of [`block_size`](Self::block_size) decisions timed together: the median over
    /// blocks of the mean time per decision in the block. Free of the timer's overhead, so the
    /// figure to read for decisions well below 1 µs; robust to the odd preempted block. For
    /// batches, equal to `median_ns` (each batch is one timed call).
    pub block_median_ns: f64,
    /// Decisions per block ([`block_size_for`] the median of a first few decisions); 1 for
    /// batches.
    pub block_size: usize,
}

impl Cost {
    /// Tasks each figure covers: 1 per decision, the batch size per batch.
    pub fn tasks_per_sample(&self) -> usize {
        match self.per {
            Per::Decision => 1,
            Per::Batch { tasks } => tasks,
        }
    }
}

/// How to measure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeasureOptions {
    /// Cluster size.
    pub n_nodes: usize,
    /// Individually timed decisions (batches, for a batch balancer); as many again are timed in
    /// blocks for [`Cost::block_median_ns`].
    pub decisions: usize,
    /// Seed of the cluster, the task cycle and the balancer's stream.
    pub seed: u64,
    /// Time `assign` on batches even if the balancer does not ask for batching.
    pub force_batch: bool,
    /// Stop early, after at least a tenth of `decisions`, once this much wall time is spent.
    pub budget: Option<Duration>,
}

impl MeasureOptions {
    /// `decisions` decisions on `n_nodes` nodes, seed 1, no time budget.
    pub fn new(n_nodes: usize, decisions: usize) -> MeasureOptions {
        MeasureOptions { n_nodes, decisions, seed: 1, force_batch: false, budget: None }
    }
}

/// Synthetic completions fed to a learner before timing: a few thousand, and two per node.
pub fn warm_up_completions(n_nodes: usize) -> usize {
    4_000.max(2 * n_nodes)
}

/// `config`'s decision cost on `n_nodes` nodes over `decisions` timed decisions (seed 1).
pub fn measure(config: &BalancerConfig, n_nodes: usize, decisions: usize) -> Cost {
    measure_with(config, &MeasureOptions::new(n_nodes, decisions))
}

/// `config`'s decision cost as `options` say: the balancer is built, warmed up (learners first
/// hear [`warm_up_completions`] outcomes; then a tenth of `decisions`, at least 100, untimed
/// picks), then rounds of [`ROUND`] individually timed decisions alternate with one block timed
/// together, so that background load hits both alike. A batch balancer is timed per `assign`.
pub fn measure_with(config: &BalancerConfig, options: &MeasureOptions) -> Cost {
    let mut run = DecisionLoop::new(config, options.n_nodes, options.seed);
    let started = wall_clock();
    let decisions = options.decisions.max(1);
    let over_budget =
        |done: usize| options.budget.is_some_and(|b| done >= (decisions / 10).max(1) && started.elapsed() > b);
    if options.force_batch || run.is_batch() {
        run.warm_up(warm_up_completions(options.n_nodes), 0);
        for _ in 0..(decisions / 10).clamp(1, 10) {
            run.timed_batch();
        }
        let mut samples = Vec::with_capacity(decisions);
        while samples.len() < decisions && !over_budget(samples.len()) {
            let (t, _) = run.timed_batch();
            samples.push(t.as_nanos() as u64);
        }
        let (median_ns, p99_ns, mean_ns) = summarise(&mut samples);
        return Cost {
            per: Per::Batch { tasks: BATCH_TASKS },
            samples: samples.len(),
            median_ns,
            p99_ns,
            mean_ns,
            block_median_ns: median_ns,
            block_size: 1,
        };
    }
    run.warm_up(warm_up_completions(options.n_nodes), (decisions / 10).max(100));
    let mut first: Vec<u64> = (0..32).map(|_| run.timed_pick()).collect();
    let block_size = block_size_for(summarise(&mut first).0);
    let mut samples = Vec::with_capacity(decisions);
    let mut blocks = Vec::with_capacity(decisions / ROUND + 1);
    while samples.len() < decisions && !over_budget(samples.len()) {
        for _ in 0..ROUND.min(decisions - samples.len()) {
            samples.push(run.timed_pick());
        }
        // Per-decision mean of the block, in hundredths of a nanosecond to keep integer samples.
        blocks.push((run.timed_block(block_size).as_nanos() * 100 / block_size as u128) as u64);
    }
    let (median_ns, p99_ns, mean_ns) = summarise(&mut samples);
    let block_median_ns = summarise(&mut blocks).0 / 100.0;
    Cost { per: Per::Decision, samples: samples.len(), median_ns, p99_ns, mean_ns, block_median_ns, block_size }
}

/// Median, p99 (nearest rank) and mean; sorts `samples`. Zeros for no samples.
fn summarise(samples: &mut [u64]) -> (f64, f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    samples.sort_unstable();
    let rank = |q: f64| samples[((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1] as f64;
    let mean = samples.iter().map(|&s| s as f64).sum::<f64>() / samples.len() as f64;
    (rank(0.5), rank(0.99), mean)
}

/// Median cost of one timed empty region (two clock readings), nanoseconds: what each
/// individually timed decision carries on top of its own cost.
pub fn timer_overhead_ns() -> f64 {
    let mut samples: Vec<u64> = (0..10_001)
        .map(|_| {
            let started = wall_clock();
            black_box(());
            started.elapsed().as_nanos() as u64
        })
        .collect();
    summarise(&mut samples).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use fulcrum_strategies::{catalogue, Role};

    #[test]
    fn a_balancer_that_does_not_read_used_decides_the_same_without_it() {
        // The simulator leaves a view's `used` at zero when its balancer says it does not read it.
        let cluster = SyntheticCluster::generate(500, 3);
        let zero = vec![Resources::ZERO; cluster.len()];
        let blind = ClusterView::new(&cluster.specs, &cluster.loads, &zero);
        let mut checked = Vec::new();
        for (label, config) in benched() {
            let (mut a, mut b) = (config.build(), config.build());
            if a.reads_used() {
                continue;
            }
            checked.push(label);
            let (mut rng_a, mut rng_b) = (ChaCha8Rng::seed_from_u64(1), ChaCha8Rng::seed_from_u64(1));
            for seq in 0..300 {
                let task = cluster.task(seq);
                let candidates = cluster.candidates(task.class as usize);
                let now = Time(seq * 1_000_000);
                let seen = a.pick(&task, candidates, &cluster.view(), now, &mut rng_a);
                assert_eq!(seen, b.pick(&task, candidates, &blind, now, &mut rng_b), "{label}, decision {seq}");
            }
            assert_eq!(rng_a.random::<u64>(), rng_b.random::<u64>(), "{label}: the same draws");
        }
        assert_eq!(checked, ["random", "round-robin", "least-connections", "power-of-d d=2", "power-of-d d=5"]);
    }

    #[test]
    fn the_view_is_deterministic_from_its_seed() {
        let a = SyntheticCluster::generate(300, 5);
        let b = SyntheticCluster::generate(300, 5);
        assert_eq!(a.specs, b.specs);
        assert_eq!(a.loads, b.loads);
        assert_eq!(a.used, b.used);
        let c = SyntheticCluster::generate(300, 6);
        assert_ne!(a.loads, c.loads, "another seed, another cluster");
    }

    #[test]
    fn the_view_is_consistent_and_heterogeneous() {
        let cluster = SyntheticCluster::generate(1000, 1);
        assert_eq!(cluster.len(), 1000);
        cluster.check(true).unwrap();
        let speeds: Vec<f64> = cluster.specs.iter().map(|s| s.speed).collect();
        assert!(speeds.iter().all(|&s| (0.5..=2.0).contains(&s)));
        assert!(speeds.iter().any(|&s| s < 0.7) && speeds.iter().any(|&s| s > 1.8), "speeds span 0.5–2");
        let gpu_nodes = cluster.specs.iter().filter(|s| s.capacity.get(Resource::Gpu) > 0).count();
        let fpga_nodes = cluster.specs.iter().filter(|s| s.capacity.get(Resource::Fpga) > 0).count();
        assert_eq!((gpu_nodes, fpga_nodes), (150, 100));
        assert_eq!(cluster.candidates(0).len(), 1000, "every node takes a web task");
        assert_eq!(cluster.candidates(2).len(), 150, "GPU tasks go to GPU nodes only");
        let idle = cluster.loads.iter().filter(|l| l.tasks() == 0).count();
        let queued = cluster.loads.iter().filter(|l| l.queued > 0).count();
        // A quarter idle and 40 % busy with a queue, within sampling error (n = 1000: sd ≈ 1.5 %).
        assert!((200..=300).contains(&idle), "{idle} idle nodes");
        assert!((340..=460).contains(&queued), "{queued} nodes with a queue");
        assert!(cluster.loads.iter().any(|l| l.in_flight > 0));
        // Busy nodes are busy: some small node runs at least 12 of its 16 cores.
        assert!(cluster
            .used
            .iter()
            .zip(&cluster.specs)
            .any(|(u, s)| 4 * u.get(Resource::Cpu) >= 3 * s.capacity.get(Resource::Cpu) && u.get(Resource::Cpu) > 0));
    }

    #[test]
    fn dispatches_and_heartbeats_keep_the_view_consistent() {
        let config = BalancerConfig::LeastConnections {};
        let mut run = DecisionLoop::new(&config, 200, 3);
        run.warm_up(0, 500);
        for _ in 0..300 {
            run.timed_pick();
        }
        run.timed_block(200);
        run.cluster().check(false).unwrap();
        // 1000 decisions at one heartbeat per two: 500 heartbeats over 200 nodes, so every node
        // was redrawn and at most the last 2 × 200 decisions are still in flight.
        let in_flight: u32 = run.cluster().loads.iter().map(|l| l.in_flight).sum();
        assert!(in_flight > 0 && in_flight <= 400, "{in_flight} in flight");
    }

    #[test]
    fn the_task_cycle_mixes_the_classes() {
        let cluster = SyntheticCluster::generate(10, 1);
        let classes: Vec<u32> = (0..10).map(|i| cluster.task(i).class).collect();
        assert_eq!(classes.iter().filter(|&&c| c == 0).count(), 6);
        assert_eq!(classes.iter().filter(|&&c| c == 2).count(), 1);
        assert_eq!(cluster.task(12).demand, cluster.task(2).demand);
        assert_eq!(cluster.task(2).demand.get(Resource::Memory), 32_000);
    }

    #[test]
    fn measure_gives_sane_figures() {
        let cost = measure(&BalancerConfig::LeastConnections {}, 100, 300);
        assert_eq!(cost.per, Per::Decision);
        assert_eq!(cost.samples, 300);
        assert!((1..=MAX_BLOCK).contains(&cost.block_size), "{cost:?}");
        assert!(cost.median_ns > 0.0 && cost.median_ns <= cost.p99_ns, "{cost:?}");
        assert!(cost.mean_ns > 0.0 && cost.block_median_ns > 0.0, "{cost:?}");
        // Least connections scans 100 nodes: far below a millisecond, even in a loaded debug run.
        assert!(cost.block_median_ns < 1e6, "{cost:?}");
    }

    /// The loads after `completions` fed and `picks` individually timed decisions on 100 nodes.
    fn in_flight_after(config: &BalancerConfig, seed: u64, completions: usize, picks: usize) -> Vec<NodeLoad> {
        let mut run = DecisionLoop::new(config, 100, seed);
        run.warm_up(completions, 0);
        for _ in 0..picks {
            run.timed_pick();
        }
        run.cluster().loads.clone()
    }

    #[test]
    fn the_same_seed_gives_the_same_decisions() {
        for config in [BalancerConfig::PowerOfD { d: 2 }, BalancerConfig::LeastConnections {}] {
            let a = in_flight_after(&config, 8, 0, 150);
            assert_eq!(a, in_flight_after(&config, 8, 0, 150), "{config:?}");
            assert_ne!(a, in_flight_after(&config, 9, 0, 150), "{config:?}");
        }
    }

    #[test]
    fn learners_are_measured_after_warm_up() {
        let config: BalancerConfig = serde_json::from_str(r#"{"kind": "response-time"}"#).unwrap();
        assert!(DecisionLoop::new(&config, 10, 1).feedback);
        // The completions fed beforehand draw from their own stream, so the cluster and the
        // balancer's draws are the same with and without them: what differs is what it learned.
        let fresh = in_flight_after(&config, 2, 0, 150);
        let warmed = in_flight_after(&config, 2, warm_up_completions(100), 150);
        assert_ne!(fresh, warmed, "4000 completions changed no decision");
        // A balancer that ignores completions is not fed any.
        let p2c = BalancerConfig::PowerOfD { d: 2 };
        assert_eq!(in_flight_after(&p2c, 2, 0, 150), in_flight_after(&p2c, 2, 4000, 150));
        let cost = measure(&config, 50, 100);
        assert!(cost.median_ns > 0.0 && cost.median_ns <= cost.p99_ns, "{cost:?}");
    }

    #[test]
    fn the_batch_path_times_assign_per_batch() {
        let config = BalancerConfig::RoundRobin {};
        let mut run = DecisionLoop::new(&config, 100, 4);
        assert!(!run.is_batch());
        let before: u32 = run.cluster().loads.iter().map(|l| l.in_flight).sum();
        let (elapsed, placed) = run.timed_batch();
        assert!(elapsed > Duration::ZERO);
        assert_eq!(placed, BATCH_TASKS, "round robin places every task");
        run.cluster().check(false).unwrap();
        // 64 dispatches, then 32 heartbeats (nodes 0..32) which clear what was in flight there.
        let after: u32 = run.cluster().loads.iter().map(|l| l.in_flight).sum();
        let cleared: u32 = run.cluster().loads[..32].iter().map(|l| l.in_flight).sum();
        assert_eq!(cleared, 0);
        assert!(after <= before + BATCH_TASKS as u32 && after > 0, "{before} -> {after}");

        let options = MeasureOptions { force_batch: true, ..MeasureOptions::new(100, 20) };
        let cost = measure_with(&config, &options);
        assert_eq!(cost.per, Per::Batch { tasks: BATCH_TASKS });
        assert_eq!(cost.tasks_per_sample(), BATCH_TASKS);
        assert_eq!(cost.samples, 20);
        assert!(cost.median_ns > 0.0 && cost.median_ns <= cost.p99_ns, "{cost:?}");
        assert_eq!(cost.block_median_ns, cost.median_ns);
        assert_eq!(measure(&config, 100, 20).per, Per::Decision, "round robin is not a batch balancer");
    }

    #[test]
    fn blocks_last_about_ten_microseconds() {
        assert_eq!(block_size_for(20.0), 500.min(MAX_BLOCK));
        assert_eq!(block_size_for(100.0), 100);
        assert_eq!(block_size_for(3_000.0), 3);
        assert_eq!(block_size_for(40_000.0), 1);
        assert_eq!(block_size_for(0.0), MAX_BLOCK);
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let mut xs: Vec<u64> = (1..=200).rev().collect();
        assert_eq!(summarise(&mut xs), (100.0, 198.0, 100.5));
        assert_eq!(summarise(&mut [7]), (7.0, 7.0, 7.0));
        assert_eq!(summarise(&mut []), (0.0, 0.0, 0.0));
    }

    #[test]
    fn every_benched_configuration_parses_and_labels_are_unique() {
        let configs = benched();
        assert_eq!(configs.len(), BENCHED.len());
        for (i, (label, _)) in configs.iter().enumerate() {
            assert!(configs[..i].iter().all(|(l, _)| l != label), "label {label:?} twice");
        }
    }

    #[test]
    fn every_catalogued_balancer_is_benched() {
        let configs = benched();
        let missing: Vec<&str> = catalogue()
            .iter()
            .filter(|info| info.role == Role::Balancer)
            .map(|info| info.kind)
            .filter(|kind| !configs.iter().any(|(_, c)| c.kind() == *kind))
            .collect();
        assert!(missing.is_empty(), "balancers without a decision-cost bench (add them to BENCHED): {missing:?}");
    }

    #[test]
    fn every_catalogued_parameter_is_benched() {
        // A parameter of a kind (a new form of it, such as a blending hybrid) must be written out
        // in at least one benched configuration of that kind.
        let mut missing = Vec::new();
        for info in catalogue().iter().filter(|info| info.role == Role::Balancer) {
            let written: Vec<serde_json::Value> = BENCHED
                .iter()
                .map(|b| serde_json::from_str::<serde_json::Value>(b.json).unwrap())
                .filter(|v| v["kind"] == info.kind)
                .collect();
            for param in info.params {
                if !written.iter().any(|v| v.get(param.name).is_some()) {
                    missing.push(format!("{}.{}", info.kind, param.name));
                }
            }
        }
        assert!(missing.is_empty(), "parameters no benched configuration writes out: {missing:?}");
    }
}
