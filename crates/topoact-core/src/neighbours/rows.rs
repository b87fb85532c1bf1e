//! The rows the exact searches read: a float32 layer's own values (shared, any subset), or a
//! copy into a contiguous f32 buffer (plus the exact f64 values when the input is float64),
//! with the exact float64 neighbour rule that DBSCAN decisions must follow ([`ExactRule`],
//! [`EpsTest`]).

use ndarray::ArcArray2;

use crate::dataset::{Matrix, MatrixView};
use crate::mapper::MapperError;
use crate::numeric::pca::ExactRows;

/// Above this many bytes of f32 values the mapper reads a float32 layer's own values
/// instead of a copy in its tree's order ([`Rows::gather_matrix`]). The copy makes the join
/// read neighbouring memory (measured natively on 100K x 1024, one thread, on a loaded
/// 2-core VM: 3.9-4.8 s with it, 4.2-5.4 s without); above this size the memory matters
/// more (300K x 1024: 1.1 GiB, a third of the mapper's peak).
pub(crate) const SHARE_ABOVE_BYTES: usize = 512 << 20;

/// Rows per parallel task when copying the rows in use.
#[cfg(feature = "parallel")]
const GATHER_BLOCK: usize = 1024;

/// Where the f32 values live: a copy, or a float32 layer's values shared with the dataset
/// (standard layout, checked when shared, so the slice is its rows in order).
enum Values32 {
    Owned(Vec<f32>),
    Shared(ArcArray2<f32>),
}

/// [`Rows::row32`] with the storage (copy or shared layer, slots) looked up once: a search
/// reading many rows pays no storage match, and no layout check of a shared layer, per row.
#[derive(Clone, Copy)]
pub(crate) struct RowsF32<'a> {
    values: &'a [f32],
    slots: Option<&'a [u32]>,
    dim: usize,
}

impl<'a> RowsF32<'a> {
    /// Row as f32 (the values of [`Rows::row32`]).
    #[inline(always)]
    pub fn row(&self, row_idx: usize) -> &'a [f32] {
        let slot = match self.slots {
            Some(slots) => slots[row_idx] as usize,
            None => row_idx,
        };
        let start = slot * self.dim;
        &self.values[start..start + self.dim]
    }
}

/// `n_rows x dim` rows in mapper row order (row `row_idx` is the `row_idx`-th sample in use).
pub(crate) struct Rows {
    pub n_rows: usize,
    pub dim: usize,
    /// f32 values, one row after another in storage order (see `slot_of_row`): exact for
    /// float16/float32 input, rounded for float64 input.
    values_f32: Values32,
    /// Exact values in the same order, only for float64 input (else the f32 values are exact).
    values_f64: Option<Vec<f64>>,
    /// Squared norms in float64 (sequential sum), as scikit-learn's `|x|^2`.
    pub sq_norms: Vec<f64>,
    /// Largest row norm (for error bands).
    pub max_norm: f64,
    /// Where each row's values are stored (`None`: in row order); see [`Rows::store_in_order`].
    /// For shared values, the row's sample index in the layer.
    slot_of_row: Option<Vec<u32>>,
    /// Shared values to be copied, in order, by [`Rows::store_in_order`] (a float32 layer
    /// below the sharing threshold: read in place until then, so it is copied once).
    copy_when_ordered: bool,
}

impl Rows {
    /// The rows `sample_indices` (or all rows) of `matrix`, checking finiteness. When the
    /// rows in use hold more than `share_above` bytes of f32 values, a float32 matrix in
    /// standard layout is shared, whatever the subset (no copy: a 300K x 1024 layer is
    /// 1.1 GiB), and its rows are then read where they are ([`Rows::store_in_order`] leaves
    /// them); otherwise the rows are copied as [`Rows::gather`] does. The values are the
    /// same either way.
    pub fn gather_matrix(
        matrix: &Matrix,
        sample_indices: Option<&[u32]>,
        share_above: usize,
    ) -> Result<Rows, MapperError> {
        let n_rows = sample_indices.map_or(matrix.n_rows(), <[u32]>::len);
        let bytes = n_rows.saturating_mul(matrix.n_cols()).saturating_mul(4);
        match matrix {
            Matrix::F32(values) if values.is_standard_layout() && values.as_slice().is_some() => {
                // Below the threshold the values are read in place only until the search
                // tree's order is known, then copied in that order (one copy, not a copy in
                // row order moved again).
                let mut rows = Self::shared(values.clone(), sample_indices)?;
                rows.copy_when_ordered = bytes <= share_above;
                Ok(rows)
            }
            _ => Self::gather(matrix.view(), sample_indices),
        }
    }

