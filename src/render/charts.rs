//! Charts of the diagnostics panel, drawn with plotters into SVG strings: the lens histogram
//! with the cover's intervals over it, the L2 norms of a layer against random vectors, and
//! the node-size distribution.
//!
//! Pure functions of their inputs (no DOM access except plotters' text measuring on wasm,
//! which needs the UI thread's document); the result is inserted as markup that plotters
//! escapes itself (titles and labels here are ours, never user text).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use topoact_core::compare::LayerNorms;
use topoact_core::diagnostics::{LensDiagnostics, NormDiagnostics};
use topoact_core::mapper::GraphStats;

/// Pixel size of every chart (the panel scales the SVG to its width).
pub const CHART_WIDTH: u32 = 420;
pub const CHART_HEIGHT: u32 = 220;

const FONT: &str = "sans-serif";
const BAR: RGBColor = RGBColor(68, 114, 196);
const RANDOM: RGBColor = RGBColor(221, 132, 82);
const INTERVAL: RGBColor = RGBColor(40, 40, 40);

/// Rows the overlapping cover intervals are staggered over, so neighbours stay apart.
const INTERVAL_ROWS: usize = 3;

type ChartResult = Result<String, String>;

fn render(
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>,
) -> ChartResult {
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (CHART_WIDTH, CHART_HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|err| err.to_string())?;
        draw(&root)?;
        root.present().map_err(|err| err.to_string())?;
    }
    Ok(svg)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Lens histogram (bars) with the cover's intervals as staggered segments above it.
pub fn lens_cover_chart(d: &LensDiagnostics) -> ChartResult {
    let h = &d.histogram;
    let max_count = h.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    // The cover overhangs the lens range at both ends: show all of it.
    let lo = d.intervals.iter().map(|i| i[0]).fold(h.lower, f64::min);
    let hi = d.intervals.iter().map(|i| i[1]).fold(h.upper, f64::max);
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let band = max_count * 0.08;
    let y_top = max_count * 1.1 + band * INTERVAL_ROWS as f64;
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(6)
            .caption(
                format!(
                    "Lens ({}) and its {} cover ({} intervals)",
                    d.lens,
                    d.cover,
                    d.intervals.len()
                ),
                (FONT, 16),
            )
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d(lo..hi, 0f64..y_top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_y_mesh()
            .x_desc(format!("lens value ({})", d.lens))
            .y_desc("samples")
            .x_labels(6)
            .y_labels(5)
            .y_label_formatter(&|y| crate::format::thousands(y.round().max(0.0) as usize))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(err)?;
        let width = h.bin_width();
        chart
            .draw_series(h.counts.iter().enumerate().filter(|(_, &c)| c > 0).map(
                |(bin, &count)| {
                    let x0 = h.lower + bin as f64 * width;
                    Rectangle::new(
                        [(x0, 0.0), (x0 + width, count as f64)],
                        BAR.mix(0.75).filled(),
                    )
                },
            ))
            .map_err(err)?;
        let base = max_count * 1.1;
        chart
            .draw_series(d.intervals.iter().enumerate().map(|(idx, interval)| {
                let y = base + band * (idx % INTERVAL_ROWS) as f64 + band * 0.2;
                Rectangle::new(
                    [(interval[0], y), (interval[1], y + band * 0.55)],
                    INTERVAL.mix(0.55).filled(),
                )
            }))
            .map_err(err)?;
        Ok(())
    })
}

