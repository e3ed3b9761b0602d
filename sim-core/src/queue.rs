//! The pending-event set: a monotone multi-level radix heap keyed by integer time, with insertion
//! order kept among equal keys.
//!
//! A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990) exploits what a simulation clock
//! guarantees: no event is ever scheduled before the last one popped (`last`). Keys are read as
//! eleven 6-bit digits; bucket `(l, d)` holds the keys whose highest digit differing from `last`
//! is digit `l`, and whose digit `l` is `d`. A separate *now* bucket holds keys equal to `last`.
//! The lowest non-empty bucket (lowest level, then lowest digit) holds the smallest keys; popping
//! it makes its minimum the new `last` and spreads its other keys over lower levels, so a key
//! moves down at most ten times over its life and, in the hold model, about three times on
//! average (the binary radix heap this replaced moved each about ten times). Each level's
//! occupancy is one `u64`, so the lowest bucket is found with two `trailing_zeros`.
//!
//! Two shortcuts make the common pops cheap: a bucket holding one element is popped directly
//! (when events are spread out, as in a large cluster, most are), and a level-0 bucket — whose
//! keys all share every digit, so are all equal — becomes the now bucket as it is.
//!
//! **Ties keep insertion order.** A key's bucket is a function of the key and `last`, so equal
//! keys share a bucket at all times. Within a bucket elements stay in insertion order: they are
//! appended, and a redistribution walks the bucket in order into buckets that were empty (every
//! level below the one being emptied is empty, as that bucket was the lowest), and the now bucket
//! is drained front to back. So events at the same instant come out first-in, first-out without
//! storing a sequence number, which keeps entries small.

/// Bits per digit: 64 buckets per level, so a level's occupancy is one word.
const DIGIT_BITS: u32 = 6;
/// Buckets per level.
const FANOUT: usize = 1 << DIGIT_BITS;
/// Levels: one per digit of a 64-bit key (the top one has 4 bits).
const LEVELS: usize = 64_usize.div_ceil(DIGIT_BITS as usize);

/// Most elements an empty bucket keeps room for. A bucket keeps the buffer it grew (so a steady
/// state allocates nothing) up to this size; a bucket that held more gives the rest back when it
/// empties, so the room kept does not pile up over the run at the size of the largest refills.
/// Buckets that large appear only with tens of thousands of pending events, where refilling one
/// costs far more than the reallocation. On the 1e5-node heartbeat run this takes the peak
/// resident memory of `fulcrum run` from 240 MB (buckets keep everything) to about 105 MB; a
/// smaller bound (4096) reallocates too often in steady state at 2,000 nodes
/// (`benches/tests/allocation.rs` allows one allocation per 10,000 events).
const RETAIN: usize = 16384;

/// Most elements [`RadixHeap::peek_near`] looks through. On the 1e5-node heartbeat run the lowest
/// bucket after a pop holds one element 70 % of the time, two to four 28 %, five to sixteen 1.5 %,
/// and more (a bucket about to be refilled) 0.9 %.
const PEEK_SCAN: usize = 16;

/// Per bit position: its level, and the shift that brings the level's digit down (a table
/// lookup is cheaper than the division by 6).
const LEVEL_OF_BIT: [(u8, u8); 64] = {
    let mut table = [(0, 0); 64];
    let mut bit = 0;
    while bit < 64 {
        let level = bit / DIGIT_BITS as usize;
        table[bit] = (level as u8, (level * DIGIT_BITS as usize) as u8);
        bit += 1;
    }
    table
};

/// A monotone priority queue of `(key, value)` pairs, smallest key first, FIFO among equal keys.
///
/// Pushing a key smaller than the last popped key is a logic error (debug builds panic; release
/// builds clamp it to the last key so the queue stays consistent).
///
/// Layout choices, each measured on the hold model (`benches`): 6-bit digits (one occupancy word
/// per level; 7- and 8-bit digits were slower at K = 1e3 and 1e5, though 8 bits wins at 1e6);
/// the now bucket is a `Vec` read through a cursor (not a `VecDeque`); no per-bucket minimum is
/// kept (a refill finds it in one pass over the bucket it empties anyway); each bucket keeps its
/// own buffer (lent while it is redistributed, then given back), so once every buffer has grown
/// to its working size a run allocates nothing — up to [`RETAIN`] elements, beyond which an
/// emptied bucket gives the room back.
#[derive(Debug)]
pub struct RadixHeap<T> {
    last: u64,
    len: usize,
    /// Keys equal to `last`, read from `head` on.
    now: Vec<(u64, T)>,
    head: usize,
    /// Bit `l` set ⇔ `occupied[l] != 0`.
    levels: u64,
    /// Per level, bit `d` set ⇔ bucket `(l, d)` is non-empty.
    occupied: [u64; LEVELS],
    /// Bucket `(l, d)` at `l * FANOUT + d`.
    buckets: Box<[Vec<(u64, T)>]>,
    /// Holds a bucket's buffer while it is redistributed (empty otherwise).
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
            now: Vec::new(),
            head: 0,
            levels: 0,
            occupied: [0; LEVELS],
            buckets: (0..LEVELS * FANOUT).map(|_| Vec::new()).collect(),
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

