//! The link codec: a [`SessionState`] as URL-fragment text ([`encode`], [`decode`]).
//!
//! # The link format, version 1
//!
//! ```text
//! link     = "v1." base64url(zlib(payload))          (no padding; a leading '#' is accepted)
//! payload  = varint(json_len) json selection
//! json     = the SessionState as JSON, without `sample_selection`
//! selection = varint(count) varint(first) varint(gap - 1)...   (count - 1 gaps)
//! ```
//!
//! - `varint` is unsigned LEB128 (7 bits per byte, low bits first, at most 10 bytes).
//! - The sample selection is ascending, so it is stored as differences: a run of
//!   consecutive samples is a run of zero bytes, which deflate then shrinks to almost
//!   nothing. A lasso over 50,000 of 300,000 points fits in a few kilobytes.
//! - zlib (deflate plus an Adler-32 checksum) makes a cut or altered link fail the checksum
//!   instead of decoding to something else.
//! - The JSON names its fields, so a later version can add fields (with defaults) and still
//!   read version-1 links; `tests/fixtures/links/v1.txt` holds a link made by version 1 that
//!   every later version must keep opening.
//!
//! # Limits (checked before the work they protect)
//!
//! - A link longer than [`MAX_LINK_CHARS`] is refused before it is decoded; browsers and
//!   servers do not reliably keep longer URLs.
//! - Inflation stops at [`MAX_PAYLOAD_BYTES`] (a small link cannot expand into gigabytes).
//! - After parsing, [`SessionState::validate`] checks every number (finite, in range), string
//!   length, count and the mapper parameters. Only then is the state handed to the UI.
//! - What depends on the loaded data (layer names, sample and class counts, node names) is
//!   checked by [`SessionState::check_against`] and [`SessionState::check_selected_node`] once the
//!   data is there.
//!
//! Strings (search text, names, URLs) are kept as data: markup inside them is never
//! interpreted here, and the UI renders them as text.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::{
    invalid, version_prefix, LinkError, SessionState, LINK_VERSION, MAX_LINK_CHARS,
    MAX_PAYLOAD_BYTES, MAX_SELECTED_SAMPLES,
};

/// Encodes a view as a URL-fragment-safe link (`v1.` + base64url characters).
///
/// Encoding does not validate; the result may be refused by [`decode`] (for example when it
/// is longer than [`MAX_LINK_CHARS`]). Use [`encode_checked`] to find out before sharing.
pub fn encode(state: &SessionState) -> String {
    // The selection travels after the JSON in binary; the copy costs 4 bytes a sample.
    let mut without_selection = state.clone();
    without_selection.sample_selection = Vec::new();
    // Plain data with string keys always serialises; an empty object would decode to the
    // default view rather than fail.
    let json = serde_json::to_string(&without_selection).unwrap_or_else(|_| "{}".into());
    let mut payload = Vec::with_capacity(json.len() + state.sample_selection.len() + 16);
    write_varint(&mut payload, json.len() as u64);
    payload.extend_from_slice(json.as_bytes());
    write_selection(&mut payload, &state.sample_selection);
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&payload, 9);
    let mut link = version_prefix(LINK_VERSION);
    URL_SAFE_NO_PAD.encode_string(&compressed, &mut link);
    link
}

/// [`encode`], refusing a state that [`decode`] would refuse (invalid, or too long a link).
pub fn encode_checked(state: &SessionState) -> Result<String, LinkError> {
    state.validate()?;
    let link = encode(state);
    if link.len() > MAX_LINK_CHARS {
        return Err(LinkError::TooLong { chars: link.len() });
    }
    Ok(link)
}

/// Decodes and validates a link (with or without its leading `#`).
///
/// Never panics, whatever the input: every failure is a [`LinkError`] meant for the person
/// who opened the link. Cost: linear in the link length, bounded by [`MAX_LINK_CHARS`] and
/// [`MAX_PAYLOAD_BYTES`].
pub fn decode(link: &str) -> Result<SessionState, LinkError> {
    let link = link.trim();
    let link = link.strip_prefix('#').unwrap_or(link);
    if link.is_empty() {
        return Err(LinkError::Empty);
    }
    // Links are ASCII, so bytes are characters; anything longer is refused before any work.
    if link.len() > MAX_LINK_CHARS {
        return Err(LinkError::TooLong { chars: link.len() });
    }
    let (version, body) = split_version(link)?;
    if version > LINK_VERSION {
        return Err(LinkError::FutureVersion { version });
    }
    // Version 1 is the only one so far; an older layout would be read here.
    let compressed = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| LinkError::Damaged {
            detail: "it contains characters or a length a link never has".into(),
        })?;
    let payload =
        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&compressed, MAX_PAYLOAD_BYTES)
            .map_err(|err| match err.status {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => LinkError::PayloadTooLarge,
                _ => LinkError::Damaged {
                    detail: "its compressed data does not unpack".into(),
                },
            })?;
    let state = parse_payload(&payload)?;
    state.validate()?;
    Ok(state)
}

