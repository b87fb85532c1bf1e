//! Streams the raw bytes of one array, chunk by chunk, from a plain region of a file or
//! from a stored or deflated zip entry.
//!
//! Rule: a stream never yields more bytes than were announced for it, so a deflated entry
//! is never inflated beyond what its `.npy` header needs (no unbounded inflation).

use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

use super::crc32;
use super::error::{FormatError, KeyLabel};
use super::zip::{Method, ZipEntry};
use super::{read_exact_at, ByteSource};

/// Most compressed bytes read from the source per refill of the inflater's input.
const INFLATE_INPUT_CHUNK: usize = 1 << 20;

enum StreamKind {
    Direct {
        offset: u64,
    },
    Inflate {
        state: Box<InflateState>,
        input: Vec<u8>,
        input_pos: usize,
        next_input_offset: u64,
        input_end: u64,
        ended: bool,
        input_chunk: usize,
    },
}

/// The raw bytes of one array (or one whole zip entry), read in order.
pub struct RawStream {
    kind: StreamKind,
    file: String,
    key: KeyLabel,
    /// Bytes still allowed to be produced.
    remaining: u64,
    /// For zip entries: the running CRC-32, until [`RawStream::take_crc`] hands it over.
    crc: Option<CrcCheck>,
}

/// A zip entry's CRC-32, updated with its bytes in order and compared with the stored value
/// once the last byte is in. Kept apart from the reading so the bytes can be hashed on
/// another thread than the one that reads them (see `LoadJob`).
pub struct CrcCheck {
    /// CRC-32 of the bytes hashed so far.
    sum: u32,
    expected: u32,
    /// Bytes of the entry not hashed yet.
    remaining: u64,
    file: String,
    key: KeyLabel,
}

impl CrcCheck {
    /// Hashes the next `bytes`; after the entry's last byte, fails if the sum differs.
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), FormatError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.sum = crc32::update(self.sum, bytes);
        self.remaining = self.remaining.saturating_sub(bytes.len() as u64);
        if self.remaining == 0 && self.sum != self.expected {
            return Err(deflate_error(
                &self.file,
                &self.key,
                "the CRC-32 checksum does not match (the data is corrupted)",
            ));
        }
        Ok(())
    }
}

impl RawStream {
    /// `len` bytes starting at `offset` of the source.
    pub fn direct(offset: u64, len: u64, file: &str, key: KeyLabel) -> Self {
        RawStream {
            kind: StreamKind::Direct { offset },
            file: file.to_string(),
            key,
            remaining: len,
            crc: None,
        }
    }

    /// The whole unpacked content of a zip entry whose data starts at `data_offset`;
    /// compressed input is read in pieces of at most `input_chunk` bytes (capped at 1 MiB).
    pub fn zip_entry(
        entry: &ZipEntry,
        data_offset: u64,
        file: &str,
        key: KeyLabel,
        input_chunk: usize,
    ) -> Self {
        let kind = match entry.method {
            Method::Stored => StreamKind::Direct {
                offset: data_offset,
            },
            Method::Deflate => StreamKind::Inflate {
                state: InflateState::new_boxed(DataFormat::Raw),
                input: Vec::new(),
                input_pos: 0,
                next_input_offset: data_offset,
                input_end: data_offset.saturating_add(entry.compressed_size),
                ended: false,
                input_chunk: input_chunk.clamp(1, INFLATE_INPUT_CHUNK),
            },
        };
        RawStream {
            kind,
            file: file.to_string(),
            key: key.clone(),
            remaining: entry.uncompressed_size,
            crc: Some(CrcCheck {
                sum: 0,
                expected: entry.crc32,
                remaining: entry.uncompressed_size,
                file: file.to_string(),
                key,
            }),
        }
    }

    /// Hands the CRC-32 check over to the caller: from now on the caller passes it every
    /// byte this stream produces, in order ([`CrcCheck::update`]); `None` for a plain region.
    pub fn take_crc(&mut self) -> Option<CrcCheck> {
        self.crc.take()
    }

    /// Bytes not yet produced.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Fills `out` completely with the next bytes of the stream.
    pub fn fill<S: ByteSource>(
        &mut self,
        source: &mut S,
        out: &mut [u8],
    ) -> Result<(), FormatError> {
        if out.len() as u64 > self.remaining {
            return Err(FormatError::Truncated {
                file: self.file.clone(),
                what: format!("the array data{}", self.key),
                needed: out.len() as u64,
                available: self.remaining,
            });
        }
        match &mut self.kind {
            StreamKind::Direct { offset } => {
                read_exact_at(source, &self.file, *offset, out, "the array data")?;
                *offset += out.len() as u64;
            }
            StreamKind::Inflate {
                state,
                input,
                input_pos,
                next_input_offset,
                input_end,
                ended,
                input_chunk,
            } => {
                let mut written = 0usize;
                while written < out.len() {
                    if *ended {
                        return Err(self::deflate_error(
                            &self.file,
                            &self.key,
                            "the stream ends before the data its header announces",
                        ));
                    }
                    if *input_pos >= input.len() && *next_input_offset < *input_end {
                        let chunk =
                            (*input_end - *next_input_offset).min(*input_chunk as u64) as usize;
                        input.resize(chunk, 0);
                        read_exact_at(
                            source,
                            &self.file,
                            *next_input_offset,
                            input,
                            "compressed data",
                        )?;
                        *next_input_offset += chunk as u64;
                        *input_pos = 0;
                    }
                    let pending = input.get(*input_pos..).unwrap_or(&[]);
                    let no_more_input = pending.is_empty() && *next_input_offset >= *input_end;
                    let flush = if no_more_input {
                        MZFlush::Finish
                    } else {
                        MZFlush::None
                    };
                    let result = inflate(state, pending, &mut out[written..], flush);
                    *input_pos += result.bytes_consumed;
                    written += result.bytes_written;
                    match result.status {
                        Ok(MZStatus::StreamEnd) => *ended = true,
                        Ok(_) => {}
                        Err(MZError::Buf) => {
                            if result.bytes_written == 0
                                && result.bytes_consumed == 0
                                && no_more_input
                            {
                                return Err(deflate_error(
                                    &self.file,
                                    &self.key,
                                    "the compressed data is cut off",
                                ));
                            }
                        }
                        Err(error) => {
                            return Err(deflate_error(
                                &self.file,
                                &self.key,
                                &format!("inflate error {error:?}"),
                            ));
                        }
                    }
                    if result.bytes_written == 0
                        && result.bytes_consumed == 0
                        && no_more_input
                        && !*ended
                    {
                        return Err(deflate_error(
                            &self.file,
                            &self.key,
                            "the compressed data is cut off",
                        ));
                    }
                }
            }
        }
        self.remaining -= out.len() as u64;
        match &mut self.crc {
            Some(crc) => crc.update(out),
            None => Ok(()),
        }
    }

    /// Reads and discards `n` bytes (used to step over a `.npy` header inside an entry).
    pub fn skip<S: ByteSource>(&mut self, source: &mut S, n: u64) -> Result<(), FormatError> {
        let mut scratch = vec![0u8; n.min(64 * 1024) as usize];
        let mut left = n;
        while left > 0 {
            let now = left.min(scratch.len() as u64) as usize;
            self.fill(source, &mut scratch[..now])?;
            left -= now as u64;
        }
        Ok(())
    }
}

fn deflate_error(file: &str, key: &KeyLabel, reason: &str) -> FormatError {
    FormatError::BadDeflate {
        file: file.to_string(),
        key: key.clone(),
        reason: reason.to_string(),
    }
}
