//! Exporters: KeplerMapper's graph dict and NetworkX node-link JSON (TopoAct's format).

use serde_json::{json, Value};

use super::graph::MapperGraph;
use super::params::Epsilon;

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// KeplerMapper's `map()` result as JSON, keys in KeplerMapper's insertion order:
/// `{"nodes": {name: [sample_idx...]}, "links": {name: [name...]}, "simplices": [[name], ...,
/// [a, b]], "meta_data": {...}}`. Members are original `sample_idx`s. `links` only has keys
/// for nodes with a later neighbour (as KeplerMapper).
pub fn to_kmapper_json(graph: &MapperGraph) -> String {
    let mut out = String::from("{\"nodes\": {");
    for (i, node) in graph.nodes.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&json_string(&node.name));
        out.push_str(": ");
        out.push_str(&serde_json::to_string(&node.members).unwrap_or_else(|_| "[]".into()));
    }
    out.push_str("}, \"links\": {");
    let mut first_key = true;
    let mut edge_idx = 0;
    while edge_idx < graph.edges.len() {
        let source = graph.edges[edge_idx].source;
        if !first_key {
            out.push_str(", ");
        }
        first_key = false;
        out.push_str(&json_string(&graph.nodes[source].name));
        out.push_str(": [");
        let mut first = true;
        while edge_idx < graph.edges.len() && graph.edges[edge_idx].source == source {
            if !first {
                out.push_str(", ");
            }
            first = false;
            out.push_str(&json_string(
                &graph.nodes[graph.edges[edge_idx].target].name,
            ));
            edge_idx += 1;
        }
        out.push(']');
    }
    out.push_str("}, \"simplices\": [");
    let mut parts: Vec<String> = graph
        .nodes
        .iter()
        .map(|n| format!("[{}]", json_string(&n.name)))
        .collect();
    parts.extend(graph.edges.iter().map(|e| {
        format!(
            "[{}, {}]",
            json_string(&graph.nodes[e.source].name),
            json_string(&graph.nodes[e.target].name)
        )
    }));
    out.push_str(&parts.join(", "));
    out.push_str("], \"meta_data\": ");
    let p = &graph.params;
    let eps_text = match (p.eps_global, p.epsilon) {
        (Some(eps), _) => format!("{eps}"),
        (None, Epsilon::KnnQuantile { k, quantile, .. }) => {
            format!("per-interval q{quantile} of {k}-NN distance")
        }
        (None, Epsilon::Explicit(eps)) => format!("{eps}"),
    };
    let meta = json!({
        "projection": p.lens,
        "n_cubes": p.n_intervals,
        "perc_overlap": p.overlap,
        "clusterer": format!("DBSCAN(eps={eps_text}, min_samples={})", p.min_samples),
        "scaler": "None",
        "nerve_min_intersection": p.min_intersection,
        "cover": p.cover,
    });
    out.push_str(&meta.to_string());
    out.push('}');
    out
}

/// NetworkX `node_link_data` JSON as TopoAct's graph files:
/// `{directed: false, multigraph: false, graph: {...}, nodes: [{id, membership, size,
/// top_classes, top_class_percents, l2NormAvg, lens_mean, average_activation}], links:
/// [{source, target, intersection, jaccard}]}` (`l2NormAvg` = the mean lens, whatever lens).
pub fn to_node_link_json(graph: &MapperGraph) -> Value {
    let nodes: Vec<Value> = graph
        .nodes
        .iter()
        .map(|node| {
            let names: Vec<String> = node
                .top_classes
                .iter()
                .map(|c| {
                    graph
                        .class_names
                        .get(c.class_idx as usize)
                        .cloned()
                        .unwrap_or_else(|| c.class_idx.to_string())
                })
                .collect();
            let percents: Vec<f64> = node.top_classes.iter().map(|c| c.fraction).collect();
            json!({
                "id": node.name,
                "membership": node.members,
                "size": node.size,
                "top_classes": names,
                "top_class_percents": percents,
                "l2NormAvg": node.lens_mean,
                "lens_mean": node.lens_mean,
                "average_activation": node.mean_activation,
            })
        })
        .collect();
    let links: Vec<Value> = graph
        .edges
        .iter()
        .map(|e| {
            json!({
                "source": graph.nodes[e.source].name,
                "target": graph.nodes[e.target].name,
                "intersection": e.intersection,
                "jaccard": e.jaccard,
            })
        })
        .collect();
    json!({
        "directed": false,
        "multigraph": false,
        "graph": {"params": graph.params, "stats": graph.stats, "n_samples_used": graph.n_samples_used},
        "nodes": nodes,
        "links": links,
    })
}
