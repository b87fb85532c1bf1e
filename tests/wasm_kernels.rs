//! wasm-bindgen tests of the core's f32 kernels as the browser runs them: compiled for
//! wasm32 with simd128 (`.cargo/config.toml`), inside a dedicated worker like the compute
//! worker. Natively these builds do not exist (x86-64 takes the AVX2+FMA or SSE2 code), so
//! only here are the explicit simd128 kernels of `numeric/kernels.rs` (the dispatched single
//! pair and the four-target block) and its inline vectorised loops (the mapper's fast path:
//! 16-accumulator squared distance, its bounded form, the dot product of the pruning
//! projection) compared with a float64
//! reference: seeded random inputs of every length 0..=33 (every remainder of the 4-, 8- and
//! 16-wide loops) and some long ones, values of mixed magnitudes, large magnitudes that stay
//! finite, zeros and identical vectors.
#![cfg(target_arch = "wasm32")]

use topoact_core::numeric::testing as kernels;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

// These tests check the simd128 build the page ships (.cargo/config.toml): refuse to build
// without it.
const _: () = assert!(
    cfg!(target_feature = "simd128"),
    "the wasm kernel tests need the simd128 build (.cargo/config.toml)"
);

/// f32 unit roundoff.
const U: f64 = f32::EPSILON as f64 / 2.0;

/// Lengths: every remainder, then long vectors around the blocks' multiples.
fn lengths() -> Vec<usize> {
    let mut lengths: Vec<usize> = (0..=33).collect();
    lengths.extend([
        47, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 1000, 1023, 4099,
    ]);
    lengths
}

/// splitmix64: a seeded stream without dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn sign(&mut self) -> f64 {
        if self.next() & 1 == 0 {
            1.0
        } else {
            -1.0
        }
    }
}

/// The kinds of input vectors.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Uniform in [-1, 1].
    Unit,
    /// `±10^e` with e uniform in [-6, 6].
    Mixed,
    /// `±(1..10) * 1e16`: squares near 1e34, sums of thousands still below f32::MAX.
    Large,
    /// All zeros (positive and negative).
    Zeros,
}

fn vector(rng: &mut Rng, len: usize, kind: Kind) -> Vec<f32> {
    (0..len)
        .map(|_| match kind {
            Kind::Unit => (2.0 * rng.unit() - 1.0) as f32,
            Kind::Mixed => (rng.sign() * 10f64.powf(12.0 * rng.unit() - 6.0)) as f32,
            Kind::Large => (rng.sign() * (1.0 + 9.0 * rng.unit()) * 1e16) as f32,
            Kind::Zeros => (rng.sign() * 0.0) as f32,
        })
        .collect()
}

/// Sum of squared differences in float64.
fn sq_dist_reference(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = x as f64 - y as f64;
            d * d
        })
        .sum()
}

/// Checks `got` against the float64 `exact` sum of `n` non-negative terms: a summation with
/// chains of at most `n / lanes + extra` additions errs by at most that many roundings of
/// the total, plus three per term (difference, square, one more for the reference).
fn check_sum(what: &str, got: f32, exact: f64, n: usize, lanes: usize, extra: usize) {
    let chain = (n / lanes + extra + 3) as f64;
    let tolerance = chain * U * exact + 1e-44;
    assert!(
        got.is_finite() && (got as f64 - exact).abs() <= tolerance,
        "{what}: got {got:e}, exact {exact:e}, tolerance {tolerance:e}"
    );
}

/// Pairs of vectors of every length and kind, plus a zero vector against a random one and a
/// vector against itself.
fn pairs(seed: u64) -> Vec<(String, Vec<f32>, Vec<f32>)> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for len in lengths() {
        for kind in [Kind::Unit, Kind::Mixed, Kind::Large, Kind::Zeros] {
            let a = vector(&mut rng, len, kind);
            let b = vector(&mut rng, len, kind);
            out.push((format!("len {len} {kind:?}"), a, b));
        }
        let zeros = vector(&mut rng, len, Kind::Zeros);
        let mixed = vector(&mut rng, len, Kind::Mixed);
        out.push((format!("len {len} zeros vs mixed"), zeros, mixed.clone()));
        out.push((format!("len {len} itself"), mixed.clone(), mixed));
    }
    out
}

