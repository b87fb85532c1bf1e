//! The layout as a stepwise [`Job`]: one connected component after another, each through
//! setup (distances and starting positions), stress sweeps and overlap removal; then packing.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::graph::Adjacency;
use super::init::{pivot_mds, symmetric_uniform, warm_start, MAX_MDS_PIVOTS};
use super::overlap::remove_overlaps;
use super::pack::{separate_anchored, skyline_pack, Rect};
use super::params::{validate_input, Layout, LayoutError, LayoutInput, LayoutParams};
use super::stress::{max_min_pivots, StressTerms};
use crate::job::{run_to_end, Job, Progress, Step};

/// Computes a layout in one call (native callers, tests). See the [module](super) docs for
/// the steps and costs.
///
/// ```
/// use topoact_core::layout::{compute_layout, LayoutEdge, LayoutInput, LayoutParams};
/// let edges = (0..5).map(|i| LayoutEdge { source: i, target: (i + 1) % 5, weight: 0.5 }).collect();
/// let input = LayoutInput::with_uniform_radius(6, 4.0, edges); // a 5-cycle and an isolated node
/// let layout = compute_layout(&input, &LayoutParams { seed: 7, ..LayoutParams::default() })?;
/// assert_eq!(layout.positions.len(), 6);
/// assert_eq!(layout.n_components, 2);
/// # Ok::<(), topoact_core::layout::LayoutError>(())
/// ```
pub fn compute_layout(input: &LayoutInput, params: &LayoutParams) -> Result<Layout, LayoutError> {
    let mut job = LayoutJob::new(input.clone(), *params)?;
    run_to_end(&mut job, |_| {})
}

/// A layout computed in bounded steps of about [`LayoutParams::work_per_step`] units
/// (at least one sweep, or one component's setup, per step).
pub struct LayoutJob {
    params: LayoutParams,
    input: LayoutInput,
    adjacency: Adjacency,
    /// All components, largest first; those with two or more nodes come first.
    components: Vec<Vec<usize>>,
    n_connected_components: usize,
    /// Positions in each component's own frame until packing.
    positions: Vec<[f64; 2]>,
    /// Per component of two or more nodes: kept near its previous place (warm start).
    component_is_anchored: Vec<bool>,
    current: Option<ComponentSolver>,
    next_component: usize,
    stress_iterations: usize,
    progress_done: u64,
    progress_total: u64,
    result: Option<Layout>,
}

impl LayoutJob {
    /// Validates the parameters and the graph, and finds the components (O(V + E log E)).
    pub fn new(input: LayoutInput, params: LayoutParams) -> Result<Self, LayoutError> {
        params.validate()?;
        validate_input(&input)?;
        let n_nodes = input.n_nodes();
        let adjacency = Adjacency::new(n_nodes, &input.edges, params.edge_lengths);
        let components = adjacency.components();
        let n_connected_components = components
            .iter()
            .take_while(|nodes| nodes.len() >= 2)
            .count();
        let units_per_node = params.max_iterations as u64 + 2;
        let progress_total = components[..n_connected_components]
            .iter()
            .map(|nodes| nodes.len() as u64 * units_per_node)
            .sum::<u64>()
            + 1;
        Ok(Self {
            params,
            input,
            adjacency,
            components,
            n_connected_components,
            positions: vec![[0.0, 0.0]; n_nodes],
            component_is_anchored: Vec::new(),
            current: None,
            next_component: 0,
            stress_iterations: 0,
            progress_done: 0,
            progress_total,
            result: None,
        })
    }

    fn progress(&self) -> Progress {
        let stage = match &self.current {
            Some(solver) => format!(
                "layout: component {} of {} ({} nodes), {}",
                solver.component_idx + 1,
                self.n_connected_components,
                solver.nodes.len(),
                solver.phase.describe()
            ),
            None => "layout: packing components".to_string(),
        };
        Progress::new(
            stage,
            self.progress_done.min(self.progress_total),
            self.progress_total,
        )
    }

