//! The mapper graph: nodes with their statistics, nerve edges, graph-level statistics.

use serde::{Deserialize, Serialize};

use super::cover::Interval;
use super::params::{CoverKind, Epsilon, MapperParams};

/// One class's share of a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassShare {
    pub class_idx: u32,
    pub count: usize,
    /// `count / node size`.
    pub fraction: f64,
}

/// A cluster of one interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapperNode {
    /// Position in [`MapperGraph::nodes`] (KeplerMapper's insertion order).
    pub node_id: usize,
    /// KeplerMapper's name, `cube{cube_idx}_cluster{cluster_idx}`.
    pub name: String,
    /// Rank of the interval among the non-empty ones (KeplerMapper's cube number).
    pub cube_idx: usize,
    /// Index of the interval among all `n_intervals` centres.
    pub interval_idx: usize,
    /// DBSCAN label inside the interval.
    pub cluster_idx: usize,
    /// Member `sample_idx`s in the ORIGINAL dataset's indexing, ascending.
    pub members: Vec<u32>,
    pub size: usize,
    /// Mean of the lens over the members (the lens asked for, not the rank lens).
    pub lens_mean: f64,
    /// Members per class (index = class index); empty without labels.
    pub class_histogram: Vec<usize>,
    /// Up to three largest classes, by count descending then class index.
    pub top_classes: Vec<ClassShare>,
    /// Mean activation vector of the members (summed in float64).
    pub mean_activation: Vec<f32>,
}

/// A nerve edge between two nodes sharing at least `min_intersection` samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapperEdge {
    /// `source < target`, both `node_id`s.
    pub source: usize,
    pub target: usize,
    pub intersection: usize,
    /// `intersection / (|A| + |B| - intersection)`.
    pub jaccard: f64,
}

/// Statistics of the whole graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphStats {
    pub n_nodes: usize,
    pub n_edges: usize,
    pub n_components: usize,
    /// Nodes of degree >= 3.
    pub n_branch_nodes: usize,
    /// Nodes of degree 1.
    pub n_leaves: usize,
    /// Independent cycles, `E - V + C`.
    pub n_cycles: usize,
    /// Samples in at least one node / samples in use.
    pub fraction_covered: f64,
    pub node_size_min: usize,
    pub node_size_max: usize,
    pub node_size_mean: f64,
    pub node_size_median: f64,
    /// `node_size_histogram[b]` = nodes with size in `[2^b, 2^(b+1))`.
    pub node_size_histogram: Vec<usize>,
}

/// What each interval became (for diagnostics and the UI's cover view).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntervalReport {
    pub interval: Interval,
    pub n_members: usize,
    /// KeplerMapper's cube number, `None` for an empty interval.
    pub cube_idx: Option<usize>,
    /// Fewer members than `min_samples`: skipped, no node.
    pub skipped_small: bool,
    /// The DBSCAN radius used (None when not clustered).
    pub eps: Option<f64>,
    pub n_clusters: usize,
}

/// Parameters as run, for the record (custom lens values are not repeated).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamsRecord {
    pub lens: String,
    pub cover: CoverKind,
    pub n_intervals: usize,
    pub overlap: f64,
    pub epsilon: Epsilon,
    /// The radius used when it is one for all intervals (explicit or fixed quantile).
    pub eps_global: Option<f64>,
    pub min_samples: usize,
    pub min_intersection: usize,
    pub seed: u64,
}

impl ParamsRecord {
    pub fn new(params: &MapperParams, eps_global: Option<f64>) -> Self {
        ParamsRecord {
            lens: params.lens.name(),
            cover: params.cover,
            n_intervals: params.n_intervals,
            overlap: params.overlap,
            epsilon: params.epsilon,
            eps_global,
            min_samples: params.min_samples,
            min_intersection: params.min_intersection,
            seed: params.seed,
        }
    }
}

/// A computed mapper graph. Serialisable; small (no per-sample data beyond memberships).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapperGraph {
    pub nodes: Vec<MapperNode>,
    pub edges: Vec<MapperEdge>,
    pub stats: GraphStats,
    pub params: ParamsRecord,
    pub intervals: Vec<IntervalReport>,
    /// Samples the mapper ran on.
    pub n_samples_used: usize,
    pub class_names: Vec<String>,
    /// The lens value of every row in use (row order of the mapper input), for the lens and
    /// cover diagnostics. Not serialised: exports stay per-node.
    #[serde(skip)]
    pub lens_by_row: Vec<f64>,
}

impl MapperGraph {
    /// Neighbour `node_id`s of every node.
    pub fn adjacency(&self) -> Vec<Vec<usize>> {
        let mut adj = vec![Vec::new(); self.nodes.len()];
        for e in &self.edges {
            adj[e.source].push(e.target);
            adj[e.target].push(e.source);
        }
        adj
    }
}

