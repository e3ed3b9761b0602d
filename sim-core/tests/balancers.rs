//! Balancer behaviour that theory predicts, on whole simulated clusters: herding on stale
//! information, join-the-shortest-queue on fresh information, weights on heterogeneous nodes.

use fulcrum_sim_core::config::{HeartbeatConfig, NodeGroup, SimConfig, ViewMode};
use fulcrum_sim_core::dist::Dist;
use fulcrum_sim_core::workload::{ArrivalProcess, TaskClass, Workload};
use fulcrum_sim_core::{run_replication, SimDuration, SimTime};
use fulcrum_strategies::balance::{BalancerConfig, WeightBy};
use fulcrum_strategies::{NodeSpec, Resources};

/// Single-core nodes of the given speeds, Poisson arrivals at `load` of the total capacity, Exp(1 s)
/// work, heartbeats every `interval_s` (no jitter), the given view; 3,000 s with 500 s warm-up.
fn cluster(speeds: &[f64], load: f64, interval_s: f64, view: ViewMode) -> SimConfig {
    let one_core = Resources([1000, 0, 0, 0, 0, 0]);
    let capacity: f64 = speeds.iter().sum();
    SimConfig {
        nodes: speeds.iter().map(|&speed| NodeSpec { capacity: one_core, speed }).collect(),
        groups: vec![NodeGroup { name: "n".into(), first: 0, count: speeds.len() as u32, racks: 1 }],
        workload: Workload {
            arrival: ArrivalProcess::Poisson { rate: load * capacity },
            source: None,
            classes: vec![TaskClass {
                name: "t".into(),
                share: 1.0,
                work: Dist::Exp { mean: 1.0 },
                demand: one_core,
                priority: 0,
            }],
        },
        heartbeat: HeartbeatConfig {
            interval: SimDuration::from_secs_f64(interval_s),
            jitter: 0.0,
            loss: 0.0,
            delay: Dist::Const { value: 0.001 },
        },
        dispatch_delay: Dist::Const { value: 0.001 },
        view,
        dispatchers: Default::default(),
        end: SimTime::from_secs_f64(3000.0),
        warmup: SimTime::from_secs_f64(500.0),
        sample_interval: SimDuration::from_secs_f64(100.0),
        seed: 11,
        faults: vec![],
        alerts: vec![],
    }
}

/// Mean response over three replications.
fn mean_response(config: &SimConfig, balancer: BalancerConfig) -> f64 {
    let label = balancer.kind();
    (0..3).map(|r| run_replication(config, &balancer, label, r, false).metric("mean_response_s").unwrap()).sum::<f64>()
        / 3.0
}

#[test]
fn stale_bulletin_board_makes_least_connections_herd() {
    // Mitzenmacher, "How useful is old information?": 100 nodes at load 0.9, heartbeats every
    // 5 s (five mean task times), no dispatch tracking. Everyone joins the queue that looked
    // shortest at the last report: least-connections herds and does worse than random (an
    // M/M/1 at 0.9: 10 s), while power-of-two stays well ahead of both.
    let config = cluster(&[1.0; 100], 0.9, 5.0, ViewMode::Heartbeat { track_dispatches: false });
    let lc = mean_response(&config, BalancerConfig::LeastConnections {});
    let random = mean_response(&config, BalancerConfig::Random {});
    let p2c = mean_response(&config, BalancerConfig::PowerOfD { d: 2 });
    println!("least-connections {lc:.3} s, random {random:.3} s, p2c {p2c:.3} s");
    // Measured: 11.5 s, 9.9 s and 4.0 s. Random's mean over 3 × 100 queues has a standard error
    // of about 2%, so the 10% margin is several of them.
    assert!(lc > 1.1 * random, "least-connections {lc} should herd past random {random}");
    assert!(p2c < 0.6 * random, "p2c {p2c} should stay well ahead of random {random}");
}

#[test]
fn fresh_information_favours_least_connections() {
    // With the oracle view least-connections is join-the-shortest-queue, which beats sampling two.
    let config = cluster(&[1.0; 100], 0.9, 1.0, ViewMode::Oracle);
    let lc = mean_response(&config, BalancerConfig::LeastConnections {});
    let p2c = mean_response(&config, BalancerConfig::PowerOfD { d: 2 });
    println!("least-connections {lc:.3} s, p2c {p2c:.3} s");
    assert!(lc < 0.8 * p2c, "JSQ {lc} should beat power-of-two {p2c}");
}

