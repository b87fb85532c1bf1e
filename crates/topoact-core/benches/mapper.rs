//! Mapper benchmarks on synthetic activation-like data (`topoact_core::mapper::synth`):
//! 50K x 256 and 20K x 1024, uniform and balanced covers, 30 intervals, 30 % overlap,
//! eps = median exact 5th-NN distance (its search included), min_samples 5.
//! The same data for KeplerMapper: `topoact synth` + `tools/kmapper/bench_kmapper.py`
//! (`tools/kmapper/bench_compare.sh` runs both and prints the ratio).
//!
//! `TOPOACT_BENCH_SMALL=1` shrinks the sizes tenfold for a quick run.

use criterion::{criterion_group, criterion_main, Criterion};
use topoact_core::dataset::Matrix;
use topoact_core::mapper::{compute_mapper, synth, CoverKind, Epsilon, MapperInput, MapperParams};

fn bench_mapper(c: &mut Criterion) {
    let small = std::env::var("TOPOACT_BENCH_SMALL").is_ok();
    let sizes: [(usize, usize, u64); 2] = if small {
        [(5_000, 256, 0), (2_000, 1024, 1)]
    } else {
        [(50_000, 256, 0), (20_000, 1024, 1)]
    };
    let mut group = c.benchmark_group("mapper");
    group.sample_size(10);
    for (n, dim, seed) in sizes {
        let (x, _, _) = synth::activation_like(n, dim, seed);
        let matrix = Matrix::F32(x.into());
        for cover in [CoverKind::Uniform, CoverKind::Balanced] {
            let params = MapperParams {
                cover,
                epsilon: Epsilon::default(),
                ..Default::default()
            }
            .validate()
            .expect("valid parameters");
            let name = format!(
                "{n}x{dim}/{}",
                if cover == CoverKind::Uniform {
                    "uniform"
                } else {
                    "balanced"
                }
            );
            group.bench_function(name, |b| {
                b.iter(|| compute_mapper(MapperInput::new(&matrix), &params).expect("graph"))
            });
        }
        // The epsilon search alone vs the mapper with that eps given.
        let eps = compute_mapper(
            MapperInput::new(&matrix),
            &MapperParams::default().validate().expect("valid"),
        )
        .expect("graph")
        .params
        .eps_global
        .expect("eps");
        let explicit = MapperParams {
            epsilon: Epsilon::Explicit(eps),
            ..Default::default()
        }
        .validate()
        .expect("valid");
        group.bench_function(format!("{n}x{dim}/uniform_explicit_eps"), |b| {
            b.iter(|| compute_mapper(MapperInput::new(&matrix), &explicit).expect("graph"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_mapper);
criterion_main!(benches);