    /// Rows reading `values` (standard layout, checked by the caller) at `sample_indices`.
    fn shared(values: ArcArray2<f32>, sample_indices: Option<&[u32]>) -> Result<Rows, MapperError> {
        let (n_total, dim) = values.dim();
        let n_rows = sample_indices.map_or(n_total, |s| s.len());
        check_selection(n_rows, n_total, dim, sample_indices)?;
        let sample_of = |row_idx: usize| sample_indices.map_or(row_idx, |s| s[row_idx] as usize);
        let flat = values.as_slice().unwrap_or(&[]);
        let mut sq_norms = vec![0f64; n_rows];
        // The float64 squared norm of each row summed in coordinate order, as `gather`.
        let fill = |first_row: usize, norms: &mut [f64]| {
            for (local, norm) in norms.iter_mut().enumerate() {
                let sample_idx = sample_of(first_row + local);
                let mut s = 0.0f64;
                flat[sample_idx * dim..(sample_idx + 1) * dim]
                    .iter()
                    .for_each(|&v| s += v as f64 * v as f64);
                *norm = s;
            }
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            sq_norms
                .par_chunks_mut(GATHER_BLOCK)
                .enumerate()
                .for_each(|(block, norms)| fill(block * GATHER_BLOCK, norms));
        }
        #[cfg(not(feature = "parallel"))]
        fill(0, &mut sq_norms);
        let slot_of_row = sample_indices.map(<[u32]>::to_vec);
        Rows::finish(
            dim,
            Values32::Shared(values),
            None,
            sq_norms,
            slot_of_row,
            sample_of,
        )
    }

    /// Rows from their values and float64 squared norms; fails on the first row whose
    /// norm is not finite (naming its sample through `sample_of`).
    fn finish(
        dim: usize,
        values_f32: Values32,
        values_f64: Option<Vec<f64>>,
        sq_norms: Vec<f64>,
        slot_of_row: Option<Vec<u32>>,
        sample_of: impl Fn(usize) -> usize,
    ) -> Result<Rows, MapperError> {
        if let Some(row_idx) = sq_norms.iter().position(|s| !s.is_finite()) {
            return Err(MapperError::NonFiniteData {
                sample_idx: sample_of(row_idx),
            });
        }
        let max_norm = sq_norms.iter().cloned().fold(0.0, f64::max).sqrt();
        Ok(Rows {
            n_rows: sq_norms.len(),
            dim,
            values_f32,
            values_f64,
            sq_norms,
            max_norm,
            slot_of_row,
            copy_when_ordered: false,
        })
    }

    /// Whether the values are shared with a dataset's float32 layer rather than copied.
    /// (Values to be copied once the search tree's order is known count as a copy.)
    pub fn shares_values(&self) -> bool {
        matches!(self.values_f32, Values32::Shared(_)) && !self.copy_when_ordered
    }

    /// All stored f32 values.
    #[inline(always)]
    fn values32(&self) -> &[f32] {
        match &self.values_f32 {
            Values32::Owned(values) => values,
            // Standard layout was checked when the values were shared.
            Values32::Shared(values) => values.as_slice().unwrap_or(&[]),
        }
    }

