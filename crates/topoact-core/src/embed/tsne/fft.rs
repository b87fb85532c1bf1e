//! A small square two-dimensional complex FFT for the repulsion grid (radix 2, f32).
//!
//! Single precision: four lanes per SIMD128 vector in the browser instead of two, half the
//! memory traffic. The transform's rounding error is about `1e-6` of the largest value,
//! far below the interpolation's own (`1e-3`, see [`super::repulsion`]).
//!
//! Data are `side x side`, row-major with a padded row stride (`side + 8` from side 64 on,
//! so rows a power of two apart do not share cache sets), real and imaginary parts in
//! separate planes. A 2-D transform is: 1-D transforms of the rows, an in-place blocked
//! transpose, 1-D transforms of the rows again. Every 1-D transform runs on one contiguous
//! row (it stays in L1 cache) and each stage's butterflies are a plain loop over contiguous
//! slices with per-stage twiddle tables, which the compiler vectorises (SIMD128 in the
//! browser).
//!
//! No bit-reversal permutation is ever done: the forward transform is decimation in
//! frequency (natural order in, bit-reversed out) and the inverse decimation in time
//! (bit-reversed in, natural out), so spectra are held in "scrambled" positions. That is all
//! a convolution needs: position `(r, c)` holds frequency `(bitrev(r), bitrev(c))` of the
//! transposed data for every array transformed this way, so pointwise products match, and
//! [`SquareFft::mirror`] gives the position of the negated frequency.
//!
//! Unnormalised: forward uses `exp(-2 pi i jk / side)`, inverse `exp(+2 pi i jk / side)`, so
//! inverse(forward(x)) = side^2 x. Cost: O(side^2 log side) per 2-D transform.
//! Deterministic: a fixed sequence of `+ - *` on precomputed twiddles.

/// Sample type of the planes.
pub(crate) type Real = f32;

/// Precomputed twiddles and tables for one side length.
#[derive(Clone, Debug)]
pub(crate) struct SquareFft {
    side: usize,
    /// Distance between rows in the planes (`side` plus padding).
    stride: usize,
    /// Per radix-2 stage of half-length `h` (1, 2, 4, ...), the twiddles `exp(-2 pi i j / 2h)`
    /// for `j < h` at offset `h - 1`, so a stage reads them contiguously.
    stage_re: Vec<Real>,
    stage_im_forward: Vec<Real>,
    stage_im_inverse: Vec<Real>,
    /// `mirror[p]` = position of frequency `-bitrev(p)` in scrambled order.
    mirror: Vec<usize>,
}

impl SquareFft {
    /// `side` must be a power of two, at least 2.
    pub(crate) fn new(side: usize) -> SquareFft {
        assert!(
            side >= 2 && side.is_power_of_two(),
            "FFT side {side} is not a power of two"
        );
        let half = side / 2;
        let mut twiddle_re: Vec<Real> = Vec::with_capacity(half);
        let mut twiddle_im: Vec<Real> = Vec::with_capacity(half);
        for k in 0..half {
            let angle = 2.0 * std::f64::consts::PI * k as f64 / side as f64;
            twiddle_re.push(angle.cos() as Real);
            twiddle_im.push(-angle.sin() as Real);
        }
        let mut stage_re = Vec::with_capacity(side);
        let mut stage_im_forward = Vec::with_capacity(side);
        let mut h = 1;
        while h < side {
            let step = side / (2 * h);
            for j in 0..h {
                stage_re.push(twiddle_re[j * step]);
                stage_im_forward.push(twiddle_im[j * step]);
            }
            h *= 2;
        }
        let stage_im_inverse = stage_im_forward.iter().map(|v| -v).collect();
        let bits = side.trailing_zeros();
        let bit_reversed = |p: usize| p.reverse_bits() >> (usize::BITS - bits);
        let mirror = (0..side)
            .map(|p| bit_reversed((side - bit_reversed(p)) % side))
            .collect();
        let stride = if side >= 64 { side + 8 } else { side };
        SquareFft {
            side,
            stride,
            stage_re,
            stage_im_forward,
            stage_im_inverse,
            mirror,
        }
    }

