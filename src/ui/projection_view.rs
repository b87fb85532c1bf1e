//! The projection view: t-SNE / UMAP (computed in the worker, or the file's own
//! coordinates) drawn on a canvas from a pixel buffer rasterised in WebAssembly, linked with
//! the graph both ways:
//! - a selected node lights up exactly its member samples; highlighted classes likewise;
//! - a rectangle or lasso drawn on the projection selects samples, and the graph shades the
//!   nodes that contain them by the share of the node selected.
//!
//! Wheel zooms at the pointer, drag pans (or selects, in the rectangle / lasso modes; Shift
//! + drag always draws a rectangle), hover shows a point's thumbnail, label and sample index.

use leptos::prelude::*;
use topoact_core::dataset::ProjectionKind;
use wasm_bindgen::{Clamped, JsCast};

use super::context::use_ui;
use super::model::{GraphSlot, PointColour, UserAction};
use super::projection_scene::{
    highlighted_points, point_colours, rgba_css, selection_histogram, shared, Scene, Shared,
};
use crate::protocol::ProjectionMethod;
use crate::render::camera::Camera;
use crate::render::scatter::{bounds, inside_polygon, Emphasis, Raster};

/// The canvas's pixel size (CSS scales it to the panel's width).
const CANVAS_WIDTH: f64 = 720.0;
const CANVAS_HEIGHT: f64 = 560.0;
const FIT_MARGIN: f64 = 16.0;
/// Hover picks the nearest point within this many canvas pixels.
const HOVER_RADIUS_PX: f64 = 6.0;

/// How a drag on the projection acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DragMode {
    Pan,
    Rectangle,
    Lasso,
}

fn canvas_point(canvas: &web_sys::HtmlCanvasElement, event: &web_sys::MouseEvent) -> [f64; 2] {
    let rect = canvas.get_bounding_client_rect();
    if rect.width() <= 0.0 || rect.height() <= 0.0 {
        return [0.0, 0.0];
    }
    [
        (event.client_x() as f64 - rect.left()) / rect.width() * CANVAS_WIDTH,
        (event.client_y() as f64 - rect.top()) / rect.height() * CANVAS_HEIGHT,
    ]
}

#[derive(Clone)]
struct Drag {
    mode: DragMode,
    start: [f64; 2],
    last: [f64; 2],
    path: Vec<[f64; 2]>,
    /// The point under the pointer when the drag began (a click on it lists its neighbours).
    point_idx: Option<usize>,
}

