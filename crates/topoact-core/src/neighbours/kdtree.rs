//! Exact neighbour searches: k nearest neighbours and eps-balls, in float64 decisions.
//!
//! Method: every row gets coordinates `z` in a fixed orthonormal basis of (approximate)
//! principal directions ([`super::pruning::Basis`]). Since an orthogonal projection never
//! lengthens a vector, `|z_a - z_b| <= |a - b|`: distances in `z` are exact lower bounds.
//! A KD-tree over the leading [`TREE_COORDS`] coordinates of `z` prunes whole boxes with
//! that bound (minus a slack covering every rounding of `z`), then single rows by their `z`
//! distance over all coordinates (largest directions first, early exit), and only the
//! survivors pay a full-dimension f32 distance (16 accumulators, early exit). Near the
//! decision boundary the float64 rule decides ([`super::rows::EpsTest`] for eps-balls; for k-NN every
//! candidate within a rounding band of the k-th distance is re-measured in float64).
//!
//! The tree holds no copy of the rows: it reads them through [`Rows`]. The mapper moves the
//! rows' storage into the tree order of its all-rows tree ([`Rows::store_in_order`]), so a
//! search reads neighbouring memory, unless the rows are a large float32 layer's own values,
//! read where they are ([`Rows::gather_matrix`]).
//!
//! Cost: building is O(n log n * n_coords) plus a copy of the coordinates; a query
//! visits O(log n + candidates) nodes; each candidate costs O(n_coords) and each survivor
//! O(dim). On activation-like data (a low-dimensional latent mapped up) almost every
//! candidate is pruned by the bound.

use super::rows::{EpsTest, Rows, RowsF32};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use crate::numeric::kernels::sq_distn_f32_bounded_simd128;
#[cfg(target_arch = "x86_64")]
use crate::numeric::kernels::{has_avx2_fma, hsum_avx2};
#[cfg(target_arch = "x86_64")]
use crate::numeric::kernels::{sq_dist4_f32_bounded_avx2, sq_dist_f32_bounded_avx2};
use crate::numeric::kernels::{sq_dist_f32_bounded, sq_dist_f32_lanes16};

/// Survivors per pass of the join's full-dimension distances in wasm (node, one thread, the
/// whole process at 20K x 256: 9.68G instructions with 4, 10.04G with 2; callgrind).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const N_WASM: usize = 4;

/// Coordinates used for the tree's splits and boxes (the largest principal directions);
/// the rest of a row's coordinates only tighten the per-candidate check.
pub(crate) const TREE_COORDS: usize = 24;

/// Whether the projected squared distance exceeds `limit`, looking at the largest principal
/// directions first and stopping as soon as a partial sum exceeds it (after 8 coordinates,
/// after [`TREE_COORDS`], then every 32).
#[inline(always)]
fn z_exceeds(q: &[f32], z: &[f32], limit: f32) -> bool {
    let n = q.len().min(z.len());
    let head = n.min(8);
    let mut s = 0f32;
    for c in 0..head {
        let d = q[c] - z[c];
        s += d * d;
    }
    if s > limit {
        return true;
    }
    let mut start = head;
    let mut end = n.min(TREE_COORDS);
    while start < n {
        s += sq_dist_f32_lanes16(&q[start..end], &z[start..end]);
        if s > limit {
            return true;
        }
        start = end;
        end = (end + 32).min(n);
    }
    false
}

/// The searches' fast f32 squared distance, stopping above `limit`: the explicit AVX2+FMA
/// kernel when `AVX`, else the portable one. `AVX` is true only in the searches' `*_avx2`
/// builds, which run after [`has_avx2_fma`].
#[inline(always)]
fn fast_sq_dist<const AVX: bool>(a: &[f32], b: &[f32], limit: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if AVX {
        // SAFETY: `AVX` is only set by callers that checked `has_avx2_fma`.
        return unsafe { sq_dist_f32_bounded_avx2(a, b, limit) };
    }
    sq_dist_f32_bounded(a, b, limit)
}

/// The lanes of a tile (`q.len()` coordinates x [`TILE`] lanes, coordinate-major) among
/// `wanted_lanes` whose squared distance to `q` stays <= `zlimit`, summed a stage of
/// [`TILE_STAGE`] coordinates at a time (even and odd coordinates in two accumulators per
/// lane, compared as `even + odd`), stopping when no lane is left. Portable form.
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
#[inline(always)]
pub(crate) fn tile_survivors_portable(
    tile: &[f32],
    q: &[f32],
    wanted_lanes: u32,
    zlimit: f32,
) -> u32 {
    let m = q.len();
    let mut even = [0f32; TILE];
    let mut odd = [0f32; TILE];
    let mut alive = wanted_lanes;
    let mut start = 0;
    while start < m && alive != 0 {
        let stop = (start + TILE_STAGE).min(m);
        let columns = tile[start * TILE..stop * TILE].chunks_exact(2 * TILE);
        for (q_pair, column_pair) in q[start..stop].chunks_exact(2).zip(columns) {
            let (column_even, column_odd) = column_pair.split_at(TILE);
            for lane in 0..TILE {
                let d = q_pair[0] - column_even[lane];
                even[lane] += d * d;
                let d = q_pair[1] - column_odd[lane];
                odd[lane] += d * d;
            }
        }
        if (stop - start) % 2 == 1 {
            let column = &tile[(stop - 1) * TILE..stop * TILE];
            for lane in 0..TILE {
                let d = q[stop - 1] - column[lane];
                even[lane] += d * d;
            }
        }
        start = stop;
        let mut within = 0u32;
        for lane in 0..TILE {
            within |= ((even[lane] + odd[lane] <= zlimit) as u32) << lane;
        }
        alive = wanted_lanes & within;
    }
    alive
}

