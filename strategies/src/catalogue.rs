//! The list of every strategy with its parameters, for `fulcrum strategies` and for docs.

use crate::balance::BalancerConfig;

/// What part a strategy plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Chooses the node a task goes to.
    Balancer,
}

impl Role {
    /// The scenario-file key under which strategies of this role are listed.
    pub fn scenario_key(self) -> &'static str {
        match self {
            Role::Balancer => "balancers",
        }
    }
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
];

/// Every strategy Fulcrum knows, in a fixed order.
pub fn catalogue() -> &'static [StrategyInfo] {
    // Keep this match exhaustive: a new BalancerConfig variant fails to compile until it is listed.
    fn _listed(c: &BalancerConfig) -> &'static str {
        match c {
            BalancerConfig::Random {} => "random",
            BalancerConfig::RoundRobin {} => "round-robin",
            BalancerConfig::LeastConnections {} => "least-connections",
            BalancerConfig::PowerOfD { .. } => "power-of-d",
        }
    }
    CATALOGUE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogued_balancer_parses_with_its_defaults() {
        for info in catalogue().iter().filter(|i| i.role == Role::Balancer) {
            let json = format!(r#"{{"kind": "{}"}}"#, info.kind);
            let config: BalancerConfig = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{}: {e}", info.kind));
            assert_eq!(config.kind(), info.kind);
            assert!(config.problems().is_empty());
            for p in info.params {
                let json = format!(r#"{{"kind": "{}", "{}": {}}}"#, info.kind, p.name, p.default);
                let with_default: BalancerConfig = serde_json::from_str(&json).unwrap();
                assert_eq!(with_default, config, "{}.{}: stated default differs", info.kind, p.name);
            }
        }
    }
}
