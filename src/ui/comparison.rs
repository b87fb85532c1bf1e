//! The layer comparison panel (the paper's Section 2 as numbers): the structure of every
//! layer's graph for the current parameters, computed in the worker on request, as a chart
//! and a table, and the L2-norm distributions of all layers on one axis (its Figure 8).

use leptos::prelude::*;

use crate::format::thousands;
use crate::protocol::LayerComparison;
use crate::render::charts::{layer_norms_chart, structure_chart};
use crate::ui::context::use_ui;
use crate::ui::model::AppModel;

/// Whether the comparison on screen was made with the current parameters.
fn is_current(m: &AppModel, comparison: &LayerComparison) -> bool {
    comparison.params == m.session.mapper && comparison.subsample == m.subsample()
}

#[component]
pub fn LayerComparisonPanel() -> impl IntoView {
    let ui = use_ui();
    let comparison = ui.select(|m| m.results.comparison.clone());
    let stale = ui.select(|m| {
        m.results
            .comparison
            .as_ref()
            .is_some_and(|c| !is_current(m, c))
    });
    let charts = Memo::new(move |_| {
        comparison.with(|c| {
            c.as_ref().map(|c| {
                let rows: Vec<(String, topoact_core::mapper::GraphStats)> = c
                    .layers
                    .iter()
                    .map(|l| (l.layer.clone(), l.stats.clone()))
                    .collect();
                (structure_chart(&rows), layer_norms_chart(&c.norms))
            })
        })
    });
    let chart = |markup: Result<String, String>, testid: &'static str| {
        match markup {
        Ok(svg) => view! { <div class="chart" data-testid=testid inner_html=svg></div> }.into_any(),
        Err(reason) => view! { <p class="chart-error" data-testid=testid>{format!("This chart could not be drawn: {reason}")}</p> }.into_any(),
    }
    };
    view! {
        <details class="comparison-section" data-testid="layer-comparison">
            <summary>"All layers compared"</summary>
            <p class="muted">
                "Builds the mapper graph of every layer with the current parameters and samples (no layout) and compares their structure; the paper observed more branching and more islands at deeper layers."
            </p>
            <button class="button" data-testid="compare-layers" on:click=move |_| ui.compare_layers()
                disabled=move || ui.dataset.with(Option::is_none)>
                {move || if comparison.with(Option::is_some) { "Compare again" } else { "Compare all layers" }}
            </button>
            <Show when=move || stale.get()>
                <span class="muted" data-testid="comparison-stale">" The parameters changed since this comparison."</span>
            </Show>
            {move || charts.get().map(|(structure, norms)| view! {
                <div class="charts">
                    {chart(structure, "structure-chart")}
                    {chart(norms, "layer-norms-chart")}
                </div>
            })}
            {move || comparison.get().map(|c| view! {
                <table class="comparison-table" data-testid="comparison-table">
                    <thead><tr>
                        <th>"Layer"</th><th>"Dimensions"</th><th>"Nodes"</th><th>"Edges"</th><th>"Components"</th>
                        <th>"Branch nodes"</th><th>"Leaves"</th><th>"Cycles"</th><th>"Covered"</th><th>"Median norm"</th><th>"Time"</th>
                    </tr></thead>
                    <tbody>
                        {c.layers.iter().zip(&c.norms).map(|(layer, norms)| view! {
                            <tr data-testid="comparison-row" data-layer=layer.layer.clone() data-nodes=layer.stats.n_nodes
                                data-edges=layer.stats.n_edges data-components=layer.stats.n_components>
                                <td>{layer.layer.clone()}</td>
                                <td>{layer.dim}</td>
                                <td>{thousands(layer.stats.n_nodes)}</td>
                                <td>{thousands(layer.stats.n_edges)}</td>
                                <td>{thousands(layer.stats.n_components)}</td>
                                <td>{thousands(layer.stats.n_branch_nodes)}</td>
                                <td>{thousands(layer.stats.n_leaves)}</td>
                                <td>{thousands(layer.stats.n_cycles)}</td>
                                <td>{format!("{:.1} %", layer.stats.fraction_covered * 100.0)}</td>
                                <td>{format!("{:.3}", norms.median)}</td>
                                <td>{format!("{:.1} s", layer.mapper_ms / 1e3)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <p class="muted">{format!(
                    "{} samples per layer, lens {}, {} layers in {:.1} s.",
                    thousands(c.layers.first().map(|l| l.n_samples_used).unwrap_or(0)),
                    c.params.lens.name(),
                    c.layers.len(),
                    c.elapsed_ms / 1e3
                )}</p>
            })}
        </details>
    }
}
