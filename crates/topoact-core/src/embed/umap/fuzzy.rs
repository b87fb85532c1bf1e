//! UMAP's fuzzy simplicial set: per-point smooth k-NN distances (`rho`, `sigma`), membership
//! strengths, and the fuzzy union `A + A^T - A o A^T` (umap-learn 0.5.12's
//! `smooth_knn_dist`, `compute_membership_strengths` and `fuzzy_simplicial_set` with
//! `local_connectivity = 1`, `set_op_mix_ratio = 1`, written from their documented behaviour).

/// Binary-search iterations of `smooth_knn_dist`.
const SMOOTH_K_ITERATIONS: usize = 64;
/// Tolerance on the sum of memberships.
const SMOOTH_K_TOLERANCE: f64 = 1e-5;
/// Lower bound of sigma relative to the mean neighbour distance.
const MIN_K_DIST_SCALE: f64 = 1e-3;

/// `rho` (distance to the nearest non-identical neighbour) and `sigma` for one point.
///
/// `distances` are the point's `n_neighbors - 1` nearest other points, ascending (umap-learn's
/// list also holds the point itself at distance 0 first; it is implicit here). `target` is
/// `log2(n_neighbors)`. `mean_all` is the mean of every point's list *including* the implicit
/// zero, as umap-learn averages its whole distance matrix.
pub(crate) fn smooth_knn_dist(distances: &[f32], n_neighbors: usize, mean_all: f64) -> (f64, f64) {
    let target = (n_neighbors as f64).log2();
    let rho = distances
        .iter()
        .copied()
        .find(|&d| d > 0.0)
        .map_or(0.0, |d| d as f64);
    let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
    // The search's result is `mid` alone, a function of the decisions (close enough; above
    // the target or not). Each is taken from a cheap sum of memberships (`approx_psum`) when
    // that sum is farther than `margin` from every threshold, else from the exact sum: the
    // two differ by less than `margin` (see `approx_psum`), so the decisions, and the bits
    // of sigma, are the exact sum's.
    let len = distances.len() as f64;
    let margin = 1e-12 * len + 1e-15 * len * len + 1e-12;
    // Each distance's excess over rho, 0 for none (a membership of 1).
    let mut excess = [0.0f64; EXCESS_CHUNK];
    for _ in 0..SMOOTH_K_ITERATIONS {
        let deviation = approx_psum(distances, rho, mid, &mut excess) - target;
        let (close, above) = if deviation.abs() < SMOOTH_K_TOLERANCE - margin {
            (true, false)
        } else if deviation.abs() > SMOOTH_K_TOLERANCE + margin {
            (false, deviation > 0.0)
        } else {
            let psum = exact_psum(distances, rho, mid);
            ((psum - target).abs() < SMOOTH_K_TOLERANCE, psum > target)
        };
        if close {
            break;
        }
        if above {
            hi = mid;
            mid = (lo + hi) / 2.0;
        } else {
            lo = mid;
            mid = if hi.is_infinite() {
                mid * 2.0
            } else {
                (lo + hi) / 2.0
            };
        }
    }
    let mut sigma = mid;
    // Mean over the full umap-learn row (self at 0 included).
    let mean_ith = distances.iter().map(|&d| d as f64).sum::<f64>() / n_neighbors as f64;
    if rho > 0.0 {
        sigma = sigma.max(MIN_K_DIST_SCALE * mean_ith);
    } else {
        sigma = sigma.max(MIN_K_DIST_SCALE * mean_all);
    }
    (rho, sigma)
}

/// The memberships' sum at bandwidth `mid`, in order, with the standard library's `exp`
/// (the sum the binary search's decisions are defined by).
fn exact_psum(distances: &[f32], rho: f64, mid: f64) -> f64 {
    let mut psum = 0.0;
    for &d in distances {
        let excess = d as f64 - rho;
        psum += if excess > 0.0 {
            (-(excess / mid)).exp()
        } else {
            1.0
        };
    }
    psum
}

/// Distances whose excesses [`approx_psum`] takes at a time.
const EXCESS_CHUNK: usize = 32;

