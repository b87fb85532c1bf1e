//! What a layout is asked for ([`LayoutInput`], [`LayoutParams`]), what it returns
//! ([`Layout`]) and how it fails ([`LayoutError`]).

use serde::{Deserialize, Serialize};

/// One undirected edge of the graph to lay out.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayoutEdge {
    /// Index of one end in [`LayoutInput::node_radii`].
    pub source: usize,
    /// Index of the other end.
    pub target: usize,
    /// Similarity of the two ends in (0, 1]; for a mapper graph the Jaccard index of the
    /// members. Only read with [`EdgeLengths::Jaccard`], but always validated.
    pub weight: f64,
}

/// The graph to lay out. Self-loops and duplicate edges are accepted (and ignored).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LayoutInput {
    /// Radius of each node's circle in drawing units (pixels), in [0, 1e9]; the node count is
    /// its length.
    /// Used for overlap removal and packing. See [`topoact_radii`] for TopoAct's scale.
    pub node_radii: Vec<f64>,
    pub edges: Vec<LayoutEdge>,
    /// Warm start: the previous position of each node that persists (`None` for new nodes),
    /// coordinates within +-1e9. When given, its length must equal the node count (the caller
    /// maps old nodes to new indices).
    pub initial_positions: Option<Vec<Option<[f64; 2]>>>,
}

impl LayoutInput {
    /// A graph whose nodes all have the same radius.
    pub fn with_uniform_radius(n_nodes: usize, radius: f64, edges: Vec<LayoutEdge>) -> Self {
        Self {
            node_radii: vec![radius; n_nodes],
            edges,
            initial_positions: None,
        }
    }

    pub fn n_nodes(&self) -> usize {
        self.node_radii.len()
    }
}

/// TopoAct's node radius: a logarithmic scale of the member count onto [3, 8] pixels
/// (`d3.scaleLog().domain([min, max]).range([3, 8])`). Counts of 0 are treated as 1; when all
/// counts are equal every radius is 3.
///
/// Note: this uses `f64::ln`, whose last bit may differ between platforms' math libraries;
/// the layout itself only uses correctly rounded operations (`+ - * / sqrt`).
pub fn topoact_radii(member_counts: &[usize]) -> Vec<f64> {
    const RADIUS_MIN: f64 = 3.0;
    const RADIUS_MAX: f64 = 8.0;
    let log_count = |count: usize| (count.max(1) as f64).ln();
    let Some(min_count) = member_counts.iter().copied().min() else {
        return Vec::new();
    };
    let max_count = member_counts.iter().copied().max().unwrap_or(min_count);
    let (log_min, log_max) = (log_count(min_count), log_count(max_count));
    member_counts
        .iter()
        .map(|&count| {
            if log_max > log_min {
                RADIUS_MIN
                    + (RADIUS_MAX - RADIUS_MIN) * (log_count(count) - log_min) / (log_max - log_min)
            } else {
                RADIUS_MIN
            }
        })
        .collect()
}

/// Which graph-theoretic distance the layout tries to reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum EdgeLengths {
    /// Every edge has length 1 (breadth-first hop counts).
    Hops,
    /// An edge of Jaccard weight `w` has length `max(1 - w, min_length)` (shortest paths by
    /// Dijkstra): strongly overlapping nodes are drawn closer. `min_length` in [0.001, 1] keeps
    /// edges of weight 1 from collapsing.
    Jaccard { min_length: f64 },
}

