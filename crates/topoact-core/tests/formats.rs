//! Loads every fixture in tests/fixtures/formats (written by
//! tools/fixtures/make_format_fixtures.py with numpy 2.2.6) and checks shapes, values,
//! labels, class names, notices, and each error's message.

use std::path::PathBuf;

use half::f16;
use topoact_core::dataset::{Dataset, Matrix, ProjectionKind};
use topoact_core::formats::{
    load_dataset, FormatError, LoadJob, LoadOptions, NamedSource, ReadSeekSource,
};
use topoact_core::job::run_to_end;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name)
}

fn fixture(name: &str) -> NamedSource<Vec<u8>> {
    let bytes = std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    NamedSource::new(name, bytes)
}

fn load_with(names: &[&str], options: &LoadOptions) -> Result<Dataset, FormatError> {
    load_dataset(names.iter().map(|name| fixture(name)).collect(), options)
}

fn load(names: &[&str]) -> Dataset {
    load_with(names, &LoadOptions::default()).unwrap_or_else(|e| panic!("{names:?}: {e}"))
}

fn values_f64(matrix: &Matrix) -> Vec<f64> {
    matrix.to_f64().iter().copied().collect()
}

/// Loading `names` fails, and the message holds every one of `expected` (the "what" and
/// the "how to fix").
fn check_error(names: &[&str], expected: &[&str]) -> FormatError {
    let error = load_with(names, &LoadOptions::default()).expect_err("should fail");
    let message = error.to_string();
    for part in expected {
        assert!(
            message.contains(part),
            "{names:?}: message {message:?} lacks {part:?}"
        );
    }
    error
}

#[test]
fn basic_npz_has_every_part() {
    let dataset = load(&["basic.npz"]);
    assert_eq!(dataset.name, "toy shapes");
    assert_eq!(dataset.n_samples(), 6);
    let names: Vec<&str> = dataset.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["fc", "conv"], "meta.layers gives the order");
    let conv = &dataset.layer("conv").unwrap().activations;
    assert!(matches!(conv, Matrix::F32(_)));
    assert_eq!((conv.n_rows(), conv.n_cols()), (6, 4));
    assert_eq!(
        values_f64(conv),
        (0..24).map(|v| v as f64 / 8.0).collect::<Vec<_>>()
    );
    let fc = &dataset.layer("fc").unwrap().activations;
    assert_eq!(
        values_f64(fc),
        (0..18).map(|v| (v as f64 - 5.0) * 0.25).collect::<Vec<_>>()
    );
    assert_eq!(dataset.labels.as_deref(), Some(&[0, 1, 2, 0, 1, 2][..]));
    assert_eq!(
        dataset.class_names,
        ["cat", "dog", "<script>alert(\"x\")</script> & <b>bird</b>"]
    );
    let images = dataset.images.as_ref().unwrap();
    assert_eq!(
        (
            images.height,
            images.width,
            images.channels,
            images.n_images()
        ),
        (4, 4, 1, 6)
    );
    assert_eq!(images.image(1)[0], 16);
    let actimg = &dataset.activation_images["fc"];
    assert_eq!((actimg.height, actimg.width, actimg.channels), (4, 4, 3));
    assert_eq!(actimg.pixels.len(), 6 * 48);
    let tsne = &dataset.projections[&("fc".to_string(), ProjectionKind::Tsne)];
    assert_eq!(tsne[[5, 1]], 11.0);
    let umap = &dataset.projections[&("fc".to_string(), ProjectionKind::Umap)];
    assert_eq!(umap[[2, 0]], 1.0);
    let meta = dataset.meta.as_ref().unwrap();
    assert_eq!(meta["model"], "tiny-cnn");
    assert!(
        dataset.notices.iter().any(|n| n.contains("notes")),
        "{:?}",
        dataset.notices
    );
    assert_eq!(dataset.class_counts(), [2, 2, 2]);
}

#[test]
fn compressed_float16_stays_float16() {
    let dataset = load(&["compressed_f16.npz"]);
    let expected = load(&["expected_compressed_f16.npy"]);
    let (Matrix::F16(values), Matrix::F16(reference)) = (
        &dataset.layers[0].activations,
        &expected.layers[0].activations,
    ) else {
        panic!("float16 must stay float16");
    };
    assert_eq!(dataset.layers[0].name, "block1");
    assert_eq!(expected.layers[0].name, "expected_compressed_f16");
    assert_eq!(values.dim(), (20, 5));
    let bits = |a: &ndarray::Array2<f16>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(values), bits(reference));
    assert_eq!(dataset.class_names, ["çà va", "日本語", "🙂 smile"]);
    assert_eq!(dataset.labels.as_ref().unwrap()[..4], [0, 1, 2, 0]);
    assert_eq!(dataset.name, "compressed_f16.npz");
}

