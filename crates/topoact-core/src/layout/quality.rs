//! Quality measures of any drawing of a graph: scale-optimal normalised stress, overlapping
//! node circles, edge crossings. They take plain positions so that layouts from elsewhere
//! (d3-force) can be measured the same way. None of them panics: edges naming nodes beyond
//! `positions` and non-finite positions are skipped.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::graph::{shortest_paths_from, Adjacency, PathScratch};
use super::params::{EdgeLengths, LayoutEdge, LayoutInput};

/// The three measures of one drawing.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayoutQuality {
    /// See [`normalized_stress`]; 0 is perfect.
    pub normalized_stress: f64,
    /// See [`count_node_overlaps`].
    pub node_overlaps: usize,
    /// See [`count_edge_crossings`].
    pub edge_crossings: usize,
}

/// All three measures; stress from at most `max_stress_sources` source nodes.
pub fn measure_quality(
    input: &LayoutInput,
    positions: &[[f64; 2]],
    max_stress_sources: usize,
) -> LayoutQuality {
    LayoutQuality {
        normalized_stress: normalized_stress(positions, &input.edges, max_stress_sources),
        node_overlaps: count_node_overlaps(positions, &input.node_radii),
        edge_crossings: count_edge_crossings(positions, &input.edges),
    }
}

/// Scale-optimal normalised stress against unweighted (hop) graph distances, over the pairs
/// of nodes in the same connected component.
///
/// With `r_ij = |x_i - x_j| / d_ij`, the drawing is first scaled by the `s` minimising
/// `sum (s r_ij - 1)^2` (that is `s = sum r / sum r^2`), and the mean of `(s r_ij - 1)^2` over
/// the pairs is returned: 0 for a drawing whose distances are proportional to the graph's, 1
/// when all nodes coincide. Invariant under translation, rotation and uniform scaling, so
/// drawings of different scales compare fairly (Gansner, Hu & North, *A maxent-stress model for
/// graph layout*, 2013, use the same scale-free form).
///
/// Sources: every node when there are at most `max_sources` nodes, otherwise every
/// `ceil(n / max_sources)`-th node (deterministic), with all nodes as targets.
/// Cost: O(S (V + E)) time, O(V + E) space, S = sources.
pub fn normalized_stress(positions: &[[f64; 2]], edges: &[LayoutEdge], max_sources: usize) -> f64 {
    let n_nodes = positions.len();
    if n_nodes < 2 || max_sources == 0 {
        return 0.0;
    }
    let adjacency = Adjacency::new(n_nodes, edges, EdgeLengths::Hops);
    let stride = n_nodes.div_ceil(max_sources).max(1);
    let mut distances = vec![0.0; n_nodes];
    let mut scratch = PathScratch::default();
    let (mut sum_ratio, mut sum_ratio_squared, mut n_pairs) = (0.0, 0.0, 0u64);
    for source in (0..n_nodes).step_by(stride) {
        if adjacency.degree(source) == 0 || !is_finite_point(positions[source]) {
            continue;
        }
        shortest_paths_from(&adjacency, source, &mut distances, &mut scratch);
        for (target, &graph_distance) in distances.iter().enumerate() {
            if !(graph_distance > 0.0
                && graph_distance.is_finite()
                && is_finite_point(positions[target]))
            {
                continue;
            }
            let ratio = euclidean(positions[source], positions[target]) / graph_distance;
            sum_ratio += ratio;
            sum_ratio_squared += ratio * ratio;
            n_pairs += 1;
        }
    }
    if n_pairs == 0 {
        return 0.0;
    }
    if sum_ratio_squared <= 0.0 {
        return 1.0;
    }
    // mean (s r - 1)^2 at s = sum r / sum r^2 equals 1 - (sum r)^2 / (pairs * sum r^2).
    (1.0 - sum_ratio * sum_ratio / (n_pairs as f64 * sum_ratio_squared)).max(0.0)
}

/// Number of pairs of node circles that overlap: centres closer than the sum of the radii
/// (less a relative tolerance of 1e-9, so touching circles do not count). Nodes beyond
/// `radii` count with radius 0. Cost: O(n) expected with a uniform grid, O(n) space.
pub fn count_node_overlaps(positions: &[[f64; 2]], radii: &[f64]) -> usize {
    let radius_of = |node_idx: usize| {
        radii
            .get(node_idx)
            .copied()
            .filter(|r| r.is_finite() && *r > 0.0)
            .unwrap_or(0.0)
    };
    let n_nodes = positions.len();
    let max_radius = (0..n_nodes).map(radius_of).fold(0.0, f64::max);
    if max_radius <= 0.0 {
        return 0;
    }
    let cell_size = 2.0 * max_radius;
    let cell_of = |[x, y]: [f64; 2]| {
        (
            (x / cell_size).floor() as i64,
            (y / cell_size).floor() as i64,
        )
    };
    let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for (node_idx, &position) in positions.iter().enumerate() {
        if is_finite_point(position) {
            grid.entry(cell_of(position)).or_default().push(node_idx);
        }
    }
    let mut n_overlaps = 0;
    for (node_idx, &position) in positions.iter().enumerate() {
        if !is_finite_point(position) {
            continue;
        }
        let (cell_x, cell_y) = cell_of(position);
        for neighbour_cell_x in cell_x.saturating_sub(1)..=cell_x.saturating_add(1) {
            for neighbour_cell_y in cell_y.saturating_sub(1)..=cell_y.saturating_add(1) {
                for &other_idx in grid
                    .get(&(neighbour_cell_x, neighbour_cell_y))
                    .into_iter()
                    .flatten()
                {
                    if other_idx <= node_idx {
                        continue;
                    }
                    let reach = (radius_of(node_idx) + radius_of(other_idx)) * (1.0 - 1e-9);
                    if euclidean(position, positions[other_idx]) < reach {
                        n_overlaps += 1;
                    }
                }
            }
        }
    }
    n_overlaps
}

