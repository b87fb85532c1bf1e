//! "Export projection (CSV)": every point of the finished projection on screen, one row per
//! point in the projection's own order: `sample_idx,label,x,y,class` (the columns of "Export
//! highlighted (CSV)", for all points). The coordinates are written in the shortest form that
//! reads back to the same f32, so two exports compare bit for bit (the e2e peer checks compare
//! the multi-threaded and single-threaded builds with it).

use leptos::prelude::*;

use super::context::use_ui;
use super::export::{csv_field, download_text};
use crate::protocol::DrawnProjection;

/// The CSV of every point of `projection`; `class_names` name the labels.
pub fn projection_csv(projection: &DrawnProjection, class_names: &[String]) -> String {
    let coords = projection.coords();
    let mut csv = String::with_capacity(32 * coords.len() + 32);
    csv.push_str("sample_idx,label,x,y,class\n");
    for (point, [x, y]) in coords.iter().enumerate() {
        let label = projection.labels.get(point).copied().unwrap_or(u32::MAX);
        let (label_text, class) = if label == u32::MAX {
            (String::new(), String::new())
        } else {
            (
                label.to_string(),
                class_names
                    .get(label as usize)
                    .map(|name| csv_field(name))
                    .unwrap_or_default(),
            )
        };
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
            projection.sample_indices[point], label_text, x, y, class
        ));
    }
    csv
}

/// The file name of a projection's export: `<layer>-<method>-projection.csv`.
pub fn projection_file_name(projection: &DrawnProjection) -> String {
    use crate::protocol::ProjectionMethod;
    let method = match projection.request.method {
        ProjectionMethod::Tsne { .. } => "tsne",
        ProjectionMethod::Umap { .. } => "umap",
        ProjectionMethod::Precomputed { .. } => "file",
    };
    format!(
        "{}-{method}-projection.csv",
        super::graph_view::file_stem(&projection.request.layer)
    )
}

/// The button: enabled once a projection is complete (never an intermediate frame).
#[component]
pub fn ExportProjectionCsv() -> impl IntoView {
    let ui = use_ui();
    let complete = ui.select(|m| m.results.projection.as_ref().is_some_and(|p| p.complete));
    let on_click = move |_| {
        let file = ui.read_untracked(|m| {
            let projection = m.results.projection.as_ref().filter(|p| p.complete)?;
            let class_names = m
                .dataset
                .as_ref()
                .map(|d| d.classes.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
                .unwrap_or_default();
            Some((
                projection_file_name(projection),
                projection_csv(projection, &class_names),
            ))
        });
        if let Some((name, csv)) = file {
            download_text(&name, "text/csv", &csv);
        }
    };
    view! {
        <button class="button" data-testid="export-projection-csv"
            title="Download every point's sample index, label and coordinates as CSV"
            disabled=move || !complete.get() on:click=on_click
        >"Export projection (CSV)"</button>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{coords_to_le_bytes, ProjectionMethod};
    use crate::vocabulary::{ProjectionRequest, SubsampleChoice};

    fn projection() -> DrawnProjection {
        DrawnProjection {
            request: ProjectionRequest {
                layer: "act_block4".into(),
                subsample: SubsampleChoice::default(),
                method: ProjectionMethod::DEFAULT_TSNE,
                seed: 0,
            },
            sample_indices: vec![7, 2, 5],
            labels: vec![1, u32::MAX, 0],
            coords_le: coords_to_le_bytes(&[0.1, -2.5, 1e-7, 3.0, -0.0, 123456.79]),
            norms: vec![1.0; 3],
            complete: true,
            stage: String::new(),
            knn_ms: 0.0,
            elapsed_ms: 0.0,
            knn_exact: true,
        }
    }

    #[test]
    fn every_point_in_order_with_exact_coordinates() {
        let names = ["Bag, small".to_string(), "=Coat".to_string()];
        let csv = projection_csv(&projection(), &names);
        assert_eq!(
            csv,
            "sample_idx,label,x,y,class\n\
             7,1,0.1,-2.5,'=Coat\n\
             2,,0.0000001,3,\n\
             5,0,-0,123456.79,\"Bag, small\"\n"
        );
        // Every coordinate reads back to the same f32.
        let p = projection();
        for (row, [x, y]) in csv.lines().skip(1).zip(p.coords()) {
            let fields: Vec<&str> = row.split(',').collect();
            assert_eq!(fields[2].parse::<f32>().unwrap().to_bits(), x.to_bits());
            assert_eq!(fields[3].parse::<f32>().unwrap().to_bits(), y.to_bits());
        }
    }

    #[test]
    fn file_name_names_layer_and_method() {
        assert_eq!(
            projection_file_name(&projection()),
            "topoact-act_block4-tsne-projection.csv"
        );
    }
}
