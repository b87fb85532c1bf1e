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
//! Method: one symmetric self-join finds every neighbour pair once (`j > i` in tree order),
//! counting neighbours and storing the pairs (12 bytes each); core points follow from the
//! counts, core-core pairs are joined in a union-find, (core -> non-core) pairs give the
//! border labels. If the pairs would exceed [`MAX_STORED_PAIRS`] (a huge eps), it restarts
//! with two passes that store nothing per pair: counts with early exit at `min_samples`,
//! then full radius searches from core points only.
//! Time: dominated by the radius searches ([`KdTree`]); memory O(n + pairs).

use crate::neighbours::kdtree::{KdTree, Projected};
use crate::neighbours::rows::{EpsTest, ExactRule, Rows};

/// Most neighbour pairs kept in memory by the single-pass method (12 bytes each); beyond
/// it DBSCAN restarts with the two-pass method, which stores no pairs.
const MAX_STORED_PAIRS: usize = 1 << 25;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pass {
    /// Single pass: each pair once (`j > i`), counts and pairs stored.
    Pairs,
    /// Two-pass fallback, pass 1: counts with early exit at `min_samples`.
    Count,
    /// Two-pass fallback, pass 2: full searches from core points.
    Join,
    Done,
}

/// Neighbour pair `(i, j)`, `i < j` (tree positions), with the direction flags
/// `i -> j` (bit 0) and `j -> i` (bit 1).
type Pair = (u32, u32, u8);

/// One interval's DBSCAN in progress.
pub(crate) struct IntervalDbscan {
    tree: KdTree,
    test: EpsTest,
    min_samples: usize,
    /// Neighbour counts including the point itself.
    counts: Vec<u32>,
    pairs: Vec<Pair>,
    is_core: Vec<bool>,
    parent: Vec<u32>,
    /// (non-core tree position, core tree position) with `core -> non-core`.
    border_pairs: Vec<(u32, u32)>,
    pass: Pass,
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

fn union(parent: &mut [u32], a: u32, b: u32) {
    let (a, b) = (find(parent, a), find(parent, b));
    if a != b {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        parent[hi as usize] = lo;
    }
}

impl IntervalDbscan {
    /// Prepares DBSCAN over `members` (row indices, ascending) with radius `eps`.
    pub fn new(
        rows: &Rows,
        projected: &Projected,
        members: &[u32],
        eps: f64,
        min_samples: usize,
    ) -> Self {
        let tree = KdTree::build(projected, members);
        let rule = ExactRule::for_interval(rows.dim, members.len());
        let test = EpsTest::new(rows, eps, rule);
        let n = members.len();
        IntervalDbscan {
            tree,
            test,
            min_samples,
            counts: vec![1; n],
            pairs: Vec::new(),
            is_core: vec![false; n],
            parent: (0..n as u32).collect(),
            border_pairs: Vec::new(),
            pass: Pass::Pairs,
            next_pos: 0,
        }
    }

    /// The interval's KD-tree.
    pub fn tree(&self) -> &KdTree {
        &self.tree
    }

    /// Replaces the radius (used when eps is computed from this interval's own tree).
    pub fn set_eps(&mut self, rows: &Rows, eps: f64) {
        let rule = ExactRule::for_interval(rows.dim, self.tree.len());
        self.test = EpsTest::new(rows, eps, rule);
    }

    /// Does work until about `budget` full-dimension distances were computed (or the end);
    /// returns true when finished.
    pub fn advance(&mut self, rows: &Rows, budget: u64) -> bool {
        let n = self.tree.len();
        let mut spent = 0u64;
        while self.pass != Pass::Done && spent < budget {
            if self.next_pos >= n {
                self.end_of_pass();
                continue;
            }
            let pos = self.next_pos;
            self.next_pos += 1;
            match self.pass {
                Pass::Pairs => {
                    let counts = &mut self.counts;
                    let pairs = &mut self.pairs;
                    spent += 1 + self.tree.radius_pairs_after(
                        rows,
                        pos,
                        &self.test,
                        |other, forward, backward| {
                            counts[pos] += forward as u32;
                            counts[other] += backward as u32;
                            pairs.push((
                                pos as u32,
                                other as u32,
                                forward as u8 | ((backward as u8) << 1),
                            ));
                        },
                    );
                    if self.pairs.len() > MAX_STORED_PAIRS {
                        self.pairs = Vec::new();
                        self.counts.iter_mut().for_each(|c| *c = 1);
                        self.pass = Pass::Count;
                        self.next_pos = 0;
                    }
                }
                Pass::Count => {
                    let min_samples = self.min_samples;
                    let mut count = 0usize;
                    spent += 1 + self.tree.radius_search(rows, pos, &self.test, |_| {
                        count += 1;
                        count < min_samples
                    });
                    self.is_core[pos] = count >= min_samples;
                }
                Pass::Join => {
                    if self.is_core[pos] {
                        let is_core = &self.is_core;
                        let parent = &mut self.parent;
                        let border_pairs = &mut self.border_pairs;
                        spent += 1 + self.tree.radius_search(rows, pos, &self.test, |other| {
                            if other != pos {
                                if is_core[other] {
                                    union(parent, pos as u32, other as u32);
                                } else {
                                    border_pairs.push((other as u32, pos as u32));
                                }
                            }
                            true
                        });
                    }
                }
                Pass::Done => {}
            }
        }
        self.pass == Pass::Done
    }

    fn end_of_pass(&mut self) {
        self.next_pos = 0;
        self.pass = match self.pass {
            Pass::Pairs => {
                let min_samples = self.min_samples as u32;
                for (core, &count) in self.is_core.iter_mut().zip(&self.counts) {
                    *core = count >= min_samples;
                }
                for &(a, b, flags) in &self.pairs {
                    let (a_core, b_core) = (self.is_core[a as usize], self.is_core[b as usize]);
                    if a_core && b_core {
                        union(&mut self.parent, a, b);
                    } else if a_core && flags & 1 != 0 {
                        self.border_pairs.push((b, a));
                    } else if b_core && flags & 2 != 0 {
                        self.border_pairs.push((a, b));
                    }
                }
                self.pairs = Vec::new();
                Pass::Done
            }
            Pass::Count => Pass::Join,
            Pass::Join | Pass::Done => Pass::Done,
        };
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

    /// Forces the two-pass method (tests).
    pub fn force_two_pass(&mut self) {
        self.pass = Pass::Count;
    }
}

/// Reference DBSCAN by brute force with the same float64 rule, O(n^2 dim). For tests and
/// tiny intervals. Returns clusters as lists of row indices ascending.
pub(crate) fn brute_force_clusters(
    rows: &Rows,
    members: &[u32],
    eps: f64,
    min_samples: usize,
) -> Vec<Vec<u32>> {
    let rule = ExactRule::for_interval(rows.dim, members.len());
    let test = EpsTest::new(rows, eps, rule);
    let n = members.len();
    let neighbours: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            (0..n)
                .filter(|&j| test.exact(rows, members[i] as usize, members[j] as usize))
                .collect()
        })
        .collect();
    let is_core: Vec<bool> = neighbours
        .iter()
        .map(|nb| nb.len() >= min_samples)
        .collect();
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
