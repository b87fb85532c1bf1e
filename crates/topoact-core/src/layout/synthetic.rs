//! Seeded mapper-like graphs for tests, benchmarks and comparisons with other layouts.
//!
//! A mapper graph of a 1-D cover is a nerve of overlapping clusters: long chains (one cluster
//! per interval) that branch, sometimes merge again (loops), with small triangles where
//! clusters of neighbouring intervals overlap several ways, beside many small islands and
//! isolated nodes. [`mapper_like_graph`] builds that shape.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::init::unit_uniform;
use super::params::{topoact_radii, LayoutEdge, LayoutInput};

/// A seeded mapper-like graph of exactly `n_nodes` nodes: about 4 % isolated nodes, about
/// 20 % in islands of 2 to 12 nodes (paths, some with a spur), the rest one giant component
/// made of a main chain with branches (a third of which reconnect, making loops) and
/// occasional triangles. Member counts are skewed towards small ones (giant 20-5000, islands 5-100,
/// isolated 1-30) and turned into radii by [`topoact_radii`]; Jaccard weights are uniform in
/// [0.05, 0.7). Cost: O(n).
pub fn mapper_like_graph(n_nodes: usize, seed: u64) -> LayoutInput {
    mapper_like_graph_with_counts(n_nodes, seed).0
}

/// [`mapper_like_graph`] and the member count of every node (the radii come from them).
pub fn mapper_like_graph_with_counts(n_nodes: usize, seed: u64) -> (LayoutInput, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let below = |rng: &mut ChaCha8Rng, bound: usize| {
        ((unit_uniform(rng) * bound as f64) as usize).min(bound.saturating_sub(1))
    };
    let n_isolated = n_nodes / 25;
    let n_island_nodes = n_nodes / 5;
    let n_giant = n_nodes - n_isolated - n_island_nodes;
    let mut edges = Vec::new();
    let mut member_counts = Vec::with_capacity(n_nodes);
    // Skewed towards small counts by cubing a uniform number: no `powf`, so platform-exact.
    let skewed_count = |rng: &mut ChaCha8Rng, low: f64, high: f64| {
        let u = unit_uniform(rng);
        (low + (high - low) * u * u * u) as usize
    };
    let weight = |rng: &mut ChaCha8Rng| 0.05 + 0.65 * unit_uniform(rng);
    let add_edge =
        |edges: &mut Vec<LayoutEdge>, rng: &mut ChaCha8Rng, source: usize, target: usize| {
            edges.push(LayoutEdge {
                source,
                target,
                weight: weight(rng),
            });
        };

    // Giant component: node 0..n_giant.
    let main_chain = (n_giant / 3).max(1).min(n_giant);
    for _ in 0..n_giant {
        member_counts.push(skewed_count(&mut rng, 20.0, 5000.0));
    }
    for node_idx in 1..main_chain {
        add_edge(&mut edges, &mut rng, node_idx - 1, node_idx);
    }
    let mut next_node = main_chain;
    while next_node < n_giant {
        let branch_length = (3 + below(&mut rng, 28)).min(n_giant - next_node);
        let attach_to = below(&mut rng, next_node);
        let mut previous = attach_to;
        for node_idx in next_node..next_node + branch_length {
            add_edge(&mut edges, &mut rng, previous, node_idx);
            if node_idx >= next_node + 2 && unit_uniform(&mut rng) < 0.1 {
                add_edge(&mut edges, &mut rng, node_idx - 2, node_idx);
            }
            previous = node_idx;
        }
        if unit_uniform(&mut rng) < 0.33 {
            let rejoin = (attach_to + branch_length).min(next_node - 1);
            add_edge(&mut edges, &mut rng, previous, rejoin);
        }
        next_node += branch_length;
    }

    // Islands.
    let mut island_node = n_giant;
    while island_node < n_giant + n_island_nodes {
        let size = (2 + below(&mut rng, 11)).min(n_giant + n_island_nodes - island_node);
        for offset in 0..size {
            member_counts.push(skewed_count(&mut rng, 5.0, 100.0));
            if offset > 0 {
                let spur = offset >= 3 && unit_uniform(&mut rng) < 0.2;
                let previous = if spur {
                    island_node + offset - 2
                } else {
                    island_node + offset - 1
                };
                add_edge(&mut edges, &mut rng, previous, island_node + offset);
            }
        }
        island_node += size;
    }

    // Isolated nodes.
    for _ in 0..n_isolated {
        member_counts.push(skewed_count(&mut rng, 1.0, 30.0));
    }
    (
        LayoutInput {
            node_radii: topoact_radii(&member_counts),
            edges,
            initial_positions: None,
        },
        member_counts,
    )
}

/// A `rows x columns` grid graph (4-neighbours) with radius-4 nodes.
pub fn grid_graph(rows: usize, columns: usize) -> LayoutInput {
    let node = |row: usize, column: usize| row * columns + column;
    let mut edges = Vec::new();
    for row in 0..rows {
        for column in 0..columns {
            if column + 1 < columns {
                edges.push(LayoutEdge {
                    source: node(row, column),
                    target: node(row, column + 1),
                    weight: 0.5,
                });
            }
            if row + 1 < rows {
                edges.push(LayoutEdge {
                    source: node(row, column),
                    target: node(row + 1, column),
                    weight: 0.5,
                });
            }
        }
    }
    LayoutInput::with_uniform_radius(rows * columns, 4.0, edges)
}

/// A complete binary tree of `n_nodes` nodes (node `i`'s parent is `(i - 1) / 2`), radius 4.
pub fn binary_tree(n_nodes: usize) -> LayoutInput {
    let edges = (1..n_nodes)
        .map(|node_idx| LayoutEdge {
            source: (node_idx - 1) / 2,
            target: node_idx,
            weight: 0.5,
        })
        .collect();
    LayoutInput::with_uniform_radius(n_nodes, 4.0, edges)
}
