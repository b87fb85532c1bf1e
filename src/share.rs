//! Share links: the whole view as one typed, versioned value ([`ViewState`]) and its codec
//! for the URL fragment ([`encode`], [`decode`]).
//!
//! # The link format, version 1
//!
//! ```text
//! link     = "v1." base64url(zlib(payload))          (no padding; a leading '#' is accepted)
//! payload  = varint(json_len) json selection
//! json     = the ViewState as JSON, without `sample_selection`
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
//! - After parsing, [`ViewState::validate`] checks every number (finite, in range), string
//!   length, count and the mapper parameters. Only then is the state handed to the UI.
//! - What depends on the loaded data (layer names, sample and class counts, node names) is
//!   checked by [`ViewState::check_against`] and [`ViewState::check_selected_node`] once the
//!   data is there.
//!
//! Strings (search text, names, URLs) are kept as data: markup inside them is never
//! interpreted here, and the UI renders them as text.
//!
//! # File identity
//!
//! A dropped file cannot be re-opened from a link; the link records its name, size and a
//! content hash ([`content_hash`]) so the UI can tell whether the file the user drops again is
//! the one the link was made with.

use std::ops::Range;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use topoact_core::mapper::{Lens, MapperParams};

/// The version this code writes. Links of this or any earlier version open.
pub const LINK_VERSION: u32 = 1;
/// Longest link accepted, in characters (64 KiB). Chromium keeps up to 2 MB in the address
/// bar, but other browsers, proxies and chat programs cut far shorter; longer links are
/// refused rather than half-restored.
pub const MAX_LINK_CHARS: usize = 64 * 1024;
/// Largest decompressed payload accepted (4 MiB).
pub const MAX_PAYLOAD_BYTES: usize = 4 * 1024 * 1024;
/// Most selected samples a link may carry.
pub const MAX_SELECTED_SAMPLES: usize = 2_000_000;
/// Most highlighted classes.
pub const MAX_HIGHLIGHTED_CLASSES: usize = 100_000;
/// Most layers side by side in multilayer mode.
pub const MAX_MULTILAYER_LAYERS: usize = 3;
/// Longest free text (search text, names, keys), in characters.
pub const MAX_TEXT_CHARS: usize = 1024;
/// Longest dataset URL, in characters.
pub const MAX_URL_CHARS: usize = 8192;
/// Most values of a custom lens carried by a link.
pub const MAX_CUSTOM_LENS_VALUES: usize = 100_000;

/// Bytes hashed at each end of a large file by [`content_hash`] (1 MiB).
pub const HASHED_EDGE_BYTES: u64 = 1024 * 1024;

/// The link prefix of a version.
fn version_prefix(version: u32) -> String {
    format!("v{version}.")
}

/// Which data the view shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DatasetRef {
    /// The demo dataset shipped with the page.
    #[default]
    Demo,
    /// A file fetched from this address (`?data=URL`).
    Url { url: String },
    /// A file the user dropped or picked: it cannot be fetched again, so the link says which
    /// file it was and the UI asks for it.
    File {
        name: String,
        size_bytes: u64,
        /// [`content_hash`] of the file: 16 lowercase hexadecimal digits.
        content_hash: String,
    },
    /// Synthetic benchmark data generated in the page.
    Synthetic {
        n_samples: usize,
        dim: usize,
        seed: u64,
    },
}

/// One layer at a time, or adjacent layers side by side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewMode {
    #[default]
    Single,
    Multilayer,
}

/// Which of the file's precomputed projections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrecomputedProjection {
    Tsne,
    Umap,
}

/// How the projection view was computed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum ProjectionChoice {
    /// No projection shown.
    #[default]
    None,
    Tsne {
        perplexity: f64,
    },
    Umap {
        n_neighbors: usize,
        min_dist: f64,
    },
    /// Coordinates stored in the file.
    Precomputed {
        kind: PrecomputedProjection,
    },
}

/// A node of one layer's graph, by name (`cube3_cluster1`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRef {
    pub layer: String,
    pub node_name: String,
}

/// Zoom and pan of one view: `point_on_screen = point_in_world * scale + offset`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CameraState {
    pub scale: f64,
    pub offset_x: f64,
    pub offset_y: f64,
}

/// Smallest and largest camera scale accepted.
const CAMERA_SCALE_RANGE: (f64, f64) = (1e-9, 1e9);
/// Largest camera offset accepted (in either direction).
const CAMERA_OFFSET_LIMIT: f64 = 1e12;

/// Everything needed to restore a view. Plain data: no UI types.
///
/// Fields missing from a link's JSON take their [`Default`] values, which is how later
/// versions can add fields and still open older links.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ViewState {
    pub dataset: DatasetRef,
    /// The layer of single-layer mode.
    pub layer: Option<String>,
    pub mode: ViewMode,
    /// The layers of multilayer mode, left to right (at most [`MAX_MULTILAYER_LAYERS`]).
    pub multilayer_layers: Vec<String>,
    /// Samples the graph is computed on (`None`: the app's default).
    pub subsample_size: Option<usize>,
    pub subsample_seed: u64,
    pub mapper: MapperParams,
    pub projection: ProjectionChoice,
    /// Points in the projection (`None`: the app's default).
    pub projection_points: Option<usize>,
    pub selected_node: Option<NodeRef>,
    /// Samples selected on the projection (rectangle or lasso), strictly ascending.
    pub sample_selection: Vec<u32>,
    /// Class indices highlighted by search or the class directory.
    pub highlighted_classes: Vec<u32>,
    pub search_text: String,
    /// The node colour key (`lens`, `class`, `purity`, `size`).
    pub colour_by: String,
    /// The point colour key (`class`, `lens`, `membership`).
    pub point_colour: String,
    /// Links with Jaccard at or below this are hidden; in [0, 1].
    pub jaccard_threshold: f64,
    /// Multilayer ribbons between the graphs of adjacent layers.
    pub show_ribbons: bool,
    /// Ribbons with a share at or below this are hidden; in [0, 1].
    pub ribbon_threshold: f64,
    /// The averaged-activation glyph drawn on each node.
    pub show_glyphs: bool,
    /// One camera per graph view (one in single-layer mode, up to three in multilayer).
    pub graph_cameras: Vec<CameraState>,
    pub projection_camera: Option<CameraState>,
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            dataset: DatasetRef::Demo,
            layer: None,
            mode: ViewMode::Single,
            multilayer_layers: Vec::new(),
            subsample_size: None,
            subsample_seed: 0,
            mapper: MapperParams::default(),
            projection: ProjectionChoice::None,
            projection_points: None,
            selected_node: None,
            sample_selection: Vec::new(),
            highlighted_classes: Vec::new(),
            search_text: String::new(),
            colour_by: "lens".into(),
            point_colour: "class".into(),
            jaccard_threshold: 0.0,
            show_ribbons: false,
            ribbon_threshold: 0.0,
            show_glyphs: false,
            graph_cameras: Vec::new(),
            projection_camera: None,
        }
    }
}

