//! Projection quality: how many of each point's exact nearest neighbours in the input stay
//! among its nearest neighbours in 2-D.
//!
//! This is the figure of the peer comparison (`/work/shared/reference/peers.md` and issue 6):
//! for a point `i`, let `A_i` be its `k` exact nearest neighbours among the input rows and
//! `B_i` its `k` exact nearest neighbours among the 2-D coordinates (self excluded on both
//! sides, ties broken by the smaller row index). The quality is the mean over the query
//! points of `|A_i ∩ B_i| / k`, in `[0, 1]`. The fixtures in `tests/fixtures/embed/peers.json`
//! were measured with the same definition in Python (`tools/embed/make_peer_fixtures.py`).
//!
//! Cost: the 2-D side uses a KD-tree over the coordinates (O(n log n) build, about
//! O(log n + k) per query). The input side is the expensive one: O(n_queries * n * dim) by
//! brute force, unless a precomputed exact [`KnnGraph`] is given
//! ([`knn_preservation_with_graph`]), which then costs nothing. Sampling queries
//! (`sample = Some((n_queries, seed))`) bounds the brute-force cost for large `n`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{EmbedRows, KnnGraph};
use crate::numeric::kernels::sq_dist_f32;

/// Which points are measured: all rows, or a seeded random subset of `n_queries` rows
/// (without replacement, sorted ascending). `n_queries >= n` means all rows.
fn query_rows(n_points: usize, sample: Option<(usize, u64)>) -> Vec<usize> {
    match sample {
        Some((n_queries, seed)) if n_queries < n_points => {
            // Partial Fisher-Yates shuffle: the first `n_queries` slots are a uniform sample.
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut all: Vec<usize> = (0..n_points).collect();
            for slot in 0..n_queries {
                let pick = rng.random_range(slot..n_points);
                all.swap(slot, pick);
            }
            all.truncate(n_queries);
            all.sort_unstable();
            all
        }
        _ => (0..n_points).collect(),
    }
}

/// Fraction of each point's `k` exact nearest input neighbours that are among its `k`
/// nearest 2-D neighbours, averaged over all points or over a seeded sample of
/// `sample = Some((n_queries, seed))` points.
///
/// `coords` holds `2 * high.n_points` values, interleaved x, y. `k` is clamped to
/// `n_points - 1`; with fewer than 2 points the result is 1.0 (nothing to lose).
/// Exact input neighbours are found by brute force (f32 differences): cost
/// O(n_queries * n * dim); pass a precomputed graph to
/// [`knn_preservation_with_graph`] to avoid it.
///
/// # Panics
/// If `coords.len() != 2 * high.n_points` (a programming error, not a data error).
pub fn knn_preservation(
    high: &EmbedRows,
    coords: &[f32],
    k: usize,
    sample: Option<(usize, u64)>,
) -> f64 {
    let n = high.n_points;
    assert_eq!(coords.len(), 2 * n, "coords must hold x, y for every row");
    let k = k.min(n.saturating_sub(1));
    if k == 0 {
        return 1.0;
    }
    let queries = query_rows(n, sample);
    let plane = PlaneTree::build(coords);
    let per_query = |&query: &usize| -> usize {
        let high_nn = brute_force_neighbours(high, query, k);
        let low_nn = plane.nearest(query, k);
        count_common(&high_nn, &low_nn)
    };
    let kept = sum_over(&queries, per_query);
    kept as f64 / (queries.len() * k) as f64
}

