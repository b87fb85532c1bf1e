//! Converts raw array bytes (any supported byte order) into typed destination buffers,
//! in C order, marking rows that hold NaN or infinity.
//!
//! The dtype is matched once per chunk; each arm is a tight loop the compiler can
//! vectorise. A C-ordered array is appended to its destination chunk by chunk (the
//! destination is reserved, not zeroed: zeroing 600 MB up front costs a pass over fresh
//! memory on the reading thread, where the page faults cannot overlap the read).
//! Fortran-ordered arrays are decoded into a scratch buffer (at most one chunk) and
//! scattered to their row-major positions in a zeroed destination, so no full second copy
//! exists.

use half::f16;

use super::npy::{ElemKind, ElemType};

/// An element type of a destination buffer.
pub(crate) trait Element: Copy + Default {
    /// Appends the whole elements of `elem` in `raw` to `out`; `false` (and nothing
    /// appended) if `elem` cannot become `Self`.
    fn decode_extend(elem: &ElemType, raw: &[u8], out: &mut Vec<Self>) -> bool;
    fn is_finite_value(&self) -> bool {
        true
    }
}

fn decode_with<T, const N: usize>(
    raw: &[u8],
    out: &mut Vec<T>,
    decode: impl Fn([u8; N]) -> T,
) -> bool {
    out.extend(raw.chunks_exact(N).map(|bytes| {
        let mut array = [0u8; N];
        array.copy_from_slice(bytes);
        decode(array)
    }));
    true
}

impl Element for f16 {
    fn decode_extend(elem: &ElemType, raw: &[u8], out: &mut Vec<Self>) -> bool {
        match (elem.kind, elem.size, elem.big_endian) {
            (ElemKind::Float, 2, false) => {
                decode_with(raw, out, |b| f16::from_bits(u16::from_le_bytes(b)))
            }
            (ElemKind::Float, 2, true) => {
                decode_with(raw, out, |b| f16::from_bits(u16::from_be_bytes(b)))
            }
            _ => false,
        }
    }
    fn is_finite_value(&self) -> bool {
        self.is_finite()
    }
}

impl Element for f32 {
    /// float32 exactly, bfloat16 widened exactly; projections also take float16 (exact)
    /// and float64 (rounded).
    fn decode_extend(elem: &ElemType, raw: &[u8], out: &mut Vec<Self>) -> bool {
        match (elem.kind, elem.size, elem.big_endian) {
            (ElemKind::Float, 4, false) => decode_with(raw, out, f32::from_le_bytes),
            (ElemKind::Float, 4, true) => decode_with(raw, out, f32::from_be_bytes),
            (ElemKind::BFloat, 2, false) => decode_with(raw, out, |b| {
                f32::from_bits((u16::from_le_bytes(b) as u32) << 16)
            }),
            (ElemKind::BFloat, 2, true) => decode_with(raw, out, |b| {
                f32::from_bits((u16::from_be_bytes(b) as u32) << 16)
            }),
            (ElemKind::Float, 2, false) => {
                decode_with(raw, out, |b| f16::from_bits(u16::from_le_bytes(b)).to_f32())
            }
            (ElemKind::Float, 2, true) => {
                decode_with(raw, out, |b| f16::from_bits(u16::from_be_bytes(b)).to_f32())
            }
            (ElemKind::Float, 8, false) => decode_with(raw, out, |b| f64::from_le_bytes(b) as f32),
            (ElemKind::Float, 8, true) => decode_with(raw, out, |b| f64::from_be_bytes(b) as f32),
            _ => false,
        }
    }
    fn is_finite_value(&self) -> bool {
        self.is_finite()
    }
}

impl Element for f64 {
    fn decode_extend(elem: &ElemType, raw: &[u8], out: &mut Vec<Self>) -> bool {
        match (elem.kind, elem.size, elem.big_endian) {
            (ElemKind::Float, 8, false) => decode_with(raw, out, f64::from_le_bytes),
            (ElemKind::Float, 8, true) => decode_with(raw, out, f64::from_be_bytes),
            _ => false,
        }
    }
    fn is_finite_value(&self) -> bool {
        self.is_finite()
    }
}