    /// The bucket of `key` relative to `last` (which it must differ from): (level, digit).
    #[inline(always)]
    fn bucket_of(key: u64, last: u64) -> (usize, usize) {
        let diff = key ^ last;
        let (level, shift) = LEVEL_OF_BIT[(63 - diff.leading_zeros()) as usize];
        (level as usize, ((key >> shift) as usize) & (FANOUT - 1))
    }

    /// Adds an element.
    #[inline(always)]
    pub fn push(&mut self, key: u64, value: T) {
        debug_assert!(key >= self.last, "radix heap: key {key} is before the clock {}", self.last);
        let key = key.max(self.last);
        self.len += 1;
        if key == self.last {
            self.now.push((key, value));
        } else {
            let (level, digit) = Self::bucket_of(key, self.last);
            self.buckets[level * FANOUT + digit].push((key, value));
            self.occupied[level] |= 1 << digit;
            self.levels |= 1 << level;
        }
    }

    /// The lowest non-empty bucket, as (level, digit). Some bucket must be occupied.
    #[inline(always)]
    fn lowest(&self) -> (usize, usize) {
        let level = self.levels.trailing_zeros() as usize;
        (level, self.occupied[level].trailing_zeros() as usize)
    }

    /// Marks bucket `(level, digit)` empty.
    #[inline(always)]
    fn vacate(&mut self, level: usize, digit: usize) {
        self.occupied[level] &= !(1 << digit);
        if self.occupied[level] == 0 {
            self.levels &= !(1 << level);
        }
    }

    /// The smallest key pending, without removing it.
    pub fn peek_key(&self) -> Option<u64> {
        self.next_within(usize::MAX).map(|e| e.0)
    }

    /// The value the next [`pop`](Self::pop) would return, if finding it is cheap: the head of
    /// the now bucket, or the first of the smallest keys of the lowest bucket if that holds at
    /// most [`PEEK_SCAN`] elements (else `None`). The heap is left exactly as it is: the clock
    /// must not move (an element may still be pushed before the one seen here), so this never
    /// refills.
    #[inline(always)]
    pub fn peek_near(&self) -> Option<&T> {
        self.next_within(PEEK_SCAN).map(|e| &e.1)
    }

    /// The entry the next pop would return, looking through at most `scan` elements of the lowest
    /// bucket (`None` if it holds more, or if nothing is pending).
    #[inline(always)]
    fn next_within(&self, scan: usize) -> Option<&(u64, T)> {
        if let Some(entry) = self.now.get(self.head) {
            return Some(entry);
        }
        if self.levels == 0 {
            return None;
        }
        let (level, digit) = self.lowest();
        let bucket = &self.buckets[level * FANOUT + digit];
        if bucket.len() == 1 || level == 0 {
            // A single key (see `pop_at_most`): the first inserted comes first.
            return bucket.first();
        }
        if bucket.len() > scan {
            return None;
        }
        // The first of the smallest keys (ties keep insertion order).
        bucket.iter().reduce(|min, e| if e.0 < min.0 { e } else { min })
    }

    /// Removes and returns the element with the smallest key (the earliest inserted among equals).
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(u64, T)> {
        self.pop_at_most(u64::MAX)
    }

    /// Like [`pop`](Self::pop), but only if the smallest key is at most `limit`; otherwise the heap
    /// is left exactly as it was (its clock does not move past `limit`).
    #[inline(always)]
    pub fn pop_at_most(&mut self, limit: u64) -> Option<(u64, T)> {
        if self.head < self.now.len() {
            let entry = self.now[self.head];
            if entry.0 > limit {
                return None;
            }
            self.head += 1;
            self.len -= 1;
            return Some(entry);
        }
        if self.levels == 0 {
            return None;
        }
        let (level, digit) = self.lowest();
        let i = level * FANOUT + digit;
        let bucket_len = self.buckets[i].len();
        if bucket_len == 1 || level == 0 {
            // One key in the bucket: a single element, or a level-0 bucket (its keys agree with
            // `last` on every digit above 0 and on digit 0 itself, so they are all equal).
            let first = self.buckets[i][0];
            if first.0 > limit {
                return None;
            }
            self.last = first.0;
            self.len -= 1;
            self.vacate(level, digit);
            if bucket_len > 1 {
                // Ties: the rest go to the (exhausted) now bucket. Copied, not swapped, so each
                // buffer stays where it grew and a steady state allocates nothing.
                self.now.clear();
                self.now.extend_from_slice(&self.buckets[i]);
                self.head = 1;
            }
            self.buckets[i].clear();
            if bucket_len > RETAIN {
                self.buckets[i].shrink_to(RETAIN);
            }
            return Some(first);
        }
        let min = self.buckets[i].iter().fold(u64::MAX, |m, e| m.min(e.0));
        if min > limit {
            return None;
        }
        self.refill(level, digit, min);
        let entry = self.now[0];
        self.head = 1;
        self.len -= 1;
        Some(entry)
    }