    /// Lays out isolated nodes, then moves every component to its packed place.
    fn pack(&mut self) -> Layout {
        let params = &self.params;
        let radii = &self.input.node_radii;
        let previous = self.input.initial_positions.as_deref();
        let mut anchored_groups: Vec<Vec<usize>> = Vec::new();
        let mut free_groups: Vec<Vec<usize>> = Vec::new();
        for (component_idx, nodes) in self.components[..self.n_connected_components]
            .iter()
            .enumerate()
        {
            if self
                .component_is_anchored
                .get(component_idx)
                .copied()
                .unwrap_or(false)
            {
                anchored_groups.push(nodes.clone());
            } else {
                free_groups.push(nodes.clone());
            }
        }
        // Isolated nodes: previous place if any, otherwise a grid, in index order.
        let mut grid_nodes = Vec::new();
        for nodes in &self.components[self.n_connected_components..] {
            for &node_idx in nodes {
                match previous.and_then(|positions| positions[node_idx]) {
                    Some(position) => {
                        self.positions[node_idx] = position;
                        anchored_groups.push(vec![node_idx]);
                    }
                    None => grid_nodes.push(node_idx),
                }
            }
        }
        if !grid_nodes.is_empty() {
            let max_radius = grid_nodes
                .iter()
                .map(|&node_idx| radii[node_idx])
                .fold(0.0, f64::max);
            let spacing = 2.0 * max_radius + params.node_gap.max(0.25 * params.edge_length);
            let n_columns = (((grid_nodes.len() as f64) * params.aspect_ratio)
                .sqrt()
                .ceil() as usize)
                .max(1);
            for (slot, &node_idx) in grid_nodes.iter().enumerate() {
                let (row, column) = (slot / n_columns, slot % n_columns);
                self.positions[node_idx] = [
                    (column as f64 + 0.5) * spacing,
                    (row as f64 + 0.5) * spacing,
                ];
            }
            free_groups.push(grid_nodes);
        }

        let bounding_box =
            |positions: &[[f64; 2]], nodes: &[usize]| circles_bounds(positions, radii, nodes);
        let anchored_boxes: Vec<Rect> = anchored_groups
            .iter()
            .map(|nodes| bounding_box(&self.positions, nodes))
            .collect();
        let anchored_gaps: Vec<f64> = anchored_groups
            .iter()
            .map(|nodes| {
                if nodes.len() >= 2 {
                    params.component_gap
                } else {
                    params.node_gap
                }
            })
            .collect();
        let anchored_corners = separate_anchored(&anchored_boxes, &anchored_gaps);
        for ((nodes, rect), corner) in anchored_groups
            .iter()
            .zip(&anchored_boxes)
            .zip(&anchored_corners)
        {
            translate(
                &mut self.positions,
                nodes,
                [corner[0] - rect.min[0], corner[1] - rect.min[1]],
            );
        }
        let origin = match anchored_corners
            .iter()
            .zip(&anchored_boxes)
            .map(|(corner, rect)| [corner[0], corner[1] + rect.size[1]])
            .reduce(|a, b| [a[0].min(b[0]), a[1].max(b[1])])
        {
            Some([left, bottom]) => [left, bottom + params.component_gap],
            None => [0.0, 0.0],
        };
        let free_boxes: Vec<Rect> = free_groups
            .iter()
            .map(|nodes| bounding_box(&self.positions, nodes))
            .collect();
        let sizes: Vec<[f64; 2]> = free_boxes.iter().map(|rect| rect.size).collect();
        let free_corners = skyline_pack(&sizes, params.component_gap, params.aspect_ratio, origin);
        for ((nodes, rect), corner) in free_groups.iter().zip(&free_boxes).zip(&free_corners) {
            translate(
                &mut self.positions,
                nodes,
                [corner[0] - rect.min[0], corner[1] - rect.min[1]],
            );
        }
        let all_nodes: Vec<usize> = (0..self.positions.len()).collect();
        if anchored_groups.is_empty() && !all_nodes.is_empty() {
            // A fresh layout is centred on the origin, like d3's forceCenter.
            let rect = bounding_box(&self.positions, &all_nodes);
            let centre = [
                rect.min[0] + rect.size[0] / 2.0,
                rect.min[1] + rect.size[1] / 2.0,
            ];
            translate(&mut self.positions, &all_nodes, [-centre[0], -centre[1]]);
        }
        let bounds = if all_nodes.is_empty() {
            [[0.0, 0.0], [0.0, 0.0]]
        } else {
            let rect = bounding_box(&self.positions, &all_nodes);
            [
                rect.min,
                [rect.min[0] + rect.size[0], rect.min[1] + rect.size[1]],
            ]
        };
        let mut component_of_node = vec![0; self.positions.len()];
        for (component_idx, nodes) in self.components.iter().enumerate() {
            for &node_idx in nodes {
                component_of_node[node_idx] = component_idx;
            }
        }
        Layout {
            positions: self.positions.clone(),
            component_of_node,
            n_components: self.components.len(),
            stress_iterations: self.stress_iterations,
            bounds,
        }
    }
}

