//! The mapper's stages as separate calls with plain inputs and outputs, for a caller that
//! spreads them over processes or machines (the Python package's Dask driver). Each runs
//! the code the one-call mapper ([`super::MapperJob`]) runs for that stage, so a graph
//! assembled from them is the one-call graph, node for node:
//!
//! 1. [`lens_of_rows`]: a per-row lens (L2, L1, mean, fraction of zeros) of a block of rows;
//! 2. the fixed epsilon, the quantile of every row's exact k-th-NN distance (self
//!    excluded): [`kth_neighbour_distances`] of a range of query rows among all rows of the
//!    reference, then [`epsilon_from_kth`]; or, with the rows in blocks (no task holds them
//!    all), the one-call mapper's join at a pilot radius, block by block:
//!    [`pilot_rows`] and [`block_knn`] (their exact k nearest in each block, merged: the
//!    k-th smallest over the blocks) give [`join_radius`]; [`block_pair_kth`] of every pair
//!    of blocks (and each block with itself) gives each row's k smallest distances within
//!    the radius, merged the same way; [`epsilon_from_bounded_kth`] takes the quantile when
//!    those determine it, else the rows above the radius get their exact k-th distance by
//!    [`block_knn`] and [`epsilon_from_kth`] takes it;
//! 3. [`cover`]: the intervals and the rows of each, from all lens values;
//! 4. [`cluster_rows`]: DBSCAN of one interval's rows (explicit epsilon, or the interval's
//!    own k-NN quantile);
//! 5. [`assemble_graph`]: cube numbering, nodes, duplicate merging and the nerve.
//!
//! Invariants: rows are addressed by their position in the caller's array (0-based);
//! `cluster_rows` gets an interval's rows in ascending row order (DBSCAN's scan order), as
//! [`cover`] lists them; a fixed epsilon is the quantile over every row, so every query row
//! must be asked once.

use std::ops::Range;

use crate::dataset::MatrixView;

use super::cover::{interval_members, rank_lens, uniform_intervals, Interval};
use super::dbscan::IntervalDbscan;
use super::graph::{graph_stats, nerve, IntervalReport, MapperGraph, MapperNode, ParamsRecord};
use super::job::{
    cross_join_block, join_block, knn_block, merge_duplicate_nodes, pruning_coords, IntervalWork,
    MapperJob, MAX_JOIN_PAIRS,
};
use super::join::{
    clusters_from_pairs, decide_pairs, k_smallest_exact, needed_order_stats, radius_from_pilot,
    storage_limit, DecidedPair,
};
use super::lens::per_row_lens;
use super::params::{CoverKind, Epsilon, Lens, MapperError, ValidMapperParams};
use crate::neighbours::kdtree::{FastBand, KdTree, Projected};
use crate::neighbours::pruning::Basis;
use crate::neighbours::quantile::numpy_quantile;
use crate::neighbours::rows::{ExactRule, Rows};

/// The lens of every row of `matrix` (float64), for a per-row lens; `Err` naming the lens
/// when it needs all rows at once (PC1, k-NN distance) or is a caller's own (custom).
/// `first_row` is the position of the block's first row in the caller's array (errors name
/// rows by it).
pub fn lens_of_rows(
    matrix: MatrixView<'_>,
    lens: &Lens,
    first_row: usize,
) -> Result<Vec<f64>, MapperError> {
    if !matches!(
        lens,
        Lens::L2Norm | Lens::L1Norm | Lens::Mean | Lens::FractionZeros
    ) {
        return Err(MapperError::NotPerRowLens(lens.name()));
    }
    let rows = Rows::gather(matrix, None).map_err(|err| match err {
        MapperError::NonFiniteData { sample_idx } => MapperError::NonFiniteData {
            sample_idx: sample_idx + first_row,
        },
        err => err,
    })?;
    let mut out = vec![0.0; rows.n_rows];
    per_row_lens(lens, &rows, 0..rows.n_rows, &mut out);
    Ok(out)
}