/// What a link can get wrong, each with a message for the person who opened it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LinkError {
    #[error("This link is empty: there is no view to restore.")]
    Empty,
    #[error("This is not a TopoAct view link (it should start with \"v{LINK_VERSION}.\").")]
    NotAViewLink,
    #[error("This link is damaged (it was cut short or altered): {detail}. Ask for the link again, copied in full.")]
    Damaged { detail: String },
    #[error("This link was made by a newer version (v{version}) of TopoAct; this page reads links up to v{LINK_VERSION}. Reload the page to get the newest version.")]
    FutureVersion { version: u32 },
    #[error("This link is longer than browsers keep ({chars} characters; at most {MAX_LINK_CHARS} are accepted).")]
    TooLong { chars: usize },
    #[error("This link unpacks to more than {MAX_PAYLOAD_BYTES} bytes of view state; it was not made by TopoAct.")]
    PayloadTooLarge,
    #[error("This link's {field} is not valid: {problem}.")]
    Invalid {
        field: &'static str,
        problem: String,
    },
    #[error(
        "The link shows layer \"{layer}\", which this data does not have (it has: {available})."
    )]
    MissingLayer { layer: String, available: String },
    #[error("The link selects sample {sample_idx}, but this data has only {n_samples} samples.")]
    SampleOutOfRange { sample_idx: u32, n_samples: usize },
    #[error("The link highlights class {class_idx}, but this data has only {n_classes} classes.")]
    ClassOutOfRange { class_idx: u32, n_classes: usize },
    #[error("The link selects node \"{node_name}\" of layer \"{layer}\", which is not in the graph computed here.")]
    UnknownNode { layer: String, node_name: String },
}

fn invalid(field: &'static str, problem: impl Into<String>) -> LinkError {
    LinkError::Invalid {
        field,
        problem: problem.into(),
    }
}

/// What [`ViewState::check_against`] needs to know of the loaded data.
#[derive(Clone, Copy, Debug)]
pub struct LoadedDataFacts<'a> {
    pub layer_names: &'a [String],
    pub n_samples: usize,
    pub n_classes: usize,
}

impl ViewState {
    /// Checks everything that does not depend on the loaded data: finite numbers in range,
    /// bounded strings and counts, an ascending selection, valid mapper parameters.
    pub fn validate(&self) -> Result<(), LinkError> {
        match &self.dataset {
            DatasetRef::Demo => {}
            DatasetRef::Url { url } => {
                check_text("dataset URL", url, MAX_URL_CHARS)?;
                if url.is_empty() {
                    return Err(invalid("dataset URL", "it is empty"));
                }
            }
            DatasetRef::File {
                name, content_hash, ..
            } => {
                check_text("file name", name, MAX_TEXT_CHARS)?;
                let is_hash = content_hash.len() == 16
                    && content_hash
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if !is_hash {
                    return Err(invalid(
                        "file content hash",
                        "it must be 16 lowercase hexadecimal digits",
                    ));
                }
            }
            DatasetRef::Synthetic { n_samples, dim, .. } => {
                if *n_samples == 0 || *dim == 0 {
                    return Err(invalid(
                        "synthetic data size",
                        "samples and dimension must be at least 1",
                    ));
                }
            }
        }
        if let Some(layer) = &self.layer {
            check_text("layer name", layer, MAX_TEXT_CHARS)?;
        }
        if self.multilayer_layers.len() > MAX_MULTILAYER_LAYERS {
            return Err(invalid(
                "multilayer view",
                format!(
                    "it has {} layers; at most {MAX_MULTILAYER_LAYERS} are shown",
                    self.multilayer_layers.len()
                ),
            ));
        }
        for layer in &self.multilayer_layers {
            check_text("layer name", layer, MAX_TEXT_CHARS)?;
        }
        if self.subsample_size == Some(0) {
            return Err(invalid("subsample size", "it must be at least 1"));
        }
        if self.projection_points == Some(0) {
            return Err(invalid("projection size", "it must be at least 1"));
        }
        self.validate_mapper()?;
        match self.projection {
            ProjectionChoice::None | ProjectionChoice::Precomputed { .. } => {}
            ProjectionChoice::Tsne { perplexity } => {
                if !(perplexity.is_finite() && perplexity > 0.0 && perplexity <= 10_000.0) {
                    return Err(invalid(
                        "t-SNE perplexity",
                        format!("{perplexity} is not in (0, 10000]"),
                    ));
                }
            }
            ProjectionChoice::Umap {
                n_neighbors,
                min_dist,
            } => {
                if !(1..=10_000).contains(&n_neighbors) {
                    return Err(invalid(
                        "UMAP neighbour count",
                        format!("{n_neighbors} is not in [1, 10000]"),
                    ));
                }
                if !(min_dist.is_finite() && (0.0..=100.0).contains(&min_dist)) {
                    return Err(invalid(
                        "UMAP min_dist",
                        format!("{min_dist} is not in [0, 100]"),
                    ));
                }
            }
        }
        if let Some(node) = &self.selected_node {
            check_text("selected node's layer", &node.layer, MAX_TEXT_CHARS)?;
            check_text("selected node's name", &node.node_name, MAX_TEXT_CHARS)?;
        }
        if self.sample_selection.len() > MAX_SELECTED_SAMPLES {
            return Err(invalid(
                "sample selection",
                format!(
                    "{} samples; at most {MAX_SELECTED_SAMPLES}",
                    self.sample_selection.len()
                ),
            ));
        }
        if self
            .sample_selection
            .windows(2)
            .any(|pair| pair[0] >= pair[1])
        {
            return Err(invalid(
                "sample selection",
                "the sample indices are not strictly ascending",
            ));
        }
        if self.highlighted_classes.len() > MAX_HIGHLIGHTED_CLASSES {
            return Err(invalid(
                "class highlight",
                format!(
                    "{} classes; at most {MAX_HIGHLIGHTED_CLASSES}",
                    self.highlighted_classes.len()
                ),
            ));
        }
        check_text("search text", &self.search_text, MAX_TEXT_CHARS)?;
        check_text("node colour", &self.colour_by, MAX_TEXT_CHARS)?;
        check_text("point colour", &self.point_colour, MAX_TEXT_CHARS)?;
        check_fraction("Jaccard threshold", self.jaccard_threshold)?;
        check_fraction("ribbon threshold", self.ribbon_threshold)?;
        if self.graph_cameras.len() > MAX_MULTILAYER_LAYERS {
            return Err(invalid(
                "graph cameras",
                format!(
                    "{} cameras; at most {MAX_MULTILAYER_LAYERS}",
                    self.graph_cameras.len()
                ),
            ));
        }
        for camera in self
            .graph_cameras
            .iter()
            .chain(self.projection_camera.iter())
        {
            check_camera(camera)?;
        }
        Ok(())
    }

