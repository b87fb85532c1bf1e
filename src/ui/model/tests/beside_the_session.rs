//! Actions that change what is shown beside the session (the banner, the status line, the
//! examples, a moved node), and the worker's failure: none of them changes the session.

use super::*;

#[test]
fn the_banner_is_dismissed_by_its_button_and_kept_by_what_is_not_the_persons_doing() {
    let (mut model, messages) = demo_model(&["a"], 10);
    answer_graph(&mut model, &messages, &[&[0, 1, 2], &[3, 4]]);
    model.on_worker_failure("The compute worker stopped.".into());
    let internal = Some(Banner {
        kind: FailureKind::Internal,
        message: "The compute worker stopped.".into(),
    });
    assert_eq!(model.banner, internal);
    for quiet in [
        UserAction::ForgetExamples,
        UserAction::ShowStatus("The address keeps the last view.".into()),
        UserAction::MoveNode {
            slot: GraphSlot::Main,
            node_idx: 0,
            position: [5.0, 6.0],
        },
    ] {
        model.on_user_action(quiet.clone());
        assert_eq!(model.banner, internal, "{quiet:?} keeps the message");
    }
    assert_eq!(model.status, "The address keeps the last view.");
    model.on_user_action(UserAction::DismissBanner);
    assert!(model.banner.is_none());
    model.on_user_action(UserAction::ShowLinkProblem("This link is damaged.".into()));
    assert_eq!(
        model.banner.as_ref().map(|b| (b.kind, b.message.as_str())),
        Some((FailureKind::LinkProblem, "This link is damaged."))
    );
    // A link's message stays while the person goes on; the close button dismisses it.
    model.on_user_action(UserAction::SetColourBy(ColourBy::Size));
    assert!(model.banner.is_some());
    model.on_user_action(UserAction::DismissBanner);
    assert!(model.banner.is_none());
}

#[test]
fn a_moved_node_is_where_the_next_layout_of_its_layer_starts() {
    let (mut model, messages) = demo_model(&["a"], 10);
    answer_graph(&mut model, &messages, &[&[0, 1, 2], &[3, 4]]);
    let version = model.results.graph_version;
    let session = model.session.clone();
    model.on_user_action(UserAction::MoveNode {
        slot: GraphSlot::Main,
        node_idx: 1,
        position: [12.5, -3.0],
    });
    // Out of range, or a view without a graph: nothing happens.
    model.on_user_action(UserAction::MoveNode {
        slot: GraphSlot::Main,
        node_idx: 9,
        position: [0.0, 0.0],
    });
    model.on_user_action(UserAction::MoveNode {
        slot: GraphSlot::Layer(2),
        node_idx: 0,
        position: [0.0, 0.0],
    });
    assert_eq!(
        model.results.graph_version, version,
        "the view is not redrawn"
    );
    assert_eq!(model.session, session, "the session is unchanged");
    let request = model.graph_request().unwrap();
    assert_eq!(
        model.previous_positions_for(&request),
        vec![
            ("cube0_cluster0".to_string(), [0.0, 0.0]),
            ("cube1_cluster0".to_string(), [12.5, -3.0])
        ]
    );
}

#[test]
fn examples_are_forgotten_until_the_worker_sends_the_new_ones() {
    let (mut model, messages) = demo_model(&["a"], 10);
    answer_graph(&mut model, &messages, &[&[0, 1, 2], &[3, 4]]);
    model.on_user_action(UserAction::SelectNode {
        slot: GraphSlot::Main,
        node_idx: Some(0),
    });
    let examples = crate::protocol::NodeExamples {
        node_name: "cube0_cluster0".into(),
        groups: vec![],
        mean_thumbnail: None,
        mean_activation_image: None,
    };
    model.on_worker_answer(FromWorker::Examples {
        request_id: 1 << 40,
        examples,
    });
    assert!(model.results.examples.is_some());
    model.on_user_action(UserAction::ForgetExamples);
    assert!(model.results.examples.is_none());
    assert!(
        model.session.selected_node.is_some(),
        "the node stays selected"
    );
}

#[test]
fn a_worker_failure_ends_the_running_request() {
    let (mut model, messages) = demo_model(&["a"], 10);
    assert_eq!(kinds(&messages), ["ComputeGraph", "ComputeProjection"]);
    assert!(model.requests.running.is_some());
    model.on_worker_failure("The compute worker could not start.".into());
    assert!(model.requests.running.is_none());
    assert_eq!(model.banner.map(|b| b.kind), Some(FailureKind::Internal));
}
