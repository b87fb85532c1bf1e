//! The attractive half of the t-SNE gradient, `F_i = sum_j p_ij q_ij (y_i - y_j)` with
//! `q_ij = 1 / (1 + |y_i - y_j|^2)`, evaluating each symmetric pair once.
//!
//! `P` is symmetric (`p_ij == p_ji` bit for bit), so the pair `(i, j)` with `i < j` adds
//! `w (y_i - y_j)` to `F_i` and its negative to `F_j`: one division per pair instead of two.
//! The rows are cut into [`BLOCKS`] runs of about equal pair counts (a function of `P` only);
//! each run writes into its own accumulator covering its first point to the last, and the
//! accumulators are added point by point in run order. Which thread runs which run does not
//! change any sum, so the forces are the same bits on one thread or many.
//!
//! Four pairs at a time by hand in SSE2 and SIMD128 ([`row_chunks`]).
//!
//! Precision: single precision throughout (four lanes per row, accumulators in f32), about
//! `1e-6` relative, far below the repulsion's interpolation error (~`1e-3`).

#[cfg(test)]
use super::affinity::SparseAffinities;

/// Runs of rows, each with its own accumulator (a constant, so results do not depend on the
/// thread count; 8 keeps up to 8 threads busy and costs 8 passes of `2 n` floats).
const BLOCKS: usize = 8;

/// Four pairs at a time: one SIMD128 division for four weights in the browser.
const LANES: usize = 4;

/// The upper triangle of `P` and the accumulators of [`attract`](PairAttraction::attract).
#[derive(Debug)]
pub(crate) struct PairAttraction {
    n_points: usize,
    /// Row `i`'s pairs `(j, p_ij)` with `j > i` are `row_starts[i]..row_starts[i + 1]`.
    row_starts: Vec<usize>,
    columns: Vec<u32>,
    values: Vec<f32>,
    /// Run `b` covers rows `run_starts[b]..run_starts[b + 1]`.
    run_starts: Vec<usize>,
    /// Run `b`'s forces on points `run_starts[b]..n_points`, x and y interleaved.
    accumulators: Vec<Vec<f32>>,
}

impl PairAttraction {
    /// From the whole symmetric matrix (its upper triangle is kept).
    #[cfg(test)]
    pub(crate) fn new(affinities: &SparseAffinities) -> Self {
        let n_points = affinities.row_starts.len() - 1;
        let mut row_starts = Vec::with_capacity(n_points + 1);
        let mut columns = Vec::new();
        let mut values = Vec::new();
        row_starts.push(0);
        for i in 0..n_points {
            let range = affinities.row_starts[i]..affinities.row_starts[i + 1];
            for (&j, &p) in affinities.columns[range.clone()]
                .iter()
                .zip(&affinities.values[range])
            {
                if j as usize > i {
                    columns.push(j);
                    values.push(p);
                }
            }
            row_starts.push(columns.len());
        }
        Self::from_upper(row_starts, columns, values)
    }

    /// From the upper triangle of `P` in compressed-row form: row `i`'s pairs `(j, p_ij)`,
    /// `j > i` ascending, are `row_starts[i]..row_starts[i + 1]` of `columns` and `values`.
    pub(crate) fn from_upper(row_starts: Vec<usize>, columns: Vec<u32>, values: Vec<f32>) -> Self {
        let n_points = row_starts.len() - 1;
        // The unchecked reads and writes in `row_pairs` rest on these two facts.
        assert!(
            columns.iter().all(|&j| (j as usize) < n_points),
            "affinity columns index points"
        );
        debug_assert!((0..n_points).all(|i| {
            columns[row_starts[i]..row_starts[i + 1]]
                .iter()
                .all(|&j| j as usize > i)
        }));
        let total = columns.len();
        let mut run_starts = vec![0usize];
        for b in 1..BLOCKS {
            let target = total * b / BLOCKS;
            let previous = *run_starts.last().unwrap_or(&0);
            let start = row_starts
                .partition_point(|&s| s < target)
                .clamp(previous, n_points);
            run_starts.push(start);
        }
        run_starts.push(n_points);
        let accumulators = run_starts[..BLOCKS]
            .iter()
            .map(|&start| vec![0f32; 2 * (n_points - start)])
            .collect();
        Self {
            n_points,
            row_starts,
            columns,
            values,
            run_starts,
            accumulators,
        }
    }

