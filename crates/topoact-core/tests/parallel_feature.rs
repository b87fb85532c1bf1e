//! The same answers with and without the `parallel` feature.
//!
//! `tools/test.sh` runs the core's tests twice: with the default features (rayon) and with
//! `--no-default-features` (the single-threaded build that the browser worker runs when the
//! page is not cross-origin isolated). Each test here drives every single-threaded branch of
//! one stage — the k-NN search and its recall estimate, t-SNE's attraction and both
//! repulsions (exact sums; grid + FFT), UMAP (its SGD's vertex blocks), the 10-NN quality
//! measure, the mapper and the norm diagnostics — on inputs large enough that the rayon paths
//! split the work, and compares a fingerprint of the bits with one recorded value, so both
//! builds must give the same bits.
//!
//! The mapper's and the diagnostics' answers are decided in float64 with `+ - * / sqrt` only,
//! so their fingerprints hold everywhere. The projections go through the f32 distance
//! kernels (AVX2+FMA when the CPU has them) and the platform's `exp`, so their fingerprints
//! are recorded for x86-64 Linux with AVX2+FMA (glibc) only; elsewhere those tests still run
//! both stages and check what does not depend on the last bits. An intended change of an
//! algorithm changes a value: update it then, deliberately, from the failure message.

use std::sync::Arc;

use topoact_core::diagnostics::norm_diagnostics;
use topoact_core::embed::knn::{estimate_recall, knn_graph, KnnParams, KnnSearch};
use topoact_core::embed::quality::{knn_preservation, knn_preservation_with_graph};
use topoact_core::embed::tsne::{tsne, RepulsionMethod, TsneParams};
use topoact_core::embed::umap::{UmapInit, UmapJob, UmapParams};
use topoact_core::embed::{EmbedRows, KnnGraph};
use topoact_core::mapper::synth::activation_like;
use topoact_core::mapper::{compute_mapper, Epsilon, MapperInput, MapperParams};

/// FNV-1a over little-endian bytes.
#[derive(Clone, Copy)]
struct Fingerprint(u64);

impl Fingerprint {
    fn new() -> Fingerprint {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(mut self, bytes: &[u8]) -> Fingerprint {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self
    }
    fn u64(self, v: u64) -> Fingerprint {
        self.bytes(&v.to_le_bytes())
    }
    fn f32s(self, values: &[f32]) -> Fingerprint {
        values
            .iter()
            .fold(self, |h, v| h.bytes(&v.to_bits().to_le_bytes()))
    }
    fn u32s(self, values: &[u32]) -> Fingerprint {
        values.iter().fold(self, |h, v| h.bytes(&v.to_le_bytes()))
    }
    fn f64(self, v: f64) -> Fingerprint {
        self.u64(v.to_bits())
    }
}

fn which_build() -> &'static str {
    if cfg!(feature = "parallel") {
        "parallel"
    } else {
        "single-threaded"
    }
}

