//! Graph layout of mapper graphs: deterministic stress majorisation, overlap removal and
//! component packing, in the spirit of Dwyer's scalable constrained layout.
//!
//! Architecture invariant: pure numerics. No clocks, threads or browser types; the same graph,
//! parameters and seed give bit-identical positions on every platform (only `+ - * / sqrt`,
//! which IEEE 754 rounds correctly, decide anything; no hash-map iteration order is used;
//! randomness is a seeded ChaCha8 stream).
//!
//! # Steps
//! 1. **Validate** parameters ([`LayoutParams::validate`]) and graph (edges name existing
//!    nodes, weights in (0, 1], radii finite). Drop self-loops and duplicate edges.
//! 2. **Components**, largest first. For each with two or more nodes:
//!    1. **Distances**: hop counts (BFS) or Jaccard lengths `max(1 - w, min_length)`
//!       (Dijkstra), times [`LayoutParams::edge_length`]. All pairs for components of at
//!       most [`LayoutParams::exact_stress_max_nodes`] nodes; otherwise from `k` max-min
//!       pivots only.
//!    2. **Start**: pivot MDS (Brandes & Pich 2006) plus a tiny seeded jitter; or, for a warm
//!       start, the previous positions with new nodes placed beside their placed neighbours.
//!    3. **Stress majorisation** sweeps (Gansner, Koren & North 2004), full or sparse
//!       (Ortmann, Klimenta & Brandes 2016), until the mean move falls below
//!       `tolerance * edge_length` or `max_iterations`.
//!    4. **Overlap removal**: pairwise separation of circles on a grid.
//!    5. Warm start only: rigid (rotation + translation) alignment to the previous positions.
//! 3. **Packing**: isolated nodes go into a grid; component bounding boxes are packed by a
//!    skyline (largest first, beside then below the giant one) and the drawing is centred on
//!    the origin. On a warm start, components with previous positions keep their place (moved
//!    only as far as needed to stop overlapping) and new ones are packed below them.
//!
//! # Cost
//! For a component of `n` nodes and `E` edges: exact, O(n (n + E)) setup, O(n^2) time per
//! sweep and O(n^2) memory (8 bytes per pair: 18 MB at n = 1500); sparse with `k` pivots,
//! O(k (n + E) + n k^2) setup, O(n k + E) per sweep and O(n k) memory. Overlap removal and
//! packing are near-linear.
//!
//! # Entry points
//! [`compute_layout`] in one call, or [`LayoutJob`] step by step; [`quality`] measures
//! any drawing (stress, overlaps, crossings); [`synthetic`] makes mapper-like test graphs.

mod graph;
mod init;
mod job;
mod overlap;
mod pack;
mod params;
pub mod quality;
mod stress;
pub mod synthetic;

pub use job::{compute_layout, LayoutJob};
pub use params::{
    topoact_radii, EdgeLengths, Layout, LayoutEdge, LayoutError, LayoutInput, LayoutParams,
    ValidLayoutParams,
};
pub use quality::{
    count_edge_crossings, count_node_overlaps, measure_quality, normalized_stress, LayoutQuality,
};
