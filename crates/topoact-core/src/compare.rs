//! Comparing the mapper graphs of different layers of one network (multilayer mode).
//!
//! - [`cross_layer_links`]: node u of one layer and node v of another are linked when they
//!   share samples, weighted by the Jaccard index of their member sets (the ribbons that let
//!   a branch be followed through the network).
//! - [`shares_held`]: for a selected node, the share of its members each node of another
//!   layer holds.
//! - [`norm_distributions`]: the L2-norm distributions of several layers on one axis (the
//!   paper's Figure 8).
//!
//! Member lists are sample indices in ascending order without repeats, as every graph of
//! this crate stores them; the functions below rely on that and say so.

use serde::{Deserialize, Serialize};

use crate::dataset::Matrix;
use crate::diagnostics::{mean_std, row_zeros_and_norm, Histogram};

/// Two nodes of different layers that share samples.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrossLayerLink {
    /// Node index in the first layer's graph.
    pub from_node: usize,
    /// Node index in the second layer's graph.
    pub to_node: usize,
    /// Samples in both nodes.
    pub shared: usize,
    /// `shared / |from ∪ to|`.
    pub jaccard: f64,
}

/// Every pair (u in `from`, v in `to`) whose member lists share at least one sample, ordered
/// by `from_node` then `to_node`.
///
/// Each member list must be ascending without repeats. Cost: O(sum of member counts + number
/// of pairs), through an index of the `to` nodes holding each sample.
pub fn cross_layer_links(from: &[&[u32]], to: &[&[u32]]) -> Vec<CrossLayerLink> {
    let n_samples = to
        .iter()
        .filter_map(|members| members.last())
        .map(|&s| s as usize + 1)
        .max()
        .unwrap_or(0);
    // Compressed lists: the `to` nodes holding each sample.
    let mut holders_start = vec![0usize; n_samples + 1];
    for members in to {
        for &sample_idx in members.iter() {
            holders_start[sample_idx as usize + 1] += 1;
        }
    }
    for idx in 0..n_samples {
        holders_start[idx + 1] += holders_start[idx];
    }
    let mut fill = holders_start.clone();
    let mut holders = vec![0usize; holders_start[n_samples]];
    for (to_node, members) in to.iter().enumerate() {
        for &sample_idx in members.iter() {
            holders[fill[sample_idx as usize]] = to_node;
            fill[sample_idx as usize] += 1;
        }
    }

    let mut shared_with = vec![0usize; to.len()];
    let mut touched = Vec::new();
    let mut links = Vec::new();
    for (from_node, members) in from.iter().enumerate() {
        for &sample_idx in members.iter() {
            let sample_idx = sample_idx as usize;
            if sample_idx >= n_samples {
                continue;
            }
            for &to_node in &holders[holders_start[sample_idx]..holders_start[sample_idx + 1]] {
                if shared_with[to_node] == 0 {
                    touched.push(to_node);
                }
                shared_with[to_node] += 1;
            }
        }
        touched.sort_unstable();
        for &to_node in &touched {
            let shared = shared_with[to_node];
            let union = members.len() + to[to_node].len() - shared;
            links.push(CrossLayerLink {
                from_node,
                to_node,
                shared,
                jaccard: shared as f64 / union as f64,
            });
            shared_with[to_node] = 0;
        }
        touched.clear();
    }
    links
}

/// For every node, `|node ∩ selected| / |selected|`: the share of the selected samples the
/// node holds (0 for an empty selection). Both lists ascending without repeats.
pub fn shares_held(selected: &[u32], nodes: &[&[u32]]) -> Vec<f64> {
    nodes
        .iter()
        .map(|members| {
            if selected.is_empty() {
                0.0
            } else {
                sorted_intersection_len(selected, members) as f64 / selected.len() as f64
            }
        })
        .collect()
}

pub use crate::mapper::graph::sorted_intersection_len;

/// The L2-norm distribution of one layer, binned on an axis shared with the other layers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerNorms {
    pub layer: String,
    pub dim: usize,
    pub histogram: Histogram,
    pub mean: f64,
    pub std: f64,
    pub median: f64,
}

/// The L2 norms of each row in use of `matrix` (rows with a non-finite value are skipped).
pub fn row_norms(matrix: &Matrix, sample_indices: Option<&[u32]>) -> Vec<f64> {
    let n_rows = matrix.n_rows();
    let norm_of = |sample_idx: usize| row_zeros_and_norm(matrix, sample_idx).map(|(_, norm)| norm);
    match sample_indices {
        Some(samples) => samples
            .iter()
            .map(|&s| s as usize)
            .filter(|&s| s < n_rows)
            .filter_map(norm_of)
            .collect(),
        None => (0..n_rows).filter_map(norm_of).collect(),
    }
}

