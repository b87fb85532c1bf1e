//! "Copy link" beside the dataset name: the view on screen is written into the fragment at
//! once (not after the usual quiet time, `link::write_now`), and the page's address is put
//! on the clipboard; "Link copied" says so for a few seconds. Where the clipboard is missing
//! (a page that is not secure) or refuses (permissions, an unfocused page), the link is shown
//! in a read-only field, selected, to copy by hand: the button never fails silently.

use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::context::use_ui;
use super::link::{self, ViewSignals};

/// How long "Link copied" stays.
const COPIED_FOR_MS: u32 = 3_000;

/// What the last click did.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Idle,
    Copied,
    /// No clipboard, or it refused: this link, to copy by hand.
    CopyByHand(String),
    /// The view does not fit in a link.
    Failed(String),
}

/// The page's clipboard, when the browser offers one that can write text (only secure
/// pages have it).
fn clipboard() -> Option<web_sys::Clipboard> {
    let navigator = window().navigator();
    let clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into()).ok()?;
    if clipboard.is_undefined() || clipboard.is_null() {
        return None;
    }
    let write_text = js_sys::Reflect::get(&clipboard, &"writeText".into()).ok()?;
    write_text.is_function().then(|| clipboard.unchecked_into())
}

#[component]
pub fn CopyLink() -> impl IntoView {
    let ui = use_ui();
    let signals = use_context::<ViewSignals>();
    let outcome = RwSignal::new(Outcome::Idle);
    let hide_timer = StoredValue::new_local(None::<Timeout>);
    let field_ref = NodeRef::<leptos::html::Input>::new();

    let copy = move |_| {
        // Dropping a timer cancels it.
        hide_timer.set_value(None);
        if let Some(signals) = signals {
            if let Err(message) = link::write_now(ui, signals) {
                outcome.set(Outcome::Failed(message));
                return;
            }
        }
        let href = window().location().href().unwrap_or_default();
        let Some(clipboard) = clipboard() else {
            outcome.set(Outcome::CopyByHand(href));
            return;
        };
        let written = clipboard.write_text(&href);
        leptos::task::spawn_local(async move {
            let next = match wasm_bindgen_futures::JsFuture::from(written).await {
                Ok(_) => Outcome::Copied,
                Err(_) => Outcome::CopyByHand(href),
            };
            let copied = next == Outcome::Copied;
            if outcome.try_set(next).is_some() {
                return; // the header is gone
            }
            if copied {
                let hide = Timeout::new(COPIED_FOR_MS, move || {
                    outcome.try_update(|o| {
                        if *o == Outcome::Copied {
                            *o = Outcome::Idle;
                        }
                    });
                });
                hide_timer.try_update_value(|timer| *timer = Some(hide));
            }
        });
    };
    // A link to copy by hand is the view's of that moment: another view takes it away.
    Effect::new(move |previous: Option<()>| {
        ui.session.with(|_| ());
        if previous.is_some() {
            outcome.update(|o| {
                if matches!(o, Outcome::CopyByHand(_)) {
                    *o = Outcome::Idle;
                }
            });
        }
    });
    // The field is selected once it is on the page, ready for Ctrl+C.
    Effect::new(move |_| {
        if let Some(field) = field_ref.get() {
            Timeout::new(0, move || {
                if field.is_connected() {
                    let _ = field.focus();
                    field.select();
                }
            })
            .forget();
        }
    });

    let status = move || match outcome.get() {
        Outcome::Idle => None,
        Outcome::Copied => Some("Link copied".to_string()),
        Outcome::CopyByHand(_) => Some("Copy this link".to_string()),
        Outcome::Failed(message) => Some(message),
    };
    view! {
        <span class="copy-link">
            <button class="button" data-testid="copy-link" title="Copy the link to this view"
                on:click=copy>"Copy link"</button>
            {move || status().map(|text| view! {
                <span class="copy-link-status" data-testid="copy-link-status" role="status">{text}</span>
            })}
            {move || match outcome.get() {
                Outcome::CopyByHand(href) => Some(view! {
                    <input node_ref=field_ref type="text" readonly class="copy-link-field"
                        data-testid="copy-link-field" aria-label="Link to this view" prop:value=href
                        on:focus=move |event| {
                            if let Some(field) = event.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                field.select();
                            }
                        } />
                    <button class="button copy-link-close" data-testid="copy-link-close" aria-label="Close"
                        on:click=move |_| outcome.set(Outcome::Idle)>"×"</button>
                }),
                _ => None,
            }}
        </span>
    }
}