    /// Empties bucket `(level, digit)`, whose smallest key is `min`, around `min`: keys equal to it
    /// into the (exhausted) now bucket, the others into lower levels, which are all empty.
    #[inline]
    fn refill(&mut self, level: usize, digit: usize, min: u64) {
        self.vacate(level, digit);
        self.last = min;
        self.now.clear();
        // The bucket's buffer is lent to `scratch` and given back (an exchange, so nothing is
        // allocated), so each buffer stays where it grew and a steady state allocates nothing.
        // Redistribution goes only to lower levels, never to this bucket.
        let i = level * FANOUT + digit;
        std::mem::swap(&mut self.scratch, &mut self.buckets[i]);
        // The level mask is kept in a local: a field would be loaded and stored around every
        // push (which may call the allocator).
        let mut levels = self.levels;
        for &(key, value) in &self.scratch {
            if key == min {
                self.now.push((key, value));
            } else {
                let (l, d) = Self::bucket_of(key, min);
                self.buckets[l * FANOUT + d].push((key, value));
                self.occupied[l] |= 1 << d;
                levels |= 1 << l;
            }
        }
        self.levels = levels;
        self.scratch.clear();
        if self.scratch.capacity() > RETAIN {
            // A large bucket gives back what it held beyond `RETAIN` (one reallocation, against
            // the thousands of moves that emptied it), so the buckets' spare room stays bounded.
            self.scratch.shrink_to(RETAIN);
        }
        std::mem::swap(&mut self.scratch, &mut self.buckets[i]);
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

    #[test]
    fn a_level_zero_bucket_of_ties_and_a_lone_element_pop_in_order() {
        let mut h = RadixHeap::new();
        // Keys 5 differ from the clock (0) in digit 0 only: one level-0 bucket, all equal.
        for i in 0..4u32 {
            h.push(5, i);
        }
        h.push(1 << 30, 9); // alone in its bucket
        h.push(5, 4);
        assert_eq!(h.peek_key(), Some(5));
        let order: Vec<(u64, u32)> = std::iter::from_fn(|| h.pop()).collect();
        assert_eq!(order, vec![(5, 0), (5, 1), (5, 2), (5, 3), (5, 4), (1 << 30, 9)]);
        assert_eq!(h.last_key(), 1 << 30);
        assert!(h.is_empty() && h.pop().is_none() && h.peek_key().is_none());
    }

    #[test]
    fn pop_at_most_leaves_the_clock_where_it_was() {
        let mut h = RadixHeap::new();
        h.push(100, 'a');
        h.push(200, 'b');
        h.push(200, 'c');
        assert_eq!(h.pop_at_most(99), None);
        assert_eq!(h.last_key(), 0);
        h.push(50, 'd'); // still allowed: the clock did not move
        assert_eq!(h.pop_at_most(150), Some((50, 'd')));
        assert_eq!(h.pop_at_most(150), Some((100, 'a')));
        assert_eq!(h.pop_at_most(150), None);
        assert_eq!(h.last_key(), 100);
        assert_eq!(h.pop(), Some((200, 'b')));
        assert_eq!(h.pop(), Some((200, 'c')));
    }

    proptest! {
        /// Against a reference ordered by (key, insertion sequence), under any interleaving of
        /// pushes (never before the clock) and pops.
        #[test]
        fn matches_a_binary_heap_with_sequence_numbers(
            ops in proptest::collection::vec((any::<bool>(), 0u64..40, 0u8..4), 1..400)
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
                    // Small deltas make many ties; large ones exercise high levels, up to the
                    // top one (and keys saturating at u64::MAX, all equal).
                    let key = clock.saturating_add(delta * [1, 1_000, 1 << 40, 1 << 57][scale as usize]);
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
                // A peek that finds the next element finds the right one.
                if let Some(&next) = radix.peek_near() {
                    prop_assert_eq!(Some(next), reference.peek().map(|Reverse((_, s))| *s));
                }
            }
        }
    }
}