/// [`tile_survivors_portable`] in explicit AVX2+FMA: one 8-lane vector per coordinate.
/// Without `#[target_feature]` so that it can be `inline(always)`: its only callers are the
/// searches' `*_avx2` builds (AVX2+FMA enabled), where its intrinsics inline after it (a call
/// per tile cost ~35 instructions, ~3 % of the join at 20K x 256).
///
/// # Safety
/// The CPU must support AVX2 and FMA, and the caller must be compiled with them.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn tile_survivors_avx2(tile: &[f32], q: &[f32], wanted_lanes: u32, zlimit: f32) -> u32 {
    use std::arch::x86_64::*;
    const _: () = assert!(TILE == 8, "one AVX2 vector per tile coordinate");
    let m = q.len();
    let tile = &tile[..m * TILE];
    let pt = tile.as_ptr();
    let limit = _mm256_set1_ps(zlimit);
    let mut even = _mm256_setzero_ps();
    let mut odd = _mm256_setzero_ps();
    let mut alive = wanted_lanes;
    let mut start = 0;
    let pq = q.as_ptr();
    while start < m && alive != 0 {
        let stop = (start + TILE_STAGE).min(m);
        if stop - start == TILE_STAGE {
            // A whole stage, unrolled, without index checks: the loop below's operations in
            // its order (coordinates `start + 2j` to `even`, `start + 2j + 1` to `odd`).
            // The stage's first coordinate and tile column as base pointers, so each load's
            // offset is a constant (the indices cost two address instructions a coordinate).
            let (stage_q, stage_tile) = (pq.add(start), pt.add(start * TILE));
            for j in 0..TILE_STAGE / 2 {
                // SAFETY: start + 2j + 1 < stop <= m = q.len(), and
                // (start + 2j + 1) * TILE + 8 <= tile.len().
                let d0 = _mm256_sub_ps(
                    _mm256_set1_ps(*stage_q.add(2 * j)),
                    _mm256_loadu_ps(stage_tile.add(2 * j * TILE)),
                );
                let d1 = _mm256_sub_ps(
                    _mm256_set1_ps(*stage_q.add(2 * j + 1)),
                    _mm256_loadu_ps(stage_tile.add((2 * j + 1) * TILE)),
                );
                even = _mm256_fmadd_ps(d0, d0, even);
                odd = _mm256_fmadd_ps(d1, d1, odd);
            }
        } else {
            // A last, partial stage (a whole one skips these loops' checks).
            let mut c = start;
            // SAFETY (all loads): c < stop <= m, so c * TILE + 8 <= tile.len().
            while c + 2 <= stop {
                let d0 = _mm256_sub_ps(_mm256_set1_ps(q[c]), _mm256_loadu_ps(pt.add(c * TILE)));
                let d1 = _mm256_sub_ps(
                    _mm256_set1_ps(q[c + 1]),
                    _mm256_loadu_ps(pt.add((c + 1) * TILE)),
                );
                even = _mm256_fmadd_ps(d0, d0, even);
                odd = _mm256_fmadd_ps(d1, d1, odd);
                c += 2;
            }
            if c < stop {
                let d0 = _mm256_sub_ps(_mm256_set1_ps(q[c]), _mm256_loadu_ps(pt.add(c * TILE)));
                even = _mm256_fmadd_ps(d0, d0, even);
            }
        }
        start = stop;
        let within = _mm256_cmp_ps::<_CMP_LE_OQ>(_mm256_add_ps(even, odd), limit);
        alive = wanted_lanes & _mm256_movemask_ps(within) as u32;
    }
    alive
}

/// [`tile_survivors_portable`] in explicit simd128: two 4-lane vectors per coordinate.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
#[allow(clippy::needless_range_loop)] // `half` names the vector of lanes
pub(crate) fn tile_survivors_simd128(
    tile: &[f32],
    q: &[f32],
    wanted_lanes: u32,
    zlimit: f32,
) -> u32 {
    use std::arch::wasm32::*;
    const _: () = assert!(TILE == 8, "two simd128 vectors per tile coordinate");
    let m = q.len();
    let tile = &tile[..m * TILE];
    let (pt, pq) = (tile.as_ptr(), q.as_ptr());
    // SAFETY: callers pass `c < m`, so `c * TILE + 8 <= tile.len()`; wasm loads may be
    // unaligned.
    let load =
        |c: usize, half: usize| unsafe { v128_load(pt.add(c * TILE + 4 * half) as *const v128) };
    // SAFETY: callers pass `c < m = q.len()`.
    let splat = |c: usize| f32x4_splat(unsafe { *pq.add(c) });
    let limit = f32x4_splat(zlimit);
    let mut even = [f32x4_splat(0.0); 2];
    let mut odd = [f32x4_splat(0.0); 2];
    let mut alive = wanted_lanes;
    let mut start = 0;
    while start < m && alive != 0 {
        let stop = (start + TILE_STAGE).min(m);
        if stop - start == TILE_STAGE {
            // A whole stage, unrolled: the loop below's operations in its order
            // (coordinates `start + 2j` to `even`, `start + 2j + 1` to `odd`).
            // The stage's first coordinate and tile column as base pointers, so each load's
            // offset is a constant (wasm loads carry it; indices cost instructions).
            // SAFETY: start < stop <= m, within `q` and `tile`.
            let (stage_q, stage_tile) = unsafe { (pq.add(start), pt.add(start * TILE)) };
            // SAFETY: callers pass `j < TILE_STAGE` with `start + j < stop <= m`.
            let stage_load = |j: usize, half: usize| unsafe {
                v128_load(stage_tile.add(j * TILE + 4 * half) as *const v128)
            };
            // SAFETY: as `stage_load`.
            let stage_splat = |j: usize| f32x4_splat(unsafe { *stage_q.add(j) });
            for j in 0..TILE_STAGE / 2 {
                let (q0, q1) = (stage_splat(2 * j), stage_splat(2 * j + 1));
                for half in 0..2 {
                    let d0 = f32x4_sub(q0, stage_load(2 * j, half));
                    let d1 = f32x4_sub(q1, stage_load(2 * j + 1, half));
                    even[half] = f32x4_add(even[half], f32x4_mul(d0, d0));
                    odd[half] = f32x4_add(odd[half], f32x4_mul(d1, d1));
                }
            }
        } else {
            // A last, partial stage (a whole one skips these loops' checks).
            let mut c = start;
            while c + 2 <= stop {
                let (q0, q1) = (splat(c), splat(c + 1));
                for half in 0..2 {
                    let d0 = f32x4_sub(q0, load(c, half));
                    let d1 = f32x4_sub(q1, load(c + 1, half));
                    even[half] = f32x4_add(even[half], f32x4_mul(d0, d0));
                    odd[half] = f32x4_add(odd[half], f32x4_mul(d1, d1));
                }
                c += 2;
            }
            if c < stop {
                let q0 = splat(c);
                for half in 0..2 {
                    let d0 = f32x4_sub(q0, load(c, half));
                    even[half] = f32x4_add(even[half], f32x4_mul(d0, d0));
                }
            }
        }
        start = stop;
        let low = i32x4_bitmask(f32x4_le(f32x4_add(even[0], odd[0]), limit)) as u32;
        let high = i32x4_bitmask(f32x4_le(f32x4_add(even[1], odd[1]), limit)) as u32;
        alive = wanted_lanes & (low | high << 4);
    }
    alive
}

/// How far `v` lies outside `[lo, hi]` (0 inside; NaN counts as inside, as `f32::max` would
/// give). Written with comparisons, not `f32::max`: in wasm `f32::max` is a call to `fmaxf`
/// (its NaN rule is not the instruction's), and the box bounds take two per coordinate.
#[inline(always)]
fn outside(v: f32, lo: f32, hi: f32) -> f32 {
    let below = lo - v;
    let above = v - hi;
    let d = if below > above { below } else { above };
    if d > 0.0 {
        d
    } else {
        0.0
    }
}

