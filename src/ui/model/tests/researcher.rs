//! What a researcher asks next: neighbours of a sample, colours by a column or by mistakes,
//! nodes highlighted for their mistakes. Each is session state (so the link carries it);
//! the worker requests follow from it once.

use super::*;
use crate::protocol::{SampleNeighbour, SampleValues, SampleValuesOf};
use crate::session::MistakeHighlight;
use topoact_core::columns::{ColumnKind, ColumnSummary, Confusion, NodeMistakes};

fn with_predictions_and_columns(mut summary: DatasetSummary) -> DatasetSummary {
    summary.has_predictions = true;
    summary.columns = vec![ColumnSummary {
        name: "confidence".into(),
        kind: ColumnKind::Numeric,
        categories: vec![],
        range: Some((0.25, 1.0)),
        n_missing: 0,
    }];
    summary
}

/// A model with a demo of one layer `a` of 10 samples that holds predictions and a
/// `confidence` column, its graph answered.
fn researcher_model() -> AppModel {
    let mut model = AppModel::default();
    let messages = model.next_requests();
    let load = id_of(&messages, "LoadUrl");
    model.on_worker_answer(loaded(
        load,
        with_predictions_and_columns(summary("demo", &["a"], 10)),
        DatasetRef::Demo,
    ));
    let messages = model.next_requests();
    answer_graph(&mut model, &messages, &[&[0, 1, 2], &[3, 4], &[4, 5, 6]]);
    model
}

#[test]
fn a_clicked_sample_asks_for_its_neighbours_once_and_escape_closes_the_list() {
    let mut model = researcher_model();
    model.next_requests();
    model.on_user_action(UserAction::ShowNeighbours(Some(3)));
    assert_eq!(model.session.neighbours_of, Some(3));
    let messages = model.next_requests();
    assert_eq!(kinds(&messages), ["Neighbours"]);
    let ToWorker::Neighbours {
        request_id,
        layer,
        sample_idx,
        k,
    } = messages[0].clone()
    else {
        unreachable!()
    };
    assert_eq!((layer.as_str(), sample_idx, k), ("a", 3, NEIGHBOURS_LISTED));
    // Asked once: not again while it is on its way.
    assert!(model.next_requests().is_empty());
    assert!(model.shown_neighbours().is_none());
    let neighbour = |sample_idx: u32, distance: f64| SampleNeighbour {
        sample_idx,
        distance,
        label: Some(0),
        thumbnail: None,
    };
    model.on_worker_answer(FromWorker::Neighbours {
        request_id,
        layer: "a".into(),
        sample_idx: 3,
        neighbours: vec![neighbour(4, 0.5), neighbour(6, 0.75)],
    });
    let (shown_sample, neighbours) = model.shown_neighbours().expect("the list");
    assert_eq!(shown_sample, 3);
    assert_eq!(
        neighbours.iter().map(|n| n.sample_idx).collect::<Vec<_>>(),
        [4, 6]
    );
    assert!(model.next_requests().is_empty());
    // The nodes holding the sample, and those holding a neighbour, are outlined.
    assert_eq!(
        crate::ui::neighbours::sample_and_neighbour_nodes(&model, GraphSlot::Main),
        (vec![1], vec![1, 2])
    );
    // Another sample: asked again; Escape closes the list before anything else.
    model.on_user_action(UserAction::ShowNeighbours(Some(5)));
    assert_eq!(kinds(&model.next_requests()), ["Neighbours"]);
    model.on_user_action(UserAction::SelectNode {
        slot: GraphSlot::Main,
        node_idx: Some(0),
    });
    model.on_user_action(UserAction::Escape);
    assert_eq!(model.session.neighbours_of, None);
    assert!(model.session.selected_node.is_some());
}

