//! Repulsive forces of t-SNE: exactly in O(n^2), or by polynomial interpolation on an
//! equispaced grid with the kernel sums done by FFT (FIt-SNE, Linderman et al. 2019; the
//! "fft" negative gradient of openTSNE).
//!
//! For points `y_i` in 2-D, with `q_ij = 1 / (1 + |y_i - y_j|^2)`, both methods return
//! `sum_q = sum_{i != j} q_ij` and the unnormalised forces `r_i = sum_{j != i} q_ij^2 (y_i - y_j)`;
//! the gradient's repulsive part is `-r_i / sum_q` (openTSNE's convention, no factor 4).
//!
//! # Interpolation scheme
//! The bounding square of the points is cut into `B x B` boxes, each with `p x p` Lagrange
//! nodes at `(t + 1/2) / p` of the box (so all `m = B p` nodes per axis are equispaced). Each
//! point spreads the charges `1`, `x`, `y` (coordinates relative to the grid centre) onto the
//! `p^2` nodes of its box with the tensor Lagrange weights; the node potentials are the
//! charges convolved with `K2 = q^2` (and the charge `1` also with `K1 = q`); each point
//! gathers its potentials back with the same weights. Then
//! `r_i = y_i phi_1(i) - phi_y(i)` and `sum_q = sum_i phi_K1(i) - n` (removing `q_ii = 1`).
//! Using `K1` for `sum_q` (rather than FIt-SNE's `|y|^2` charge with `K2`) avoids a
//! cancellation between large terms.
//!
//! The convolution is an `L x L` complex FFT with zero padding (`L >= 2m`, a power of two or
//! three times one; see the `fft` module):
//! kernels `K2 + i K1` in one transform (both real and even, so the spectrum splits into real
//! and imaginary parts), charges `1 + i x` and `y` in two, potentials back in two.
//!
//! Box width: at most `min(range / min_boxes, max_box_width)` (openTSNE's rule; see
//! [`InterpolationParams`] for our defaults);
//! the FFT side is the smallest `2^k` or `3 * 2^k` that holds the nodes (so the grid may
//! extend past the points), capped at `max_fft_side`. The sides `3 * 2^k` (768, 1536) soften
//! the steps when the embedding outgrows a side: 512 to 768 is 2.25 times the grid, not 4.
//! A grid is kept from one evaluation to the next while it still covers the points and meets
//! the width rule, so the kernel spectrum is recomputed only when the embedding has grown or
//! shrunk by a good fraction (and, once boxes reach the maximum width, only when the FFT side
//! changes).
//!
//! # Near field
//! The grid's error lies in the near field: the kernel has width 1, and interpolating it
//! across a box of width 2 misses its peak (median force error 4-5e-2 with 5 nodes per box,
//! 1.1e-1 with 4, on a 5,000-point embedding 134 wide; openTSNE's finer grid, 3 nodes in
//! boxes of width 1, 2.4e-2). With [`InterpolationParams::exact_near_field`] the pairs whose
//! boxes touch (the 3 x 3 boxes around a point's own) are summed exactly and what the grid
//! gave for them is taken away again: each occupied box's node charges are read from the
//! planes as spread (a node belongs to one box), its node potentials from the charges of the
//! 3 x 3 boxes around it (the same kernel values the convolution uses, `p^4` products per
//! neighbouring box) are subtracted from the transformed planes, so the one gathering
//! interpolates the far field alone, and each point adds its exact pair sums. (Before,
//! each box's charges were summed again from its points and each point interpolated its
//! box's near potentials a second time. Callgrind, 50,000 x 256, one thread,
//! `examples/tsne_stages.rs`: iteration 600 479.5 to 410.3 million instructions, iteration
//! 100 (exaggerated) 283.9 to 259.1 million, with the spreading in
//! box-sorted order and unrolled Lagrange weights.) The far field, at least one box away, is
//! smooth on the grid: the median force error falls to 1.4e-3 with 4 nodes per box (5.5e-4
//! with 5), the sum over all pairs to 7e-5. 10-NN kept on the demo's block4, 3 seeds each:
//! 0.4846 (default grid), exact repulsion 0.4838, openTSNE 0.4844 over 8 seeds, the grid
//! alone 0.4778 (5 nodes); a finer grid alone (5 nodes in boxes of width 1) reaches 1.9e-3
//! and 0.4832 for three times the transforms. The pair sums run in single precision
//! relative to the grid's centre (about 1e-6 of a force), each pair once for both points
//! (a box meets its own points after each one, the next box in its row and the three
//! boxes of the next row; box rows in two passes, even then odd, so the rows of a pass
//! write disjoint points and every point gets its terms in one order on any number of
//! threads; the pair sums by hand in SSE2 / SIMD128, eight partners per step, two points
//! of a box at a time, so each partner is read and updated once for both: callgrind,
//! 50,000 x 256, one thread, iteration 600 352.5 to 342.9 million instructions, same
//! bits). The box potentials run in single precision too, one row of target nodes at a
//! time held in registers.
//!
//! With the near field exact, wider boxes cost fewer transforms and lose no accuracy: the
//! far field then starts farther out, where the kernel is smoother. Hence boxes up to 3
//! wide by default (see [`InterpolationParams`]). On a 50,000-point t-SNE embedding 175
//! wide (synthetic activations, the default run): 512 FFT instead of 768, median force
//! error 7.6e-4 instead of 1.0e-3, and one evaluation 0.69 instead of 0.65 billion
//! instructions before the symmetric pairs and single-precision box potentials, 0.48 with
//! them (callgrind, one thread); at 20,000 points (162 wide) 0.45 to 0.28 billion, error
//! 9.1e-4 to 6.7e-4.
//!
//! The near field costs O(pairs + occupied boxes x 9 p^4). It is skipped (the grid alone
//! is then used for that evaluation) while the node spacing is below
//! [`NEAR_FIELD_MIN_SPACING`], where the grid is accurate anyway (the early, small
//! embedding packs thousands of points into a few boxes), and when the pairs would exceed
//! [`NEAR_FIELD_MAX_PAIRS_PER_POINT`] per point. Both rules depend only on the coordinates,
//! so runs stay deterministic.
//!
//! Every pass is split over the pool with the `parallel` feature without changing a sum's
//! order: locating and gathering by point, the spreading by stripes of box rows (each
//! stripe visits its rows' points sorted by box, a stable counting sort, so a node's
//! charge is summed in point order on any number of threads), the transforms and the spectral
//! products by grid rows, the near field by box rows (as above) and by box. Independent
//! passes run side by side (`rayon::join`): the two planes' transforms, and the near
//! field's box potentials (which need only the spread charges) with the whole convolution,
//! so the pool's threads wait for each other fewer times per evaluation.
//!
//! Cost per evaluation: O(n p^2) to spread and gather plus O(L^2 log L) for four 2-D
//! transforms (five when the kernel changes); memory 6 L^2 f32 (6 MB at L = 512, 14 MB at
//! 768, 25 MB at 1024). The grid is single precision: charges are spread and potentials
//! gathered in f64, the transforms and the spectral products run in f32 (about 1e-6 relative
//! to the largest potential).

use super::fft::{Real, SquareFft};

/// Grid settings of the interpolated repulsion.
///
/// Defaults: 4 nodes per box, boxes at most 3 wide, at least 50 boxes, the near field summed
/// exactly. (Boxes up to 3 wide rather than 2 since the near field got cheaper: an
/// embedding up to 192 wide fits a 512 FFT instead of 128 wide, with a smaller force error;
/// see the module's "Near field".) openTSNE uses 3 nodes and width 1 (node spacing 1/3)
/// without a near field; ours has spacing up to 3/4, which alone is far too coarse (the accuracy follows the spacing more
/// than the order: 5 nodes in width 1 and 8 in width 1.6 err alike), so the near field
/// carries the accuracy and the grid only the smooth far field (see the module's "Near
/// field"). 50 boxes of 4 nodes fit a 512 FFT; openTSNE's grid has 1.5 times as many nodes
/// per axis at the same embedding size. 4 nodes rather than 5: the near field's box
/// potentials cost `p^4` and the same quality (block4 0.4846 against 0.4837) came 20 %
/// cheaper per iteration at 20,000 points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InterpolationParams {
    /// Lagrange nodes per box and axis (openTSNE: 3).
    pub points_per_box: usize,
    /// Boxes per axis at least (openTSNE: 50).
    pub min_boxes: usize,
    /// Box width at most, in embedding units (openTSNE: 1); the kernel's scale is 1.
    pub max_box_width: f64,
    /// FFT side at most (a power of two; sides `3 * 2^k` below it are used too); beyond it
    /// boxes get wider instead.
    pub max_fft_side: usize,
    /// Sum the pairs in neighbouring boxes exactly instead of by interpolation (see the
    /// module's "Near field").
    pub exact_near_field: bool,
}

impl Default for InterpolationParams {
    fn default() -> Self {
        InterpolationParams {
            points_per_box: 4,
            min_boxes: 50,
            max_box_width: 3.0,
            max_fft_side: 2048,
            exact_near_field: true,
        }
    }
}

/// Exact repulsion, O(n^2) time, O(1) extra memory. `coords` interleaved `[x0, y0, ...]`,
/// `forces` the same length; returns `sum_q`.
pub fn exact_repulsion(coords: &[f64], forces: &mut [f64]) -> f64 {
    let n = coords.len() / 2;
    let mut row_sums = vec![0.0; n];
    let per_point = |i: usize, force: &mut [f64], row_sum: &mut f64| {
        let (xi, yi) = (coords[2 * i], coords[2 * i + 1]);
        let (mut fx, mut fy, mut sq) = (0.0, 0.0, 0.0);
        for (j, other) in coords.chunks_exact(2).enumerate() {
            if j == i {
                continue;
            }
            let dx = xi - other[0];
            let dy = yi - other[1];
            let q = 1.0 / (1.0 + dx * dx + dy * dy);
            sq += q;
            let q2 = q * q;
            fx += q2 * dx;
            fy += q2 * dy;
        }
        force[0] = fx;
        force[1] = fy;
        *row_sum = sq;
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        forces
            .par_chunks_mut(2)
            .zip(row_sums.par_iter_mut())
            .enumerate()
            .for_each(|(i, (force, row_sum))| per_point(i, force, row_sum));
    }
    #[cfg(not(feature = "parallel"))]
    for (i, (force, row_sum)) in forces.chunks_mut(2).zip(row_sums.iter_mut()).enumerate() {
        per_point(i, force, row_sum);
    }
    row_sums.iter().sum()
}

