//! Batch placement: collect tasks for a window (or until a batch is full), then assign the whole
//! batch at once with an optimiser over an explicit objective.
//!
//! # The model
//!
//! A [`Problem`] is built from the batch (`tasks`), each task's feasible nodes (`candidates[i]`)
//! and the scheduler's [`ClusterView`]. Task `i` may go only to a node of `candidates[i]`; a task
//! without candidates is left out of the problem (and out of the plan: it keeps waiting).
//!
//! - **Work** of task `i`: `w_i = expected_work_s × max(cpu cores of its demand, 1)`, in
//!   core-seconds at speed 1 (non-finite or negative estimates count as 0).
//! - **Rate** of node `n`: `r_n = speed × max(cpu cores, 1)`, core-seconds of work per second
//!   (floored at [`MIN_RATE`] so that a node slowed to a halt is merely very unattractive).
//! - **Believed backlog** `B_n = tasks(n) × w̄`, where `tasks(n)` is the view's running + queued +
//!   in flight count and `w̄` the mean work of the batch. *This is an approximation*: the view
//!   counts tasks, not their remaining work, so every task already there is taken to be an
//!   average task of this batch, with all its work still to do.
//! - **Estimated finish** of node `n`: `F_n = (B_n + Σ_{i→n} w_i) / r_n`, over the *nodes in play*
//!   (the union of the candidates). Nodes outside play do not enter the objective.
//!
//! Nodes in play get dense local indices `0..P` (ordered by `(B_n + w̄) / r_n`, the finish time
//! of an average task alone on the node, ties by id), so every optimiser's state is
//! O(batch × candidates per task) and never O(cluster). Each task's candidate list is kept in
//! that order, which gives "nearby" list positions a meaning (the particle swarm decodes positions
//! in it, the ant colony's candidate list is a window of it around the greedy choice).
//!
//! # The objective ([`Objective`], lower is better)
//!
//! - `makespan`: `max_n F_n`;
//! - `balance`: the coefficient of variation of `F_n` over the nodes in play (population standard
//!   deviation over the mean; 0 is perfectly balanced);
//! - `weighted {makespan: a, balance: b}`: `a × makespan / LB + b × CV`, where
//!   `LB = (Σ_n B_n + Σ_i w_i) / Σ_n r_n` is the finish time of perfectly divisible work spread in
//!   proportion to the rates. `makespan ≥ LB` always (the maximum is at least the rate-weighted
//!   mean), so the first term is at least `a` and both terms are dimensionless.
//!
//! With backlogs, the makespan is often set by one node's backlog alone (`max_n B_n / r_n`), and
//! then every assignment that keeps the batch's nodes below it has the same makespan: the
//! objective is flat and no optimiser can improve on greedy. `weighted` breaks such ties.
//!
//! # The optimisers ([`Optimiser`], [`OptimiserConfig`])
//!
//! `greedy` (LPT list scheduling), `genetic`, `simulated-annealing`, `particle-swarm` and
//! `ant-colony`, one per file. Each meta-heuristic starts from the greedy solution and returns the
//! best assignment it evaluated, so it is **never worse than greedy** on its objective. Each has a
//! budget of objective **evaluations** (one per candidate assignment scored, full or incremental;
//! the greedy solution counts one) that it never exceeds, and draws randomness only from the `rng`
//! it is handed, so the same problem, objective and generator state give the same [`Plan`].
//!
//! Cost of an evaluation: O(nodes the batch touches) ≤ O(batch), by [`Evaluator`], which keeps
//! the per-node additions of the batch over precomputed sums of the untouched backlog. Building a
//! problem costs O(Σ candidates + P log P).
//!
//! **Measured** (`cargo run --release -p fulcrum-strategies --example batch_cost`: 64 tasks, every
//! node a candidate, default budgets of 2000 evaluations, one shared 2-core machine; per batch,
//! problem building included): greedy 0.02 ms at 100 nodes and 0.15–0.2 ms at 1,000; annealing
//! 0.3–0.9 ms; genetic 2–3 ms; particle swarm 3–5 ms; ant colony 12–14 ms. On the `balance`
//! objective they end 12% (annealing), 10% (genetic), 7% (swarm) and 1.5% (ant colony) below
//! greedy at 100 nodes, 4%, 3%, 2% and 0.1% at 1,000; on small instances (8 tasks, 3 nodes) they
//! reach the enumerated optimum in 78–91% of runs, greedy in 27% (see the tests).
//!
//! # Example
//!
//! ```
//! use fulcrum_strategies::balance::BalancerConfig;
//! use fulcrum_strategies::{ClusterView, NodeId, NodeLoad, NodeSpec, Resources, TaskId, TaskInfo, Time};
//! use rand_core::SeedableRng;
//!
//! // Two single-core nodes, the second twice as fast; three tasks of 2 s.
//! let specs = [
//!     NodeSpec { capacity: Resources([1000, 0, 0, 0, 0, 0]), speed: 1.0 },
//!     NodeSpec { capacity: Resources([1000, 0, 0, 0, 0, 0]), speed: 2.0 },
//! ];
//! let (loads, used) = ([NodeLoad::default(); 2], [Resources::ZERO; 2]);
//! let view = ClusterView::new(&specs, &loads, &used);
//! let task = |i| TaskInfo {
//!     id: TaskId(i), class: 0, priority: 0, demand: Resources([1000, 0, 0, 0, 0, 0]), expected_work_s: 2.0,
//! };
//! let tasks = [task(0), task(1), task(2)];
//! let all = [NodeId(0), NodeId(1)];
//!
//! let config: BalancerConfig = serde_json::from_str(
//!     r#"{"kind": "batch", "batch_size": 3, "optimiser": {"kind": "simulated-annealing", "evaluations": 200}}"#,
//! ).unwrap();
//! let mut balancer = config.build();
//! assert_eq!(balancer.batching().unwrap().size, 3);
//! let mut out = Vec::new();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! balancer.assign(&tasks, &[&all, &all, &all], &view, Time::ZERO, &mut rng, &mut out);
//! // Two tasks on the fast node (finish 2 s), one on the slow one (finish 2 s).
//! assert_eq!(out.iter().filter(|n| **n == Some(NodeId(1))).count(), 2);
//! ```

mod annealing;
mod ant_colony;
mod genetic;
mod greedy;
mod swarm;

pub use annealing::SimulatedAnnealing;
pub use ant_colony::AntColony;
pub use genetic::Genetic;
pub use greedy::Greedy;
pub use swarm::ParticleSwarm;

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use crate::balance::{uniform_index, Balancer, Batching};
use crate::{ClusterView, NodeId, NodeSpec, Resource, Span, TaskInfo, Time, MILLI};

/// Marks an unmapped slot.
const NONE: u32 = u32::MAX;

/// The smallest node rate: a node with no usable speed still has a finite (huge) finish time.
pub const MIN_RATE: f64 = 1e-9;

/// The largest evaluation budget accepted.
pub const MAX_EVALUATIONS: u64 = 10_000_000;

/// A task's work in core-seconds at speed 1: `expected_work_s × max(cpu cores, 1)`.
#[inline]
pub fn task_work(task: &TaskInfo) -> f64 {
    let w = task.expected_work_s;
    let w = if w.is_finite() && w > 0.0 { w } else { 0.0 };
    w * task.demand.units(Resource::Cpu).max(1.0)
}

/// A node's rate in core-seconds of work per second: `speed × max(cpu cores, 1)`, at least
/// [`MIN_RATE`].
#[inline]
pub fn node_rate(spec: &NodeSpec) -> f64 {
    (speed_by_milli_cores(spec) / MILLI as f64).max(MIN_RATE)
}

/// [`node_rate`] × 1000, without a division.
#[inline]
fn rate_milli(spec: &NodeSpec) -> f64 {
    speed_by_milli_cores(spec).max(MIN_RATE * MILLI as f64)
}

