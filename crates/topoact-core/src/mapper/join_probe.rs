//! A probe of the fixed-epsilon join's stages, not a test: `cargo test --release -p
//! topoact-core --lib join_probe -- --ignored --nocapture` with `N` (rows, default 20000),
//! `DIM` (256), `COORDS` (the pruning coordinates, default as the mapper) and
//! `RAYON_NUM_THREADS`. On `synth::activation_like(N, DIM, 0)` (the data of
//! `topoact synth --seed 0`) it runs the join path as `MapperJob` does with whole stages
//! (eps = median 5th-NN) and prints each stage's wall time and the join's counts: full-
//! dimension distances, stored pairs, pairs within eps. Counts do not depend on the load.

use std::time::Instant;

use super::job::{join_block, pruning_coords};
use super::join::{eps_from_pairs, pilot_radius, storage_limit};
use super::synth::activation_like;
use crate::dataset::Matrix;
use crate::neighbours::kdtree::{FastBand, KdTree, Projected};
use crate::neighbours::pruning::Basis;
use crate::neighbours::rows::{Rows, SHARE_ABOVE_BYTES};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The join's inputs as `MapperJob` makes them on `synth::activation_like(N, DIM, 0)`: the
/// rows (stored in the tree's order), the pruning basis (`COORDS` vectors, default as the
/// mapper), its slack, the tree over the projected rows, and the pilot's join radius for
/// eps = median 5th-NN.
struct JoinSetUp {
    n: usize,
    dim: usize,
    rows: Rows,
    basis: Basis,
    slack: f64,
    tree: KdTree,
    band: FastBand,
    hi: f64,
}

fn join_set_up() -> JoinSetUp {
    let (n, dim) = (env_or("N", 20_000), env_or("DIM", 256));
    let (x, _, _) = activation_like(n, dim, 0);
    let matrix = Matrix::F32(x.into());
    let mut rows = Rows::gather_matrix(&matrix, None, SHARE_ABOVE_BYTES).expect("rows");
    let basis = Basis::for_pruning(&rows, env_or("COORDS", pruning_coords(n, dim)));
    let m = basis.n_vectors;
    let mut projected = Projected {
        n_coords: m,
        coords: vec![0.0; n * m],
        slack: basis.slack(&rows),
    };
    basis.project_rows(&rows, 0..n, &mut projected.coords);
    let all: Vec<u32> = (0..n as u32).collect();
    let tree = KdTree::build(&projected, &all);
    rows.store_in_order(&tree.row_at);
    let band = FastBand::new(&rows);
    let hi = pilot_radius(&tree, &rows, band, 5, 0.5).expect("a pilot radius");
    JoinSetUp {
        n,
        dim,
        rows,
        basis,
        slack: projected.slack,
        tree,
        band,
        hi,
    }
}

#[test]
#[ignore = "a probe with timings; run by hand"]
fn join_probe() {
    let (n, dim) = (env_or("N", 20_000), env_or("DIM", 256));
    let (k, quantile) = (5usize, 0.5f64);
    let (x, _, _) = activation_like(n, dim, 0);
    let matrix = Matrix::F32(x.into());
    let clock = Instant::now();
    let lap = |what: &str, since: &mut f64| {
        let now = clock.elapsed().as_secs_f64();
        eprintln!("{what:<28} {:8.3} s", now - *since);
        *since = now;
    };
    let mut t = 0.0;
    let mut rows = Rows::gather_matrix(&matrix, None, SHARE_ABOVE_BYTES).expect("rows");
    lap("rows", &mut t);
    let basis = Basis::for_pruning(&rows, env_or("COORDS", pruning_coords(n, dim)));
    let m = basis.n_vectors;
    let mut projected = Projected {
        n_coords: m,
        coords: vec![0.0; n * m],
        slack: basis.slack(&rows),
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        let rows = &rows;
        projected
            .coords
            .par_chunks_mut(4096 * m)
            .enumerate()
            .for_each(|(i, chunk)| {
                basis.project_rows(rows, i * 4096..i * 4096 + chunk.len() / m, chunk)
            });
    }
    #[cfg(not(feature = "parallel"))]
    basis.project_rows(&rows, 0..n, &mut projected.coords);
    lap("basis + projection", &mut t);
    let all: Vec<u32> = (0..n as u32).collect();
    let tree = KdTree::build(&projected, &all);
    rows.store_in_order(&tree.row_at);
    lap("tree", &mut t);
    let band = FastBand::new(&rows);
    let hi = pilot_radius(&tree, &rows, band, k, quantile).expect("a pilot radius");
    lap("pilot", &mut t);
    let limit = storage_limit(band, hi);
    let (pairs, spent) = join_block(&tree, &rows, 0..n, hi, limit);
    lap("join", &mut t);
    let eps = eps_from_pairs(&rows, band, &pairs, hi, k, quantile).expect("eps from the pairs");
    lap("eps from pairs", &mut t);
    let eps2 = (eps * eps) as f32;
    let within = pairs.iter().filter(|p| p.2 <= eps2).count();
    eprintln!(
        "n {n} dim {dim} coords {m} slack {:.3e}: eps {eps:.6} hi {hi:.6} (hi/eps {:.4}), \
         full distances {}, stored pairs {}, within eps {within}",
        projected.slack,
        hi / eps,
        spent - n as u64,
        pairs.len(),
    );
}

