//! What node and point colours encode. The fixed encodings (lens, class, ...) are always
//! offered; the loaded data adds its own: the error rate when it holds labels and
//! predictions, and one encoding per per-sample column (`confidence`, `loss`, `split`).
//!
//! In the session (and so in the link) an encoding is a key: `lens`, `class`, `purity`,
//! `size`, `errors`, or `column:<name>` for a column, named rather than numbered so a link
//! means the same column whatever order a file lists them in.

use topoact_core::columns::ColumnSummary;
use topoact_core::dataset::DatasetSummary;

/// The key prefix of a column's encoding.
const COLUMN_KEY_PREFIX: &str = "column:";

/// The quantity node colour encodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColourBy {
    /// Mean lens value of the node's members (TopoAct's default).
    #[default]
    MeanLens,
    /// The node's most frequent class.
    DominantClass,
    /// The share of the most frequent class.
    Purity,
    /// Member count (log scale).
    Size,
    /// The share of members the network misclassifies (labels and predictions needed).
    ErrorRate,
    /// A per-sample column, by its index in the dataset's columns: the node's mean (numbers)
    /// or its majority category.
    Column(usize),
}

/// What the colour of a projected point shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PointColour {
    /// The point's class (a palette of distinguishable colours; highlighted or most frequent
    /// classes first, the rest grey).
    #[default]
    Class,
    /// The point's L2 norm (the default lens).
    Lens,
    /// The mean lens of the first graph node containing the point; grey when no node does.
    Membership,
    /// Whether the network classifies the sample right (labels and predictions needed).
    Correctness,
    /// A per-sample column's value, by its index in the dataset's columns.
    Column(usize),
}

fn columns(dataset: Option<&DatasetSummary>) -> &[ColumnSummary] {
    dataset.map(|d| d.columns.as_slice()).unwrap_or_default()
}

fn judged(dataset: Option<&DatasetSummary>) -> bool {
    dataset.is_some_and(|d| d.has_labels && d.has_predictions)
}

fn column_key(dataset: Option<&DatasetSummary>, column_idx: usize) -> String {
    let name = columns(dataset)
        .get(column_idx)
        .map(|c| c.name.as_str())
        .unwrap_or_default();
    format!("{COLUMN_KEY_PREFIX}{name}")
}

fn column_from_key(key: &str, dataset: Option<&DatasetSummary>) -> Option<usize> {
    let name = key.strip_prefix(COLUMN_KEY_PREFIX)?;
    columns(dataset).iter().position(|c| c.name == name)
}

fn column_label(dataset: Option<&DatasetSummary>, column_idx: usize) -> String {
    columns(dataset)
        .get(column_idx)
        .map(|c| c.name.clone())
        .unwrap_or_else(|| "column".into())
}

impl ColourBy {
    /// The encodings offered for `dataset`, in menu order.
    pub fn choices(dataset: Option<&DatasetSummary>) -> Vec<ColourBy> {
        let mut choices = vec![
            ColourBy::MeanLens,
            ColourBy::DominantClass,
            ColourBy::Purity,
            ColourBy::Size,
        ];
        if judged(dataset) {
            choices.push(ColourBy::ErrorRate);
        }
        choices.extend((0..columns(dataset).len()).map(ColourBy::Column));
        choices
    }

    /// The session's key of the encoding.
    pub fn key(self, dataset: Option<&DatasetSummary>) -> String {
        match self {
            ColourBy::MeanLens => "lens".into(),
            ColourBy::DominantClass => "class".into(),
            ColourBy::Purity => "purity".into(),
            ColourBy::Size => "size".into(),
            ColourBy::ErrorRate => "errors".into(),
            ColourBy::Column(column_idx) => column_key(dataset, column_idx),
        }
    }

    /// The menu's name of the encoding.
    pub fn label(self, dataset: Option<&DatasetSummary>) -> String {
        match self {
            ColourBy::MeanLens => "Mean lens".into(),
            ColourBy::DominantClass => "Dominant class".into(),
            ColourBy::Purity => "Class purity".into(),
            ColourBy::Size => "Node size".into(),
            ColourBy::ErrorRate => "Error rate".into(),
            ColourBy::Column(column_idx) => {
                format!("Column: {}", column_label(dataset, column_idx))
            }
        }
    }

