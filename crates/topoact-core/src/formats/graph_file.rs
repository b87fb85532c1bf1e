//! Import of a precomputed mapper graph: KeplerMapper's graph dict or NetworkX node-link JSON
//! (TopoAct's graph files, and our own [`to_node_link_json`](super::to_node_link_json)).
//!
//! Accepted shapes (the format is told by the type of `nodes`):
//! - **KeplerMapper** (`KeplerMapper.map()` as JSON): `{"nodes": {name: [sample_idx...]},
//!   "links": {name: [name...]}, "meta_data": {...}, ...}`. Node order is the file's key
//!   order. Without `links`, the nerve is derived from the members with
//!   `meta_data.nerve_min_intersection` (default 1).
//! - **Node-link** (NetworkX `node_link_data`): `{"nodes": [{"id", "membership", "top_classes",
//!   "top_class_percents", "l2NormAvg" or "lens_mean", "average_activation"}], "links" (or
//!   "edges"): [{"source", "target", "intersection"}], "graph": {...}}`. `members` is
//!   accepted for `membership`. Ids may be strings or integers. An integer `source` /
//!   `target` names a node by id when the ids are integers, else by its position in `nodes`
//!   (the older d3 convention).
//!
//! What is derived: members sorted and deduplicated, sizes, every edge's intersection (from
//! the members; an intersection stored in the file must agree) and Jaccard, the graph
//! statistics, `n_samples` = largest member + 1. Top classes come from the file (names and
//! fractions) or from labels ([`ImportedGraph::derive_classes_from_labels`]).
//!
//! Tolerated, and counted in [`ImportNotes`]: repeated members of a node, self-loops
//! (dropped), an edge listed twice or in both directions (merged), member indices written as
//! integral floats (`3.0`). Refused with an [`ImportError`]: anything else malformed, e.g.
//! negative or fractional members, two nodes with one name, links to unknown nodes, an
//! intersection that disagrees with the members, files beyond the limits below.
//!
//! Limits: [`MAX_IMPORT_BYTES`] (checked before parsing), [`MAX_IMPORT_NODES`],
//! [`MAX_IMPORT_EDGES`] and [`MAX_IMPORT_MEMBERS`] (checked while parsing, so a hostile file
//! cannot make us allocate far beyond its own size). Names are kept as plain strings; markup
//! inside them is data.
//!
//! Cost: parsing is linear in the file size; intersections cost O(|A| + |B|) per edge.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::mapper::graph::{
    nerve, stats_of_nodes, top_classes, ClassShare, GraphStats, MapperEdge, MapperGraph,
    MapperNode, ParamsRecord,
};
use crate::mapper::MapperParams;

/// Largest file accepted (512 MiB).
pub const MAX_IMPORT_BYTES: usize = 512 * 1024 * 1024;
/// Most nodes accepted.
pub const MAX_IMPORT_NODES: usize = 1_000_000;
/// Most edges accepted (as listed in the file, before merging duplicates).
pub const MAX_IMPORT_EDGES: usize = 10_000_000;
/// Most node memberships accepted, summed over nodes (400 MB as `u32`).
pub const MAX_IMPORT_MEMBERS: usize = 100_000_000;

/// Most classes [`ImportedGraph::derive_classes_from_labels`] counts per node.
pub const MAX_CLASSES: usize = 1 << 20;

/// Which kind of file the graph came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    KeplerMapper,
    NodeLink,
}

/// One imported node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportedNode {
    /// Position in [`ImportedGraph::nodes`] (the file's order).
    pub node_id: usize,
    pub name: String,
    /// Member `sample_idx`s, ascending, without repeats.
    pub members: Vec<u32>,
    pub size: usize,
    /// Mean lens of the members, when the file gives it (`lens_mean` or `l2NormAvg`).
    pub lens_mean: Option<f64>,
    /// Members per class; empty unless derived from labels.
    pub class_histogram: Vec<usize>,
    /// Largest classes (`class_idx` into [`ImportedGraph::class_names`]). From the file,
    /// `count` is `fraction * size` rounded.
    pub top_classes: Vec<ClassShare>,
    /// The members' mean activation vector, when the file gives it.
    pub mean_activation: Option<Vec<f32>>,
}

