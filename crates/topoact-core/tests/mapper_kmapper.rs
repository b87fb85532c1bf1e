//! Our mapper against KeplerMapper 2.1.0 + scikit-learn 1.9.1: node names, members, links
//! and node order must be identical. Expected graphs from `tools/kmapper/make_fixtures.py`
//! (see `tests/fixtures/kmapper/PROVENANCE.md`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::Array2;
use serde_json::Value;
use topoact_core::dataset::Matrix;
use topoact_core::mapper::{
    compute_mapper, to_kmapper_json, CoverKind, Epsilon, Lens, MapperGraph, MapperInput, MapperJob,
    MapperParams,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kmapper")
}

/// Minimal .npy reader for the fixtures: little-endian f2/f4/f8/u4, C order, 1-D or 2-D.
enum Npy {
    F16(Vec<half::f16>, Vec<usize>),
    F32(Vec<f32>, Vec<usize>),
    F64(Vec<f64>, Vec<usize>),
    U32(Vec<u32>),
}

fn read_npy(name: &str) -> Npy {
    let bytes = std::fs::read(fixtures().join(name)).expect("fixture file");
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let (header_len, start) = if bytes[6] == 1 {
        (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)
    } else {
        (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        )
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len]).expect("header");
    assert!(header.contains("'fortran_order': False"));
    let shape_text = &header[header.find("'shape': (").expect("shape") + 10..];
    let shape: Vec<usize> = shape_text[..shape_text.find(')').expect(")")]
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let data = &bytes[start + header_len..];
    if header.contains("'<f2'") {
        Npy::F16(
            data.chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]))
                .collect(),
            shape,
        )
    } else if header.contains("'<f4'") {
        Npy::F32(
            data.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            shape,
        )
    } else if header.contains("'<f8'") {
        Npy::F64(
            data.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
            shape,
        )
    } else if header.contains("'<u4'") {
        Npy::U32(
            data.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        )
    } else {
        panic!("unsupported dtype in {header}")
    }
}

fn read_matrix(name: &str) -> Matrix {
    match read_npy(name) {
        Npy::F16(v, shape) => {
            Matrix::F16(Array2::from_shape_vec((shape[0], shape[1]), v).expect("shape"))
        }
        Npy::F32(v, shape) => Matrix::F32(
            Array2::from_shape_vec((shape[0], shape[1]), v)
                .expect("shape")
                .into(),
        ),
        Npy::F64(v, shape) => {
            Matrix::F64(Array2::from_shape_vec((shape[0], shape[1]), v).expect("shape"))
        }
        Npy::U32(_) => panic!("not a matrix"),
    }
}

fn read_f64(name: &str) -> Vec<f64> {
    match read_npy(name) {
        Npy::F64(v, _) => v,
        _ => panic!("expected float64"),
    }
}

/// The cases of `cases.json`, each with `node_order`: its `nodes` keys in the order of the
/// file, which is KeplerMapper's insertion order (`json.dump` keeps a dict's order;
/// `serde_json::Value` sorts keys, so the order is read separately).
fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("cases.json")).expect("cases.json");
    let v: Value = serde_json::from_str(&text).expect("json");
    let orders: CaseOrders = serde_json::from_str(&text).expect("json");
    let mut cases = v["cases"].as_array().expect("cases").clone();
    assert_eq!(cases.len(), orders.cases.len());
    for (case, order) in cases.iter_mut().zip(orders.cases) {
        assert_eq!(case["name"], order.name.as_str());
        let names = order.nodes.0;
        assert_eq!(names.len(), case["nodes"].as_object().expect("nodes").len());
        case["node_order"] = Value::from(names);
    }
    cases
}

#[derive(serde::Deserialize)]
struct CaseOrders {
    cases: Vec<CaseOrder>,
}

#[derive(serde::Deserialize)]
struct CaseOrder {
    name: String,
    nodes: KeysInFileOrder,
}

/// A JSON object's keys in the order they appear in the text.
struct KeysInFileOrder(Vec<String>);

