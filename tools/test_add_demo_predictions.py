"""Tests for tools/add_demo_predictions.py on a small synthetic activation file.

Needs numpy and scikit-learn (e.g. /work/.venv-demo-probe or /work/.venv-demo); skipped otherwise:

    /work/.venv-demo-probe/bin/python -m pytest tools/test_add_demo_predictions.py -q
"""

import json
import os
import sys

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import add_demo_predictions as adp  # noqa: E402

CLASSES = ["a", "b", "c"]
N = 150


def _write(path):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), N // 3).astype(np.int64)
    centres = rng.normal(0, 3, size=(3, 6))
    deep = (centres[labels] + rng.normal(0, 1.5, size=(N, 6))).astype(np.float16)
    arrays = {
        "act_shallow": rng.normal(size=(N, 4)).astype(np.float16),
        "act_deep": deep,
        "images": rng.integers(0, 256, size=(N, 5, 5), dtype=np.uint8),
        "labels": labels,
        "class_names": np.array(CLASSES),
        "meta": np.array(json.dumps({"name": "t", "layers": ["shallow", "deep"]})),
    }
    np.savez_compressed(path, **arrays)
    return arrays


def _provenance(path):
    path.write_text("# P\n\n## Sanity\ntext\n\n## File\nold line\n\n| key |\n\n`meta` (JSON):\n```json\n{}\n```\n\n## Versions\n- x\n")


def test_adds_out_of_fold_probe_predictions_and_keeps_the_rest(tmp_path):
    npz = tmp_path / "d.npz"
    before = _write(str(npz))
    prov = tmp_path / "PROVENANCE.md"
    _provenance(prov)
    assert adp.main([str(npz), "--threads", "1"]) == 0
    with np.load(npz) as z:
        assert z.files == list(before) + ["preds", "confidence"]
        for k, a in before.items():
            assert z[k].dtype == a.dtype and z[k].shape == a.shape
            assert z[k].tobytes() == a.tobytes(), k
        preds, conf = z["preds"], z["confidence"]
    assert preds.dtype == np.int64 and preds.shape == (N,)
    assert conf.dtype == np.float32 and conf.shape == (N,)
    assert preds.min() >= 0 and preds.max() < 3
    assert (conf >= 1 / 3 - 1e-6).all() and (conf <= 1).all()
    assert (preds == before["labels"]).mean() > 0.8  # separable clusters in the deepest layer

    # the same as an independent out-of-fold computation on the deepest layer (as float64)
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    proba = cross_val_predict(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=1.0)),
        before["act_deep"].astype(np.float64), before["labels"],
        cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba",
    )
    np.testing.assert_array_equal(preds, proba.argmax(1))
    np.testing.assert_allclose(conf, proba.max(1), rtol=1e-6)

    text = prov.read_text()
    assert text.count("## Predictions") == 1
    assert text.index("## Predictions") < text.index("## File") < text.index("`meta` (JSON)")
    assert adp.sha256_of(str(npz)) in text and "old line" not in text
    assert "| `preds` | 150 | int64 |" in text and "## Versions" in text


def test_refuses_existing_predictions_unless_forced(tmp_path):
    npz = tmp_path / "d.npz"
    _write(str(npz))
    assert adp.main([str(npz), "--no-provenance", "--threads", "1"]) == 0
    first = np.load(npz)["preds"]
    with pytest.raises(SystemExit, match="already has"):
        adp.main([str(npz), "--no-provenance"])
    prov = tmp_path / "P.md"
    _provenance(prov)
    assert adp.main([str(npz), "--force", "--provenance", str(prov), "--threads", "1"]) == 0
    assert adp.main([str(npz), "--force", "--provenance", str(prov), "--threads", "1"]) == 0
    assert prov.read_text().count("## Predictions") == 1  # replaced, not appended
    with np.load(npz) as z:
        assert z.files.count("preds") == 1
        np.testing.assert_array_equal(z["preds"], first)