/// What the import tolerated rather than refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportNotes {
    /// Member entries dropped because the node listed them already.
    pub repeated_members_removed: usize,
    /// Links from a node to itself, dropped.
    pub self_loops_dropped: usize,
    /// Links listed more than once (either direction), merged.
    pub duplicate_edges_merged: usize,
    /// The file had no links: the nerve was computed from the members.
    pub nerve_derived: bool,
}

/// A graph read from a file, with everything derivable from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportedGraph {
    pub format: ImportFormat,
    pub nodes: Vec<ImportedNode>,
    /// `source < target`, sorted, one per linked pair.
    pub edges: Vec<MapperEdge>,
    pub stats: GraphStats,
    /// Largest member + 1 (0 without members): the fewest samples the data behind it has.
    pub n_samples: usize,
    /// Samples the mapper ran on, when the file says so (`graph.n_samples_used`), else
    /// `n_samples`. The covered fraction of [`GraphStats`] is relative to it.
    pub n_samples_used: usize,
    /// Class names met in the file's top classes, in order of first appearance (or the names
    /// given to [`ImportedGraph::derive_classes_from_labels`]).
    pub class_names: Vec<String>,
    /// KeplerMapper's `meta_data` or node-link's `graph` attributes, as they are.
    pub metadata: Option<Value>,
    pub notes: ImportNotes,
}

/// Why a graph file could not be imported, each with a message meant for a person.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ImportError {
    #[error(
        "the file is {size_bytes} bytes; graph files of at most {limit} bytes can be imported"
    )]
    TooLarge { size_bytes: usize, limit: usize },
    #[error("the file is not valid JSON: {detail}")]
    NotJson { detail: String },
    #[error(
        "the file is JSON but not a mapper graph (KeplerMapper's dict or node-link JSON): {detail}"
    )]
    NotAGraph { detail: String },
    #[error("the graph has more than {limit} nodes, more than can be shown")]
    TooManyNodes { limit: usize },
    #[error("the graph has more than {limit} links, more than can be shown")]
    TooManyEdges { limit: usize },
    #[error(
        "the graph's nodes hold more than {limit} memberships in total, more than can be loaded"
    )]
    TooManyMembers { limit: usize },
    #[error("two nodes are named \"{name}\"; node names must be unique")]
    DuplicateNode { name: String },
    #[error("a link names node \"{name}\", which is not among the nodes")]
    UnknownNode { name: String },
    #[error("a link names node number {index}, but there are {n_nodes} nodes")]
    NodeIndexOutOfRange { index: u64, n_nodes: usize },
    #[error("the link between \"{source_name}\" and \"{target_name}\" says they share {in_file} samples, but their members share {computed}")]
    IntersectionMismatch {
        source_name: String,
        target_name: String,
        in_file: u64,
        computed: usize,
    },
    #[error("node \"{node}\" has {n_names} top classes but {n_fractions} top class fractions")]
    TopClassMismatch {
        node: String,
        n_names: usize,
        n_fractions: usize,
    },
    #[error("node \"{node}\" has a top class fraction of {value}; fractions must be in [0, 1]")]
    FractionOutOfRange { node: String, value: f64 },
    #[error("node \"{node}\" has a non-finite {what}")]
    NonFinite { node: String, what: &'static str },
    #[error("the labels name {n_classes} classes; at most {limit} can be counted")]
    TooManyClasses { n_classes: usize, limit: usize },
    #[error("sample {sample_idx} is in a node, but only {n_labels} labels were given")]
    LabelsTooShort { sample_idx: u32, n_labels: usize },
    #[error("the graph's nodes hold sample {sample_idx}, but the loaded data has only {n_samples} samples")]
    SampleOutOfRange { sample_idx: u32, n_samples: usize },
}

/// Reads a graph file (KeplerMapper's dict or node-link JSON; see the module documentation).
pub fn import_graph(bytes: &[u8]) -> Result<ImportedGraph, ImportError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::TooLarge {
            size_bytes: bytes.len(),
            limit: MAX_IMPORT_BYTES,
        });
    }
    let budget = ParseBudget::default();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = GraphFileSeed { budget: &budget }
        .deserialize(&mut deserializer)
        .and_then(|file| {
            deserializer.end()?;
            Ok(file)
        });
    let file = match parsed {
        Ok(file) => file,
        Err(err) => return Err(budget.exceeded.take().unwrap_or_else(|| json_error(&err))),
    };
    build_graph(file)
}

