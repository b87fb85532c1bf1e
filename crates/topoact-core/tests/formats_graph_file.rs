//! Import of precomputed mapper graphs: our own exports read back, KeplerMapper 2.1.0's
//! graphs (the fixtures of `tests/fixtures/kmapper`, see its PROVENANCE.md), a TopoAct-style
//! node-link file written by hand from the format description, and hostile input.

use std::collections::BTreeSet;
use std::path::Path;

use ndarray::Array2;
use proptest::prelude::*;
use serde_json::{json, Value};
use topoact_core::dataset::Matrix;
use topoact_core::formats::graph_file::{import_graph, ImportError, ImportFormat};
use topoact_core::mapper::{
    compute_mapper, to_kmapper_json, to_node_link_json, Epsilon, MapperGraph, MapperInput,
    MapperParams,
};

/// A line of points along the lens (a chain of nodes), three classes, mapped on a subset so
/// that `n_samples_used` differs from the largest member.
fn small_graph() -> MapperGraph {
    let data = Array2::from_shape_fn((90, 2), |(i, c)| {
        if c == 0 {
            i as f32
        } else {
            (i % 2) as f32 * 0.5
        }
    });
    let matrix = Matrix::F32(data.into());
    let labels: Vec<u32> = (0..90).map(|i| (i / 30) as u32).collect();
    let class_names: Vec<String> = vec!["cat <script>".into(), "dog".into(), "bird".into()];
    let subset: Vec<u32> = (0..88).collect();
    let input = MapperInput {
        matrix: &matrix,
        sample_indices: Some(&subset),
        labels: Some(&labels),
        class_names: &class_names,
    };
    let params = MapperParams {
        n_intervals: 4,
        overlap: 0.3,
        epsilon: Epsilon::Explicit(1.5),
        min_samples: 2,
        ..Default::default()
    }
    .validate()
    .expect("valid parameters");
    compute_mapper(input, &params).expect("a graph")
}

#[test]
fn import_reads_back_our_kmapper_export() {
    let graph = small_graph();
    assert!(graph.edges.len() >= 2, "the test graph should have links");
    let imported = import_graph(to_kmapper_json(&graph).as_bytes()).expect("imports");
    assert_eq!(imported.format, ImportFormat::KeplerMapper);
    let names: Vec<&str> = imported
        .nodes
        .iter()
        .map(|node| node.name.as_str())
        .collect();
    let expected_names: Vec<&str> = graph.nodes.iter().map(|node| node.name.as_str()).collect();
    assert_eq!(names, expected_names);
    for (node, expected) in imported.nodes.iter().zip(&graph.nodes) {
        assert_eq!(node.members, expected.members);
        assert_eq!(node.size, expected.size);
        assert_eq!(node.lens_mean, None);
    }
    assert_eq!(imported.edges, graph.edges);
    assert!(!imported.notes.nerve_derived);
    let n_samples = graph
        .nodes
        .iter()
        .filter_map(|node| node.members.last())
        .max()
        .map_or(0, |&last| last as usize + 1);
    assert_eq!(imported.n_samples, n_samples);
    let mut expected_stats = graph.stats.clone();
    expected_stats.fraction_covered = imported.stats.fraction_covered;
    assert_eq!(imported.stats, expected_stats);
    let meta = imported.metadata.as_ref().expect("meta_data");
    assert_eq!(meta["n_cubes"], json!(4));
    assert_eq!(imported.to_mapper_graph().params.n_intervals, 4);
}