impl Job for LayoutJob {
    type Output = Layout;
    type Error = LayoutError;

    fn step(&mut self) -> Result<Step<Layout>, LayoutError> {
        if let Some(layout) = &self.result {
            return Ok(Step::Done(layout.clone()));
        }
        let mut budget = self.params.work_per_step;
        loop {
            if self.current.is_none() {
                if self.next_component < self.n_connected_components {
                    let component_idx = self.next_component;
                    self.next_component += 1;
                    self.current = Some(ComponentSolver::new(
                        component_idx,
                        self.components[component_idx].clone(),
                        &self.adjacency,
                        self.params.seed,
                    ));
                } else {
                    let layout = self.pack();
                    self.progress_done = self.progress_total;
                    self.result = Some(layout.clone());
                    return Ok(Step::Done(layout));
                }
            }
            let Some(solver) = self.current.as_mut() else {
                continue;
            };
            let finished = solver.advance(
                &self.params,
                &self.input,
                &mut budget,
                &mut self.progress_done,
            );
            if finished {
                if let Some(solver) = self.current.take() {
                    self.stress_iterations += solver.iterations_done;
                    for (local_idx, &node_idx) in solver.nodes.iter().enumerate() {
                        self.positions[node_idx] = solver.positions[local_idx];
                    }
                    self.component_is_anchored.push(solver.is_anchored);
                }
            }
            if budget == 0 {
                return Ok(Step::Running(self.progress()));
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Setup,
    Stress,
    Overlap,
}

impl Phase {
    fn describe(self) -> &'static str {
        match self {
            Phase::Setup => "graph distances",
            Phase::Stress => "stress majorisation",
            Phase::Overlap => "overlap removal",
        }
    }
}

/// The state of one connected component (two or more nodes) being laid out.
struct ComponentSolver {
    component_idx: usize,
    /// Global node indices, ascending; local index = position here.
    nodes: Vec<usize>,
    adjacency: Adjacency,
    positions: Vec<[f64; 2]>,
    terms: Option<StressTerms>,
    phase: Phase,
    iterations_done: usize,
    is_anchored: bool,
    rng: ChaCha8Rng,
}

impl ComponentSolver {
    fn new(component_idx: usize, nodes: Vec<usize>, adjacency: &Adjacency, seed: u64) -> Self {
        // One generator per component, keyed by its smallest node, so a component's layout
        // does not depend on how many random numbers other components drew.
        let key = nodes.first().copied().unwrap_or(0) as u64;
        let rng = ChaCha8Rng::seed_from_u64(seed ^ key.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        Self {
            component_idx,
            adjacency: adjacency.induced(&nodes),
            positions: vec![[0.0, 0.0]; nodes.len()],
            nodes,
            terms: None,
            phase: Phase::Setup,
            iterations_done: 0,
            is_anchored: false,
            rng,
        }
    }

    fn max_iterations(&self, params: &LayoutParams) -> usize {
        if self.is_anchored {
            params.warm_start_iterations.min(params.max_iterations)
        } else {
            params.max_iterations
        }
    }

    /// Does work until the budget is spent (at least one unit of progress) or the component
    /// is finished; returns true when finished.
    fn advance(
        &mut self,
        params: &LayoutParams,
        input: &LayoutInput,
        budget: &mut u64,
        progress_done: &mut u64,
    ) -> bool {
        let n_nodes = self.nodes.len();
        let spend = |budget: &mut u64, cost: u64| *budget = budget.saturating_sub(cost.max(1));
        loop {
            match self.phase {
                Phase::Setup => {
                    let n_edges = self.adjacency.n_edges() as u64;
                    let use_exact = n_nodes <= params.exact_stress_max_nodes;
                    let pivot_distances = max_min_pivots(&self.adjacency, params.n_pivots);
                    let n_pivots = pivot_distances.pivots.len() as u64;
                    let terms = if use_exact {
                        StressTerms::exact(&self.adjacency, params.edge_length)
                    } else {
                        StressTerms::sparse(
                            self.adjacency.clone(),
                            &pivot_distances,
                            params.edge_length,
                        )
                    };
                    let previous: Option<Vec<Option<[f64; 2]>>> =
                        input.initial_positions.as_ref().map(|positions| {
                            self.nodes
                                .iter()
                                .map(|&node_idx| positions[node_idx])
                                .collect()
                        });
                    let warm = previous.as_ref().and_then(|previous| {
                        warm_start(&self.adjacency, previous, params.edge_length, &mut self.rng)
                    });
                    let jitter;
                    (self.positions, jitter) = match warm {
                        Some(positions) => {
                            self.is_anchored = true;
                            (positions, 1e-3 * params.edge_length)
                        }
                        None => (
                            pivot_mds(&pivot_distances, n_nodes, params.edge_length, &mut self.rng),
                            1e-2 * params.edge_length,
                        ),
                    };
                    for position in &mut self.positions {
                        position[0] += jitter * symmetric_uniform(&mut self.rng);
                        position[1] += jitter * symmetric_uniform(&mut self.rng);
                    }
                    let n = n_nodes as u64;
                    let setup_cost = if use_exact { n * (n + n_edges) } else { 0 }
                        + n_pivots * (n + n_edges)
                        + n * n_pivots.min(MAX_MDS_PIVOTS as u64).pow(2);
                    self.terms = Some(terms);
                    self.phase = Phase::Stress;
                    *progress_done += n;
                    spend(budget, setup_cost);
                }
                Phase::Stress => {
                    let Some(terms) = &self.terms else {
                        self.phase = Phase::Overlap;
                        continue;
                    };
                    if self.iterations_done >= self.max_iterations(params) {
                        self.phase = Phase::Overlap;
                        continue;
                    }
                    let mean_moved = terms.sweep(&mut self.positions);
                    self.iterations_done += 1;
                    *progress_done += n_nodes as u64;
                    spend(budget, terms.sweep_cost());
                    let converged = mean_moved < params.tolerance * params.edge_length;
                    if converged || self.iterations_done >= self.max_iterations(params) {
                        let skipped = params.max_iterations.saturating_sub(self.iterations_done);
                        *progress_done += skipped as u64 * n_nodes as u64;
                        self.phase = Phase::Overlap;
                    }
                }
                Phase::Overlap => {
                    self.terms = None; // free the O(n^2) matrix early
                    let radii: Vec<f64> = self
                        .nodes
                        .iter()
                        .map(|&node_idx| input.node_radii[node_idx])
                        .collect();
                    let sweeps = remove_overlaps(
                        &mut self.positions,
                        &radii,
                        params.node_gap,
                        params.max_overlap_iterations,
                        &mut self.rng,
                    );
                    if self.is_anchored {
                        if let Some(previous) = &input.initial_positions {
                            let previous: Vec<Option<[f64; 2]>> = self
                                .nodes
                                .iter()
                                .map(|&node_idx| previous[node_idx])
                                .collect();
                            align_rigidly(&mut self.positions, &previous);
                        }
                    }
                    *progress_done += n_nodes as u64;
                    spend(budget, (sweeps as u64 + 1) * 10 * n_nodes as u64);
                    return true;
                }
            }
            if *budget == 0 {
                return false;
            }
        }
    }
}

/// Rotates and translates `positions` (no scaling, no reflection) to best match, in the
/// least-squares sense, the previous positions of the nodes that have one (2-D Procrustes:
/// the rotation's cosine and sine come from the cross-covariance, only `sqrt` is used).
fn align_rigidly(positions: &mut [[f64; 2]], previous: &[Option<[f64; 2]>]) {
    let pairs: Vec<([f64; 2], [f64; 2])> = positions
        .iter()
        .zip(previous)
        .filter_map(|(&current, &previous)| previous.map(|previous| (current, previous)))
        .collect();
    if pairs.is_empty() {
        return;
    }
    let count = pairs.len() as f64;
    let mut current_centre = [0.0, 0.0];
    let mut previous_centre = [0.0, 0.0];
    for (current, previous) in &pairs {
        for axis in 0..2 {
            current_centre[axis] += current[axis] / count;
            previous_centre[axis] += previous[axis] / count;
        }
    }
    let (mut cosine_sum, mut sine_sum) = (0.0, 0.0);
    for (current, previous) in &pairs {
        let u = [
            current[0] - current_centre[0],
            current[1] - current_centre[1],
        ];
        let v = [
            previous[0] - previous_centre[0],
            previous[1] - previous_centre[1],
        ];
        cosine_sum += u[0] * v[0] + u[1] * v[1];
        sine_sum += u[0] * v[1] - u[1] * v[0];
    }
    let norm = (cosine_sum * cosine_sum + sine_sum * sine_sum).sqrt();
    let (cosine, sine) = if norm > 0.0 {
        (cosine_sum / norm, sine_sum / norm)
    } else {
        (1.0, 0.0)
    };
    for position in positions.iter_mut() {
        let u = [
            position[0] - current_centre[0],
            position[1] - current_centre[1],
        ];
        *position = [
            previous_centre[0] + cosine * u[0] - sine * u[1],
            previous_centre[1] + sine * u[0] + cosine * u[1],
        ];
    }
}

/// Bounding box of the circles of `nodes`.
fn circles_bounds(positions: &[[f64; 2]], radii: &[f64], nodes: &[usize]) -> Rect {
    let mut min = [f64::INFINITY, f64::INFINITY];
    let mut max = [f64::NEG_INFINITY, f64::NEG_INFINITY];
    for &node_idx in nodes {
        let radius = radii[node_idx];
        for axis in 0..2 {
            min[axis] = min[axis].min(positions[node_idx][axis] - radius);
            max[axis] = max[axis].max(positions[node_idx][axis] + radius);
        }
    }
    if nodes.is_empty() {
        return Rect {
            min: [0.0, 0.0],
            size: [0.0, 0.0],
        };
    }
    Rect {
        min,
        size: [max[0] - min[0], max[1] - min[1]],
    }
}

fn translate(positions: &mut [[f64; 2]], nodes: &[usize], offset: [f64; 2]) {
    for &node_idx in nodes {
        positions[node_idx][0] += offset[0];
        positions[node_idx][1] += offset[1];
    }
}
