//! Balancers: given a task and the feasible candidate nodes, choose one.
//!
//! One algorithm per file. Each is a pure decision over a read-only [`ClusterView`]: it reads no
//! clock (time comes in as `now`) and draws randomness only from the `rng` it is handed, so the
//! simulator can give every strategy its own seeded stream and a production scheduler can pass
//! any generator it likes.

mod explain;
mod fit;
mod hybrid;
mod least_connections;
mod peak_ewma;
mod power_of_d;
mod predictive_least_connections;
mod random;
mod resource_aware;
mod round_robin;
mod smooth_weighted_round_robin;
mod weighted_least_connections;
mod weighted_round_robin;
mod weights;

pub use explain::{Explanation, Note, Rank};
pub use fit::{room_after, Fit, FitBalancer};
pub use hybrid::Hybrid;
pub use least_connections::LeastConnections;
pub use peak_ewma::PeakEwma;
pub use power_of_d::PowerOfD;
pub use predictive_least_connections::PredictiveLeastConnections;
pub use random::Random;
pub use resource_aware::{
    balanced_score, default_resource_weights, least_requested_score, most_requested_score, ResourceAware, TermWeights,
};
pub use round_robin::RoundRobin;
pub use smooth_weighted_round_robin::SmoothWeightedRoundRobin;
pub use weighted_least_connections::WeightedLeastConnections;
pub use weighted_round_robin::WeightedRoundRobin;
pub use weights::WeightBy;

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use crate::{ClusterView, NodeId, Span, TaskId, TaskInfo, Time};

/// Chooses the node a task goes to.
///
/// `candidates` holds the nodes that could ever hold the task (its demand fits their total
/// capacity) and that the scheduler considers alive; it is never empty when the simulator calls
/// `pick`, but implementations return `None` rather than panic when it is.
///
/// # Example
/// ```
/// use fulcrum_strategies::balance::{Balancer, BalancerConfig};
/// use fulcrum_strategies::{ClusterView, NodeId, NodeLoad, NodeSpec, Resources, TaskId, TaskInfo, Time};
///
/// let specs = vec![NodeSpec { capacity: Resources([4000, 8000, 0, 0, 0, 0]), speed: 1.0 }; 3];
/// let mut loads = vec![NodeLoad::default(); 3];
/// loads[0].running = 4;
/// loads[1].queued = 1;
/// let used = vec![Resources::ZERO; 3];
/// let view = ClusterView::new(&specs, &loads, &used);
///
/// let config: BalancerConfig = serde_json::from_str(r#"{"kind": "least-connections"}"#).unwrap();
/// let mut balancer = config.build();
/// let task = TaskInfo { id: TaskId(0), class: 0, priority: 0, demand: Resources([1000, 0, 0, 0, 0, 0]), expected_work_s: 1.0 };
/// let candidates = [NodeId(0), NodeId(1), NodeId(2)];
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
/// # use rand_core::SeedableRng;
/// assert_eq!(balancer.pick(&task, &candidates, &view, Time::ZERO, &mut rng), Some(NodeId(2)));
/// ```
pub trait Balancer: Send {
    /// Chooses a node among `candidates` for `task`, or `None` if there is no candidate.
    fn pick(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
    ) -> Option<NodeId>;

    /// True if the balancer learns from completions ([`observe`](Self::observe)); a caller that
    /// does not track completions otherwise starts doing so.
    fn wants_feedback(&self) -> bool {
        false
    }

    /// The scheduler learned at `now` how one of its dispatches ended.
    fn observe(&mut self, _outcome: &Outcome, _now: Time) {}

    /// [`pick`](Self::pick), recording in `why` what the decision considered. It must choose
    /// exactly what `pick` would and draw the same random numbers, so that logging decisions
    /// changes no result. The default notes each candidate's task count and calls `pick`.
    fn pick_explained(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
        why: &mut Explanation,
    ) -> Option<NodeId> {
        why.clear();
        for &c in candidates {
            why.note(c, None, &[("tasks", view.load(c).tasks() as f64)], None);
        }
        self.pick(task, candidates, view, now, rng)
    }

