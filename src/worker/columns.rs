//! What the worker answers about per-sample columns and predictions: each node's column
//! statistics and mistakes, a column's value for every sample (point colours), and a
//! sample's exact nearest neighbours in a layer.

use topoact_core::columns::{correctness, nearest_neighbours, node_mistakes};

use super::state::{self, with_dataset};
use crate::format::csv_field;
use crate::protocol::{
    DrawnGraph, FromWorker, RequestId, SampleNeighbour, SampleValues, SampleValuesOf, WorkerError,
};

/// Most neighbours listed for one sample.
const MAX_NEIGHBOURS: usize = 100;

/// Adds each node's column statistics and mistakes (labels against predictions), from the
/// loaded dataset.
pub(super) fn annotate_with_columns(drawn: &mut DrawnGraph) -> Result<(), WorkerError> {
    with_dataset(|dataset| {
        let judged = dataset
            .labels
            .as_deref()
            .zip(dataset.predictions.as_deref());
        // Each column's categories sort the whole column: once per column, not per node.
        let categories: Vec<Option<Vec<String>>> = dataset
            .columns
            .iter()
            .map(|column| column.categories())
            .collect();
        for node in &mut drawn.nodes {
            let members: Vec<usize> = node.members.iter().map(|&m| m as usize).collect();
            node.columns = dataset
                .columns
                .iter()
                .zip(&categories)
                .map(|(column, categories)| column.node_stat_in(categories.as_deref(), &members))
                .collect();
            node.mistakes =
                judged.map(|(labels, predictions)| node_mistakes(labels, predictions, &members));
        }
        Ok(())
    })
}

/// `Neighbours`: a sample's exact nearest neighbours in a layer, with their labels.
pub(super) fn neighbours(
    request_id: RequestId,
    layer_name: &str,
    sample_idx: u32,
    k: usize,
) -> Result<FromWorker, WorkerError> {
    with_dataset(|dataset| {
        let layer = state::layer(dataset, layer_name)?;
        let found = nearest_neighbours(
            &layer.activations,
            sample_idx as usize,
            k.min(MAX_NEIGHBOURS),
        )
        .ok_or(WorkerError::NoSuchSample { sample_idx })?;
        Ok(FromWorker::Neighbours {
            request_id,
            layer: layer_name.to_string(),
            sample_idx,
            neighbours: found
                .into_iter()
                .map(|neighbour| SampleNeighbour {
                    sample_idx: neighbour.sample_idx as u32,
                    distance: neighbour.distance,
                    label: dataset
                        .labels
                        .as_ref()
                        .and_then(|labels| labels.get(neighbour.sample_idx).copied())
                        .filter(|&label| label != u32::MAX),
                    thumbnail: super::images::thumbnail_of(dataset, neighbour.sample_idx),
                })
                .collect(),
        })
    })
}

/// `SampleValues`: a column's value (or right / wrong) for every sample.
pub(super) fn sample_values(
    request_id: RequestId,
    of: SampleValuesOf,
) -> Result<FromWorker, WorkerError> {
    with_dataset(|dataset| {
        let (categories, range, values) = match &of {
            SampleValuesOf::Column(name) => {
                let column = dataset
                    .columns
                    .iter()
                    .find(|column| column.name == *name)
                    .ok_or_else(|| WorkerError::NoSuchColumn { name: name.clone() })?;
                let categories = column.categories();
                let values = column.per_sample_codes(categories.as_deref());
                (
                    categories.unwrap_or_default(),
                    column.summary().range,
                    values,
                )
            }
            SampleValuesOf::Correctness => {
                let (Some(labels), Some(predictions)) =
                    (dataset.labels.as_deref(), dataset.predictions.as_deref())
                else {
                    return Err(WorkerError::NoPredictions);
                };
                let categories = vec!["right".to_string(), "wrong".to_string()];
                (categories, None, correctness(labels, predictions))
            }
        };
        Ok(FromWorker::SampleValues {
            request_id,
            values: SampleValues {
                of,
                categories,
                range,
                values_le: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            },
        })
    })
}

/// `ExportSamples`: one CSV row per sample: `sample_idx,label,x,y,class`, then (with
/// predictions) `prediction,predicted_class`, then one field per column. Text is escaped
/// (and defused for spreadsheets) by [`csv_field`].
pub(super) fn samples_csv(samples: &[u32], coords: &[[f32; 2]]) -> Result<String, WorkerError> {
    with_dataset(|dataset| {
        let class_name = |class_idx: u32| {
            dataset
                .class_names
                .get(class_idx as usize)
                .map(|name| csv_field(name))
                .unwrap_or_default()
        };
        let index = |value: Option<u32>| {
            value
                .filter(|&v| v != u32::MAX)
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        let mut header = String::from("sample_idx,label,x,y,class");
        if dataset.predictions.is_some() {
            header.push_str(",prediction,predicted_class");
        }
        for column in &dataset.columns {
            header.push(',');
            header.push_str(&csv_field(&column.name));
        }
        let mut csv = header + "\n";
        for (row, &sample_idx) in samples.iter().enumerate() {
            let s = sample_idx as usize;
            if s >= dataset.n_samples() {
                return Err(WorkerError::NoSuchSample { sample_idx });
            }
            let label = dataset.labels.as_ref().and_then(|l| l.get(s).copied());
            let [x, y] = coords.get(row).copied().unwrap_or([f32::NAN; 2]);
            csv.push_str(&format!(
                "{sample_idx},{},{x},{y},{}",
                index(label),
                label
                    .filter(|&l| l != u32::MAX)
                    .map(class_name)
                    .unwrap_or_default()
            ));
            if let Some(predictions) = &dataset.predictions {
                let prediction = predictions.get(s).copied();
                csv.push_str(&format!(
                    ",{},{}",
                    index(prediction),
                    prediction
                        .filter(|&p| p != u32::MAX)
                        .map(class_name)
                        .unwrap_or_default()
                ));
            }
            for column in &dataset.columns {
                csv.push(',');
                csv.push_str(&csv_field(&column.text(s)));
            }
            csv.push('\n');
        }
        Ok(csv)
    })
}
