//! A small square two-dimensional complex FFT for the repulsion grid (radix 2, f64).
//!
//! Data are `side x side`, row-major, with real and imaginary parts in separate planes so
//! that a butterfly between two rows is a plain loop over contiguous slices, which the
//! compiler vectorises (SIMD128 in the browser). A transform along the first axis works on
//! strips of columns sized to stay in cache; the second axis is done by transposing.
//!
//! Unnormalised: forward uses `exp(-2 pi i jk / side)`, inverse `exp(+2 pi i jk / side)`, so
//! inverse(forward(x)) = side^2 x. Cost: O(side^2 log side) per 2-D transform.
//! Deterministic: a fixed sequence of `+ - *` on precomputed twiddles.

/// Precomputed twiddles and bit-reversal table for one side length.
#[derive(Clone, Debug)]
pub(crate) struct SquareFft {
    side: usize,
    /// cos(2 pi k / side) for k < side / 2.
    twiddle_re: Vec<f64>,
    /// -sin(2 pi k / side) for k < side / 2 (forward sign).
    twiddle_im: Vec<f64>,
    bit_reversed: Vec<usize>,
}

impl SquareFft {
    /// `side` must be a power of two, at least 2.
    pub(crate) fn new(side: usize) -> SquareFft {
        assert!(side >= 2 && side.is_power_of_two(), "FFT side {side} is not a power of two");
        let half = side / 2;
        let mut twiddle_re = Vec::with_capacity(half);
        let mut twiddle_im = Vec::with_capacity(half);
        for k in 0..half {
            let angle = 2.0 * std::f64::consts::PI * k as f64 / side as f64;
            twiddle_re.push(angle.cos());
            twiddle_im.push(-angle.sin());
        }
        let bits = side.trailing_zeros();
        let bit_reversed = (0..side).map(|r| r.reverse_bits() >> (usize::BITS - bits)).collect();
        SquareFft { side, twiddle_re, twiddle_im, bit_reversed }
    }

    pub(crate) fn side(&self) -> usize {
        self.side
    }

    /// DFT along the first axis (each column is one sequence) of columns `0..n_cols`;
    /// other columns are left alone.
    pub(crate) fn transform_columns(&self, re: &mut [f64], im: &mut [f64], n_cols: usize, inverse: bool) {
        let side = self.side;
        assert!(re.len() == side * side && im.len() == side * side && n_cols <= side);
        let strip = (16_384 / side).clamp(8, side);
        #[cfg(feature = "parallel")]
        if side >= 256 {
            // Strips are independent; each runs the serial arithmetic (identical results).
            self.transform_columns_parallel(re, im, n_cols, strip, inverse);
            return;
        }
        let mut first = 0;
        while first < n_cols {
            let end = (first + strip).min(n_cols);
            self.transform_strip(re, im, first, end, inverse);
            first = end;
        }
    }

    #[cfg(feature = "parallel")]
    fn transform_columns_parallel(&self, re: &mut [f64], im: &mut [f64], n_cols: usize, strip: usize, inverse: bool) {
        use rayon::prelude::*;
        let side = self.side;
        // Gather each strip into its own block, transform, scatter back. Each strip's
        // arithmetic is exactly the serial one, so the results are identical.
        let strips: Vec<(usize, usize)> =
            (0..n_cols).step_by(strip).map(|first| (first, (first + strip).min(n_cols))).collect();
        let blocks: Vec<(Vec<f64>, Vec<f64>)> = strips
            .par_iter()
            .map(|&(first, end)| {
                let width = end - first;
                let mut block_re = vec![0.0; width * side];
                let mut block_im = vec![0.0; width * side];
                for row in 0..side {
                    block_re[row * width..(row + 1) * width].copy_from_slice(&re[row * side + first..row * side + end]);
                    block_im[row * width..(row + 1) * width].copy_from_slice(&im[row * side + first..row * side + end]);
                }
                self.transform_block(&mut block_re, &mut block_im, width, 0, width, inverse);
                (block_re, block_im)
            })
            .collect();
        for (&(first, end), (block_re, block_im)) in strips.iter().zip(blocks) {
            let width = end - first;
            for row in 0..side {
                re[row * side + first..row * side + end].copy_from_slice(&block_re[row * width..(row + 1) * width]);
                im[row * side + first..row * side + end].copy_from_slice(&block_im[row * width..(row + 1) * width]);
            }
        }
    }

    fn transform_strip(&self, re: &mut [f64], im: &mut [f64], first: usize, end: usize, inverse: bool) {
        self.transform_block(re, im, self.side, first, end, inverse);
    }

