//! Benchmarks of Fulcrum's engine against bare hand-written loops doing the same work.
//!
//! - [`hold`]: the classic hold model of a pending-event set, on the engine and on bare event sets
//!   (`BinaryHeap`, and sim-core's `RadixHeap` without the engine);
//! - [`heartbeat`]: a heartbeat-driven cluster with power-of-2 dispatch, on the engine
//!   (`run_replication`) and as one bare loop that reproduces the engine's results exactly;
//!
//! The criterion benches (`cargo bench -p fulcrum-benches`) and the `perf-table` binary
//! (`cargo run --release -p fulcrum-benches --bin perf-table`) both run these.

pub mod heartbeat;
pub mod hold;