#[test]
fn weights_by_speed_beat_plain_round_robin_on_heterogeneous_nodes() {
    // Four slow and two fast (4x) nodes at 70% of total capacity: plain round robin gives each
    // node a sixth of the work, overloading the slow ones (each at 12/8 · 0.7 > 1); weighting by
    // speed sends each its share.
    let speeds = [1.0, 1.0, 1.0, 1.0, 4.0, 4.0];
    let config = cluster(&speeds, 0.7, 1.0, ViewMode::Heartbeat { track_dispatches: true });
    let rr = mean_response(&config, BalancerConfig::RoundRobin {});
    let swrr = mean_response(&config, BalancerConfig::SmoothWeightedRoundRobin { weight_by: WeightBy::Speed });
    let wrr = mean_response(&config, BalancerConfig::WeightedRoundRobin { weight_by: WeightBy::Speed });
    println!("round-robin {rr:.3} s, weighted {wrr:.3} s, smooth weighted {swrr:.3} s");
    assert!(swrr < 0.5 * rr && wrr < 0.5 * rr, "weighted {wrr} / {swrr} vs plain {rr}");
    // Smoothing the weighted sequence spreads each fast node's turns: it never queues more.
    assert!(swrr <= wrr * 1.05);
}

#[test]
fn learning_from_latency_and_dynamic_weights_find_the_fast_nodes() {
    // The same heterogeneous cluster: peak-EWMA latency (learnt from completions reported in
    // heartbeats) and weights recomputed from heartbeats both find the fast nodes without being
    // told their speeds, and beat the load-blind strategies by a wide margin.
    let speeds = [1.0, 1.0, 1.0, 1.0, 4.0, 4.0];
    let config = cluster(&speeds, 0.7, 1.0, ViewMode::Heartbeat { track_dispatches: true });
    let random = mean_response(&config, BalancerConfig::Random {});
    let peak_ewma = mean_response(&config, BalancerConfig::ResponseTime { decay_s: 10.0 });
    let dynamic = mean_response(&config, BalancerConfig::DynamicWeight {});
    println!("random {random:.3} s, response-time {peak_ewma:.3} s, dynamic-weight {dynamic:.3} s");
    assert!(peak_ewma < 0.5 * random, "response-time {peak_ewma} vs random {random}");
    assert!(dynamic < 0.5 * random, "dynamic-weight {dynamic} vs random {random}");
}

#[test]
fn uncoordinated_dispatchers_pay_for_their_stale_views() {
    // One dispatcher that counts its own dispatches between heartbeats (every 1 s) is close to
    // join-the-shortest-queue. Ten dispatchers splitting the arrivals each count only their own:
    // between two heartbeats they all see the same nodes as the emptiest and pile onto them.
    // Sampling two nodes at random (p2c) spreads the choices and suffers far less.
    use fulcrum_sim_core::config::{Dispatchers, Split};
    let one = cluster(&[1.0; 100], 0.9, 1.0, ViewMode::Heartbeat { track_dispatches: true });
    let mut ten = one.clone();
    ten.dispatchers = Dispatchers { count: 10, split: Split::RoundRobin };
    let lc1 = mean_response(&one, BalancerConfig::LeastConnections {});
    let lc10 = mean_response(&ten, BalancerConfig::LeastConnections {});
    let p2c1 = mean_response(&one, BalancerConfig::PowerOfD { d: 2 });
    let p2c10 = mean_response(&ten, BalancerConfig::PowerOfD { d: 2 });
    println!("least-connections {lc1:.3} s -> {lc10:.3} s, p2c {p2c1:.3} s -> {p2c10:.3} s");
    assert!(lc10 > 1.3 * lc1, "ten dispatchers {lc10} should do clearly worse than one {lc1}");
    assert!(lc10 / lc1 > 1.2 * (p2c10 / p2c1), "least-connections should suffer more than p2c");
    // A random split draws from its own stream: the same tasks, a different division.
    let mut random_split = ten.clone();
    random_split.dispatchers.split = Split::Random;
    let lc10r = mean_response(&random_split, BalancerConfig::LeastConnections {});
    assert!(lc10r > 1.3 * lc1 && lc10r != lc10, "random split: {lc10r}");
}