    /// How long a task waits before it is offered again when `pick` declines it (returns `None`
    /// although there are candidates: a score threshold no node reaches, say).
    fn retry_after(&self) -> Span {
        Span::from_millis(100)
    }

    /// `Some` for a batch balancer: the scheduler collects tasks for up to `window` or until
    /// `size` have arrived, whichever comes first, and places them together with
    /// [`assign`](Self::assign). `None` (the default) places each task as it arrives with `pick`.
    fn batching(&self) -> Option<Batching> {
        None
    }

    /// Places a batch: `out[i]` becomes the node for `tasks[i]`, chosen among `candidates[i]`, or
    /// `None` to leave it waiting. The default picks one task at a time on the same view.
    fn assign(
        &mut self,
        tasks: &[TaskInfo],
        candidates: &[&[NodeId]],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
        out: &mut Vec<Option<NodeId>>,
    ) {
        out.clear();
        for (task, cands) in tasks.iter().zip(candidates) {
            out.push(self.pick(task, cands, view, now, rng));
        }
    }
}

/// How one dispatch ended, as the scheduler learns it (from a heartbeat, or from failover).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// The task.
    pub task: TaskId,
    /// The node it was sent to.
    pub node: NodeId,
    /// From dispatch to completion, or, for a loss, to when the loss was learned.
    pub latency: Span,
    /// The task's expected work ([`TaskInfo::expected_work_s`]), so that a learner can relate
    /// latency to size without remembering its dispatches.
    pub expected_work_s: f64,
    /// True if the task completed there; false if it was lost with the node.
    pub completed: bool,
}

/// When a batch balancer places its batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Batching {
    /// The longest a task waits for its batch to close.
    pub window: Span,
    /// The batch closes as soon as it holds this many tasks.
    pub size: usize,
}

/// A balancer's configuration, as scenario files and production programs write it: a JSON object
/// whose `kind` names the algorithm, with its parameters beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum BalancerConfig {
    /// Uniformly random candidate.
    Random {},
    /// Candidates in turn.
    RoundRobin {},
    /// Fewest tasks (running + queued + in flight); ties broken at random.
    LeastConnections {},
    /// Fewest tasks among `d` distinct candidates sampled at random.
    PowerOfD {
        /// How many candidates to sample.
        #[serde(default = "PowerOfD::default_d")]
        d: u32,
    },
    /// LVS interleaved weighted round robin on static weights.
    WeightedRoundRobin {
        /// Where weights come from.
        #[serde(default)]
        weight_by: WeightBy,
    },
    /// nginx's smooth weighted round robin on static weights.
    SmoothWeightedRoundRobin {
        /// Where weights come from.
        #[serde(default)]
        weight_by: WeightBy,
    },
    /// Fewest tasks per unit of static weight.
    WeightedLeastConnections {
        /// Where weights come from.
        #[serde(default)]
        weight_by: WeightBy,
    },
    /// The first candidate whose believed free resources fit the task.
    FirstFit {},
    /// The fitting candidate left with the least free room.
    BestFit {},
    /// The fitting candidate left with the most free room.
    WorstFit {},
    /// Power-of-two choices on peak-EWMA latency × outstanding tasks (Finagle, linkerd).
    ResponseTime {
        /// Decay time of the latency average, seconds.
        #[serde(default = "PeakEwma::default_decay_s")]
        decay_s: f64,
    },
    /// Smooth weighted round robin on weights recomputed from heartbeats: free CPU × speed.
    DynamicWeight {},
    /// `below` while the candidates' mean CPU utilisation is at most `utilization`, else `above`.
    Hybrid {
        /// The balancer for a quiet cluster.
        below: Box<BalancerConfig>,
        /// The balancer for a busy cluster.
        above: Box<BalancerConfig>,
        /// Switching point, in [0, 1].
        utilization: f64,
    },
    /// Least connections on a trend forecast of each node's task count.
    PredictiveLeastConnections {
        /// Decay time of the average, seconds.
        #[serde(default = "PredictiveLeastConnections::default_decay_s")]
        decay_s: f64,
        /// How far the trend is extrapolated.
        #[serde(default = "PredictiveLeastConnections::default_trend")]
        trend: f64,
    },
    /// Filter, then a weighted mean of Kubernetes-style score terms.
    ResourceAware {
        /// Weights of the score terms.
        #[serde(default)]
        weights: TermWeights,
        /// Weights of the resource dimensions inside each term.
        #[serde(default = "default_resource_weights")]
        resources: crate::ResourceUnits,
        /// Exclude nodes whose believed CPU utilisation is above this.
        #[serde(default)]
        max_cpu_utilization: Option<f64>,
    },
    /// Batches of tasks placed together by an optimiser over an objective (see [`crate::batch`]).
    Batch {
        /// The longest a task waits for its batch to close, seconds.
        #[serde(default = "crate::batch::BatchBalancer::default_window_s")]
        window_s: f64,
        /// The batch closes as soon as it holds this many tasks.
        #[serde(default = "crate::batch::BatchBalancer::default_batch_size")]
        batch_size: u32,
        /// The optimiser that assigns a batch.
        #[serde(default)]
        optimiser: crate::batch::OptimiserConfig,
        /// What the optimiser minimises.
        #[serde(default)]
        objective: crate::batch::Objective,
    },
}

