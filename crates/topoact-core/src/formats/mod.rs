//! Activation file formats (npy, npz, safetensors) and label side files (npy, csv, json).
//!
//! # What is read
//! Keys (npz entry names without `.npy`, safetensors tensor names, or a `.npy` file's stem):
//! - `act_<layer>`: an `N x D` float16/32/64 (safetensors also BF16, widened to f32)
//!   activation matrix; float16 stays float16 and float64 stays float64 in memory;
//! - `labels`: `N` integers of any width, class indices into `class_names`;
//! - `class_names`: a NumPy unicode (`<U..`) or bytes array (safetensors: a JSON list in
//!   the header's `__metadata__["class_names"]`);
//! - `images`, `actimg_<layer>`: `N x H x W` or `N x H x W x 3` uint8;
//! - `proj_<layer>_tsne`, `proj_<layer>_umap`: `N x 2` floats (stored as f32);
//! - `meta`: a 0-d unicode/bytes array (or 1-D uint8) holding a JSON object
//!   (safetensors: `__metadata__["meta"]`); `meta.layers` orders the layers and
//!   `meta.name` (else `meta.dataset`) names the dataset.
//!
//! Any other npz/safetensors key is ignored and listed in a notice. A `.npy` whose stem is
//! not one of these keys is a layer named after the stem if it is 2-D, labels if it is a
//! 1-D integer array, class names if it is a 1-D string array.
//!
//! Label side files: a `.csv` whose header is `label` or `label,class_name` with one row
//! per sample (fields may be double-quoted), or a `.json` object
//! `{"labels": [0, 2, ...], "class_names": ["cat", ...]}` (either key optional).
//!
//! # Rules
//! - Nothing is allocated before its size, computed with checked arithmetic from the
//!   headers, is known to fit in [`LoadOptions::max_total_bytes`].
//! - Array data is streamed chunk by chunk (at most [`CHUNK_BYTES`] per job step) straight
//!   into its final buffer, converting byte order and Fortran order on the way, so no
//!   matrix ever exists twice. Deflated entries are inflated incrementally and never
//!   beyond the size their `.npy` header needs. A zip entry's CRC-32 is checked over all
//!   its bytes; under the `parallel` feature each chunk is hashed on a pool thread while the
//!   next is read (reading a dropped file blocks the worker's thread in the browser), so a
//!   stored `.npz` loads at about the browser's own read speed on two threads (the CRC
//!   alone is ~1 GB/s in wasm).
//! - No input panics; every problem is a [`FormatError`] whose message says how to fix it.

mod assemble;
mod convert;
mod crc32;
mod error;
pub mod graph_file;
mod labels_file;
mod load;
mod npy;
mod safetensors;
mod stream;
mod zip;

use std::io::{Read, Seek, SeekFrom};

pub use error::{FormatError, KeyLabel, NonFiniteRows};
pub use load::LoadJob;

use crate::dataset::Dataset;

/// Most classes a dataset may have (labels at or above this are refused when class names
/// must be made up or collected from a CSV).
pub const MAX_CLASSES: usize = 1 << 20;

/// Raw bytes of array data read and converted per job step. In the browser each step is
/// one `FileReaderSync` read, whose fixed cost is paid per call: Chromium reads a 614 MB
/// file at about 570 MB/s in 8 MiB slices, 650 in 16, 705 in 32 and 735 in 64 (same page,
/// alternated, six rounds each). 32 MiB: in the parse benchmark 64 MiB slices read no faster
/// than 32 (558-607 against 699-737 MB/s, separate runs) and raised the renderer's peak by
/// 210 MiB (two such buffers are live during a load).
pub const CHUNK_BYTES: usize = 32 << 20;

/// A random-access, read-only sequence of bytes (a file, a JS `File`, a buffer).
pub trait ByteSource {
    /// Total length in bytes.
    fn len(&self) -> u64;

    /// Whether the source holds no byte.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` with the bytes at `offset..offset + buf.len()`. Callers only ask for
    /// ranges inside `0..len()`; a source that cannot deliver returns [`FormatError::Io`].
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), FormatError>;
}

fn slice_read_at(bytes: &[u8], offset: u64, buf: &mut [u8]) -> Result<(), FormatError> {
    let start = usize::try_from(offset).ok();
    let range = start.and_then(|start| Some(start..start.checked_add(buf.len())?));
    match range.and_then(|range| bytes.get(range)) {
        Some(src) => {
            buf.copy_from_slice(src);
            Ok(())
        }
        None => Err(FormatError::Io {
            file: String::new(),
            message: format!(
                "read of {} bytes at offset {offset} is past the end ({} bytes)",
                buf.len(),
                bytes.len()
            ),
        }),
    }
}

impl ByteSource for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), FormatError> {
        slice_read_at(self, offset, buf)
    }
}

impl ByteSource for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), FormatError> {
        slice_read_at(self, offset, buf)
    }
}

/// Adapts anything `Read + Seek` (e.g. `std::fs::File`) to [`ByteSource`].
pub struct ReadSeekSource<R: Read + Seek> {
    reader: R,
    len: u64,
}

impl<R: Read + Seek> ReadSeekSource<R> {
    /// Measures the length by seeking to the end.
    pub fn new(mut reader: R) -> std::io::Result<Self> {
        let len = reader.seek(SeekFrom::End(0))?;
        Ok(ReadSeekSource { reader, len })
    }

    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: Read + Seek> ByteSource for ReadSeekSource<R> {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), FormatError> {
        let io_error = |error: std::io::Error| FormatError::Io {
            file: String::new(),
            message: error.to_string(),
        };
        self.reader
            .seek(SeekFrom::Start(offset))
            .map_err(io_error)?;
        self.reader.read_exact(buf).map_err(io_error)
    }
}

/// A source together with the file name it came from (the extension picks the format).
pub struct NamedSource<S> {
    pub file_name: String,
    pub source: S,
}

impl<S> NamedSource<S> {
    pub fn new(file_name: impl Into<String>, source: S) -> Self {
        NamedSource {
            file_name: file_name.into(),
            source,
        }
    }
}

/// Limits and choices for loading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Most bytes the loaded dataset may occupy (activations, labels, images, ...).
    pub max_total_bytes: u64,
    /// Drop samples with NaN or infinity in any layer (with a notice) instead of failing.
    pub drop_nonfinite: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_total_bytes: 3 << 30,
            drop_nonfinite: false,
        }
    }
}

/// Loads a dataset from one or more files, running a [`LoadJob`] to the end.
pub fn load_dataset<S: ByteSource>(
    files: Vec<NamedSource<S>>,
    options: &LoadOptions,
) -> Result<Dataset, FormatError> {
    let mut job = LoadJob::new(files, options.clone())?;
    crate::job::run_to_end(&mut job, |_| {})
}

/// Reads exactly `buf.len()` bytes at `offset`, first checking the range against the
/// source's length (so a truncated file gives [`FormatError::Truncated`]).
pub(crate) fn read_exact_at<S: ByteSource>(
    source: &mut S,
    file: &str,
    offset: u64,
    buf: &mut [u8],
    what: &str,
) -> Result<(), FormatError> {
    let available = source.len();
    let end = offset.checked_add(buf.len() as u64);
    match end {
        Some(end) if end <= available => {}
        _ => {
            return Err(FormatError::Truncated {
                file: file.to_string(),
                what: what.to_string(),
                needed: end.unwrap_or(u64::MAX),
                available,
            })
        }
    }
    source.read_at(offset, buf).map_err(|error| match error {
        FormatError::Io { message, .. } => FormatError::Io {
            file: file.to_string(),
            message,
        },
        other => other,
    })
}