/// Rows with their pruning projection (the basis the one-call mapper would choose for as
/// many rows).
fn projected(rows: &Rows) -> Projected {
    let basis = Basis::for_pruning(rows, pruning_coords(rows.n_rows, rows.dim));
    let k = basis.n_vectors;
    let mut coords = vec![0f32; rows.n_rows * k];
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        const BLOCK: usize = 4096;
        coords
            .par_chunks_mut(BLOCK * k.max(1))
            .enumerate()
            .for_each(|(block, chunk)| {
                let start = block * BLOCK;
                basis.project_rows(rows, start..start + chunk.len() / k.max(1), chunk);
            });
    }
    #[cfg(not(feature = "parallel"))]
    basis.project_rows(rows, 0..rows.n_rows, &mut coords);
    Projected {
        n_coords: k,
        slack: basis.slack(rows),
        coords,
    }
}

/// The exact k-th-nearest-neighbour distance (self excluded, float64 by differences, as
/// [`Epsilon::KnnQuantile`]) of each row in `queries`, among all rows of `reference`.
/// Cost: one search tree over the reference (O(n log n)), then a pruned search per query;
/// in parallel with the `parallel` feature.
pub fn kth_neighbour_distances(
    reference: MatrixView<'_>,
    queries: Range<usize>,
    k: usize,
) -> Result<Vec<f64>, MapperError> {
    if k == 0 {
        return Err(MapperError::ZeroNeighbours);
    }
    let n_total = reference.n_rows();
    if queries.end > n_total || queries.start > queries.end {
        return Err(MapperError::SampleOutOfRange {
            sample_idx: queries.end.saturating_sub(1) as u32,
            n_samples: n_total,
        });
    }
    let mut rows = Rows::gather(reference, None)?;
    if rows.n_rows <= k {
        return Err(MapperError::TooFewSamplesForKnn {
            k,
            needed: k + 1,
            got: rows.n_rows,
        });
    }
    let projected = projected(&rows);
    let all: Vec<u32> = (0..rows.n_rows as u32).collect();
    let tree = KdTree::build(&projected, &all);
    rows.store_in_order(&tree.row_at);
    let mut pos_of_row = vec![0usize; rows.n_rows];
    for (pos, &row) in tree.row_at.iter().enumerate() {
        pos_of_row[row as usize] = pos;
    }
    // Query the requested rows in tree order (neighbouring queries share the cache).
    let mut positions: Vec<usize> = queries.clone().map(|row| pos_of_row[row]).collect();
    positions.sort_unstable();
    let band = FastBand::new(&rows);
    let mut out = vec![0f64; queries.len()];
    // Runs of consecutive tree positions go through the one-call mapper's k-NN block.
    let mut i = 0;
    while i < positions.len() {
        let mut j = i + 1;
        while j < positions.len() && positions[j] == positions[j - 1] + 1 {
            j += 1;
        }
        let by_pos = knn_block(
            &tree,
            &rows,
            band,
            positions[i]..positions[j - 1] + 1,
            k,
            true,
        );
        for (offset, d) in by_pos.chunks(k).enumerate() {
            let row = tree.row_at[positions[i] + offset] as usize;
            out[row - queries.start] = d[k - 1];
        }
        i = j;
    }
    Ok(out)
}

/// The fixed epsilon from every row's k-th-NN distance: numpy's quantile (`np.median` for
/// 0.5), as the one-call mapper takes it; 0 (duplicates) is [`MapperError::ZeroEpsilon`].
pub fn epsilon_from_kth(mut kth: Vec<f64>, k: usize, quantile: f64) -> Result<f64, MapperError> {
    if !(0.0..=1.0).contains(&quantile) {
        return Err(MapperError::QuantileOutOfRange(quantile));
    }
    if kth.is_empty() {
        return Err(MapperError::EmptyInput);
    }
    kth.sort_by(|a, b| a.total_cmp(b));
    let eps = numpy_quantile(&kth, quantile);
    if eps.is_nan() || eps <= 0.0 {
        return Err(MapperError::ZeroEpsilon { k, quantile });
    }
    Ok(eps)
}

