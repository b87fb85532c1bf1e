//! What the projection view draws, as plain functions of the model and a projection: the
//! scene (points in world units, the sample -> point table, the hover grid), which points are
//! highlighted, their colours and legend, the class histogram of a selection.

use std::sync::Arc;

use super::graph_style::format_value;
use super::model::{AppModel, PointColour};
use crate::protocol::{DrawnProjection, SampleValues, SampleValuesOf};
use crate::render::colour::{class_slots, point_palette, viridis_rgba, OTHER_CLASSES};
use crate::render::scatter::{bounds, PointGrid, Rgba};

/// Projection coordinates are scaled into this world box so the camera's range fits any
/// method's units (t-SNE starts at 1e-4).
pub const WORLD_SIZE: f64 = 1000.0;

/// A value shared by memos, equal only to itself (recomputed values always notify; no
/// element-by-element comparison of 300,000 points).
#[derive(Debug)]
pub(super) struct Shared<T>(pub(super) Arc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

pub(super) fn shared<T>(value: T) -> Shared<T> {
    Shared(Arc::new(value))
}

/// Points of the projection on screen, in world units, with the lookup tables linking them
/// to samples.
pub(super) struct Scene {
    pub(super) coords: Vec<[f32; 2]>,
    pub(super) grid: Option<PointGrid>,
    /// Point index of every dataset sample (`u32::MAX`: not projected).
    pub(super) point_of_sample: Vec<u32>,
}

impl Scene {
    pub(super) fn new(projection: &DrawnProjection) -> Scene {
        let raw = projection.coords();
        let coords = match bounds(&raw) {
            Some([[x0, y0], [x1, y1]]) => {
                let scale = WORLD_SIZE / (x1 - x0).max(y1 - y0).max(1e-12);
                raw.iter()
                    .map(|p| {
                        [
                            ((p[0] as f64 - x0) * scale) as f32,
                            ((p[1] as f64 - y0) * scale) as f32,
                        ]
                    })
                    .collect()
            }
            None => raw,
        };
        let max_sample = projection
            .sample_indices
            .iter()
            .copied()
            .max()
            .map_or(0, |m| m as usize + 1);
        let mut point_of_sample = vec![u32::MAX; max_sample];
        for (point_idx, &sample_idx) in projection.sample_indices.iter().enumerate() {
            point_of_sample[sample_idx as usize] = point_idx as u32;
        }
        let grid = PointGrid::new(&coords, 8);
        Scene {
            coords,
            grid,
            point_of_sample,
        }
    }
}

/// Which points are highlighted: a sample and its nearest neighbours (while their list is
/// shown), else the selected node's members, else the projection selection, else the
/// highlighted classes; `None` when nothing is.
pub(super) fn highlighted_points(
    m: &AppModel,
    projection: &DrawnProjection,
    point_of_sample: &[u32],
) -> Option<Vec<bool>> {
    let n = projection.n_points();
    let from_samples = |samples: &[u32]| {
        let mut mask = vec![false; n];
        for &s in samples {
            if let Some(&p) = point_of_sample.get(s as usize) {
                if p != u32::MAX {
                    mask[p as usize] = true;
                }
            }
        }
        mask
    };
    if let Some((sample_idx, neighbours)) = m.shown_neighbours() {
        let mut samples: Vec<u32> = neighbours.iter().map(|n| n.sample_idx).collect();
        samples.push(sample_idx);
        return Some(from_samples(&samples));
    }
    if let Some(node) = m
        .focused_node()
        .and_then(|(graph, idx)| graph.nodes.get(idx))
    {
        return Some(from_samples(&node.members));
    }
    if !m.session.sample_selection.is_empty() {
        return Some(from_samples(&m.session.sample_selection));
    }
    if !m.session.highlighted_classes.is_empty() {
        return Some(
            projection
                .labels
                .iter()
                .map(|label| m.session.highlighted_classes.contains(label))
                .collect(),
        );
    }
    None
}

/// Colour of every point for the chosen encoding, and the legend entries (name, colour).
pub(super) fn point_colours(
    m: &AppModel,
    projection: &DrawnProjection,
    point_of_sample: &[u32],
    colour: PointColour,
) -> (Vec<Rgba>, Vec<(String, Rgba)>) {
    let n = projection.n_points();
    match colour {
        PointColour::Class => {
            let n_classes = m.dataset.as_ref().map_or(0, |d| d.classes.len());
            let mut counts = vec![0usize; n_classes];
            for &label in &projection.labels {
                if let Some(c) = counts.get_mut(label as usize) {
                    *c += 1;
                }
            }
            let palette = point_palette();
            let slots = class_slots(&counts, &m.session.highlighted_classes, palette.len());
            let colours = projection
                .labels
                .iter()
                .map(|&label| {
                    slots
                        .get(label as usize)
                        .copied()
                        .flatten()
                        .map_or(OTHER_CLASSES, |slot| palette[slot])
                })
                .collect();
            let names: Vec<String> = m
                .dataset
                .as_ref()
                .map(|d| d.classes.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            let mut legend: Vec<(usize, String, Rgba)> = slots
                .iter()
                .enumerate()
                .filter_map(|(class_idx, slot)| {
                    slot.map(|slot| {
                        (
                            slot,
                            names.get(class_idx).cloned().unwrap_or_default(),
                            palette[slot],
                        )
                    })
                })
                .collect();
            legend.sort_by_key(|(slot, _, _)| *slot);
            let mut legend: Vec<(String, Rgba)> = legend
                .into_iter()
                .map(|(_, name, colour)| (name, colour))
                .collect();
            if slots.iter().any(Option::is_none) || projection.labels.contains(&u32::MAX) {
                legend.push(("other classes".into(), OTHER_CLASSES));
            }
            (colours, legend)
        }
        PointColour::Lens => {
            // The graph's own lens values where it has them (its lens, its subsample);
            // otherwise (no graph yet, an imported graph) the L2 norm, TopoAct's default lens.
            let graph_lens = m.results.graph.as_ref().filter(|g| {
                !g.lens_by_sample.is_empty() && g.request.layer == projection.request.layer
            });
            let (values, name): (Vec<f32>, String) = match graph_lens {
                Some(graph) => (
                    projection
                        .sample_indices
                        .iter()
                        .map(|&s| {
                            graph
                                .lens_by_sample
                                .get(s as usize)
                                .copied()
                                .unwrap_or(f32::NAN)
                        })
                        .collect(),
                    graph.request.params.lens.name(),
                ),
                None => (projection.norms.clone(), "L2 norm".to_string()),
            };
            let (lo, hi) = values
                .iter()
                .filter(|v| v.is_finite())
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
            let span = (hi - lo).max(1e-12);
            let colours = values
                .iter()
                .map(|&v| {
                    if v.is_finite() {
                        viridis_rgba(((v - lo) / span) as f64)
                    } else {
                        OTHER_CLASSES
                    }
                })
                .collect();
            let mut legend = if lo.is_finite() {
                vec![
                    (format!("{name} {lo:.3}"), viridis_rgba(0.0)),
                    (format!("{hi:.3}"), viridis_rgba(1.0)),
                ]
            } else {
                Vec::new()
            };
            if values.iter().any(|v| !v.is_finite()) {
                legend.push(("not in the graph's subsample".into(), OTHER_CLASSES));
            }
            (colours, legend)
        }
        PointColour::Membership => {
            let mut colours = vec![OTHER_CLASSES; n];
            if let Some(graph) = &m.results.graph {
                let mut assigned = vec![false; n];
                for node in &graph.nodes {
                    let t = crate::render::colour::unit(node.lens_mean, graph.lens_range);
                    for &s in &node.members {
                        if let Some(&p) =
                            point_of_sample.get(s as usize).filter(|&&p| p != u32::MAX)
                        {
                            if !assigned[p as usize] {
                                assigned[p as usize] = true;
                                colours[p as usize] = viridis_rgba(t);
                            }
                        }
                    }
                }
            }
            (
                colours,
                vec![
                    ("in a node: its mean lens".into(), viridis_rgba(0.5)),
                    ("in no node".into(), OTHER_CLASSES),
                ],
            )
        }
        PointColour::Correctness | PointColour::Column(_) => {
            let wanted = m.wanted_sample_values();
            let values = m
                .results
                .sample_values
                .as_ref()
                .filter(|values| Some(&values.of) == wanted.as_ref());
            match values {
                Some(values) => sample_value_colours(projection, values),
                None => (
                    vec![OTHER_CLASSES; n],
                    vec![("values on their way…".into(), OTHER_CLASSES)],
                ),
            }
        }
    }
}

/// Colour of a point the network classifies right, and of one it gets wrong.
pub const RIGHT_POINT: Rgba = [190, 196, 204, 255];
pub const WRONG_POINT: Rgba = [214, 39, 40, 255];

/// Points coloured by one value per sample: a category's palette colour, or Viridis over the
/// values' range; grey where a sample has none.
fn sample_value_colours(
    projection: &DrawnProjection,
    values: &SampleValues,
) -> (Vec<Rgba>, Vec<(String, Rgba)>) {
    let by_sample = values.values();
    let of_point: Vec<f32> = projection
        .sample_indices
        .iter()
        .map(|&s| by_sample.get(s as usize).copied().unwrap_or(f32::NAN))
        .collect();
    let missing = of_point.iter().any(|v| !v.is_finite());
    let (colours, mut legend): (Vec<Rgba>, Vec<(String, Rgba)>) =
        if values.of == SampleValuesOf::Correctness {
            let colours = of_point
                .iter()
                .map(|&v| match v {
                    0.0 => RIGHT_POINT,
                    1.0 => WRONG_POINT,
                    _ => OTHER_CLASSES,
                })
                .collect();
            let n_wrong = of_point.iter().filter(|&&v| v == 1.0).count();
            (
                colours,
                vec![
                    ("right".into(), RIGHT_POINT),
                    (
                        format!("wrong ({n_wrong} of {})", of_point.len()),
                        WRONG_POINT,
                    ),
                ],
            )
        } else if values.categories.is_empty() {
            let (lo, hi) = values.range.unwrap_or((0.0, 1.0));
            let colours = of_point
                .iter()
                .map(|&v| {
                    if v.is_finite() {
                        viridis_rgba(crate::render::colour::unit(v as f64, [lo, hi]))
                    } else {
                        OTHER_CLASSES
                    }
                })
                .collect();
            let name = match &values.of {
                SampleValuesOf::Column(name) => name.clone(),
                SampleValuesOf::Correctness => String::new(),
            };
            (
                colours,
                vec![
                    (format!("{name} {}", format_value(lo)), viridis_rgba(0.0)),
                    (format_value(hi), viridis_rgba(1.0)),
                ],
            )
        } else {
            let palette = point_palette();
            let last = palette.len() - 1;
            let colours = of_point
                .iter()
                .map(|&v| {
                    if v.is_finite() {
                        palette[(v as usize).min(last)]
                    } else {
                        OTHER_CLASSES
                    }
                })
                .collect();
            let legend = values
                .categories
                .iter()
                .take(palette.len())
                .enumerate()
                .map(|(idx, name)| (name.clone(), palette[idx]))
                .collect();
            (colours, legend)
        };
    if missing {
        legend.push(("no value".into(), OTHER_CLASSES));
    }
    (colours, legend)
}

pub(super) fn rgba_css(c: Rgba) -> String {
    format!("rgb({}, {}, {})", c[0], c[1], c[2])
}

/// `(class_idx, count)` of the selected samples, most frequent first (ties: lower index);
/// unlabelled samples are left out.
pub fn selection_histogram(projection: &DrawnProjection, samples: &[u32]) -> Vec<(u32, usize)> {
    let mut label_of_sample = std::collections::HashMap::with_capacity(projection.n_points());
    for (p, &s) in projection.sample_indices.iter().enumerate() {
        label_of_sample.insert(s, projection.labels[p]);
    }
    let mut counts: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
    for s in samples {
        if let Some(&label) = label_of_sample.get(s).filter(|&&l| l != u32::MAX) {
            *counts.entry(label).or_default() += 1;
        }
    }
    let mut histogram: Vec<(u32, usize)> = counts.into_iter().collect();
    histogram.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    histogram
}