/// The squared distance from `q` to the box `[lo, hi]` ([`outside`] per coordinate), eight
/// coordinates per vector operation, the lanes' sums added pairwise, then the scalar tail.
/// `max(below, above)` then `max(d, 0)` are `outside`'s selections (`maxps` returns its
/// second operand unless the first is greater).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn box_lb2_avx2(q: &[f32], lo: &[f32], hi: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let m = q.len().min(lo.len()).min(hi.len());
    let zero = _mm256_setzero_ps();
    let mut acc = zero;
    let mut c = 0;
    // SAFETY (all loads): c + 8 <= m, within the three slices.
    while c + 8 <= m {
        let v = _mm256_loadu_ps(q.as_ptr().add(c));
        let below = _mm256_sub_ps(_mm256_loadu_ps(lo.as_ptr().add(c)), v);
        let above = _mm256_sub_ps(v, _mm256_loadu_ps(hi.as_ptr().add(c)));
        let d = _mm256_max_ps(_mm256_max_ps(below, above), zero);
        acc = _mm256_fmadd_ps(d, d, acc);
        c += 8;
    }
    let mut s = hsum_avx2(acc);
    while c < m {
        let d = outside(q[c], lo[c], hi[c]);
        s += d * d;
        c += 1;
    }
    s
}

/// The squared distance from `q` to the box `[lo, hi]` ([`outside`] per coordinate), four
/// coordinates per vector operation, the lanes' sums added pairwise, then the scalar tail
/// (as [`box_lb2_avx2`], with 4 lanes). `f32x4_pmax(x, y)` is `if x < y { y } else { x }`,
/// so `pmax(above, below)` then `pmax(0, d)` are `outside`'s selections, NaN included.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub(crate) fn box_lb2_simd128(q: &[f32], lo: &[f32], hi: &[f32]) -> f32 {
    use std::arch::wasm32::*;
    let m = q.len().min(lo.len()).min(hi.len());
    // SAFETY: callers pass `c + 4 <= m`, within the three slices; wasm loads may be
    // unaligned.
    let load = |s: &[f32], c: usize| unsafe { v128_load(s.as_ptr().add(c) as *const v128) };
    let zero = f32x4_splat(0.0);
    let mut acc = zero;
    let mut c = 0;
    while c + 4 <= m {
        let v = load(q, c);
        let below = f32x4_sub(load(lo, c), v);
        let above = f32x4_sub(v, load(hi, c));
        let d = f32x4_pmax(zero, f32x4_pmax(above, below));
        acc = f32x4_add(acc, f32x4_mul(d, d));
        c += 4;
    }
    let mut s = (f32x4_extract_lane::<0>(acc) + f32x4_extract_lane::<2>(acc))
        + (f32x4_extract_lane::<1>(acc) + f32x4_extract_lane::<3>(acc));
    while c < m {
        let d = outside(q[c], lo[c], hi[c]);
        s += d * d;
        c += 1;
    }
    s
}

/// Per-row coordinates in the pruning basis.
pub(crate) struct Projected {
    pub n_coords: usize,
    /// `n_rows x n_coords`, row-major.
    pub coords: Vec<f32>,
    /// Absolute slack (distance units) covering the rounding of the coordinates.
    pub slack: f64,
}

/// Rows per KD-tree leaf. Measured natively (2 threads) on activation-like 300K x 1024,
/// the leaf-by-leaf join took 45.5 s at 16, 36.0 s at 32, 31.4 s at 64, 32.1 s at 128 and
/// 34.5 s at 256; at 50K x 64, 50K x 256 and 20K x 1024 (join and per-interval DBSCAN) 32
/// and 64 are within noise of each other.
const LEAF_SIZE: usize = 64;
const NO_CHILD: u32 = u32::MAX;
/// Positions per tile of [`KdTree::tiles`] (two SIMD128 vectors).
const TILE: usize = 8;
/// Every lane of a tile.
const ALL_LANES: u32 = (1 << TILE) - 1;
/// Coordinates added between two checks of a tile's bound (its early exit).
const TILE_STAGE: usize = 8;

#[derive(Clone, Copy, Debug)]
struct Node {
    start: u32,
    end: u32,
    left: u32,
    right: u32,
}

/// KD-tree over a set of rows (given by row index), keyed by their projected coordinates.
pub(crate) struct KdTree {
    /// Coordinates per row (all of the pruning basis).
    n_coords: usize,
    /// Leading coordinates the splits and boxes use.
    box_coords: usize,
    /// Row index (into [`Rows`]) at each tree position.
    pub row_at: Vec<u32>,
    coords: Vec<f32>,
    nodes: Vec<Node>,
    boxes: Vec<f32>,
    /// Leaf node indices in position order (their ranges tile `0..len()`).
    leaves: Vec<u32>,
    /// The coordinates again, in tiles of [`TILE`] positions, coordinate-major inside a
    /// tile: `(pos, c)` at `(pos / TILE) * n_coords * TILE + c * TILE + pos % TILE`, so one
    /// query is compared with [`TILE`] candidates per vector operation (the join's scan).
    tiles: Vec<f32>,
    slack: f64,
}

/// Relative + absolute error band of a fast f32 squared distance vs the float64 one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FastBand {
    rel: f64,
    abs: f64,
}

impl FastBand {
    pub fn new(rows: &Rows) -> FastBand {
        let u = f32::EPSILON as f64 / 2.0;
        let rel = 2.0 * (rows.dim as f64 / 16.0 + 20.0) * u;
        let abs = if rows.is_f64() {
            let delta = 4.0 * u * rows.max_norm;
            // (d + delta)^2 - d^2 <= 2 d delta + delta^2 with d <= 2 max_norm.
            (4.0 * rows.max_norm + delta) * delta * 2.0
        } else {
            0.0
        } + f64::MIN_POSITIVE;
        FastBand { rel, abs }
    }
    /// Upper bound on the float64 value given the fast one (and vice versa).
    #[inline]
    pub fn hi(&self, fast: f64) -> f64 {
        fast * (1.0 + self.rel) + self.abs
    }
    /// Lower bound on the float64 value given the fast one (and vice versa).
    #[inline]
    pub fn lo(&self, fast: f64) -> f64 {
        ((fast - self.abs) / (1.0 + self.rel)).max(0.0)
    }
}

