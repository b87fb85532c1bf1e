//! The nearest neighbours of one sample (a clicked point, or an example's "neighbours"
//! button): listed nearest first with their thumbnails, labels, distances in the layer's
//! full-dimensional space, and the graph nodes that hold them. The session names the sample
//! (`neighbours_of`, so the link carries it); the worker computes the exact list.
//!
//! Test hook: `data-testid="neighbours"` holds one `data-sample-idx` entry per neighbour,
//! nearest first.

use leptos::prelude::*;

use super::context::use_ui;
use super::model::{AppModel, GraphSlot, UserAction, NEIGHBOURS_LISTED};
use crate::protocol::DrawnGraph;

/// One listed neighbour, as the panel shows it.
#[derive(Clone, Debug, PartialEq)]
struct NeighbourRow {
    sample_idx: u32,
    distance: f64,
    class_name: String,
    thumbnail: Option<String>,
    /// (node index, node name) of the single-layer graph's nodes holding it.
    nodes: Vec<(usize, String)>,
}

/// The nodes of `graph` whose members include `sample_idx` (members are ascending).
pub fn nodes_holding(graph: &DrawnGraph, sample_idx: u32) -> Vec<usize> {
    graph
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, node)| node.members.binary_search(&sample_idx).is_ok())
        .map(|(node_idx, _)| node_idx)
        .collect()
}

/// The nodes of the graph in `slot` holding the sample whose neighbours are listed (in any
/// layer: three-layer mode outlines its node in each), and those holding one of its listed
/// neighbours (in the neighbours' layer).
pub fn sample_and_neighbour_nodes(model: &AppModel, slot: GraphSlot) -> (Vec<usize>, Vec<usize>) {
    let (Some(sample_idx), Some(graph)) = (model.session.neighbours_of, model.graph_at(slot))
    else {
        return (Vec::new(), Vec::new());
    };
    let holding_sample = nodes_holding(graph, sample_idx);
    let mut holding_neighbours: Vec<usize> = model
        .shown_neighbours()
        .filter(|_| model.session.layer.as_deref() == Some(graph.request.layer.as_str()))
        .map(|(_, neighbours)| {
            neighbours
                .iter()
                .flat_map(|n| nodes_holding(graph, n.sample_idx))
                .collect()
        })
        .unwrap_or_default();
    holding_neighbours.sort_unstable();
    holding_neighbours.dedup();
    (holding_sample, holding_neighbours)
}

fn class_name(model: &AppModel, label: Option<u32>) -> String {
    label
        .and_then(|label| {
            model
                .dataset
                .as_ref()?
                .classes
                .get(label as usize)
                .map(|c| c.name.clone())
        })
        .unwrap_or_else(|| "unlabelled".into())
}

#[component]
pub fn NeighboursPanel() -> impl IntoView {
    let ui = use_ui();
    // (sample_idx, layer, rows once they arrived)
    let panel = ui.select(|m| {
        let (layer, sample_idx) = m.wanted_neighbours()?;
        let rows = m.shown_neighbours().map(|(_, neighbours)| {
            let graph = m
                .results
                .graph
                .as_ref()
                .filter(|g| g.request.layer == layer);
            neighbours
                .iter()
                .map(|n| NeighbourRow {
                    sample_idx: n.sample_idx,
                    distance: n.distance,
                    class_name: class_name(m, n.label),
                    thumbnail: n.thumbnail.clone(),
                    nodes: graph
                        .map(|g| {
                            nodes_holding(g, n.sample_idx)
                                .into_iter()
                                .map(|node_idx| (node_idx, g.nodes[node_idx].name.clone()))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect::<Vec<_>>()
        });
        Some((sample_idx, layer, rows))
    });
    move || {
        panel.get().map(|(sample_idx, layer, rows)| {
            let list = match rows {
                None => view! {
                    <p class="hint" data-testid="neighbours-pending">{format!("Finding the {NEIGHBOURS_LISTED} nearest neighbours…")}</p>
                }
                .into_any(),
                Some(rows) => view! {
                    <ol class="neighbour-list" data-testid="neighbours">
                        {rows.into_iter().map(|row| {
                            let next = row.sample_idx;
                            view! {
                                <li class="neighbour" data-sample-idx=row.sample_idx data-distance=format!("{:.6}", row.distance)>
                                    {row.thumbnail.clone().map(|url| view! { <img class="neighbour-thumb" src=url alt=format!("sample {}", row.sample_idx) /> })}
                                    <span class="neighbour-text">
                                        <button class="link-button" title="List this sample's neighbours" on:click=move |_| ui.act(UserAction::ShowNeighbours(Some(next)))>
                                            {format!("#{}", row.sample_idx)}
                                        </button>
                                        {format!(" {} · distance {:.4}", row.class_name, row.distance)}
                                        <span class="neighbour-nodes">
                                            {row.nodes.into_iter().map(|(node_idx, name)| view! {
                                                <button class="chip node-chip" data-testid="neighbour-node" on:click=move |_| ui.act(UserAction::SelectNode { slot: GraphSlot::Main, node_idx: Some(node_idx) })>{name}</button>
                                            }).collect_view()}
                                        </span>
                                    </span>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }
                .into_any(),
            };
            view! {
                <div class="panel neighbours-panel" data-testid="neighbours-panel">
                    <h2>{format!("Nearest neighbours of sample #{sample_idx}")}</h2>
                    <p class="hint">{format!("Exact, in {layer}'s full-dimensional space (Euclidean). Highlighted in the projection; the graph outlines the nodes that hold them.")}</p>
                    {list}
                    <button class="button" data-testid="neighbours-close" on:click=move |_| ui.act(UserAction::ShowNeighbours(None))>"Close"</button>
                </div>
            }
        })
    }
}
