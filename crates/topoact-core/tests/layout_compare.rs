//! Quality comparison of our layout against d3-force with the original TopoAct's settings.
//!
//! Ignored by default (it needs Node and d3-force). To run it:
//!
//! ```text
//! (cd tools/layout && npm install)
//! CARGO_TARGET_DIR=/work/target-layout cargo test --release -p topoact-core --test layout_compare -- --ignored --nocapture
//! ```
//!
//! For each mapper-like graph (100, 1,000, 10,000 nodes; see
//! `topoact_core::layout::synthetic::mapper_like_graph`) and a 30 x 30 grid it writes the graph
//! as JSON, lays it out natively (timed, best of up to 3 runs) and with
//! `tools/layout/d3_layout.mjs` (d3's own timing), and prints a table of time, scale-optimal
//! normalised stress, overlapping node pairs and edge crossings for both.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use topoact_core::layout::synthetic::{grid_graph, mapper_like_graph};
use topoact_core::layout::{
    compute_layout, measure_quality, LayoutInput, LayoutParams, LayoutQuality,
};

/// Stress is measured from at most this many source nodes (all targets).
const STRESS_SOURCES: usize = 1000;

fn graph_json(input: &LayoutInput) -> serde_json::Value {
    serde_json::json!({
        "nodes": input.node_radii.iter().map(|radius| serde_json::json!({ "radius": radius })).collect::<Vec<_>>(),
        "links": input.edges.iter().map(|edge| serde_json::json!({
            "source": edge.source, "target": edge.target, "weight": edge.weight
        })).collect::<Vec<_>>(),
    })
}

struct D3Run {
    positions: Vec<[f64; 2]>,
    millis: f64,
}

fn run_d3(input: &LayoutInput, name: &str) -> D3Run {
    let tools_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/layout");
    assert!(
        tools_dir.join("node_modules/d3-force").exists(),
        "d3-force is not installed: run `npm install` in {}",
        tools_dir.display()
    );
    let work_dir =
        std::env::temp_dir().join(format!("topoact-layout-compare-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir).expect("temporary directory");
    let graph_path = work_dir.join(format!("{name}.graph.json"));
    let positions_path = work_dir.join(format!("{name}.d3.json"));
    std::fs::write(&graph_path, graph_json(input).to_string()).expect("write graph");
    let status = Command::new("node")
        .arg(tools_dir.join("d3_layout.mjs"))
        .arg(&graph_path)
        .arg(&positions_path)
        .status()
        .expect("node runs");
    assert!(status.success(), "d3_layout.mjs failed on {name}");
    let output: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&positions_path).expect("read positions"))
            .expect("JSON");
    let positions = output["positions"]
        .as_array()
        .expect("positions array")
        .iter()
        .map(|point| {
            [
                point[0].as_f64().unwrap_or(f64::NAN),
                point[1].as_f64().unwrap_or(f64::NAN),
            ]
        })
        .collect();
    D3Run {
        positions,
        millis: output["millis"].as_f64().unwrap_or(f64::NAN),
    }
}

fn row(
    name: &str,
    n_nodes: usize,
    n_edges: usize,
    who: &str,
    millis: f64,
    quality: &LayoutQuality,
) {
    println!(
        "| {name:<16} | {n_nodes:>6} | {n_edges:>6} | {who:<5} | {millis:>9.1} | {:>7.4} | {:>8} | {:>9} |",
        quality.normalized_stress, quality.node_overlaps, quality.edge_crossings
    );
}

#[test]
#[ignore = "needs node and `npm install` in tools/layout; run with --ignored --nocapture"]
fn compare_with_d3_force() {
    let graphs = [
        ("mapper-like 100", mapper_like_graph(100, 1)),
        ("mapper-like 1000", mapper_like_graph(1_000, 1)),
        ("mapper-like 10000", mapper_like_graph(10_000, 1)),
        ("grid 30x30", grid_graph(30, 30)),
    ];
    let params = LayoutParams::default();
    println!("| graph            |  nodes |  edges | who   | time (ms) |  stress | overlaps | crossings |");
    println!("|------------------|-------:|-------:|-------|----------:|--------:|---------:|----------:|");
    for (name, input) in &graphs {
        let mut best_millis = f64::INFINITY;
        let mut layout = None;
        let repeats = if input.n_nodes() > 2_000 { 1 } else { 3 };
        for _ in 0..repeats {
            let started = Instant::now();
            let result = compute_layout(input, &params).expect("valid graph");
            best_millis = best_millis.min(started.elapsed().as_secs_f64() * 1e3);
            layout = Some(result);
        }
        let ours = layout.expect("at least one run");
        let d3 = run_d3(input, &name.replace(' ', "_"));
        let n_edges = input.edges.len();
        row(
            name,
            input.n_nodes(),
            n_edges,
            "ours",
            best_millis,
            &measure_quality(input, &ours.positions, STRESS_SOURCES),
        );
        row(
            name,
            input.n_nodes(),
            n_edges,
            "d3",
            d3.millis,
            &measure_quality(input, &d3.positions, STRESS_SOURCES),
        );
    }
}