/// Reusable buffers and cached kernel spectrum for [`InterpolatedRepulsion::compute`].
#[derive(Clone, Debug)]
pub struct InterpolatedRepulsion {
    params: InterpolationParams,
    fft: Option<SquareFft>,
    /// Kernel spectra (`K2`, `K1`), scaled by `1 / L^2`, for `cached_spacing`.
    kernel_k2: Vec<Real>,
    kernel_k1: Vec<Real>,
    cached_spacing: f64,
    cached_nodes: usize,
    /// The grid of the last evaluation.
    current_shape: Option<GridShape>,
    /// The grid planes (single precision, see [`super::fft`]).
    a_re: Vec<Real>,
    a_im: Vec<Real>,
    b_re: Vec<Real>,
    b_im: Vec<Real>,
    /// Per point: flat index of its box's first node in the padded grid.
    point_node: Vec<usize>,
    /// Per point: its box, row-major (`by * boxes_per_axis + bx`).
    point_box: Vec<u32>,
    /// Per point: `p` weights along x then `p` along y.
    point_weights: Vec<f64>,
    /// Denominators of the Lagrange basis on the nodes `(t + 1/2) / p`.
    lagrange_denominators: Vec<f64>,
    /// The interpolation nodes inside a box, `(t + 1/2) / p`.
    lagrange_nodes: Vec<f64>,
    /// Near field: the kernels `K2` and `K1` at node offsets `-(2p - 1)..=2p - 1` per axis,
    /// row-major, for `cached_spacing`.
    near_k2: Vec<f32>,
    near_k1: Vec<f32>,
    /// Near field: `(box, point)` sorted by box, and the occupied boxes `(box, start, end)`.
    points_by_box: Vec<(u32, u32)>,
    occupied_boxes: Vec<(u32, u32, u32)>,
    /// Near field: the counting sort's per-box counts and offsets.
    box_counts: Vec<usize>,
    /// Near field: each point's position in `points_by_box`.
    sorted_position: Vec<u32>,
    /// Where each box row's points start in `points_by_box` (`boxes + 1` entries).
    box_row_starts: Vec<usize>,
}

/// What one grid evaluation used (for tests and benchmarks).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridShape {
    pub fft_side: usize,
    pub boxes_per_axis: usize,
    pub box_width: f64,
}

impl InterpolatedRepulsion {
    pub fn new(params: InterpolationParams) -> InterpolatedRepulsion {
        let p = params.points_per_box.max(1);
        let nodes: Vec<f64> = (0..p).map(|t| (t as f64 + 0.5) / p as f64).collect();
        let lagrange_denominators = (0..p)
            .map(|t| {
                (0..p)
                    .filter(|&s| s != t)
                    .map(|s| nodes[t] - nodes[s])
                    .product()
            })
            .collect();
        InterpolatedRepulsion {
            params: InterpolationParams {
                points_per_box: p,
                ..params
            },
            fft: None,
            kernel_k2: Vec::new(),
            kernel_k1: Vec::new(),
            cached_spacing: f64::NAN,
            cached_nodes: 0,
            current_shape: None,
            a_re: Vec::new(),
            a_im: Vec::new(),
            b_re: Vec::new(),
            b_im: Vec::new(),
            point_node: Vec::new(),
            point_box: Vec::new(),
            point_weights: Vec::new(),
            lagrange_denominators,
            lagrange_nodes: nodes,
            near_k2: Vec::new(),
            near_k1: Vec::new(),
            points_by_box: Vec::new(),
            occupied_boxes: Vec::new(),
            box_counts: Vec::new(),
            sorted_position: Vec::new(),
            box_row_starts: Vec::new(),
        }
    }

    /// The grid a fresh evaluation would use for points spanning `range` (their larger
    /// coordinate extent): boxes needed `B0 = max(min_boxes, range / max_box_width)`, the FFT
    /// side the smallest `2^k` or `3 * 2^k` holding `2 p B0` nodes (at least
    /// `2 p.next_power_of_two()`, at most the power-of-two cap), and the widest box the
    /// accuracy rule allows, `range / B0` (openTSNE's width), or wider if the cap forces it.
    /// The grid then has `floor(L / 2p) >= B0` boxes and covers at least the range.
    pub fn grid_shape(&self, range: f64) -> GridShape {
        let p = self.params.points_per_box;
        let by_width = if range.is_finite() {
            (range / self.params.max_box_width).ceil()
        } else {
            1e9
        };
        let boxes_needed = (self.params.min_boxes.max(1) as f64).max(by_width.min(1e9));
        let side_cap = self.params.max_fft_side.max(2 * p).next_power_of_two();
        // Capping the nodes first keeps the product from overflowing (a 32-bit usize in wasm).
        let nodes_wanted = (2 * p).saturating_mul(boxes_needed as usize).min(side_cap);
        let fft_side = smallest_fft_side(nodes_wanted).clamp(2 * p.next_power_of_two(), side_cap);
        let boxes_per_axis = (fft_side / (2 * p)).max(1);
        let box_width = (range / boxes_needed)
            .max(range / boxes_per_axis as f64)
            .max(1e-12);
        GridShape {
            fft_side,
            boxes_per_axis,
            box_width,
        }
    }