    pub(crate) fn side(&self) -> usize {
        self.side
    }

    /// Row stride of the planes: element `(row, col)` is at `row * stride + col`.
    pub(crate) fn stride(&self) -> usize {
        self.stride
    }

    /// Length of each plane (`side` rows of `stride`).
    pub(crate) fn plane_len(&self) -> usize {
        self.side * self.stride
    }

    /// Position (row or column) of the negated frequency in scrambled order.
    pub(crate) fn mirror(&self) -> &[usize] {
        &self.mirror
    }

    /// Forward 2-D transform of data that is zero outside rows `0..nonzero_rows`; the
    /// spectrum is left transposed and scrambled (see the module docs).
    pub(crate) fn forward(&self, re: &mut [Real], im: &mut [Real], nonzero_rows: usize) {
        self.rows(re, im, 0..nonzero_rows, false);
        self.transpose(re, im);
        self.rows(re, im, 0..self.side, false);
    }

    /// Inverse of [`Self::forward`] (unscaled); only rows `0..needed_rows` of the result are
    /// valid.
    pub(crate) fn inverse(&self, re: &mut [Real], im: &mut [Real], needed_rows: usize) {
        self.rows(re, im, 0..self.side, true);
        self.transpose(re, im);
        self.rows(re, im, 0..needed_rows, true);
    }

    /// 1-D transforms of rows `rows` (forward: decimation in frequency; inverse: in time).
    fn rows(&self, re: &mut [Real], im: &mut [Real], rows: std::ops::Range<usize>, inverse: bool) {
        let (side, stride) = (self.side, self.stride);
        assert!(re.len() == self.plane_len() && im.len() == self.plane_len() && rows.end <= side);
        let re = &mut re[rows.start * stride..rows.end * stride];
        let im = &mut im[rows.start * stride..rows.end * stride];
        let one_row = |row_re: &mut [Real], row_im: &mut [Real]| {
            if inverse {
                self.row_inverse(&mut row_re[..side], &mut row_im[..side]);
            } else {
                self.row_forward(&mut row_re[..side], &mut row_im[..side]);
            }
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            re.par_chunks_mut(stride)
                .zip(im.par_chunks_mut(stride))
                .with_min_len(16)
                .for_each(|(r, i)| one_row(r, i));
        }
        #[cfg(not(feature = "parallel"))]
        for (r, i) in re.chunks_mut(stride).zip(im.chunks_mut(stride)) {
            one_row(r, i);
        }
    }

    /// Decimation in frequency: natural order in, bit-reversed out.
    fn row_forward(&self, re: &mut [Real], im: &mut [Real]) {
        let side = self.side;
        let mut h = side / 2;
        while h >= 2 {
            let w_re = &self.stage_re[h - 1..2 * h - 1];
            let w_im = &self.stage_im_forward[h - 1..2 * h - 1];
            for (block_re, block_im) in re.chunks_exact_mut(2 * h).zip(im.chunks_exact_mut(2 * h)) {
                let (a_re, b_re) = block_re.split_at_mut(h);
                let (a_im, b_im) = block_im.split_at_mut(h);
                butterfly_frequency(a_re, a_im, b_re, b_im, w_re, w_im);
            }
            h /= 2;
        }
        unit_butterflies(re, im);
    }

    /// Decimation in time with conjugate twiddles: bit-reversed in, natural order out.
    fn row_inverse(&self, re: &mut [Real], im: &mut [Real]) {
        let side = self.side;
        unit_butterflies(re, im);
        let mut h = 2;
        while h < side {
            let w_re = &self.stage_re[h - 1..2 * h - 1];
            let w_im = &self.stage_im_inverse[h - 1..2 * h - 1];
            for (block_re, block_im) in re.chunks_exact_mut(2 * h).zip(im.chunks_exact_mut(2 * h)) {
                let (a_re, b_re) = block_re.split_at_mut(h);
                let (a_im, b_im) = block_im.split_at_mut(h);
                butterfly_time(a_re, a_im, b_re, b_im, w_re, w_im);
            }
            h *= 2;
        }
    }

