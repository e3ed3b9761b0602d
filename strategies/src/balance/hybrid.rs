//! `hybrid`: combine balancers, in one of two forms.
//!
//! **Switching** ([`Hybrid`]): the candidates' mean believed CPU utilisation above `utilization`
//! uses `above`, otherwise `below`. A common production pattern: a cheap spreading rule while
//! the cluster is quiet, a load-aware one when it fills up (or packing when quiet, to let nodes
//! idle, and spreading when busy). Both members keep their own state and share the random
//! stream; the idle member hears where each task went ([`Balancer::placed`]), so a learning
//! member keeps learning while the other decides. Cost: O(candidates) for the rule plus the
//! chosen member's cost.
//!
//! **Blending** ([`Blend`]): every member scores every candidate ([`Balancer::scores`], lower is
//! better); each member's scores are min-max normalised to [0, 1] over the candidates no member
//! rejects (all 0 if they are equal), and the candidate with the least weighted sum
//! `Σ weight · normalised score` wins, ties broken at random — the weighted sum of normalised
//! plugin scores that kube-scheduler's score phase computes, with lower-is-better scores. A
//! candidate some member scores `f64::INFINITY` (rejected by its filter, as resource-aware's fit
//! filter) is out; if every candidate is out, the task goes to a candidate with the fewest tasks
//! (random tie-break), as resource-aware's own fallback does. Every member then hears where the
//! task went ([`Balancer::placed`]) and observes every outcome. Members without per-node scores
//! are rejected by [`BalancerConfig::problems`]; should one be built anyway, it is skipped at
//! run time. With `sample` set, only that many distinct candidates drawn at random are scored
//! and blended (kube-scheduler's `percentageOfNodesToScore` idea; a blend of least connections
//! alone over 2 is then power-of-two choices). Cost: the sum of the members' scoring costs over
//! the candidates scored, O(candidates) each at least. Measured (release build, 1,000 candidate
//! nodes, 2 shared cores under load): least connections + response-time 20–45 µs per decision
//! scoring every candidate, 0.3–0.5 µs with `sample: 8`; least connections + resource-aware
//! 75–130 µs (resource-aware alone costs 43–86 µs), 0.9–1.2 µs with `sample: 8`; least
//! connections + online-learning 1.2–1.5 µs with `sample: 8`. Large clusters should set `sample`.

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use super::{argmin_random_ties, sample_distinct, Balancer, BalancerConfig, Explanation, Outcome, Rank};
use crate::{ClusterView, NodeId, Resource, TaskInfo, Time};

/// Switches between two balancers on utilisation.
pub struct Hybrid {
    below: Box<dyn Balancer>,
    above: Box<dyn Balancer>,
    utilization: f64,
}

impl Hybrid {
    /// `below` while the candidates' mean CPU utilisation is at most `utilization`, else `above`.
    pub fn new(below: Box<dyn Balancer>, above: Box<dyn Balancer>, utilization: f64) -> Self {
        Hybrid { below, above, utilization }
    }

    /// Mean believed CPU utilisation of the candidates.
    pub fn mean_utilization(candidates: &[NodeId], view: &ClusterView<'_>) -> f64 {
        if candidates.is_empty() {
            return 0.0;
        }
        let sum: f64 = candidates
            .iter()
            .map(|&c| {
                let cap = view.spec(c).capacity.get(Resource::Cpu) as f64;
                if cap > 0.0 {
                    view.used(c).get(Resource::Cpu) as f64 / cap
                } else {
                    0.0
                }
            })
            .sum();
        sum / candidates.len() as f64
    }

    /// The member the candidates' utilisation selects, and the other one.
    fn members(
        &mut self,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
    ) -> (&mut Box<dyn Balancer>, &mut Box<dyn Balancer>) {
        if Self::mean_utilization(candidates, view) > self.utilization {
            (&mut self.above, &mut self.below)
        } else {
            (&mut self.below, &mut self.above)
        }
    }
}

impl Balancer for Hybrid {
    fn pick(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
    ) -> Option<NodeId> {
        let (active, idle) = self.members(candidates, view);
        let picked = active.pick(task, candidates, view, now, rng);
        // The idle member hears where the task went, so a learner there keeps learning.
        if let Some(node) = picked {
            idle.placed(task, node, view, now);
        }
        picked
    }

