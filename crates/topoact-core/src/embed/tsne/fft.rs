//! A small square two-dimensional complex FFT for the repulsion grid (f32), for sides
//! `2^k` and `3 * 2^k`.
//!
//! Single precision: four lanes per SIMD128 vector in the browser instead of two, half the
//! memory traffic. The transform's rounding error is about `1e-6` of the largest value,
//! far below the interpolation's own (`1e-3`, see [`super::repulsion`]).
//!
//! Data are `side x side`, row-major with a padded row stride (`side + 8` from side 64 on,
//! so rows a power of two apart do not share cache sets), real and imaginary parts in
//! separate planes. A 2-D transform is: 1-D transforms of the rows, then 1-D transforms of
//! the columns (forward; the inverse takes the columns first). A row's transform runs on one
//! contiguous row (it stays in L1 cache), each stage's butterflies a plain loop over
//! contiguous slices with per-stage twiddle tables. The columns are transformed in strips
//! of 32 side by side: each butterfly combines two rows' segments with one twiddle, so every
//! stage is a plain loop over 32 contiguous values, the last stages (half-lengths 1 and 2,
//! scalar within a row) included, and no transpose is needed. The compiler vectorises both
//! (SIMD128 in the browser). A column gets the very operations a row would, so the result
//! is the same bits as transforming the rows of the transposed data (callgrind, 12,000 x
//! 256 synthetic activations, first 300 t-SNE iterations on one thread, 512 grid: the
//! transforms 94 million instructions per iteration with a transpose and two row passes, 65
//! million with the strips; the whole run 60.5 to 51.7 billion, same coordinates). The
//! strips' radix-2 stages go two at a time: the four rows of a pair of stages' butterflies
//! are read and written once for both (the same operations, so the same bits; callgrind,
//! 50,000 x 256, one thread: t-SNE iteration 100 217.6 to 209.7 million instructions).
//!
//! A row of length `side = 3 M` (`M` a power of two) first goes through one radix-3 stage
//! over the whole row (its three thirds in, twiddled, the three sub-sequences
//! `X[3 k + r]` out, one per third), then the radix-2 stages of each length-`M` third; for
//! `side = M` only the radix-2 stages run. Sides `3 * 2^k` fill the gaps between powers of
//! two, so the grid grows by factors 4/3 and 3/2 instead of 2.
//!
//! No bit-reversal permutation is ever done: the forward transform is decimation in
//! frequency (natural order in, scrambled out) and the inverse decimation in time
//! (scrambled in, natural out), so spectra are held in "scrambled" positions: position
//! `r M + p` (`r < 3`, `p < M`) holds frequency `3 bitrev_M(p) + r`, or `bitrev(p)` for a
//! power-of-two side. That is all a convolution needs: position `(r, c)` holds frequency
//! `(f(r), f(c))` (`(ky, kx)`) for every array transformed this way, so pointwise
//! products match, and [`SquareFft::mirror`] gives the position of the negated frequency.
//!
//! Unnormalised: forward uses `exp(-2 pi i jk / side)`, inverse `exp(+2 pi i jk / side)`, so
//! inverse(forward(x)) = side^2 x. Cost: O(side^2 log side) per 2-D transform.
//! Deterministic: a fixed sequence of `+ - *` on precomputed twiddles, whatever the threads.

/// Sample type of the planes.
pub(crate) type Real = f32;

/// `sin(pi / 3)`, the imaginary part of the 3-point DFT's twiddles.
const SIN_60: Real = 0.866_025_4;

/// Precomputed twiddles and tables for one side length.
#[derive(Clone, Debug)]
pub(crate) struct SquareFft {
    side: usize,
    /// Length of the radix-2 blocks: `side`, or `side / 3` when `radix3`.
    block: usize,
    /// Whether a radix-3 stage comes first (forward) or last (inverse).
    radix3: bool,
    /// Distance between rows in the planes (`side` plus padding).
    stride: usize,
    /// Per radix-2 stage of half-length `h` (1, 2, 4, ..., `block / 2`), the twiddles
    /// `exp(-2 pi i j / 2h)` for `j < h` at offset `h - 1`, so a stage reads them contiguously.
    stage_re: Vec<Real>,
    stage_im_forward: Vec<Real>,
    stage_im_inverse: Vec<Real>,
    /// Radix-3 stage: `exp(-2 pi i r n / side)` for `n < block`, `r = 1` then `r = 2` (empty
    /// unless `radix3`); the inverse uses the conjugates.
    third_re: [Vec<Real>; 2],
    third_im_forward: [Vec<Real>; 2],
    third_im_inverse: [Vec<Real>; 2],
    /// `mirror[p]` = position of the negated frequency of position `p`'s.
    mirror: Vec<usize>,
}

/// `p` with its lowest `bits` bits reversed.
fn bit_reversed(p: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        p.reverse_bits() >> (usize::BITS - bits)
    }
}