    /// The upper triangle held: row starts, columns, values.
    #[cfg(test)]
    pub(crate) fn upper(&self) -> (&[usize], &[u32], &[f32]) {
        (&self.row_starts, &self.columns, &self.values)
    }

    /// Writes `F_i` (x, y interleaved) into `out` for the coordinates `coords`.
    pub(crate) fn attract(&mut self, coords: &[f64], out: &mut [f64]) {
        assert_eq!(coords.len(), 2 * self.n_points, "two coordinates per point");
        assert_eq!(out.len(), 2 * self.n_points, "two forces per point");
        let coords32: Vec<f32> = coords.iter().map(|&v| v as f32).collect();
        let Self {
            row_starts,
            columns,
            values,
            run_starts,
            accumulators,
            ..
        } = self;
        let (row_starts, columns, values) = (&*row_starts, &*columns, &*values);
        let run = |b: usize, accumulator: &mut Vec<f32>| {
            accumulator.fill(0.0);
            let first = run_starts[b];
            for i in first..run_starts[b + 1] {
                let range = row_starts[i]..row_starts[i + 1];
                let own = row_pairs(
                    i - first,
                    (coords32[2 * i], coords32[2 * i + 1]),
                    &columns[range.clone()],
                    &values[range],
                    first,
                    &coords32,
                    accumulator,
                );
                accumulator[2 * (i - first)] += own[0];
                accumulator[2 * (i - first) + 1] += own[1];
            }
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            accumulators
                .par_iter_mut()
                .enumerate()
                .for_each(|(b, accumulator)| run(b, accumulator));
        }
        #[cfg(not(feature = "parallel"))]
        for (b, accumulator) in accumulators.iter_mut().enumerate() {
            run(b, accumulator);
        }

        let accumulators = &*accumulators;
        let reduce = |i: usize, force: &mut [f64]| {
            let mut sum = [0f64; 2];
            for (b, accumulator) in accumulators.iter().enumerate() {
                let first = run_starts[b];
                if i < first {
                    break;
                }
                sum[0] += accumulator[2 * (i - first)] as f64;
                sum[1] += accumulator[2 * (i - first) + 1] as f64;
            }
            force.copy_from_slice(&sum);
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            out.par_chunks_mut(2)
                .enumerate()
                .with_min_len(4096)
                .for_each(|(i, force)| reduce(i, force));
        }
        #[cfg(not(feature = "parallel"))]
        for (i, force) in out.chunks_mut(2).enumerate() {
            reduce(i, force);
        }
    }
}

/// Row `i`'s pairs `(j, p_ij)`, `j > i`: returns `i`'s own share and subtracts each `j`'s
/// from `accumulator` (which starts at point `first`; `i`'s slot is `local`). Whole chunks
/// of four pairs go through [`row_chunks`] (lane `t % 4` for the row's pair `t`), the last
/// `len % 4` pairs are added to lane 0 one by one.
#[inline]
fn row_pairs(
    local: usize,
    (xi, yi): (f32, f32),
    columns: &[u32],
    values: &[f32],
    first: usize,
    coords32: &[f32],
    accumulator: &mut [f32],
) -> [f32; 2] {
    debug_assert!(columns.iter().all(|&j| j as usize - first > local));
    let len = columns.len().min(values.len());
    let whole = len / LANES * LANES;
    let (mut fx, mut fy) = row_chunks(
        (xi, yi),
        &columns[..whole],
        &values[..whole],
        first,
        coords32,
        accumulator,
    );
    for (&j, &p) in columns[whole..len].iter().zip(&values[whole..len]) {
        let j = j as usize;
        let dx = xi - coords32[2 * j];
        let dy = yi - coords32[2 * j + 1];
        let weight = p / (1.0 + dx * dx + dy * dy);
        fx[0] += weight * dx;
        fy[0] += weight * dy;
        let slot = 2 * (j - first);
        accumulator[slot] -= weight * dx;
        accumulator[slot + 1] -= weight * dy;
    }
    [
        (fx[0] + fx[1]) + (fx[2] + fx[3]),
        (fy[0] + fy[1]) + (fy[2] + fy[3]),
    ]
}