#[test]
fn import_reads_back_our_node_link_export() {
    let graph = small_graph();
    let imported = import_graph(to_node_link_json(&graph).to_string().as_bytes()).expect("imports");
    assert_eq!(imported.format, ImportFormat::NodeLink);
    assert_eq!(imported.n_samples_used, graph.n_samples_used);
    assert_eq!(imported.stats, graph.stats);
    assert_eq!(imported.edges, graph.edges);
    for (node, expected) in imported.nodes.iter().zip(&graph.nodes) {
        assert_eq!(node.name, expected.name);
        assert_eq!(node.members, expected.members);
        assert_eq!(node.lens_mean, Some(expected.lens_mean));
        assert_eq!(
            node.mean_activation.as_deref(),
            Some(expected.mean_activation.as_slice())
        );
        let names: Vec<&str> = node
            .top_classes
            .iter()
            .map(|c| imported.class_names[c.class_idx as usize].as_str())
            .collect();
        let expected_names: Vec<&str> = expected
            .top_classes
            .iter()
            .map(|c| graph.class_names[c.class_idx as usize].as_str())
            .collect();
        assert_eq!(names, expected_names);
        let counts: Vec<usize> = node.top_classes.iter().map(|c| c.count).collect();
        let expected_counts: Vec<usize> = expected.top_classes.iter().map(|c| c.count).collect();
        assert_eq!(counts, expected_counts);
    }
    assert!(imported
        .class_names
        .iter()
        .any(|name| name == "cat <script>"));
    // As a MapperGraph, the same nodes and edges.
    let as_mapper = imported.to_mapper_graph();
    assert_eq!(as_mapper.edges, graph.edges);
    assert_eq!(
        as_mapper
            .nodes
            .iter()
            .map(|n| (n.cube_idx, n.cluster_idx))
            .collect::<Vec<_>>(),
        graph
            .nodes
            .iter()
            .map(|n| (n.cube_idx, n.cluster_idx))
            .collect::<Vec<_>>()
    );
}

#[test]
fn import_derives_classes_from_labels() {
    let graph = small_graph();
    let mut imported = import_graph(to_kmapper_json(&graph).as_bytes()).expect("imports");
    let labels: Vec<u32> = (0..90).map(|i| (i / 30) as u32).collect();
    let class_names: Vec<String> = vec!["cat <script>".into(), "dog".into(), "bird".into()];
    imported
        .derive_classes_from_labels(&labels, &class_names)
        .expect("labels cover the members");
    for (node, expected) in imported.nodes.iter().zip(&graph.nodes) {
        assert_eq!(node.top_classes, expected.top_classes);
        assert_eq!(node.class_histogram, expected.class_histogram);
    }
    assert_eq!(imported.class_names, class_names);
    assert!(matches!(
        imported.derive_classes_from_labels(&labels[..10], &class_names),
        Err(ImportError::LabelsTooShort { n_labels: 10, .. })
    ));
    assert_eq!(imported.check_sample_count(90), Ok(()));
    assert!(matches!(
        imported.check_sample_count(5),
        Err(ImportError::SampleOutOfRange { n_samples: 5, .. })
    ));
}

/// KeplerMapper 2.1.0's own graphs (nodes and links as `KeplerMapper.map` returned them).
#[test]
fn import_reads_kmapper_fixture_graphs() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kmapper/cases.json");
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("cases.json")).expect("json");
    let cases = cases["cases"].as_array().expect("cases");
    assert!(!cases.is_empty());
    for case in cases {
        let file = json!({
            "nodes": case["nodes"],
            "links": case["links"],
            "simplices": [],
            "meta_data": {"n_cubes": case["n_cubes"], "perc_overlap": case["perc_overlap"], "nerve_min_intersection": case["min_intersection"]},
        });
        let imported =
            import_graph(file.to_string().as_bytes()).expect("a KeplerMapper graph imports");
        let expected_nodes = case["nodes"].as_object().expect("nodes");
        assert_eq!(
            imported.nodes.len(),
            expected_nodes.len(),
            "{}",
            case["name"]
        );
        let mut expected_pairs = BTreeSet::new();
        for (source, targets) in case["links"].as_object().expect("links") {
            for target in targets.as_array().expect("list") {
                let target = target.as_str().expect("name");
                expected_pairs.insert((
                    source.clone().min(target.to_string()),
                    source.clone().max(target.to_string()),
                ));
            }
        }
        let pairs: BTreeSet<(String, String)> = imported
            .edges
            .iter()
            .map(|e| {
                let (a, b) = (
                    imported.nodes[e.source].name.clone(),
                    imported.nodes[e.target].name.clone(),
                );
                (a.clone().min(b.clone()), a.max(b))
            })
            .collect();
        assert_eq!(pairs, expected_pairs, "{}", case["name"]);
        assert_eq!(imported.stats.n_edges, expected_pairs.len());
        for edge in &imported.edges {
            assert!(edge.intersection >= case["min_intersection"].as_u64().expect("min") as usize);
            assert!(edge.jaccard > 0.0 && edge.jaccard <= 1.0);
        }
        // Without its links, the nerve derived from the members is KeplerMapper's.
        let without_links = json!({"nodes": case["nodes"], "meta_data": {"nerve_min_intersection": case["min_intersection"]}});
        let derived = import_graph(without_links.to_string().as_bytes()).expect("imports");
        assert!(derived.notes.nerve_derived);
        assert_eq!(derived.edges, imported.edges, "{}", case["name"]);
    }
}