/// `numeric/kernels.rs` dispatched single pair: four 4-lane accumulators (16 values per iteration), then a
/// scalar remainder.
#[wasm_bindgen_test]
fn dispatched_sq_dist_matches_float64() {
    for (what, a, b) in pairs(1) {
        let got = kernels::sq_dist_f32(&a, &b);
        let exact = sq_dist_reference(&a, &b);
        check_sum(&what, got, exact, a.len(), 16, 4 + 15);
        if exact == 0.0 {
            assert_eq!(got, 0.0, "{what}");
        }
    }
    // Unequal lengths: the shorter one counts.
    let mut rng = Rng(2);
    for (la, lb) in [(0, 5), (7, 3), (33, 17), (100, 64)] {
        let a = vector(&mut rng, la, Kind::Unit);
        let b = vector(&mut rng, lb, Kind::Unit);
        let n = la.min(lb);
        let exact = sq_dist_reference(&a[..n], &b[..n]);
        check_sum(
            &format!("lengths {la}, {lb}"),
            kernels::sq_dist_f32(&a, &b),
            exact,
            n,
            16,
            4 + 15,
        );
    }
}

/// `numeric/kernels.rs` block: four targets per pass (two 4-lane accumulators each, 8 values per
/// iteration, scalar remainder), leftover targets through the single-pair kernel. Every
/// dimension 1..=33 and some long ones, 0..=9 targets (every count of leftover targets).
#[wasm_bindgen_test]
fn block_distances_match_float64() {
    let mut rng = Rng(3);
    let mut out = Vec::new();
    for dim in lengths().into_iter().filter(|&d| d > 0) {
        for kind in [Kind::Unit, Kind::Mixed, Kind::Large, Kind::Zeros] {
            let n_targets = if dim > 300 { 5 } else { 9 };
            for count in 0..=n_targets {
                let q = vector(&mut rng, dim, kind);
                let mut block = vector(&mut rng, dim * count, kind);
                if count > 1 {
                    // One target equal to the query: exactly zero.
                    block[dim..2 * dim].copy_from_slice(&q);
                }
                kernels::sq_dists_to_block(&q, &block, dim, &mut out);
                assert_eq!(
                    out.len(),
                    count,
                    "dim {dim} {kind:?}: one distance per target"
                );
                for (t, &got) in out.iter().enumerate() {
                    let target = &block[t * dim..(t + 1) * dim];
                    let exact = sq_dist_reference(&q, target);
                    let what = format!("dim {dim} {kind:?} target {t} of {count}");
                    check_sum(&what, got, exact, dim, 8, 4 + 15);
                    if exact == 0.0 {
                        assert_eq!(got, 0.0, "{what}");
                    }
                }
            }
        }
    }
}

/// The inline kernel of the mapper's fast path: 16 accumulators, a balanced sum of them, a scalar tail; the
/// bounded form sums it in blocks of 64 and may stop early above the limit.
/// The four-query tile: the block kernel's bits for every query (and so its float64 bound).
#[wasm_bindgen_test]
fn tile_distances_are_the_block_kernels() {
    let mut rng = Rng(7);
    let (mut tile, mut one) = (Vec::new(), Vec::new());
    for dim in lengths().into_iter().filter(|&d| d > 0 && d <= 1023) {
        for count in [0usize, 1, 3, 4, 5, 9] {
            for n_queries in [1usize, 4, 6] {
                let kind = if dim % 2 == 0 {
                    Kind::Unit
                } else {
                    Kind::Mixed
                };
                let queries: Vec<Vec<f32>> = (0..n_queries)
                    .map(|_| vector(&mut rng, dim, kind))
                    .collect();
                let block = vector(&mut rng, dim * count, kind);
                let refs: Vec<&[f32]> = queries.iter().map(|q| q.as_slice()).collect();
                kernels::sq_dists_to_tile(&refs, &block, dim, &mut tile);
                assert_eq!(tile.len(), n_queries * count, "dim {dim}");
                for (q, query) in queries.iter().enumerate() {
                    kernels::sq_dists_to_block(query, &block, dim, &mut one);
                    for (t, (&a, &b)) in tile[q * count..(q + 1) * count]
                        .iter()
                        .zip(&one)
                        .enumerate()
                    {
                        assert_eq!(a.to_bits(), b.to_bits(), "dim {dim}, query {q}, target {t}");
                    }
                }
            }
        }
    }
}