/// Splits `v<digits>.<body>`; the version is at most 9 digits.
fn split_version(link: &str) -> Result<(u32, &str), LinkError> {
    let Some(rest) = link.strip_prefix('v') else {
        return Err(LinkError::NotAViewLink);
    };
    let digits_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits_len == 0 || digits_len > 9 {
        return Err(LinkError::NotAViewLink);
    }
    let (digits, after) = rest.split_at(digits_len);
    let version: u32 = digits.parse().map_err(|_| LinkError::NotAViewLink)?;
    if version == 0 {
        return Err(LinkError::NotAViewLink);
    }
    let Some(body) = after.strip_prefix('.') else {
        return Err(LinkError::Damaged {
            detail: "the version is not followed by the view".into(),
        });
    };
    Ok((version, body))
}

fn parse_payload(payload: &[u8]) -> Result<SessionState, LinkError> {
    let mut cursor = ByteCursor {
        bytes: payload,
        position: 0,
    };
    let json_len = cursor.varint()?;
    let json_len = usize::try_from(json_len)
        .ok()
        .filter(|&len| len <= payload.len())
        .ok_or_else(|| LinkError::Damaged {
            detail: "its parts have impossible lengths".into(),
        })?;
    let json = cursor.take(json_len)?;
    // serde also reads a struct from a JSON array (fields by position); links only use objects.
    if json.first() != Some(&b'{') {
        return Err(LinkError::Damaged {
            detail: "its view description is not an object".into(),
        });
    }
    let mut state: SessionState =
        serde_json::from_slice(json).map_err(|err| LinkError::Damaged {
            detail: format!("its view description does not read ({err})"),
        })?;
    state.sample_selection = read_selection(&mut cursor)?;
    if cursor.position != payload.len() {
        return Err(LinkError::Damaged {
            detail: "it has data after its end".into(),
        });
    }
    Ok(state)
}

pub(super) fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let low_bits = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low_bits);
            return;
        }
        out.push(low_bits | 0x80);
    }
}

/// `count`, the first index, then `gap - 1` between successive indices. Assumes strictly
/// ascending input (what [`SessionState::validate`] requires); other input is still written
/// losslessly enough to be refused on decoding (a wrapped gap decodes out of order or past
/// `u32::MAX`).
pub(super) fn write_selection(out: &mut Vec<u8>, samples: &[u32]) {
    write_varint(out, samples.len() as u64);
    let mut previous: Option<u32> = None;
    for &sample_idx in samples {
        let stored = match previous {
            None => u64::from(sample_idx),
            Some(prev) => (i64::from(sample_idx) - i64::from(prev) - 1) as u64,
        };
        write_varint(out, stored);
        previous = Some(sample_idx);
    }
}

fn read_selection(cursor: &mut ByteCursor<'_>) -> Result<Vec<u32>, LinkError> {
    let count = cursor.varint()?;
    // Every index takes at least one byte: a count beyond the bytes left is a lie.
    let remaining = (cursor.bytes.len() - cursor.position) as u64;
    if count > remaining {
        return Err(LinkError::Damaged {
            detail: "its sample selection is cut short".into(),
        });
    }
    if count > MAX_SELECTED_SAMPLES as u64 {
        return Err(invalid(
            "sample selection",
            format!("{count} samples; at most {MAX_SELECTED_SAMPLES}"),
        ));
    }
    let mut samples = Vec::with_capacity(count as usize);
    let mut previous: Option<u64> = None;
    for _ in 0..count {
        let stored = cursor.varint()?;
        let sample_idx = match previous {
            None => Some(stored),
            Some(prev) => prev.checked_add(stored).and_then(|sum| sum.checked_add(1)),
        };
        let sample_idx = sample_idx
            .filter(|&idx| idx <= u64::from(u32::MAX))
            .ok_or_else(|| invalid("sample selection", "a sample index is beyond 4294967295"))?;
        samples.push(sample_idx as u32);
        previous = Some(sample_idx);
    }
    Ok(samples)
}

pub(super) struct ByteCursor<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) position: usize,
}

impl<'a> ByteCursor<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], LinkError> {
        let end = self
            .position
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| LinkError::Damaged {
            detail: "it ends in the middle of its data".into(),
        })?;
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }

    /// Unsigned LEB128, at most 10 bytes, no bits beyond 64.
    pub(super) fn varint(&mut self) -> Result<u64, LinkError> {
        let mut value: u64 = 0;
        for byte_idx in 0..10u32 {
            let byte = *self
                .bytes
                .get(self.position)
                .ok_or_else(|| LinkError::Damaged {
                    detail: "it ends in the middle of a number".into(),
                })?;
            self.position += 1;
            let low_bits = u64::from(byte & 0x7f);
            let shift = 7 * byte_idx;
            if byte_idx == 9 && low_bits > 1 {
                return Err(LinkError::Damaged {
                    detail: "it holds a number too large".into(),
                });
            }
            value |= low_bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(LinkError::Damaged {
            detail: "it holds a number too large".into(),
        })
    }
}
