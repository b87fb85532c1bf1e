//! How a graph's nodes and links look, shared by the graph view and its exports (so neither
//! imports the other).

use super::model::ColourBy;
use crate::protocol::{DrawnGraph, DrawnNode};
use crate::render::colour::{class_colour, unit, viridis};

/// Fill of `node` for the chosen encoding.
pub fn node_fill(graph: &DrawnGraph, node: &DrawnNode, colour_by: ColourBy) -> String {
    match colour_by {
        ColourBy::MeanLens => viridis(unit(node.lens_mean, graph.lens_range)),
        ColourBy::DominantClass => node
            .top_classes
            .first()
            .map(|share| class_colour(share.class_idx))
            .unwrap_or_else(|| "#9aa0a6".into()),
        ColourBy::Purity => viridis(
            node.top_classes
                .first()
                .map(|share| share.fraction)
                .unwrap_or(0.0),
        ),
        ColourBy::Size => {
            let max_size = graph.nodes.iter().map(|n| n.size).max().unwrap_or(1).max(2) as f64;
            viridis((node.size.max(1) as f64).ln() / max_size.ln())
        }
    }
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
}