/// The pairs of a row in chunks of four (`columns.len()` a multiple of 4): per lane, the
/// sums of `w (y_i - y_j)` (x then y), each `j`'s share subtracted from `accumulator`.
///
/// By hand in SSE2 (x86-64) and SIMD128 (wasm32 with `simd128`, the browser), which the
/// compiler did not find from the plain loop: each partner's `(x, y)` read as one 64-bit
/// load and its `(F_x, F_y)` updated with one 64-bit load and store, four weights with one
/// division. The same operations lane by lane as the plain loop (kept for other targets),
/// so the same bits (callgrind, 50,000 x 256, iterations 600-609 on one thread: the
/// attraction about 102 to 68 million instructions per iteration, the whole iteration 552
/// to 517 million). Written as three plain loops over a 64-pair block instead (offsets
/// gathered, weights, updates scattered), the compiler kept the scalar code: 119 million.
/// A partner's accumulator slot is addressed from `2 j`, as its coordinates are (the
/// accumulator's pointer moved back by `2 first` once per row), not from `2 (j - first)`:
/// one subtraction less per pair (callgrind, same run, iterations 20-29: 2,251 to 2,201
/// million instructions; the same bits).
#[cfg(target_arch = "x86_64")]
#[inline]
#[allow(unused_unsafe)]
fn row_chunks(
    (xi, yi): (f32, f32),
    columns: &[u32],
    values: &[f32],
    first: usize,
    coords32: &[f32],
    accumulator: &mut [f32],
) -> ([f32; LANES], [f32; LANES]) {
    use std::arch::x86_64::*;
    debug_assert!(columns.len().is_multiple_of(LANES) && values.len() >= columns.len());
    let coords = coords32.as_ptr();
    // The accumulator as if it started at point 0 (`wrapping_sub`: that address may lie
    // outside it), so a partner's slot is found from `2 j` alone, as its coordinates are.
    let acc = accumulator.as_mut_ptr().wrapping_sub(2 * first);
    // SAFETY: SSE2 is part of x86-64. Every `j < n_points` (checked in `new`) and
    // `coords32.len() == 2 n_points` (checked in `attract`), so the 8 bytes at `2 j` are in
    // bounds; `first <= i < j` and the accumulator holds `2 (n_points - first)` floats from
    // `acc + 2 first`, so the 8 bytes at `acc + 2 j` are too. Unaligned 64-bit loads and
    // stores are allowed.
    unsafe {
        let pair = |j: u32| _mm_castpd_ps(_mm_load_sd(coords.add(2 * j as usize) as *const f64));
        let subtract = |j: u32, w: __m128| {
            let slot = acc.wrapping_add(2 * j as usize) as *mut f64;
            let old = _mm_castpd_ps(_mm_load_sd(slot));
            _mm_store_sd(slot, _mm_castps_pd(_mm_sub_ps(old, w)));
        };
        let own = _mm_setr_ps(xi, yi, xi, yi);
        let one = _mm_set1_ps(1.0);
        let (mut fx, mut fy) = (_mm_setzero_ps(), _mm_setzero_ps());
        for (js, ps) in columns.chunks_exact(LANES).zip(values.chunks_exact(LANES)) {
            // (dx0, dy0, dx1, dy1) and (dx2, dy2, dx3, dy3), then split by axis.
            let d01 = _mm_sub_ps(own, _mm_movelh_ps(pair(js[0]), pair(js[1])));
            let d23 = _mm_sub_ps(own, _mm_movelh_ps(pair(js[2]), pair(js[3])));
            let dx = _mm_shuffle_ps::<0b10_00_10_00>(d01, d23);
            let dy = _mm_shuffle_ps::<0b11_01_11_01>(d01, d23);
            let denominator = _mm_add_ps(_mm_add_ps(one, _mm_mul_ps(dx, dx)), _mm_mul_ps(dy, dy));
            let weight = _mm_div_ps(_mm_loadu_ps(ps.as_ptr()), denominator);
            let (wx, wy) = (_mm_mul_ps(weight, dx), _mm_mul_ps(weight, dy));
            fx = _mm_add_ps(fx, wx);
            fy = _mm_add_ps(fy, wy);
            // (wx0, wy0, wx1, wy1) and (wx2, wy2, wx3, wy3).
            let (w01, w23) = (_mm_unpacklo_ps(wx, wy), _mm_unpackhi_ps(wx, wy));
            subtract(js[0], w01);
            subtract(js[1], _mm_movehl_ps(w01, w01));
            subtract(js[2], w23);
            subtract(js[3], _mm_movehl_ps(w23, w23));
        }
        let (mut sum_x, mut sum_y) = ([0f32; LANES], [0f32; LANES]);
        _mm_storeu_ps(sum_x.as_mut_ptr(), fx);
        _mm_storeu_ps(sum_y.as_mut_ptr(), fy);
        (sum_x, sum_y)
    }
}

