//! The `.npy` header: magic, version, and the Python-dict header text.
//!
//! Layout (NumPy's NEP 1): `\x93NUMPY`, major and minor version bytes, the header length
//! (u16 LE for version 1, u32 LE for versions 2 and 3), then an ASCII (v3: UTF-8) Python
//! dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` padded with
//! spaces and a newline. The raw array data follows immediately.

use super::error::{FormatError, KeyLabel};

/// `\x93NUMPY`.
pub const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Longest header text we accept. NumPy writes a few hundred bytes; anything far larger
/// is damage, and refusing it bounds what we read before knowing the file is sane.
pub const MAX_HEADER_TEXT_BYTES: usize = 1 << 20;

/// What an element is, independent of byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemKind {
    Float,
    /// bfloat16 (safetensors only).
    BFloat,
    Int,
    UInt,
    Bool,
    Complex,
    /// NumPy `U`: UTF-32 code units, `size / 4` characters per element.
    Unicode,
    /// NumPy `S`: bytes.
    Bytes,
    /// Objects, structured records, datetimes, ...: never accepted.
    Other,
}

/// An element type: kind, size in bytes and byte order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElemType {
    pub kind: ElemKind,
    pub size: usize,
    pub big_endian: bool,
    /// As written in the file, for messages (e.g. `<f4`, `|O`, `BF16`).
    pub descr: String,
}

impl ElemType {
    /// Parses a NumPy `descr` string such as `<f4`, `>i8`, `|u1`, `<U12`, `|O`.
    pub fn from_numpy_descr(descr: &str) -> Option<ElemType> {
        let mut chars = descr.chars();
        let (big_endian, rest) = match chars.next()? {
            '<' | '=' => (false, chars.as_str()),
            '>' | '!' => (true, chars.as_str()),
            '|' => (false, chars.as_str()),
            _ => (false, descr),
        };
        let mut rest_chars = rest.chars();
        let kind_char = rest_chars.next()?;
        let digits = rest_chars.as_str();
        let count: usize = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        let (kind, size) = match kind_char {
            'f' => (ElemKind::Float, count),
            'i' => (ElemKind::Int, count),
            'u' => (ElemKind::UInt, count),
            'b' | '?' => (ElemKind::Bool, count.max(1)),
            'c' => (ElemKind::Complex, count),
            'U' => (ElemKind::Unicode, count.checked_mul(4)?),
            'S' | 'a' => (ElemKind::Bytes, count),
            _ => (ElemKind::Other, count),
        };
        Some(ElemType {
            kind,
            size,
            big_endian,
            descr: descr.to_string(),
        })
    }

    /// The numeric kinds NumPy can actually produce with this size.
    pub fn is_valid_numeric(&self) -> bool {
        match self.kind {
            ElemKind::Float => matches!(self.size, 2 | 4 | 8),
            ElemKind::BFloat => self.size == 2,
            ElemKind::Int | ElemKind::UInt => matches!(self.size, 1 | 2 | 4 | 8),
            ElemKind::Bool => self.size == 1,
            _ => true,
        }
    }
}

/// A parsed `.npy` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    pub elem: ElemType,
    pub shape: Vec<u64>,
    pub fortran_order: bool,
    /// Bytes from the start of the `.npy` to the first data byte.
    pub data_offset: u64,
}

/// Reads the fixed 10- or 12-byte preamble. Returns `(version_major, header_text_len,
/// preamble_len)`; `prefix` must hold at least the first 12 bytes (or all there are).
pub fn parse_preamble(
    prefix: &[u8],
    file: &str,
    key: &KeyLabel,
) -> Result<(u8, usize, usize), FormatError> {
    let magic = prefix.get(..6);
    if magic != Some(&NPY_MAGIC[..]) {
        return Err(FormatError::BadMagic {
            file: file.to_string(),
            format: ".npy",
            expected: "\\x93NUMPY".to_string(),
            found: describe_bytes(prefix.get(..prefix.len().min(6)).unwrap_or(&[])),
        });
    }
    let truncated = |needed: usize| FormatError::Truncated {
        file: file.to_string(),
        what: format!("the .npy preamble{key}"),
        needed: needed as u64,
        available: prefix.len() as u64,
    };
    let major = *prefix.get(6).ok_or_else(|| truncated(8))?;
    match major {
        1 => {
            let bytes = prefix.get(8..10).ok_or_else(|| truncated(10))?;
            Ok((major, u16::from_le_bytes([bytes[0], bytes[1]]) as usize, 10))
        }
        2 | 3 => {
            let bytes = prefix.get(8..12).ok_or_else(|| truncated(12))?;
            let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
            Ok((major, len, 12))
        }
        other => Err(FormatError::BadNpyHeader {
            file: file.to_string(),
            key: key.clone(),
            reason: format!("format version {other} is unknown (1, 2 and 3 exist)"),
        }),
    }
}