/// Same as [`knn_preservation`], with the exact input neighbours taken from `high_knn`
/// (its first `k` neighbours; `high_knn.k >= k` is required, else `k` is reduced to
/// `high_knn.k`). The graph should be exact (`high_knn.exact`); an approximate graph
/// gives an approximate figure. Cost: O(n log n) for the 2-D tree plus O(log n + k) per query.
///
/// # Panics
/// If `coords.len() != 2 * high_knn.n_points`.
pub fn knn_preservation_with_graph(
    high_knn: &KnnGraph,
    coords: &[f32],
    k: usize,
    sample: Option<(usize, u64)>,
) -> f64 {
    let n = high_knn.n_points;
    assert_eq!(coords.len(), 2 * n, "coords must hold x, y for every row");
    let k = k.min(high_knn.k).min(n.saturating_sub(1));
    if k == 0 {
        return 1.0;
    }
    let queries = query_rows(n, sample);
    let plane = PlaneTree::build(coords);
    let per_query = |&query: &usize| -> usize {
        let high_nn = &high_knn.neighbours(query)[..k];
        let low_nn = plane.nearest(query, k);
        count_common(high_nn, &low_nn)
    };
    let kept = sum_over(&queries, per_query);
    kept as f64 / (queries.len() * k) as f64
}

/// Trustworthiness (Venna and Kaski 2001): how few of each point's `k` nearest 2-D
/// neighbours are strangers in the input, penalised by their input rank beyond `k`:
/// `1 - 2 / (k (2n - 3k - 1)) * mean_i(sum over j in B_i outside A_i of (r(i, j) - k))`,
/// with `r(i, j)` the rank of `j` among `i`'s input neighbours (1-based, ties by the smaller
/// index) and the mean over all points or a seeded sample (scikit-learn's figure when all
/// points are queried). In `[0, 1]`; 1.0 when `2n <= 3k + 1`. Cost O(n_queries * n * dim),
/// brute force; a measure for reports, not used by the projections.
///
/// # Panics
/// If `coords.len() != 2 * high.n_points`.
pub fn trustworthiness(
    high: &EmbedRows,
    coords: &[f32],
    k: usize,
    sample: Option<(usize, u64)>,
) -> f64 {
    let n = high.n_points;
    assert_eq!(coords.len(), 2 * n, "coords must hold x, y for every row");
    let k = k.min(n.saturating_sub(1));
    if k == 0 || 2 * n <= 3 * k + 1 {
        return 1.0;
    }
    let queries = query_rows(n, sample);
    let plane = PlaneTree::build(coords);
    let per_query = |&query: &usize| -> usize {
        let q = high.row(query);
        let dist: Vec<f32> = (0..n).map(|o| sq_dist_f32(q, high.row(o))).collect();
        let mut penalty = 0usize;
        for &j in &plane.nearest(query, k) {
            let (j, dj) = (j as usize, dist[j as usize]);
            let rank = 1
                + (0..n)
                    .filter(|&o| o != query && (dist[o] < dj || (dist[o] == dj && o < j)))
                    .count();
            penalty += rank.saturating_sub(k);
        }
        penalty
    };
    let total = sum_over(&queries, per_query) as f64;
    1.0 - 2.0 * total / (queries.len() as f64 * k as f64 * (2 * n - 3 * k - 1) as f64)
}

/// Sum of an integer count over the queries (parallel under the `parallel` feature; the sum
/// of integers is the same in any order).
fn sum_over(queries: &[usize], per_query: impl Fn(&usize) -> usize + Sync + Send) -> usize {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        queries.par_iter().map(per_query).sum()
    }
    #[cfg(not(feature = "parallel"))]
    {
        queries.iter().map(per_query).sum()
    }
}

/// Number of values two short lists have in common (lists are at most a few hundred long).
fn count_common(a: &[u32], b: &[u32]) -> usize {
    let mut sorted_b = b.to_vec();
    sorted_b.sort_unstable();
    a.iter()
        .filter(|v| sorted_b.binary_search(v).is_ok())
        .count()
}

/// The `k` nearest rows to `query` (self excluded) by brute force in f32, ascending,
/// ties by smaller index.
fn brute_force_neighbours(rows: &EmbedRows, query: usize, k: usize) -> Vec<u32> {
    let q = rows.row(query);
    let mut best = TopK::new(k);
    for other in 0..rows.n_points {
        if other != query {
            best.offer(sq_dist_f32(q, rows.row(other)) as f64, other as u32);
        }
    }
    best.into_sorted().into_iter().map(|(_, idx)| idx).collect()
}

