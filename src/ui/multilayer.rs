//! Multilayer mode: three layers side by side, each graph in its own zoomable view, with
//! optional ribbons between nodes of adjacent layers that share samples.
//!
//! Selecting a node in one layer shades, in the others, every node holding any of its
//! members by the share it holds (`AppModel::shading_at`). Ribbons are computed on the UI
//! thread from the members the graphs already carry (`compare::cross_layer_links`) and
//! drawn in an overlay above the row, from each view's camera.

use leptos::prelude::*;

use super::context::use_ui;
use super::graph_view::GraphView;
use super::model::{GraphSlot, UserAction};
use crate::render::camera::{Camera, ViewBox};
use crate::render::colour::plasma_links;
use topoact_core::compare::{cross_layer_links, CrossLayerLink};

/// At most this many ribbons are drawn per pair of layers (the strongest ones).
pub const MAX_RIBBONS_PER_PAIR: usize = 1_500;

/// The ribbons between adjacent positions: `(left position, link)`, strongest first per
/// pair, above `threshold`, at most [`MAX_RIBBONS_PER_PAIR`] per pair.
pub fn visible_ribbons(
    links_by_pair: &[Vec<CrossLayerLink>],
    threshold: f64,
) -> Vec<(usize, CrossLayerLink)> {
    let mut visible = Vec::new();
    for (left, links) in links_by_pair.iter().enumerate() {
        let mut above: Vec<CrossLayerLink> = links
            .iter()
            .copied()
            .filter(|link| link.jaccard > threshold)
            .collect();
        above.sort_by(|a, b| {
            b.jaccard
                .total_cmp(&a.jaccard)
                .then(a.from_node.cmp(&b.from_node))
                .then(a.to_node.cmp(&b.to_node))
        });
        above.truncate(MAX_RIBBONS_PER_PAIR);
        visible.extend(above.into_iter().map(|link| (left, link)));
    }
    visible
}

