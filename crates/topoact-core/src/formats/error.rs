//! The one error type of the format parsers.
//!
//! Rule: every message says what is wrong (naming the file and, where there is one, the
//! array key) and how a person can fix it.

use thiserror::Error;

/// One layer's non-finite rows, as reported by [`FormatError::NonFiniteActivations`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonFiniteRows {
    pub layer: String,
    /// Number of rows holding at least one NaN or infinity.
    pub n_rows: usize,
    /// The first few such `sample_idx` (ascending).
    pub first_sample_idxs: Vec<usize>,
}

fn describe_non_finite(layers: &[NonFiniteRows]) -> String {
    layers
        .iter()
        .map(|rows| {
            let idxs: Vec<String> = rows
                .first_sample_idxs
                .iter()
                .map(|i| i.to_string())
                .collect();
            let more = if rows.n_rows > rows.first_sample_idxs.len() {
                ", ..."
            } else {
                ""
            };
            format!(
                "layer '{}': {} row(s), first at sample {}{}",
                rows.layer,
                rows.n_rows,
                idxs.join(", "),
                more
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Everything that can go wrong while reading activation files.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum FormatError {
    #[error("no file was given: drop an .npz, .npy or .safetensors file of activations")]
    NoFiles,

    #[error("'{file}': unsupported file type; use .npz, .npy or .safetensors for activations (labels may come as .npy, .csv or .json)")]
    UnknownFileType { file: String },

    #[error("'{file}': could not be read ({message}); check that the file is still there and readable, then load it again")]
    Io { file: String, message: String },

    #[error("'{file}' is truncated: {what} needs {needed} bytes but only {available} are there; the file was probably cut off while copying or downloading: save it again")]
    Truncated {
        file: String,
        what: String,
        needed: u64,
        available: u64,
    },

    #[error("'{file}' is not a valid {format} file (it starts with {found} instead of {expected}); check that the file type matches its extension")]
    BadMagic {
        file: String,
        format: &'static str,
        expected: String,
        found: String,
    },

    #[error("'{file}'{key}: damaged .npy header: {reason}; save the array again with numpy.save / numpy.savez")]
    BadNpyHeader {
        file: String,
        key: KeyLabel,
        reason: String,
    },

    #[error("'{file}'{key}: the .npy header announces {declared_bytes} bytes of data ({shape:?} of {dtype}) but {actual_bytes} bytes are stored; the file is damaged or was edited by hand: save it again")]
    SizeMismatch {
        file: String,
        key: KeyLabel,
        shape: Vec<u64>,
        dtype: String,
        declared_bytes: u64,
        actual_bytes: u64,
    },

    #[error("'{file}'{key}: dtype {dtype} cannot be used as {role}; {hint}")]
    UnsupportedDtype {
        file: String,
        key: KeyLabel,
        dtype: String,
        role: &'static str,
        hint: &'static str,
    },

    #[error("'{file}'{key}: shape {shape:?} cannot be used as {role}; expected {expected}")]
    BadShape {
        file: String,
        key: KeyLabel,
        shape: Vec<u64>,
        role: &'static str,
        expected: &'static str,
    },

    #[error("'{file}'{key}: the activation matrix has zero rows (no samples); export at least one sample")]
    ZeroRows { file: String, key: KeyLabel },

    #[error("'{file}'{key}: the activation matrix has zero columns (no features); export the layer's activations, not an empty array")]
    ZeroColumns { file: String, key: KeyLabel },

    #[error("{what} has {rows} rows but {reference} has {expected_rows}; every layer, the labels, images and projections must have one row per sample, in the same order")]
    RowCountMismatch {
        what: String,
        rows: u64,
        reference: String,
        expected_rows: u64,
    },

    #[error("label {label} of sample {sample_idx} is negative; labels must be class indices 0, 1, 2, ...")]
    NegativeLabel { sample_idx: usize, label: i64 },

    #[error("label {label} of sample {sample_idx} is outside the {n_classes} class names; labels must be between 0 and {max_label} or class_names must list every class", max_label = .n_classes.saturating_sub(1))]
    LabelOutOfRange {
        sample_idx: usize,
        label: i64,
        n_classes: usize,
    },

    #[error("NaN or infinity in the activations ({}); fix the export, or enable 'drop non-finite rows' to leave those samples out", describe_non_finite(.layers))]
    NonFiniteActivations { layers: Vec<NonFiniteRows> },

    #[error("every sample has a NaN or infinity in some layer, so none is left after dropping them; fix the export")]
    NothingLeftAfterDrop,

    #[error(
        "layer name '{layer}' appears twice ({first} and {second}); give each layer a unique name"
    )]
    DuplicateLayer {
        layer: String,
        first: String,
        second: String,
    },

    #[error("'{file}'{key}: {reason}; this is given twice, keep one")]
    Duplicate {
        file: String,
        key: KeyLabel,
        reason: String,
    },

    #[error("'{file}'{key}: the zip entry claims to inflate to {inflated_bytes} bytes but its .npy header needs only {needed_bytes}; refusing it (possible zip bomb). Save the file again with numpy.savez_compressed")]
    ZipBomb {
        file: String,
        key: KeyLabel,
        inflated_bytes: u64,
        needed_bytes: u64,
    },

    #[error("'{file}': damaged or unsupported zip archive: {reason}; save it again with numpy.savez or numpy.savez_compressed")]
    BadZip { file: String, reason: String },

    #[error("'{file}'{key}: the compressed data is damaged ({reason}); save the file again")]
    BadDeflate {
        file: String,
        key: KeyLabel,
        reason: String,
    },

    #[error("'{file}': damaged .safetensors header: {reason}; save it again with safetensors' save_file")]
    BadSafetensors { file: String, reason: String },

    #[error("'{file}': the meta entry is not usable: {reason}; store meta as a JSON object string, e.g. np.array(json.dumps({{\"model\": ..., \"layers\": [...]}}))")]
    BadMeta { file: String, reason: String },

    #[error("'{file}', line {line}: {reason}; {layout}")]
    BadLabelFile {
        file: String,
        line: usize,
        reason: String,
        layout: &'static str,
    },

    #[error("labels are given more than once ({first} and {second}); keep one source of labels")]
    DuplicateLabels { first: String, second: String },

    #[error("no activation matrix found in {files}; store each layer as a 2-D float array named act_<layer> (npz, safetensors) or as its own .npy file")]
    NoActivations { files: String },

    #[error("loading needs {needed_bytes} bytes ({needed_mib} MiB) but only {budget_bytes} bytes ({budget_mib} MiB) are available; export a subsample (e.g. 50,000 samples), fewer layers, or store activations as float16", needed_mib = .needed_bytes / (1024 * 1024), budget_mib = .budget_bytes / (1024 * 1024))]
    TooLarge {
        needed_bytes: u64,
        budget_bytes: u64,
    },

    #[error("this load has already finished or failed; start a new load")]
    JobFinished,

    #[error("'{file}'{key}: a size computed from the header overflows; the header is damaged")]
    SizeOverflow { file: String, key: KeyLabel },
}

/// `" (array 'key')"` or nothing, for messages about a file that holds several arrays.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct KeyLabel(pub Option<String>);

impl KeyLabel {
    pub fn none() -> Self {
        KeyLabel(None)
    }
    pub fn of(key: &str) -> Self {
        KeyLabel(Some(key.to_string()))
    }
}

impl std::fmt::Display for KeyLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(key) => write!(f, " (array '{key}')"),
            None => Ok(()),
        }
    }
}
