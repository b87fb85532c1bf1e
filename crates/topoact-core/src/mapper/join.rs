//! The fixed-epsilon fast path: one symmetric self-join serves both the epsilon search and
//! every interval's DBSCAN.
//!
//! 1. **Pilot**: exact k-th-NN distances of n/16 evenly spaced rows (256 to 2048) give a radius `hi`
//!    above the wanted quantile with high probability (sample quantile at
//!    `q + 3.5 sigma + 2/s`, plus 0.5 %); when it is not, step 3 notices and falls back.
//! 2. **Join**: every pair of rows whose fast f32 squared distance is <= `S = band.hi(hi^2)`
//!    is stored once (row_a, row_b, fast); this holds every pair with exact distance <= hi.
//! 3. **Epsilon**: a row whose `k` nearest all lie within `hi` has its k-th distance known
//!    within the rounding band of its k-th fast value (the `k` smallest fast values of every
//!    row come from one pass over the pairs); the others are only known to lie above a
//!    bound `L`. Only the rows whose band could hold the quantile's order statistics get
//!    their exact k-th distance (float64 re-measure of every candidate in the band). If the
//!    quantile's order statistics are all resolved and <= `L`, they are exactly the global
//!    ones; otherwise the caller falls back to the full k-NN search. Same definition and
//!    value as the full search.
//! 4. **DBSCAN**: eps <= hi, so the stored pairs contain every eps-neighbour pair; each pair
//!    is decided once in float64 terms for both of scikit-learn's rules, bucketed into the
//!    intervals holding both rows, and each interval's DBSCAN is a union-find over its pairs.
//!
//! Cost: one pruned self-join at radius `hi` (instead of a k-NN search plus one join per
//! interval), memory 12 bytes per stored pair, kept in segments of exact length ([`Segments`]).

use std::mem::MaybeUninit;

use crate::neighbours::kdtree::{FastBand, KdTree};
use crate::neighbours::quantile::numpy_quantile_at;
use crate::neighbours::rows::{EpsTest, ExactRule, Rows};

/// A stored pair: rows `a < b`... (any order), fast f32 squared distance.
pub(crate) type FastPair = (u32, u32, f32);

/// A list kept as the segments it was made in, each of exact length: no growth by doubling
/// and no concatenation, so a list of `L` bytes costs `L` bytes (the join's pairs at 300K x
/// 1024 are ~200 MiB; a growing `Vec` held up to 3x that while it moved). The order is the
/// segments' order.
pub(crate) struct Segments<T> {
    parts: Vec<Vec<T>>,
    len: usize,
}

impl<T> Segments<T> {
    pub fn new() -> Self {
        Segments {
            parts: Vec::new(),
            len: 0,
        }
    }

    /// Appends `part` (its spare capacity released).
    pub fn push(&mut self, mut part: Vec<T>) {
        if part.is_empty() {
            return;
        }
        part.shrink_to_fit();
        self.len += part.len();
        self.parts.push(part);
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.parts.iter().flatten()
    }

    pub fn parts(&self) -> &[Vec<T>] {
        &self.parts
    }

    pub fn into_parts(self) -> Vec<Vec<T>> {
        self.parts
    }
}

impl<T> Default for Segments<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> From<Vec<T>> for Segments<T> {
    fn from(list: Vec<T>) -> Self {
        let mut segments = Segments::new();
        segments.push(list);
        segments
    }
}

/// Pilot radius for the join (see the module doc). `None` when it cannot be chosen.
pub(crate) fn pilot_radius(
    tree: &KdTree,
    rows: &Rows,
    band: FastBand,
    k: usize,
    quantile: f64,
) -> Option<f64> {
    let n = tree.len();
    let pilot = pilot_rows(n);
    let s = pilot.len();
    if s == 0 || n <= k {
        return None;
    }
    let mut pos_of_row = vec![0u32; rows.n_rows];
    for (pos, &row) in tree.row_at.iter().enumerate() {
        pos_of_row[row as usize] = pos as u32;
    }
    let kth_of = |d: &mut Vec<f64>, i: usize| {
        tree.knn_distances(rows, band, pos_of_row[pilot[i]] as usize, k, d);
        d[k - 1]
    };
    #[cfg(feature = "parallel")]
    let kth: Vec<f64> = {
        use rayon::prelude::*;
        (0..s)
            .into_par_iter()
            .map_init(|| vec![0f64; k], kth_of)
            .collect()
    };
    #[cfg(not(feature = "parallel"))]
    let kth: Vec<f64> = {
        let mut d = vec![0f64; k];
        (0..s).map(|i| kth_of(&mut d, i)).collect()
    };
    radius_from_pilot(kth, quantile)
}