/// One node of [`KdTree::build`]: the bounding box of its rows over the leading `t`
/// coordinates (`lo` then `hi`), and, unless it is a leaf, its rows reordered so the first
/// `mid` lie below the median of the widest coordinate (ties by row index).
fn split_node(projected: &Projected, t: usize, rows: &mut [u32]) -> (Vec<f32>, Option<usize>) {
    let m = projected.n_coords;
    let mut node_box = vec![0f32; 2 * t];
    let (lo, hi) = node_box.split_at_mut(t);
    lo.fill(f32::INFINITY);
    hi.fill(f32::NEG_INFINITY);
    if t == TREE_COORDS {
        // The usual box (every tree coordinate), held in fixed-size arrays the compiler keeps
        // in vector registers (simd128: 6 + 6; the loop below kept it in memory, scalar in
        // wasm); the same comparisons, so the same box.
        let mut lo_t = [f32::INFINITY; TREE_COORDS];
        let mut hi_t = [f32::NEG_INFINITY; TREE_COORDS];
        for &row in rows.iter() {
            let start = row as usize * m;
            let z: &[f32; TREE_COORDS] = projected.coords[start..start + TREE_COORDS]
                .try_into()
                .expect("TREE_COORDS coordinates");
            for ((l, h), &v) in lo_t.iter_mut().zip(hi_t.iter_mut()).zip(z) {
                *l = if v < *l { v } else { *l };
                *h = if v > *h { v } else { *h };
            }
        }
        lo.copy_from_slice(&lo_t);
        hi.copy_from_slice(&hi_t);
    } else {
        for &row in rows.iter() {
            let z = &projected.coords[row as usize * m..row as usize * m + t];
            for c in 0..t {
                if z[c] < lo[c] {
                    lo[c] = z[c];
                }
                if z[c] > hi[c] {
                    hi[c] = z[c];
                }
            }
        }
    }
    if rows.len() <= LEAF_SIZE || t == 0 {
        return (node_box, None);
    }
    let mut split_c = 0;
    let mut spread = -1.0f32;
    for c in 0..t {
        let s = hi[c] - lo[c];
        if s > spread {
            spread = s;
            split_c = c;
        }
    }
    if spread <= 0.0 {
        return (node_box, None);
    }
    let mid = rows.len() / 2;
    // Keys gathered once, so the selection compares contiguous values.
    let mut keyed: Vec<(f32, u32)> = rows
        .iter()
        .map(|&row| (projected.coords[row as usize * m + split_c], row))
        .collect();
    keyed.select_nth_unstable_by(mid, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (slot, (_, row)) in rows.iter_mut().zip(keyed) {
        *slot = row;
    }
    (node_box, Some(mid))
}

impl KdTree {
    /// Builds the tree over `members` (row indices). Ties in the split coordinate are
    /// broken by row index, so the tree is deterministic. Built level by level: the nodes
    /// of one depth own disjoint ranges of positions, so they are split in parallel (with
    /// the `parallel` feature) and the tree does not depend on the thread count. Nodes are
    /// numbered level by level.
    pub fn build(projected: &Projected, members: &[u32]) -> KdTree {
        let m = projected.n_coords;
        let t = m.min(TREE_COORDS);
        let mut order: Vec<u32> = members.to_vec();
        let mut nodes: Vec<Node> = vec![Node {
            start: 0,
            end: order.len() as u32,
            left: NO_CHILD,
            right: NO_CHILD,
        }];
        let mut boxes: Vec<f32> = Vec::new();
        // Node indices of the current depth, in position order.
        let mut level: Vec<usize> = vec![0];
        while !level.is_empty() {
            // The disjoint slices of `order` this depth's nodes own.
            let mut slices: Vec<&mut [u32]> = Vec::with_capacity(level.len());
            let mut rest: &mut [u32] = &mut order;
            let mut offset = 0usize;
            for &node_idx in &level {
                let Node { start, end, .. } = nodes[node_idx];
                let (_, tail) = std::mem::take(&mut rest).split_at_mut(start as usize - offset);
                let (mine, tail) = tail.split_at_mut((end - start) as usize);
                slices.push(mine);
                rest = tail;
                offset = end as usize;
            }
            let split = |slice: &mut [u32]| split_node(projected, t, slice);
            #[cfg(feature = "parallel")]
            let outcomes: Vec<(Vec<f32>, Option<usize>)> = {
                use rayon::prelude::*;
                slices.into_par_iter().map(split).collect()
            };
            #[cfg(not(feature = "parallel"))]
            let outcomes: Vec<(Vec<f32>, Option<usize>)> = slices.into_iter().map(split).collect();
            let mut next_level = Vec::with_capacity(2 * level.len());
            boxes.resize(nodes.len() * 2 * t, 0.0);
            for (&node_idx, (node_box, mid)) in level.iter().zip(outcomes) {
                boxes[node_idx * 2 * t..(node_idx + 1) * 2 * t].copy_from_slice(&node_box);
                let Some(mid) = mid else { continue };
                let Node { start, end, .. } = nodes[node_idx];
                let left = nodes.len();
                let middle = start + mid as u32;
                nodes.push(Node {
                    start,
                    end: middle,
                    left: NO_CHILD,
                    right: NO_CHILD,
                });
                nodes.push(Node {
                    start: middle,
                    end,
                    left: NO_CHILD,
                    right: NO_CHILD,
                });
                nodes[node_idx].left = left as u32;
                nodes[node_idx].right = left as u32 + 1;
                next_level.push(left);
                next_level.push(left + 1);
            }
            level = next_level;
        }
        boxes.resize(nodes.len() * 2 * t, 0.0);
        let mut coords = vec![0f32; order.len() * m];
        let mut tiles = vec![0f32; order.len().div_ceil(TILE) * TILE * m];
        let fill_tile = |tile_idx: usize, coords_out: &mut [f32], tile: &mut [f32]| {
            for (local, pos) in
                (tile_idx * TILE..(tile_idx * TILE + TILE).min(order.len())).enumerate()
            {
                let row = order[pos] as usize;
                let source = &projected.coords[row * m..(row + 1) * m];
                coords_out[local * m..(local + 1) * m].copy_from_slice(source);
                for (c, &value) in source.iter().enumerate() {
                    tile[c * TILE + local] = value;
                }
            }
        };
        if m > 0 {
            #[cfg(feature = "parallel")]
            {
                use rayon::prelude::*;
                coords
                    .par_chunks_mut(TILE * m)
                    .zip(tiles.par_chunks_mut(TILE * m))
                    .enumerate()
                    .for_each(|(tile_idx, (coords_out, tile))| {
                        fill_tile(tile_idx, coords_out, tile)
                    });
            }
            #[cfg(not(feature = "parallel"))]
            coords
                .chunks_mut(TILE * m)
                .zip(tiles.chunks_mut(TILE * m))
                .enumerate()
                .for_each(|(tile_idx, (coords_out, tile))| fill_tile(tile_idx, coords_out, tile));
        }
        let mut leaves: Vec<u32> = (0..nodes.len() as u32)
            .filter(|&node_idx| nodes[node_idx as usize].left == NO_CHILD)
            .collect();
        leaves.sort_by_key(|&node_idx| nodes[node_idx as usize].start);
        KdTree {
            n_coords: m,
            box_coords: t,
            row_at: order,
            coords,
            nodes,
            boxes,
            leaves,
            tiles,
            slack: projected.slack,
        }
    }

    pub fn len(&self) -> usize {
        self.row_at.len()
    }

    /// The coordinates by row index (`n_rows x n_coords`, rows not in the tree zero): the
    /// [`Projected`] coordinates the tree was built from, for its members.
    pub fn coords_by_row(&self, n_rows: usize) -> Vec<f32> {
        let m = self.n_coords;
        let mut out = vec![0f32; n_rows * m];
        for (pos, &row) in self.row_at.iter().enumerate() {
            let row = row as usize;
            if row < n_rows {
                out[row * m..(row + 1) * m].copy_from_slice(self.coords_at(pos));
            }
        }
        out
    }

    #[inline(always)]
    fn coords_at(&self, pos: usize) -> &[f32] {
        &self.coords[pos * self.n_coords..(pos + 1) * self.n_coords]
    }

    #[inline(always)]
    fn values_at<'r>(&self, rows: RowsF32<'r>, pos: usize) -> &'r [f32] {
        rows.row(self.row_at[pos] as usize)
    }

    /// Squared distance from `q` to node's box in the projected coordinates.
    #[inline(always)]
    fn box_lb2(&self, node_idx: usize, q: &[f32]) -> f32 {
        let m = self.box_coords;
        let b = &self.boxes[node_idx * 2 * m..(node_idx + 1) * 2 * m];
        let mut s = 0f32;
        for c in 0..m {
            let d = outside(q[c], b[c], b[m + c]);
            s += d * d;
        }
        s
    }

    /// [`Self::box_lb2`], with `AVX` one 8-lane vector per 8 coordinates ([`box_lb2_avx2`]),
    /// in wasm one 4-lane vector per 4 ([`box_lb2_simd128`]): the same terms summed in
    /// another order, within the rounding that [`Self::prune_limit2`]'s margin covers, so
    /// still a lower bound for pruning.
    #[inline(always)]
    fn box_lb2_fast<const AVX: bool>(&self, node_idx: usize, q: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if AVX {
            let m = self.box_coords;
            let b = &self.boxes[node_idx * 2 * m..(node_idx + 1) * 2 * m];
            let (lo, hi) = b.split_at(m);
            // SAFETY: `AVX` is only set by callers that checked `has_avx2_fma`.
            return unsafe { box_lb2_avx2(&q[..m], lo, hi) };
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            let m = self.box_coords;
            let b = &self.boxes[node_idx * 2 * m..(node_idx + 1) * 2 * m];
            let (lo, hi) = b.split_at(m);
            box_lb2_simd128(&q[..m], lo, hi)
        }
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        self.box_lb2(node_idx, q)
    }

    /// Squared projected distance above which the true distance certainly exceeds `r`.
    #[inline(always)]
    fn prune_limit2(&self, r: f64) -> f32 {
        let lim = (r + self.slack) / (1.0 - 1e-5);
        (lim * lim) as f32
    }

    /// Calls `visit(tree_pos)` for every member within `eps` of the member at `query_pos`
    /// (itself included), decided by `test` with the float64 rule. `visit` returns `false`
    /// to stop early. Returns the number of full-dimension distances computed.
    pub fn radius_search<V: FnMut(usize) -> bool>(
        &self,
        rows: &Rows,
        query_pos: usize,
        test: &EpsTest,
        visit: V,
    ) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            return unsafe { self.radius_search_avx2(rows, query_pos, test, visit) };
        }
        self.radius_search_impl::<false, _>(rows, query_pos, test, visit)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn radius_search_avx2<V: FnMut(usize) -> bool>(
        &self,
        rows: &Rows,
        query_pos: usize,
        test: &EpsTest,
        visit: V,
    ) -> u64 {
        self.radius_search_impl::<true, _>(rows, query_pos, test, visit)
    }

    #[inline(always)]
    fn radius_search_impl<const AVX: bool, V: FnMut(usize) -> bool>(
        &self,
        rows: &Rows,
        query_pos: usize,
        test: &EpsTest,
        mut visit: V,
    ) -> u64 {
        let q = self.coords_at(query_pos);
        let rows32 = rows.f32_rows();
        let qv = self.values_at(rows32, query_pos);
        let query_row = self.row_at[query_pos] as usize;
        let zlimit = self.prune_limit2(test.eps);
        let reject = test.reject_above_f32();
        let mut n_full = 0u64;
        let mut stack: Vec<u32> = Vec::with_capacity(64);
        stack.push(0);
        while let Some(node_idx) = stack.pop() {
            let node_idx = node_idx as usize;
            if self.box_lb2(node_idx, q) > zlimit {
                continue;
            }
            let node = self.nodes[node_idx];
            if node.left != NO_CHILD {
                stack.push(node.right);
                stack.push(node.left);
                continue;
            }
            for pos in node.start as usize..node.end as usize {
                if pos == query_pos {
                    if !visit(pos) {
                        return n_full;
                    }
                    continue;
                }
                let zc = self.coords_at(pos);
                if z_exceeds(q, zc, zlimit) {
                    continue;
                }
                n_full += 1;
                let fast = fast_sq_dist::<AVX>(qv, self.values_at(rows32, pos), reject);
                if fast > reject {
                    continue;
                }
                if test.decide(rows, query_row, self.row_at[pos] as usize, fast) && !visit(pos) {
                    return n_full;
                }
            }
        }
        n_full
    }

    /// Pairs for a symmetric self-join: calls `visit(other_pos, query_to_other,
    /// other_to_query)` for every member at a tree position > `query_pos` that is a neighbour
    /// in at least one direction. Each pair is thus seen once over all queries (half the
    /// distances of one search per point). Returns the number of full-dimension distances.
    pub fn radius_pairs_after<V: FnMut(usize, bool, bool)>(
        &self,
        rows: &Rows,
        query_pos: usize,
        test: &EpsTest,
        mut visit: V,
    ) -> u64 {
        let query_row = self.row_at[query_pos] as usize;
        self.pairs_within_after(
            rows,
            query_pos,
            test.eps,
            test.reject_above_f32(),
            |pos, fast| {
                let (forward, backward) =
                    test.decide_both(rows, query_row, self.row_at[pos] as usize, fast);
                if forward || backward {
                    visit(pos, forward, backward);
                }
            },
        )
    }

    /// Calls `visit(other_pos, fast_sq)` for every member at a tree position > `query_pos`
    /// whose fast f32 squared distance is <= `fast_limit`, pruning with `radius` (which must
    /// be >= the true distance of every pair with fast value <= `fast_limit`).
    /// Returns the number of full-dimension distances computed.
    pub fn pairs_within_after<V: FnMut(usize, f32)>(
        &self,
        rows: &Rows,
        query_pos: usize,
        radius: f64,
        fast_limit: f32,
        visit: V,
    ) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            return unsafe {
                self.pairs_within_after_avx2(rows, query_pos, radius, fast_limit, visit)
            };
        }
        self.pairs_within_after_impl::<false, _>(rows, query_pos, radius, fast_limit, visit)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn pairs_within_after_avx2<V: FnMut(usize, f32)>(
        &self,
        rows: &Rows,
        query_pos: usize,
        radius: f64,
        fast_limit: f32,
        visit: V,
    ) -> u64 {
        self.pairs_within_after_impl::<true, _>(rows, query_pos, radius, fast_limit, visit)
    }

    #[inline(always)]
    fn pairs_within_after_impl<const AVX: bool, V: FnMut(usize, f32)>(
        &self,
        rows: &Rows,
        query_pos: usize,
        radius: f64,
        fast_limit: f32,
        mut visit: V,
    ) -> u64 {
        let q = self.coords_at(query_pos);
        let rows32 = rows.f32_rows();
        let qv = self.values_at(rows32, query_pos);
        let zlimit = self.prune_limit2(radius);
        let mut n_full = 0u64;
        let mut stack: Vec<u32> = Vec::with_capacity(64);
        stack.push(0);
        while let Some(node_idx) = stack.pop() {
            let node_idx = node_idx as usize;
            let node = self.nodes[node_idx];
            if node.end as usize <= query_pos + 1 || self.box_lb2(node_idx, q) > zlimit {
                continue;
            }
            if node.left != NO_CHILD {
                stack.push(node.right);
                stack.push(node.left);
                continue;
            }
            for pos in (node.start as usize).max(query_pos + 1)..node.end as usize {
                if z_exceeds(q, self.coords_at(pos), zlimit) {
                    continue;
                }
                n_full += 1;
                let fast = fast_sq_dist::<AVX>(qv, self.values_at(rows32, pos), fast_limit);
                if fast <= fast_limit {
                    visit(pos, fast);
                }
            }
        }
        n_full
    }

    /// The index into [`Self::leaves`] of the leaf holding `pos` (`leaves.len()` when
    /// `pos >= len()`).
    fn leaf_rank(&self, pos: usize) -> usize {
        self.leaves
            .partition_point(|&node_idx| self.nodes[node_idx as usize].end as usize <= pos)
    }

    /// The first position of the leaf holding `pos` (`len()` when `pos >= len()`): block
    /// boundaries on leaf starts let [`Self::pairs_within_range`] take whole leaves.
    pub fn leaf_start(&self, pos: usize) -> usize {
        self.leaves
            .get(self.leaf_rank(pos))
            .map_or(self.len(), |&node_idx| {
                self.nodes[node_idx as usize].start as usize
            })
    }

    /// The end of the leaf holding `pos` (`len()` when `pos >= len()`).
    pub fn leaf_end(&self, pos: usize) -> usize {
        self.leaves
            .get(self.leaf_rank(pos))
            .map_or(self.len(), |&node_idx| {
                self.nodes[node_idx as usize].end as usize
            })
    }

    /// The symmetric self-join for the queries at tree positions `queries`: calls
    /// `visit(query_pos, other_pos, fast_sq)` for every pair with `other_pos > query_pos`
    /// whose fast f32 squared distance is <= `fast_limit`, pruning with `radius` (as
    /// [`Self::pairs_within_after`]: the same pairs, in another order).
    ///
    /// Queries are taken leaf by leaf. One traversal per query leaf, with the box-to-box
    /// bound, lists the candidate leaves; each candidate leaf is then scanned for all the
    /// leaf's queries in turn (point-to-box bound, then per row), so its rows are read from
    /// memory once per query leaf instead of once per query. Returns the number of
    /// full-dimension distances computed.
    pub fn pairs_within_range<V: FnMut(usize, usize, f32)>(
        &self,
        rows: &Rows,
        queries: std::ops::Range<usize>,
        radius: f64,
        fast_limit: f32,
        visit: V,
    ) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            return unsafe {
                self.pairs_with_avx2::<true, V>(self, rows, queries, radius, fast_limit, visit)
            };
        }
        self.pairs_with_impl::<true, false, V>(self, rows, queries, radius, fast_limit, visit)
    }

    /// The cross join: calls `visit(query_pos, other_pos, fast_sq)` for every pair of a
    /// member of `query_tree` at a position in `queries` and a member of this tree whose fast
    /// f32 squared distance is <= `fast_limit`, pruning with `radius` (as
    /// [`Self::pairs_within_range`], leaf by leaf over the query tree). Both trees must be
    /// built from the same [`Projected`] coordinates (one basis), over disjoint rows of one
    /// [`Rows`]. Returns the number of full-dimension distances computed.
    pub fn pairs_with<V: FnMut(usize, usize, f32)>(
        &self,
        query_tree: &KdTree,
        rows: &Rows,
        queries: std::ops::Range<usize>,
        radius: f64,
        fast_limit: f32,
        visit: V,
    ) -> u64 {
        debug_assert_eq!(self.n_coords, query_tree.n_coords, "one projection");
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            return unsafe {
                self.pairs_with_avx2::<false, V>(
                    query_tree, rows, queries, radius, fast_limit, visit,
                )
            };
        }
        self.pairs_with_impl::<false, false, V>(
            query_tree, rows, queries, radius, fast_limit, visit,
        )
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn pairs_with_avx2<const AFTER: bool, V: FnMut(usize, usize, f32)>(
        &self,
        query_tree: &KdTree,
        rows: &Rows,
        queries: std::ops::Range<usize>,
        radius: f64,
        fast_limit: f32,
        visit: V,
    ) -> u64 {
        self.pairs_with_impl::<AFTER, true, V>(query_tree, rows, queries, radius, fast_limit, visit)
    }

    /// The join of the queries (positions of `query_tree`) with this tree's members; with
    /// `AFTER` (the self-join, `query_tree` is `self`) only the members at later positions.
    #[inline(always)]
    fn pairs_with_impl<const AFTER: bool, const AVX: bool, V: FnMut(usize, usize, f32)>(
        &self,
        query_tree: &KdTree,
        rows: &Rows,
        queries: std::ops::Range<usize>,
        radius: f64,
        fast_limit: f32,
        mut visit: V,
    ) -> u64 {
        let queries = queries.start..queries.end.min(query_tree.len());
        if queries.is_empty() || self.len() == 0 {
            return 0;
        }
        let zlimit = self.prune_limit2(radius);
        let m = self.box_coords;
        let rows32 = rows.f32_rows();
        let n_coords = self.n_coords;
        let tile_len = n_coords * TILE;
        let mut n_full = 0u64;
        let mut stack: Vec<u32> = Vec::with_capacity(64);
        let mut candidate_leaves: Vec<u32> = Vec::new();
        let mut survivors: Vec<u32> = Vec::with_capacity(LEAF_SIZE + TILE);
        let mut query_box = vec![0f32; 2 * m];
        for &leaf_idx in &query_tree.leaves[query_tree.leaf_rank(queries.start)..] {
            let leaf = query_tree.nodes[leaf_idx as usize];
            let start = (leaf.start as usize).max(queries.start);
            let end = (leaf.end as usize).min(queries.end);
            if start >= end {
                break;
            }
            // The queries' box (the leaf's own when all of it is queried).
            if start == leaf.start as usize && end == leaf.end as usize {
                query_box.copy_from_slice(
                    &query_tree.boxes[leaf_idx as usize * 2 * m..(leaf_idx as usize + 1) * 2 * m],
                );
            } else {
                let (lo, hi) = query_box.split_at_mut(m);
                lo.fill(f32::INFINITY);
                hi.fill(f32::NEG_INFINITY);
                for pos in start..end {
                    let z = &query_tree.coords_at(pos)[..m];
                    for c in 0..m {
                        if z[c] < lo[c] {
                            lo[c] = z[c];
                        }
                        if z[c] > hi[c] {
                            hi[c] = z[c];
                        }
                    }
                }
            }
            // Candidate leaves: some position after the first query, box within reach.
            candidate_leaves.clear();
            stack.clear();
            stack.push(0);
            while let Some(node_idx) = stack.pop() {
                let node_idx = node_idx as usize;
                let node = self.nodes[node_idx];
                if (AFTER && node.end as usize <= start + 1)
                    || self.box_box_lb2(node_idx, &query_box) > zlimit
                {
                    continue;
                }
                if node.left != NO_CHILD {
                    stack.push(node.right);
                    stack.push(node.left);
                } else {
                    candidate_leaves.push(node_idx as u32);
                }
            }
            for &candidate_idx in &candidate_leaves {
                let candidate = self.nodes[candidate_idx as usize];
                for query_pos in start..end {
                    if AFTER && candidate.end as usize <= query_pos + 1 {
                        break;
                    }
                    let q = query_tree.coords_at(query_pos);
                    if self.box_lb2_fast::<AVX>(candidate_idx as usize, q) > zlimit {
                        continue;
                    }
                    let qv = query_tree.values_at(rows32, query_pos);
                    let first = if AFTER {
                        (candidate.start as usize).max(query_pos + 1)
                    } else {
                        candidate.start as usize
                    };
                    let last = candidate.end as usize;
                    // The surviving positions of the whole candidate leaf, ascending.
                    // The leaf's tiles in one slice: every lane wanted but those before
                    // `first` in the first tile and from `last` on in the last.
                    survivors.clear();
                    let (first_tile, end_tile) = (first / TILE, last.div_ceil(TILE));
                    let leaf_tiles = &self.tiles[first_tile * tile_len..end_tile * tile_len];
                    let q_tile = &q[..n_coords];
                    let mut wanted_lanes = ALL_LANES & !((1u32 << (first % TILE)) - 1);
                    for (t, tile) in leaf_tiles.chunks_exact(tile_len).enumerate() {
                        let tile_start = (first_tile + t) * TILE;
                        if tile_start + TILE > last {
                            wanted_lanes &= (1u32 << (last - tile_start)) - 1;
                        }
                        let mut left = Self::tile_test::<AVX>(tile, q_tile, wanted_lanes, zlimit);
                        while left != 0 {
                            survivors.push((tile_start + left.trailing_zeros() as usize) as u32);
                            left &= left - 1;
                        }
                        wanted_lanes = ALL_LANES;
                    }
                    n_full += survivors.len() as u64;
                    // Their full-dimension distances, four per pass with AVX2 (each value
                    // <= `fast_limit` has the single kernel's bits), visited in order.
                    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
                    let batched = if AVX && cfg!(target_arch = "x86_64") {
                        survivors.len() / 4 * 4
                    } else {
                        0
                    };
                    #[cfg(target_arch = "x86_64")]
                    for group in survivors[..batched].chunks_exact(4) {
                        // Written out: `[_; 4].map` was not inlined here (38 instructions
                        // a row).
                        let values = [
                            self.values_at(rows32, group[0] as usize),
                            self.values_at(rows32, group[1] as usize),
                            self.values_at(rows32, group[2] as usize),
                            self.values_at(rows32, group[3] as usize),
                        ];
                        // SAFETY: `batched > 0` only with `AVX`, which only callers that
                        // checked `has_avx2_fma` set; every row has the query's length.
                        let fast = unsafe { sq_dist4_f32_bounded_avx2(qv, values, fast_limit) };
                        for (&pos, &fast) in group.iter().zip(&fast) {
                            if fast <= fast_limit {
                                visit(query_pos, pos as usize, fast);
                            }
                        }
                    }
                    // In wasm the same, N_WASM per pass (simd128: the single kernel's bits).
                    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                    let batched = {
                        let batched = survivors.len() / N_WASM * N_WASM;
                        for group in survivors[..batched].chunks_exact(N_WASM) {
                            let values: [&[f32]; N_WASM] =
                                std::array::from_fn(|j| self.values_at(rows32, group[j] as usize));
                            let fast = sq_distn_f32_bounded_simd128(qv, values, fast_limit);
                            for (&pos, &fast) in group.iter().zip(&fast) {
                                if fast <= fast_limit {
                                    visit(query_pos, pos as usize, fast);
                                }
                            }
                        }
                        batched
                    };
                    for &pos in &survivors[batched..] {
                        let pos = pos as usize;
                        let fast = fast_sq_dist::<AVX>(qv, self.values_at(rows32, pos), fast_limit);
                        if fast <= fast_limit {
                            visit(query_pos, pos, fast);
                        }
                    }
                }
            }
        }
        n_full
    }

    /// The positions of the tile starting at `tile_start` (a multiple of [`TILE`]) that lie
    /// in `wanted` and whose projected squared distance to `q` is <= `zlimit`, as a bit mask
    /// (bit `lane` for position `tile_start + lane`). All lanes are summed together, a stage
    /// of [`TILE_STAGE`] coordinates at a time, largest directions first, and the scan stops
    /// as soon as no lane is left.
    #[inline(always)]
    fn tile_survivors<const AVX: bool>(
        &self,
        q: &[f32],
        tile_start: usize,
        wanted: std::ops::Range<usize>,
        zlimit: f32,
    ) -> u32 {
        let m = self.n_coords;
        let tile = &self.tiles[(tile_start / TILE) * m * TILE..(tile_start / TILE + 1) * m * TILE];
        // Lanes outside `wanted` never survive, whatever the sums (`zlimit` may be infinite).
        let below = wanted.start.saturating_sub(tile_start).min(TILE);
        let upto = wanted.end.saturating_sub(tile_start).min(TILE);
        let wanted_lanes = ((1u32 << upto) - 1) & !((1u32 << below) - 1);
        Self::tile_test::<AVX>(tile, &q[..m], wanted_lanes, zlimit)
    }

    /// The lanes among `wanted_lanes` of `tile` (`q.len()` coordinates x [`TILE`] lanes,
    /// coordinate-major) whose projected squared distance to `q` is <= `zlimit`: the
    /// platform's form of [`tile_survivors_portable`].
    #[inline(always)]
    fn tile_test<const AVX: bool>(tile: &[f32], q: &[f32], wanted_lanes: u32, zlimit: f32) -> u32 {
        #[cfg(target_arch = "x86_64")]
        if AVX {
            // SAFETY: `AVX` is only set by callers that checked `has_avx2_fma`.
            return unsafe { tile_survivors_avx2(tile, q, wanted_lanes, zlimit) };
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            tile_survivors_simd128(tile, q, wanted_lanes, zlimit)
        }
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        {
            tile_survivors_portable(tile, q, wanted_lanes, zlimit)
        }
    }

    /// Squared distance between a box (lows then highs, [`Self::box_coords`] each) and a
    /// node's box, in the projected coordinates: a lower bound for every pair of points in
    /// them.
    #[inline(always)]
    fn box_box_lb2(&self, node_idx: usize, other: &[f32]) -> f32 {
        let m = self.box_coords;
        let b = &self.boxes[node_idx * 2 * m..(node_idx + 1) * 2 * m];
        let mut s = 0f32;
        for c in 0..m {
            // The gap between [b_lo, b_hi] and [o_lo, o_hi] (0 when they overlap).
            let below = b[c] - other[m + c];
            let above = other[c] - b[m + c];
            let gap = if below > above { below } else { above };
            let d = if gap > 0.0 { gap } else { 0.0 };
            s += d * d;
        }
        s
    }

    /// The `k` smallest exact (float64, by differences) distances from the member at
    /// `query_pos` to the other members, ascending, written to `out` (length k; requires
    /// `len() > k`). Duplicates of the query count (distance 0); the query itself does not.
    pub fn knn_distances(
        &self,
        rows: &Rows,
        band: FastBand,
        query_pos: usize,
        k: usize,
        out: &mut [f64],
    ) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            return unsafe {
                self.knn_distances_avx2(
                    rows,
                    band,
                    self.coords_at(query_pos),
                    self.row_at[query_pos] as usize,
                    query_pos,
                    k,
                    out,
                )
            };
        }
        self.knn_distances_impl::<false>(
            rows,
            band,
            self.coords_at(query_pos),
            self.row_at[query_pos] as usize,
            query_pos,
            k,
            out,
        )
    }

    /// [`Self::knn_distances`] of a query that need not be a member: row `query_row` of
    /// `rows`, with projected coordinates `query_coords` (the tree's projection); the member
    /// at position `skip_pos` (the query's own row, if a member) is not counted. With fewer
    /// than `k` other members, the missing distances are +inf.
    #[allow(clippy::too_many_arguments)]
    pub fn knn_distances_of(
        &self,
        rows: &Rows,
        band: FastBand,
        query_coords: &[f32],
        query_row: usize,
        skip_pos: Option<usize>,
        k: usize,
        out: &mut [f64],
    ) {
        let skip_pos = skip_pos.unwrap_or(usize::MAX);
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            return unsafe {
                self.knn_distances_avx2(rows, band, query_coords, query_row, skip_pos, k, out)
            };
        }
        self.knn_distances_impl::<false>(rows, band, query_coords, query_row, skip_pos, k, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn knn_distances_avx2(
        &self,
        rows: &Rows,
        band: FastBand,
        q: &[f32],
        query_row: usize,
        skip_pos: usize,
        k: usize,
        out: &mut [f64],
    ) {
        self.knn_distances_impl::<true>(rows, band, q, query_row, skip_pos, k, out)
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn knn_distances_impl<const AVX: bool>(
        &self,
        rows: &Rows,
        band: FastBand,
        q: &[f32],
        query_row: usize,
        skip_pos: usize,
        k: usize,
        out: &mut [f64],
    ) {
        let rows32 = rows.f32_rows();
        let qv = rows32.row(query_row);
        // k best fast values, ascending.
        let mut best: Vec<f32> = Vec::with_capacity(k + 1);
        // Every candidate that may still be among the exact k nearest.
        let mut candidates: Vec<(f32, u32)> = Vec::with_capacity(4 * k);
        let mut keep_below = f64::INFINITY; // on the f64 scale of squared distances
        let mut zlimit = f32::INFINITY;
        let mut full_limit = f32::INFINITY;
        let mut stack: Vec<(u32, f32)> = Vec::with_capacity(64);
        stack.push((0, 0.0));
        while let Some((node_idx, lb2)) = stack.pop() {
            if lb2 > zlimit {
                continue;
            }
            let node = self.nodes[node_idx as usize];
            if node.left != NO_CHILD {
                let l = self.box_lb2_fast::<AVX>(node.left as usize, q);
                let r = self.box_lb2_fast::<AVX>(node.right as usize, q);
                if l <= r {
                    stack.push((node.right, r));
                    stack.push((node.left, l));
                } else {
                    stack.push((node.left, l));
                    stack.push((node.right, r));
                }
                continue;
            }
            // The leaf's rows a tile of [`TILE`] positions at a time: the projected bound for
            // all lanes at once (with the `zlimit` of the tile's start; a lane that a later,
            // lower `zlimit` would have pruned only costs its full distance), then the
            // surviving lanes in position order.
            let (leaf_start, leaf_end) = (node.start as usize, node.end as usize);
            let mut tile_start = leaf_start - leaf_start % TILE;
            while tile_start < leaf_end {
                let mut left =
                    self.tile_survivors::<AVX>(q, tile_start, leaf_start..leaf_end, zlimit);
                if skip_pos >= tile_start && skip_pos < tile_start + TILE {
                    left &= !(1u32 << (skip_pos - tile_start));
                }
                while left != 0 {
                    let pos = tile_start + left.trailing_zeros() as usize;
                    left &= left - 1;
                    let fast = fast_sq_dist::<AVX>(qv, self.values_at(rows32, pos), full_limit);
                    if fast > full_limit {
                        continue;
                    }
                    candidates.push((fast, pos as u32));
                    let at = best.partition_point(|&b| b <= fast);
                    if at < k {
                        best.insert(at, fast);
                        best.truncate(k);
                    }
                    if best.len() == k {
                        // Anything whose exact value could be <= the exact k-th must have a
                        // fast value <= keep_below.
                        let kth_hi = band.hi(best[k - 1] as f64);
                        let new_keep = band.hi(kth_hi);
                        if new_keep < keep_below {
                            keep_below = new_keep;
                            full_limit = (new_keep * (1.0 + 1e-7)) as f32;
                            zlimit = self.prune_limit2(new_keep.sqrt());
                            if candidates.len() > 8 * k + 32 {
                                candidates.retain(|&(v, _)| (v as f64) <= keep_below);
                            }
                        }
                    }
                }
                tile_start += TILE;
            }
        }
        let mut exact: Vec<f64> = candidates
            .iter()
            .filter(|&&(v, _)| (v as f64) <= keep_below)
            .map(|&(_, pos)| rows.sq_dist_exact_diff(query_row, self.row_at[pos as usize] as usize))
            .collect();
        exact.sort_by(|a, b| a.total_cmp(b));
        for (o, d2) in out
            .iter_mut()
            .zip(exact.iter().chain(std::iter::repeat(&f64::INFINITY)))
        {
            *o = d2.sqrt();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The coordinates by row from a tree over some rows are the ones it was built from.
    #[test]
    fn coords_by_row_give_back_the_projection() {
        let (n, m) = (300, 30);
        let coords: Vec<f32> = (0..n * m)
            .map(|i| ((i * 7919) % 1009) as f32 / 97.0 - 5.0)
            .collect();
        let projected = Projected {
            n_coords: m,
            coords: coords.clone(),
            slack: 0.0,
        };
        let all: Vec<u32> = (0..n as u32).collect();
        assert_eq!(KdTree::build(&projected, &all).coords_by_row(n), coords);
        let some: Vec<u32> = (0..n as u32).filter(|r| r % 3 == 0).collect();
        let by_row = KdTree::build(&projected, &some).coords_by_row(n);
        for row in 0..n {
            let expected: &[f32] = if row % 3 == 0 {
                &coords[row * m..(row + 1) * m]
            } else {
                &[0.0; 30]
            };
            assert_eq!(&by_row[row * m..(row + 1) * m], expected, "row {row}");
        }
    }
}
