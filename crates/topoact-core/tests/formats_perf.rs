//! Throughput of the loader on a generated 64 MB layer (ignored by default; run with
//! `cargo test --release -p topoact-core --test formats_perf -- --ignored --nocapture`).

use std::time::Instant;

use topoact_core::formats::{load_dataset, LoadOptions, NamedSource};

fn npy_f32(n_rows: usize, n_cols: usize, fortran: bool) -> Vec<u8> {
    let header = format!(
        "{{'descr': '<f4', 'fortran_order': {}, 'shape': ({n_rows}, {n_cols}), }}",
        if fortran { "True" } else { "False" }
    );
    let mut text = header.into_bytes();
    while (10 + text.len() + 1) % 64 != 0 {
        text.push(b' ');
    }
    text.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
    bytes.extend_from_slice(&text);
    bytes.reserve(n_rows * n_cols * 4);
    for value_idx in 0..n_rows * n_cols {
        bytes.extend_from_slice(&((value_idx % 1000) as f32).to_le_bytes());
    }
    bytes
}

#[test]
#[ignore]
fn throughput_of_a_64_mb_layer() {
    for fortran in [false, true] {
        let bytes = npy_f32(16_000, 1_000, fortran);
        let size_mb = bytes.len() as f64 / 1e6;
        let start = Instant::now();
        let dataset = load_dataset(
            vec![NamedSource::new("big.npy", bytes)],
            &LoadOptions::default(),
        )
        .unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(dataset.n_samples(), 16_000);
        println!(
            "fortran={fortran}: {size_mb:.0} MB in {secs:.3} s = {:.0} MB/s",
            size_mb / secs
        );
    }
}
