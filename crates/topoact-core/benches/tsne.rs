//! t-SNE benchmarks on synthetic activation-like data (`topoact_core::mapper::synth`,
//! D = 256) at 5K, 20K and 50K points, perplexity 50 (k = 150 neighbours from the shared
//! kNN job, its time excluded):
//! - `tsne/setup/N`: affinities, symmetrisation and the PCA start;
//! - `tsne/iteration/N`: one gradient-descent iteration after early exaggeration (the
//!   embedding at its working size; the FFT grid grows with it).
//!
//! `TOPOACT_TSNE_REPORT=1` instead runs each size once to the end and prints the wall time
//! of every stage and the mean iteration cost (single thread unless rayon is given more:
//! run with `RAYON_NUM_THREADS=1` for the browser-like figure).
//! `TOPOACT_TSNE_NEAR_FIELD=0` turns the exact near field off, `TOPOACT_TSNE_NODES_PER_BOX`
//! and `TOPOACT_TSNE_BOX_WIDTH` set the grid (to compare).
//! `TOPOACT_BENCH_SMALL=1` keeps only 5K; `TOPOACT_TSNE_SIZES=20000,50000` picks sizes.

use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use topoact_core::embed::knn::{knn_graph, KnnParams};
use topoact_core::embed::tsne::{TsneJob, TsneParams};
use topoact_core::embed::{EmbedRows, KnnGraph};
use topoact_core::job::{Job, Step};
use topoact_core::mapper::synth;

fn sizes() -> Vec<usize> {
    if let Ok(list) = std::env::var("TOPOACT_TSNE_SIZES") {
        return list
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
    }
    if std::env::var("TOPOACT_BENCH_SMALL").is_ok() {
        vec![5_000]
    } else {
        vec![5_000, 20_000, 50_000]
    }
}

fn data(n: usize) -> (Arc<EmbedRows>, Arc<KnnGraph>) {
    let (x, _, _) = synth::activation_like(n, 256, 0);
    let dim = x.ncols();
    let values: Vec<f32> = x.iter().copied().collect();
    let rows = Arc::new(EmbedRows::from_vec(n, dim, values).expect("rows"));
    let k = TsneParams::default().neighbours_needed_for(n);
    let knn = Arc::new(knn_graph(rows.clone(), KnnParams::new(k)).expect("knn"));
    (rows, knn)
}

/// Steps until the stage name starts with `prefix` (or the job ends).
fn step_until(job: &mut TsneJob, prefix: &str) {
    loop {
        match job.step().expect("step") {
            Step::Running(progress) if progress.stage.starts_with(prefix) => return,
            Step::Running(_) => {}
            Step::Done(_) => return,
        }
    }
}

/// CPU seconds of this process (Linux; 0 elsewhere), to read through a loaded machine.
fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn report() {
    for n in sizes() {
        let started = Instant::now();
        let (rows, knn) = data(n);
        let knn_secs = started.elapsed().as_secs_f64();
        let mut params = TsneParams::default();
        if let Ok(value) = std::env::var("TOPOACT_TSNE_NEAR_FIELD") {
            params.interpolation.exact_near_field = value != "0";
        }
        if let Some(nodes) = std::env::var("TOPOACT_TSNE_NODES_PER_BOX")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            params.interpolation.points_per_box = nodes;
        }
        if let Some(width) = std::env::var("TOPOACT_TSNE_BOX_WIDTH")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            params.interpolation.max_box_width = width;
        }
        let n_iter = params.n_iter;
        let mut job = TsneJob::new(rows, knn, params).expect("job");
        let cpu_started = cpu_secs();
        let mut stage_secs: Vec<(String, f64)> = Vec::new();
        let mut iteration_secs = Vec::with_capacity(n_iter);
        loop {
            let step_started = Instant::now();
            let step = job.step().expect("step");
            let secs = step_started.elapsed().as_secs_f64();
            match step {
                Step::Running(progress) => {
                    let name = if progress.stage.starts_with("t-SNE") {
                        "iterations".to_string()
                    } else {
                        progress.stage
                    };
                    if name == "iterations" {
                        iteration_secs.push(secs);
                    }
                    match stage_secs.last_mut() {
                        Some((last, total)) if *last == name => *total += secs,
                        _ => stage_secs.push((name, secs)),
                    }
                }
                Step::Done(embedding) => {
                    let extent = |axis: usize| {
                        let values = embedding.coords.iter().skip(axis).step_by(2);
                        let (lo, hi) = values
                            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
                        hi - lo
                    };
                    println!("  final extent {:.0} x {:.0}", extent(0), extent(1));
                    iteration_secs.push(secs);
                    if let Some((_, total)) = stage_secs.last_mut() {
                        *total += secs;
                    }
                    break;
                }
            }
        }
        let total: f64 = stage_secs.iter().map(|s| s.1).sum();
        let mean_ms = 1e3 * iteration_secs.iter().sum::<f64>() / iteration_secs.len() as f64;
        let early_ms = 1e3 * iteration_secs[..250].iter().sum::<f64>() / 250.0;
        let late_ms =
            1e3 * iteration_secs[250..].iter().sum::<f64>() / (iteration_secs.len() - 250) as f64;
        let max_step_ms = 1e3 * iteration_secs.iter().fold(0f64, |m, &s| m.max(s));
        let cpu = cpu_secs() - cpu_started;
        println!("t-SNE {n} x 256: kNN {knn_secs:.1} s (excluded); t-SNE {total:.2} s wall, {cpu:.2} s CPU");
        for (name, secs) in &stage_secs {
            println!("  {name:<28} {secs:>7.2} s");
        }
        println!("  per iteration: mean {mean_ms:.2} ms (early {early_ms:.2}, late {late_ms:.2}, max {max_step_ms:.2})");
    }
}

fn bench_tsne(c: &mut Criterion) {
    if std::env::var("TOPOACT_TSNE_REPORT").is_ok() {
        report();
        return;
    }
    let mut group = c.benchmark_group("tsne");
    group.sample_size(10);
    for n in sizes() {
        let (rows, knn) = data(n);
        group.bench_function(format!("setup/{n}"), |b| {
            b.iter(|| {
                let mut job =
                    TsneJob::new(rows.clone(), knn.clone(), TsneParams::default()).expect("job");
                step_until(&mut job, "t-SNE");
            })
        });
        // Never finishes inside the measurement: far more iterations than will be stepped.
        let params = TsneParams {
            n_iter: 100_000,
            ..TsneParams::default()
        };
        let mut job = TsneJob::new(rows.clone(), knn.clone(), params).expect("job");
        step_until(&mut job, "t-SNE iteration 400/");
        group.bench_function(format!("iteration/{n}"), |b| {
            b.iter(|| job.step().expect("step"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_tsne);
criterion_main!(benches);