#[test]
fn colouring_points_by_a_column_asks_for_its_values_once_and_the_link_names_it() {
    let mut model = researcher_model();
    model.on_user_action(UserAction::ChooseProjection(ProjectionMethod::DEFAULT_UMAP));
    model.next_requests();
    let dataset = model.dataset.clone();
    let choices = PointColour::choices(dataset.as_ref());
    assert!(choices.contains(&PointColour::Correctness));
    model.on_user_action(UserAction::SetPointColour(PointColour::Column(0)));
    assert_eq!(model.session.point_colour, "column:confidence");
    let messages = model.next_requests();
    let asked: Vec<&ToWorker> = messages
        .iter()
        .filter(|m| matches!(m, ToWorker::SampleValues { .. }))
        .collect();
    assert_eq!(asked.len(), 1, "{messages:?}");
    let ToWorker::SampleValues { request_id, of } = asked[0].clone() else {
        unreachable!()
    };
    assert_eq!(of, SampleValuesOf::Column("confidence".into()));
    assert!(model
        .next_requests()
        .iter()
        .all(|m| !matches!(m, ToWorker::SampleValues { .. })));
    model.on_worker_answer(FromWorker::SampleValues {
        request_id,
        values: SampleValues {
            of: of.clone(),
            categories: vec![],
            range: Some((0.25, 1.0)),
            values_le: [0.5f32; 10].iter().flat_map(|v| v.to_le_bytes()).collect(),
        },
    });
    assert_eq!(
        model
            .results
            .sample_values
            .as_ref()
            .map(|v| v.values().len()),
        Some(10)
    );
    // Right / wrong is asked for in turn.
    model.on_user_action(UserAction::SetPointColour(PointColour::Correctness));
    assert!(model.next_requests().iter().any(|m| matches!(
        m,
        ToWorker::SampleValues {
            of: SampleValuesOf::Correctness,
            ..
        }
    )));
    // The node colour names the column too, and a file without it falls back to the lens.
    model.on_user_action(UserAction::SetColourBy(ColourBy::Column(0)));
    assert_eq!(model.session.colour_by, "column:confidence");
    assert_eq!(model.colour_by(), ColourBy::Column(0));
    model.dataset.as_mut().expect("data").columns.clear();
    assert_eq!(model.colour_by(), ColourBy::MeanLens);
}

#[test]
fn nodes_are_highlighted_for_their_mistakes_and_escape_clears_it() {
    let mut model = researcher_model();
    let confusion = |true_class, predicted_class, count| Confusion {
        true_class,
        predicted_class,
        count,
    };
    let graph = model.results.graph.as_mut().expect("a graph");
    graph.nodes[0].mistakes = Some(NodeMistakes {
        error_rate: 0.0,
        n_errors: 0,
        n_judged: 3,
        top_confusion: None,
        confusions: vec![],
    });
    graph.nodes[1].mistakes = Some(NodeMistakes {
        error_rate: 0.5,
        n_errors: 1,
        n_judged: 2,
        top_confusion: Some(confusion(1, 0, 1)),
        confusions: vec![confusion(1, 0, 1)],
    });
    graph.nodes[2].mistakes = Some(NodeMistakes {
        error_rate: 2.0 / 3.0,
        n_errors: 2,
        n_judged: 3,
        top_confusion: Some(confusion(2, 0, 1)),
        confusions: vec![confusion(2, 0, 1), confusion(2, 1, 1)],
    });
    assert_eq!(model.node_highlights_at(GraphSlot::Main), None);
    model.on_user_action(UserAction::HighlightMistakes(Some(MistakeHighlight::Any)));
    assert_eq!(
        model.node_highlights_at(GraphSlot::Main),
        Some(vec![false, true, true])
    );
    model.on_user_action(UserAction::HighlightMistakes(Some(
        MistakeHighlight::Confusion {
            true_class: 2,
            predicted_class: 1,
        },
    )));
    assert_eq!(
        model.node_highlights_at(GraphSlot::Main),
        Some(vec![false, false, true])
    );
    model.on_user_action(UserAction::Escape);
    assert_eq!(model.session.highlighted_mistakes, None);
    assert_eq!(model.node_highlights_at(GraphSlot::Main), None);
}