    /// Copies the rows `sample_indices` (or all rows) of `matrix`. Checks finiteness.
    /// Cost: O(n_rows * dim) time and 4 (or 12 for float64) bytes per value.
    pub fn gather(
        matrix: MatrixView<'_>,
        sample_indices: Option<&[u32]>,
    ) -> Result<Rows, MapperError> {
        let n_total = matrix.n_rows();
        let dim = matrix.n_cols();
        let n_rows = sample_indices.map_or(n_total, |s| s.len());
        check_selection(n_rows, n_total, dim, sample_indices)?;
        let sample_of = |row_idx: usize| sample_indices.map_or(row_idx, |s| s[row_idx] as usize);
        let mut values_f32 = vec![0f32; n_rows * dim];
        let mut values_f64 = match matrix {
            MatrixView::F64(_) => Some(vec![0f64; n_rows * dim]),
            _ => None,
        };
        let mut sq_norms = vec![0f64; n_rows];
        // One block of rows: copy, and the float64 squared norm of each row summed in
        // coordinate order (NaN or infinite when a value is not finite).
        let fill = |first_row: usize,
                    out32: &mut [f32],
                    mut out64: Option<&mut [f64]>,
                    norms: &mut [f64]| {
            for (local, norm) in norms.iter_mut().enumerate() {
                let sample_idx = sample_of(first_row + local);
                let row32 = &mut out32[local * dim..(local + 1) * dim];
                matrix.row_into_f32(sample_idx, row32);
                let mut s = 0.0f64;
                match out64.as_deref_mut() {
                    Some(out64) => {
                        let row64 = &mut out64[local * dim..(local + 1) * dim];
                        matrix.row_into_f64(sample_idx, row64);
                        row64.iter().for_each(|&v| s += v * v);
                    }
                    None => row32.iter().for_each(|&v| s += v as f64 * v as f64),
                }
                *norm = s;
            }
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            let chunks64: Vec<Option<&mut [f64]>> = match values_f64.as_mut() {
                Some(v) => v.chunks_mut(GATHER_BLOCK * dim).map(Some).collect(),
                None => (0..n_rows.div_ceil(GATHER_BLOCK)).map(|_| None).collect(),
            };
            values_f32
                .par_chunks_mut(GATHER_BLOCK * dim)
                .zip(sq_norms.par_chunks_mut(GATHER_BLOCK))
                .zip(chunks64.into_par_iter())
                .enumerate()
                .for_each(|(block, ((out32, norms), out64))| {
                    fill(block * GATHER_BLOCK, out32, out64, norms)
                });
        }
        #[cfg(not(feature = "parallel"))]
        fill(0, &mut values_f32, values_f64.as_deref_mut(), &mut sq_norms);
        Rows::finish(
            dim,
            Values32::Owned(values_f32),
            values_f64,
            sq_norms,
            None,
            sample_of,
        )
    }

    pub fn is_f64(&self) -> bool {
        self.values_f64.is_some()
    }