#[wasm_bindgen_test]
fn lanes16_sq_dist_and_bounded_form_match_float64() {
    for (what, a, b) in pairs(4) {
        let n = a.len();
        let exact = sq_dist_reference(&a, &b);
        check_sum(
            &what,
            kernels::sq_dist_f32_lanes16(&a, &b),
            exact,
            n,
            16,
            4 + 15,
        );
        // Blocks of 64: one more chain per block.
        let unbounded = kernels::sq_dist_f32_bounded(&a, &b, f32::INFINITY);
        check_sum(&what, unbounded, exact, n, 16, 4 + 15 + n / 64);
        // Stopping early returns a partial sum above the limit, never one below it.
        let limit = (exact / 2.0) as f32;
        if exact > 0.0 && limit > 0.0 {
            let early = kernels::sq_dist_f32_bounded(&a, &b, limit);
            assert!(
                early > limit,
                "{what}: {early:e} not above the limit {limit:e}"
            );
            assert!(
                early as f64 <= exact * (1.0 + 1e-3),
                "{what}: {early:e} > {exact:e}"
            );
        }
    }
}

/// The pruning projection's dot product: 16 accumulators, a scalar tail, then the
/// accumulators added in turn. Products have both signs, so the error bound is relative to
/// the sum of their magnitudes.
#[wasm_bindgen_test]
fn dot_product_matches_float64() {
    let mut rng = Rng(5);
    for len in lengths() {
        for kind in [Kind::Unit, Kind::Mixed, Kind::Large, Kind::Zeros] {
            let a = vector(&mut rng, len, kind);
            let b = vector(&mut rng, len, kind);
            let got = kernels::dot_f32(&a, &b);
            let (exact, magnitude) = a.iter().zip(&b).fold((0.0f64, 0.0f64), |(s, m), (&x, &y)| {
                let p = x as f64 * y as f64;
                (s + p, m + p.abs())
            });
            let chain = (len / 16 + 15 + 16 + 2) as f64;
            let tolerance = chain * U * magnitude + 1e-44;
            assert!(
                got.is_finite() && (got as f64 - exact).abs() <= tolerance,
                "len {len} {kind:?}: got {got:e}, exact {exact:e}, tolerance {tolerance:e}"
            );
        }
    }
}

/// Past f32's range the distances saturate to +infinity: never NaN, never a wrapped value.
#[wasm_bindgen_test]
fn overflow_gives_infinity_not_nan() {
    for len in [1usize, 3, 4, 8, 15, 16, 17, 33, 64, 100] {
        let a = vec![2e38f32; len];
        let b = vec![-2e38f32; len];
        assert_eq!(kernels::sq_dist_f32(&a, &b), f32::INFINITY, "len {len}");
        assert_eq!(
            kernels::sq_dist_f32_lanes16(&a, &b),
            f32::INFINITY,
            "len {len}"
        );
        let mut out = Vec::new();
        let block: Vec<f32> = b.iter().cycle().take(len * 5).copied().collect();
        kernels::sq_dists_to_block(&a, &block, len, &mut out);
        assert!(
            out.iter().all(|&d| d == f32::INFINITY),
            "len {len}: {out:?}"
        );
    }
}