/// [`exact_psum`] with [`exp_approx`] and a product by `1 / mid` for the quotient (four
/// partial sums, so it vectorises; `excess` is scratch): for `len` distances it differs from
/// the exact sum by less than `len * 4e-13` (the approximation's relative error per term, each
/// term at most 1) plus `len * 2e-16` (the library `exp`'s error, under one unit in the last
/// place, and the product's: `e^x |x| 2^-51 < 1.2e-16` for `x = -excess / mid`) plus both
/// sums' rounding (`len^2 * 2^-53` each): below `1e-12 len + 1e-15 len^2`.
fn approx_psum(distances: &[f32], rho: f64, mid: f64, excess: &mut [f64; EXCESS_CHUNK]) -> f64 {
    let inverse = 1.0 / mid;
    let mut sums = [0.0f64; 4];
    let mut psum = 0.0;
    for part in distances.chunks(EXCESS_CHUNK) {
        for (e, &d) in excess.iter_mut().zip(part) {
            *e = (d as f64 - rho).max(0.0);
        }
        let (chunks, rest) = excess[..part.len()].as_chunks::<4>();
        for chunk in chunks {
            for (sum, &e) in sums.iter_mut().zip(chunk) {
                // A zero excess gives exp_approx(-0) = 1 exactly.
                *sum += exp_approx(-(e * inverse));
            }
        }
        for &e in rest {
            psum += exp_approx(-(e * inverse));
        }
    }
    psum + ((sums[0] + sums[1]) + (sums[2] + sums[3]))
}

/// `e^x` for `x <= 0` (and NaN-free input) without a library call: `x = k ln 2 + r` with
/// `|r| <= ln 2 / 2` (Cody and Waite's two-part `ln 2`), `e^r` by its Taylor polynomial of
/// degree 10 (remainder below `0.347^11 / 11! * e^0.347 < 3.2e-13` relative), times `2^k`
/// built from its bits. Below `x = -700` it returns `e^-700`, an absolute error under
/// `1e-304`. Relative error below 4e-13 otherwise.
#[inline(always)]
fn exp_approx(x: f64) -> f64 {
    // ln 2 in two parts (fdlibm's): the high one's low 32 bits zero, so `k * LN2_HI` is exact.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // 1.5 * 2^52: adding it rounds to an integer, held in the low bits of the sum.
    const ROUNDER: f64 = 6_755_399_441_055_744.0;
    let x = x.max(-700.0);
    let shifted = x * std::f64::consts::LOG2_E + ROUNDER;
    let k = shifted - ROUNDER;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // 1 / n! for n = 10 down to 1.
    const C: [f64; 10] = [
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        1.0 / 2.0,
        1.0,
    ];
    let mut p = C[0];
    for &c in &C[1..] {
        p = p * r + c;
    }
    p = p * r + 1.0;
    // The sum's low 12 bits are `k` plus a multiple of 4096; `k + 1023` in 13..=1023 here.
    let scale = f64::from_bits(shifted.to_bits().wrapping_add(1023) << 52);
    p * scale
}

/// Membership strength of an edge at `distance` from a point with `rho`, `sigma`.
pub(crate) fn membership(distance: f32, rho: f64, sigma: f64) -> f32 {
    let excess = distance as f64 - rho;
    if excess <= 0.0 || sigma == 0.0 {
        1.0
    } else {
        (-(excess / sigma)).exp() as f32
    }
}

/// A symmetric sparse matrix in compressed rows, columns ascending within a row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SparseGraph {
    pub n: usize,
    pub row_start: Vec<usize>,
    pub cols: Vec<u32>,
    pub weights: Vec<f32>,
}

impl SparseGraph {
    pub(crate) fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let range = self.row_start[i]..self.row_start[i + 1];
        (&self.cols[range.clone()], &self.weights[range])
    }
}

/// Rows per task in the row-parallel passes (a run of consecutive rows each).
const ROWS_PER_TASK: usize = 1024;

/// `f` of each run of at most [`ROWS_PER_TASK`] consecutive rows of `rows`, in row order
/// ([`super::map_runs`]).
pub(crate) fn map_row_runs<T: Send>(
    rows: std::ops::Range<usize>,
    f: impl Fn(std::ops::Range<usize>) -> T + Sync + Send,
) -> Vec<T> {
    super::map_runs(rows, ROWS_PER_TASK, f)
}

/// Directed memberships in compressed rows: row `i`'s `(j, A_ij)` pairs are
/// `entries[row_start[i]..row_start[i + 1]]` (any order, distinct `j`, `j != i`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Directed {
    pub row_start: Vec<usize>,
    pub entries: Vec<(u32, f32)>,
}

impl Directed {
    /// No rows yet.
    pub(crate) fn with_capacity(rows: usize, entries: usize) -> Directed {
        let mut row_start = Vec::with_capacity(rows + 1);
        row_start.push(0);
        Directed {
            row_start,
            entries: Vec::with_capacity(entries),
        }
    }

