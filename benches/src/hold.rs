//! The hold model, the classic benchmark of a pending-event set (Vaucher and Duval, 1975; Jones,
//! 1986): `K` events are pending; each pop schedules one new event at `now + Exp(1 s)` (integer
//! nanoseconds), so the set stays at `K` and only its speed is measured.
//!
//! Four loops do exactly the same work — same stream (`rng::stream(seed, 0,
//! Purpose::Strategy("hold"))`), same sampling ([`exp_ns`]), same pops — and differ only in the
//! event set and whether the engine drives it:
//! - [`EngineHold`]: Fulcrum's engine ([`Simulation`] + [`Model`] + [`Scheduler`]);
//! - [`BinaryHeapHold`]: a bare `std::collections::BinaryHeap<Reverse<u64>>`;
//! - [`RadixHeapHold`]: a bare `fulcrum_sim_core::queue::RadixHeap` without the engine;
//!
//! Because the popped key is always the minimum and every draw comes from the same stream, all four
//! pop the same sequence of keys: the time of the last pop is a checksum that must agree.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use fulcrum_sim_core::engine::{Model, Scheduler, Simulation};
use fulcrum_sim_core::queue::RadixHeap;
use fulcrum_sim_core::rng::{stream, Purpose, Stream};
use fulcrum_sim_core::{SimDuration, SimTime};
use rand_distr::{Distribution, Exp1};

/// The stream every hold loop draws from.
pub const HOLD_PURPOSE: Purpose<'static> = Purpose::Strategy("hold");

/// One Exp(1 s) draw in integer nanoseconds, as sim-core samples delays.
#[inline(always)]
pub fn exp_ns(rng: &mut Stream) -> u64 {
    let e: f64 = Exp1.sample(rng);
    SimDuration::from_secs_f64(e).0
}

/// A hold loop over one pending-event set.
pub trait HoldLoop: Sized {
    /// Short name for tables and benchmark ids.
    const NAME: &'static str;

    /// `k` events at `Exp(1 s)` from time zero, then `k` untimed holds so the set reaches its
    /// steady state.
    fn warmed(k: usize, seed: u64) -> Self {
        let mut rng = stream(seed, 0, HOLD_PURPOSE);
        let keys: Vec<u64> = (0..k).map(|_| exp_ns(&mut rng)).collect();
        let mut this = Self::prefilled(keys, rng);
        this.hold(k as u64);
        this
    }

    /// The set holding `keys`, drawing from `rng` from now on.
    fn prefilled(keys: Vec<u64>, rng: Stream) -> Self;

    /// Pops `pops` events, scheduling one for each; returns the time of the last pop.
    fn hold(&mut self, pops: u64) -> u64;
}

/// The engine's model for the hold benchmark: every event schedules its successor.
#[derive(Debug)]
pub struct HoldModel {
    rng: Stream,
}

impl Model for HoldModel {
    type Event = ();

    #[inline]
    fn handle(&mut self, _: (), scheduler: &mut Scheduler<()>) {
        scheduler.schedule_in(SimDuration(exp_ns(&mut self.rng)), ());
    }
}

/// Fulcrum's engine: [`Simulation::steps`] over a [`HoldModel`].
#[derive(Debug)]
pub struct EngineHold {
    sim: Simulation<HoldModel>,
}

impl HoldLoop for EngineHold {
    const NAME: &'static str = "engine";

    fn prefilled(keys: Vec<u64>, rng: Stream) -> Self {
        let mut scheduler = Scheduler::new();
        for key in keys {
            scheduler.schedule_at(SimTime(key), ());
        }
        EngineHold { sim: Simulation::with_scheduler(HoldModel { rng }, scheduler) }
    }

    fn hold(&mut self, pops: u64) -> u64 {
        let done = self.sim.steps(pops);
        debug_assert_eq!(done, pops);
        self.sim.now().0
    }
}