impl Element for i64 {
    /// Any integer width; uint64 above `i64::MAX` saturates (it is out of range anyway).
    fn decode_extend(elem: &ElemType, raw: &[u8], out: &mut Vec<Self>) -> bool {
        let big = elem.big_endian;
        match (elem.kind, elem.size) {
            (ElemKind::Int, 1) => decode_with(raw, out, |b: [u8; 1]| b[0] as i8 as i64),
            (ElemKind::UInt, 1) => decode_with(raw, out, |b: [u8; 1]| b[0] as i64),
            (ElemKind::Int, 2) if big => decode_with(raw, out, |b| i16::from_be_bytes(b) as i64),
            (ElemKind::Int, 2) => decode_with(raw, out, |b| i16::from_le_bytes(b) as i64),
            (ElemKind::UInt, 2) if big => decode_with(raw, out, |b| u16::from_be_bytes(b) as i64),
            (ElemKind::UInt, 2) => decode_with(raw, out, |b| u16::from_le_bytes(b) as i64),
            (ElemKind::Int, 4) if big => decode_with(raw, out, |b| i32::from_be_bytes(b) as i64),
            (ElemKind::Int, 4) => decode_with(raw, out, |b| i32::from_le_bytes(b) as i64),
            (ElemKind::UInt, 4) if big => decode_with(raw, out, |b| u32::from_be_bytes(b) as i64),
            (ElemKind::UInt, 4) => decode_with(raw, out, |b| u32::from_le_bytes(b) as i64),
            (ElemKind::Int, 8) if big => decode_with(raw, out, i64::from_be_bytes),
            (ElemKind::Int, 8) => decode_with(raw, out, i64::from_le_bytes),
            (ElemKind::UInt, 8) if big => decode_with(raw, out, |b| {
                i64::try_from(u64::from_be_bytes(b)).unwrap_or(i64::MAX)
            }),
            (ElemKind::UInt, 8) => decode_with(raw, out, |b| {
                i64::try_from(u64::from_le_bytes(b)).unwrap_or(i64::MAX)
            }),
            _ => false,
        }
    }
}

impl Element for u8 {
    fn decode_extend(elem: &ElemType, raw: &[u8], out: &mut Vec<Self>) -> bool {
        match (elem.kind, elem.size) {
            (ElemKind::UInt | ElemKind::Bool, 1) => {
                out.extend_from_slice(raw);
                true
            }
            _ => false,
        }
    }
}

/// Where the next elements, read in file order, go in a row-major (C order) buffer.
pub(crate) struct Placement {
    fortran_order: bool,
    shape: Vec<usize>,
    c_strides: Vec<usize>,
    index: Vec<usize>,
    next_pos: usize,
    /// Elements in the array (`usize::MAX` if the product overflows).
    total: usize,
}

impl Placement {
    pub fn new(shape: &[usize], fortran_order: bool) -> Self {
        let mut c_strides = vec![1usize; shape.len()];
        for axis in (0..shape.len().saturating_sub(1)).rev() {
            c_strides[axis] = c_strides[axis + 1].saturating_mul(shape[axis + 1]);
        }
        // A 0-d or 1-d array is laid out the same in both orders.
        let fortran_order = fortran_order && shape.len() >= 2;
        Placement {
            fortran_order,
            shape: shape.to_vec(),
            c_strides,
            index: vec![0; shape.len()],
            next_pos: 0,
            total: shape
                .iter()
                .try_fold(1usize, |product, &len| product.checked_mul(len))
                .unwrap_or(usize::MAX),
        }
    }

    /// Whether elements arrive in destination order (C order, or 0-d / 1-d), so the
    /// destination is appended to and need not be zeroed first.
    pub fn in_order(&self) -> bool {
        !self.fortran_order
    }

