//! Fault plans: what goes wrong, where and when, drawn once per replication from the faults
//! stream so that every strategy meets exactly the same faults at the same times.
//!
//! Faults are operator verbs on nodes — `crash`/`recover`, `partition`/`heal`,
//! `slow_down`/`restore` — plus cluster-wide bursts of heartbeat loss and network delay. A
//! [`FaultPlan`] is the sorted list of those actions for one replication; the cluster model
//! replays it.

use rand::Rng;
use rand_distr::{Distribution, Exp1, Gamma, StandardNormal, Weibull};

use crate::rng::{stream, Purpose, Stream};
use crate::time::{SimDuration, SimTime};

/// Which nodes a fault hits.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeSelection {
    /// Every node.
    All,
    /// Nodes of one group: all of them, or `count` distinct ones drawn at random.
    Group {
        /// Group index.
        group: usize,
        /// How many; `None` for the whole group.
        count: Option<u32>,
    },
    /// Explicit node ids.
    Ids(Vec<u32>),
}

/// A lifetime distribution (time to failure, time to repair), by its mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lifetime {
    /// Exponential.
    Exp {
        /// Mean, seconds.
        mean_s: f64,
    },
    /// Weibull with shape `k` (k < 1: infant mortality, k > 1: wear-out).
    Weibull {
        /// Mean, seconds.
        mean_s: f64,
        /// Shape.
        shape: f64,
    },
    /// Log-normal with log-scale standard deviation `sigma`.
    LogNormal {
        /// Mean, seconds.
        mean_s: f64,
        /// σ of the underlying normal.
        sigma: f64,
    },
    /// Gamma with shape `k`.
    Gamma {
        /// Mean, seconds.
        mean_s: f64,
        /// Shape.
        shape: f64,
    },
}

impl Lifetime {
    /// The mean, seconds.
    pub fn mean_s(&self) -> f64 {
        match *self {
            Lifetime::Exp { mean_s }
            | Lifetime::Weibull { mean_s, .. }
            | Lifetime::LogNormal { mean_s, .. }
            | Lifetime::Gamma { mean_s, .. } => mean_s,
        }
    }

    fn sample(&self, rng: &mut Stream) -> f64 {
        match *self {
            Lifetime::Exp { mean_s } => {
                let e: f64 = Exp1.sample(rng);
                mean_s * e
            }
            Lifetime::Weibull { mean_s, shape } => {
                let scale = mean_s / gamma_fn(1.0 + 1.0 / shape);
                Weibull::new(scale, shape).map_or(mean_s, |w| w.sample(rng))
            }
            Lifetime::LogNormal { mean_s, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mean_s.ln() - 0.5 * sigma * sigma + sigma * z).exp()
            }
            Lifetime::Gamma { mean_s, shape } => Gamma::new(shape, mean_s / shape).map_or(mean_s, |g| g.sample(rng)),
        }
    }
}

/// The gamma function, by the Lanczos approximation (g = 7, 9 terms; relative error < 1e-13 for
/// positive arguments).
pub fn gamma_fn(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma_fn(1.0 - x))
    } else {
        let x = x - 1.0;
        let mut a = C[0];
        let t = x + G + 0.5;
        for (i, c) in C.iter().enumerate().skip(1) {
            a += c / (x + i as f64);
        }
        (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * a
    }
}

