//! t-SNE's stages timed one by one (wall time per step, charged to the stage the step's
//! progress names; the iterations split into early exaggeration and the rest) on the
//! benchmark's activation-like data, with a fingerprint of the coordinates, for comparing
//! builds and thread counts. Not a test: timings are printed, never asserted.
//!
//! Defaults are the browser benchmark's t-SNE row (`benches/browser-bench.mjs embed 50000`:
//! `topoact synth --n 50000 --dim 256`, data seed 0, perplexity 50, projection seed 0).
//!
//! Run: `cargo run --release -p topoact-core --example tsne_stages` with `N` (points, default
//! 50000), `DIM` (256), `DATA_SEED` (0), `SEED` (0), `ITERS` (750; early exaggeration stays
//! the first 250, or all of them if fewer), `PERPLEXITY` (50), `QUALITY` (set: 10-NN kept,
//! 1000 sampled) and `RAYON_NUM_THREADS` in the environment; `KNN_CACHE=<file>` keeps the
//! k-NN graph in a file (written the first time, read afterwards) for profiling t-SNE alone.
//! `GRID_P` and `GRID_WIDTH` override the grid's nodes per box and widest box.
//! `PROFILE=<i>-<j>,<k>-<l>,...` (x86-64 only) switches callgrind's instrumentation on
//! before iteration `i` and off after iteration `j - 1` (0-based), and dumps the window's
//! counts, for each window in turn: run under `valgrind --tool=callgrind
//! --instr-atstart=no` (one output file per window). Outside valgrind the requests do
//! nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use topoact_core::embed::knn::{knn_graph, KnnParams};
use topoact_core::embed::quality::knn_preservation;
use topoact_core::embed::tsne::{TsneJob, TsneParams};
use topoact_core::embed::{EmbedRows, KnnGraph};
use topoact_core::job::{Job, Step};
use topoact_core::mapper::synth::activation_like;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The k-NN graph read from `path` if it holds one for these points and `k`, else computed
/// and written there (so profiles of t-SNE need not repeat the search).
fn cached_knn(path: &str, rows: &Arc<EmbedRows>, k: usize) -> KnnGraph {
    let n = rows.n_points;
    if let Ok(bytes) = std::fs::read(path) {
        let words: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if words.len() == 3 + 2 * n * k && words[0] as usize == n && words[1] as usize == k {
            let (indices, distances) = words[3..].split_at(n * k);
            return KnnGraph {
                n_points: n,
                k,
                indices: indices.to_vec(),
                distances: distances.iter().map(|&d| f32::from_bits(d)).collect(),
                exact: words[2] != 0,
            };
        }
    }
    let graph = knn_graph(rows.clone(), KnnParams::new(k)).expect("k-NN");
    let mut bytes = Vec::with_capacity(4 * (3 + 2 * n * k));
    for word in [n as u32, k as u32, graph.exact as u32]
        .into_iter()
        .chain(graph.indices.iter().copied())
        .chain(graph.distances.iter().map(|d| d.to_bits()))
    {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    std::fs::write(path, bytes).expect("writes the k-NN cache");
    graph
}

/// A callgrind client request (`VG_USERREQ_TOOL_BASE('C', 'T') + offset`): 4 starts the
/// instrumentation, 5 stops it. A no-op outside valgrind.
#[cfg(target_arch = "x86_64")]
fn callgrind_request(offset: u64) {
    let args: [u64; 6] = [
        (u64::from(b'C') << 24 | u64::from(b'T') << 16) + offset,
        0,
        0,
        0,
        0,
        0,
    ];
    let mut result: u64 = 0;
    // SAFETY: valgrind's "special instruction" preamble for amd64: four rotations of rdi
    // by 128 bits in all (rdi unchanged) and `xchg rbx, rbx` (a no-op); valgrind reads the
    // request from the block `rax` points to and writes its result to `rdx`.
    unsafe {
        std::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            inout("rdx") result,
            in("rax") args.as_ptr(),
            inout("rdi") 0u64 => _,
        );
    }
    let _ = result;
}

#[cfg(not(target_arch = "x86_64"))]
fn callgrind_request(_offset: u64) {}