#[test]
fn big_endian_and_fortran_order_become_row_major() {
    let dataset = load(&["bigendian_fortran.npz"]);
    let be = &dataset.layer("be").unwrap().activations;
    assert!(matches!(be, Matrix::F64(_)));
    assert_eq!(
        values_f64(be),
        (0..15).map(|v| v as f64 + 0.5).collect::<Vec<_>>()
    );
    let fortran = &dataset.layer("fortran").unwrap().activations;
    assert_eq!(
        values_f64(fortran),
        (0..20).map(|v| v as f64).collect::<Vec<_>>()
    );
    assert_eq!(dataset.labels.as_deref(), Some(&[1, 0, 1, 0, 1][..]));
    assert_eq!(dataset.class_names, ["even", "odd"]);
    let images = dataset.images.as_ref().unwrap();
    assert_eq!((images.height, images.width, images.channels), (2, 3, 3));
    assert_eq!(images.pixels, (0..90).map(|v| v as u8).collect::<Vec<_>>());
}

#[test]
fn single_npy_with_each_kind_of_label_file() {
    let expected_values: Vec<f64> = (0..15).map(|v| v as f64).collect();
    let plain = load(&["single.npy"]);
    assert_eq!(plain.name, "single.npy");
    assert_eq!(plain.layers[0].name, "single");
    assert_eq!(values_f64(&plain.layers[0].activations), expected_values);
    assert!(plain.labels.is_none());

    let with_npy = load(&["single.npy", "single_labels.npy"]);
    assert_eq!(with_npy.labels.as_deref(), Some(&[2, 0, 1, 1, 0][..]));
    assert_eq!(with_npy.class_names, ["0", "1", "2"], "made-up names");
    assert!(with_npy
        .notices
        .iter()
        .any(|n| n.contains("no class names")));

    let with_csv = load(&["single.npy", "single_labels.csv"]);
    assert_eq!(with_csv.labels.as_deref(), Some(&[2, 0, 1, 1, 0][..]));
    assert_eq!(
        with_csv.class_names,
        ["zero", "one \"1\"", "<i>two</i>, quoted"]
    );

    let with_json = load(&["single_labels.json", "single.npy"]);
    assert_eq!(with_json.labels.as_deref(), Some(&[2, 0, 1, 1, 0][..]));
    assert_eq!(with_json.class_names, ["a", "b", "c"]);
    assert_eq!(
        with_json.name, "single_labels.json",
        "the first file names the dataset"
    );
}

#[test]
fn npy_version_2_header() {
    let dataset = load(&["v2_header.npy"]);
    assert_eq!(values_f64(&dataset.layers[0].activations), vec![1.0; 6]);
}

#[test]
fn safetensors_with_metadata_and_bf16() {
    let dataset = load(&["tensors.safetensors"]);
    assert_eq!(dataset.name, "st data");
    let names: Vec<&str> = dataset.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["y", "x"]);
    let x = values_f64(&dataset.layer("x").unwrap().activations);
    assert_eq!(x, (0..12).map(|v| v as f64 - 2.0).collect::<Vec<_>>());
    let y = &dataset.layer("y").unwrap().activations;
    assert!(matches!(y, Matrix::F32(_)), "BF16 widens to f32");
    assert_eq!(values_f64(y), x);
    assert_eq!(dataset.labels.as_deref(), Some(&[1, 0, 1, 0][..]));
    assert_eq!(dataset.class_names, ["neg", "<pos>"]);
    assert_eq!(dataset.images.as_ref().unwrap().pixels.len(), 16);
    assert!(dataset.notices.iter().any(|n| n.contains("extra")));
}

#[test]
fn files_written_by_numpy_itself() {
    for name in ["numpy_savez.npz", "numpy_savez_compressed.npz"] {
        let dataset = load(&[name]);
        assert_eq!(dataset.layers[0].name, "layer1");
        assert_eq!(
            values_f64(&dataset.layers[0].activations),
            (0..24).map(|v| v as f64 / 8.0).collect::<Vec<_>>()
        );
        assert_eq!(dataset.labels.as_deref(), Some(&[0, 1, 2, 0, 1, 2][..]));
    }
}