    /// Forces `r_i` into `forces` (interleaved, same length as `coords`); returns `sum_q`.
    pub fn compute(&mut self, coords: &[f64], forces: &mut [f64]) -> f64 {
        let n = coords.len() / 2;
        if n == 0 {
            return 0.0;
        }
        // Minimum and maximum are exact, so any split gives the same bounds.
        let bounds = |values: &[f64]| {
            values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                })
        };
        #[cfg(feature = "parallel")]
        let (lo, hi) = {
            use rayon::prelude::*;
            coords.par_chunks(8192).map(bounds).reduce(
                || (f64::INFINITY, f64::NEG_INFINITY),
                |a, b| (a.0.min(b.0), a.1.max(b.1)),
            )
        };
        #[cfg(not(feature = "parallel"))]
        let (lo, hi) = bounds(coords);
        let range = hi - lo;
        // Keep the previous grid (and its kernel spectrum) while it still covers the points
        // and is no coarser than the accuracy rule allows; the origin follows the points.
        let fresh = self.grid_shape(range);
        let shape = match self.current_shape {
            Some(current)
                if current.fft_side == fresh.fft_side
                    && current.box_width * current.boxes_per_axis as f64 >= range
                    && current.box_width <= fresh.box_width =>
            {
                current
            }
            _ => fresh,
        };
        self.current_shape = Some(shape);
        self.compute_on(coords, forces, lo, range, shape)
    }

    /// [`Self::compute`] on the grid `shape`, whose boxes must cover `lo..lo + range`.
    fn compute_on(
        &mut self,
        coords: &[f64],
        forces: &mut [f64],
        lo: f64,
        range: f64,
        shape: GridShape,
    ) -> f64 {
        let n = coords.len() / 2;
        let p = self.params.points_per_box;
        let side = shape.fft_side;
        let nodes = shape.boxes_per_axis * p;
        let box_width = shape.box_width;
        let spacing = box_width / p as f64;
        let centre = lo + 0.5 * nodes as f64 * spacing;
        // Node rows and columns that can hold charge (the grid may extend past the points):
        // the transforms skip the rest of the first pass and only produce these rows.
        let used_nodes = (((range / box_width).floor() as usize).saturating_add(1))
            .min(shape.boxes_per_axis)
            * p;

        if self.fft.as_ref().map(|f| f.side()) != Some(side) {
            let fft = SquareFft::new(side);
            for buffer in [
                &mut self.a_re,
                &mut self.a_im,
                &mut self.b_re,
                &mut self.b_im,
            ] {
                *buffer = vec![0.0; fft.plane_len()];
            }
            self.fft = Some(fft);
            self.cached_spacing = f64::NAN;
        }
        if self.cached_spacing != spacing || self.cached_nodes != nodes {
            self.update_kernel(nodes, spacing);
        }
        let Some(fft) = self.fft.as_ref() else {
            return 0.0;
        };
        let stride = fft.stride();

        // Locate each point and its Lagrange weights.
        self.point_node.resize(n, 0);
        self.point_box.resize(n, 0);
        self.point_weights.resize(n * 2 * p, 0.0);
        let boxes = shape.boxes_per_axis;
        let last_box = boxes - 1;
        let denominators = &self.lagrange_denominators;
        let lagrange_nodes = &self.lagrange_nodes;
        let locate = |i: usize, weights: &mut [f64], (node, box_id): (&mut usize, &mut u32)| {
            let point = &coords[2 * i..2 * i + 2];
            let mut box_index = [0usize; 2];
            for axis in 0..2 {
                let scaled = (point[axis] - lo) / box_width;
                let b = (scaled.floor().max(0.0) as usize).min(last_box);
                box_index[axis] = b;
                let u = scaled - b as f64;
                lagrange_weights(
                    u,
                    lagrange_nodes,
                    denominators,
                    &mut weights[axis * p..(axis + 1) * p],
                );
            }
            *node = box_index[1] * p * stride + box_index[0] * p;
            *box_id = (box_index[1] * boxes + box_index[0]) as u32;
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            self.point_weights
                .par_chunks_mut(2 * p)
                .zip(self.point_node.par_iter_mut())
                .zip(self.point_box.par_iter_mut())
                .enumerate()
                .with_min_len(1024)
                .for_each(|(i, ((weights, node), box_id))| locate(i, weights, (node, box_id)));
        }
        #[cfg(not(feature = "parallel"))]
        for (i, ((weights, node), box_id)) in self
            .point_weights
            .chunks_mut(2 * p)
            .zip(self.point_node.iter_mut())
            .zip(self.point_box.iter_mut())
            .enumerate()
        {
            locate(i, weights, (node, box_id));
        }
        self.sort_by_box(boxes);
        // The near field's pairs (see the module's "Near field"), if it is summed this time.
        let near_ranges = if self.params.exact_near_field
            && spacing >= NEAR_FIELD_MIN_SPACING
            && (1..=8).contains(&p)
        {
            self.near_field_ranges(n, boxes)
        } else {
            None
        };
        let Some(fft) = self.fft.as_ref() else {
            return 0.0;
        };

        // Spread charges 1 + i x (plane a) and y (plane b) onto the nodes, in horizontal
        // stripes of box rows (in parallel with the feature): a stripe's task zeroes its
        // rows of the four planes and visits its points in the order sorted by box (ascending
        // within a box). A node belongs to one box, so each node receives its terms in point
        // order whatever the split.
        {
            let point_weights = &self.point_weights;
            let point_node = &self.point_node;
            let points_by_box = &self.points_by_box;
            let box_row_starts = &self.box_row_starts;
            let box_rows = shape.boxes_per_axis;
            let rows_per_stripe = box_rows.div_ceil(SPREAD_STRIPES).max(1);
            // Plane rows `stripe_rows(s)` belong to stripe `s`; the last takes the padding.
            let stripe_start = |s: usize| (s * rows_per_stripe).min(box_rows) * p * stride;
            let spread = |stripe: usize, planes: [&mut [Real]; 4]| {
                let [one, xs, ys, zero] = planes;
                one.fill(0.0);
                xs.fill(0.0);
                ys.fill(0.0);
                zero.fill(0.0);
                let from = stripe_start(stripe);
                let first_row = (stripe * rows_per_stripe).min(box_rows);
                let last_row = ((stripe + 1) * rows_per_stripe).min(box_rows);
                let sorted = &points_by_box[box_row_starts[first_row]..box_row_starts[last_row]];
                for &(_, i) in sorted {
                    let i = i as usize;
                    let base = point_node[i];
                    let c_x = coords[2 * i] - centre;
                    let c_y = coords[2 * i + 1] - centre;
                    let (wx, wy) = point_weights[i * 2 * p..(i + 1) * 2 * p].split_at(p);
                    let planes = [&mut one[..], &mut xs[..], &mut ys[..]];
                    let at = base - from;
                    match p {
                        3 => spread_point::<3>(wx, wy, (c_x, c_y), at, stride, planes),
                        4 => spread_point::<4>(wx, wy, (c_x, c_y), at, stride, planes),
                        5 => spread_point::<5>(wx, wy, (c_x, c_y), at, stride, planes),
                        _ => spread_point_any(wx, wy, (c_x, c_y), at, stride, planes),
                    }
                }
            };
            let mut tasks = Vec::with_capacity(SPREAD_STRIPES);
            let (mut a_re, mut a_im, mut b_re, mut b_im) = (
                self.a_re.as_mut_slice(),
                self.a_im.as_mut_slice(),
                self.b_re.as_mut_slice(),
                self.b_im.as_mut_slice(),
            );
            for stripe in 0..SPREAD_STRIPES {
                let len = if stripe + 1 == SPREAD_STRIPES {
                    a_re.len()
                } else {
                    stripe_start(stripe + 1) - stripe_start(stripe)
                };
                let (a_re_here, a_re_rest) = std::mem::take(&mut a_re).split_at_mut(len);
                let (a_im_here, a_im_rest) = std::mem::take(&mut a_im).split_at_mut(len);
                let (b_re_here, b_re_rest) = std::mem::take(&mut b_re).split_at_mut(len);
                let (b_im_here, b_im_rest) = std::mem::take(&mut b_im).split_at_mut(len);
                tasks.push((stripe, [a_re_here, a_im_here, b_re_here, b_im_here]));
                (a_re, a_im, b_re, b_im) = (a_re_rest, a_im_rest, b_re_rest, b_im_rest);
            }
            #[cfg(feature = "parallel")]
            {
                use rayon::prelude::*;
                tasks
                    .into_par_iter()
                    .for_each(|(stripe, planes)| spread(stripe, planes));
            }
            #[cfg(not(feature = "parallel"))]
            for (stripe, planes) in tasks {
                spread(stripe, planes);
            }
        }

        // The occupied boxes' node charges, as spread: for the near field's box potentials,
        // and (charge 1) for the grid's share of `sum_q` below.
        let charges = self.box_charges(boxes, stride);
        let near_charges = near_ranges.as_ref().map(|_| &charges);

        // The convolution, and (with the near field) the box potentials to take from its
        // result, which need only the spread charges: side by side with the feature.
        let (occupied, near_k2, near_k1) = (&self.occupied_boxes, &self.near_k2, &self.near_k1);
        let box_potentials = || {
            near_charges
                .map(|charges| near_potentials(p, occupied, near_k2, near_k1, charges, boxes))
        };
        let planes = [
            &mut self.a_re[..],
            &mut self.a_im[..],
            &mut self.b_re[..],
            &mut self.b_im[..],
        ];
        let (kernel_k1, kernel_k2) = (&self.kernel_k1[..], &self.kernel_k2[..]);
        #[cfg(feature = "parallel")]
        let ((), potentials) = rayon::join(
            || convolve(fft, planes, kernel_k1, kernel_k2, used_nodes),
            box_potentials,
        );
        #[cfg(not(feature = "parallel"))]
        let potentials = {
            convolve(fft, planes, kernel_k1, kernel_k2, used_nodes);
            box_potentials()
        };
        // With the near field summed exactly: take from each occupied box's node potentials
        // what the convolution gave them from the 3 x 3 boxes around it, so the gathering
        // below interpolates the far field alone.
        // A box's nodes lie in its box row's `p` plane rows, so the box rows run side by
        // side (with the feature); each node is written once, so the same bits.
        if let Some(potentials) = &potentials {
            let nodes_per_box = p * p;
            let occupied = &self.occupied_boxes;
            let first_slot_from = |id: usize| occupied.partition_point(|b| (b.0 as usize) < id);
            let box_row = |by: usize, [a_re, a_im, b_re, b_im]: [&mut [Real]; 4]| {
                for slot in first_slot_from(by * boxes)..first_slot_from((by + 1) * boxes) {
                    let bx = occupied[slot].0 as usize % boxes;
                    let here =
                        &potentials[slot * 4 * nodes_per_box..(slot + 1) * 4 * nodes_per_box];
                    for ty in 0..p {
                        let row = ty * stride + bx * p;
                        for tx in 0..p {
                            let (node, a) = (row + tx, ty * p + tx);
                            a_re[node] -= here[a];
                            a_im[node] -= here[nodes_per_box + a];
                            b_re[node] -= here[2 * nodes_per_box + a];
                            b_im[node] -= here[3 * nodes_per_box + a];
                        }
                    }
                }
            };
            let rows_len = boxes * p * stride;
            let (a_re, a_im, b_re, b_im) = (
                &mut self.a_re[..rows_len],
                &mut self.a_im[..rows_len],
                &mut self.b_re[..rows_len],
                &mut self.b_im[..rows_len],
            );
            #[cfg(feature = "parallel")]
            {
                use rayon::prelude::*;
                a_re.par_chunks_mut(p * stride)
                    .zip(a_im.par_chunks_mut(p * stride))
                    .zip(b_re.par_chunks_mut(p * stride))
                    .zip(b_im.par_chunks_mut(p * stride))
                    .enumerate()
                    .with_min_len(4)
                    .for_each(|(by, (((a_re, a_im), b_re), b_im))| {
                        box_row(by, [a_re, a_im, b_re, b_im])
                    });
            }
            #[cfg(not(feature = "parallel"))]
            for (by, (((a_re, a_im), b_re), b_im)) in a_re
                .chunks_mut(p * stride)
                .zip(a_im.chunks_mut(p * stride))
                .zip(b_re.chunks_mut(p * stride))
                .zip(b_im.chunks_mut(p * stride))
                .enumerate()
            {
                box_row(by, [a_re, a_im, b_re, b_im]);
            }
        }

        // The grid's share of `sum_q`: `sum_i phi_K1(i)` is `sum_node C1(node) phi_K1(node)`
        // (the gathering's weights of a node add up to its charge `C1`), so it is summed over
        // the occupied boxes' nodes (slot order, then node order) instead of gathered per
        // point. The near field's share is the pairs' own sums below.
        let grid_k1: f64 = {
            let nodes_per_box = p * p;
            let b_im = &self.b_im;
            let mut total = 0.0;
            for (&(id, _, _), here) in self
                .occupied_boxes
                .iter()
                .zip(charges.chunks_exact(3 * nodes_per_box))
            {
                let (bx, by) = (id as usize % boxes, id as usize / boxes);
                for ty in 0..p {
                    let row = (by * p + ty) * stride + bx * p;
                    for tx in 0..p {
                        total += here[ty * p + tx] as f64 * b_im[row + tx] as f64;
                    }
                }
            }
            total
        };

        // Gather potentials at the points.
        {
            let (a_re, a_im, b_re) = (&self.a_re, &self.a_im, &self.b_re);
            let point_node = &self.point_node;
            let point_weights = &self.point_weights;
            let gather = |i: usize, force: &mut [f64]| {
                let weights = &point_weights[i * 2 * p..(i + 1) * 2 * p];
                let (wx, wy) = weights.split_at(p);
                let base = point_node[i];
                let planes = [&a_re[..], &a_im[..], &b_re[..]];
                let [phi_1, phi_x, phi_y] = match p {
                    3 => gather_point::<3>(wx, wy, base, stride, planes),
                    4 => gather_point::<4>(wx, wy, base, stride, planes),
                    5 => gather_point::<5>(wx, wy, base, stride, planes),
                    _ => gather_point_any(wx, wy, base, stride, planes),
                };
                let x = coords[2 * i] - centre;
                let y = coords[2 * i + 1] - centre;
                force[0] = x * phi_1 - phi_x;
                force[1] = y * phi_1 - phi_y;
            };
            #[cfg(feature = "parallel")]
            {
                use rayon::prelude::*;
                forces
                    .par_chunks_mut(2)
                    .enumerate()
                    .with_min_len(1024)
                    .for_each(|(i, force)| gather(i, force));
            }
            #[cfg(not(feature = "parallel"))]
            for (i, force) in forces.chunks_mut(2).enumerate() {
                gather(i, force);
            }
        }
        let (near_k1, self_terms) = match near_ranges {
            // The near field leaves the self terms out.
            Some(half_ranges) => (
                self.near_pairs(coords, forces, centre, boxes, &half_ranges),
                0.0,
            ),
            // Remove the grid's self terms q_ii = 1.
            None => (0.0, n as f64),
        };
        // Never let sum_q reach zero.
        (grid_k1 + near_k1 - self_terms).max(f64::MIN_POSITIVE)
    }

    /// The near field's plan (after [`Self::sort_by_box`]): for each occupied box, the
    /// ranges of sorted positions its points meet, each pair once (see below); `None` when
    /// the pairs would exceed [`NEAR_FIELD_MAX_PAIRS_PER_POINT`] per point (a dense clump on
    /// a coarse grid), and the grid alone is used.
    fn near_field_ranges(&self, n: usize, boxes: usize) -> Option<Vec<[(u32, u32); 2]>> {
        let occupied = &self.occupied_boxes;

        // For each occupied box, the pairs with the points in the 3 x 3 boxes around it (for
        // the budget), and the sorted positions of the boxes each of its points meets once
        // per pair: its own box and the next one in its row (from the point on, one
        // contiguous range as ids are row-major), and the three boxes of the next row (one
        // range). Boxes not occupied hold no points.
        let first_slot_from = |id: usize| occupied.partition_point(|b| (b.0 as usize) < id);
        let mut half_ranges = vec![[(0u32, 0u32); 2]; occupied.len()];
        let box_ranges = |slot: usize, ranges: &mut [(u32, u32); 2]| -> u64 {
            let mut pairs = 0u64;
            let id = occupied[slot].0 as usize;
            let (bx, by) = (id % boxes, id / boxes);
            let here = (occupied[slot].2 - occupied[slot].1) as u64;
            let (left, right) = (bx.saturating_sub(1), (bx + 1).min(boxes - 1));
            for ny in by.saturating_sub(1)..=(by + 1).min(boxes - 1) {
                let lo = first_slot_from(ny * boxes + left);
                let hi = first_slot_from(ny * boxes + right + 1);
                if lo < hi {
                    pairs += here * (occupied[hi - 1].2 - occupied[lo].1) as u64;
                }
            }
            let own_end = occupied[first_slot_from(by * boxes + right + 1) - 1].2;
            ranges[0] = (occupied[slot].1, own_end);
            if by + 1 < boxes {
                let lo = first_slot_from((by + 1) * boxes + left);
                let hi = first_slot_from((by + 1) * boxes + right + 1);
                if lo < hi {
                    ranges[1] = (occupied[lo].1, occupied[hi - 1].2);
                }
            }
            pairs
        };
        // An integer count: the same whatever the order of the sum.
        #[cfg(feature = "parallel")]
        let pairs: u64 = {
            use rayon::prelude::*;
            half_ranges
                .par_iter_mut()
                .enumerate()
                .with_min_len(256)
                .map(|(slot, ranges)| box_ranges(slot, ranges))
                .sum()
        };
        #[cfg(not(feature = "parallel"))]
        let pairs: u64 = half_ranges
            .iter_mut()
            .enumerate()
            .map(|(slot, ranges)| box_ranges(slot, ranges))
            .sum();
        (pairs <= (NEAR_FIELD_MAX_PAIRS_PER_POINT * n) as u64).then_some(half_ranges)
    }

    /// Adds to `forces` the exact sums over the pairs in touching boxes (the grid's share of
    /// them was taken from the node potentials before the gathering); returns their share of
    /// `sum_q`, `sum q_ij` over those pairs in both directions (twice each point's own half,
    /// summed in sorted order).
    fn near_pairs(
        &self,
        coords: &[f64],
        forces: &mut [f64],
        centre: f64,
        boxes: usize,
        half_ranges: &[[(u32, u32); 2]],
    ) -> f64 {
        let n = coords.len() / 2;
        let occupied = &self.occupied_boxes;
        let first_slot_from = |id: usize| occupied.partition_point(|b| (b.0 as usize) < id);
        // Single precision, relative to the grid's centre, for the pair sums: their rounding
        // (about 1e-6 of a force) is far below the grid's error they replace.
        // (Point by point, in parallel with the feature: the same values.)
        let (mut sorted_x, mut sorted_y) = (vec![0f32; n], vec![0f32; n]);
        let by_box = &self.points_by_box;
        let relative = |from: usize, xs: &mut [f32], ys: &mut [f32]| {
            for ((x, y), &(_, i)) in xs.iter_mut().zip(ys.iter_mut()).zip(&by_box[from..]) {
                *x = (coords[2 * i as usize] - centre) as f32;
                *y = (coords[2 * i as usize + 1] - centre) as f32;
            }
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            sorted_x
                .par_chunks_mut(4096)
                .zip(sorted_y.par_chunks_mut(4096))
                .enumerate()
                .for_each(|(chunk, (xs, ys))| relative(chunk * 4096, xs, ys));
        }
        #[cfg(not(feature = "parallel"))]
        relative(0, &mut sorted_x, &mut sorted_y);

        // The exact sums over the pairs in touching boxes, each pair once (see
        // `symmetric_pair_sums`), per sorted position: the point's own half in double
        // precision, what its partners added in single. Box rows in two passes, even rows
        // then odd: a row's pairs reach its own row and the next, so the rows of one pass
        // write disjoint positions, and each position receives its terms in the same order
        // however many threads run.
        let row_start = |by: usize| {
            let slot = first_slot_from(by * boxes);
            occupied.get(slot).map_or(n, |b| b.1 as usize)
        };
        let row_bounds: Vec<usize> = (0..=boxes).map(row_start).collect();
        let mut own = vec![[0.0f64; 3]; n];
        let (mut partner_x, mut partner_y) = (vec![0f32; n], vec![0f32; n]);
        let sorted = (&sorted_x, &sorted_y);
        let row_bounds = &row_bounds;
        // Row `by`'s pairs; the slices start at the row's first position `base`.
        let row_pairs = |by: usize, own: &mut [[f64; 3]], px: &mut [f32], py: &mut [f32]| {
            let base = row_bounds[by];
            let (xs, ys) = sorted;
            let slots = first_slot_from(by * boxes)..first_slot_from((by + 1) * boxes);
            for slot in slots {
                let (_, start, end) = occupied[slot];
                let (mut position, end) = (start as usize, end as usize);
                // Two points of the box at a time (they meet the same ranges, the first one
                // also the second point): each partner read and updated once for both.
                while position + 1 < end {
                    let points = [
                        (xs[position], ys[position]),
                        (xs[position + 1], ys[position + 1]),
                    ];
                    let mut sums = [[0.0f64; 3]; 2];
                    for (k, &(from, to)) in half_ranges[slot].iter().enumerate() {
                        // The own row's range starts at the box: keep the points after the
                        // first one (the second point meets them from the one after it).
                        let (from, skip) = if k == 0 {
                            (position + 1, 1)
                        } else {
                            (from as usize, 0)
                        };
                        let to = to as usize;
                        if from >= to {
                            continue;
                        }
                        let (local_from, local_to) = (from - base, to - base);
                        let both = symmetric_pair_sums_two(
                            points,
                            skip,
                            &xs[from..to],
                            &ys[from..to],
                            &mut px[local_from..local_to],
                            &mut py[local_from..local_to],
                        );
                        for (sums, (gx, gy, gq)) in sums.iter_mut().zip(both) {
                            sums[0] += gx;
                            sums[1] += gy;
                            sums[2] += gq;
                        }
                    }
                    own[position - base] = sums[0];
                    own[position + 1 - base] = sums[1];
                    position += 2;
                }
                if position < end {
                    let (xi, yi) = (xs[position], ys[position]);
                    let mut sums = [0.0f64; 3];
                    for (k, &(from, to)) in half_ranges[slot].iter().enumerate() {
                        let from = if k == 0 { position + 1 } else { from as usize };
                        let to = to as usize;
                        if from >= to {
                            continue;
                        }
                        let (local_from, local_to) = (from - base, to - base);
                        let (gx, gy, gq) = symmetric_pair_sums(
                            xi,
                            yi,
                            &xs[from..to],
                            &ys[from..to],
                            &mut px[local_from..local_to],
                            &mut py[local_from..local_to],
                        );
                        sums[0] += gx;
                        sums[1] += gy;
                        sums[2] += gq;
                    }
                    own[position - base] = sums;
                }
            }
        };
        for parity in 0..2 {
            // Row `by` (of this parity) with the next: positions row_bounds[by]..row_bounds[by + 2].
            let mut tasks = Vec::new();
            let first = row_bounds[parity.min(boxes)];
            let (mut own_rest, mut x_rest, mut y_rest) = (
                &mut own[first..],
                &mut partner_x[first..],
                &mut partner_y[first..],
            );
            let mut by = parity;
            while by < boxes {
                let len = row_bounds[(by + 2).min(boxes)] - row_bounds[by];
                let (own_here, own_tail) = own_rest.split_at_mut(len);
                let (x_here, x_tail) = x_rest.split_at_mut(len);
                let (y_here, y_tail) = y_rest.split_at_mut(len);
                if row_bounds[by + 1] > row_bounds[by] {
                    tasks.push((by, own_here, x_here, y_here));
                }
                (own_rest, x_rest, y_rest) = (own_tail, x_tail, y_tail);
                by += 2;
            }
            #[cfg(feature = "parallel")]
            {
                use rayon::prelude::*;
                tasks
                    .into_par_iter()
                    .for_each(|(by, own, px, py)| row_pairs(by, own, px, py));
            }
            #[cfg(not(feature = "parallel"))]
            for (by, own, px, py) in tasks {
                row_pairs(by, own, px, py);
            }
        }

        // Each point adds its exact sums (by its sorted position): its own half in double
        // precision plus what its partners added in single.
        let sorted_position = &self.sorted_position;
        let (own, partner_x, partner_y) = (&own, &partner_x, &partner_y);
        let add = |i: usize, force: &mut [f64]| {
            let at = sorted_position[i] as usize;
            let [own_x, own_y, _] = own[at];
            force[0] += own_x + partner_x[at] as f64;
            force[1] += own_y + partner_y[at] as f64;
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            forces
                .par_chunks_mut(2)
                .enumerate()
                .with_min_len(4096)
                .for_each(|(i, force)| add(i, force));
        }
        #[cfg(not(feature = "parallel"))]
        for (i, force) in forces.chunks_mut(2).enumerate() {
            add(i, force);
        }
        // Each pair's q once per point of it.
        2.0 * own.iter().map(|sums| sums[2]).sum::<f64>()
    }

    /// Points sorted by box (row-major box ids; a counting sort, stable, so points ascend
    /// within a box), the runs of the occupied boxes `(box, start, end)` in that order, each
    /// point's sorted position, and where each box row's points start: O(n + boxes^2).
    fn sort_by_box(&mut self, boxes: usize) {
        let n = self.point_box.len();
        self.box_counts.clear();
        self.box_counts.resize(boxes * boxes + 1, 0);
        for &id in &self.point_box {
            self.box_counts[id as usize + 1] += 1;
        }
        self.occupied_boxes.clear();
        for id in 0..boxes * boxes {
            let (start, count) = (self.box_counts[id], self.box_counts[id + 1]);
            if count > 0 {
                self.occupied_boxes
                    .push((id as u32, start as u32, (start + count) as u32));
            }
            self.box_counts[id + 1] = start + count;
        }
        self.box_row_starts.clear();
        self.box_row_starts
            .extend((0..=boxes).map(|by| self.box_counts[by * boxes]));
        self.points_by_box.clear();
        self.points_by_box.resize(n, (0, 0));
        self.sorted_position.resize(n, 0);
        for (i, &id) in self.point_box.iter().enumerate() {
            let at = &mut self.box_counts[id as usize];
            self.points_by_box[*at] = (id, i as u32);
            self.sorted_position[i] = *at as u32;
            *at += 1;
        }
    }

    /// Each occupied box's node charges `1`, `x`, `y` (slot order, `3 p^2` values) read
    /// from the planes as spread (before the forward transforms). A node belongs to one box,
    /// so these are the charges the convolution sees from that box.
    fn box_charges(&self, boxes: usize, stride: usize) -> Vec<f32> {
        let p = self.params.points_per_box;
        let nodes_per_box = p * p;
        let mut charges = vec![0f32; self.occupied_boxes.len() * 3 * nodes_per_box];
        let (a_re, a_im, b_re) = (&self.a_re, &self.a_im, &self.b_re);
        let one_box = |&(id, _, _): &(u32, u32, u32), out: &mut [f32]| {
            let (bx, by) = (id as usize % boxes, id as usize / boxes);
            for ty in 0..p {
                let row = (by * p + ty) * stride + bx * p;
                for tx in 0..p {
                    let (node, a) = (row + tx, ty * p + tx);
                    out[a] = a_re[node];
                    out[nodes_per_box + a] = a_im[node];
                    out[2 * nodes_per_box + a] = b_re[node];
                }
            }
        };
        // Box by box (in parallel with the feature): copies, so the same values.
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            self.occupied_boxes
                .par_iter()
                .zip(charges.par_chunks_exact_mut(3 * nodes_per_box))
                .with_min_len(64)
                .for_each(|(slot, out)| one_box(slot, out));
        }
        #[cfg(not(feature = "parallel"))]
        for (slot, out) in self
            .occupied_boxes
            .iter()
            .zip(charges.chunks_exact_mut(3 * nodes_per_box))
        {
            one_box(slot, out);
        }
        charges
    }

    /// For each occupied box (slot order), its `p^2` node potentials `K2 * 1`, `K2 * x`,
    /// `K2 * y` and `K1 * 1` (`4 p^2` values) from the node `charges` of the occupied boxes
    /// around it ([`Self::box_charges`]), itself included: what the convolution gave those
    /// nodes from those boxes. `P` is the nodes per box and axis (the loops unroll for it).
    fn near_potentials<const P: usize>(
        occupied: &[(u32, u32, u32)],
        near_k2: &[f32],
        near_k1: &[f32],
        charges: &[f32],
        boxes: usize,
    ) -> Vec<f32> {
        let nodes_per_box = P * P;
        let kernel_side = 4 * P - 1;
        let slot_of = |id: usize| occupied.binary_search_by_key(&(id as u32), |b| b.0).ok();
        // Single precision, one row of target nodes at a time: its four potentials (P lanes
        // each) stay in registers while the sources of the 3 x 3 boxes stream past.
        let box_potentials = |slot: usize, out: &mut [f32]| {
            let id = occupied[slot].0 as usize;
            let (bx, by) = (id % boxes, id / boxes);
            // The occupied boxes around this one: (slot, kernel offset of node (0, 0)).
            let mut around = [(0usize, 0usize, 0usize); 9];
            let mut count = 0;
            for ny in by.saturating_sub(1)..=(by + 1).min(boxes - 1) {
                for nx in bx.saturating_sub(1)..=(bx + 1).min(boxes - 1) {
                    if let Some(other) = slot_of(ny * boxes + nx) {
                        // The kernel is even, so the value for target node (ax, ay) and
                        // source node (tx, ty) sits at offset (ax - tx - (nx - bx) P, likewise
                        // in y), kernel index offset + 2P - 1: contiguous in ax.
                        around[count] = (
                            other,
                            2 * P - 1 + bx * P - nx * P,
                            2 * P - 1 + by * P - ny * P,
                        );
                        count += 1;
                    }
                }
            }
            for ay in 0..P {
                let (mut acc_1, mut acc_x, mut acc_y, mut acc_k1) =
                    ([0f32; P], [0f32; P], [0f32; P], [0f32; P]);
                for &(other, base_x, base_y) in &around[..count] {
                    let source =
                        &charges[other * 3 * nodes_per_box..(other + 1) * 3 * nodes_per_box];
                    let (c1, rest) = source.split_at(nodes_per_box);
                    let (cx, cy) = rest.split_at(nodes_per_box);
                    for ty in 0..P {
                        let row_start = (base_y + ay - ty) * kernel_side + base_x;
                        for tx in 0..P {
                            let b = ty * P + tx;
                            let (q1, qx, qy) = (c1[b], cx[b], cy[b]);
                            let row = row_start - tx;
                            let k2: &[f32; P] =
                                near_k2[row..row + P].try_into().unwrap_or(&[0.0; P]);
                            let k1: &[f32; P] =
                                near_k1[row..row + P].try_into().unwrap_or(&[0.0; P]);
                            for ax in 0..P {
                                acc_1[ax] += k2[ax] * q1;
                                acc_x[ax] += k2[ax] * qx;
                                acc_y[ax] += k2[ax] * qy;
                                acc_k1[ax] += k1[ax] * q1;
                            }
                        }
                    }
                }
                let at = ay * P;
                for ax in 0..P {
                    out[at + ax] = acc_1[ax];
                    out[nodes_per_box + at + ax] = acc_x[ax];
                    out[2 * nodes_per_box + at + ax] = acc_y[ax];
                    out[3 * nodes_per_box + at + ax] = acc_k1[ax];
                }
            }
        };
        let mut potentials = vec![0f32; occupied.len() * 4 * nodes_per_box];
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            potentials
                .par_chunks_mut(4 * nodes_per_box)
                .enumerate()
                .with_min_len(16)
                .for_each(|(slot, out)| box_potentials(slot, out));
        }
        #[cfg(not(feature = "parallel"))]
        for (slot, out) in potentials.chunks_mut(4 * nodes_per_box).enumerate() {
            box_potentials(slot, out);
        }
        potentials
    }

    fn update_kernel(&mut self, nodes: usize, spacing: f64) {
        let Some(fft) = self.fft.as_ref() else { return };
        let (side, stride) = (fft.side(), fft.stride());
        let mut k_re = vec![0.0; fft.plane_len()];
        let mut k_im = vec![0.0; fft.plane_len()];
        let offset = |a: usize| if a < side - a { a } else { side - a };
        let scale = 1.0 / (side * side) as Real;
        for row in 0..side {
            let dy = offset(row);
            if dy >= nodes {
                continue;
            }
            for col in 0..side {
                let dx = offset(col);
                if dx >= nodes {
                    continue;
                }
                let ex = dx as f64 * spacing;
                let ey = dy as f64 * spacing;
                let q = 1.0 / (1.0 + ex * ex + ey * ey);
                k_re[row * stride + col] = (q * q) as Real;
                k_im[row * stride + col] = q as Real;
            }
        }
        fft.forward(&mut k_re, &mut k_im, side);
        // Both kernels are real and even, so their spectra are real: K2 in re, K1 in im.
        for v in k_re.iter_mut().chain(k_im.iter_mut()) {
            *v *= scale;
        }
        self.kernel_k2 = k_re;
        self.kernel_k1 = k_im;
        let p = self.params.points_per_box as isize;
        let reach = 2 * p - 1;
        self.near_k2.clear();
        self.near_k1.clear();
        for oy in -reach..=reach {
            for ox in -reach..=reach {
                let ex = ox as f64 * spacing;
                let ey = oy as f64 * spacing;
                let q = 1.0 / (1.0 + ex * ex + ey * ey);
                self.near_k2.push((q * q) as f32);
                self.near_k1.push(q as f32);
            }
        }
        self.cached_spacing = spacing;
        self.cached_nodes = nodes;
    }
}

