//! The k-NN graph alone (partition, then search), timed, with a fingerprint of the graph's
//! bits, for comparing builds and thread counts (and for instruction counts under callgrind).
//! Not a test: timings are printed, never asserted.
//!
//! Run: `cargo run --release -p topoact-core --example knn_stages` with `N` (rows, default
//! 20000), `DIM` (256), `K` (20), `DATA_SEED` (1; activation-like data as the benchmarks'),
//! `COPY_MAX_BYTES` (copy the rows in cluster order only up to this many bytes of values;
//! default the job's own threshold) and `RAYON_NUM_THREADS`.

use std::sync::Arc;
use std::time::Instant;

use topoact_core::embed::knn::{KnnJob, KnnParams};
use topoact_core::embed::EmbedRows;
use topoact_core::job::{Job, Step};
use topoact_core::mapper::synth::activation_like;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n: usize = env_or("N", 20_000);
    let dim: usize = env_or("DIM", 256);
    let k: usize = env_or("K", 20);
    let data_seed: u64 = env_or("DATA_SEED", 1);
    let (array, _, _) = activation_like(n, dim, data_seed);
    let rows = Arc::new(EmbedRows::from_array(&array).expect("finite"));
    drop(array);
    let mut params = KnnParams::new(k);
    if let Some(cap) = std::env::var("MAX_CAND").ok().and_then(|v| v.parse().ok()) {
        params.search = topoact_core::embed::knn::KnnSearch::Approximate {
            max_candidates: cap,
        };
    }
    let mut job = KnnJob::new(rows.clone(), params).expect("k-NN parameters");
    if let Some(bytes) = std::env::var("COPY_MAX_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        job = job.with_copy_max_bytes(bytes);
    }
    let start = Instant::now();
    let mut partition_secs = 0.0;
    let graph = loop {
        let step_start = Instant::now();
        match job.step().expect("runs") {
            Step::Running(p) => {
                if p.stage.contains("partition") {
                    partition_secs += step_start.elapsed().as_secs_f64();
                }
            }
            Step::Done(graph) => break graph,
        }
    };
    let secs = start.elapsed().as_secs_f64();
    let mut print = 0xcbf2_9ce4_8422_2325u64;
    let bytes = graph.indices.iter().flat_map(|v| v.to_le_bytes()).chain(
        graph
            .distances
            .iter()
            .flat_map(|v| v.to_bits().to_le_bytes()),
    );
    for byte in bytes {
        print = (print ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    println!(
        "{n} x {dim}, k {k}, threads {}: partition {partition_secs:.2} s, search {:.2} s, {:.0} rows scanned per query, exact {}, fingerprint {print:#018x}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into()),
        secs - partition_secs,
        job.distance_evaluations() as f64 / n as f64,
        graph.exact
    );
    println!(
        "full distances (projected rows) per query: {:.0}",
        job.full_distance_evaluations() as f64 / n as f64
    );
    if std::env::var("RECALL").is_ok() {
        let r = topoact_core::neighbours::knn_graph::estimate_recall(&rows, &graph, k, 1000, 7);
        println!("recall (1000 queries) {r:.4}");
    }
}