/// A bare `BinaryHeap<Reverse<u64>>`. The pop and the push are fused into one `peek_mut`
/// replacement of the root (one sift-down instead of a sift-down-to-bottom, a sift-up and a push):
/// the fastest form measured here.
#[derive(Debug)]
pub struct BinaryHeapHold {
    heap: BinaryHeap<Reverse<u64>>,
    rng: Stream,
}

impl HoldLoop for BinaryHeapHold {
    const NAME: &'static str = "BinaryHeap";

    fn prefilled(keys: Vec<u64>, rng: Stream) -> Self {
        let heap = BinaryHeap::from(keys.into_iter().map(Reverse).collect::<Vec<_>>());
        BinaryHeapHold { heap, rng }
    }

    fn hold(&mut self, pops: u64) -> u64 {
        let mut now = 0;
        for _ in 0..pops {
            let mut top = self.heap.peek_mut().expect("the hold model never empties its set");
            now = top.0;
            *top = Reverse(now + exp_ns(&mut self.rng));
        }
        now
    }
}

/// The same `BinaryHeap<Reverse<u64>>`, written as a separate `pop` and `push` (kept to show the
/// difference the fused form makes).
#[derive(Debug)]
pub struct BinaryHeapPopPushHold {
    heap: BinaryHeap<Reverse<u64>>,
    rng: Stream,
}

impl HoldLoop for BinaryHeapPopPushHold {
    const NAME: &'static str = "BinaryHeap pop+push";

    fn prefilled(keys: Vec<u64>, rng: Stream) -> Self {
        let heap = BinaryHeap::from(keys.into_iter().map(Reverse).collect::<Vec<_>>());
        BinaryHeapPopPushHold { heap, rng }
    }

    fn hold(&mut self, pops: u64) -> u64 {
        let mut now = 0;
        for _ in 0..pops {
            let Reverse(t) = self.heap.pop().expect("the hold model never empties its set");
            now = t;
            self.heap.push(Reverse(now + exp_ns(&mut self.rng)));
        }
        now
    }
}

/// sim-core's [`RadixHeap`] driven by hand, without the engine.
#[derive(Debug)]
pub struct RadixHeapHold {
    heap: RadixHeap<()>,
    rng: Stream,
}

impl HoldLoop for RadixHeapHold {
    const NAME: &'static str = "sim-core RadixHeap";

    fn prefilled(keys: Vec<u64>, rng: Stream) -> Self {
        let mut heap = RadixHeap::new();
        for key in keys {
            heap.push(key, ());
        }
        RadixHeapHold { heap, rng }
    }

    fn hold(&mut self, pops: u64) -> u64 {
        let mut now = 0;
        for _ in 0..pops {
            let (t, ()) = self.heap.pop().expect("the hold model never empties its set");
            now = t;
            self.heap.push(now + exp_ns(&mut self.rng), ());
        }
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_time<H: HoldLoop>(k: usize, pops: u64) -> u64 {
        H::warmed(k, 7).hold(pops)
    }

    #[test]
    fn every_loop_pops_the_same_keys() {
        for k in [1, 10, 1000] {
            let want = last_time::<EngineHold>(k, 20_000);
            assert!(want > 0);
            assert_eq!(last_time::<BinaryHeapHold>(k, 20_000), want, "BinaryHeap, k = {k}");
            assert_eq!(last_time::<BinaryHeapPopPushHold>(k, 20_000), want, "pop+push, k = {k}");
            assert_eq!(last_time::<RadixHeapHold>(k, 20_000), want, "RadixHeap, k = {k}");
        }
    }

    #[test]
    fn the_clock_advances_at_one_pop_per_k_nanoseconds_per_second() {
        // In steady state the clock advances by about 1 s per K pops.
        let k = 1000;
        let mut h = RadixHeapHold::warmed(k, 3);
        let t0 = h.hold(1);
        let t1 = h.hold(100 * k as u64);
        let secs = (t1 - t0) as f64 / 1e9;
        assert!((secs - 100.0).abs() < 5.0, "{secs} s for 100 K pops");
    }
}
