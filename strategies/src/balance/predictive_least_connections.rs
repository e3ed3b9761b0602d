//! `predictive-least-connections`: least connections on a forecast of each node's load.
//!
//! Keeps a time-decayed EWMA of each candidate's task count (running + queued + in flight, as the
//! view says) and extrapolates the trend: `forecast = tasks + trend · (tasks − ewma)`. A node whose
//! load is rising (tasks above its average) looks busier than its count, one whose load is falling
//! looks lighter — the idea of F5 BIG-IP's "Predictive" method. The EWMA weight of an old value is
//! `exp(−Δt / decay)`. Ties are broken at random. Cost: O(candidates).

use rand_core::RngCore;

use super::{argmin_random_ties, Balancer, Explanation, Notes, Rank};
use crate::{ClusterView, NodeId, Span, TaskInfo, Time};

#[derive(Clone, Copy, Debug, Default)]
struct Average {
    value: f64,
    at: Option<Time>,
}

/// Least connections on a trend forecast.
#[derive(Clone, Debug)]
pub struct PredictiveLeastConnections {
    decay_ns: f64,
    trend: f64,
    averages: Vec<Average>,
    /// The last `(elapsed ns, exp(−elapsed / decay))` computed: the candidates of a pick were
    /// mostly all updated at the previous pick, so they share the elapsed time and one `exp`.
    last_keep: Option<(u64, f64)>,
}

impl PredictiveLeastConnections {
    /// Default decay time, seconds.
    pub fn default_decay_s() -> f64 {
        5.0
    }
    /// Default trend factor.
    pub fn default_trend() -> f64 {
        1.0
    }

    /// Averages decaying over `decay`, extrapolated with `trend`.
    pub fn new(decay: Span, trend: f64) -> Self {
        PredictiveLeastConnections { decay_ns: (decay.0 as f64).max(1.0), trend, averages: Vec::new(), last_keep: None }
    }

    /// Updates `node`'s average with its current count and returns the forecast.
    #[inline]
    fn forecast(&mut self, node: NodeId, tasks: f64, now: Time) -> f64 {
        if self.averages.len() <= node.index() {
            self.averages.resize(node.index() + 1, Average::default());
        }
        let a = &mut self.averages[node.index()];
        update_and_forecast(a, tasks, now, self.decay_ns, self.trend, &mut self.last_keep)
    }

    /// Grows the averages to cover every node of `view` (candidates are nodes of the view), so
    /// that a pick indexes them without growing them node by node.
    #[inline]
    fn cover(&mut self, view: &ClusterView<'_>) {
        if self.averages.len() < view.len() {
            self.averages.resize(view.len(), Average::default());
        }
    }
}

/// Updates the average `a` with the node's current count and returns the forecast; `last_keep`
/// caches the last `(elapsed ns, exp(−elapsed / decay))` computed. A free function over the
/// fields it needs, so that a pick's loop keeps them in registers.
#[inline(always)]
fn update_and_forecast(
    a: &mut Average,
    tasks: f64,
    now: Time,
    decay_ns: f64,
    trend: f64,
    last_keep: &mut Option<(u64, f64)>,
) -> f64 {
    a.value = match a.at {
        None => tasks,
        Some(at) => {
            let elapsed = now.saturating_since(at).0;
            let w = match *last_keep {
                Some((e, w)) if e == elapsed => w,
                _ => {
                    let w = (-(elapsed as f64) / decay_ns).exp();
                    *last_keep = Some((elapsed, w));
                    w
                }
            };
            a.value * w + tasks * (1.0 - w)
        }
    };
    a.at = Some(now);
    tasks + trend * (tasks - a.value)
}

impl Balancer for PredictiveLeastConnections {
    fn pick(
        &mut self,
        _task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
    ) -> Option<NodeId> {
        self.choose(candidates, view, now, rng, &mut ())
    }

    fn pick_explained(
        &mut self,
        _task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
        why: &mut Explanation,
    ) -> Option<NodeId> {
        self.choose(candidates, view, now, rng, why)
    }

