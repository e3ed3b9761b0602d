//! `first-fit`, `best-fit`, `worst-fit`: bin-packing placement on the resources the view
//! believes free.
//!
//! A candidate *fits* if the task's demand fits in its capacity minus its believed use (the last
//! report plus the dispatcher's own dispatches since). Among fitting candidates, `first-fit` takes
//! the first in candidate order (lowest id first), `best-fit` the one left with the least free
//! room after placement, `worst-fit` the one left with the most; room is the sum over resources the
//! node has of free fraction after placement (so every dimension counts, each normalised by
//! capacity). When nothing fits, the task goes to the candidate with the fewest tasks, where it
//! will queue. Cost: O(candidates × resources); `best-fit` and `worst-fit` divide only for the few
//! candidates whose room could beat the best so far (see [`FitBalancer`]'s `ranked`).

use rand_core::RngCore;

use super::{Balancer, Explanation, Notes, Rank};
use crate::resources::{same_amounts, u64_to_f64};
use crate::{ClusterView, NodeId, Resource, TaskInfo, Time, N_RESOURCES};

/// Which fitting node to choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    /// The first that fits.
    First,
    /// The tightest fit.
    Best,
    /// The loosest fit.
    Worst,
}

/// Bin-packing placement.
#[derive(Clone, Copy, Debug)]
pub struct FitBalancer {
    fit: Fit,
}

impl FitBalancer {
    /// A balancer with this rule.
    pub fn new(fit: Fit) -> Self {
        FitBalancer { fit }
    }
}

/// Free room left on `node` after placing `task`, or `None` if it does not fit.
pub fn room_after(view: &ClusterView<'_>, node: NodeId, task: &TaskInfo) -> Option<f64> {
    let cap = view.spec(node).capacity;
    let used = view.used(node);
    let after = used.plus(&task.demand);
    if !after.fits_in(&cap) {
        return None;
    }
    Some(
        Resource::ALL
            .iter()
            .filter(|&&r| cap.get(r) > 0)
            .map(|&r| (cap.get(r) - after.get(r)) as f64 / cap.get(r) as f64)
            .sum(),
    )
}

impl Balancer for FitBalancer {
    fn pick(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        _rng: &mut dyn RngCore,
    ) -> Option<NodeId> {
        match self.fit {
            Fit::First => self.choose(task, candidates, view, &mut ()),
            Fit::Best | Fit::Worst => self.ranked(task, candidates, view),
        }
    }

    fn pick_explained(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        _now: Time,
        _rng: &mut dyn RngCore,
        why: &mut Explanation,
    ) -> Option<NodeId> {
        self.choose(task, candidates, view, why)
    }
}

impl FitBalancer {
    /// The decision behind `pick` and `pick_explained`. Explained, every candidate is noted with
    /// its task count and, if it fits, its room after placement (the score of best and worst
    /// fit); a candidate that does not fit is rejected by `fit`.
    #[inline]
    fn choose<N: Notes>(
        &self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        why: &mut N,
    ) -> Option<NodeId> {
        why.start(match self.fit {
            Fit::First => Rank::None,
            Fit::Best => Rank::Lowest,
            Fit::Worst => Rank::Highest,
        });
        let mut best: Option<(NodeId, f64)> = None;
        for &c in candidates {
            let room = room_after(view, c, task);
            if N::ON {
                let tasks = ("tasks", f64::from(view.load(c).tasks()));
                match room {
                    None => why.note(c, Some("fit"), &[tasks], None),
                    Some(r) => {
                        let score = (self.fit != Fit::First).then_some(r);
                        why.note(c, None, &[tasks, ("room_after", r)], score);
                    }
                }
            }
            let Some(room) = room else { continue };
            match self.fit {
                // Explained, the remaining candidates are still noted.
                Fit::First if !N::ON => return Some(c),
                Fit::First if best.is_none() => best = Some((c, room)),
                Fit::Best if best.is_none_or(|(_, r)| room < r) => best = Some((c, room)),
                Fit::Worst if best.is_none_or(|(_, r)| room > r) => best = Some((c, room)),
                _ => {}
            }
        }
        best.map(|(c, _)| c).or_else(|| candidates.iter().copied().min_by_key(|&c| view.load(c).tasks()))
    }
}

/// How far the estimate of [`FitBalancer::ranked`] may be from [`room_after`]: far more than the
/// error bound proved there (under 150 units in the last place of 1, about 2e-14).
const ESTIMATE_MARGIN: f64 = 1e-12;

