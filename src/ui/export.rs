//! Exports: the graph view as a standalone SVG (nodes, links and legend, as on screen) or
//! PNG, the projection as PNG, and downloads of text the worker produced (KeplerMapper and
//! node-link JSON).
//!
//! The SVG is written from the graph itself (not copied from the page), so it carries no
//! page styles or scripts; every string in it (node names, class names, the layer) is
//! escaped.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use super::graph_style::{link_width, GraphLegend, LegendScale, NodeColouring};
use crate::protocol::DrawnGraph;
use crate::render::camera::{Camera, ViewBox};
use crate::render::colour::{plasma_links, viridis};

/// Width of the exported drawing; the graph above the legend has the view's aspect.
pub const EXPORT_WIDTH: f64 = 1000.0;
const LEGEND_HEIGHT: f64 = 70.0;

/// What the exported picture shows besides the graph.
pub struct GraphPicture<'a> {
    pub graph: &'a DrawnGraph,
    pub camera: Camera,
    /// What the view shows of its screen space: the picture shows the same.
    pub view_box: ViewBox,
    pub colouring: NodeColouring<'a>,
    pub jaccard_threshold: f64,
    pub highlighted_classes: &'a [u32],
    pub selected_node: Option<usize>,
    /// What the colours mean.
    pub legend: GraphLegend,
}

/// Text for SVG: `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The graph view as a standalone SVG document.
pub fn graph_svg(picture: &GraphPicture<'_>) -> String {
    let graph = picture.graph;
    let camera = picture.camera;
    let view_box = picture.view_box;
    let graph_height = exported_graph_height(view_box);
    let height = graph_height + LEGEND_HEIGHT;
    // Export units per view unit.
    let export_scale = EXPORT_WIDTH / view_box.size[0];
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{EXPORT_WIDTH}\" height=\"{height}\" viewBox=\"0 0 {EXPORT_WIDTH} {height}\" font-family=\"sans-serif\">\n"
    );
    svg.push_str(&format!(
        "<title>{}</title>\n",
        escape_xml(&format!("Mapper graph of {}", graph.request.layer))
    ));
    svg.push_str(&format!(
        "<rect width=\"{EXPORT_WIDTH}\" height=\"{height}\" fill=\"#ffffff\"/>\n"
    ));
    svg.push_str(&format!(
        "<clipPath id=\"graph-area\"><rect width=\"{EXPORT_WIDTH}\" height=\"{graph_height:.3}\"/></clipPath>\n<g clip-path=\"url(#graph-area)\">\n<g transform=\"scale({export_scale:.6}) translate({:.3} {:.3})\">\n<g transform=\"translate({:.3} {:.3}) scale({:.6})\">\n",
        0.0 - view_box.origin[0], 0.0 - view_box.origin[1],
        camera.offset[0], camera.offset[1], camera.scale
    ));
    // Strokes in export units, as the view draws them in pixels.
    let stroke_scale = 1.0 / (camera.scale * export_scale).max(1e-9);
    for edge in &graph.edges {
        if edge.jaccard <= picture.jaccard_threshold {
            continue;
        }
        let (Some(a), Some(b)) = (graph.nodes.get(edge.source), graph.nodes.get(edge.target))
        else {
            continue;
        };
        svg.push_str(&format!(
            "<line x1=\"{:.3}\" y1=\"{:.3}\" x2=\"{:.3}\" y2=\"{:.3}\" stroke=\"{}\" stroke-width=\"{:.4}\" stroke-opacity=\"0.8\"/>\n",
            a.position[0],
            a.position[1],
            b.position[0],
            b.position[1],
            plasma_links(edge.jaccard),
            link_width(edge.jaccard) * stroke_scale
        ));
    }
    let highlighting = !picture.highlighted_classes.is_empty();
    for (node_idx, node) in graph.nodes.iter().enumerate() {
        let highlighted = node
            .top_classes
            .iter()
            .any(|share| picture.highlighted_classes.contains(&share.class_idx));
        let opacity = if highlighting && !highlighted {
            0.2
        } else {
            1.0
        };
        let (stroke, width) = if picture.selected_node == Some(node_idx) {
            ("#d6336c", 3.0)
        } else if highlighting && highlighted {
            ("#111111", 2.0)
        } else {
            ("#ffffff", 0.8)
        };
        svg.push_str(&format!(
            "<circle cx=\"{:.3}\" cy=\"{:.3}\" r=\"{:.3}\" fill=\"{}\" fill-opacity=\"{opacity}\" stroke=\"{stroke}\" stroke-width=\"{:.4}\" data-node-id=\"{}\"><title>{}</title></circle>\n",
            node.position[0],
            node.position[1],
            node.radius,
            picture.colouring.fill(graph, node),
            width * stroke_scale,
            escape_xml(&node.name),
            escape_xml(&format!("{} ({} samples)", node.name, node.size)),
        ));
    }
    svg.push_str("</g>\n</g>\n</g>\n");
    svg.push_str(&legend_svg(picture, graph_height));
    svg.push_str("</svg>\n");
    svg
}