impl BalancerConfig {
    /// The `kind` string of this configuration.
    pub fn kind(&self) -> &'static str {
        match self {
            BalancerConfig::Random {} => "random",
            BalancerConfig::RoundRobin {} => "round-robin",
            BalancerConfig::LeastConnections {} => "least-connections",
            BalancerConfig::PowerOfD { .. } => "power-of-d",
            BalancerConfig::WeightedRoundRobin { .. } => "weighted-round-robin",
            BalancerConfig::SmoothWeightedRoundRobin { .. } => "smooth-weighted-round-robin",
            BalancerConfig::WeightedLeastConnections { .. } => "weighted-least-connections",
            BalancerConfig::FirstFit {} => "first-fit",
            BalancerConfig::BestFit {} => "best-fit",
            BalancerConfig::WorstFit {} => "worst-fit",
            BalancerConfig::ResourceAware { .. } => "resource-aware",
            BalancerConfig::ResponseTime { .. } => "response-time",
            BalancerConfig::DynamicWeight {} => "dynamic-weight",
            BalancerConfig::PredictiveLeastConnections { .. } => "predictive-least-connections",
            BalancerConfig::Hybrid { .. } => "hybrid",
            BalancerConfig::Batch { .. } => "batch",
        }
    }

    /// Checks parameter ranges. Returns `(parameter, problem)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let BalancerConfig::ResourceAware { weights, resources, max_cpu_utilization } = self {
            let terms = [weights.least_allocated, weights.most_allocated, weights.balanced_allocation, weights.queue];
            if terms.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || terms.iter().all(|w| *w == 0.0) {
                out.push(("weights", "must be non-negative, and at least one positive".to_string()));
            }
            if resources.to_array().iter().any(|w| !(w.is_finite() && *w >= 0.0 && *w <= 1e6)) {
                out.push(("resources", "weights must be between 0 and 1000000".to_string()));
            }
            if let Some(m) = max_cpu_utilization {
                if !(m.is_finite() && *m > 0.0 && *m <= 1.0) {
                    out.push(("max_cpu_utilization", format!("must be in (0, 1], got {m}")));
                }
            }
        }
        if let BalancerConfig::Hybrid { below, above, utilization } = self {
            if !(utilization.is_finite() && (0.0..=1.0).contains(utilization)) {
                out.push(("utilization", format!("must be in [0, 1], got {utilization}")));
            }
            for (name, member) in [("below", below), ("above", above)] {
                for (param, problem) in member.problems() {
                    out.push((name, format!("{param}: {problem}")));
                }
            }
        }
        if let BalancerConfig::PredictiveLeastConnections { decay_s, trend } = self {
            if !(decay_s.is_finite() && *decay_s > 0.0 && *decay_s <= 1e6) {
                out.push(("decay_s", format!("must be positive and at most 1000000, got {decay_s}")));
            }
            if !(trend.is_finite() && (0.0..=100.0).contains(trend)) {
                out.push(("trend", format!("must be between 0 and 100, got {trend}")));
            }
        }
        if let BalancerConfig::ResponseTime { decay_s } = self {
            if !(decay_s.is_finite() && *decay_s > 0.0 && *decay_s <= 1e6) {
                out.push(("decay_s", format!("must be positive and at most 1000000, got {decay_s}")));
            }
        }
        if let BalancerConfig::PowerOfD { d } = self {
            if *d == 0 {
                out.push(("d", "must be at least 1, got 0".to_string()));
            } else if *d > PowerOfD::MAX_D {
                out.push(("d", format!("must be at most {}, got {d}", PowerOfD::MAX_D)));
            }
        }
        if let BalancerConfig::Batch { window_s, batch_size, optimiser, objective } = self {
            if !(window_s.is_finite() && *window_s > 0.0 && *window_s <= 1e6) {
                out.push(("window_s", format!("must be positive and at most 1000000, got {window_s}")));
            }
            if !(1..=100_000).contains(batch_size) {
                out.push(("batch_size", format!("must be between 1 and 100000, got {batch_size}")));
            }
            for (param, problem) in optimiser.problems() {
                out.push((crate::batch::nested_param(param), problem));
            }
            out.extend(objective.problems());
        }
        out
    }

    /// A fresh balancer with this configuration.
    pub fn build(&self) -> Box<dyn Balancer> {
        match self {
            BalancerConfig::Random {} => Box::new(Random),
            BalancerConfig::RoundRobin {} => Box::new(RoundRobin::default()),
            BalancerConfig::LeastConnections {} => Box::new(LeastConnections),
            BalancerConfig::PowerOfD { d } => Box::new(PowerOfD::new(*d)),
            BalancerConfig::WeightedRoundRobin { weight_by } => Box::new(WeightedRoundRobin::new(*weight_by)),
            BalancerConfig::SmoothWeightedRoundRobin { weight_by } => {
                Box::new(SmoothWeightedRoundRobin::new(*weight_by))
            }
            BalancerConfig::WeightedLeastConnections { weight_by } => {
                Box::new(WeightedLeastConnections::new(*weight_by))
            }
            BalancerConfig::FirstFit {} => Box::new(FitBalancer::new(Fit::First)),
            BalancerConfig::BestFit {} => Box::new(FitBalancer::new(Fit::Best)),
            BalancerConfig::WorstFit {} => Box::new(FitBalancer::new(Fit::Worst)),
            BalancerConfig::ResourceAware { weights, resources, max_cpu_utilization } => {
                Box::new(ResourceAware::new(*weights, *resources, *max_cpu_utilization))
            }
            BalancerConfig::ResponseTime { decay_s } => Box::new(PeakEwma::new(Span::from_secs_f64(*decay_s))),
            BalancerConfig::DynamicWeight {} => Box::new(SmoothWeightedRoundRobin::new(WeightBy::FreeCapacity)),
            BalancerConfig::PredictiveLeastConnections { decay_s, trend } => {
                Box::new(PredictiveLeastConnections::new(Span::from_secs_f64(*decay_s), *trend))
            }
            BalancerConfig::Hybrid { below, above, utilization } => {
                Box::new(Hybrid::new(below.build(), above.build(), *utilization))
            }
            BalancerConfig::Batch { window_s, batch_size, optimiser, objective } => {
                Box::new(crate::batch::BatchBalancer::new(
                    Span::from_secs_f64(*window_s),
                    *batch_size as usize,
                    optimiser.build(),
                    *objective,
                ))
            }
        }
    }
}