    /// Transforms columns `first..end` of a `side x row_len` row-major block along its rows.
    fn transform_block(&self, re: &mut [f64], im: &mut [f64], row_len: usize, first: usize, end: usize, inverse: bool) {
        let side = self.side;
        let width = end - first;
        for row in 0..side {
            let partner = self.bit_reversed[row];
            if row < partner {
                let (head, tail) = re.split_at_mut(partner * row_len);
                head[row * row_len + first..row * row_len + end].swap_with_slice(&mut tail[first..end]);
                let (head, tail) = im.split_at_mut(partner * row_len);
                head[row * row_len + first..row * row_len + end].swap_with_slice(&mut tail[first..end]);
            }
        }
        let sign = if inverse { -1.0 } else { 1.0 };
        let mut half = 1;
        while half < side {
            let stride = side / (2 * half);
            for block in (0..side).step_by(2 * half) {
                for j in 0..half {
                    let top = (block + j) * row_len + first;
                    let bottom = (block + j + half) * row_len + first;
                    let (re_head, re_tail) = re.split_at_mut(bottom);
                    let (im_head, im_tail) = im.split_at_mut(bottom);
                    let a_re = &mut re_head[top..top + width];
                    let a_im = &mut im_head[top..top + width];
                    let b_re = &mut re_tail[..width];
                    let b_im = &mut im_tail[..width];
                    if j == 0 {
                        butterfly_unit(a_re, a_im, b_re, b_im);
                    } else {
                        let w_re = self.twiddle_re[j * stride];
                        let w_im = sign * self.twiddle_im[j * stride];
                        butterfly(a_re, a_im, b_re, b_im, w_re, w_im);
                    }
                }
            }
            half *= 2;
        }
    }

    /// In-place transpose of a `side x side` plane pair.
    pub(crate) fn transpose(&self, re: &mut [f64], im: &mut [f64]) {
        transpose_plane(re, self.side);
        transpose_plane(im, self.side);
    }
}

#[inline(always)]
fn butterfly(a_re: &mut [f64], a_im: &mut [f64], b_re: &mut [f64], b_im: &mut [f64], w_re: f64, w_im: f64) {
    for (((ar, ai), br), bi) in a_re.iter_mut().zip(a_im.iter_mut()).zip(b_re.iter_mut()).zip(b_im.iter_mut()) {
        let t_re = w_re * *br - w_im * *bi;
        let t_im = w_re * *bi + w_im * *br;
        *br = *ar - t_re;
        *bi = *ai - t_im;
        *ar += t_re;
        *ai += t_im;
    }
}

#[inline(always)]
fn butterfly_unit(a_re: &mut [f64], a_im: &mut [f64], b_re: &mut [f64], b_im: &mut [f64]) {
    for (((ar, ai), br), bi) in a_re.iter_mut().zip(a_im.iter_mut()).zip(b_re.iter_mut()).zip(b_im.iter_mut()) {
        let (t_re, t_im) = (*br, *bi);
        *br = *ar - t_re;
        *bi = *ai - t_im;
        *ar += t_re;
        *ai += t_im;
    }
}

fn transpose_plane(plane: &mut [f64], side: usize) {
    const TILE: usize = 32;
    for tile_row in (0..side).step_by(TILE) {
        for tile_col in (tile_row..side).step_by(TILE) {
            let row_end = (tile_row + TILE).min(side);
            let col_end = (tile_col + TILE).min(side);
            for r in tile_row..row_end {
                let col_start = if tile_row == tile_col { r + 1 } else { tile_col };
                for c in col_start..col_end {
                    plane.swap(r * side + c, c * side + r);
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
                        let angle = -2.0 * std::f64::consts::PI * ((ky * y + kx * x) % side) as f64 / side as f64;
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
        let side = 16;
        let re: Vec<f64> = (0..side * side).map(|v| ((v * 37 % 11) as f64) - 5.0).collect();
        let im: Vec<f64> = (0..side * side).map(|v| ((v * 13 % 7) as f64) * 0.5).collect();
        let fft = SquareFft::new(side);
        let (mut a_re, mut a_im) = (re.clone(), im.clone());
        fft.transform_columns(&mut a_re, &mut a_im, side, false);
        fft.transpose(&mut a_re, &mut a_im);
        fft.transform_columns(&mut a_re, &mut a_im, side, false);
        // Result is transposed: a[kx][ky].
        let (want_re, want_im) = naive_dft_2d(&re, &im, side);
        for ky in 0..side {
            for kx in 0..side {
                assert!((a_re[kx * side + ky] - want_re[ky * side + kx]).abs() < 1e-9);
                assert!((a_im[kx * side + ky] - want_im[ky * side + kx]).abs() < 1e-9);
            }
        }
        fft.transform_columns(&mut a_re, &mut a_im, side, true);
        fft.transpose(&mut a_re, &mut a_im);
        fft.transform_columns(&mut a_re, &mut a_im, side, true);
        let scale = (side * side) as f64;
        for v in 0..side * side {
            assert!((a_re[v] / scale - re[v]).abs() < 1e-12);
            assert!((a_im[v] / scale - im[v]).abs() < 1e-12);
        }
    }
}