/// The join's survivors in wasm: four candidates per pass with the single bounded kernel's
/// bits wherever a value is kept (<= the limit), and above the limit wherever the single
/// kernel is.
#[wasm_bindgen_test]
fn four_bounded_distances_are_the_single_kernels() {
    let mut rng = Rng(8);
    for len in lengths() {
        for kind in [Kind::Unit, Kind::Mixed, Kind::Large, Kind::Zeros] {
            let a = vector(&mut rng, len, kind);
            let others: Vec<Vec<f32>> = (0..3).map(|_| vector(&mut rng, len + 3, kind)).collect();
            // Candidates may be longer than the query (rows of a wider layer are not).
            let b = [&others[0][..], &a[..], &others[1][..], &others[2][..len]];
            let exact = sq_dist_reference(&a, &others[0][..len]);
            for limit in [
                f32::INFINITY,
                (exact / 2.0) as f32,
                (exact * 2.0) as f32,
                0.0,
            ] {
                let four = kernels::sq_dist4_f32_bounded(&a, b, limit);
                for (j, (&got, other)) in four.iter().zip(b).enumerate() {
                    let single = kernels::sq_dist_f32_bounded(&a, &other[..len], limit);
                    let what = format!("len {len} {kind:?} limit {limit:e} candidate {j}");
                    if single <= limit {
                        assert_eq!(got.to_bits(), single.to_bits(), "{what}");
                    } else {
                        assert!(got > limit, "{what}: {got:e} vs {single:e}");
                    }
                }
            }
        }
    }
}

/// The wasm projection's register-tiled dot products (two rows by four vectors, and the
/// single leftover form): the bits of the two-vector kernel it replaced.
#[wasm_bindgen_test]
fn tiled_dot_products_are_the_two_vector_kernels() {
    let mut rng = Rng(9);
    for len in lengths() {
        for kind in [Kind::Unit, Kind::Mixed, Kind::Large, Kind::Zeros] {
            let rows: Vec<Vec<f32>> = (0..2).map(|_| vector(&mut rng, len, kind)).collect();
            let vectors: Vec<Vec<f32>> = (0..4).map(|_| vector(&mut rng, len, kind)).collect();
            let a = [&rows[0][..], &rows[1][..]];
            let b = [
                &vectors[0][..],
                &vectors[1][..],
                &vectors[2][..],
                &vectors[3][..],
            ];
            let tiled = kernels::dots_f32_2x4(a, b);
            for (r, row) in rows.iter().enumerate() {
                for pair in 0..2 {
                    let two = kernels::dot2_f32(row, [b[2 * pair], b[2 * pair + 1]]);
                    for t in 0..2 {
                        let v = 2 * pair + t;
                        let what = format!("len {len} {kind:?} row {r} vector {v}");
                        assert_eq!(tiled[r][v].to_bits(), two[t].to_bits(), "{what}");
                        let one = kernels::dots_f32_1x1(row, b[v]);
                        assert_eq!(one.to_bits(), two[t].to_bits(), "{what}");
                    }
                }
            }
        }
    }
}

/// The PCA passes' six float64 dot products side by side (two lanes per simd128 register)
/// are each the bits of the single float64 dot product.
#[wasm_bindgen_test]
fn side_by_side_f64_dots_are_the_single_ones() {
    let mut rng = Rng(13);
    for len in lengths() {
        for kind in [Kind::Unit, Kind::Mixed, Kind::Large, Kind::Zeros] {
            let widen =
                |v: Vec<f32>| -> Vec<f64> { v.iter().map(|&x| x as f64 * 1.000_000_1).collect() };
            let a = widen(vector(&mut rng, len, kind));
            let vectors = widen(vector(&mut rng, 6 * len, kind));
            let six = kernels::dots_f64_6(&a, &vectors);
            for (j, got) in six.iter().enumerate() {
                let one = kernels::dot_f64(&a, &vectors[j * len..(j + 1) * len]);
                assert_eq!(
                    got.to_bits(),
                    one.to_bits(),
                    "len {len} {kind:?} vector {j}"
                );
            }
        }
    }
}