/// How the join's full-dimension candidates (projected distance <= `hi + slack`) shrink
/// with the radius and the slack: the count with projected distance <= r for r between eps
/// and `hi + slack`. `N`, `DIM`, `COORDS` as [`join_probe`].
#[test]
#[ignore = "a probe; run by hand"]
fn radius_probe() {
    let JoinSetUp {
        n,
        dim,
        rows,
        basis,
        slack,
        tree,
        band,
        hi,
    } = join_set_up();
    let (k, quantile) = (5usize, 0.5f64);
    let m = basis.n_vectors;
    let limit = storage_limit(band, hi);
    let z = tree.coords_by_row(n);
    let mut dz: Vec<f64> = Vec::new();
    let mut fast_values: Vec<f32> = Vec::new();
    tree.pairs_within_range(&rows, 0..n, hi, f32::INFINITY, |a, b, fast| {
        let (a, b) = (tree.row_at[a] as usize, tree.row_at[b] as usize);
        let d2: f64 = (0..m)
            .map(|c| {
                let d = z[a * m + c] as f64 - z[b * m + c] as f64;
                d * d
            })
            .sum();
        dz.push(d2.sqrt());
        fast_values.push(fast);
    });
    let (pairs, spent) = join_block(&tree, &rows, 0..n, hi, limit);
    let eps = eps_from_pairs(&rows, band, &pairs, hi, k, quantile).expect("eps");
    drop(pairs);
    eprintln!(
        "n {n} dim {dim} coords {m}: eps {eps:.4} hi {hi:.4} slack {slack:.4}; full distances {} \
         (candidates {})",
        spent - n as u64,
        dz.len()
    );
    let count = |r: f64| dz.iter().filter(|&&d| d <= r).count();
    let within = |r: f64| fast_values.iter().filter(|&&f| (f as f64) <= r * r).count();
    for (what, r) in [
        ("eps", eps),
        ("eps + slack / 4", eps + slack / 4.0),
        ("eps + slack", eps + slack),
        ("hi", hi),
        ("hi + slack / 4", hi + slack / 4.0),
        ("hi + slack / 2", hi + slack / 2.0),
        ("hi + slack", hi + slack),
    ] {
        eprintln!(
            "projected distance <= {what:<16} ({r:.4}): {:>10} candidates; pairs within it {:>10}",
            count(r),
            within(r)
        );
    }
}