/// The `k` smallest `(distance, index)` pairs seen, ordered by distance then index.
/// Insertion into a sorted buffer: O(k) per accepted offer, fine for the small k used here.
pub(crate) struct TopK {
    k: usize,
    items: Vec<(f64, u32)>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> TopK {
        TopK {
            k,
            items: Vec::with_capacity(k + 1),
        }
    }

    /// The largest kept distance once full, else infinity.
    #[inline]
    pub(crate) fn bound(&self) -> f64 {
        if self.items.len() < self.k {
            f64::INFINITY
        } else {
            self.items[self.k - 1].0
        }
    }

    #[inline]
    pub(crate) fn offer(&mut self, dist: f64, idx: u32) {
        if self.items.len() == self.k {
            let (worst_dist, worst_idx) = self.items[self.k - 1];
            if dist > worst_dist || (dist == worst_dist && idx > worst_idx) {
                return;
            }
        }
        let pos = self
            .items
            .partition_point(|&(d, i)| d < dist || (d == dist && i < idx));
        self.items.insert(pos, (dist, idx));
        self.items.truncate(self.k);
    }

    pub(crate) fn into_sorted(self) -> Vec<(f64, u32)> {
        self.items
    }
}

/// Rows per leaf of the 2-D tree.
const PLANE_LEAF: usize = 16;

/// A KD-tree over 2-D points for exact k-nearest-neighbour queries (squared distances
/// in f64 from the f32 coordinates, so no rounding decides an order the inputs do not).
struct PlaneTree {
    /// Point index at each tree position.
    order: Vec<u32>,
    /// Coordinates in tree order, interleaved.
    xy: Vec<f64>,
    /// Implicit balanced tree: node `(start, end)` ranges, split at the median of the wider axis.
    nodes: Vec<PlaneNode>,
    /// The query's own coordinates by original index.
    coords: Vec<f64>,
}

#[derive(Clone, Copy)]
struct PlaneNode {
    start: usize,
    end: usize,
    /// Bounding box: min x, min y, max x, max y.
    bbox: [f64; 4],
    children: Option<(usize, usize)>,
}

impl PlaneTree {
    fn build(coords: &[f32]) -> PlaneTree {
        let n = coords.len() / 2;
        let coords64: Vec<f64> = coords.iter().map(|&v| v as f64).collect();
        let mut order: Vec<u32> = (0..n as u32).collect();
        let mut nodes = Vec::with_capacity(2 * n / PLANE_LEAF + 2);
        Self::build_node(&coords64, &mut order, 0, n, &mut nodes);
        let mut xy = Vec::with_capacity(2 * n);
        for &p in &order {
            xy.push(coords64[2 * p as usize]);
            xy.push(coords64[2 * p as usize + 1]);
        }
        PlaneTree {
            order,
            xy,
            nodes,
            coords: coords64,
        }
    }

    fn build_node(
        coords: &[f64],
        order: &mut [u32],
        start: usize,
        end: usize,
        nodes: &mut Vec<PlaneNode>,
    ) -> usize {
        let mut bbox = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for &p in &order[start..end] {
            let (x, y) = (coords[2 * p as usize], coords[2 * p as usize + 1]);
            bbox[0] = bbox[0].min(x);
            bbox[1] = bbox[1].min(y);
            bbox[2] = bbox[2].max(x);
            bbox[3] = bbox[3].max(y);
        }
        let node_idx = nodes.len();
        nodes.push(PlaneNode {
            start,
            end,
            bbox,
            children: None,
        });
        if end - start > PLANE_LEAF {
            let axis = if bbox[2] - bbox[0] >= bbox[3] - bbox[1] {
                0
            } else {
                1
            };
            let mid = (start + end) / 2;
            order[start..end].select_nth_unstable_by(mid - start, |&a, &b| {
                coords[2 * a as usize + axis]
                    .total_cmp(&coords[2 * b as usize + axis])
                    .then(a.cmp(&b))
            });
            let left = Self::build_node(coords, order, start, mid, nodes);
            let right = Self::build_node(coords, order, mid, end, nodes);
            nodes[node_idx].children = Some((left, right));
        }
        node_idx
    }

