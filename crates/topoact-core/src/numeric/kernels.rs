//! The f32 and f64 dot-product and squared-distance kernels of the whole crate, with its one
//! SIMD dispatch.
//!
//! # Dispatch
//! [`has_avx2_fma`] is the crate's only CPU-feature test (x86-64, cached). It is used two
//! ways:
//! - the *dispatched* kernels ([`sq_dist_f32`], [`sq_dists_to_block`]) test it per call
//!   (per batch for the block form) and run explicit AVX2+FMA code when the CPU has it;
//! - hot loops that call the *inline* kernels ([`sq_dist_f32_lanes16`],
//!   [`sq_dist_f32_bounded`], [`dot_f32`], [`dot_f64`]) many times per element (the mapper's
//!   neighbour searches, its pruning projection) are compiled twice, generic and with
//!   `#[target_feature(enable = "avx2,fma")]`, and test it once per call of the whole loop.
//!   The two that carry the mapper's time have explicit forms, because LLVM vectorised their
//!   lane loops inlined into the AVX2 searches with 2-lane operations (the 1024-d join ran at
//!   less than half speed): `sq_dist_f32_bounded_avx2` (the searches' full-dimension
//!   distance) and `dot4_f32_avx2` (the pruning projection, four basis vectors per pass),
//!   called by the AVX2 builds of those loops; the tile bound of the join has its own
//!   explicit forms next to the join (`neighbours::kdtree`).
//!
//! In wasm32 the workspace enables simd128 at compile time (`.cargo/config.toml`): the
//! dispatched kernels use explicit simd128 code there, and so do [`sq_dist_f32_bounded`] (and
//! its four-candidates form for the join's survivors, `sq_distn_f32_bounded_simd128`) and
//! the projection (`dots_f32_simd128`: rows x basis vectors per pass, the bits of
//! `dot2_f32_simd128`); the other inline ones are vectorised to simd128 by LLVM. Elsewhere
//! (x86-64 without AVX2+FMA, other CPUs) the scalar fallback is the 16-accumulator loop
//! [`sq_dist_f32_lanes16`].
//!
//! # Determinism and precision
//! Every kernel has a fixed summation order, so it is bit-identical run to run on a given
//! platform and build; builds differ from each other in the last bits (FMA, lane counts).
//! Callers that need exact answers (the mapper's float64 neighbour rule) use these only as a
//! fast path inside a proven error band. Error of a sum of `n` non-negative terms with `L`
//! accumulators: at most about `(n / L + L + 3)` roundings of the result; the inline
//! kernels' bands are stated on each.
//!
//! The batched form (`sq_dists_to_block`) computes four targets per pass over the query
//! (register blocking: one query load feeds four pairs), so a pair may differ in the last
//! bits from `sq_dist_f32` of the same vectors; each is deterministic.

/// Squared distance of two equally long vectors (the shorter length if they differ).
#[inline]
pub(crate) fn sq_dist_f32(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
        return unsafe { sq_dist_avx2(a, b) };
    }
    sq_dist_portable(a, b)
}

/// `out = [|q - block[j*dim..(j+1)*dim]|^2 for each j]` over a contiguous block of vectors.
pub(crate) fn sq_dists_to_block(q: &[f32], block: &[f32], dim: usize, out: &mut Vec<f32>) {
    out.clear();
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
        unsafe { sq_dists_to_block_avx2(q, block, dim, out) };
        return;
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        sq_dists_to_block_simd128(q, block, dim, out);
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    out.extend(block.chunks_exact(dim).map(|v| sq_dist_portable(q, v)));
}

/// Queries at a time of [`sq_dists_to_tile`].
pub(crate) const TILE_QUERIES: usize = 4;

/// `out[q * m + j] = |queries[q] - block[j*dim..(j+1)*dim]|^2` for every query and each of the
/// block's `m` vectors: [`sq_dists_to_block`] of each query, **with the same bits** (per pair
/// the same accumulators, added in the same order), computed [`TILE_QUERIES`] queries at a
/// time so that each load of a target feeds four pairs. Queries shorter than `dim` are not
/// allowed here (every query holds at least `dim` values).
pub(crate) fn sq_dists_to_tile(queries: &[&[f32]], block: &[f32], dim: usize, out: &mut Vec<f32>) {
    out.clear();
    let m = block.len().checked_div(dim).unwrap_or(0);
    let mut one = Vec::new();
    let mut tiles = queries.chunks_exact(TILE_QUERIES);
    for tile in &mut tiles {
        let tile: [&[f32]; TILE_QUERIES] = [tile[0], tile[1], tile[2], tile[3]];
        let at = out.len();
        out.resize(at + TILE_QUERIES * m, 0.0);
        if m == 0 {
            continue;
        }
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            unsafe { sq_dists_tile_avx2(tile, block, dim, &mut out[at..]) };
            continue;
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            sq_dists_tile_simd128(tile, block, dim, &mut out[at..]);
        }
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        for (q, query) in tile.iter().enumerate() {
            sq_dists_to_block(query, block, dim, &mut one);
            out[at + q * m..at + (q + 1) * m].copy_from_slice(&one);
        }
    }
    for query in tiles.remainder() {
        sq_dists_to_block(query, block, dim, &mut one);
        out.extend_from_slice(&one);
    }
}

/// AVX2 tile: for each group of four targets, the accumulators of [`sq_dists_to_block_avx2`]
/// (per pair two 8-lane FMA chains: dimensions `16j..16j+8` and `16j+8..16j+16`) are formed a
/// pair of targets and one chain at a time for all four queries (eight accumulators: each target
/// load feeds four pairs, each query load two), then reduced as there; targets past the last
/// group of four use [`sq_dist_avx2`], as there.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)] // indices name the pair (query, target, chain)
unsafe fn sq_dists_tile_avx2(
    queries: [&[f32]; TILE_QUERIES],
    block: &[f32],
    dim: usize,
    out: &mut [f32],
) {
    use std::arch::x86_64::*;
    let m = block.len() / dim;
    let len = dim;
    let pq = queries.map(|q| q[..len].as_ptr());
    let groups = m / 4;
    let full = len / 16 * 16;
    for g in 0..groups {
        let group = &block[4 * g * dim..4 * (g + 1) * dim];
        // The chains of targets (2 pair, 2 pair + 1), returned by value: a zero-filled array
        // of all 32 chains, filled in place, cost a `memset` of 1 KiB per group (~2.4 % of the
        // k-NN's instructions at 20K x 256).
        let pt = [0, 1, 2, 3].map(|t| group[t * dim..].as_ptr());
        let (h0, h1) = (
            tile_chains_avx2(pq, [pt[0], pt[1]], 0, full),
            tile_chains_avx2(pq, [pt[0], pt[1]], 8, full),
        );
        let mut first = [[_mm256_setzero_ps(); 2]; TILE_QUERIES];
        for q in 0..TILE_QUERIES {
            first[q] = [
                _mm256_add_ps(h0[q][0], h1[q][0]),
                _mm256_add_ps(h0[q][1], h1[q][1]),
            ];
        }
        let (h0, h1) = (
            tile_chains_avx2(pq, [pt[2], pt[3]], 0, full),
            tile_chains_avx2(pq, [pt[2], pt[3]], 8, full),
        );
        for q in 0..TILE_QUERIES {
            // sums[t] = the two chains of pair (q, t) added (as `acc[t][0] + acc[t][1]`).
            let sums = [
                first[q][0],
                first[q][1],
                _mm256_add_ps(h0[q][0], h1[q][0]),
                _mm256_add_ps(h0[q][1], h1[q][1]),
            ];
            let pairs = _mm256_hadd_ps(
                _mm256_hadd_ps(sums[0], sums[1]),
                _mm256_hadd_ps(sums[2], sums[3]),
            );
            let four = _mm_add_ps(
                _mm256_castps256_ps128(pairs),
                _mm256_extractf128_ps(pairs, 1),
            );
            let mut totals = [0f32; 4];
            _mm_storeu_ps(totals.as_mut_ptr(), four);
            let query = &queries[q][..len];
            for (t, total) in totals.iter_mut().enumerate() {
                let target = &group[t * dim..t * dim + len];
                for j in full..len {
                    let d = query[j] - target[j];
                    *total += d * d;
                }
                out[q * m + 4 * g + t] = *total;
            }
        }
    }
    for (j, v) in block[4 * groups * dim..].chunks_exact(dim).enumerate() {
        for q in 0..TILE_QUERIES {
            out[q * m + 4 * groups + j] = sq_dist_avx2(&queries[q][..len], v);
        }
    }
}

