//! The model's transitions, natively: a user action gives the expected requests; an answer
//! for a superseded request is dropped; a link's state is the session it opens.

use proptest::prelude::*;
use topoact_core::dataset::{ClassSummary, DatasetSummary, Dtype, LayerSummary};
use topoact_core::job::Progress;

use super::*;
use crate::protocol::{Diagnostics, DrawnNode, DrawnProjection, FromWorker, ToWorker, WorkerError};

/// The actions that change what is shown beside the session.
mod beside_the_session;
/// Neighbours, column colours, mistakes.
mod researcher;

fn summary(name: &str, layers: &[&str], n_samples: usize) -> DatasetSummary {
    DatasetSummary {
        name: name.into(),
        n_samples,
        layers: layers
            .iter()
            .map(|l| LayerSummary {
                name: (*l).into(),
                dim: 4,
                dtype: Dtype::F32,
            })
            .collect(),
        classes: (0..3)
            .map(|idx| ClassSummary {
                name: format!("class{idx}"),
                count: 3,
            })
            .collect(),
        has_labels: true,
        has_images: false,
        image_shape: None,
        activation_image_layers: vec![],
        projections: vec![],
        meta: None,
        columns: vec![],
        has_predictions: false,
        top_confusions: vec![],
        notices: vec![],
    }
}

fn loaded(request_id: RequestId, summary: DatasetSummary, source: DatasetRef) -> FromWorker {
    FromWorker::Loaded {
        request_id,
        summary,
        elapsed_ms: 1000.0,
        bytes_read: 1,
        source,
    }
}

fn drawn_graph(request: GraphRequest, members: &[&[u32]]) -> DrawnGraph {
    DrawnGraph {
        request,
        diagnostics: None,
        nodes: members
            .iter()
            .enumerate()
            .map(|(idx, m)| DrawnNode {
                name: format!("cube{idx}_cluster0"),
                size: m.len(),
                lens_mean: 0.0,
                top_classes: vec![],
                members: m.to_vec(),
                position: [0.0, 0.0],
                radius: 1.0,
                columns: vec![],
                mistakes: None,
            })
            .collect(),
        edges: vec![],
        stats: topoact_core::mapper::graph_stats(&[], &[], 0),
        eps_global: None,
        n_samples_used: 10,
        lens_range: [0.0, 1.0],
        lens_by_sample: Vec::new(),
        class_names: vec![],
        mapper_ms: 0.0,
        layout_ms: 0.0,
    }
}

fn drawn_projection(request: ProjectionRequest, complete: bool) -> DrawnProjection {
    DrawnProjection {
        request,
        sample_indices: vec![0, 1],
        labels: vec![0, 1],
        coords_le: crate::protocol::coords_to_le_bytes(&[0.0, 1.0, 2.0, 3.0]),
        norms: vec![1.0, 2.0],
        complete,
        stage: String::new(),
        knn_ms: 0.0,
        elapsed_ms: 0.0,
        knn_exact: true,
    }
}

/// The id of the single request of `kind` among `messages`.
fn id_of(messages: &[ToWorker], kind: &str) -> RequestId {
    let found: Vec<&ToWorker> = messages
        .iter()
        .filter(|m| format!("{m:?}").starts_with(kind))
        .collect();
    assert_eq!(found.len(), 1, "one {kind} in {messages:?}");
    found[0].request_id()
}