/// The steps of a [`super::MapperJob`] as the browser worker runs it (bounded steps of
/// `THREADS` threads each, called from a thread outside the pool): per stage the number of
/// steps (each one parallel call into the pool) and the wall time, then the whole-stages
/// run's total for comparison. `N`, `DIM` as [`join_probe`]; the benchmark's parameters.
#[test]
#[ignore = "a probe with timings; run by hand"]
fn step_probe() {
    use super::params::{CoverKind, MapperParams};
    use super::MapperInput;
    use crate::job::{Job, Step};
    let (n, dim) = (env_or("N", 20_000), env_or("DIM", 256));
    let threads = env_or("THREADS", 2);
    let (x, _, _) = activation_like(n, dim, 0);
    let matrix = Matrix::F32(x.into());
    let params = MapperParams::benchmark(CoverKind::Uniform)
        .validate()
        .expect("valid parameters");
    let run = |stepwise: bool| {
        let job = super::MapperJob::new(MapperInput::new(&matrix), &params).expect("job");
        let mut job = if stepwise {
            job.with_step_threads(threads)
        } else {
            job.with_whole_stages()
        };
        let mut stages: Vec<(String, usize, f64)> = Vec::new();
        let clock = Instant::now();
        let mut last = 0.0;
        let graph = loop {
            let step = job.step().expect("step");
            let now = clock.elapsed().as_secs_f64();
            match step {
                Step::Running(progress) => {
                    let label: String = progress
                        .stage
                        .chars()
                        .filter(|c| !c.is_ascii_digit() && *c != '/')
                        .collect();
                    match stages.last_mut() {
                        Some(s) if s.0 == label => {
                            s.1 += 1;
                            s.2 += now - last;
                        }
                        _ => stages.push((label, 1, now - last)),
                    }
                }
                Step::Done(graph) => {
                    stages.push(("finish".into(), 1, now - last));
                    break graph;
                }
            }
            last = now;
        };
        let total = clock.elapsed().as_secs_f64();
        eprintln!(
            "{}: {total:.3} s, {} nodes {} edges",
            if stepwise { "stepwise" } else { "whole stages" },
            graph.nodes.len(),
            graph.edges.len()
        );
        for (label, steps, secs) in stages {
            eprintln!("  {label:<32} {steps:>6} steps {secs:8.3} s");
        }
    };
    run(true);
    run(false);
}

/// Feasibility of residual bounds: of the join's candidates (projected survivors), how many
/// a residual-norm bound (`|z_a - z_b|^2 + (r_a - r_b)^2`, `r` the norm outside the basis)
/// would cut, with the residual split into `G` blocks of the standard coordinates (`G = 1`:
/// one norm, `sum_g (r_a,g - r_b,g)^2` otherwise). Exact float64 residuals, no slack: an
/// upper estimate of what a stored bound could cut. Measured at 20K x 256, 24 coordinates:
/// of 3.07M candidates G = 1 cuts 3.8 %, 4: 4.4 %, 8: 5.3 %, 32: 10.2 % (the residual is
/// spread evenly; 16 more principal coordinates cut 36 %), so not kept.
#[test]
#[ignore = "a probe; run by hand"]
fn residual_probe() {
    let JoinSetUp {
        n,
        dim,
        rows,
        basis,
        slack,
        tree,
        band,
        hi,
    } = join_set_up();
    let m = basis.n_vectors;
    // Residual vectors in float64, per row.
    let residual = |row: &[f32]| -> Vec<f64> {
        let c: Vec<f64> = row
            .iter()
            .zip(&basis.mean)
            .map(|(&v, &mu)| v as f64 - mu)
            .collect();
        let mut res = c.clone();
        for v in 0..m {
            let p = &basis.vectors[v * dim..(v + 1) * dim];
            let d: f64 = c.iter().zip(p).map(|(a, b)| a * b).sum();
            for (r, &b) in res.iter_mut().zip(p) {
                *r -= d * b;
            }
        }
        res
    };
    let groups = [1usize, 2, 4, 8, 16, 32];
    let block_norms: Vec<Vec<f64>> = (0..n)
        .map(|row| {
            let res = residual(rows.row32(row));
            let mut out = Vec::new();
            for &g in &groups {
                let size = dim.div_ceil(g);
                for b in 0..g {
                    let lo = (b * size).min(dim);
                    let hi = ((b + 1) * size).min(dim);
                    out.push(res[lo..hi].iter().map(|x| x * x).sum::<f64>().sqrt());
                }
            }
            out
        })
        .collect();
    let z = tree.coords_by_row(n);
    let limit = storage_limit(band, hi);
    let zl = ((hi + slack) / (1.0 - 1e-5)).powi(2);
    let mut n_cand = 0u64;
    let mut n_kept = 0u64;
    let mut cut = vec![0u64; groups.len()];
    let mut cut_hi = vec![0u64; groups.len()];
    tree.pairs_within_range(&rows, 0..n, hi, f32::INFINITY, |a, b, fast| {
        let (a, b) = (tree.row_at[a] as usize, tree.row_at[b] as usize);
        n_cand += 1;
        if fast <= limit {
            n_kept += 1;
        }
        let dz2: f64 = (0..m)
            .map(|c| {
                let d = z[a * m + c] as f64 - z[b * m + c] as f64;
                d * d
            })
            .sum();
        let mut at = 0;
        for (gi, &g) in groups.iter().enumerate() {
            let s: f64 = (0..g)
                .map(|j| {
                    let d = block_norms[a][at + j] - block_norms[b][at + j];
                    d * d
                })
                .sum();
            at += g;
            if dz2 + s > zl {
                cut[gi] += 1;
            }
            if dz2 + s > hi * hi {
                cut_hi[gi] += 1;
            }
        }
    });
    eprintln!("n {n} dim {dim} coords {m} hi {hi:.4} slack {slack:.4e}: candidates {n_cand}, kept {n_kept}");
    for (gi, &g) in groups.iter().enumerate() {
        eprintln!(
            "G {g:>3}: cut at (hi+slack) {:>10} ({:.1} %), at hi {:>10}",
            cut[gi],
            100.0 * cut[gi] as f64 / n_cand as f64,
            cut_hi[gi]
        );
    }
}

