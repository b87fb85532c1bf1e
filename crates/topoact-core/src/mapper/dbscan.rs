//! DBSCAN inside one interval, with scikit-learn 1.x's exact semantics, run in bounded steps.
//!
//! Rules (scikit-learn `DBSCAN.fit` + `dbscan_inner`):
//! - the eps-neighbourhood of a point is every point of the interval with
//!   `dist <= eps`, the point itself included, decided in float64 ([`EpsTest`]);
//! - a point is *core* when its neighbourhood holds at least `min_samples` points;
//! - points are scanned in ascending row order; the first unlabelled core point starts the
//!   next cluster, which is expanded fully through core points. So clusters are the
//!   connected components of the core points (core-core neighbour pairs), numbered by their
//!   smallest row; a non-core point in the neighbourhood of core points joins the
//!   lowest-numbered of their clusters; other points are noise (dropped).
//!
//! Method: pass 1 counts neighbours per point, stopping at `min_samples`; pass 2 runs a
//! full radius search from each core point only, joining core neighbours in a union-find and
//! remembering (non-core, core) pairs; the labels follow from the components.
//! Memory O(n + border pairs). Time: dominated by the radius searches ([`KdTree`]).

use super::knn::{KdTree, Projected};
use super::rows::{EpsTest, ExactRule, Rows};

/// One interval's DBSCAN in progress.
pub(crate) struct IntervalDbscan {
    tree: KdTree,
    test: EpsTest,
    min_samples: usize,
    is_core: Vec<bool>,
    parent: Vec<u32>,
    /// (non-core tree position, core tree position) neighbour pairs.
    border_pairs: Vec<(u32, u32)>,
    pass: u8,
    next_pos: usize,
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let up = parent[parent[x as usize] as usize];
        parent[x as usize] = up;
        x = up;
    }
    x
}

impl IntervalDbscan {
    /// Prepares DBSCAN over `members` (row indices, ascending) with radius `eps`.
    pub fn new(rows: &Rows, projected: &Projected, members: &[u32], eps: f64, min_samples: usize) -> Self {
        let tree = KdTree::build(rows, projected, members);
        let rule = ExactRule::for_interval(rows.dim, members.len());
        let test = EpsTest::new(rows, eps, rule);
        let n = members.len();
        IntervalDbscan {
            tree,
            test,
            min_samples,
            is_core: vec![false; n],
            parent: (0..n as u32).collect(),
            border_pairs: Vec::new(),
            pass: 1,
            next_pos: 0,
        }
    }

    /// Builds the tree only (for a per-interval epsilon computed before DBSCAN).
    pub fn tree(&self) -> &KdTree {
        &self.tree
    }

    /// Replaces the radius (used when eps is computed from this interval's own tree).
    pub fn set_eps(&mut self, rows: &Rows, eps: f64) {
        let rule = ExactRule::for_interval(rows.dim, self.tree.len());
        self.test = EpsTest::new(rows, eps, rule);
    }

    /// Does work until about `budget` full-dimension distances were computed (or the end);
    /// returns true when both passes are finished.
    pub fn advance(&mut self, rows: &Rows, budget: u64) -> bool {
        let n = self.tree.len();
        let mut spent = 0u64;
        while self.pass <= 2 && spent < budget {
            if self.next_pos >= n {
                self.pass += 1;
                self.next_pos = 0;
                continue;
            }
            let pos = self.next_pos;
            self.next_pos += 1;
            if self.pass == 1 {
                let min_samples = self.min_samples;
                let mut count = 0usize;
                spent += 1 + self.tree.radius_search(rows, pos, &self.test, |_| {
                    count += 1;
                    count < min_samples
                });
                self.is_core[pos] = count >= min_samples;
            } else if self.is_core[pos] {
                let is_core = &self.is_core;
                let parent = &mut self.parent;
                let border_pairs = &mut self.border_pairs;
                spent += 1 + self.tree.radius_search(rows, pos, &self.test, |other| {
                    if other != pos {
                        if is_core[other] {
                            let (a, b) = (find(parent, pos as u32), find(parent, other as u32));
                            if a != b {
                                let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                                parent[hi as usize] = lo;
                            }
                        } else {
                            border_pairs.push((other as u32, pos as u32));
                        }
                    }
                    true
                });
            }
        }
        self.pass > 2
    }

    /// The clusters, in scikit-learn's label order, each a list of row indices ascending.
    /// Call after [`IntervalDbscan::advance`] returned true.
    pub fn clusters(mut self) -> Vec<Vec<u32>> {
        let n = self.tree.len();
        // Tree positions in ascending row order = scikit-learn's scan order.
        let mut by_row: Vec<u32> = (0..n as u32).collect();
        by_row.sort_unstable_by_key(|&pos| self.tree.row_at[pos as usize]);
        let mut label_of_root: Vec<u32> = vec![u32::MAX; n];
        let mut label_of_pos: Vec<u32> = vec![u32::MAX; n];
        let mut n_labels = 0u32;
        for &pos in &by_row {
            if !self.is_core[pos as usize] {
                continue;
            }
            let root = find(&mut self.parent, pos) as usize;
            if label_of_root[root] == u32::MAX {
                label_of_root[root] = n_labels;
                n_labels += 1;
            }
            label_of_pos[pos as usize] = label_of_root[root];
        }
        for &(border, core) in &self.border_pairs {
            let label = label_of_pos[core as usize];
            let slot = &mut label_of_pos[border as usize];
            if label < *slot {
                *slot = label;
            }
        }
        let mut clusters: Vec<Vec<u32>> = vec![Vec::new(); n_labels as usize];
        for &pos in &by_row {
            let label = label_of_pos[pos as usize];
            if label != u32::MAX {
                clusters[label as usize].push(self.tree.row_at[pos as usize]);
            }
        }
        clusters
    }
}

/// Reference DBSCAN by brute force with the same float64 rule, O(n^2 dim). For tests and
/// tiny intervals. Returns clusters as lists of row indices ascending.
pub(crate) fn brute_force_clusters(rows: &Rows, members: &[u32], eps: f64, min_samples: usize) -> Vec<Vec<u32>> {
    let rule = ExactRule::for_interval(rows.dim, members.len());
    let test = EpsTest::new(rows, eps, rule);
    let n = members.len();
    let neighbours: Vec<Vec<usize>> = (0..n)
        .map(|i| (0..n).filter(|&j| test.exact(rows, members[i] as usize, members[j] as usize)).collect())
        .collect();
    let is_core: Vec<bool> = neighbours.iter().map(|nb| nb.len() >= min_samples).collect();
    let mut labels = vec![-1i64; n];
    let mut next = 0i64;
    // scikit-learn's dbscan_inner, literally (members are in ascending row order).
    for start in 0..n {
        if labels[start] != -1 || !is_core[start] {
            continue;
        }
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            if labels[i] != -1 {
                continue;
            }
            labels[i] = next;
            if is_core[i] {
                for &j in &neighbours[i] {
                    if labels[j] == -1 {
                        stack.push(j);
                    }
                }
            }
        }
        next += 1;
    }
    let mut clusters = vec![Vec::new(); next as usize];
    for (i, &l) in labels.iter().enumerate() {
        if l >= 0 {
            clusters[l as usize].push(members[i]);
        }
    }
    clusters
}