impl<'de> serde::Deserialize<'de> for KeysInFileOrder {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = KeysInFileOrder;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<KeysInFileOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some((key, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                    keys.push(key);
                }
                Ok(KeysInFileOrder(keys))
            }
        }
        deserializer.deserialize_map(Keys)
    }
}

fn nodes_of(graph: &MapperGraph) -> BTreeMap<String, Vec<u32>> {
    graph
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.members.clone()))
        .collect()
}

fn expected_nodes(case: &Value) -> BTreeMap<String, Vec<u32>> {
    case["nodes"]
        .as_object()
        .expect("nodes")
        .iter()
        .map(|(k, v)| {
            let mut m: Vec<u32> = v
                .as_array()
                .expect("list")
                .iter()
                .map(|x| x.as_u64().expect("id") as u32)
                .collect();
            m.sort_unstable();
            (k.clone(), m)
        })
        .collect()
}

fn links_of(graph: &MapperGraph) -> BTreeMap<String, Vec<String>> {
    let mut links: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &graph.edges {
        links
            .entry(graph.nodes[e.source].name.clone())
            .or_default()
            .push(graph.nodes[e.target].name.clone());
    }
    links
}

fn expected_links(case: &Value) -> BTreeMap<String, Vec<String>> {
    case["links"]
        .as_object()
        .expect("links")
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_array()
                    .expect("list")
                    .iter()
                    .map(|x| x.as_str().expect("name").to_string())
                    .collect(),
            )
        })
        .filter(|(_, v): &(String, Vec<String>)| !v.is_empty())
        .collect()
}

/// The case's epsilon: its fixed value, or the adaptive rule it was generated with.
fn epsilon_of(case: &Value) -> Epsilon {
    match case["eps_adaptive"].as_object() {
        Some(rule) => Epsilon::KnnQuantile {
            k: rule["k"].as_u64().expect("k") as usize,
            quantile: rule["quantile"].as_f64().expect("quantile"),
            per_interval: true,
        },
        None => Epsilon::Explicit(case["eps"].as_f64().expect("eps")),
    }
}

/// Our lens for the case's `lens_kind` (`None` for a custom lens).
fn our_lens(case: &Value) -> Option<Lens> {
    Some(match case["lens_kind"].as_str().expect("lens_kind") {
        "l2" => Lens::L2Norm,
        "l1" => Lens::L1Norm,
        "mean" => Lens::Mean,
        "zeros" => Lens::FractionZeros,
        "pc1" => Lens::FirstPrincipalComponent,
        "knn5" => Lens::KnnDistance { k: 5 },
        "custom" => return None,
        other => panic!("unknown lens kind {other}"),
    })
}

fn base_params(case: &Value) -> MapperParams {
    MapperParams {
        lens: Lens::L2Norm,
        cover: CoverKind::Uniform,
        n_intervals: case["n_cubes"].as_u64().expect("n_cubes") as usize,
        overlap: case["perc_overlap"].as_f64().expect("overlap"),
        epsilon: epsilon_of(case),
        min_samples: case["min_samples"].as_u64().expect("min_samples") as usize,
        min_intersection: case["min_intersection"].as_u64().expect("mi") as usize,
        seed: 0,
        remove_duplicate_nodes: case["remove_duplicate_nodes"].as_bool().unwrap_or(false),
    }
}