/// Whether this is the platform the projection fingerprints were recorded on.
fn recorded_platform() -> bool {
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

fn check(what: &str, got: Fingerprint, recorded: u64, platform_bound: bool) {
    eprintln!("{what} ({} build): {:#018x}", which_build(), got.0);
    if platform_bound && !recorded_platform() {
        eprintln!("{what}: not recorded for this platform, not compared");
        return;
    }
    assert_eq!(
        got.0,
        recorded,
        "{what} in the {} build: got {:#018x}, recorded {recorded:#018x}",
        which_build(),
        got.0
    );
}

/// Activation-like rows (ReLU zeros, a tree of curves): 3,000 x 48.
fn rows() -> Arc<EmbedRows> {
    let (array, _, _) = activation_like(3000, 48, 5);
    Arc::new(EmbedRows::from_array(&array).expect("finite synthetic data"))
}

fn graph_fingerprint(graph: &KnnGraph) -> Fingerprint {
    Fingerprint::new()
        .u64(graph.n_points as u64)
        .u64(graph.k as u64)
        .u64(graph.exact as u64)
        .u32s(&graph.indices)
        .f32s(&graph.distances)
}

/// The k-NN search (exact, and capped so that queries stop early) and the sampled recall
/// estimate.
#[test]
fn knn_search_and_recall_estimate() {
    let rows = rows();
    let exact = knn_graph(
        rows.clone(),
        KnnParams {
            k: 15,
            seed: 3,
            search: KnnSearch::Exact,
        },
    )
    .expect("valid");
    let capped = knn_graph(
        rows.clone(),
        KnnParams {
            k: 15,
            seed: 3,
            search: KnnSearch::Approximate {
                max_candidates: 120,
            },
        },
    )
    .expect("valid");
    assert!(exact.exact);
    assert!(!capped.exact, "the cap must bind");
    let recall = estimate_recall(&rows, &capped, 15, 400, 9);
    assert!(recall > 0.5 && recall < 1.0, "recall {recall}");
    assert_eq!(estimate_recall(&rows, &exact, 15, 400, 9), 1.0);
    check(
        "k-NN graphs and recall",
        graph_fingerprint(&exact)
            .u64(graph_fingerprint(&capped).0)
            .f64(recall),
        KNN_RECORDED,
        true,
    );
}

/// The k-NN search above 128 dimensions (partition and scans on projected rows, full
/// distances where the projection does not rule a pair out), exact and capped.
#[test]
fn knn_search_on_projected_rows() {
    let (array, _, _) = activation_like(2500, 160, 7);
    let rows = Arc::new(EmbedRows::from_array(&array).expect("finite synthetic data"));
    let mut print = Fingerprint::new();
    for search in [
        KnnSearch::Exact,
        KnnSearch::Approximate {
            max_candidates: 100,
        },
    ] {
        let graph = knn_graph(
            rows.clone(),
            KnnParams {
                k: 12,
                seed: 4,
                search,
            },
        )
        .expect("valid");
        print = print.u64(graph_fingerprint(&graph).0);
    }
    check(
        "k-NN graphs on projected rows",
        print,
        KNN_PROJECTED_RECORDED,
        true,
    );
}

fn short_tsne(repulsion: RepulsionMethod) -> TsneParams {
    TsneParams {
        perplexity: 20.0,
        n_iter: 120,
        early_exaggeration_iter: 50,
        repulsion,
        seed: 11,
        ..TsneParams::default()
    }
}

/// t-SNE with the exact repulsion sums and with the grid + FFT repulsion, then the 10-NN
/// quality measure of both (from the exact graph, and by brute force on a sample).
#[test]
fn tsne_both_repulsions_and_quality() {
    let rows = rows();
    let params = short_tsne(RepulsionMethod::Exact);
    let k = params.neighbours_needed_for(rows.n_points);
    let knn = Arc::new(
        knn_graph(
            rows.clone(),
            KnnParams {
                k,
                seed: 0,
                search: KnnSearch::Exact,
            },
        )
        .expect("valid"),
    );
    let exact = tsne(rows.clone(), knn.clone(), params).expect("t-SNE");
    let fft = tsne(
        rows.clone(),
        knn.clone(),
        short_tsne(RepulsionMethod::Interpolated),
    )
    .expect("t-SNE");
    let mut print = Fingerprint::new();
    for embedding in [&exact, &fft] {
        assert!(embedding.coords.iter().all(|v| v.is_finite()));
        let kept = knn_preservation_with_graph(&knn, &embedding.coords, 10, None);
        let sampled = knn_preservation(&rows, &embedding.coords, 10, Some((500, 4)));
        assert!(kept > 0.2, "10-NN kept {kept}");
        assert!((kept - sampled).abs() < 0.05, "{kept} vs sample {sampled}");
        print = print.f32s(&embedding.coords).f64(kept).f64(sampled);
    }
    check("t-SNE (exact, FFT) and quality", print, TSNE_RECORDED, true);
}

/// UMAP (fuzzy graph, spectral start, the SGD's blocks on the pool or one after another),
/// stepped by the job, and its 10-NN quality.
#[test]
fn umap_and_quality() {
    let rows = rows();
    let params = UmapParams {
        n_epochs: Some(60),
        seed: 13,
        ..UmapParams::default()
    };
    let knn = Arc::new(
        knn_graph(
            rows.clone(),
            KnnParams {
                k: params.neighbours_needed(),
                seed: 0,
                search: KnnSearch::Exact,
            },
        )
        .expect("valid"),
    );
    let mut job = UmapJob::new(rows.clone(), knn.clone(), params).expect("valid");
    let embedding = topoact_core::job::run_to_end(&mut job, |_| {}).expect("UMAP");
    assert!(embedding.coords.iter().all(|v| v.is_finite()));
    let kept = knn_preservation_with_graph(&knn, &embedding.coords, 10, None);
    eprintln!("UMAP: 10-NN kept {kept:.4}");
    assert!(kept > 0.2, "10-NN kept {kept}");
    let used = job.init_used().expect("start known");
    let print = Fingerprint::new()
        .u64(matches!(used.init, UmapInit::Spectral) as u64)
        .u64(job.n_edges().unwrap_or(0) as u64)
        .f32s(&embedding.coords)
        .f64(kept);
    check("UMAP and quality", print, UMAP_RECORDED, true);
}

/// The mapper with a per-interval k-NN epsilon and with the global one (its exact k-NN, the
/// PCA pruning basis, DBSCAN and the join), and the norm diagnostics.
#[test]
fn mapper_and_diagnostics() {
    let (array, _, _) = activation_like(3000, 48, 5);
    let matrix = topoact_core::dataset::Matrix::F32(array.into());
    let mut print = Fingerprint::new();
    for per_interval in [false, true] {
        let params = MapperParams {
            epsilon: Epsilon::KnnQuantile {
                k: 5,
                quantile: 0.5,
                per_interval,
            },
            ..MapperParams::default()
        }
        .validate()
        .expect("valid");
        let graph = compute_mapper(MapperInput::new(&matrix), &params).expect("graph");
        assert!(graph.nodes.len() > 10, "{} nodes", graph.nodes.len());
        for node in &graph.nodes {
            print = print.bytes(node.name.as_bytes()).u32s(&node.members);
        }
        for edge in &graph.edges {
            print = print.u64(edge.source as u64).u64(edge.target as u64);
        }
        for interval in &graph.intervals {
            print = print.f64(interval.eps.unwrap_or(-1.0));
        }
    }
    let norms = norm_diagnostics(&matrix, None, 40, 2000, 6);
    print = print
        .f64(norms.activation_mean)
        .f64(norms.activation_std)
        .f64(norms.random_mean)
        .f64(norms.random_std)
        .f64(norms.zero_fraction);
    for histogram in [&norms.activation, &norms.random] {
        print = print.f64(histogram.lower).f64(histogram.upper);
        for &count in &histogram.counts {
            print = print.u64(count);
        }
    }
    check("mapper and norm diagnostics", print, MAPPER_RECORDED, false);
}

// Recorded with rustc 1.95 on x86-64 Linux (AVX2+FMA), the same in both builds.
const KNN_PROJECTED_RECORDED: u64 = 0x74a5_011b_d06b_759c;
const KNN_RECORDED: u64 = 0x7c9e_7c3e_72b2_49e3;
const TSNE_RECORDED: u64 = 0x34ac_a806_5365_60c0;
const MAPPER_RECORDED: u64 = 0xb352_5474_0c13_ff81;
const UMAP_RECORDED: u64 = 0xb707_6703_35d7_bf24;
