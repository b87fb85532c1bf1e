//! The shared vocabulary of the app: the types both the worker protocol ([`crate::protocol`])
//! and the session state with its link codec ([`crate::session`]) speak. Neither of those
//! modules imports the other; both import this one.
//!
//! - Which data: [`DatasetRef`] (the demo, a URL, a dropped file by name, size and
//!   [`content_hash`], synthetic data) and [`same_data`].
//! - What to compute: [`GraphRequest`], [`ProjectionRequest`] with [`ProjectionMethod`],
//!   [`SubsampleChoice`]. These are the cache keys of results on both sides.
//! - How to show it: [`ViewMode`], [`NodeRef`].

use std::ops::Range;

use serde::{Deserialize, Serialize};
pub use topoact_core::dataset::ProjectionKind;
use topoact_core::mapper::MapperParams;

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

/// A node of one layer's graph, by name (`cube3_cluster1`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRef {
    pub layer: String,
    pub node_name: String,
}

/// Bytes hashed at each end of a large file by [`content_hash`] (1 MiB).
pub const HASHED_EDGE_BYTES: u64 = 1024 * 1024;

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

/// Above this many samples the app maps a stratified subsample by default (the core's
/// choice, shared with the native command).
pub use topoact_core::pipeline::DEFAULT_MAX_SAMPLES;

/// Which samples a graph is computed on: the first `size` of the seeded, class-stratified,
/// nested order (`None`: all up to [`DEFAULT_MAX_SAMPLES`], else that many; `Some(0)`: all),
/// as `topoact_core::pipeline::choose_samples` picks them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubsampleChoice {
    pub size: Option<usize>,
    pub seed: u64,
}

impl SubsampleChoice {
    /// The number of samples used for a dataset of `n_samples`.
    pub fn resolve(&self, n_samples: usize) -> usize {
        topoact_core::pipeline::samples_used(self.size, n_samples)
    }
}

/// Everything that defines one graph: layer, samples and mapper parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphRequest {
    pub layer: String,
    pub subsample: SubsampleChoice,
    pub params: MapperParams,
}

/// How to project a layer to 2-D.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum ProjectionMethod {
    /// t-SNE (openTSNE's defaults; TopoAct used perplexity 50).
    Tsne { perplexity: f64 },
    /// UMAP (TopoAct used 20 neighbours, min_dist 0.01).
    Umap { n_neighbors: usize, min_dist: f64 },
    /// The coordinates the file carries for this layer (`tsne`/`umap` arrays), not recomputed.
    Precomputed { kind: ProjectionKind },
}

/// UMAP with the paper's settings: the faster of the two on large layers.
impl Default for ProjectionMethod {
    fn default() -> Self {
        ProjectionMethod::DEFAULT_UMAP
    }
}

impl ProjectionMethod {
    pub const DEFAULT_TSNE: ProjectionMethod = ProjectionMethod::Tsne { perplexity: 50.0 };
    pub const DEFAULT_UMAP: ProjectionMethod = ProjectionMethod::Umap {
        n_neighbors: 20,
        min_dist: 0.01,
    };

    /// Short name for status lines and legends.
    pub fn label(&self) -> String {
        match self {
            ProjectionMethod::Tsne { perplexity } => format!("t-SNE (perplexity {perplexity})"),
            ProjectionMethod::Umap {
                n_neighbors,
                min_dist,
            } => format!("UMAP ({n_neighbors} neighbours, min_dist {min_dist})"),
            ProjectionMethod::Precomputed {
                kind: ProjectionKind::Tsne,
            } => "t-SNE from the file".into(),
            ProjectionMethod::Precomputed {
                kind: ProjectionKind::Umap,
            } => "UMAP from the file".into(),
        }
    }
}

/// Everything that determines a projection (the cache key in the worker).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectionRequest {
    pub layer: String,
    pub subsample: SubsampleChoice,
    pub method: ProjectionMethod,
    pub seed: u64,
}

/// Whether a link's data and the loaded data are the same (files by size and content hash).
pub fn same_data(link: &DatasetRef, loaded: &DatasetRef) -> bool {
    match (link, loaded) {
        (
            DatasetRef::File {
                size_bytes: a,
                content_hash: ha,
                ..
            },
            DatasetRef::File {
                size_bytes: b,
                content_hash: hb,
                ..
            },
        ) => a == b && ha == hb,
        (a, b) => a == b,
    }
}

/// Data as a sentence names it.
pub fn describe_data(data: &DatasetRef) -> String {
    match data {
        DatasetRef::Demo => "the demo dataset".into(),
        DatasetRef::Url { url } => format!("the file at {url}"),
        DatasetRef::File {
            name, size_bytes, ..
        } => format!(
            "the file '{name}' ({})",
            crate::format::byte_size(*size_bytes)
        ),
        DatasetRef::Synthetic {
            n_samples,
            dim,
            seed,
        } => format!("synthetic data ({n_samples} x {dim}, seed {seed})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
