//! `first-fit`, `best-fit`, `worst-fit`: bin-packing placement on the resources the view
//! believes free.
//!
//! A candidate *fits* if the task's demand fits in its capacity minus its believed use (the last
//! report plus the dispatcher's own dispatches since). Among fitting candidates, `first-fit` takes
//! the first in candidate order (lowest id first), `best-fit` the one left with the least free
//! room after placement, `worst-fit` the one left with the most; room is the sum over resources the
//! node has of free fraction after placement (so every dimension counts, each normalised by
//! capacity). When nothing fits, the task goes to the candidate with the fewest tasks, where it
//! will queue. Cost: O(candidates × resources).

use rand_core::RngCore;

use super::{Balancer, Explanation, Notes, Rank};
use crate::{ClusterView, NodeId, Resource, TaskInfo, Time};

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
        self.choose(task, candidates, view, &mut ())
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
}