/// [`row_chunks`] in SIMD128 (the browser's build).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline]
fn row_chunks(
    (xi, yi): (f32, f32),
    columns: &[u32],
    values: &[f32],
    first: usize,
    coords32: &[f32],
    accumulator: &mut [f32],
) -> ([f32; LANES], [f32; LANES]) {
    use std::arch::wasm32::*;
    debug_assert!(columns.len().is_multiple_of(LANES) && values.len() >= columns.len());
    let coords = coords32.as_ptr();
    let acc = accumulator.as_mut_ptr().wrapping_sub(2 * first);
    // SAFETY: as in the x86-64 version: the 8 bytes at `2 j` of the coordinates and at
    // `acc + 2 j` (the accumulator's slot of `j`) are in bounds; wasm loads need no alignment.
    unsafe {
        let pair = |j: u32| v128_load64_zero(coords.add(2 * j as usize) as *const u64);
        let subtract = |j: u32, w: v128| {
            let slot = acc.wrapping_add(2 * j as usize) as *mut u64;
            let old = v128_load64_zero(slot);
            v128_store64_lane::<0>(f32x4_sub(old, w), slot);
        };
        let own = f32x4(xi, yi, xi, yi);
        let one = f32x4_splat(1.0);
        let (mut fx, mut fy) = (f32x4_splat(0.0), f32x4_splat(0.0));
        for (js, ps) in columns.chunks_exact(LANES).zip(values.chunks_exact(LANES)) {
            let d01 = f32x4_sub(own, i32x4_shuffle::<0, 1, 4, 5>(pair(js[0]), pair(js[1])));
            let d23 = f32x4_sub(own, i32x4_shuffle::<0, 1, 4, 5>(pair(js[2]), pair(js[3])));
            let dx = i32x4_shuffle::<0, 2, 4, 6>(d01, d23);
            let dy = i32x4_shuffle::<1, 3, 5, 7>(d01, d23);
            let denominator = f32x4_add(f32x4_add(one, f32x4_mul(dx, dx)), f32x4_mul(dy, dy));
            let weight = f32x4_div(v128_load(ps.as_ptr() as *const v128), denominator);
            let (wx, wy) = (f32x4_mul(weight, dx), f32x4_mul(weight, dy));
            fx = f32x4_add(fx, wx);
            fy = f32x4_add(fy, wy);
            let w01 = i32x4_shuffle::<0, 4, 1, 5>(wx, wy);
            let w23 = i32x4_shuffle::<2, 6, 3, 7>(wx, wy);
            subtract(js[0], w01);
            subtract(js[1], i32x4_shuffle::<2, 3, 2, 3>(w01, w01));
            subtract(js[2], w23);
            subtract(js[3], i32x4_shuffle::<2, 3, 2, 3>(w23, w23));
        }
        let lanes = |v: v128| {
            [
                f32x4_extract_lane::<0>(v),
                f32x4_extract_lane::<1>(v),
                f32x4_extract_lane::<2>(v),
                f32x4_extract_lane::<3>(v),
            ]
        };
        (lanes(fx), lanes(fy))
    }
}