/// The layer's L2 norms and the random vectors' norms as fractions per bin on one axis.
pub fn norm_chart(d: &NormDiagnostics) -> ChartResult {
    let fraction = |counts: &[u64]| -> Vec<f64> {
        let total = counts.iter().sum::<u64>().max(1) as f64;
        counts.iter().map(|&c| c as f64 / total).collect()
    };
    let activation = fraction(&d.activation.counts);
    let random = fraction(&d.random.counts);
    let y_max = activation
        .iter()
        .chain(&random)
        .copied()
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.1;
    let (lo, hi) = (d.activation.lower, d.activation.upper);
    let width = d.activation.bin_width();
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(6)
            .caption(
                format!("L2 norms, {} dimensions: layer vs random vectors", d.dim),
                (FONT, 16),
            )
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d(lo..hi, 0f64..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_y_mesh()
            .x_desc("L2 norm")
            .y_desc("fraction of vectors")
            .x_labels(6)
            .y_labels(5)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(err)?;
        for (values, colour, label) in [
            (&activation, BAR, "layer"),
            (&random, RANDOM, "random vectors"),
        ] {
            chart
                .draw_series(values.iter().enumerate().filter(|(_, &v)| v > 0.0).map(
                    |(bin, &v)| {
                        let x0 = lo + bin as f64 * width;
                        Rectangle::new([(x0, 0.0), (x0 + width, v)], colour.mix(0.55).filled())
                    },
                ))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.mix(0.55).filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 13))
            .draw()
            .map_err(err)?;
        Ok(())
    })
}

/// Node sizes in powers of two: bar `b` counts nodes of size `[2^b, 2^(b+1))`.
pub fn node_size_chart(stats: &GraphStats) -> ChartResult {
    let bins = &stats.node_size_histogram;
    let n_bins = bins.len().max(1);
    let max_count = bins.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.1;
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(6)
            .caption(format!("Node sizes ({} nodes)", stats.n_nodes), (FONT, 16))
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d(0f64..n_bins as f64, 0f64..max_count)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_y_mesh()
            .x_desc("members per node (from)")
            .y_desc("nodes")
            .y_label_formatter(&|y| crate::format::thousands(y.round().max(0.0) as usize))
            .x_labels(n_bins + 1)
            .x_label_formatter(&|x| {
                let b = x.round();
                if (x - b).abs() < 1e-6 && (0.0..63.0).contains(&b) {
                    crate::format::thousands(1usize << b as u32)
                } else {
                    String::new()
                }
            })
            .y_labels(5)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(
                bins.iter()
                    .enumerate()
                    .filter(|(_, &c)| c > 0)
                    .map(|(bin, &count)| {
                        Rectangle::new(
                            [(bin as f64 + 0.08, 0.0), (bin as f64 + 0.92, count as f64)],
                            BAR.mix(0.75).filled(),
                        )
                    }),
            )
            .map_err(err)?;
        Ok(())
    })
}

/// Layer names as x labels: at most this many characters.
const LAYER_LABEL_CHARS: usize = 12;

fn short_layer_name(name: &str) -> String {
    if name.chars().count() <= LAYER_LABEL_CHARS {
        name.to_string()
    } else {
        format!(
            "{}…",
            name.chars().take(LAYER_LABEL_CHARS - 1).collect::<String>()
        )
    }
}

/// Series of the structure chart: label, colour, value of a layer's statistics.
type StructureSeries = (&'static str, RGBColor, fn(&GraphStats) -> f64);

const STRUCTURE_SERIES: [StructureSeries; 5] = [
    ("nodes", RGBColor(68, 114, 196), |s| s.n_nodes as f64),
    ("components", RGBColor(221, 132, 82), |s| {
        s.n_components as f64
    }),
    ("branch nodes", RGBColor(85, 168, 104), |s| {
        s.n_branch_nodes as f64
    }),
    ("leaves", RGBColor(129, 114, 179), |s| s.n_leaves as f64),
    ("cycles", RGBColor(196, 78, 82), |s| s.n_cycles as f64),
];

/// Graph structure across layers (one x position per layer, in the network's order):
/// nodes, components, branch nodes, leaves and independent cycles.
pub fn structure_chart(layers: &[(String, GraphStats)]) -> ChartResult {
    let n = layers.len().max(1);
    let y_max = layers
        .iter()
        .flat_map(|(_, s)| STRUCTURE_SERIES.iter().map(move |(_, _, value)| value(s)))
        .fold(1.0, f64::max)
        * 1.6; // headroom above the lines for the legend
    let names: Vec<String> = layers
        .iter()
        .map(|(name, _)| short_layer_name(name))
        .collect();
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(6)
            .caption(
                format!("Graph structure across {} layers", layers.len()),
                (FONT, 16),
            )
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let idx = x.round();
                if (x - idx).abs() < 1e-6 && idx >= 0.0 {
                    names.get(idx as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc("count")
            .y_labels(5)
            .y_label_formatter(&|y| crate::format::thousands(y.round().max(0.0) as usize))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(err)?;
        for (label, colour, value) in STRUCTURE_SERIES {
            let points: Vec<(f64, f64)> = layers
                .iter()
                .enumerate()
                .map(|(idx, (_, s))| (idx as f64, value(s)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, colour.filled())),
                )
                .map_err(err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 11))
            .draw()
            .map_err(err)?;
        Ok(())
    })
}