/// The join's tile test (8 candidates per vector operation, early exit a stage of 8
/// coordinates at a time): the portable form's mask, for every number of coordinates,
/// every wanted range and limits around the lanes' sums.
#[wasm_bindgen_test]
fn tile_survivors_are_the_portable_forms() {
    let mut rng = Rng(10);
    for m in (1..=40).chain([47, 48, 49, 96]) {
        for kind in [Kind::Unit, Kind::Mixed, Kind::Zeros] {
            let tile = vector(&mut rng, m * 8, kind);
            let q = vector(&mut rng, m, kind);
            // Each lane's float64 distance, to put limits between and at the lanes.
            let mut sums: Vec<f64> = (0..8)
                .map(|lane| {
                    (0..m)
                        .map(|c| {
                            let d = q[c] as f64 - tile[c * 8 + lane] as f64;
                            d * d
                        })
                        .sum()
                })
                .collect();
            sums.sort_by(|a, b| a.total_cmp(b));
            let mut limits: Vec<f32> = vec![0.0, f32::INFINITY, f32::NAN];
            limits.extend(sums.iter().map(|&s| s as f32));
            limits.extend(sums.iter().map(|&s| (s * 0.5) as f32));
            limits.extend(sums.iter().map(|&s| (s * (1.0 + 1e-6)) as f32));
            for wanted in [0xffu32, 0x0f, 0xf0, 0x81, 0x3c, 0] {
                for &limit in &limits {
                    let [fast, portable] = kernels::tile_survivors(&tile, &q, wanted, limit);
                    assert_eq!(
                        fast, portable,
                        "{m} coordinates {kind:?} wanted {wanted:#x} limit {limit:e}"
                    );
                }
            }
        }
    }
}

/// The join's point-to-box bound in wasm: 4 lanes summed pairwise then the tail, so within
/// a few roundings of the float64 sum of the same terms (`outside` per coordinate: 0 inside
/// or on the box, NaN counted as inside); exactly 0 inside the box.
#[wasm_bindgen_test]
fn box_bound_matches_float64() {
    let mut rng = Rng(11);
    for m in (0..=33).chain([47, 48, 96]) {
        for kind in [Kind::Unit, Kind::Mixed, Kind::Large, Kind::Zeros] {
            let a = vector(&mut rng, m, kind);
            let b = vector(&mut rng, m, kind);
            let lo: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x.min(*y)).collect();
            let hi: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x.max(*y)).collect();
            let mut q = vector(&mut rng, m, kind);
            if m > 2 {
                q[1] = f32::NAN;
            }
            let exact: f64 = (0..m)
                .map(|c| {
                    let v = q[c] as f64;
                    let d = if v.is_nan() {
                        0.0
                    } else {
                        (lo[c] as f64 - v).max(v - hi[c] as f64).max(0.0)
                    };
                    d * d
                })
                .sum();
            let got = kernels::box_lb2(&q, &lo, &hi);
            let what = format!("{m} coordinates {kind:?}");
            let tolerance = (m / 4 + 8) as f64 * U * exact + 1e-44;
            assert!(
                !got.is_nan() && (got as f64 - exact).abs() <= tolerance,
                "{what}: got {got:e}, exact {exact:e}"
            );
            // A point inside the box (its centre) is at distance 0.
            let centre: Vec<f32> = lo.iter().zip(&hi).map(|(l, h)| l / 2.0 + h / 2.0).collect();
            assert_eq!(kernels::box_lb2(&centre, &lo, &hi), 0.0, "{what}");
        }
    }
}

/// UMAP's negative-sample draws (eight xorshift32 lanes, each draw `(x * n) >> 32`) in the
/// wasm build against the definition written out here, bit for bit, for several vertex
/// counts (a guard for any faster form of the draw; a simd128 one was tried and was slower).
#[wasm_bindgen_test]
fn umap_sample_draws_are_the_scalar_ones() {
    let mut rng = Rng(11);
    for n_vertices in [1u32, 2, 7, 1000, 50_000, 65_537, 1 << 24, u32::MAX] {
        let seeds: [u32; 8] = std::array::from_fn(|_| rng.next() as u32);
        let drawn = topoact_core::embed::umap::testing::sample_draws(seeds, n_vertices, 100);
        let mut lanes = seeds.map(|s| s | 1);
        let mut expected = Vec::new();
        for _ in 0..100 {
            for lane in &mut lanes {
                let mut x = *lane;
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *lane = x;
                expected.push(((u64::from(x) * u64::from(n_vertices)) >> 32) as u32);
            }
        }
        assert_eq!(drawn, expected, "n_vertices {n_vertices}");
    }
}
