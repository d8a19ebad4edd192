"""The one export path, PyTorch/ONNX Runtime parity, metadata and ONNX Runtime inference."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from ccreco.errors import ModelError  # noqa: E402
from ccreco.models.config import CLUSTER_PRESETS, PEAK_PRESETS, PeakModelConfig, TrainConfig  # noqa: E402
from ccreco.models.inference import ClusterModel, PeakModel, load_model, read_metadata  # noqa: E402
from ccreco.models.train_clusters import train_cluster_model  # noqa: E402
from ccreco.models.train_peaks import train_peak_model  # noqa: E402

BATCHES = (1, 7, 256, 1000)


def _windows(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    x = rng.normal(0.0, 1.5, (n, length, 1)).astype(np.float32) + 20.0
    x[y == 1, length // 3, 0] += 12.0
    return x, y


def _times(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    times = [np.sort(rng.uniform(0, 2000, k)) for k in rng.poisson(14, n)]
    return times, np.array([len(t) for t in times])


@pytest.fixture(scope="module")
def peak_result():  # noqa: ANN201 - TrainResult
    x, y = _windows(600, PEAK_PRESETS["compact"].window_length, 0)
    return train_peak_model(x, y, "compact", TrainConfig(epochs=1, seed=0), sample={"source": "synthetic"})


@pytest.fixture(scope="module")
def peak_onnx(peak_result, tmp_path_factory) -> Path:  # noqa: ANN001
    return peak_result.export(tmp_path_factory.mktemp("onnx") / "peaks.onnx")


@pytest.fixture(scope="module")
def cluster_result():  # noqa: ANN201
    times, n = _times(200, 1)
    return train_cluster_model(times, n, "ihep", TrainConfig(optimizer="rmsprop", epochs=1, balance="none"))


@pytest.fixture(scope="module")
def cluster_onnx(cluster_result, tmp_path_factory) -> Path:  # noqa: ANN001
    return cluster_result.export(tmp_path_factory.mktemp("onnx") / "clusters.onnx")


def _parity(model: torch.nn.Module, sess_inputs: list[str], path: Path, shapes: list[tuple[int, ...]],
            seed: int = 5) -> float:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    worst = 0.0
    for batch in BATCHES:
        xs = [rng.normal(0, 3, (batch, *s)).astype(np.float32) for s in shapes]
        with torch.no_grad():
            ref = model.eval()(*map(torch.from_numpy, xs)).numpy()
        got = sess.run(None, dict(zip(sess_inputs, xs, strict=True)))[0]
        assert got.shape == ref.shape == (batch, 1)
        assert np.all(np.isfinite(got))
        worst = max(worst, float(np.max(np.abs(got - ref))))
    return worst


def test_peak_parity_several_batches(peak_result, peak_onnx) -> None:  # noqa: ANN001
    assert _parity(peak_result.model, ["windows"], peak_onnx, [peak_result.model_config.input_shape]) < 1e-5


def test_cluster_parity_several_batches(cluster_result, cluster_onnx) -> None:  # noqa: ANN001
    assert _parity(cluster_result.model, ["encoded"], cluster_onnx, [cluster_result.model_config.input_shape]) < 1e-5


@pytest.mark.parametrize("variant", ["gru", "cnn_extra"])
def test_parity_of_other_variants(variant: str, tmp_path: Path) -> None:
    from ccreco.models.export import export_onnx
    from ccreco.models.model import build_cluster_model, build_peak_model

    if variant == "gru":
        model, info = build_peak_model(PeakModelConfig(cell="gru", hidden=16, layers=2, dense=(8, 1)))
        meta = {"window_left": 5, "window_right": 9, "normalization": {}, "threshold": 0.5}
    else:
        cfg = dataclasses.replace(CLUSTER_PRESETS["ihep"], conv=((8, 4), (4, 4)), dense=(8,),
                                  extra=("track_length_cm",))
        model, info = build_cluster_model(cfg)
        meta = {"encoding": {"kind": "binary", "bins": 1024, "window_ns": 2000.0}, "extra_inputs": ["track_length_cm"],
                "target": "n", "normalization": {}}
    meta.update(sampling_ns=1.0, model_config={}, train_config={}, train_sample={}, metrics={})
    path = export_onnx(model, info, tmp_path / f"{variant}.onnx", meta)
    assert _parity(model, list(info.input_names), path, list(info.input_shapes)) < 1e-5


def test_export_is_one_checked_file_with_metadata(peak_onnx: Path) -> None:
    assert not Path(str(peak_onnx) + ".data").exists()
    assert [p.name for p in peak_onnx.parent.iterdir()] == ["peaks.onnx"]
    proto = onnx.load(str(peak_onnx))
    onnx.checker.check_model(proto, full_check=True)
    keys = {p.key for p in proto.metadata_props}
    for key in ("kind", "window_left", "window_right", "normalization", "sampling_ns", "threshold", "train_config",
                "train_sample", "metrics", "ccreco_version", "model_config"):
        assert f"ccreco.{key}" in keys
    dim0 = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert dim0.dim_param and not dim0.dim_value  # dynamic batch axis
    # no source paths or line numbers of the exporting machine in the file (same seed, same bytes)
    import ccreco

    assert Path(ccreco.__file__).parent.as_posix().encode() not in peak_onnx.read_bytes()
    assert not any(p.key == "pkg.torch.onnx.stack_trace" for n in proto.graph.node for p in n.metadata_props)
    assert any(n.metadata_props for n in proto.graph.node)  # the rest of the exporter's node notes stays


def test_metadata_values(peak_onnx: Path, cluster_onnx: Path) -> None:
    import ccreco

    meta = read_metadata(peak_onnx)
    assert meta["kind"] == "peaks" and meta["ccreco_version"] == ccreco.__version__
    assert (meta["window_left"], meta["window_right"], meta["sampling_ns"]) == (5, 9, 1.0)
    assert meta["train_sample"]["source"] == "synthetic"
    assert {"precision", "recall", "f1", "auc", "efficiency_purity", "best_epoch"} <= set(meta["metrics"])
    cmeta = read_metadata(cluster_onnx)
    assert cmeta["kind"] == "clusters"
    assert cmeta["encoding"]["bins"] == 1024 and cmeta["encoding"]["kind"] == "binary"
    assert "mae" in cmeta["metrics"]


def test_peak_inference_matches_torch_and_batches(peak_result, peak_onnx) -> None:  # noqa: ANN001
    x, _ = _windows(700, 15, 9)
    with torch.no_grad():
        ref = peak_result.model.eval()(torch.from_numpy(x)).numpy().reshape(-1)
    a = PeakModel(peak_onnx, batch_size=256).predict(x, sampling_ns=1.0)
    b = PeakModel(peak_onnx, batch_size=3, intra_op_num_threads=2,
                  optimization="basic").predict(x[:, :, 0], sampling_ns=1.0)
    assert a.shape == (700,) and a.dtype == np.float32
    np.testing.assert_allclose(a, ref, atol=1e-5)
    np.testing.assert_allclose(a, b, atol=1e-5)
    m = PeakModel(peak_onnx)
    np.testing.assert_array_equal(m.classify(x, sampling_ns=1.0), a >= m.threshold)
    assert m.predict(np.zeros((0, 15), np.float32), sampling_ns=1.0).shape == (0,)


def test_cluster_inference(cluster_result, cluster_onnx) -> None:  # noqa: ANN001
    from ccreco.models.encoding import encode_peak_times

    times, _ = _times(30, 4)
    model = ClusterModel(cluster_onnx)
    got = model.predict(times, sampling_ns=1.0, window_ns=2000.0)
    with torch.no_grad():
        ref = cluster_result.model.eval()(torch.from_numpy(encode_peak_times(times))).numpy().reshape(-1)
    np.testing.assert_allclose(got, ref, atol=1e-4)
    with pytest.raises(ModelError, match="2000.0 ns window, data cover 3000"):
        model.predict(times, sampling_ns=1.0, window_ns=3000.0)
    with pytest.raises(ModelError, match="takes no extra"):
        model.predict(times, sampling_ns=1.0, window_ns=2000.0, extra=np.ones(30))


def test_models_pickle_without_session(peak_onnx: Path, cluster_onnx: Path) -> None:
    x, _ = _windows(20, 15, 2)
    m = PeakModel(peak_onnx, intra_op_num_threads=1)
    expected = m.predict(x, sampling_ns=1.0)
    clone = pickle.loads(pickle.dumps(m))
    assert clone._session is None
    np.testing.assert_array_equal(clone.predict(x, sampling_ns=1.0), expected)
    assert clone._session is not None
    c = pickle.loads(pickle.dumps(ClusterModel(cluster_onnx)))
    assert c.predict([[1.0, 5.0]], sampling_ns=1.0, window_ns=2000.0).shape == (1,)


def test_load_model_dispatches_on_kind(peak_onnx: Path, cluster_onnx: Path) -> None:
    assert isinstance(load_model(peak_onnx), PeakModel)
    assert isinstance(load_model(cluster_onnx), ClusterModel)
    with pytest.raises(ModelError, match="a 'clusters' model where a 'peaks' model is needed"):
        PeakModel(cluster_onnx)


def test_mismatched_data_is_refused(peak_onnx: Path) -> None:
    m = PeakModel(peak_onnx)
    with pytest.raises(ModelError, match=r"expects \(n, 15\)") as exc:
        m.predict(np.zeros((4, 11, 1), np.float32), sampling_ns=1.0)
    assert str(peak_onnx) in str(exc.value)
    with pytest.raises(ModelError, match="sampling period 1.0 ns, data sampled every 0.8 ns"):
        m.predict(np.zeros((4, 15, 1), np.float32), sampling_ns=0.8)


def test_missing_and_corrupt_files(tmp_path: Path, peak_onnx: Path) -> None:
    with pytest.raises(ModelError, match="not found") as exc:
        PeakModel(tmp_path / "nope.onnx")
    assert "nope.onnx" in str(exc.value)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"definitely not protobuf" * 10)
    with pytest.raises(ModelError, match="not a readable ONNX model") as exc:
        load_model(bad)
    assert "bad.onnx" in str(exc.value)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(peak_onnx.read_bytes()[:2000])
    with pytest.raises(ModelError, match="truncated.onnx"):
        PeakModel(truncated)


def test_foreign_and_wrong_shaped_models(tmp_path: Path, peak_onnx: Path) -> None:
    from onnx import TensorProto, helper

    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 15, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 15, 1])])
    foreign = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10), str(foreign))
    with pytest.raises(ModelError, match="not a ccreco model"):
        PeakModel(foreign)
    with pytest.raises(ModelError, match="not a ccreco model"):
        load_model(foreign)
    # metadata says a 13-sample window but the graph takes 15 samples
    proto = onnx.load(str(peak_onnx))
    for p in proto.metadata_props:
        if p.key == "ccreco.window_left":
            p.value = "3"
    lying = tmp_path / "lying.onnx"
    onnx.save(proto, str(lying))
    with pytest.raises(ModelError, match=r"lying.onnx.*has shape \['\w+', 15, 1\].*\[batch, 13, 1\]"):
        PeakModel(lying)
    # a key removed
    proto = onnx.load(str(peak_onnx))
    keep = [p for p in proto.metadata_props if p.key != "ccreco.threshold"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    incomplete = tmp_path / "incomplete.onnx"
    onnx.save(proto, str(incomplete))
    with pytest.raises(ModelError, match=r"lacks \['threshold'\]"):
        PeakModel(incomplete)


def test_inference_does_not_import_torch() -> None:
    code = (
        "import sys, ccreco, ccreco.models, ccreco.models.inference, ccreco.models.encoding, ccreco.models.plots; "
        "from ccreco.models import PeakModel, ClusterModel, encode_peak_times; "
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