/// [`InterpolatedRepulsion::near_potentials`] for `p` nodes per box and axis (1 to 8).
fn near_potentials(
    p: usize,
    occupied: &[(u32, u32, u32)],
    near_k2: &[f32],
    near_k1: &[f32],
    charges: &[f32],
    boxes: usize,
) -> Vec<f32> {
    let run = match p {
        1 => InterpolatedRepulsion::near_potentials::<1>,
        2 => InterpolatedRepulsion::near_potentials::<2>,
        3 => InterpolatedRepulsion::near_potentials::<3>,
        4 => InterpolatedRepulsion::near_potentials::<4>,
        5 => InterpolatedRepulsion::near_potentials::<5>,
        6 => InterpolatedRepulsion::near_potentials::<6>,
        7 => InterpolatedRepulsion::near_potentials::<7>,
        _ => InterpolatedRepulsion::near_potentials::<8>,
    };
    run(occupied, near_k2, near_k1, charges, boxes)
}

/// The grid's convolution in place: forward transforms of plane `a` (charges `1 + i x`)
/// and plane `b` (`y`), `a <- A K2` and `b <- B K2 + i C1 K1`, inverse transforms (planes
/// `[a_re, a_im, b_re, b_im]`, kernel spectra `K1`, `K2` in the transforms' scrambled order).
fn convolve(
    fft: &SquareFft,
    [a_re, a_im, b_re, b_im]: [&mut [Real]; 4],
    kernel_k1: &[Real],
    kernel_k2: &[Real],
    used_nodes: usize,
) {
    let (side, stride) = (fft.side(), fft.stride());
    // Forward transforms (the two planes side by side with the feature: one wait for
    // both instead of one per pass of each; each transform's operations are unchanged).
    {
        #[cfg(feature = "parallel")]
        rayon::join(
            || fft.forward(a_re, a_im, used_nodes),
            || fft.forward(b_re, b_im, used_nodes),
        );
        #[cfg(not(feature = "parallel"))]
        {
            fft.forward(a_re, a_im, used_nodes);
            fft.forward(b_re, b_im, used_nodes);
        }
    }

    // b <- B K2 + i C1 K1, where C1 (the spectrum of charge 1) = (A[k] + conj A[-k]) / 2.
    // Spectra are held in scrambled positions; `mirror` maps a position to the one of the
    // negated frequency.
    let mirror_of = fft.mirror();
    {
        let (a_re, a_im) = (&*a_re, &*a_im);
        let (kernel_k1, kernel_k2) = (kernel_k1, kernel_k2);
        let multiply_row = |row: usize, b_re: &mut [Real], b_im: &mut [Real]| {
            let mirror_row = mirror_of[row];
            for col in 0..side {
                let at = row * stride + col;
                let mirror = mirror_row * stride + mirror_of[col];
                let c1_re = 0.5 * (a_re[at] + a_re[mirror]);
                let c1_im = 0.5 * (a_im[at] - a_im[mirror]);
                let k1 = kernel_k1[at];
                let k2 = kernel_k2[at];
                // i * (c1 * k1) = -c1_im k1 + i c1_re k1
                b_re[col] = b_re[col] * k2 - c1_im * k1;
                b_im[col] = b_im[col] * k2 + c1_re * k1;
            }
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            b_re.par_chunks_mut(stride)
                .zip(b_im.par_chunks_mut(stride))
                .enumerate()
                .with_min_len(8)
                .for_each(|(row, (b_re, b_im))| multiply_row(row, b_re, b_im));
        }
        #[cfg(not(feature = "parallel"))]
        for (row, (b_re, b_im)) in b_re
            .chunks_mut(stride)
            .zip(b_im.chunks_mut(stride))
            .enumerate()
        {
            multiply_row(row, b_re, b_im);
        }
    }
    {
        let scale_row = |(re, im, k2): (&mut [Real], &mut [Real], &[Real])| {
            for ((re, im), &k2) in re.iter_mut().zip(im.iter_mut()).zip(k2) {
                *re *= k2;
                *im *= k2;
            }
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            a_re.par_chunks_mut(stride)
                .zip(a_im.par_chunks_mut(stride))
                .zip(kernel_k2.par_chunks(stride))
                .with_min_len(8)
                .for_each(|((re, im), k2)| scale_row((re, im, k2)));
        }
        #[cfg(not(feature = "parallel"))]
        for ((re, im), k2) in a_re
            .chunks_mut(stride)
            .zip(a_im.chunks_mut(stride))
            .zip(kernel_k2.chunks(stride))
        {
            scale_row((re, im, k2));
        }
    }
    {
        #[cfg(feature = "parallel")]
        rayon::join(
            || fft.inverse(a_re, a_im, used_nodes),
            || fft.inverse(b_re, b_im, used_nodes),
        );
        #[cfg(not(feature = "parallel"))]
        {
            fft.inverse(a_re, a_im, used_nodes);
            fft.inverse(b_re, b_im, used_nodes);
        }
    }
}