/// One chain (dimensions `16j + start..16j + start + 8`, `start` 0 or 8) of the pairs of four
/// queries with two targets, for [`sq_dists_tile_avx2`]: `[query][target]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile_chains_avx2(
    pq: [*const f32; TILE_QUERIES],
    pt: [*const f32; 2],
    start: usize,
    full: usize,
) -> [[std::arch::x86_64::__m256; 2]; TILE_QUERIES] {
    use std::arch::x86_64::*;
    let mut acc = [[_mm256_setzero_ps(); 2]; TILE_QUERIES];
    let mut i = start;
    // SAFETY (all loads): i + 8 <= full <= dim, within every query and target row.
    while i < full {
        let x0 = _mm256_loadu_ps(pt[0].add(i));
        let x1 = _mm256_loadu_ps(pt[1].add(i));
        for q in 0..TILE_QUERIES {
            let v = _mm256_loadu_ps(pq[q].add(i));
            let d0 = _mm256_sub_ps(v, x0);
            let d1 = _mm256_sub_ps(v, x1);
            acc[q][0] = _mm256_fmadd_ps(d0, d0, acc[q][0]);
            acc[q][1] = _mm256_fmadd_ps(d1, d1, acc[q][1]);
        }
        i += 16;
    }
    acc
}

/// simd128 tile: as [`sq_dists_tile_avx2`] for [`sq_dists_to_block_simd128`]'s accumulators
/// (per pair two 4-lane chains: dimensions `8j..8j+4` and `8j+4..8j+8`, `acc + d * d`), formed
/// a pair of targets and one chain at a time for all four queries; targets past the last group
/// of four use the single-pair kernel, as there.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[allow(clippy::needless_range_loop)] // indices name the pair (query, target, chain)
fn sq_dists_tile_simd128(
    queries: [&[f32]; TILE_QUERIES],
    block: &[f32],
    dim: usize,
    out: &mut [f32],
) {
    let m = block.len() / dim;
    let len = dim;
    let queries = queries.map(|q| &q[..len]);
    let groups = m / 4;
    let full = len / 8 * 8;
    for g in 0..groups {
        let group = &block[4 * g * dim..4 * (g + 1) * dim];
        let targets = [
            &group[..len],
            &group[dim..dim + len],
            &group[2 * dim..2 * dim + len],
            &group[3 * dim..3 * dim + len],
        ];
        // A pair of targets at a time, its chains reduced at once into `out`: a zero-filled
        // array of all 32 chains, filled in place, cost a `memory.fill` of 432 bytes on the
        // stack per group of four targets.
        for pair in 0..2 {
            let pair_targets = [targets[2 * pair], targets[2 * pair + 1]];
            tile_pair_simd128(queries, pair_targets, full, out, m, 4 * g + 2 * pair);
        }
    }
    for (j, v) in block[4 * groups * dim..].chunks_exact(dim).enumerate() {
        for q in 0..TILE_QUERIES {
            out[q * m + 4 * groups + j] = sq_dist_portable(queries[q], v);
        }
    }
}

/// The pairs of four queries with two targets (columns `col`, `col + 1` of `out`'s rows of
/// `m`), for [`sq_dists_tile_simd128`]: per pair the two chains (dimensions `8j..8j+4` and
/// `8j+4..8j+8`, `acc + d * d`), each formed for the four queries at once, then added and
/// reduced as [`sq_dists_to_block_simd128`] does, the tail past `full` added one by one.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indices name the pair (query, target)
fn tile_pair_simd128(
    queries: [&[f32]; TILE_QUERIES],
    targets: [&[f32]; 2],
    full: usize,
    out: &mut [f32],
    m: usize,
    col: usize,
) {
    use std::arch::wasm32::*;
    // SAFETY: `at + 4 <= full <= len` of every query and target (checked by the loop
    // condition); wasm loads may be unaligned.
    let load = |s: &[f32], at: usize| unsafe { v128_load(s.as_ptr().add(at) as *const v128) };
    // One chain for the four queries: `acc[q][slot]`, written out for each half so that no
    // array of chains outlives a loop (each stays in locals).
    macro_rules! chain {
        ($start:expr) => {{
            let mut acc = [[f32x4_splat(0.0); 2]; TILE_QUERIES];
            let mut i = $start;
            while i < full {
                let x0 = load(targets[0], i);
                let x1 = load(targets[1], i);
                for q in 0..TILE_QUERIES {
                    let v = load(queries[q], i);
                    let d0 = f32x4_sub(v, x0);
                    let d1 = f32x4_sub(v, x1);
                    acc[q][0] = f32x4_add(acc[q][0], f32x4_mul(d0, d0));
                    acc[q][1] = f32x4_add(acc[q][1], f32x4_mul(d1, d1));
                }
                i += 8;
            }
            acc
        }};
    }
    let h0 = chain!(0);
    let h1 = chain!(4);
    // The reductions first, in a loop without inner loops (unrolled, so the chains are
    // indexed by constants and stay in locals), then the tails.
    let mut totals = [[0f32; 2]; TILE_QUERIES];
    for q in 0..TILE_QUERIES {
        for slot in 0..2 {
            let sum = f32x4_add(h0[q][slot], h1[q][slot]);
            totals[q][slot] = hsum_simd128(sum);
        }
    }
    let len = queries[0].len();
    for q in 0..TILE_QUERIES {
        for slot in 0..2 {
            out[q * m + col + slot] =
                add_squared_tail(totals[q][slot], queries[q], targets[slot], full..len);
        }
    }
}