impl SquareFft {
    /// Whether [`Self::new`] accepts `side`: `2^k` or `3 * 2^k`, at least 2.
    pub(crate) fn supports(side: usize) -> bool {
        side >= 2
            && (side.is_power_of_two() || (side.is_multiple_of(3) && (side / 3).is_power_of_two()))
    }

    /// `side` must be `2^k` or `3 * 2^k`, at least 2 (see [`Self::supports`]).
    pub(crate) fn new(side: usize) -> SquareFft {
        assert!(
            Self::supports(side),
            "FFT side {side} is not a power of two or three times one"
        );
        let radix3 = !side.is_power_of_two();
        let block = if radix3 { side / 3 } else { side };
        let mut stage_re = Vec::with_capacity(block);
        let mut stage_im_forward = Vec::with_capacity(block);
        let mut h = 1;
        while h < block {
            for j in 0..h {
                let angle = 2.0 * std::f64::consts::PI * j as f64 / (2 * h) as f64;
                stage_re.push(angle.cos() as Real);
                stage_im_forward.push(-angle.sin() as Real);
            }
            h *= 2;
        }
        let stage_im_inverse = stage_im_forward.iter().map(|v| -v).collect();
        let third = |r: usize| -> (Vec<Real>, Vec<Real>) {
            if !radix3 {
                return (Vec::new(), Vec::new());
            }
            (0..block)
                .map(|n| {
                    let angle = 2.0 * std::f64::consts::PI * (r * n) as f64 / side as f64;
                    (angle.cos() as Real, -angle.sin() as Real)
                })
                .unzip()
        };
        let ((re1, im1), (re2, im2)) = (third(1), third(2));
        let third_im_inverse = [
            im1.iter().map(|v| -v).collect(),
            im2.iter().map(|v| -v).collect(),
        ];
        // The frequency each position holds, and the position of each frequency.
        let bits = block.trailing_zeros();
        let frequency_at: Vec<usize> = (0..side)
            .map(|position| {
                let (r, p) = (position / block, position % block);
                if radix3 {
                    3 * bit_reversed(p, bits) + r
                } else {
                    bit_reversed(p, bits)
                }
            })
            .collect();
        let mut position_of = vec![0; side];
        for (position, &frequency) in frequency_at.iter().enumerate() {
            position_of[frequency] = position;
        }
        let mirror = frequency_at
            .iter()
            .map(|&frequency| position_of[(side - frequency) % side])
            .collect();
        let stride = if side >= 64 { side + 8 } else { side };
        SquareFft {
            side,
            block,
            radix3,
            stride,
            stage_re,
            stage_im_forward,
            stage_im_inverse,
            third_re: [re1, re2],
            third_im_forward: [im1, im2],
            third_im_inverse,
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
    /// spectrum is left scrambled (see the module docs).
    pub(crate) fn forward(&self, re: &mut [Real], im: &mut [Real], nonzero_rows: usize) {
        self.rows(re, im, 0..nonzero_rows, false);
        self.columns(re, im, false);
    }

    /// Inverse of [`Self::forward`] (unscaled); only rows `0..needed_rows` of the result are
    /// valid.
    pub(crate) fn inverse(&self, re: &mut [Real], im: &mut [Real], needed_rows: usize) {
        self.columns(re, im, true);
        self.rows(re, im, 0..needed_rows, true);
    }

    /// 1-D transforms of every column (forward: decimation in frequency; inverse: in time),
    /// in strips of [`STRIP`] columns: each butterfly combines two rows' segments of the strip
    /// with one twiddle, a plain loop over contiguous values. A column gets exactly the
    /// operations [`Self::row_forward`] / [`Self::row_inverse`] apply to a row.
    fn columns(&self, re: &mut [Real], im: &mut [Real], inverse: bool) {
        let (side, stride) = (self.side, self.stride);
        assert!(re.len() == self.plane_len() && im.len() == self.plane_len());
        // Each strip's segments of every row (the padding columns are left out).
        let strips = side.div_ceil(STRIP);
        let mut segments_re: Vec<Vec<&mut [Real]>> =
            (0..strips).map(|_| Vec::with_capacity(side)).collect();
        let mut segments_im: Vec<Vec<&mut [Real]>> =
            (0..strips).map(|_| Vec::with_capacity(side)).collect();
        for (row_re, row_im) in re.chunks_mut(stride).zip(im.chunks_mut(stride)) {
            for (strip, (piece_re, piece_im)) in row_re[..side]
                .chunks_mut(STRIP)
                .zip(row_im[..side].chunks_mut(STRIP))
                .enumerate()
            {
                segments_re[strip].push(piece_re);
                segments_im[strip].push(piece_im);
            }
        }
        let one_strip = |rows_re: &mut Vec<&mut [Real]>, rows_im: &mut Vec<&mut [Real]>| {
            if inverse {
                self.strip_inverse(rows_re, rows_im);
            } else {
                self.strip_forward(rows_re, rows_im);
            }
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            segments_re
                .par_iter_mut()
                .zip(segments_im.par_iter_mut())
                .for_each(|(r, i)| one_strip(r, i));
        }
        #[cfg(not(feature = "parallel"))]
        for (r, i) in segments_re.iter_mut().zip(segments_im.iter_mut()) {
            one_strip(r, i);
        }
    }

    /// [`Self::row_forward`] down the columns of one strip (`re[row]`: the strip's segment of
    /// `row`).
    fn strip_forward(&self, re: &mut [&mut [Real]], im: &mut [&mut [Real]]) {
        if self.radix3 {
            let m = self.block;
            let (w1_re, w1_im) = (&self.third_re[0][..m], &self.third_im_forward[0][..m]);
            let (w2_re, w2_im) = (&self.third_re[1][..m], &self.third_im_forward[1][..m]);
            for n in 0..m {
                let [a_re, b_re, c_re] = three_rows(re, n, m);
                let [a_im, b_im, c_im] = three_rows(im, n, m);
                let w = [w1_re[n], w1_im[n], w2_re[n], w2_im[n]];
                radix3_forward_lanes(a_re, b_re, c_re, a_im, b_im, c_im, w);
            }
        }
        // Stages in pairs `(h, h / 2)`, the four rows of both stages' butterflies read and
        // written once per pair (the same operations as one stage after the other).
        let mut h = self.block / 2;
        while h >= 2 {
            let w_re = &self.stage_re[h - 1..2 * h - 1];
            let w_im = &self.stage_im_forward[h - 1..2 * h - 1];
            let quarter = h / 2;
            // The second stage's twiddles (half-length `quarter`; 1 when it is the unit stage).
            let (v_re, v_im) = if quarter >= 2 {
                (
                    &self.stage_re[quarter - 1..2 * quarter - 1],
                    &self.stage_im_forward[quarter - 1..2 * quarter - 1],
                )
            } else {
                (&[][..], &[][..])
            };
            for start in (0..self.side).step_by(2 * h) {
                for j in 0..quarter {
                    let rows = [
                        start + j,
                        start + j + quarter,
                        start + j + h,
                        start + j + h + quarter,
                    ];
                    let mut segments_re = four_rows(re, rows);
                    let mut segments_im = four_rows(im, rows);
                    let outer = [(w_re[j], w_im[j]), (w_re[j + quarter], w_im[j + quarter])];
                    let inner = v_re.get(j).zip(v_im.get(j)).map(|(&r, &i)| (r, i));
                    fused_frequency_lanes(&mut segments_re, &mut segments_im, outer, inner);
                }
            }
            h /= 4;
        }
        if h == 1 {
            for start in (0..self.side).step_by(2) {
                let [a_re, b_re] = two_rows(re, start, 1);
                let [a_im, b_im] = two_rows(im, start, 1);
                unit_butterfly_lanes(a_re, a_im, b_re, b_im);
            }
        }
    }

    /// [`Self::row_inverse`] down the columns of one strip.
    fn strip_inverse(&self, re: &mut [&mut [Real]], im: &mut [&mut [Real]]) {
        // Stages in pairs `(h, 2 h)` (the first `h = 1`, the unit stage), the four rows of
        // both stages' butterflies read and written once per pair (the same operations as
        // one stage after the other); a last stage alone if their number is odd.
        let mut h = 1;
        while 2 * h < self.block {
            let inner = (h >= 2).then(|| {
                (
                    &self.stage_re[h - 1..2 * h - 1],
                    &self.stage_im_inverse[h - 1..2 * h - 1],
                )
            });
            let w_re = &self.stage_re[2 * h - 1..4 * h - 1];
            let w_im = &self.stage_im_inverse[2 * h - 1..4 * h - 1];
            for start in (0..self.side).step_by(4 * h) {
                for j in 0..h {
                    let rows = [
                        start + j,
                        start + j + h,
                        start + j + 2 * h,
                        start + j + 3 * h,
                    ];
                    let mut segments_re = four_rows(re, rows);
                    let mut segments_im = four_rows(im, rows);
                    let first = inner.map(|(v_re, v_im)| (v_re[j], v_im[j]));
                    let outer = [(w_re[j], w_im[j]), (w_re[j + h], w_im[j + h])];
                    fused_time_lanes(&mut segments_re, &mut segments_im, first, outer);
                }
            }
            h *= 4;
        }
        if h < self.block {
            // One stage left, of half-length `h`.
            if h == 1 {
                for start in (0..self.side).step_by(2) {
                    let [a_re, b_re] = two_rows(re, start, 1);
                    let [a_im, b_im] = two_rows(im, start, 1);
                    unit_butterfly_lanes(a_re, a_im, b_re, b_im);
                }
            } else {
                let w_re = &self.stage_re[h - 1..2 * h - 1];
                let w_im = &self.stage_im_inverse[h - 1..2 * h - 1];
                for start in (0..self.side).step_by(2 * h) {
                    for j in 0..h {
                        let [a_re, b_re] = two_rows(re, start + j, h);
                        let [a_im, b_im] = two_rows(im, start + j, h);
                        butterfly_time_lanes(a_re, a_im, b_re, b_im, w_re[j], w_im[j]);
                    }
                }
            }
        }
        if self.radix3 {
            let m = self.block;
            let (w1_re, w1_im) = (&self.third_re[0][..m], &self.third_im_inverse[0][..m]);
            let (w2_re, w2_im) = (&self.third_re[1][..m], &self.third_im_inverse[1][..m]);
            for n in 0..m {
                let [a_re, b_re, c_re] = three_rows(re, n, m);
                let [a_im, b_im, c_im] = three_rows(im, n, m);
                let w = [w1_re[n], w1_im[n], w2_re[n], w2_im[n]];
                radix3_inverse_lanes(a_re, b_re, c_re, a_im, b_im, c_im, w);
            }
        }
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

    /// Decimation in frequency: natural order in, scrambled out.
    fn row_forward(&self, re: &mut [Real], im: &mut [Real]) {
        if self.radix3 {
            self.radix3_forward(re, im);
        }
        // Radix-2 stages within each block (the blocks are multiples of every `2h`).
        let mut h = self.block / 2;
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
        if self.block >= 2 {
            unit_butterflies(re, im);
        }
    }

    /// Decimation in time with conjugate twiddles: scrambled in, natural order out.
    fn row_inverse(&self, re: &mut [Real], im: &mut [Real]) {
        if self.block >= 2 {
            unit_butterflies(re, im);
        }
        let mut h = 2;
        while h < self.block {
            let w_re = &self.stage_re[h - 1..2 * h - 1];
            let w_im = &self.stage_im_inverse[h - 1..2 * h - 1];
            for (block_re, block_im) in re.chunks_exact_mut(2 * h).zip(im.chunks_exact_mut(2 * h)) {
                let (a_re, b_re) = block_re.split_at_mut(h);
                let (a_im, b_im) = block_im.split_at_mut(h);
                butterfly_time(a_re, a_im, b_re, b_im, w_re, w_im);
            }
            h *= 2;
        }
        if self.radix3 {
            self.radix3_inverse(re, im);
        }
    }

    /// The radix-3 stage in frequency: with `a, b, c` = the row's thirds at `n`, third `r`
    /// becomes `(a + W3^r b + W3^2r c) W^(r n)` (`W3 = exp(-2 pi i / 3)`, `W = exp(-2 pi i /
    /// side)`), whose length-`M` DFT is `X[3 k + r]`.
    fn radix3_forward(&self, re: &mut [Real], im: &mut [Real]) {
        let m = self.block;
        let [a_re, b_re, c_re] = thirds(re, m);
        let [a_im, b_im, c_im] = thirds(im, m);
        let (w1_re, w1_im) = (&self.third_re[0][..m], &self.third_im_forward[0][..m]);
        let (w2_re, w2_im) = (&self.third_re[1][..m], &self.third_im_forward[1][..m]);
        for n in 0..m {
            let (s_re, s_im) = (b_re[n] + c_re[n], b_im[n] + c_im[n]);
            let (d_re, d_im) = (SIN_60 * (b_re[n] - c_re[n]), SIN_60 * (b_im[n] - c_im[n]));
            let (m_re, m_im) = (a_re[n] - 0.5 * s_re, a_im[n] - 0.5 * s_im);
            a_re[n] += s_re;
            a_im[n] += s_im;
            // y1 = m - i d, y2 = m + i d.
            let (y1_re, y1_im) = (m_re + d_im, m_im - d_re);
            let (y2_re, y2_im) = (m_re - d_im, m_im + d_re);
            b_re[n] = w1_re[n] * y1_re - w1_im[n] * y1_im;
            b_im[n] = w1_re[n] * y1_im + w1_im[n] * y1_re;
            c_re[n] = w2_re[n] * y2_re - w2_im[n] * y2_im;
            c_im[n] = w2_re[n] * y2_im + w2_im[n] * y2_re;
        }
    }

    /// Inverse of [`Self::radix3_forward`] (unscaled): third `r` times `conj(W^(r n))`, then
    /// the 3-point inverse DFT across the thirds.
    fn radix3_inverse(&self, re: &mut [Real], im: &mut [Real]) {
        let m = self.block;
        let [a_re, b_re, c_re] = thirds(re, m);
        let [a_im, b_im, c_im] = thirds(im, m);
        let (w1_re, w1_im) = (&self.third_re[0][..m], &self.third_im_inverse[0][..m]);
        let (w2_re, w2_im) = (&self.third_re[1][..m], &self.third_im_inverse[1][..m]);
        for n in 0..m {
            let (u_re, u_im) = (
                w1_re[n] * b_re[n] - w1_im[n] * b_im[n],
                w1_re[n] * b_im[n] + w1_im[n] * b_re[n],
            );
            let (v_re, v_im) = (
                w2_re[n] * c_re[n] - w2_im[n] * c_im[n],
                w2_re[n] * c_im[n] + w2_im[n] * c_re[n],
            );
            let (s_re, s_im) = (u_re + v_re, u_im + v_im);
            let (d_re, d_im) = (SIN_60 * (u_re - v_re), SIN_60 * (u_im - v_im));
            let (m_re, m_im) = (a_re[n] - 0.5 * s_re, a_im[n] - 0.5 * s_im);
            a_re[n] += s_re;
            a_im[n] += s_im;
            // z1 = m + i d, z2 = m - i d.
            b_re[n] = m_re - d_im;
            b_im[n] = m_im + d_re;
            c_re[n] = m_re + d_im;
            c_im[n] = m_im - d_re;
        }
    }
}

/// The three consecutive blocks of length `m` at the start of `row` (a row of side `3 m`),
/// each exactly `m` long so the loops over them need no bounds checks.
#[inline(always)]
fn thirds(row: &mut [Real], m: usize) -> [&mut [Real]; 3] {
    let (a, rest) = row.split_at_mut(m);
    let (b, rest) = rest.split_at_mut(m);
    [a, b, &mut rest[..m]]
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

/// Columns per strip of [`SquareFft::columns`]: 32 columns of two planes down 512 rows are
/// 128 KiB.
const STRIP: usize = 32;

/// The segments of rows `a` and `a + h`, mutably.
#[inline(always)]
fn two_rows<'a>(rows: &'a mut [&mut [Real]], a: usize, h: usize) -> [&'a mut [Real]; 2] {
    let (low, high) = rows.split_at_mut(a + h);
    [&mut *low[a], &mut *high[0]]
}

/// The segments of rows `n`, `n + m` and `n + 2 m` (`n < m`), mutably.
#[inline(always)]
fn three_rows<'a>(rows: &'a mut [&mut [Real]], n: usize, m: usize) -> [&'a mut [Real]; 3] {
    let (low, high) = rows.split_at_mut(n + m);
    let (middle, top) = high.split_at_mut(m);
    [&mut *low[n], &mut *middle[0], &mut *top[0]]
}

/// [`unit_butterflies`] across lanes: `a, b <- a + b, a - b`.
#[inline(always)]
fn unit_butterfly_lanes(
    a_re: &mut [Real],
    a_im: &mut [Real],
    b_re: &mut [Real],
    b_im: &mut [Real],
) {
    let n = a_re.len();
    let (a_im, b_re, b_im) = (&mut a_im[..n], &mut b_re[..n], &mut b_im[..n]);
    for j in 0..n {
        let (ar, br) = (a_re[j], b_re[j]);
        let (ai, bi) = (a_im[j], b_im[j]);
        a_re[j] = ar + br;
        b_re[j] = ar - br;
        a_im[j] = ai + bi;
        b_im[j] = ai - bi;
    }
}

/// The segments of the four distinct rows `rows` (ascending), mutably.
#[inline(always)]
fn four_rows<'a>(rows: &'a mut [&mut [Real]], at: [usize; 4]) -> [&'a mut [Real]; 4] {
    let (low, rest) = rows.split_at_mut(at[1]);
    let (middle, rest) = rest.split_at_mut(at[2] - at[1]);
    let (high, top) = rest.split_at_mut(at[3] - at[2]);
    [
        &mut *low[at[0]],
        &mut *middle[0],
        &mut *high[0],
        &mut *top[0],
    ]
}

/// A complex value `(re, im)`.
type Complex = (Real, Real);

/// `a, b <- a + b, (a - b) w` ([`butterfly_frequency`]'s operations).
#[inline(always)]
fn frequency_butterfly(a: Complex, b: Complex, (w_re, w_im): Complex) -> (Complex, Complex) {
    let (d_re, d_im) = (a.0 - b.0, a.1 - b.1);
    (
        (a.0 + b.0, a.1 + b.1),
        (w_re * d_re - w_im * d_im, w_re * d_im + w_im * d_re),
    )
}

/// `a, b <- a + w b, a - w b` ([`butterfly_time`]'s operations).
#[inline(always)]
fn time_butterfly(a: Complex, b: Complex, (w_re, w_im): Complex) -> (Complex, Complex) {
    let t_re = w_re * b.0 - w_im * b.1;
    let t_im = w_re * b.1 + w_im * b.0;
    ((a.0 + t_re, a.1 + t_im), (a.0 - t_re, a.1 - t_im))
}

/// `a, b <- a + b, a - b` ([`unit_butterfly_lanes`]' operations).
#[inline(always)]
fn unit_butterfly(a: Complex, b: Complex) -> (Complex, Complex) {
    ((a.0 + b.0, a.1 + b.1), (a.0 - b.0, a.1 - b.1))
}

/// Two decimation-in-frequency stages across lanes on rows `x0..x3` (`x0, x1` in the first
/// half of a block of the first stage, `x2, x3` at the same places of its second half):
/// the first stage's butterflies `(x0, x2)` and `(x1, x3)` with twiddles `outer`, then the
/// second's `(x0, x1)` and `(x2, x3)` with `inner` (`None`: the unit stage). The operations
/// of [`butterfly_frequency`] (across lanes, one twiddle each) / [`unit_butterfly_lanes`]
/// in the same order, each row read and written once.
#[inline(always)]
fn fused_frequency_lanes(
    re: &mut [&mut [Real]; 4],
    im: &mut [&mut [Real]; 4],
    outer: [Complex; 2],
    inner: Option<Complex>,
) {
    let [r0, r1, r2, r3] = re;
    let [i0, i1, i2, i3] = im;
    let rows = [&mut **r0, r1, r2, r3, i0, i1, i2, i3];
    // One loop per kind of second stage, so each is a plain loop the compiler vectorises.
    match inner {
        Some(w) => two_stages(rows, |[x0, x1, x2, x3]| {
            let (x0, x2) = frequency_butterfly(x0, x2, outer[0]);
            let (x1, x3) = frequency_butterfly(x1, x3, outer[1]);
            let (y0, y1) = frequency_butterfly(x0, x1, w);
            let (y2, y3) = frequency_butterfly(x2, x3, w);
            [y0, y1, y2, y3]
        }),
        None => two_stages(rows, |[x0, x1, x2, x3]| {
            let (x0, x2) = frequency_butterfly(x0, x2, outer[0]);
            let (x1, x3) = frequency_butterfly(x1, x3, outer[1]);
            let (y0, y1) = unit_butterfly(x0, x1);
            let (y2, y3) = unit_butterfly(x2, x3);
            [y0, y1, y2, y3]
        }),
    }
}

/// Two decimation-in-time stages across lanes on rows `x0..x3` (`x0, x1` one block of the
/// first stage, `x2, x3` the next): the first stage's butterflies `(x0, x1)` and `(x2, x3)`
/// with twiddle `first` (`None`: the unit stage), then the second's `(x0, x2)` and `(x1,
/// x3)` with twiddles `outer`. The operations of [`butterfly_time_lanes`] /
/// [`unit_butterfly_lanes`] in the same order, each row read and written once.
#[inline(always)]
fn fused_time_lanes(
    re: &mut [&mut [Real]; 4],
    im: &mut [&mut [Real]; 4],
    first: Option<Complex>,
    outer: [Complex; 2],
) {
    let [r0, r1, r2, r3] = re;
    let [i0, i1, i2, i3] = im;
    let rows = [&mut **r0, r1, r2, r3, i0, i1, i2, i3];
    match first {
        Some(w) => two_stages(rows, |[x0, x1, x2, x3]| {
            let (x0, x1) = time_butterfly(x0, x1, w);
            let (x2, x3) = time_butterfly(x2, x3, w);
            let (y0, y2) = time_butterfly(x0, x2, outer[0]);
            let (y1, y3) = time_butterfly(x1, x3, outer[1]);
            [y0, y1, y2, y3]
        }),
        None => two_stages(rows, |[x0, x1, x2, x3]| {
            let (x0, x1) = unit_butterfly(x0, x1);
            let (x2, x3) = unit_butterfly(x2, x3);
            let (y0, y2) = time_butterfly(x0, x2, outer[0]);
            let (y1, y3) = time_butterfly(x1, x3, outer[1]);
            [y0, y1, y2, y3]
        }),
    }
}

/// `[x0, x1, x2, x3] <- stages([x0, x1, x2, x3])` at every lane of the rows `[re0, re1, re2,
/// re3, im0, im1, im2, im3]` (as long as the first).
#[inline(always)]
fn two_stages(
    [r0, r1, r2, r3, i0, i1, i2, i3]: [&mut [Real]; 8],
    stages: impl Fn([Complex; 4]) -> [Complex; 4],
) {
    two_stages_on(r0, r1, r2, r3, i0, i1, i2, i3, stages);
}

/// [`two_stages`] on eight separate slices (so the compiler knows they do not overlap and
/// vectorises the loop without run-time checks).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn two_stages_on(
    r0: &mut [Real],
    r1: &mut [Real],
    r2: &mut [Real],
    r3: &mut [Real],
    i0: &mut [Real],
    i1: &mut [Real],
    i2: &mut [Real],
    i3: &mut [Real],
    stages: impl Fn([Complex; 4]) -> [Complex; 4],
) {
    let n = r0.len();
    let (r1, r2, r3) = (&mut r1[..n], &mut r2[..n], &mut r3[..n]);
    let (i0, i1, i2, i3) = (&mut i0[..n], &mut i1[..n], &mut i2[..n], &mut i3[..n]);
    for j in 0..n {
        let [y0, y1, y2, y3] = stages([
            (r0[j], i0[j]),
            (r1[j], i1[j]),
            (r2[j], i2[j]),
            (r3[j], i3[j]),
        ]);
        (r0[j], i0[j]) = y0;
        (r1[j], i1[j]) = y1;
        (r2[j], i2[j]) = y2;
        (r3[j], i3[j]) = y3;
    }
}

