//! UMAP's stages timed one by one (wall time per step, charged to the stage the step's
//! progress names, and the CPU time of all threads in it) on the benchmark's activation-like data, with a fingerprint of the
//! coordinates, for comparing builds and thread counts. Not a test: timings are printed, never
//! asserted.
//!
//! Run: `cargo run --release -p topoact-core --example umap_stages` with `N` (points, default
//! 50000), `DIM` (256), `EPOCHS` (UMAP's default when unset), `SEED` (1), `DATA_SEED` (the
//! data's seed, 1; the browser benchmark's file is `topoact synth --seed 0`, projected with
//! seed 0: `DATA_SEED=0 SEED=0`), `QUALITY` (set: 10-NN kept and trustworthiness at k = 10, 1,000 sampled points) and `RAYON_NUM_THREADS` in the environment. `KNN_CACHE=<file>`
//! reads the k-NN graph from that file if it exists, else writes it there (so a profiler
//! run of the later stages does not wait for the search).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use topoact_core::embed::knn::{knn_graph, KnnParams};
use topoact_core::embed::quality::{knn_preservation, trustworthiness};
use topoact_core::embed::umap::{UmapJob, UmapParams};
use topoact_core::embed::{EmbedRows, KnnGraph};
use topoact_core::job::{Job, Step};
use topoact_core::mapper::synth::activation_like;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The graph as bytes: n, k, exact (u64 each), indices, distances (little-endian).
fn write_graph(graph: &KnnGraph) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [graph.n_points as u64, graph.k as u64, graph.exact as u64] {
        out.extend(v.to_le_bytes());
    }
    out.extend(graph.indices.iter().flat_map(|v| v.to_le_bytes()));
    out.extend(graph.distances.iter().flat_map(|v| v.to_le_bytes()));
    out
}

fn read_graph(bytes: &[u8]) -> KnnGraph {
    let word = |i: usize| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    let (n_points, k) = (word(0) as usize, word(1) as usize);
    let values = |from: usize| {
        bytes[from..from + 4 * n_points * k]
            .chunks_exact(4)
            .map(|c| [c[0], c[1], c[2], c[3]])
            .collect::<Vec<_>>()
    };
    KnnGraph {
        n_points,
        k,
        exact: word(2) != 0,
        indices: values(24).into_iter().map(u32::from_le_bytes).collect(),
        distances: values(24 + 4 * n_points * k)
            .into_iter()
            .map(f32::from_le_bytes)
            .collect(),
    }
}

/// CPU seconds of every thread of this process so far (Linux: the sum over
/// `/proc/self/task/*/schedstat`; 0 elsewhere), so a stage's cost can be read on a loaded
/// machine, where wall time includes waiting.
fn process_cpu_secs() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let mut nanos = 0u64;
    for task in tasks.flatten() {
        if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
            nanos += stat
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    nanos as f64 * 1e-9
}

fn main() {
    let n: usize = env_or("N", 50_000);
    let dim: usize = env_or("DIM", 256);
    let seed: u64 = env_or("SEED", 1);
    let epochs: Option<usize> = std::env::var("EPOCHS").ok().and_then(|v| v.parse().ok());
    let data_seed: u64 = env_or("DATA_SEED", 1);
    let (array, _, _) = activation_like(n, dim, data_seed);
    let rows = Arc::new(EmbedRows::from_array(&array).expect("finite"));
    let params = UmapParams {
        seed,
        n_epochs: epochs,
        ..Default::default()
    };
    let start = Instant::now();
    let cache = std::env::var("KNN_CACHE").ok();
    let cached = cache
        .as_deref()
        .and_then(|path| std::fs::read(path).ok())
        .map(|bytes| read_graph(&bytes));
    let graph = Arc::new(match cached {
        Some(graph) => graph,
        None => {
            let graph =
                knn_graph(rows.clone(), KnnParams::new(params.neighbours_needed())).expect("k-NN");
            if let Some(path) = &cache {
                std::fs::write(path, write_graph(&graph)).expect("cache written");
            }
            graph
        }
    });
    assert_eq!(graph.n_points, n, "the cached graph is of this data");
    let knn_secs = start.elapsed().as_secs_f64();
    let mut job = UmapJob::new(rows.clone(), graph, params).expect("valid");
    let mut stages: BTreeMap<String, (f64, f64, usize)> = BTreeMap::new();
    let umap_start = Instant::now();
    let embedding = loop {
        let step_start = Instant::now();
        let cpu_start = process_cpu_secs();
        let step = job.step().expect("runs");
        let secs = step_start.elapsed().as_secs_f64();
        let cpu_secs = process_cpu_secs() - cpu_start;
        let stage = match &step {
            Step::Running(p) if p.stage.contains("epoch") => "sgd".to_string(),
            Step::Running(p) => p.stage.clone(),
            Step::Done(_) => "sgd".to_string(),
        };
        let entry = stages.entry(stage).or_insert((0.0, 0.0, 0));
        entry.0 += secs;
        entry.1 += cpu_secs;
        entry.2 += 1;
        if let Step::Done(e) = step {
            break e;
        }
    };
    let umap_secs = umap_start.elapsed().as_secs_f64();
    let mut print = 0xcbf2_9ce4_8422_2325u64;
    for v in &embedding.coords {
        for byte in v.to_bits().to_le_bytes() {
            print = (print ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!(
        "{n} x {dim}, seed {seed}, {} epochs, {} edges, threads {}: k-NN {knn_secs:.2} s, UMAP after k-NN {umap_secs:.2} s",
        job.n_epochs(),
        job.n_edges().unwrap_or(0),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into())
    );
    for (stage, (secs, cpu_secs, steps)) in &stages {
        println!("  {stage:<40} {secs:8.3} s wall {cpu_secs:8.3} s CPU  ({steps} steps)");
    }
    println!("  fingerprint {print:#018x}");
    if std::env::var("QUALITY").is_ok() {
        let quality = knn_preservation(&rows, &embedding.coords, 10, Some((1000, 5)));
        println!("  10-NN kept (1000 sampled) {quality:.4}");
        let trust = trustworthiness(&rows, &embedding.coords, 10, Some((1000, 5)));
        println!("  trustworthiness (k 10, 1000 sampled) {trust:.4}");
    }
}