/// [`row_chunks`] in plain code (other targets).
#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
#[inline]
fn row_chunks(
    (xi, yi): (f32, f32),
    columns: &[u32],
    values: &[f32],
    first: usize,
    coords32: &[f32],
    accumulator: &mut [f32],
) -> ([f32; LANES], [f32; LANES]) {
    let mut fx = [0f32; LANES];
    let mut fy = [0f32; LANES];
    for (js, ps) in columns.chunks_exact(LANES).zip(values.chunks_exact(LANES)) {
        for lane in 0..LANES {
            let j = js[lane] as usize;
            let dx = xi - coords32[2 * j];
            let dy = yi - coords32[2 * j + 1];
            let weight = ps[lane] / (1.0 + dx * dx + dy * dy);
            let (wx, wy) = (weight * dx, weight * dy);
            fx[lane] += wx;
            fy[lane] += wy;
            let slot = 2 * (j - first);
            accumulator[slot] -= wx;
            accumulator[slot + 1] -= wy;
        }
    }
    (fx, fy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random symmetric sparse P (each row a few columns, mirrored).
    fn random_affinities(n: usize, seed: u64) -> SparseAffinities {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        let mut pairs = std::collections::BTreeMap::new();
        for i in 0..n {
            for _ in 0..(next() % 13) {
                let j = next() % n;
                if j != i {
                    let p = (next() % 1000 + 1) as f32 * 1e-4;
                    pairs.insert((i.min(j), i.max(j)), p);
                }
            }
        }
        let mut rows = vec![Vec::new(); n];
        for (&(i, j), &p) in &pairs {
            rows[i].push((j as u32, p));
            rows[j].push((i as u32, p));
        }
        let mut row_starts = vec![0];
        let mut columns = Vec::new();
        let mut values = Vec::new();
        for row in &mut rows {
            row.sort_by_key(|&(j, _)| j);
            for &(j, p) in row.iter() {
                columns.push(j);
                values.push(p);
            }
            row_starts.push(columns.len());
        }
        SparseAffinities {
            row_starts,
            columns,
            values,
        }
    }

    #[test]
    fn pairs_once_equal_the_full_sum_over_both_directions() {
        for (n, seed) in [(1, 1), (2, 2), (7, 3), (100, 4), (2_000, 5)] {
            let affinities = random_affinities(n, seed);
            let coords: Vec<f64> = (0..2 * n)
                .map(|v| ((v * 7919) % 1013) as f64 / 37.0 - 13.0)
                .collect();
            let mut attraction = PairAttraction::new(&affinities);
            let mut ours = vec![f64::NAN; 2 * n];
            attraction.attract(&coords, &mut ours);
            for i in 0..n {
                let mut expected = [0f64; 2];
                // Single-precision terms: the error scales with the terms' magnitudes.
                let mut magnitude = [0f64; 2];
                for at in affinities.row_starts[i]..affinities.row_starts[i + 1] {
                    let j = affinities.columns[at] as usize;
                    let p = affinities.values[at] as f64;
                    let (dx, dy) = (
                        coords[2 * i] - coords[2 * j],
                        coords[2 * i + 1] - coords[2 * j + 1],
                    );
                    let weight = p / (1.0 + dx * dx + dy * dy);
                    expected[0] += weight * dx;
                    expected[1] += weight * dy;
                    magnitude[0] += (weight * dx).abs();
                    magnitude[1] += (weight * dy).abs();
                }
                for axis in 0..2 {
                    let scale = magnitude[axis].max(1e-12);
                    assert!(
                        (ours[2 * i + axis] - expected[axis]).abs() <= 2e-5 * scale,
                        "n {n} point {i} axis {axis}: {} vs {}",
                        ours[2 * i + axis],
                        expected[axis]
                    );
                }
            }
            // A second evaluation starts from clean accumulators.
            let mut again = vec![0.0; 2 * n];
            attraction.attract(&coords, &mut again);
            assert_eq!(
                ours.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                again.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn runs_cover_the_rows_in_order() {
        let affinities = random_affinities(500, 9);
        let attraction = PairAttraction::new(&affinities);
        assert_eq!(attraction.run_starts.len(), BLOCKS + 1);
        assert_eq!(attraction.run_starts[0], 0);
        assert_eq!(attraction.run_starts[BLOCKS], 500);
        assert!(attraction.run_starts.windows(2).all(|w| w[0] <= w[1]));
        let pairs = attraction.columns.len();
        let affinity_entries = affinities.columns.len();
        assert_eq!(2 * pairs, affinity_entries, "each pair once");
    }
}