fn json_error(err: &serde_json::Error) -> ImportError {
    match err.classify() {
        serde_json::error::Category::Data => ImportError::NotAGraph {
            detail: err.to_string(),
        },
        _ => ImportError::NotJson {
            detail: err.to_string(),
        },
    }
}

impl ImportedGraph {
    /// Replaces every node's classes by those of its members' `labels` (index = `sample_idx`,
    /// `u32::MAX` = unlabelled), named by `class_names` (a class without a name is called by
    /// its number). Refuses labels that do not cover every member.
    pub fn derive_classes_from_labels(
        &mut self,
        labels: &[u32],
        class_names: &[String],
    ) -> Result<(), ImportError> {
        if self.n_samples > labels.len() {
            let sample_idx = self
                .nodes
                .iter()
                .filter_map(|node| node.members.last())
                .copied()
                .max()
                .unwrap_or(0);
            return Err(ImportError::LabelsTooShort {
                sample_idx,
                n_labels: labels.len(),
            });
        }
        let largest_label = self
            .nodes
            .iter()
            .flat_map(|node| {
                node.members
                    .iter()
                    .map(|&sample_idx| labels[sample_idx as usize])
            })
            .filter(|&label| label != u32::MAX)
            .max();
        let n_classes = largest_label
            .map_or(0, |label| label as usize + 1)
            .max(class_names.len());
        if n_classes > MAX_CLASSES {
            return Err(ImportError::TooManyClasses {
                n_classes,
                limit: MAX_CLASSES,
            });
        }
        for node in &mut self.nodes {
            let mut histogram = vec![0usize; n_classes];
            for &sample_idx in &node.members {
                let label = labels[sample_idx as usize];
                if label != u32::MAX {
                    histogram[label as usize] += 1;
                }
            }
            node.top_classes = top_classes(&histogram, node.size);
            node.class_histogram = histogram;
        }
        self.class_names = (0..n_classes)
            .map(|class_idx| {
                class_names
                    .get(class_idx)
                    .cloned()
                    .unwrap_or_else(|| class_idx.to_string())
            })
            .collect();
        Ok(())
    }

    /// Checks that every member is a sample of data with `n_samples` samples.
    pub fn check_sample_count(&self, n_samples: usize) -> Result<(), ImportError> {
        if self.n_samples > n_samples {
            let sample_idx = self
                .nodes
                .iter()
                .filter_map(|node| node.members.last())
                .copied()
                .max()
                .unwrap_or(0);
            return Err(ImportError::SampleOutOfRange {
                sample_idx,
                n_samples,
            });
        }
        Ok(())
    }

    /// The graph as a [`MapperGraph`], for the views that draw computed graphs. What a file
    /// does not say takes a neutral value: `lens_mean` 0 when unknown, cube and cluster
    /// numbers parsed from `cube{i}_cluster{j}` names (else 0), an empty mean activation, the
    /// default parameters with the lens named "imported" (KeplerMapper's `n_cubes`,
    /// `perc_overlap` and `nerve_min_intersection` when its `meta_data` has them), no
    /// intervals.
    pub fn to_mapper_graph(&self) -> MapperGraph {
        let nodes = self
            .nodes
            .iter()
            .map(|node| {
                let (cube_idx, cluster_idx) = kmapper_name_parts(&node.name).unwrap_or((0, 0));
                MapperNode {
                    node_id: node.node_id,
                    name: node.name.clone(),
                    cube_idx,
                    interval_idx: cube_idx,
                    cluster_idx,
                    members: node.members.clone(),
                    size: node.size,
                    lens_mean: node.lens_mean.unwrap_or(0.0),
                    class_histogram: node.class_histogram.clone(),
                    top_classes: node.top_classes.clone(),
                    mean_activation: node.mean_activation.clone().unwrap_or_default(),
                }
            })
            .collect();
        let mut params = ParamsRecord::new(&MapperParams::default(), None);
        params.lens = "imported".into();
        if let (ImportFormat::KeplerMapper, Some(meta)) = (self.format, &self.metadata) {
            if let Some(n_cubes) = meta.get("n_cubes").and_then(Value::as_u64) {
                params.n_intervals = n_cubes as usize;
            }
            if let Some(overlap) = meta.get("perc_overlap").and_then(Value::as_f64) {
                params.overlap = overlap;
            }
            if let Some(min_intersection) =
                meta.get("nerve_min_intersection").and_then(Value::as_u64)
            {
                params.min_intersection = min_intersection as usize;
            }
        }
        MapperGraph {
            nodes,
            edges: self.edges.clone(),
            stats: self.stats.clone(),
            params,
            intervals: Vec::new(),
            n_samples_used: self.n_samples_used,
            class_names: self.class_names.clone(),
            lens_by_row: Vec::new(),
        }
    }
}

