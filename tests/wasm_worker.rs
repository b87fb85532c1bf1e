//! wasm-bindgen tests that run inside a dedicated Web Worker in headless Chromium: the
//! worker's `File` reader (FileReaderSync exists only in workers) feeding the core parsers.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Uint8Array};
use topoact_app::worker::JsFileSource;
use topoact_core::formats::{load_dataset, ByteSource, LoadOptions, NamedSource};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// A C-order little-endian float32 `.npy` file.
fn npy_f32(rows: usize, cols: usize, values: &[f32]) -> Vec<u8> {
    let mut dict =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    dict.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    for value in values {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

fn js_file(name: &str, bytes: &[u8]) -> web_sys::File {
    let parts = Array::of1(&Uint8Array::from(bytes));
    web_sys::File::new_with_u8_array_sequence(&parts, name).expect("File constructor")
}

#[wasm_bindgen_test]
fn a_js_file_is_read_slice_by_slice() {
    let bytes: Vec<u8> = (0..=255).collect();
    let mut source = JsFileSource::new(js_file("bytes.bin", &bytes));
    assert_eq!(source.len(), 256);
    let mut buf = [0u8; 5];
    source.read_at(100, &mut buf).expect("read inside the file");
    assert_eq!(buf, [100, 101, 102, 103, 104]);
    let mut past_end = [0u8; 10];
    assert!(
        source.read_at(250, &mut past_end).is_err(),
        "reading past the end is an error, not a panic"
    );
}

#[wasm_bindgen_test]
fn an_npy_file_is_parsed_from_a_js_file() {
    let values: Vec<f32> = (0..12).map(|v| v as f32 * 0.5).collect();
    let file = js_file("acts.npy", &npy_f32(4, 3, &values));
    let sources = vec![NamedSource {
        file_name: "acts.npy".to_string(),
        source: JsFileSource::new(file),
    }];
    let dataset = load_dataset(sources, &LoadOptions::default()).expect("a valid npy loads");
    assert_eq!(dataset.n_samples(), 4);
    assert_eq!(dataset.layers.len(), 1);
    assert_eq!(dataset.layers[0].activations.n_cols(), 3);
    let mut row = [0f64; 3];
    dataset.layers[0].activations.row_into_f64(2, &mut row);
    assert_eq!(row, [3.0, 3.5, 4.0]);
}

#[wasm_bindgen_test]
fn a_truncated_file_from_the_browser_is_an_error() {
    let values: Vec<f32> = (0..12).map(|v| v as f32).collect();
    let mut bytes = npy_f32(4, 3, &values);
    bytes.truncate(bytes.len() - 5);
    let file = js_file("cut.npy", &bytes);
    let sources = vec![NamedSource {
        file_name: "cut.npy".to_string(),
        source: JsFileSource::new(file),
    }];
    let message = load_dataset(sources, &LoadOptions::default())
        .expect_err("a cut file must not load")
        .to_string();
    assert!(message.contains("cut.npy"), "{message}");
}

/// The layout is bit-identical in the browser and natively: the same fingerprint as the
/// native test `positions_match_the_recorded_fingerprint` in crates/topoact-core/tests/layout.rs.
#[wasm_bindgen_test]
fn the_layout_in_the_browser_is_bit_identical_to_the_native_one() {
    use topoact_core::layout::{compute_layout, synthetic::mapper_like_graph, LayoutParams};
    const NATIVE_FINGERPRINT: u64 = 0x9e40_36ab_bb48_0d64;
    let layout =
        compute_layout(&mapper_like_graph(60, 5), &LayoutParams::default()).expect("valid input");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for value in layout.positions.iter().flatten() {
        for byte in value.to_bits().to_le_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    assert_eq!(hash, NATIVE_FINGERPRINT, "got {hash:#018x}");
}

/// The worker's yield: two jobs interleaved (a graph and a projection) each have a yield
/// outstanding at once, and both must come back. Also measures what a yield costs through a
/// message channel against a zero-length timeout (printed, not asserted: shared machines).
#[wasm_bindgen_test]
async fn yields_come_back_together_and_cost_less_than_a_timeout() {
    use topoact_app::worker::{channel_yield, timeout_yield};
    let both = async {
        let first = channel_yield();
        let second = channel_yield();
        // Polled in turn: the second yield is created while the first is outstanding.
        let (first, second) = (Box::pin(first), Box::pin(second));
        futures_join(first, second).await;
    };
    both.await;
    let time = |now: &web_sys::WorkerGlobalScope| now.performance().map(|p| p.now()).unwrap_or(0.0);
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    const ROUNDS: usize = 100;
    let started = time(&scope);
    for _ in 0..ROUNDS {
        timeout_yield().await;
    }
    let timeout_ms = (time(&scope) - started) / ROUNDS as f64;
    let started = time(&scope);
    for _ in 0..ROUNDS {
        channel_yield().await;
    }
    let channel_ms = (time(&scope) - started) / ROUNDS as f64;
    console_log!("one yield: timeout {timeout_ms:.3} ms, message channel {channel_ms:.3} ms");
}

/// Awaits two futures polled together (no executor crate needed).
async fn futures_join<
    A: std::future::Future<Output = ()> + Unpin,
    B: std::future::Future<Output = ()> + Unpin,
>(
    mut a: A,
    mut b: B,
) {
    use std::task::Poll;
    let (mut a_done, mut b_done) = (false, false);
    std::future::poll_fn(move |cx| {
        if !a_done {
            a_done = std::pin::Pin::new(&mut a).poll(cx).is_ready();
        }
        if !b_done {
            b_done = std::pin::Pin::new(&mut b).poll(cx).is_ready();
        }
        if a_done && b_done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Coordinates and point values cross the worker boundary as one `Uint8Array` each (not one
/// boxed number per byte), and read back to the same answer.
#[wasm_bindgen_test]
fn byte_fields_cross_the_boundary_as_typed_arrays() {
    use topoact_app::protocol::{
        boundary_serializer, coords_to_le_bytes, DrawnProjection, FromWorker, ProjectionMethod,
        ProjectionRequest, SampleValues, SampleValuesOf, SubsampleChoice,
    };
    let frame = FromWorker::ProjectionFrame {
        request_id: 7,
        projection: DrawnProjection {
            request: ProjectionRequest {
                layer: "head".into(),
                subsample: SubsampleChoice {
                    size: None,
                    seed: 0,
                },
                method: ProjectionMethod::DEFAULT_UMAP,
                seed: 0,
            },
            sample_indices: vec![0, 1, 2],
            labels: vec![0, 1, u32::MAX],
            coords_le: coords_to_le_bytes(&[0.5, -1.0, 2.0, 3.5, -0.25, 1e6]),
            norms: vec![1.0, 2.0, 3.0],
            complete: false,
            stage: "UMAP epoch 10/200".into(),
            knn_ms: 1.0,
            elapsed_ms: 2.0,
            knn_exact: true,
        },
    };
    let value = serde::Serialize::serialize(&frame, &boundary_serializer()).expect("encodes");
    let projection = js_sys::Reflect::get(&value, &"projection".into()).expect("projection");
    let coords = js_sys::Reflect::get(&projection, &"coords_le".into()).expect("coordinates");
    assert!(
        coords.is_instance_of::<Uint8Array>(),
        "coordinates: {coords:?}"
    );
    let back: FromWorker = serde_wasm_bindgen::from_value(value).expect("decodes");
    assert_eq!(back, frame);

    let values = FromWorker::SampleValues {
        request_id: 8,
        values: SampleValues {
            of: SampleValuesOf::Column("confidence".into()),
            categories: vec![],
            range: Some((0.25, 1.0)),
            values_le: [0.25f32, f32::NAN, 1.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        },
    };
    let value = serde::Serialize::serialize(&values, &boundary_serializer()).expect("encodes");
    let inner = js_sys::Reflect::get(&value, &"values".into()).expect("values");
    let bytes = js_sys::Reflect::get(&inner, &"values_le".into()).expect("bytes");
    assert!(bytes.is_instance_of::<Uint8Array>());
    let back: FromWorker = serde_wasm_bindgen::from_value(value).expect("decodes");
    let FromWorker::SampleValues { values: back, .. } = back else {
        panic!("another answer")
    };
    let read = back.values();
    assert_eq!((read[0], read[2]), (0.25, 1.0));
    assert!(read[1].is_nan());
}
