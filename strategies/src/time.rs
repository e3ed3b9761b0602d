//! Integer time, passed in by the caller: simulated time in the simulator, a monotonic clock in
//! production. Nothing in this crate reads a clock.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in time, in nanoseconds since an epoch the caller chooses (the start of a simulation,
/// or the moment a production scheduler started).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub u64);

/// A length of time in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(pub u64);

const NANOS_PER_SEC: f64 = 1e9;

impl Time {
    /// The epoch.
    pub const ZERO: Time = Time(0);
    /// The latest representable time.
    pub const MAX: Time = Time(u64::MAX);

    /// `secs` seconds after the epoch, rounded to the nearest nanosecond (negative and NaN give 0).
    #[inline]
    pub fn from_secs_f64(secs: f64) -> Time {
        Time(Span::from_secs_f64(secs).0)
    }

    /// Seconds since the epoch.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC
    }

    /// Time elapsed since `earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Span {
        Span(self.0.saturating_sub(earlier.0))
    }
}

impl Span {
    /// No time at all.
    pub const ZERO: Span = Span(0);

    /// `secs` seconds, rounded to the nearest nanosecond; negative and NaN give zero, and values
    /// past the representable range saturate.
    #[inline]
    pub fn from_secs_f64(secs: f64) -> Span {
        Span(round_to_u64(secs * NANOS_PER_SEC))
    }

    /// `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Span {
        Span(ms.saturating_mul(1_000_000))
    }

    /// Length in seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC
    }
}

/// `x` rounded to the nearest integer (halves away from zero), saturating to `0..=u64::MAX`;
/// NaN gives 0. The same result as `x.round() as u64`, without the libm call that `round` is on
/// baseline x86-64 (it sits on the simulator's hot path).
#[inline]
pub fn round_to_u64(x: f64) -> u64 {
    if (0.0..TWO_POW_52).contains(&x) {
        // The usual range, in signed arithmetic (single instructions on baseline x86-64, where
        // unsigned conversions are not): truncation is exact, and so is the fraction `x − t`
        // (Sterbenz), which says whether to round up. NaN is not in the range.
        let t = x as i64;
        return (t + i64::from(x - t as f64 >= 0.5)) as u64;
    }
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    if x >= 18_446_744_073_709_551_615.0 {
        return u64::MAX;
    }
    let t = x as u64; // truncation: exact below 2^53, and x is integral above it
    t + u64::from(x - t as f64 >= 0.5)
}

impl Add<Span> for Time {
    type Output = Time;
    fn add(self, rhs: Span) -> Time {
        Time(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign<Span> for Time {
    fn add_assign(&mut self, rhs: Span) {
        *self = *self + rhs;
    }
}

impl Add for Span {
    type Output = Span;
    fn add(self, rhs: Span) -> Span {
        Span(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Span {
    fn add_assign(&mut self, rhs: Span) {
        *self = *self + rhs;
    }
}

impl Sub<Time> for Time {
    type Output = Span;
    fn sub(self, rhs: Time) -> Span {
        debug_assert!(self >= rhs, "time went backwards: {self:?} - {rhs:?}");
        Span(self.0 - rhs.0)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.9}s", self.as_secs_f64())
    }
}

/// 2^52: from here on every double is an integer.
const TWO_POW_52: f64 = 4_503_599_627_370_496.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_to_nanoseconds() {
        assert_eq!(Span::from_secs_f64(1.5), Span(1_500_000_000));
        assert_eq!(Span::from_secs_f64(1e-9 * 0.4), Span(0));
        assert_eq!(Span::from_secs_f64(-3.0), Span(0));
        assert_eq!(Span::from_secs_f64(f64::NAN), Span(0));
        assert_eq!(Span::from_secs_f64(1e300), Span(u64::MAX));
        assert_eq!(Time::from_secs_f64(2.0) + Span(5), Time(2_000_000_005));
        assert_eq!(Time(10).saturating_since(Time(20)), Span(0));
        for x in [0.0, 0.49999999999999994, 0.5, 1.5, 2.5, 1e9 + 0.5, 123456.789, 4503599627370495.5, 9e15, 1.8e19] {
            assert_eq!(round_to_u64(x), x.round() as u64, "{x}");
        }
        assert_eq!(round_to_u64(f64::NAN), 0);
        assert_eq!(round_to_u64(-2.0), 0);
        assert_eq!(round_to_u64(-0.0), 0);
    }

    proptest::proptest! {
        /// The same as `f64::round` (halves away from zero) across the whole range, every bit
        /// pattern's neighbourhood included: results must never change with the implementation.
        #[test]
        fn round_to_u64_is_round(bits in proptest::prelude::any::<u64>(), small in 0.0f64..1e10) {
            let x = f64::from_bits(bits);
            let want = if x.is_nan() { 0 } else { x.round() as u64 };
            proptest::prop_assert_eq!(round_to_u64(x), want, "{}", x);
            proptest::prop_assert_eq!(round_to_u64(small), small.round() as u64, "{}", small);
            let half = small.trunc() + 0.5;
            proptest::prop_assert_eq!(round_to_u64(half), half.round() as u64, "{}", half);
        }
    }
}