    fn validate_mapper(&self) -> Result<(), LinkError> {
        if let Lens::Custom {
            name,
            values_by_sample,
        } = &self.mapper.lens
        {
            check_text("custom lens name", name, MAX_TEXT_CHARS)?;
            if values_by_sample.len() > MAX_CUSTOM_LENS_VALUES {
                return Err(invalid(
                    "custom lens",
                    format!(
                        "{} values; at most {MAX_CUSTOM_LENS_VALUES}",
                        values_by_sample.len()
                    ),
                ));
            }
        }
        if !self.mapper.overlap.is_finite() {
            return Err(invalid(
                "mapper parameters",
                "the overlap is not a finite number",
            ));
        }
        self.mapper
            .clone()
            .validate()
            .map_err(|err| invalid("mapper parameters", err.to_string()))?;
        Ok(())
    }

    /// Checks the state against the loaded data: every named layer exists, every selected
    /// sample and highlighted class is in range. Call after [`decode`] once data is loaded.
    pub fn check_against(&self, facts: LoadedDataFacts<'_>) -> Result<(), LinkError> {
        let named_layers = self
            .layer
            .iter()
            .chain(self.multilayer_layers.iter())
            .chain(self.selected_node.iter().map(|node| &node.layer));
        for layer in named_layers {
            if !facts.layer_names.iter().any(|name| name == layer) {
                return Err(LinkError::MissingLayer {
                    layer: layer.clone(),
                    available: facts.layer_names.join(", "),
                });
            }
        }
        if let Some(&sample_idx) = self.sample_selection.last() {
            if sample_idx as usize >= facts.n_samples {
                return Err(LinkError::SampleOutOfRange {
                    sample_idx,
                    n_samples: facts.n_samples,
                });
            }
        }
        if let Some(&class_idx) = self
            .highlighted_classes
            .iter()
            .find(|&&class_idx| class_idx as usize >= facts.n_classes)
        {
            return Err(LinkError::ClassOutOfRange {
                class_idx,
                n_classes: facts.n_classes,
            });
        }
        Ok(())
    }

    /// Checks that the selected node, if it belongs to `layer`, is one of `node_names` (the
    /// graph just computed for that layer). Nodes of other layers are not checked.
    pub fn check_selected_node<'a>(
        &self,
        layer: &str,
        node_names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), LinkError> {
        match &self.selected_node {
            Some(node) if node.layer == layer => {
                if node_names.into_iter().any(|name| name == node.node_name) {
                    Ok(())
                } else {
                    Err(LinkError::UnknownNode {
                        layer: node.layer.clone(),
                        node_name: node.node_name.clone(),
                    })
                }
            }
            _ => Ok(()),
        }
    }
}

fn check_text(field: &'static str, text: &str, max_chars: usize) -> Result<(), LinkError> {
    // Bytes bound characters from above: only count characters when the bytes exceed it.
    if text.len() > max_chars && text.chars().count() > max_chars {
        return Err(invalid(
            field,
            format!("it is longer than {max_chars} characters"),
        ));
    }
    Ok(())
}

fn check_fraction(field: &'static str, value: f64) -> Result<(), LinkError> {
    if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
        return Err(invalid(field, format!("{value} is not in [0, 1]")));
    }
    Ok(())
}

fn check_camera(camera: &CameraState) -> Result<(), LinkError> {
    let (scale_min, scale_max) = CAMERA_SCALE_RANGE;
    if !(camera.scale.is_finite() && camera.scale >= scale_min && camera.scale <= scale_max) {
        return Err(invalid(
            "camera zoom",
            format!(
                "{} is not a zoom factor in [{scale_min}, {scale_max}]",
                camera.scale
            ),
        ));
    }
    for offset in [camera.offset_x, camera.offset_y] {
        if !(offset.is_finite() && offset.abs() <= CAMERA_OFFSET_LIMIT) {
            return Err(invalid(
                "camera pan",
                format!("{offset} is not a finite offset within {CAMERA_OFFSET_LIMIT}"),
            ));
        }
    }
    Ok(())
}