/// simd128 block kernel: four targets share each query load (eight 4-lane accumulators, 8
/// dimensions per iteration); leftover targets use the single-pair kernel.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn sq_dists_to_block_simd128(q: &[f32], block: &[f32], dim: usize, out: &mut Vec<f32>) {
    use std::arch::wasm32::*;
    let q = &q[..dim.min(q.len())];
    let len = q.len();
    // SAFETY: callers pass `at + 4 <= len` of the slice (checked by the loop condition);
    // wasm loads may be unaligned.
    let load = |s: &[f32], at: usize| unsafe { v128_load(s.as_ptr().add(at) as *const v128) };
    let mut groups = block.chunks_exact(4 * dim);
    for group in &mut groups {
        let targets = [
            &group[..len],
            &group[dim..dim + len],
            &group[2 * dim..2 * dim + len],
            &group[3 * dim..3 * dim + len],
        ];
        let mut acc = [[f32x4_splat(0.0); 2]; 4];
        let mut i = 0;
        while i + 8 <= len {
            let q0 = load(q, i);
            let q1 = load(q, i + 4);
            for t in 0..4 {
                let d0 = f32x4_sub(q0, load(targets[t], i));
                let d1 = f32x4_sub(q1, load(targets[t], i + 4));
                acc[t][0] = f32x4_add(acc[t][0], f32x4_mul(d0, d0));
                acc[t][1] = f32x4_add(acc[t][1], f32x4_mul(d1, d1));
            }
            i += 8;
        }
        for t in 0..4 {
            let sum = f32x4_add(acc[t][0], acc[t][1]);
            let mut total = hsum_simd128(sum);
            for j in i..len {
                let d = q[j] - targets[t][j];
                total += d * d;
            }
            out.push(total);
        }
    }
    out.extend(
        groups
            .remainder()
            .chunks_exact(dim)
            .map(|v| sq_dist_portable(q, v)),
    );
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sq_dists_to_block_avx2(q: &[f32], block: &[f32], dim: usize, out: &mut Vec<f32>) {
    use std::arch::x86_64::*;
    let q = &q[..dim.min(q.len())];
    let len = q.len();
    let mut groups = block.chunks_exact(4 * dim);
    for group in &mut groups {
        // Four targets share each load of the query: eight independent FMA chains (two per
        // target, 16 dimensions per iteration), one horizontal reduction per four pairs.
        let pq = q.as_ptr();
        let pt = [
            group.as_ptr(),
            group.as_ptr().add(dim),
            group.as_ptr().add(2 * dim),
            group.as_ptr().add(3 * dim),
        ];
        let mut acc = [[_mm256_setzero_ps(); 2]; 4];
        let mut i = 0;
        // SAFETY (all loads): i + 16 <= len <= dim, within the query and each target row.
        while i + 16 <= len {
            let q0 = _mm256_loadu_ps(pq.add(i));
            let q1 = _mm256_loadu_ps(pq.add(i + 8));
            for t in 0..4 {
                let d0 = _mm256_sub_ps(q0, _mm256_loadu_ps(pt[t].add(i)));
                let d1 = _mm256_sub_ps(q1, _mm256_loadu_ps(pt[t].add(i + 8)));
                acc[t][0] = _mm256_fmadd_ps(d0, d0, acc[t][0]);
                acc[t][1] = _mm256_fmadd_ps(d1, d1, acc[t][1]);
            }
            i += 16;
        }
        let sums = [0, 1, 2, 3].map(|t| _mm256_add_ps(acc[t][0], acc[t][1]));
        let pairs = _mm256_hadd_ps(
            _mm256_hadd_ps(sums[0], sums[1]),
            _mm256_hadd_ps(sums[2], sums[3]),
        );
        let four = _mm_add_ps(
            _mm256_castps256_ps128(pairs),
            _mm256_extractf128_ps(pairs, 1),
        );
        let mut totals = [0f32; 4];
        _mm_storeu_ps(totals.as_mut_ptr(), four);
        for (t, total) in totals.iter_mut().enumerate() {
            let target = &group[t * dim..t * dim + len];
            for j in i..len {
                let d = q[j] - target[j];
                *total += d * d;
            }
            out.push(*total);
        }
    }
    for v in groups.remainder().chunks_exact(dim) {
        out.push(sq_dist_avx2(q, v));
    }
}

/// The lanes of `v` added as every AVX2 kernel here reduces its accumulator: the two halves,
/// then the upper pair onto the lower, then lane 1 onto lane 0.
///
/// # Safety
/// The CPU must support AVX2 and FMA ([`has_avx2_fma`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn hsum_avx2(v: std::arch::x86_64::__m256) -> f32 {
    use std::arch::x86_64::*;
    let half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
    _mm_cvtss_f32(_mm_add_ss(quarter, _mm_shuffle_ps(quarter, quarter, 1)))
}

/// The lanes of `v` added as every simd128 kernel here reduces its accumulator: lanes 0 and
/// 2, lanes 1 and 3, then the two sums.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn hsum_simd128(v: std::arch::wasm32::v128) -> f32 {
    use std::arch::wasm32::*;
    (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<2>(v))
        + (f32x4_extract_lane::<1>(v) + f32x4_extract_lane::<3>(v))
}

/// `block` plus the squared differences of `a` and `b` at `range`, added in order: the
/// scalar tail of a block in the bounded distance kernels.
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
))]
#[inline(always)]
fn add_squared_tail(mut block: f32, a: &[f32], b: &[f32], range: std::ops::Range<usize>) -> f32 {
    for k in range {
        let d = a[k] - b[k];
        block += d * d;
    }
    block
}

/// AVX2+FMA kernel: four 8-lane accumulators (32 values per iteration), then 8, then scalar.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn sq_dist_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let len = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    // SAFETY (all loads): i + 8 * (lane + 1) <= len, within both slices.
    while i + 32 <= len {
        for (lane, acc_lane) in acc.iter_mut().enumerate() {
            let d = _mm256_sub_ps(
                _mm256_loadu_ps(pa.add(i + 8 * lane)),
                _mm256_loadu_ps(pb.add(i + 8 * lane)),
            );
            *acc_lane = _mm256_fmadd_ps(d, d, *acc_lane);
        }
        i += 32;
    }
    while i + 8 <= len {
        let d = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
        acc[0] = _mm256_fmadd_ps(d, d, acc[0]);
        i += 8;
    }
    let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut total = hsum_avx2(sum);
    while i < len {
        let d = a[i] - b[i];
        total += d * d;
        i += 1;
    }
    total
}