/// Number of pairs of straight edge segments that properly cross (intersect at one point
/// inside both). Self-loops, duplicate edges and pairs sharing an end are skipped; touching
/// or collinear overlapping segments do not count. Segments are swept by their leftmost x,
/// so only pairs whose x ranges overlap are tested: O(E log E + P) time with P such pairs
/// (O(E^2) at worst), O(E) space.
pub fn count_edge_crossings(positions: &[[f64; 2]], edges: &[LayoutEdge]) -> usize {
    let n_nodes = positions.len();
    let mut segments: Vec<(usize, usize)> = edges
        .iter()
        .filter(|edge| edge.source != edge.target && edge.source < n_nodes && edge.target < n_nodes)
        .filter(|edge| {
            is_finite_point(positions[edge.source]) && is_finite_point(positions[edge.target])
        })
        .map(|edge| (edge.source.min(edge.target), edge.source.max(edge.target)))
        .collect();
    segments.sort_unstable();
    segments.dedup();
    let x_range = |&(a, b): &(usize, usize)| {
        let (xa, xb) = (positions[a][0], positions[b][0]);
        (xa.min(xb), xa.max(xb))
    };
    segments.sort_by(|p, q| x_range(p).0.total_cmp(&x_range(q).0).then(p.cmp(q)));
    let mut n_crossings = 0;
    for (segment_idx, first) in segments.iter().enumerate() {
        let first_x_max = x_range(first).1;
        for second in &segments[segment_idx + 1..] {
            if x_range(second).0 > first_x_max {
                break;
            }
            let shares_end = first.0 == second.0
                || first.0 == second.1
                || first.1 == second.0
                || first.1 == second.1;
            if !shares_end
                && segments_cross(
                    positions[first.0],
                    positions[first.1],
                    positions[second.0],
                    positions[second.1],
                )
            {
                n_crossings += 1;
            }
        }
    }
    n_crossings
}

fn is_finite_point([x, y]: [f64; 2]) -> bool {
    x.is_finite() && y.is_finite()
}

fn euclidean(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (a[0] - b[0], a[1] - b[1]);
    (dx * dx + dy * dy).sqrt()
}

/// Sign of the turn a -> b -> c: positive counter-clockwise, negative clockwise, 0 collinear.
fn orientation(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

/// Proper crossing of segments pq and rs: each separates the other's ends strictly.
fn segments_cross(p: [f64; 2], q: [f64; 2], r: [f64; 2], s: [f64; 2]) -> bool {
    let (o1, o2) = (orientation(p, q, r), orientation(p, q, s));
    let (o3, o4) = (orientation(r, s, p), orientation(r, s, q));
    ((o1 > 0.0 && o2 < 0.0) || (o1 < 0.0 && o2 > 0.0))
        && ((o3 > 0.0 && o4 < 0.0) || (o3 < 0.0 && o4 > 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(source: usize, target: usize) -> LayoutEdge {
        LayoutEdge {
            source,
            target,
            weight: 1.0,
        }
    }

    #[test]
    fn crossing_of_a_square_diagonals() {
        let positions = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        let edges = [
            edge(0, 2),
            edge(1, 3),
            edge(0, 1),
            edge(1, 2),
            edge(2, 3),
            edge(3, 0),
            edge(2, 0),
        ];
        assert_eq!(count_edge_crossings(&positions, &edges), 1);
    }

    #[test]
    fn overlaps_count_pairs() {
        let positions = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [10.0, 0.0]];
        assert_eq!(count_node_overlaps(&positions, &[1.0; 4]), 1 + 1);
        assert_eq!(count_node_overlaps(&positions, &[0.6; 4]), 2);
        assert_eq!(
            count_node_overlaps(&positions, &[0.5; 4]),
            0,
            "touching circles do not overlap"
        );
    }

    #[test]
    fn stress_is_zero_for_a_straight_path_at_any_scale() {
        let positions = [[0.0, 0.0], [7.0, 0.0], [14.0, 0.0]];
        let stress = normalized_stress(&positions, &[edge(0, 1), edge(1, 2)], 10);
        assert!(stress.abs() < 1e-12, "{stress}");
        let bent = normalized_stress(
            &[[0.0, 0.0], [7.0, 0.0], [7.0, 7.0]],
            &[edge(0, 1), edge(1, 2)],
            10,
        );
        assert!(bent > 0.0);
    }
}