    /// The f32 rows with their storage resolved once ([`RowsF32`]), for a search's inner
    /// loops.
    #[inline]
    pub fn f32_rows(&self) -> RowsF32<'_> {
        RowsF32 {
            values: self.values32(),
            slots: self.slot_of_row.as_deref(),
            dim: self.dim,
        }
    }

    /// Row as f32.
    #[inline(always)]
    pub fn row32(&self, row_idx: usize) -> &[f32] {
        self.f32_rows().row(row_idx)
    }

    #[inline(always)]
    fn slot(&self, row_idx: usize) -> usize {
        match &self.slot_of_row {
            Some(slots) => slots[row_idx] as usize,
            None => row_idx,
        }
    }

    /// The exact values of a row: float64 input's own, else `None` (the f32 values are exact).
    #[inline]
    fn row64(&self, row_idx: usize) -> Option<&[f64]> {
        let slot = self.slot(row_idx);
        self.values_f64
            .as_ref()
            .map(|v| &v[slot * self.dim..(slot + 1) * self.dim])
    }

    /// Visits the exact (float64) values of a row.
    #[inline]
    pub fn for_each_exact(&self, row_idx: usize, mut f: impl FnMut(f64)) {
        match self.row64(row_idx) {
            Some(v) => v.iter().for_each(|&x| f(x)),
            None => self.row32(row_idx).iter().for_each(|&x| f(x as f64)),
        }
    }

    /// Moves the stored values so that the rows `order[0], order[1], ...` lie one after
    /// another in memory (a search tree's order: neighbours then share cache lines and
    /// pages). Row indices keep their meaning. In place: one row of scratch, O(n_rows * dim).
    /// Shared values are not moved (they are the dataset's): the rows stay where they are.
    pub fn store_in_order(&mut self, order: &[u32]) {
        if self.copy_when_ordered {
            self.copy_in_order(order);
            return;
        }
        let Values32::Owned(values_f32) = &mut self.values_f32 else {
            return;
        };
        let n = self.n_rows;
        debug_assert_eq!(order.len(), n, "store_in_order takes every row once");
        if order.len() != n {
            return;
        }
        // The slot each new slot takes its values from.
        let source: Vec<u32> = match &self.slot_of_row {
            Some(slots) => order.iter().map(|&row| slots[row as usize]).collect(),
            None => order.to_vec(),
        };
        permute_rows(values_f32, self.dim, &source);
        if let Some(v64) = self.values_f64.as_mut() {
            permute_rows(v64, self.dim, &source);
        }
        let mut slots = vec![0u32; n];
        for (slot, &row) in order.iter().enumerate() {
            slots[row as usize] = slot as u32;
        }
        self.slot_of_row = Some(slots);
    }

    /// [`Rows::store_in_order`] of shared values to be copied: the rows `order[0],
    /// order[1], ...` copied one after another into a buffer of their own (in parallel with
    /// the feature, in blocks of rows), not zero-filled first.
    fn copy_in_order(&mut self, order: &[u32]) {
        let n = self.n_rows;
        let dim = self.dim;
        debug_assert_eq!(order.len(), n, "store_in_order takes every row once");
        if order.len() != n || self.values_f64.is_some() {
            return;
        }
        let Values32::Shared(shared) = &self.values_f32 else {
            return;
        };
        let flat = shared.as_slice().unwrap_or(&[]);
        let slot_of_row = self.slot_of_row.as_deref();
        let mut values: Vec<f32> = Vec::with_capacity(n * dim);
        let fill = |first_slot: usize, out: &mut [std::mem::MaybeUninit<f32>]| {
            for (local, out_row) in out.chunks_exact_mut(dim.max(1)).enumerate() {
                let row = order[first_slot + local] as usize;
                let at = slot_of_row.map_or(row, |s| s[row] as usize);
                for (o, &v) in out_row.iter_mut().zip(&flat[at * dim..(at + 1) * dim]) {
                    o.write(v);
                }
            }
        };
        let spare = &mut values.spare_capacity_mut()[..n * dim];
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            spare
                .par_chunks_mut(GATHER_BLOCK * dim.max(1))
                .enumerate()
                .for_each(|(block, out)| fill(block * GATHER_BLOCK, out));
        }
        #[cfg(not(feature = "parallel"))]
        fill(0, spare);
        // SAFETY: the `n * dim` values were all written above (`order` has `n` rows, each
        // block writes each of its rows' `dim` values).
        unsafe { values.set_len(n * dim) };
        let mut slots = vec![0u32; n];
        for (slot, &row) in order.iter().enumerate() {
            slots[row as usize] = slot as u32;
        }
        self.values_f32 = Values32::Owned(values);
        self.slot_of_row = Some(slots);
        self.copy_when_ordered = false;
    }

    /// Float64 squared distance by differences, summed in coordinate order
    /// (what a KD-tree's `rdist` computes).
    pub fn sq_dist_exact_diff(&self, a: usize, b: usize) -> f64 {
        let mut s = 0.0f64;
        match (self.row64(a), self.row64(b)) {
            (Some(x), Some(y)) => x.iter().zip(y).for_each(|(&p, &q)| s += (p - q) * (p - q)),
            _ => self
                .row32(a)
                .iter()
                .zip(self.row32(b))
                .for_each(|(&p, &q)| {
                    let d = p as f64 - q as f64;
                    s += d * d;
                }),
        }
        s
    }

    /// Float64 squared distance by scikit-learn's expansion `max(0, (|a|^2 - 2 a.b) + |b|^2)`
    /// with the dot product summed in coordinate order. (scikit-learn's BLAS may sum in
    /// another order; the results agree bit for bit whenever the products and partial sums
    /// are exact, e.g. on small-integer or dyadic data, and to ~1e-16 relative otherwise.)
    pub fn sq_dist_exact_expansion(&self, query: usize, other: usize) -> f64 {
        let mut dot = 0.0f64;
        match (self.row64(query), self.row64(other)) {
            (Some(x), Some(y)) => x.iter().zip(y).for_each(|(&p, &q)| dot += p * q),
            _ => self
                .row32(query)
                .iter()
                .zip(self.row32(other))
                .for_each(|(&p, &q)| dot += p as f64 * q as f64),
        }
        let middle = -2.0 * dot;
        ((self.sq_norms[query] + middle) + self.sq_norms[other]).max(0.0)
    }
}

impl ExactRows for Rows {
    fn n_rows(&self) -> usize {
        self.n_rows
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn for_each_exact(&self, row_idx: usize, visit: impl FnMut(f64)) {
        Rows::for_each_exact(self, row_idx, visit)
    }
}

/// In place, `values[slot] <- old values[source[slot]]` row by row (`source` a permutation),
/// following cycles with one row of scratch.
fn permute_rows<T: Copy + Default>(values: &mut [T], dim: usize, source: &[u32]) {
    let mut done = vec![false; source.len()];
    let mut scratch = vec![T::default(); dim];
    for start in 0..source.len() {
        if done[start] || source[start] as usize == start {
            done[start] = true;
            continue;
        }
        scratch.copy_from_slice(&values[start * dim..(start + 1) * dim]);
        let mut slot = start;
        loop {
            done[slot] = true;
            let from = source[slot] as usize;
            if from == start {
                values[slot * dim..(slot + 1) * dim].copy_from_slice(&scratch);
                break;
            }
            values.copy_within(from * dim..(from + 1) * dim, slot * dim);
            slot = from;
        }
    }
}

/// Which float64 formula decides `dist <= eps`, chosen exactly as scikit-learn's
/// `NearestNeighbors(algorithm="auto", n_neighbors=5)` inside `DBSCAN.fit` does:
/// brute force (expansion) when `dim > 15` or the interval has at most 11 samples
/// (`5 >= n // 2`), else a KD-tree (differences).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExactRule {
    Expansion,
    Differences,
}