/// The rows (positions among `n`) whose exact k-th-NN distance chooses the join radius:
/// the one-call mapper's pilot sample (`n / 16` evenly spaced rows, 256 to 2048).
pub fn pilot_rows(n: usize) -> Vec<usize> {
    super::join::pilot_rows(n)
}

/// The join radius from the pilot rows' exact k-th-NN distances, as the one-call mapper
/// chooses it (a radius above the wanted quantile with high probability); `None` when there
/// is none (then every row's k-th distance is searched).
pub fn join_radius(pilot_kth: Vec<f64>, quantile: f64) -> Option<f64> {
    radius_from_pilot(pilot_kth, quantile)
}

/// The `k` smallest exact distances (float64 by differences, as every k-NN search of the
/// mapper measures them) from each query row to the reference rows, ascending (`n_queries x
/// k`, +inf where the reference has fewer rows). `matrix` holds the `n_reference` reference
/// rows, then the queries; `self_of_query[i]` is the reference row that is query `i` itself
/// (not counted; a duplicate elsewhere counts, at distance 0), if any. The k-th smallest of
/// each query's values over blocks of the reference that hold every row once is its exact
/// k-th-NN distance.
pub fn block_knn(
    matrix: MatrixView<'_>,
    n_reference: usize,
    self_of_query: &[Option<usize>],
    k: usize,
) -> Result<Vec<f64>, MapperError> {
    if k == 0 {
        return Err(MapperError::ZeroNeighbours);
    }
    let mut rows = Rows::gather(matrix, None)?;
    let n = rows.n_rows;
    if n_reference == 0 || n_reference > n || n - n_reference != self_of_query.len() {
        return Err(MapperError::LengthMismatch {
            what: "the reference and query rows",
            got: n_reference + self_of_query.len(),
            expected: n,
        });
    }
    if let Some(&bad) = self_of_query.iter().flatten().find(|&&r| r >= n_reference) {
        return Err(MapperError::SampleOutOfRange {
            sample_idx: bad as u32,
            n_samples: n_reference,
        });
    }
    let projected = projected(&rows);
    let reference: Vec<u32> = (0..n_reference as u32).collect();
    let tree = KdTree::build(&projected, &reference);
    let order: Vec<u32> = tree
        .row_at
        .iter()
        .copied()
        .chain(n_reference as u32..n as u32)
        .collect();
    rows.store_in_order(&order);
    let mut pos_of_row = vec![0usize; n_reference];
    for (pos, &row) in tree.row_at.iter().enumerate() {
        pos_of_row[row as usize] = pos;
    }
    let band = FastBand::new(&rows);
    let m = projected.n_coords;
    let mut out = vec![0f64; self_of_query.len() * k];
    let search = |query: usize, d: &mut [f64]| {
        let row = n_reference + query;
        tree.knn_distances_of(
            &rows,
            band,
            &projected.coords[row * m..(row + 1) * m],
            row,
            self_of_query[query].map(|r| pos_of_row[r]),
            k,
            d,
        );
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(k)
            .enumerate()
            .for_each(|(query, d)| search(query, d));
    }
    #[cfg(not(feature = "parallel"))]
    out.chunks_mut(k)
        .enumerate()
        .for_each(|(query, d)| search(query, d));
    Ok(out)
}