/// [`butterfly_time`] across lanes with one twiddle `w`.
#[inline(always)]
fn butterfly_time_lanes(
    a_re: &mut [Real],
    a_im: &mut [Real],
    b_re: &mut [Real],
    b_im: &mut [Real],
    w_re: Real,
    w_im: Real,
) {
    let n = a_re.len();
    let (a_im, b_re, b_im) = (&mut a_im[..n], &mut b_re[..n], &mut b_im[..n]);
    for j in 0..n {
        let (br, bi) = (b_re[j], b_im[j]);
        let t_re = w_re * br - w_im * bi;
        let t_im = w_re * bi + w_im * br;
        b_re[j] = a_re[j] - t_re;
        b_im[j] = a_im[j] - t_im;
        a_re[j] += t_re;
        a_im[j] += t_im;
    }
}

/// [`SquareFft::radix3_forward`] at one `n` across lanes; `w` = `[W^n re, im, W^2n re, im]`.
#[inline(always)]
fn radix3_forward_lanes(
    a_re: &mut [Real],
    b_re: &mut [Real],
    c_re: &mut [Real],
    a_im: &mut [Real],
    b_im: &mut [Real],
    c_im: &mut [Real],
    [w1_re, w1_im, w2_re, w2_im]: [Real; 4],
) {
    let len = a_re.len();
    let (b_re, c_re, a_im, b_im, c_im) = (
        &mut b_re[..len],
        &mut c_re[..len],
        &mut a_im[..len],
        &mut b_im[..len],
        &mut c_im[..len],
    );
    for n in 0..len {
        let (s_re, s_im) = (b_re[n] + c_re[n], b_im[n] + c_im[n]);
        let (d_re, d_im) = (SIN_60 * (b_re[n] - c_re[n]), SIN_60 * (b_im[n] - c_im[n]));
        let (m_re, m_im) = (a_re[n] - 0.5 * s_re, a_im[n] - 0.5 * s_im);
        a_re[n] += s_re;
        a_im[n] += s_im;
        let (y1_re, y1_im) = (m_re + d_im, m_im - d_re);
        let (y2_re, y2_im) = (m_re - d_im, m_im + d_re);
        b_re[n] = w1_re * y1_re - w1_im * y1_im;
        b_im[n] = w1_re * y1_im + w1_im * y1_re;
        c_re[n] = w2_re * y2_re - w2_im * y2_im;
        c_im[n] = w2_re * y2_im + w2_im * y2_re;
    }
}