    fn pick_explained(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
        why: &mut Explanation,
    ) -> Option<NodeId> {
        let (active, idle) = self.members(candidates, view);
        let picked = active.pick_explained(task, candidates, view, now, rng, why);
        if let Some(node) = picked {
            idle.placed(task, node, view, now);
        }
        picked
    }

    /// The active member's scores.
    fn scores(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        out: &mut Vec<f64>,
    ) -> bool {
        self.members(candidates, view).0.scores(task, candidates, view, now, out)
    }

    fn placed(&mut self, task: &TaskInfo, node: NodeId, view: &ClusterView<'_>, now: Time) {
        // Both hear of it, as after `pick`: a learner learns from placements whoever ranked them.
        self.below.placed(task, node, view, now);
        self.above.placed(task, node, view, now);
    }

    fn wants_feedback(&self) -> bool {
        self.below.wants_feedback() || self.above.wants_feedback()
    }

    fn observe(&mut self, outcome: &Outcome, now: Time) {
        self.below.observe(outcome, now);
        self.above.observe(outcome, now);
    }
}

/// One member of a blending hybrid, as configured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlendMember {
    /// Weight of the member's normalised score, `>= 0`.
    pub weight: f64,
    /// The member; it must have per-node scores ([`BalancerConfig::has_scores`]).
    pub balancer: BalancerConfig,
}

