//! The graph as the layout sees it: compressed adjacency without self-loops or duplicate
//! edges, connected components, and single-source shortest paths.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::params::{EdgeLengths, LayoutEdge};

/// Compressed sparse rows: the neighbours of node `v` are
/// `neighbours[offsets[v]..offsets[v + 1]]`, ascending, each with the graph length of its edge.
#[derive(Clone, Debug, Default)]
pub(crate) struct Adjacency {
    offsets: Vec<usize>,
    neighbours: Vec<usize>,
    lengths: Vec<f64>,
    /// True when every edge has length 1 (breadth-first search suffices).
    pub(crate) unit_lengths: bool,
}

impl Adjacency {
    /// Builds the adjacency of `n_nodes` nodes. Self-loops are dropped; of duplicate edges the
    /// shortest is kept. Edges must have been validated (ends in range, weights in (0, 1]).
    /// Cost: O(E log E) time, O(V + E) space.
    pub(crate) fn new(n_nodes: usize, edges: &[LayoutEdge], edge_lengths: EdgeLengths) -> Self {
        let length_of = |weight: f64| match edge_lengths {
            EdgeLengths::Hops => 1.0,
            EdgeLengths::Jaccard { min_length } => (1.0 - weight).max(min_length),
        };
        let mut directed: Vec<(usize, usize, f64)> = Vec::with_capacity(edges.len() * 2);
        for edge in edges {
            if edge.source == edge.target || edge.source >= n_nodes || edge.target >= n_nodes {
                continue;
            }
            let length = length_of(edge.weight);
            directed.push((edge.source, edge.target, length));
            directed.push((edge.target, edge.source, length));
        }
        directed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.total_cmp(&b.2)));
        directed.dedup_by(|later, earlier| later.0 == earlier.0 && later.1 == earlier.1);
        let mut offsets = vec![0; n_nodes + 1];
        for &(from, _, _) in &directed {
            offsets[from + 1] += 1;
        }
        for node_idx in 0..n_nodes {
            offsets[node_idx + 1] += offsets[node_idx];
        }
        Self {
            offsets,
            neighbours: directed.iter().map(|entry| entry.1).collect(),
            lengths: directed.iter().map(|entry| entry.2).collect(),
            unit_lengths: matches!(edge_lengths, EdgeLengths::Hops),
        }
    }

    pub(crate) fn n_nodes(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Number of undirected edges.
    pub(crate) fn n_edges(&self) -> usize {
        self.neighbours.len() / 2
    }

    pub(crate) fn degree(&self, node_idx: usize) -> usize {
        self.offsets[node_idx + 1] - self.offsets[node_idx]
    }

    /// `(neighbour, edge length)` pairs of `node_idx`, neighbours ascending.
    pub(crate) fn neighbours(&self, node_idx: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = self.offsets[node_idx]..self.offsets[node_idx + 1];
        self.neighbours[range.clone()]
            .iter()
            .copied()
            .zip(self.lengths[range].iter().copied())
    }

    /// The connected components, largest first (ties: the one holding the smallest node
    /// index first); each lists its nodes ascending. Cost: O(V + E).
    pub(crate) fn components(&self) -> Vec<Vec<usize>> {
        let n_nodes = self.n_nodes();
        let mut component_of = vec![usize::MAX; n_nodes];
        let mut components: Vec<Vec<usize>> = Vec::new();
        let mut stack = Vec::new();
        for start in 0..n_nodes {
            if component_of[start] != usize::MAX {
                continue;
            }
            let component_idx = components.len();
            let mut members = vec![start];
            component_of[start] = component_idx;
            stack.push(start);
            while let Some(node_idx) = stack.pop() {
                for (neighbour, _) in self.neighbours(node_idx) {
                    if component_of[neighbour] == usize::MAX {
                        component_of[neighbour] = component_idx;
                        members.push(neighbour);
                        stack.push(neighbour);
                    }
                }
            }
            members.sort_unstable();
            components.push(members);
        }
        // Stable sort keeps discovery order (= smallest node index) among equal sizes.
        components.sort_by_key(|members| std::cmp::Reverse(members.len()));
        components
    }

    /// The adjacency restricted to `nodes` (ascending global indices), renumbered locally
    /// (local index = position in `nodes`). Edges leaving `nodes` are dropped.
    pub(crate) fn induced(&self, nodes: &[usize]) -> Self {
        let mut offsets = Vec::with_capacity(nodes.len() + 1);
        offsets.push(0);
        let mut neighbours = Vec::new();
        let mut lengths = Vec::new();
        for &global_idx in nodes {
            for (neighbour, length) in self.neighbours(global_idx) {
                if let Ok(local_idx) = nodes.binary_search(&neighbour) {
                    neighbours.push(local_idx);
                    lengths.push(length);
                }
            }
            offsets.push(neighbours.len());
        }
        Self {
            offsets,
            neighbours,
            lengths,
            unit_lengths: self.unit_lengths,
        }
    }
}