/// Parses the header text (the dict literal) after the preamble.
pub fn parse_header_text(
    text_bytes: &[u8],
    preamble_len: usize,
    file: &str,
    key: &KeyLabel,
) -> Result<NpyHeader, FormatError> {
    let bad = |reason: String| FormatError::BadNpyHeader {
        file: file.to_string(),
        key: key.clone(),
        reason,
    };
    let text = std::str::from_utf8(text_bytes)
        .map_err(|_| bad("the header text is not UTF-8".to_string()))?;
    let mut parser = DictParser { text, pos: 0 };
    let entries = parser.parse_dict().map_err(bad)?;
    let mut descr = None;
    let mut fortran_order = None;
    let mut shape = None;
    for (name, value) in entries {
        match (name.as_str(), value) {
            ("descr", PyValue::Str(s)) => descr = Some(s),
            ("descr", PyValue::List) => {
                return Err(FormatError::UnsupportedDtype {
                    file: file.to_string(),
                    key: key.clone(),
                    dtype: "structured record".to_string(),
                    role: "any array",
                    hint: "store plain numeric arrays (one key per field)",
                })
            }
            ("fortran_order", PyValue::Bool(b)) => fortran_order = Some(b),
            ("shape", PyValue::Tuple(dims)) => shape = Some(dims),
            (other, _) => return Err(bad(format!("unexpected or malformed entry '{other}'"))),
        }
    }
    let descr = descr.ok_or_else(|| bad("'descr' is missing".to_string()))?;
    let fortran_order =
        fortran_order.ok_or_else(|| bad("'fortran_order' is missing".to_string()))?;
    let shape = shape.ok_or_else(|| bad("'shape' is missing".to_string()))?;
    let elem = ElemType::from_numpy_descr(&descr)
        .ok_or_else(|| bad(format!("dtype '{descr}' is not understood")))?;
    if !elem.is_valid_numeric() {
        return Err(bad(format!("dtype '{descr}' has an impossible size")));
    }
    let data_offset = (preamble_len as u64)
        .checked_add(text_bytes.len() as u64)
        .ok_or(FormatError::SizeOverflow {
            file: file.to_string(),
            key: key.clone(),
        })?;
    Ok(NpyHeader {
        elem,
        shape,
        fortran_order,
        data_offset,
    })
}

/// Number of elements of `shape` (1 for a 0-d array), or `None` on overflow.
pub fn element_count(shape: &[u64]) -> Option<u64> {
    shape
        .iter()
        .try_fold(1u64, |acc, &dim| acc.checked_mul(dim))
}

/// Bytes of data that `shape` of `elem` needs, or `None` on overflow.
pub fn data_bytes(shape: &[u64], elem: &ElemType) -> Option<u64> {
    element_count(shape)?.checked_mul(elem.size as u64)
}

/// Shows up to 8 bytes as printable text or hex, for "found ..." in messages.
pub fn describe_bytes(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing (the file is empty)".to_string();
    }
    let shown = &bytes[..bytes.len().min(8)];
    if shown.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("'{}'", String::from_utf8_lossy(shown))
    } else {
        let hex: Vec<String> = shown.iter().map(|b| format!("{b:02x}")).collect();
        format!("bytes {}", hex.join(" "))
    }
}

enum PyValue {
    Str(String),
    Bool(bool),
    Tuple(Vec<u64>),
    /// A list (structured dtype); its content is not needed.
    List,
}

/// A tiny parser for the subset of Python literals that `.npy` headers use.
struct DictParser<'a> {
    text: &'a str,
    pos: usize,
}

