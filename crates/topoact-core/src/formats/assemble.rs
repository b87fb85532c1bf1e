//! Turns the arrays read by the loader into a checked [`Dataset`]: label checks,
//! non-finite rows (refused or dropped everywhere), layer order, names.

use std::collections::BTreeMap;

use half::f16;
use ndarray::Array2;

use super::error::{FormatError, KeyLabel, NonFiniteRows};
use super::npy::{ElemKind, ElemType};
use super::LoadOptions;
use super::MAX_CLASSES;
use crate::columns::{Column, ColumnValues};
use crate::dataset::{Dataset, ImageStack, Layer, Matrix, ProjectionKind};

/// How many sample indices a non-finite report lists per layer.
const NON_FINITE_EXAMPLES: usize = 5;

pub(crate) enum LayerData {
    F16(Vec<f16>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

pub(crate) struct LayerPart {
    pub name: String,
    pub source: String,
    pub n_rows: usize,
    pub n_cols: usize,
    pub data: LayerData,
    /// `Some` when at least one row holds NaN or infinity (`true` = such a row).
    pub bad_rows: Option<Vec<bool>>,
}

pub(crate) struct ImagePart {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub pixels: Vec<u8>,
}

/// Everything read so far.
#[derive(Default)]
pub(crate) struct Parts {
    pub layers: Vec<LayerPart>,
    pub labels: Option<Vec<i64>>,
    pub labels_source: Option<String>,
    pub class_names: Option<Vec<String>>,
    pub class_names_source: Option<String>,
    pub images: Option<ImagePart>,
    pub activation_images: BTreeMap<String, ImagePart>,
    pub projections: BTreeMap<(String, ProjectionKind), Vec<f32>>,
    pub meta: Option<serde_json::Value>,
    pub meta_source: Option<String>,
    /// Per-sample columns in reading order.
    pub columns: Vec<Column>,
    /// Predicted class indices and where they came from.
    pub predictions: Option<(Vec<i64>, String)>,
    pub notices: Vec<String>,
}

impl Parts {
    pub fn set_labels(&mut self, labels: Vec<i64>, source: String) -> Result<(), FormatError> {
        if let Some(first) = &self.labels_source {
            return Err(FormatError::DuplicateLabels {
                first: first.clone(),
                second: source,
            });
        }
        self.labels = Some(labels);
        self.labels_source = Some(source);
        Ok(())
    }

    pub fn set_class_names(
        &mut self,
        names: Vec<String>,
        source: String,
    ) -> Result<(), FormatError> {
        if let Some(first) = &self.class_names_source {
            return Err(FormatError::Duplicate {
                file: source,
                key: KeyLabel::none(),
                reason: format!("class names already came from {first}"),
            });
        }
        self.class_names = Some(names);
        self.class_names_source = Some(source);
        Ok(())
    }

    pub fn set_meta(&mut self, meta: serde_json::Value, file: &str) -> Result<(), FormatError> {
        if let Some(first) = &self.meta_source {
            return Err(FormatError::Duplicate {
                file: file.to_string(),
                key: KeyLabel::of("meta"),
                reason: format!("meta already came from '{first}'"),
            });
        }
        if !meta.is_object() {
            return Err(FormatError::BadMeta {
                file: file.to_string(),
                reason: "it is JSON but not an object".to_string(),
            });
        }
        self.meta = Some(meta);
        self.meta_source = Some(file.to_string());
        Ok(())
    }
}

pub(crate) fn image_part(shape: &[usize], pixels: Vec<u8>) -> ImagePart {
    ImagePart {
        height: shape.get(1).copied().unwrap_or(0),
        width: shape.get(2).copied().unwrap_or(0),
        channels: shape.get(3).copied().unwrap_or(1),
        pixels,
    }
}

/// Decodes a NumPy string array: `U` is UTF-32 (invalid code points become U+FFFD, with
/// a notice), `S` is bytes read as UTF-8 (invalid sequences become U+FFFD, with a notice).
/// Trailing NULs, NumPy's padding, are removed.
pub(crate) fn decode_strings(
    bytes: &[u8],
    elem: &ElemType,
    file: &str,
    key: &str,
    notices: &mut Vec<String>,
) -> Vec<String> {
    let size = elem.size;
    if size == 0 {
        return Vec::new();
    }
    let mut replaced = 0usize;
    let names: Vec<String> = bytes
        .chunks_exact(size)
        .map(|item| {
            if elem.kind == ElemKind::Unicode {
                let mut text = String::new();
                for unit in item.chunks_exact(4) {
                    let array = [unit[0], unit[1], unit[2], unit[3]];
                    let code = if elem.big_endian {
                        u32::from_be_bytes(array)
                    } else {
                        u32::from_le_bytes(array)
                    };
                    match char::from_u32(code) {
                        Some(ch) => text.push(ch),
                        None => {
                            replaced += 1;
                            text.push(char::REPLACEMENT_CHARACTER);
                        }
                    }
                }
                text.trim_end_matches('\0').to_string()
            } else {
                let end = item
                    .iter()
                    .rposition(|&b| b != 0)
                    .map_or(0, |last| last + 1);
                match std::str::from_utf8(&item[..end]) {
                    Ok(text) => text.to_string(),
                    Err(_) => {
                        replaced += 1;
                        String::from_utf8_lossy(&item[..end]).into_owned()
                    }
                }
            }
        })
        .collect();
    if replaced > 0 {
        notices.push(format!(
            "'{file}' (array '{key}'): {replaced} invalid character(s) were replaced with U+FFFD; save the strings as valid Unicode"
        ));
    }
    names
}

/// Keeps the rows of a row-major buffer whose `keep` flag is set, in place.
fn compact_rows<T: Copy>(values: &mut Vec<T>, row_len: usize, keep: &[bool]) {
    if row_len == 0 {
        return;
    }
    let mut write_row = 0usize;
    for (read_row, &kept) in keep.iter().enumerate() {
        if !kept {
            continue;
        }
        if read_row != write_row {
            let src = read_row * row_len;
            values.copy_within(src..src + row_len, write_row * row_len);
        }
        write_row += 1;
    }
    values.truncate(write_row * row_len);
}

/// Builds the dataset from the parts; see the module rules.
pub(crate) fn assemble(
    mut parts: Parts,
    first_file: &str,
    options: &LoadOptions,
) -> Result<Dataset, FormatError> {
    let mut notices = std::mem::take(&mut parts.notices);
    let n_rows = parts.layers.first().map_or(0, |layer| layer.n_rows);

    // Labels: non-negative, inside class_names (or class names are made up).
    let labels: Option<Vec<u32>> = match parts.labels.take() {
        None => {
            if parts.class_names.is_some() {
                notices.push(
                    "class names were given without labels: every sample is unlabelled".to_string(),
                );
            }
            None
        }
        Some(raw_labels) => {
            if let Some((sample_idx, &label)) =
                raw_labels.iter().enumerate().find(|(_, &label)| label < 0)
            {
                return Err(FormatError::NegativeLabel { sample_idx, label });
            }
            match &parts.class_names {
                Some(names) => {
                    if let Some((sample_idx, &label)) = raw_labels
                        .iter()
                        .enumerate()
                        .find(|(_, &label)| label as u64 >= names.len() as u64)
                    {
                        return Err(FormatError::LabelOutOfRange {
                            sample_idx,
                            label,
                            n_classes: names.len(),
                        });
                    }
                }
                None => {
                    let max_label = raw_labels.iter().copied().max().unwrap_or(-1);
                    if max_label >= MAX_CLASSES as i64 {
                        let sample_idx =
                            raw_labels.iter().position(|&l| l == max_label).unwrap_or(0);
                        return Err(FormatError::LabelOutOfRange {
                            sample_idx,
                            label: max_label,
                            n_classes: 0,
                        });
                    }
                    let n_classes = (max_label + 1) as usize;
                    parts.class_names = Some(
                        (0..n_classes)
                            .map(|class_idx| class_idx.to_string())
                            .collect(),
                    );
                    notices.push(format!(
                        "no class names were given: classes are named 0 to {}",
                        n_classes.saturating_sub(1)
                    ));
                }
            }
            Some(raw_labels.iter().map(|&label| label as u32).collect())
        }
    };
    let mut labels = labels;

    // Predictions: class indices like the labels. Out of the classes' range they are kept as
    // a plain column instead, with a notice.
    let mut predictions: Option<Vec<u32>> = None;
    if let Some((raw, source)) = parts.predictions.take() {
        let n_classes = parts.class_names.as_ref().map_or(0, Vec::len) as i64;
        match raw.iter().find(|&&p| p < 0 || p >= n_classes) {
            None if n_classes > 0 => {
                predictions = Some(raw.iter().map(|&p| p as u32).collect());
            }
            outside => {
                notices.push(match outside {
                    Some(value) => format!(
                        "the predictions in {source} are not all class indices ({value} is outside 0 to {}); they are shown as a column",
                        n_classes - 1
                    ),
                    None => format!(
                        "the predictions in {source} have no classes to refer to (no labels or class names); they are shown as a column"
                    ),
                });
                parts.columns.insert(
                    0,
                    Column {
                        name: "predictions".to_string(),
                        values: ColumnValues::Integers(raw),
                    },
                );
            }
        }
    }

    // Non-finite rows.
    let reports: Vec<NonFiniteRows> = parts
        .layers
        .iter()
        .filter_map(|layer| {
            let bad = layer.bad_rows.as_ref()?;
            let idxs: Vec<usize> = bad
                .iter()
                .enumerate()
                .filter(|(_, &b)| b)
                .map(|(i, _)| i)
                .collect();
            (!idxs.is_empty()).then(|| NonFiniteRows {
                layer: layer.name.clone(),
                n_rows: idxs.len(),
                first_sample_idxs: idxs.into_iter().take(NON_FINITE_EXAMPLES).collect(),
            })
        })
        .collect();
    if !reports.is_empty() {
        if !options.drop_nonfinite {
            return Err(FormatError::NonFiniteActivations { layers: reports });
        }
        let mut keep = vec![true; n_rows];
        for layer in &parts.layers {
            if let Some(bad) = &layer.bad_rows {
                for (flag, &is_bad) in keep.iter_mut().zip(bad) {
                    if is_bad {
                        *flag = false;
                    }
                }
            }
        }
        let n_kept = keep.iter().filter(|&&k| k).count();
        if n_kept == 0 {
            return Err(FormatError::NothingLeftAfterDrop);
        }
        for layer in &mut parts.layers {
            let row_len = layer.n_cols;
            match &mut layer.data {
                LayerData::F16(values) => compact_rows(values, row_len, &keep),
                LayerData::F32(values) => compact_rows(values, row_len, &keep),
                LayerData::F64(values) => compact_rows(values, row_len, &keep),
            }
            layer.n_rows = n_kept;
        }
        if let Some(values) = &mut labels {
            compact_rows(values, 1, &keep);
        }
        if let Some(images) = &mut parts.images {
            let len = images.height * images.width * images.channels;
            compact_rows(&mut images.pixels, len, &keep);
        }
        for images in parts.activation_images.values_mut() {
            let len = images.height * images.width * images.channels;
            compact_rows(&mut images.pixels, len, &keep);
        }
        for values in parts.projections.values_mut() {
            compact_rows(values, 2, &keep);
        }
        if let Some(values) = &mut predictions {
            compact_rows(values, 1, &keep);
        }
        for column in &mut parts.columns {
            column.values.retain_rows(&keep);
        }
        let details: Vec<String> = reports
            .iter()
            .map(|r| format!("{}: {}", r.layer, r.n_rows))
            .collect();
        notices.push(format!(
            "dropped {} of {} samples with NaN or infinity in their activations (rows per layer: {})",
            n_rows - n_kept,
            n_rows,
            details.join(", ")
        ));
    }

    // Layer order: meta.layers first (those that exist), then the rest in file order.
    let meta_order: Vec<String> = parts
        .meta
        .as_ref()
        .and_then(|meta| meta.get("layers"))
        .and_then(|layers| layers.as_array())
        .map(|layers| {
            layers
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut ordered: Vec<LayerPart> = Vec::with_capacity(parts.layers.len());
    let mut missing = Vec::new();
    for name in &meta_order {
        if let Some(pos) = parts.layers.iter().position(|layer| &layer.name == name) {
            ordered.push(parts.layers.remove(pos));
        } else if !ordered.iter().any(|layer| &layer.name == name) {
            missing.push(name.clone());
        }
    }
    if !missing.is_empty() {
        notices.push(format!(
            "meta.layers names layer(s) not in the files: {}",
            missing.join(", ")
        ));
    }
    ordered.append(&mut parts.layers);

    let mut layers = Vec::with_capacity(ordered.len());
    for part in ordered {
        let shape = (part.n_rows, part.n_cols);
        let shape_error = || FormatError::SizeOverflow {
            file: part.source.clone(),
            key: KeyLabel::none(),
        };
        let activations = match part.data {
            LayerData::F16(values) => {
                Matrix::F16(Array2::from_shape_vec(shape, values).map_err(|_| shape_error())?)
            }
            LayerData::F32(values) => Matrix::F32(
                Array2::from_shape_vec(shape, values)
                    .map_err(|_| shape_error())?
                    .into(),
            ),
            LayerData::F64(values) => {
                Matrix::F64(Array2::from_shape_vec(shape, values).map_err(|_| shape_error())?)
            }
        };
        layers.push(Layer {
            name: part.name,
            activations,
        });
    }

    let n_final = layers.first().map_or(0, |layer| layer.activations.n_rows());
    let mut projections = BTreeMap::new();
    for (key, values) in parts.projections {
        let array = Array2::from_shape_vec((n_final, 2), values).map_err(|_| {
            FormatError::SizeOverflow {
                file: format!("proj_{}", key.0),
                key: KeyLabel::none(),
            }
        })?;
        projections.insert(key, array);
    }
    let to_stack = |part: ImagePart| ImageStack {
        height: part.height,
        width: part.width,
        channels: part.channels,
        pixels: part.pixels,
    };
    let name = parts
        .meta
        .as_ref()
        .and_then(|meta| meta.get("name").or_else(|| meta.get("dataset")))
        .and_then(|value| value.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| first_file.to_string());
    Ok(Dataset {
        name,
        layers,
        labels,
        class_names: parts.class_names.unwrap_or_default(),
        images: parts.images.map(to_stack),
        activation_images: parts
            .activation_images
            .into_iter()
            .map(|(layer, part)| (layer, to_stack(part)))
            .collect(),
        projections,
        meta: parts.meta,
        columns: parts.columns,
        predictions,
        notices,
    })
}