#[component]
pub fn ProjectionView() -> impl IntoView {
    let ui = use_ui();
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let signals = use_context::<super::link::ViewSignals>();
    let camera = signals
        .map(|s| s.projection_camera)
        .unwrap_or_else(|| RwSignal::new(Camera::default()));
    let mode = RwSignal::new(DragMode::Pan);
    let drag = StoredValue::new(None::<Drag>);
    let drag_path = RwSignal::new(None::<(DragMode, Vec<[f64; 2]>)>);
    let hovered = RwSignal::new(None::<(usize, [f64; 2])>);
    let user_moved_camera = StoredValue::new(false);
    let raster_buffer = StoredValue::new_local(None::<Raster>);

    let projection_version = ui.select(|m| m.results.projection_version);
    let scene: Memo<Option<Shared<Scene>>> = Memo::new(move |_| {
        projection_version.with(|_| ());
        ui.read_untracked(|m| m.results.projection.as_ref().map(|p| shared(Scene::new(p))))
    });
    let fit = move || {
        if let Some(b) = scene.with_untracked(|s| s.as_ref().and_then(|s| bounds(&s.coords))) {
            camera.set(Camera::fit(b, [CANVAS_WIDTH, CANVAS_HEIGHT], FIT_MARGIN));
        }
    };
    // Every new frame refits, unless the person has zoomed or panned since the last fit.
    // A restored link's camera is applied to the finished projection.
    Effect::new(move |_| {
        scene.with(|_| ());
        let complete =
            ui.read_untracked(|m| m.results.projection.as_ref().is_some_and(|p| p.complete));
        if let Some(restored) = complete
            .then(|| signals.and_then(|s| s.take_pending_projection_camera()))
            .flatten()
        {
            camera.set(restored);
            user_moved_camera.set_value(true);
        } else if !user_moved_camera.get_value() {
            fit();
        }
    });
    let colour = ui.select(|m| m.point_colour());
    let colour_key = ui.select(|m| m.point_colour().key(m.dataset.as_ref()));
    let colour_choices = ui.select(|m| {
        let dataset = m.dataset.as_ref();
        PointColour::choices(dataset)
            .into_iter()
            .map(|c| (c.key(dataset), c.label(dataset)))
            .collect::<Vec<_>>()
    });
    // What the colours depend on besides the scene and the encoding.
    let colour_inputs = ui.select(|m| {
        (
            m.session.highlighted_classes.clone(),
            m.results.graph_version,
            m.results
                .sample_values
                .as_ref()
                .map(|values| values.of.clone()),
        )
    });
    let colours = Memo::new(move |_| {
        let scene = scene.get()?;
        let colour = colour.get();
        colour_inputs.with(|_| ());
        ui.read_untracked(|m| {
            m.results
                .projection
                .as_ref()
                .map(|p| shared(point_colours(m, p, &scene.point_of_sample, colour)))
        })
    });
    // What the highlight depends on besides the scene (see `highlighted_points`).
    let emphasis_inputs = ui.select(|m| {
        (
            m.session.selected_node.clone(),
            m.session.mode,
            m.session.multilayer_layers.clone(),
            m.session.sample_selection.clone(),
            m.session.highlighted_classes.clone(),
            m.results.graph_version,
            m.results.row_versions.clone(),
            m.shown_neighbours().map(|(sample_idx, _)| sample_idx),
        )
    });
    let emphasis = Memo::new(move |_| {
        let scene = scene.get()?;
        emphasis_inputs.with(|_| ());
        let mask = ui.read_untracked(|m| {
            let projection = m.results.projection.as_ref()?;
            highlighted_points(m, projection, &scene.point_of_sample)
        });
        Some(shared(match mask {
            None => vec![Emphasis::Normal; scene.coords.len()],
            Some(mask) => mask
                .into_iter()
                .map(|h| {
                    if h {
                        Emphasis::Highlighted
                    } else {
                        Emphasis::Dimmed
                    }
                })
                .collect(),
        }))
    });
    let n_highlighted = Memo::new(move |_| {
        emphasis.with(|e| {
            e.as_ref().map(|e| {
                (
                    e.iter().filter(|&&x| x == Emphasis::Highlighted).count(),
                    e.len(),
                )
            })
        })
    });

    // Draw whenever anything drawn changes.
    Effect::new(move |_| {
        let cam = camera.get();
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        let Ok(Some(context)) = canvas.get_context("2d") else {
            return;
        };
        let Ok(context) = context.dyn_into::<web_sys::CanvasRenderingContext2d>() else {
            return;
        };
        let scene_parts = (scene.get(), colours.get(), emphasis.get());
        // One pixel buffer for the view's life: a frame allocates nothing for the points.
        let image = raster_buffer
            .try_update_value(|slot| {
                let raster = slot.get_or_insert_with(|| {
                    Raster::new(CANVAS_WIDTH as usize, CANVAS_HEIGHT as usize)
                });
                match scene_parts {
                    (Some(scene), Some(colours), Some(emphasis)) => {
                        let point_size = if scene.coords.len() > 100_000 {
                            1
                        } else if scene.coords.len() > 20_000 {
                            2
                        } else {
                            3
                        };
                        raster.draw(&cam, &scene.coords, &colours.0 .0, &emphasis, point_size);
                    }
                    _ => raster.pixels.fill(0),
                }
                web_sys::ImageData::new_with_u8_clamped_array_and_sh(
                    Clamped(&raster.pixels),
                    raster.width as u32,
                    raster.height as u32,
                )
                .ok()
            })
            .flatten();
        if let Some(image) = image {
            let _ = context.put_image_data(&image, 0.0, 0.0);
        }
        if let Some((drag_mode, path)) = drag_path.get() {
            context.begin_path();
            match (drag_mode, path.first(), path.last()) {
                (DragMode::Rectangle, Some(a), Some(b)) => {
                    context.rect(a[0], a[1], b[0] - a[0], b[1] - a[1])
                }
                _ => {
                    for (i, p) in path.iter().enumerate() {
                        if i == 0 {
                            context.move_to(p[0], p[1]);
                        } else {
                            context.line_to(p[0], p[1]);
                        }
                    }
                    context.close_path();
                }
            }
            context.set_stroke_style_str("#1f2937");
            context.set_line_width(1.5);
            context.stroke();
        }
    });

    let select_in = move |drag_mode: DragMode, path: &[[f64; 2]]| {
        let Some(scene) = scene.get_untracked() else {
            return;
        };
        let cam = camera.get_untracked();
        let world: Vec<[f64; 2]> = path.iter().map(|&p| cam.world_from_screen(p)).collect();
        let samples = ui.read_untracked(|m| {
            let projection = m.results.projection.as_ref()?;
            let chosen: Vec<u32> = match drag_mode {
                DragMode::Rectangle => {
                    let (a, b) = (world.first().copied()?, world.last().copied()?);
                    let (x0, x1) = (a[0].min(b[0]), a[0].max(b[0]));
                    let (y0, y1) = (a[1].min(b[1]), a[1].max(b[1]));
                    scene
                        .coords
                        .iter()
                        .zip(&projection.sample_indices)
                        .filter(|(p, _)| {
                            (p[0] as f64) >= x0
                                && (p[0] as f64) <= x1
                                && (p[1] as f64) >= y0
                                && (p[1] as f64) <= y1
                        })
                        .map(|(_, &s)| s)
                        .collect()
                }
                _ => scene
                    .coords
                    .iter()
                    .zip(&projection.sample_indices)
                    .filter(|(p, _)| inside_polygon([p[0] as f64, p[1] as f64], &world))
                    .map(|(_, &s)| s)
                    .collect(),
            };
            Some(chosen)
        });
        let Some(mut samples) = samples else { return };
        samples.sort_unstable();
        let empty = samples.is_empty();
        // A rectangle or lasso replaces the node selection.
        ui.act_all([
            UserAction::SelectNode {
                slot: GraphSlot::Main,
                node_idx: None,
            },
            UserAction::SelectSamples(samples.clone()),
        ]);
        if !empty {
            ui.request_selection_examples(&samples);
        }
    };

    let on_wheel = move |event: web_sys::WheelEvent| {
        event.prevent_default();
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let anchor = canvas_point(&canvas, &event);
        let delta = match event.delta_mode() {
            1 => event.delta_y() * 16.0,
            2 => event.delta_y() * 400.0,
            _ => event.delta_y(),
        };
        user_moved_camera.set_value(true);
        camera.update(|c| c.zoom_at(anchor, (-delta * 0.0015).exp()));
    };
    // The dataset sample a point of the projection on screen stands for.
    let sample_of = move |point_idx: usize| {
        ui.read_untracked(|m| {
            m.results
                .projection
                .as_ref()?
                .sample_indices
                .get(point_idx)
                .copied()
        })
    };
    let on_pointer_down = move |event: web_sys::PointerEvent| {
        if event.button() != 0 {
            return;
        }
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let _ = canvas.set_pointer_capture(event.pointer_id());
        let at = canvas_point(&canvas, &event);
        let drag_mode = if event.shift_key() {
            DragMode::Rectangle
        } else {
            mode.get_untracked()
        };
        drag.set_value(Some(Drag {
            mode: drag_mode,
            start: at,
            last: at,
            path: vec![at],
            point_idx: hovered.get_untracked().map(|(point_idx, _)| point_idx),
        }));
        hovered.set(None);
    };
    let on_pointer_move = move |event: web_sys::PointerEvent| {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let at = canvas_point(&canvas, &event);
        match drag.get_value() {
            Some(mut d) => {
                match d.mode {
                    DragMode::Pan => {
                        user_moved_camera.set_value(true);
                        camera.update(|c| c.pan([at[0] - d.last[0], at[1] - d.last[1]]));
                    }
                    DragMode::Rectangle => {
                        drag_path.set(Some((DragMode::Rectangle, vec![d.start, at])))
                    }
                    DragMode::Lasso => {
                        d.path.push(at);
                        drag_path.set(Some((DragMode::Lasso, d.path.clone())));
                    }
                }
                d.last = at;
                drag.set_value(Some(d));
            }
            None => {
                let found = scene.with_untracked(|s| {
                    let s = s.as_ref()?;
                    let cam = camera.get_untracked();
                    let point_idx = s.grid.as_ref()?.nearest(
                        &s.coords,
                        cam.world_from_screen(at),
                        HOVER_RADIUS_PX / cam.scale,
                    )?;
                    Some((point_idx, at))
                });
                if found.map(|f| f.0) != hovered.get_untracked().map(|h| h.0) {
                    if let Some(sample_idx) = found.and_then(|(point_idx, _)| sample_of(point_idx))
                    {
                        ui.request_thumbnail(sample_idx);
                    }
                }
                hovered.set(found);
            }
        }
    };
    let on_pointer_up = move |_event: web_sys::PointerEvent| {
        let Some(d) = drag.get_value() else { return };
        drag.set_value(None);
        drag_path.set(None);
        let moved = (d.last[0] - d.start[0]).abs() + (d.last[1] - d.start[1]).abs() > 3.0;
        match d.mode {
            // A click on a point lists its nearest neighbours; on the background, it clears
            // the projection selection and the neighbour list.
            DragMode::Pan if !moved => match d.point_idx.and_then(sample_of) {
                Some(sample_idx) => ui.act(UserAction::ShowNeighbours(Some(sample_idx))),
                None => ui.act_all([
                    UserAction::SelectSamples(Vec::new()),
                    UserAction::ShowNeighbours(None),
                ]),
            },
            DragMode::Pan => {}
            DragMode::Rectangle if moved => select_in(DragMode::Rectangle, &[d.start, d.last]),
            DragMode::Lasso if d.path.len() >= 3 => select_in(DragMode::Lasso, &d.path),
            _ => {}
        }
    };

    // The hovered point's sample, class and thumbnail (when it has arrived).
    let hover = ui.select(move |m| {
        let (point_idx, at) = hovered.get()?;
        let projection = m.results.projection.as_ref()?;
        let sample_idx = *projection.sample_indices.get(point_idx)?;
        let label = projection
            .labels
            .get(point_idx)
            .copied()
            .unwrap_or(u32::MAX);
        let class_name = m
            .dataset
            .as_ref()
            .and_then(|d| d.classes.get(label as usize).map(|c| c.name.clone()))
            .unwrap_or_else(|| "unlabelled".into());
        let thumbnail = m
            .results
            .hover_thumbnail
            .as_ref()
            .filter(|(s, _)| *s == sample_idx)
            .and_then(|(_, url)| url.clone());
        Some((at, sample_idx, class_name, thumbnail))
    });
    let tooltip = move || {
        let (at, sample_idx, class_name, thumbnail) = hover.get()?;
        let left = format!("{:.2}%", at[0] / CANVAS_WIDTH * 100.0);
        let top = format!("{:.2}%", at[1] / CANVAS_HEIGHT * 100.0);
        Some(view! {
            <div class="tooltip point-tooltip" data-testid="point-tooltip" style:left=left style:top=top>
                {thumbnail.map(|url| view! { <img class="point-thumbnail" data-testid="point-thumbnail" src=url alt=format!("sample {sample_idx}") /> })}
                <div><strong>{class_name}</strong></div>
                <div>{format!("sample {sample_idx}")}</div>
            </div>
        })
    };

    let running = move || ui.projection_running.get();
    // Which of the file's own projections the layer has: (t-SNE, UMAP).
    let precomputed = ui.select(|m| {
        let has = |kind: ProjectionKind| {
            m.selected_layer()
                .zip(m.dataset.as_ref())
                .is_some_and(|(layer, d)| {
                    d.projections.iter().any(|(l, k)| l == layer && *k == kind)
                })
        };
        (has(ProjectionKind::Tsne), has(ProjectionKind::Umap))
    });
    let method_key = ui.select(|m| match m.session.projection.clone().unwrap_or_default() {
        ProjectionMethod::Umap { .. } => "umap",
        ProjectionMethod::Tsne { .. } => "tsne",
        ProjectionMethod::Precomputed {
            kind: ProjectionKind::Tsne,
        } => "file-tsne",
        ProjectionMethod::Precomputed {
            kind: ProjectionKind::Umap,
        } => "file-umap",
    });
    let stale = ui.select(|m| {
        if !m.projection_is_stale() {
            return None;
        }
        let shown = m.results.projection.as_ref()?;
        let wanted = m.projection_request()?;
        let n_samples = m.dataset.as_ref().map_or(0, |d| d.n_samples);
        Some(format!(
            "Made for {} samples of {}; the graph uses {} samples of {}.",
            crate::format::thousands(shown.n_points()),
            shown.request.layer,
            crate::format::thousands(wanted.subsample.resolve(n_samples)),
            wanted.layer
        ))
    });
    let is_stale = ui.select(|m| m.projection_is_stale());
    let complete = ui.select(|m| m.results.projection.as_ref().is_some_and(|p| p.complete));
    let stage = ui.select(|m| {
        m.results.projection.as_ref().map(|p| {
            let neighbours = if p.knn_exact {
                "exact neighbours"
            } else {
                "approximate neighbours"
            };
            if p.complete {
                format!(
                    "{} · {} · {:.1} s",
                    p.request.method.label(),
                    neighbours,
                    p.elapsed_ms / 1e3
                )
            } else {
                p.stage.clone()
            }
        })
    });
    let on_method = move |event: web_sys::Event| {
        let value = event_target_value(&event);
        let method = match value.as_str() {
            "tsne" => ProjectionMethod::DEFAULT_TSNE,
            "file-tsne" => ProjectionMethod::Precomputed {
                kind: ProjectionKind::Tsne,
            },
            "file-umap" => ProjectionMethod::Precomputed {
                kind: ProjectionKind::Umap,
            },
            _ => ProjectionMethod::DEFAULT_UMAP,
        };
        user_moved_camera.set_value(false);
        ui.act(UserAction::ChooseProjection(method));
    };
    let summary = move || match n_highlighted.get() {
        Some((h, total)) => format!("{} of {} points highlighted", h, total),
        None => "No projection yet".into(),
    };
    let legend = move || colours.get().map(|c| c.0 .1.clone()).unwrap_or_default();
    // The highlighted points as a CSV, written by the worker (it adds the file's
    // predictions and columns).
    let on_export = move |_| {
        let rows = ui.read_untracked(|m| {
            let projection = m.results.projection.as_ref()?;
            let scene = scene.get_untracked()?;
            let mask = highlighted_points(m, projection, &scene.point_of_sample)?;
            let coords = projection.coords();
            let (samples, coords): (Vec<u32>, Vec<[f32; 2]>) = mask
                .iter()
                .enumerate()
                .filter(|(_, &h)| h)
                .map(|(point_idx, _)| (projection.sample_indices[point_idx], coords[point_idx]))
                .unzip();
            Some((samples, coords))
        });
        if let Some((samples, coords)) = rows {
            ui.export_samples("topoact-selection.csv", samples, coords);
        }
    };

    view! {
        <div class="projection-panel" data-testid="projection-panel">
            <div class="projection-toolbar">
                <label>"Projection "
                    <select data-testid="projection-method" prop:value=move || method_key.get() on:change=on_method>
                        <option value="umap">"UMAP (20 neighbours, min_dist 0.01)"</option>
                        <option value="tsne">"t-SNE (perplexity 50)"</option>
                        <option value="file-tsne" disabled=move || !precomputed.get().0>"t-SNE from the file"</option>
                        <option value="file-umap" disabled=move || !precomputed.get().1>"UMAP from the file"</option>
                    </select>
                </label>
                <button class="button" data-testid="projection-compute" on:click=move |_| {
                    user_moved_camera.set_value(false);
                    let method = ui.session.with_untracked(|s| s.projection.clone().unwrap_or_default());
                    ui.act(UserAction::ChooseProjection(method));
                }>"Compute"</button>
                <label>"Colour "
                    <select data-testid="point-colour" prop:value=move || colour_key.get() on:change=move |event| {
                        let key = event_target_value(&event);
                        if let Some(c) = ui.read_untracked(|m| PointColour::from_key(&key, m.dataset.as_ref())) {
                            ui.act(UserAction::SetPointColour(c));
                        }
                    }>
                        {move || colour_choices.get().into_iter().map(|(key, label)| {
                            let selected = key.clone();
                            view! { <option value=key.clone() selected=move || colour_key.with(|c| *c == selected)>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <span class="mode-buttons" role="group" aria-label="Drag mode">
                    <button class="button" data-testid="mode-pan" title="Pan (P)" class:active=move || mode.get() == DragMode::Pan on:click=move |_| mode.set(DragMode::Pan)>"Pan"</button>
                    <button class="button" data-testid="mode-rectangle" title="Rectangle selection (R, or Shift+drag)" class:active=move || mode.get() == DragMode::Rectangle on:click=move |_| mode.set(DragMode::Rectangle)>"Rectangle"</button>
                    <button class="button" data-testid="mode-lasso" title="Lasso selection (L)" class:active=move || mode.get() == DragMode::Lasso on:click=move |_| mode.set(DragMode::Lasso)>"Lasso"</button>
                </span>
                <button class="button" data-testid="projection-fit" title="Fit the projection" on:click=move |_| { user_moved_camera.set_value(false); fit() }>"Fit"</button>
                <button class="button" data-testid="export-projection-png" title="Download the projection as a PNG picture" on:click=move |_| {
                    if let Some(canvas) = canvas_ref.get_untracked() {
                        let layer = ui.read_untracked(|m| m.results.projection.as_ref().map(|p| p.request.layer.clone()).unwrap_or_default());
                        super::export::download_canvas_png(&canvas, &format!("{}-projection.png", super::graph_view::file_stem(&layer)));
                    }
                }>"PNG"</button>
            </div>
            <Show when=move || running().is_some()>
                <div class="progress" data-testid="projection-progress">
                    <span class="progress-label">{move || running().map(|r| {
                        let detail = r.progress.map(|p| format!(" — {} {:.0}%", p.stage, p.fraction() * 100.0)).unwrap_or_default();
                        format!("{}{}", r.description, detail)
                    })}</span>
                    <div class="progress-track">
                        <div class="progress-fill" style:width=move || format!("{:.1}%", running().and_then(|r| r.progress).map(|p| p.fraction()).unwrap_or(0.0) * 100.0)></div>
                    </div>
                    <button class="button" data-testid="projection-cancel" on:click=move |_| ui.cancel_projection()>"Cancel"</button>
                </div>
            </Show>
            <Show when=move || is_stale.get()>
                <div class="projection-stale" data-testid="projection-stale" role="status">
                    <span>{move || stale.get()}</span>
                    <button class="button" data-testid="projection-update" on:click=move |_| ui.act(UserAction::UpdateProjection)>"Update"</button>
                </div>
            </Show>
            <div class="projection-canvas">
                <canvas node_ref=canvas_ref data-testid="projection-view" width=CANVAS_WIDTH height=CANVAS_HEIGHT
                    data-zoom=move || format!("{:.4}", camera.get().scale)
                    data-version=move || projection_version.get()
                    data-complete=move || complete.get().to_string()
                    on:wheel=on_wheel on:pointerdown=on_pointer_down on:pointermove=on_pointer_move on:pointerup=on_pointer_up
                    on:pointerleave=move |_| hovered.set(None)
                    tabindex="0" role="img"
                    aria-label="Projection of the samples. Wheel zooms, drag pans; keys: P pan, R rectangle, L lasso, F fit, Escape clears."
                    on:keydown=move |event: web_sys::KeyboardEvent| {
                        match event.key().as_str() {
                            "p" | "P" => mode.set(DragMode::Pan),
                            "r" | "R" => mode.set(DragMode::Rectangle),
                            "l" | "L" => mode.set(DragMode::Lasso),
                            "f" | "F" => { user_moved_camera.set_value(false); fit() }
                            _ => return,
                        }
                        event.prevent_default();
                    }
                ></canvas>
                {tooltip}
            </div>
            <div class="projection-footer">
                <span data-testid="projection-summary">{summary}</span>
                <span class="muted" data-testid="projection-stage">{move || stage.get()}</span>
                <button class="button" data-testid="export-selection" on:click=on_export
                    disabled=move || n_highlighted.get().is_none_or(|(h, _)| h == 0)
                >"Export highlighted (CSV)"</button>
                <super::projection_export::ExportProjectionCsv />
            </div>
            <div class="legend point-legend" data-testid="projection-legend">
                {move || legend().into_iter().map(|(name, c)| view! {
                    <span class="legend-class"><span class="swatch" style:background=rgba_css(c)></span>{name}</span>
                }).collect_view()}
            </div>
        </div>
    }
}

/// The selection panel: size, class histogram and example thumbnails.
#[component]
pub fn SelectionDetails() -> impl IntoView {
    let details = use_ui().select(|m| {
        let selection = &m.session.sample_selection;
        if selection.is_empty() {
            return None;
        }
        let projection = m.results.projection.as_ref()?;
        let names: Vec<String> = m
            .dataset
            .as_ref()
            .map(|d| d.classes.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        let rows: Vec<(String, usize)> = selection_histogram(projection, selection)
            .into_iter()
            .take(10)
            .map(|(c, n)| (names.get(c as usize).cloned().unwrap_or_default(), n))
            .collect();
        Some((selection.len(), rows, m.results.selection_examples.clone()))
    });
    move || {
        details.get().map(|(total, rows, examples)| view! {
            <div class="selection-details" data-testid="selection-details">
                <h3>{format!("Selection: {} samples", crate::format::thousands(total))}</h3>
                <table>
                    <tbody>
                        {rows.into_iter().map(|(name, n)| view! {
                            <tr><td>{name}</td><td>{format!("{:.1} %", n as f64 / total as f64 * 100.0)}</td><td>{format!("{n} / {total}")}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
                {examples.map(|ex| ex.groups.into_iter().map(|(class_name, items)| view! {
                    <div class="example-row">
                        <span class="example-class">{class_name}</span>
                        {items.into_iter().filter_map(|e| e.thumbnail.map(|url| view! {
                            <img class="example-thumbnail" data-testid="selection-example" src=url alt=format!("sample {}", e.sample_idx) title=format!("sample {}", e.sample_idx) />
                        })).collect_view()}
                    </div>
                }).collect_view())}
            </div>
        })
    }
}
