"""Tests for tools/export_activations.py on a tiny random model and synthetic data.

Needs numpy and torch (e.g. the /work/.venv-demo environment); skipped cleanly otherwise:

    /work/.venv-demo/bin/python -m pytest tools/test_export_activations.py -q

(The projection test also needs scikit-learn and is skipped without it.)
"""

import json
import os
import sys

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_activations as ea  # noqa: E402

N = 23  # not a multiple of the batch size
CLASSES = ["circle", "square", "triangle"]


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU())
        self.blocks = torch.nn.Sequential(
            torch.nn.Conv2d(4, 6, 3, stride=2, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(6, 8, 3, stride=2, padding=1),
        )
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(8, len(CLASSES))

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(self.pool(x).flatten(1))


class Synthetic(torch.utils.data.Dataset):
    def __init__(self, n=N, with_thumbs=False):
        g = torch.Generator().manual_seed(1)
        self.x = torch.rand(n, 3, 16, 16, generator=g)
        self.y = torch.arange(n) % len(CLASSES)
        self.with_thumbs = with_thumbs

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        if self.with_thumbs:
            thumb = (self.x[i, 0] * 255).to(torch.uint8)[:12, :12]  # 12 x 12 grey
            return self.x[i], int(self.y[i]), thumb
        return self.x[i], int(self.y[i])


def _model():
    torch.manual_seed(0)
    return TinyNet().eval()


def _export(tmp_path, **kw):
    out = str(tmp_path / "acts.npz")
    args = dict(
        name="tiny test",
        dataset_desc="synthetic",
        model_desc="TinyNet (random init)",
        preprocessing="none",
        batch_size=5,
        thumb_size=8,
    )
    args.update(kw)
    ds = args.pop("data", Synthetic())
    model = args.pop("model", None) or _model()
    class_names = args.pop("class_names", CLASSES)
    res = ea.export_activations(
        model, ds, ["stem", "b1=blocks.1", "blocks.2", "logits=fc"], out, class_names, **args
    )
    return out, res


def test_keys_shapes_dtypes_meta(tmp_path):
    out, _ = _export(tmp_path, actimg_layers=["b1", "blocks-2"])
    with np.load(out) as z:
        keys = set(z.files)
        assert keys == {
            "act_stem", "act_b1", "act_blocks-2", "act_logits",
            "labels", "class_names", "images", "meta",
            "actimg_b1", "actimg_blocks-2", "preds", "confidence",
        }
        assert z["act_stem"].shape == (N, 4) and z["act_stem"].dtype == np.float16
        assert z["act_b1"].shape == (N, 6)
        assert z["act_blocks-2"].shape == (N, 8)
        assert z["act_logits"].shape == (N, 3)
        assert z["labels"].dtype == np.int64 and z["labels"].shape == (N,)
        assert z["labels"].tolist() == [i % 3 for i in range(N)]
        assert z["class_names"].dtype.kind == "U" and z["class_names"].tolist() == CLASSES
        assert z["preds"].dtype == np.int64 and z["preds"].shape == (N,)
        assert z["confidence"].dtype == np.float32 and z["confidence"].shape == (N,)
        assert z["images"].dtype == np.uint8 and z["images"].shape == (N, 8, 8, 3)
        for k in ("actimg_b1", "actimg_blocks-2"):
            a = z[k]
            assert a.dtype == np.uint8 and a.shape == z["images"].shape
            assert a.max() == 255  # scaled per image
        assert z["meta"].shape == () and z["meta"].dtype.kind == "U"
        meta = json.loads(str(z["meta"]))
    assert meta["name"] == "tiny test"
    assert meta["layers"] == ["stem", "b1", "blocks-2", "logits"]
    assert meta["layer_modules"]["b1"] == "blocks.1"
    assert meta["pooling"] == "avg"
    assert meta["created_by"].startswith("tools/export_activations.py v")
    for k in ("dataset", "model", "preprocessing", "label_source"):
        assert k in meta
    assert meta["layer_dims"] == {"stem": 4, "b1": 6, "blocks-2": 8, "logits": 3}
    assert meta["predictions"].startswith("preds = argmax of the model's output over its 3 classes")


def _logits():
    with torch.inference_mode():
        return _model()(Synthetic().x)


def test_predictions_are_argmax_and_softmax_confidence(tmp_path):
    out, res = _export(tmp_path, dtype=np.float32)
    logits = _logits()
    probs = torch.softmax(logits, dim=1)
    with np.load(out) as z:
        preds, conf = z["preds"], z["confidence"]
        np.testing.assert_array_equal(preds, logits.argmax(dim=1).numpy())
        np.testing.assert_allclose(conf, probs.max(dim=1).values.numpy(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(conf, probs.numpy()[np.arange(N), preds], rtol=1e-6, atol=1e-7)
        assert ((conf >= 1 / len(CLASSES) - 1e-6) & (conf <= 1)).all()
        assert preds.min() >= 0 and preds.max() < len(CLASSES)
        # the recorded logits layer is the model's output: same argmax
        np.testing.assert_array_equal(preds, z["act_logits"].argmax(axis=1))
    assert "softmax" in res["predictions"]


def test_predictions_switched_off(tmp_path):
    out, res = _export(tmp_path, predictions=False)
    with np.load(out) as z:
        assert "preds" not in z.files and "confidence" not in z.files
        meta = json.loads(str(z["meta"]))
    assert meta["predictions"].startswith("not recorded: switched off")


def test_predictions_skipped_when_outputs_are_other_classes(tmp_path):
    # e.g. an ImageNet model on another dataset: 3 outputs, 4 class names
    logs = []
    out, res = _export(tmp_path, class_names=CLASSES + ["hexagon"], log=logs.append)
    with np.load(out) as z:
        assert "preds" not in z.files and "confidence" not in z.files
        assert z["act_logits"].shape == (N, 3)  # activations are still recorded
        meta = json.loads(str(z["meta"]))
    assert "3 classes but there are 4 class names" in meta["predictions"]
    assert any("predictions not recorded" in m and "4 class names" in m for m in logs)


def test_predictions_from_tuple_logits_attribute_and_probabilities(tmp_path):
    class Tuple(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = _model()

        def forward(self, x):
            return self.net(x), x.mean()

    class Out:
        def __init__(self, logits):
            self.logits = logits

    class WithAttr(Tuple):
        def forward(self, x):
            return Out(self.net(x))

    class Probs(Tuple):
        def forward(self, x):
            return torch.softmax(self.net(x), dim=1)

    logits = _logits()
    for cls in (Tuple, WithAttr):
        res = ea.record_activations(cls(), Synthetic(), ["net.fc"], n_classes=3)
        np.testing.assert_array_equal(res["arrays"]["preds"], logits.argmax(1).numpy())
    logs = []
    res = ea.record_activations(Probs(), Synthetic(), ["net.fc"], n_classes=3,
                                predictions="probs", log=logs.append)
    np.testing.assert_array_equal(res["arrays"]["preds"], logits.argmax(1).numpy())
    np.testing.assert_allclose(res["arrays"]["confidence"],
                               torch.softmax(logits, 1).max(1).values.numpy(), rtol=1e-6)
    assert not any("warning" in m for m in logs)
    logs = []
    ea.record_activations(Probs(), Synthetic(), ["net.fc"], n_classes=3, log=logs.append)
    assert any("warning" in m and "probabilities" in m for m in logs)


def test_predictions_need_class_scores(tmp_path):
    # no number of classes given: nothing recorded
    res = ea.record_activations(_model(), Synthetic(), ["fc"])
    assert "preds" not in res["arrays"] and "unknown" in res["predictions"]
    # a spatial output is not class scores
    res = ea.record_activations(_model().stem, Synthetic(), ["0"], n_classes=4)
    assert "preds" not in res["arrays"] and "not N x C" in res["predictions"]
    with pytest.raises(ValueError, match="predictions must be"):
        ea.record_activations(_model(), Synthetic(), ["fc"], n_classes=3, predictions="maybe")


def test_write_rejects_bad_predictions(tmp_path):
    res = ea.record_activations(_model(), Synthetic(), ["fc"], n_classes=3)
    arrays = dict(res["arrays"])
    meta = {"layers": ["fc"]}
    arrays["preds"] = np.full(N, 3, dtype=np.int64)
    with pytest.raises(ValueError, match="preds must lie"):
        ea.write_npz(str(tmp_path / "a.npz"), arrays, CLASSES, meta)
    arrays = dict(res["arrays"])
    arrays["confidence"] = np.full(N, 1.5, dtype=np.float32)
    with pytest.raises(ValueError, match="confidence"):
        ea.write_npz(str(tmp_path / "b.npz"), arrays, CLASSES, meta)


def test_avg_pooling_matches_direct_computation(tmp_path):
    out, _ = _export(tmp_path, dtype=np.float32)
    model = _model()
    x = Synthetic().x
    with torch.inference_mode():
        stem = model.stem(x)
        b2 = model.blocks(stem)
        logits = model(x)
    with np.load(out) as z:
        np.testing.assert_allclose(z["act_stem"], stem.mean(dim=(2, 3)).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(z["act_blocks-2"], b2.mean(dim=(2, 3)).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(z["act_logits"], logits.numpy(), rtol=1e-5, atol=1e-6)
        assert z["act_stem"].dtype == np.float32


def test_maxnorm_picks_largest_position(tmp_path):
    out, _ = _export(tmp_path, pooling="maxnorm", dtype=np.float32)
    model = _model()
    with torch.inference_mode():
        b2 = model.blocks(model.stem(Synthetic().x)).flatten(2)  # N x 8 x P
    best = b2.pow(2).sum(1).argmax(1)
    expect = b2[torch.arange(N), :, best].numpy()
    with np.load(out) as z:
        np.testing.assert_allclose(z["act_blocks-2"], expect, rtol=1e-5, atol=1e-6)
        assert json.loads(str(z["meta"]))["pooling"] == "maxnorm"


def test_random_position_is_seeded_and_real(tmp_path):
    a, _ = _export(tmp_path / "a", pooling="random", seed=3, dtype=np.float32)
    b, _ = _export(tmp_path / "b", pooling="random", seed=3, dtype=np.float32)
    c, _ = _export(tmp_path / "c", pooling="random", seed=4, dtype=np.float32)
    model = _model()
    with torch.inference_mode():
        b2 = model.blocks(model.stem(Synthetic().x)).flatten(2)  # N x 8 x P
    with np.load(a) as za, np.load(b) as zb, np.load(c) as zc:
        np.testing.assert_array_equal(za["act_blocks-2"], zb["act_blocks-2"])
        assert not np.array_equal(za["act_blocks-2"], zc["act_blocks-2"])
        # every row is one of the sample's actual spatial vectors
        got = torch.from_numpy(za["act_blocks-2"])
        d = (b2 - got[:, :, None]).abs().amax(1).amin(1)
        assert float(d.max()) < 1e-6


def test_thumbnails_from_dataset_and_memmap(tmp_path):
    out, _ = _export(
        tmp_path,
        data=Synthetic(with_thumbs=True),
        actimg_layers=["stem"],
        actimg_mode="sum",
        memmap_dir=str(tmp_path / "mm"),
    )
    ds = Synthetic(with_thumbs=True)
    with np.load(out) as z:
        assert z["images"].shape == (N, 12, 12) and z["images"].dtype == np.uint8
        assert z["actimg_stem"].shape == (N, 12, 12)
        np.testing.assert_array_equal(z["images"][5], ds[5][2].numpy())


def test_batch_transform_and_projection(tmp_path):
    sklearn = pytest.importorskip("sklearn")  # noqa: F841
    out, _ = _export(
        tmp_path,
        data=Synthetic(),
        batch_transform=lambda x: torch.nn.functional.interpolate(x, size=(20, 20)),
        projections=["tsne"],
        projection_layers=["blocks-2"],
    )
    with np.load(out) as z:
        assert z["proj_blocks-2_tsne"].shape == (N, 2)
        assert z["proj_blocks-2_tsne"].dtype == np.float32


def test_bad_layer_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no module"):
        ea.record_activations(_model(), Synthetic(), ["blocks.9"])
    with pytest.raises(ValueError, match="actimg"):
        ea.record_activations(_model(), Synthetic(), ["stem"], actimg_layers=["fc"])


def test_layer_spec_parsing():
    assert ea.LayerSpec.parse("blocks.7") == ea.LayerSpec("blocks-7", "blocks.7")
    assert ea.LayerSpec.parse("block7 = blocks.7") == ea.LayerSpec("block7", "blocks.7")
    assert ea.LayerSpec.parse("pre=fc:input") == ea.LayerSpec("pre", "fc", use_input=True)
    with pytest.raises(ValueError):
        ea.parse_layers(["a=x", "a=y"])


def test_module_input_and_shared_module_guard(tmp_path):
    model = _model()
    res = ea.record_activations(model, Synthetic(), ["pooled=fc:input"], dtype=np.float32)
    with torch.inference_mode():
        feats = model.blocks(model.stem(Synthetic().x)).mean(dim=(2, 3))
    np.testing.assert_allclose(res["arrays"]["act_pooled"], feats.numpy(), rtol=1e-5, atol=1e-6)

    class Twice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.act = torch.nn.ReLU()

        def forward(self, x):
            return self.act(self.act(x) - 0.5)

    with pytest.raises(RuntimeError, match="more than once"):
        ea.record_activations(Twice(), Synthetic(), ["act"])


def test_command_line(tmp_path, monkeypatch):
    (tmp_path / "tinyfactories.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
        "from test_export_activations import TinyNet, Synthetic\n"
        "import torch\n"
        "def model():\n"
        "    torch.manual_seed(0)\n"
        "    return TinyNet()\n"
        "def data(n=10):\n"
        "    return Synthetic(n=n)\n"
    )
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cli.npz"
    rc = ea.main([
        "--model", "tinyfactories:model", "--dataset", "tinyfactories:data",
        "--dataset-kwargs", '{"n": 10}', "--layers", "b=blocks.2", "fc",
        "--out", str(out), "--class-names", ",".join(CLASSES), "--pooling", "maxnorm",
        "--thumb-size", "16", "--actimg-layers", "b", "--name", "cli run", "--batch-size", "4",
    ])
    assert rc == 0
    with np.load(out) as z:
        assert z["act_b"].shape == (10, 8) and z["act_fc"].shape == (10, 3)
        assert z["images"].shape == (10, 16, 16, 3) and z["actimg_b"].shape == (10, 16, 16, 3)
        meta = json.loads(str(z["meta"]))
    assert meta["name"] == "cli run" and meta["layers"] == ["b", "fc"]
    assert meta["pooling"] == "maxnorm"
    with np.load(out) as z:
        assert z["preds"].shape == (10,) and z["confidence"].dtype == np.float32
        fc = z["act_fc"].astype(np.float32)  # float16 as stored: compare where the max is clear
        top2 = np.sort(fc, axis=1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > 1e-2
        assert clear.sum() >= 5
        np.testing.assert_array_equal(z["preds"][clear], fc.argmax(axis=1)[clear])

    off = tmp_path / "off.npz"
    rc = ea.main([
        "--model", "tinyfactories:model", "--dataset", "tinyfactories:data",
        "--dataset-kwargs", '{"n": 10}', "--layers", "fc", "--out", str(off),
        "--class-names", ",".join(CLASSES), "--no-predictions", "--thumb-size", "8",
    ])
    assert rc == 0
    with np.load(off) as z:
        assert "preds" not in z.files and "confidence" not in z.files
