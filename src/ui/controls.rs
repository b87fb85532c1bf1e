//! The side panel's controls: mapper parameters and presets, subsample, colour and link
//! threshold, class search; and the selected node's details.

use leptos::prelude::*;
use topoact_core::mapper::{CoverKind, Epsilon, Lens};

use super::context::use_ui;
use super::model::{ColourBy, GraphSlot, UserAction, ViewMode};
use super::search::{class_directory, search_classes};
use crate::protocol::{Example, SubsampleChoice};
use crate::session::MistakeHighlight;
use topoact_core::mapper::MapperParams;

/// TopoAct's presets: overlap 20 / 30 / 50 % with a fixed or adaptive epsilon.
pub const PRESETS: [(&str, f64, bool); 6] = [
    ("overlap 20 %, eps fixed", 0.2, false),
    ("overlap 30 %, eps fixed", 0.3, false),
    ("overlap 50 %, eps fixed", 0.5, false),
    ("overlap 20 %, eps adaptive", 0.2, true),
    ("overlap 30 %, eps adaptive", 0.3, true),
    ("overlap 50 %, eps adaptive", 0.5, true),
];

/// Subsample sizes offered (TopoAct's, plus "default" and "all").
pub const SUBSAMPLE_SIZES: [usize; 5] = [5_000, 10_000, 50_000, 100_000, 300_000];

fn input_value(event: &leptos::ev::Event) -> String {
    event_target_value(event)
}