/// `cube{i}_cluster{j}` -> `(i, j)`.
fn kmapper_name_parts(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix("cube")?;
    let (cube, cluster) = rest.split_once("_cluster")?;
    Some((cube.parse().ok()?, cluster.parse().ok()?))
}

// ---------------------------------------------------------------------------------------
// Parsing: serde visitors that count what they allocate.

/// Counts shared by the visitors; the first limit exceeded is kept as the typed error.
#[derive(Default)]
struct ParseBudget {
    n_nodes: Cell<usize>,
    n_edges: Cell<usize>,
    n_members: Cell<usize>,
    exceeded: Cell<Option<ImportError>>,
}

impl ParseBudget {
    fn spend<E: de::Error>(
        &self,
        counter: &Cell<usize>,
        amount: usize,
        limit: usize,
        error: ImportError,
    ) -> Result<(), E> {
        let total = counter.get().saturating_add(amount);
        counter.set(total);
        if total > limit {
            let message = error.to_string();
            self.exceeded.set(Some(error));
            return Err(E::custom(message));
        }
        Ok(())
    }

    fn node<E: de::Error>(&self) -> Result<(), E> {
        self.spend(
            &self.n_nodes,
            1,
            MAX_IMPORT_NODES,
            ImportError::TooManyNodes {
                limit: MAX_IMPORT_NODES,
            },
        )
    }

    fn edges<E: de::Error>(&self, count: usize) -> Result<(), E> {
        self.spend(
            &self.n_edges,
            count,
            MAX_IMPORT_EDGES,
            ImportError::TooManyEdges {
                limit: MAX_IMPORT_EDGES,
            },
        )
    }

    fn members<E: de::Error>(&self, count: usize) -> Result<(), E> {
        self.spend(
            &self.n_members,
            count,
            MAX_IMPORT_MEMBERS,
            ImportError::TooManyMembers {
                limit: MAX_IMPORT_MEMBERS,
            },
        )
    }
}

/// A node id or link end: a string, or an integer (a NetworkX id, or a node position).
#[derive(Clone, Debug, PartialEq)]
enum NodeKey {
    Text(String),
    Integer(u64),
}

impl NodeKey {
    fn into_name(self) -> String {
        match self {
            NodeKey::Text(text) => text,
            NodeKey::Integer(number) => number.to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for NodeKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = NodeKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a node id (a string or a whole number >= 0)")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<NodeKey, E> {
                Ok(NodeKey::Text(text.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, number: u64) -> Result<NodeKey, E> {
                Ok(NodeKey::Integer(number))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

/// One member: a whole number in `0..=u32::MAX` (integral floats like `3.0` accepted).
struct SampleIdx(u32);

impl<'de> Deserialize<'de> for SampleIdx {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdxVisitor;
        impl Visitor<'_> for IdxVisitor {
            type Value = SampleIdx;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sample index (a whole number >= 0)")
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<SampleIdx, E> {
                u32::try_from(value).map(SampleIdx).map_err(|_| {
                    E::custom(format!(
                        "sample index {value} is too large (at most {})",
                        u32::MAX
                    ))
                })
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<SampleIdx, E> {
                match u64::try_from(value) {
                    Ok(value) => self.visit_u64(value),
                    Err(_) => Err(E::custom(format!(
                        "sample indices cannot be negative, got {value}"
                    ))),
                }
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<SampleIdx, E> {
                if value.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&value) {
                    Ok(SampleIdx(value as u32))
                } else {
                    Err(E::custom(format!(
                        "sample indices must be whole numbers >= 0, got {value}"
                    )))
                }
            }
        }
        deserializer.deserialize_any(IdxVisitor)
    }
}

/// A list of members, counted against the budget as it is read.
struct MembersSeed<'b> {
    budget: &'b ParseBudget,
}

impl<'de> DeserializeSeed<'de> for MembersSeed<'_> {
    type Value = Vec<u32>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<u32>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for MembersSeed<'_> {
    type Value = Vec<u32>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of sample indices")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u32>, A::Error> {
        let mut members = Vec::new();
        while let Some(SampleIdx(sample_idx)) = seq.next_element()? {
            self.budget.members(1)?;
            members.push(sample_idx);
        }
        Ok(members)
    }
}

/// A node as read, before checks.
struct RawNode {
    name: NodeKey,
    members: Vec<u32>,
    lens_mean: Option<f64>,
    top_class_names: Option<Vec<NodeKey>>,
    top_class_fractions: Option<Vec<f64>>,
    mean_activation: Option<Vec<f32>>,
}

/// A link as read: the ends and the stored intersection, if any.
struct RawLink {
    source: NodeKey,
    target: NodeKey,
    intersection: Option<u64>,
}

/// Everything read from the top-level object.
#[derive(Default)]
struct RawFile {
    format: Option<ImportFormat>,
    nodes: Vec<RawNode>,
    links: Option<Vec<RawLink>>,
    metadata: Option<Value>,
    n_samples_used: Option<usize>,
}

struct GraphFileSeed<'b> {
    budget: &'b ParseBudget,
}

