//! Charts of the diagnostics panel, drawn with plotters into SVG strings: the lens histogram
//! with the cover's intervals over it, the L2 norms of a layer against random vectors, and
//! the node-size distribution.
//!
//! Pure functions of their inputs (no DOM access except plotters' text measuring on wasm,
//! which needs the UI thread's document); the result is inserted as markup that plotters
//! escapes itself (titles and labels here are ours, never user text).

use plotters::coord::Shift;
use plotters::prelude::*;
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

fn render(draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>) -> ChartResult {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (CHART_WIDTH, CHART_HEIGHT)).into_drawing_area();
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
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, lo + 0.5) };
    let band = max_count * 0.08;
    let y_top = max_count * 1.1 + band * INTERVAL_ROWS as f64;
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(6)
            .caption(format!("Lens ({}) and its {} cover ({} intervals)", d.lens, d.cover, d.intervals.len()), (FONT, 16))
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
            .draw_series(h.counts.iter().enumerate().filter(|(_, &c)| c > 0).map(|(bin, &count)| {
                let x0 = h.lower + bin as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, count as f64)], BAR.mix(0.75).filled())
            }))
            .map_err(err)?;
        let base = max_count * 1.1;
        chart
            .draw_series(d.intervals.iter().enumerate().map(|(idx, interval)| {
                let y = base + band * (idx % INTERVAL_ROWS) as f64 + band * 0.2;
                Rectangle::new([(interval[0], y), (interval[1], y + band * 0.55)], INTERVAL.mix(0.55).filled())
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
    let y_max = activation.iter().chain(&random).copied().fold(0.0, f64::max).max(1e-9) * 1.1;
    let (lo, hi) = (d.activation.lower, d.activation.upper);
    let width = d.activation.bin_width();
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(6)
            .caption(format!("L2 norms, {} dimensions: layer vs random vectors", d.dim), (FONT, 16))
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
        for (values, colour, label) in [(&activation, BAR, "layer"), (&random, RANDOM, "random vectors")] {
            chart
                .draw_series(values.iter().enumerate().filter(|(_, &v)| v > 0.0).map(|(bin, &v)| {
                    let x0 = lo + bin as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width, v)], colour.mix(0.55).filled())
                }))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.mix(0.55).filled()));
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
                if (x - b).abs() < 1e-6 && b >= 0.0 && b < 63.0 {
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
            .draw_series(bins.iter().enumerate().filter(|(_, &c)| c > 0).map(|(bin, &count)| {
                Rectangle::new([(bin as f64 + 0.08, 0.0), (bin as f64 + 0.92, count as f64)], BAR.mix(0.75).filled())
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
            histogram: Histogram { lower: 1.0, upper: 3.0, counts: vec![1, 4, 0, 2] },
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
        let empty = LensDiagnostics { histogram: Histogram { lower: 2.0, upper: 2.0, counts: vec![0; 3] }, intervals: vec![], ..lens() };
        assert!(lens_cover_chart(&empty).is_ok());
    }

    #[test]
    fn norm_chart_has_both_series_and_a_legend() {
        let d = NormDiagnostics {
            dim: 64,
            n_vectors: 10,
            n_random: 10,
            activation: Histogram { lower: 0.0, upper: 4.0, counts: vec![2, 5, 3, 0] },
            random: Histogram { lower: 0.0, upper: 4.0, counts: vec![0, 0, 10, 0] },
            activation_mean: 1.5,
            activation_std: 0.8,
            random_mean: 2.5,
            random_std: 0.1,
            zero_fraction: 0.3,
        };
        let svg = norm_chart(&d).expect("chart");
        assert!(svg.contains("64 dimensions"));
        assert!(svg.contains("\nrandom vectors\n") && svg.contains("\nlayer\n"), "legend labels");
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
        assert!(svg.contains("\n1,024\n"), "the 2^10 label is written with a thousands separator");
        assert!(svg.contains("Node sizes (9 nodes)"));
    }
}