/// One fault of a scenario, validated.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultSpec {
    /// Crash the selected nodes at `at`; they recover after `recover_after` (never if `None`).
    Crash {
        /// Which nodes.
        nodes: NodeSelection,
        /// When.
        at: SimTime,
        /// Outage length; `None` is crash-stop.
        recover_after: Option<SimDuration>,
    },
    /// Independent random crashes of each selected node (or of each rack, taking all its nodes
    /// down together), alternating time-to-failure and time-to-repair.
    RandomCrashes {
        /// Which nodes.
        nodes: NodeSelection,
        /// Time to failure.
        mtbf: Lifetime,
        /// Time to repair.
        mttr: Lifetime,
        /// Fail whole racks instead of single nodes.
        per_rack: bool,
    },
    /// Cut the selected nodes off from the scheduler for `duration`; they keep running.
    Partition {
        /// Which nodes.
        nodes: NodeSelection,
        /// When.
        at: SimTime,
        /// How long.
        duration: SimDuration,
    },
    /// Multiply the selected nodes' speed by `factor` for `duration` (a gray failure).
    Slowdown {
        /// Which nodes.
        nodes: NodeSelection,
        /// When.
        at: SimTime,
        /// How long.
        duration: SimDuration,
        /// Speed multiplier, in (0, 1] for a slowdown.
        factor: f64,
    },
    /// Lose heartbeats with probability `loss` (on top of the base loss) for `duration`.
    HeartbeatLoss {
        /// When.
        at: SimTime,
        /// How long.
        duration: SimDuration,
        /// Extra loss probability.
        loss: f64,
    },
    /// The nodes of a group follow a speed profile: from each point's time on, their speed is
    /// the group's speed times the point's multiplier (stragglers, external load).
    SpeedProfile {
        /// Group index.
        group: usize,
        /// `(time, multiplier)`, times ascending.
        points: Vec<(SimTime, f64)>,
    },
    /// Add `extra_s` seconds to every message's delay for `duration`.
    DelaySpike {
        /// When.
        at: SimTime,
        /// How long.
        duration: SimDuration,
        /// Added one-way delay, seconds.
        extra_s: f64,
    },
}

/// One step of a fault plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultAction {
    /// The node stops: its tasks are lost.
    Crash(u32),
    /// The node restarts empty, as a new incarnation.
    Recover(u32),
    /// The node can no longer reach the scheduler.
    Partition(u32),
    /// The node reaches the scheduler again.
    Heal(u32),
    /// The node's speed is multiplied by the factor.
    SlowDown(u32, f64),
    /// The slowdown by this factor ends.
    Restore(u32, f64),
    /// The node's speed profile moves to this multiplier.
    Profile(u32, f64),
    /// Extra heartbeat loss starts.
    LossBurst(f64),
    /// The extra heartbeat loss ends.
    LossBurstEnd(f64),
    /// Extra delay starts.
    DelaySpike(f64),
    /// The extra delay ends.
    DelaySpikeEnd(f64),
}

impl FaultAction {
    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            FaultAction::Crash(_) => "crash",
            FaultAction::Recover(_) => "recover",
            FaultAction::Partition(_) => "partition",
            FaultAction::Heal(_) => "heal",
            FaultAction::SlowDown(..) => "slow_down",
            FaultAction::Restore(..) => "restore",
            FaultAction::Profile(..) => "speed_profile",
            FaultAction::LossBurst(_) => "heartbeat_loss",
            FaultAction::LossBurstEnd(_) => "heartbeat_loss_end",
            FaultAction::DelaySpike(_) => "delay_spike",
            FaultAction::DelaySpikeEnd(_) => "delay_spike_end",
        }
    }

    /// The node acted on, if any.
    pub fn node(&self) -> Option<u32> {
        match *self {
            FaultAction::Crash(n)
            | FaultAction::Recover(n)
            | FaultAction::Partition(n)
            | FaultAction::Heal(n)
            | FaultAction::SlowDown(n, _)
            | FaultAction::Restore(n, _)
            | FaultAction::Profile(n, _) => Some(n),
            _ => None,
        }
    }
}

/// A replication's faults, sorted by time (ties in the order the scenario lists them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultPlan {
    /// `(time, action)`, sorted.
    pub actions: Vec<(SimTime, FaultAction)>,
}

/// Node-group layout the plan needs: `(first id, count, racks)` per group.
pub type GroupLayout = [(u32, u32, u32)];