/// [`SquareFft::radix3_inverse`] at one `n` across lanes; `w` = the conjugate twiddles.
#[inline(always)]
fn radix3_inverse_lanes(
    a_re: &mut [Real],
    b_re: &mut [Real],
    c_re: &mut [Real],
    a_im: &mut [Real],
    b_im: &mut [Real],
    c_im: &mut [Real],
    [w1_re, w1_im, w2_re, w2_im]: [Real; 4],
) {
    let len = a_re.len();
    let (b_re, c_re, a_im, b_im, c_im) = (
        &mut b_re[..len],
        &mut c_re[..len],
        &mut a_im[..len],
        &mut b_im[..len],
        &mut c_im[..len],
    );
    for n in 0..len {
        let (u_re, u_im) = (
            w1_re * b_re[n] - w1_im * b_im[n],
            w1_re * b_im[n] + w1_im * b_re[n],
        );
        let (v_re, v_im) = (
            w2_re * c_re[n] - w2_im * c_im[n],
            w2_re * c_im[n] + w2_im * c_re[n],
        );
        let (s_re, s_im) = (u_re + v_re, u_im + v_im);
        let (d_re, d_im) = (SIN_60 * (u_re - v_re), SIN_60 * (u_im - v_im));
        let (m_re, m_im) = (a_re[n] - 0.5 * s_re, a_im[n] - 0.5 * s_im);
        a_re[n] += s_re;
        a_im[n] += s_im;
        b_re[n] = m_re - d_im;
        b_im[n] = m_im + d_re;
        c_re[n] = m_re + d_im;
        c_im[n] = m_im - d_re;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frequency held at `position` (row or column), from the module docs.
    fn frequency_at(side: usize, position: usize) -> usize {
        let (radix3, block) = if side.is_power_of_two() {
            (false, side)
        } else {
            (true, side / 3)
        };
        let bits = block.trailing_zeros();
        let reversed = bit_reversed(position % block, bits);
        if radix3 {
            3 * reversed + position / block
        } else {
            reversed
        }
    }

    /// The 2-D DFT of `(re, im)` (given as `(row, col, re, im)` entries, zero elsewhere) at
    /// frequency `(ky, kx)`.
    fn naive_dft_at(
        entries: &[(usize, usize, f64, f64)],
        side: usize,
        ky: usize,
        kx: usize,
    ) -> (f64, f64) {
        let (mut sr, mut si) = (0.0, 0.0);
        for &(y, x, r, i) in entries {
            let angle =
                -2.0 * std::f64::consts::PI * ((ky * y + kx * x) % side) as f64 / side as f64;
            let (c, s) = (angle.cos(), angle.sin());
            sr += r * c - i * s;
            si += r * s + i * c;
        }
        (sr, si)
    }

    /// Forward then inverse transform of the entries on a `side` grid, checked against the
    /// definition at every frequency, plus the mirror table at every position.
    fn check_transform(side: usize, entries: &[(usize, usize, f64, f64)]) {
        let fft = SquareFft::new(side);
        let stride = fft.stride();
        assert_eq!(stride, if side >= 64 { side + 8 } else { side });
        let (mut a_re, mut a_im) = (
            vec![0.0 as Real; fft.plane_len()],
            vec![0.0 as Real; fft.plane_len()],
        );
        for &(y, x, r, i) in entries {
            a_re[y * stride + x] = r as Real;
            a_im[y * stride + x] = i as Real;
        }
        let (input_re, input_im) = (a_re.clone(), a_im.clone());
        let nonzero_rows = entries.iter().map(|e| e.0 + 1).max().unwrap_or(0);
        fft.forward(&mut a_re, &mut a_im, nonzero_rows);
        // Single precision: within a few 1e-7 of the sum of the magnitudes.
        let l1: f64 = entries.iter().map(|e| e.2.abs() + e.3.abs()).sum();
        let tolerance = 1e-6 * l1;
        for r in 0..side {
            for c in 0..side {
                // Position (r, c) holds frequency (ky, kx) = (f(r), f(c)).
                let (ky, kx) = (frequency_at(side, r), frequency_at(side, c));
                let (want_re, want_im) = naive_dft_at(entries, side, ky, kx);
                let (got_re, got_im) = (a_re[r * stride + c] as f64, a_im[r * stride + c] as f64);
                assert!(
                    (got_re - want_re).abs() < tolerance && (got_im - want_im).abs() < tolerance,
                    "side {side}, position ({r}, {c}): {got_re} {got_im} vs {want_re} {want_im}"
                );
            }
        }
        // The mirror table points at the negated frequency, and positions hold distinct ones.
        let mut seen = vec![false; side];
        for position in 0..side {
            let frequency = frequency_at(side, position);
            assert!(!std::mem::replace(&mut seen[frequency], true));
            assert_eq!(
                frequency_at(side, fft.mirror()[position]),
                (side - frequency) % side,
                "side {side}, position {position}"
            );
        }
        fft.inverse(&mut a_re, &mut a_im, side);
        let scale = (side * side) as f64;
        for row in 0..side {
            for col in 0..side {
                let at = row * stride + col;
                assert!((a_re[at] as f64 / scale - input_re[at] as f64).abs() < 1e-5);
                assert!((a_im[at] as f64 / scale - input_im[at] as f64).abs() < 1e-5);
            }
        }
    }

    fn dense(side: usize) -> Vec<(usize, usize, f64, f64)> {
        (0..side * side)
            .map(|v| {
                let (re, im) = (((v * 37 % 11) as f64) - 5.0, ((v * 13 % 7) as f64) * 0.5);
                (v / side, v % side, re, im)
            })
            .collect()
    }

    /// A few values in the top rows (as the repulsion's charges), the rest zero.
    fn sparse(side: usize) -> Vec<(usize, usize, f64, f64)> {
        (0..40)
            .map(|v| {
                let (row, col) = ((v * 7) % (side / 3), (v * 29 + 3) % side);
                (
                    row,
                    col,
                    ((v * 37 % 11) as f64) - 5.0,
                    ((v * 13 % 7) as f64) * 0.5,
                )
            })
            .collect()
    }

    #[test]
    fn two_dimensional_transform_matches_the_definition_and_inverts() {
        // Powers of two and three times powers of two; up to 48 without padding and in one
        // strip of columns (2 and 3: shorter than a strip), 64, 96 and 192 in padded rows and
        // several strips.
        for side in [2, 4, 32, 6, 12, 24, 48] {
            check_transform(side, &dense(side));
        }
        for side in [64, 96, 192] {
            check_transform(side, &sparse(side));
        }
        assert!(SquareFft::supports(3) && SquareFft::supports(768) && SquareFft::supports(1024));
        assert!(!SquareFft::supports(1) && !SquareFft::supports(9) && !SquareFft::supports(640));
    }

    #[test]
    fn side_three_is_the_plain_three_point_dft() {
        check_transform(3, &dense(3));
    }
}
