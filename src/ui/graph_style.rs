//! How a graph's nodes and links look, shared by the graph view and its exports (so neither
//! imports the other): each node's fill for the chosen encoding, and the legend that reads
//! it.

use topoact_core::columns::{ColumnKind, ColumnSummary, NodeColumnStat};

use super::model::{AppModel, ColourBy};
use crate::protocol::{DrawnGraph, DrawnNode};
use crate::render::colour::{class_colour, unit, viridis};

/// Fill of nodes with no value for the encoding (a column none of its members has).
pub const NO_VALUE_FILL: &str = "#9aa0a6";

/// Categories named in a categorical legend: the palette's ten colours (the rest share the
/// last).
pub const LEGEND_CATEGORIES: usize = 10;

/// What a graph's colours mean.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphLegend {
    /// E.g. "Mean lens (l2norm)", "confidence (node mean)".
    pub title: String,
    pub scale: LegendScale,
}

/// A legend's scale.
#[derive(Clone, Debug, PartialEq)]
pub enum LegendScale {
    /// Viridis from `lo` to `hi` (as shown).
    Sequential { lo: String, hi: String },
    /// One swatch per category: (name, colour).
    Categorical(Vec<(String, String)>),
}

/// How nodes are coloured: the encoding and what it needs of the loaded data.
#[derive(Clone, Copy)]
pub struct NodeColouring<'a> {
    pub colour_by: ColourBy,
    /// The loaded data's columns (empty for an imported graph on its own).
    pub columns: &'a [ColumnSummary],
}

impl<'a> NodeColouring<'a> {
    /// The session's node colouring over the loaded data.
    pub fn of(model: &'a AppModel) -> Self {
        NodeColouring {
            colour_by: model.colour_by(),
            columns: model
                .dataset
                .as_ref()
                .map(|d| d.columns.as_slice())
                .unwrap_or_default(),
        }
    }

    /// Fill of `node` of `graph`.
    pub fn fill(&self, graph: &DrawnGraph, node: &DrawnNode) -> String {
        match self.colour_by {
            ColourBy::MeanLens => viridis(unit(node.lens_mean, graph.lens_range)),
            ColourBy::DominantClass => node
                .top_classes
                .first()
                .map(|share| class_colour(share.class_idx))
                .unwrap_or_else(|| NO_VALUE_FILL.into()),
            ColourBy::Purity => viridis(
                node.top_classes
                    .first()
                    .map(|share| share.fraction)
                    .unwrap_or(0.0),
            ),
            ColourBy::Size => {
                let max_size = max_node_size(graph).max(2) as f64;
                viridis((node.size.max(1) as f64).ln() / max_size.ln())
            }
            ColourBy::ErrorRate => match &node.mistakes {
                Some(mistakes) if mistakes.n_judged > 0 => {
                    viridis(unit(mistakes.error_rate, [0.0, error_scale_max(graph)]))
                }
                _ => NO_VALUE_FILL.into(),
            },
            ColourBy::Column(column_idx) => match node.columns.get(column_idx) {
                Some(NodeColumnStat::Numeric { mean, .. }) if mean.is_finite() => {
                    let (lo, hi) = self.column_range(column_idx);
                    viridis(unit(*mean, [lo, hi]))
                }
                Some(NodeColumnStat::Categorical { category_idx, .. }) => {
                    class_colour((*category_idx).min(LEGEND_CATEGORIES - 1) as u32)
                }
                _ => NO_VALUE_FILL.into(),
            },
        }
    }

    fn column_range(&self, column_idx: usize) -> (f64, f64) {
        self.columns
            .get(column_idx)
            .and_then(|column| column.range)
            .unwrap_or((0.0, 1.0))
    }