/// The one-call mapper's join at `radius` between two blocks of rows: `matrix` holds the
/// first block's `n_first` rows, then the second's (`n_first` = all rows: one block with
/// itself). Returns for every row its `k` smallest exact distances (float64 by differences)
/// to rows of the other block (of its own block, itself excluded, for one block) among a
/// set of candidates holding every row within `radius`, ascending, +inf padded (`n x k`).
///
/// Merged over the blocks that pair a row with every row once (the k-th smallest of its
/// values), a value <= `radius` is the row's exact k-th-NN distance, and a larger one
/// means the exact one is above `radius` too.
pub fn block_pair_kth(
    matrix: MatrixView<'_>,
    n_first: usize,
    k: usize,
    radius: f64,
) -> Result<Vec<f64>, MapperError> {
    if k == 0 {
        return Err(MapperError::ZeroNeighbours);
    }
    if !(radius > 0.0 && radius.is_finite()) {
        return Err(MapperError::InvalidEpsilon(radius));
    }
    let mut rows = Rows::gather(matrix, None)?;
    let n = rows.n_rows;
    if n_first == 0 || n_first > n {
        return Err(MapperError::LengthMismatch {
            what: "the first block",
            got: n_first,
            expected: n,
        });
    }
    // One projection (basis) for both blocks, so the two trees prune against each other.
    let projected = projected(&rows);
    let band = FastBand::new(&rows);
    let limit = storage_limit(band, radius);
    let first: Vec<u32> = (0..n_first as u32).collect();
    let pairs = if n_first == n {
        let tree = KdTree::build(&projected, &first);
        rows.store_in_order(&tree.row_at);
        join_block(&tree, &rows, 0..n, radius, limit).0
    } else {
        let second: Vec<u32> = (n_first as u32..n as u32).collect();
        let queries = KdTree::build(&projected, &first);
        let members = KdTree::build(&projected, &second);
        let order: Vec<u32> = queries
            .row_at
            .iter()
            .chain(&members.row_at)
            .copied()
            .collect();
        rows.store_in_order(&order);
        cross_join_block(&members, &queries, &rows, radius, limit).0
    };
    Ok(k_smallest_exact(&rows, band, k, &pairs))
}

/// The fixed epsilon from every row's k-th-NN distance known up to `radius`: `kth[row]`
/// is exact when <= `radius` and only known to exceed it otherwise (any larger value or
/// +inf). `Some(numpy's quantile)` when the order statistics it reads are all known (the
/// same value as [`epsilon_from_kth`] on the exact distances); `None` when they are not
/// (the caller then needs the exact k-th distance of the rows above `radius`). 0 is
/// [`MapperError::ZeroEpsilon`], as in [`epsilon_from_kth`].
pub fn epsilon_from_bounded_kth(
    kth: Vec<f64>,
    radius: f64,
    k: usize,
    quantile: f64,
) -> Result<Option<f64>, MapperError> {
    if !(0.0..=1.0).contains(&quantile) {
        return Err(MapperError::QuantileOutOfRange(quantile));
    }
    if kth.is_empty() {
        return Err(MapperError::EmptyInput);
    }
    let n = kth.len();
    // Rows above the radius sort after every known value, whatever their exact values.
    let mut bounded: Vec<f64> = kth
        .into_iter()
        .map(|d| if d <= radius { d } else { f64::INFINITY })
        .collect();
    bounded.sort_by(|a, b| a.total_cmp(b));
    let (_, last_needed) = needed_order_stats(n, quantile);
    if !bounded[last_needed].is_finite() {
        return Ok(None);
    }
    let eps = numpy_quantile(&bounded, quantile);
    if eps.is_nan() || eps <= 0.0 {
        return Err(MapperError::ZeroEpsilon { k, quantile });
    }
    Ok(Some(eps))
}

/// The cover of `params` on the lens values of all rows: the intervals (KeplerMapper's
/// `Cover`, on the rank lens for `balanced`) and the rows of each, ascending.
pub fn cover(
    lens: &[f64],
    params: &ValidMapperParams,
) -> Result<(Vec<Interval>, Vec<Vec<u32>>), MapperError> {
    let params = params.params();
    if let Some(row_idx) = lens.iter().position(|v| !v.is_finite()) {
        return Err(MapperError::NonFiniteLens {
            sample_idx: row_idx,
        });
    }
    let cover_lens = match params.cover {
        CoverKind::Uniform => lens.to_vec(),
        CoverKind::Balanced => rank_lens(lens),
    };
    let intervals = uniform_intervals(&cover_lens, params.n_intervals, params.overlap)?;
    let members = interval_members(&cover_lens, &intervals);
    Ok((intervals, members))
}