fn main() {
    let n: usize = env_or("N", 50_000);
    let dim: usize = env_or("DIM", 256);
    let data_seed: u64 = env_or("DATA_SEED", 0);
    let seed: u64 = env_or("SEED", 0);
    let iters: usize = env_or("ITERS", 750);
    let perplexity: f64 = env_or("PERPLEXITY", 50.0);
    let mut windows: Vec<(usize, usize)> = std::env::var("PROFILE")
        .unwrap_or_default()
        .split(',')
        .filter_map(|w| {
            let (from, to) = w.split_once('-')?;
            Some((from.trim().parse().ok()?, to.trim().parse().ok()?))
        })
        .collect();
    windows.reverse();
    let (array, _, _) = activation_like(n, dim, data_seed);
    let rows = Arc::new(EmbedRows::from_array(&array).expect("finite"));
    let mut params = TsneParams {
        perplexity,
        seed,
        n_iter: iters,
        early_exaggeration_iter: TsneParams::default().early_exaggeration_iter.min(iters),
        ..Default::default()
    };
    // Grid experiments: `GRID_P` nodes per box, `GRID_WIDTH` the widest box.
    params.interpolation.points_per_box = env_or("GRID_P", params.interpolation.points_per_box);
    params.interpolation.max_box_width = env_or("GRID_WIDTH", params.interpolation.max_box_width);
    let early = params.early_exaggeration_iter;
    let start = Instant::now();
    let k = params.neighbours_needed_for(n);
    let graph = Arc::new(match std::env::var("KNN_CACHE") {
        Ok(path) => cached_knn(&path, &rows, k),
        Err(_) => knn_graph(rows.clone(), KnnParams::new(k)).expect("k-NN"),
    });
    let knn_secs = start.elapsed().as_secs_f64();
    let mut job = TsneJob::new(rows.clone(), graph, params).expect("valid");
    let mut stages: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    let tsne_start = Instant::now();
    let mut first_iteration_at = None;
    let mut iteration = 0usize;
    let mut profiling = false;
    let embedding = loop {
        // `iteration` iterations are done: the next step is iteration `iteration` (0-based)
        // once the set-up is over (from 0, the set-up is profiled too).
        if let Some(&(from, to)) = windows.last() {
            if !profiling && iteration == from {
                callgrind_request(4);
                profiling = true;
            }
            if profiling && iteration >= to {
                callgrind_request(5);
                callgrind_request(0);
                profiling = false;
                windows.pop();
            }
        }
        let step_start = Instant::now();
        let step = job.step().expect("runs");
        let secs = step_start.elapsed().as_secs_f64();
        let stage = match &step {
            Step::Running(p) if p.stage.contains("iteration") => {
                iteration += 1;
                if iteration == 1 {
                    first_iteration_at = Some(tsne_start.elapsed().as_secs_f64());
                }
                if iteration <= early {
                    "4 iterations (exaggerated)".to_string()
                } else {
                    "5 iterations (after)".to_string()
                }
            }
            Step::Running(p) if p.stage.contains("affinities") && !p.stage.contains("sym") => {
                "1 affinities".to_string()
            }
            Step::Running(p) if p.stage.contains("symmetris") => "2 symmetrising".to_string(),
            Step::Running(p) if p.stage.contains("PCA") => "3 PCA".to_string(),
            Step::Running(p) => p.stage.clone(),
            Step::Done(_) => "5 iterations (after)".to_string(),
        };
        let entry = stages.entry(stage).or_insert((0.0, 0));
        entry.0 += secs;
        entry.1 += 1;
        if let Step::Done(e) = step {
            break e;
        }
    };
    let tsne_secs = tsne_start.elapsed().as_secs_f64();
    let mut print = 0xcbf2_9ce4_8422_2325u64;
    for v in &embedding.coords {
        for byte in v.to_bits().to_le_bytes() {
            print = (print ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!(
        "{n} x {dim}, data seed {data_seed}, seed {seed}, perplexity {perplexity}, {iters} iterations, threads {}: k-NN {knn_secs:.2} s, t-SNE after k-NN {tsne_secs:.2} s (first iteration done at {:.2} s)",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into()),
        first_iteration_at.unwrap_or(f64::NAN),
    );
    for (stage, (secs, steps)) in &stages {
        println!(
            "  {stage:<40} {secs:8.3} s  ({steps} steps, {:.2} ms each)",
            1e3 * secs / *steps as f64
        );
    }
    println!("  fingerprint {print:#018x}");
    if std::env::var("QUALITY").is_ok() {
        let quality = knn_preservation(&rows, &embedding.coords, 10, Some((1000, 5)));
        println!("  10-NN kept (1000 sampled) {quality:.4}");
    }
}