    /// The legend of `graph` coloured this way (`lens_name` names the lens, e.g. "l2norm").
    pub fn legend(&self, graph: Option<&DrawnGraph>, lens_name: &str) -> GraphLegend {
        let sequential = |title: String, lo: String, hi: String| GraphLegend {
            title,
            scale: LegendScale::Sequential { lo, hi },
        };
        match self.colour_by {
            ColourBy::MeanLens => {
                let range = graph.map(|g| g.lens_range).unwrap_or([0.0, 1.0]);
                sequential(
                    format!("Mean lens ({lens_name})"),
                    format!("{:.3}", range[0]),
                    format!("{:.3}", range[1]),
                )
            }
            ColourBy::Purity => sequential(
                "Share of the top class".into(),
                "0 %".into(),
                "100 %".into(),
            ),
            ColourBy::Size => sequential(
                "Member count (log)".into(),
                "1".into(),
                graph.map(max_node_size).unwrap_or(1).to_string(),
            ),
            ColourBy::ErrorRate => sequential(
                "Error rate (share of members misclassified)".into(),
                "0 %".into(),
                format!("{:.0} %", graph.map(error_scale_max).unwrap_or(1.0) * 100.0),
            ),
            ColourBy::DominantClass => GraphLegend {
                title: "Dominant class".into(),
                scale: LegendScale::Categorical(
                    graph
                        .map(|g| g.class_names.as_slice())
                        .unwrap_or_default()
                        .iter()
                        .take(LEGEND_CATEGORIES)
                        .enumerate()
                        .map(|(class_idx, name)| (name.clone(), class_colour(class_idx as u32)))
                        .collect(),
                ),
            },
            ColourBy::Column(column_idx) => {
                let Some(column) = self.columns.get(column_idx) else {
                    return sequential("Column".into(), String::new(), String::new());
                };
                match column.kind {
                    ColumnKind::Numeric => {
                        let (lo, hi) = self.column_range(column_idx);
                        sequential(
                            format!("{} (node mean)", column.name),
                            format_value(lo),
                            format_value(hi),
                        )
                    }
                    ColumnKind::Categorical => GraphLegend {
                        title: format!("{} (node majority)", column.name),
                        scale: LegendScale::Categorical(categorical_swatches(&column.categories)),
                    },
                }
            }
        }
    }
}

/// Swatches of a categorical column: the first categories by name, the rest as "other".
pub fn categorical_swatches(categories: &[String]) -> Vec<(String, String)> {
    let mut swatches: Vec<(String, String)> = categories
        .iter()
        .take(LEGEND_CATEGORIES - 1)
        .enumerate()
        .map(|(idx, name)| (name.clone(), class_colour(idx as u32)))
        .collect();
    match categories.len() {
        n if n == LEGEND_CATEGORIES => swatches.push((
            categories[LEGEND_CATEGORIES - 1].clone(),
            class_colour(LEGEND_CATEGORIES as u32 - 1),
        )),
        n if n > LEGEND_CATEGORIES => swatches.push((
            format!("{} others", n - (LEGEND_CATEGORIES - 1)),
            class_colour(LEGEND_CATEGORIES as u32 - 1),
        )),
        _ => {}
    }
    swatches
}

/// A column value as a legend shows it: short, without trailing noise.
pub fn format_value(value: f64) -> String {
    if value == value.trunc() && value.abs() < 1e9 {
        format!("{value:.0}")
    } else if value.abs() >= 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

fn max_node_size(graph: &DrawnGraph) -> usize {
    graph.nodes.iter().map(|n| n.size).max().unwrap_or(1)
}

/// The top of the error-rate scale: the highest node error rate, rounded up to 10 %, so a
/// graph with few mistakes still shows them apart (at least 10 %).
pub fn error_scale_max(graph: &DrawnGraph) -> f64 {
    let highest = graph
        .nodes
        .iter()
        .filter_map(|node| node.mistakes.as_ref())
        .filter(|mistakes| mistakes.n_judged > 0)
        .map(|mistakes| mistakes.error_rate)
        .fold(0.0f64, f64::max);
    ((highest * 10.0).ceil() / 10.0).clamp(0.1, 1.0)
}

/// Link stroke width in screen pixels for a Jaccard index (TopoAct: linear in [1, 10]; we
/// keep it thinner so dense graphs stay legible).
pub fn link_width(jaccard: f64) -> f64 {
    1.0 + 5.0 * jaccard.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_width_grows_with_jaccard() {
        assert_eq!(link_width(0.0), 1.0);
        assert_eq!(link_width(1.0), 6.0);
        assert_eq!(link_width(7.0), 6.0);
    }

    #[test]
    fn categorical_swatches_name_the_first_categories_and_count_the_rest() {
        let few: Vec<String> = (0..3).map(|i| format!("c{i}")).collect();
        assert_eq!(categorical_swatches(&few).len(), 3);
        let many: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
        let swatches = categorical_swatches(&many);
        assert_eq!(swatches.len(), LEGEND_CATEGORIES);
        assert_eq!(swatches.last().map(|s| s.0.as_str()), Some("11 others"));
    }

    #[test]
    fn values_are_shown_short() {
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(0.123456), "0.123");
        assert_eq!(format_value(1234.56), "1234.6");
    }
}