impl DictParser<'_> {
    fn rest(&self) -> &str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    fn eat(&mut self, token: char) -> bool {
        self.skip_space();
        if self.rest().starts_with(token) {
            self.pos += token.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: char) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!("expected '{token}' at byte {}", self.pos))
        }
    }

    fn parse_dict(&mut self) -> Result<Vec<(String, PyValue)>, String> {
        self.expect('{')?;
        let mut entries = Vec::new();
        loop {
            if self.eat('}') {
                break;
            }
            let name = self.parse_string()?;
            self.expect(':')?;
            let value = self.parse_value()?;
            entries.push((name, value));
            if !self.eat(',') {
                self.expect('}')?;
                break;
            }
            if entries.len() > 16 {
                return Err("too many entries".to_string());
            }
        }
        self.skip_space();
        if !self.rest().is_empty() {
            return Err("unexpected text after the header dict".to_string());
        }
        Ok(entries)
    }

    fn parse_string(&mut self) -> Result<String, String> {
        self.skip_space();
        let quote = self
            .rest()
            .chars()
            .next()
            .ok_or("unexpected end of header")?;
        if quote != '\'' && quote != '"' {
            return Err(format!("expected a quoted string at byte {}", self.pos));
        }
        let body = &self.rest()[1..];
        let end = body.find(quote).ok_or("unterminated string")?;
        let value = body[..end].to_string();
        self.pos += 1 + end + 1;
        Ok(value)
    }

    fn parse_value(&mut self) -> Result<PyValue, String> {
        self.skip_space();
        let rest = self.rest();
        if rest.starts_with('\'') || rest.starts_with('"') {
            return Ok(PyValue::Str(self.parse_string()?));
        }
        if rest.starts_with("True") {
            self.pos += 4;
            return Ok(PyValue::Bool(true));
        }
        if rest.starts_with("False") {
            self.pos += 5;
            return Ok(PyValue::Bool(false));
        }
        if rest.starts_with('[') {
            // A structured dtype: skip to the matching bracket.
            let mut depth = 0usize;
            for (offset, ch) in rest.char_indices() {
                match ch {
                    '[' | '(' => depth += 1,
                    ']' | ')' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            self.pos += offset + 1;
                            return Ok(PyValue::List);
                        }
                    }
                    _ => {}
                }
            }
            return Err("unterminated list".to_string());
        }
        if self.eat('(') {
            let mut dims = Vec::new();
            loop {
                if self.eat(')') {
                    break;
                }
                self.skip_space();
                let digits: String = self
                    .rest()
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                if digits.is_empty() {
                    return Err(format!("expected a dimension at byte {}", self.pos));
                }
                self.pos += digits.len();
                // Python 2 era files may write `3L`.
                if self.rest().starts_with('L') {
                    self.pos += 1;
                }
                let dim: u64 = digits
                    .parse()
                    .map_err(|_| format!("dimension {digits} is too large"))?;
                dims.push(dim);
                if dims.len() > 32 {
                    return Err("more than 32 dimensions".to_string());
                }
                if !self.eat(',') {
                    self.expect(')')?;
                    break;
                }
            }
            return Ok(PyValue::Tuple(dims));
        }
        Err(format!("unexpected value at byte {}", self.pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> Result<NpyHeader, FormatError> {
        parse_header_text(text.as_bytes(), 10, "x.npy", &KeyLabel::none())
    }

    #[test]
    fn parses_numpy_headers() {
        let parsed =
            header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }          \n")
                .unwrap();
        assert_eq!(parsed.shape, vec![3, 4]);
        assert_eq!(parsed.elem.kind, ElemKind::Float);
        assert_eq!(parsed.elem.size, 4);
        assert!(!parsed.fortran_order);
        let parsed = header("{'descr': '>U7', 'fortran_order': True, 'shape': (5,), }").unwrap();
        assert_eq!(parsed.elem.size, 28);
        assert!(parsed.elem.big_endian);
        let parsed = header("{'descr': '|u1', 'fortran_order': False, 'shape': (), }").unwrap();
        assert!(parsed.shape.is_empty());
    }

    #[test]
    fn refuses_garbage() {
        assert!(header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, -4), }").is_err());
        assert!(header("{'descr': '<f4', 'shape': (3, 4), }").is_err());
        assert!(header("{'descr': '<f3', 'fortran_order': False, 'shape': (3,), }").is_err());
        assert!(header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }"
        )
        .is_err());
        assert!(
            header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }").is_err()
        );
    }
}