/// Portable kernel: explicit simd128 in wasm, else the 16-accumulator loop.
#[inline(always)]
fn sq_dist_portable(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        sq_dist_simd128(a, b)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        sq_dist_f32_lanes16(a, b)
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn sq_dist_simd128(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::wasm32::*;
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut acc = [f32x4_splat(0.0); 4];
    let mut i = 0;
    // SAFETY: callers pass `at + 4 <= len` (checked by the loop condition); wasm loads may be
    // unaligned.
    let load = |s: &[f32], at: usize| unsafe { v128_load(s.as_ptr().add(at) as *const v128) };
    while i + 16 <= len {
        for (lane, acc_lane) in acc.iter_mut().enumerate() {
            let d = f32x4_sub(load(a, i + 4 * lane), load(b, i + 4 * lane));
            *acc_lane = f32x4_add(*acc_lane, f32x4_mul(d, d));
        }
        i += 16;
    }
    let sum = f32x4_add(f32x4_add(acc[0], acc[1]), f32x4_add(acc[2], acc[3]));
    let mut total = hsum_simd128(sum);
    while i < len {
        let d = a[i] - b[i];
        total += d * d;
        i += 1;
    }
    total
}

/// True when the CPU has AVX2 and FMA: the crate's one CPU-feature test (cached after the
/// first call).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    static STATE: AtomicU8 = AtomicU8::new(0); // 0 unknown, 1 no, 2 yes
    match STATE.load(Ordering::Relaxed) {
        0 => {
            let yes = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
            STATE.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
        state => state == 2,
    }
}

/// Squared euclidean distance of two f32 vectors by differences, with 16 independent
/// accumulators (LLVM vectorises it for the build that inlines it: AVX2 or SSE2 natively,
/// simd128 in wasm); the shorter length counts. Error <= (len/16 + 16) * 2^-24 * result.
/// The mapper's fast path (inlined into its AVX2-compiled searches) and the scalar
/// fallback of [`sq_dist_f32`].
#[inline(always)]
pub(crate) fn sq_dist_f32_lanes16(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let chunks = n / LANES;
    for c in 0..chunks {
        let pa = &a[c * LANES..(c + 1) * LANES];
        let pb = &b[c * LANES..(c + 1) * LANES];
        for l in 0..LANES {
            let d = pa[l] - pb[l];
            acc[l] += d * d;
        }
    }
    let mut tail = 0f32;
    for i in chunks * LANES..n {
        let d = a[i] - b[i];
        tail += d * d;
    }
    // Balanced sum of the accumulators (a few vector additions instead of 16 dependent ones).
    let mut half = [0f32; 8];
    for i in 0..8 {
        half[i] = acc[i] + acc[i + 8];
    }
    let mut quarter = [0f32; 4];
    for i in 0..4 {
        quarter[i] = half[i] + half[i + 4];
    }
    tail + ((quarter[0] + quarter[2]) + (quarter[1] + quarter[3]))
}

/// [`sq_dist_f32_lanes16`] in blocks of 64 coordinates, stopping once the partial sum exceeds
/// `limit` (then the result is that partial sum, > `limit`). In wasm with simd128 the same
/// 16 lanes as four explicit 4-lane accumulators (LLVM's own vectorisation of the lane loop
/// was found to use 2-lane operations on x86-64, see [`sq_dist_f32_bounded_avx2`]).
#[inline(always)]
pub(crate) fn sq_dist_f32_bounded(a: &[f32], b: &[f32], limit: f32) -> f32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        sq_dist_bounded_simd128(a, b, limit)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        sq_dist_bounded_lanes16(a, b, limit)
    }
}

#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
#[inline(always)]
fn sq_dist_bounded_lanes16(a: &[f32], b: &[f32], limit: f32) -> f32 {
    let n = a.len().min(b.len());
    let mut s = 0f32;
    let mut start = 0;
    while start < n {
        let end = (start + 64).min(n);
        s += sq_dist_f32_lanes16(&a[start..end], &b[start..end]);
        if s > limit {
            return s;
        }
        start = end;
    }
    s
}

/// [`sq_dist_f32_bounded`] in explicit simd128: per block of 64 coordinates, 16 lanes (four
/// 4-lane accumulators), reduced pairwise, then the scalar tail; the blocks' sums are added
/// in turn. Error as [`sq_dist_f32_lanes16`] plus one rounding per block.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn sq_dist_bounded_simd128(a: &[f32], b: &[f32], limit: f32) -> f32 {
    use std::arch::wasm32::*;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    // SAFETY: callers pass `at + 4 <= n` (checked by the loop conditions); wasm loads may be
    // unaligned.
    let load = |s: &[f32], at: usize| unsafe { v128_load(s.as_ptr().add(at) as *const v128) };
    let mut s = 0f32;
    let mut start = 0;
    while start < n {
        let end = (start + 64).min(n);
        let mut acc = [f32x4_splat(0.0); 4];
        let mut i = start;
        while i + 16 <= end {
            for (lane, acc_lane) in acc.iter_mut().enumerate() {
                let d = f32x4_sub(load(a, i + 4 * lane), load(b, i + 4 * lane));
                *acc_lane = f32x4_add(*acc_lane, f32x4_mul(d, d));
            }
            i += 16;
        }
        let sum = f32x4_add(f32x4_add(acc[0], acc[2]), f32x4_add(acc[1], acc[3]));
        let block = hsum_simd128(sum);
        s += add_squared_tail(block, a, b, i..end);
        if s > limit {
            return s;
        }
        start = end;
    }
    s
}

/// [`sq_dist_f32_bounded`] of one vector `a` to `N` vectors `b` in one pass, in explicit
/// simd128 (each load of `a` feeds `N` candidates): per candidate the operations of
/// [`sq_dist_bounded_simd128`] in its order, so every result that is <= `limit` has the
/// single kernel's bits, and every result that the single kernel puts above `limit` stays
/// above it (the blocks' sums only grow). Stops once all `N` exceed `limit`. All of `b`
/// must be at least as long as `a`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indices name the candidate and the lane
pub(crate) fn sq_distn_f32_bounded_simd128<const N: usize>(
    a: &[f32],
    b: [&[f32]; N],
    limit: f32,
) -> [f32; N] {
    use std::arch::wasm32::*;
    let n = a.len();
    assert!(
        b.iter().all(|v| v.len() >= n),
        "candidates as long as the query"
    );
    let pa = a.as_ptr();
    let pb = b.map(|v| v.as_ptr());
    // SAFETY: callers pass `at + 4 <= n`, within `a` and every `b`; wasm loads may be
    // unaligned.
    let load = |p: *const f32, at: usize| unsafe { v128_load(p.add(at) as *const v128) };
    let mut s = [0f32; N];
    let mut start = 0;
    while start < n {
        let end = (start + 64).min(n);
        let mut acc = [[f32x4_splat(0.0); 4]; N];
        let mut i = start;
        while i + 16 <= end {
            for lane in 0..4 {
                let x = load(pa, i + 4 * lane);
                for j in 0..N {
                    let d = f32x4_sub(x, load(pb[j], i + 4 * lane));
                    acc[j][lane] = f32x4_add(acc[j][lane], f32x4_mul(d, d));
                }
            }
            i += 16;
        }
        for j in 0..N {
            let acc = &acc[j];
            let sum = f32x4_add(f32x4_add(acc[0], acc[2]), f32x4_add(acc[1], acc[3]));
            let block = hsum_simd128(sum);
            s[j] += add_squared_tail(block, a, b[j], i..end);
        }
        if s.iter().all(|&v| v > limit) {
            return s;
        }
        start = end;
    }
    s
}

