//! Simulated time: integer nanoseconds, shared with the strategies crate so that a strategy sees
//! exactly the instants the simulator does. [`SimTime`] is a point in simulated time (nanoseconds
//! since the start of the run) and [`SimDuration`] a length of it.

pub use fulcrum_strategies::{Span as SimDuration, Time as SimTime};

use fulcrum_strategies::round_to_u64;

/// [`round_to_u64`]`(x)` (the nearest integer, halves up; 0 for NaN and below, saturated above),
/// with the processor's signed conversions when `0 < x < 2^63`: there they give exactly the same
/// integer (truncation toward zero, and the same double for it), in a few instructions where the
/// unsigned conversions of x86-64 before AVX-512 take a dozen and branches.
#[inline(always)]
pub(crate) fn round_ns(x: f64) -> u64 {
    if x > 0.0 && x < 9_223_372_036_854_775_808.0 {
        let t = x as i64;
        // No overflow: the largest double below 2^63 is an integer, which never rounds up.
        (t + i64::from(x - t as f64 >= 0.5)) as u64
    } else {
        round_to_u64(x)
    }
}

/// [`SimDuration::from_secs_f64`], through [`round_ns`].
#[inline(always)]
pub(crate) fn span_from_secs(secs: f64) -> SimDuration {
    SimDuration(round_ns(secs * 1e9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_ns_is_round_to_u64() {
        let mut xs = vec![
            0.0,
            -0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9_007_199_254_740_993.0,
            9_223_372_036_854_774_784.0,
            9_223_372_036_854_775_808.0,
            18_446_744_073_709_549_568.0,
            18_446_744_073_709_551_615.0,
            1e300,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100_000 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let bits = state >> 1; // positive doubles of every magnitude (and NaNs)
            xs.push(f64::from_bits(bits));
            xs.push((state >> 11) as f64 / 2048.0);
        }
        for x in xs {
            assert_eq!(round_ns(x), round_to_u64(x), "{x:e}");
        }
        for secs in [0.0, 1e-9, 0.0005, 0.9999999995, 1.0, 3.7e-4, 86_400.0, 1e9] {
            assert_eq!(span_from_secs(secs), SimDuration::from_secs_f64(secs), "{secs}");
        }
    }
}