/// Capacities from this on (in milli-units) take the exact path of [`FitBalancer::ranked`].
const FAST_CAPACITY: u64 = 1 << 62;

/// What [`FitBalancer::ranked`] derives once for a run of candidates of one capacity.
#[derive(Clone, Copy, Debug)]
struct CapacityRun {
    capacity: [u64; N_RESOURCES],
    /// `capacity − demand` (meaningful if `can_fit`): a node fits exactly when its use is at
    /// most this in every dimension.
    limit: [u64; N_RESOURCES],
    /// `1 / capacity` as doubles (0 where the node lacks the resource).
    recip: [f64; N_RESOURCES],
    /// `Σ_r (c_r − d_r) · (1 / c_r)` over the dimensions the node has: the estimated room of an
    /// idle node after placement.
    base: f64,
    /// False if the task cannot fit such a node at all (`demand > capacity` somewhere).
    can_fit: bool,
    /// True if every capacity is below [`FAST_CAPACITY`] (else each node takes the exact path).
    fast: bool,
}

impl CapacityRun {
    fn new(capacity: [u64; N_RESOURCES], demand: &[u64; N_RESOURCES]) -> Self {
        let limit: [u64; N_RESOURCES] = std::array::from_fn(|r| capacity[r].wrapping_sub(demand[r]));
        let recip = capacity.map(|c| if c > 0 { 1.0 / u64_to_f64(c) } else { 0.0 });
        CapacityRun {
            capacity,
            limit,
            recip,
            base: (0..N_RESOURCES).map(|r| u64_to_f64(limit[r]) * recip[r]).sum(),
            can_fit: capacity.iter().zip(demand).all(|(c, d)| d <= c),
            fast: capacity.iter().all(|&c| c < FAST_CAPACITY),
        }
    }
}