#[component]
pub fn ParameterPanel() -> impl IntoView {
    let ui = use_ui();
    let mapper = ui.select(|m| m.session.mapper.clone());
    let params = move || mapper.get();
    // A parameter edit makes new mapper parameters; the graphs follow from the session.
    let change = move |edit: Box<dyn FnOnce(&mut MapperParams)>| {
        let mut params = mapper.get_untracked();
        edit(&mut params);
        ui.act(UserAction::SetMapperParams(params));
    };
    let preset_value = move || {
        let p = params();
        let per_interval = matches!(
            p.epsilon,
            Epsilon::KnnQuantile {
                per_interval: true,
                ..
            }
        );
        PRESETS
            .iter()
            .position(|(_, overlap, adaptive)| {
                (p.overlap - overlap).abs() < 1e-9 && *adaptive == per_interval
            })
            .map(|idx| idx.to_string())
            .unwrap_or_else(|| "custom".into())
    };
    let n_samples = move || {
        ui.dataset
            .with(|d| d.as_ref().map(|d| d.n_samples).unwrap_or(0))
    };
    let subsample = ui.select(|m| m.subsample());
    let colour_by = ui.select(|m| m.colour_by().key(m.dataset.as_ref()));
    let colour_choices = ui.select(|m| {
        let dataset = m.dataset.as_ref();
        ColourBy::choices(dataset)
            .into_iter()
            .map(|c| (c.key(dataset), c.label(dataset)))
            .collect::<Vec<_>>()
    });
    let show_glyphs = ui.select(|m| m.session.show_glyphs);
    // The graph shown is an imported file: (file name, opened over the loaded data).
    let imported = ui.select(|m| {
        let layer = m.session.layer.as_deref()?;
        let file_name = layer.strip_prefix(crate::protocol::IMPORTED_LAYER_PREFIX)?;
        (m.mode() == ViewMode::Single).then(|| (file_name.to_string(), m.dataset.is_some()))
    });
    let jaccard_threshold = ui.select(|m| m.session.jaccard_threshold);
    let lens_key = move || match params().lens {
        Lens::L2Norm => "l2".to_string(),
        Lens::L1Norm => "l1".into(),
        Lens::Mean => "mean".into(),
        Lens::FractionZeros => "zeros".into(),
        Lens::FirstPrincipalComponent => "pc1".into(),
        Lens::KnnDistance { .. } => "knn".into(),
        Lens::Custom { .. } => "custom".into(),
    };
    view! {
        <div class="panel params" data-testid="mapper-params">
            {move || imported.get().map(|(file_name, over_data)| view! {
                <div class="imported-graph" data-testid="imported-graph-panel">
                    <h2>"Imported graph"</h2>
                    <p><strong>{file_name}</strong></p>
                    <p class="hint">{if over_data {
                        "A graph file whose members are the loaded data's samples: it is shown over that data, so colours by column, mistakes, search, the projection and examples work."
                    } else {
                        "A graph file on its own: no activations are loaded, so only what the file holds is shown (nodes, links, members and classes)."
                    }}</p>
                    <p class="hint">"It is what the file says: its mapper parameters are not known here and nothing is recomputed. Nodes can be moved; colours, search and the Jaccard threshold apply. Choose a layer, or drop activation data, to compute a graph."</p>
                </div>
            })}
            <div class="mapper-fields" style:display=move || if imported.with(Option::is_some) { "none" } else { "contents" }>
            <h2>"Mapper"</h2>
            <label>"Lens"
                <select data-testid="param-lens" prop:value=lens_key on:change=move |ev| {
                    let lens = match input_value(&ev).as_str() {
                        "l1" => Lens::L1Norm,
                        "mean" => Lens::Mean,
                        "zeros" => Lens::FractionZeros,
                        "pc1" => Lens::FirstPrincipalComponent,
                        "knn" => Lens::KnnDistance { k: 5 },
                        _ => Lens::L2Norm,
                    };
                    change(Box::new(move |p| p.lens = lens))
                }>
                    <option value="l2">"L2 norm"</option>
                    <option value="l1">"L1 norm"</option>
                    <option value="mean">"mean activation"</option>
                    <option value="zeros">"fraction of zeros"</option>
                    <option value="pc1">"first principal component"</option>
                    <option value="knn">"mean distance to 5 nearest neighbours"</option>
                </select>
            </label>
            <label>"Preset"
                <select data-testid="preset" prop:value=preset_value on:change=move |ev| {
                    if let Some(&(_, overlap, adaptive)) = input_value(&ev).parse::<usize>().ok().and_then(|idx| PRESETS.get(idx)) {
                        change(Box::new(move |p| {
                            p.overlap = overlap;
                            let (k, quantile) = match p.epsilon { Epsilon::KnnQuantile { k, quantile, .. } => (k, quantile), _ => (5, 0.5) };
                            p.epsilon = Epsilon::KnnQuantile { k, quantile, per_interval: adaptive };
                        }));
                    }
                }>
                    {PRESETS.iter().enumerate().map(|(idx, (label, _, _))| view! { <option value=idx.to_string()>{*label}</option> }).collect_view()}
                    <option value="custom" disabled=true>"custom"</option>
                </select>
            </label>
            <label>"Intervals"
                <input type="number" min="1" max="500" data-testid="param-intervals" prop:value=move || params().n_intervals.to_string()
                    on:change=move |ev| { if let Ok(n) = input_value(&ev).parse::<usize>() { change(Box::new(move |p| p.n_intervals = n)) } } />
            </label>
            <label>"Overlap %"
                <input type="number" min="0" max="99" step="1" data-testid="param-overlap" prop:value=move || format!("{:.0}", params().overlap * 100.0)
                    on:change=move |ev| { if let Ok(percent) = input_value(&ev).parse::<f64>() { change(Box::new(move |p| p.overlap = percent / 100.0)) } } />
            </label>
            <label>"Cover"
                <select data-testid="param-cover" prop:value=move || if params().cover == CoverKind::Balanced { "balanced" } else { "uniform" }
                    on:change=move |ev| { let balanced = input_value(&ev) == "balanced"; change(Box::new(move |p| p.cover = if balanced { CoverKind::Balanced } else { CoverKind::Uniform })) }>
                    <option value="uniform">"uniform (KeplerMapper)"</option>
                    <option value="balanced">"balanced (equal counts)"</option>
                </select>
            </label>
            <label>"min_samples"
                <input type="number" min="1" max="1000" data-testid="param-min-samples" prop:value=move || params().min_samples.to_string()
                    on:change=move |ev| { if let Ok(n) = input_value(&ev).parse::<usize>() { change(Box::new(move |p| p.min_samples = n)) } } />
            </label>
            <label title="KeplerMapper's remove_duplicate_nodes: nodes with identical members become one">"Merge duplicate nodes"
                <input type="checkbox" data-testid="param-dedup" prop:checked=move || params().remove_duplicate_nodes
                    on:change=move |ev| { let on = event_target_checked(&ev); change(Box::new(move |p| p.remove_duplicate_nodes = on)) } />
            </label>
            <label>"Epsilon"
                <span class="eps-text" data-testid="param-eps">{move || match params().epsilon {
                    Epsilon::Explicit(eps) => format!("{eps}"),
                    Epsilon::KnnQuantile { k, quantile, per_interval } => format!(
                        "{} of the {k}th-NN distance, {}", if quantile == 0.5 { "median".to_string() } else { format!("q{quantile}") },
                        if per_interval { "per interval" } else { "whole layer" }),
                }}</span>
            </label>
            <label title="Epsilon from the k-th nearest-neighbour distances (k, quantile), or a fixed radius">"Epsilon from"
                <select data-testid="param-eps-mode" prop:value=move || if matches!(params().epsilon, Epsilon::Explicit(_)) { "fixed" } else { "knn" }
                    on:change=move |ev| {
                        let fixed = input_value(&ev) == "fixed";
                        let eps_now = ui.read_untracked(|m| m.results.graph.as_ref().and_then(|g| g.eps_global).unwrap_or(1.0));
                        change(Box::new(move |p| p.epsilon = if fixed {
                            Epsilon::Explicit(eps_now)
                        } else {
                            Epsilon::KnnQuantile { k: 5, quantile: 0.5, per_interval: false }
                        }))
                    }>
                    <option value="knn">"k-NN distances"</option>
                    <option value="fixed">"a fixed radius"</option>
                </select>
            </label>
            {move || match params().epsilon {
                Epsilon::Explicit(eps) => view! {
                    <label>"Radius"
                        <input type="number" min="0" step="any" data-testid="param-eps-value" prop:value=eps.to_string()
                            on:change=move |ev| { if let Ok(e) = input_value(&ev).parse::<f64>() { change(Box::new(move |p| p.epsilon = Epsilon::Explicit(e))) } } />
                    </label>
                }.into_any(),
                Epsilon::KnnQuantile { k, quantile, per_interval } => view! {
                    <label>"k (neighbour)"
                        <input type="number" min="1" max="100" data-testid="param-eps-k" prop:value=k.to_string()
                            on:change=move |ev| { if let Ok(k) = input_value(&ev).parse::<usize>() { change(Box::new(move |p| p.epsilon = Epsilon::KnnQuantile { k, quantile, per_interval })) } } />
                    </label>
                    <label>"Quantile"
                        <input type="number" min="0" max="1" step="0.05" data-testid="param-eps-quantile" prop:value=quantile.to_string()
                            on:change=move |ev| { if let Ok(q) = input_value(&ev).parse::<f64>() { change(Box::new(move |p| p.epsilon = Epsilon::KnnQuantile { k, quantile: q, per_interval })) } } />
                    </label>
                    <label>"Per interval (adaptive)"
                        <input type="checkbox" data-testid="param-eps-adaptive" prop:checked=per_interval
                            on:change=move |ev| { let on = event_target_checked(&ev); change(Box::new(move |p| p.epsilon = Epsilon::KnnQuantile { k, quantile, per_interval: on })) } />
                    </label>
                }.into_any(),
            }}
            <label>"min_intersection"
                <input type="number" min="1" max="1000" data-testid="param-min-intersection" prop:value=move || params().min_intersection.to_string()
                    on:change=move |ev| { if let Ok(n) = input_value(&ev).parse::<usize>() { change(Box::new(move |p| p.min_intersection = n)) } } />
            </label>
            <label>"Samples"
                <select data-testid="param-subsample" prop:value=move || subsample.with(|s| s.size.map(|s| s.to_string()).unwrap_or_else(|| "default".into()))
                    on:change=move |ev| {
                        let size = input_value(&ev).parse::<usize>().ok();
                        let seed = subsample.get_untracked().seed;
                        ui.act(UserAction::SetSubsample(SubsampleChoice { size, seed }));
                    }>
                    <option value="default">"default (all up to 50K)"</option>
                    {move || SUBSAMPLE_SIZES.iter().filter(|&&size| size < n_samples()).map(|size| view! {
                        <option value=size.to_string()>{crate::format::thousands(*size)}</option>
                    }).collect_view()}
                    <option value=move || n_samples().to_string()>{move || format!("all ({})", crate::format::thousands(n_samples()))}</option>
                </select>
            </label>
            <label title="Seed of the stratified subsample (used when the layer has more samples than are mapped); recorded in exported graphs">"Subsample seed"
                <input type="number" min="0" max="9007199254740991" step="1" data-testid="param-seed"
                    prop:value=move || subsample.with(|s| s.seed.to_string())
                    on:change=move |ev| {
                        if let Ok(seed) = input_value(&ev).parse::<u64>() {
                            let seed = seed.min(crate::session::MAX_SEED);
                            let size = subsample.get_untracked().size;
                            ui.act(UserAction::SetSubsample(SubsampleChoice { size, seed }));
                        }
                    } />
            </label>
            </div>
            <h2>"View"</h2>
            <label>"Colour"
                <select data-testid="colour-by" prop:value=move || colour_by.get()
                    on:change=move |ev| {
                        let key = input_value(&ev);
                        if let Some(c) = ui.read_untracked(|m| ColourBy::from_key(&key, m.dataset.as_ref())) {
                            ui.act(UserAction::SetColourBy(c))
                        }
                    }>
                    {move || colour_choices.get().into_iter().map(|(key, label)| {
                        let selected = key.clone();
                        view! { <option value=key.clone() selected=move || colour_by.with(|c| *c == selected)>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>"Glyphs (averaged images)"
                <input type="checkbox" data-testid="glyph-toggle" prop:checked=move || show_glyphs.get()
                    on:change=move |ev| { let on = event_target_checked(&ev); ui.act(UserAction::SetGlyphs(on)) } />
            </label>
            <label>{move || format!("Hide links with Jaccard ≤ {:.2}", jaccard_threshold.get())}
                <input type="range" min="0" max="1" step="0.01" data-testid="jaccard-threshold"
                    prop:value=move || jaccard_threshold.get().to_string()
                    on:input=move |ev| { if let Ok(t) = input_value(&ev).parse::<f64>() { ui.act(UserAction::SetJaccardThreshold(t)) } } />
            </label>
        </div>
    }
}

/// What search text offers the nodes with mistakes.
const MISCLASSIFIED: &str = "misclassified";
/// Confused pairs the class directory lists.
const CONFUSED_PAIRS_LISTED: usize = 10;

/// The chip of a mistakes highlight: "misclassified", "Shirt → T-shirt/top".
fn mistake_highlight_label(model: &super::model::AppModel, highlight: MistakeHighlight) -> String {
    match highlight {
        MistakeHighlight::Any => "misclassified".into(),
        MistakeHighlight::Confusion {
            true_class,
            predicted_class,
        } => {
            let names: Vec<String> = model
                .dataset
                .as_ref()
                .map(|d| d.classes.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            format!(
                "{} → {}",
                super::node_facts::name_of(&names, true_class),
                super::node_facts::name_of(&names, predicted_class)
            )
        }
    }
}

#[component]
pub fn ClassSearch() -> impl IntoView {
    let ui = use_ui();
    let query = use_context::<super::link::ViewSignals>()
        .map(|s| s.search_text)
        .unwrap_or_else(|| RwSignal::new(String::new()));
    let class_names = ui.select(|m| {
        m.dataset
            .as_ref()
            .map(|d| d.classes.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
            .unwrap_or_default()
    });
    let highlighted = ui.select(|m| m.session.highlighted_classes.clone());
    let has_predictions = ui.select(|m| {
        m.dataset
            .as_ref()
            .is_some_and(|d| d.has_labels && d.has_predictions)
    });
    let mistakes_highlighted = ui.select(|m| m.session.highlighted_mistakes);
    let suggestions = move || class_names.with(|names| search_classes(names, &query.get(), 20));
    // "misclassified" (or its start, from three letters) offers the nodes with mistakes.
    let offers_mistakes = move || {
        has_predictions.get() && {
            let text = query.get().trim().to_lowercase();
            text.len() >= 3 && (MISCLASSIFIED.starts_with(&text) || text.starts_with(MISCLASSIFIED))
        }
    };
    let add = move |class_idx: u32| {
        ui.act(UserAction::HighlightClass(class_idx));
        query.set(String::new());
    };
    let add_mistakes = move || {
        ui.act(UserAction::HighlightMistakes(Some(MistakeHighlight::Any)));
        query.set(String::new());
    };
    view! {
        <div class="panel class-search">
            <h2>"Find classes"</h2>
            <input type="search" data-testid="class-search" placeholder="class name, partial or misspelt…" autocomplete="off"
                prop:value=move || query.get()
                on:input=move |ev| query.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if ev.key() == "Enter" {
                        if offers_mistakes() {
                            add_mistakes()
                        } else if let Some(first) = suggestions().first() {
                            add(first.class_idx)
                        }
                    }
                } />
            <ul class="suggestions" data-testid="class-suggestions">
                <Show when=offers_mistakes>
                    <li><button class="suggestion" data-testid="search-misclassified" on:click=move |_| add_mistakes()>"misclassified samples (nodes with mistakes)"</button></li>
                </Show>
                {move || suggestions().into_iter().map(|found| {
                    let name = class_names.with(|names| names.get(found.class_idx as usize).cloned().unwrap_or_default());
                    view! { <li><button class="suggestion" data-testid="class-suggestion" data-class=name.clone() on:click=move |_| add(found.class_idx)>{name.clone()}</button></li> }
                }).collect_view()}
            </ul>
            <div class="chips" data-testid="highlighted-classes">
                {move || mistakes_highlighted.get().map(|highlight| {
                    let label = ui.read_untracked(|m| mistake_highlight_label(m, highlight));
                    view! {
                        <span class="chip" data-testid="highlighted-mistakes">{label}
                            <button class="chip-remove" aria-label="Remove" on:click=move |_| ui.act(UserAction::HighlightMistakes(None))>"×"</button>
                        </span>
                    }
                })}
                {move || highlighted.get().into_iter().map(|class_idx| {
                    let name = class_names.with(|names| names.get(class_idx as usize).cloned().unwrap_or_default());
                    view! {
                        <span class="chip" data-testid="highlighted-class">{name}
                            <button class="chip-remove" aria-label="Remove" on:click=move |_| ui.act(UserAction::UnhighlightClass(class_idx))>"×"</button>
                        </span>
                    }
                }).collect_view()}
            </div>
        </div>
    }
}

/// TopoAct's "shopping directory": the classes present in the graphs on screen (one, or the
/// multilayer row's three), grouped by first letter, with how many nodes carry each among
/// their top three; multi-select.
#[component]
pub fn ClassDirectory() -> impl IntoView {
    let ui = use_ui();
    // The graphs on screen: the single-layer graph, or the three of the multilayer row.
    let graphs_version = ui.select(|m| {
        (
            m.mode(),
            m.results.graph_version,
            m.results.row_versions.clone(),
        )
    });
    let highlighted = ui.select(|m| m.session.highlighted_classes.clone());
    let groups = move || {
        graphs_version.get();
        ui.read_untracked(|m| {
            let graphs: Vec<&crate::protocol::DrawnGraph> = match m.mode() {
                ViewMode::Single => m.results.graph.iter().collect(),
                ViewMode::Multilayer => m.results.row_graphs.iter().flatten().collect(),
            };
            let class_names = &graphs.first()?.class_names;
            let tops: Vec<Vec<u32>> = graphs
                .iter()
                .flat_map(|graph| {
                    graph
                        .nodes
                        .iter()
                        .map(|node| node.top_classes.iter().map(|s| s.class_idx).collect())
                })
                .collect();
            Some(class_directory(class_names, tops.iter().map(Vec::as_slice)))
        })
    };
    let toggle = move |class_idx: u32| ui.act(UserAction::ToggleHighlightedClass(class_idx));
    // The file's most confused pairs, each with the nodes on screen where it happens.
    let pairs = move || {
        graphs_version.get();
        ui.read_untracked(|m| {
            let dataset = m.dataset.as_ref()?;
            let class_names: Vec<String> = dataset.classes.iter().map(|c| c.name.clone()).collect();
            let graphs: Vec<&crate::protocol::DrawnGraph> = match m.mode() {
                ViewMode::Single => m.results.graph.iter().collect(),
                ViewMode::Multilayer => m.results.row_graphs.iter().flatten().collect(),
            };
            let rows: Vec<(MistakeHighlight, String, usize)> = dataset
                .top_confusions
                .iter()
                .take(CONFUSED_PAIRS_LISTED)
                .map(|confusion| {
                    let highlight = MistakeHighlight::Confusion {
                        true_class: confusion.true_class,
                        predicted_class: confusion.predicted_class,
                    };
                    let n_nodes = graphs
                        .iter()
                        .flat_map(|g| g.nodes.iter())
                        .filter(|node| node.mistakes.as_ref().is_some_and(|m| highlight.matches(m)))
                        .count();
                    let text = format!(
                        "{} → {}: {} samples",
                        super::node_facts::name_of(&class_names, confusion.true_class),
                        super::node_facts::name_of(&class_names, confusion.predicted_class),
                        confusion.count
                    );
                    (highlight, text, n_nodes)
                })
                .collect();
            (!rows.is_empty()).then_some(rows)
        })
    };
    let mistakes_highlighted = ui.select(|m| m.session.highlighted_mistakes);
    view! {
        <details class="panel class-directory" data-testid="class-directory">
            <summary>"Class directory"</summary>
            {move || pairs().map(|rows| view! {
                <h3>"Most confused pairs"</h3>
                <ol class="confused-pairs" data-testid="confused-pairs">
                    {rows.into_iter().map(|(highlight, text, n_nodes)| view! {
                        <li>
                            <button data-testid="confused-pair" class:active=move || mistakes_highlighted.get() == Some(highlight)
                                title="Highlight the nodes where this confusion happens"
                                on:click=move |_| {
                                    let next = (mistakes_highlighted.get_untracked() != Some(highlight)).then_some(highlight);
                                    ui.act(UserAction::HighlightMistakes(next));
                                }>
                                {text}
                                <span class="directory-count">{format!(" · {n_nodes} nodes")}</span>
                            </button>
                        </li>
                    }).collect_view()}
                </ol>
            })}
            {move || groups().map(|groups| groups.into_iter().map(|(letter, entries)| view! {
                <div class="directory-group">
                    <h3>{letter.to_string()}</h3>
                    {entries.into_iter().map(|entry| {
                        let class_idx = entry.class_idx;
                        view! {
                            <label class="directory-entry">
                                <input type="checkbox" data-testid="directory-class" data-class=entry.name.clone()
                                    prop:checked=move || highlighted.with(|h| h.contains(&class_idx))
                                    on:change=move |_| toggle(class_idx) />
                                <span class="directory-name">{entry.name.clone()}</span>
                                <span class="directory-count">{format!("{} nodes", entry.node_count)}</span>
                            </label>
                        }
                    }).collect_view()}
                </div>
            }).collect_view())}
        </details>
    }
}

#[component]
pub fn NodeDetails() -> impl IntoView {
    let ui = use_ui();
    // (layer, node name): node names repeat across layers.
    let selected_name = ui.select(|m| {
        m.focused_node().and_then(|(graph, idx)| {
            Some((
                graph.request.layer.clone(),
                graph.nodes.get(idx)?.name.clone(),
            ))
        })
    });
    let enlarged = RwSignal::new(None::<Example>);
    // Ask the worker for examples whenever the selection changes.
    Effect::new(move |_| {
        // Read, not only tracked: a memo never read follows nothing.
        selected_name.with(|_| ());
        ui.request_examples_of_selected();
    });
    let details = ui.select(|m| {
        let (graph, node_idx) = m.focused_node()?;
        let node = graph.nodes.get(node_idx)?;
        let rows: Vec<(String, f64, usize)> = node
            .top_classes
            .iter()
            .map(|share| {
                let name = graph
                    .class_names
                    .get(share.class_idx as usize)
                    .cloned()
                    .unwrap_or_else(|| "unlabelled".into());
                (name, share.fraction, share.count)
            })
            .collect();
        let mistakes = super::node_facts::mistakes_line(node, &graph.class_names);
        let columns = super::node_facts::column_lines(
            node,
            m.dataset
                .as_ref()
                .map(|d| d.columns.as_slice())
                .unwrap_or_default(),
        );
        Some((
            node.name.clone(),
            node.size,
            node.lens_mean,
            rows,
            mistakes,
            columns,
        ))
    });
    let examples = ui.select(|m| m.results.examples.clone());
    let has_images = ui.select(|m| m.dataset.as_ref().is_some_and(|d| d.has_images));
    let thumbnail = move |example: Example, url: Option<String>, testid: &'static str| {
        match url {
            Some(url) => {
                let title = format!("sample #{} · {}", example.sample_idx, example.class_name);
                view! {
                    <button class="thumb" data-testid=testid data-sample-idx=example.sample_idx title=title.clone()
                        on:click=move |_| enlarged.set(Some(example.clone()))>
                        <img src=url alt=title.clone() />
                    </button>
                }
                .into_any()
            }
            // A file without thumbnails: the example by its index; a click lists its
            // nearest neighbours.
            None => {
                let sample_idx = example.sample_idx;
                view! {
                    <button class="chip example-index" data-testid="example-index" data-sample-idx=sample_idx
                        title="List this sample's nearest neighbours"
                        on:click=move |_| ui.act(UserAction::ShowNeighbours(Some(sample_idx)))>
                        {format!("#{sample_idx}")}
                    </button>
                }
                .into_any()
            }
        }
    };
    view! {
        {move || details.get().map(|(name, size, lens_mean, rows, mistakes, columns)| view! {
            <div class="panel node-details" data-testid="node-details">
                <h2>{name}</h2>
                <p>{format!("{size} samples · mean lens {lens_mean:.4}")}</p>
                {mistakes.map(|line| view! { <p class="mistakes" data-testid="node-mistakes">{line}</p> })}
                {(!columns.is_empty()).then(|| view! {
                    <dl class="facts node-columns" data-testid="node-columns">
                        {columns.into_iter().map(|(name, value)| view! { <dt>{name}</dt><dd>{value}</dd> }).collect_view()}
                    </dl>
                })}
                <table class="top-classes">
                    <thead><tr><th>"Class"</th><th>"Share"</th><th>"Count"</th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|(class_name, fraction, count)| view! {
                            <tr><td>{class_name}</td><td>{format!("{:.1} %", fraction * 100.0)}</td><td>{format!("{count} / {size}")}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <button class="button" on:click=move |_| ui.act(UserAction::SelectNode { slot: GraphSlot::Main, node_idx: None })>"Clear selection"</button>
            </div>
        })}
        {move || examples.get().map(|examples| {
            let has_activation_images = examples.mean_activation_image.is_some();
            let groups = examples.groups.clone();
            view! {
                <div class="panel examples" data-testid="node-examples">
                    <h2>"Data examples"</h2>
                    <Show when=move || !has_images.get()>
                        <p class="hint" data-testid="no-images">"This file has no images: examples are listed by sample index (click one for its nearest neighbours). Export thumbnails with "<code>"tools/export_activations.py"</code>" to see them."</p>
                    </Show>
                    {groups.clone().into_iter().map(|(class_name, group)| view! {
                        <div class="example-group">
                            <h3>{class_name}</h3>
                            <div class="thumbs">{group.into_iter().map(|example| thumbnail(example.clone(), example.thumbnail.clone(), "example-thumbnail")).collect_view()}</div>
                        </div>
                    }).collect_view()}
                </div>
                <div class="panel feature-vis" data-testid="feature-vis">
                    <h2>"Feature visualisation"</h2>
                    {if !has_images.get_untracked() && !has_activation_images {
                        view! { <p class="hint">"No images in this file: nothing to average or show here."</p> }.into_any()
                    } else if has_activation_images {
                        view! {
                            <div>
                                <figure class="mean-image"><img data-testid="mean-activation-image" src=examples.mean_activation_image.clone().unwrap_or_default() alt="mean activation image" />
                                    <figcaption>"Averaged activation image of the node's members"</figcaption></figure>
                                {groups.into_iter().map(|(class_name, group)| view! {
                                    <div class="example-group"><h3>{class_name}</h3>
                                    <div class="thumbs">{group.into_iter().map(|example| thumbnail(example.clone(), example.activation_image.clone(), "activation-thumbnail")).collect_view()}</div></div>
                                }).collect_view()}
                            </div>
                        }.into_any()
                    } else {
                        view! {
                            <div>
                                <figure class="mean-image"><img data-testid="mean-thumbnail" src=examples.mean_thumbnail.clone().unwrap_or_default() alt="mean thumbnail" />
                                    <figcaption>"Mean of the members' input thumbnails"</figcaption></figure>
                                <p class="hint">"This file has no activation images for this layer. Export them with "
                                    <code>"tools/export_activations.py --actimg-layers <layer>"</code>" to see what the layer responds to."</p>
                            </div>
                        }.into_any()
                    }}
                </div>
            }
        })}
        {move || enlarged.get().map(|example| view! {
            <div class="lightbox" data-testid="example-enlarged" role="dialog" on:click=move |_| enlarged.set(None)>
                <figure>
                    <img src=example.thumbnail.clone().unwrap_or_default() alt="enlarged example" />
                    {example.activation_image.clone().map(|url| view! { <img src=url alt="activation image" /> })}
                    <figcaption>{format!("sample #{} · {}", example.sample_idx, example.class_name)}</figcaption>
                    <button class="button" data-testid="example-neighbours" on:click={
                        let sample_idx = example.sample_idx;
                        move |_| ui.act(UserAction::ShowNeighbours(Some(sample_idx)))
                    }>"Its nearest neighbours"</button>
                </figure>
            </div>
        })}
    }
}
