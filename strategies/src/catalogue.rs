//! The list of every strategy with its parameters, for `fulcrum strategies` and for docs.

use crate::balance::BalancerConfig;
use crate::batch::OptimiserConfig;
use crate::detect::DetectorConfig;
use crate::failover::FailoverConfig;

/// What part a strategy plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Chooses the node a task goes to.
    Balancer,
    /// Decides from heartbeats which nodes have failed.
    Detector,
    /// Decides what happens to the tasks of a suspected node.
    Failover,
    /// Assigns a whole batch for a `batch` balancer (nested in it, under `optimiser`).
    Optimiser,
}

impl Role {
    /// The scenario-file key under which strategies of this role are listed.
    pub fn scenario_key(self) -> &'static str {
        match self {
            Role::Balancer => "balancers",
            Role::Detector => "detectors",
            Role::Failover => "failover",
            Role::Optimiser => "optimiser",
        }
    }

    /// Every role, in the order `fulcrum strategies` lists them.
    pub const ALL: [Role; 4] = [Role::Balancer, Role::Optimiser, Role::Detector, Role::Failover];
}

/// One parameter of a strategy.
#[derive(Clone, Copy, Debug)]
pub struct ParamInfo {
    /// JSON field name.
    pub name: &'static str,
    /// JSON type and range.
    pub ty: &'static str,
    /// Default value, as JSON.
    pub default: &'static str,
    /// What it does.
    pub doc: &'static str,
}

/// A strategy's entry in the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct StrategyInfo {
    /// The `kind` string.
    pub kind: &'static str,
    /// Its role.
    pub role: Role,
    /// One line on what it decides and from what.
    pub summary: &'static str,
    /// Its parameters (besides `kind` and `label`).
    pub params: &'static [ParamInfo],
}