/// The pilot's rows among `n`: `n / 16` evenly spaced rows (256 to 2048, all when fewer).
pub(crate) fn pilot_rows(n: usize) -> Vec<usize> {
    let s = (n / 16).clamp(n.min(256), 2048);
    (0..s).map(|i| i * n / s).collect()
}

/// The join radius from the pilot rows' exact k-th-NN distances (any order): their sample
/// quantile at `q + 3.5 sigma + 2/s`, plus 0.5 %. `None` when it is not a finite radius > 0.
pub(crate) fn radius_from_pilot(mut kth: Vec<f64>, quantile: f64) -> Option<f64> {
    let s = kth.len();
    if s == 0 {
        return None;
    }
    kth.sort_by(|a, b| a.total_cmp(b));
    let q_up = (quantile + 3.5 * (quantile * (1.0 - quantile) / s as f64).sqrt() + 2.0 / s as f64)
        .min(1.0);
    let idx = ((q_up * (s - 1) as f64).ceil() as usize).min(s - 1);
    let hi = kth[idx] * 1.005;
    (hi.is_finite() && hi > 0.0).then_some(hi)
}

/// The order statistics (positions among `n` sorted values) that numpy's quantile `q`
/// reads, as a range `first..=last` that covers them (see
/// [`crate::neighbours::quantile::numpy_quantile_at`]).
pub(crate) fn needed_order_stats(n: usize, quantile: f64) -> (usize, usize) {
    let pos = quantile * (n - 1) as f64;
    let first = (pos.floor() as usize).min(n - 1);
    (first, (first + 1).min(n - 1))
}

/// The fast-value storage limit for radius `hi`.
pub(crate) fn storage_limit(band: FastBand, hi: f64) -> f32 {
    (band.hi(hi * hi) * (1.0 + 1e-6)) as f32
}

/// What the stored pairs say about one row's k-th-NN distance (squared).
#[derive(Clone, Copy, Debug)]
enum KthBound {
    /// It is known only to be at least this.
    Above(f64),
    /// It lies in `[lo, hi]` (the band around the k-th fast value); its exact value costs
    /// k float64 distances or a few more ([`exact_kth`]).
    Within { lo: f64, hi: f64 },
}

/// The exact k-th-NN distance of `row` from its stored neighbours (`list`: fast value and
/// row), given `kth_hi`, an upper bound of it: every candidate whose fast value could hide
/// an exact value up to `kth_hi` is re-measured in float64 by differences.
fn exact_kth(
    rows: &Rows,
    band: FastBand,
    row: usize,
    list: &[(f32, u32)],
    k: usize,
    kth_hi: f64,
) -> f64 {
    let keep = band.hi(kth_hi);
    let mut exact: Vec<f64> = list
        .iter()
        .filter(|c| (c.0 as f64) <= keep)
        .map(|c| rows.sq_dist_exact_diff(row, c.1 as usize))
        .collect();
    exact.sort_by(|a, b| a.total_cmp(b));
    exact[k - 1].sqrt()
}

/// The `k` smallest fast values among every row's stored pairs, ascending (`n x k`; +inf
/// where a row has fewer than `k` pairs). The same multiset whatever the split of the
/// pairs, so the parallel form (one table per thread, merged) gives the same table.
fn k_smallest_fast(n: usize, k: usize, pairs: &Segments<FastPair>) -> Vec<f32> {
    let insert = |table: &mut [f32], row: usize, fast: f32| {
        let smallest = &mut table[row * k..(row + 1) * k];
        if fast < smallest[k - 1] {
            let mut i = k - 1;
            while i > 0 && smallest[i - 1] > fast {
                smallest[i] = smallest[i - 1];
                i -= 1;
            }
            smallest[i] = fast;
        }
    };
    let add = |mut table: Vec<f32>, chunk: &Vec<FastPair>| {
        for &(a, b, fast) in chunk {
            insert(&mut table, a as usize, fast);
            insert(&mut table, b as usize, fast);
        }
        table
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        // One table per thread (a table per rayon split would hold many n x k tables).
        let threads = rayon::current_num_threads().max(1);
        let group = pairs.parts().len().div_ceil(threads).max(1);
        pairs
            .parts()
            .par_chunks(group)
            .map(|parts| parts.iter().fold(vec![f32::INFINITY; n * k], add))
            .reduce_with(|mut merged, other| {
                for (row, other_smallest) in other.chunks_exact(k).enumerate() {
                    for &fast in other_smallest.iter().take_while(|f| f.is_finite()) {
                        insert(&mut merged, row, fast);
                    }
                }
                merged
            })
            .unwrap_or_else(|| vec![f32::INFINITY; n * k])
    }
    #[cfg(not(feature = "parallel"))]
    pairs.parts().iter().fold(vec![f32::INFINITY; n * k], add)
}