/// The norm distributions of several layers (name, norms) as histograms of `n_bins` over
/// one range covering all of them, so they can be drawn on one axis.
pub fn norm_distributions(layers: &[(String, usize, Vec<f64>)], n_bins: usize) -> Vec<LayerNorms> {
    let (lower, upper) = layers
        .iter()
        .flat_map(|(_, _, norms)| norms.iter().copied())
        .fold(None, |range: Option<(f64, f64)>, v| match range {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
        .unwrap_or((0.0, 1.0));
    layers
        .iter()
        .map(|(layer, dim, norms)| {
            let (mean, std) = mean_std(norms);
            let mut sorted = norms.clone();
            sorted.sort_by(f64::total_cmp);
            let median = match sorted.len() {
                0 => 0.0,
                len if len % 2 == 1 => sorted[len / 2],
                len => 0.5 * (sorted[len / 2 - 1] + sorted[len / 2]),
            };
            LayerNorms {
                layer: layer.clone(),
                dim: *dim,
                histogram: Histogram::over(norms, lower, upper, n_bins),
                mean,
                std,
                median,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute_force_links(from: &[Vec<u32>], to: &[Vec<u32>]) -> Vec<CrossLayerLink> {
        let mut links = Vec::new();
        for (from_node, a) in from.iter().enumerate() {
            for (to_node, b) in to.iter().enumerate() {
                let shared = a.iter().filter(|s| b.contains(s)).count();
                if shared > 0 {
                    let union = a.len() + b.len() - shared;
                    links.push(CrossLayerLink {
                        from_node,
                        to_node,
                        shared,
                        jaccard: shared as f64 / union as f64,
                    });
                }
            }
        }
        links
    }

    fn member_lists() -> impl Strategy<Value = Vec<Vec<u32>>> {
        prop::collection::vec(
            prop::collection::btree_set(0u32..60, 0..20).prop_map(|set| set.into_iter().collect()),
            0..12,
        )
    }

    proptest! {
        #[test]
        fn cross_layer_links_match_brute_force(from in member_lists(), to in member_lists()) {
            let from_refs: Vec<&[u32]> = from.iter().map(Vec::as_slice).collect();
            let to_refs: Vec<&[u32]> = to.iter().map(Vec::as_slice).collect();
            prop_assert_eq!(cross_layer_links(&from_refs, &to_refs), brute_force_links(&from, &to));
        }

        #[test]
        fn shares_held_match_brute_force(selected in prop::collection::btree_set(0u32..60, 0..30), nodes in member_lists()) {
            let selected: Vec<u32> = selected.into_iter().collect();
            let refs: Vec<&[u32]> = nodes.iter().map(Vec::as_slice).collect();
            let shares = shares_held(&selected, &refs);
            for (node, share) in nodes.iter().zip(shares) {
                let held = node.iter().filter(|s| selected.contains(s)).count();
                let expected = if selected.is_empty() { 0.0 } else { held as f64 / selected.len() as f64 };
                prop_assert_eq!(share, expected);
            }
        }
    }

    #[test]
    fn identical_nodes_have_jaccard_one_and_disjoint_nodes_no_link() {
        let a: Vec<&[u32]> = vec![&[1, 2, 3], &[7, 8]];
        let b: Vec<&[u32]> = vec![&[4, 5], &[1, 2, 3]];
        assert_eq!(
            cross_layer_links(&a, &b),
            vec![CrossLayerLink {
                from_node: 0,
                to_node: 1,
                shared: 3,
                jaccard: 1.0
            }]
        );
    }

    #[test]
    fn norm_distributions_share_one_axis() {
        let layers = vec![
            ("a".to_string(), 2, vec![1.0, 2.0, 3.0]),
            ("b".to_string(), 3, vec![10.0, 20.0]),
        ];
        let distributions = norm_distributions(&layers, 10);
        assert_eq!(distributions[0].histogram.lower, 1.0);
        assert_eq!(distributions[1].histogram.upper, 20.0);
        assert_eq!(distributions[0].histogram.total(), 3);
        assert_eq!(distributions[1].histogram.total(), 2);
        assert_eq!(
            (distributions[0].median, distributions[1].median),
            (2.0, 15.0)
        );
        assert_eq!(distributions[1].mean, 15.0);
    }

    #[test]
    fn row_norms_skip_non_finite_rows_and_out_of_range_samples() {
        let matrix =
            Matrix::F32(ndarray::arr2(&[[3.0f32, 4.0], [f32::NAN, 1.0], [0.0, 2.0]]).into());
        assert_eq!(row_norms(&matrix, None), vec![5.0, 2.0]);
        assert_eq!(row_norms(&matrix, Some(&[2, 9])), vec![2.0]);
    }
}