/// Parameters of [`compute_layout`](super::compute_layout). Check them with
/// [`LayoutParams::validate`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayoutParams {
    /// Seed of the ChaCha generator used for the small symmetry-breaking jitter.
    pub seed: u64,
    /// Length in drawing units of one unit of graph distance (one hop). d3's link distance
    /// default, 30, matches TopoAct's drawings.
    pub edge_length: f64,
    pub edge_lengths: EdgeLengths,
    /// Components with at most this many nodes use full stress over all pairs (O(n^2) memory
    /// and time per iteration); larger ones use sparse (pivot) stress. Measured on mapper-like
    /// graphs of 300-3,000 nodes, sparse stress with 100 pivots reached the same normalised
    /// stress as full stress (within 2 %) 4-10x faster, so the default switches early, where
    /// the two cost about the same (n around 2 k); raise it to a few thousand for exact stress.
    pub exact_stress_max_nodes: usize,
    /// Number of pivots of sparse stress and of pivot MDS (capped by the component size).
    pub n_pivots: usize,
    /// Upper bound on stress majorisation sweeps per component.
    pub max_iterations: usize,
    /// Upper bound on sweeps for a warm-started component (one with previous positions):
    /// enough to settle new nodes, few enough that a not fully converged previous layout does
    /// not drift on (localized majorisation creeps slowly along long chains).
    pub warm_start_iterations: usize,
    /// A component stops when a sweep moves nodes on average less than
    /// `tolerance * edge_length`.
    pub tolerance: f64,
    /// Free space kept between node circles by overlap removal, in drawing units.
    pub node_gap: f64,
    /// Space between packed components' bounding boxes, in drawing units.
    pub component_gap: f64,
    /// Upper bound on overlap-removal sweeps per component.
    pub max_overlap_iterations: usize,
    /// Target width / height of the packed drawing.
    pub aspect_ratio: f64,
    /// Work of one [`LayoutJob`](super::LayoutJob) step, counted in pair terms (one stress
    /// term or one distance entry is one unit). About 4 million is ~10 ms natively.
    pub work_per_step: u64,
}

impl Default for LayoutParams {
    fn default() -> Self {
        Self {
            seed: 0,
            edge_length: 30.0,
            edge_lengths: EdgeLengths::Hops,
            exact_stress_max_nodes: 250,
            n_pivots: 100,
            max_iterations: 100,
            warm_start_iterations: 30,
            tolerance: 1e-3,
            node_gap: 1.0,
            component_gap: 20.0,
            max_overlap_iterations: 100,
            aspect_ratio: 1.5,
            work_per_step: 4_000_000,
        }
    }
}

/// [`LayoutParams`] whose constraints have been checked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValidLayoutParams(pub(crate) LayoutParams);

impl ValidLayoutParams {
    pub fn params(&self) -> &LayoutParams {
        &self.0
    }
}

impl LayoutParams {
    /// Checks every constraint; each violated one has its own [`LayoutError`] variant.
    pub fn validate(self) -> Result<ValidLayoutParams, LayoutError> {
        let positive_finite = |value: f64| value.is_finite() && value > 0.0;
        // Bounded so that no stress term can overflow (inverse distances stay below 1e6).
        if !(1e-3..=1e6).contains(&self.edge_length) {
            return Err(LayoutError::InvalidParameter {
                name: "edge_length",
                requirement: "a number in [0.001, 1e6]",
                value: self.edge_length,
            });
        }
        if let EdgeLengths::Jaccard { min_length } = self.edge_lengths {
            if !(1e-3..=1.0).contains(&min_length) {
                return Err(LayoutError::InvalidParameter {
                    name: "edge_lengths.min_length",
                    requirement: "a number in [0.001, 1]",
                    value: min_length,
                });
            }
        }
        if self.n_pivots < 2 {
            return Err(LayoutError::InvalidParameter {
                name: "n_pivots",
                requirement: "at least 2",
                value: self.n_pivots as f64,
            });
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(LayoutError::InvalidParameter {
                name: "tolerance",
                requirement: "a finite number >= 0",
                value: self.tolerance,
            });
        }
        for (name, value) in [
            ("node_gap", self.node_gap),
            ("component_gap", self.component_gap),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(LayoutError::InvalidParameter {
                    name,
                    requirement: "a finite number >= 0",
                    value,
                });
            }
        }
        if !positive_finite(self.aspect_ratio) {
            return Err(LayoutError::InvalidParameter {
                name: "aspect_ratio",
                requirement: "a finite number > 0",
                value: self.aspect_ratio,
            });
        }
        if self.work_per_step == 0 {
            return Err(LayoutError::InvalidParameter {
                name: "work_per_step",
                requirement: "at least 1",
                value: 0.0,
            });
        }
        Ok(ValidLayoutParams(self))
    }
}