fn check_same(name: &str, what: &str, graph: &MapperGraph, case: &Value) {
    let (ours, theirs) = (nodes_of(graph), expected_nodes(case));
    if ours != theirs {
        let only_ours: Vec<_> = ours
            .iter()
            .filter(|(k, v)| theirs.get(*k) != Some(v))
            .map(|(k, _)| k)
            .collect();
        let only_theirs: Vec<_> = theirs
            .iter()
            .filter(|(k, v)| ours.get(*k) != Some(v))
            .map(|(k, _)| k)
            .collect();
        panic!(
            "{name} ({what}): nodes differ; ours only {only_ours:?}; kmapper only {only_theirs:?}"
        );
    }
    assert_eq!(
        links_of(graph),
        expected_links(case),
        "{name} ({what}): links differ"
    );
    // Node order = KeplerMapper's insertion order (cube by cube, clusters by label; a merged
    // duplicate where its first original was), and node ids are positions.
    let ours: Vec<&str> = graph.nodes.iter().map(|n| n.name.as_str()).collect();
    let theirs: Vec<&str> = case["node_order"]
        .as_array()
        .expect("node_order")
        .iter()
        .map(|n| n.as_str().expect("name"))
        .collect();
    if let Some(at) = (0..ours.len().max(theirs.len())).find(|&i| ours.get(i) != theirs.get(i)) {
        panic!(
            "{name} ({what}): node order differs from position {at}: ours {:?}, kmapper {:?}",
            &ours[at.min(ours.len())..(at + 3).min(ours.len())],
            &theirs[at.min(theirs.len())..(at + 3).min(theirs.len())]
        );
    }
    for (position, node) in graph.nodes.iter().enumerate() {
        assert_eq!(
            node.node_id, position,
            "{name} ({what}): node ids are positions"
        );
    }
    // An adaptive epsilon: the same radius in every clustered cube, bit for bit (both sides
    // take the quantile of distances by differences summed in coordinate order).
    if let Some(per_cube) = case["eps_per_cube"].as_array() {
        let ours: Vec<(usize, f64)> = graph
            .intervals
            .iter()
            .filter_map(|r| r.eps.map(|eps| (r.n_members, eps)))
            .collect();
        let theirs: Vec<(usize, f64)> = per_cube
            .iter()
            .map(|c| {
                (
                    c["rows"].as_u64().expect("rows") as usize,
                    c["eps"].as_f64().expect("eps"),
                )
            })
            .collect();
        assert_eq!(ours, theirs, "{name} ({what}): per-cube (rows, eps) differ");
    }
}

/// Every case with KeplerMapper's exact float64 lens passed as a custom lens.
#[test]
fn same_graph_as_kmapper_with_its_lens() {
    for case in cases() {
        let name = case["name"].as_str().expect("name");
        let matrix = read_matrix(case["data"].as_str().expect("data"));
        let lens = read_f64(case["lens"].as_str().expect("lens"));
        let params = MapperParams {
            lens: Lens::Custom {
                name: "fixture".into(),
                values_by_sample: lens,
            },
            ..base_params(&case)
        }
        .validate()
        .expect("valid");
        let graph = compute_mapper(MapperInput::new(&matrix), &params).expect("graph");
        check_same(name, "custom lens", &graph, &case);
    }
}

/// Our own lenses (L2, L1, mean, fraction of zeros, PC1, k-NN distance), our balanced cover
/// and our own epsilon search give the same graphs; our lens values are the fixture's (bit
/// for bit, except PC1: power iteration against LAPACK, same sign).
#[test]
fn same_graph_as_kmapper_with_our_lens_cover_and_epsilon() {
    let mut lens_kinds_seen = std::collections::BTreeSet::new();
    for case in cases() {
        let name = case["name"].as_str().expect("name");
        let Some(lens) = our_lens(&case) else {
            continue;
        };
        lens_kinds_seen.insert(lens.name());
        let matrix = read_matrix(case["data"].as_str().expect("data"));
        let cover = if case["cover"] == "balanced" {
            CoverKind::Balanced
        } else {
            CoverKind::Uniform
        };
        let params = MapperParams {
            cover,
            lens: lens.clone(),
            ..base_params(&case)
        }
        .validate()
        .expect("valid");
        let graph = compute_mapper(MapperInput::new(&matrix), &params).expect("graph");
        if cover == CoverKind::Uniform {
            let theirs = read_f64(case["lens"].as_str().expect("lens"));
            check_lens_values(name, &lens, &graph.lens_by_row, &theirs);
        }
        check_same(name, &format!("our {} lens", lens.name()), &graph, &case);
        if let Some(knn) = case["eps_knn"].as_object() {
            let k = knn["k"].as_u64().expect("k") as usize;
            let quantile = knn["quantile"].as_f64().expect("q");
            let params = MapperParams {
                cover,
                epsilon: Epsilon::KnnQuantile {
                    k,
                    quantile,
                    per_interval: false,
                },
                ..base_params(&case)
            }
            .validate()
            .expect("valid");
            let graph = compute_mapper(MapperInput::new(&matrix), &params).expect("graph");
            let ours = graph.params.eps_global.expect("eps");
            let theirs = case["eps"].as_f64().expect("eps");
            assert!(
                (ours - theirs).abs() <= 1e-12 * theirs,
                "{name}: eps {ours} vs scikit-learn {theirs}"
            );
            check_same(name, "our eps", &graph, &case);
        }
    }
    let expected = [
        "fraction_zeros",
        "knn5_distance",
        "l1norm",
        "l2norm",
        "mean",
        "pc1",
    ];
    assert_eq!(
        lens_kinds_seen
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        expected,
        "every lens has a peer case"
    );
}