    /// The `k` nearest points to point `query` (self excluded), ascending, ties by index.
    fn nearest(&self, query: usize, k: usize) -> Vec<u32> {
        let (qx, qy) = (self.coords[2 * query], self.coords[2 * query + 1]);
        let mut best = TopK::new(k);
        let mut stack = vec![0usize];
        while let Some(node_idx) = stack.pop() {
            let node = &self.nodes[node_idx];
            if box_sq_dist(&node.bbox, qx, qy) > best.bound() {
                continue;
            }
            match node.children {
                None => {
                    for pos in node.start..node.end {
                        let idx = self.order[pos];
                        if idx as usize == query {
                            continue;
                        }
                        let dx = self.xy[2 * pos] - qx;
                        let dy = self.xy[2 * pos + 1] - qy;
                        best.offer(dx * dx + dy * dy, idx);
                    }
                }
                Some((left, right)) => {
                    // Visit the nearer child first (pushed last).
                    let dl = box_sq_dist(&self.nodes[left].bbox, qx, qy);
                    let dr = box_sq_dist(&self.nodes[right].bbox, qx, qy);
                    if dl <= dr {
                        stack.push(right);
                        stack.push(left);
                    } else {
                        stack.push(left);
                        stack.push(right);
                    }
                }
            }
        }
        best.into_sorted().into_iter().map(|(_, idx)| idx).collect()
    }
}

