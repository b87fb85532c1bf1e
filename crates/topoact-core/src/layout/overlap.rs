//! Node overlap removal by deterministic pairwise separation.
//!
//! Steps, repeated until a sweep finds no overlap or `max_iterations` sweeps have run:
//! bucket the circles into a uniform grid of cell size `2 r_max + gap`; for every node in
//! index order and every later node in the 3 x 3 surrounding cells, if the two circles are
//! closer than `r_i + r_j + gap`, move both apart along the line joining their centres by half
//! the shortfall each (a random direction when they coincide). This is the separation step of
//! force-directed overlap removal (compare PRISM, Gansner & Hu, *Efficient, proximity-preserving
//! node overlap removal*, JGAA 2010, which adds a proximity graph; and Dwyer, Marriott &
//! Stuckey, *Fast node overlap removal*, GD 2005, which solves it as a quadratic program).
//!
//! Cost: O(n) expected per sweep for bounded density (grid cells hold O(1) circles);
//! O(n) space.

use std::collections::HashMap;

use rand_chacha::ChaCha8Rng;

use super::init::random_direction;

/// Separates overlapping circles in place; returns the number of sweeps that moved something.
pub(crate) fn remove_overlaps(
    positions: &mut [[f64; 2]],
    radii: &[f64],
    gap: f64,
    max_iterations: usize,
    rng: &mut ChaCha8Rng,
) -> usize {
    let n_nodes = positions.len().min(radii.len());
    let max_radius = radii.iter().take(n_nodes).copied().fold(0.0, f64::max);
    let cell_size = 2.0 * max_radius + gap;
    if n_nodes < 2 || !(cell_size > 0.0) {
        return 0;
    }
    // Pushes overshoot by a hair so that rounding cannot leave a sliver of overlap.
    const OVERSHOOT: f64 = 1.0 + 1e-9;
    let mut n_moving_sweeps = 0;
    for _ in 0..max_iterations {
        let cell_of = |[x, y]: [f64; 2]| ((x / cell_size).floor() as i64, (y / cell_size).floor() as i64);
        let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
        let cells: Vec<(i64, i64)> = positions[..n_nodes].iter().map(|&position| cell_of(position)).collect();
        for (node_idx, &cell) in cells.iter().enumerate() {
            grid.entry(cell).or_default().push(node_idx);
        }
        let mut moved = false;
        for node_idx in 0..n_nodes {
            let (cell_x, cell_y) = cells[node_idx];
            for neighbour_cell_x in cell_x.saturating_sub(1)..=cell_x.saturating_add(1) {
                for neighbour_cell_y in cell_y.saturating_sub(1)..=cell_y.saturating_add(1) {
                    let Some(bucket) = grid.get(&(neighbour_cell_x, neighbour_cell_y)) else {
                        continue;
                    };
                    for &other_idx in bucket {
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
                        moved = true;
                    }
                }
            }
        }
        if !moved {
            break;
        }
        n_moving_sweeps += 1;
    }
    n_moving_sweeps
}
