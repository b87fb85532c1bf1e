//! The `topoact` binary end to end: synth -> mapper in every format; errors exit nonzero
//! with a message, never a panic.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_topoact"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("topoact-cli-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn synth_then_mapper_in_every_format() {
    let dir = temp_dir("formats");
    let data = dir.join("acts.npy");
    let status = bin()
        .args(["synth", "--n", "600", "--dim", "24", "--out"])
        .arg(&data)
        .status()
        .expect("run");
    assert!(status.success());
    for (format, key) in [
        ("kmapper", "simplices"),
        ("node-link", "links"),
        ("graph", "stats"),
    ] {
        let out = dir.join(format!("graph-{format}.json"));
        let output = bin()
            .arg("mapper")
            .arg(&data)
            .args([
                "--intervals",
                "10",
                "--overlap",
                "0.3",
                "--min-samples",
                "4",
                "--format",
                format,
                "--out",
            ])
            .arg(&out)
            .output()
            .expect("run");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("nodes"),
            "progress and summary on stderr: {stderr}"
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).expect("output")).expect("json");
        assert!(json.get(key).is_some(), "{format} output has {key}");
    }
    // Balanced cover, adaptive epsilon, explicit subsample.
    let out = dir.join("adaptive.json");
    let output = bin()
        .arg("mapper")
        .arg(&data)
        .args([
            "--cover",
            "balanced",
            "--eps-per-interval",
            "--subsample",
            "300",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errors_are_messages_and_nonzero_exits() {
    let dir = temp_dir("errors");
    let data = dir.join("acts.npy");
    assert!(bin()
        .args(["synth", "--n", "100", "--dim", "8", "--out"])
        .arg(&data)
        .status()
        .expect("run")
        .success());
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "mapper".into(),
                dir.join("missing.npy").display().to_string(),
            ],
            "cannot open",
        ),
        (
            vec![
                "mapper".into(),
                data.display().to_string(),
                "--layer".into(),
                "nope".into(),
            ],
            "no layer 'nope'",
        ),
        (
            vec![
                "mapper".into(),
                data.display().to_string(),
                "--intervals".into(),
                "0".into(),
            ],
            "intervals",
        ),
        (
            vec![
                "mapper".into(),
                data.display().to_string(),
                "--overlap".into(),
                "1.5".into(),
            ],
            "overlap",
        ),
        (
            vec![
                "mapper".into(),
                data.display().to_string(),
                "--eps=-1".into(),
            ],
            "epsilon",
        ),
        (
            vec![
                "mapper".into(),
                data.display().to_string(),
                "--min-samples".into(),
                "0".into(),
            ],
            "min_samples",
        ),
    ];
    for (args, expected) in cases {
        let output = bin()
            .args(&args)
            .arg("--out")
            .arg(dir.join("x.json"))
            .output()
            .expect("run");
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A float32 `.npy` (C order, little-endian) of `rows x cols`.
fn write_npy(path: &std::path::Path, rows: usize, cols: usize, values: &[f32]) {
    let mut dict =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    dict.push_str(&" ".repeat((64 - (10 + dict.len() + 1) % 64) % 64));
    dict.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    values
        .iter()
        .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    std::fs::write(path, bytes).expect("write npy");
}

#[test]
fn non_finite_rows_are_an_error_unless_dropped() {
    let dir = temp_dir("nonfinite");
    let data = dir.join("nan.npy");
    let (rows, cols) = (200, 3);
    let mut values: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 37) % 101) as f32 / 10.0)
        .collect();
    values[5 * cols + 1] = f32::NAN;
    values[9 * cols] = f32::INFINITY;
    write_npy(&data, rows, cols, &values);
    let out = dir.join("g.json");
    let refused = bin()
        .arg("mapper")
        .arg(&data)
        .args(["--intervals", "5", "--out"])
        .arg(&out)
        .output()
        .expect("run");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("NaN or infinity") && !stderr.contains("panicked"),
        "{stderr}"
    );
    let dropped = bin()
        .arg("mapper")
        .arg(&data)
        .args([
            "--drop-nonfinite",
            "--intervals",
            "5",
            "--format",
            "graph",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run");
    assert!(
        dropped.status.success(),
        "{}",
        String::from_utf8_lossy(&dropped.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("output")).expect("json");
    assert_eq!(json["n_samples_used"], serde_json::json!(rows - 2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn embed_writes_npy_and_csv_coordinates() {
    let dir = temp_dir("embed");
    let data = dir.join("acts.npy");
    assert!(bin()
        .args(["synth", "--n", "400", "--dim", "16", "--out"])
        .arg(&data)
        .status()
        .expect("run")
        .success());
    // UMAP to .npy: float32, 400 x 2.
    let out = dir.join("umap.npy");
    let output = bin()
        .arg("embed")
        .arg(&data)
        .args([
            "--method",
            "umap",
            "--neighbors",
            "10",
            "--min-dist",
            "0.1",
            "--seed",
            "2",
            "--quality",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("UMAP") && stderr.contains("nearest neighbours"),
        "progress on stderr: {stderr}"
    );
    let bytes = std::fs::read(&out).expect("output");
    assert!(bytes.starts_with(b"\x93NUMPY"));
    let header = String::from_utf8_lossy(&bytes[10..bytes.len().min(128)]);
    assert!(
        header.contains("'<f4'") && header.contains("(400, 2)"),
        "{header}"
    );
    // t-SNE of a subsample to .csv: header and one line per sampled row, original indices.
    let out = dir.join("tsne.csv");
    let output = bin()
        .arg("embed")
        .arg(&data)
        .args([
            "--method",
            "tsne",
            "--perplexity",
            "10",
            "--subsample",
            "150",
            "--seed",
            "1",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&out).expect("output");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("sample_idx,x,y"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            l.split(',')
                .map(|v| v.parse::<f64>().expect("number"))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 150);
    assert!(rows
        .iter()
        .all(|r| r.len() == 3 && r[0] < 400.0 && r[1].is_finite() && r[2].is_finite()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn embed_errors_are_messages() {
    let dir = temp_dir("embed-errors");
    let data = dir.join("acts.npy");
    assert!(bin()
        .args(["synth", "--n", "50", "--dim", "4", "--out"])
        .arg(&data)
        .status()
        .expect("run")
        .success());
    let out = dir.join("x.npy").display().to_string();
    let d = data.display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["embed", &d, "--method", "umap", "--out", "coords.txt"],
            ".npy or .csv",
        ),
        (
            vec![
                "embed",
                &d,
                "--method",
                "umap",
                "--perplexity",
                "5",
                "--out",
                &out,
            ],
            "--perplexity applies",
        ),
        (
            vec![
                "embed",
                &d,
                "--method",
                "tsne",
                "--neighbors",
                "5",
                "--out",
                &out,
            ],
            "apply to --method umap",
        ),
        (
            vec![
                "embed",
                &d,
                "--method",
                "umap",
                "--neighbors",
                "1",
                "--out",
                &out,
            ],
            "n_neighbors",
        ),
        (
            vec![
                "embed",
                &d,
                "--method",
                "umap",
                "--min-dist=-1",
                "--out",
                &out,
            ],
            "min_dist",
        ),
        (
            vec![
                "embed", &d, "--method", "umap", "--layer", "nope", "--out", &out,
            ],
            "no layer 'nope'",
        ),
    ];
    for (args, expected) in cases {
        let output = bin().args(&args).output().expect("run");
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