    /// In-place transpose of both planes, in square tiles.
    fn transpose(&self, re: &mut [Real], im: &mut [Real]) {
        #[cfg(feature = "parallel")]
        rayon::join(
            || transpose_plane(re, self.side, self.stride),
            || transpose_plane(im, self.side, self.stride),
        );
        #[cfg(not(feature = "parallel"))]
        {
            transpose_plane(re, self.side, self.stride);
            transpose_plane(im, self.side, self.stride);
        }
    }
}

/// The stage of half-length 1 (twiddle 1), identical in both directions.
#[inline(always)]
fn unit_butterflies(re: &mut [Real], im: &mut [Real]) {
    for (pair_re, pair_im) in re.chunks_exact_mut(2).zip(im.chunks_exact_mut(2)) {
        let (a_re, b_re) = (pair_re[0], pair_re[1]);
        let (a_im, b_im) = (pair_im[0], pair_im[1]);
        pair_re[0] = a_re + b_re;
        pair_re[1] = a_re - b_re;
        pair_im[0] = a_im + b_im;
        pair_im[1] = a_im - b_im;
    }
}

/// `a, b <- a + b, (a - b) w`.
#[inline(always)]
fn butterfly_frequency(
    a_re: &mut [Real],
    a_im: &mut [Real],
    b_re: &mut [Real],
    b_im: &mut [Real],
    w_re: &[Real],
    w_im: &[Real],
) {
    let n = a_re.len();
    let (a_im, b_re, b_im, w_re, w_im) = (
        &mut a_im[..n],
        &mut b_re[..n],
        &mut b_im[..n],
        &w_re[..n],
        &w_im[..n],
    );
    for j in 0..n {
        let (d_re, d_im) = (a_re[j] - b_re[j], a_im[j] - b_im[j]);
        a_re[j] += b_re[j];
        a_im[j] += b_im[j];
        b_re[j] = w_re[j] * d_re - w_im[j] * d_im;
        b_im[j] = w_re[j] * d_im + w_im[j] * d_re;
    }
}

/// `a, b <- a + w b, a - w b`.
#[inline(always)]
fn butterfly_time(
    a_re: &mut [Real],
    a_im: &mut [Real],
    b_re: &mut [Real],
    b_im: &mut [Real],
    w_re: &[Real],
    w_im: &[Real],
) {
    let n = a_re.len();
    let (a_im, b_re, b_im, w_re, w_im) = (
        &mut a_im[..n],
        &mut b_re[..n],
        &mut b_im[..n],
        &w_re[..n],
        &w_im[..n],
    );
    for j in 0..n {
        let (br, bi) = (b_re[j], b_im[j]);
        let t_re = w_re[j] * br - w_im[j] * bi;
        let t_im = w_re[j] * bi + w_im[j] * br;
        b_re[j] = a_re[j] - t_re;
        b_im[j] = a_im[j] - t_im;
        a_re[j] += t_re;
        a_im[j] += t_im;
    }
}