/// `speed × max(cpu milli-cores, 1000)`, with a non-finite or negative speed taken as 0.
#[inline]
fn speed_by_milli_cores(spec: &NodeSpec) -> f64 {
    let speed = if spec.speed.is_finite() && spec.speed > 0.0 { spec.speed } else { 0.0 };
    speed * spec.capacity.get(Resource::Cpu).max(MILLI) as f64
}

/// What the optimisers minimise. Lower is better.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Objective {
    /// The latest estimated finish time over the nodes in play, seconds.
    #[default]
    Makespan,
    /// The coefficient of variation of the estimated finish times over the nodes in play.
    Balance,
    /// `makespan × makespan / LB + balance × CV`.
    Weighted {
        /// Weight of the makespan over its lower bound.
        #[serde(default = "one")]
        makespan: f64,
        /// Weight of the coefficient of variation.
        #[serde(default = "one")]
        balance: f64,
    },
}

fn one() -> f64 {
    1.0
}

impl Objective {
    /// The objective's value from the statistics of the finish times: their maximum, mean,
    /// population standard deviation, and the lower bound `LB` (see the module doc).
    pub fn score(&self, makespan: f64, mean: f64, std_dev: f64, lower_bound: f64) -> f64 {
        let cv = || if mean > 0.0 { std_dev / mean } else { 0.0 };
        match *self {
            Objective::Makespan => makespan,
            Objective::Balance => cv(),
            Objective::Weighted { makespan: a, balance: b } => {
                let ratio = if lower_bound > 0.0 { makespan / lower_bound } else { 1.0 };
                a * ratio + b * cv()
            }
        }
    }

    /// Checks parameter ranges. Returns `(parameter, problem)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Objective::Weighted { makespan, balance } = *self {
            let ok = |w: f64| w.is_finite() && (0.0..=1e6).contains(&w);
            if !ok(makespan) || !ok(balance) || makespan + balance == 0.0 {
                out.push((
                    "objective",
                    format!(
                        "weighted: weights must be between 0 and 1000000, not both 0, got makespan {makespan}, balance {balance}"
                    ),
                ));
            }
        }
        out
    }
}

/// One batch as an assignment problem over dense local node indices (see the module doc).
///
/// Rebuild it for each batch with [`rebuild`](Self::rebuild): its buffers are reused.
#[derive(Clone, Debug, Default)]
pub struct Problem {
    /// Local index → node.
    nodes: Vec<NodeId>,
    /// Per local node: believed backlog `B_n`, core-seconds.
    backlog: Vec<f64>,
    /// Per local node: `1 / r_n`.
    inv_rate: Vec<f64>,
    /// Per local node: `B_n / r_n`.
    base_finish: Vec<f64>,
    /// Per problem task: its index in the batch.
    batch_index: Vec<u32>,
    /// Per problem task: its work `w_i`.
    work: Vec<f64>,
    /// Per problem task: where its candidate list starts in `pool`, and its length.
    lists: Vec<(u32, u32)>,
    /// Candidate lists, as local node indices in increasing order.
    pool: Vec<u32>,
    /// Problem tasks by decreasing work (ties by index).
    lpt: Vec<u32>,
    /// Centre of the deviation sums (the mean of `base_finish`).
    shift: f64,
    /// `Σ_n (base_finish_n − shift)`.
    base_dev: f64,
    /// `Σ_n (base_finish_n − shift)²`.
    base_dev2: f64,
    /// `max_n base_finish_n` (0 with no node).
    base_max: f64,
    /// `LB = (Σ B_n + Σ w_i) / Σ r_n`.
    lower_bound: f64,
    /// Scratch: global node index → local index, `NONE` outside play (all `NONE` between calls).
    local_of: Vec<u32>,
    /// Scratch: (ordering key, node id) while ordering the nodes in play.
    order: Vec<(f64, u32)>,
}

impl Problem {
    /// A problem for this batch; see [`rebuild`](Self::rebuild).
    pub fn new(tasks: &[TaskInfo], candidates: &[&[NodeId]], view: &ClusterView<'_>) -> Problem {
        let mut p = Problem::default();
        p.rebuild(tasks, candidates, view);
        p
    }

    /// Rebuilds the problem for a new batch, reusing the buffers. `candidates[i]` lists the nodes
    /// `tasks[i]` may go to (extra entries of the longer slice are ignored).
    ///
    /// # Panics
    /// If a candidate is not a node of `view`.
    pub fn rebuild(&mut self, tasks: &[TaskInfo], candidates: &[&[NodeId]], view: &ClusterView<'_>) {
        debug_assert_eq!(tasks.len(), candidates.len(), "one candidate list per task");
        self.nodes.clear();
        self.backlog.clear();
        self.inv_rate.clear();
        self.base_finish.clear();
        self.batch_index.clear();
        self.work.clear();
        self.lists.clear();
        self.pool.clear();
        self.lpt.clear();
        if self.local_of.len() < view.len() {
            self.local_of.resize(view.len(), NONE);
        }

        // The tasks that have candidates, and the nodes in play in order of first appearance.
        let mut total_work = 0.0;
        let mut previous: &[NodeId] = &[];
        for (i, (task, &cands)) in tasks.iter().zip(candidates).enumerate() {
            if cands.is_empty() {
                continue;
            }
            self.batch_index.push(i as u32);
            let w = task_work(task);
            self.work.push(w);
            total_work += w;
            if same_slice(cands, previous) {
                continue;
            }
            previous = cands;
            for &c in cands {
                let slot = &mut self.local_of[c.index()];
                if *slot == NONE {
                    *slot = 0; // marked; the local index is assigned once the nodes are ordered
                    self.nodes.push(c);
                }
            }
        }
        let n_tasks = self.work.len();
        let mean_work = if n_tasks > 0 { total_work / n_tasks as f64 } else { 0.0 };

        // Order the nodes in play by the finish time of an average task alone there, then by id.
        self.order.clear();
        for &node in &self.nodes {
            let backlog = f64::from(view.load(node).tasks()) * mean_work;
            self.order.push(((backlog + mean_work) / node_rate(view.spec(node)), node.0));
        }
        self.order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        self.nodes.clear();
        let mut total_backlog = 0.0;
        let mut total_rate = 0.0;
        for &(_, id) in &self.order {
            let node = NodeId(id);
            self.local_of[node.index()] = self.nodes.len() as u32;
            self.nodes.push(node);
            let rate = node_rate(view.spec(node));
            let backlog = f64::from(view.load(node).tasks()) * mean_work;
            self.backlog.push(backlog);
            self.inv_rate.push(1.0 / rate);
            self.base_finish.push(backlog / rate);
            total_backlog += backlog;
            total_rate += rate;
        }

        // Candidate lists in local indices, sorted; a list equal to the previous one is shared.
        let mut previous: (&[NodeId], u32, u32) = (&[], 0, 0);
        for &cands in candidates.iter().take(tasks.len()) {
            if cands.is_empty() {
                continue;
            }
            if same_slice(cands, previous.0) || cands == previous.0 {
                self.lists.push((previous.1, previous.2));
                continue;
            }
            let start = self.pool.len();
            self.pool.extend(cands.iter().map(|c| self.local_of[c.index()]));
            self.pool[start..].sort_unstable();
            previous = (cands, start as u32, cands.len() as u32);
            self.lists.push((previous.1, previous.2));
        }
        for node in &self.nodes {
            self.local_of[node.index()] = NONE;
        }

        // Longest processing time first.
        self.lpt.extend(0..n_tasks as u32);
        let work = &self.work;
        self.lpt.sort_unstable_by(|&a, &b| work[b as usize].total_cmp(&work[a as usize]).then(a.cmp(&b)));

        // Sums over the untouched backlog, so that an evaluation visits only the touched nodes.
        let n_nodes = self.nodes.len() as f64;
        self.shift = if self.nodes.is_empty() { 0.0 } else { self.base_finish.iter().sum::<f64>() / n_nodes };
        self.base_dev = self.base_finish.iter().map(|f| f - self.shift).sum();
        self.base_dev2 = self.base_finish.iter().map(|f| (f - self.shift) * (f - self.shift)).sum();
        self.base_max = self.base_finish.iter().copied().fold(0.0, f64::max);
        self.lower_bound = if total_rate > 0.0 { (total_backlog + total_work) / total_rate } else { 0.0 };
    }

