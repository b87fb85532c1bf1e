//! Starting positions: pivot MDS for a fresh layout, previous positions for a warm start.

use rand_chacha::ChaCha8Rng;

use super::graph::Adjacency;
use super::stress::PivotDistances;
use crate::numeric::kernels::dot_f64_in_order;
pub(crate) use crate::numeric::random::{symmetric_uniform, unit_uniform};

/// A unit vector in a random direction (rejection sampling in the unit disc; only `sqrt`).
pub(crate) fn random_direction(rng: &mut ChaCha8Rng) -> [f64; 2] {
    loop {
        let x = symmetric_uniform(rng);
        let y = symmetric_uniform(rng);
        let length_squared = x * x + y * y;
        if length_squared > 1e-6 && length_squared <= 1.0 {
            let length = length_squared.sqrt();
            return [x / length, y / length];
        }
    }
}

/// Pivots used by [`pivot_mds`] at most.
pub(crate) const MAX_MDS_PIVOTS: usize = 50;

/// Pivot MDS (Brandes & Pich, *Eigensolver methods for progressive multidimensional scaling of
/// large data*, GD 2006).
///
/// Steps: square the n x k pivot distances and double-centre them into `C`; find the two
/// leading eigenvectors of the k x k matrix `C^T C` by power iteration (deflating the first
/// from the second, seeded start vectors, a fixed number of rounds); coordinates are `C v`;
/// finally scale them so that distances to the pivots best match the graph distances (in
/// the `1 / d^2`-weighted least-squares sense), multiplied by `edge_length`.
///
/// Only the first [`MAX_MDS_PIVOTS`] pivots are used (max-min order makes them a spread-out
/// sample; Brandes & Pich found 50 enough).
///
/// Cost: O(n k^2) time, O(n k) space, k <= 50.
pub(crate) fn pivot_mds(
    pivot_distances: &PivotDistances,
    n_nodes: usize,
    edge_length: f64,
    rng: &mut ChaCha8Rng,
) -> Vec<[f64; 2]> {
    let n_pivots = pivot_distances.pivots.len().min(MAX_MDS_PIVOTS);
    if n_nodes == 0 || n_pivots == 0 {
        return vec![[0.0, 0.0]; n_nodes];
    }
    // centred[v * k + p] = -1/2 (d^2 - row mean - column mean + grand mean).
    let mut centred = vec![0.0; n_nodes * n_pivots];
    for pivot_slot in 0..n_pivots {
        for node_idx in 0..n_nodes {
            let distance = pivot_distances.rows[pivot_slot * n_nodes + node_idx];
            let distance = if distance.is_finite() { distance } else { 0.0 };
            centred[node_idx * n_pivots + pivot_slot] = distance * distance;
        }
    }
    let mut column_means = vec![0.0; n_pivots];
    let mut grand_mean = 0.0;
    for node_idx in 0..n_nodes {
        for pivot_slot in 0..n_pivots {
            column_means[pivot_slot] += centred[node_idx * n_pivots + pivot_slot];
        }
    }
    for mean in &mut column_means {
        *mean /= n_nodes as f64;
        grand_mean += *mean;
    }
    grand_mean /= n_pivots as f64;
    for node_idx in 0..n_nodes {
        let row = &mut centred[node_idx * n_pivots..(node_idx + 1) * n_pivots];
        let row_mean = row.iter().sum::<f64>() / n_pivots as f64;
        for (pivot_slot, value) in row.iter_mut().enumerate() {
            *value = -0.5 * (*value - row_mean - column_means[pivot_slot] + grand_mean);
        }
    }
    // gram = C^T C (k x k, symmetric).
    let mut gram = vec![0.0; n_pivots * n_pivots];
    for node_idx in 0..n_nodes {
        let row = &centred[node_idx * n_pivots..(node_idx + 1) * n_pivots];
        for a in 0..n_pivots {
            let row_a = row[a];
            if row_a == 0.0 {
                continue;
            }
            for b in a..n_pivots {
                gram[a * n_pivots + b] += row_a * row[b];
            }
        }
    }
    for a in 0..n_pivots {
        for b in 0..a {
            gram[a * n_pivots + b] = gram[b * n_pivots + a];
        }
    }
    let first = leading_eigenvector(&gram, n_pivots, None, rng);
    let second = leading_eigenvector(&gram, n_pivots, Some(&first), rng);
    let mut positions: Vec<[f64; 2]> = (0..n_nodes)
        .map(|node_idx| {
            let row = &centred[node_idx * n_pivots..(node_idx + 1) * n_pivots];
            let dot = |vector: &[f64]| dot_f64_in_order(row, vector);
            [dot(&first), dot(&second)]
        })
        .collect();
    // Best scale against the pivot distances: minimise sum w (s D - d)^2 with w = d^-2.
    let mut numerator = 0.0;
    let mut denominator = 0.0;
    for (pivot_slot, &pivot) in pivot_distances.pivots.iter().take(n_pivots).enumerate() {
        for node_idx in 0..n_nodes {
            let graph_distance = pivot_distances.rows[pivot_slot * n_nodes + node_idx];
            if !(graph_distance > 0.0 && graph_distance.is_finite()) {
                continue;
            }
            let dx = positions[node_idx][0] - positions[pivot][0];
            let dy = positions[node_idx][1] - positions[pivot][1];
            let drawn_distance = (dx * dx + dy * dy).sqrt();
            numerator += drawn_distance / graph_distance;
            denominator += drawn_distance * drawn_distance / (graph_distance * graph_distance);
        }
    }
    let scale = if denominator > 0.0 {
        edge_length * numerator / denominator
    } else {
        0.0
    };
    for position in &mut positions {
        position[0] *= scale;
        position[1] *= scale;
    }
    positions
}