/// A file in TopoAct's shape, written by hand from the format description
/// (shared/reference/topoact-original.md, "Its data"): string ids, `membership`,
/// `top_classes` + `top_class_percents`, `l2NormAvg`, `average_activation`, links with
/// `intersection` and no Jaccard.
const TOPOACT_SAMPLE: &str = r#"{
  "directed": false,
  "multigraph": false,
  "graph": {},
  "nodes": [
    {"id": "cube0_cluster0", "membership": [0, 1, 2, 3], "top_classes": ["goldfish", "tench"],
     "top_class_percents": [0.75, 0.25], "l2NormAvg": 12.5, "average_activation": [0.0, 1.5, 2.25]},
    {"id": "cube1_cluster0", "membership": [2, 3, 4, 5, 6, 7], "top_classes": ["tench", "<script>alert(1)</script>"],
     "top_class_percents": [0.5, 0.5], "l2NormAvg": 14.0, "average_activation": [1.0, 1.0, 1.0]},
    {"id": "cube2_cluster0", "membership": [7, 8, 9], "top_classes": ["tench"],
     "top_class_percents": [1.0], "l2NormAvg": 16.25, "average_activation": [2.0, 0.5, 0.0]},
    {"id": "cube2_cluster1", "membership": [20, 21], "top_classes": ["goldfish"],
     "top_class_percents": [1.0], "l2NormAvg": 18.0, "average_activation": [0.0, 0.0, 0.0]}
  ],
  "links": [
    {"source": "cube0_cluster0", "target": "cube1_cluster0", "intersection": 2},
    {"source": "cube1_cluster0", "target": "cube2_cluster0", "intersection": 1}
  ]
}"#;