    /// The encoding a key names, when `dataset` offers it.
    pub fn from_key(key: &str, dataset: Option<&DatasetSummary>) -> Option<Self> {
        if let Some(column_idx) = column_from_key(key, dataset) {
            return Some(ColourBy::Column(column_idx));
        }
        Self::choices(dataset).into_iter().find(|colour_by| {
            !matches!(colour_by, ColourBy::Column(_)) && colour_by.key(dataset) == key
        })
    }
}

impl PointColour {
    /// The encodings offered for `dataset`, in menu order.
    pub fn choices(dataset: Option<&DatasetSummary>) -> Vec<PointColour> {
        let mut choices = vec![
            PointColour::Class,
            PointColour::Lens,
            PointColour::Membership,
        ];
        if judged(dataset) {
            choices.push(PointColour::Correctness);
        }
        choices.extend((0..columns(dataset).len()).map(PointColour::Column));
        choices
    }

    /// The session's key of the encoding.
    pub fn key(self, dataset: Option<&DatasetSummary>) -> String {
        match self {
            PointColour::Class => "class".into(),
            PointColour::Lens => "lens".into(),
            PointColour::Membership => "membership".into(),
            PointColour::Correctness => "errors".into(),
            PointColour::Column(column_idx) => column_key(dataset, column_idx),
        }
    }

    /// The menu's name of the encoding.
    pub fn label(self, dataset: Option<&DatasetSummary>) -> String {
        match self {
            PointColour::Class => "Class".into(),
            PointColour::Lens => "Lens value".into(),
            PointColour::Membership => "Node membership".into(),
            PointColour::Correctness => "Right or wrong".into(),
            PointColour::Column(column_idx) => {
                format!("Column: {}", column_label(dataset, column_idx))
            }
        }
    }

    /// The encoding a key names, when `dataset` offers it.
    pub fn from_key(key: &str, dataset: Option<&DatasetSummary>) -> Option<Self> {
        if let Some(column_idx) = column_from_key(key, dataset) {
            return Some(PointColour::Column(column_idx));
        }
        Self::choices(dataset)
            .into_iter()
            .find(|colour| !matches!(colour, PointColour::Column(_)) && colour.key(dataset) == key)
    }

    /// The column whose per-sample values the projection needs from the worker, if any.
    pub fn column_needed(self, dataset: Option<&DatasetSummary>) -> Option<String> {
        match self {
            PointColour::Column(column_idx) => {
                columns(dataset).get(column_idx).map(|c| c.name.clone())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use topoact_core::columns::ColumnKind;

    fn dataset_with(columns: &[&str], predictions: bool) -> DatasetSummary {
        let mut dataset: DatasetSummary = serde_json::from_value(serde_json::json!({
            "name": "d", "n_samples": 3, "layers": [], "classes": [], "has_labels": true,
            "has_images": false, "image_shape": null, "activation_image_layers": [],
            "projections": [], "meta": null, "notices": []
        }))
        .expect("a summary");
        dataset.has_predictions = predictions;
        dataset.columns = columns
            .iter()
            .map(|name| ColumnSummary {
                name: name.to_string(),
                kind: ColumnKind::Numeric,
                categories: vec![],
                range: Some((0.0, 1.0)),
                n_missing: 0,
            })
            .collect();
        dataset
    }

    #[test]
    fn every_offered_encoding_round_trips_through_its_key() {
        let dataset = dataset_with(&["confidence", "split", "class"], true);
        for choice in ColourBy::choices(Some(&dataset)) {
            assert_eq!(
                ColourBy::from_key(&choice.key(Some(&dataset)), Some(&dataset)),
                Some(choice)
            );
        }
        for choice in PointColour::choices(Some(&dataset)) {
            assert_eq!(
                PointColour::from_key(&choice.key(Some(&dataset)), Some(&dataset)),
                Some(choice)
            );
        }
        // A column named like a fixed encoding keeps its own key.
        assert_eq!(ColourBy::Column(2).key(Some(&dataset)), "column:class");
        assert_eq!(
            ColourBy::from_key("class", Some(&dataset)),
            Some(ColourBy::DominantClass)
        );
    }

    #[test]
    fn encodings_the_data_cannot_give_are_not_offered() {
        let dataset = dataset_with(&[], false);
        assert!(!ColourBy::choices(Some(&dataset)).contains(&ColourBy::ErrorRate));
        assert_eq!(ColourBy::from_key("errors", Some(&dataset)), None);
        assert_eq!(
            ColourBy::from_key("column:confidence", Some(&dataset)),
            None
        );
        assert_eq!(PointColour::from_key("errors", None), None);
        assert_eq!(ColourBy::from_key("size", None), Some(ColourBy::Size));
    }
}