#[test]
fn read_seek_source_over_a_file() {
    let file = std::fs::File::open(fixture_path("basic.npz")).unwrap();
    let source = ReadSeekSource::new(file).unwrap();
    let dataset = load_dataset(
        vec![NamedSource::new("basic.npz", source)],
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(dataset.n_samples(), 6);
}

#[test]
fn non_finite_rows_are_reported_per_layer() {
    let error = check_error(
        &["nonfinite.npz"],
        &[
            "layer 'a': 2 row(s), first at sample 1, 3",
            "layer 'b': 1 row(s), first at sample 4",
            "drop non-finite",
        ],
    );
    let FormatError::NonFiniteActivations { layers } = error else {
        panic!("{error:?}")
    };
    assert_eq!(layers[0].first_sample_idxs, [1, 3]);
}

#[test]
fn non_finite_rows_can_be_dropped_from_everything() {
    let options = LoadOptions {
        drop_nonfinite: true,
        ..LoadOptions::default()
    };
    let dataset = load_with(&["nonfinite.npz"], &options).unwrap();
    assert_eq!(dataset.n_samples(), 3);
    let kept = [0usize, 2, 5];
    assert_eq!(
        values_f64(&dataset.layer("a").unwrap().activations),
        kept.iter()
            .flat_map(|&r| [2 * r, 2 * r + 1])
            .map(|v| v as f64)
            .collect::<Vec<_>>()
    );
    assert_eq!(dataset.layer("b").unwrap().activations.n_rows(), 3);
    assert_eq!(dataset.labels.as_deref(), Some(&[0, 0, 1][..]));
    let images = dataset.images.as_ref().unwrap();
    assert_eq!(images.image(2), &[20, 21, 22, 23]);
    let tsne = &dataset.projections[&("a".to_string(), ProjectionKind::Tsne)];
    assert_eq!(tsne.row(1).to_vec(), [4.0, 5.0]);
    assert_eq!(dataset.predictions.as_deref(), Some(&[1, 0, 1][..]));
    assert_eq!(
        dataset.column("weight").unwrap().values,
        topoact_core::columns::ColumnValues::Numbers(vec![0.0, 1.0, 2.5])
    );
    assert!(
        dataset
            .notices
            .iter()
            .any(|n| n.contains("dropped 3 of 6 samples")),
        "{:?}",
        dataset.notices
    );
}

#[test]
fn memory_budget_is_checked_before_reading() {
    let options = LoadOptions {
        max_total_bytes: 200,
        drop_nonfinite: false,
    };
    let error = load_with(&["basic.npz"], &options).unwrap_err();
    assert!(matches!(error, FormatError::TooLarge { .. }));
    let message = error.to_string();
    assert!(
        message.contains("subsample") && message.contains("float16"),
        "{message}"
    );
}

#[test]
fn progress_is_reported_in_bytes() {
    let mut job = LoadJob::new(vec![fixture("basic.npz")], LoadOptions::default()).unwrap();
    let mut reports = Vec::new();
    let dataset = run_to_end(&mut job, |p| reports.push(p.clone())).unwrap();
    assert_eq!(dataset.layers.len(), 2);
    assert!(reports.windows(2).all(|w| w[0].done <= w[1].done));
    let last = reports.last().unwrap();
    assert_eq!(last.done, last.total);
    assert!(reports.iter().any(|p| p.stage.contains("act_conv")));
}

#[test]
fn each_bad_input_has_a_clear_message() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["bad_truncated.npy"], &["truncated", "save it again"]),
        (&["bad_magic.npy"], &["not a valid .npy", "'GIF89a'"]),
        (
            &["bad_header_lies.npy"],
            &["announces 1600 bytes", "80 bytes are stored"],
        ),
        (
            &["bad_complex.npz"],
            &["<c8", "cannot be used as activations", "np.abs"],
        ),
        (&["bad_object.npy"], &["|O", "pickle"]),
        (
            &["bad_strings_act.npz"],
            &["<U1", "strings are only read as class_names"],
        ),
        (&["bad_zero_rows.npz"], &["zero rows", "act_empty"]),
        (&["bad_zero_cols.npz"], &["zero columns"]),
        (&["bad_row_mismatch.npz"], &["'act_b') has 4 rows", "has 5"]),
        (
            &["bad_labels_mismatch.npz"],
            &["'labels') has 4 rows", "one row per sample"],
        ),
        (
            &["bad_label_range.npz"],
            &["label 5 of sample 2", "3 class names"],
        ),
        (
            &["bad_negative_label.npz"],
            &["label -1 of sample 1 is negative"],
        ),
        (
            &["dup_a.npz", "x.npy"],
            &["layer name 'x' appears twice", "unique"],
        ),
        (
            &["single.npy", "single_labels.npy", "single_labels.csv"],
            &["labels are given more than once"],
        ),
        (&["bad_meta.npz"], &["meta", "not JSON"]),
        (&["bad_zip_bomb.npz"], &["zip bomb", "8388"]),
        (&["bad_crc.npz"], &["CRC-32"]),
        (&["bad_truncated.npz"], &["'bad_truncated.npz'"]),
        (&["bad_header.safetensors"], &["more than 100 MB"]),
        (&["single.npy", "v2_header.npy"], &["has 3 rows", "has 5"]),
        (&["single_labels.csv"], &["no activation matrix"]),
        (&["notes.txt"], &["unsupported file type"]),
        (&[], &["no file was given"]),
    ];
    for (names, expected) in cases {
        if names == &["notes.txt"] {
            let error = LoadJob::new(
                vec![NamedSource::new("notes.txt", Vec::new())],
                LoadOptions::default(),
            )
            .err()
            .unwrap();
            assert!(error.to_string().contains(expected[0]));
            continue;
        }
        check_error(names, expected);
    }
}

