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
//! Cost per evaluation: O(n p^2) to spread and gather plus O(L^2 log L) for four 2-D
//! transforms (five when the kernel changes); memory 6 L^2 f32 (6 MB at L = 512, 14 MB at
//! 768, 25 MB at 1024). The grid is single precision: charges are spread and potentials
//! gathered in f64, the transforms and the spectral products run in f32 (about 1e-6 relative
//! to the largest potential).

use super::fft::{Real, SquareFft};

/// Grid settings of the interpolated repulsion.
///
/// Defaults: 5 nodes per box, boxes at most 2 wide, at least 50 boxes. openTSNE uses 3 nodes
/// and width 1 (node spacing 1/3); ours has spacing 2/5 but fifth-order interpolation, which
/// is more accurate per node, and 50 boxes of 5 nodes fill a 512 FFT exactly. On the demo
/// file's layers (5,000 points) it keeps the 10-NN figure within 0.002 of openTSNE's, at
/// about half the cost of openTSNE's grid; a coarser start (fewer boxes while the embedding is
/// small) cost up to 0.03 in that figure.
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
}

impl Default for InterpolationParams {
    fn default() -> Self {
        InterpolationParams {
            points_per_box: 5,
            min_boxes: 50,
            max_box_width: 2.0,
            max_fft_side: 2048,
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
    /// Per point: `p` weights along x then `p` along y.
    point_weights: Vec<f64>,
    /// Denominators of the Lagrange basis on the nodes `(t + 1/2) / p`.
    lagrange_denominators: Vec<f64>,
    /// The interpolation nodes inside a box, `(t + 1/2) / p`.
    lagrange_nodes: Vec<f64>,
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
            point_weights: Vec::new(),
            lagrange_denominators,
            lagrange_nodes: nodes,
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
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &v in coords {
            lo = lo.min(v);
            hi = hi.max(v);
        }
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
        self.point_weights.resize(n * 2 * p, 0.0);
        let last_box = shape.boxes_per_axis - 1;
        let denominators = &self.lagrange_denominators;
        let lagrange_nodes = &self.lagrange_nodes;
        let locate = |i: usize, weights: &mut [f64], node: &mut usize| {
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
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            self.point_weights
                .par_chunks_mut(2 * p)
                .zip(self.point_node.par_iter_mut())
                .enumerate()
                .with_min_len(1024)
                .for_each(|(i, (weights, node))| locate(i, weights, node));
        }
        #[cfg(not(feature = "parallel"))]
        for (i, (weights, node)) in self
            .point_weights
            .chunks_mut(2 * p)
            .zip(self.point_node.iter_mut())
            .enumerate()
        {
            locate(i, weights, node);
        }

        // Spread charges 1 + i x (plane a) and y (plane b) onto the nodes: one pass per
        // plane (in parallel with the feature), each in point order.
        {
            let point_weights = &self.point_weights;
            let point_node = &self.point_node;
            let spread = |plane: &mut [Real], charge: &dyn Fn(usize) -> f64| {
                plane.fill(0.0);
                for i in 0..n {
                    let c = charge(i);
                    let (wx, wy) = point_weights[i * 2 * p..(i + 1) * 2 * p].split_at(p);
                    let base = point_node[i];
                    for (ty, &weight_y) in wy.iter().enumerate() {
                        let row = base + ty * stride;
                        for (tx, &weight_x) in wx.iter().enumerate() {
                            plane[row + tx] += (weight_x * weight_y * c) as Real;
                        }
                    }
                }
            };
            let one = |_: usize| 1.0;
            let x_of = |i: usize| coords[2 * i] - centre;
            let y_of = |i: usize| coords[2 * i + 1] - centre;
            let (a_re, a_im, b_re) = (&mut self.a_re, &mut self.a_im, &mut self.b_re);
            #[cfg(feature = "parallel")]
            rayon::join(
                || spread(a_re, &one),
                || rayon::join(|| spread(a_im, &x_of), || spread(b_re, &y_of)),
            );
            #[cfg(not(feature = "parallel"))]
            {
                spread(a_re, &one);
                spread(a_im, &x_of);
                spread(b_re, &y_of);
            }
            self.b_im.fill(0.0);
        }

        // Forward transforms.
        fft.forward(&mut self.a_re, &mut self.a_im, used_nodes);
        fft.forward(&mut self.b_re, &mut self.b_im, used_nodes);

        // b <- B K2 + i C1 K1, where C1 (the spectrum of charge 1) = (A[k] + conj A[-k]) / 2.
        // Spectra are held in scrambled positions; `mirror` maps a position to the one of the
        // negated frequency.
        let mirror_of = fft.mirror();
        {
            let (a_re, a_im) = (&self.a_re, &self.a_im);
            let (kernel_k1, kernel_k2) = (&self.kernel_k1, &self.kernel_k2);
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
                self.b_re
                    .par_chunks_mut(stride)
                    .zip(self.b_im.par_chunks_mut(stride))
                    .enumerate()
                    .with_min_len(8)
                    .for_each(|(row, (b_re, b_im))| multiply_row(row, b_re, b_im));
            }
            #[cfg(not(feature = "parallel"))]
            for (row, (b_re, b_im)) in self
                .b_re
                .chunks_mut(stride)
                .zip(self.b_im.chunks_mut(stride))
                .enumerate()
            {
                multiply_row(row, b_re, b_im);
            }
        }
        for ((re, im), &k2) in self
            .a_re
            .iter_mut()
            .zip(self.a_im.iter_mut())
            .zip(&self.kernel_k2)
        {
            *re *= k2;
            *im *= k2;
        }
        fft.inverse(&mut self.a_re, &mut self.a_im, used_nodes);
        fft.inverse(&mut self.b_re, &mut self.b_im, used_nodes);

        // Gather potentials at the points.
        let mut sum_k1 = vec![0.0; n];
        {
            let (a_re, a_im, b_re, b_im) = (&self.a_re, &self.a_im, &self.b_re, &self.b_im);
            let point_node = &self.point_node;
            let point_weights = &self.point_weights;
            let gather = |i: usize, force: &mut [f64], k1_sum: &mut f64| {
                let weights = &point_weights[i * 2 * p..(i + 1) * 2 * p];
                let (wx, wy) = weights.split_at(p);
                let base = point_node[i];
                let (mut phi_1, mut phi_x, mut phi_y, mut phi_k1) = (0.0, 0.0, 0.0, 0.0);
                for (ty, &weight_y) in wy.iter().enumerate() {
                    let row = base + ty * stride;
                    for (tx, &weight_x) in wx.iter().enumerate() {
                        let w = weight_x * weight_y;
                        let node = row + tx;
                        phi_1 += w * a_re[node] as f64;
                        phi_x += w * a_im[node] as f64;
                        phi_y += w * b_re[node] as f64;
                        phi_k1 += w * b_im[node] as f64;
                    }
                }
                let x = coords[2 * i] - centre;
                let y = coords[2 * i + 1] - centre;
                force[0] = x * phi_1 - phi_x;
                force[1] = y * phi_1 - phi_y;
                *k1_sum = phi_k1;
            };
            #[cfg(feature = "parallel")]
            {
                use rayon::prelude::*;
                forces
                    .par_chunks_mut(2)
                    .zip(sum_k1.par_iter_mut())
                    .enumerate()
                    .with_min_len(1024)
                    .for_each(|(i, (force, k1_sum))| gather(i, force, k1_sum));
            }
            #[cfg(not(feature = "parallel"))]
            for (i, (force, k1_sum)) in forces.chunks_mut(2).zip(sum_k1.iter_mut()).enumerate() {
                gather(i, force, k1_sum);
            }
        }
        let total: f64 = sum_k1.iter().sum();
        // Remove the self terms q_ii = 1; never let sum_q reach zero.
        (total - n as f64).max(f64::MIN_POSITIVE)
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
        self.cached_spacing = spacing;
        self.cached_nodes = nodes;
    }
}

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