/// [`sq_dist_f32_bounded`] in explicit AVX2+FMA, for the searches compiled with AVX2+FMA:
/// per block of 128 coordinates, 16 lanes (two 8-lane FMA accumulators), reduced pairwise,
/// then the scalar tail; the blocks' sums are added in turn, stopping once the sum exceeds
/// `limit`. At most `8 + 4 + 16` roundings per term within a block plus one per block
/// (`len / 16 + 16 + len / 64` as the generic form). LLVM vectorised the generic lane loop
/// inlined into the AVX2 searches with 2-lane operations (measured: the 1024-d distances of
/// the join ran at a quarter of this kernel's speed).
///
/// # Safety
/// The CPU must support AVX2 and FMA ([`has_avx2_fma`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn sq_dist_f32_bounded_avx2(a: &[f32], b: &[f32], limit: f32) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut s = 0f32;
    let mut start = 0;
    while start < n {
        let end = (start + 128).min(n);
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = start;
        // SAFETY (all loads): i + 16 <= end <= n, within both slices.
        while i + 16 <= end {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            let d1 = _mm256_sub_ps(
                _mm256_loadu_ps(pa.add(i + 8)),
                _mm256_loadu_ps(pb.add(i + 8)),
            );
            acc0 = _mm256_fmadd_ps(d0, d0, acc0);
            acc1 = _mm256_fmadd_ps(d1, d1, acc1);
            i += 16;
        }
        let sum = _mm256_add_ps(acc0, acc1);
        let block = hsum_avx2(sum);
        s += add_squared_tail(block, a, b, i..end);
        if s > limit {
            return s;
        }
        start = end;
    }
    s
}

/// [`sq_dist_f32_bounded_avx2`] of one vector `a` to four vectors `b` in one pass (each
/// load of `a` feeds four candidates): per candidate the same operations in the same order,
/// so every result that is <= `limit` has the single kernel's bits, and every result that
/// the single kernel puts above `limit` stays above it (the blocks' sums only grow). Stops
/// once all four exceed `limit`. All of `b` must be at least as long as `a`.
///
/// # Safety
/// The CPU must support AVX2 and FMA ([`has_avx2_fma`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn sq_dist4_f32_bounded_avx2(a: &[f32], b: [&[f32]; 4], limit: f32) -> [f32; 4] {
    use std::arch::x86_64::*;
    let n = a.len();
    assert!(
        b.iter().all(|v| v.len() >= n),
        "candidates as long as the query"
    );
    let pa = a.as_ptr();
    let pb = [b[0].as_ptr(), b[1].as_ptr(), b[2].as_ptr(), b[3].as_ptr()];
    let mut s = [0f32; 4];
    let mut start = 0;
    while start < n {
        let end = (start + 128).min(n);
        let mut acc0 = [_mm256_setzero_ps(); 4];
        let mut acc1 = [_mm256_setzero_ps(); 4];
        let mut i = start;
        // SAFETY (all loads): i + 16 <= end <= n, within `a` and every `b`.
        while i + 16 <= end {
            let a0 = _mm256_loadu_ps(pa.add(i));
            let a1 = _mm256_loadu_ps(pa.add(i + 8));
            for j in 0..4 {
                let d0 = _mm256_sub_ps(a0, _mm256_loadu_ps(pb[j].add(i)));
                let d1 = _mm256_sub_ps(a1, _mm256_loadu_ps(pb[j].add(i + 8)));
                acc0[j] = _mm256_fmadd_ps(d0, d0, acc0[j]);
                acc1[j] = _mm256_fmadd_ps(d1, d1, acc1[j]);
            }
            i += 16;
        }
        for j in 0..4 {
            let sum = _mm256_add_ps(acc0[j], acc1[j]);
            let block = hsum_avx2(sum);
            s[j] += add_squared_tail(block, a, b[j], i..end);
        }
        if s.iter().all(|&v| v > limit) {
            return s;
        }
        start = end;
    }
    s
}

/// f32 dot product with 16 accumulators (added in turn after the scalar tail); the shorter
/// length counts. Error <= (len/16 + 32) * 2^-24 * sum of |a_i b_i|. The mapper's pruning
/// projection.
#[inline(always)]
pub(crate) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let n = a.len().min(b.len());
    let mut acc = [0f32; LANES];
    let chunks = n / LANES;
    for c in 0..chunks {
        let pa = &a[c * LANES..(c + 1) * LANES];
        let pb = &b[c * LANES..(c + 1) * LANES];
        for l in 0..LANES {
            acc[l] += pa[l] * pb[l];
        }
    }
    let mut s = 0f32;
    for i in chunks * LANES..n {
        s += a[i] * b[i];
    }
    for v in acc {
        s += v;
    }
    s
}

/// Four f32 dot products of `a` with `b[0..4]` in one pass over `a` (explicit AVX2+FMA):
/// per vector 16 lanes (two 8-lane FMA accumulators; element `i` in lane `i % 16`), reduced
/// pairwise, plus the scalar tail; the shorter length counts. Error as [`dot_f32`]:
/// <= (len/16 + 32) * 2^-24 * sum of |a_i b_i|. The pruning projection's kernel.
///
/// # Safety
/// The CPU must support AVX2 and FMA ([`has_avx2_fma`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn dot4_f32_avx2(a: &[f32], b: [&[f32]; 4]) -> [f32; 4] {
    use std::arch::x86_64::*;
    let n = b.iter().fold(a.len(), |n, v| n.min(v.len()));
    let pa = a.as_ptr();
    let pb = b.map(|v| v.as_ptr());
    let mut acc = [[_mm256_setzero_ps(); 2]; 4];
    let mut i = 0;
    // SAFETY (all loads): i + 16 <= n, within `a` and every `b`.
    while i + 16 <= n {
        let a0 = _mm256_loadu_ps(pa.add(i));
        let a1 = _mm256_loadu_ps(pa.add(i + 8));
        for t in 0..4 {
            acc[t][0] = _mm256_fmadd_ps(a0, _mm256_loadu_ps(pb[t].add(i)), acc[t][0]);
            acc[t][1] = _mm256_fmadd_ps(a1, _mm256_loadu_ps(pb[t].add(i + 8)), acc[t][1]);
        }
        i += 16;
    }
    let mut out = [0f32; 4];
    for t in 0..4 {
        let sum = _mm256_add_ps(acc[t][0], acc[t][1]);
        let mut total = hsum_avx2(sum);
        for j in i..n {
            total += a[j] * b[t][j];
        }
        out[t] = total;
    }
    out
}

