//! wasm-bindgen tests of UI components mounted in a real page (headless Chromium).
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use topoact_app::protocol::FromWorker;
use topoact_app::ui::model::AppModel;
use topoact_app::ui::{ClassList, DatasetDetails, Ui};
use topoact_core::dataset::{ClassSummary, DatasetSummary, Dtype, LayerSummary};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const HOSTILE: &str = "<img src=x onerror=\"window.__pwned=1\">tabby, tabby cat";

fn hostile_summary() -> DatasetSummary {
    DatasetSummary {
        name: "<script>window.__pwned=1</script>demo".into(),
        n_samples: 3,
        layers: vec![LayerSummary {
            name: "<b>conv</b>".into(),
            dim: 8,
            dtype: Dtype::F16,
        }],
        classes: vec![ClassSummary {
            name: HOSTILE.into(),
            count: 3,
        }],
        has_labels: true,
        has_images: false,
        image_shape: None,
        activation_image_layers: vec![],
        projections: vec![],
        meta: None,
        columns: vec![],
        has_predictions: false,
        top_confusions: vec![],
        notices: vec!["ignored key 'preds'".into()],
    }
}

fn container() -> web_sys::HtmlElement {
    let document = document();
    let element = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&element).unwrap();
    element.unchecked_into()
}

#[wasm_bindgen_test]
async fn hostile_names_are_shown_as_text_never_as_markup() {
    let model = RwSignal::new(AppModel::default());
    let request_id = model
        .try_update(|m| m.begin("test", topoact_app::ui::model::Purpose::Load(None)))
        .unwrap();
    model.update(|m| {
        m.on_worker_answer(FromWorker::Loaded {
            request_id,
            summary: hostile_summary(),
            elapsed_ms: 5.0,
            bytes_read: 10,
            source: topoact_app::vocabulary::DatasetRef::Demo,
        })
    });
    let root = container();
    let _handle = leptos::mount::mount_to(root.clone(), move || {
        Ui::provide(model);
        view! { <ClassList /><DatasetDetails /> }
    });
    leptos::task::tick().await;
    assert!(
        root.query_selector("img").unwrap().is_none(),
        "no <img> may be created from a class name"
    );
    assert!(root.query_selector("script").unwrap().is_none());
    assert!(root.query_selector("b").unwrap().is_none());
    let text = root.text_content().unwrap_or_default();
    assert!(
        text.contains(HOSTILE),
        "the class name is shown verbatim: {text}"
    );
    assert!(text.contains("<b>conv</b>"));
    assert!(text.contains("ignored key 'preds'"));
    let pwned = js_sys::Reflect::get(&window(), &"__pwned".into()).unwrap();
    assert!(pwned.is_undefined());
}

#[wasm_bindgen_test]
async fn the_class_list_follows_the_loaded_dataset() {
    let model = RwSignal::new(AppModel::default());
    let root = container();
    let _handle = leptos::mount::mount_to(root.clone(), move || {
        Ui::provide(model);
        view! { <ClassList /> }
    });
    leptos::task::tick().await;
    assert_eq!(root.query_selector_all(".class-item").unwrap().length(), 0);
    let request_id = model
        .try_update(|m| m.begin("test", topoact_app::ui::model::Purpose::Load(None)))
        .unwrap();
    model.update(|m| {
        m.on_worker_answer(FromWorker::Loaded {
            request_id,
            summary: hostile_summary(),
            elapsed_ms: 5.0,
            bytes_read: 10,
            source: topoact_app::vocabulary::DatasetRef::Demo,
        })
    });
    leptos::task::tick().await;
    assert_eq!(root.query_selector_all(".class-item").unwrap().length(), 1);
}

#[wasm_bindgen_test]
async fn a_view_of_a_slice_re_runs_only_when_the_slice_changes() {
    use std::cell::Cell;
    use std::rc::Rc;
    use topoact_app::ui::model::UserAction;
    let runs = Rc::new(Cell::new(0usize));
    let handle: Rc<Cell<Option<(Ui, Memo<bool>)>>> = Rc::new(Cell::new(None));
    let _mounted = leptos::mount::mount_to(container(), {
        let (runs, handle) = (runs.clone(), handle.clone());
        move || {
            let ui = Ui::provide(RwSignal::new(AppModel::default()));
            let glyphs = ui.select(|m| m.session.show_glyphs);
            handle.set(Some((ui, glyphs)));
            Effect::new(move |_| {
                glyphs.with(|_| ());
                runs.set(runs.get() + 1);
            });
            view! { <span></span> }
        }
    });
    let (ui, glyphs) = handle.get().unwrap();
    leptos::task::tick().await;
    assert_eq!(runs.get(), 1);
    // Other parts of the model change: the slice does not.
    ui.act(UserAction::ShowStatus("Cancelled.".into()));
    ui.act(UserAction::SetJaccardThreshold(0.4));
    leptos::task::tick().await;
    assert_eq!(runs.get(), 1, "nothing it shows changed");
    assert_eq!(ui.status.get_untracked(), "Cancelled.");
    assert_eq!(ui.session.with_untracked(|s| s.jaccard_threshold), 0.4);
    ui.act(UserAction::SetGlyphs(true));
    leptos::task::tick().await;
    assert_eq!(runs.get(), 2);
    assert!(glyphs.get_untracked());
}