impl ExactRule {
    pub fn for_interval(dim: usize, n_interval_rows: usize) -> ExactRule {
        if dim > 15 || 5 >= n_interval_rows / 2 {
            ExactRule::Expansion
        } else {
            ExactRule::Differences
        }
    }
}

/// The neighbour test `dist(query, other) <= eps`, decided fast in f32 and re-checked in
/// float64 (with the exact rule) whenever the f32 value falls inside a band around `eps^2`
/// that provably contains every rounding error.
pub(crate) struct EpsTest {
    pub eps: f64,
    pub eps2: f64,
    band: f64,
    rule: ExactRule,
}

impl EpsTest {
    pub fn new(rows: &Rows, eps: f64, rule: ExactRule) -> EpsTest {
        let eps2 = eps * eps;
        let dim = rows.dim as f64;
        let u32_ = f32::EPSILON as f64 / 2.0; // 2^-24
        let u64_ = f64::EPSILON / 2.0; // 2^-53
        let max_sq = rows.max_norm * rows.max_norm;
        // f32 difference kernel, relative to the value (~eps^2 near the boundary).
        let mut band = 2.0 * (dim / 16.0 + 20.0) * u32_ * eps2;
        // float64 input rounded to f32: |d32 - d| <= 2^-24 (|x| + |y|) =: delta.
        if rows.is_f64() {
            let delta = 2.0 * u32_ * 2.0 * rows.max_norm;
            band += (2.0 * eps + delta) * delta * 2.0;
        }
        // exact differences vs the expansion formula in float64.
        band += 4.0 * (dim + 4.0) * u64_ * 4.0 * max_sq;
        // rounding of eps2 itself and of the comparisons.
        band += 8.0 * u64_ * eps2 + f64::MIN_POSITIVE;
        EpsTest {
            eps,
            eps2,
            band,
            rule,
        }
    }

    /// The exact float64 decision (scikit-learn's, see [`ExactRule`]).
    #[inline]
    pub fn exact(&self, rows: &Rows, query: usize, other: usize) -> bool {
        if query == other {
            return true;
        }
        let d2 = match self.rule {
            ExactRule::Expansion => rows.sq_dist_exact_expansion(query, other),
            ExactRule::Differences => rows.sq_dist_exact_diff(query, other),
        };
        d2 <= self.eps2
    }

    /// Decides from a fast f32 squared distance, falling back to [`EpsTest::exact`].
    #[inline(always)]
    pub fn decide(&self, rows: &Rows, query: usize, other: usize, fast_sq: f32) -> bool {
        let fast = fast_sq as f64;
        if fast < self.eps2 - self.band {
            true
        } else if fast > self.eps2 + self.band {
            false
        } else {
            self.exact(rows, query, other)
        }
    }

    /// Both directions' decisions (`query -> other`, `other -> query`): scikit-learn decides
    /// each direction with its own rounding of the expansion; they differ only when the
    /// float64 value lands within an ulp of `eps^2`.
    #[inline(always)]
    pub fn decide_both(&self, rows: &Rows, a: usize, b: usize, fast_sq: f32) -> (bool, bool) {
        let fast = fast_sq as f64;
        if fast < self.eps2 - self.band {
            (true, true)
        } else if fast > self.eps2 + self.band {
            (false, false)
        } else {
            (self.exact(rows, a, b), self.exact(rows, b, a))
        }
    }

    /// An f32 bound above which the fast value certainly means "not a neighbour".
    pub fn reject_above_f32(&self) -> f32 {
        ((self.eps2 + self.band) * (1.0 + 1e-6)) as f32
    }
}

/// Fails on no rows, no columns or a sample index past `n_total`.
fn check_selection(
    n_rows: usize,
    n_total: usize,
    dim: usize,
    sample_indices: Option<&[u32]>,
) -> Result<(), MapperError> {
    if n_rows == 0 {
        return Err(MapperError::EmptyInput);
    }
    if dim == 0 {
        return Err(MapperError::ZeroDimension);
    }
    if let Some(&bad) = sample_indices
        .unwrap_or(&[])
        .iter()
        .find(|&&s| s as usize >= n_total)
    {
        return Err(MapperError::SampleOutOfRange {
            sample_idx: bad,
            n_samples: n_total,
        });
    }
    Ok(())
}