    /// Appends rows: `entries` holds them one after another, `lengths` their lengths.
    pub(crate) fn extend(&mut self, entries: &[(u32, f32)], lengths: &[usize]) {
        self.entries.extend_from_slice(entries);
        for &len in lengths {
            let end = self.row_start[self.row_start.len() - 1] + len;
            self.row_start.push(end);
        }
    }

    #[cfg(test)]
    pub(crate) fn from_lists(lists: &[Vec<(u32, f32)>]) -> Directed {
        let mut directed = Directed::with_capacity(lists.len(), 0);
        for list in lists {
            directed.extend(list, &[list.len()]);
        }
        directed
    }
}

/// Rows `first..` of a sparse matrix as one run computes them: columns and weights one row
/// after another, and each row's length.
#[derive(Default)]
struct RowRun {
    cols: Vec<u32>,
    weights: Vec<f32>,
    lengths: Vec<usize>,
}

/// The runs' rows, in order, as one matrix of `n` rows.
fn join_runs(n: usize, runs: Vec<RowRun>) -> SparseGraph {
    let nnz = runs.iter().map(|r| r.cols.len()).sum();
    let mut row_start = Vec::with_capacity(n + 1);
    let mut cols = Vec::with_capacity(nnz);
    let mut weights = Vec::with_capacity(nnz);
    row_start.push(0);
    for run in runs {
        for len in run.lengths {
            row_start.push(row_start[row_start.len() - 1] + len);
        }
        cols.extend_from_slice(&run.cols);
        weights.extend_from_slice(&run.weights);
    }
    SparseGraph {
        n,
        row_start,
        cols,
        weights,
    }
}

/// The fuzzy union of the directed membership lists: `w_ij = a + b - a b` with `a = A_ij`,
/// `b = A_ji`; zero entries dropped. Cost O(nnz log k) for the per-row sorts plus O(nnz); the
/// sorts and the merge run on row runs side by side with the `parallel` feature (each row's
/// result is its own, so the same bits), the transpose by counting is serial.
pub(crate) fn fuzzy_union(n: usize, mut directed: Directed) -> SparseGraph {
    // A with sorted columns (distinct, so the sorted rows are the same in parallel or not),
    // sorted in place run by run.
    let row_start = &directed.row_start;
    {
        let mut parts = Vec::with_capacity(n.div_ceil(ROWS_PER_TASK));
        let mut rest = &mut directed.entries[..];
        for first in (0..n).step_by(ROWS_PER_TASK) {
            let end = (first + ROWS_PER_TASK).min(n);
            let (part, tail) =
                std::mem::take(&mut rest).split_at_mut(row_start[end] - row_start[first]);
            parts.push((first..end, part));
            rest = tail;
        }
        let sort = |(rows, part): (std::ops::Range<usize>, &mut [(u32, f32)])| {
            let base = row_start[rows.start];
            for i in rows {
                part[row_start[i] - base..row_start[i + 1] - base]
                    .sort_unstable_by_key(|&(j, _)| j);
            }
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            parts.into_par_iter().for_each(sort);
        }
        #[cfg(not(feature = "parallel"))]
        parts.into_iter().for_each(sort);
    }
    let a_entries = &directed.entries;
    let a_row = |i: usize| &a_entries[row_start[i]..row_start[i + 1]];
    // A^T by counting: rows of A visited in order, so each A^T row is sorted.
    let mut t_start = vec![0usize; n + 1];
    for &(j, _) in a_entries {
        t_start[j as usize + 1] += 1;
    }
    for i in 0..n {
        t_start[i + 1] += t_start[i];
    }
    let mut fill = t_start.clone();
    let mut t_entries = vec![(0u32, 0f32); t_start[n]];
    for i in 0..n {
        for &(j, w) in a_row(i) {
            t_entries[fill[j as usize]] = (i as u32, w);
            fill[j as usize] += 1;
        }
    }
    drop(fill);
    let runs = map_row_runs(0..n, |rows| {
        let mut run = RowRun::default();
        for i in rows {
            let (a_row, t_row) = (a_row(i), &t_entries[t_start[i]..t_start[i + 1]]);
            let before = run.cols.len();
            let (mut p, mut q) = (0, 0);
            while p < a_row.len() || q < t_row.len() {
                let (col, w) = match (a_row.get(p), t_row.get(q)) {
                    (Some(&(ja, wa)), Some(&(jt, wt))) if ja == jt => {
                        p += 1;
                        q += 1;
                        (ja, wa + wt - wa * wt)
                    }
                    (Some(&(ja, wa)), Some(&(jt, _))) if ja < jt => {
                        p += 1;
                        (ja, wa)
                    }
                    (Some(&(ja, wa)), None) => {
                        p += 1;
                        (ja, wa)
                    }
                    (_, Some(&(jt, wt))) => {
                        q += 1;
                        (jt, wt)
                    }
                    (None, None) => unreachable!("loop condition"),
                };
                if w != 0.0 {
                    run.cols.push(col);
                    run.weights.push(w);
                }
            }
            run.lengths.push(run.cols.len() - before);
        }
        run
    });
    join_runs(n, runs)
}