/// Squared distance from a point to a box (0 inside).
#[inline]
fn box_sq_dist(bbox: &[f64; 4], x: f64, y: f64) -> f64 {
    let dx = (bbox[0] - x).max(0.0).max(x - bbox[2]);
    let dy = (bbox[1] - y).max(0.0).max(y - bbox[3]);
    dx * dx + dy * dy
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, written as plainly as possible: full sorts on both sides.
    fn brute_quality(rows: &EmbedRows, coords: &[f32], k: usize, queries: &[usize]) -> f64 {
        let n = rows.n_points;
        let mut kept = 0usize;
        for &q in queries {
            let mut high: Vec<(f64, u32)> = (0..n)
                .filter(|&j| j != q)
                .map(|j| (sq_dist_f32(rows.row(q), rows.row(j)) as f64, j as u32))
                .collect();
            high.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut low: Vec<(f64, u32)> = (0..n)
                .filter(|&j| j != q)
                .map(|j| {
                    let dx = coords[2 * j] as f64 - coords[2 * q] as f64;
                    let dy = coords[2 * j + 1] as f64 - coords[2 * q + 1] as f64;
                    (dx * dx + dy * dy, j as u32)
                })
                .collect();
            low.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let high_set: Vec<u32> = high[..k].iter().map(|p| p.1).collect();
            kept += low[..k].iter().filter(|p| high_set.contains(&p.1)).count();
        }
        kept as f64 / (queries.len() * k) as f64
    }

    fn random_case(n: usize, dim: usize, seed: u64, grid_coords: bool) -> (EmbedRows, Vec<f32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let values: Vec<f32> = (0..n * dim).map(|_| rng.random::<f32>()).collect();
        // The 2-D coordinates: a noisy copy of the first two input columns, or integer grid
        // values (many exact distance ties, exercising the tie rule).
        let coords: Vec<f32> = (0..n)
            .flat_map(|i| {
                let (a, b) = (values[i * dim], values[i * dim + 1]);
                if grid_coords {
                    [(a * 6.0).floor(), (b * 6.0).floor()]
                } else {
                    [a + 0.3 * rng.random::<f32>(), b + 0.3 * rng.random::<f32>()]
                }
            })
            .collect();
        (EmbedRows::from_vec(n, dim, values).expect("finite"), coords)
    }

    #[test]
    fn matches_the_brute_force_definition() {
        for (seed, grid) in [(1, false), (2, true), (3, false)] {
            let (rows, coords) = random_case(300, 5, seed, grid);
            for k in [1, 5, 10] {
                let all: Vec<usize> = (0..rows.n_points).collect();
                let expected = brute_quality(&rows, &coords, k, &all);
                let got = knn_preservation(&rows, &coords, k, None);
                assert!(
                    (got - expected).abs() < 1e-12,
                    "seed {seed} k {k}: {got} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn sampled_queries_match_the_definition_on_that_sample() {
        let (rows, coords) = random_case(400, 4, 7, false);
        let queries = query_rows(400, Some((50, 11)));
        assert_eq!(queries.len(), 50);
        let expected = brute_quality(&rows, &coords, 10, &queries);
        assert!((knn_preservation(&rows, &coords, 10, Some((50, 11))) - expected).abs() < 1e-12);
        // Same seed, same sample.
        assert_eq!(queries, query_rows(400, Some((50, 11))));
    }

    #[test]
    fn a_precomputed_graph_gives_the_same_figure() {
        let (rows, coords) = random_case(250, 6, 5, false);
        let graph = crate::embed::knn::knn_brute_force(&rows, 15).expect("enough rows");
        let direct = knn_preservation(&rows, &coords, 10, None);
        let via_graph = knn_preservation_with_graph(&graph, &coords, 10, None);
        assert!(
            (direct - via_graph).abs() < 1e-12,
            "{direct} vs {via_graph}"
        );
    }

    #[test]
    fn identity_projection_of_2d_data_keeps_everything() {
        let (rows, _) = random_case(200, 2, 9, false);
        let coords = rows.values().to_vec();
        assert_eq!(knn_preservation(&rows, &coords, 10, None), 1.0);
    }

    #[test]
    fn trustworthiness_is_one_for_an_identity_and_lower_for_noise() {
        let (rows, noisy) = random_case(200, 2, 9, false);
        let coords = rows.values().to_vec();
        assert_eq!(trustworthiness(&rows, &coords, 10, None), 1.0);
        let t = trustworthiness(&rows, &noisy, 10, None);
        assert!((0.5..1.0).contains(&t), "{t}");
        // Five points on a line at 0, 1, 2, 3, 10, placed at 0, 2.6, 2, 0.9, 5 (k = 1). 2-D
        // neighbours and their input ranks: 0 -> 3 (rank 3), 1 -> 2 (rank 2: 0 and 2 tie at
        // distance 1, the smaller index first), 2 -> 1 (rank 1), 3 -> 0 (rank 3), 10 -> 1
        // (rank 3): penalties 2 + 1 + 0 + 2 + 2 over k (2n - 3k - 1) n = 6 * 5.
        let rows = EmbedRows::from_vec(5, 1, vec![0.0, 1.0, 2.0, 3.0, 10.0]).expect("finite");
        let coords = [0.0, 0.0, 2.6, 0.0, 2.0, 0.0, 0.9, 0.0, 5.0, 0.0];
        let t = trustworthiness(&rows, &coords, 1, None);
        assert!((t - (1.0 - 2.0 * 7.0 / 30.0)).abs() < 1e-12, "{t}");
    }

    #[test]
    fn tiny_inputs_do_not_panic() {
        let rows = EmbedRows::from_vec(1, 3, vec![0.0, 1.0, 2.0]).expect("finite");
        assert_eq!(knn_preservation(&rows, &[0.0, 0.0], 10, None), 1.0);
        let rows = EmbedRows::from_vec(3, 1, vec![0.0, 1.0, 5.0]).expect("finite");
        let q = knn_preservation(&rows, &[0.0, 0.0, 1.0, 0.0, 5.0, 0.0], 10, None);
        assert_eq!(q, 1.0);
    }
}