/// Adds one point's charges `1`, `c_x`, `c_y` (`charges`) with the tensor weights `wx[tx]
/// wy[ty]` to the `P x P` nodes from `at` (rows `stride` apart) of the planes `[one, xs,
/// ys]`: each product in double precision, rounded to single and added to its node, in
/// row order. `P` known, so the loops unroll and the node rows are one bounds check each
/// (the same operations as [`spread_point_any`], so the same bits).
#[inline(always)]
fn spread_point<const P: usize>(
    wx: &[f64],
    wy: &[f64],
    (c_x, c_y): (f64, f64),
    at: usize,
    stride: usize,
    [one, xs, ys]: [&mut [Real]; 3],
) {
    let (Ok(wx), Ok(wy)) = (<&[f64; P]>::try_from(wx), <&[f64; P]>::try_from(wy)) else {
        return;
    };
    for (ty, &weight_y) in wy.iter().enumerate() {
        let row = at + ty * stride;
        let (Ok(one), Ok(xs), Ok(ys)) = (
            <&mut [Real; P]>::try_from(&mut one[row..row + P]),
            <&mut [Real; P]>::try_from(&mut xs[row..row + P]),
            <&mut [Real; P]>::try_from(&mut ys[row..row + P]),
        ) else {
            return;
        };
        let w: [f64; P] = std::array::from_fn(|tx| wx[tx] * weight_y);
        for tx in 0..P {
            one[tx] += (w[tx] * 1.0) as Real;
        }
        for tx in 0..P {
            xs[tx] += (w[tx] * c_x) as Real;
        }
        for tx in 0..P {
            ys[tx] += (w[tx] * c_y) as Real;
        }
    }
}

