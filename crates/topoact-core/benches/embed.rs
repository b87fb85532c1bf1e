//! Projection benchmarks: the k-NN graph (k = 150, the shared graph of t-SNE and UMAP) and
//! UMAP (k-NN at k = 19 included) at 5K and 20K x 256, on Gaussian blobs (the peers' data) and
//! activation-like data. Run with `cargo bench -p topoact-core --bench embed`.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use topoact_core::embed::knn::{knn_graph, KnnParams};
use topoact_core::embed::synth::gaussian_blobs;
use topoact_core::embed::umap::{umap, UmapParams};
use topoact_core::embed::EmbedRows;
use topoact_core::mapper::synth::activation_like;

fn data(kind: &str, n: usize) -> Arc<EmbedRows> {
    match kind {
        "blobs" => Arc::new(gaussian_blobs(n, 256, 20, 1).expect("valid").0),
        _ => Arc::new(EmbedRows::from_array(&activation_like(n, 256, 1).0).expect("finite")),
    }
}

fn bench_knn(c: &mut Criterion) {
    let mut group = c.benchmark_group("knn_k150");
    group.sample_size(10);
    for n in [5_000usize, 20_000] {
        for kind in ["blobs", "activation-like"] {
            let rows = data(kind, n);
            group.bench_with_input(BenchmarkId::new(kind, n), &rows, |b, rows| {
                b.iter(|| knn_graph(rows.clone(), KnnParams::new(150)).expect("k-NN"))
            });
        }
    }
    group.finish();
}

fn bench_umap(c: &mut Criterion) {
    let mut group = c.benchmark_group("umap");
    group.sample_size(10);
    for n in [5_000usize, 20_000] {
        for kind in ["blobs", "activation-like"] {
            let rows = data(kind, n);
            group.bench_with_input(BenchmarkId::new(kind, n), &rows, |b, rows| {
                b.iter(|| {
                    let graph =
                        Arc::new(knn_graph(rows.clone(), KnnParams::new(19)).expect("k-NN"));
                    umap(
                        rows.clone(),
                        graph,
                        UmapParams {
                            seed: 1,
                            ..Default::default()
                        },
                    )
                    .expect("UMAP")
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_knn, bench_umap);
criterion_main!(benches);