fn legend_svg(picture: &GraphPicture<'_>, graph_height: f64) -> String {
    let graph = picture.graph;
    let top = graph_height + 12.0;
    let mut out = format!("<g class=\"legend\" transform=\"translate(20 {top})\" font-size=\"13\" fill=\"#1d1f23\">\n");
    out.push_str(&format!(
        "<text x=\"0\" y=\"12\">{}</text>\n",
        escape_xml(&picture.legend.title)
    ));
    match &picture.legend.scale {
        LegendScale::Categorical(swatches) => {
            let mut x = 0.0;
            for (name, colour) in swatches {
                out.push_str(&format!(
                    "<rect x=\"{x:.1}\" y=\"22\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"31\" font-size=\"11\">{}</text>\n",
                    x + 14.0,
                    escape_xml(name)
                ));
                x += 14.0 + 7.0 * name.chars().count().min(14) as f64 + 12.0;
            }
        }
        LegendScale::Sequential { lo, hi } => {
            let (lo, hi) = (escape_xml(lo), escape_xml(hi));
            out.push_str("<defs><linearGradient id=\"export-viridis\">");
            for i in 0..=10 {
                out.push_str(&format!(
                    "<stop offset=\"{}%\" stop-color=\"{}\"/>",
                    i * 10,
                    viridis(i as f64 / 10.0)
                ));
            }
            out.push_str("</linearGradient></defs>\n");
            out.push_str(&format!("<text x=\"0\" y=\"33\">{lo}</text><rect x=\"60\" y=\"22\" width=\"200\" height=\"12\" fill=\"url(#export-viridis)\"/><text x=\"268\" y=\"33\">{hi}</text>\n"));
        }
    }
    out.push_str(&format!(
        "<text x=\"0\" y=\"52\" font-size=\"11\" fill=\"#667085\">{}</text>\n",
        escape_xml(&format!(
            "{} · {} nodes, {} edges · node area: log of member count · link width and colour: Jaccard index",
            graph.request.layer, graph.stats.n_nodes, graph.stats.n_edges
        ))
    ));
    out.push_str("</g>\n");
    out
}

pub use crate::format::csv_field;

/// Offers `blob` as a download named `file_name`.
pub fn download_blob(file_name: &str, blob: &web_sys::Blob) {
    let Ok(url) = web_sys::Url::create_object_url_with_blob(blob) else {
        return;
    };
    let anchor = leptos::prelude::document()
        .create_element("a")
        .ok()
        .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok());
    if let Some(anchor) = anchor {
        anchor.set_href(&url);
        anchor.set_download(file_name);
        anchor.click();
    }
    // Revoked once the browser has surely started the download.
    gloo_timers::callback::Timeout::new(30_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    })
    .forget();
}

/// Offers `text` as a download named `file_name`.
pub fn download_text(file_name: &str, mime: &str, text: &str) {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    if let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) {
        download_blob(file_name, &blob);
    }
}

/// Offers a canvas as a PNG download.
pub fn download_canvas_png(canvas: &web_sys::HtmlCanvasElement, file_name: &str) {
    let file_name = file_name.to_string();
    let on_blob = Closure::once_into_js(move |blob: Option<web_sys::Blob>| {
        if let Some(blob) = blob {
            download_blob(&file_name, &blob);
        }
    });
    let _ = canvas.to_blob(on_blob.unchecked_ref());
}