impl FaultPlan {
    /// Draws the plan of replication `replication` up to `end`.
    pub fn draw(
        specs: &[FaultSpec],
        groups: &GroupLayout,
        n_nodes: u32,
        seed: u64,
        replication: u32,
        end: SimTime,
    ) -> Self {
        let mut rng = stream(seed, replication, Purpose::Faults);
        let mut actions = Vec::new();
        for spec in specs {
            match spec {
                FaultSpec::Crash { nodes, at, recover_after } => {
                    for n in select(nodes, groups, n_nodes, &mut rng) {
                        actions.push((*at, FaultAction::Crash(n)));
                        if let Some(d) = recover_after {
                            actions.push((*at + *d, FaultAction::Recover(n)));
                        }
                    }
                }
                FaultSpec::RandomCrashes { nodes, mtbf, mttr, per_rack } => {
                    let selected = select(nodes, groups, n_nodes, &mut rng);
                    let units: Vec<Vec<u32>> = if *per_rack {
                        let mut racks: std::collections::BTreeMap<(u32, u32), Vec<u32>> = Default::default();
                        for n in selected {
                            racks.entry(rack_of(n, groups)).or_default().push(n);
                        }
                        racks.into_values().collect()
                    } else {
                        selected.into_iter().map(|n| vec![n]).collect()
                    };
                    for unit in units {
                        let mut t = SimTime::ZERO;
                        loop {
                            t += SimDuration::from_secs_f64(mtbf.sample(&mut rng));
                            if t >= end {
                                break;
                            }
                            let back = t + SimDuration::from_secs_f64(mttr.sample(&mut rng)).max(SimDuration(1));
                            for &n in &unit {
                                actions.push((t, FaultAction::Crash(n)));
                                if back < end {
                                    actions.push((back, FaultAction::Recover(n)));
                                }
                            }
                            t = back;
                        }
                    }
                }
                FaultSpec::Partition { nodes, at, duration } => {
                    for n in select(nodes, groups, n_nodes, &mut rng) {
                        actions.push((*at, FaultAction::Partition(n)));
                        actions.push((*at + *duration, FaultAction::Heal(n)));
                    }
                }
                FaultSpec::Slowdown { nodes, at, duration, factor } => {
                    for n in select(nodes, groups, n_nodes, &mut rng) {
                        actions.push((*at, FaultAction::SlowDown(n, *factor)));
                        actions.push((*at + *duration, FaultAction::Restore(n, *factor)));
                    }
                }
                FaultSpec::SpeedProfile { group, points } => {
                    let (first, count, _) = groups[*group];
                    for &(t, m) in points {
                        for n in first..first + count {
                            actions.push((t, FaultAction::Profile(n, m)));
                        }
                    }
                }
                FaultSpec::HeartbeatLoss { at, duration, loss } => {
                    actions.push((*at, FaultAction::LossBurst(*loss)));
                    actions.push((*at + *duration, FaultAction::LossBurstEnd(*loss)));
                }
                FaultSpec::DelaySpike { at, duration, extra_s } => {
                    actions.push((*at, FaultAction::DelaySpike(*extra_s)));
                    actions.push((*at + *duration, FaultAction::DelaySpikeEnd(*extra_s)));
                }
            }
        }
        actions.retain(|(t, _)| *t < end);
        actions.sort_by_key(|(t, _)| *t); // stable: equal times keep scenario order
        FaultPlan { actions }
    }
}

/// The (group, rack) a node belongs to: racks split a group into equal consecutive blocks.
pub fn rack_of(node: u32, groups: &GroupLayout) -> (u32, u32) {
    for (g, &(first, count, racks)) in groups.iter().enumerate() {
        if node >= first && node < first + count {
            let i = u64::from(node - first);
            return (g as u32, (i * u64::from(racks.max(1)) / u64::from(count)) as u32);
        }
    }
    (u32::MAX, 0)
}

