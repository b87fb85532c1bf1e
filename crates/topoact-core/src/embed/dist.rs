//! Squared euclidean distance kernels shared by the k-NN search and the quality measure.
//!
//! Three builds of one formula (sum of squared differences): explicit AVX2+FMA on x86-64
//! CPUs that have it (chosen at run time), explicit simd128 in wasm (the workspace enables it
//! for wasm32), and a portable 8-accumulator loop elsewhere. Each build is deterministic (a
//! fixed summation order); the builds differ from each other in the last bits (FMA), so
//! results are bit-identical per platform, as the module invariant requires.
//!
//! The batched form (`sq_dists_to_block`) dispatches once per batch and computes four targets
//! per pass over the query (register blocking: one query load feeds four pairs), so a pair
//! may differ in the last bits from `sq_dist_f32` of the same vectors; each is deterministic.

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
            let mut total = (f32x4_extract_lane::<0>(sum) + f32x4_extract_lane::<2>(sum))
                + (f32x4_extract_lane::<1>(sum) + f32x4_extract_lane::<3>(sum));
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
    let half = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
    let quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
    let single = _mm_add_ss(quarter, _mm_shuffle_ps(quarter, quarter, 1));
    let mut total = _mm_cvtss_f32(single);
    while i < len {
        let d = a[i] - b[i];
        total += d * d;
        i += 1;
    }
    total
}

/// Portable kernel: explicit simd128 in wasm, else eight scalar accumulators.
#[inline(always)]
fn sq_dist_portable(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        sq_dist_simd128(a, b)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        const LANES: usize = 8;
        let len = a.len().min(b.len());
        let (a, b) = (&a[..len], &b[..len]);
        let mut acc = [0f32; LANES];
        let chunks = len / LANES;
        for c in 0..chunks {
            let (ca, cb) = (
                &a[c * LANES..(c + 1) * LANES],
                &b[c * LANES..(c + 1) * LANES],
            );
            for lane in 0..LANES {
                let d = ca[lane] - cb[lane];
                acc[lane] += d * d;
            }
        }
        let mut total = 0f32;
        for i in chunks * LANES..len {
            let d = a[i] - b[i];
            total += d * d;
        }
        total + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
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
    let mut total = (f32x4_extract_lane::<0>(sum) + f32x4_extract_lane::<2>(sum))
        + (f32x4_extract_lane::<1>(sum) + f32x4_extract_lane::<3>(sum));
    while i < len {
        let d = a[i] - b[i];
        total += d * d;
        i += 1;
    }
    total
}

/// True when the CPU has AVX2 and FMA (std caches the detection; a few ns per call).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_kernel_agrees_with_f64_within_rounding() {
        for (dim, count) in [(1usize, 9usize), (7, 5), (16, 8), (33, 7), (256, 13)] {
            let q: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.37).sin()).collect();
            let block: Vec<f32> = (0..dim * count).map(|i| (i as f32 * 0.11).cos()).collect();
            let mut out = Vec::new();
            sq_dists_to_block(&q, &block, dim, &mut out);
            assert_eq!(out.len(), count);
            for (t, got) in out.iter().enumerate() {
                let exact: f64 = q
                    .iter()
                    .zip(&block[t * dim..(t + 1) * dim])
                    .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
                    .sum();
                assert!(
                    (*got as f64 - exact).abs() <= 1e-5 * exact.max(1e-3),
                    "dim {dim} target {t}: {got} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn kernels_agree_with_f64_within_rounding() {
        for len in [0usize, 1, 7, 8, 31, 32, 33, 100, 256, 1000] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let exact: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
                .sum();
            for got in [sq_dist_f32(&a, &b), sq_dist_portable(&a, &b)] {
                assert!(
                    (got as f64 - exact).abs() <= 1e-5 * exact.max(1e-3),
                    "len {len}: {got} vs {exact}"
                );
            }
        }
    }
}