#[test]
fn invalid_code_points_are_replaced_with_a_notice() {
    let dataset = load(&["bad_unicode.npz"]);
    assert_eq!(dataset.class_names, ["ok", "\u{fffd}ad"]);
    assert!(dataset.notices.iter().any(|n| n.contains("U+FFFD")));
}

#[test]
fn label_file_errors_point_at_the_line() {
    let bad_csv = NamedSource::new("l.csv", b"label\n0\nx\n".to_vec());
    let npy = fixture("x.npy");
    let error = load_dataset(vec![npy, bad_csv], &LoadOptions::default()).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("line 3")
            && message.contains("'x' is not an integer")
            && message.contains("label,class_name"),
        "{message}"
    );
    let bad_json = NamedSource::new("l.json", br#"{"labels": [0, "a"]}"#.to_vec());
    let error =
        load_dataset(vec![fixture("x.npy"), bad_json], &LoadOptions::default()).unwrap_err();
    assert!(error.to_string().contains("labels[1] is not an integer"));
}

/// Every good fixture loads to the same dataset whatever the chunk size, so chunk
/// boundaries (mid-row, mid-Fortran-column, mid-deflate-block) change nothing.
#[test]
fn tiny_chunks_give_the_same_dataset() {
    let good: &[&[&str]] = &[
        &["basic.npz"],
        &["compressed_f16.npz"],
        &["bigendian_fortran.npz"],
        &["single.npy", "single_labels.csv"],
        &["tensors.safetensors"],
        &["numpy_savez_compressed.npz"],
    ];
    for names in good {
        let reference = format!("{:?}", load(names));
        for chunk_bytes in [1, 3, 8, 100] {
            let files = names.iter().map(|name| fixture(name)).collect();
            let mut job = LoadJob::new(files, LoadOptions::default())
                .unwrap()
                .with_chunk_bytes(chunk_bytes);
            let mut steps = 0usize;
            let dataset = run_to_end(&mut job, |_| steps += 1).unwrap();
            assert_eq!(
                format!("{dataset:?}"),
                reference,
                "{names:?} with {chunk_bytes}-byte chunks"
            );
            assert!(steps > 3);
        }
    }
    // A chunk's CRC-32 is hashed while the next one is read: a damaged entry is still
    // refused whichever chunk holds the damage.
    for chunk_bytes in [1, 3, 8, 100] {
        let mut job = LoadJob::new(vec![fixture("bad_crc.npz")], LoadOptions::default())
            .unwrap()
            .with_chunk_bytes(chunk_bytes);
        let error = run_to_end(&mut job, |_| {}).unwrap_err();
        assert!(
            error.to_string().contains("CRC-32"),
            "{chunk_bytes}: {error}"
        );
    }
}