/// DBSCAN (scikit-learn's labels) of the rows of `matrix`, all of them, in row order:
/// the clusters in label order, each a list of row positions ascending, and the radius
/// used. `epsilon` is explicit, or a per-interval k-NN quantile (`per_interval`, the k-th
/// distance among these rows only, k clamped to `rows - 1`). A fixed (global) quantile is
/// the caller's to compute ([`kth_neighbour_distances`]) and pass as `Explicit`.
pub fn cluster_rows(
    matrix: MatrixView<'_>,
    epsilon: Epsilon,
    min_samples: usize,
) -> Result<(Vec<Vec<u32>>, f64), MapperError> {
    if min_samples == 0 {
        return Err(MapperError::ZeroMinSamples);
    }
    let mut rows = Rows::gather(matrix, None)?;
    let n = rows.n_rows;
    let (eps, eps_search) = match epsilon {
        Epsilon::Explicit(eps) if eps > 0.0 && eps.is_finite() => (eps, None),
        Epsilon::Explicit(eps) => return Err(MapperError::InvalidEpsilon(eps)),
        Epsilon::KnnQuantile {
            per_interval: false,
            ..
        } => return Err(MapperError::GlobalEpsilonNeeded),
        Epsilon::KnnQuantile { k: 0, .. } => return Err(MapperError::ZeroNeighbours),
        Epsilon::KnnQuantile { quantile, .. } if !(0.0..=1.0).contains(&quantile) => {
            return Err(MapperError::QuantileOutOfRange(quantile))
        }
        Epsilon::KnnQuantile { .. } if n == 1 => (f64::MIN_POSITIVE, None),
        Epsilon::KnnQuantile { .. } => (f64::MIN_POSITIVE, Some((0usize, vec![0.0; n]))),
    };
    let projected = projected(&rows);
    let members: Vec<u32> = (0..n as u32).collect();
    if eps_search.is_none() {
        if let Some(clusters) = clusters_by_join(&mut rows, &projected, &members, eps, min_samples)
        {
            return Ok((clusters, eps));
        }
    }
    let dbscan = IntervalDbscan::new(&rows, &projected, &members, eps, min_samples);
    let mut work = IntervalWork {
        interval_idx: 0,
        dbscan,
        eps_search,
        eps,
    };
    let params = super::MapperParams {
        epsilon,
        min_samples,
        ..Default::default()
    };
    MapperJob::advance_interval(&rows, &params, &mut work, u64::MAX);
    let eps = work.eps;
    Ok((work.dbscan.clusters(), eps))
}

/// DBSCAN at a known radius the way the one-call mapper's fixed-epsilon path does it: the
/// self-join of the rows at radius `eps` (parallel over query blocks), every stored pair
/// decided in float64 under both of scikit-learn's rules, then the union-find over the
/// pairs with the rule scikit-learn uses for this many rows. `None` when the join stores
/// more pairs than the one-call mapper allows (the caller then runs the pruned DBSCAN).
fn clusters_by_join(
    rows: &mut Rows,
    projected: &Projected,
    members: &[u32],
    eps: f64,
    min_samples: usize,
) -> Option<Vec<Vec<u32>>> {
    let tree = KdTree::build(projected, members);
    // The rows' values in the tree's order (row indices unchanged): searches read
    // neighbouring memory.
    rows.store_in_order(&tree.row_at);
    let rows = &*rows;
    let band = FastBand::new(rows);
    // Every pair within `eps` (exact, either rule) has a fast value within the limit.
    let (pairs, _) = join_block(&tree, rows, 0..rows.n_rows, eps, storage_limit(band, eps));
    if pairs.len() > MAX_JOIN_PAIRS {
        return None;
    }
    let decided: Vec<DecidedPair> = decide_pairs(rows, pairs, eps).iter().copied().collect();
    let rule = ExactRule::for_interval(rows.dim, rows.n_rows);
    Some(clusters_from_pairs(members, &decided, min_samples, rule))
}