/// [`spread_point`] for any number of nodes per box.
fn spread_point_any(
    wx: &[f64],
    wy: &[f64],
    (c_x, c_y): (f64, f64),
    at: usize,
    stride: usize,
    [one, xs, ys]: [&mut [Real]; 3],
) {
    for (ty, &weight_y) in wy.iter().enumerate() {
        let row = at + ty * stride;
        for (tx, &weight_x) in wx.iter().enumerate() {
            let w = weight_x * weight_y;
            one[row + tx] += (w * 1.0) as Real;
            xs[row + tx] += (w * c_x) as Real;
            ys[row + tx] += (w * c_y) as Real;
        }
    }
}

/// One point's potentials from the three `planes` at its `P x P` nodes from `at`: per plane
/// `sum (wx[tx] wy[ty]) value` in double precision, the nodes in row order (products first,
/// then the sums in that order: the same bits as [`gather_point_any`]).
#[inline(always)]
fn gather_point<const P: usize>(
    wx: &[f64],
    wy: &[f64],
    at: usize,
    stride: usize,
    planes: [&[Real]; 3],
) -> [f64; 3] {
    let mut phi = [0.0f64; 3];
    let (Ok(wx), Ok(wy)) = (<&[f64; P]>::try_from(wx), <&[f64; P]>::try_from(wy)) else {
        return phi;
    };
    for (ty, &weight_y) in wy.iter().enumerate() {
        let row = at + ty * stride;
        let w: [f64; P] = std::array::from_fn(|tx| wx[tx] * weight_y);
        for (phi, plane) in phi.iter_mut().zip(planes) {
            let Ok(values) = <&[Real; P]>::try_from(&plane[row..row + P]) else {
                continue;
            };
            let products: [f64; P] = std::array::from_fn(|tx| w[tx] * values[tx] as f64);
            for product in products {
                *phi += product;
            }
        }
    }
    phi
}

/// [`gather_point`] for any number of nodes per box.
fn gather_point_any(
    wx: &[f64],
    wy: &[f64],
    at: usize,
    stride: usize,
    planes: [&[Real]; 3],
) -> [f64; 3] {
    let mut phi = [0.0f64; 3];
    for (ty, &weight_y) in wy.iter().enumerate() {
        let row = at + ty * stride;
        for (tx, &weight_x) in wx.iter().enumerate() {
            let w = weight_x * weight_y;
            for (phi, plane) in phi.iter_mut().zip(planes) {
                *phi += w * plane[row + tx] as f64;
            }
        }
    }
    phi
}

/// Stripes of box rows the charges are spread in (a fixed split; any split gives the same
/// sums, see `compute_on`).
const SPREAD_STRIPES: usize = 16;

/// Below this node spacing (in units of the kernel's scale, 1) the grid alone is accurate
/// enough and the near field is not summed exactly.
pub const NEAR_FIELD_MIN_SPACING: f64 = 0.1;

/// The exact near field is skipped when it would take more pairs than this per point.
pub const NEAR_FIELD_MAX_PAIRS_PER_POINT: usize = 1024;

/// The smallest even side `2^k` or `3 * 2^k` (at least 2) that is at least `n`.
fn smallest_fft_side(n: usize) -> usize {
    let power = n.max(2).next_power_of_two();
    // The only `3 * 2^k` between `power / 2` and `power`.
    let three = 3 * (power / 4);
    if power >= 8 && three >= n {
        three
    } else {
        power
    }
}

/// The 4-wide single-precision operations the hand-written pair sums use, under one set of
/// names: SSE2 on x86-64, SIMD128 on wasm32 (with `simd128`, the browser).
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
))]
mod simd4 {
    #[cfg(target_arch = "wasm32")]
    pub(super) use std::arch::wasm32::{
        f32x4_add as add, f32x4_div as div, f32x4_mul as mul, f32x4_splat as splat,
        f32x4_sub as sub, v128 as Vector,
    };
    #[cfg(target_arch = "x86_64")]
    pub(super) use std::arch::x86_64::{
        __m128 as Vector, _mm_add_ps as add, _mm_div_ps as div, _mm_mul_ps as mul,
        _mm_set1_ps as splat, _mm_sub_ps as sub,
    };

    /// Four floats from `at` (no alignment needed).
    #[inline(always)]
    pub(super) unsafe fn load(at: *const f32) -> Vector {
        #[cfg(target_arch = "wasm32")]
        return std::arch::wasm32::v128_load(at as *const Vector);
        #[cfg(target_arch = "x86_64")]
        return std::arch::x86_64::_mm_loadu_ps(at);
    }

    /// Four floats to `at` (no alignment needed).
    #[inline(always)]
    pub(super) unsafe fn store(at: *mut f32, value: Vector) {
        #[cfg(target_arch = "wasm32")]
        std::arch::wasm32::v128_store(at as *mut Vector, value);
        #[cfg(target_arch = "x86_64")]
        std::arch::x86_64::_mm_storeu_ps(at, value);
    }
}

/// `sum_j (q^2 dx, q^2 dy, q)` over the points `(xs[j], ys[j])` for the point `(xi, yi)`,
/// `q = 1 / (1 + dx^2 + dy^2)`, `dx = xi - xs[j]`, and the opposite forces added to each
/// partner's `(px[j], py[j])`: each pair's kernel evaluated once for both points (its `q`
/// counts for both in `sum_q`, which needs only the total: the partners get no share).
/// Single precision, in blocks of [`PAIR_BLOCK`] partners, each in three plain loops that
/// vectorise on SSE2, AVX2 and wasm SIMD alike (the terms, the partners' updates, this
/// point's sums over eight lanes); the lanes are added in double precision at the end, in a
/// fixed order.
/// [`symmetric_pair_sums`] by hand in SSE2 (x86-64) and SIMD128 (wasm32 with `simd128`, the
/// browser): the eight lanes as two 4-wide vectors per sum, each partner's terms computed,
/// applied to it and added to this point's lanes in one pass (no scratch block). The same
/// operations lane by lane as the plain version (kept for other targets), so the same bits.
/// Callgrind, 50,000 x 256, iterations 600-609 on one thread: the near field's pair sums
/// 145 to 107 million instructions per evaluation (the whole iteration 517 to 480 million).
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
))]
#[inline(never)]
fn symmetric_pair_sums(
    xi: f32,
    yi: f32,
    xs: &[f32],
    ys: &[f32],
    px: &mut [f32],
    py: &mut [f32],
) -> (f64, f64, f64) {
    use simd4::*;
    const LANES: usize = 8;
    let len = xs.len().min(ys.len()).min(px.len()).min(py.len());
    let whole = len / LANES * LANES;
    let (mut fx, mut fy, mut sq) = ([0f32; LANES], [0f32; LANES], [0f32; LANES]);
    // SAFETY: SSE2 is part of x86-64 and the wasm build has simd128 (the cfg). Every access
    // is at `j + 4 half + 0..4 < whole <= len`, within all five slices.
    #[allow(unused_unsafe)]
    unsafe {
        let (own_x, own_y, one) = (splat(xi), splat(yi), splat(1.0));
        let zero = splat(0.0);
        let (mut sum_x, mut sum_y, mut sum_q) = ([zero; 2], [zero; 2], [zero; 2]);
        let (xs_at, ys_at) = (xs.as_ptr(), ys.as_ptr());
        let (px_at, py_at) = (px.as_mut_ptr(), py.as_mut_ptr());
        let mut j = 0;
        while j < whole {
            for half in 0..2 {
                let at = j + 4 * half;
                let dx = sub(own_x, load(xs_at.add(at)));
                let dy = sub(own_y, load(ys_at.add(at)));
                let q = div(one, add(add(one, mul(dx, dx)), mul(dy, dy)));
                let q2 = mul(q, q);
                let (gx, gy) = (mul(q2, dx), mul(q2, dy));
                store(px_at.add(at), sub(load(px_at.add(at)), gx));
                store(py_at.add(at), sub(load(py_at.add(at)), gy));
                sum_x[half] = add(sum_x[half], gx);
                sum_y[half] = add(sum_y[half], gy);
                sum_q[half] = add(sum_q[half], q);
            }
            j += LANES;
        }
        for half in 0..2 {
            store(fx.as_mut_ptr().add(4 * half), sum_x[half]);
            store(fy.as_mut_ptr().add(4 * half), sum_y[half]);
            store(sq.as_mut_ptr().add(4 * half), sum_q[half]);
        }
    }
    for lane in 0..len - whole {
        let j = whole + lane;
        let dx = xi - xs[j];
        let dy = yi - ys[j];
        let q = 1.0 / (1.0 + dx * dx + dy * dy);
        let q2 = q * q;
        let (gx, gy) = (q2 * dx, q2 * dy);
        px[j] -= gx;
        py[j] -= gy;
        fx[lane] += gx;
        fy[lane] += gy;
        sq[lane] += q;
    }
    let sum = |v: [f32; LANES]| v.iter().map(|&x| x as f64).sum::<f64>();
    (sum(fx), sum(fy), sum(sq))
}