    /// Number of tasks in the problem (the batch's tasks that have candidates).
    #[inline]
    pub fn n_tasks(&self) -> usize {
        self.work.len()
    }

    /// Number of nodes in play.
    #[inline]
    pub fn n_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The batch index of problem task `t`.
    #[inline]
    pub fn batch_index(&self, t: usize) -> usize {
        self.batch_index[t] as usize
    }

    /// The work `w_t` of problem task `t`, core-seconds.
    #[inline]
    pub fn work(&self, t: usize) -> f64 {
        self.work[t]
    }

    /// The candidates of problem task `t`, as local node indices in increasing order (never
    /// empty). A plan's choice for `t` is a position in this list.
    #[inline]
    pub fn candidates(&self, t: usize) -> &[u32] {
        let (start, len) = self.lists[t];
        &self.pool[start as usize..(start + len) as usize]
    }

    /// The node with local index `local`.
    #[inline]
    pub fn node(&self, local: u32) -> NodeId {
        self.nodes[local as usize]
    }

    /// The node that choice `choice` of task `t` designates.
    #[inline]
    pub fn chosen_node(&self, t: usize, choice: u32) -> NodeId {
        self.node(self.candidates(t)[choice as usize])
    }

    /// The problem's tasks by decreasing work, ties by index (the greedy order).
    #[inline]
    pub fn lpt_order(&self) -> &[u32] {
        &self.lpt
    }

    /// The lower bound `LB` of the makespan (see the module doc).
    pub fn lower_bound(&self) -> f64 {
        self.lower_bound
    }

    /// The estimated finish time of local node `local` before the batch: `B_n / r_n`.
    pub fn base_finish(&self, local: u32) -> f64 {
        self.base_finish[local as usize]
    }

    /// The objective's value for `choices` (one position per task in its candidate list). A
    /// convenience that allocates; optimisers use an [`Evaluator`].
    pub fn evaluate(&self, objective: &Objective, choices: &[u32]) -> f64 {
        let mut eval = Evaluator::default();
        eval.reset(self);
        eval.evaluate(self, objective, choices)
    }
}

/// True if `a` and `b` are the very same slice (same address and length).
#[inline]
fn same_slice(a: &[NodeId], b: &[NodeId]) -> bool {
    std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len()
}

/// Scores assignments of a [`Problem`]: holds the work the batch adds to each node in play, and
/// computes the objective by visiting only the nodes the batch touches (the untouched ones enter
/// through the problem's precomputed sums). Adding or removing a task is O(1), so moves are
/// scored incrementally; [`value`](Self::value) is O(touched nodes).
#[derive(Clone, Debug, Default)]
pub struct Evaluator {
    /// Per local node: work added by the batch.
    added: Vec<f64>,
    /// Per local node: tasks of the batch on it.
    count: Vec<u32>,
    /// Per local node: its position in `touched` (valid while `count > 0`).
    slot: Vec<u32>,
    /// Local nodes with at least one task of the batch.
    touched: Vec<u32>,
}

impl Evaluator {
    /// Sizes the evaluator for `problem`, with no task placed.
    pub fn reset(&mut self, problem: &Problem) {
        let n = problem.n_nodes();
        self.added.clear();
        self.added.resize(n, 0.0);
        self.count.clear();
        self.count.resize(n, 0);
        self.slot.clear();
        self.slot.resize(n, NONE);
        self.touched.clear();
    }

    /// Removes every task placed; O(touched nodes).
    pub fn clear(&mut self) {
        for &n in &self.touched {
            self.added[n as usize] = 0.0;
            self.count[n as usize] = 0;
        }
        self.touched.clear();
    }

    /// Places `work` on local node `local`.
    #[inline]
    pub fn add(&mut self, local: u32, work: f64) {
        let n = local as usize;
        if self.count[n] == 0 {
            self.slot[n] = self.touched.len() as u32;
            self.touched.push(local);
        }
        self.count[n] += 1;
        self.added[n] += work;
    }

    /// Removes `work` placed earlier on local node `local`.
    #[inline]
    pub fn remove(&mut self, local: u32, work: f64) {
        let n = local as usize;
        debug_assert!(self.count[n] > 0, "removing a task that was not placed");
        self.count[n] -= 1;
        if self.count[n] == 0 {
            // Exactly zero again, whatever rounding the additions left.
            self.added[n] = 0.0;
            let s = self.slot[n] as usize;
            self.touched.swap_remove(s);
            if let Some(&moved) = self.touched.get(s) {
                self.slot[moved as usize] = s as u32;
            }
        } else {
            self.added[n] -= work;
        }
    }

    /// The finish time of local node `local` if `work` were added to what is placed there.
    #[inline]
    pub fn finish_if(&self, problem: &Problem, local: u32, work: f64) -> f64 {
        let n = local as usize;
        (problem.backlog[n] + self.added[n] + work) * problem.inv_rate[n]
    }

    /// The objective's value for the tasks placed so far.
    pub fn value(&self, problem: &Problem, objective: &Objective) -> f64 {
        if problem.nodes.is_empty() {
            return objective.score(0.0, 0.0, 0.0, 0.0);
        }
        let p = problem;
        let mut max = p.base_max;
        if let Objective::Makespan = objective {
            for &n in &self.touched {
                let n = n as usize;
                max = max.max((p.backlog[n] + self.added[n]) * p.inv_rate[n]);
            }
            return max;
        }
        let (mut dev, mut dev2) = (p.base_dev, p.base_dev2);
        for &n in &self.touched {
            let n = n as usize;
            let f = (p.backlog[n] + self.added[n]) * p.inv_rate[n];
            max = max.max(f);
            let (d0, d1) = (p.base_finish[n] - p.shift, f - p.shift);
            dev += d1 - d0;
            dev2 += d1 * d1 - d0 * d0;
        }
        let count = p.nodes.len() as f64;
        let mean_dev = dev / count;
        let var = (dev2 / count - mean_dev * mean_dev).max(0.0);
        objective.score(max, p.shift + mean_dev, var.sqrt(), p.lower_bound)
    }

    /// Places exactly the assignment `choices` and returns its value: one full evaluation.
    pub fn evaluate(&mut self, problem: &Problem, objective: &Objective, choices: &[u32]) -> f64 {
        self.clear();
        for (t, &c) in choices.iter().enumerate() {
            self.add(problem.candidates(t)[c as usize], problem.work[t]);
        }
        self.value(problem, objective)
    }
}

/// An optimiser's answer for one problem.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Per problem task, the position of its node in [`Problem::candidates`].
    pub choices: Vec<u32>,
    /// The objective's value for `choices`.
    pub objective: f64,
    /// Objective evaluations spent (never more than the optimiser's budget).
    pub evaluations: u64,
}

impl Plan {
    /// The plan as (batch index, node) pairs.
    pub fn assignments<'a>(&'a self, problem: &'a Problem) -> impl Iterator<Item = (usize, NodeId)> + 'a {
        self.choices.iter().enumerate().map(|(t, &c)| (problem.batch_index(t), problem.chosen_node(t, c)))
    }
}

