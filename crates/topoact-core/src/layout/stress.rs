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
    Exact { n_nodes: usize, inverse_distances: Vec<f64> },
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
        Self::Exact { n_nodes, inverse_distances }
    }

    /// Sparse terms from the pivots' distance rows. Cost: O(k V log V) time, O(k V) space.
    pub(crate) fn sparse(adjacency: Adjacency, pivot_distances: &PivotDistances, edge_length: f64) -> Self {
        let n_nodes = adjacency.n_nodes();
        let n_pivots = pivot_distances.pivots.len();
        let row = |pivot_slot: usize| &pivot_distances.rows[pivot_slot * n_nodes..(pivot_slot + 1) * n_nodes];
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
                pivot_weighted_distances[node_idx * n_pivots + pivot_slot] = weight * target_distance;
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
            Self::Sparse { adjacency, pivots, .. } => {
                (adjacency.n_nodes() as u64) * (pivots.len() as u64) + 2 * adjacency.n_edges() as u64
            }
        }
    }

    /// One Gauss-Seidel sweep of the localized majorisation update over all nodes in index
    /// order. Returns the mean distance moved. Coincident pairs contribute only their
    /// attraction term (their direction is undefined).
    pub(crate) fn sweep(&self, positions: &mut [[f64; 2]]) -> f64 {
        let n_nodes = positions.len();
        if n_nodes < 2 {
            return 0.0;
        }
        let mut total_moved = 0.0;
        for node_idx in 0..n_nodes {
            let [x_i, y_i] = positions[node_idx];
            let mut weight_sum = 0.0;
            let mut sum_x = 0.0;
            let mut sum_y = 0.0;
            let mut add_term = |weight: f64, weighted_distance: f64, [x_j, y_j]: [f64; 2]| {
                let dx = x_i - x_j;
                let dy = y_i - y_j;
                let distance = (dx * dx + dy * dy).sqrt();
                weight_sum += weight;
                sum_x += weight * x_j;
                sum_y += weight * y_j;
                if distance > 0.0 {
                    let push = weighted_distance / distance;
                    sum_x += push * dx;
                    sum_y += push * dy;
                }
            };
            match self {
                Self::Exact { inverse_distances, .. } => {
                    let row = &inverse_distances[node_idx * n_nodes..(node_idx + 1) * n_nodes];
                    for (other_idx, &inverse_distance) in row.iter().enumerate() {
                        if other_idx != node_idx && inverse_distance > 0.0 {
                            add_term(inverse_distance * inverse_distance, inverse_distance, positions[other_idx]);
                        }
                    }
                }
                Self::Sparse { adjacency, edge_length, pivots, pivot_weights, pivot_weighted_distances } => {
                    for (neighbour, length) in adjacency.neighbours(node_idx) {
                        let inverse_distance = 1.0 / (length * edge_length);
                        add_term(inverse_distance * inverse_distance, inverse_distance, positions[neighbour]);
                    }
                    let n_pivots = pivots.len();
                    for (pivot_slot, &pivot) in pivots.iter().enumerate() {
                        let weight = pivot_weights[node_idx * n_pivots + pivot_slot];
                        if pivot != node_idx && weight > 0.0 {
                            let weighted_distance = pivot_weighted_distances[node_idx * n_pivots + pivot_slot];
                            add_term(weight, weighted_distance, positions[pivot]);
                        }
                    }
                }
            }
            if weight_sum > 0.0 {
                let new_position = [sum_x / weight_sum, sum_y / weight_sum];
                let dx = new_position[0] - x_i;
                let dy = new_position[1] - y_i;
                total_moved += (dx * dx + dy * dy).sqrt();
                positions[node_idx] = new_position;
            }
        }
        total_moved / n_nodes as f64
    }
}