/// A uniform index in `0..n` (Lemire's multiply-shift; the bias is below 2^-40 for any `n` a
/// cluster can have). `n` must be positive.
#[inline]
pub fn uniform_index(rng: &mut dyn RngCore, n: usize) -> usize {
    debug_assert!(n > 0);
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}

/// The candidate with the smallest `key`, ties broken uniformly at random by reservoir sampling
/// (a random draw only when a tie is met, so tie-free decisions draw nothing). Candidates whose
/// key is `None` are skipped; `None` if none is left.
#[inline]
pub fn argmin_random_ties(
    candidates: &[NodeId],
    rng: &mut dyn RngCore,
    mut key: impl FnMut(NodeId) -> Option<f64>,
) -> Option<NodeId> {
    let mut best: Option<(NodeId, f64)> = None;
    let mut ties = 0usize;
    for &c in candidates {
        let Some(k) = key(c) else { continue };
        match best {
            Some((_, b)) if k > b => {}
            Some((_, b)) if k == b => {
                ties += 1;
                if uniform_index(rng, ties) == 0 {
                    best = Some((c, k));
                }
            }
            _ => {
                best = Some((c, k));
                ties = 1;
            }
        }
    }
    best.map(|(c, _)| c)
}

#[cfg(test)]
pub(crate) mod testkit {
    use crate::{ClusterView, NodeLoad, NodeSpec, Resources, TaskId, TaskInfo};