impl<'de> DeserializeSeed<'de> for GraphFileSeed<'_> {
    type Value = RawFile;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawFile, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for GraphFileSeed<'_> {
    type Value = RawFile;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with \"nodes\" and \"links\"")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFile, A::Error> {
        let mut file = RawFile::default();
        let mut seen_nodes = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "nodes" if !seen_nodes => {
                    seen_nodes = true;
                    let (format, nodes) = map.next_value_seed(NodesSeed {
                        budget: self.budget,
                    })?;
                    file.format = Some(format);
                    file.nodes = nodes;
                }
                "links" | "edges" if file.links.is_none() => {
                    file.links = Some(map.next_value_seed(LinksSeed {
                        budget: self.budget,
                    })?);
                }
                // KeplerMapper's `meta_data` or node-link's `graph`; the first one kept.
                "meta_data" | "graph" if file.metadata.is_none() => {
                    let metadata: Value = map.next_value()?;
                    file.n_samples_used = metadata
                        .get("n_samples_used")
                        .and_then(Value::as_u64)
                        .and_then(|count| usize::try_from(count).ok());
                    file.metadata = Some(metadata);
                }
                "nodes" | "links" | "edges" => {
                    return Err(de::Error::custom(format!(
                        "\"{key}\" appears twice (or both links and edges)"
                    )));
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !seen_nodes {
            return Err(de::Error::custom("there is no \"nodes\" entry"));
        }
        Ok(file)
    }
}

/// `nodes`: an object (KeplerMapper) or an array (node-link).
struct NodesSeed<'b> {
    budget: &'b ParseBudget,
}

impl<'de> DeserializeSeed<'de> for NodesSeed<'_> {
    type Value = (ImportFormat, Vec<RawNode>);
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodesSeed<'_> {
    type Value = (ImportFormat, Vec<RawNode>);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("\"nodes\" as an object (KeplerMapper) or a list (node-link)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut nodes = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            self.budget.node()?;
            let members = map.next_value_seed(MembersSeed {
                budget: self.budget,
            })?;
            nodes.push(RawNode {
                name: NodeKey::Text(name),
                members,
                lens_mean: None,
                top_class_names: None,
                top_class_fractions: None,
                mean_activation: None,
            });
        }
        Ok((ImportFormat::KeplerMapper, nodes))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut nodes = Vec::new();
        while let Some(node) = seq.next_element_seed(NodeObjectSeed {
            budget: self.budget,
        })? {
            self.budget.node()?;
            nodes.push(node);
        }
        Ok((ImportFormat::NodeLink, nodes))
    }
}

/// One node-link node object.
struct NodeObjectSeed<'b> {
    budget: &'b ParseBudget,
}

