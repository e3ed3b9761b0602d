//! Fulcrum's strategies: load balancers (and, later, failure detectors and failover policies) as
//! pure decisions that a simulator and a production scheduler link alike.
//!
//! **The one design decision**: a strategy never reaches out. It reads a [`ClusterView`] it is
//! handed, the current [`Time`] it is told, and draws randomness only from the generator it is
//! passed. It depends on no other Fulcrum crate, reads no clock, owns no global random state and
//! performs no I/O, so the code measured in simulation is byte for byte the code that runs in
//! production.
//!
//! Configurations are serde types ([`balance::BalancerConfig`]) in exactly the JSON form a
//! scenario file uses, so tuned settings move from a study to a deployment unchanged.
//!
//! ```
//! use fulcrum_strategies::balance::BalancerConfig;
//! let config: BalancerConfig = serde_json::from_str(r#"{"kind": "power-of-d", "d": 3}"#).unwrap();
//! let _balancer = config.build();
//! ```
#![deny(missing_docs)]

pub mod balance;
pub mod batch;
mod catalogue;
pub mod detect;
pub mod failover;
mod resources;
mod time;
mod view;

pub use catalogue::{catalogue, ParamInfo, Role, StrategyInfo};
pub use resources::{Resource, ResourceUnits, Resources, MILLI, N_RESOURCES};
pub use time::{round_to_u64, Span, Time};
pub use view::{ClusterView, NodeId, NodeLoad, NodeSpec, TaskId, TaskInfo};