#[test]
fn import_reads_a_topoact_node_link_file() {
    let imported = import_graph(TOPOACT_SAMPLE.as_bytes()).expect("imports");
    assert_eq!(imported.format, ImportFormat::NodeLink);
    assert_eq!(imported.nodes.len(), 4);
    assert_eq!(imported.n_samples, 22);
    assert_eq!(
        imported.class_names,
        vec!["goldfish", "tench", "<script>alert(1)</script>"]
    );
    let first = &imported.nodes[0];
    assert_eq!(first.lens_mean, Some(12.5));
    assert_eq!(
        first
            .top_classes
            .iter()
            .map(|c| (c.class_idx, c.count))
            .collect::<Vec<_>>(),
        vec![(0, 3), (1, 1)]
    );
    let edges: Vec<(usize, usize, usize)> = imported
        .edges
        .iter()
        .map(|e| (e.source, e.target, e.intersection))
        .collect();
    assert_eq!(edges, vec![(0, 1, 2), (1, 2, 1)]);
    assert_eq!(imported.edges[0].jaccard, 2.0 / 8.0);
    let stats = &imported.stats;
    assert_eq!(
        (
            stats.n_nodes,
            stats.n_edges,
            stats.n_components,
            stats.n_leaves,
            stats.n_branch_nodes,
            stats.n_cycles
        ),
        (4, 2, 2, 2, 0, 0)
    );
    assert_eq!(stats.node_size_max, 6);

    // Older NetworkX / d3 files: integer positions as link ends.
    let mut by_position: Value = serde_json::from_str(TOPOACT_SAMPLE).expect("json");
    by_position["links"] = json!([{"source": 0, "target": 1}, {"source": 2, "target": 1}, {"source": 1, "target": 0}, {"source": 3, "target": 3}]);
    let imported = import_graph(by_position.to_string().as_bytes()).expect("imports");
    let edges: Vec<(usize, usize, usize)> = imported
        .edges
        .iter()
        .map(|e| (e.source, e.target, e.intersection))
        .collect();
    assert_eq!(edges, vec![(0, 1, 2), (1, 2, 1)]);
    assert_eq!(
        (
            imported.notes.duplicate_edges_merged,
            imported.notes.self_loops_dropped
        ),
        (1, 1)
    );

    // Integer ids: integer link ends are ids, not positions; "edges" is accepted for "links".
    let integer_ids = json!({
        "nodes": [{"id": 10, "membership": [0, 1, 1.0]}, {"id": 20, "members": [1, 2]}],
        "edges": [{"source": 20, "target": 10}],
    });
    let imported = import_graph(integer_ids.to_string().as_bytes()).expect("imports");
    assert_eq!(imported.nodes[0].name, "10");
    assert_eq!(imported.nodes[0].members, vec![0, 1]);
    assert_eq!(imported.notes.repeated_members_removed, 1);
    assert_eq!(imported.edges.len(), 1);
    assert_eq!(imported.edges[0].intersection, 1);
}

fn import_error(text: &str) -> ImportError {
    match import_graph(text.as_bytes()) {
        Err(err) => err,
        Ok(graph) => panic!(
            "expected an error for {text}, got {} nodes",
            graph.nodes.len()
        ),
    }
}