fn kinds(messages: &[ToWorker]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            let text = format!("{m:?}");
            text.split([' ', '{'])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// A model with the demo loaded (`layers`, `n_samples`), and the requests that followed.
fn demo_model(layers: &[&str], n_samples: usize) -> (AppModel, Vec<ToWorker>) {
    let mut model = AppModel::default();
    let messages = model.next_requests();
    assert_eq!(kinds(&messages), ["LoadUrl"]);
    let load = id_of(&messages, "LoadUrl");
    model.on_worker_answer(loaded(
        load,
        summary("demo", layers, n_samples),
        DatasetRef::Demo,
    ));
    let messages = model.next_requests();
    (model, messages)
}

/// The id and request of the graph request among `messages`.
fn graph_request(messages: &[ToWorker]) -> (RequestId, GraphRequest) {
    messages
        .iter()
        .find_map(|m| match m {
            ToWorker::ComputeGraph {
                request_id,
                request,
                ..
            } => Some((*request_id, request.clone())),
            _ => None,
        })
        .expect("a graph request")
}

/// Answers the model's running graph request with a graph of `members`.
fn answer_graph(model: &mut AppModel, messages: &[ToWorker], members: &[&[u32]]) {
    let (request_id, request) = graph_request(messages);
    model.on_worker_answer(FromWorker::Graph {
        request_id,
        graph: drawn_graph(request, members),
    });
}

#[test]
fn a_fresh_page_loads_the_demo_then_asks_for_its_first_graph_and_a_small_projection_once() {
    let (mut model, messages) = demo_model(&["a", "b"], 10);
    assert_eq!(kinds(&messages), ["ComputeGraph", "ComputeProjection"]);
    assert_eq!(model.session.layer.as_deref(), Some("a"));
    assert_eq!(
        model.session.projection,
        Some(ProjectionMethod::DEFAULT_UMAP)
    );
    assert!(model.next_requests().is_empty(), "idempotent");
    answer_graph(&mut model, &messages, &[&[0, 1], &[2]]);
    assert!(model.results.graph.is_some());
    assert!(model.next_requests().is_empty());
}

/// The divider sets the split within its limits, asks the worker for nothing, and the split
/// outlives a change of data (it is how the person likes the page laid out).
#[test]
fn the_split_is_set_within_its_limits_and_kept_for_other_data() {
    let (mut model, _) = demo_model(&["a", "b"], 10);
    model.on_user_action(UserAction::SetGraphSplit(0.55));
    assert_eq!(model.session.graph_split, 0.55);
    assert!(model.next_requests().is_empty(), "nothing to compute");
    model.on_user_action(UserAction::SetGraphSplit(2.0));
    assert_eq!(model.session.graph_split, crate::ui::layout::SPLIT_MAX);
    model.on_user_action(UserAction::SetGraphSplit(0.5));
    model.on_user_action(UserAction::OpenData(DatasetRef::Url {
        url: "https://example.org/other.npz".into(),
    }));
    assert_eq!(model.session.graph_split, 0.5);
}

#[test]
fn a_layer_change_supersedes_the_running_graph_and_its_late_answer_is_dropped() {
    let (mut model, first) = demo_model(&["a", "b"], 10);
    model.on_user_action(UserAction::SelectLayer("b".into()));
    let second = model.next_requests();
    assert_eq!(kinds(&second), ["ComputeGraph", "ComputeProjection"]);
    // The old graph's answer arrives late: dropped.
    answer_graph(&mut model, &first, &[&[0]]);
    assert!(model.results.graph.is_none());
    assert!(model
        .results
        .cached_graph(&GraphRequest {
            layer: "a".into(),
            subsample: SubsampleChoice::default(),
            params: Default::default(),
        })
        .is_none());
    // The old projection's frames too.
    let ToWorker::ComputeProjection {
        request_id,
        request,
    } = first[1].clone()
    else {
        panic!("projection")
    };
    model.on_worker_answer(FromWorker::ProjectionFrame {
        request_id,
        projection: drawn_projection(request, false),
    });
    assert!(model.results.projection.is_none());
    answer_graph(&mut model, &second, &[&[0, 1]]);
    assert_eq!(
        model
            .results
            .graph
            .as_ref()
            .map(|g| g.request.layer.as_str()),
        Some("b")
    );
    // Back to a: its graph is not cached (it was superseded), so it is asked for again.
    model.on_user_action(UserAction::SelectLayer("a".into()));
    assert_eq!(
        kinds(&model.next_requests()),
        ["ComputeGraph", "ComputeProjection"]
    );
}

#[test]
fn a_cancelled_graph_is_not_asked_again_until_recompute() {
    let (mut model, messages) = demo_model(&["a"], 10);
    let graph_id = id_of(&messages, "ComputeGraph");
    model.on_worker_answer(FromWorker::Cancelled {
        request_id: graph_id,
    });
    assert!(model.requests.running.is_none());
    assert!(model.status.starts_with("Cancelled"));
    assert!(model.next_requests().is_empty(), "given up");
    model.on_user_action(UserAction::Recompute);
    assert_eq!(kinds(&model.next_requests()), ["ComputeGraph"]);
}

#[test]
fn a_failed_load_keeps_the_previous_dataset_and_is_not_retried() {
    let (mut model, _) = demo_model(&["a"], 10);
    model.on_user_action(UserAction::OpenData(DatasetRef::Url {
        url: "https://example.org/x.npz".into(),
    }));
    let messages = model.next_requests();
    assert_eq!(kinds(&messages), ["LoadUrl"]);
    let error = WorkerError::FetchFailed {
        url: "https://example.org/x.npz".into(),
        reason: "offline".into(),
    };
    model.on_worker_answer(FromWorker::Failed {
        request_id: messages[0].request_id(),
        error: error.clone(),
    });
    assert_eq!(
        model.dataset.as_ref().map(|d| d.name.as_str()),
        Some("demo")
    );
    assert_eq!(
        model.banner.as_ref().map(|b| b.message.clone()),
        Some(error.to_string())
    );
    assert!(model.next_requests().is_empty());
}

#[test]
fn progress_and_frames_of_a_projection_never_touch_the_graph_request() {
    let (mut model, messages) = demo_model(&["a"], 10);
    let graph_id = id_of(&messages, "ComputeGraph");
    let projection_id = id_of(&messages, "ComputeProjection");
    model.on_worker_answer(FromWorker::Progress {
        request_id: projection_id,
        progress: Progress::new("umap", 1, 2),
    });
    assert_eq!(model.running_request_id(), Some(graph_id));
    assert!(model
        .requests
        .running
        .as_ref()
        .and_then(|r| r.progress.clone())
        .is_none());
    let request = model.projection_request().expect("request");
    model.on_worker_answer(FromWorker::ProjectionFrame {
        request_id: projection_id,
        projection: drawn_projection(request.clone(), false),
    });
    assert!(model.results.projection.is_some());
    assert!(
        model.requests.projection_running.is_some(),
        "a frame is not the end"
    );
    model.on_worker_answer(FromWorker::Projection {
        request_id: projection_id,
        projection: drawn_projection(request, true),
    });
    assert!(model.requests.projection_running.is_none());
    assert_eq!(model.running_request_id(), Some(graph_id));
}

#[test]
fn a_projection_made_for_another_subsample_is_marked_stale_and_updated_on_request() {
    let (mut model, messages) = demo_model(&["a"], 300_000);
    // 50,000 points by default: no projection without asking.
    assert_eq!(kinds(&messages), ["ComputeGraph"]);
    model.on_user_action(UserAction::ChooseProjection(ProjectionMethod::DEFAULT_UMAP));
    let messages = model.next_requests();
    let request = model.projection_request().expect("request");
    model.on_worker_answer(FromWorker::Projection {
        request_id: id_of(&messages, "ComputeProjection"),
        projection: drawn_projection(request, true),
    });
    assert!(!model.projection_is_stale());
    model.on_user_action(UserAction::SetSubsample(SubsampleChoice {
        size: Some(300_000),
        seed: 0,
    }));
    let messages = model.next_requests();
    assert_eq!(kinds(&messages), ["ComputeGraph"], "the projection waits");
    assert!(model.projection_is_stale());
    model.on_user_action(UserAction::UpdateProjection);
    let messages = model.next_requests();
    assert_eq!(kinds(&messages), ["ComputeProjection"]);
    let ToWorker::ComputeProjection { request, .. } = &messages[0] else {
        panic!()
    };
    assert_eq!(request.subsample.size, Some(300_000));
}

#[test]
fn a_files_own_coordinates_follow_the_subsample_at_once() {
    let mut model = AppModel::default();
    let load = model.next_requests()[0].request_id();
    let mut data = summary("demo", &["a"], 300_000);
    data.projections = vec![("a".into(), topoact_core::dataset::ProjectionKind::Umap)];
    model.on_worker_answer(loaded(load, data, DatasetRef::Demo));
    let messages = model.next_requests();
    assert_eq!(kinds(&messages), ["ComputeGraph", "ComputeProjection"]);
    model.on_user_action(UserAction::SetSubsample(SubsampleChoice {
        size: Some(300_000),
        seed: 0,
    }));
    assert_eq!(
        kinds(&model.next_requests()),
        ["ComputeGraph", "ComputeProjection"]
    );
}

#[test]
fn escape_clears_the_node_then_the_sample_selection_then_the_classes() {
    let mut model = AppModel::default();
    model.session.selected_node = Some(NodeRef {
        layer: "a".into(),
        node_name: "n".into(),
    });
    model.session.sample_selection = vec![3];
    model.session.highlighted_classes = vec![2];
    model.on_user_action(UserAction::Escape);
    assert!(model.session.selected_node.is_none());
    assert_eq!(model.session.sample_selection, vec![3]);
    model.on_user_action(UserAction::Escape);
    assert!(model.session.sample_selection.is_empty());
    assert_eq!(model.session.highlighted_classes, vec![2]);
    model.on_user_action(UserAction::Escape);
    assert!(model.session.highlighted_classes.is_empty());
}

#[test]
fn the_multilayer_row_asks_for_its_graphs_one_at_a_time_and_reuses_them() {
    let (mut model, messages) = demo_model(&["a", "b", "c", "d"], 10);
    answer_graph(&mut model, &messages, &[&[0, 1, 2], &[3, 4]]);
    model.on_user_action(UserAction::SelectLayer("b".into()));
    let messages = model.next_requests();
    answer_graph(&mut model, &messages, &[&[0, 1], &[2, 3, 4]]);
    model.on_user_action(UserAction::SetMode(ViewMode::Multilayer));
    assert_eq!(model.session.multilayer_layers, ["a", "b", "c"]);
    // a and b come from the cache; c is computed.
    let messages = model.next_requests();
    assert_eq!(kinds(&messages), ["ComputeGraph"]);
    assert!(model.results.row_graphs[0].is_some() && model.results.row_graphs[1].is_some());
    answer_graph(&mut model, &messages, &[&[0], &[1, 2, 3, 4]]);
    assert!(model.next_requests().is_empty(), "the row is complete");
    // Selecting a node of b shades the nodes of a by the share of its members they hold.
    model.on_user_action(UserAction::SelectNode {
        slot: GraphSlot::Layer(1),
        node_idx: Some(1),
    });
    assert_eq!(
        model.shading_at(GraphSlot::Layer(0)),
        Some(vec![1.0 / 3.0, 2.0 / 3.0])
    );
    assert_eq!(model.shading_at(GraphSlot::Layer(1)), None);
    assert_eq!(
        model.selected_node_name().as_deref(),
        Some("cube1_cluster0")
    );
    // New parameters: every position is stale (their graphs stay on screen meanwhile).
    let mut params = model.session.mapper.clone();
    params.n_intervals += 1;
    model.on_user_action(UserAction::SetMapperParams(params));
    let messages = model.next_requests();
    let ToWorker::ComputeGraph { request, .. } = &messages[0] else {
        panic!()
    };
    assert_eq!(request.layer, "a");
    assert!(model.results.row_graphs[0].is_some());
}

/// A session a link may carry for the demo with layers a, b, c and 10 samples of 3 classes.
fn linkable_session() -> impl Strategy<Value = SessionState> {
    let layer = prop::sample::select(vec!["a", "b", "c"]);
    (
        layer.clone(),
        any::<bool>(),
        prop::option::of(0usize..3),
        prop::collection::btree_set(0u32..10, 0..5),
        prop::collection::btree_set(0u32..3, 0..3),
        prop::sample::select(vec!["lens", "class", "purity", "size"]),
        0.0f64..1.0,
        prop::option::of(prop::sample::select(vec![
            ProjectionMethod::DEFAULT_UMAP,
            ProjectionMethod::DEFAULT_TSNE,
        ])),
        prop::option::of(1usize..10),
    )
        .prop_map(
            |(layer, multilayer, node, samples, classes, colour, threshold, projection, size)| {
                SessionState {
                    dataset: DatasetRef::Demo,
                    layer: Some(layer.to_string()),
                    mode: if multilayer {
                        ViewMode::Multilayer
                    } else {
                        ViewMode::Single
                    },
                    multilayer_layers: vec!["a".into(), "b".into(), "c".into()],
                    subsample_size: size,
                    selected_node: node.map(|idx| NodeRef {
                        layer: layer.to_string(),
                        node_name: format!("cube{idx}_cluster0"),
                    }),
                    sample_selection: samples.into_iter().collect(),
                    highlighted_classes: classes.into_iter().collect(),
                    colour_by: colour.into(),
                    jaccard_threshold: threshold,
                    projection,
                    ..initial_session(DatasetRef::Demo)
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// link -> state -> link is the identity, whether the link opens on the page's first
    /// load or over the data already loaded, and whatever computes meanwhile.
    #[test]
    fn a_link_opened_is_the_session_and_encodes_back_to_itself(state in linkable_session()) {
        let link = crate::session::encode_checked(&state).expect("encodes");
        let decoded = crate::session::decode(&link).expect("decodes");
        // At start-up: the link's data is loaded first.
        let mut model = AppModel::with_session(initial_session(DatasetRef::Demo));
        model.on_user_action(UserAction::OpenLink(Box::new(decoded.clone())));
        let load = model.next_requests()[0].request_id();
        prop_assert_eq!(&model.session, &decoded, "the link is the session before anything loads");
        model.on_worker_answer(loaded(load, summary("demo", &["a", "b", "c"], 10), DatasetRef::Demo));
        let messages = model.next_requests();
        prop_assert_eq!(&model.session, &decoded);
        prop_assert_eq!(crate::session::encode_checked(&model.session), Ok(link.clone()));
        // Over loaded data (Back / Forward), while a graph computes.
        let (mut other, _) = demo_model(&["a", "b", "c"], 10);
        other.on_user_action(UserAction::OpenLink(Box::new(decoded.clone())));
        prop_assert_eq!(&other.session, &decoded);
        prop_assert!(!messages.is_empty());
    }
}

#[test]
fn a_link_selects_its_node_when_the_graph_arrives_and_says_so_when_it_is_missing() {
    let state = SessionState {
        layer: Some("b".into()),
        selected_node: Some(NodeRef {
            layer: "b".into(),
            node_name: "cube1_cluster0".into(),
        }),
        highlighted_classes: vec![2],
        ..initial_session(DatasetRef::Demo)
    };
    let (mut model, _) = demo_model(&["a", "b"], 10);
    model.on_user_action(UserAction::OpenLink(Box::new(state.clone())));
    let messages = model.next_requests();
    assert_eq!(
        model.session.highlighted_classes,
        vec![2],
        "visible at once"
    );
    answer_graph(&mut model, &messages, &[&[0], &[1, 2]]);
    assert_eq!(model.selected_at(GraphSlot::Main), Some(1));
    assert!(model.banner.is_none());

    let mut missing = state;
    missing.selected_node = Some(NodeRef {
        layer: "b".into(),
        node_name: "cube99_cluster7".into(),
    });
    missing.mapper.n_intervals = 7;
    model.on_user_action(UserAction::OpenLink(Box::new(missing)));
    let messages = model.next_requests();
    answer_graph(&mut model, &messages, &[&[0, 1]]);
    assert_eq!(model.selected_at(GraphSlot::Main), None);
    let banner = model.banner.clone().expect("banner");
    assert_eq!(banner.kind, FailureKind::LinkProblem);
    assert!(banner.message.contains("cube99_cluster7"));
    // It survives the next request (it is about the link, not about that request).
    model.on_user_action(UserAction::SelectLayer("a".into()));
    model.next_requests();
    assert!(model.banner.is_some());
}

#[test]
fn a_link_to_a_file_waits_for_it_and_refuses_a_different_one() {
    let file = DatasetRef::File {
        name: "acts.npz".into(),
        size_bytes: 10,
        content_hash: "00aa".into(),
    };
    let state = SessionState {
        layer: Some("b".into()),
        ..initial_session(file.clone())
    };
    let mut model = AppModel::default();
    model.on_user_action(UserAction::OpenLink(Box::new(state.clone())));
    assert!(
        model.next_requests().is_empty(),
        "a dropped file cannot be fetched"
    );
    assert_eq!(
        model.banner.as_ref().map(|b| b.kind),
        Some(FailureKind::NeedsFile)
    );
    assert_eq!(model.session, state, "the link stays the session meanwhile");
    // A different file is dropped.
    let load = model.begin("other file", Purpose::Load(None));
    model.on_worker_answer(loaded(
        load,
        summary("x", &["a", "b"], 10),
        DatasetRef::File {
            name: "acts.npz".into(),
            size_bytes: 10,
            content_hash: "00bb".into(),
        },
    ));
    assert!(model
        .banner
        .as_ref()
        .is_some_and(|b| b.message.contains("not the data the link was made with")));
    assert_eq!(model.session.layer.as_deref(), Some("a"), "not applied");
    // The link again, then the same file (renamed) is accepted.
    model.on_user_action(UserAction::OpenLink(Box::new(state)));
    model.next_requests();
    let load = model.begin("the file", Purpose::Load(None));
    model.on_worker_answer(loaded(
        load,
        summary("x", &["a", "b"], 10),
        DatasetRef::File {
            name: "renamed.npz".into(),
            size_bytes: 10,
            content_hash: "00aa".into(),
        },
    ));
    assert_eq!(model.session.layer.as_deref(), Some("b"));
}

#[test]
fn parts_of_a_link_that_do_not_fit_the_data_are_named_and_the_rest_applied() {
    let (mut model, _) = demo_model(&["a", "b"], 10);
    let state = SessionState {
        layer: Some("gone".into()),
        highlighted_classes: vec![1, 99],
        sample_selection: vec![2, 50],
        ..model.session.clone()
    };
    model.on_user_action(UserAction::OpenLink(Box::new(state)));
    let banner = model.banner.clone().expect("banner");
    assert!(banner.message.contains("gone"), "{banner:?}");
    assert_eq!(model.session.layer.as_deref(), Some("a"));
    assert_eq!(model.session.highlighted_classes, vec![1]);
    assert_eq!(model.session.sample_selection, vec![2]);
}

#[test]
fn a_graph_file_that_does_not_fit_opens_on_its_own_and_back_returns_to_the_data() {
    let (mut model, messages) = demo_model(&["a", "b"], 10);
    answer_graph(&mut model, &messages, &[&[0, 1], &[2]]);
    let demo_view = model.session.clone();
    let drop = model.begin("Loading other.json", Purpose::Load(None));
    let graph_file = DatasetRef::File {
        name: "other.json".into(),
        size_bytes: 123,
        content_hash: "0123456789abcdef".into(),
    };
    let request = GraphRequest {
        layer: format!("{}other.json", crate::protocol::IMPORTED_LAYER_PREFIX),
        subsample: SubsampleChoice::default(),
        params: Default::default(),
    };
    model.on_worker_answer(FromWorker::Imported {
        request_id: drop,
        graph: drawn_graph(request, &[&[0, 1, 2, 3], &[4], &[5, 6]]),
        source: graph_file.clone(),
        over_data: false,
    });
    assert!(model.dataset.is_none(), "the data was closed");
    assert_eq!(
        model.session.dataset, graph_file,
        "the link names the graph file"
    );
    assert_eq!(model.results.graph.as_ref().map(|g| g.nodes.len()), Some(3));
    let notice = model.banner.clone().expect("a notice");
    assert_eq!(notice.kind, FailureKind::Notice);
    assert!(notice.message.contains("Back"), "{notice:?}");
    // The projection of the closed data is cancelled; the graph is not recomputed.
    assert_eq!(kinds(&model.next_requests()), ["Cancel"]);
    assert!(model.next_requests().is_empty());
    // Back: the demo's view, its data loaded again, its graph asked for.
    model.on_user_action(UserAction::OpenLink(Box::new(demo_view.clone())));
    let messages = model.next_requests();
    assert_eq!(kinds(&messages), ["LoadUrl"]);
    model.on_worker_answer(loaded(
        messages[0].request_id(),
        summary("demo", &["a", "b"], 10),
        DatasetRef::Demo,
    ));
    assert_eq!(model.session, demo_view);
    assert_eq!(
        kinds(&model.next_requests()),
        ["ComputeGraph", "ComputeProjection"]
    );
}

#[test]
fn a_graph_file_that_fits_opens_over_the_data() {
    let (mut model, _) = demo_model(&["a"], 10);
    let drop = model.begin("Loading fits.json", Purpose::Load(None));
    let request = GraphRequest {
        layer: format!("{}fits.json", crate::protocol::IMPORTED_LAYER_PREFIX),
        subsample: SubsampleChoice::default(),
        params: Default::default(),
    };
    model.on_worker_answer(FromWorker::Imported {
        request_id: drop,
        graph: drawn_graph(request.clone(), &[&[0, 1]]),
        source: DatasetRef::File {
            name: "fits.json".into(),
            size_bytes: 9,
            content_hash: "0123456789abcdef".into(),
        },
        over_data: true,
    });
    assert_eq!(
        model.dataset.as_ref().map(|d| d.name.as_str()),
        Some("demo")
    );
    assert_eq!(model.session.dataset, DatasetRef::Demo);
    assert_eq!(model.session.layer.as_deref(), Some(request.layer.as_str()));
    assert!(model.banner.is_none());
    assert_eq!(
        kinds(&model.next_requests()),
        ["Cancel"],
        "the layer's projection stops"
    );
    assert!(model.next_requests().is_empty());
}

#[test]
fn a_failed_drop_keeps_its_message_while_the_graph_it_interrupted_is_computed_again() {
    let (mut model, messages) = demo_model(&["a"], 10);
    let graph_id = id_of(&messages, "ComputeGraph");
    let drop = model.begin("Loading notes.npy", Purpose::Load(None));
    // The worker cancels the graph the drop superseded (its answer is dropped), then fails.
    model.on_worker_answer(FromWorker::Cancelled {
        request_id: graph_id,
    });
    model.on_worker_answer(FromWorker::Failed {
        request_id: drop,
        error: WorkerError::BadFile {
            message: "notes.npy is not a .npy file".into(),
        },
    });
    assert_eq!(kinds(&model.next_requests()), ["ComputeGraph"]);
    assert!(model.banner.is_some(), "the message stays");
    // The person's next action replaces it.
    model.on_user_action(UserAction::SetColourBy(ColourBy::Size));
    assert!(model.banner.is_none());
}

#[test]
fn classes_are_highlighted_once_toggled_and_removed_through_actions() {
    let mut model = AppModel::default();
    model.on_user_action(UserAction::HighlightClass(2));
    model.on_user_action(UserAction::HighlightClass(2));
    model.on_user_action(UserAction::ToggleHighlightedClass(1));
    assert_eq!(model.session.highlighted_classes, vec![2, 1]);
    model.on_user_action(UserAction::ToggleHighlightedClass(2));
    model.on_user_action(UserAction::UnhighlightClass(7));
    assert_eq!(model.session.highlighted_classes, vec![1]);
    model.on_user_action(UserAction::UnhighlightClass(1));
    assert!(model.session.highlighted_classes.is_empty());
}

/// A graph comes before its layer's norms (the worker summarises them after sending it): the
/// norms then fill the shown graph's diagnostics if they are of its layer and subsample, and
/// are dropped otherwise.
#[test]
fn a_layers_norms_arriving_after_its_graph_fill_its_diagnostics_and_no_other() {
    use topoact_core::diagnostics::{Histogram, LensDiagnostics, NormDiagnostics};
    let histogram = Histogram {
        lower: 0.0,
        upper: 1.0,
        counts: vec![1, 2],
    };
    let norms = NormDiagnostics {
        dim: 4,
        n_vectors: 10,
        n_random: 10,
        activation: histogram.clone(),
        random: histogram.clone(),
        activation_mean: 1.0,
        activation_std: 0.5,
        random_mean: 2.0,
        random_std: 0.25,
        zero_fraction: 0.3,
    };
    let (mut model, messages) = demo_model(&["a", "b"], 10);
    let (request_id, request) = graph_request(&messages);
    let mut graph = drawn_graph(request.clone(), &[&[0, 1], &[2]]);
    graph.diagnostics = Some(Diagnostics {
        lens: LensDiagnostics {
            lens: "l2norm".into(),
            cover: "uniform".into(),
            histogram,
            intervals: vec![[0.0, 1.0]],
            interval_sizes: vec![3],
        },
        norms: None,
    });
    model.on_worker_answer(FromWorker::Graph { request_id, graph });
    assert!(
        model.requests.running.is_none(),
        "the graph ends what the person waits for"
    );
    let shown_norms = |model: &AppModel| {
        model
            .results
            .graph
            .as_ref()
            .and_then(|g| g.diagnostics.as_ref())
            .and_then(|d| d.norms.clone())
    };
    // Norms of another layer, or of another subsample, are not this graph's.
    model.on_worker_answer(FromWorker::LayerNorms {
        request_id,
        layer: "b".into(),
        subsample: request.subsample,
        norms: norms.clone(),
    });
    let mut other_subsample = request.subsample;
    other_subsample.size = Some(other_subsample.size.map_or(5, |size| size + 1));
    model.on_worker_answer(FromWorker::LayerNorms {
        request_id,
        layer: request.layer.clone(),
        subsample: other_subsample,
        norms: norms.clone(),
    });
    assert_eq!(shown_norms(&model), None);
    model.on_worker_answer(FromWorker::LayerNorms {
        request_id,
        layer: request.layer.clone(),
        subsample: request.subsample,
        norms: norms.clone(),
    });
    assert_eq!(shown_norms(&model), Some(norms.clone()));
    assert!(model.next_requests().is_empty(), "nothing is asked again");
    // Other parameters, then back: the cached graph is shown again, with its norms (it was
    // cached before they came).
    let first_params = model.session.mapper.clone();
    let mut params = first_params.clone();
    params.n_intervals += 1;
    model.on_user_action(UserAction::SetMapperParams(params));
    let (second_id, second_request) = graph_request(&model.next_requests());
    let second = drawn_graph(second_request, &[&[0, 1, 2]]);
    model.on_worker_answer(FromWorker::Graph {
        request_id: second_id,
        graph: second,
    });
    model.on_user_action(UserAction::SetMapperParams(first_params));
    assert!(
        model.next_requests().is_empty(),
        "the first graph comes from the cache"
    );
    assert_eq!(
        model.results.graph.as_ref().map(|g| &g.request),
        Some(&request)
    );
    assert_eq!(shown_norms(&model), Some(norms));
}