/// Reusable buffers of [`shortest_paths_from`].
#[derive(Default)]
pub(crate) struct PathScratch {
    queue: Vec<usize>,
    heap: BinaryHeap<HeapEntry>,
}

/// Writes the graph distance from `source` to every node into `distances` (length =
/// node count); unreachable nodes get `f64::INFINITY`. Breadth-first search for unit
/// lengths, O(V + E); Dijkstra otherwise, O((V + E) log V). Ties are resolved by node index,
/// so the result does not depend on anything but the graph.
pub(crate) fn shortest_paths_from(
    adjacency: &Adjacency,
    source: usize,
    distances: &mut [f64],
    scratch: &mut PathScratch,
) {
    distances.fill(f64::INFINITY);
    distances[source] = 0.0;
    if adjacency.unit_lengths {
        scratch.queue.clear();
        scratch.queue.push(source);
        let mut head = 0;
        while head < scratch.queue.len() {
            let node_idx = scratch.queue[head];
            head += 1;
            let next_distance = distances[node_idx] + 1.0;
            for (neighbour, _) in adjacency.neighbours(node_idx) {
                if distances[neighbour] == f64::INFINITY {
                    distances[neighbour] = next_distance;
                    scratch.queue.push(neighbour);
                }
            }
        }
        return;
    }
    scratch.heap.clear();
    scratch.heap.push(HeapEntry {
        distance: 0.0,
        node_idx: source,
    });
    while let Some(HeapEntry { distance, node_idx }) = scratch.heap.pop() {
        if distance > distances[node_idx] {
            continue;
        }
        for (neighbour, length) in adjacency.neighbours(node_idx) {
            let candidate = distance + length;
            if candidate < distances[neighbour] {
                distances[neighbour] = candidate;
                scratch.heap.push(HeapEntry {
                    distance: candidate,
                    node_idx: neighbour,
                });
            }
        }
    }
}

/// Min-heap entry: smallest distance first, then smallest node index.
#[derive(Clone, Copy, Debug)]
struct HeapEntry {
    distance: f64,
    node_idx: usize,
}

impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for HeapEntry {}
impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .distance
            .total_cmp(&self.distance)
            .then(other.node_idx.cmp(&self.node_idx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(source: usize, target: usize) -> LayoutEdge {
        LayoutEdge {
            source,
            target,
            weight: 0.5,
        }
    }

    #[test]
    fn drops_self_loops_and_duplicates() {
        let adjacency = Adjacency::new(
            3,
            &[edge(0, 1), edge(1, 0), edge(1, 1), edge(1, 2)],
            EdgeLengths::Hops,
        );
        assert_eq!(adjacency.n_edges(), 2);
        assert_eq!(
            adjacency.neighbours(1).map(|(v, _)| v).collect::<Vec<_>>(),
            vec![0, 2]
        );
    }

    #[test]
    fn components_largest_first() {
        let adjacency = Adjacency::new(6, &[edge(0, 1), edge(2, 3), edge(3, 4)], EdgeLengths::Hops);
        assert_eq!(
            adjacency.components(),
            vec![vec![2, 3, 4], vec![0, 1], vec![5]]
        );
    }

    #[test]
    fn dijkstra_uses_jaccard_lengths() {
        let edges = [
            LayoutEdge {
                source: 0,
                target: 1,
                weight: 0.5,
            },
            LayoutEdge {
                source: 1,
                target: 2,
                weight: 0.5,
            },
            LayoutEdge {
                source: 0,
                target: 2,
                weight: 0.1,
            },
        ];
        let adjacency = Adjacency::new(3, &edges, EdgeLengths::Jaccard { min_length: 0.1 });
        let mut distances = vec![0.0; 3];
        shortest_paths_from(&adjacency, 0, &mut distances, &mut PathScratch::default());
        assert_eq!(distances, vec![0.0, 0.5, 0.9]);
    }
}