/// Two f32 dot products of `a` with `b[0..2]` in one pass over `a` (explicit simd128): per
/// vector 16 lanes (four 4-lane accumulators), reduced pairwise, plus the scalar tail; the
/// shorter length counts. Error as [`dot_f32`]. The reference of the wasm projection's
/// [`dots_f32_simd128`] (its bits), kept for the wasm kernel tests.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indices name the vector and the lane
pub(crate) fn dot2_f32_simd128(a: &[f32], b: [&[f32]; 2]) -> [f32; 2] {
    use std::arch::wasm32::*;
    let n = a.len().min(b[0].len()).min(b[1].len());
    let (a, b) = (&a[..n], [&b[0][..n], &b[1][..n]]);
    // SAFETY: callers pass `at + 4 <= n` (checked by the loop condition); wasm loads may be
    // unaligned.
    let load = |s: &[f32], at: usize| unsafe { v128_load(s.as_ptr().add(at) as *const v128) };
    let mut acc = [[f32x4_splat(0.0); 4]; 2];
    let mut i = 0;
    while i + 16 <= n {
        for lane in 0..4 {
            let x = load(a, i + 4 * lane);
            for t in 0..2 {
                acc[t][lane] = f32x4_add(acc[t][lane], f32x4_mul(x, load(b[t], i + 4 * lane)));
            }
        }
        i += 16;
    }
    let mut out = [0f32; 2];
    for t in 0..2 {
        let sum = f32x4_add(
            f32x4_add(acc[t][0], acc[t][2]),
            f32x4_add(acc[t][1], acc[t][3]),
        );
        let mut total = hsum_simd128(sum);
        for j in i..n {
            total += a[j] * b[t][j];
        }
        out[t] = total;
    }
    out
}

/// The dot products of `R` vectors `a` with `V` vectors `b` in one pass (explicit simd128,
/// register tiling: each load of an `a` feeds `V` products, each load of a `b` feeds `R`),
/// `out[r][v]` with **the bits of [`dot2_f32_simd128`]** for that pair: per pair the four
/// 4-lane accumulators (element `i` in accumulator `(i / 4) % 4`), reduced as there, then the
/// scalar tail. The accumulators are formed `4 / PASSES` at a time (`PASSES` passes over the
/// vectors, each pass touching its share of every 16 values) so that `R * V * 4 / PASSES`
/// stay in registers. All vectors must hold at least `a[0].len()` values.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indices name the row, the vector and the lane
pub(crate) fn dots_f32_simd128<const R: usize, const V: usize, const PASSES: usize>(
    a: [&[f32]; R],
    b: [&[f32]; V],
    out: &mut [[f32; V]; R],
) {
    use std::arch::wasm32::*;
    const { assert!(PASSES == 1 || PASSES == 2 || PASSES == 4) };
    let n = if R > 0 { a[0].len() } else { 0 };
    assert!(
        a.iter().all(|v| v.len() >= n) && b.iter().all(|v| v.len() >= n),
        "vectors as long as the first"
    );
    let pa = a.map(|v| v.as_ptr());
    let pb = b.map(|v| v.as_ptr());
    // SAFETY: callers pass `at + 4 <= n`, within every vector; wasm loads may be unaligned.
    let load = |p: *const f32, at: usize| unsafe { v128_load(p.add(at) as *const v128) };
    let full = n / 16 * 16;
    let per_pass = 4 / PASSES;
    let mut acc = [[[f32x4_splat(0.0); 4]; V]; R];
    for pass in 0..PASSES {
        let lanes = pass * per_pass..(pass + 1) * per_pass;
        let mut part = [[[f32x4_splat(0.0); 4]; V]; R];
        let mut i = 0;
        while i < full {
            for lane in lanes.clone() {
                let x: [v128; R] = std::array::from_fn(|r| load(pa[r], i + 4 * lane));
                for v in 0..V {
                    let y = load(pb[v], i + 4 * lane);
                    for r in 0..R {
                        part[r][v][lane] = f32x4_add(part[r][v][lane], f32x4_mul(x[r], y));
                    }
                }
            }
            i += 16;
        }
        for r in 0..R {
            for v in 0..V {
                for lane in lanes.clone() {
                    acc[r][v][lane] = part[r][v][lane];
                }
            }
        }
    }
    for r in 0..R {
        for v in 0..V {
            let acc = &acc[r][v];
            let sum = f32x4_add(f32x4_add(acc[0], acc[2]), f32x4_add(acc[1], acc[3]));
            let mut total = hsum_simd128(sum);
            for j in full..n {
                total += a[r][j] * b[v][j];
            }
            out[r][v] = total;
        }
    }
}

/// float64 dot product summed in coordinate order (one accumulator, left to right): the
/// kernel of the power and Lanczos iterations (`first_principal_component`,
/// `leading_subspace`, UMAP's spectral start, the layout's pivot MDS), whose results are
/// pinned to this order.
#[inline]
pub(crate) fn dot_f64_in_order(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// float64 dot product with four partial sums (a fixed order: `(s0 + s1) + (s2 + s3)`, then
/// the tail in turn); the shorter length counts. The PCA routines' kernel ([`super::pca`],
/// [`super::linalg::orthonormalise`]).
#[inline]
pub(crate) fn dot_f64(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0; 4];
    let chunks_a = a.chunks_exact(4);
    let chunks_b = b.chunks_exact(4);
    let (tail_a, tail_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for lane in 0..4 {
            sums[lane] += x[lane] * y[lane];
        }
    }
    let mut total = (sums[0] + sums[1]) + (sums[2] + sums[3]);
    for (x, y) in tail_a.iter().zip(tail_b) {
        total += x * y;
    }
    total
}

/// [`dot_f64`] of `a` with each of the `K` vectors of `vectors` (`K * a.len()` values,
/// vector-major), side by side: each dot is the same operations in the same order as
/// [`dot_f64`]'s (four lane sums over the chunks of four, `(s0 + s1) + (s2 + s3)`, the tail in
/// turn), so the same bits, but the `K` dependency chains overlap instead of each waiting on
/// its own adds (the PCA's passes: 6 dots per row).
#[inline]
pub(crate) fn dots_f64<const K: usize>(a: &[f64], vectors: &[f64]) -> [f64; K] {
    let dim = a.len();
    assert_eq!(vectors.len(), K * dim, "K vectors of a's length");
    let (chunks_a, tail_a) = a.as_chunks::<4>();
    let full = chunks_a.len();
    let chunks: [&[[f64; 4]]; K] =
        std::array::from_fn(|j| &vectors[j * dim..(j + 1) * dim].as_chunks::<4>().0[..full]);
    let sums = lane_sums_f64(chunks_a, &chunks);
    std::array::from_fn(|j| {
        let sum = &sums[j];
        let mut total = (sum[0] + sum[1]) + (sum[2] + sum[3]);
        let tail_b = &vectors[j * dim + 4 * full..(j + 1) * dim];
        for (x, y) in tail_a.iter().zip(tail_b) {
            total += x * y;
        }
        total
    })
}