/// Checks a hybrid's configuration: exactly one of the two forms, each well formed.
pub(super) fn problems(
    below: Option<&BalancerConfig>,
    above: Option<&BalancerConfig>,
    utilization: Option<f64>,
    blend: Option<&[BlendMember]>,
    sample: Option<u32>,
    out: &mut Vec<(&'static str, String)>,
) {
    if let Some(k) = sample {
        if blend.is_none() {
            out.push(("sample", "only allowed with blend".to_string()));
        } else if k > Blend::MAX_SAMPLE {
            out.push(("sample", format!("must be at most {} (or null for all), got {k}", Blend::MAX_SAMPLE)));
        }
    }
    if let Some(members) = blend {
        let switching =
            [("below", below.is_some()), ("above", above.is_some()), ("utilization", utilization.is_some())];
        for (name, _) in switching.into_iter().filter(|(_, given)| *given) {
            out.push((
                name,
                "not allowed with blend: a hybrid either switches (below, above, utilization) or blends".into(),
            ));
        }
        if members.is_empty() {
            out.push(("blend", "must list at least one member".to_string()));
        }
        for (i, m) in members.iter().enumerate() {
            if !(m.weight.is_finite() && (0.0..=1e6).contains(&m.weight)) {
                out.push(("blend", format!("[{i}].weight: must be between 0 and 1000000, got {}", m.weight)));
            }
            if !m.balancer.has_scores() {
                out.push((
                    "blend",
                    format!(
                        "[{i}].balancer: {} has no per-node score; blend least-connections, \
                         weighted-least-connections, predictive-least-connections, response-time, resource-aware, \
                         online-learning or hybrid",
                        m.balancer.kind()
                    ),
                ));
            }
            for (param, problem) in m.balancer.problems() {
                out.push(("blend", format!("[{i}].balancer.{param}: {problem}")));
            }
        }
        if !members.is_empty() && members.iter().all(|m| m.weight == 0.0) {
            out.push(("blend", "at least one weight must be positive".to_string()));
        }
        return;
    }
    for (name, member) in [("below", below), ("above", above)] {
        match member {
            None => out.push((name, "required (or give blend instead of below, above and utilization)".to_string())),
            Some(member) => {
                for (param, problem) in member.problems() {
                    out.push((name, format!("{param}: {problem}")));
                }
            }
        }
    }
    match utilization {
        None => out.push(("utilization", "required (or give blend instead of below, above and utilization)".into())),
        Some(u) if !(u.is_finite() && (0.0..=1.0).contains(&u)) => {
            out.push(("utilization", format!("must be in [0, 1], got {u}")));
        }
        Some(_) => {}
    }
}

/// One blended member at run time.
struct Member {
    weight: f64,
    kind: &'static str,
    balancer: Box<dyn Balancer>,
}

/// Blends its members' min-max-normalised scores (see the module doc).
pub struct Blend {
    members: Vec<Member>,
    /// Candidates scored per decision; 0 scores all.
    sample: usize,
    /// Scratch: the sampled candidates and the sampler's swaps.
    sampled: Vec<NodeId>,
    swaps: Vec<(usize, usize)>,
    /// Scratch: one member's raw scores.
    raw: Vec<f64>,
    /// Scratch: scores, member-major (`members × candidates`), normalised once blended.
    table: Vec<f64>,
    /// Scratch: whether each member gave scores for this decision.
    scored: Vec<bool>,
    /// Scratch: the blended score per candidate, `INFINITY` for a rejected candidate.
    blended: Vec<f64>,
}

impl Blend {
    /// The largest `sample` accepted (sampling costs O(sample²)).
    pub const MAX_SAMPLE: u32 = 64;

    /// Blends `(weight, kind, balancer)` members; `kind` names the member in explanations. Each
    /// decision scores `sample` distinct random candidates (clamped to [`MAX_SAMPLE`](Self::MAX_SAMPLE)),
    /// or every candidate if `sample` is 0.
    pub fn new(members: Vec<(f64, &'static str, Box<dyn Balancer>)>, sample: u32) -> Self {
        Blend {
            members: members.into_iter().map(|(weight, kind, balancer)| Member { weight, kind, balancer }).collect(),
            sample: sample.min(Self::MAX_SAMPLE) as usize,
            sampled: Vec::new(),
            swaps: Vec::new(),
            raw: Vec::new(),
            table: Vec::new(),
            scored: Vec::new(),
            blended: Vec::new(),
        }
    }

    /// Fills `self.blended`; true if any member scored.
    fn blend(&mut self, task: &TaskInfo, candidates: &[NodeId], view: &ClusterView<'_>, now: Time) -> bool {
        let n = candidates.len();
        self.table.clear();
        self.scored.clear();
        self.blended.clear();
        self.blended.resize(n, 0.0);
        let mut any = false;
        for m in &mut self.members {
            let scored = m.balancer.scores(task, candidates, view, now, &mut self.raw) && self.raw.len() == n;
            self.scored.push(scored);
            if scored {
                any = true;
                for (b, s) in self.blended.iter_mut().zip(&self.raw) {
                    if !s.is_finite() {
                        *b = f64::INFINITY;
                    }
                }
                self.table.extend_from_slice(&self.raw);
            } else {
                self.table.extend(std::iter::repeat_n(f64::NAN, n));
            }
        }
        if !any {
            return false;
        }
        for ((m, row), _) in
            self.members.iter().zip(self.table.chunks_exact_mut(n.max(1))).zip(&self.scored).filter(|(_, s)| **s)
        {
            // A candidate still in (blended score finite) has finite scores from every member.
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for (&s, &b) in row.iter().zip(&self.blended) {
                if b < f64::INFINITY {
                    lo = if s < lo { s } else { lo };
                    hi = if s > hi { s } else { hi };
                }
            }
            let scale = if hi > lo { 1.0 / (hi - lo) } else { 0.0 };
            // Normalise in place, so that the table holds what an explanation shows (a rejection,
            // infinite, stays as it is).
            for (s, b) in row.iter_mut().zip(self.blended.iter_mut()) {
                if *b < f64::INFINITY {
                    *s = (*s - lo) * scale;
                    *b += m.weight * *s;
                } else if s.is_finite() {
                    *s = (*s - lo) * scale;
                }
            }
        }
        true
    }

    fn decide(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
        why: Option<&mut Explanation>,
    ) -> Option<NodeId> {
        let mut sampled = std::mem::take(&mut self.sampled);
        let candidates = if self.sample == 0 || self.sample >= candidates.len() {
            candidates
        } else {
            sample_distinct(candidates, self.sample, rng, &mut sampled, &mut self.swaps);
            &sampled[..]
        };
        let chosen = self.decide_among(task, candidates, view, now, rng, why);
        self.sampled = sampled;
        chosen
    }

    fn decide_among(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
        why: Option<&mut Explanation>,
    ) -> Option<NodeId> {
        let scored = self.blend(task, candidates, view, now);
        let blended = &self.blended;
        // `argmin_random_ties` visits the candidates in order, once each.
        let mut i = 0;
        let best = argmin_random_ties(candidates, rng, |_| {
            let b = blended.get(i).copied().filter(|b| scored && b.is_finite());
            i += 1;
            b
        });
        let chosen = best.or_else(|| argmin_random_ties(candidates, rng, |c| Some(f64::from(view.load(c).tasks()))));
        if let Some(why) = why {
            self.explain(candidates, scored, why);
        }
        if let Some(node) = chosen {
            for m in &mut self.members {
                m.balancer.placed(task, node, view, now);
            }
        }
        chosen
    }

    fn explain(&self, candidates: &[NodeId], scored: bool, why: &mut Explanation) {
        why.clear();
        why.rank = Rank::Lowest;
        let n = candidates.len();
        let mut terms = Vec::with_capacity(self.members.len());
        for (i, &c) in candidates.iter().enumerate() {
            terms.clear();
            let mut rejected_by = None;
            for (k, m) in self.members.iter().enumerate().filter(|&(k, _)| scored && self.scored[k]) {
                let s = self.table[k * n + i];
                if !s.is_finite() && rejected_by.is_none() {
                    rejected_by = Some(m.kind);
                }
                terms.push((m.kind, s));
            }
            let score = if scored { Some(self.blended[i]).filter(|b| b.is_finite()) } else { None };
            why.note(c, rejected_by, &terms, score);
        }
    }
}

impl Balancer for Blend {
    fn pick(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
    ) -> Option<NodeId> {
        self.decide(task, candidates, view, now, rng, None)
    }

    /// Notes per candidate: each member's normalised score under the member's kind, the weighted
    /// sum as the score; a candidate a member rejects is marked rejected by that member's kind.
    fn pick_explained(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
        why: &mut Explanation,
    ) -> Option<NodeId> {
        self.decide(task, candidates, view, now, rng, Some(why))
    }

    /// The blended scores of every candidate (`INFINITY` where a member rejects it; `sample` does
    /// not apply: every candidate needs a score).
    fn scores(
        &mut self,
        task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        out: &mut Vec<f64>,
    ) -> bool {
        if !self.blend(task, candidates, view, now) {
            return false;
        }
        out.clear();
        out.extend_from_slice(&self.blended);
        true
    }

    fn placed(&mut self, task: &TaskInfo, node: NodeId, view: &ClusterView<'_>, now: Time) {
        for m in &mut self.members {
            m.balancer.placed(task, node, view, now);
        }
    }

    fn wants_feedback(&self) -> bool {
        self.members.iter().any(|m| m.balancer.wants_feedback())
    }

    fn observe(&mut self, outcome: &Outcome, now: Time) {
        for m in &mut self.members {
            m.balancer.observe(outcome, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::{task, Fixture};
    use crate::Resources;
    use rand_core::SeedableRng;

    #[test]
    fn switches_on_utilisation() {
        let config: BalancerConfig = serde_json::from_str(
            r#"{"kind": "hybrid", "below": {"kind": "round-robin"}, "above": {"kind": "least-connections"},
                "utilization": 0.5}"#,
        )
        .unwrap();
        let mut b = config.build();
        let mut fx = Fixture::with_tasks(&[3, 0, 2]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        // Quiet (no CPU in use): round robin, starting at node 0.
        assert_eq!(b.pick(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng), Some(NodeId(0)));
        // Busy (every core in use): least connections, node 1.
        for u in fx.used.iter_mut() {
            *u = Resources([1000, 0, 0, 0, 0, 0]);
        }
        assert_eq!(b.pick(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng), Some(NodeId(1)));
    }

    fn blend(json_members: &str) -> Box<dyn Balancer> {
        let config: BalancerConfig =
            serde_json::from_str(&format!(r#"{{"kind": "hybrid", "blend": [{json_members}]}}"#)).unwrap();
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        config.build()
    }

    /// Least connections and a CPU-only least-allocated resource-aware term, weighted.
    fn lc_and_ra(lc: f64, ra: f64) -> Box<dyn Balancer> {
        blend(&format!(
            r#"{{"weight": {lc}, "balancer": {{"kind": "least-connections"}}}},
               {{"weight": {ra}, "balancer": {{"kind": "resource-aware", "resources": {{"cpu_cores": 1}},
                 "weights": {{"least_allocated": 1, "balanced_allocation": 0}}}}}}"#
        ))
    }

    /// Three 8-core nodes with 0, 1 and 4 tasks, using 7, 2 and 1 cores.
    fn three_nodes() -> Fixture {
        let mut fx = Fixture::with_tasks_and_cores(&[0, 1, 4], &[8, 8, 8]);
        for (used, cores) in fx.used.iter_mut().zip([7, 2, 1]) {
            *used = Resources([cores * 1000, 0, 0, 0, 0, 0]);
        }
        fx
    }

    #[test]
    fn blend_picks_what_a_hand_computation_says() {
        // With the 1-core task the nodes would use 8, 3 and 2 of 8 cores.
        // Least connections: tasks 0, 1, 4 → normalised 0, 0.25, 1 (picks node 0 alone).
        // Least-allocated: (8000 − used)·100/8000 = 0, 62, 75 → negated and normalised 1, 13/75, 0
        // (picks node 2 alone).
        // Weights 1 and 1: 1, 0.25 + 13/75 = 0.4233, 1 → node 1, which neither picks alone.
        let fx = three_nodes();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut b = lc_and_ra(1.0, 1.0);
        let mut why = Explanation::default();
        let picked = b.pick_explained(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng, &mut why);
        assert_eq!(picked, Some(NodeId(1)));
        assert_eq!(why.rank, Rank::Lowest);
        let n1 = &why.notes[1];
        assert_eq!(n1.terms[0], ("least-connections", 0.25));
        assert_eq!(n1.terms[1].0, "resource-aware");
        assert!((n1.terms[1].1 - 13.0 / 75.0).abs() < 1e-12);
        assert!((n1.score.unwrap() - (0.25 + 13.0 / 75.0)).abs() < 1e-12);
        assert!((why.notes[0].score.unwrap() - 1.0).abs() < 1e-12 && (why.notes[2].score.unwrap() - 1.0).abs() < 1e-12);
        // Weights 0.9 and 0.1: 0.1, 0.225 + 0.0173, 0.9 → node 0.
        let mut b = lc_and_ra(0.9, 0.1);
        assert_eq!(b.pick(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng), Some(NodeId(0)));
        // The blended scores are available to an enclosing blend.
        let mut out = Vec::new();
        assert!(b.scores(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut out));
        let want = [0.1, 0.9 * 0.25 + 0.1 * 13.0 / 75.0, 0.9];
        assert!(out.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12), "{out:?}");
    }

    #[test]
    fn a_member_filter_rejects_and_normalisation_ignores_the_rejected() {
        // A 2-core task does not fit node 0 (7 + 2 > 8). Over nodes 1 and 2: least connections
        // 1, 4 → 0, 1; least-allocated 50, 62 → negated and normalised 1, 0.
        let fx = three_nodes();
        let t = TaskInfo { demand: Resources([2000, 0, 0, 0, 0, 0]), ..task() };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut why = Explanation::default();
        // 0.6 and 0.4: node 1 scores 0.4, node 2 0.6.
        let mut b = lc_and_ra(0.6, 0.4);
        assert_eq!(b.pick_explained(&t, &fx.all(), &fx.view(), Time::ZERO, &mut rng, &mut why), Some(NodeId(1)));
        assert_eq!((why.notes[0].rejected_by, why.notes[0].score), (Some("resource-aware"), None));
        assert!((why.notes[2].score.unwrap() - 0.6).abs() < 1e-12);
        // 0.4 and 0.6: node 1 scores 0.6, node 2 0.4.
        let mut b = lc_and_ra(0.4, 0.6);
        assert_eq!(b.pick(&t, &fx.all(), &fx.view(), Time::ZERO, &mut rng), Some(NodeId(2)));
        // Nothing fits a 9-core task: the fewest tasks, node 0.
        let huge = TaskInfo { demand: Resources([9000, 0, 0, 0, 0, 0]), ..task() };
        assert_eq!(b.pick(&huge, &fx.all(), &fx.view(), Time::ZERO, &mut rng), Some(NodeId(0)));
    }

    #[test]
    fn equal_blended_scores_split_at_random() {
        // Two identical nodes: every member normalises to 0, the blend ties.
        let fx = Fixture::with_tasks(&[1, 1]);
        let mut b = lc_and_ra(1.0, 1.0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let mut counts = [0u32; 2];
        for _ in 0..4_000 {
            counts[b.pick(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng).unwrap().index()] += 1;
        }
        assert!((1_850..2_150).contains(&counts[0]), "{counts:?}");
    }

    /// Scores a fixed list and records where tasks were placed.
    struct Spy {
        scores: Vec<f64>,
        placed: std::sync::Arc<std::sync::Mutex<Vec<NodeId>>>,
    }

    impl Balancer for Spy {
        fn pick(
            &mut self,
            _: &TaskInfo,
            _: &[NodeId],
            _: &ClusterView<'_>,
            _: Time,
            _: &mut dyn RngCore,
        ) -> Option<NodeId> {
            None
        }
        fn scores(&mut self, _: &TaskInfo, _: &[NodeId], _: &ClusterView<'_>, _: Time, out: &mut Vec<f64>) -> bool {
            out.clone_from(&self.scores);
            true
        }
        fn placed(&mut self, _: &TaskInfo, node: NodeId, _: &ClusterView<'_>, _: Time) {
            self.placed.lock().unwrap().push(node);
        }
    }

    #[test]
    fn members_without_scores_are_skipped_and_every_member_hears_the_placement() {
        let fx = Fixture::with_tasks(&[0, 0, 0]);
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let spy = Spy { scores: vec![5.0, 1.0, 3.0], placed: log.clone() };
        // Round robin has no scores (problems() rejects it; built anyway, it is skipped).
        let mut b = Blend::new(
            vec![(1.0, "round-robin", BalancerConfig::RoundRobin {}.build()), (2.0, "spy", Box::new(spy))],
            0,
        );
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut why = Explanation::default();
        assert_eq!(b.pick_explained(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng, &mut why), Some(NodeId(1)));
        assert_eq!(*log.lock().unwrap(), vec![NodeId(1)]);
        assert_eq!(why.notes[2].terms, vec![("spy", 0.5)], "only the scoring member is noted");
        assert_eq!(why.notes[2].score, Some(1.0));
        // No member scores at all: the fewest tasks, at random among equals.
        let mut none = Blend::new(vec![(1.0, "random", BalancerConfig::Random {}.build())], 0);
        assert!(none.pick(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng).is_some());
        assert!(!none.scores(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut Vec::new()));
    }

    #[test]
    fn blend_pick_explained_matches_pick_with_learning_members() {
        let members = r#"{"weight": 1, "balancer": {"kind": "least-connections"}},
            {"weight": 0.5, "balancer": {"kind": "response-time"}},
            {"weight": 2, "balancer": {"kind": "online-learning", "warmup": 20}}"#;
        let (mut a, mut b) = (blend(members), blend(members));
        assert!(a.wants_feedback());
        let (mut r1, mut r2) = (rand_chacha::ChaCha8Rng::seed_from_u64(6), rand_chacha::ChaCha8Rng::seed_from_u64(6));
        let mut world = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut fx = Fixture::with_tasks_and_cores(&[0; 6], &[2; 6]);
        let mut why = Explanation::default();
        for id in 0..300u64 {
            for load in fx.loads.iter_mut() {
                load.queued = super::super::uniform_index(&mut world, 5) as u32;
            }
            let t = TaskInfo { id: crate::TaskId(id), ..task() };
            let now = Time::from_secs_f64(id as f64 * 0.1);
            let x = a.pick(&t, &fx.all(), &fx.view(), now, &mut r1);
            let y = b.pick_explained(&t, &fx.all(), &fx.view(), now, &mut r2, &mut why);
            assert_eq!(x, y, "decision {id}");
            let node = x.unwrap();
            let least = why.notes.iter().filter_map(|n| n.score).fold(f64::INFINITY, f64::min);
            assert_eq!(why.notes[node.index()].score, Some(least));
            let slow = if node.0 == 0 { 4.0 } else { 1.0 };
            let outcome = Outcome {
                task: t.id,
                node,
                latency: crate::Span::from_secs_f64(slow * f64::from(fx.loads[node.index()].tasks() + 1) / 2.0),
                expected_work_s: 1.0,
                completed: true,
            };
            a.observe(&outcome, now);
            b.observe(&outcome, now);
        }
        assert_eq!(r1.next_u64(), r2.next_u64(), "same draws");
    }

    #[test]
    fn switching_form_is_unchanged() {
        let json = r#"{"kind":"hybrid","below":{"kind":"power-of-d","d":2},"above":{"kind":"least-connections"},"utilization":0.5}"#;
        let config: BalancerConfig = serde_json::from_str(json).unwrap();
        assert!(config.problems().is_empty());
        assert_eq!(serde_json::to_string(&config).unwrap(), json, "no blend field appears");
        // Decision for decision and draw for draw, the member the rule selects.
        let mut hybrid = config.build();
        let (mut p2c, mut lc) = (super::super::PowerOfD::new(2), super::super::LeastConnections);
        let (mut r1, mut r2) = (rand_chacha::ChaCha8Rng::seed_from_u64(2), rand_chacha::ChaCha8Rng::seed_from_u64(2));
        let mut world = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut fx = Fixture::with_tasks(&[0; 5]);
        for _ in 0..500 {
            for (load, used) in fx.loads.iter_mut().zip(fx.used.iter_mut()) {
                load.queued = super::super::uniform_index(&mut world, 4) as u32;
                *used = Resources([super::super::uniform_index(&mut world, 1001) as u64, 0, 0, 0, 0, 0]);
            }
            let view = fx.view();
            let want = if Hybrid::mean_utilization(&fx.all(), &view) > 0.5 {
                lc.pick(&task(), &fx.all(), &view, Time::ZERO, &mut r2)
            } else {
                p2c.pick(&task(), &fx.all(), &view, Time::ZERO, &mut r2)
            };
            assert_eq!(hybrid.pick(&task(), &fx.all(), &view, Time::ZERO, &mut r1), want);
        }
        assert_eq!(r1.next_u64(), r2.next_u64());
    }

    #[test]
    fn problems_name_the_wrong_fields() {
        let problems = |json: &str| {
            let c: BalancerConfig = serde_json::from_str(json).unwrap();
            c.problems()
        };
        let lc = r#"{"kind": "least-connections"}"#;
        let both = problems(&format!(
            r#"{{"kind": "hybrid", "utilization": 0.5, "blend": [{{"weight": 1, "balancer": {lc}}}]}}"#
        ));
        assert_eq!(both.len(), 1);
        assert_eq!(both[0].0, "utilization");
        assert!(both[0].1.contains("not allowed with blend"), "{both:?}");
        let neither: Vec<_> = problems(r#"{"kind": "hybrid"}"#).into_iter().map(|(p, _)| p).collect();
        assert_eq!(neither, ["below", "above", "utilization"]);
        let empty = problems(r#"{"kind": "hybrid", "blend": []}"#);
        assert_eq!(empty, [("blend", "must list at least one member".to_string())]);
        let bad = problems(&format!(
            r#"{{"kind": "hybrid", "blend": [{{"weight": -1, "balancer": {lc}}},
                {{"weight": 0, "balancer": {{"kind": "round-robin"}}}},
                {{"weight": 1, "balancer": {{"kind": "online-learning", "ridge": 0}}}}]}}"#
        ));
        let messages: Vec<&str> = bad.iter().map(|(_, m)| m.as_str()).collect();
        assert!(bad.iter().all(|(p, _)| *p == "blend"));
        assert!(messages[0].starts_with("[0].weight: must be between 0"), "{messages:?}");
        assert!(messages[1].starts_with("[1].balancer: round-robin has no per-node score"), "{messages:?}");
        assert!(messages[2].starts_with("[2].balancer.ridge: must be positive"), "{messages:?}");
        assert_eq!(messages.len(), 3);
        let zero = problems(&format!(r#"{{"kind": "hybrid", "blend": [{{"weight": 0, "balancer": {lc}}}]}}"#));
        assert_eq!(zero, [("blend", "at least one weight must be positive".to_string())]);
        // Blends and switches of scorers nest.
        let nested: BalancerConfig = serde_json::from_str(&format!(
            r#"{{"kind": "hybrid", "blend": [{{"weight": 1, "balancer":
                {{"kind": "hybrid", "below": {lc}, "above": {{"kind": "response-time"}}, "utilization": 0.5}}}}]}}"#
        ))
        .unwrap();
        assert!(nested.problems().is_empty() && nested.has_scores());
        let unscored: BalancerConfig = serde_json::from_str(&format!(
            r#"{{"kind": "hybrid", "below": {lc}, "above": {{"kind": "random"}}, "utilization": 0.5}}"#
        ))
        .unwrap();
        assert!(!unscored.has_scores());
    }

    #[test]
    fn scoring_balancers_score_as_their_pick_ranks() {
        let mut out = Vec::new();
        let fx = Fixture::with_tasks_and_cores(&[3, 0, 6], &[4, 1, 8]);
        let (all, view) = (fx.all(), fx.view());
        let mut score = |config: &str, observed: &[(u32, f64)]| {
            let mut b = serde_json::from_str::<BalancerConfig>(config).unwrap().build();
            for &(node, latency_s) in observed {
                let latency = crate::Span::from_secs_f64(latency_s);
                let done = Outcome {
                    task: crate::TaskId(0),
                    node: NodeId(node),
                    latency,
                    expected_work_s: 1.0,
                    completed: true,
                };
                b.observe(&done, Time::ZERO);
            }
            assert!(b.scores(&task(), &all, &view, Time::ZERO, &mut out), "{config}");
            out.clone()
        };
        assert_eq!(score(r#"{"kind": "least-connections"}"#, &[]), [3.0, 0.0, 6.0]);
        // (tasks + 1) / cores.
        assert_eq!(score(r#"{"kind": "weighted-least-connections", "weight_by": "cores"}"#, &[]), [1.0, 1.0, 0.875]);
        // A first forecast has no trend: the task counts.
        assert_eq!(score(r#"{"kind": "predictive-least-connections"}"#, &[]), [3.0, 0.0, 6.0]);
        // Peak-EWMA latency (ns) × (tasks + 1); node 2 never observed costs 0.
        assert_eq!(score(r#"{"kind": "response-time"}"#, &[(0, 2.0), (1, 0.5)]), [8e9, 0.5e9, 0.0]);
        // Round robin has none.
        let mut rr = BalancerConfig::RoundRobin {}.build();
        assert!(!rr.scores(&task(), &all, &view, Time::ZERO, &mut out));
    }

    #[test]
    fn a_sampled_blend_of_least_connections_is_two_choices() {
        // Loads 0 < 1 < 2 < 3 and 2 of 4 sampled: node k wins the pairs where it is the lighter,
        // P(k) = 3/6, 2/6, 1/6, 0, as power-of-two choices.
        let config: BalancerConfig = serde_json::from_str(
            r#"{"kind": "hybrid", "sample": 2, "blend": [{"weight": 1, "balancer": {"kind": "least-connections"}}]}"#,
        )
        .unwrap();
        assert!(config.problems().is_empty());
        let mut b = config.build();
        let fx = Fixture::with_tasks(&[0, 1, 2, 3]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut why = Explanation::default();
        let mut counts = [0u32; 4];
        for _ in 0..60_000 {
            let n = b.pick_explained(&task(), &fx.all(), &fx.view(), Time::ZERO, &mut rng, &mut why).unwrap();
            assert_eq!(why.notes.len(), 2, "only the sampled candidates are noted");
            counts[n.index()] += 1;
        }
        assert_eq!(counts[3], 0, "{counts:?}");
        for (k, expected) in [(0, 30_000.0), (1, 20_000.0), (2, 10_000.0)] {
            assert!((counts[k] as f64 - expected).abs() < 600.0, "node {k}: {counts:?}");
        }
        let wrong = |json: &str| serde_json::from_str::<BalancerConfig>(json).unwrap().problems();
        let lc = r#"{"kind": "least-connections"}"#;
        assert_eq!(
            wrong(&format!(r#"{{"kind": "hybrid", "sample": 2, "below": {lc}, "above": {lc}, "utilization": 0.5}}"#)),
            [("sample", "only allowed with blend".to_string())]
        );
        let big =
            wrong(&format!(r#"{{"kind": "hybrid", "sample": 65, "blend": [{{"weight": 1, "balancer": {lc}}}]}}"#));
        assert_eq!(big[0].0, "sample");
    }
}
