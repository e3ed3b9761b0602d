//! The pending-event set: a monotone radix heap keyed by integer time, with insertion order kept
//! among equal keys.
//!
//! A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990) exploits what a simulation clock
//! guarantees: no event is ever scheduled before the last one popped. Bucket `b` holds the keys
//! whose highest bit differing from `last` (the last key popped) is bit `b`; the "now" bucket holds
//! keys equal to `last`. Popping empties the lowest non-empty bucket into lower ones around its
//! minimum, so each element moves down at most 64 times over its life and usually a handful.
//!
//! **Ties keep insertion order.** Every element with key `k` is always in bucket
//! `msb(k ^ last)` (or the now bucket): equal keys share a bucket at all times. Within a bucket
//! elements stay in insertion order (they are appended, and a redistribution walks the bucket in
//! order into buckets that were empty), and the now bucket is drained front to back. So events at the same instant come out
//! first-in, first-out without storing a sequence number, which keeps entries small.

/// A monotone priority queue of `(key, value)` pairs, smallest key first, FIFO among equal keys.
///
/// Pushing a key smaller than the last popped key is a logic error (debug builds panic; release
/// builds clamp it to the last key so the queue stays consistent).
///
/// Layout choices, each measured on the hold model: the bucket of keys equal to the clock is a
/// `Vec` read through a cursor (not a `VecDeque`); occupancy is one `u64` (bucket `b` holds keys
/// whose highest bit differing from the clock is bit `b`); each bucket's minimum is kept on push,
/// so a refill is a single pass.
#[derive(Debug)]
pub struct RadixHeap<T> {
    last: u64,
    len: usize,
    /// Bit `b` set ⇔ `buckets[b]` is non-empty.
    occupied: u64,
    /// Keys equal to `last`, read from `head` on.
    now: Vec<(u64, T)>,
    head: usize,
    buckets: [Vec<(u64, T)>; 64],
    /// Smallest key of each bucket (`u64::MAX` when empty).
    mins: [u64; 64],
    scratch: Vec<(u64, T)>,
}

impl<T: Copy> Default for RadixHeap<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy> RadixHeap<T> {
    /// An empty heap whose clock starts at 0.
    pub fn new() -> Self {
        RadixHeap {
            last: 0,
            len: 0,
            occupied: 0,
            now: Vec::new(),
            head: 0,
            buckets: std::array::from_fn(|_| Vec::new()),
            mins: [u64::MAX; 64],
            scratch: Vec::new(),
        }
    }

    /// Number of pending elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing is pending.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The last key popped (the clock).
    #[inline]
    pub fn last_key(&self) -> u64 {
        self.last
    }

    /// Adds an element.
    #[inline(always)]
    pub fn push(&mut self, key: u64, value: T) {
        debug_assert!(key >= self.last, "radix heap: key {key} is before the clock {}", self.last);
        let key = key.max(self.last);
        self.len += 1;
        let diff = key ^ self.last;
        if diff == 0 {
            self.now.push((key, value));
        } else {
            let b = (63 - diff.leading_zeros()) as usize;
            self.buckets[b].push((key, value));
            self.mins[b] = self.mins[b].min(key);
            self.occupied |= 1 << b;
        }
    }

    /// The smallest key pending, without removing it.
    pub fn peek_key(&self) -> Option<u64> {
        if self.head < self.now.len() {
            return Some(self.now[self.head].0);
        }
        if self.occupied == 0 {
            return None;
        }
        Some(self.mins[self.occupied.trailing_zeros() as usize])
    }

    /// Removes and returns the element with the smallest key (the earliest inserted among equals).
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(u64, T)> {
        if self.head == self.now.len() {
            if self.occupied == 0 {
                return None;
            }
            self.refill();
        }
        let entry = self.now[self.head];
        self.head += 1;
        self.len -= 1;
        Some(entry)
    }

    /// Like [`pop`](Self::pop), but only if the smallest key is at most `limit`; otherwise the heap
    /// is left exactly as it was (its clock does not move past `limit`).
    #[inline(always)]
    pub fn pop_at_most(&mut self, limit: u64) -> Option<(u64, T)> {
        if self.head == self.now.len() {
            if self.occupied == 0 || self.mins[self.occupied.trailing_zeros() as usize] > limit {
                return None;
            }
            self.refill();
        } else if self.now[self.head].0 > limit {
            return None;
        }
        let entry = self.now[self.head];
        self.head += 1;
        self.len -= 1;
        Some(entry)
    }

    /// Empties the lowest non-empty bucket into lower buckets around its minimum key. The
    /// now-bucket must be exhausted and some bucket occupied.
    #[inline]
    fn refill(&mut self) {
        self.now.clear();
        self.head = 0;
        let b = self.occupied.trailing_zeros() as usize;
        self.occupied &= !(1 << b);
        std::mem::swap(&mut self.scratch, &mut self.buckets[b]);
        let min = std::mem::replace(&mut self.mins[b], u64::MAX);
        self.last = min;
        // The occupancy is kept in a local: a field would be loaded and stored around every
        // push (which may call the allocator).
        let mut occupied = self.occupied;
        for &(key, value) in &self.scratch {
            let diff = key ^ min;
            if diff == 0 {
                self.now.push((key, value));
            } else {
                // Buckets below `b` were empty: insertion order is kept within each.
                let nb = (63 - diff.leading_zeros()) as usize;
                self.buckets[nb].push((key, value));
                self.mins[nb] = self.mins[nb].min(key);
                occupied |= 1 << nb;
            }
        }
        self.occupied = occupied;
        self.scratch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    #[test]
    fn equal_keys_come_out_in_insertion_order() {
        let mut h = RadixHeap::new();
        for i in 0..10u32 {
            h.push(100, i);
        }
        h.push(50, 99);
        assert_eq!(h.pop(), Some((50, 99)));
        h.push(100, 10);
        let order: Vec<u32> = std::iter::from_fn(|| h.pop()).map(|(_, v)| v).collect();
        assert_eq!(order, (0..=10).collect::<Vec<_>>());
        assert!(h.is_empty());
    }

    proptest! {
        /// Against a reference ordered by (key, insertion sequence), under any interleaving of
        /// pushes (never before the clock) and pops.
        #[test]
        fn matches_a_binary_heap_with_sequence_numbers(
            ops in proptest::collection::vec((any::<bool>(), 0u64..40, 0u8..3), 1..400)
        ) {
            let mut radix = RadixHeap::new();
            let mut reference = BinaryHeap::new();
            let mut seq = 0u64;
            let mut clock = 0u64;
            for (is_pop, delta, scale) in ops {
                if is_pop {
                    let want = reference.pop().map(|Reverse((k, s))| (k, s));
                    let got = radix.pop();
                    prop_assert_eq!(got, want);
                    if let Some((k, _)) = got { clock = k; }
                } else {
                    // Small deltas make many ties; large ones exercise high buckets.
                    let key = clock + delta * [1, 1_000, 1 << 40][scale as usize];
                    radix.push(key, seq);
                    reference.push(Reverse((key, seq)));
                    seq += 1;
                }
                prop_assert_eq!(radix.len(), reference.len());
                if let Some(&Reverse((k, _))) = reference.peek() {
                    // A refused pop_at_most must leave the heap untouched (checked by the next ops).
                    if k > 0 {
                        prop_assert_eq!(radix.pop_at_most(k - 1), None);
                    }
                }
                prop_assert_eq!(radix.peek_key(), reference.peek().map(|Reverse((k, _))| *k));
            }
        }
    }
}