/// Where the full distances of the join's candidates could stop: for each candidate whose
/// squared distance exceeds the storage limit, the first prefix of `G` coordinates (original
/// order) whose sum exceeds it, averaged; and for groups of 4 consecutive candidates of one
/// query (as the join's four-per-pass kernel), four times the largest of the four.
/// Measured at 20K x 256, 24 coordinates: checks every 16 / 64 / 128 coordinates would sum
/// 80 / 88 / 98 % of the candidates' coordinates singly, and about 100 % in fours (the
/// wasted candidates lie just outside the radius), so finer early exits do not pay.
#[test]
#[ignore = "a probe; run by hand"]
fn exit_probe() {
    let JoinSetUp {
        n,
        dim,
        rows,
        basis,
        slack: _,
        tree,
        band,
        hi,
    } = join_set_up();
    let m = basis.n_vectors;
    let limit = storage_limit(band, hi) as f64;
    let grains = [16usize, 32, 64, 128];
    // Per grain: coordinates summed per candidate (single), per group of four (max).
    let mut single = vec![0u64; grains.len()];
    let mut grouped = vec![0u64; grains.len()];
    let mut group: Vec<Vec<usize>> = Vec::new();
    let mut last_query = usize::MAX;
    let mut n_cand = 0u64;
    let flush = |group: &mut Vec<Vec<usize>>, grouped: &mut Vec<u64>| {
        for chunk in group.chunks(4) {
            for (g, _) in grains.iter().enumerate() {
                grouped[g] += (chunk.len() * chunk.iter().map(|e| e[g]).max().unwrap_or(0)) as u64;
            }
        }
        group.clear();
    };
    tree.pairs_within_range(&rows, 0..n, hi, f32::INFINITY, |qp, op, _| {
        let (a, b) = (tree.row_at[qp] as usize, tree.row_at[op] as usize);
        if qp != last_query {
            flush(&mut group, &mut grouped);
            last_query = qp;
        }
        n_cand += 1;
        let (va, vb) = (rows.row32(a), rows.row32(b));
        let mut exits = Vec::new();
        for (g, &grain) in grains.iter().enumerate() {
            let mut s = 0f64;
            let mut stop = dim;
            let mut start = 0;
            while start < dim {
                let end = (start + grain).min(dim);
                for c in start..end {
                    let d = va[c] as f64 - vb[c] as f64;
                    s += d * d;
                }
                if s > limit {
                    stop = end;
                    break;
                }
                start = end;
            }
            single[g] += stop as u64;
            exits.push(stop);
        }
        group.push(exits);
    });
    flush(&mut group, &mut grouped);
    eprintln!(
        "n {n} dim {dim} coords {m}: candidates {n_cand}, full = {} coords",
        n_cand * dim as u64
    );
    for (g, &grain) in grains.iter().enumerate() {
        eprintln!(
            "grain {grain:>4}: single {:.1} % of the coordinates, groups of 4 {:.1} %",
            100.0 * single[g] as f64 / (n_cand * dim as u64) as f64,
            100.0 * grouped[g] as f64 / (n_cand * dim as u64) as f64
        );
    }
}