/// The graph without entries below `threshold` (umap-learn sets them to 0 and eliminates
/// them), row runs side by side with the `parallel` feature.
pub(crate) fn prune(graph: &SparseGraph, threshold: f32) -> SparseGraph {
    let runs = map_row_runs(0..graph.n, |rows| {
        let mut run = RowRun::default();
        for i in rows {
            let (cols, weights) = graph.row(i);
            let before = run.cols.len();
            for (&col, &weight) in cols.iter().zip(weights) {
                if weight >= threshold {
                    run.cols.push(col);
                    run.weights.push(weight);
                }
            }
            run.lengths.push(run.cols.len() - before);
        }
        run
    });
    join_runs(graph.n, runs)
}

/// The largest weight (0 for none), the same on any split: the maximum of finite values does
/// not depend on their order.
pub(crate) fn max_weight(graph: &SparseGraph) -> f32 {
    let runs = map_row_runs(0..graph.n, |rows| {
        graph.weights[graph.row_start[rows.start]..graph.row_start[rows.end]]
            .iter()
            .copied()
            .fold(0f32, f32::max)
    });
    runs.into_iter().fold(0f32, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_makes_the_memberships_sum_to_log2_k() {
        let distances = [0.5f32, 0.7, 0.8, 1.0, 1.3, 1.4, 2.0];
        let k = distances.len() + 1;
        let (rho, sigma) = smooth_knn_dist(&distances, k, 1.0);
        assert_eq!(rho, 0.5);
        let sum: f64 = distances
            .iter()
            .map(|&d| membership(d, rho, sigma) as f64)
            .sum();
        assert!((sum - (k as f64).log2()).abs() < 1e-4, "{sum}");
    }

    #[test]
    fn duplicates_give_rho_from_the_first_positive_distance() {
        let (rho, _) = smooth_knn_dist(&[0.0, 0.0, 0.3, 0.9], 5, 1.0);
        assert_eq!(rho, 0.30000001192092896);
        let (rho, sigma) = smooth_knn_dist(&[0.0, 0.0], 3, 2.0);
        assert_eq!(rho, 0.0);
        assert!(sigma >= 2e-3);
    }

    #[test]
    fn exp_approx_is_within_its_bound() {
        let mut x = 0.0f64;
        while x > -720.0 {
            let (approx, exact) = (exp_approx(x), x.exp());
            if x >= -700.0 {
                assert!(
                    (approx - exact).abs() <= 4e-13 * exact,
                    "{x}: {approx} {exact}"
                );
            } else {
                assert!(approx < 1e-303, "{x}");
            }
            x -= 0.000_731;
        }
    }

    #[test]
    fn approx_sum_is_within_the_margin() {
        let distances = [0.0f32, 0.3, 0.31, 0.5, 0.9, 1.7, 3.0, 8.0, 20.0];
        for mid in [1e-9, 1e-3, 0.05, 0.2, 1.0, 7.0, 1e6] {
            let (a, e) = (
                approx_psum(&distances, 0.3, mid, &mut [0.0; EXCESS_CHUNK]),
                exact_psum(&distances, 0.3, mid),
            );
            assert!((a - e).abs() < 1e-12 * 9.0, "{mid}: {a} {e}");
        }
    }

    #[test]
    fn union_is_symmetric_probabilistic_or() {
        let directed = vec![vec![(1u32, 0.5f32), (2, 1.0)], vec![(0, 0.5)], vec![]];
        let g = fuzzy_union(3, Directed::from_lists(&directed));
        assert_eq!(g.row(0), (&[1u32, 2][..], &[0.75f32, 1.0][..]));
        assert_eq!(g.row(1), (&[0u32][..], &[0.75f32][..]));
        assert_eq!(g.row(2), (&[0u32][..], &[1.0f32][..]));
    }
}