/// Nerve: every pair of nodes (insertion order) sharing >= `min_intersection` members.
/// Cost O(total members * nodes per sample^2) via an inverted index, not O(V^2).
pub(crate) fn nerve(members: &[&[u32]], min_intersection: usize) -> Vec<MapperEdge> {
    // Each sample's nodes (ascending), as one table indexed through `start`.
    let n_samples = members
        .iter()
        .flat_map(|m| m.iter())
        .max()
        .map_or(0, |&s| s as usize + 1);
    let mut start = vec![0usize; n_samples + 1];
    for m in members {
        for &sample_idx in m.iter() {
            start[sample_idx as usize + 1] += 1;
        }
    }
    for s in 0..n_samples {
        start[s + 1] += start[s];
    }
    let mut next = start.clone();
    let mut node_at = vec![0usize; start[n_samples]];
    for (node_id, m) in members.iter().enumerate() {
        for &sample_idx in m.iter() {
            node_at[next[sample_idx as usize]] = node_id;
            next[sample_idx as usize] += 1;
        }
    }
    drop(next);
    // One entry per shared sample of every pair of nodes, then counted in pair order.
    let mut shared: Vec<(usize, usize)> = Vec::new();
    for s in 0..n_samples {
        let nodes = &node_at[start[s]..start[s + 1]];
        for (i, &a) in nodes.iter().enumerate() {
            for &b in &nodes[i + 1..] {
                shared.push((a.min(b), a.max(b)));
            }
        }
    }
    shared.sort_unstable();
    shared
        .chunk_by(|x, y| x == y)
        .map(|run| (run[0], run.len()))
        .filter(|&(_, inter)| inter >= min_intersection)
        .map(|((source, target), intersection)| {
            let union = members[source].len() + members[target].len() - intersection;
            MapperEdge {
                source,
                target,
                intersection,
                jaccard: intersection as f64 / union as f64,
            }
        })
        .collect()
}

/// Graph statistics (components by union-find).
pub fn graph_stats(
    nodes: &[MapperNode],
    edges: &[MapperEdge],
    n_samples_used: usize,
) -> GraphStats {
    let sizes_and_members: Vec<(usize, &[u32])> = nodes
        .iter()
        .map(|node| (node.size, node.members.as_slice()))
        .collect();
    stats_of_nodes(&sizes_and_members, edges, n_samples_used)
}

/// [`graph_stats`] of nodes given as `(size, members)`; every edge's ends must be node
/// positions in `nodes`.
pub(crate) fn stats_of_nodes(
    nodes: &[(usize, &[u32])],
    edges: &[MapperEdge],
    n_samples_used: usize,
) -> GraphStats {
    let n = nodes.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut degree = vec![0usize; n];
    for e in edges {
        degree[e.source] += 1;
        degree[e.target] += 1;
        let (a, b) = (root(&mut parent, e.source), root(&mut parent, e.target));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let n_components = (0..n).filter(|&i| root(&mut parent, i) == i).count();
    let mut covered: Vec<u32> = nodes
        .iter()
        .flat_map(|(_, members)| members.iter().copied())
        .collect();
    covered.sort_unstable();
    covered.dedup();
    let mut sizes: Vec<usize> = nodes.iter().map(|&(size, _)| size).collect();
    sizes.sort_unstable();
    let median = if sizes.is_empty() {
        0.0
    } else if sizes.len() % 2 == 1 {
        sizes[sizes.len() / 2] as f64
    } else {
        (sizes[sizes.len() / 2 - 1] + sizes[sizes.len() / 2]) as f64 / 2.0
    };
    let mut histogram: Vec<usize> = Vec::new();
    for &s in &sizes {
        let bin = (usize::BITS - 1 - s.max(1).leading_zeros()) as usize;
        if histogram.len() <= bin {
            histogram.resize(bin + 1, 0);
        }
        histogram[bin] += 1;
    }
    GraphStats {
        n_nodes: n,
        n_edges: edges.len(),
        n_components,
        n_branch_nodes: degree.iter().filter(|&&d| d >= 3).count(),
        n_leaves: degree.iter().filter(|&&d| d == 1).count(),
        n_cycles: (edges.len() + n_components).saturating_sub(n),
        fraction_covered: if n_samples_used == 0 {
            0.0
        } else {
            covered.len() as f64 / n_samples_used as f64
        },
        node_size_min: sizes.first().copied().unwrap_or(0),
        node_size_max: sizes.last().copied().unwrap_or(0),
        node_size_mean: if n == 0 {
            0.0
        } else {
            sizes.iter().sum::<usize>() as f64 / n as f64
        },
        node_size_median: median,
        node_size_histogram: histogram,
    }
}

/// Top three classes of a histogram: count descending, then class index ascending.
pub(crate) fn top_classes(histogram: &[usize], size: usize) -> Vec<ClassShare> {
    let mut classes: Vec<(usize, usize)> = histogram
        .iter()
        .enumerate()
        .filter(|&(_, &c)| c > 0)
        .map(|(i, &c)| (i, c))
        .collect();
    classes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    classes
        .into_iter()
        .take(3)
        .map(|(class_idx, count)| ClassShare {
            class_idx: class_idx as u32,
            count,
            fraction: if size == 0 {
                0.0
            } else {
                count as f64 / size as f64
            },
        })
        .collect()
}

/// Size of the intersection of two ascending lists without repeats.
pub fn sorted_intersection_len(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut count) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                count += 1;
                i += 1;
                j += 1;
            }
        }
    }
    count
}