/// Lagrange basis on `nodes` (`(t + 1/2) / p`, with their `denominators`) evaluated at `u`.
#[inline]
fn lagrange_weights(u: f64, nodes: &[f64], denominators: &[f64], out: &mut [f64]) {
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
        assert_eq!(side(1e-3), 512);
        assert_eq!(side(100.0), 512);
        assert_eq!(side(102.0), 512);
        assert_eq!(side(103.0), 768);
        assert_eq!(side(141.0), 768);
        assert_eq!(side(152.0), 768);
        assert_eq!(side(153.0), 1024);
        assert_eq!(side(200.0), 1024);
        assert_eq!(side(250.0), 1536);
        assert_eq!(side(1e6), 2048);
        assert_eq!(side(f64::INFINITY), 2048);
        let shape = grid.grid_shape(141.0);
        assert_eq!(shape.boxes_per_axis, 76);
        assert!(shape.boxes_per_axis as f64 * shape.box_width >= 141.0);
        assert!(shape.box_width <= 2.0);
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
        // tests/embed_tsne.rs), about 147 wide: boxes of width 2 on a 768 grid.
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
        let mut grid = InterpolatedRepulsion::new(InterpolationParams::default());
        let z_approx = grid.compute(&coords, &mut approx);
        let shape = grid.current_shape.unwrap();
        assert_eq!((shape.fft_side, shape.boxes_per_axis), (768, 76));

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
        let z_radix2 = InterpolatedRepulsion::new(InterpolationParams::default()).compute_on(
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

        // Boxes of the widest size the rule allows (2): a little above the 3e-3 and 4e-2 of
        // width 1.8 in tests/embed_tsne.rs, and the same on the radix-2 grid below.
        assert!(z_error < 6e-3, "{z_exact} {z_approx}");
        assert!(force_error < 6e-2, "{force_error}");
        assert!(z_difference < 1e-5, "{z_radix2} {z_approx}");
        assert!(force_difference < 5e-3, "{force_difference}");
    }
}
