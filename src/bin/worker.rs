//! The compute worker's entry point (runs in a dedicated Web Worker).

fn main() {
    topoact_app::worker::start_worker();
}
