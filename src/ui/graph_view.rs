//! The mapper graph view: an SVG of nodes and links under a camera, with wheel zoom at the
//! pointer, drag to pan, drag a node to move it, zoom buttons, hover statistics, click to
//! select, and legends.
//!
//! The SVG fills the box the page gives it: it measures its size (`layout::SizeObserver`)
//! and its view box takes that aspect ([`ViewBox::for_element`]), so nothing is letterboxed.
//! A graph that was fitted (and not zoomed or panned since) is fitted again when the box
//! changes size. Selected and highlighted nodes get an outline above every node, at least
//! [`OUTLINE_MIN_RADIUS_PX`] in radius and with a stroke that does not scale with the zoom,
//! so they stay visible at any zoom.
//!
//! Every node's position is its own signal (made anew per graph), so dragging a node
//! re-renders only that node, its glyph and its links, even with thousands of nodes. A moved
//! node's position is written back to the model when the drag ends, so the next layout
//! (after a parameter change) starts from where the person left it.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::context::use_ui;
use super::graph_style::{link_width, LegendScale, NodeColouring};
use super::model::{AppModel, GraphSlot, UserAction};
use crate::protocol::{DrawnGraph, DrawnNode};
use crate::render::camera::{bounds_of_circles, Camera, ViewBox};
use crate::render::colour::{plasma_links, viridis};

/// Margin of a fitted graph, in view units.
const FIT_MARGIN: f64 = 30.0;
/// Smallest radius of a selected or highlighted node's outline on screen, in view units
/// (about pixels), however far out the view is zoomed.
pub const OUTLINE_MIN_RADIUS_PX: f64 = 6.0;
/// Smallest side of a glyph on screen, in view units.
const GLYPH_MIN_PX: f64 = 22.0;
/// A wheel zoom is committed to the camera (and the SVG redrawn) after this quiet time.
const ZOOM_COMMIT_MS: u32 = 140;

/// Tooltip / details text of a node's top classes: "Coat 45.2 %".
pub fn class_share_text(graph: &DrawnGraph, node: &DrawnNode) -> Vec<String> {
    node.top_classes
        .iter()
        .map(|share| {
            let name = graph
                .class_names
                .get(share.class_idx as usize)
                .map(String::as_str)
                .unwrap_or("unlabelled");
            format!("{name} {:.1} %", share.fraction * 100.0)
        })
        .collect()
}

#[derive(Clone, Copy)]
struct PanState {
    last_in_view: [f64; 2],
    moved: bool,
    /// The node under the pointer when it went down (pointer capture retargets later events).
    node_idx: Option<usize>,
}

/// The view point under a pointer at `client_x`, `client_y` (as the SVG draws `view_box`).
fn point_in_view(
    svg: &web_sys::Element,
    view_box: ViewBox,
    client_x: f64,
    client_y: f64,
) -> [f64; 2] {
    let rect = svg.get_bounding_client_rect();
    if rect.width() <= 0.0 || rect.height() <= 0.0 {
        return view_box.centre();
    }
    view_box.view_from_element(
        [client_x - rect.left(), client_y - rect.top()],
        [rect.width(), rect.height()],
    )
}

