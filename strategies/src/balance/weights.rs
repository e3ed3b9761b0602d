//! Static node weights for the weighted balancers, derived from what the view says of a node.

use serde::{Deserialize, Serialize};

use crate::{ClusterView, NodeId, Resource};

/// Where a node's static weight comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WeightBy {
    /// CPU cores × speed: the node's processing capacity (the default).
    #[default]
    Capacity,
    /// CPU cores.
    Cores,
    /// Relative speed.
    Speed,
    /// Every node 1 (plain round robin / least connections).
    Equal,
    /// Dynamic: free CPU cores × speed as the view believes them now (a node with no free core
    /// keeps a small weight, so it is not starved of its turn forever).
    FreeCapacity,
}

impl WeightBy {
    /// The weight of `node` (always positive for a valid node).
    #[inline]
    pub fn weight(self, view: &ClusterView<'_>, node: NodeId) -> f64 {
        let spec = view.spec(node);
        match self {
            WeightBy::Capacity => spec.capacity.units(Resource::Cpu) * spec.speed,
            WeightBy::Cores => spec.capacity.units(Resource::Cpu),
            WeightBy::Speed => spec.speed,
            WeightBy::Equal => 1.0,
            WeightBy::FreeCapacity => {
                let free = spec.capacity.minus(view.used(node)).units(Resource::Cpu);
                free.max(0.01) * spec.speed
            }
        }
    }
}