/// Encodes a view as a URL-fragment-safe link (`v1.` + base64url characters).
///
/// Encoding does not validate; the result may be refused by [`decode`] (for example when it
/// is longer than [`MAX_LINK_CHARS`]). Use [`encode_checked`] to find out before sharing.
pub fn encode(state: &ViewState) -> String {
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
pub fn encode_checked(state: &ViewState) -> Result<String, LinkError> {
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
pub fn decode(link: &str) -> Result<ViewState, LinkError> {
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

fn parse_payload(payload: &[u8]) -> Result<ViewState, LinkError> {
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
    let mut state: ViewState = serde_json::from_slice(json).map_err(|err| LinkError::Damaged {
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

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
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
/// ascending input (what [`ViewState::validate`] requires); other input is still written
/// losslessly enough to be refused on decoding (a wrapped gap decodes out of order or past
/// `u32::MAX`).
fn write_selection(out: &mut Vec<u8>, samples: &[u32]) {
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

struct ByteCursor<'a> {
    bytes: &'a [u8],
    position: usize,
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
    fn varint(&mut self) -> Result<u64, LinkError> {
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

/// Why [`content_hash`] could not hash.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the file's hashed ranges hold {expected} bytes, but {got} were given")]
pub struct ContentHashError {
    pub expected: u64,
    pub got: u64,
}

/// The byte ranges of a file of `size_bytes` that [`content_hash`] reads: the whole file up
/// to 2 MiB, else the first and the last [`HASHED_EDGE_BYTES`] (1 MiB each).
///
/// Large files are not hashed whole: reading 2 GB in a tab to compare a link takes too long.
/// Two files of the same size that differ only in their middle therefore hash alike; together
/// with the name and the exact size this is enough to catch the usual mistake (a different
/// file, another export of the same model), not a deliberate forgery.
#[allow(clippy::single_range_in_vec_init)] // one range or two: a list either way
pub fn hashed_ranges(size_bytes: u64) -> Vec<Range<u64>> {
    if size_bytes <= 2 * HASHED_EDGE_BYTES {
        vec![0..size_bytes]
    } else {
        vec![
            0..HASHED_EDGE_BYTES,
            size_bytes - HASHED_EDGE_BYTES..size_bytes,
        ]
    }
}

/// FNV-1a, 64 bits (Fowler, Noll, Vo): for each byte, `hash ^= byte; hash *= 0x100000001b3`,
/// starting from `0xcbf29ce484222325`. Not cryptographic.
#[derive(Clone, Copy, Debug)]
struct Fnv1a64(u64);

impl Fnv1a64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Self {
        Fnv1a64(Self::OFFSET_BASIS)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }
}

/// The content hash recorded for a dropped file: FNV-1a 64 over the file size (8 bytes,
/// little-endian) followed by the bytes of [`hashed_ranges`]`(size_bytes)` in order, written as
/// 16 lowercase hexadecimal digits.
///
/// `chunks` are those bytes in order, cut anywhere (the UI reads them slice by slice); their
/// total length must be that of the ranges.
pub fn content_hash<'a>(
    size_bytes: u64,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<String, ContentHashError> {
    let expected: u64 = hashed_ranges(size_bytes)
        .iter()
        .map(|range| range.end - range.start)
        .sum();
    let mut hasher = Fnv1a64::new();
    hasher.update(&size_bytes.to_le_bytes());
    let mut got: u64 = 0;
    for chunk in chunks {
        got += chunk.len() as u64;
        if got > expected {
            return Err(ContentHashError { expected, got });
        }
        hasher.update(chunk);
    }
    if got != expected {
        return Err(ContentHashError { expected, got });
    }
    Ok(format!("{:016x}", hasher.0))
}

/// [`content_hash`] of a file held whole in memory (tests, the native command).
pub fn content_hash_of_bytes(bytes: &[u8]) -> String {
    let ranges = hashed_ranges(bytes.len() as u64);
    let chunks = ranges
        .iter()
        .map(|range| &bytes[range.start as usize..range.end as usize]);
    // The ranges are computed from this very length, so the lengths always agree.
    content_hash(bytes.len() as u64, chunks).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use topoact_core::mapper::{CoverKind, Epsilon};

    use super::*;

    /// The state encoded in `tests/fixtures/links/v1.txt` (made by version 1 of the codec).
    fn fixture_state() -> ViewState {
        ViewState {
            dataset: DatasetRef::File {
                name: "inception <b>mixed</b> \"4c\".npz".into(),
                size_bytes: 1_234_567_890,
                content_hash: "0123456789abcdef".into(),
            },
            layer: Some("mixed4c".into()),
            mode: ViewMode::Multilayer,
            multilayer_layers: vec!["mixed4b".into(), "mixed4c".into(), "mixed4d".into()],
            subsample_size: Some(50_000),
            subsample_seed: 7,
            mapper: MapperParams {
                lens: Lens::KnnDistance { k: 10 },
                cover: CoverKind::Balanced,
                n_intervals: 40,
                overlap: 0.5,
                epsilon: Epsilon::Explicit(0.6379049324125498),
                min_samples: 3,
                min_intersection: 2,
                seed: 11,
                remove_duplicate_nodes: true,
            },
            projection: ProjectionChoice::Umap {
                n_neighbors: 20,
                min_dist: 0.01,
            },
            projection_points: Some(10_000),
            selected_node: Some(NodeRef {
                layer: "mixed4c".into(),
                node_name: "cube3_cluster1".into(),
            }),
            sample_selection: vec![0, 1, 2, 3, 10, 1000, 1001, 65_535, 4_000_000_000],
            highlighted_classes: vec![3, 999, 1],
            search_text: "<script>alert('x')</script> golden retriever".into(),
            colour_by: "purity".into(),
            point_colour: "membership".into(),
            jaccard_threshold: 0.25,
            show_ribbons: true,
            ribbon_threshold: 0.1,
            show_glyphs: true,
            graph_cameras: vec![
                CameraState {
                    scale: 1.5,
                    offset_x: -20.25,
                    offset_y: 3.0,
                },
                CameraState {
                    scale: 0.2,
                    offset_x: 0.0,
                    offset_y: 0.0,
                },
                CameraState {
                    scale: 5.0,
                    offset_x: 1e6,
                    offset_y: -1e-3,
                },
            ],
            projection_camera: Some(CameraState {
                scale: 2.0,
                offset_x: 0.5,
                offset_y: -0.5,
            }),
        }
    }

    const FIXTURE_V1: &str = include_str!("../tests/fixtures/links/v1.txt");

    /// Links made by version 1 must keep opening, to the same view.
    #[test]
    fn share_fixture_v1_link_still_decodes() {
        let decoded = decode(FIXTURE_V1).expect("the version-1 fixture link decodes");
        assert_eq!(decoded, fixture_state());
    }

    /// Prints the fixture link (run with `--ignored --nocapture` to regenerate; only when the
    /// format's version changes, never for version 1).
    #[test]
    #[ignore]
    fn share_print_fixture_link() {
        println!("{}", encode(&fixture_state()));
    }

    #[test]
    fn share_default_state_round_trips_as_fragment_safe_text() {
        let link = encode(&ViewState::default());
        assert!(link.starts_with("v1."));
        let is_fragment_safe = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
        assert!(link.chars().all(is_fragment_safe), "{link}");
        assert_eq!(decode(&link), Ok(ViewState::default()));
        assert_eq!(decode(&format!("#{link}")), Ok(ViewState::default()));
    }

    #[test]
    fn share_markup_in_strings_is_kept_as_text() {
        let state = ViewState {
            search_text: "<script>alert(1)</script>".into(),
            layer: Some("\"><img src=x onerror=alert(1)>".into()),
            dataset: DatasetRef::Url {
                url: "javascript:alert(1)//<svg onload=x>".into(),
            },
            ..ViewState::default()
        };
        let decoded = decode(&encode(&state)).expect("decodes");
        assert_eq!(decoded.search_text, "<script>alert(1)</script>");
        assert_eq!(decoded, state);
    }

    #[test]
    fn share_large_selections_stay_compact() {
        // A lasso over 50,000 contiguous-ish samples of 300,000.
        let state = ViewState {
            sample_selection: (0..300_000u32)
                .filter(|idx| idx % 6 < 1 || (100_000..140_000).contains(idx))
                .collect(),
            ..ViewState::default()
        };
        let link = encode_checked(&state).expect("fits in a link");
        assert!(link.len() < 16 * 1024, "{} characters", link.len());
        assert_eq!(decode(&link), Ok(state.clone()));
        // 50,000 scattered samples (a pseudo-random choice): the worst realistic case.
        let mut scatter_state = ViewState::default();
        let mut value: u64 = 12345;
        let mut chosen = std::collections::BTreeSet::new();
        while chosen.len() < 50_000 {
            value = value
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            chosen.insert(((value >> 33) % 300_000) as u32);
        }
        scatter_state.sample_selection = chosen.into_iter().collect();
        let link = encode_checked(&scatter_state).expect("fits in a link");
        assert_eq!(decode(&link), Ok(scatter_state));
    }

    #[test]
    fn share_every_truncation_is_refused() {
        let link = encode(&fixture_state());
        for len in 0..link.len() {
            assert!(
                decode(&link[..len]).is_err(),
                "prefix of {len} characters decoded"
            );
        }
    }

    #[test]
    fn share_every_single_character_change_is_refused() {
        let link = encode(&fixture_state());
        for (position, original) in link.char_indices().skip(3) {
            for replacement in ['A', 'f', '0', '-', '_'] {
                if replacement == original {
                    continue;
                }
                let mut altered = link.clone();
                altered.replace_range(position..position + 1, &replacement.to_string());
                let result = decode(&altered);
                assert!(
                    matches!(result, Err(LinkError::Damaged { .. })),
                    "changing character {position} to {replacement} gave {result:?}"
                );
            }
        }
    }

    #[test]
    fn share_future_versions_are_refused_by_name() {
        let body = &encode(&ViewState::default())[3..];
        let result = decode(&format!("v3.{body}"));
        assert_eq!(result, Err(LinkError::FutureVersion { version: 3 }));
        let message = result.err().map(|err| err.to_string()).unwrap_or_default();
        assert!(message.contains("newer version (v3)"), "{message}");
        assert_eq!(
            decode("v2.anything"),
            Err(LinkError::FutureVersion { version: 2 })
        );
    }

    #[test]
    fn share_malformed_prefixes_are_refused() {
        check_error("", LinkError::Empty);
        check_error("#", LinkError::Empty);
        check_error("hello", LinkError::NotAViewLink);
        check_error("v.abc", LinkError::NotAViewLink);
        check_error("v0.abc", LinkError::NotAViewLink);
        check_error("v99999999999.abc", LinkError::NotAViewLink);
        assert!(matches!(decode("v1"), Err(LinkError::Damaged { .. })));
        assert!(matches!(decode("v1."), Err(LinkError::Damaged { .. })));
        assert!(matches!(decode("v1.!!!"), Err(LinkError::Damaged { .. })));
    }

    fn check_error(link: &str, expected: LinkError) {
        assert_eq!(decode(link), Err(expected), "link {link:?}");
    }

    #[test]
    fn share_overlong_links_are_refused_before_decoding() {
        let link = format!("v1.{}", "A".repeat(MAX_LINK_CHARS));
        let result = decode(&link);
        assert_eq!(
            result,
            Err(LinkError::TooLong {
                chars: MAX_LINK_CHARS + 3
            })
        );
        let message = result.err().map(|err| err.to_string()).unwrap_or_default();
        assert!(message.contains("longer than browsers keep"), "{message}");
        // A view too big to share is caught before sharing.
        let mut state = ViewState::default();
        let mut random: u64 = 99;
        let mut sample_idx: u32 = 0;
        state.sample_selection = (0..1_000_000)
            .map(|_| {
                random = random
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                sample_idx += 1 + ((random >> 33) % 4000) as u32;
                sample_idx
            })
            .collect();
        let checked = encode_checked(&state);
        assert!(
            matches!(checked, Err(LinkError::TooLong { .. })),
            "{:?}",
            checked.map(|link| link.len())
        );
    }

    /// A short link that inflates to more than the payload limit (a "zip bomb").
    #[test]
    fn share_oversized_payloads_stop_at_the_limit() {
        let zeros = vec![0u8; MAX_PAYLOAD_BYTES + 1024];
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&zeros, 9);
        let link = format!("v1.{}", URL_SAFE_NO_PAD.encode(compressed));
        assert!(link.len() < MAX_LINK_CHARS);
        assert_eq!(decode(&link), Err(LinkError::PayloadTooLarge));
    }

    /// A link made from an arbitrary payload (valid framing, any content).
    fn link_of_payload(payload: &[u8]) -> String {
        format!(
            "v1.{}",
            URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec_zlib(payload, 6))
        )
    }

    fn payload_of(json: &str, selection: &[u32]) -> Vec<u8> {
        let mut payload = Vec::new();
        write_varint(&mut payload, json.len() as u64);
        payload.extend_from_slice(json.as_bytes());
        write_selection(&mut payload, selection);
        payload
    }

    #[test]
    fn share_invalid_states_name_the_problem() {
        type Spoil = fn(&mut ViewState);
        let cases: Vec<(&str, Spoil)> = vec![
            ("Jaccard threshold", |s| s.jaccard_threshold = 1.5),
            ("ribbon threshold", |s| s.ribbon_threshold = -0.1),
            ("camera zoom", |s| {
                s.graph_cameras = vec![CameraState {
                    scale: 0.0,
                    offset_x: 0.0,
                    offset_y: 0.0,
                }]
            }),
            ("camera pan", |s| {
                s.projection_camera = Some(CameraState {
                    scale: 1.0,
                    offset_x: 1e300,
                    offset_y: 0.0,
                })
            }),
            ("graph cameras", |s| {
                s.graph_cameras = vec![
                    CameraState {
                        scale: 1.0,
                        offset_x: 0.0,
                        offset_y: 0.0
                    };
                    4
                ]
            }),
            ("mapper parameters", |s| s.mapper.overlap = 1.0),
            ("mapper parameters", |s| s.mapper.n_intervals = 0),
            ("mapper parameters", |s| {
                s.mapper.epsilon = Epsilon::Explicit(-1.0)
            }),
            ("multilayer view", |s| {
                s.multilayer_layers = vec!["a".into(); 4]
            }),
            ("search text", |s| {
                s.search_text = "x".repeat(MAX_TEXT_CHARS + 1)
            }),
            ("file content hash", |s| {
                s.dataset = DatasetRef::File {
                    name: "a.npz".into(),
                    size_bytes: 1,
                    content_hash: "<script>".into(),
                }
            }),
            ("dataset URL", |s| {
                s.dataset = DatasetRef::Url { url: String::new() }
            }),
            ("t-SNE perplexity", |s| {
                s.projection = ProjectionChoice::Tsne { perplexity: 0.0 }
            }),
            ("UMAP min_dist", |s| {
                s.projection = ProjectionChoice::Umap {
                    n_neighbors: 15,
                    min_dist: -1.0,
                }
            }),
            ("UMAP neighbour count", |s| {
                s.projection = ProjectionChoice::Umap {
                    n_neighbors: 0,
                    min_dist: 0.1,
                }
            }),
            ("subsample size", |s| s.subsample_size = Some(0)),
            ("custom lens", |s| {
                s.mapper.lens = Lens::Custom {
                    name: "mine".into(),
                    values_by_sample: vec![0.0; MAX_CUSTOM_LENS_VALUES + 1],
                }
            }),
        ];
        for (field, spoil) in cases {
            let mut state = ViewState::default();
            spoil(&mut state);
            let result = decode(&encode(&state));
            match result {
                Err(LinkError::Invalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("expected an invalid {field}, got {other:?}"),
            }
            assert!(encode_checked(&state).is_err());
        }
        // Non-finite numbers cannot be written as JSON; `validate` catches them in memory.
        let mut state = ViewState {
            jaccard_threshold: f64::NAN,
            ..ViewState::default()
        };
        assert!(matches!(
            state.validate(),
            Err(LinkError::Invalid {
                field: "Jaccard threshold",
                ..
            })
        ));
        state = ViewState::default();
        state.graph_cameras = vec![CameraState {
            scale: f64::INFINITY,
            offset_x: 0.0,
            offset_y: 0.0,
        }];
        assert!(matches!(
            state.validate(),
            Err(LinkError::Invalid {
                field: "camera zoom",
                ..
            })
        ));
    }

    #[test]
    fn share_unordered_or_oversized_selections_are_refused() {
        for selection in [vec![5u32, 3], vec![4, 4], vec![u32::MAX, 0]] {
            let link = link_of_payload(&payload_of("{}", &selection));
            assert!(
                matches!(
                    decode(&link),
                    Err(LinkError::Invalid {
                        field: "sample selection",
                        ..
                    })
                ),
                "{selection:?}"
            );
        }
        // A count larger than the bytes that follow.
        let mut payload = payload_of("{}", &[]);
        payload.pop();
        write_varint(&mut payload, 1_000_000);
        assert!(matches!(
            decode(&link_of_payload(&payload)),
            Err(LinkError::Damaged { .. })
        ));
        // Bytes after the selection, a JSON length beyond the payload, bad JSON, wrong types.
        let mut trailing = payload_of("{}", &[1, 2]);
        trailing.push(0);
        assert!(matches!(
            decode(&link_of_payload(&trailing)),
            Err(LinkError::Damaged { .. })
        ));
        let mut long_json = Vec::new();
        write_varint(&mut long_json, 1 << 40);
        assert!(matches!(
            decode(&link_of_payload(&long_json)),
            Err(LinkError::Damaged { .. })
        ));
        for json in [
            "{",
            "[]",
            "{\"jaccard_threshold\": \"high\"}",
            "{\"mode\": \"triple\"}",
            "{\"jaccard_threshold\": null}",
        ] {
            assert!(
                matches!(
                    decode(&link_of_payload(&payload_of(json, &[]))),
                    Err(LinkError::Damaged { .. })
                ),
                "{json}"
            );
        }
        // Fields unknown to this version are ignored; missing ones take their defaults.
        let link = link_of_payload(&payload_of(
            "{\"added_later\": [1, 2], \"show_glyphs\": true}",
            &[],
        ));
        assert_eq!(
            decode(&link),
            Ok(ViewState {
                show_glyphs: true,
                ..ViewState::default()
            })
        );
    }

    #[test]
    fn share_varints_reject_more_than_64_bits() {
        let mut bytes = Vec::new();
        write_varint(&mut bytes, u64::MAX);
        assert_eq!(
            ByteCursor {
                bytes: &bytes,
                position: 0
            }
            .varint(),
            Ok(u64::MAX)
        );
        let too_long = [0xffu8; 11];
        assert!(ByteCursor {
            bytes: &too_long,
            position: 0
        }
        .varint()
        .is_err());
        let overflowing = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(ByteCursor {
            bytes: &overflowing,
            position: 0
        }
        .varint()
        .is_err());
    }

    #[test]
    fn share_checks_against_the_loaded_data() {
        let layer_names = vec![
            "mixed4b".to_string(),
            "mixed4c".to_string(),
            "mixed4d".to_string(),
        ];
        let facts = LoadedDataFacts {
            layer_names: &layer_names,
            n_samples: 4_000_000_001,
            n_classes: 1000,
        };
        assert_eq!(fixture_state().check_against(facts), Ok(()));

        let mut state = fixture_state();
        state.layer = Some("mixed5b".into());
        assert!(
            matches!(state.check_against(facts), Err(LinkError::MissingLayer { layer, .. }) if layer == "mixed5b")
        );
        let state = fixture_state();
        let few_samples = LoadedDataFacts {
            n_samples: 70_000,
            ..facts
        };
        assert_eq!(
            state.check_against(few_samples),
            Err(LinkError::SampleOutOfRange {
                sample_idx: 4_000_000_000,
                n_samples: 70_000
            })
        );
        let few_classes = LoadedDataFacts {
            n_classes: 10,
            ..facts
        };
        assert_eq!(
            state.check_against(few_classes),
            Err(LinkError::ClassOutOfRange {
                class_idx: 999,
                n_classes: 10
            })
        );

        assert_eq!(
            state.check_selected_node("mixed4c", ["cube0_cluster0", "cube3_cluster1"]),
            Ok(())
        );
        assert_eq!(
            state.check_selected_node("mixed4b", ["cube0_cluster0"]),
            Ok(())
        );
        assert_eq!(
            state.check_selected_node("mixed4c", ["cube0_cluster0"]),
            Err(LinkError::UnknownNode {
                layer: "mixed4c".into(),
                node_name: "cube3_cluster1".into()
            })
        );
    }

    #[test]
    fn share_fnv1a64_matches_its_published_values() {
        let hash_of = |bytes: &[u8]| {
            let mut hasher = Fnv1a64::new();
            hasher.update(bytes);
            hasher.0
        };
        assert_eq!(hash_of(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash_of(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash_of(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn share_content_hash_reads_both_ends_of_large_files() {
        let small: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 251) as u8).collect();
        let whole = content_hash_of_bytes(&small);
        assert_eq!(whole.len(), 16);
        let chunked = content_hash(small.len() as u64, small.chunks(777));
        assert_eq!(chunked, Ok(whole.clone()));
        assert_eq!(hashed_ranges(small.len() as u64), vec![0..5000]);
        assert_eq!(
            content_hash(small.len() as u64, [&small[..100]]),
            Err(ContentHashError {
                expected: 5000,
                got: 100
            })
        );

        let size = 3 * HASHED_EDGE_BYTES as usize;
        let mut large: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
        let original = content_hash_of_bytes(&large);
        large[size / 2] ^= 1; // the unread middle
        assert_eq!(content_hash_of_bytes(&large), original);
        large[0] ^= 1;
        assert_ne!(content_hash_of_bytes(&large), original);
        large[0] ^= 1;
        large[size - 1] ^= 1;
        assert_ne!(content_hash_of_bytes(&large), original);
        // The size is part of the hash.
        assert_ne!(content_hash_of_bytes(&large[..size - 1]), original);
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            ".{0,24}",
            Just("<script>alert(1)</script>".to_string()),
            "[a-z0-9_]{1,12}"
        ]
    }

    fn camera() -> impl Strategy<Value = CameraState> {
        (1e-6f64..1e6, -1e9f64..1e9, -1e9f64..1e9).prop_map(|(scale, offset_x, offset_y)| {
            CameraState {
                scale,
                offset_x,
                offset_y,
            }
        })
    }

    fn dataset() -> impl Strategy<Value = DatasetRef> {
        prop_oneof![
            Just(DatasetRef::Demo),
            text()
                .prop_filter("non-empty", |url| !url.is_empty())
                .prop_map(|url| DatasetRef::Url { url }),
            (text(), any::<u64>(), any::<u64>()).prop_map(|(name, size_bytes, hash)| {
                DatasetRef::File {
                    name,
                    size_bytes,
                    content_hash: format!("{hash:016x}"),
                }
            }),
            (1usize..1_000_000, 1usize..4096, any::<u64>()).prop_map(|(n_samples, dim, seed)| {
                DatasetRef::Synthetic {
                    n_samples,
                    dim,
                    seed,
                }
            }),
        ]
    }

    fn mapper_params() -> impl Strategy<Value = MapperParams> {
        let lens = prop_oneof![
            Just(Lens::L2Norm),
            Just(Lens::FirstPrincipalComponent),
            (1usize..50).prop_map(|k| Lens::KnnDistance { k }),
            (text(), prop::collection::vec(-1e12f64..1e12, 0..20)).prop_map(
                |(name, values_by_sample)| Lens::Custom {
                    name,
                    values_by_sample
                }
            ),
        ];
        let epsilon = prop_oneof![
            (1e-12f64..1e6).prop_map(Epsilon::Explicit),
            (1usize..100, 0.0f64..=1.0, any::<bool>()).prop_map(|(k, quantile, per_interval)| {
                Epsilon::KnnQuantile {
                    k,
                    quantile,
                    per_interval,
                }
            }),
        ];
        (
            lens,
            any::<bool>(),
            1usize..500,
            0.0f64..0.999,
            epsilon,
            1usize..100,
            1usize..20,
            any::<u64>(),
            any::<bool>(),
        )
            .prop_map(
                |(
                    lens,
                    balanced,
                    n_intervals,
                    overlap,
                    epsilon,
                    min_samples,
                    min_intersection,
                    seed,
                    dedup,
                )| {
                    MapperParams {
                        lens,
                        cover: if balanced {
                            CoverKind::Balanced
                        } else {
                            CoverKind::Uniform
                        },
                        n_intervals,
                        overlap,
                        epsilon,
                        min_samples,
                        min_intersection,
                        seed,
                        remove_duplicate_nodes: dedup,
                    }
                },
            )
    }

    fn projection() -> impl Strategy<Value = ProjectionChoice> {
        prop_oneof![
            Just(ProjectionChoice::None),
            (0.001f64..10_000.0).prop_map(|perplexity| ProjectionChoice::Tsne { perplexity }),
            (1usize..10_000, 0.0f64..100.0).prop_map(|(n_neighbors, min_dist)| {
                ProjectionChoice::Umap {
                    n_neighbors,
                    min_dist,
                }
            }),
            Just(ProjectionChoice::Precomputed {
                kind: PrecomputedProjection::Tsne
            }),
            Just(ProjectionChoice::Precomputed {
                kind: PrecomputedProjection::Umap
            }),
        ]
    }

    fn view_state() -> impl Strategy<Value = ViewState> {
        let data_part = (
            dataset(),
            prop::option::of(text()),
            any::<bool>(),
            prop::collection::vec(text(), 0..=3),
            prop::option::of(1usize..10_000_000),
            any::<u64>(),
            mapper_params(),
            projection(),
            prop::option::of(1usize..1_000_000),
        );
        let selection_part = (
            prop::option::of((text(), text())),
            prop::collection::btree_set(any::<u32>(), 0..300),
            prop::collection::vec(any::<u32>(), 0..20),
            text(),
            text(),
            text(),
        );
        let display_part = (
            0.0f64..=1.0,
            any::<bool>(),
            0.0f64..=1.0,
            any::<bool>(),
            prop::collection::vec(camera(), 0..=3),
            prop::option::of(camera()),
        );
        (data_part, selection_part, display_part).prop_map(|(data, selection, display)| {
            let (
                dataset,
                layer,
                multilayer,
                multilayer_layers,
                subsample_size,
                subsample_seed,
                mapper,
                projection,
                projection_points,
            ) = data;
            let (selected, samples, highlighted_classes, search_text, colour_by, point_colour) =
                selection;
            let (
                jaccard_threshold,
                show_ribbons,
                ribbon_threshold,
                show_glyphs,
                graph_cameras,
                projection_camera,
            ) = display;
            ViewState {
                dataset,
                layer,
                mode: if multilayer {
                    ViewMode::Multilayer
                } else {
                    ViewMode::Single
                },
                multilayer_layers,
                subsample_size,
                subsample_seed,
                mapper,
                projection,
                projection_points,
                selected_node: selected.map(|(layer, node_name)| NodeRef { layer, node_name }),
                sample_selection: samples.into_iter().collect(),
                highlighted_classes,
                search_text,
                colour_by,
                point_colour,
                jaccard_threshold,
                show_ribbons,
                ribbon_threshold,
                show_glyphs,
                graph_cameras,
                projection_camera,
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn share_round_trip_is_exact(state in view_state()) {
            prop_assert_eq!(state.validate(), Ok(()));
            let link = encode_checked(&state).expect("a valid state encodes");
            prop_assert_eq!(decode(&link), Ok(state));
        }

        #[test]
        fn share_decoder_never_panics_on_text(text in ".{0,300}") {
            let _ = decode(&text);
            let _ = decode(&format!("v1.{text}"));
        }

        #[test]
        fn share_decoder_never_panics_on_base64(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode(&format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes)));
            // The same bytes as a well-framed payload reach the parser itself.
            let result = decode(&link_of_payload(&bytes));
            prop_assert!(result.is_err() || bytes.len() > 2);
        }

        /// Altered payloads behind a valid checksum: parsing and validation refuse or accept,
        /// never panic, and anything accepted is valid.
        #[test]
        fn share_decoder_never_panics_on_altered_payloads(
            state in view_state(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut selection_less = state.clone();
            selection_less.sample_selection.clear();
            let json = serde_json::to_string(&selection_less).expect("json");
            let mut payload = payload_of(&json, &state.sample_selection);
            for (position, value) in flips {
                let position = position.index(payload.len());
                payload[position] = value;
            }
            if let Ok(decoded) = decode(&link_of_payload(&payload)) {
                prop_assert_eq!(decoded.validate(), Ok(()));
            }
        }
    }
}