/// Finds a good assignment of a [`Problem`] for an [`Objective`].
///
/// # Example
/// ```
/// use fulcrum_strategies::batch::{Objective, OptimiserConfig, Plan, Problem};
/// use fulcrum_strategies::{ClusterView, NodeId, NodeLoad, NodeSpec, Resources, TaskId, TaskInfo};
/// use rand_core::SeedableRng;
///
/// let specs = [NodeSpec { capacity: Resources([1000, 0, 0, 0, 0, 0]), speed: 1.0 }; 2];
/// let (loads, used) = ([NodeLoad::default(); 2], [Resources::ZERO; 2]);
/// let view = ClusterView::new(&specs, &loads, &used);
/// let task = |i, work| TaskInfo {
///     id: TaskId(i), class: 0, priority: 0, demand: Resources([1000, 0, 0, 0, 0, 0]), expected_work_s: work,
/// };
/// // Works 3, 3, 2, 2, 2 on two equal nodes: greedy (LPT) reaches a makespan of 7, the optimum is 6.
/// let tasks = [task(0, 3.0), task(1, 3.0), task(2, 2.0), task(3, 2.0), task(4, 2.0)];
/// let all = [NodeId(0), NodeId(1)];
/// let problem = Problem::new(&tasks, &[&all[..]; 5], &view);
/// let config: OptimiserConfig = serde_json::from_str(r#"{"kind": "greedy"}"#).unwrap();
/// let mut plan = Plan::default();
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
/// config.build().optimise(&problem, &Objective::Makespan, &mut rng, &mut plan);
/// assert_eq!((plan.objective, plan.evaluations), (7.0, 1));
/// ```
pub trait Optimiser: Send {
    /// Writes into `plan` an assignment of every task of `problem`, its value and the evaluations
    /// spent. Draws randomness only from `rng`: the same problem, objective and generator state
    /// give the same plan.
    fn optimise(&mut self, problem: &Problem, objective: &Objective, rng: &mut dyn RngCore, plan: &mut Plan);
}

/// A uniform draw in `[0, 1)` with 53 random bits.
#[inline]
pub(crate) fn unit(rng: &mut dyn RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A probability as a threshold for `next_u32() < threshold` (1 is always, 0 never).
#[inline]
pub(crate) fn threshold(p: f64) -> u64 {
    (p.clamp(0.0, 1.0) * 4_294_967_296.0) as u64
}

/// Which optimiser a batch balancer runs, with its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OptimiserConfig {
    /// LPT list scheduling: tasks by decreasing work, each to the candidate that would finish it
    /// first. One evaluation.
    Greedy {},
    /// Genetic algorithm: greedy plus random individuals, tournament selection, uniform crossover,
    /// per-gene mutation, elitism.
    Genetic {
        /// Individuals per generation.
        #[serde(default = "Genetic::default_population")]
        population: u32,
        /// Per-gene mutation probability.
        #[serde(default = "Genetic::default_mutation")]
        mutation: f64,
        /// Probability that a child is a crossover of two parents (else a copy of one).
        #[serde(default = "Genetic::default_crossover")]
        crossover: f64,
        /// Evaluation budget.
        #[serde(default = "default_evaluations")]
        evaluations: u64,
    },
    /// Simulated annealing from the greedy solution: reassign and swap moves, geometric cooling.
    SimulatedAnnealing {
        /// Starting temperature, relative to the mean worsening of a random move from greedy.
        #[serde(default = "SimulatedAnnealing::default_initial_temperature")]
        initial_temperature: f64,
        /// Factor applied to the temperature after each evaluation.
        #[serde(default = "SimulatedAnnealing::default_cooling")]
        cooling: f64,
        /// Evaluation budget.
        #[serde(default = "default_evaluations")]
        evaluations: u64,
    },
    /// Discrete particle swarm: a position per task in its candidate list, inertia-weight update.
    ParticleSwarm {
        /// Particles in the swarm.
        #[serde(default = "ParticleSwarm::default_particles")]
        particles: u32,
        /// Inertia weight.
        #[serde(default = "ParticleSwarm::default_inertia")]
        inertia: f64,
        /// Pull towards the particle's own best.
        #[serde(default = "ParticleSwarm::default_acceleration")]
        cognitive: f64,
        /// Pull towards the best of the particle's ring neighbourhood.
        #[serde(default = "ParticleSwarm::default_acceleration")]
        social: f64,
        /// Evaluation budget.
        #[serde(default = "default_evaluations")]
        evaluations: u64,
    },
    /// MAX-MIN ant system: pheromone per (task, listed candidate), heuristic 1 / finish time.
    AntColony {
        /// Ants per iteration.
        #[serde(default = "AntColony::default_ants")]
        ants: u32,
        /// Pheromone evaporation rate ρ.
        #[serde(default = "AntColony::default_evaporation")]
        evaporation: f64,
        /// Pheromone exponent α.
        #[serde(default = "AntColony::default_alpha")]
        alpha: f64,
        /// Heuristic exponent β.
        #[serde(default = "AntColony::default_beta")]
        beta: f64,
        /// Candidates an ant considers per task (a window of its candidate list around the greedy
        /// choice).
        #[serde(default = "AntColony::default_candidate_list")]
        candidate_list: u32,
        /// Evaluation budget.
        #[serde(default = "default_evaluations")]
        evaluations: u64,
    },
}

impl Default for OptimiserConfig {
    /// `greedy`.
    fn default() -> Self {
        OptimiserConfig::Greedy {}
    }
}

/// The default evaluation budget of every meta-heuristic.
pub fn default_evaluations() -> u64 {
    2000
}

impl OptimiserConfig {
    /// The `kind` string of this configuration.
    pub fn kind(&self) -> &'static str {
        match self {
            OptimiserConfig::Greedy {} => "greedy",
            OptimiserConfig::Genetic { .. } => "genetic",
            OptimiserConfig::SimulatedAnnealing { .. } => "simulated-annealing",
            OptimiserConfig::ParticleSwarm { .. } => "particle-swarm",
            OptimiserConfig::AntColony { .. } => "ant-colony",
        }
    }

    /// Checks parameter ranges. Returns `(parameter, problem)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut count = |name: &'static str, v: u64, lo: u64, hi: u64| {
            if !(lo..=hi).contains(&v) {
                out.push((name, format!("must be between {lo} and {hi}, got {v}")));
            }
        };
        match *self {
            OptimiserConfig::Greedy {} => {}
            OptimiserConfig::Genetic { population, evaluations, .. } => {
                count("population", population.into(), 2, 10_000);
                count("evaluations", evaluations, 1, MAX_EVALUATIONS);
            }
            OptimiserConfig::SimulatedAnnealing { evaluations, .. } => {
                count("evaluations", evaluations, 1, MAX_EVALUATIONS)
            }
            OptimiserConfig::ParticleSwarm { particles, evaluations, .. } => {
                count("particles", particles.into(), 1, 10_000);
                count("evaluations", evaluations, 1, MAX_EVALUATIONS);
            }
            OptimiserConfig::AntColony { ants, candidate_list, evaluations, .. } => {
                count("ants", ants.into(), 1, 10_000);
                count("candidate_list", candidate_list.into(), 1, 100_000);
                count("evaluations", evaluations, 1, MAX_EVALUATIONS);
            }
        }
        let mut real = |name: &'static str, v: f64, lo: f64, lo_open: bool, hi: f64| {
            if !(v.is_finite() && v <= hi && (v > lo || (!lo_open && v == lo))) {
                let open = if lo_open { "(" } else { "[" };
                out.push((name, format!("must be in {open}{lo}, {hi}], got {v}")));
            }
        };
        match *self {
            OptimiserConfig::Greedy {} => {}
            OptimiserConfig::Genetic { mutation, crossover, .. } => {
                real("mutation", mutation, 0.0, false, 1.0);
                real("crossover", crossover, 0.0, false, 1.0);
            }
            OptimiserConfig::SimulatedAnnealing { initial_temperature, cooling, .. } => {
                real("initial_temperature", initial_temperature, 0.0, false, 1e6);
                real("cooling", cooling, 0.0, true, 1.0);
            }
            OptimiserConfig::ParticleSwarm { inertia, cognitive, social, .. } => {
                real("inertia", inertia, 0.0, false, 2.0);
                real("cognitive", cognitive, 0.0, false, 4.0);
                real("social", social, 0.0, false, 4.0);
            }
            OptimiserConfig::AntColony { evaporation, alpha, beta, .. } => {
                real("evaporation", evaporation, 0.0, true, 1.0);
                real("alpha", alpha, 0.0, false, 10.0);
                real("beta", beta, 0.0, false, 10.0);
            }
        }
        out
    }

    /// A fresh optimiser with this configuration (out-of-range values are clamped; check
    /// [`problems`](Self::problems) first).
    pub fn build(&self) -> Box<dyn Optimiser> {
        match *self {
            OptimiserConfig::Greedy {} => Box::new(Greedy::default()),
            OptimiserConfig::Genetic { population, mutation, crossover, evaluations } => {
                Box::new(Genetic::new(population, mutation, crossover, evaluations))
            }
            OptimiserConfig::SimulatedAnnealing { initial_temperature, cooling, evaluations } => {
                Box::new(SimulatedAnnealing::new(initial_temperature, cooling, evaluations))
            }
            OptimiserConfig::ParticleSwarm { particles, inertia, cognitive, social, evaluations } => {
                Box::new(ParticleSwarm::new(particles, inertia, cognitive, social, evaluations))
            }
            OptimiserConfig::AntColony { ants, evaporation, alpha, beta, candidate_list, evaluations } => {
                Box::new(AntColony::new(ants, evaporation, alpha, beta, candidate_list, evaluations))
            }
        }
    }
}