impl<'de> DeserializeSeed<'de> for NodeObjectSeed<'_> {
    type Value = RawNode;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawNode, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for NodeObjectSeed<'_> {
    type Value = RawNode;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a node object with \"id\" and \"membership\"")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawNode, A::Error> {
        let mut name = None;
        let mut members = None;
        let mut lens_mean = None;
        let mut l2_norm_avg = None;
        let mut top_class_names = None;
        let mut top_class_fractions = None;
        let mut mean_activation = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "id" => name = Some(map.next_value::<NodeKey>()?),
                "membership" | "members" => {
                    members = Some(map.next_value_seed(MembersSeed {
                        budget: self.budget,
                    })?)
                }
                "lens_mean" => lens_mean = map.next_value::<Option<f64>>()?,
                "l2NormAvg" => l2_norm_avg = map.next_value::<Option<f64>>()?,
                "top_classes" => top_class_names = map.next_value::<Option<Vec<NodeKey>>>()?,
                "top_class_percents" => {
                    top_class_fractions = map.next_value::<Option<Vec<f64>>>()?
                }
                "average_activation" => mean_activation = map.next_value::<Option<Vec<f32>>>()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let name = name.ok_or_else(|| de::Error::custom("a node has no \"id\""))?;
        let members = members.ok_or_else(|| {
            de::Error::custom(format!(
                "node \"{}\" has no \"membership\" list",
                name.clone().into_name()
            ))
        })?;
        Ok(RawNode {
            name,
            members,
            lens_mean: lens_mean.or(l2_norm_avg),
            top_class_names,
            top_class_fractions,
            mean_activation,
        })
    }
}

/// `links`: an object of name -> names (KeplerMapper) or a list of link objects (node-link).
struct LinksSeed<'b> {
    budget: &'b ParseBudget,
}

impl<'de> DeserializeSeed<'de> for LinksSeed<'_> {
    type Value = Vec<RawLink>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<RawLink>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LinksSeed<'_> {
    type Value = Vec<RawLink>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("\"links\" as an object (KeplerMapper) or a list (node-link)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<RawLink>, A::Error> {
        let mut links = Vec::new();
        while let Some(source) = map.next_key::<String>()? {
            let targets: Vec<NodeKey> = map.next_value_seed(TargetsSeed {
                budget: self.budget,
            })?;
            links.extend(targets.into_iter().map(|target| RawLink {
                source: NodeKey::Text(source.clone()),
                target,
                intersection: None,
            }));
        }
        Ok(links)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<RawLink>, A::Error> {
        let mut links = Vec::new();
        while let Some(link) = seq.next_element::<LinkObject>()? {
            self.budget.edges(1)?;
            links.push(RawLink {
                source: link.source,
                target: link.target,
                intersection: link.intersection,
            });
        }
        Ok(links)
    }
}

/// The target names of one KeplerMapper `links` entry, counted as they are read.
struct TargetsSeed<'b> {
    budget: &'b ParseBudget,
}

impl<'de> DeserializeSeed<'de> for TargetsSeed<'_> {
    type Value = Vec<NodeKey>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<NodeKey>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TargetsSeed<'_> {
    type Value = Vec<NodeKey>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of node names")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<NodeKey>, A::Error> {
        let mut targets = Vec::new();
        while let Some(target) = seq.next_element::<NodeKey>()? {
            self.budget.edges(1)?;
            targets.push(target);
        }
        Ok(targets)
    }
}

#[derive(Deserialize)]
struct LinkObject {
    source: NodeKey,
    target: NodeKey,
    #[serde(default)]
    intersection: Option<u64>,
}

// ---------------------------------------------------------------------------------------
// Checks and derived values.