/// Why a layout could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayoutError {
    #[error("layout parameter {name} must be {requirement}, got {value}")]
    InvalidParameter {
        name: &'static str,
        requirement: &'static str,
        value: f64,
    },
    #[error("edge {edge_idx} names node {node_idx}, but the graph has only {n_nodes} nodes")]
    EdgeNodeOutOfRange {
        edge_idx: usize,
        node_idx: usize,
        n_nodes: usize,
    },
    #[error("edge {edge_idx} ({source_idx}-{target_idx}) has weight {weight}; weights must be in (0, 1]")]
    InvalidEdgeWeight {
        edge_idx: usize,
        source_idx: usize,
        target_idx: usize,
        weight: f64,
    },
    #[error("node {node_idx} has radius {radius}; radii must be in [0, 1e9]")]
    InvalidRadius { node_idx: usize, radius: f64 },
    #[error("{got} initial positions were given for {n_nodes} nodes")]
    InitialPositionsLength { got: usize, n_nodes: usize },
    #[error("the initial position of node {node_idx}, [{x}, {y}], is not finite or beyond 1e9 in magnitude")]
    InvalidInitialPosition { node_idx: usize, x: f64, y: f64 },
}

/// Largest accepted radius and initial coordinate magnitude: far beyond any drawing, small
/// enough that squared distances cannot overflow.
const MAX_COORDINATE: f64 = 1e9;

/// Checks the graph against the constraints documented on [`LayoutInput`].
pub(crate) fn validate_input(input: &LayoutInput) -> Result<(), LayoutError> {
    let n_nodes = input.n_nodes();
    for (node_idx, &radius) in input.node_radii.iter().enumerate() {
        if !(0.0..=MAX_COORDINATE).contains(&radius) {
            return Err(LayoutError::InvalidRadius { node_idx, radius });
        }
    }
    for (edge_idx, edge) in input.edges.iter().enumerate() {
        for node_idx in [edge.source, edge.target] {
            if node_idx >= n_nodes {
                return Err(LayoutError::EdgeNodeOutOfRange {
                    edge_idx,
                    node_idx,
                    n_nodes,
                });
            }
        }
        if !(edge.weight > 0.0 && edge.weight <= 1.0) {
            return Err(LayoutError::InvalidEdgeWeight {
                edge_idx,
                source_idx: edge.source,
                target_idx: edge.target,
                weight: edge.weight,
            });
        }
    }
    if let Some(initial_positions) = &input.initial_positions {
        if initial_positions.len() != n_nodes {
            return Err(LayoutError::InitialPositionsLength {
                got: initial_positions.len(),
                n_nodes,
            });
        }
        for (node_idx, position) in initial_positions.iter().enumerate() {
            if let Some([x, y]) = *position {
                if !((-MAX_COORDINATE..=MAX_COORDINATE).contains(&x)
                    && (-MAX_COORDINATE..=MAX_COORDINATE).contains(&y))
                {
                    return Err(LayoutError::InvalidInitialPosition { node_idx, x, y });
                }
            }
        }
    }
    Ok(())
}

/// A finished layout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// Centre of each node's circle, in drawing units, indexed like the input's nodes.
    pub positions: Vec<[f64; 2]>,
    /// Connected component of each node; components are numbered by decreasing size
    /// (ties: smallest node index first), so component 0 is the giant one.
    pub component_of_node: Vec<usize>,
    pub n_components: usize,
    /// Stress majorisation sweeps performed, summed over components.
    pub stress_iterations: usize,
    /// Smallest box holding every circle: `[[x_min, y_min], [x_max, y_max]]`
    /// (all zeros for an empty graph).
    pub bounds: [[f64; 2]; 2],
}