#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
#[inline(never)]
fn symmetric_pair_sums(
    xi: f32,
    yi: f32,
    xs: &[f32],
    ys: &[f32],
    px: &mut [f32],
    py: &mut [f32],
) -> (f64, f64, f64) {
    const LANES: usize = 8;
    let (mut fx, mut fy, mut sq) = ([0f32; LANES], [0f32; LANES], [0f32; LANES]);
    let (mut gx, mut gy, mut gq) = ([0f32; PAIR_BLOCK], [0f32; PAIR_BLOCK], [0f32; PAIR_BLOCK]);
    let len = xs.len().min(ys.len()).min(px.len()).min(py.len());
    let mut start = 0;
    while start < len {
        let m = (len - start).min(PAIR_BLOCK);
        let (xb, yb) = (&xs[start..start + m], &ys[start..start + m]);
        let (gxb, gyb, gqb) = (&mut gx[..m], &mut gy[..m], &mut gq[..m]);
        for j in 0..m {
            let dx = xi - xb[j];
            let dy = yi - yb[j];
            let q = 1.0 / (1.0 + dx * dx + dy * dy);
            let q2 = q * q;
            gxb[j] = q2 * dx;
            gyb[j] = q2 * dy;
            gqb[j] = q;
        }
        let (pxb, pyb) = (&mut px[start..start + m], &mut py[start..start + m]);
        for j in 0..m {
            pxb[j] -= gxb[j];
            pyb[j] -= gyb[j];
        }
        let whole = m / LANES * LANES;
        for ((x8, y8), q8) in gxb[..whole]
            .chunks_exact(LANES)
            .zip(gyb[..whole].chunks_exact(LANES))
            .zip(gqb[..whole].chunks_exact(LANES))
        {
            for lane in 0..LANES {
                fx[lane] += x8[lane];
                fy[lane] += y8[lane];
                sq[lane] += q8[lane];
            }
        }
        for lane in 0..m - whole {
            fx[lane] += gxb[whole + lane];
            fy[lane] += gyb[whole + lane];
            sq[lane] += gqb[whole + lane];
        }
        start += m;
    }
    let sum = |v: [f32; LANES]| v.iter().map(|&x| x as f64).sum::<f64>();
    (sum(fx), sum(fy), sum(sq))
}

/// [`symmetric_pair_sums`] for two points `[a, b]` of one box: `a` meets all of `xs`, `b`
/// the partners from `skip` (0 or 1: in the own row `b` is `a`'s first partner). Each
/// partner is read and updated once for both, `a`'s term taken from it before `b`'s, and
/// each point's eight lanes get their terms in the order [`symmetric_pair_sums`] gives
/// them (with `skip = 1` `a`'s lanes run one partner ahead of `b`'s: its first partner is
/// summed alone into its lane 0, and the lanes shared with `b` are renumbered at the end),
/// so the same bits as two calls of it. By hand in SSE2 / SIMD128.
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
))]
#[inline(never)]
fn symmetric_pair_sums_two(
    [(xa, ya), (xb, yb)]: [(f32, f32); 2],
    skip: usize,
    xs: &[f32],
    ys: &[f32],
    px: &mut [f32],
    py: &mut [f32],
) -> [(f64, f64, f64); 2] {
    use simd4::*;
    /// `(q^2 dx, q^2 dy, q)` of one pair, as [`symmetric_pair_sums`] computes it.
    #[inline(always)]
    fn term(xi: f32, yi: f32, x: f32, y: f32) -> (f32, f32, f32) {
        let dx = xi - x;
        let dy = yi - y;
        let q = 1.0 / (1.0 + dx * dx + dy * dy);
        let q2 = q * q;
        (q2 * dx, q2 * dy, q)
    }
    const LANES: usize = 8;
    let len = xs.len().min(ys.len()).min(px.len()).min(py.len());
    let skip = skip.min(1).min(len);
    // `a`'s lanes, numbered from `b`'s first partner: its lane `l` is its own lane
    // `(l + skip) % 8`, so its first partner (when skipped) belongs in lane 7, first.
    let mut first_a = [0f32; 3];
    if skip == 1 {
        let (gx, gy, q) = term(xa, ya, xs[0], ys[0]);
        px[0] -= gx;
        py[0] -= gy;
        // Added to a zero lane, as the one-point loop does (the sign of a zero term).
        first_a = [0.0 + gx, 0.0 + gy, 0.0 + q];
    }
    let (xs, ys) = (&xs[skip..len], &ys[skip..len]);
    let (px, py) = (&mut px[skip..len], &mut py[skip..len]);
    let len = len - skip;
    let whole = len / LANES * LANES;
    let mut lanes_a = [[0f32; LANES]; 3];
    for (lanes, first) in lanes_a.iter_mut().zip(first_a) {
        lanes[LANES - 1] = first;
    }
    let mut lanes_b = [[0f32; LANES]; 3];
    // SAFETY: SSE2 is part of x86-64 and the wasm build has simd128 (the cfg). Every access
    // is at `at + 0..4` with `at = 8 k + 4 half < whole` (a multiple of 8, at most `len`),
    // within all four slices, or at `4 half + 0..4` of the eight-float lane arrays.
    #[allow(unused_unsafe)]
    unsafe {
        let one = splat(1.0);
        let (a_x, a_y, b_x, b_y) = (splat(xa), splat(ya), splat(xb), splat(yb));
        let (xs_at, ys_at) = (xs.as_ptr(), ys.as_ptr());
        let (px_at, py_at) = (px.as_mut_ptr(), py.as_mut_ptr());
        // Lanes 0-3, then lanes 4-7, each in its own pass (a lane's terms in partner order
        // either way): twelve sums in registers at once would not fit SSE2's sixteen.
        for half in 0..2 {
            let mut sums_a = [splat(0.0); 3];
            for (sum, lanes) in sums_a.iter_mut().zip(&lanes_a) {
                *sum = load(lanes.as_ptr().add(4 * half));
            }
            let mut sums_b = [splat(0.0); 3];
            let mut at = 4 * half;
            while at < whole {
                let (x, y) = (load(xs_at.add(at)), load(ys_at.add(at)));
                let (dx_a, dy_a) = (sub(a_x, x), sub(a_y, y));
                let (dx_b, dy_b) = (sub(b_x, x), sub(b_y, y));
                let q_a = div(one, add(add(one, mul(dx_a, dx_a)), mul(dy_a, dy_a)));
                let q_b = div(one, add(add(one, mul(dx_b, dx_b)), mul(dy_b, dy_b)));
                let (q2_a, q2_b) = (mul(q_a, q_a), mul(q_b, q_b));
                let (gx_a, gy_a) = (mul(q2_a, dx_a), mul(q2_a, dy_a));
                let (gx_b, gy_b) = (mul(q2_b, dx_b), mul(q2_b, dy_b));
                store(px_at.add(at), sub(sub(load(px_at.add(at)), gx_a), gx_b));
                store(py_at.add(at), sub(sub(load(py_at.add(at)), gy_a), gy_b));
                sums_a[0] = add(sums_a[0], gx_a);
                sums_a[1] = add(sums_a[1], gy_a);
                sums_a[2] = add(sums_a[2], q_a);
                sums_b[0] = add(sums_b[0], gx_b);
                sums_b[1] = add(sums_b[1], gy_b);
                sums_b[2] = add(sums_b[2], q_b);
                at += LANES;
            }
            for (&sum, lanes) in sums_a.iter().zip(lanes_a.iter_mut()) {
                store(lanes.as_mut_ptr().add(4 * half), sum);
            }
            for (&sum, lanes) in sums_b.iter().zip(lanes_b.iter_mut()) {
                store(lanes.as_mut_ptr().add(4 * half), sum);
            }
        }
    }
    for lane in 0..len - whole {
        let j = whole + lane;
        let (gx_a, gy_a, q_a) = term(xa, ya, xs[j], ys[j]);
        let (gx_b, gy_b, q_b) = term(xb, yb, xs[j], ys[j]);
        px[j] -= gx_a;
        px[j] -= gx_b;
        py[j] -= gy_a;
        py[j] -= gy_b;
        for (lanes, value) in lanes_a.iter_mut().zip([gx_a, gy_a, q_a]) {
            lanes[lane] += value;
        }
        for (lanes, value) in lanes_b.iter_mut().zip([gx_b, gy_b, q_b]) {
            lanes[lane] += value;
        }
    }
    // `a`'s own lane `m` is lane `(m + 8 - skip) % 8` here.
    let sum_a = |v: [f32; LANES]| {
        (0..LANES)
            .map(|m| v[(m + LANES - skip) % LANES] as f64)
            .sum::<f64>()
    };
    let sum_b = |v: [f32; LANES]| v.iter().map(|&x| x as f64).sum::<f64>();
    let [ax, ay, aq] = lanes_a;
    let [bx, by, bq] = lanes_b;
    [
        (sum_a(ax), sum_a(ay), sum_a(aq)),
        (sum_b(bx), sum_b(by), sum_b(bq)),
    ]
}

/// [`symmetric_pair_sums_two`] on other targets: the plain function for each point.
#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
fn symmetric_pair_sums_two(
    [(xa, ya), (xb, yb)]: [(f32, f32); 2],
    skip: usize,
    xs: &[f32],
    ys: &[f32],
    px: &mut [f32],
    py: &mut [f32],
) -> [(f64, f64, f64); 2] {
    let skip = skip.min(xs.len());
    let a = symmetric_pair_sums(xa, ya, xs, ys, px, py);
    let b = if skip < xs.len() {
        symmetric_pair_sums(
            xb,
            yb,
            &xs[skip..],
            &ys[skip..],
            &mut px[skip..],
            &mut py[skip..],
        )
    } else {
        (0.0, 0.0, 0.0)
    };
    [a, b]
}

/// Partners per block of the plain [`symmetric_pair_sums`] (its scratch lives on the stack).
#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
const PAIR_BLOCK: usize = 64;

