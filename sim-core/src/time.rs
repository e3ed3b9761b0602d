//! Simulated time: integer nanoseconds, shared with the strategies crate so that a strategy sees
//! exactly the instants the simulator does. [`SimTime`] is a point in simulated time (nanoseconds
//! since the start of the run) and [`SimDuration`] a length of it.

pub use fulcrum_strategies::{Span as SimDuration, Time as SimTime};