/// A minimal `.npy` writer for in-memory cases the fixtures do not cover.
fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut text =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}").into_bytes();
    while (10 + text.len() + 1) % 64 != 0 {
        text.push(b' ');
    }
    text.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
    bytes.extend_from_slice(&text);
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn npy_files_named_like_npz_keys() {
    let act: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let files = vec![
        NamedSource::new("act_block1.npy", npy("<f4", "(2, 2)", &act)),
        NamedSource::new("labels.npy", npy("<u2", "(2, 1)", &[1, 0, 0, 0])),
        NamedSource::new("images.npy", npy("|u1", "(2, 1, 2)", &[9, 8, 7, 6])),
        NamedSource::new(
            "class_names.npy",
            npy("<U1", "(2,)", &[b'a', 0, 0, 0, b'b', 0, 0, 0]),
        ),
    ];
    let dataset = load_dataset(files, &LoadOptions::default()).unwrap();
    assert_eq!(dataset.layers[0].name, "block1");
    assert_eq!(dataset.labels.as_deref(), Some(&[1, 0][..]));
    assert_eq!(dataset.class_names, ["a", "b"]);
    assert_eq!(dataset.images.as_ref().unwrap().image(1), &[7, 6]);
}

/// Bad per-sample columns each get a notice and the rest loads: an infinity leaves its
/// column out, NaN is a missing value, a column of another length is not a column, and
/// predictions outside the classes are kept as a plain column.
#[test]
fn bad_columns_are_named_and_the_rest_loads() {
    let dataset = load(&["bad_columns.npz"]);
    assert_eq!(dataset.layers.len(), 1);
    assert_eq!(dataset.labels.as_deref(), Some(&[0, 1, 0][..]));
    // Out-of-range predictions are not predictions.
    assert_eq!(dataset.predictions, None);
    let names: Vec<&str> = dataset.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["predictions", "loss"]);
    let notices = dataset.notices.join("\n");
    for expected in [
        "7 is outside 0 to 1",
        "column confidence (bad_columns.npz) holds 1 infinite value(s): it is left out",
        "column loss (bad_columns.npz): 1 of 3 values are NaN, read as missing",
        "margin",
    ] {
        assert!(notices.contains(expected), "{expected:?} in {notices}");
    }
}

#[test]
fn extra_per_sample_arrays_become_columns_and_preds_the_predictions() {
    use topoact_core::columns::{ColumnKind, ColumnValues};
    let dataset = load(&["columns.npz"]);
    assert_eq!(dataset.predictions, Some(vec![0, 2, 2, 0, 0]));
    let names: Vec<&str> = dataset.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["confidence", "loss", "split", "correct", "fold"]);
    let column = |name: &str| dataset.column(name).unwrap();
    match &column("confidence").values {
        ColumnValues::Numbers(values) => {
            let expected = [0.9f32, 0.4, 0.8, 0.55, 0.7].map(f64::from);
            assert_eq!(values, &expected.to_vec());
        }
        other => panic!("confidence: {other:?}"),
    }
    match &column("loss").values {
        ColumnValues::Numbers(values) => {
            assert_eq!(values.len(), 5);
            assert!(values[1].is_nan());
            assert_eq!(values[3], 1.5);
        }
        other => panic!("loss: {other:?}"),
    }
    assert_eq!(
        column("split").values,
        ColumnValues::Text(
            ["train", "test", "train", "val", "train"]
                .map(String::from)
                .to_vec()
        )
    );
    assert_eq!(
        column("correct").values,
        ColumnValues::Integers(vec![1, 0, 1, 0, 1])
    );
    assert_eq!(
        column("fold").values,
        ColumnValues::Integers(vec![0, 1, 2, 0, 1])
    );
    let summary = dataset.summary();
    assert!(summary.has_predictions);
    let kinds: Vec<(String, ColumnKind)> = summary
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.kind))
        .collect();
    assert_eq!(kinds[0], ("confidence".into(), ColumnKind::Numeric));
    assert_eq!(kinds[2], ("split".into(), ColumnKind::Categorical));
    assert_eq!(summary.columns[1].n_missing, 1);
    // Not per sample: a 1-D array of another length, and a 2-D extra array.
    let notices = dataset.notices.join("\n");
    assert!(notices.contains("per_class_bias"), "{notices}");
    assert!(
        notices.contains("their length differs from the 5 samples"),
        "{notices}"
    );
    assert!(notices.contains("ignored key(s) logits"), "{notices}");
}

#[test]
fn safetensors_columns_and_predictions() {
    use topoact_core::columns::ColumnValues;
    let dataset = load(&["columns.safetensors"]);
    assert_eq!(dataset.class_names, ["left", "right"]);
    assert_eq!(dataset.predictions, Some(vec![1, 0, 1]));
    assert_eq!(dataset.columns.len(), 1);
    assert_eq!(dataset.columns[0].name, "margin");
    assert_eq!(
        dataset.columns[0].values,
        ColumnValues::Numbers(vec![0.5, -1.0, 2.0])
    );
}