impl FitBalancer {
    /// `choose` for best and worst fit, without explanation: the same node, found with a
    /// division per candidate only where the room could beat the best so far.
    ///
    /// **Fit.** For a run of candidates of one capacity `c` (ids of a node group are usually
    /// consecutive) it keeps `ℓ_r = c_r − d_r`, with `d` the demand: if `d ≤ c`, a node of use
    /// `u` fits exactly when `u_r ≤ ℓ_r` in every dimension (and then `u_r + d_r` cannot
    /// overflow). With `c_r < 2^62` and `u_r < 2^63`, that is when `ℓ_r − u_r` (wrapping) has
    /// its top bit clear: it is then `ℓ_r − u_r < 2^62` where `u_r ≤ ℓ_r`, and above 2^63
    /// otherwise. A use of 2^63 or more may pass this test without fitting; [`room_after`],
    /// which decides, rejects it. No branch depends on the test: the estimate below gets +∞
    /// added where it fails.
    ///
    /// **Room.** For a fitting candidate it estimates the room `Σ_r (c_r − u_r − d_r) / c_r` over
    /// the dimensions the node has as `base − Σ_r u_r · (1 / c_r)`, with `1 / c_r` and
    /// `base = Σ_r ℓ_r · (1 / c_r)` computed once per run, and computes the exact [`room_after`]
    /// only when the estimate is within [`ESTIMATE_MARGIN`] of the best room so far, or beats
    /// it. Why the choice is the same: with `u = 2^-53`, `fl(1 / c_r) = (1 + ε) / c_r`, |ε| ≤ u,
    /// and each product `x · fl(1 / c_r)` of a double `x ≤ c_r` (the conversions are exact
    /// below 2^53, and relatively within `u` above) is within `3.01 u` of `x / c_r ≤ 1`; each of
    /// the two sums of at most six such terms adds at most `γ₅ · 6 ≈ 30 u`, and the difference
    /// `u`·6 more: the estimate is within `6 · 3.01 u · 2 + 60 u + 6 u < 110 u` of the real
    /// room, and `room_after`, six rounded quotients summed, within `6 u + 30 u` of it too, so
    /// the two differ by less than 150 u. A candidate that best fit skips has an estimate of at
    /// least `best + ESTIMATE_MARGIN`, so an exact room above `best`: `room < best` would have
    /// failed for it, and the best so far is the same node with the same room after every
    /// candidate, as in `choose`. Likewise for worst fit.
    fn ranked(&self, task: &TaskInfo, candidates: &[NodeId], view: &ClusterView<'_>) -> Option<NodeId> {
        let demand = &task.demand.0;
        let best_fit = self.fit == Fit::Best;
        // The best node so far and its exact room (±∞ before any candidate fits). Worst fit is
        // best fit on the negated room, which negation keeps exact.
        let sign = if best_fit { 1.0 } else { -1.0 };
        let mut best: Option<NodeId> = None;
        let mut best_key = f64::INFINITY;
        let mut best_inputs = ([0u64; N_RESOURCES], [0u64; N_RESOURCES]);
        // (A run for any capacity to start with: its fields are right for that capacity.)
        let mut run = CapacityRun::new([u64::MAX; N_RESOURCES], demand);
        for &c in candidates {
            let capacity = &view.spec(c).capacity.0;
            if !same_amounts(capacity, &run.capacity) {
                run = CapacityRun::new(*capacity, demand);
            }
            if !run.can_fit {
                continue;
            }
            if run.fast {
                let used = &view.used(c).0;
                let (mut top_bits, mut taken) = (0u64, 0.0);
                for ((&u, &limit), &recip) in used.iter().zip(&run.limit).zip(&run.recip) {
                    // `u_r ≤ ℓ_r` as the sign of `ℓ_r − u_r`: a comparison per dimension would
                    // be compiled into branches, taken at random.
                    top_bits |= limit.wrapping_sub(u);
                    // Below 2^62 where the task fits; not used where it does not.
                    taken += u as i64 as f64 * recip;
                }
                // +∞ added where the node does not fit (the estimate is finite): then one branch,
                // rarely taken, rather than one on fitting, taken at random.
                let misfit = f64::from_bits((top_bits >> 63) * f64::INFINITY.to_bits());
                if sign * (run.base - taken) + misfit >= best_key + ESTIMATE_MARGIN {
                    continue;
                }
                // A node with the best's capacity and use has its room: it cannot beat it.
                if best.is_some() && same_amounts(capacity, &best_inputs.0) && same_amounts(used, &best_inputs.1) {
                    continue;
                }
            }
            let Some(room) = room_after(view, c, task) else { continue };
            if sign * room < best_key {
                best = Some(c);
                best_key = sign * room;
                best_inputs = (*capacity, view.used(c).0);
            }
        }
        best.or_else(|| candidates.iter().copied().min_by_key(|&c| view.load(c).tasks()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::{assert_explained_matches_pick, task, Fixture};
    use crate::Resources;
    use rand_core::SeedableRng;

    /// Four 4-core nodes with 3, 1, 0 and 4 cores in use.
    fn fixture() -> Fixture {
        let mut fx = Fixture::with_tasks(&[3, 1, 0, 4]);
        for (i, used) in [3u64, 1, 0, 4].into_iter().enumerate() {
            fx.specs[i].capacity = Resources([4000, 0, 0, 0, 0, 0]);
            fx.used[i] = Resources([used * 1000, 0, 0, 0, 0, 0]);
        }
        fx
    }

    #[test]
    fn first_best_and_worst_fit_choose_as_expected() {
        let fx = fixture();
        let all = [NodeId(0), NodeId(1), NodeId(2), NodeId(3)];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut pick = |fit| FitBalancer::new(fit).pick(&task(), &all, &fx.view(), Time::ZERO, &mut rng);
        assert_eq!(pick(Fit::First), Some(NodeId(0)), "node 0 has one core free");
        assert_eq!(pick(Fit::Best), Some(NodeId(0)), "node 0 is left with nothing free");
        assert_eq!(pick(Fit::Worst), Some(NodeId(2)), "node 2 is left with three cores free");
        // A task needing 2 cores fits only nodes 1 and 2; first fit takes node 1.
        let big = TaskInfo { demand: Resources([2000, 0, 0, 0, 0, 0]), ..task() };
        let mut first = FitBalancer::new(Fit::First);
        assert_eq!(first.pick(&big, &all, &fx.view(), Time::ZERO, &mut rng), Some(NodeId(1)));
        // Nothing fits a 5-core task: fall back to the fewest tasks (node 2).
        let huge = TaskInfo { demand: Resources([5000, 0, 0, 0, 0, 0]), ..task() };
        assert_eq!(first.pick(&huge, &all, &fx.view(), Time::ZERO, &mut rng), Some(NodeId(2)));
    }

    #[test]
    fn explained_picks_match_plain_picks() {
        for fit in [Fit::First, Fit::Best, Fit::Worst] {
            assert_explained_matches_pick(FitBalancer::new(fit), 2000);
        }
        // Nodes using 3, 1, 0 and 4 of 4 cores: a 2-core task fits nodes 1 and 2 only, with
        // 1/4 and 2/4 of the CPU left (the nodes have no other resource).
        let fx = fixture();
        let big = TaskInfo { demand: Resources([2000, 0, 0, 0, 0, 0]), ..task() };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut why = Explanation::default();
        let mut best = FitBalancer::new(Fit::Best);
        assert_eq!(best.pick_explained(&big, &fx.all(), &fx.view(), Time::ZERO, &mut rng, &mut why), Some(NodeId(1)));
        let verdicts: Vec<_> = why.notes.iter().map(|n| (n.rejected_by, n.score)).collect();
        assert_eq!(verdicts, [(Some("fit"), None), (None, Some(0.25)), (None, Some(0.5)), (Some("fit"), None)]);
        let mut first = FitBalancer::new(Fit::First);
        assert_eq!(first.pick_explained(&big, &fx.all(), &fx.view(), Time::ZERO, &mut rng, &mut why), Some(NodeId(1)));
        assert_eq!(why.notes.len(), 4, "first fit notes every candidate");
        assert_eq!(why.notes[2].terms[1], ("room_after", 0.5));
    }

    #[test]
    fn the_division_free_search_chooses_as_the_plain_one() {
        // Many nodes in runs of a few capacities (some huge, some lacking a resource), uses that
        // tie, nearly tie, overflow the capacity or are absurdly large, and tasks that fit few
        // or none: `ranked` (behind `pick`) must choose exactly what `choose` does.
        let mut gen = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut next = |n: u64| rand_core::RngCore::next_u64(&mut gen) % n;
        let capacities = [
            Resources([4000, 16_000, 100_000, 10_000, 0, 0]),
            Resources([64_000, 256_000, 2_000_000, 25_000, 0, 0]),
            Resources([32_000, 256_000, 1_000_000, 25_000, 4000, 0]),
            Resources([3000, 7000, 0, 0, 0, 1000]),
            Resources([1 << 62, 1 << 40, 5, 0, 0, 0]),
            Resources([8000, 1 << 45, 0, 0, 0, 0]), // rooms 2^-45 apart: well within the margin
            Resources([u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX]),
        ];
        let (mut ranked_picks, mut fitting_picks) = (0, 0);
        for round in 0..400 {
            let n = 1 + next(60) as usize;
            let mut fx = Fixture::with_tasks(&vec![0; n]);
            let mut cap = capacities[0];
            for i in 0..n {
                if next(6) == 0 {
                    cap = capacities[next(capacities.len() as u64) as usize];
                }
                fx.specs[i].capacity = cap;
                fx.loads[i].queued = next(4) as u32;
                let mut used = cap.0.map(|c| match next(12) {
                    0 => 0,
                    1 => c.saturating_add(1 + next(3)), // over capacity (tasks in flight)
                    2 => u64::MAX - next(3),
                    _ => next(c.saturating_add(1).min(1 << 62)),
                });
                if next(2) == 0 {
                    // Ties, and rooms a milli-unit apart, in either order.
                    used = cap.0.map(|c| c / 3);
                    let r = next(N_RESOURCES as u64) as usize;
                    used[r] = (used[r] + next(3)).saturating_sub(1);
                }
                fx.used[i] = Resources(used);
            }
            let demand =
                Resources([next(4) * 500, next(8) * 1000, next(2) * 10, 0, next(3) / 2 * 1000, next(4) / 3 * 500]);
            let t = TaskInfo { demand, ..task() };
            let candidates: Vec<NodeId> = (0..n as u32).filter(|_| next(5) != 0).map(NodeId).collect();
            for fit in [Fit::Best, Fit::Worst] {
                let b = FitBalancer::new(fit);
                let want = b.choose(&t, &candidates, &fx.view(), &mut ());
                assert_eq!(b.ranked(&t, &candidates, &fx.view()), want, "round {round} {fit:?}");
                ranked_picks += 1;
                fitting_picks += usize::from(want.is_some_and(|c| room_after(&fx.view(), c, &t).is_some()));
            }
        }
        assert!(fitting_picks > ranked_picks / 2, "{fitting_picks} of {ranked_picks} decisions found a fitting node");
    }
}