const CATALOGUE: &[StrategyInfo] = &[
    StrategyInfo {
        kind: "random",
        role: Role::Balancer,
        summary: "uniformly random feasible node; reads nothing",
        params: &[],
    },
    StrategyInfo {
        kind: "round-robin",
        role: Role::Balancer,
        summary: "feasible nodes in turn; reads nothing",
        params: &[],
    },
    StrategyInfo {
        kind: "least-connections",
        role: Role::Balancer,
        summary: "fewest tasks (running + queued + in flight) in the view; random tie-break; O(nodes)",
        params: &[],
    },
    StrategyInfo {
        kind: "power-of-d",
        role: Role::Balancer,
        summary: "fewest tasks among d distinct random feasible nodes; O(d)",
        params: &[ParamInfo { name: "d", ty: "integer 1..=64", default: "2", doc: "nodes sampled per decision" }],
    },
    StrategyInfo {
        kind: "weighted-round-robin",
        role: Role::Balancer,
        summary: "LVS interleaved weighted round robin on static weights (bursty)",
        params: &[WEIGHT_BY],
    },
    StrategyInfo {
        kind: "smooth-weighted-round-robin",
        role: Role::Balancer,
        summary: "nginx's smooth weighted round robin on static weights; O(nodes)",
        params: &[WEIGHT_BY],
    },
    StrategyInfo {
        kind: "weighted-least-connections",
        role: Role::Balancer,
        summary: "fewest (tasks + 1) per unit of static weight; random tie-break; O(nodes)",
        params: &[WEIGHT_BY],
    },
    StrategyInfo {
        kind: "first-fit",
        role: Role::Balancer,
        summary: "first node whose believed free resources fit the task (else fewest tasks)",
        params: &[],
    },
    StrategyInfo {
        kind: "best-fit",
        role: Role::Balancer,
        summary: "fitting node left with the least normalised free room (else fewest tasks)",
        params: &[],
    },
    StrategyInfo {
        kind: "worst-fit",
        role: Role::Balancer,
        summary: "fitting node left with the most normalised free room (else fewest tasks)",
        params: &[],
    },
    StrategyInfo {
        kind: "response-time",
        role: Role::Balancer,
        summary: "power-of-two on peak-EWMA latency x (outstanding + 1), as Finagle/linkerd; learns from completions",
        params: &[ParamInfo { name: "decay_s", ty: "seconds > 0", default: "10.0", doc: "decay time of the average" }],
    },
    StrategyInfo {
        kind: "hybrid",
        role: Role::Balancer,
        summary: "one balancer while mean CPU utilisation <= utilization, another above it; or, with blend \
                  instead, the least weighted sum of the members' min-max-normalised per-node scores",
        params: &[
            ParamInfo {
                name: "below",
                ty: "balancer",
                default: "(required)",
                doc: "for a quiet cluster (switching form; omit with blend)",
            },
            ParamInfo {
                name: "above",
                ty: "balancer",
                default: "(required)",
                doc: "for a busy cluster (switching form; omit with blend)",
            },
            ParamInfo {
                name: "utilization",
                ty: "number 0..=1",
                default: "(required)",
                doc: "switching point (switching form; omit with blend)",
            },
            ParamInfo {
                name: "blend",
                ty: "list of {weight: number >= 0, balancer} or null",
                default: "null",
                doc: "blending form, instead of below/above/utilization; members need per-node scores: \
                      least-connections, weighted-least-connections, predictive-least-connections, response-time, \
                      resource-aware, online-learning, hybrid",
            },
            ParamInfo {
                name: "sample",
                ty: "integer 0..=64 or null",
                default: "null",
                doc: "blending form: candidates sampled and scored per decision (null or 0: all)",
            },
        ],
    },
    StrategyInfo {
        kind: "predictive-least-connections",
        role: Role::Balancer,
        summary: "least connections on a forecast: tasks + trend x (tasks - time-decayed EWMA); O(nodes)",
        params: &[
            ParamInfo { name: "decay_s", ty: "seconds > 0", default: "5.0", doc: "decay time of the average" },
            ParamInfo { name: "trend", ty: "number 0..=100", default: "1.0", doc: "how far the trend is extrapolated" },
        ],
    },
    StrategyInfo {
        kind: "dynamic-weight",
        role: Role::Balancer,
        summary: "smooth weighted round robin on weights from heartbeats: free CPU x speed",
        params: &[],
    },
    StrategyInfo {
        kind: "resource-aware",
        role: Role::Balancer,
        summary: "filter (fit, utilisation limits, reserved accelerators) then a weighted mean of 0-100 terms: \
                  Kubernetes least/most allocated and balanced, Tetris alignment, demand fit, queue, learned \
                  efficiency and response time; per-priority profiles; a task may wait below min_score",
        params: &[
            ParamInfo {
                name: "weights",
                ty: "{least_allocated, most_allocated, balanced_allocation, queue, tetris, demand_fit, efficiency, \
                     response_time}, each 0..=1e6",
                default: r#"{"least_allocated": 1.0, "most_allocated": 0.0, "balanced_allocation": 1.0, "queue": 0.0, "tetris": 0.0, "demand_fit": 0.0, "efficiency": 0.0, "response_time": 0.0}"#,
                doc: "weights of the score terms (missing terms take these values)",
            },
            ParamInfo {
                name: "resources",
                ty: "{cpu_cores, memory_gb, disk_gb, net_gbps, gpus, fpgas}",
                default: r#"{"cpu_cores": 1.0, "memory_gb": 1.0}"#,
                doc: "resource weights inside each term",
            },
            ParamInfo {
                name: "max_cpu_utilization",
                ty: "(0, 1] or null",
                default: "null",
                doc: "exclude nodes above it (the older form of max_utilization.cpu)",
            },
            ParamInfo {
                name: "max_utilization",
                ty: "{cpu, memory, disk, network, gpu, fpga}, each (0, 1] or null",
                default: "{}",
                doc: "exclude nodes whose believed utilisation of a dimension is above its limit",
            },
            ParamInfo {
                name: "reserve_accelerators",
                ty: "boolean",
                default: "false",
                doc: "a task using no GPU (FPGA) avoids nodes that have them",
            },
            ParamInfo {
                name: "profiles",
                ty: "[{min_priority: integer, weights}], distinct min_priority",
                default: "[]",
                doc: "weights for tasks of at least min_priority (the highest that applies wins)",
            },
            ParamInfo {
                name: "min_score",
                ty: "number 0..=100 or null",
                default: "null",
                doc: "a task waits rather than go to a node scoring below it",
            },
            ParamInfo {
                name: "retry_after_s",
                ty: "seconds > 0",
                default: "0.5",
                doc: "delay before a waiting task is offered again",
            },
            ParamInfo {
                name: "decay_s",
                ty: "seconds > 0",
                default: "10.0",
                doc: "decay time of the learned efficiency and latency averages",
            },
            ParamInfo {
                name: "latency_scale_s",
                ty: "seconds > 0",
                default: "1.0",
                doc: "latency at which the response-time term scores 50",
            },
            ParamInfo {
                name: "percentage_of_nodes_to_score",
                ty: "integer 0..=100",
                default: "0",
                doc:
                    "as kube-scheduler: of 100+ candidates score this % (0 adaptive: 50 - n/125, min 5%, min 100 nodes)",
            },
        ],
    },
    StrategyInfo {
        kind: "online-learning",
        role: Role::Balancer,
        summary: "ridge regression of a task's stretch (latency / expected work) on node features, trained online \
                  by recursive least squares from completions; LinUCB optimism; p2c until warmed up; O(sample)",
        params: &[
            ParamInfo { name: "ridge", ty: "number > 0", default: "1.0", doc: "ridge regulariser" },
            ParamInfo {
                name: "forgetting",
                ty: "number in (0, 1]",
                default: "0.999",
                doc: "forgetting factor; memory of about 1 / (1 - forgetting) outcomes",
            },
            ParamInfo {
                name: "exploration",
                ty: "number 0..=100",
                default: "0.5",
                doc: "optimism: prediction - exploration x confidence width",
            },
            ParamInfo {
                name: "warmup",
                ty: "integer >= 0",
                default: "50",
                doc: "outcomes learned before the model decides (p2c until then)",
            },
            ParamInfo {
                name: "sample",
                ty: "integer 0..=64 or null",
                default: "8",
                doc: "candidates sampled and scored per decision (null or 0: all)",
            },
            ParamInfo {
                name: "decay_s",
                ty: "seconds > 0",
                default: "10.0",
                doc: "time for a node's observed excess stretch to relax back to 1",
            },
        ],
    },
    StrategyInfo {
        kind: "timeout",
        role: Role::Detector,
        summary: "suspect after timeout_s without a heartbeat",
        params: &[
            ParamInfo {
                name: "timeout_s",
                ty: "seconds > 0",
                default: "(required)",
                doc: "silence that triggers suspicion",
            },
            REJOIN,
        ],
    },
    StrategyInfo {
        kind: "missed-heartbeats",
        role: Role::Detector,
        summary: "suspect after k heartbeat intervals without a heartbeat",
        params: &[
            ParamInfo { name: "k", ty: "integer >= 1", default: "(required)", doc: "intervals of silence" },
            REJOIN,
        ],
    },
    StrategyInfo {
        kind: "phi-accrual",
        role: Role::Detector,
        summary: "phi accrual (Hayashibara et al.) with Akka's semantics and defaults",
        params: &[
            ParamInfo { name: "threshold", ty: "number > 0", default: "8.0", doc: "suspect when phi reaches it" },
            ParamInfo {
                name: "max_sample_size",
                ty: "integer 1..=100000",
                default: "1000",
                doc: "intervals kept per node",
            },
            ParamInfo { name: "min_std_s", ty: "seconds > 0", default: "0.1", doc: "floor on the std deviation" },
            ParamInfo {
                name: "acceptable_pause_s",
                ty: "seconds >= 0",
                default: "3.0",
                doc: "pause tolerated on top of the mean",
            },
            ParamInfo {
                name: "first_heartbeat_estimate_s",
                ty: "seconds > 0",
                default: "null",
                doc: "bootstrap mean (null: the heartbeat interval)",
            },
            REJOIN,
        ],
    },
    StrategyInfo {
        kind: "chen",
        role: Role::Detector,
        summary: "Chen-Toueg-Aguilera: expected arrival from a sliding window + safety margin",
        params: &[
            ParamInfo { name: "window", ty: "integer 1..=100000", default: "100", doc: "heartbeats in the estimate" },
            ParamInfo { name: "alpha_s", ty: "seconds >= 0", default: "0.5", doc: "safety margin" },
            REJOIN,
        ],
    },
    StrategyInfo {
        kind: "combined",
        role: Role::Detector,
        summary: "suspect when k of the listed detectors do",
        params: &[
            ParamInfo { name: "k", ty: "integer 1..=len(of)", default: "(required)", doc: "agreement needed" },
            ParamInfo { name: "of", ty: "list of detectors", default: "(required)", doc: "member detectors" },
            REJOIN,
        ],
    },
    StrategyInfo {
        kind: "reschedule",
        role: Role::Failover,
        summary: "tasks of a suspected node go straight back to the balancer, without limit",
        params: &[FENCING],
    },
    StrategyInfo {
        kind: "retry",
        role: Role::Failover,
        summary: "retry after backoff_s * 2^(attempt-1); fail after max_attempts",
        params: &[
            ParamInfo {
                name: "max_attempts",
                ty: "integer 1..=1000",
                default: "3",
                doc: "attempts including the first",
            },
            ParamInfo { name: "backoff_s", ty: "seconds >= 0", default: "1.0", doc: "delay before the first retry" },
            FENCING,
        ],
    },
    StrategyInfo {
        kind: "checkpoint",
        role: Role::Failover,
        summary: "checkpoint every interval_s of work at cost_s each; restarts resume from the last checkpoint",
        params: &[
            ParamInfo { name: "interval_s", ty: "seconds > 0", default: "(required)", doc: "work between checkpoints" },
            ParamInfo { name: "cost_s", ty: "seconds >= 0", default: "0.0", doc: "time one checkpoint takes" },
            FENCING,
        ],
    },
    StrategyInfo {
        kind: "priority-migration",
        role: Role::Failover,
        summary: "orphans move highest priority first, in batches, at most rate_per_s per second",
        params: &[
            ParamInfo { name: "rate_per_s", ty: "number > 0", default: "(required)", doc: "migrations per second" },
            ParamInfo { name: "batch", ty: "integer >= 1", default: "10", doc: "tasks per batch" },
            FENCING,
        ],
    },
    StrategyInfo {
        kind: "batch",
        role: Role::Balancer,
        summary:
            "collects tasks for window_s or batch_size, then assigns the batch with an optimiser over an objective",
        params: &[
            ParamInfo { name: "window_s", ty: "seconds in (0, 1e6]", default: "1.0", doc: "longest wait for a batch" },
            ParamInfo { name: "batch_size", ty: "integer 1..=100000", default: "64", doc: "tasks that close a batch" },
            ParamInfo {
                name: "optimiser",
                ty: "optimiser",
                default: r#"{"kind": "greedy"}"#,
                doc: "assigns the batch (see optimisers)",
            },
            ParamInfo {
                name: "objective",
                ty: r#""makespan" | "balance" | {"weighted": {..}}"#,
                default: r#""makespan""#,
                doc: r#"max finish; CV of finishes; {"weighted": {"makespan": a, "balance": b}}: a x makespan/LB + b x CV"#,
            },
        ],
    },
    StrategyInfo {
        kind: "greedy",
        role: Role::Optimiser,
        summary: "LPT list scheduling: by decreasing work, each task to the node finishing it first; 1 evaluation",
        params: &[],
    },
    StrategyInfo {
        kind: "genetic",
        role: Role::Optimiser,
        summary: "greedy + random population, binary tournament, uniform crossover, per-gene mutation, elitism",
        params: &[
            ParamInfo { name: "population", ty: "integer 2..=10000", default: "30", doc: "individuals per generation" },
            ParamInfo { name: "mutation", ty: "number 0..=1", default: "0.05", doc: "per-gene mutation probability" },
            ParamInfo { name: "crossover", ty: "number 0..=1", default: "0.9", doc: "crossover probability" },
            EVALUATIONS,
        ],
    },
    StrategyInfo {
        kind: "simulated-annealing",
        role: Role::Optimiser,
        summary: "from greedy: reassign/swap moves, Metropolis acceptance, geometric cooling; incremental scoring",
        params: &[
            ParamInfo {
                name: "initial_temperature",
                ty: "number 0..=1e6",
                default: "1.0",
                doc: "starting temperature, relative to the mean worsening of a random move",
            },
            ParamInfo { name: "cooling", ty: "number in (0, 1]", default: "0.998", doc: "factor per evaluation" },
            EVALUATIONS,
        ],
    },
    StrategyInfo {
        kind: "particle-swarm",
        role: Role::Optimiser,
        summary: "discrete PSO (Salman et al. 2002): a position per task in its candidate list, ring topology",
        params: &[
            ParamInfo { name: "particles", ty: "integer 1..=10000", default: "20", doc: "swarm size" },
            ParamInfo { name: "inertia", ty: "number 0..=2", default: "0.729", doc: "inertia weight" },
            ParamInfo { name: "cognitive", ty: "number 0..=4", default: "1.49445", doc: "pull to the particle's best" },
            ParamInfo {
                name: "social",
                ty: "number 0..=4",
                default: "1.49445",
                doc: "pull to the ring neighbours' best",
            },
            EVALUATIONS,
        ],
    },
    StrategyInfo {
        kind: "ant-colony",
        role: Role::Optimiser,
        summary: "MAX-MIN ant system: pheromone per (task, listed node), heuristic 1 / finish time",
        params: &[
            ParamInfo { name: "ants", ty: "integer 1..=10000", default: "10", doc: "ants per iteration" },
            ParamInfo { name: "evaporation", ty: "number in (0, 1]", default: "0.1", doc: "evaporation rate" },
            ParamInfo { name: "alpha", ty: "number 0..=10", default: "1.0", doc: "pheromone exponent" },
            ParamInfo { name: "beta", ty: "number 0..=10", default: "2.0", doc: "heuristic exponent" },
            ParamInfo {
                name: "candidate_list",
                ty: "integer 1..=100000",
                default: "16",
                doc: "nodes an ant considers per task, around the greedy one",
            },
            EVALUATIONS,
        ],
    },
];

