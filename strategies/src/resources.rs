//! Multi-dimensional resource vectors in fixed-point milli-units, so that adding and removing a
//! task's demand is exact and a node's accounting never drifts.

use serde::{Deserialize, Serialize};

/// Number of resource dimensions.
pub const N_RESOURCES: usize = 6;

/// Fixed-point scale: one unit (a core, a GB, a Gbit/s, a GPU) is this many milli-units.
pub const MILLI: u64 = 1000;

/// A resource dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// CPU cores.
    Cpu = 0,
    /// Memory, GB.
    Memory = 1,
    /// Disk, GB.
    Disk = 2,
    /// Network bandwidth, Gbit/s.
    Network = 3,
    /// GPUs.
    Gpu = 4,
    /// FPGAs.
    Fpga = 5,
}

impl Resource {
    /// Every dimension, in index order.
    pub const ALL: [Resource; N_RESOURCES] =
        [Resource::Cpu, Resource::Memory, Resource::Disk, Resource::Network, Resource::Gpu, Resource::Fpga];

    /// The name used in scenario files and output columns.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu_cores",
            Resource::Memory => "memory_gb",
            Resource::Disk => "disk_gb",
            Resource::Network => "net_gbps",
            Resource::Gpu => "gpus",
            Resource::Fpga => "fpgas",
        }
    }
}

/// An amount of each resource, in milli-units (`1 core = 1000`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Resources(pub [u64; N_RESOURCES]);

impl Resources {
    /// Nothing of anything.
    pub const ZERO: Resources = Resources([0; N_RESOURCES]);

    /// Converts whole units (cores, GB, …) to milli-units, rounding to the nearest milli-unit.
    /// Callers validate the values first; negative or non-finite values become 0.
    pub fn from_units(units: [f64; N_RESOURCES]) -> Resources {
        let mut out = [0u64; N_RESOURCES];
        for (o, u) in out.iter_mut().zip(units) {
            let m = (u * MILLI as f64).round();
            *o = if m.is_finite() && m > 0.0 { m as u64 } else { 0 };
        }
        Resources(out)
    }

    /// The amount of one resource in milli-units.
    #[inline]
    pub fn get(&self, r: Resource) -> u64 {
        self.0[r as usize]
    }

    /// The amount of one resource in whole units.
    #[inline]
    pub fn units(&self, r: Resource) -> f64 {
        u64_to_f64(self.0[r as usize]) / MILLI as f64
    }

    /// True if every dimension of `self` is at most that of `limit`.
    #[inline]
    pub fn fits_in(&self, limit: &Resources) -> bool {
        self.0.iter().zip(&limit.0).all(|(a, b)| a <= b)
    }

    /// `self + other`, dimension by dimension (saturating).
    #[inline]
    pub fn plus(&self, other: &Resources) -> Resources {
        let mut out = self.0;
        for (o, b) in out.iter_mut().zip(&other.0) {
            *o = o.saturating_add(*b);
        }
        Resources(out)
    }

    /// `self - other`, dimension by dimension, floored at zero.
    #[inline]
    pub fn minus(&self, other: &Resources) -> Resources {
        let mut out = self.0;
        for (o, b) in out.iter_mut().zip(&other.0) {
            *o = o.saturating_sub(*b);
        }
        Resources(out)
    }

    /// Adds `other` in place.
    #[inline]
    pub fn add_assign(&mut self, other: &Resources) {
        *self = self.plus(other);
    }

    /// Subtracts `other` in place, floored at zero.
    #[inline]
    pub fn sub_assign(&mut self, other: &Resources) {
        debug_assert!(other.fits_in(self), "resource accounting underflow: {self:?} - {other:?}");
        *self = self.minus(other);
    }

    /// True if every dimension is zero.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&v| v == 0)
    }
}

/// `x as f64` (the nearest double), by the one-instruction signed conversion below 2^63 rather
/// than the longer unsigned sequence that x86-64 needs for `as f64` on a `u64` (amounts that
/// large never occur, but keep their value).
#[inline(always)]
pub(crate) fn u64_to_f64(x: u64) -> f64 {
    if x >> 63 == 0 {
        x as i64 as f64
    } else {
        // Halve with the lost bit kept as a sticky bit, so that the signed conversion rounds
        // as the unsigned one would, and double (exact). Written so, not as `x as f64`, so that
        // the compiler does not merge both branches back into the unsigned sequence.
        ((x >> 1 | x & 1) as i64 as f64) * 2.0
    }
}

/// `a == b` for two amounts, compiled inline (the derived equality calls `memcmp`, a call per
/// node in the loops that compare capacities).
#[inline(always)]
pub(crate) fn same_amounts(a: &[u64; N_RESOURCES], b: &[u64; N_RESOURCES]) -> bool {
    a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// Resource amounts in whole units, as scenario files and strategy configurations write them.
/// Missing fields are zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceUnits {
    /// CPU cores.
    pub cpu_cores: f64,
    /// Memory, GB.
    pub memory_gb: f64,
    /// Disk, GB.
    pub disk_gb: f64,
    /// Network bandwidth, Gbit/s.
    pub net_gbps: f64,
    /// GPUs.
    pub gpus: f64,
    /// FPGAs.
    pub fpgas: f64,
}

impl ResourceUnits {
    /// The values in [`Resource::ALL`] order.
    pub fn to_array(&self) -> [f64; N_RESOURCES] {
        [self.cpu_cores, self.memory_gb, self.disk_gb, self.net_gbps, self.gpus, self.fpgas]
    }

    /// The fixed-point equivalent.
    pub fn to_resources(&self) -> Resources {
        Resources::from_units(self.to_array())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_accounting_is_exact() {
        let cap = ResourceUnits { cpu_cores: 4.0, memory_gb: 16.0, ..Default::default() }.to_resources();
        let d = ResourceUnits { cpu_cores: 0.1, memory_gb: 0.3, ..Default::default() }.to_resources();
        let mut used = Resources::ZERO;
        for _ in 0..40 {
            assert!(used.plus(&d).fits_in(&cap));
            used.add_assign(&d);
        }
        assert!(!used.plus(&d).fits_in(&cap), "41 x 0.1 cores must not fit in 4 cores");
        for _ in 0..40 {
            used.sub_assign(&d);
        }
        assert!(used.is_zero());
    }

    #[test]
    fn the_fast_conversion_to_f64_is_the_plain_one() {
        let mut values = vec![0, 1, 999, (1 << 53) + 1, (1 << 63) - 1, 1 << 63, (1 << 63) + 1025, u64::MAX];
        values.extend((0..64).flat_map(|k| [1u64 << k, (1u64 << k) - 1, (1u64 << k) | 1, (1u64 << k).wrapping_mul(3)]));
        for x in values {
            assert_eq!(u64_to_f64(x).to_bits(), (x as f64).to_bits(), "{x}");
        }
    }

    #[test]
    fn gpu_demand_does_not_fit_a_node_without_gpus() {
        let cpu_node = ResourceUnits { cpu_cores: 64.0, ..Default::default() }.to_resources();
        let gpu_task = ResourceUnits { cpu_cores: 1.0, gpus: 1.0, ..Default::default() }.to_resources();
        assert!(!gpu_task.fits_in(&cpu_node));
    }
}
