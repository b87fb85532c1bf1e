//! Stress majorisation of one connected component: full (all pairs) or sparse (pivots).
//!
//! Stress of positions `x` against target distances `d` is
//! `sum over pairs of w_ij (|x_i - x_j| - d_ij)^2` with `w_ij = d_ij^-2`. Each sweep moves
//! every node, in index order, to the minimiser of its majorising quadratic (the "localized"
//! update of Gansner, Koren & North, *Graph drawing by stress majorization*, GD 2004):
//!
//! `x_i <- sum_j w_ij (x_j + d_ij (x_i - x_j) / |x_i - x_j|) / sum_j w_ij`.
//!
//! Sparse stress (Ortmann, Klimenta & Brandes, *A sparse stress model*, GD 2016) keeps the
//! exact terms of the graph's edges and replaces the remaining pairs by terms towards `k`
//! pivots: node `i` is attracted to distance `d_ip` of pivot `p` with weight
//! `|{j in region(p) : d_pj <= d_ip / 2}| / d_ip^2`, where `region(p)` is the nodes whose
//! nearest pivot is `p`. A sweep costs O(n k + E) instead of O(n^2).

use super::graph::{shortest_paths_from, Adjacency, PathScratch};

/// The stress terms of one component, distances already multiplied by the edge length.
pub(crate) enum StressTerms {
    /// All pairs: `inverse_distances[i * n + j] = 1 / d_ij` (0 on the diagonal).
    /// Space O(n^2).
    Exact {
        n_nodes: usize,
        inverse_distances: Vec<f64>,
    },
    /// Edge terms plus pivot terms; for node `i` and pivot slot `p`,
    /// `pivot_weights[i * k + p]` = `w_ip` and `pivot_weighted_distances[i * k + p]` =
    /// `w_ip * d_ip`. Space O(n k + E).
    Sparse {
        adjacency: Adjacency,
        edge_length: f64,
        pivots: Vec<usize>,
        pivot_weights: Vec<f64>,
        pivot_weighted_distances: Vec<f64>,
    },
}

/// Graph distances from a set of pivots: `rows[p * n + v]` = distance from `pivots[p]` to `v`.
pub(crate) struct PivotDistances {
    pub(crate) pivots: Vec<usize>,
    pub(crate) rows: Vec<f64>,
}

/// Chooses up to `n_pivots` pivots by max-min (farthest point) sampling starting at node 0
/// (Brandes & Pich 2006), ties to the smallest index, and returns their distance rows.
/// Cost: O(k (V + E)) time (Dijkstra: times log V), O(k V) space.
pub(crate) fn max_min_pivots(adjacency: &Adjacency, n_pivots: usize) -> PivotDistances {
    let n_nodes = adjacency.n_nodes();
    let n_pivots = n_pivots.min(n_nodes);
    let mut pivots = Vec::with_capacity(n_pivots);
    let mut rows = vec![0.0; n_pivots * n_nodes];
    let mut distance_to_nearest_pivot = vec![f64::INFINITY; n_nodes];
    let mut scratch = PathScratch::default();
    let mut next_pivot = 0;
    for pivot_slot in 0..n_pivots {
        pivots.push(next_pivot);
        let row = &mut rows[pivot_slot * n_nodes..(pivot_slot + 1) * n_nodes];
        shortest_paths_from(adjacency, next_pivot, row, &mut scratch);
        let mut farthest = (f64::NEG_INFINITY, 0);
        for (node_idx, &distance) in row.iter().enumerate() {
            let nearest = distance_to_nearest_pivot[node_idx].min(distance);
            distance_to_nearest_pivot[node_idx] = nearest;
            if nearest > farthest.0 {
                farthest = (nearest, node_idx);
            }
        }
        next_pivot = farthest.1;
    }
    PivotDistances { pivots, rows }
}

impl StressTerms {
    /// All-pairs terms. Cost: V shortest-path searches, O(V (V + E)) time, O(V^2) space.
    pub(crate) fn exact(adjacency: &Adjacency, edge_length: f64) -> Self {
        let n_nodes = adjacency.n_nodes();
        let mut inverse_distances = vec![0.0; n_nodes * n_nodes];
        let mut scratch = PathScratch::default();
        for node_idx in 0..n_nodes {
            let row = &mut inverse_distances[node_idx * n_nodes..(node_idx + 1) * n_nodes];
            shortest_paths_from(adjacency, node_idx, row, &mut scratch);
            for distance in row.iter_mut() {
                *distance = if *distance > 0.0 && distance.is_finite() {
                    1.0 / (*distance * edge_length)
                } else {
                    0.0
                };
            }
        }
        Self::Exact {
            n_nodes,
            inverse_distances,
        }
    }