/// The graph from each interval's clusters: `clusters[i]` holds interval `i`'s clusters as
/// positions into `members[i]` (what [`cluster_rows`] returns on those rows), `None` for
/// an interval not clustered (empty, or fewer than `min_samples` rows: those are ignored
/// whatever is passed). Nodes are named and numbered as KeplerMapper does, merged when
/// `remove_duplicate_nodes`, then linked by the nerve. `eps` is each clustered interval's
/// radius (for the record); `lens` every row's lens value. Node statistics that need the
/// values (mean activation) are left empty.
pub fn assemble_graph(
    params: &ValidMapperParams,
    lens: &[f64],
    intervals: &[Interval],
    members: &[Vec<u32>],
    clusters: &[Option<Vec<Vec<u32>>>],
    eps: &[Option<f64>],
    eps_global: Option<f64>,
) -> Result<MapperGraph, MapperError> {
    let params = params.params();
    let n = intervals.len();
    if members.len() != n || clusters.len() != n || eps.len() != n {
        return Err(MapperError::LengthMismatch {
            what: "the per-interval results",
            got: members.len().min(clusters.len()).min(eps.len()),
            expected: n,
        });
    }
    let mut nodes: Vec<MapperNode> = Vec::new();
    let mut reports = Vec::with_capacity(n);
    let mut next_cube_idx = 0;
    for (interval_idx, interval) in intervals.iter().enumerate() {
        let rows_of_interval = &members[interval_idx];
        let mut report = IntervalReport {
            interval: interval.clone(),
            n_members: rows_of_interval.len(),
            cube_idx: None,
            skipped_small: false,
            eps: None,
            n_clusters: 0,
        };
        if rows_of_interval.is_empty() {
            reports.push(report);
            continue;
        }
        let cube_idx = next_cube_idx;
        next_cube_idx += 1;
        report.cube_idx = Some(cube_idx);
        if rows_of_interval.len() < params.min_samples {
            report.skipped_small = true;
            reports.push(report);
            continue;
        }
        let Some(found) = &clusters[interval_idx] else {
            return Err(MapperError::MissingInterval { interval_idx });
        };
        report.eps = eps[interval_idx];
        report.n_clusters = found.len();
        for (cluster_idx, positions) in found.iter().enumerate() {
            let mut ids = Vec::with_capacity(positions.len());
            for &p in positions {
                let Some(&row) = rows_of_interval.get(p as usize) else {
                    return Err(MapperError::SampleOutOfRange {
                        sample_idx: p,
                        n_samples: rows_of_interval.len(),
                    });
                };
                ids.push(row);
            }
            ids.sort_unstable();
            let size = ids.len();
            let lens_mean = ids
                .iter()
                .map(|&r| lens.get(r as usize).copied().unwrap_or(f64::NAN))
                .sum::<f64>()
                / size.max(1) as f64;
            nodes.push(MapperNode {
                node_id: nodes.len(),
                name: format!("cube{cube_idx}_cluster{cluster_idx}"),
                cube_idx,
                interval_idx: interval.centre_idx,
                cluster_idx,
                members: ids,
                size,
                lens_mean,
                class_histogram: Vec::new(),
                top_classes: Vec::new(),
                mean_activation: Vec::new(),
            });
        }
        reports.push(report);
    }
    if params.remove_duplicate_nodes {
        nodes = merge_duplicate_nodes(nodes);
    }
    let member_lists: Vec<&[u32]> = nodes.iter().map(|n| n.members.as_slice()).collect();
    let edges = nerve(&member_lists, params.min_intersection);
    let stats = graph_stats(&nodes, &edges, lens.len());
    Ok(MapperGraph {
        nodes,
        edges,
        stats,
        params: ParamsRecord::new(params, eps_global),
        intervals: reports,
        n_samples_used: lens.len(),
        class_names: Vec::new(),
        lens_by_row: lens.to_vec(),
    })
}