fn build_graph(file: RawFile) -> Result<ImportedGraph, ImportError> {
    let format = file.format.unwrap_or(ImportFormat::NodeLink);
    let ids_are_integers = file
        .nodes
        .iter()
        .any(|node| matches!(node.name, NodeKey::Integer(_)));
    let mut notes = ImportNotes::default();
    let mut class_names: Vec<String> = Vec::new();
    let mut class_idx_of: HashMap<String, u32> = HashMap::new();
    let mut node_idx_of: HashMap<String, usize> = HashMap::with_capacity(file.nodes.len());
    let mut nodes = Vec::with_capacity(file.nodes.len());
    for (node_id, raw) in file.nodes.into_iter().enumerate() {
        let name = raw.name.into_name();
        if node_idx_of.insert(name.clone(), node_id).is_some() {
            return Err(ImportError::DuplicateNode { name });
        }
        let mut members = raw.members;
        let listed = members.len();
        members.sort_unstable();
        members.dedup();
        notes.repeated_members_removed += listed - members.len();
        let size = members.len();
        if raw.lens_mean.is_some_and(|value| !value.is_finite()) {
            return Err(ImportError::NonFinite {
                node: name,
                what: "mean lens",
            });
        }
        if raw
            .mean_activation
            .as_ref()
            .is_some_and(|values| values.iter().any(|value| !value.is_finite()))
        {
            return Err(ImportError::NonFinite {
                node: name,
                what: "average activation",
            });
        }
        let names = raw.top_class_names.unwrap_or_default();
        let fractions = raw.top_class_fractions.unwrap_or_default();
        if names.len() != fractions.len() {
            return Err(ImportError::TopClassMismatch {
                node: name,
                n_names: names.len(),
                n_fractions: fractions.len(),
            });
        }
        let mut top = Vec::with_capacity(names.len());
        for (class_name, fraction) in names.into_iter().zip(fractions) {
            if !(fraction.is_finite() && (0.0..=1.0).contains(&fraction)) {
                return Err(ImportError::FractionOutOfRange {
                    node: name,
                    value: fraction,
                });
            }
            let class_name = class_name.into_name();
            let next_idx = class_names.len() as u32;
            let class_idx = *class_idx_of.entry(class_name.clone()).or_insert_with(|| {
                class_names.push(class_name);
                next_idx
            });
            top.push(ClassShare {
                class_idx,
                count: (fraction * size as f64).round() as usize,
                fraction,
            });
        }
        nodes.push(ImportedNode {
            node_id,
            name,
            members,
            size,
            lens_mean: raw.lens_mean,
            class_histogram: Vec::new(),
            top_classes: top,
            mean_activation: raw.mean_activation,
        });
    }

    let resolve = |key: NodeKey| -> Result<usize, ImportError> {
        match key {
            NodeKey::Integer(index) if !ids_are_integers => usize::try_from(index)
                .ok()
                .filter(|&position| position < nodes.len())
                .ok_or(ImportError::NodeIndexOutOfRange {
                    index,
                    n_nodes: nodes.len(),
                }),
            key => {
                let name = key.into_name();
                node_idx_of
                    .get(&name)
                    .copied()
                    .ok_or(ImportError::UnknownNode { name })
            }
        }
    };

    let edges = match file.links {
        Some(links) => {
            let mut stored: BTreeMap<(usize, usize), Option<u64>> = BTreeMap::new();
            for link in links {
                let (source, target) = (resolve(link.source)?, resolve(link.target)?);
                if source == target {
                    notes.self_loops_dropped += 1;
                    continue;
                }
                let pair = (source.min(target), source.max(target));
                match stored.get_mut(&pair) {
                    Some(intersection) => {
                        notes.duplicate_edges_merged += 1;
                        *intersection = intersection.or(link.intersection);
                    }
                    None => {
                        stored.insert(pair, link.intersection);
                    }
                }
            }
            let mut edges = Vec::with_capacity(stored.len());
            for ((source, target), in_file) in stored {
                let (a, b) = (&nodes[source], &nodes[target]);
                let intersection =
                    crate::mapper::graph::sorted_intersection_len(&a.members, &b.members);
                if let Some(in_file) = in_file.filter(|&in_file| in_file != intersection as u64) {
                    return Err(ImportError::IntersectionMismatch {
                        source_name: a.name.clone(),
                        target_name: b.name.clone(),
                        in_file,
                        computed: intersection,
                    });
                }
                let union = a.size + b.size - intersection;
                let jaccard = if union == 0 {
                    0.0
                } else {
                    intersection as f64 / union as f64
                };
                edges.push(MapperEdge {
                    source,
                    target,
                    intersection,
                    jaccard,
                });
            }
            edges
        }
        None => {
            notes.nerve_derived = true;
            let min_intersection = file
                .metadata
                .as_ref()
                .and_then(|meta| meta.get("nerve_min_intersection"))
                .and_then(Value::as_u64)
                .map_or(1, |value| {
                    usize::try_from(value).unwrap_or(usize::MAX).max(1)
                });
            let members: Vec<&[u32]> = nodes.iter().map(|node| node.members.as_slice()).collect();
            nerve(&members, min_intersection)
        }
    };

    let n_samples = nodes
        .iter()
        .filter_map(|node| node.members.last())
        .map(|&last| last as usize + 1)
        .max()
        .unwrap_or(0);
    let n_samples_used = file.n_samples_used.unwrap_or(n_samples);
    let sizes_and_members: Vec<(usize, &[u32])> = nodes
        .iter()
        .map(|node| (node.size, node.members.as_slice()))
        .collect();
    let stats = stats_of_nodes(&sizes_and_members, &edges, n_samples_used);
    Ok(ImportedGraph {
        format,
        nodes,
        edges,
        stats,
        n_samples,
        n_samples_used,
        class_names,
        metadata: file.metadata,
        notes,
    })
}
