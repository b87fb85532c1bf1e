//! Node overlap removal by deterministic pairwise separation.
//!
//! Steps, repeated until a sweep finds no pair short of its wanted distance by more than
//! `gap / 2`, or `max_iterations` sweeps have run: bucket the circles into a uniform grid of
//! cell size at least `2 r_max + gap`; for every node in
//! index order and every later node in the 3 x 3 surrounding cells, if the two circles are
//! closer than `r_i + r_j + gap`, move both apart along the line joining their centres by half
//! the shortfall each (a random direction when they coincide). This is the separation step of
//! force-directed overlap removal (compare PRISM, Gansner & Hu, *Efficient, proximity-preserving
//! node overlap removal*, JGAA 2010, which adds a proximity graph; and Dwyer, Marriott &
//! Stuckey, *Fast node overlap removal*, GD 2005, which solves it as a quadratic program).
//!
//! Cost: O(n) expected per sweep for bounded density (grid cells hold O(1) circles);
//! O(n) space.

use rand_chacha::ChaCha8Rng;

use super::init::random_direction;

/// Separates overlapping circles in place; returns the number of sweeps run. Stops after a
/// sweep in which no pair fell short of `r_i + r_j + gap` by more than `gap / 2` (so the
/// circles are at least `gap / 2` apart, or exactly apart when `gap` is 0).
pub(crate) fn remove_overlaps(
    positions: &mut [[f64; 2]],
    radii: &[f64],
    gap: f64,
    max_iterations: usize,
    rng: &mut ChaCha8Rng,
) -> usize {
    let n_nodes = positions.len().min(radii.len());
    let max_radius = radii.iter().take(n_nodes).copied().fold(0.0, f64::max);
    let min_cell_size = 2.0 * max_radius + gap;
    if n_nodes < 2 || min_cell_size.is_nan() || min_cell_size <= 0.0 {
        return 0;
    }
    // Pushes overshoot by a hair so that rounding cannot leave a sliver of overlap.
    const OVERSHOOT: f64 = 1.0 + 1e-9;
    let tolerated_shortfall = gap / 2.0;
    let mut grid = Grid::default();
    let mut n_sweeps = 0;
    while n_sweeps < max_iterations {
        n_sweeps += 1;
        grid.rebuild(&positions[..n_nodes], min_cell_size);
        let mut worst_shortfall: f64 = 0.0;
        for node_idx in 0..n_nodes {
            let (cell_x, cell_y) = grid.cell_of_node[node_idx];
            for neighbour_cell_y in cell_y.saturating_sub(1)..=(cell_y + 1).min(grid.n_rows - 1) {
                for neighbour_cell_x in
                    cell_x.saturating_sub(1)..=(cell_x + 1).min(grid.n_columns - 1)
                {
                    let cell = neighbour_cell_y * grid.n_columns + neighbour_cell_x;
                    for &other_idx in
                        &grid.nodes_by_cell[grid.cell_starts[cell]..grid.cell_starts[cell + 1]]
                    {
                        if other_idx <= node_idx {
                            continue;
                        }
                        let wanted_distance = radii[node_idx] + radii[other_idx] + gap;
                        let dx = positions[other_idx][0] - positions[node_idx][0];
                        let dy = positions[other_idx][1] - positions[node_idx][1];
                        let distance_squared = dx * dx + dy * dy;
                        if distance_squared >= wanted_distance * wanted_distance {
                            continue;
                        }
                        let distance = distance_squared.sqrt();
                        worst_shortfall = worst_shortfall.max(wanted_distance - distance);
                        let direction = if distance > 0.0 {
                            [dx / distance, dy / distance]
                        } else {
                            random_direction(rng)
                        };
                        let half_shortfall = 0.5 * (wanted_distance - distance) * OVERSHOOT;
                        positions[node_idx][0] -= half_shortfall * direction[0];
                        positions[node_idx][1] -= half_shortfall * direction[1];
                        positions[other_idx][0] += half_shortfall * direction[0];
                        positions[other_idx][1] += half_shortfall * direction[1];
                    }
                }
            }
        }
        if worst_shortfall <= tolerated_shortfall {
            break;
        }
    }
    n_sweeps
}

/// A uniform grid over the points' bounding box, nodes bucketed by counting sort (no hashing):
/// the nodes of cell `c` are `nodes_by_cell[cell_starts[c]..cell_starts[c + 1]]`, ascending.
/// Cells are at least `min_cell_size` wide, and wider when needed to keep at most about
/// `4 n` cells. Cost: O(n) time and space per rebuild.
#[derive(Default)]
struct Grid {
    n_columns: usize,
    n_rows: usize,
    cell_of_node: Vec<(usize, usize)>,
    cell_starts: Vec<usize>,
    nodes_by_cell: Vec<usize>,
}

impl Grid {
    fn rebuild(&mut self, positions: &[[f64; 2]], min_cell_size: f64) {
        let n_nodes = positions.len();
        let mut min = [f64::INFINITY; 2];
        let mut max = [f64::NEG_INFINITY; 2];
        for position in positions {
            for axis in 0..2 {
                min[axis] = min[axis].min(position[axis]);
                max[axis] = max[axis].max(position[axis]);
            }
        }
        let extent = [(max[0] - min[0]).max(0.0), (max[1] - min[1]).max(0.0)];
        let max_cells = (4 * n_nodes).max(1) as f64;
        let mut cell_size = min_cell_size;
        while (extent[0] / cell_size + 1.0) * (extent[1] / cell_size + 1.0) > max_cells {
            cell_size *= 2.0;
        }
        self.n_columns = (extent[0] / cell_size) as usize + 1;
        self.n_rows = (extent[1] / cell_size) as usize + 1;
        let cell_index = |value: f64, low: f64, count: usize| {
            (((value - low) / cell_size) as usize).min(count - 1)
        };
        self.cell_of_node.clear();
        self.cell_of_node.extend(positions.iter().map(|p| {
            (
                cell_index(p[0], min[0], self.n_columns),
                cell_index(p[1], min[1], self.n_rows),
            )
        }));
        let n_cells = self.n_columns * self.n_rows;
        self.cell_starts.clear();
        self.cell_starts.resize(n_cells + 1, 0);
        for &(cell_x, cell_y) in &self.cell_of_node {
            self.cell_starts[cell_y * self.n_columns + cell_x + 1] += 1;
        }
        for cell in 0..n_cells {
            self.cell_starts[cell + 1] += self.cell_starts[cell];
        }
        let mut next_slot = self.cell_starts.clone();
        self.nodes_by_cell.clear();
        self.nodes_by_cell.resize(n_nodes, 0);
        for (node_idx, &(cell_x, cell_y)) in self.cell_of_node.iter().enumerate() {
            let cell = cell_y * self.n_columns + cell_x;
            self.nodes_by_cell[next_slot[cell]] = node_idx;
            next_slot[cell] += 1;
        }
    }
}