/// The L2-norm distributions of all layers on one axis (the paper's Figure 8), one ridge
/// per layer, first layer at the top; each ridge scaled to its own peak.
pub fn layer_norms_chart(layers: &[LayerNorms]) -> ChartResult {
    let n = layers.len().max(1);
    let (lo, hi) = layers
        .first()
        .map(|l| (l.histogram.lower, l.histogram.upper))
        .unwrap_or((0.0, 1.0));
    let names: Vec<String> = layers.iter().map(|l| short_layer_name(&l.layer)).collect();
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(6)
            .caption("L2 norms of all layers", (FONT, 16))
            .x_label_area_size(30)
            .y_label_area_size(10)
            .build_cartesian_2d(lo..hi, -0.1f64..n as f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_desc("L2 norm")
            .x_labels(6)
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(err)?;
        for (idx, layer) in layers.iter().enumerate() {
            let baseline = (n - 1 - idx) as f64;
            let peak = layer
                .histogram
                .counts
                .iter()
                .copied()
                .max()
                .unwrap_or(0)
                .max(1) as f64;
            let width = layer.histogram.bin_width();
            let colour = Palette99::pick(idx).to_rgba();
            let ridge: Vec<(f64, f64)> = layer
                .histogram
                .counts
                .iter()
                .enumerate()
                .map(|(bin, &count)| {
                    (
                        layer.histogram.lower + (bin as f64 + 0.5) * width,
                        baseline + 0.9 * count as f64 / peak,
                    )
                })
                .collect();
            chart
                .draw_series(
                    AreaSeries::new(ridge, baseline, colour.mix(0.45))
                        .border_style(colour.stroke_width(1)),
                )
                .map_err(err)?;
        }
        // Each ridge's layer name, at its baseline on the right (ridges rise on the left
        // for early layers, whose norms are usually smaller).
        let name_at = hi - (hi - lo) * 0.01;
        chart
            .draw_series(names.iter().enumerate().map(|(idx, name)| {
                let style = TextStyle::from((FONT, 12).into_font())
                    .pos(Pos::new(HPos::Right, VPos::Bottom));
                Text::new(name.clone(), (name_at, (n - 1 - idx) as f64 + 0.05), style)
            }))
            .map_err(err)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use topoact_core::diagnostics::Histogram;

    fn lens() -> LensDiagnostics {
        LensDiagnostics {
            lens: "l2norm".into(),
            cover: "uniform".into(),
            histogram: Histogram {
                lower: 1.0,
                upper: 3.0,
                counts: vec![1, 4, 0, 2],
            },
            intervals: vec![[0.8, 1.6], [1.4, 2.2], [2.0, 2.8], [2.6, 3.4]],
            interval_sizes: vec![3, 4, 2, 2],
        }
    }

    fn rects(svg: &str) -> usize {
        svg.matches("<rect").count()
    }

    #[test]
    fn lens_chart_draws_a_bar_per_non_empty_bin_and_a_segment_per_interval() {
        let svg = lens_cover_chart(&lens()).expect("chart");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.contains("Lens (l2norm) and its uniform cover (4 intervals)"));
        // background + 3 bars + 4 intervals (+ plotting-area frame rectangles, if any)
        assert!(rects(&svg) >= 1 + 3 + 4, "{}", rects(&svg));
        let empty = LensDiagnostics {
            histogram: Histogram {
                lower: 2.0,
                upper: 2.0,
                counts: vec![0; 3],
            },
            intervals: vec![],
            ..lens()
        };
        assert!(lens_cover_chart(&empty).is_ok());
    }

    #[test]
    fn norm_chart_has_both_series_and_a_legend() {
        let d = NormDiagnostics {
            dim: 64,
            n_vectors: 10,
            n_random: 10,
            activation: Histogram {
                lower: 0.0,
                upper: 4.0,
                counts: vec![2, 5, 3, 0],
            },
            random: Histogram {
                lower: 0.0,
                upper: 4.0,
                counts: vec![0, 0, 10, 0],
            },
            activation_mean: 1.5,
            activation_std: 0.8,
            random_mean: 2.5,
            random_std: 0.1,
            zero_fraction: 0.3,
        };
        let svg = norm_chart(&d).expect("chart");
        assert!(svg.contains("64 dimensions"));
        assert!(
            svg.contains("\nrandom vectors\n") && svg.contains("\nlayer\n"),
            "legend labels"
        );
    }

    #[test]
    fn node_size_chart_labels_powers_of_two() {
        let stats = GraphStats {
            n_nodes: 9,
            n_edges: 0,
            n_components: 9,
            n_branch_nodes: 0,
            n_leaves: 0,
            n_cycles: 0,
            fraction_covered: 1.0,
            node_size_min: 1,
            node_size_max: 1500,
            node_size_mean: 100.0,
            node_size_median: 8.0,
            node_size_histogram: vec![1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 5],
        };
        let svg = node_size_chart(&stats).expect("chart");
        assert!(
            svg.contains("\n1,024\n"),
            "the 2^10 label is written with a thousands separator"
        );
        assert!(svg.contains("Node sizes (9 nodes)"));
    }

    #[test]
    fn structure_chart_names_every_layer_and_series() {
        let stats = |n_nodes| GraphStats {
            n_nodes,
            n_edges: 1,
            n_components: 2,
            n_branch_nodes: 1,
            n_leaves: 3,
            n_cycles: 0,
            fraction_covered: 0.5,
            node_size_min: 1,
            node_size_max: 9,
            node_size_mean: 3.0,
            node_size_median: 2.0,
            node_size_histogram: vec![1],
        };
        let layers = vec![
            ("block4".to_string(), stats(10)),
            ("<b>head</b>".to_string(), stats(40)),
        ];
        let svg = structure_chart(&layers).expect("chart");
        assert!(svg.contains("\nblock4\n"), "layer label");
        assert!(
            svg.contains("&lt;b&gt;head&lt;/b&gt;") && !svg.contains("<b>"),
            "names are escaped"
        );
        for (label, _, _) in STRUCTURE_SERIES {
            assert!(svg.contains(&format!("\n{label}\n")), "{label}");
        }
    }

    #[test]
    fn norms_chart_draws_one_ridge_per_layer() {
        let ridge = |layer: &str| LayerNorms {
            layer: layer.into(),
            dim: 8,
            histogram: Histogram {
                lower: 0.0,
                upper: 4.0,
                counts: vec![1, 3, 2],
            },
            mean: 2.0,
            std: 1.0,
            median: 2.0,
        };
        let svg = layer_norms_chart(&[ridge("a"), ridge("b"), ridge("c")]).expect("chart");
        assert!(svg.contains("\na\n") && svg.contains("\nc\n"));
        assert_eq!(svg.matches("<polygon").count(), 3, "{svg}");
    }
}
