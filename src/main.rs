//! The UI thread's entry point: mounts the app.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(topoact_app::ui::App);
}
