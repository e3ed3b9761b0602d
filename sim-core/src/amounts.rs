//! Resource accounting over the dimensions a run uses.
//!
//! A [`Resources`] holds all six dimensions, but most scenarios demand one or two (CPU, or CPU and
//! memory): a dimension no task class demands stays zero in every node's use and every
//! dispatcher's tracking for the whole run, and never decides whether a task fits. The cluster
//! therefore keeps its per-node sums as [`Amounts<K>`] over the run's [`Dims<K>`] (with `K` = 1, 2
//! or all 6), which keeps a node's hot record in one cache line, and writes only those
//! dimensions into the [`Resources`] of the balancers' view (the others stay zero, as they would
//! anyway). The arithmetic is [`Resources`']: saturating sums and differences, and a fit test
//! dimension by dimension, so results do not depend on `K`.

use fulcrum_strategies::{Resources, N_RESOURCES};

/// Amounts of the `K` dimensions of a run's [`Dims`], in milli-units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Amounts<const K: usize>(pub(crate) [u64; K]);

impl<const K: usize> Amounts<K> {
    pub(crate) const ZERO: Amounts<K> = Amounts([0; K]);

    /// True if every dimension of `self` is at most that of `limit`.
    #[inline(always)]
    pub(crate) fn fits_in(&self, limit: &Amounts<K>) -> bool {
        self.0.iter().zip(&limit.0).all(|(a, b)| a <= b)
    }

    /// `self + other`, dimension by dimension (saturating).
    #[inline(always)]
    pub(crate) fn plus(&self, other: &Amounts<K>) -> Amounts<K> {
        let mut out = self.0;
        for (o, b) in out.iter_mut().zip(&other.0) {
            *o = o.saturating_add(*b);
        }
        Amounts(out)
    }

    /// `self - other`, dimension by dimension, floored at zero.
    #[inline(always)]
    pub(crate) fn minus(&self, other: &Amounts<K>) -> Amounts<K> {
        let mut out = self.0;
        for (o, b) in out.iter_mut().zip(&other.0) {
            *o = o.saturating_sub(*b);
        }
        Amounts(out)
    }

    /// Adds `other` in place.
    #[inline(always)]
    pub(crate) fn add_assign(&mut self, other: &Amounts<K>) {
        *self = self.plus(other);
    }

    /// Subtracts `other` in place, floored at zero.
    #[inline(always)]
    pub(crate) fn sub_assign(&mut self, other: &Amounts<K>) {
        debug_assert!(other.fits_in(self), "resource accounting underflow: {self:?} - {other:?}");
        *self = self.minus(other);
    }
}

/// Which [`Resources`] dimension each of the `K` amounts is (in increasing order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dims<const K: usize>([usize; K]);

impl<const K: usize> Dims<K> {
    /// The dimensions `dims` (at most `K`, increasing), padded with dimensions no class demands.
    ///
    /// # Panics
    /// If there are more than `K` dimensions.
    pub(crate) fn new(dims: &[usize]) -> Dims<K> {
        assert!(dims.len() <= K && K <= N_RESOURCES, "{} dimensions do not fit in {K}", dims.len());
        let mut out = dims.to_vec();
        let mut unused = 0;
        while out.len() < K {
            if !out.contains(&unused) {
                out.push(unused);
            }
            unused += 1;
        }
        out.sort_unstable();
        Dims(out.try_into().expect("K dimensions"))
    }

    /// The dimensions, as indices into [`Resources`].
    pub(crate) fn indices(&self) -> &[usize] {
        &self.0
    }

    /// The index in [`Resources`] of amount `k`. (With all six dimensions the order is the
    /// identity, which the compiler then sees.)
    #[inline(always)]
    fn dim(&self, k: usize) -> usize {
        if K == N_RESOURCES {
            k
        } else {
            self.0[k]
        }
    }

    /// The amounts of `r` in these dimensions.
    #[inline(always)]
    pub(crate) fn gather(&self, r: &Resources) -> Amounts<K> {
        let mut out = [0; K];
        for (k, o) in out.iter_mut().enumerate() {
            *o = r.0[self.dim(k)];
        }
        Amounts(out)
    }

    /// `a` as a [`Resources`] (zero in the other dimensions).
    pub(crate) fn expand(&self, a: &Amounts<K>) -> Resources {
        let mut out = Resources::ZERO;
        self.write(a, &mut out);
        out
    }

    /// Sets these dimensions of `r` to `a` (the others are left as they are).
    #[inline(always)]
    pub(crate) fn write(&self, a: &Amounts<K>, r: &mut Resources) {
        for (k, &v) in a.0.iter().enumerate() {
            r.0[self.dim(k)] = v;
        }
    }

    /// Adds `a` to these dimensions of `r` (saturating), as [`Resources::add_assign`] would.
    #[inline(always)]
    pub(crate) fn add(&self, a: &Amounts<K>, r: &mut Resources) {
        for (k, &v) in a.0.iter().enumerate() {
            let d = self.dim(k);
            r.0[d] = r.0[d].saturating_add(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dims_are_padded_with_unused_ones_in_order() {
        assert_eq!(Dims::<1>::new(&[]).indices(), &[0]);
        assert_eq!(Dims::<1>::new(&[3]).indices(), &[3]);
        assert_eq!(Dims::<2>::new(&[0]).indices(), &[0, 1]);
        assert_eq!(Dims::<2>::new(&[1]).indices(), &[0, 1]);
        assert_eq!(Dims::<2>::new(&[0, 4]).indices(), &[0, 4]);
        assert_eq!(Dims::<6>::new(&[2, 5]).indices(), &[0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn gather_and_write_round_trip_on_the_dims() {
        let dims = Dims::<2>::new(&[1, 4]);
        let r = Resources([0, 7, 0, 0, 9, 0]);
        let a = dims.gather(&r);
        assert_eq!(a, Amounts([7, 9]));
        assert_eq!(dims.expand(&a), r);
        let mut view = Resources::ZERO;
        dims.add(&a, &mut view);
        dims.add(&a, &mut view);
        assert_eq!(view, Resources([0, 14, 0, 0, 18, 0]));
        let all = Dims::<6>::new(&[0, 1, 2, 3, 4, 5]);
        let r = Resources([1, 2, 3, 4, 5, 6]);
        assert_eq!(all.expand(&all.gather(&r)), r);
    }

    #[test]
    fn arithmetic_is_that_of_resources() {
        let dims = Dims::<2>::new(&[0, 1]);
        let (a, b) = (Resources([5, u64::MAX - 1, 0, 0, 0, 0]), Resources([7, 3, 0, 0, 0, 0]));
        let (ca, cb) = (dims.gather(&a), dims.gather(&b));
        assert_eq!(dims.expand(&ca.plus(&cb)), a.plus(&b));
        assert_eq!(dims.expand(&ca.minus(&cb)), a.minus(&b));
        assert_eq!(dims.expand(&cb.minus(&ca)), b.minus(&a));
        assert_eq!(ca.fits_in(&cb), a.fits_in(&b));
        assert_eq!(cb.fits_in(&cb), b.fits_in(&b));
    }
}