/// Lagrange basis on `nodes` (`(t + 1/2) / p`, with their `denominators`) evaluated at `u`.
/// The usual node counts unroll ([`lagrange_weights_of`]); the same products in the same
/// order either way, so the same bits.
#[inline]
fn lagrange_weights(u: f64, nodes: &[f64], denominators: &[f64], out: &mut [f64]) {
    match nodes.len() {
        3 => lagrange_weights_of::<3>(u, nodes, denominators, out),
        4 => lagrange_weights_of::<4>(u, nodes, denominators, out),
        5 => lagrange_weights_of::<5>(u, nodes, denominators, out),
        _ => lagrange_weights_any(u, nodes, denominators, out),
    }
}

/// [`lagrange_weights`] for `P` nodes: each difference `u - node` once, then per weight the
/// product of the others from the first on, divided by its denominator.
#[inline(always)]
fn lagrange_weights_of<const P: usize>(
    u: f64,
    nodes: &[f64],
    denominators: &[f64],
    out: &mut [f64],
) {
    let (Ok(nodes), Ok(denominators), Ok(out)) = (
        <&[f64; P]>::try_from(nodes),
        <&[f64; P]>::try_from(denominators),
        <&mut [f64; P]>::try_from(out),
    ) else {
        return;
    };
    let differences: [f64; P] = std::array::from_fn(|s| u - nodes[s]);
    for t in 0..P {
        let mut numerator = 1.0;
        for (s, &difference) in differences.iter().enumerate() {
            if s != t {
                numerator *= difference;
            }
        }
        out[t] = numerator / denominators[t];
    }
}

fn lagrange_weights_any(u: f64, nodes: &[f64], denominators: &[f64], out: &mut [f64]) {
    for (t, (out, &denominator)) in out.iter_mut().zip(denominators).enumerate() {
        let mut numerator = 1.0;
        for (s, &node) in nodes.iter().enumerate() {
            if s != t {
                numerator *= u - node;
            }
        }
        *out = numerator / denominator;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic uniform value in `[-0.5, 0.5)` (a 64-bit LCG).
    fn next_centred_uniform(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    #[test]
    fn interpolated_matches_exact_on_a_small_cloud() {
        let n = 400;
        let mut state = 12345u64;
        let coords: Vec<f64> = (0..2 * n)
            .map(|_| next_centred_uniform(&mut state) * 20.0)
            .collect();
        let mut exact = vec![0.0; 2 * n];
        let z_exact = exact_repulsion(&coords, &mut exact);
        let mut approx = vec![0.0; 2 * n];
        let z_approx = InterpolatedRepulsion::new(InterpolationParams::default())
            .compute(&coords, &mut approx);
        assert!(
            (z_exact - z_approx).abs() / z_exact < 1e-3,
            "{z_exact} {z_approx}"
        );
        let max_force = exact.iter().fold(0f64, |m, v| m.max(v.abs()));
        let max_error = exact
            .iter()
            .zip(&approx)
            .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(max_error / max_force < 1e-2, "{max_error} vs {max_force}");
    }

    #[test]
    fn grid_sides_are_powers_of_two_or_three_times_one() {
        let grid = InterpolatedRepulsion::new(InterpolationParams::default());
        let side = |range: f64| grid.grid_shape(range).fft_side;
        // 4 nodes per box, boxes up to 3 wide: 8 nodes of padded grid per 3 units of range,
        // at least 50 boxes.
        assert_eq!(side(1e-3), 512);
        assert_eq!(side(100.0), 512);
        assert_eq!(side(192.0), 512);
        assert_eq!(side(193.0), 768);
        assert_eq!(side(288.0), 768);
        assert_eq!(side(289.0), 1024);
        assert_eq!(side(384.0), 1024);
        assert_eq!(side(385.0), 1536);
        assert_eq!(side(576.0), 1536);
        assert_eq!(side(577.0), 2048);
        assert_eq!(side(1e6), 2048);
        assert_eq!(side(f64::INFINITY), 2048);
        let shape = grid.grid_shape(141.0);
        assert_eq!(shape.boxes_per_axis, 64);
        assert!(shape.boxes_per_axis as f64 * shape.box_width >= 141.0);
        assert!((shape.box_width - 141.0 / 50.0).abs() < 1e-12);
        for n in 1..5000 {
            let chosen = smallest_fft_side(n);
            assert!(
                chosen >= n && SquareFft::supports(chosen) && chosen.is_multiple_of(2),
                "{n}"
            );
            assert!(
                (n.max(2)..chosen).all(|s| !SquareFft::supports(s) || s % 2 == 1),
                "{n}"
            );
        }
    }

    #[test]
    fn interpolated_matches_exact_on_a_768_grid() {
        // Blobs of different sizes plus scattered points (as `embedding_like` in
        // tests/embed_tsne.rs), about 147 wide: boxes of width 2 (74 of them needed, 96 fit)
        // on a 768 grid.
        let n = 500;
        let mut coords = Vec::with_capacity(2 * n);
        let mut state = 987654321u64;
        let mut uniform = || next_centred_uniform(&mut state);
        for i in 0..n {
            let (cx, cy, r) = match i % 4 {
                0 => (0.3, 0.2, 0.05),
                1 => (-0.4, 0.1, 0.1),
                2 => (0.0, -0.4, 0.02),
                _ => (0.0, 0.0, 0.5),
            };
            coords.push((cx + uniform() * r) * 190.0);
            coords.push((cy + uniform() * r) * 190.0);
        }
        let mut exact = vec![0.0; 2 * n];
        let z_exact = exact_repulsion(&coords, &mut exact);
        let mut approx = vec![0.0; 2 * n];
        let grid_alone = InterpolationParams {
            exact_near_field: false,
            max_box_width: 2.0,
            ..InterpolationParams::default()
        };
        let mut grid = InterpolatedRepulsion::new(grid_alone);
        let z_approx = grid.compute(&coords, &mut approx);
        let shape = grid.current_shape.unwrap();
        assert_eq!((shape.fft_side, shape.boxes_per_axis), (768, 96));

        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let max_force = exact.iter().fold(0f64, |m, v| m.max(v.abs()));
        let max_difference =
            |u: &[f64], v: &[f64]| u.iter().zip(v).fold(0f64, |m, (a, b)| m.max((a - b).abs()));
        let difference: Vec<f64> = exact.iter().zip(&approx).map(|(a, b)| a - b).collect();
        let z_error = (z_exact - z_approx).abs() / z_exact;
        let force_error = norm(&difference) / norm(&exact);
        let max_error = max_difference(&exact, &approx) / max_force;
        eprintln!("768 grid vs exact: sum_q {z_error:.2e}, forces {force_error:.2e} (max {max_error:.2e})");

        // The same boxes and nodes on a 1024 grid (radix 2 only) give the same sums up to the
        // single-precision rounding (amplified in the forces by `x phi_1 - phi_x`).
        let (lo, hi) = coords
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        let mut radix2 = vec![0.0; 2 * n];
        let z_radix2 = InterpolatedRepulsion::new(grid_alone).compute_on(
            &coords,
            &mut radix2,
            lo,
            hi - lo,
            GridShape {
                fft_side: 1024,
                ..shape
            },
        );
        let z_difference = (z_radix2 - z_approx).abs() / z_radix2;
        let force_difference = max_difference(&radix2, &approx) / max_force;
        eprintln!(
            "768 vs 1024 grid: sum_q {z_difference:.2e}, forces (max) {force_difference:.2e}"
        );

        // The grid alone, with boxes of the widest size the rule allows (2) and 4 nodes each,
        // is coarse (hence the near field below); the same on the radix-2 grid.
        assert!(z_error < 1.5e-2, "{z_exact} {z_approx}");
        assert!(force_error < 1.5e-1, "{force_error}");
        assert!(z_difference < 1e-5, "{z_radix2} {z_approx}");
        assert!(force_difference < 5e-3, "{force_difference}");

        // The same grid with the near field summed exactly: an order of magnitude closer.
        let mut near = vec![0.0; 2 * n];
        let mut grid = InterpolatedRepulsion::new(InterpolationParams {
            max_box_width: 2.0,
            ..InterpolationParams::default()
        });
        let z_near = grid.compute(&coords, &mut near);
        assert_eq!(grid.current_shape, Some(shape));
        let difference: Vec<f64> = exact.iter().zip(&near).map(|(a, b)| a - b).collect();
        let z_near_error = (z_exact - z_near).abs() / z_exact;
        let near_force_error = norm(&difference) / norm(&exact);
        let near_max_error = max_difference(&exact, &near) / max_force;
        eprintln!("768 grid + near field vs exact: sum_q {z_near_error:.2e}, forces {near_force_error:.2e} (max {near_max_error:.2e})");
        assert!(z_near_error < 1e-4, "{z_exact} {z_near}");
        assert!(near_force_error < 5e-3, "{near_force_error}");
        assert!(near_max_error < 1e-2, "{near_max_error}");
    }

    /// `count` points in a square of side `width` centred on `(cx, cy)`.
    fn square_of_points(count: usize, cx: f64, cy: f64, width: f64, state: &mut u64) -> Vec<f64> {
        (0..count)
            .flat_map(|_| [cx, cy])
            .map(|c| c + next_centred_uniform(state) * width)
            .collect()
    }

    #[test]
    fn the_near_field_is_skipped_on_a_dense_clump_and_on_a_fine_grid() {
        let grid_alone = InterpolationParams {
            exact_near_field: false,
            ..InterpolationParams::default()
        };
        let forces_of = |params: InterpolationParams, coords: &[f64]| {
            let mut forces = vec![0.0; coords.len()];
            let z = InterpolatedRepulsion::new(params).compute(coords, &mut forces);
            (z, forces)
        };
        let mut state = 424242u64;
        // 2,000 of 3,000 points in one box: 4 million pairs, over 1,024 per point.
        let mut clumped = square_of_points(2000, 0.0, 0.0, 0.01, &mut state);
        clumped.extend(square_of_points(1000, 0.0, 0.0, 120.0, &mut state));
        let pairs_per_point = 2000.0 * 2000.0 / 3000.0;
        assert!(pairs_per_point > NEAR_FIELD_MAX_PAIRS_PER_POINT as f64);
        assert_eq!(
            forces_of(InterpolationParams::default(), &clumped),
            forces_of(grid_alone, &clumped)
        );
        // A 3-wide cloud: boxes 3/50 wide, node spacing 0.012, the grid alone.
        let small = square_of_points(500, 1.0, -2.0, 3.0, &mut state);
        assert_eq!(
            forces_of(InterpolationParams::default(), &small),
            forces_of(grid_alone, &small)
        );
        // The same 1,000 scattered points without the clump: the near field is used.
        let scattered = &clumped[2 * 2000..];
        assert_ne!(
            forces_of(InterpolationParams::default(), scattered),
            forces_of(grid_alone, scattered)
        );
    }
}