fn select(sel: &NodeSelection, groups: &GroupLayout, n_nodes: u32, rng: &mut Stream) -> Vec<u32> {
    match sel {
        NodeSelection::All => (0..n_nodes).collect(),
        NodeSelection::Ids(ids) => ids.clone(),
        NodeSelection::Group { group, count } => {
            let (first, n, _) = groups[*group];
            let mut ids: Vec<u32> = (first..first + n).collect();
            match count {
                None => ids,
                Some(k) => {
                    // Partial Fisher-Yates: k distinct nodes, in draw order.
                    let k = (*k).min(n) as usize;
                    for i in 0..k {
                        let j = i + rng.random_range(0..ids.len() - i);
                        ids.swap(i, j);
                    }
                    ids.truncate(k);
                    ids
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_function_matches_known_values() {
        for (x, want) in [(1.0, 1.0), (5.0, 24.0), (0.5, std::f64::consts::PI.sqrt()), (1.5, 0.886_226_925_452_758)] {
            assert!((gamma_fn(x) - want).abs() < 1e-12 * want, "Γ({x}) = {}", gamma_fn(x));
        }
    }

    #[test]
    fn lifetimes_have_their_means() {
        let mut rng = stream(5, 0, Purpose::Faults);
        for l in [
            Lifetime::Exp { mean_s: 100.0 },
            Lifetime::Weibull { mean_s: 100.0, shape: 0.7 },
            Lifetime::Weibull { mean_s: 100.0, shape: 3.0 },
            Lifetime::LogNormal { mean_s: 100.0, sigma: 1.0 },
            Lifetime::Gamma { mean_s: 100.0, shape: 2.0 },
        ] {
            let n = 200_000;
            let mean = (0..n).map(|_| l.sample(&mut rng)).sum::<f64>() / f64::from(n);
            // cv ≤ ~1.5 for these: 5 standard errors is under 2%.
            assert!((mean - 100.0).abs() < 2.0, "{l:?}: mean {mean}");
        }
    }

    #[test]
    fn plans_are_sorted_seeded_and_select_within_the_group() {
        let groups = [(0, 10, 2), (10, 5, 1)];
        let specs = vec![
            FaultSpec::Crash {
                nodes: NodeSelection::Group { group: 0, count: Some(3) },
                at: SimTime::from_secs_f64(600.0),
                recover_after: Some(SimDuration::from_secs_f64(120.0)),
            },
            FaultSpec::Partition {
                nodes: NodeSelection::Ids(vec![12]),
                at: SimTime::from_secs_f64(100.0),
                duration: SimDuration::from_secs_f64(45.0),
            },
            FaultSpec::RandomCrashes {
                nodes: NodeSelection::All,
                mtbf: Lifetime::Exp { mean_s: 3600.0 },
                mttr: Lifetime::Exp { mean_s: 60.0 },
                per_rack: true,
            },
        ];
        let end = SimTime::from_secs_f64(36_000.0);
        let a = FaultPlan::draw(&specs, &groups, 15, 9, 0, end);
        assert_eq!(a, FaultPlan::draw(&specs, &groups, 15, 9, 0, end));
        assert_ne!(a, FaultPlan::draw(&specs, &groups, 15, 9, 1, end));
        assert!(a.actions.windows(2).all(|w| w[0].0 <= w[1].0));
        let crashed_at_600: Vec<u32> = a
            .actions
            .iter()
            .filter(|(t, _)| *t == SimTime::from_secs_f64(600.0))
            .filter_map(|(_, f)| if let FaultAction::Crash(n) = f { Some(*n) } else { None })
            .collect();
        assert!(crashed_at_600.len() >= 3 && crashed_at_600.iter().take(3).all(|&n| n < 10));
        // Per-rack crashes take whole racks down together: nodes 0-4 share rack (0, 0).
        assert_eq!(rack_of(4, &groups), (0, 0));
        assert_eq!(rack_of(5, &groups), (0, 1));
        assert_eq!(rack_of(12, &groups), (1, 0));
    }
}