#[component]
pub fn MultilayerView() -> impl IntoView {
    let ui = use_ui();
    let cameras: Vec<RwSignal<Camera>> = match use_context::<super::link::ViewSignals>() {
        Some(signals) => signals.layer_cameras.to_vec(),
        None => (0..3).map(|_| RwSignal::new(Camera::default())).collect(),
    };
    // Each view's view box (the views measure their boxes and write it here).
    let view_boxes: [RwSignal<ViewBox>; 3] =
        std::array::from_fn(|_| RwSignal::new(ViewBox::REFERENCE));
    let row_ref = NodeRef::<leptos::html::Div>::new();
    let layers = ui.select(|m| m.session.multilayer_layers.clone());
    let all_layers = ui.select(|m| m.layer_names());
    let versions = ui.select(|m| m.results.row_versions.clone());
    let show_ribbons = ui.select(|m| m.session.show_ribbons);
    let threshold = ui.select(|m| m.session.ribbon_threshold);
    // Where the row's nodes are (a dragged node's place is kept when the drag ends).
    let row_positions = ui.select(|m| {
        m.results
            .row_graphs
            .iter()
            .map(|graph| {
                graph
                    .as_ref()
                    .map(|g| g.nodes.iter().map(|n| n.position).collect::<Vec<_>>())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
    });
    // With a node selected, the ribbons that do not touch it fade.
    let selected = ui.select(|m| {
        (0..m.session.multilayer_layers.len())
            .find_map(|position| Some((position, m.selected_at(GraphSlot::Layer(position))?)))
    });

    // Cross-layer links of each adjacent pair, recomputed when a graph of the row changes.
    let links_by_pair = Memo::new(move |_| {
        versions.with(|_| ());
        ui.read_untracked(|m| {
            let graphs = &m.results.row_graphs;
            (0..graphs.len().saturating_sub(1))
                .map(|left| match (&graphs[left], &graphs[left + 1]) {
                    (Some(a), Some(b)) => {
                        let from: Vec<&[u32]> =
                            a.nodes.iter().map(|n| n.members.as_slice()).collect();
                        let to: Vec<&[u32]> =
                            b.nodes.iter().map(|n| n.members.as_slice()).collect();
                        cross_layer_links(&from, &to)
                    }
                    _ => Vec::new(),
                })
                .collect::<Vec<_>>()
        })
    });
    let ribbons =
        Memo::new(move |_| links_by_pair.with(|links| visible_ribbons(links, threshold.get())));
    let ribbon_count = move || {
        if show_ribbons.get() {
            ribbons.with(Vec::len)
        } else {
            0
        }
    };

    // The overlay needs the views' places on screen: re-read on resize.
    let resized = RwSignal::new(0u32);
    let on_resize = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n += 1));
    on_cleanup(move || on_resize.remove());

    let cameras_for_overlay = cameras.clone();
    let ribbon_lines = move || {
        if !show_ribbons.get() {
            return None;
        }
        resized.track();
        let cams: Vec<Camera> = cameras_for_overlay.iter().map(|c| c.get()).collect();
        let boxes: Vec<ViewBox> = view_boxes.iter().map(|b| b.get()).collect();
        let row = row_ref.get()?;
        let row_rect = row.get_bounding_client_rect();
        let svgs = row.query_selector_all("svg.graph-svg").ok()?;
        // Each view's top-left relative to the row, and its size, in pixels.
        let frames: Vec<([f64; 2], [f64; 2])> = (0..svgs.length())
            .filter_map(|idx| {
                let element: web_sys::Element =
                    wasm_bindgen::JsCast::dyn_into(svgs.item(idx)?).ok()?;
                let rect = element.get_bounding_client_rect();
                Some((
                    [rect.left() - row_rect.left(), rect.top() - row_rect.top()],
                    [rect.width(), rect.height()],
                ))
            })
            .collect();
        let selected = selected.get();
        let lines = row_positions.with(|positions| {
            let screen = |position: usize, node_idx: usize| -> Option<[f64; 2]> {
                let world = *positions.get(position)?.get(node_idx)?;
                let (origin, size) = frames.get(position)?;
                let at = cams.get(position)?.screen_from_world(world);
                let at = boxes.get(position)?.element_from_view(at, *size);
                Some([origin[0] + at[0], origin[1] + at[1]])
            };
            ribbons.with(|ribbons| {
                ribbons
                    .iter()
                    .filter_map(|&(left, link)| {
                        let a = screen(left, link.from_node)?;
                        let b = screen(left + 1, link.to_node)?;
                        let bend = (b[0] - a[0]) * 0.4;
                        let touches_selected = selected.is_some_and(|(position, node_idx)| {
                            (position == left && node_idx == link.from_node) || (position == left + 1 && node_idx == link.to_node)
                        });
                        let faded = selected.is_some() && !touches_selected;
                        let path = format!("M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}", a[0], a[1], a[0] + bend, a[1], b[0] - bend, b[1], b[0], b[1]);
                        Some(view! {
                            <path class="ribbon" class:faded=faded class:emphasised=touches_selected data-testid="ribbon" d=path
                                stroke=plasma_links(link.jaccard) stroke-width=format!("{:.2}", 0.8 + 4.0 * link.jaccard)
                                data-jaccard=format!("{:.4}", link.jaccard) data-shared=link.shared
                                data-from=format!("{}:{}", left, link.from_node) data-to=format!("{}:{}", left + 1, link.to_node) />
                        })
                    })
                    .collect_view()
            })
        });
        Some(lines)
    };

    let layer_select = move |position: usize| {
        view! {
            <select class="layer-select" data-testid="multilayer-layer" data-position=position
                prop:value=move || layers.with(|l| l.get(position).cloned().unwrap_or_default())
                on:change=move |event| {
                    let chosen = event_target_value(&event);
                    ui.act(UserAction::SetRowLayer { position, layer: chosen });
                }
            >
                {move || all_layers.get().into_iter().map(|name| view! { <option value=name.clone()>{name.clone()}</option> }).collect_view()}
            </select>
        }
    };

    let cameras_for_views = cameras.clone();
    view! {
        <div class="multilayer" data-testid="multilayer">
            <div class="multilayer-toolbar">
                <span class="multilayer-title">"Layers"</span>
                {move || (0..layers.with(Vec::len)).map(layer_select).collect_view()}
                <label class="ribbon-toggle">
                    <input type="checkbox" data-testid="ribbons-toggle"
                        prop:checked=move || show_ribbons.get()
                        on:change=move |event| {
                            let on = event_target_checked(&event);
                            ui.act(UserAction::SetRibbons(on));
                        } />
                    "Links between layers"
                </label>
                <label class="ribbon-threshold">
                    "Jaccard above "
                    <input type="range" min="0" max="1" step="0.01" data-testid="ribbon-threshold"
                        prop:value=move || format!("{:.2}", threshold.get())
                        on:input=move |event| {
                            if let Ok(value) = event_target_value(&event).parse::<f64>() {
                                ui.act(UserAction::SetRibbonThreshold(value));
                            }
                        } />
                    <span data-testid="ribbon-threshold-value">{move || format!("{:.2}", threshold.get())}</span>
                </label>
                <span class="ribbon-count" data-testid="ribbon-count">{move || format!("{} links shown", ribbon_count())}</span>
            </div>
            <div class="multilayer-row" node_ref=row_ref>
                {move || {
                    let cameras = cameras_for_views.clone();
                    layers.get().into_iter().enumerate().map(|(position, layer)| {
                        let camera = cameras.get(position).copied();
                        let view_box = view_boxes.get(position).copied();
                        view! {
                            <div class="layer-graph" data-testid="layer-graph" data-layer=layer.clone() data-position=position>
                                <h3 class="layer-graph-title">{layer.clone()}</h3>
                                {match (camera, view_box) {
                                    (Some(camera), Some(view_box)) => view! { <GraphView graph_slot=GraphSlot::Layer(position) camera=camera view_box=view_box /> }.into_any(),
                                    _ => view! { <GraphView graph_slot=GraphSlot::Layer(position) /> }.into_any(),
                                }}
                            </div>
                        }
                    }).collect_view()
                }}
                <svg class="ribbons" data-testid="ribbons" aria-hidden="true">{ribbon_lines}</svg>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(from_node: usize, to_node: usize, jaccard: f64) -> CrossLayerLink {
        CrossLayerLink {
            from_node,
            to_node,
            shared: 1,
            jaccard,
        }
    }

    #[test]
    fn ribbons_above_the_threshold_strongest_first_per_pair() {
        let pairs = vec![
            vec![link(0, 0, 0.1), link(0, 1, 0.5), link(1, 1, 0.3)],
            vec![link(2, 0, 0.9)],
        ];
        let visible = visible_ribbons(&pairs, 0.2);
        assert_eq!(
            visible,
            vec![
                (0, link(0, 1, 0.5)),
                (0, link(1, 1, 0.3)),
                (1, link(2, 0, 0.9))
            ]
        );
        assert!(
            visible_ribbons(&pairs, 0.9).is_empty(),
            "at or below the threshold is hidden"
        );
    }
}