/// Our lens values against the fixture's: bit for bit where both sides compute the same
/// float64 sums in the same order; PC1 (our power iteration against scikit-learn's LAPACK
/// eigen-solver) within 1e-9 of the lens range, which also pins the sign convention (the
/// largest-magnitude loading positive: a flipped sign misses by up to twice the range).
fn check_lens_values(name: &str, lens: &Lens, ours: &[f64], theirs: &[f64]) {
    assert_eq!(ours.len(), theirs.len(), "{name}: lens length");
    if *lens == Lens::FirstPrincipalComponent {
        let (lo, hi) = theirs
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let worst = ours
            .iter()
            .zip(theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= 1e-9 * (hi - lo),
            "{name}: PC1 lens differs from scikit-learn's by {worst:e} (range {lo}..{hi})"
        );
    } else if let Some(row) = (0..ours.len()).find(|&i| ours[i].to_bits() != theirs[i].to_bits()) {
        panic!(
            "{name}: {} lens of row {row}: ours {:e}, reference {:e}",
            lens.name(),
            ours[row],
            theirs[row]
        );
    }
}

fn run_stepwise(
    matrix: &Matrix,
    params: &topoact_core::mapper::ValidMapperParams,
    step_threads: usize,
) -> (MapperGraph, usize) {
    use topoact_core::job::{Job, Step};
    let mut job = MapperJob::new(MapperInput::new(matrix), params)
        .expect("job")
        .with_step_threads(step_threads);
    let mut steps = 0;
    loop {
        match job.step().expect("step") {
            Step::Running(p) => {
                assert!(p.done <= p.total);
                steps += 1;
            }
            Step::Done(g) => return (g, steps),
        }
    }
}

/// The stepwise job (as the browser worker runs it, sequential or with threaded steps) gives
/// the same graph as the one call, on every epsilon path (fixed via the join, explicit,
/// adaptive).
#[test]
fn stepwise_job_equals_compute_mapper() {
    let case = cases()
        .into_iter()
        .find(|c| c["name"] == "tree_uniform30")
        .expect("case");
    let matrix = read_matrix("tree.npy");
    let eps = case["eps"].as_f64().expect("eps");
    for epsilon in [
        Epsilon::default(),
        Epsilon::Explicit(eps),
        Epsilon::KnnQuantile {
            k: 5,
            quantile: 0.5,
            per_interval: true,
        },
    ] {
        let params = MapperParams {
            epsilon,
            ..base_params(&case)
        }
        .validate()
        .expect("valid");
        let whole = compute_mapper(MapperInput::new(&matrix), &params).expect("graph");
        let (stepwise, steps) = run_stepwise(&matrix, &params, 1);
        assert!(steps >= 5, "only {steps} steps");
        assert_eq!(whole, stepwise, "{epsilon:?}");
        for step_threads in [2, 3] {
            let (threaded, _) = run_stepwise(&matrix, &params, step_threads);
            assert_eq!(
                whole, threaded,
                "{epsilon:?}, {step_threads} threads per step"
            );
        }
        if !matches!(
            epsilon,
            Epsilon::KnnQuantile {
                per_interval: true,
                ..
            }
        ) {
            check_same("tree_uniform30", "stepwise", &stepwise, &case);
        }
        // The export has KeplerMapper's keys.
        let exported: Value = serde_json::from_str(&to_kmapper_json(&whole)).expect("json");
        assert_eq!(
            exported["nodes"].as_object().expect("nodes").len(),
            whole.nodes.len()
        );
        assert_eq!(
            exported["simplices"].as_array().expect("s").len(),
            whole.nodes.len() + whole.edges.len()
        );
    }
}