/// In-place transpose of a `side x side` matrix with row stride `stride`: pairs of
/// `TILE x TILE` tiles are swapped through two small buffers, one row slice at a time.
fn transpose_plane(plane: &mut [Real], side: usize, stride: usize) {
    const TILE: usize = 16;
    if side % TILE != 0 {
        for r in 0..side {
            for c in r + 1..side {
                plane.swap(r * stride + c, c * stride + r);
            }
        }
        return;
    }
    let mut upper = [0.0 as Real; TILE * TILE];
    let mut lower = [0.0 as Real; TILE * TILE];
    for tile_row in (0..side).step_by(TILE) {
        for tile_col in (tile_row..side).step_by(TILE) {
            // upper = tile (tile_row, tile_col), lower = tile (tile_col, tile_row).
            for r in 0..TILE {
                let start_upper = (tile_row + r) * stride + tile_col;
                upper[r * TILE..(r + 1) * TILE]
                    .copy_from_slice(&plane[start_upper..start_upper + TILE]);
                let start_lower = (tile_col + r) * stride + tile_row;
                lower[r * TILE..(r + 1) * TILE]
                    .copy_from_slice(&plane[start_lower..start_lower + TILE]);
            }
            for r in 0..TILE {
                let start_upper = (tile_row + r) * stride + tile_col;
                let target = &mut plane[start_upper..start_upper + TILE];
                for (c, value) in target.iter_mut().enumerate() {
                    *value = lower[c * TILE + r];
                }
                let start_lower = (tile_col + r) * stride + tile_row;
                let target = &mut plane[start_lower..start_lower + TILE];
                for (c, value) in target.iter_mut().enumerate() {
                    *value = upper[c * TILE + r];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_dft_2d(re: &[f64], im: &[f64], side: usize) -> (Vec<f64>, Vec<f64>) {
        let mut out_re = vec![0.0; side * side];
        let mut out_im = vec![0.0; side * side];
        for ky in 0..side {
            for kx in 0..side {
                let (mut sr, mut si) = (0.0, 0.0);
                for y in 0..side {
                    for x in 0..side {
                        let angle = -2.0 * std::f64::consts::PI * ((ky * y + kx * x) % side) as f64
                            / side as f64;
                        let (c, s) = (angle.cos(), angle.sin());
                        let (r, i) = (re[y * side + x], im[y * side + x]);
                        sr += r * c - i * s;
                        si += r * s + i * c;
                    }
                }
                out_re[ky * side + kx] = sr;
                out_im[ky * side + kx] = si;
            }
        }
        (out_re, out_im)
    }

    #[test]
    fn two_dimensional_transform_matches_the_definition_and_inverts() {
        // Side 32 (unpadded); the padded layout is covered by the repulsion tests.
        let side = 32;
        let re: Vec<f64> = (0..side * side)
            .map(|v| ((v * 37 % 11) as f64) - 5.0)
            .collect();
        let im: Vec<f64> = (0..side * side)
            .map(|v| ((v * 13 % 7) as f64) * 0.5)
            .collect();
        let fft = SquareFft::new(side);
        assert_eq!(fft.stride(), side);
        let (mut a_re, mut a_im): (Vec<Real>, Vec<Real>) = (
            re.iter().map(|&v| v as Real).collect(),
            im.iter().map(|&v| v as Real).collect(),
        );
        fft.forward(&mut a_re, &mut a_im, side);
        let (want_re, want_im) = naive_dft_2d(&re, &im, side);
        let bits = side.trailing_zeros();
        let scrambled = |p: usize| p.reverse_bits() >> (usize::BITS - bits);
        for r in 0..side {
            for c in 0..side {
                // Position (r, c) holds frequency (kx, ky) = (bitrev(r), bitrev(c)).
                let (kx, ky) = (scrambled(r), scrambled(c));
                // Single precision: within 1e-6 of the largest coefficient (about 5,000).
                assert!((a_re[r * side + c] as f64 - want_re[ky * side + kx]).abs() < 5e-3);
                assert!((a_im[r * side + c] as f64 - want_im[ky * side + kx]).abs() < 5e-3);
                // The mirror table points at the negated frequency.
                let (mr, mc) = (fft.mirror()[r], fft.mirror()[c]);
                assert_eq!(
                    (scrambled(mr), scrambled(mc)),
                    ((side - kx) % side, (side - ky) % side)
                );
            }
        }
        fft.inverse(&mut a_re, &mut a_im, side);
        let scale = (side * side) as f64;
        for v in 0..side * side {
            assert!((a_re[v] as f64 / scale - re[v]).abs() < 1e-5);
            assert!((a_im[v] as f64 / scale - im[v]).abs() < 1e-5);
        }
    }
}
