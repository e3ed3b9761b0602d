//! Benchmarks: Fulcrum's engine against bare hand-written loops doing the same work, and the
//! strategies' decision cost.
//!
//! - [`hold`]: the classic hold model of a pending-event set, on the engine and on bare event sets
//!   (`BinaryHeap`, and sim-core's `RadixHeap` without the engine);
//! - [`heartbeat`]: a heartbeat-driven cluster with power-of-2 dispatch, on the engine
//!   (`run_replication`) and as one bare loop that reproduces the engine's results exactly;
//! - [`decision`]: each balancer's wall-clock cost per decision on synthetic views of 100 to
//!   10,000 nodes (the `decision-cost` binary and the `decision_cost` criterion bench);
//!
//! The criterion benches (`cargo bench -p fulcrum-benches`) run all three; the `perf-table` binary
//! (`cargo run --release -p fulcrum-benches --bin perf-table`) runs the first two, the
//! `decision-cost` binary (`cargo run --release -p fulcrum-benches --bin decision-cost`) the third.

pub mod decision;
pub mod heartbeat;
pub mod hold;