/// Labels give class histograms and top classes; a subset keeps original sample indices.
#[test]
fn labels_and_subsets() {
    let matrix = read_matrix("overlap.npy");
    let Npy::U32(labels) = read_npy("tree_labels.npy") else {
        panic!("labels")
    };
    let labels = &labels[..matrix.n_rows()];
    let class_names: Vec<String> = (0..10).map(|c| format!("class{c}")).collect();
    let subset: Vec<u32> = (0..matrix.n_rows() as u32).filter(|s| s % 3 != 0).collect();
    let params = MapperParams::default().validate().expect("valid");
    let input = MapperInput {
        matrix: &matrix,
        sample_indices: Some(&subset),
        labels: Some(labels),
        class_names: &class_names,
    };
    let graph = compute_mapper(input, &params).expect("graph");
    assert_eq!(graph.n_samples_used, subset.len());
    assert!(!graph.nodes.is_empty());
    for node in &graph.nodes {
        assert!(
            node.members.iter().all(|s| s % 3 != 0),
            "members are original sample indices"
        );
        assert!(node.members.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(node.class_histogram.iter().sum::<usize>(), node.size);
        let top: usize = node.top_classes.iter().map(|c| c.count).sum();
        assert!(top <= node.size && !node.top_classes.is_empty());
        assert_eq!(node.mean_activation.len(), matrix.n_cols());
    }
    // The same subset handed over as a matrix of its own rows gives the same graph, with
    // members renumbered.
    let Matrix::F32(full) = &matrix else {
        panic!("f32")
    };
    let sub_rows: Vec<usize> = subset.iter().map(|&s| s as usize).collect();
    let sub = Matrix::F32(full.select(ndarray::Axis(0), &sub_rows).into());
    let graph_sub = compute_mapper(MapperInput::new(&sub), &params).expect("graph");
    assert_eq!(graph.nodes.len(), graph_sub.nodes.len());
    for (a, b) in graph.nodes.iter().zip(&graph_sub.nodes) {
        assert_eq!(a.name, b.name);
        let renumbered: Vec<u32> = b.members.iter().map(|&r| subset[r as usize]).collect();
        assert_eq!(a.members, renumbered);
    }
    assert_eq!(graph.edges, graph_sub.edges);
    let node_link = topoact_core::mapper::to_node_link_json(&graph);
    assert_eq!(
        node_link["nodes"].as_array().expect("nodes").len(),
        graph.nodes.len()
    );
    assert!(node_link["nodes"][0]["top_classes"][0]
        .as_str()
        .expect("name")
        .starts_with("class"));
}

/// Adaptive epsilon with an interval subset equal to the whole data reproduces the fixed
/// epsilon when there is a single interval.
#[test]
fn adaptive_epsilon_single_interval_equals_fixed() {
    let matrix = read_matrix("overlap.npy");
    let fixed = MapperParams {
        n_intervals: 1,
        overlap: 0.0,
        ..Default::default()
    }
    .validate()
    .expect("valid");
    let adaptive = MapperParams {
        n_intervals: 1,
        overlap: 0.0,
        epsilon: Epsilon::KnnQuantile {
            k: 5,
            quantile: 0.5,
            per_interval: true,
        },
        ..Default::default()
    }
    .validate()
    .expect("valid");
    let a = compute_mapper(MapperInput::new(&matrix), &fixed).expect("graph");
    let b = compute_mapper(MapperInput::new(&matrix), &adaptive).expect("graph");
    assert_eq!(a.intervals[0].eps, b.intervals[0].eps);
    assert_eq!(nodes_of(&a), nodes_of(&b));
}
