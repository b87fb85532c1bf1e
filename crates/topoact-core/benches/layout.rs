//! Timing of the layout engine on mapper-like graphs of 100, 1,000 and 10,000 nodes
//! (`cargo bench -p topoact-core --bench layout`), plus the quality measures on the
//! 1,000-node layout. The comparison with d3-force (quality and d3's time) is the ignored
//! test `tests/layout_compare.rs`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use topoact_core::layout::synthetic::mapper_like_graph;
use topoact_core::layout::{
    compute_layout, count_edge_crossings, count_node_overlaps, normalized_stress, LayoutParams,
};

fn layout_sizes(c: &mut Criterion) {
    let mut group = c.benchmark_group("compute_layout/mapper_like");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(1));
    for n_nodes in [100usize, 1_000, 10_000] {
        let input = mapper_like_graph(n_nodes, 1);
        let params = LayoutParams::default();
        group.bench_with_input(
            BenchmarkId::from_parameter(n_nodes),
            &input,
            |bencher, input| bencher.iter(|| compute_layout(black_box(input), &params)),
        );
    }
    group.finish();
}

fn quality_measures(c: &mut Criterion) {
    let input = mapper_like_graph(1_000, 1);
    let Ok(layout) = compute_layout(&input, &LayoutParams::default()) else {
        return;
    };
    let mut group = c.benchmark_group("quality/mapper_like_1000");
    group.sample_size(10);
    group.bench_function("normalized_stress", |bencher| {
        bencher.iter(|| normalized_stress(black_box(&layout.positions), &input.edges, 1_000))
    });
    group.bench_function("count_node_overlaps", |bencher| {
        bencher.iter(|| count_node_overlaps(black_box(&layout.positions), &input.node_radii))
    });
    group.bench_function("count_edge_crossings", |bencher| {
        bencher.iter(|| count_edge_crossings(black_box(&layout.positions), &input.edges))
    });
    group.finish();
}

criterion_group!(benches, layout_sizes, quality_measures);
criterion_main!(benches);