#[test]
fn import_refuses_malformed_graphs_with_clear_errors() {
    let not_a_graph = |text: &str, needle: &str| match import_error(text) {
        ImportError::NotAGraph { detail } => assert!(detail.contains(needle), "{text}: {detail}"),
        other => panic!("{text}: {other:?}"),
    };
    not_a_graph(r#"{"nodes": {"a": [-1]}}"#, "cannot be negative");
    not_a_graph(r#"{"nodes": {"a": [1.5]}}"#, "whole numbers");
    not_a_graph(r#"{"nodes": {"a": [4294967296]}}"#, "too large");
    not_a_graph(r#"{"nodes": {"a": ["1"]}}"#, "sample index");
    not_a_graph(r#"{"nodes": {"a": 3}}"#, "list of sample indices");
    not_a_graph(r#"{"nodes": "abc"}"#, "\"nodes\" as an object");
    not_a_graph(r#"{"links": {}}"#, "no \"nodes\"");
    not_a_graph(r#"[1, 2]"#, "an object");
    not_a_graph(r#"{"nodes": [{"membership": [1]}]}"#, "no \"id\"");
    not_a_graph(r#"{"nodes": [{"id": "a"}]}"#, "no \"membership\"");
    not_a_graph(
        r#"{"nodes": [{"id": "a", "membership": [1]}], "links": [{"source": "a"}]}"#,
        "target",
    );
    not_a_graph(r#"{"nodes": {"a": [1]}, "nodes": {"b": [1]}}"#, "twice");
    assert!(matches!(
        import_error("{\"nodes\": {"),
        ImportError::NotJson { .. }
    ));
    assert!(matches!(import_error(""), ImportError::NotJson { .. }));
    assert!(matches!(
        import_error("{\"nodes\": {}} trailing"),
        ImportError::NotJson { .. }
    ));

    assert_eq!(
        import_error(
            r#"{"nodes": [{"id": "a", "membership": [1]}, {"id": "a", "membership": [2]}]}"#
        ),
        ImportError::DuplicateNode { name: "a".into() }
    );
    assert_eq!(
        import_error(r#"{"nodes": {"1": [1], "a": [2]}, "links": {"a": ["<b>b</b>"]}}"#),
        ImportError::UnknownNode {
            name: "<b>b</b>".into()
        }
    );
    assert_eq!(
        import_error(
            r#"{"nodes": [{"id": "a", "membership": [1]}], "links": [{"source": 0, "target": 5}]}"#
        ),
        ImportError::NodeIndexOutOfRange {
            index: 5,
            n_nodes: 1
        }
    );
    assert_eq!(
        import_error(
            r#"{"nodes": [{"id": "a", "membership": [1, 2]}, {"id": "b", "membership": [2]}], "links": [{"source": "a", "target": "b", "intersection": 2}]}"#
        ),
        ImportError::IntersectionMismatch {
            source_name: "a".into(),
            target_name: "b".into(),
            in_file: 2,
            computed: 1
        }
    );
    assert_eq!(
        import_error(
            r#"{"nodes": [{"id": "a", "membership": [1], "top_classes": ["x", "y"], "top_class_percents": [1.0]}]}"#
        ),
        ImportError::TopClassMismatch {
            node: "a".into(),
            n_names: 2,
            n_fractions: 1
        }
    );
    assert_eq!(
        import_error(
            r#"{"nodes": [{"id": "a", "membership": [1], "top_classes": ["x"], "top_class_percents": [75]}]}"#
        ),
        ImportError::FractionOutOfRange {
            node: "a".into(),
            value: 75.0
        }
    );
    // Numbers beyond float range are refused by the JSON reader itself.
    assert!(matches!(
        import_error(r#"{"nodes": [{"id": "a", "membership": [1], "l2NormAvg": 1e400}]}"#),
        ImportError::NotJson { .. }
    ));
    assert!(matches!(
        import_error(
            r#"{"nodes": [{"id": "a", "membership": [1], "average_activation": [1e300]}]}"#
        ),
        ImportError::NotJson { .. }
    ));
    // Messages say what is wrong in words.
    let message = ImportError::UnknownNode { name: "x".into() }.to_string();
    assert!(message.contains("not among the nodes"), "{message}");
}

#[test]
fn import_refuses_too_many_nodes_while_parsing() {
    let mut text = String::from("{\"nodes\": {");
    for node_idx in 0..=topoact_core::formats::graph_file::MAX_IMPORT_NODES {
        if node_idx > 0 {
            text.push(',');
        }
        text.push_str(&format!("\"{node_idx}\":[]"));
    }
    text.push_str("}}");
    assert_eq!(
        import_error(&text),
        ImportError::TooManyNodes {
            limit: topoact_core::formats::graph_file::MAX_IMPORT_NODES
        }
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Altered bytes of a valid file: an error or a graph, never a panic.
    #[test]
    fn import_never_panics_on_altered_files(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        truncate in any::<prop::sample::Index>(),
        cut in any::<bool>(),
    ) {
        let mut bytes = TOPOACT_SAMPLE.as_bytes().to_vec();
        for (position, value) in flips {
            let position = position.index(bytes.len());
            bytes[position] = value;
        }
        if cut {
            bytes.truncate(truncate.index(bytes.len()));
        }
        if let Ok(graph) = import_graph(&bytes) {
            prop_assert_eq!(graph.stats.n_nodes, graph.nodes.len());
            for edge in &graph.edges {
                prop_assert!(edge.source < edge.target && edge.target < graph.nodes.len());
            }
        }
    }

    #[test]
    fn import_never_panics_on_random_text(text in ".{0,200}") {
        let _ = import_graph(text.as_bytes());
    }
}