    /// Destination position of the next element of a Fortran-ordered array.
    fn next_fortran(&mut self) -> usize {
        let pos = self.next_pos;
        if let ([n_rows, _], [row_stride, _], [row, col]) = (
            self.shape.as_slice(),
            self.c_strides.as_slice(),
            self.index.as_mut_slice(),
        ) {
            // A matrix: walk down column `col`, then start the next column.
            *row += 1;
            if *row < *n_rows {
                self.next_pos = self.next_pos.wrapping_add(*row_stride);
            } else {
                *row = 0;
                *col += 1;
                self.next_pos = *col;
            }
            return pos;
        }
        for axis in 0..self.shape.len() {
            self.index[axis] += 1;
            self.next_pos = self.next_pos.wrapping_add(self.c_strides[axis]);
            if self.index[axis] < self.shape[axis] {
                break;
            }
            self.next_pos = self
                .next_pos
                .wrapping_sub(self.shape[axis].wrapping_mul(self.c_strides[axis]));
            self.index[axis] = 0;
        }
        pos
    }
}

/// Marks row `pos / row_len` in `bad_rows` (allocated on the first non-finite value).
fn mark_row(bad_rows: &mut Option<Vec<bool>>, n_rows: usize, pos: usize, row_len: usize) {
    let rows = bad_rows.get_or_insert_with(|| vec![false; n_rows]);
    if let Some(flag) = rows.get_mut(pos / row_len.max(1)) {
        *flag = true;
    }
}

/// Rows of the destination and where their non-finite flags go.
pub(crate) struct RowTracker<'a> {
    pub row_len: usize,
    pub n_rows: usize,
    pub bad_rows: &'a mut Option<Vec<bool>>,
}

/// Elements decoded and checked for NaN / infinity at a time (16-64 KiB of output).
const FINITE_CHECK_BLOCK: usize = 8192;

/// Decodes whole elements from `raw` into `dest`: appended when the array arrives in order
/// (`dest` then holds exactly the elements decoded so far), else at the positions
/// `placement` gives in a `dest` of full length. Returns `false` when the dtype cannot
/// become `T` or a position falls outside the array.
pub(crate) fn convert_chunk<T: Element>(
    elem: &ElemType,
    raw: &[u8],
    placement: &mut Placement,
    dest: &mut Vec<T>,
    scratch: &mut Vec<T>,
    rows: RowTracker<'_>,
) -> bool {
    let count = raw.len() / elem.size.max(1);
    if !placement.fortran_order {
        let start = placement.next_pos;
        let fits = start
            .checked_add(count)
            .is_some_and(|end| end <= placement.total);
        if dest.len() != start || !fits {
            return false;
        }
        // Decoded and checked 8192 elements at a time, so the check reads what was just
        // written from the cache rather than a whole chunk back from memory.
        let block_bytes = FINITE_CHECK_BLOCK * elem.size.max(1);
        for raw_block in raw.chunks(block_bytes) {
            let block_start = dest.len();
            if !T::decode_extend(elem, raw_block, dest) {
                dest.truncate(start);
                return false;
            }
            let out = &dest[block_start..];
            // Folded without an early exit, so the check vectorises (`all` on its own stops
            // at the first miss and runs one element at a time).
            if !out.iter().fold(true, |ok, v| ok & v.is_finite_value()) {
                for (offset, value) in out.iter().enumerate() {
                    if !value.is_finite_value() {
                        mark_row(
                            rows.bad_rows,
                            rows.n_rows,
                            block_start + offset,
                            rows.row_len,
                        );
                    }
                }
            }
        }
        placement.next_pos = dest.len();
        return true;
    }
    scratch.clear();
    if !T::decode_extend(elem, raw, scratch) {
        return false;
    }
    for value in scratch.iter() {
        let pos = placement.next_fortran();
        match dest.get_mut(pos) {
            Some(slot) => *slot = *value,
            None => return false,
        }
        if !value.is_finite_value() {
            mark_row(rows.bad_rows, rows.n_rows, pos, rows.row_len);
        }
    }
    true
}