/// `optimiser.<param>` for a parameter of an [`OptimiserConfig`] nested in a batch balancer.
pub(crate) fn nested_param(param: &'static str) -> &'static str {
    match param {
        "population" => "optimiser.population",
        "mutation" => "optimiser.mutation",
        "crossover" => "optimiser.crossover",
        "evaluations" => "optimiser.evaluations",
        "initial_temperature" => "optimiser.initial_temperature",
        "cooling" => "optimiser.cooling",
        "particles" => "optimiser.particles",
        "inertia" => "optimiser.inertia",
        "cognitive" => "optimiser.cognitive",
        "social" => "optimiser.social",
        "ants" => "optimiser.ants",
        "evaporation" => "optimiser.evaporation",
        "alpha" => "optimiser.alpha",
        "beta" => "optimiser.beta",
        "candidate_list" => "optimiser.candidate_list",
        _ => "optimiser",
    }
}

/// A balancer that places tasks in batches with an [`Optimiser`].
///
/// The scheduler collects tasks for up to `window` or until `size` have arrived
/// ([`Balancer::batching`]) and calls [`Balancer::assign`]: the batch becomes a [`Problem`] on the
/// current view and the optimiser's plan fills `out` (`None` only for a task without candidates).
/// A lone task ([`Balancer::pick`]) is placed by the greedy rule directly on the view, without
/// building a problem: the node with the earliest estimated finish `(tasks + 1) × w / r`, ties at
/// random, as the greedy optimiser would place a batch of one (for a single task this is the
/// makespan optimum). Cost of `assign`: building the problem, O(Σ candidates + P log P), plus the
/// optimiser's budget × O(batch).
pub struct BatchBalancer {
    batching: Batching,
    objective: Objective,
    optimiser: Box<dyn Optimiser>,
    problem: Problem,
    plan: Plan,
}

impl BatchBalancer {
    /// The default batching window, seconds.
    pub fn default_window_s() -> f64 {
        1.0
    }

    /// The default batch size.
    pub fn default_batch_size() -> u32 {
        64
    }

    /// A batch balancer closing batches after `window` or `size` tasks (at least 1).
    pub fn new(window: Span, size: usize, optimiser: Box<dyn Optimiser>, objective: Objective) -> Self {
        BatchBalancer {
            batching: Batching { window, size: size.max(1) },
            objective,
            optimiser,
            problem: Problem::default(),
            plan: Plan::default(),
        }
    }

    /// The plan of the last batch placed by [`Balancer::assign`] (its choices index the last
    /// [`problem`](Self::last_problem)): its objective value and the evaluations it cost.
    pub fn last_plan(&self) -> &Plan {
        &self.plan
    }

    /// The problem of the last batch placed by [`Balancer::assign`].
    pub fn last_problem(&self) -> &Problem {
        &self.problem
    }
}

impl Balancer for BatchBalancer {
    fn pick(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        rng: &mut dyn RngCore,
    ) -> Option<NodeId> {
        // The greedy rule on a batch of one: B_n = tasks × w, so the finish is (tasks + 1) × w / r_n,
        // and the node minimising (tasks + 1) / r_n wins. Compared by cross-multiplication, so
        // that a decision costs no division.
        if candidates.is_empty() {
            return None;
        }
        if task_work(task) == 0.0 {
            // Every finish is 0: all candidates tie.
            return Some(candidates[uniform_index(rng, candidates.len())]);
        }
        let (mut best, mut best_tasks, mut best_rate) = (candidates[0], 0.0, 1.0);
        let mut ties = 0usize;
        for &c in candidates {
            let tasks = f64::from(view.load(c).tasks()) + 1.0;
            let rate = rate_milli(view.spec(c));
            // tasks / rate against best_tasks / best_rate.
            let (lhs, rhs) = (tasks * best_rate, best_tasks * rate);
            if ties == 0 || lhs < rhs {
                (best, best_tasks, best_rate, ties) = (c, tasks, rate, 1);
            } else if lhs == rhs {
                ties += 1;
                if uniform_index(rng, ties) == 0 {
                    best = c;
                }
            }
        }
        Some(best)
    }

    fn batching(&self) -> Option<Batching> {
        Some(self.batching)
    }

    fn assign(
        &mut self,
        tasks: &[TaskInfo],
        candidates: &[&[NodeId]],
        view: &ClusterView<'_>,
        _now: Time,
        rng: &mut dyn RngCore,
        out: &mut Vec<Option<NodeId>>,
    ) {
        self.problem.rebuild(tasks, candidates, view);
        self.optimiser.optimise(&self.problem, &self.objective, rng, &mut self.plan);
        out.clear();
        out.resize(tasks.len(), None);
        for (i, node) in self.plan.assignments(&self.problem) {
            out[i] = Some(node);
        }
    }
}

#[cfg(test)]
pub(crate) mod testkit {
    //! Random instances for the optimisers' tests.
    use super::*;
    use crate::{NodeLoad, Resources, TaskId};
    use rand_core::SeedableRng;

    /// Owned storage for a random batch.
    pub struct Instance {
        pub specs: Vec<NodeSpec>,
        pub loads: Vec<NodeLoad>,
        pub used: Vec<Resources>,
        pub tasks: Vec<TaskInfo>,
        pub candidates: Vec<Vec<NodeId>>,
    }

    impl Instance {
        /// `n_tasks` tasks on `n_nodes` nodes of speeds 0.5–3 and 1–8 cores with 0–5 tasks
        /// each; each task gets a random subset of at least one node (or all of them, when
        /// `restricted` is false). Works 0.1–10 s, 1–4 cores.
        pub fn random(seed: u64, n_tasks: usize, n_nodes: usize, restricted: bool) -> Instance {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let specs = (0..n_nodes)
                .map(|_| NodeSpec {
                    capacity: Resources([(1 + uniform_index(&mut rng, 8) as u64) * 1000, 0, 0, 0, 0, 0]),
                    speed: 0.5 + 2.5 * unit(&mut rng),
                })
                .collect();
            let loads = (0..n_nodes)
                .map(|_| NodeLoad { queued: uniform_index(&mut rng, 6) as u32, ..Default::default() })
                .collect();
            let tasks = (0..n_tasks)
                .map(|i| TaskInfo {
                    id: TaskId(i as u64),
                    class: 0,
                    priority: 0,
                    demand: Resources([(1 + uniform_index(&mut rng, 4) as u64) * 1000, 0, 0, 0, 0, 0]),
                    expected_work_s: 0.1 + 9.9 * unit(&mut rng),
                })
                .collect();
            let all: Vec<NodeId> = (0..n_nodes as u32).map(NodeId).collect();
            let candidates = (0..n_tasks)
                .map(|_| {
                    if !restricted {
                        return all.clone();
                    }
                    let mut c: Vec<NodeId> = all.iter().copied().filter(|_| unit(&mut rng) < 0.4).collect();
                    if c.is_empty() {
                        c.push(all[uniform_index(&mut rng, n_nodes)]);
                    }
                    c
                })
                .collect();
            Instance { specs, loads, used: vec![Resources::ZERO; n_nodes], tasks, candidates }
        }

        pub fn view(&self) -> ClusterView<'_> {
            ClusterView::new(&self.specs, &self.loads, &self.used)
        }

        pub fn problem(&self) -> Problem {
            let cands: Vec<&[NodeId]> = self.candidates.iter().map(|c| c.as_slice()).collect();
            Problem::new(&self.tasks, &cands, &self.view())
        }
    }

    /// The best value over every assignment, by enumeration (small problems only).
    pub fn brute_force(problem: &Problem, objective: &Objective) -> f64 {
        let n = problem.n_tasks();
        let mut choices = vec![0u32; n];
        let mut eval = Evaluator::default();
        eval.reset(problem);
        let mut best = f64::INFINITY;
        loop {
            best = best.min(eval.evaluate(problem, objective, &choices));
            // Next assignment in mixed radix.
            let mut t = 0;
            loop {
                if t == n {
                    return best;
                }
                choices[t] += 1;
                if (choices[t] as usize) < problem.candidates(t).len() {
                    break;
                }
                choices[t] = 0;
                t += 1;
            }
        }
    }

    /// How an optimiser did against the optimum on small instances.
    #[derive(Debug)]
    pub struct AgainstOptimum {
        /// Runs that reached the optimum (within 1e-9), of `runs`.
        pub reached: usize,
        /// Runs: 40 instances × 3 objectives.
        pub runs: usize,
        /// The worst ratio of a plan's value to the optimum, for makespan and weighted.
        pub worst_ratio: f64,
        /// The worst excess over the optimal coefficient of variation, for balance.
        pub worst_balance_gap: f64,
    }

    /// `config`, seeded, on 40 small instances (8 tasks on 3 heterogeneous nodes with backlogs:
    /// 3^8 = 6561 assignments) with each objective, against the optimum found by enumeration.
    pub fn against_brute_force(config: &OptimiserConfig) -> AgainstOptimum {
        let objectives = [Objective::Makespan, Objective::Balance, Objective::Weighted { makespan: 1.0, balance: 1.0 }];
        let mut out = AgainstOptimum { reached: 0, runs: 0, worst_ratio: 1.0, worst_balance_gap: 0.0 };
        for seed in 0..40 {
            let problem = Instance::random(300 + seed, 8, 3, false).problem();
            for objective in &objectives {
                let best = brute_force(&problem, objective);
                let mut plan = Plan::default();
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
                config.build().optimise(&problem, objective, &mut rng, &mut plan);
                assert!(plan.objective >= best * (1.0 - 1e-9), "{config:?}: below the optimum");
                out.runs += 1;
                out.reached += usize::from(plan.objective <= best * (1.0 + 1e-9));
                if let Objective::Balance = objective {
                    out.worst_balance_gap = out.worst_balance_gap.max(plan.objective - best);
                } else {
                    out.worst_ratio = out.worst_ratio.max(plan.objective / best);
                }
            }
        }
        out
    }

    /// The checks every optimiser must pass on a random instance: never worse than greedy, within
    /// its budget, feasible, an honest objective value, and the same plan for the same seed.
    pub fn check_optimiser(
        config: &OptimiserConfig,
        budget: u64,
        instance: &Instance,
        objective: &Objective,
        seed: u64,
    ) {
        let problem = instance.problem();
        let run = |config: &OptimiserConfig| {
            let mut plan = Plan::default();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            config.build().optimise(&problem, objective, &mut rng, &mut plan);
            plan
        };
        let greedy = run(&OptimiserConfig::Greedy {});
        let plan = run(config);
        assert!(
            plan.objective <= greedy.objective,
            "{config:?}: {} worse than greedy {}",
            plan.objective,
            greedy.objective
        );
        assert!(plan.evaluations <= budget, "{config:?}: {} evaluations over the budget {budget}", plan.evaluations);
        assert_eq!(plan.choices.len(), problem.n_tasks());
        for (t, &c) in plan.choices.iter().enumerate() {
            assert!((c as usize) < problem.candidates(t).len(), "{config:?}: task {t} choice {c} out of its list");
            let node = problem.chosen_node(t, c);
            assert!(
                instance.candidates[problem.batch_index(t)].contains(&node),
                "{config:?}: {node:?} not a candidate"
            );
        }
        let exact = problem.evaluate(objective, &plan.choices);
        assert!(
            (exact - plan.objective).abs() <= 1e-9 * exact.abs().max(1.0),
            "{config:?}: reported {} but the plan is worth {exact}",
            plan.objective
        );
        assert_eq!(run(config), plan, "{config:?}: same seed, different plan");
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;
    use crate::balance::testkit::Fixture;
    use crate::balance::BalancerConfig;
    use crate::{Resources, TaskId};
    use rand_core::SeedableRng;

    fn task(work: f64, cores: u64) -> TaskInfo {
        TaskInfo {
            id: TaskId(0),
            class: 0,
            priority: 0,
            demand: Resources([cores * 1000, 0, 0, 0, 0, 0]),
            expected_work_s: work,
        }
    }

    #[test]
    fn work_and_rate_follow_the_model() {
        assert_eq!(task_work(&task(2.5, 4)), 10.0);
        assert_eq!(task_work(&TaskInfo { demand: Resources([500, 0, 0, 0, 0, 0]), ..task(2.5, 0) }), 2.5);
        assert_eq!(task_work(&task(f64::NAN, 1)), 0.0);
        assert_eq!(task_work(&task(-1.0, 1)), 0.0);
        let spec = NodeSpec { capacity: Resources([8000, 0, 0, 0, 0, 0]), speed: 1.5 };
        assert_eq!(node_rate(&spec), 12.0);
        assert_eq!(node_rate(&NodeSpec { speed: 0.0, ..spec }), MIN_RATE);
        assert_eq!(node_rate(&NodeSpec { capacity: Resources::ZERO, ..spec }), 1.5);
    }

    #[test]
    fn objectives_reproduce_hand_computed_values() {
        // Two single-core nodes at speed 1, idle; works 3 and 1 on different nodes: F = [3, 1].
        // makespan 3; mean 2, std 1, CV 0.5; LB = 4 / 2 = 2; weighted {1, 1} = 3/2 + 0.5 = 2.
        let fx = Fixture::with_tasks(&[0, 0]);
        let all = fx.all();
        let tasks = [task(3.0, 1), task(1.0, 1)];
        let problem = Problem::new(&tasks, &[&all, &all], &fx.view());
        assert_eq!(problem.lower_bound(), 2.0);
        let choices = [0, 1]; // both nodes idle: local order is by id
        assert_eq!(problem.chosen_node(0, 0), NodeId(0));
        assert_eq!(problem.evaluate(&Objective::Makespan, &choices), 3.0);
        assert_eq!(problem.evaluate(&Objective::Balance, &choices), 0.5);
        let w = Objective::Weighted { makespan: 1.0, balance: 1.0 };
        assert_eq!(problem.evaluate(&w, &choices), 2.0);
        let w = Objective::Weighted { makespan: 2.0, balance: 0.5 };
        assert_eq!(problem.evaluate(&w, &choices), 3.25);
        // Both on node 0: F = [4, 0], mean 2, std 2, CV 1.
        assert_eq!(problem.evaluate(&Objective::Balance, &[0, 0]), 1.0);

        // Node 1 holds one task: B_1 = 1 × mean work 2 = 2, so node 1 comes first in local order.
        // Work 3 on node 0 and 1 on node 1: F = [3, 3], CV 0, LB = (2 + 4) / 2 = 3.
        let fx = Fixture::with_tasks(&[0, 1]);
        let problem = Problem::new(&tasks, &[&all, &all], &fx.view());
        assert_eq!(problem.node(0), NodeId(0), "(0 + 2) / 1 < (2 + 2) / 1");
        assert_eq!(problem.base_finish(1), 2.0);
        let choices = [0, 1];
        assert_eq!(problem.evaluate(&Objective::Makespan, &choices), 3.0);
        assert_eq!(problem.evaluate(&Objective::Balance, &choices), 0.0);
        assert_eq!(problem.evaluate(&Objective::Weighted { makespan: 1.0, balance: 1.0 }, &choices), 1.0);

        // Heterogeneous rates: a 2-core node at speed 2 (rate 4) and a 1-core node (rate 1).
        // Works 4 (2 cores × 2 s) and 1: F = [4/4, 1/1] = [1, 1].
        let mut fx = Fixture::with_tasks_and_cores(&[0, 0], &[2, 1]);
        fx.specs[0].speed = 2.0;
        let tasks = [task(2.0, 2), task(1.0, 1)];
        let problem = Problem::new(&tasks, &[&all, &all], &fx.view());
        assert_eq!(problem.node(0), NodeId(0));
        assert_eq!(problem.lower_bound(), 1.0);
        assert_eq!(problem.evaluate(&Objective::Makespan, &[0, 1]), 1.0);
        assert_eq!(problem.evaluate(&Objective::Makespan, &[1, 0]), 4.0);
    }

    #[test]
    fn problems_map_restricted_candidates_to_local_indices() {
        // Node 2 is slow and loaded, node 0 fast: local order 0, 1, 2 by (B + w̄) / r.
        let mut fx = Fixture::with_tasks(&[0, 1, 3, 0]);
        fx.specs[0].speed = 4.0;
        let tasks = [task(1.0, 1), task(1.0, 1), task(1.0, 1)];
        let (a, b): (Vec<NodeId>, Vec<NodeId>) = (vec![NodeId(2), NodeId(1)], vec![NodeId(1), NodeId(0)]);
        let empty: Vec<NodeId> = vec![];
        let problem = Problem::new(&tasks, &[&a, &empty, &b], &fx.view());
        assert_eq!(problem.n_tasks(), 2, "the task without candidates is left out");
        assert_eq!(problem.n_nodes(), 3, "node 3 is not in play");
        assert_eq!((problem.batch_index(0), problem.batch_index(1)), (0, 2));
        assert_eq!((problem.node(0), problem.node(1), problem.node(2)), (NodeId(0), NodeId(1), NodeId(2)));
        assert_eq!(problem.candidates(0), &[1, 2]);
        assert_eq!(problem.candidates(1), &[0, 1]);
        assert_eq!(problem.chosen_node(0, 1), NodeId(2));
    }

    #[test]
    fn incremental_updates_match_full_evaluations() {
        let inst = Instance::random(11, 20, 12, true);
        let problem = inst.problem();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let objective = Objective::Weighted { makespan: 1.0, balance: 2.0 };
        let mut choices: Vec<u32> = (0..problem.n_tasks()).map(|_| 0).collect();
        let mut eval = Evaluator::default();
        eval.reset(&problem);
        eval.evaluate(&problem, &objective, &choices);
        for _ in 0..500 {
            let t = uniform_index(&mut rng, problem.n_tasks());
            let cands = problem.candidates(t);
            let c = uniform_index(&mut rng, cands.len()) as u32;
            eval.remove(cands[choices[t] as usize], problem.work(t));
            eval.add(cands[c as usize], problem.work(t));
            choices[t] = c;
            let full = problem.evaluate(&objective, &choices);
            assert!((eval.value(&problem, &objective) - full).abs() < 1e-9 * full, "{full}");
        }
    }

    #[test]
    fn optimiser_configs_parse_with_defaults_and_check_ranges() {
        let c: OptimiserConfig = serde_json::from_str(r#"{"kind": "genetic"}"#).unwrap();
        assert_eq!(c, OptimiserConfig::Genetic { population: 30, mutation: 0.05, crossover: 0.9, evaluations: 2000 });
        let c: OptimiserConfig = serde_json::from_str(r#"{"kind": "simulated-annealing"}"#).unwrap();
        assert_eq!(
            c,
            OptimiserConfig::SimulatedAnnealing { initial_temperature: 1.0, cooling: 0.998, evaluations: 2000 }
        );
        let c: OptimiserConfig = serde_json::from_str(r#"{"kind": "particle-swarm", "particles": 5}"#).unwrap();
        assert_eq!(
            c,
            OptimiserConfig::ParticleSwarm {
                particles: 5,
                inertia: 0.729,
                cognitive: 1.49445,
                social: 1.49445,
                evaluations: 2000
            }
        );
        let c: OptimiserConfig = serde_json::from_str(r#"{"kind": "ant-colony"}"#).unwrap();
        assert_eq!(
            c,
            OptimiserConfig::AntColony {
                ants: 10,
                evaporation: 0.1,
                alpha: 1.0,
                beta: 2.0,
                candidate_list: 16,
                evaluations: 2000
            }
        );
        for c in [r#"{"kind": "greedy"}"#, r#"{"kind": "genetic"}"#, r#"{"kind": "ant-colony"}"#] {
            let c: OptimiserConfig = serde_json::from_str(c).unwrap();
            assert!(c.problems().is_empty(), "{c:?}");
        }
        let err = serde_json::from_str::<OptimiserConfig>(r#"{"kind": "genetic", "mutations": 0.1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `mutations`"), "{err}");
        let err = serde_json::from_str::<OptimiserConfig>(r#"{"kind": "greedy", "evaluations": 3}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `evaluations`"), "{err}");

        let bad = OptimiserConfig::Genetic { population: 1, mutation: 1.5, crossover: f64::NAN, evaluations: 0 };
        let names: Vec<&str> = bad.problems().iter().map(|p| p.0).collect();
        assert_eq!(names, ["population", "evaluations", "mutation", "crossover"]);
        let bad = OptimiserConfig::SimulatedAnnealing { initial_temperature: -1.0, cooling: 0.0, evaluations: 5 };
        let p = bad.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[1].1.contains("must be in (0, 1], got 0"), "{p:?}");
        let bad =
            OptimiserConfig::ParticleSwarm { particles: 0, inertia: 3.0, cognitive: 1.0, social: -1.0, evaluations: 1 };
        assert_eq!(bad.problems().iter().map(|p| p.0).collect::<Vec<_>>(), ["particles", "inertia", "social"]);
        let bad = OptimiserConfig::AntColony {
            ants: 0,
            evaporation: 1.5,
            alpha: 11.0,
            beta: 0.0,
            candidate_list: 0,
            evaluations: MAX_EVALUATIONS + 1,
        };
        assert_eq!(
            bad.problems().iter().map(|p| p.0).collect::<Vec<_>>(),
            ["ants", "candidate_list", "evaluations", "evaporation", "alpha"]
        );
    }

    #[test]
    fn objectives_parse_and_check_weights() {
        let o: Objective = serde_json::from_str(r#""balance""#).unwrap();
        assert_eq!(o, Objective::Balance);
        let o: Objective = serde_json::from_str(r#"{"weighted": {"balance": 0.5}}"#).unwrap();
        assert_eq!(o, Objective::Weighted { makespan: 1.0, balance: 0.5 });
        let err = serde_json::from_str::<Objective>(r#"{"weighted": {"spread": 0.5}}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `spread`"), "{err}");
        assert!(Objective::Weighted { makespan: 0.0, balance: 0.0 }.problems()[0].1.contains("not both 0"));
        assert!(Objective::Weighted { makespan: -1.0, balance: 1.0 }.problems().len() == 1);
        assert!(Objective::Weighted { makespan: 0.0, balance: 1.0 }.problems().is_empty());
    }

    #[test]
    fn batch_config_parses_with_defaults_and_checks_ranges() {
        let c: BalancerConfig = serde_json::from_str(r#"{"kind": "batch"}"#).unwrap();
        assert_eq!(
            c,
            BalancerConfig::Batch {
                window_s: 1.0,
                batch_size: 64,
                optimiser: OptimiserConfig::Greedy {},
                objective: Objective::Makespan
            }
        );
        assert!(c.problems().is_empty());
        let c: BalancerConfig = serde_json::from_str(
            r#"{"kind": "batch", "window_s": 0.5, "batch_size": 16, "objective": {"weighted": {"makespan": 1, "balance": 2}},
                "optimiser": {"kind": "simulated-annealing", "evaluations": 500}}"#,
        )
        .unwrap();
        assert_eq!(c.kind(), "batch");
        let b = c.build();
        assert_eq!(b.batching(), Some(Batching { window: Span::from_millis(500), size: 16 }));
        let err = serde_json::from_str::<BalancerConfig>(r#"{"kind": "batch", "window": 1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `window`"), "{err}");
        let err =
            serde_json::from_str::<BalancerConfig>(r#"{"kind": "batch", "optimiser": {"kind": "tabu"}}"#).unwrap_err();
        assert!(err.to_string().contains("unknown variant `tabu`"), "{err}");

        let bad = BalancerConfig::Batch {
            window_s: 0.0,
            batch_size: 0,
            optimiser: OptimiserConfig::Genetic { population: 0, mutation: 0.1, crossover: 0.9, evaluations: 10 },
            objective: Objective::Weighted { makespan: 0.0, balance: 0.0 },
        };
        let p = bad.problems();
        let names: Vec<&str> = p.iter().map(|p| p.0).collect();
        assert_eq!(names, ["window_s", "batch_size", "optimiser.population", "objective"], "{p:?}");
        let bad = BalancerConfig::Batch {
            window_s: f64::INFINITY,
            batch_size: 100_001,
            optimiser: OptimiserConfig::Greedy {},
            objective: Objective::Makespan,
        };
        assert_eq!(bad.problems().len(), 2);
    }

    #[test]
    fn batch_balancer_assigns_through_the_optimiser() {
        // Two idle single-core nodes at speed 1, works {3, 3, 2, 2, 2}: LPT gives makespan 7.
        let fx = Fixture::with_tasks(&[0, 0]);
        let all = fx.all();
        let tasks: Vec<TaskInfo> = [3.0, 3.0, 2.0, 2.0, 2.0].iter().map(|&w| task(w, 1)).collect();
        let empty: Vec<NodeId> = vec![];
        let mut cands: Vec<&[NodeId]> = vec![&all; 5];
        cands.push(&empty);
        let mut tasks6 = tasks.clone();
        tasks6.push(task(1.0, 1));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut out = vec![Some(NodeId(9))];
        let makespan = |out: &[Option<NodeId>]| {
            let mut load = [0.0; 2];
            for (t, n) in tasks.iter().zip(out) {
                load[n.unwrap().index()] += t.expected_work_s;
            }
            load[0].max(load[1])
        };

        let mut greedy =
            BatchBalancer::new(Span::from_millis(100), 8, Box::new(Greedy::default()), Objective::Makespan);
        greedy.assign(&tasks6, &cands, &fx.view(), Time::ZERO, &mut rng, &mut out);
        assert_eq!(out.len(), 6);
        assert_eq!(out[5], None, "no candidate, no node");
        assert_eq!(makespan(&out), 7.0);
        assert_eq!(greedy.last_plan().objective, 7.0);
        assert_eq!(greedy.last_plan().evaluations, 1);

        let config = OptimiserConfig::SimulatedAnnealing { initial_temperature: 1.0, cooling: 0.998, evaluations: 300 };
        let mut sa = BatchBalancer::new(Span::from_millis(100), 8, config.build(), Objective::Makespan);
        sa.assign(&tasks6, &cands, &fx.view(), Time::ZERO, &mut rng, &mut out);
        assert_eq!(out[5], None);
        assert_eq!(makespan(&out), 6.0, "annealing finds {{3, 3}} / {{2, 2, 2}}");
        assert_eq!(sa.last_plan().objective, 6.0);
        assert!(sa.last_plan().evaluations <= 300);
        assert_eq!(sa.last_problem().n_tasks(), 5);
    }

    #[test]
    fn pick_places_a_lone_task_where_it_finishes_first() {
        // Node 0: 1 core at speed 1 with 1 task, finish 2w; node 1: 2 cores at speed 1 with 2
        // tasks, finish 3w/2; node 2: 1 core at speed 2 with 2 tasks, finish 3w/2 (a tie).
        let mut fx = Fixture::with_tasks_and_cores(&[1, 2, 2], &[1, 2, 1]);
        fx.specs[2].speed = 2.0;
        let mut b = BatchBalancer::new(Span::from_millis(10), 4, Box::new(Greedy::default()), Objective::Makespan);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let mut counts = [0u32; 3];
        for _ in 0..2000 {
            let n = b.pick(&task(1.0, 1), &fx.all(), &fx.view(), Time::ZERO, &mut rng).unwrap();
            counts[n.index()] += 1;
        }
        assert_eq!(counts[0], 0, "{counts:?}");
        assert!((counts[1] as i32 - 1000).abs() < 120, "ties are broken evenly: {counts:?}");
        assert_eq!(b.pick(&task(1.0, 1), &[], &fx.view(), Time::ZERO, &mut rng), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

        /// Any optimiser, any small budget, any small instance with restricted candidates: never
        /// worse than greedy, within budget, feasible, honestly scored, reproducible; and through
        /// `assign`, every task with candidates gets one of them.
        #[test]
        fn optimisers_keep_their_guarantees(
            seed in 0u64..1_000_000,
            n_tasks in 1usize..12,
            n_nodes in 1usize..9,
            kind in 0usize..5,
            budget in 1u64..150,
            objective in 0usize..3,
        ) {
            let inst = Instance::random(seed, n_tasks, n_nodes, true);
            let objective = [Objective::Makespan, Objective::Balance, Objective::Weighted { makespan: 1.0, balance: 0.5 }][objective];
            let config = match kind {
                0 => OptimiserConfig::Greedy {},
                1 => OptimiserConfig::Genetic { population: 6, mutation: 0.2, crossover: 0.9, evaluations: budget },
                2 => OptimiserConfig::SimulatedAnnealing { initial_temperature: 1.0, cooling: 0.99, evaluations: budget },
                3 => OptimiserConfig::ParticleSwarm { particles: 5, inertia: 0.729, cognitive: 1.49445, social: 1.49445, evaluations: budget },
                _ => OptimiserConfig::AntColony { ants: 4, evaporation: 0.2, alpha: 1.0, beta: 2.0, candidate_list: 3, evaluations: budget },
            };
            check_optimiser(&config, budget.max(1), &inst, &objective, seed);

            let mut candidates: Vec<&[NodeId]> = inst.candidates.iter().map(|c| c.as_slice()).collect();
            candidates[0] = &[]; // one task that cannot be placed
            let mut balancer = BatchBalancer::new(Span::from_millis(1), 8, config.build(), objective);
            let mut out = Vec::new();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            balancer.assign(&inst.tasks, &candidates, &inst.view(), Time::ZERO, &mut rng, &mut out);
            proptest::prop_assert_eq!(out.len(), n_tasks);
            proptest::prop_assert_eq!(out[0], None);
            for (node, cands) in out.iter().zip(&candidates).skip(1) {
                proptest::prop_assert!(node.is_some_and(|n| cands.contains(&n)));
            }
        }
    }
}
