//! The session state: everything a person can set and see, as one typed, versioned value
//! ([`SessionState`]). The URL fragment is its encoding ([`codec`]): the link *is* the state.
//!
//! - The views, the worker requests and the fragment are all derived from it; results
//!   (graphs, projections, examples) are caches keyed by the requests, never part of it.
//! - [`SessionState::validate`] checks everything that does not depend on the loaded data;
//!   [`SessionState::check_against`] the rest, once the data is there.
//! - Strings (search text, names, URLs) are kept as data: markup inside them is never
//!   interpreted here, and the UI renders them as text.
//!
//! Architecture invariant: this module and [`crate::protocol`] share their vocabulary
//! through [`crate::vocabulary`]; neither imports the other.

use serde::{Deserialize, Serialize};
use topoact_core::mapper::{Lens, MapperParams};

pub use crate::vocabulary::{DatasetRef, NodeRef, ProjectionKind, ProjectionMethod, ViewMode};

mod codec;
pub use codec::{decode, encode, encode_checked};

#[cfg(test)]
mod tests;

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
/// Largest seed a link may carry: 2^53 - 1, the largest integer a JavaScript number (the
/// worker boundary) holds exactly.
pub const MAX_SEED: u64 = (1 << 53) - 1;
/// Most values of a custom lens carried by a link.
pub const MAX_CUSTOM_LENS_VALUES: usize = 100_000;
/// The share of the graph / projection split given to the graph when nothing else was
/// chosen (links made before the split existed open with it).
pub const DEFAULT_GRAPH_SPLIT: f64 = 0.7;

/// The link prefix of a version.
pub(crate) fn version_prefix(version: u32) -> String {
    format!("v{version}.")
}

/// Zoom and pan of one view: `point_on_screen = point_in_world * scale + offset`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CameraState {
    pub scale: f64,
    pub offset_x: f64,
    pub offset_y: f64,
}

/// Which nodes are highlighted for the network's mistakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MistakeHighlight {
    /// Nodes with at least one misclassified member (search "misclassified").
    Any,
    /// Nodes where samples of `true_class` are predicted as `predicted_class`.
    Confusion {
        true_class: u32,
        predicted_class: u32,
    },
}

impl MistakeHighlight {
    /// Whether a node with these mistakes is highlighted.
    pub fn matches(&self, mistakes: &topoact_core::columns::NodeMistakes) -> bool {
        match *self {
            MistakeHighlight::Any => mistakes.n_errors > 0,
            MistakeHighlight::Confusion {
                true_class,
                predicted_class,
            } => mistakes
                .confusions
                .iter()
                .any(|c| c.true_class == true_class && c.predicted_class == predicted_class),
        }
    }
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
pub struct SessionState {
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
    /// The projection shown (`None`: no projection).
    #[serde(with = "projection_field")]
    pub projection: Option<ProjectionMethod>,
    pub selected_node: Option<NodeRef>,
    /// Samples selected on the projection (rectangle or lasso), strictly ascending.
    pub sample_selection: Vec<u32>,
    /// Class indices highlighted by search or the class directory.
    pub highlighted_classes: Vec<u32>,
    pub search_text: String,
    /// The node colour key (`lens`, `class`, `purity`, `size`, `errors`, `column:<name>`).
    pub colour_by: String,
    /// The point colour key (`class`, `lens`, `membership`, `errors`, `column:<name>`).
    pub point_colour: String,
    /// The sample whose nearest neighbours (in the shown layer) are listed and highlighted.
    pub neighbours_of: Option<u32>,
    /// Nodes highlighted for their mistakes: any, or one confused pair.
    pub highlighted_mistakes: Option<MistakeHighlight>,
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
    /// The share of the graph / projection split's width given to the graph view (the rest
    /// is the projection's); in [0, 1]. The page keeps both views usable by drawing it
    /// within narrower limits (`ui::layout::clamp_split`).
    pub graph_split: f64,
}

impl Default for SessionState {
    fn default() -> Self {
        SessionState {
            dataset: DatasetRef::Demo,
            layer: None,
            mode: ViewMode::Single,
            multilayer_layers: Vec::new(),
            subsample_size: None,
            subsample_seed: 0,
            mapper: MapperParams::default(),
            projection: None,
            selected_node: None,
            sample_selection: Vec::new(),
            highlighted_classes: Vec::new(),
            search_text: String::new(),
            colour_by: "lens".into(),
            point_colour: "class".into(),
            neighbours_of: None,
            highlighted_mistakes: None,
            jaccard_threshold: 0.0,
            show_ribbons: false,
            ribbon_threshold: 0.0,
            show_glyphs: false,
            graph_cameras: Vec::new(),
            projection_camera: None,
            graph_split: DEFAULT_GRAPH_SPLIT,
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

/// What [`SessionState::check_against`] needs to know of the loaded data.
#[derive(Clone, Copy, Debug)]
pub struct LoadedDataFacts<'a> {
    pub layer_names: &'a [String],
    pub n_samples: usize,
    pub n_classes: usize,
}

impl SessionState {
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
        for (field, seed) in [
            ("subsample seed", self.subsample_seed),
            ("mapper seed", self.mapper.seed),
        ] {
            if seed > MAX_SEED {
                return Err(invalid(field, format!("{seed} is above {MAX_SEED}")));
            }
        }
        self.validate_mapper()?;
        match self.projection {
            None | Some(ProjectionMethod::Precomputed { .. }) => {}
            Some(ProjectionMethod::Tsne { perplexity }) => {
                if !(perplexity.is_finite() && perplexity > 0.0 && perplexity <= 10_000.0) {
                    return Err(invalid(
                        "t-SNE perplexity",
                        format!("{perplexity} is not in (0, 10000]"),
                    ));
                }
            }
            Some(ProjectionMethod::Umap {
                n_neighbors,
                min_dist,
            }) => {
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
        check_fraction("graph / projection split", self.graph_split)?;
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
        let last_sample = self.sample_selection.last().into_iter();
        if let Some(&sample_idx) = last_sample.chain(self.neighbours_of.iter()).max() {
            if sample_idx as usize >= facts.n_samples {
                return Err(LinkError::SampleOutOfRange {
                    sample_idx,
                    n_samples: facts.n_samples,
                });
            }
        }
        let mistake_classes = match self.highlighted_mistakes {
            Some(MistakeHighlight::Confusion {
                true_class,
                predicted_class,
            }) => vec![true_class, predicted_class],
            _ => Vec::new(),
        };
        if let Some(&class_idx) = self
            .highlighted_classes
            .iter()
            .chain(&mistake_classes)
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

/// The link's `projection` field: `{"method": "none"}` for no projection, else the
/// [`ProjectionMethod`] itself (`{"method": "umap", "n_neighbors": 20, ...}`), as version 1
/// wrote it.
mod projection_field {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::ProjectionMethod;

    #[derive(Serialize)]
    struct NoProjection {
        method: &'static str,
    }

    pub fn serialize<S: Serializer>(
        projection: &Option<ProjectionMethod>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match projection {
            None => NoProjection { method: "none" }.serialize(serializer),
            Some(method) => method.serialize(serializer),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<ProjectionMethod>, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        if value.get("method").and_then(serde_json::Value::as_str) == Some("none") {
            return Ok(None);
        }
        ProjectionMethod::deserialize(value)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}