/// The `k` smallest exact distances (float64 by differences, as [`KdTree::knn_distances`])
/// from every row to the rows it is paired with in `pairs`, ascending (`n x k`; +inf where a
/// row has fewer than `k` pairs): of each row's candidates only those whose fast value could
/// hide one of the `k` smallest exact values are re-measured. In parallel over rows with the
/// `parallel` feature (the same values on any number of threads).
pub(crate) fn k_smallest_exact(
    rows: &Rows,
    band: FastBand,
    k: usize,
    pairs: &Segments<FastPair>,
) -> Vec<f64> {
    let n = rows.n_rows;
    // Each row's candidates, (fast value, other row), grouped by row.
    let mut start = vec![0usize; n + 1];
    for &(a, b, _) in pairs.iter() {
        start[a as usize + 1] += 1;
        start[b as usize + 1] += 1;
    }
    for row in 0..n {
        start[row + 1] += start[row];
    }
    let mut next = start.clone();
    let mut candidates = vec![(0f32, 0u32); start[n]];
    for &(a, b, fast) in pairs.iter() {
        candidates[next[a as usize]] = (fast, b);
        next[a as usize] += 1;
        candidates[next[b as usize]] = (fast, a);
        next[b as usize] += 1;
    }
    drop(next);
    let mut out = vec![f64::INFINITY; n * k];
    let fill = |row: usize, smallest: &mut [f64]| {
        let mut list: Vec<(f32, u32)> = candidates[start[row]..start[row + 1]].to_vec();
        if list.is_empty() {
            return;
        }
        // Every one of the k smallest exact values has a fast value <= keep.
        let keep = if list.len() > k {
            let kth_fast = *list
                .select_nth_unstable_by(k - 1, |x, y| x.0.total_cmp(&y.0))
                .1;
            band.hi(band.hi(kth_fast.0 as f64))
        } else {
            f64::INFINITY
        };
        let mut exact: Vec<f64> = list
            .iter()
            .filter(|c| (c.0 as f64) <= keep)
            .map(|c| rows.sq_dist_exact_diff(row, c.1 as usize))
            .collect();
        exact.sort_by(|a, b| a.total_cmp(b));
        for (o, d2) in smallest.iter_mut().zip(&exact) {
            *o = d2.sqrt();
        }
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(k)
            .enumerate()
            .for_each(|(row, smallest)| fill(row, smallest));
    }
    #[cfg(not(feature = "parallel"))]
    out.chunks_mut(k)
        .enumerate()
        .for_each(|(row, smallest)| fill(row, smallest));
    out
}