/// The four lane sums of [`dots_f64`]: `sums[j][lane] = sum_c x[c][lane] * y_j[c][lane]`,
/// `c` ascending (every `y_j` has `x`'s length). Two lanes per SSE2 / SIMD128 register (the
/// compiler left the plain loop scalar with six vectors: 24 sums spill), each lane the same
/// multiply and add in the same order as the plain loop other targets keep: the same bits.
#[inline]
fn lane_sums_f64<const K: usize>(x: &[[f64; 4]], y: &[&[[f64; 4]]; K]) -> [[f64; 4]; K] {
    let mut sums = [[0.0f64; 4]; K];
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128d, _mm_add_pd, _mm_loadu_pd, _mm_mul_pd, _mm_setzero_pd, _mm_storeu_pd,
        };
        // SAFETY: SSE2 is part of x86-64's baseline; every load reads a whole `[f64; 4]`
        // of a slice at least as long as `x` (the index is checked), every store writes one
        // of `sums`.
        unsafe {
            let mut low: [__m128d; K] = [_mm_setzero_pd(); K];
            let mut high: [__m128d; K] = [_mm_setzero_pd(); K];
            for (c, chunk) in x.iter().enumerate() {
                let x_low = _mm_loadu_pd(chunk.as_ptr());
                let x_high = _mm_loadu_pd(chunk.as_ptr().add(2));
                for j in 0..K {
                    let y_chunk = &y[j][c];
                    low[j] = _mm_add_pd(low[j], _mm_mul_pd(x_low, _mm_loadu_pd(y_chunk.as_ptr())));
                    high[j] = _mm_add_pd(
                        high[j],
                        _mm_mul_pd(x_high, _mm_loadu_pd(y_chunk.as_ptr().add(2))),
                    );
                }
            }
            for j in 0..K {
                _mm_storeu_pd(sums[j].as_mut_ptr(), low[j]);
                _mm_storeu_pd(sums[j].as_mut_ptr().add(2), high[j]);
            }
        }
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use std::arch::wasm32::{f64x2, f64x2_add, f64x2_extract_lane, f64x2_mul, v128, v128_load};
        let load = |pair: &[f64]| {
            assert!(pair.len() == 2);
            // SAFETY: `pair` is two f64 (16 bytes); wasm loads need no alignment.
            unsafe { v128_load(pair.as_ptr() as *const v128) }
        };
        let mut low: [v128; K] = [f64x2(0.0, 0.0); K];
        let mut high: [v128; K] = [f64x2(0.0, 0.0); K];
        for (c, chunk) in x.iter().enumerate() {
            let (x_low, x_high) = (load(&chunk[..2]), load(&chunk[2..]));
            for j in 0..K {
                let y_chunk = &y[j][c];
                low[j] = f64x2_add(low[j], f64x2_mul(x_low, load(&y_chunk[..2])));
                high[j] = f64x2_add(high[j], f64x2_mul(x_high, load(&y_chunk[2..])));
            }
        }
        for j in 0..K {
            sums[j] = [
                f64x2_extract_lane::<0>(low[j]),
                f64x2_extract_lane::<1>(low[j]),
                f64x2_extract_lane::<0>(high[j]),
                f64x2_extract_lane::<1>(high[j]),
            ];
        }
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    for (c, chunk) in x.iter().enumerate() {
        for (sum, vector) in sums.iter_mut().zip(y) {
            let y_chunk = &vector[c];
            for lane in 0..4 {
                sum[lane] += chunk[lane] * y_chunk[lane];
            }
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// f32 unit roundoff.
    const U: f64 = f32::EPSILON as f64 / 2.0;

    /// Every remainder of the 4-, 8-, 16- and 32-wide loops, then long vectors.
    fn lengths() -> Vec<usize> {
        let mut lengths: Vec<usize> = (0..=33).collect();
        lengths.extend([63, 64, 65, 127, 255, 256, 257, 1000, 1023, 4099]);
        lengths
    }

    /// Uniform in [-1, 1], or of mixed magnitudes `±10^e`, e in [-4, 4].
    fn vector(rng: &mut ChaCha8Rng, len: usize, mixed: bool) -> Vec<f32> {
        (0..len)
            .map(|_| {
                let unit = rng.random_range(-1.0f64..1.0);
                if mixed {
                    (unit.signum() * 10f64.powf(8.0 * rng.random::<f64>() - 4.0)) as f32
                } else {
                    unit as f32
                }
            })
            .collect()
    }

    fn sq_dist_reference(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (x as f64 - y as f64) * (x as f64 - y as f64))
            .sum()
    }

    /// `got` within `chain` roundings of the float64 `exact` (relative to `magnitude`).
    fn check(what: &str, got: f64, exact: f64, magnitude: f64, chain: usize) {
        let tolerance = (chain + 3) as f64 * U * magnitude + 1e-40;
        assert!(
            got.is_finite() && (got - exact).abs() <= tolerance,
            "{what}: got {got:e}, exact {exact:e}, tolerance {tolerance:e}"
        );
    }

    #[test]
    fn squared_distances_agree_with_a_float64_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for len in lengths() {
            for mixed in [false, true] {
                let a = vector(&mut rng, len, mixed);
                let b = vector(&mut rng, len, mixed);
                let exact = sq_dist_reference(&a, &b);
                let chain = len / 8 + 32;
                let what = format!("len {len} mixed {mixed}");
                check(&what, sq_dist_f32(&a, &b) as f64, exact, exact, chain);
                check(&what, sq_dist_portable(&a, &b) as f64, exact, exact, chain);
                check(
                    &what,
                    sq_dist_f32_lanes16(&a, &b) as f64,
                    exact,
                    exact,
                    len / 16 + 16,
                );
                #[cfg(target_arch = "x86_64")]
                if has_avx2_fma() {
                    // SAFETY: the CPU supports AVX2 and FMA (checked).
                    let unbounded = unsafe { sq_dist_f32_bounded_avx2(&a, &b, f32::INFINITY) };
                    check(
                        &what,
                        unbounded as f64,
                        exact,
                        exact,
                        len / 16 + 16 + len / 64,
                    );
                    let limit = (exact / 2.0) as f32;
                    if limit > 0.0 {
                        // SAFETY: as above.
                        let early = unsafe { sq_dist_f32_bounded_avx2(&a, &b, limit) };
                        assert!(early > limit, "{what}");
                    }
                    // SAFETY: as above.
                    assert_eq!(unsafe { sq_dist_f32_bounded_avx2(&a, &a, 1.0) }, 0.0);
                    // Four candidates at once: the single kernel's bits below the limit.
                    let c = vector(&mut rng, len, !mixed);
                    for limit in [f32::INFINITY, (exact / 2.0) as f32, (exact * 2.0) as f32] {
                        // SAFETY: as above.
                        let four =
                            unsafe { sq_dist4_f32_bounded_avx2(&a, [&b, &a, &c, &b], limit) };
                        for (got, other) in four.iter().zip([&b, &a, &c, &b]) {
                            // SAFETY: as above.
                            let single = unsafe { sq_dist_f32_bounded_avx2(&a, other, limit) };
                            if single <= limit {
                                assert_eq!(got.to_bits(), single.to_bits(), "{what}");
                            } else {
                                assert!(*got > limit, "{what}");
                            }
                        }
                    }
                }
                let unbounded = sq_dist_f32_bounded(&a, &b, f32::INFINITY);
                check(
                    &what,
                    unbounded as f64,
                    exact,
                    exact,
                    len / 16 + 16 + len / 64,
                );
                // Stopping early returns a partial sum above the limit.
                let limit = (exact / 2.0) as f32;
                if limit > 0.0 {
                    assert!(sq_dist_f32_bounded(&a, &b, limit) > limit, "{what}");
                }
                // A vector against itself is exactly zero.
                assert_eq!(sq_dist_f32(&a, &a), 0.0, "{what}");
                assert_eq!(sq_dist_f32_lanes16(&a, &a), 0.0, "{what}");
            }
        }
    }

    #[test]
    fn block_distances_agree_with_a_float64_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut out = Vec::new();
        for dim in lengths().into_iter().filter(|&d| d > 0) {
            for count in [0usize, 1, 3, 4, 5, 8, 9] {
                let q = vector(&mut rng, dim, dim % 2 == 0);
                let block = vector(&mut rng, dim * count, dim % 2 == 0);
                sq_dists_to_block(&q, &block, dim, &mut out);
                assert_eq!(out.len(), count, "dim {dim}: one distance per target");
                for (t, &got) in out.iter().enumerate() {
                    let exact = sq_dist_reference(&q, &block[t * dim..(t + 1) * dim]);
                    let what = format!("dim {dim} target {t} of {count}");
                    check(&what, got as f64, exact, exact, dim / 8 + 32);
                }
            }
        }
    }

    #[test]
    fn tiles_give_the_block_kernels_bits() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let (mut tile, mut one) = (Vec::new(), Vec::new());
        for dim in lengths().into_iter().filter(|&d| d > 0) {
            for count in [0usize, 1, 3, 4, 5, 8, 9, 14] {
                for n_queries in [1usize, 3, 4, 5, 9] {
                    let mixed = dim % 2 == 1;
                    let queries: Vec<Vec<f32>> = (0..n_queries)
                        .map(|_| vector(&mut rng, dim, mixed))
                        .collect();
                    let block = vector(&mut rng, dim * count, mixed);
                    let refs: Vec<&[f32]> = queries.iter().map(|q| q.as_slice()).collect();
                    sq_dists_to_tile(&refs, &block, dim, &mut tile);
                    assert_eq!(tile.len(), n_queries * count, "dim {dim}");
                    for (q, query) in queries.iter().enumerate() {
                        sq_dists_to_block(query, &block, dim, &mut one);
                        let bits = |v: &[f32]| v.iter().map(|d| d.to_bits()).collect::<Vec<_>>();
                        assert_eq!(
                            bits(&tile[q * count..(q + 1) * count]),
                            bits(&one),
                            "dim {dim}, {count} targets, query {q} of {n_queries}"
                        );
                    }
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn four_dot_products_agree_with_a_float64_reference() {
        if !has_avx2_fma() {
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for len in lengths() {
            let a = vector(&mut rng, len, true);
            let b: Vec<Vec<f32>> = (0..4).map(|_| vector(&mut rng, len, true)).collect();
            // SAFETY: the CPU supports AVX2 and FMA (checked).
            let got = unsafe { dot4_f32_avx2(&a, [&b[0], &b[1], &b[2], &b[3]]) };
            for t in 0..4 {
                let exact: f64 = a
                    .iter()
                    .zip(&b[t])
                    .map(|(&x, &y)| x as f64 * y as f64)
                    .sum();
                let magnitude: f64 = a
                    .iter()
                    .zip(&b[t])
                    .map(|(&x, &y)| (x as f64 * y as f64).abs())
                    .sum();
                let what = format!("len {len} vector {t}");
                check(&what, got[t] as f64, exact, magnitude, len / 16 + 32);
            }
        }
    }

    #[test]
    fn dot_products_agree_with_a_float64_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for len in lengths() {
            for mixed in [false, true] {
                let a = vector(&mut rng, len, mixed);
                let b = vector(&mut rng, len, mixed);
                let (exact, magnitude) = a.iter().zip(&b).fold((0.0, 0.0), |(s, m), (&x, &y)| {
                    let p = x as f64 * y as f64;
                    (s + p, m + p.abs())
                });
                let what = format!("len {len} mixed {mixed}");
                check(
                    &what,
                    dot_f32(&a, &b) as f64,
                    exact,
                    magnitude,
                    len / 16 + 32,
                );
                // float64: the same inputs, four partial sums.
                let a64: Vec<f64> = a.iter().map(|&x| x as f64 * 1.000_000_1).collect();
                let b64: Vec<f64> = b.iter().map(|&x| x as f64).collect();
                let (exact64, magnitude64) = a64
                    .iter()
                    .zip(&b64)
                    .fold((0.0, 0.0), |(s, m), (x, y)| (s + x * y, m + (x * y).abs()));
                let got = dot_f64(&a64, &b64);
                let in_order = dot_f64_in_order(&a64, &b64);
                let sequential = a64.iter().zip(&b64).fold(-0.0, |s, (x, y)| s + x * y);
                assert_eq!(in_order.to_bits(), sequential.to_bits(), "{what}");
                let tolerance = (len / 4 + 8) as f64 * f64::EPSILON * magnitude64 + 1e-300;
                assert!(
                    (got - exact64).abs() <= tolerance,
                    "{what}: {got:e} vs {exact64:e}"
                );
            }
        }
    }

    #[test]
    fn side_by_side_dots_are_the_bits_of_dot_f64() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for len in lengths() {
            for mixed in [false, true] {
                let a: Vec<f64> = vector(&mut rng, len, mixed)
                    .iter()
                    .map(|&x| x as f64 * 1.000_000_1)
                    .collect();
                let vectors: Vec<f64> = vector(&mut rng, 6 * len, mixed)
                    .iter()
                    .map(|&x| x as f64)
                    .collect();
                let one = |j: usize| dot_f64(&a, &vectors[j * len..(j + 1) * len]).to_bits();
                let six = dots_f64::<6>(&a, &vectors).map(f64::to_bits);
                assert_eq!(six, std::array::from_fn(one), "len {len} mixed {mixed}");
                let two = dots_f64::<2>(&a, &vectors[..2 * len]).map(f64::to_bits);
                assert_eq!(two, [one(0), one(1)], "len {len} mixed {mixed}");
            }
        }
    }

    #[test]
    fn overflow_gives_infinity_not_nan() {
        for len in [1usize, 3, 4, 8, 15, 16, 17, 33, 64, 100] {
            let a = vec![2e38f32; len];
            let b = vec![-2e38f32; len];
            assert_eq!(sq_dist_f32(&a, &b), f32::INFINITY, "len {len}");
            assert_eq!(sq_dist_f32_lanes16(&a, &b), f32::INFINITY, "len {len}");
            let mut out = Vec::new();
            let block: Vec<f32> = b.iter().cycle().take(len * 5).copied().collect();
            sq_dists_to_block(&a, &block, len, &mut out);
            assert!(
                out.iter().all(|&d| d == f32::INFINITY),
                "len {len}: {out:?}"
            );
        }
    }
}