/// Power iteration for the leading eigenvector of a symmetric PSD matrix, orthogonal to
/// `orthogonal_to` when given. Fixed 100 rounds (deterministic); returns a unit vector, or
/// zeros when the matrix vanishes on the subspace.
fn leading_eigenvector(
    matrix: &[f64],
    size: usize,
    orthogonal_to: Option<&[f64]>,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    const ROUNDS: usize = 100;
    let project_out = |vector: &mut [f64]| {
        if let Some(direction) = orthogonal_to {
            let dot = dot_f64_in_order(vector, direction);
            for (value, d) in vector.iter_mut().zip(direction) {
                *value -= dot * d;
            }
        }
    };
    let normalise = |vector: &mut [f64]| -> bool {
        let norm = vector.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 && norm.is_finite() {
            vector.iter_mut().for_each(|v| *v /= norm);
            true
        } else {
            false
        }
    };
    let mut vector: Vec<f64> = (0..size).map(|_| symmetric_uniform(rng)).collect();
    project_out(&mut vector);
    if !normalise(&mut vector) {
        return vec![0.0; size];
    }
    let mut next = vec![0.0; size];
    for _ in 0..ROUNDS {
        for (row_idx, value) in next.iter_mut().enumerate() {
            *value = dot_f64_in_order(&matrix[row_idx * size..(row_idx + 1) * size], &vector);
        }
        project_out(&mut next);
        if !normalise(&mut next) {
            return vec![0.0; size];
        }
        std::mem::swap(&mut vector, &mut next);
    }
    vector
}

/// Warm start of one component: nodes with a previous position keep it; the others are
/// placed, in breadth-first waves from the placed ones, at the mean of their already placed
/// neighbours plus a random offset of `edge_length / 3`. Returns `None` when no node of the
/// component has a previous position. Cost: O(V + E).
pub(crate) fn warm_start(
    adjacency: &Adjacency,
    previous_positions: &[Option<[f64; 2]>],
    edge_length: f64,
    rng: &mut ChaCha8Rng,
) -> Option<Vec<[f64; 2]>> {
    let n_nodes = adjacency.n_nodes();
    let mut positions: Vec<Option<[f64; 2]>> = previous_positions.to_vec();
    let mut wave: Vec<usize> = (0..n_nodes)
        .filter(|&node_idx| positions[node_idx].is_some())
        .collect();
    if wave.is_empty() {
        return None;
    }
    let mut n_placed = wave.len();
    while n_placed < n_nodes && !wave.is_empty() {
        // Unplaced neighbours of the wave, ascending and without repeats.
        let mut frontier: Vec<usize> = wave
            .iter()
            .flat_map(|&node_idx| {
                adjacency
                    .neighbours(node_idx)
                    .map(|(neighbour, _)| neighbour)
            })
            .filter(|&neighbour| positions[neighbour].is_none())
            .collect();
        frontier.sort_unstable();
        frontier.dedup();
        let placed_now: Vec<(usize, [f64; 2])> = frontier
            .iter()
            .map(|&node_idx| {
                let mut sum = [0.0, 0.0];
                let mut count = 0.0;
                for (neighbour, _) in adjacency.neighbours(node_idx) {
                    if let Some([x, y]) = positions[neighbour] {
                        sum[0] += x;
                        sum[1] += y;
                        count += 1.0;
                    }
                }
                let direction = random_direction(rng);
                let offset = edge_length / 3.0;
                (
                    node_idx,
                    [
                        sum[0] / count + offset * direction[0],
                        sum[1] / count + offset * direction[1],
                    ],
                )
            })
            .collect();
        for &(node_idx, position) in &placed_now {
            positions[node_idx] = Some(position);
        }
        n_placed += placed_now.len();
        wave = frontier;
    }
    // Every node of a connected component is reached; the fallback only guards misuse.
    Some(
        positions
            .into_iter()
            .map(|position| position.unwrap_or([0.0, 0.0]))
            .collect(),
    )
}
