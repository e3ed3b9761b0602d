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
mod online_learning;
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
pub use hybrid::{Blend, BlendMember};
pub use least_connections::LeastConnections;
pub use online_learning::{
    LearningSettings, OnlineLearning, RecursiveRidge, DISPATCH_SLOTS, EXCESS_GAIN, FEATURES, FEATURE_NAMES,
};
pub use peak_ewma::PeakEwma;
pub use power_of_d::PowerOfD;
pub use predictive_least_connections::PredictiveLeastConnections;
pub use random::Random;
pub use resource_aware::{
    balanced_score, default_resource_weights, least_requested_score, most_requested_score, ResourceAware, TermWeights,
};
pub use resource_aware::{demand_fit_score, tetris_score, UtilizationLimits, WeightProfile, N_TERMS, TERM_NAMES};
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

    /// False if the balancer never reads [`ClusterView::used`] (in any of its methods): a caller
    /// may then leave that part of the view it builds unmaintained, which spares it a write per
    /// dispatch and per heartbeat. The default, true, is always safe.
    fn reads_used(&self) -> bool {
        true
    }

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

    /// One score per candidate in `out` (cleared first; `out[i]` for `candidates[i]`), lower is
    /// better, for a caller that combines several balancers' opinions (the blending
    /// [`Blend`]). A candidate the balancer's filters reject scores `f64::INFINITY`. Scoring draws
    /// no random numbers; it may update state the way `pick` does (a forecast's averages).
    /// Returns false, leaving `out` unspecified, if the balancer has no per-node score (the
    /// default: random and round-robin orders, the fits); [`BalancerConfig::has_scores`] says
    /// which configurations have one.
    fn scores(
        &mut self,
        _task: &TaskInfo,
        _candidates: &[NodeId],
        _view: &ClusterView<'_>,
        _now: Time,
        _out: &mut Vec<f64>,
    ) -> bool {
        false
    }

    /// A caller that ranked the candidates with [`scores`](Self::scores) placed `task` on `node`:
    /// a learner records what `pick` would have recorded for the decision. The default does
    /// nothing.
    fn placed(&mut self, _task: &TaskInfo, _node: NodeId, _view: &ClusterView<'_>, _now: Time) {}

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
// A configuration is parsed once and cloned rarely: its size does not matter, and boxing the
// larger variants' fields would only make them clumsier to write.
#[allow(clippy::large_enum_variant)]
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
    /// Either switches — `below` while the candidates' mean CPU utilisation is at most
    /// `utilization`, else `above` — or blends: `blend` lists weighted members whose per-node
    /// scores are min-max normalised and summed. Exactly one form: `below`, `above` and
    /// `utilization` together, or `blend` alone.
    Hybrid {
        /// The balancer for a quiet cluster (switching form).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        below: Option<Box<BalancerConfig>>,
        /// The balancer for a busy cluster (switching form).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        above: Option<Box<BalancerConfig>>,
        /// Switching point, in [0, 1] (switching form).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        utilization: Option<f64>,
        /// Weighted members whose scores are blended (blending form).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        blend: Option<Vec<BlendMember>>,
        /// Candidates sampled and scored per decision, blending form only; `null` or 0 scores all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sample: Option<u32>,
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
        /// Exclude nodes whose believed utilisation of a dimension is above its limit.
        #[serde(default)]
        max_utilization: UtilizationLimits,
        /// Keep GPU and FPGA nodes for the tasks that use them.
        #[serde(default)]
        reserve_accelerators: bool,
        /// Term weights by task priority, replacing `weights`.
        #[serde(default)]
        profiles: Vec<WeightProfile>,
        /// A task waits rather than go to a node scoring below this (0–100).
        #[serde(default)]
        min_score: Option<f64>,
        /// Seconds before a task that waited is offered again.
        #[serde(default = "ResourceAware::default_retry_after_s")]
        retry_after_s: f64,
        /// Decay time of the learned averages, seconds.
        #[serde(default = "ResourceAware::default_decay_s")]
        decay_s: f64,
        /// Latency at which the response-time term scores 50, seconds.
        #[serde(default = "ResourceAware::default_latency_scale_s")]
        latency_scale_s: f64,
        /// Kubernetes' `percentageOfNodesToScore`: of a list of 100 candidates or more, score
        /// only this percentage (0: adaptive, 50% less one point per 125 nodes, at least 5%; at
        /// least 100 nodes), searched round robin; 100 scores every node.
        #[serde(default)]
        percentage_of_nodes_to_score: u32,
    },
    /// A ridge-regression model of a task's stretch on a node, trained by recursive least squares
    /// from completions; LinUCB optimism; power-of-two choices until warmed up.
    OnlineLearning {
        /// Ridge regulariser, > 0.
        #[serde(default = "OnlineLearning::default_ridge")]
        ridge: f64,
        /// Forgetting factor in (0, 1]; 1 never forgets.
        #[serde(default = "OnlineLearning::default_forgetting")]
        forgetting: f64,
        /// Optimism: the weight of the confidence width subtracted from the prediction.
        #[serde(default = "OnlineLearning::default_exploration")]
        exploration: f64,
        /// Outcomes learned from before the model decides.
        #[serde(default = "OnlineLearning::default_warmup")]
        warmup: u32,
        /// Candidates sampled and scored per decision; `null` or 0 scores all.
        #[serde(default = "OnlineLearning::default_sample")]
        sample: Option<u32>,
        /// Time constant with which a node's observed excess stretch relaxes back to 1, seconds.
        #[serde(default = "OnlineLearning::default_decay_s")]
        decay_s: f64,
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
            BalancerConfig::OnlineLearning { .. } => "online-learning",
            BalancerConfig::Batch { .. } => "batch",
        }
    }

    /// True if balancers of this configuration give per-node scores ([`Balancer::scores`]), so
    /// that a blending hybrid can combine them.
    pub fn has_scores(&self) -> bool {
        match self {
            BalancerConfig::LeastConnections {}
            | BalancerConfig::WeightedLeastConnections { .. }
            | BalancerConfig::PredictiveLeastConnections { .. }
            | BalancerConfig::ResponseTime { .. }
            | BalancerConfig::ResourceAware { .. }
            | BalancerConfig::OnlineLearning { .. } => true,
            BalancerConfig::Hybrid { blend: Some(_), .. } => true,
            BalancerConfig::Hybrid { below, above, blend: None, .. } => {
                below.as_ref().is_some_and(|b| b.has_scores()) && above.as_ref().is_some_and(|a| a.has_scores())
            }
            _ => false,
        }
    }

    /// Checks parameter ranges. Returns `(parameter, problem)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let BalancerConfig::ResourceAware {
            weights,
            resources,
            max_cpu_utilization,
            max_utilization,
            profiles,
            min_score,
            retry_after_s,
            decay_s,
            latency_scale_s,
            percentage_of_nodes_to_score,
            ..
        } = self
        {
            if *percentage_of_nodes_to_score > 100 {
                out.push((
                    "percentage_of_nodes_to_score",
                    format!("must be between 0 (adaptive) and 100, got {percentage_of_nodes_to_score}"),
                ));
            }
            if let Some(problem) = weights.problem() {
                out.push(("weights", problem));
            }
            if resources.to_array().iter().any(|w| !(w.is_finite() && *w >= 0.0 && *w <= 1e6)) {
                out.push(("resources", "weights must be between 0 and 1000000".to_string()));
            }
            if let Some(m) = max_cpu_utilization {
                if !(m.is_finite() && *m > 0.0 && *m <= 1.0) {
                    out.push(("max_cpu_utilization", format!("must be in (0, 1], got {m}")));
                }
                if max_utilization.cpu.is_some() {
                    out.push(("max_utilization", "cpu: set either this or max_cpu_utilization, not both".to_string()));
                }
            }
            out.extend(max_utilization.problems().into_iter().map(|p| ("max_utilization", p)));
            for (i, profile) in profiles.iter().enumerate() {
                if profiles[..i].iter().any(|p| p.min_priority == profile.min_priority) {
                    out.push(("profiles", format!("two profiles have min_priority {}", profile.min_priority)));
                }
                if let Some(problem) = profile.weights.problem() {
                    out.push(("profiles", format!("min_priority {}: weights {problem}", profile.min_priority)));
                }
            }
            if let Some(m) = min_score {
                if !(m.is_finite() && (0.0..=100.0).contains(m)) {
                    out.push(("min_score", format!("must be between 0 and 100, got {m}")));
                }
            }
            for (name, value) in
                [("retry_after_s", retry_after_s), ("decay_s", decay_s), ("latency_scale_s", latency_scale_s)]
            {
                if !(value.is_finite() && *value > 0.0 && *value <= 1e6) {
                    out.push((name, format!("must be positive and at most 1000000, got {value}")));
                }
            }
        }
        if let BalancerConfig::Hybrid { below, above, utilization, blend, sample } = self {
            hybrid::problems(below.as_deref(), above.as_deref(), *utilization, blend.as_deref(), *sample, &mut out);
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
        if let BalancerConfig::OnlineLearning { ridge, forgetting, exploration, warmup: _, sample, decay_s } = self {
            if !(ridge.is_finite() && *ridge > 0.0 && *ridge <= 1e6) {
                out.push(("ridge", format!("must be positive and at most 1000000, got {ridge}")));
            }
            if !(forgetting.is_finite() && *forgetting > 0.0 && *forgetting <= 1.0) {
                out.push(("forgetting", format!("must be in (0, 1], got {forgetting}")));
            }
            if !(exploration.is_finite() && (0.0..=100.0).contains(exploration)) {
                out.push(("exploration", format!("must be between 0 and 100, got {exploration}")));
            }
            if let Some(k) = sample {
                if *k > OnlineLearning::MAX_SAMPLE {
                    out.push((
                        "sample",
                        format!("must be at most {} (or null for all), got {k}", OnlineLearning::MAX_SAMPLE),
                    ));
                }
            }
            if !(decay_s.is_finite() && *decay_s > 0.0 && *decay_s <= 1e6) {
                out.push(("decay_s", format!("must be positive and at most 1000000, got {decay_s}")));
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
            BalancerConfig::ResourceAware {
                weights,
                resources,
                max_cpu_utilization,
                max_utilization,
                reserve_accelerators,
                profiles,
                min_score,
                retry_after_s,
                decay_s,
                latency_scale_s,
                percentage_of_nodes_to_score,
            } => Box::new(
                ResourceAware::new(*weights, *resources, *max_cpu_utilization)
                    .with_max_utilization(*max_utilization)
                    .with_reserve_accelerators(*reserve_accelerators)
                    .with_profiles(profiles)
                    .with_min_score(*min_score, Span::from_secs_f64(*retry_after_s))
                    .with_history(Span::from_secs_f64(*decay_s), *latency_scale_s)
                    .with_percentage_of_nodes_to_score(*percentage_of_nodes_to_score),
            ),
            BalancerConfig::ResponseTime { decay_s } => Box::new(PeakEwma::new(Span::from_secs_f64(*decay_s))),
            BalancerConfig::DynamicWeight {} => Box::new(SmoothWeightedRoundRobin::new(WeightBy::FreeCapacity)),
            BalancerConfig::PredictiveLeastConnections { decay_s, trend } => {
                Box::new(PredictiveLeastConnections::new(Span::from_secs_f64(*decay_s), *trend))
            }
            BalancerConfig::Hybrid { blend: Some(members), sample, .. } => Box::new(Blend::new(
                members.iter().map(|m| (m.weight, m.balancer.kind(), m.balancer.build())).collect(),
                sample.unwrap_or(0),
            )),
            BalancerConfig::Hybrid { below, above, utilization, blend: None, .. } => {
                // A valid configuration has all three; an invalid one gets least connections.
                let member = |m: &Option<Box<BalancerConfig>>| {
                    m.as_deref().map_or_else(|| Box::new(LeastConnections) as Box<dyn Balancer>, |c| c.build())
                };
                Box::new(Hybrid::new(member(below), member(above), utilization.unwrap_or(1.0)))
            }
            BalancerConfig::OnlineLearning { ridge, forgetting, exploration, warmup, sample, decay_s } => {
                Box::new(OnlineLearning::new(LearningSettings {
                    ridge: *ridge,
                    forgetting: *forgetting,
                    exploration: *exploration,
                    warmup: *warmup,
                    sample: sample.unwrap_or(0),
                    decay: Span::from_secs_f64(*decay_s),
                }))
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

/// Draws `k` distinct candidates uniformly at random into `out` (`k < candidates.len()`), by a
/// sparse partial Fisher–Yates shuffle: only the swapped positions are remembered (in `swaps`),
/// so the cost is O(k²) whatever the number of candidates, and nothing is copied. Both vectors
/// are scratch space the caller keeps, so that a decision allocates nothing.
pub fn sample_distinct(
    candidates: &[NodeId],
    k: usize,
    rng: &mut dyn RngCore,
    out: &mut Vec<NodeId>,
    swaps: &mut Vec<(usize, usize)>,
) {
    let lookup =
        |swaps: &[(usize, usize)], pos: usize| swaps.iter().rev().find(|(p, _)| *p == pos).map_or(pos, |&(_, v)| v);
    let n = candidates.len();
    debug_assert!(k < n);
    out.clear();
    swaps.clear();
    for s in 0..k {
        let r = s + uniform_index(rng, n - s);
        let chosen = lookup(swaps, r);
        let displaced = lookup(swaps, s);
        swaps.push((r, displaced));
        out.push(candidates[chosen]);
    }
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

/// Where a decision function writes what it considered: nowhere (`()`, for
/// [`pick`](Balancer::pick)) or an [`Explanation`] (for [`pick_explained`](Balancer::pick_explained)).
/// One generic function then serves both, and `pick`, monomorphised with `()`, carries no trace of
/// the bookkeeping: guard work done only for the notes with `if N::ON`.
pub(crate) trait Notes {
    /// True if notes are kept.
    const ON: bool;
    /// Starts a decision ranked by `rank`.
    fn start(&mut self, rank: Rank);
    /// Notes a candidate (see [`Explanation::note`]).
    fn note(
        &mut self,
        node: NodeId,
        rejected_by: Option<&'static str>,
        terms: &[(&'static str, f64)],
        score: Option<f64>,
    );
}

impl Notes for () {
    const ON: bool = false;
    #[inline(always)]
    fn start(&mut self, _rank: Rank) {}
    #[inline(always)]
    fn note(&mut self, _: NodeId, _: Option<&'static str>, _: &[(&'static str, f64)], _: Option<f64>) {}
}

impl Notes for Explanation {
    const ON: bool = true;
    fn start(&mut self, rank: Rank) {
        self.clear();
        self.rank = rank;
    }
    fn note(
        &mut self,
        node: NodeId,
        rejected_by: Option<&'static str>,
        terms: &[(&'static str, f64)],
        score: Option<f64>,
    ) {
        Explanation::note(self, node, rejected_by, terms, score);
    }
}

#[cfg(test)]
pub(crate) mod testkit {
    use rand_chacha::ChaCha8Rng;
    use rand_core::{RngCore, SeedableRng};

    use super::{Balancer, Explanation, Outcome, Rank};
    use crate::{ClusterView, NodeId, NodeLoad, NodeSpec, Resources, Span, TaskId, TaskInfo, Time};

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

    /// A small random cluster (1 to 10 nodes, some with GPUs or FPGAs, few distinct task counts so
    /// that ties are common), a non-empty candidate subset in id order, and a random task.
    fn random_case(gen: &mut ChaCha8Rng) -> (Fixture, Vec<NodeId>, TaskInfo) {
        let mut next = |n: u64| gen.next_u64() % n;
        let n = 1 + next(10) as usize;
        let mut fx = Fixture::with_tasks(&vec![0; n]);
        for i in 0..n {
            let cap = Resources([
                [2000, 4000, 8000][next(3) as usize],
                [4000, 8000, 16_000][next(3) as usize],
                next(2) * 100_000,
                next(2) * 10_000,
                [0, 0, 2000][next(3) as usize],
                [0, 0, 0, 1000][next(4) as usize],
            ]);
            fx.specs[i] = NodeSpec { capacity: cap, speed: [0.5, 1.0, 2.0][next(3) as usize] };
            fx.used[i] = Resources(cap.0.map(|c| if c == 0 { 0 } else { next(c + 1) / 500 * 500 }));
            fx.loads[i] = NodeLoad { running: next(3) as u32, queued: next(2) as u32, in_flight: next(2) as u32 };
        }
        let mut candidates: Vec<NodeId> = (0..n as u32).filter(|_| next(4) != 0).map(NodeId).collect();
        if candidates.is_empty() {
            candidates.push(NodeId(next(n as u64) as u32));
        }
        let task = TaskInfo {
            id: TaskId(next(1000)),
            class: 0,
            priority: next(5) as i32,
            demand: Resources([next(7) * 500, next(9) * 500, 0, 0, [0, 0, 1000][next(3) as usize], 0]),
            expected_work_s: 0.5 + next(4) as f64 * 0.5,
        };
        (fx, candidates, task)
    }

    /// Checks that `pick_explained` chooses exactly what `pick` does and draws the same random
    /// numbers: `balancer` (after a warm-up) and its clone decide `rounds` times on random views,
    /// candidates and tasks, learning the same random outcomes, one through `pick`, the other
    /// through `pick_explained`, each with a generator of the same seed. After every decision the
    /// choices and the generators' next outputs must agree, every note must be about a candidate,
    /// and a ranked choice must carry the best score among the notes no filter rejected.
    pub fn assert_explained_matches_pick<B: Balancer + Clone>(balancer: B, rounds: usize) {
        let mut gen = ChaCha8Rng::seed_from_u64(99);
        let mut plain = balancer;
        let mut rng_plain = ChaCha8Rng::seed_from_u64(5);
        let learn = |b: &mut B, gen: &mut ChaCha8Rng, n: usize, now: Time| {
            if gen.next_u32().is_multiple_of(2) {
                let outcome = Outcome {
                    task: TaskId(0),
                    node: NodeId(gen.next_u32() % n as u32),
                    latency: Span::from_millis(1 + u64::from(gen.next_u32() % 3000)),
                    expected_work_s: 0.5 + f64::from(gen.next_u32() % 4) * 0.5,
                    completed: !gen.next_u32().is_multiple_of(5),
                };
                b.observe(&outcome, now);
                Some(outcome)
            } else {
                None
            }
        };
        for round in 0..50u64 {
            let (fx, candidates, task) = random_case(&mut gen);
            let now = Time(round * 100_000_000);
            plain.pick(&task, &candidates, &fx.view(), now, &mut rng_plain);
            learn(&mut plain, &mut gen, fx.specs.len(), now);
        }
        let mut explained = plain.clone();
        let mut rng_explained = rng_plain.clone();
        let mut why = Explanation::default();
        let mut noted = 0;
        for round in 50..50 + rounds as u64 {
            let (fx, candidates, task) = random_case(&mut gen);
            let now = Time(round * 100_000_000);
            let view = fx.view();
            let a = plain.pick(&task, &candidates, &view, now, &mut rng_plain);
            let b = explained.pick_explained(&task, &candidates, &view, now, &mut rng_explained, &mut why);
            assert_eq!(a, b, "round {round}: pick and pick_explained disagree");
            assert_eq!(rng_plain.clone().next_u64(), rng_explained.clone().next_u64(), "round {round}: draws differ");
            assert!(why.notes.iter().all(|n| candidates.contains(&NodeId(n.node))), "round {round}: {why:?}");
            noted += usize::from(!why.notes.is_empty());
            let chosen = a.and_then(|c| why.notes.iter().find(|n| n.node == c.0 && n.rejected_by.is_none()));
            if let (Some(note), Rank::Lowest | Rank::Highest) = (chosen, why.rank) {
                let best = note.score.expect("a ranked, unrejected note has a score");
                for other in why.notes.iter().filter(|n| n.rejected_by.is_none()) {
                    let s = other.score.expect("a ranked, unrejected note has a score");
                    let worse_or_equal = if why.rank == Rank::Lowest { s >= best } else { s <= best };
                    assert!(worse_or_equal, "round {round}: chose {note:?} over {other:?}");
                }
            }
            if let Some(outcome) = learn(&mut plain, &mut gen, fx.specs.len(), now) {
                explained.observe(&outcome, now);
            }
        }
        assert!(noted > rounds / 2, "only {noted} of {rounds} decisions were explained");
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
    fn sampling_draws_distinct_candidates_uniformly() {
        use rand_core::SeedableRng;
        let candidates: Vec<NodeId> = (0..10).map(NodeId).collect();
        let (mut out, mut swaps) = (Vec::new(), Vec::new());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0u32; 10];
        for _ in 0..10_000 {
            sample_distinct(&candidates, 4, &mut rng, &mut out, &mut swaps);
            let mut sorted = out.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), 4, "{out:?}");
            for n in &out {
                counts[n.index()] += 1;
            }
        }
        // Each node is in a sample with probability 4/10.
        assert!(counts.iter().all(|&c| (3_800..4_200).contains(&c)), "{counts:?}");
    }

    #[test]
    fn power_of_d_range_is_checked() {
        assert!(BalancerConfig::PowerOfD { d: 0 }.problems()[0].1.contains("at least 1"));
        assert!(BalancerConfig::PowerOfD { d: 2 }.problems().is_empty());
    }
}