const EVALUATIONS: ParamInfo = ParamInfo {
    name: "evaluations",
    ty: "integer 1..=10000000",
    default: "2000",
    doc: "budget of objective evaluations",
};

const WEIGHT_BY: ParamInfo = ParamInfo {
    name: "weight_by",
    ty: "\"capacity\" | \"cores\" | \"speed\" | \"equal\"",
    default: "\"capacity\"",
    doc: "static weight: cores x speed, cores, speed, or 1",
};

const FENCING: ParamInfo = ParamInfo {
    name: "fencing",
    ty: "boolean",
    default: "false",
    doc: "kill stale copies of failed-over tasks when the node comes back",
};

const REJOIN: ParamInfo = ParamInfo {
    name: "rejoin_after",
    ty: "integer >= 1",
    default: "3",
    doc: "consecutive heartbeats before a suspected node rejoins",
};

/// Every strategy Fulcrum knows, in a fixed order.
pub fn catalogue() -> &'static [StrategyInfo] {
    // Keep this match exhaustive: a new BalancerConfig variant fails to compile until it is listed.
    fn _listed(c: &BalancerConfig) -> &'static str {
        match c {
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
    fn _optimisers(c: &OptimiserConfig) -> &'static str {
        match c {
            OptimiserConfig::Greedy {} => "greedy",
            OptimiserConfig::Genetic { .. } => "genetic",
            OptimiserConfig::SimulatedAnnealing { .. } => "simulated-annealing",
            OptimiserConfig::ParticleSwarm { .. } => "particle-swarm",
            OptimiserConfig::AntColony { .. } => "ant-colony",
        }
    }
    fn _detectors(c: &DetectorConfig) -> &'static str {
        match c {
            DetectorConfig::Timeout { .. } => "timeout",
            DetectorConfig::MissedHeartbeats { .. } => "missed-heartbeats",
            DetectorConfig::PhiAccrual { .. } => "phi-accrual",
            DetectorConfig::Chen { .. } => "chen",
            DetectorConfig::Combined { .. } => "combined",
        }
    }
    fn _failover(c: &FailoverConfig) -> &'static str {
        match c {
            FailoverConfig::Reschedule { .. } => "reschedule",
            FailoverConfig::Retry { .. } => "retry",
            FailoverConfig::Checkpoint { .. } => "checkpoint",
            FailoverConfig::PriorityMigration { .. } => "priority-migration",
        }
    }
    CATALOGUE
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal JSON configuration: the kind plus every required parameter.
    fn minimal(info: &StrategyInfo) -> String {
        let mut json = format!(r#"{{"kind": "{}""#, info.kind);
        for p in info.params.iter().filter(|p| p.default == "(required)") {
            let value = match (info.kind, p.name) {
                ("combined", "k") => "1",
                ("combined", "of") => r#"[{"kind": "timeout", "timeout_s": 3}]"#,
                ("hybrid", "below" | "above") => r#"{"kind": "random"}"#,
                ("hybrid", "utilization") => "0.5",
                _ => "3",
            };
            json.push_str(&format!(r#", "{}": {value}"#, p.name));
        }
        json.push('}');
        json
    }

    #[test]
    fn every_catalogued_detector_and_policy_parses_with_its_defaults() {
        for info in catalogue() {
            let json = minimal(info);
            match info.role {
                Role::Balancer => continue,
                Role::Optimiser => {
                    let c: OptimiserConfig = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
                    assert_eq!(c.kind(), info.kind);
                    assert!(c.problems().is_empty(), "{json}");
                    for p in info.params {
                        let with = format!(r#"{}, "{}": {}}}"#, &json[..json.len() - 1], p.name, p.default);
                        let d: OptimiserConfig = serde_json::from_str(&with).unwrap_or_else(|e| panic!("{with}: {e}"));
                        assert_eq!(d, c, "{}.{}: stated default differs", info.kind, p.name);
                    }
                    let nested = format!(r#"{{"kind": "batch", "optimiser": {json}}}"#);
                    let b: BalancerConfig = serde_json::from_str(&nested).unwrap_or_else(|e| panic!("{nested}: {e}"));
                    assert!(b.problems().is_empty(), "{nested}");
                }
                Role::Detector => {
                    let c: DetectorConfig = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
                    assert_eq!(c.kind(), info.kind);
                    assert!(c.problems().is_empty(), "{json}");
                    for p in info.params.iter().filter(|p| p.default != "(required)") {
                        let with = format!(r#"{}, "{}": {}}}"#, &json[..json.len() - 1], p.name, p.default);
                        let d: DetectorConfig = serde_json::from_str(&with).unwrap_or_else(|e| panic!("{with}: {e}"));
                        assert_eq!(d, c, "{}.{}: stated default differs", info.kind, p.name);
                    }
                }
                Role::Failover => {
                    let c: FailoverConfig = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
                    assert_eq!(c.kind(), info.kind);
                    assert!(c.problems().is_empty(), "{json}");
                    for p in info.params.iter().filter(|p| p.default != "(required)") {
                        let with = format!(r#"{}, "{}": {}}}"#, &json[..json.len() - 1], p.name, p.default);
                        let d: FailoverConfig = serde_json::from_str(&with).unwrap_or_else(|e| panic!("{with}: {e}"));
                        assert_eq!(d, c, "{}.{}: stated default differs", info.kind, p.name);
                    }
                }
            }
        }
    }

    #[test]
    fn every_catalogued_balancer_parses_with_its_defaults() {
        for info in catalogue().iter().filter(|i| i.role == Role::Balancer) {
            let json = minimal(info);
            let config: BalancerConfig = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{}: {e}", info.kind));
            assert_eq!(config.kind(), info.kind);
            assert!(config.problems().is_empty());
            for p in info.params.iter().filter(|p| p.default != "(required)") {
                let json = format!(r#"{}, "{}": {}}}"#, &json[..json.len() - 1], p.name, p.default);
                let with_default: BalancerConfig = serde_json::from_str(&json).unwrap();
                assert_eq!(with_default, config, "{}.{}: stated default differs", info.kind, p.name);
            }
        }
    }
}
