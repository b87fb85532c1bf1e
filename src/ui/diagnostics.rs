//! The diagnostics panel (the paper's Section 3): the lens histogram under the cover's
//! intervals, the layer's L2 norms against random vectors, the fraction of exact zeros, and
//! the node-size distribution of the current graph. Charts are plotters SVG strings
//! ([`crate::render::charts`]) rebuilt only when a new graph arrives.

use leptos::prelude::*;

use crate::format::thousands;
use crate::render::charts::{lens_cover_chart, node_size_chart, norm_chart};
use crate::ui::context::use_ui;

/// Three charts' markup (or the reason a chart could not be drawn) plus the text figures.
#[derive(Clone, Debug, PartialEq)]
struct Charts {
    lens: Result<String, String>,
    norms: Result<String, String>,
    node_sizes: Result<String, String>,
    zero_fraction: f64,
    norm_line: String,
    size_line: String,
}

#[component]
pub fn DiagnosticsPanel() -> impl IntoView {
    let ui = use_ui();
    let graph_version = ui.select(|m| m.results.graph_version);
    let charts = Memo::new(move |_| {
        graph_version.get();
        ui.read_untracked(|m| {
            let graph = m.results.graph.as_ref()?;
            let d = graph.diagnostics.as_ref()?;
            let s = &graph.stats;
            Some(Charts {
                lens: lens_cover_chart(&d.lens),
                norms: norm_chart(&d.norms),
                node_sizes: node_size_chart(s),
                zero_fraction: d.norms.zero_fraction,
                norm_line: format!(
                    "Layer norms {:.3} ± {:.3} over {} vectors; random vectors of the same dimension {:.3} ± {:.3} (each coordinate drawn independently from that dimension's values, {} vectors).",
                    d.norms.activation_mean,
                    d.norms.activation_std,
                    thousands(d.norms.n_vectors),
                    d.norms.random_mean,
                    d.norms.random_std,
                    thousands(d.norms.n_random),
                ),
                size_line: format!(
                    "Node sizes: min {}, median {}, mean {:.1}, max {}.",
                    thousands(s.node_size_min),
                    s.node_size_median,
                    s.node_size_mean,
                    thousands(s.node_size_max)
                ),
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
        <details class="diagnostics-section" data-testid="diagnostics-panel" open>
            <summary>"Lens, cover and node sizes"</summary>
            {move || match charts.get() {
                None => view! { <p class="muted">"The diagnostics appear with the first graph."</p> }.into_any(),
                Some(c) => view! {
                    <div class="charts">
                        {chart(c.lens, "lens-chart")}
                        {chart(c.norms, "norm-chart")}
                        {chart(c.node_sizes, "node-size-chart")}
                    </div>
                    <p data-testid="zero-fraction">{format!(
                        "{:.1} % of the layer's values are exactly zero (ReLU sets negative values to zero; the paper reports 33 % on average).",
                        c.zero_fraction * 100.0
                    )}</p>
                    <p class="muted">{c.norm_line}</p>
                    <p class="muted" data-testid="node-size-summary">{c.size_line}</p>
                    <p class="muted">"A uniform cover over a peaked lens puts most samples into a few intervals; the balanced cover makes intervals of equal counts, narrow where the lens is dense."</p>
                }.into_any(),
            }}
        </details>
    }
}