    /// Sparse terms from the pivots' distance rows. Cost: O(k V log V) time, O(k V) space.
    pub(crate) fn sparse(
        adjacency: Adjacency,
        pivot_distances: &PivotDistances,
        edge_length: f64,
    ) -> Self {
        let n_nodes = adjacency.n_nodes();
        let n_pivots = pivot_distances.pivots.len();
        let row = |pivot_slot: usize| {
            &pivot_distances.rows[pivot_slot * n_nodes..(pivot_slot + 1) * n_nodes]
        };
        // Region of each pivot: the nodes nearer to it than to any other (ties: first pivot).
        let mut region_distances: Vec<Vec<f64>> = vec![Vec::new(); n_pivots];
        for node_idx in 0..n_nodes {
            let mut nearest_slot = 0;
            for pivot_slot in 1..n_pivots {
                if row(pivot_slot)[node_idx] < row(nearest_slot)[node_idx] {
                    nearest_slot = pivot_slot;
                }
            }
            region_distances[nearest_slot].push(row(nearest_slot)[node_idx]);
        }
        for distances in &mut region_distances {
            distances.sort_by(f64::total_cmp);
        }
        let mut pivot_weights = vec![0.0; n_nodes * n_pivots];
        let mut pivot_weighted_distances = vec![0.0; n_nodes * n_pivots];
        for pivot_slot in 0..n_pivots {
            let distances_in_region = &region_distances[pivot_slot];
            for node_idx in 0..n_nodes {
                let graph_distance = row(pivot_slot)[node_idx];
                if !(graph_distance > 0.0 && graph_distance.is_finite()) {
                    continue;
                }
                let half = graph_distance / 2.0;
                let n_represented = distances_in_region.partition_point(|&d| d <= half).max(1);
                let target_distance = graph_distance * edge_length;
                let weight = n_represented as f64 / (target_distance * target_distance);
                pivot_weights[node_idx * n_pivots + pivot_slot] = weight;
                pivot_weighted_distances[node_idx * n_pivots + pivot_slot] =
                    weight * target_distance;
            }
        }
        Self::Sparse {
            adjacency,
            edge_length,
            pivots: pivot_distances.pivots.clone(),
            pivot_weights,
            pivot_weighted_distances,
        }
    }

    /// Work units (pair terms) of one sweep.
    pub(crate) fn sweep_cost(&self) -> u64 {
        match self {
            Self::Exact { n_nodes, .. } => (*n_nodes as u64) * (*n_nodes as u64),
            Self::Sparse {
                adjacency, pivots, ..
            } => {
                (adjacency.n_nodes() as u64) * (pivots.len() as u64)
                    + 2 * adjacency.n_edges() as u64
            }
        }
    }