/// The graph of `graph_slot` (the single-layer graph by default, or one of the multilayer row's).
/// `camera` and `view_box`, when given, are shared with the caller (the multilayer row draws
/// ribbons between views from their cameras and view boxes); the view writes its measured
/// view box into `view_box`.
#[component]
pub fn GraphView(
    #[prop(optional)] graph_slot: Option<GraphSlot>,
    #[prop(optional)] camera: Option<RwSignal<Camera>>,
    #[prop(optional)] view_box: Option<RwSignal<ViewBox>>,
) -> impl IntoView {
    let ui = use_ui();
    let slot = graph_slot.unwrap_or(GraphSlot::Main);
    // The app shares each view's camera (share links record it); alone, a view has its own.
    let signals = use_context::<super::link::ViewSignals>();
    let camera = camera
        .or(signals.map(|s| s.camera_for(slot)))
        .unwrap_or_else(|| RwSignal::new(Camera::default()));
    let hovered = RwSignal::new(None::<(usize, [f64; 2])>);
    let pan = StoredValue::new(None::<PanState>);
    let svg_ref = NodeRef::<leptos::svg::Svg>::new();
    // The SVG's size in CSS pixels, and the view box drawn in it.
    let view_box = view_box.unwrap_or_else(|| RwSignal::new(ViewBox::REFERENCE));
    let element_px = RwSignal::new(view_box.get_untracked().size);
    let size_observer = StoredValue::new_local(None::<super::layout::SizeObserver>);
    Effect::new(move |_| {
        let Some(svg) = svg_ref.get() else { return };
        let observer = super::layout::SizeObserver::observe(&svg, move |size| {
            if element_px.get_untracked() != size {
                element_px.set(size);
            }
            let measured = ViewBox::for_element(size);
            if view_box.get_untracked() != measured {
                view_box.set(measured);
            }
        });
        size_observer.set_value(observer);
    });
    on_cleanup(move || size_observer.set_value(None));
    // Whether the camera is the last fit (no zoom or pan since): then a resized box refits.
    let fitted = StoredValue::new(false);

    let graph_version = ui.select(move |m| m.results.version_at(slot));
    let colour_by = ui.select(|m| m.colour_by());
    let node_highlights = ui.select(move |m| m.node_highlights_at(slot));
    // A selector: selecting a node re-renders the node selected before and the new one, not
    // every node.
    let selected_idx = ui.select(move |m| m.selected_at(slot));
    let selected = Selector::new(move || selected_idx.get());
    let threshold = ui.select(|m| m.session.jaccard_threshold);
    // Nodes holding the sample whose neighbours are listed, and nodes holding a neighbour.
    let sample_nodes = ui.select(move |m| super::neighbours::sample_and_neighbour_nodes(m, slot));
    // What each node holds of a selection made elsewhere (None: no such selection); see
    // `AppModel::shading_at`.
    let selection_fractions = ui.select(move |m| m.shading_at(slot));
    // One position signal per node of the current graph (owned by this memo: replaced, and
    // the old ones disposed, with every new graph).
    let node_positions = Memo::new(move |_| {
        graph_version.get();
        ui.read_untracked(|m| {
            m.graph_at(slot)
                .map(|g| {
                    g.nodes
                        .iter()
                        .map(|n| RwSignal::new(n.position))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let position_of =
        move |node_idx: usize| node_positions.with_untracked(|p| p.get(node_idx).copied());
    // Keyboard: Tab reaches the graph, the arrows move a focus between nodes (nearest in the
    // arrow's direction), Enter selects the focused node, Escape clears (the page's handler).
    // The focused node shows its tooltip and a focus ring.
    let keyboard_focus = RwSignal::new(None::<usize>);
    let on_key_down = move |event: web_sys::KeyboardEvent| {
        let key = event.key();
        let positions: Vec<[f64; 2]> =
            node_positions.with_untracked(|p| p.iter().map(|s| s.get_untracked()).collect());
        if let Some(direction) = super::keyboard::arrow_direction(&key) {
            event.prevent_default();
            let next = match keyboard_focus
                .get_untracked()
                .filter(|&f| f < positions.len())
            {
                Some(from) => super::keyboard::nearest_in_direction(&positions, from, direction)
                    .or(Some(from)),
                None => super::keyboard::first_node(&positions),
            };
            keyboard_focus.set(next);
            hovered.set(next.and_then(|idx| Some((idx, *positions.get(idx)?))));
        } else if key == "Enter" || key == " " {
            if let Some(node_idx) = keyboard_focus.get_untracked() {
                event.prevent_default();
                ui.act(UserAction::SelectNode {
                    slot,
                    node_idx: Some(node_idx),
                });
            }
        }
    };
    let bounds = Memo::new(move |_| {
        graph_version.get();
        ui.read_untracked(|m| {
            m.graph_at(slot)
                .and_then(|g| bounds_of_circles(g.nodes.iter().map(|n| (n.position, n.radius))))
        })
    });
    let fit = move || {
        if let Some(bounds) = bounds.get_untracked() {
            camera.set(Camera::fit_in(bounds, view_box.get_untracked(), FIT_MARGIN));
            fitted.set_value(true);
        }
    };
    // A new graph is fitted, unless a restored link asks for its own camera.
    Effect::new(move |_| {
        if bounds.get().is_none() {
            return;
        }
        match signals.and_then(|s| s.take_pending_camera(slot)) {
            Some(restored) => {
                camera.set(restored);
                fitted.set_value(false);
            }
            None => fit(),
        }
    });
    // A fitted graph stays fitted when its box changes size.
    Effect::new(move |_| {
        view_box.track();
        if fitted.get_value() {
            fit();
        }
    });

    let zoom_by = move |factor: f64| {
        fitted.set_value(false);
        let centre = view_box.get_untracked().centre();
        camera.update(|c| c.zoom_at(centre, factor))
    };
    // Wheel zoom is previewed by scaling the whole SVG element with a CSS transform (the
    // compositor scales the last picture; no SVG repaint), and committed to the camera once
    // the wheel has been still for a moment: smooth even with thousands of nodes.
    let pending_zoom = StoredValue::new(None::<Camera>);
    let commit_timer = StoredValue::new_local(None::<gloo_timers::callback::Timeout>);
    let commit_zoom = move || {
        commit_timer.update_value(|timer| drop(timer.take()));
        if let Some(pending) = pending_zoom.get_value() {
            pending_zoom.set_value(None);
            if let Some(svg) = svg_ref.get_untracked() {
                let _ = svg.style().remove_property("transform");
            }
            camera.set(pending);
        }
    };
    let on_wheel = move |event: web_sys::WheelEvent| {
        event.prevent_default();
        let Some(svg) = svg_ref.get_untracked() else {
            return;
        };
        let shown = view_box.get_untracked();
        let anchor = point_in_view(
            &svg,
            shown,
            event.client_x() as f64,
            event.client_y() as f64,
        );
        fitted.set_value(false);
        let delta = match event.delta_mode() {
            1 => event.delta_y() * 16.0,
            2 => event.delta_y() * 400.0,
            _ => event.delta_y(),
        };
        let committed = camera.get_untracked();
        let mut pending = pending_zoom.get_value().unwrap_or(committed);
        pending.zoom_at(anchor, (-delta * 0.0015).exp());
        pending_zoom.set_value(Some(pending));
        let rect = svg.get_bounding_client_rect();
        let ([tx, ty], k) =
            shown.preview_transform(&committed, &pending, [rect.width(), rect.height()]);
        let _ = svg.style().set_property(
            "transform",
            &format!("translate({tx:.2}px, {ty:.2}px) scale({k:.5})"),
        );
        commit_timer.set_value(Some(gloo_timers::callback::Timeout::new(
            ZOOM_COMMIT_MS,
            commit_zoom,
        )));
    };
    let on_pointer_down = move |event: web_sys::PointerEvent| {
        if event.button() != 0 {
            return;
        }
        commit_zoom();
        let Some(svg) = svg_ref.get_untracked() else {
            return;
        };
        let node_idx = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .and_then(|element| element.get_attribute("data-node-idx"))
            .and_then(|idx| idx.parse::<usize>().ok());
        let _ = svg.set_pointer_capture(event.pointer_id());
        let last_in_view = point_in_view(
            &svg,
            view_box.get_untracked(),
            event.client_x() as f64,
            event.client_y() as f64,
        );
        pan.set_value(Some(PanState {
            last_in_view,
            moved: false,
            node_idx,
        }));
    };
    let on_pointer_move = move |event: web_sys::PointerEvent| {
        let Some(mut state) = pan.get_value() else {
            return;
        };
        let Some(svg) = svg_ref.get_untracked() else {
            return;
        };
        let now = point_in_view(
            &svg,
            view_box.get_untracked(),
            event.client_x() as f64,
            event.client_y() as f64,
        );
        let delta = [
            now[0] - state.last_in_view[0],
            now[1] - state.last_in_view[1],
        ];
        if state.moved || delta[0].abs() + delta[1].abs() > 2.0 {
            state.moved = true;
            state.last_in_view = now;
            match state.node_idx.and_then(position_of) {
                // Dragging a node moves it (in world units) and hides the tooltip.
                Some(position) => {
                    let scale = camera.get_untracked().scale;
                    position.update(|p| {
                        p[0] += delta[0] / scale;
                        p[1] += delta[1] / scale;
                    });
                    hovered.set(None);
                }
                None => {
                    fitted.set_value(false);
                    camera.update(|c| c.pan(delta))
                }
            }
        }
        pan.set_value(Some(state));
    };
    let on_pointer_up = move |_event: web_sys::PointerEvent| {
        let state = pan.get_value();
        pan.set_value(None);
        let Some(state) = state else { return };
        if !state.moved {
            // A click without a drag selects the node under the pointer, or clears on background.
            ui.act(UserAction::SelectNode {
                slot,
                node_idx: state.node_idx,
            });
        } else if let Some((node_idx, position)) = state
            .node_idx
            .and_then(|idx| position_of(idx).map(|p| (idx, p)))
        {
            // Keep the moved position for the next layout's start.
            ui.act(UserAction::MoveNode {
                slot,
                node_idx,
                position: position.get_untracked(),
            });
        }
    };

    let transform = move || {
        let c = camera.get();
        format!(
            "translate({:.3} {:.3}) scale({:.6})",
            c.offset[0], c.offset[1], c.scale
        )
    };

    let edges_view = move || {
        graph_version.get();
        ui.read_untracked(|m| {
            m.graph_at(slot).map(|graph| {
                graph
                    .edges
                    .iter()
                    .filter_map(|edge| {
                        let source = position_of(edge.source)?;
                        let target = position_of(edge.target)?;
                        let jaccard = edge.jaccard;
                        Some(view! {
                            <line class="graph-link"
                                x1=move || source.get()[0] y1=move || source.get()[1]
                                x2=move || target.get()[0] y2=move || target.get()[1]
                                stroke=plasma_links(jaccard) stroke-width=link_width(jaccard)
                                vector-effect="non-scaling-stroke"
                                data-jaccard=format!("{jaccard:.4}")
                                visibility={move || if jaccard > threshold.get() { "visible" } else { "hidden" }}
                            />
                        })
                    })
                    .collect_view()
            })
        })
    };

    let nodes_view = move || {
        graph_version.get();
        ui.read_untracked(|m| {
            m.graph_at(slot).map(|graph| {
                graph
                    .nodes
                    .iter()
                    .enumerate()
                    .map(|(node_idx, node)| {
                        let is_highlighted = move || node_highlights.with(|h| h.as_ref().is_some_and(|h| h.get(node_idx) == Some(&true)));
                        let selection_fraction = move || selection_fractions.with(|f| f.as_ref().map(|f| f.get(node_idx).copied().unwrap_or(0.0)));
                        let is_dimmed = move || match selection_fraction() {
                            Some(fraction) => fraction == 0.0,
                            None => node_highlights.with(|h| h.as_ref().is_some_and(|h| h.get(node_idx) != Some(&true))),
                        };
                        let selected = selected.clone();
                        let is_selected = move || selected.selected(&Some(node_idx));
                        let position = position_of(node_idx).unwrap_or_else(|| RwSignal::new(node.position));
                        view! {
                            <circle class="graph-node"
                                cx=move || position.get()[0] cy=move || position.get()[1] r=node.radius
                                data-node-id=node.name.clone()
                                data-node-idx=node_idx
                                data-size=node.size
                                fill=move || { colour_by.track(); node_fill_at(ui, slot, node_idx) }
                                data-highlighted=move || is_highlighted().to_string()
                                data-selection-fraction=move || selection_fraction().map(|f| format!("{f:.4}"))
                                fill-opacity=move || selection_fraction().filter(|&f| f > 0.0).map(|f| format!("{:.3}", 0.25 + 0.75 * f))
                                class:dimmed=is_dimmed
                                class:selected=is_selected
                                class:holds-sample=move || sample_nodes.with(|(sample, _)| sample.contains(&node_idx))
                                class:holds-neighbour=move || sample_nodes.with(|(_, neighbours)| neighbours.contains(&node_idx))
                                vector-effect="non-scaling-stroke"
                                on:pointerenter=move |_| {
                                    if pan.with_value(Option::is_none) {
                                        hovered.set(Some((node_idx, position.get_untracked())));
                                    }
                                }
                                on:pointerleave=move |_| hovered.set(None)
                            />
                        }
                    })
                    .collect_view()
            })
        })
    };

    // Outlines of the selected node and the highlighted ones, above every node (a node drawn
    // later cannot cover them), at least OUTLINE_MIN_RADIUS_PX on screen: visible at any
    // zoom. Re-rendered when the selection or the highlight changes; each outline follows
    // its node's position and the zoom.
    let outlines_view = move || {
        graph_version.get();
        let selected_node = selected_idx.get();
        let shaded = selection_fractions.get();
        let highlights = node_highlights.get();
        let (holding_sample, holding_neighbours) = sample_nodes.get();
        ui.read_untracked(|m| {
            let graph = m.graph_at(slot)?;
            let outlined = graph
                .nodes
                .iter()
                .enumerate()
                .filter_map(|(node_idx, node)| {
                    // Holding some of a selection made elsewhere (the projection, another
                    // layer): a lighter outline.
                    let holds_selection = shaded
                        .as_ref()
                        .is_some_and(|fractions| fractions.get(node_idx).is_some_and(|&f| f > 0.0));
                    let is_highlighted = highlights
                        .as_ref()
                        .is_some_and(|h| h.get(node_idx) == Some(&true));
                    let class = if selected_node == Some(node_idx) {
                        "node-outline selected"
                    } else if holding_sample.contains(&node_idx) {
                        "node-outline holds-sample"
                    } else if holding_neighbours.contains(&node_idx) {
                        "node-outline holds-neighbour"
                    } else if is_highlighted {
                        "node-outline highlighted"
                    } else if holds_selection {
                        "node-outline holds-selection"
                    } else {
                        return None;
                    };
                    Some((node_idx, node.radius, class))
                });
            Some(
                outlined
                    .filter_map(|(node_idx, radius, class)| {
                        let position = position_of(node_idx)?;
                        let r = move || outline_radius(radius, camera.get().scale);
                        Some(view! {
                            <circle class=class data-testid="node-outline" data-node-idx=node_idx
                                cx=move || position.get()[0] cy=move || position.get()[1] r=r
                                vector-effect="non-scaling-stroke" />
                        })
                    })
                    .collect_view(),
            )
        })
    };

    // Glyph mode: ask the worker for the averaged images of the graph on screen.
    // (The averaged images are fetched for the single-layer graph only.)
    let show_glyphs = ui.select(move |m| slot == GraphSlot::Main && m.session.show_glyphs);
    let glyph_images = ui.select(|m| m.results.current_glyphs().cloned());
    Effect::new(move |_| {
        let version = graph_version.get();
        if !show_glyphs.get() || glyph_images.with_untracked(Option::is_some) {
            return;
        }
        ui.request_glyphs(version);
    });
    let glyphs_view = move || {
        if !show_glyphs.get() {
            return None;
        }
        let images = glyph_images.get()?;
        ui.read_untracked(|m| {
            let graph = m.results.graph.as_ref()?;
            Some(
                graph
                    .nodes
                    .iter()
                    .zip(images)
                    .enumerate()
                    .filter_map(|(node_idx, (node, url))| {
                        let url = url?;
                        // At least GLYPH_MIN_PX on screen, whatever the zoom, so the images stay legible.
                        let radius = node.radius;
                        let position = position_of(node_idx)?;
                        let side = move || (radius * 2.6).max(GLYPH_MIN_PX / camera.get().scale);
                        Some(view! {
                            <image class="node-glyph" data-testid="node-glyph" data-node-id=node.name.clone() href=url
                                x=move || position.get()[0] - side() / 2.0 y=move || position.get()[1] - side() / 2.0
                                width=side height=side />
                        })
                    })
                    .collect_view(),
            )
        })
    };

    let tooltip = move || {
        let (node_idx, position) = hovered.get()?;
        let element = element_px.get();
        let at = view_box
            .get()
            .element_from_view(camera.get().screen_from_world(position), element);
        ui.read_untracked(|m| {
            let graph = m.graph_at(slot)?;
            let node = graph.nodes.get(node_idx)?;
            let left = format!("{:.2}%", at[0] / element[0].max(1.0) * 100.0);
            let top = format!("{:.2}%", at[1] / element[1].max(1.0) * 100.0);
            Some(view! {
                <div class="tooltip" data-testid="node-tooltip" style:left=left style:top=top>
                    <strong>{node.name.clone()}</strong>
                    <div>{format!("{} samples · mean lens {:.4}", node.size, node.lens_mean)}</div>
                    <ul>{class_share_text(graph, node).into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}</ul>
                    {super::node_facts::mistakes_line(node, &graph.class_names).map(|line| view! { <div data-testid="tooltip-mistakes">{line}</div> })}
                    {super::node_facts::column_lines(node, m.dataset.as_ref().map(|d| d.columns.as_slice()).unwrap_or_default()).into_iter().map(|(name, value)| view! { <div class="tooltip-column">{format!("{name}: {value}")}</div> }).collect_view()}
                </div>
            })
        })
    };

    // Exports: the picture is drawn here from the graph; the JSON files come from the worker
    // (they carry what the page does not hold, such as mean activation vectors).
    let picture_svg = move || {
        ui.read_untracked(|m| {
            let graph = m.graph_at(slot)?;
            let picture = super::export::GraphPicture {
                graph,
                camera: camera.get_untracked(),
                view_box: view_box.get_untracked(),
                colouring: NodeColouring::of(m),
                jaccard_threshold: m.session.jaccard_threshold,
                highlighted_classes: &m.session.highlighted_classes,
                selected_node: m.selected_at(slot),
                legend: NodeColouring::of(m).legend(Some(graph), &lens_label(m)),
            };
            Some((
                super::export::graph_svg(&picture),
                file_stem(&graph.request.layer),
            ))
        })
    };
    let export_file =
        move |format: crate::protocol::GraphFileFormat| ui.export_graph_file(slot, format);

    view! {
        <div class="graph-panel">
            <div class="graph-toolbar">
                <span data-testid="graph-summary" class="graph-summary">{move || {
                    graph_version.get();
                    ui.read_untracked(|m| m.graph_at(slot).map(|g| format!(
                        "{} nodes, {} edges · {} components · {} branch nodes · {} leaves · {} cycles · {:.1} % of {} samples covered",
                        g.stats.n_nodes, g.stats.n_edges, g.stats.n_components, g.stats.n_branch_nodes,
                        g.stats.n_leaves, g.stats.n_cycles, g.stats.fraction_covered * 100.0, crate::format::thousands(g.n_samples_used)
                    )).unwrap_or_else(|| "No graph yet".into()))
                }}</span>
                <details class="export-menu">
                    <summary class="button" data-testid="export-graph">"Export"</summary>
                    <div class="export-items">
                        <button class="button" data-testid="export-graph-svg" on:click=move |_| {
                            if let Some((svg, stem)) = picture_svg() {
                                super::export::download_text(&format!("{stem}.svg"), "image/svg+xml", &svg);
                            }
                        }>"SVG picture"</button>
                        <button class="button" data-testid="export-graph-png" on:click=move |_| {
                            if let Some((svg, stem)) = picture_svg() {
                                let height = super::export::exported_height(view_box.get_untracked());
                                super::export::download_svg_as_png(&svg, super::export::EXPORT_WIDTH, height, &format!("{stem}.png"));
                            }
                        }>"PNG picture"</button>
                        <button class="button" data-testid="export-graph-kmapper" on:click=move |_| export_file(crate::protocol::GraphFileFormat::Kmapper)>"KeplerMapper JSON"</button>
                        <button class="button" data-testid="export-graph-node-link" on:click=move |_| export_file(crate::protocol::GraphFileFormat::NodeLink)>"Node-link JSON"</button>
                    </div>
                </details>
                <div class="zoom-buttons">
                    <button class="button" data-testid="zoom-in" title="Zoom in" on:click=move |_| zoom_by(1.25)>"+"</button>
                    <button class="button" data-testid="zoom-out" title="Zoom out" on:click=move |_| zoom_by(0.8)>"−"</button>
                    <button class="button" data-testid="zoom-fit" title="Fit the graph" on:click=move |_| fit()>"Fit"</button>
                </div>
            </div>
            <div class="graph-canvas">
                <svg node_ref=svg_ref class="graph-svg" data-testid="graph-view"
                    viewBox=move || view_box.get().attribute()
                    data-zoom=move || format!("{:.4}", camera.get().scale)
                    on:wheel=on_wheel on:pointerdown=on_pointer_down on:pointermove=on_pointer_move on:pointerup=on_pointer_up
                    tabindex="0" role="application" on:keydown=on_key_down
                    on:blur=move |_| { keyboard_focus.set(None); hovered.set(None); }
                    aria-label=move || { graph_version.get(); ui.read_untracked(|m| m.graph_at(slot).map(|g| format!(
                        "Mapper graph of {}: {} nodes, {} edges. Arrow keys move between nodes, Enter selects, Escape clears.",
                        g.request.layer, g.stats.n_nodes, g.stats.n_edges)).unwrap_or_else(|| "Mapper graph (none yet)".into())) }
                >
                    <g transform=transform>
                        <g class="links">{edges_view}</g>
                        <g class="nodes">{nodes_view}</g>
                        <g class="glyphs">{glyphs_view}</g>
                        <g class="outlines">{outlines_view}</g>
                        <g class="focus-ring">{move || {
                            let node_idx = keyboard_focus.get()?;
                            let position = position_of(node_idx)?;
                            let radius = ui.read_untracked(|m| m.graph_at(slot)?.nodes.get(node_idx).map(|n| n.radius))?;
                            Some(view! {
                                <circle class="node-outline focused" data-testid="node-focus" data-node-idx=node_idx
                                    cx=move || position.get()[0] cy=move || position.get()[1]
                                    r=move || outline_radius(radius, camera.get().scale) * 1.3
                                    vector-effect="non-scaling-stroke" />
                            })
                        }}</g>
                    </g>
                </svg>
                {tooltip}
            </div>
            <Legend graph_slot=slot />
        </div>
    }
}

#[component]
fn Legend(graph_slot: GraphSlot) -> impl IntoView {
    let ui = use_ui();
    let slot = graph_slot;
    let stops: Vec<_> = (0..=10)
        .map(|i| {
            let t = i as f64 / 10.0;
            view! { <stop offset=format!("{}%", i * 10) stop-color=viridis(t) /> }
        })
        .collect();
    let legend = ui.select(move |m| NodeColouring::of(m).legend(m.graph_at(slot), &lens_label(m)));
    let title = move || legend.with(|l| l.title.clone());
    let range = move || {
        legend.with(|l| match &l.scale {
            LegendScale::Sequential { lo, hi } => Some((lo.clone(), hi.clone())),
            LegendScale::Categorical(_) => None,
        })
    };
    let swatches = move || {
        legend.with(|l| match &l.scale {
            LegendScale::Categorical(swatches) => swatches.clone(),
            LegendScale::Sequential { .. } => Vec::new(),
        })
    };
    view! {
        <div class="legend" data-testid="legend">
            <div class="legend-scale">
                <span class="legend-title" data-testid="legend-title">{title}</span>
                <Show when=move || range().is_some()>
                    <span data-testid="legend-low">{move || range().map(|r| r.0)}</span>
                    <svg class="colour-bar" viewBox="0 0 100 10" preserveAspectRatio="none">
                        <defs><linearGradient id="viridis-bar">{stops.clone()}</linearGradient></defs>
                        <rect width="100" height="10" fill="url(#viridis-bar)" />
                    </svg>
                    <span data-testid="legend-high">{move || range().map(|r| r.1)}</span>
                </Show>
                {move || swatches().into_iter().map(|(name, colour)| view! {
                    <span class="legend-class"><span class="swatch" style:background=colour></span>{name}</span>
                }).collect_view()}
            </div>
            <div class="legend-note">"Node area: log of member count · Link width and colour: Jaccard index"</div>
        </div>
    }
}

/// Fill of a node of the graph in `slot`, for the session's colour.
fn node_fill_at(ui: super::context::Ui, slot: GraphSlot, node_idx: usize) -> String {
    ui.read_untracked(|m| {
        let graph = m.graph_at(slot)?;
        Some(NodeColouring::of(m).fill(graph, graph.nodes.get(node_idx)?))
    })
    .unwrap_or_else(|| super::graph_style::NO_VALUE_FILL.into())
}

fn lens_label(model: &AppModel) -> String {
    model.session.mapper.lens.name()
}

/// The name exported files of a layer's views start with.
pub fn file_stem(layer: &str) -> String {
    format!("topoact-{}", crate::format::file_stem(layer))
}

/// The radius, in world units, of the outline of a node of `radius` at camera `scale`: the
/// node's own edge, or [`OUTLINE_MIN_RADIUS_PX`] on screen when the node is drawn smaller.
pub fn outline_radius(radius: f64, scale: f64) -> f64 {
    radius.max(OUTLINE_MIN_RADIUS_PX / scale.max(1e-12))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlines_keep_a_visible_size_at_any_zoom() {
        // Zoomed in, the outline is the node's edge.
        assert_eq!(outline_radius(4.0, 10.0), 4.0);
        // Zoomed far out, it keeps OUTLINE_MIN_RADIUS_PX on screen.
        for scale in [1e-3, 0.05, 0.5] {
            let on_screen = outline_radius(4.0, scale) * scale;
            assert!(
                (on_screen - OUTLINE_MIN_RADIUS_PX).abs() < 1e-9
                    || on_screen > OUTLINE_MIN_RADIUS_PX
            );
            assert!(on_screen >= OUTLINE_MIN_RADIUS_PX - 1e-9);
        }
        assert!(outline_radius(4.0, 0.0).is_finite());
    }
}
