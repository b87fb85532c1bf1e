//! The diagnostics panel (the paper's Section 3): the lens histogram under the cover's
//! intervals, the layer's L2 norms against random vectors, the fraction of exact zeros, and
//! the node-size distribution of the current graph. Charts are plotters SVG strings
//! ([`crate::render::charts`]) rebuilt only when a new graph arrives.

use leptos::prelude::*;

use topoact_core::diagnostics::NormDiagnostics;

use crate::format::thousands;
use crate::render::charts::{lens_cover_chart, node_size_chart, norm_chart};
use crate::ui::context::use_ui;

/// Three charts' markup (or the reason a chart could not be drawn) plus the text figures.
#[derive(Clone, Debug, PartialEq)]
struct Charts {
    lens: Result<String, String>,
    /// `None` while the worker summarises the layer's norms (they follow the graph).
    norms: Option<NormCharts>,
    node_sizes: Result<String, String>,
    size_line: String,
}

/// The layer's norms against random vectors, and its fraction of exact zeros.
#[derive(Clone, Debug, PartialEq)]
struct NormCharts {
    chart: Result<String, String>,
    zero_fraction: f64,
    line: String,
}

fn norm_charts(norms: &NormDiagnostics) -> NormCharts {
    NormCharts {
        chart: norm_chart(norms),
        zero_fraction: norms.zero_fraction,
        line: format!(
            "Layer norms {:.3} ± {:.3} over {} vectors; random vectors of the same dimension {:.3} ± {:.3} (each coordinate drawn independently from that dimension's values, {} vectors).",
            norms.activation_mean,
            norms.activation_std,
            thousands(norms.n_vectors),
            norms.random_mean,
            norms.random_std,
            thousands(norms.n_random),
        ),
    }
}

#[component]
pub fn DiagnosticsPanel() -> impl IntoView {
    let ui = use_ui();
    let graph_version = ui.select(|m| m.results.graph_version);
    // The norms arrive after the graph: the charts are rebuilt when they do.
    let norms_ready = ui.select(|m| {
        m.results
            .graph
            .as_ref()
            .and_then(|graph| graph.diagnostics.as_ref())
            .is_some_and(|d| d.norms.is_some())
    });
    let charts = Memo::new(move |_| {
        graph_version.get();
        norms_ready.get();
        ui.read_untracked(|m| {
            let graph = m.results.graph.as_ref()?;
            let d = graph.diagnostics.as_ref()?;
            let s = &graph.stats;
            Some(Charts {
                lens: lens_cover_chart(&d.lens),
                norms: d.norms.as_ref().map(norm_charts),
                node_sizes: node_size_chart(s),
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
                Some(c) => {
                    let (norm_chart_view, norm_text) = match c.norms {
                        Some(n) => (
                            chart(n.chart, "norm-chart"),
                            view! {
                                <p data-testid="zero-fraction">{format!(
                                    "{:.1} % of the layer's values are exactly zero (ReLU sets negative values to zero; the paper reports 33 % on average).",
                                    n.zero_fraction * 100.0
                                )}</p>
                                <p class="muted">{n.line}</p>
                            }.into_any(),
                        ),
                        None => (
                            view! { <p class="muted" data-testid="norms-pending">"Summarising the layer's norms…"</p> }.into_any(),
                            ().into_any(),
                        ),
                    };
                    view! {
                        <div class="charts">
                            {chart(c.lens, "lens-chart")}
                            {norm_chart_view}
                            {chart(c.node_sizes, "node-size-chart")}
                        </div>
                        {norm_text}
                        <p class="muted" data-testid="node-size-summary">{c.size_line}</p>
                        <p class="muted">"A uniform cover over a peaked lens puts most samples into a few intervals; the balanced cover makes intervals of equal counts, narrow where the lens is dense."</p>
                    }.into_any()
                }
            }}
        </details>
    }
}