    /// One Gauss-Seidel sweep of the localized majorisation update over all nodes in index
    /// order. Returns the mean distance moved. Coincident pairs contribute only their
    /// attraction term (their direction is undefined).
    ///
    /// The sums run in four interleaved lanes combined in a fixed order: the result is the
    /// same on every platform, and the compiler may use SIMD for the all-pairs loop.
    pub(crate) fn sweep(&self, positions: &mut [[f64; 2]]) -> f64 {
        let n_nodes = positions.len();
        if n_nodes < 2 {
            return 0.0;
        }
        let mut xs: Vec<f64> = positions.iter().map(|position| position[0]).collect();
        let mut ys: Vec<f64> = positions.iter().map(|position| position[1]).collect();
        let mut total_moved = 0.0;
        for node_idx in 0..n_nodes {
            let (x_i, y_i) = (xs[node_idx], ys[node_idx]);
            let mut sums = LaneSums::default();
            match self {
                Self::Exact {
                    inverse_distances, ..
                } => {
                    let row = &inverse_distances[node_idx * n_nodes..(node_idx + 1) * n_nodes];
                    let mut row_chunks = row.chunks_exact(LANES);
                    let mut x_chunks = xs.chunks_exact(LANES);
                    let mut y_chunks = ys.chunks_exact(LANES);
                    for ((inverse_chunk, x_chunk), y_chunk) in
                        (&mut row_chunks).zip(&mut x_chunks).zip(&mut y_chunks)
                    {
                        for lane in 0..LANES {
                            let inverse_distance = inverse_chunk[lane];
                            sums.add(
                                lane,
                                x_i,
                                y_i,
                                inverse_distance * inverse_distance,
                                inverse_distance,
                                x_chunk[lane],
                                y_chunk[lane],
                            );
                        }
                    }
                    let tail = row_chunks
                        .remainder()
                        .iter()
                        .zip(x_chunks.remainder())
                        .zip(y_chunks.remainder());
                    for ((&inverse_distance, &x_j), &y_j) in tail {
                        sums.add(
                            0,
                            x_i,
                            y_i,
                            inverse_distance * inverse_distance,
                            inverse_distance,
                            x_j,
                            y_j,
                        );
                    }
                }
                Self::Sparse {
                    adjacency,
                    edge_length,
                    pivots,
                    pivot_weights,
                    pivot_weighted_distances,
                } => {
                    for (neighbour, length) in adjacency.neighbours(node_idx) {
                        let inverse_distance = 1.0 / (length * edge_length);
                        sums.add(
                            0,
                            x_i,
                            y_i,
                            inverse_distance * inverse_distance,
                            inverse_distance,
                            xs[neighbour],
                            ys[neighbour],
                        );
                    }
                    let n_pivots = pivots.len();
                    let weights = &pivot_weights[node_idx * n_pivots..(node_idx + 1) * n_pivots];
                    let weighted_distances =
                        &pivot_weighted_distances[node_idx * n_pivots..(node_idx + 1) * n_pivots];
                    for (pivot_slot, ((&weight, &weighted_distance), &pivot)) in weights
                        .iter()
                        .zip(weighted_distances)
                        .zip(pivots)
                        .enumerate()
                    {
                        // A node's own pivot term has weight 0 (distance 0), so it adds nothing.
                        sums.add(
                            pivot_slot % LANES,
                            x_i,
                            y_i,
                            weight,
                            weighted_distance,
                            xs[pivot],
                            ys[pivot],
                        );
                    }
                }
            }
            let (weight_sum, sum_x, sum_y) = sums.total();
            if weight_sum > 0.0 {
                let (new_x, new_y) = (sum_x / weight_sum, sum_y / weight_sum);
                let (dx, dy) = (new_x - x_i, new_y - y_i);
                total_moved += (dx * dx + dy * dy).sqrt();
                xs[node_idx] = new_x;
                ys[node_idx] = new_y;
            }
        }
        for ((position, x), y) in positions.iter_mut().zip(xs).zip(ys) {
            *position = [x, y];
        }
        total_moved / n_nodes as f64
    }
}

const LANES: usize = 4;

/// Below this drawn distance (drawing units) a pair's direction is taken as undefined: its
/// push term `w d (x_i - x_j) / |x_i - x_j|` is then at most `w d * 1e-9 / 1e-9` and vanishes
/// with `x_i - x_j`. Keeps the update free of branches and of 0 / 0.
const MIN_DRAWN_DISTANCE: f64 = 1e-9;

/// Per-lane sums of the majorisation update: `sum w`, and `sum w x_j + w d (x_i - x_j) / |.|`.
#[derive(Default)]
struct LaneSums {
    weight: [f64; LANES],
    x: [f64; LANES],
    y: [f64; LANES],
}

impl LaneSums {
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        lane: usize,
        x_i: f64,
        y_i: f64,
        weight: f64,
        weighted_distance: f64,
        x_j: f64,
        y_j: f64,
    ) {
        let (dx, dy) = (x_i - x_j, y_i - y_j);
        let drawn_distance = (dx * dx + dy * dy).sqrt().max(MIN_DRAWN_DISTANCE);
        let push = weighted_distance / drawn_distance;
        self.weight[lane] += weight;
        self.x[lane] += weight * x_j + push * dx;
        self.y[lane] += weight * y_j + push * dy;
    }

    fn total(&self) -> (f64, f64, f64) {
        let combine = |lanes: &[f64; LANES]| (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
        (combine(&self.weight), combine(&self.x), combine(&self.y))
    }
}
