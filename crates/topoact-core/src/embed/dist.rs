//! Distance kernels shared by the k-NN search and the quality measure.

/// Squared euclidean distance of two equally long f32 vectors, by differences, with 16
/// independent accumulators so the compiler vectorises it (SSE2/AVX on x86-64, simd128 in
/// wasm when enabled). Deterministic for given inputs: the summation order is fixed.
#[inline(always)]
pub(crate) fn sq_dist_f32(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut acc = [0f32; LANES];
    let mut a_chunks = a.chunks_exact(LANES);
    let mut b_chunks = b.chunks_exact(LANES);
    for (ca, cb) in (&mut a_chunks).zip(&mut b_chunks) {
        for lane in 0..LANES {
            let d = ca[lane] - cb[lane];
            acc[lane] += d * d;
        }
    }
    let mut total = 0f32;
    for (x, y) in a_chunks.remainder().iter().zip(b_chunks.remainder()) {
        let d = x - y;
        total += d * d;
    }
    // Pairwise reduction of the lanes.
    let mut width = LANES / 2;
    while width > 0 {
        for lane in 0..width {
            acc[lane] += acc[lane + width];
        }
        width /= 2;
    }
    total + acc[0]
}
