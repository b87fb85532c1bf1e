//! The `.safetensors` header: an 8-byte little-endian header length, a JSON object
//! `{"name": {"dtype": "F32", "shape": [N, D], "data_offsets": [begin, end]}, ...,
//! "__metadata__": {"class_names": "[...]", "meta": "{...}"}}`, then the data, where
//! offsets are relative to the end of the header.
//!
//! Rules checked: the header fits in the file and is at most 100 MB, every tensor's range
//! lies inside the data area and has exactly `product(shape) * dtype size` bytes.

use serde_json::Value;

use super::error::FormatError;
use super::npy::{ElemKind, ElemType};
use super::{read_exact_at, ByteSource};

const MAX_HEADER_BYTES: u64 = 100 << 20;

pub(crate) struct Tensor {
    pub name: String,
    pub elem: ElemType,
    pub shape: Vec<u64>,
    /// Absolute offset of the first data byte in the file.
    pub data_offset: u64,
    pub data_len: u64,
}

pub(crate) struct SafetensorsHeader {
    /// In data order.
    pub tensors: Vec<Tensor>,
    pub class_names: Option<Vec<String>>,
    pub meta: Option<Value>,
}

fn elem_of(dtype: &str) -> ElemType {
    let (kind, size) = match dtype {
        "F16" => (ElemKind::Float, 2),
        "F32" => (ElemKind::Float, 4),
        "F64" => (ElemKind::Float, 8),
        "BF16" => (ElemKind::BFloat, 2),
        "I8" => (ElemKind::Int, 1),
        "I16" => (ElemKind::Int, 2),
        "I32" => (ElemKind::Int, 4),
        "I64" => (ElemKind::Int, 8),
        "U8" => (ElemKind::UInt, 1),
        "U16" => (ElemKind::UInt, 2),
        "U32" => (ElemKind::UInt, 4),
        "U64" => (ElemKind::UInt, 8),
        "BOOL" => (ElemKind::Bool, 1),
        "C64" => (ElemKind::Complex, 8),
        "F8_E4M3" | "F8_E5M2" => (ElemKind::Other, 1),
        _ => (ElemKind::Other, 1),
    };
    ElemType {
        kind,
        size,
        big_endian: false,
        descr: dtype.to_string(),
    }
}

pub(crate) fn read_header<S: ByteSource>(
    source: &mut S,
    file: &str,
) -> Result<SafetensorsHeader, FormatError> {
    let bad = |reason: String| FormatError::BadSafetensors {
        file: file.to_string(),
        reason,
    };
    let len = source.len();
    let mut length_bytes = [0u8; 8];
    read_exact_at(
        source,
        file,
        0,
        &mut length_bytes,
        "the safetensors header length",
    )?;
    let header_len = u64::from_le_bytes(length_bytes);
    if header_len > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "the header claims {header_len} bytes (more than 100 MB)"
        )));
    }
    let data_start = 8 + header_len;
    if data_start > len {
        return Err(FormatError::Truncated {
            file: file.to_string(),
            what: "the safetensors header".to_string(),
            needed: data_start,
            available: len,
        });
    }
    let mut header_bytes = vec![0u8; header_len as usize];
    read_exact_at(source, file, 8, &mut header_bytes, "the safetensors header")?;
    if header_bytes.first() != Some(&b'{') {
        return Err(FormatError::BadMagic {
            file: file.to_string(),
            format: ".safetensors",
            expected: "an 8-byte length and a JSON header '{'".to_string(),
            found: super::npy::describe_bytes(&length_bytes),
        });
    }
    let header: serde_json::Map<String, Value> = serde_json::from_slice(&header_bytes)
        .map_err(|error| bad(format!("the header is not a JSON object ({error})")))?;
    let data_len = len - data_start;
    let mut tensors = Vec::new();
    let mut class_names = None;
    let mut meta = None;
    for (name, value) in header {
        if name == "__metadata__" {
            let Some(entries) = value.as_object() else {
                return Err(bad("__metadata__ is not an object".to_string()));
            };
            let mut other = serde_json::Map::new();
            for (meta_key, meta_value) in entries {
                let text = meta_value
                    .as_str()
                    .ok_or_else(|| bad(format!("__metadata__['{meta_key}'] is not a string")))?;
                match meta_key.as_str() {
                    "class_names" => {
                        let names: Vec<String> = serde_json::from_str(text).map_err(|_| {
                            bad("__metadata__['class_names'] is not a JSON list of strings"
                                .to_string())
                        })?;
                        class_names = Some(names);
                    }
                    "meta" => {
                        let parsed: Value =
                            serde_json::from_str(text).map_err(|error| FormatError::BadMeta {
                                file: file.to_string(),
                                reason: format!("__metadata__['meta'] is not JSON ({error})"),
                            })?;
                        meta = Some(parsed);
                    }
                    _ => {
                        other.insert(meta_key.clone(), Value::String(text.to_string()));
                    }
                }
            }
            if meta.is_none() && !other.is_empty() {
                meta = Some(Value::Object(other));
            }
            continue;
        }
        let dtype = value
            .get("dtype")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("tensor '{name}' has no dtype")))?;
        let shape: Vec<u64> = value
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|dims| dims.iter().map(Value::as_u64).collect())
            .ok_or_else(|| bad(format!("tensor '{name}' has no valid shape")))?;
        let offsets: Vec<u64> = value
            .get("data_offsets")
            .and_then(Value::as_array)
            .and_then(|dims| dims.iter().map(Value::as_u64).collect())
            .ok_or_else(|| bad(format!("tensor '{name}' has no valid data_offsets")))?;
        let [begin, end] = offsets[..] else {
            return Err(bad(format!("tensor '{name}' needs two data_offsets")));
        };
        if begin > end || end > data_len {
            return Err(FormatError::Truncated {
                file: file.to_string(),
                what: format!("tensor '{name}'"),
                needed: data_start.saturating_add(end),
                available: len,
            });
        }
        tensors.push(Tensor {
            name,
            elem: elem_of(dtype),
            shape,
            data_offset: data_start + begin,
            data_len: end - begin,
        });
    }
    tensors.sort_by_key(|tensor| tensor.data_offset);
    Ok(SafetensorsHeader {
        tensors,
        class_names,
        meta,
    })
}