/// The exact quantile of the k-th-NN distance from the stored pairs, or `None` when the
/// pairs do not determine it (see the module doc).
///
/// Only the rows whose band could hold one of the quantile's order statistics are
/// re-measured in float64: with `L` the smallest and `U` the largest of the needed
/// order statistics of the bands' low and high ends, a needed order statistic lies in
/// `[L, U]`; the rows whose bands end below `L` only count, the rows whose bands start
/// above `U` do not matter, and the needed value is found among the exact values of the
/// rest (typically a few dozen rows instead of all).
pub(crate) fn eps_from_pairs(
    rows: &Rows,
    band: FastBand,
    pairs: &Segments<FastPair>,
    hi: f64,
    k: usize,
    quantile: f64,
) -> Option<f64> {
    let n = rows.n_rows;
    let hi2 = hi * hi;
    let smallest = k_smallest_fast(n, k, pairs);
    let bounds: Vec<KthBound> = smallest
        .chunks_exact(k)
        .map(|row_smallest| {
            let fk = row_smallest[k - 1] as f64;
            if fk.is_infinite() {
                return KthBound::Above(hi2);
            }
            let kth_hi = band.hi(fk);
            if kth_hi > hi2 {
                KthBound::Above(hi2.min(band.lo(fk)))
            } else {
                KthBound::Within {
                    lo: band.lo(fk),
                    hi: kth_hi,
                }
            }
        })
        .collect();
    drop(smallest);
    let unresolved_lb2 = bounds
        .iter()
        .filter_map(|b| match b {
            KthBound::Above(lb2) => Some(*lb2),
            KthBound::Within { .. } => None,
        })
        .fold(f64::INFINITY, f64::min);
    let mut lows: Vec<f64> = Vec::new();
    let mut highs: Vec<f64> = Vec::new();
    for b in &bounds {
        if let KthBound::Within { lo, hi } = *b {
            lows.push(lo);
            highs.push(hi);
        }
    }
    let n_resolved = lows.len();
    // The order statistics numpy's quantile reads (as positions among all n rows).
    let (first_needed, needed_max) = needed_order_stats(n, quantile);
    if n_resolved <= needed_max {
        return None;
    }
    let order_stat = |values: &mut Vec<f64>, p: usize| {
        *values.select_nth_unstable_by(p, |a, b| a.total_cmp(b)).1
    };
    let low_end = order_stat(&mut lows, first_needed);
    let high_end = order_stat(&mut highs, needed_max);
    // Rows whose band ends below `low_end` come before every needed order statistic.
    let mut n_below = 0usize;
    // (row, upper end of its band) of the rows that could hold a needed order statistic.
    let mut ambiguous: Vec<(usize, f64)> = Vec::new();
    for (row, b) in bounds.iter().enumerate() {
        if let KthBound::Within { lo, hi } = *b {
            if hi < low_end {
                n_below += 1;
            } else if lo <= high_end {
                ambiguous.push((row, hi));
            }
        }
    }
    // The stored neighbours of the ambiguous rows only.
    let mut slot_of_row = vec![u32::MAX; n];
    for (slot, &(row, _)) in ambiguous.iter().enumerate() {
        slot_of_row[row] = slot as u32;
    }
    // Each segment's hits (slot, fast value, other row), found in parallel with the
    // feature, then appended in the pairs' order.
    let hits_of = |part: &Vec<FastPair>| {
        let mut hits: Vec<(u32, f32, u32)> = Vec::new();
        for &(a, b, fast) in part {
            let (slot_a, slot_b) = (slot_of_row[a as usize], slot_of_row[b as usize]);
            if slot_a != u32::MAX {
                hits.push((slot_a, fast, b));
            }
            if slot_b != u32::MAX {
                hits.push((slot_b, fast, a));
            }
        }
        hits
    };
    #[cfg(feature = "parallel")]
    let part_hits: Vec<Vec<(u32, f32, u32)>> = {
        use rayon::prelude::*;
        pairs.parts().par_iter().map(hits_of).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let part_hits: Vec<Vec<(u32, f32, u32)>> = pairs.parts().iter().map(hits_of).collect();
    let mut lists: Vec<Vec<(f32, u32)>> = vec![Vec::new(); ambiguous.len()];
    for &(slot, fast, other) in part_hits.iter().flatten() {
        lists[slot as usize].push((fast, other));
    }
    drop(part_hits);
    let exact_of = |(&(row, kth_hi), list): (&(usize, f64), &Vec<(f32, u32)>)| {
        exact_kth(rows, band, row, list, k, kth_hi)
    };
    #[cfg(feature = "parallel")]
    let mut exact: Vec<f64> = {
        use rayon::prelude::*;
        ambiguous.par_iter().zip(&lists).map(exact_of).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let mut exact: Vec<f64> = ambiguous.iter().zip(&lists).map(exact_of).collect();
    exact.sort_by(|a, b| a.total_cmp(b));
    // Position p among all resolved rows is position p - n_below among the ambiguous ones.
    let value_at = |p: usize| exact[p - n_below];
    if needed_max < n_below || needed_max - n_below >= exact.len() || first_needed < n_below {
        debug_assert!(
            false,
            "the needed order statistics lie among the ambiguous rows"
        );
        return None;
    }
    let top = value_at(needed_max);
    if unresolved_lb2.is_finite() && top * top > unresolved_lb2 {
        return None;
    }
    Some(numpy_quantile_at(n, quantile, value_at))
}

/// A pair decided at eps: rows and flags. Bits 0/1: `a -> b` / `b -> a` by differences
/// (scikit-learn's KD-tree); bits 2/3: the same by the expansion (its brute force).
pub(crate) type DecidedPair = (u32, u32, u8);

/// Decides every stored pair at `eps` under both of scikit-learn's float64 rules; keeps the
/// pairs that are neighbours in some direction under some rule, segment by segment (in
/// parallel with the feature; the same list on any number of threads). Each segment of
/// `pairs` is freed once decided.
pub(crate) fn decide_pairs(
    rows: &Rows,
    pairs: Segments<FastPair>,
    eps: f64,
) -> Segments<DecidedPair> {
    let by_diff = EpsTest::new(rows, eps, ExactRule::Differences);
    let by_expansion = EpsTest::new(rows, eps, ExactRule::Expansion);
    let reject = by_diff
        .reject_above_f32()
        .max(by_expansion.reject_above_f32());
    let decide = |chunk: Vec<FastPair>| -> Vec<DecidedPair> {
        chunk
            .iter()
            .filter(|p| p.2 <= reject)
            .filter_map(|&(a, b, fast)| {
                let (d_ab, d_ba) = by_diff.decide_both(rows, a as usize, b as usize, fast);
                let (e_ab, e_ba) = by_expansion.decide_both(rows, a as usize, b as usize, fast);
                let flags = d_ab as u8 | (d_ba as u8) << 1 | (e_ab as u8) << 2 | (e_ba as u8) << 3;
                (flags != 0).then_some((a, b, flags))
            })
            .collect()
    };
    #[cfg(feature = "parallel")]
    let parts: Vec<Vec<DecidedPair>> = {
        use rayon::prelude::*;
        pairs.into_parts().into_par_iter().map(decide).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let parts: Vec<Vec<DecidedPair>> = pairs.into_parts().into_iter().map(decide).collect();
    let mut decided = Segments::new();
    for part in parts {
        decided.push(part);
    }
    decided
}

/// Buckets decided pairs into the intervals containing both rows. `interval_members[i]`
/// lists interval i's rows; every row's intervals must be consecutive (true for a 1-D
/// cover with increasing centres and one radius). Returns per interval its pairs as
/// (local index a, local index b, flags) with local = position in the interval's list, in
/// the order of `pairs`. Each bucket is allocated once at its counted size; the segments
/// are counted, then written, in parallel with the feature (each segment into its own
/// range of every bucket, so the buckets are the same on any number of threads).
pub(crate) fn bucket_pairs(
    n_rows: usize,
    interval_members: &[Vec<u32>],
    pairs: Segments<DecidedPair>,
) -> Vec<Vec<DecidedPair>> {
    let n_intervals = interval_members.len();
    let mut first = vec![u32::MAX; n_rows];
    let mut last = vec![0u32; n_rows];
    for (interval_idx, members) in interval_members.iter().enumerate() {
        for &row in members {
            first[row as usize] = first[row as usize].min(interval_idx as u32);
            last[row as usize] = interval_idx as u32;
        }
    }
    // Each row's local index in each of its intervals: `local[base[row] + i - first[row]]`.
    let mut base = vec![0u32; n_rows + 1];
    for row in 0..n_rows {
        let held = if first[row] == u32::MAX {
            0
        } else {
            last[row] - first[row] + 1
        };
        base[row + 1] = base[row] + held;
    }
    let mut local = vec![0u32; base[n_rows] as usize];
    for (interval_idx, members) in interval_members.iter().enumerate() {
        for (local_idx, &row) in members.iter().enumerate() {
            let at = base[row as usize] + interval_idx as u32 - first[row as usize];
            local[at as usize] = local_idx as u32;
        }
    }
    // The intervals holding both rows of a pair (`lo > hi`: none).
    let span = |a: u32, b: u32| {
        let lo = first[a as usize].max(first[b as usize]);
        let hi = last[a as usize].min(last[b as usize]);
        if lo == u32::MAX {
            (1, 0)
        } else {
            (lo, hi)
        }
    };
    let local_in = |row: u32, interval_idx: u32| {
        local[(base[row as usize] + interval_idx - first[row as usize]) as usize]
    };
    let count = |part: &Vec<DecidedPair>| {
        let mut counts = vec![0usize; n_intervals];
        for &(a, b, _) in part {
            let (lo, hi) = span(a, b);
            for interval_idx in lo..=hi {
                counts[interval_idx as usize] += 1;
            }
        }
        counts
    };
    let parts = pairs.into_parts();
    #[cfg(feature = "parallel")]
    let part_counts: Vec<Vec<usize>> = {
        use rayon::prelude::*;
        parts.par_iter().map(count).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let part_counts: Vec<Vec<usize>> = parts.iter().map(count).collect();
    let totals: Vec<usize> = (0..n_intervals)
        .map(|interval_idx| part_counts.iter().map(|c| c[interval_idx]).sum())
        .collect();
    let mut buckets: Vec<Vec<DecidedPair>> = totals
        .iter()
        .map(|&total| Vec::with_capacity(total))
        .collect();
    // Every part's range of every bucket (not zero-filled first), as `outs[part][interval]`.
    let mut outs: Vec<Vec<&mut [MaybeUninit<DecidedPair>]>> = (0..parts.len())
        .map(|_| Vec::with_capacity(n_intervals))
        .collect();
    for (interval_idx, bucket) in buckets.iter_mut().enumerate() {
        let mut rest = &mut bucket.spare_capacity_mut()[..totals[interval_idx]];
        for (part_idx, counts) in part_counts.iter().enumerate() {
            let (mine, after) = rest.split_at_mut(counts[interval_idx]);
            outs[part_idx].push(mine);
            rest = after;
        }
    }
    let write = |(part, mut out): (&Vec<DecidedPair>, Vec<&mut [MaybeUninit<DecidedPair>]>)| {
        let mut next = vec![0usize; n_intervals];
        for &(a, b, flags) in part {
            let (lo, hi) = span(a, b);
            for interval_idx in lo..=hi {
                let i = interval_idx as usize;
                out[i][next[i]].write((
                    local_in(a, interval_idx),
                    local_in(b, interval_idx),
                    flags,
                ));
                next[i] += 1;
            }
        }
        // Every slot of the part's ranges was written: the ranges were cut at its counts.
        assert!(next.iter().zip(&out).all(|(&n, range)| n == range.len()));
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        parts.par_iter().zip(outs).for_each(write);
    }
    #[cfg(not(feature = "parallel"))]
    parts.iter().zip(outs).for_each(write);
    for (bucket, &total) in buckets.iter_mut().zip(&totals) {
        // SAFETY: the first `total` slots were all written: the parts' ranges tile them and
        // `write` checked that it filled each range.
        unsafe { bucket.set_len(total) };
    }
    buckets
}

/// DBSCAN of one interval from its decided pairs (local indices, ascending row order =
/// scan order): counts, core points, union-find over core-core pairs, border points to
/// the lowest label of a core point that reaches them. Returns clusters of row indices.
pub(crate) fn clusters_from_pairs(
    members: &[u32],
    pairs: &[DecidedPair],
    min_samples: usize,
    rule: ExactRule,
) -> Vec<Vec<u32>> {
    let n = members.len();
    let shift = if rule == ExactRule::Differences { 0 } else { 2 };
    let mut counts = vec![1u32; n];
    for &(a, b, flags) in pairs {
        let f = flags >> shift;
        counts[a as usize] += (f & 1) as u32;
        counts[b as usize] += ((f >> 1) & 1) as u32;
    }
    let is_core: Vec<bool> = counts.iter().map(|&c| c as usize >= min_samples).collect();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let up = parent[parent[x as usize] as usize];
            parent[x as usize] = up;
            x = up;
        }
        x
    }
    let mut border: Vec<(u32, u32)> = Vec::new();
    for &(a, b, flags) in pairs {
        let f = (flags >> shift) & 3;
        if f == 0 {
            continue;
        }
        let (a_core, b_core) = (is_core[a as usize], is_core[b as usize]);
        if a_core && b_core {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                parent[ra.max(rb) as usize] = ra.min(rb);
            }
        } else if a_core && f & 1 != 0 {
            border.push((b, a));
        } else if b_core && f & 2 != 0 {
            border.push((a, b));
        }
    }
    let mut label_of_root = vec![u32::MAX; n];
    let mut label = vec![u32::MAX; n];
    let mut n_labels = 0u32;
    for local in 0..n {
        if !is_core[local] {
            continue;
        }
        let root = find(&mut parent, local as u32) as usize;
        if label_of_root[root] == u32::MAX {
            label_of_root[root] = n_labels;
            n_labels += 1;
        }
        label[local] = label_of_root[root];
    }
    for &(b, c) in &border {
        label[b as usize] = label[b as usize].min(label[c as usize]);
    }
    let mut clusters = vec![Vec::new(); n_labels as usize];
    for local in 0..n {
        if label[local] != u32::MAX {
            clusters[label[local] as usize].push(members[local]);
        }
    }
    clusters
}