    /// The forecasts (updating the averages, as `pick` does).
    fn scores(
        &mut self,
        _task: &TaskInfo,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        out: &mut Vec<f64>,
    ) -> bool {
        out.clear();
        out.extend(candidates.iter().map(|&c| self.forecast(c, f64::from(view.load(c).tasks()), now)));
        true
    }
}

impl PredictiveLeastConnections {
    /// The decision behind `pick` and `pick_explained`: the score is the forecast (every
    /// candidate's average is updated once either way).
    #[inline]
    fn choose<N: Notes>(
        &mut self,
        candidates: &[NodeId],
        view: &ClusterView<'_>,
        now: Time,
        rng: &mut dyn RngCore,
        why: &mut N,
    ) -> Option<NodeId> {
        why.start(Rank::Lowest);
        self.cover(view);
        // The fields the loop reads, split from `self`: the averages' writes cannot then alias
        // them, and they stay in registers.
        let (decay_ns, trend) = (self.decay_ns, self.trend);
        let mut last_keep = self.last_keep;
        let averages = &mut self.averages[..];
        let best = argmin_random_ties(candidates, rng, |c| {
            let tasks = f64::from(view.load(c).tasks());
            let a = &mut averages[c.index()];
            let forecast = update_and_forecast(a, tasks, now, decay_ns, trend, &mut last_keep);
            if N::ON {
                why.note(c, None, &[("tasks", tasks), ("average", a.value)], Some(forecast));
            }
            Some(forecast)
        });
        self.last_keep = last_keep;
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::testkit::{assert_explained_matches_pick, task, Fixture};
    use rand_core::SeedableRng;

    #[test]
    fn prefers_the_node_whose_load_is_falling() {
        let mut b = PredictiveLeastConnections::new(Span::from_secs_f64(5.0), 1.0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        // At t = 0: node 0 has 1 task, node 1 has 9.
        let early = Fixture::with_tasks(&[1, 9]);
        b.pick(&task(), &early.all(), &early.view(), Time::ZERO, &mut rng);
        // At t = 5 s both have 5: node 0 is rising, node 1 falling; plain least connections would
        // tie, the forecast prefers node 1.
        let now = Fixture::with_tasks(&[5, 5]);
        let t = Time::from_secs_f64(5.0);
        assert_eq!(b.pick(&task(), &now.all(), &now.view(), t, &mut rng), Some(NodeId(1)));
    }

    #[test]
    fn explained_picks_match_plain_picks() {
        assert_explained_matches_pick(PredictiveLeastConnections::new(Span::from_secs_f64(5.0), 1.0), 3000);
        assert_explained_matches_pick(PredictiveLeastConnections::new(Span::from_secs_f64(0.5), 0.0), 1000);
        // The example above: at 5 s the averages are 5 + (1 − 5)e^-1 = 3.53 and 5 + 4e^-1 = 6.47,
        // the forecasts 5 + (5 − 3.53) = 6.47 and 5 + (5 − 6.47) = 3.53.
        let mut b = PredictiveLeastConnections::new(Span::from_secs_f64(5.0), 1.0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut why = Explanation::default();
        let early = Fixture::with_tasks(&[1, 9]);
        b.pick_explained(&task(), &early.all(), &early.view(), Time::ZERO, &mut rng, &mut why);
        let now = Fixture::with_tasks(&[5, 5]);
        let t = Time::from_secs_f64(5.0);
        assert_eq!(b.pick_explained(&task(), &now.all(), &now.view(), t, &mut rng, &mut why), Some(NodeId(1)));
        let k = (-1.0f64).exp();
        let (avg0, avg1) = (5.0 - 4.0 * k, 5.0 + 4.0 * k);
        assert!((why.notes[0].terms[1].1 - avg0).abs() < 1e-12, "{why:?}");
        assert!((why.notes[1].score.unwrap() - (10.0 - avg1)).abs() < 1e-12, "{why:?}");
    }
}