#[test]
fn a_batch_waits_half_its_window_on_average() {
    // At low load a task's response is its work plus its wait for the batch to close. Poisson
    // arrivals fall uniformly in a window of 1 s opened by the first of them, so the mean wait is
    // E[1 − U·…] ≈ 0.5 s plus the first task's full second weighed by its share: for batches of
    // mean size m = 1 + λ·1 (λ = 5/s here), (1 + (m − 1)/2)/m = 0.583 s. Batches never fill
    // (batch_size 1,000), so only the window closes them.
    let config = cluster(&[1.0; 100], 0.05, 1.0, ViewMode::Heartbeat { track_dispatches: true });
    let batch: BalancerConfig = serde_json::from_str(
        r#"{"kind": "batch", "window_s": 1.0, "batch_size": 1000, "optimiser": {"kind": "greedy"}}"#,
    )
    .unwrap();
    let single = mean_response(&config, BalancerConfig::LeastConnections {});
    let batched = mean_response(&config, batch.clone());
    let expected_wait = (1.0 + 5.0 / 2.0) / 6.0;
    println!("least-connections {single:.3} s, batch {batched:.3} s, expected wait {expected_wait:.3} s");
    assert!((batched - single - expected_wait).abs() < 0.05, "batch wait {} vs {expected_wait}", batched - single);
    // A batch of one closes at once: no wait at all.
    let one: BalancerConfig = serde_json::from_str(r#"{"kind": "batch", "batch_size": 1}"#).unwrap();
    let immediate = mean_response(&config, one);
    assert!((immediate - single).abs() < 0.03, "batch of one {immediate} vs {single}");
    // An optimiser placing the same batches is never worse than greedy on its objective; on the
    // cluster it must at least run and conserve tasks (conservation is asserted in every run).
    let genetic: BalancerConfig = serde_json::from_str(
        r#"{"kind": "batch", "window_s": 1.0, "optimiser": {"kind": "genetic", "evaluations": 200}, "objective": "balance"}"#,
    )
    .unwrap();
    let out = run_replication(&config, &genetic, "genetic", 0, false);
    assert!(out.metric("completed").unwrap() > 0.9 * out.metric("submitted").unwrap());
}

#[test]
fn a_score_threshold_makes_tasks_wait_for_a_good_node() {
    // Four-core nodes, one-core tasks, LeastAllocated alone: a node running u tasks scores
    // 100·(4 − u − 1)/4 after placement, so a threshold of 30 accepts only nodes with at most one
    // task. When every node has two or more, tasks wait and are offered again every 0.5 s
    // instead of queueing on a node.
    let mut config = cluster(&[1.0; 20], 0.4, 0.2, ViewMode::Heartbeat { track_dispatches: true });
    for node in &mut config.nodes {
        node.capacity = Resources([4000, 0, 0, 0, 0, 0]);
    }
    // 32 tasks/s: 40% of the 80 cores, 80% of the 40 that the threshold leaves usable.
    config.workload.arrival = ArrivalProcess::Poisson { rate: 0.4 * 80.0 };
    let plain: BalancerConfig = serde_json::from_str(
        r#"{"kind": "resource-aware", "weights": {"least_allocated": 1, "balanced_allocation": 0},
            "resources": {"cpu_cores": 1}}"#,
    )
    .unwrap();
    let threshold: BalancerConfig = serde_json::from_str(
        r#"{"kind": "resource-aware", "weights": {"least_allocated": 1, "balanced_allocation": 0},
            "resources": {"cpu_cores": 1}, "min_score": 30, "retry_after_s": 0.5}"#,
    )
    .unwrap();
    let a = run_replication(&config, &plain, "plain", 0, false);
    let b = run_replication(&config, &threshold, "threshold", 0, false);
    let metric = |o: &fulcrum_sim_core::metrics::RunOutput, k: &str| o.metric(k).unwrap();
    println!(
        "deferrals {} vs {}, mean wait {:.3} s vs {:.3} s",
        metric(&a, "deferrals"),
        metric(&b, "deferrals"),
        metric(&a, "mean_wait_s"),
        metric(&b, "mean_wait_s")
    );
    assert_eq!(metric(&a, "deferrals"), 0.0);
    assert!(metric(&b, "deferrals") > 1000.0);
    assert!(metric(&b, "completed") > 0.95 * metric(&b, "submitted"), "waiting tasks still run");
}