    /// Owned storage for a hand-made view.
    pub struct Fixture {
        pub specs: Vec<NodeSpec>,
        pub loads: Vec<NodeLoad>,
        pub used: Vec<Resources>,
    }

    impl Fixture {
        /// `n` single-core nodes whose task counts are `tasks[i]` (all queued).
        pub fn with_tasks(tasks: &[u32]) -> Fixture {
            let n = tasks.len();
            Fixture {
                specs: vec![NodeSpec { capacity: Resources([1000, 4000, 0, 0, 0, 0]), speed: 1.0 }; n],
                loads: tasks.iter().map(|&q| NodeLoad { queued: q, ..Default::default() }).collect(),
                used: vec![Resources::ZERO; n],
            }
        }

        /// Nodes with these task counts and CPU cores.
        pub fn with_tasks_and_cores(tasks: &[u32], cores: &[u64]) -> Fixture {
            let mut fx = Fixture::with_tasks(tasks);
            for (spec, &c) in fx.specs.iter_mut().zip(cores) {
                spec.capacity = Resources([c * 1000, 0, 0, 0, 0, 0]);
            }
            fx
        }

        /// The candidates 0..n.
        pub fn all(&self) -> Vec<crate::NodeId> {
            (0..self.specs.len() as u32).map(crate::NodeId).collect()
        }

        pub fn view(&self) -> ClusterView<'_> {
            ClusterView::new(&self.specs, &self.loads, &self.used)
        }
    }

    pub fn task() -> TaskInfo {
        TaskInfo {
            id: TaskId(0),
            class: 0,
            priority: 0,
            demand: Resources([1000, 0, 0, 0, 0, 0]),
            expected_work_s: 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_parse_with_defaults_and_reject_unknown_fields() {
        let c: BalancerConfig = serde_json::from_str(r#"{"kind":"power-of-d"}"#).unwrap();
        assert_eq!(c, BalancerConfig::PowerOfD { d: 2 });
        let c: BalancerConfig = serde_json::from_str(r#"{"kind":"random"}"#).unwrap();
        assert_eq!(c.kind(), "random");
        let err = serde_json::from_str::<BalancerConfig>(r#"{"kind":"power-of-d","e":3}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `e`"), "{err}");
        let err = serde_json::from_str::<BalancerConfig>(r#"{"kind":"random","d":3}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `d`"), "{err}");
        let err = serde_json::from_str::<BalancerConfig>(r#"{"kind":"nope"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown variant `nope`"), "{err}");
    }

    #[test]
    fn power_of_d_range_is_checked() {
        assert!(BalancerConfig::PowerOfD { d: 0 }.problems()[0].1.contains("at least 1"));
        assert!(BalancerConfig::PowerOfD { d: 2 }.problems().is_empty());
    }
}