/// Rasterises an SVG document (at twice its size, for sharpness) and offers it as a PNG.
pub fn download_svg_as_png(svg: &str, width: f64, height: f64, file_name: &str) {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(svg));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("image/svg+xml");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    let Ok(image) = web_sys::HtmlImageElement::new() else {
        return;
    };
    let file_name = file_name.to_string();
    let image_for_load = image.clone();
    let url_for_load = url.clone();
    let on_load = Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url_for_load);
        let canvas = leptos::prelude::document()
            .create_element("canvas")
            .ok()
            .and_then(|c| c.dyn_into::<web_sys::HtmlCanvasElement>().ok());
        let Some(canvas) = canvas else { return };
        canvas.set_width((width * 2.0) as u32);
        canvas.set_height((height * 2.0) as u32);
        let context = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok());
        if let Some(context) = context {
            let _ = context.scale(2.0, 2.0);
            let _ = context.draw_image_with_html_image_element(&image_for_load, 0.0, 0.0);
            download_canvas_png(&canvas, &file_name);
        }
    });
    image.set_onload(Some(on_load.unchecked_ref()));
    image.set_src(&url);
}

/// Height of the graph in the exported picture of a view showing `view_box`.
fn exported_graph_height(view_box: ViewBox) -> f64 {
    EXPORT_WIDTH * view_box.size[1] / view_box.size[0].max(1e-9)
}

/// Height of the exported picture (graph and legend) of a view showing `view_box`.
pub fn exported_height(view_box: ViewBox) -> f64 {
    exported_graph_height(view_box) + LEGEND_HEIGHT
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{DrawnNode, GraphRequest, SubsampleChoice};
    use crate::ui::model::ColourBy;
    use topoact_core::mapper::{graph_stats, ClassShare, MapperEdge};

    fn graph() -> DrawnGraph {
        let node = |name: &str, x: f64, class_idx: u32| DrawnNode {
            name: name.into(),
            size: 3,
            lens_mean: x,
            top_classes: vec![ClassShare {
                class_idx,
                count: 3,
                fraction: 1.0,
            }],
            members: vec![0, 1, 2],
            position: [x, 0.0],
            radius: 5.0,
            columns: vec![],
            mistakes: None,
        };
        DrawnGraph {
            request: GraphRequest {
                layer: "<script>alert(1)</script>".into(),
                subsample: SubsampleChoice::default(),
                params: Default::default(),
            },
            diagnostics: None,
            nodes: vec![
                node("cube0_cluster0", 0.0, 0),
                node("cube1_cluster0", 10.0, 1),
            ],
            edges: vec![MapperEdge {
                source: 0,
                target: 1,
                intersection: 1,
                jaccard: 0.5,
            }],
            stats: graph_stats(&[], &[], 3),
            eps_global: None,
            n_samples_used: 3,
            lens_range: [0.0, 10.0],
            lens_by_sample: Vec::new(),
            class_names: vec!["a & b".into(), "<i>c</i>".into()],
            mapper_ms: 0.0,
            layout_ms: 0.0,
        }
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("Coat"), "Coat");
        assert_eq!(csv_field("tench, Tinca tinca"), "\"tench, Tinca tinca\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }

    #[test]
    fn the_svg_has_every_node_visible_links_and_escaped_text() {
        let graph = graph();
        let mut picture = GraphPicture {
            graph: &graph,
            camera: Camera::default(),
            view_box: ViewBox::REFERENCE,
            colouring: NodeColouring {
                colour_by: ColourBy::DominantClass,
                columns: &[],
            },
            jaccard_threshold: 0.0,
            highlighted_classes: &[],
            selected_node: Some(1),
            legend: NodeColouring {
                colour_by: ColourBy::DominantClass,
                columns: &[],
            }
            .legend(Some(&graph), "l2norm"),
        };
        let svg = graph_svg(&picture);
        assert_eq!(svg.matches("<circle").count(), 2);
        assert_eq!(svg.matches("<line").count(), 1);
        assert!(svg.contains("data-node-id=\"cube1_cluster0\""));
        assert!(
            !svg.contains("<script>") && !svg.contains("<i>"),
            "user text is escaped"
        );
        assert!(svg.contains("&lt;script&gt;") && svg.contains("a &amp; b"));
        assert!(
            svg.contains("height=\"710\""),
            "the reference view: 1000 x 640 and the legend"
        );
        picture.view_box = ViewBox::for_element([800.0, 800.0]);
        let square = graph_svg(&picture);
        assert!(
            square.contains("height=\"1070\""),
            "a square view: 1000 x 1000 and the legend"
        );
        assert!(square.contains("translate(0.000 180.000)"), "{square}");
        assert_eq!(exported_height(picture.view_box), 1070.0);
        picture.jaccard_threshold = 0.5;
        assert_eq!(
            graph_svg(&picture).matches("<line").count(),
            0,
            "links at or below the threshold are hidden"
        );
    }
}
