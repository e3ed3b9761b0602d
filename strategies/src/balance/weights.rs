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
    #[inline(always)]
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

    /// `out[i] = f(weight of candidates[i])` for every candidate (`out` as long as `candidates`):
    /// the same values as [`weight`](Self::weight), with the choice of formula made once rather
    /// than per node.
    #[inline(always)]
    pub fn map_into<T>(self, view: &ClusterView<'_>, candidates: &[NodeId], out: &mut [T], f: impl FnMut(f64) -> T) {
        debug_assert_eq!(out.len(), candidates.len());
        match self {
            WeightBy::Capacity => fill(out, candidates, f, |c| WeightBy::Capacity.weight(view, c)),
            WeightBy::Cores => fill(out, candidates, f, |c| WeightBy::Cores.weight(view, c)),
            WeightBy::Speed => fill(out, candidates, f, |c| WeightBy::Speed.weight(view, c)),
            WeightBy::Equal => fill(out, candidates, f, |_| 1.0),
            WeightBy::FreeCapacity => fill(out, candidates, f, |c| WeightBy::FreeCapacity.weight(view, c)),
        }
    }
}

/// The loop of [`WeightBy::map_into`], compiled once per formula.
#[inline(always)]
fn fill<T>(out: &mut [T], candidates: &[NodeId], mut f: impl FnMut(f64) -> T, weight: impl Fn(NodeId) -> f64) {
    for (o, &c) in out.iter_mut().zip(candidates) {
        *o = f(weight(c));
    }
}
