"""The public ONNX Runtime wrapper (coffea ml_tools style): lazy session, pickling, providers,
thread/spinning options, numpy, awkward and dask-awkward inputs; ccreco's models use it."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import onnxruntime as ort
import pytest

from ccreco.errors import ModelError
from ccreco.models.inference import ClusterModel, PeakModel
from ccreco.models.onnx_wrapper import onnx_wrapper, select_providers, session_options
from ccreco.models.shipped import DEFAULT_CNN_MODEL, DEFAULT_PEAK_MODEL, shipped_model

CPU, CUDA = "CPUExecutionProvider", "CUDAExecutionProvider"


@pytest.fixture(scope="module")
def lstm() -> Path:
    return shipped_model(DEFAULT_PEAK_MODEL)


@pytest.fixture(scope="module")
def cnn() -> Path:
    return shipped_model(DEFAULT_CNN_MODEL)


def _windows(n: int, length: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.5, (n, length, 1)).astype(np.float32)
    x[::3, length // 3, 0] += 15.0
    return x


def _length(path: Path) -> int:
    return int(ort.InferenceSession(str(path), providers=[CPU]).get_inputs()[0].shape[1])


# -- provider selection ---------------------------------------------------------------------
def test_auto_prefers_cuda_when_installed_else_cpu() -> None:
    assert select_providers("auto", [CUDA, "AzureExecutionProvider", CPU]) == [CUDA, CPU]
    assert select_providers("auto", ["AzureExecutionProvider", CPU]) == [CPU]
    assert select_providers("cpu", [CUDA, CPU]) == [CPU]
    assert select_providers("cuda", [CUDA, CPU]) == [CUDA, CPU]
    assert select_providers([CPU], [CUDA, CPU]) == [CPU]
    with pytest.raises(ModelError, match="CUDAExecutionProvider.*not available.*onnxruntime-gpu"):
        select_providers("cuda", [CPU])
    with pytest.raises(ModelError, match="'auto', 'cpu', 'cuda'"):
        select_providers("tpu", [CPU])
    # the real onnxruntime: CUDA exactly when onnxruntime-gpu offers it
    expected = [CUDA, CPU] if CUDA in ort.get_available_providers() else [CPU]
    assert select_providers() == expected


def test_provider_is_resolved_where_the_session_is_made(lstm: Path) -> None:
    w = onnx_wrapper(lstm)
    assert w.providers == "auto" and w._session is None
    assert w.active_providers[-1] == CPU
    if CUDA not in ort.get_available_providers():
        assert w.active_providers == [CPU]
    with pytest.raises(ModelError, match="not available"):
        onnx_wrapper(lstm, providers=["NoSuchExecutionProvider"])


# -- options --------------------------------------------------------------------------------
def test_thread_and_spinning_options_are_recorded() -> None:
    opts = session_options()
    assert opts.intra_op_num_threads == 1 and opts.inter_op_num_threads == 1
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert opts.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts = session_options(intra_op_num_threads=3, inter_op_num_threads=2, spinning=True, optimization="basic",
                           sequential=False)
    assert (opts.intra_op_num_threads, opts.inter_op_num_threads) == (3, 2)
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert opts.execution_mode == ort.ExecutionMode.ORT_PARALLEL
    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    with pytest.raises(ModelError, match="optimization must be one of"):
        session_options(optimization="max")
    with pytest.raises(ModelError, match="thread counts"):
        session_options(intra_op_num_threads=-1)


def test_ccreco_models_open_their_sessions_through_the_wrapper(lstm: Path, cnn: Path) -> None:
    m = PeakModel(lstm, intra_op_num_threads=2, batch_size=64)
    assert isinstance(m.wrapper, onnx_wrapper)
    assert m.wrapper.batch_size == 64
    assert m.wrapper.options["intra_op_num_threads"] == 2 and m.wrapper.options["spinning"] is False
    assert m.session is m.wrapper.session
    c = ClusterModel(cnn, providers="cpu")
    assert c.wrapper.active_providers == [CPU]


# -- pickling -------------------------------------------------------------------------------
def test_pickles_before_and_after_a_call(lstm: Path) -> None:
    x = _windows(50, _length(lstm))
    fresh = onnx_wrapper(lstm, batch_size=16)
    clone = pickle.loads(pickle.dumps(fresh))  # before any call: no session anywhere
    assert fresh._session is None and clone._session is None
    expected = fresh(x)
    assert fresh._session is not None
    blob = pickle.dumps(fresh)  # after a call: the session stays behind
    assert b"InferenceSession" not in blob
    again = pickle.loads(blob)
    assert again._session is None
    np.testing.assert_array_equal(again(x), expected)
    np.testing.assert_array_equal(clone(x), expected)
    assert again._session is not None


def test_pickled_wrapper_runs_in_a_fresh_process(lstm: Path, tmp_path: Path) -> None:
    x = _windows(20, _length(lstm), seed=3)
    w = onnx_wrapper(lstm)
    expected = w(x)
    (tmp_path / "w.pkl").write_bytes(pickle.dumps((w, x)))
    code = ("import pickle, sys, numpy as np; w, x = pickle.load(open(sys.argv[1], 'rb')); "
            "np.save(sys.argv[2], w(x))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "w.pkl"), str(tmp_path / "out.npy")], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


# -- numpy ----------------------------------------------------------------------------------
def test_numpy_batches_names_dtypes_and_errors(lstm: Path, cnn: Path) -> None:
    length = _length(lstm)
    x = _windows(101, length, seed=1)
    whole = onnx_wrapper(lstm)(x)
    assert whole.shape == (101, 1) and whole.dtype == np.float32
    np.testing.assert_allclose(onnx_wrapper(lstm, batch_size=7)(x), whole, atol=1e-6)
    name = onnx_wrapper(lstm).input_names[0]
    np.testing.assert_allclose(onnx_wrapper(lstm)(**{name: x.astype(np.float64)}), whole, atol=1e-6)
    assert onnx_wrapper(lstm)(x[:0]).shape == (0, 1)
    with pytest.raises(ModelError, match=rf"input '{name}' has shape \(4, {length + 1}, 1\)"):
        onnx_wrapper(lstm)(_windows(4, length + 1))
    with pytest.raises(ModelError, match="unknown input 'nope'"):
        onnx_wrapper(lstm)(nope=x)
    # two inputs, by position and by name, and several outputs as a dict
    w = onnx_wrapper(cnn, batch_size=5)
    enc_name, extra_name = w.input_names
    rng = np.random.default_rng(2)
    enc = (rng.random((12, 1024, 1)) < 0.01).astype(np.float32)
    extra = np.full((12, 1), 1.131, np.float32)
    by_pos = w(enc, extra)
    np.testing.assert_array_equal(w(**{enc_name: enc, extra_name: extra}), by_pos)
    with pytest.raises(ModelError, match="missing"):
        w(enc)
    with pytest.raises(ModelError, match="different lengths"):
        w(enc, extra[:3])


# -- awkward and dask-awkward ---------------------------------------------------------------
class PaddedWindows(onnx_wrapper):
    """A user's wrapper: jagged pulses -> fixed windows (clip, pad with 0)."""

    length = 15

    def prepare_awkward(self, pulses):  # noqa: ANN001, ANN201 - as in coffea's examples
        x = ak.fill_none(ak.pad_none(pulses, self.length, clip=True), 0.0)
        return (x[:, :, np.newaxis],), {}

    def postprocess_awkward(self, out, pulses):  # noqa: ANN001, ANN201
        return ak.flatten(out, axis=1)


def test_awkward_inputs(lstm: Path) -> None:
    length = _length(lstm)
    x = _windows(30, length, seed=4)
    w = onnx_wrapper(lstm)
    got = w(ak.Array(x))
    assert isinstance(got, ak.Array)
    np.testing.assert_array_equal(ak.to_numpy(got), w(x))
    jagged = ak.Array([list(row[: length - (i % 3)]) for i, row in enumerate(x[:, :, 0])])
    with pytest.raises(ModelError, match="not regular.*override prepare_awkward"):
        w(jagged[:, :, np.newaxis])
    user = PaddedWindows(lstm)
    user.length = length
    scores = user(jagged)
    padded = np.zeros((30, length, 1), np.float32)
    for i, row in enumerate(jagged.to_list()):
        padded[i, : len(row), 0] = row
    assert isinstance(scores, ak.Array) and scores.ndim == 1
    np.testing.assert_array_equal(ak.to_numpy(scores), w(padded)[:, 0])
    with pytest.raises(ModelError, match="cannot mix"):
        w(ak.Array(x), __import__("dask_awkward").from_awkward(ak.Array(x), npartitions=1))


def test_dask_awkward_inputs(lstm: Path) -> None:
    dak = pytest.importorskip("dask_awkward")
    pytest.importorskip("coffea")
    x = _windows(40, _length(lstm), seed=5)
    w = onnx_wrapper(lstm, batch_size=8)
    lazy = w(dak.from_awkward(ak.Array(x), npartitions=3))
    assert type(lazy).__module__.startswith("dask_awkward")
    got = lazy.compute(scheduler="sync")
    np.testing.assert_allclose(ak.to_numpy(got), w(x), atol=1e-6)


# -- the example: a user's plain coffea processor -------------------------------------------
def test_example_processor_with_coffea_iterative_executor(tmp_path: Path) -> None:
    pytest.importorskip("coffea")
    from script_helpers import load_script

    from ccreco.io import read
    from ccreco.sim import SimConfig, simulate_to_file

    path = tmp_path / "tiny.root"
    simulate_to_file(path, SimConfig.from_preset("tb2023-untuned"), 120, seed=7, progress=False)
    # importable by name, as a user's module is (pickling)
    example = load_script("examples/onnx_in_coffea.py", register=True)

    out = example.run([str(path)], chunksize=50)  # several chunks
    assert out["waveforms"] == 120
    assert out["score"].sum() == 120  # every score lies in [0, 1]
    # the same windows cut with numpy and scored by ccreco's PeakModel
    tagger = example.default_tagger()
    wf = read(path).waveforms
    peak = np.clip(wf.argmax(axis=1), tagger.left, wf.shape[1] - tagger.right - 1)
    windows = np.stack([w[p - tagger.left : p + tagger.right + 1] for w, p in zip(wf, peak, strict=True)])
    scores = PeakModel(tagger.path).predict(windows, sampling_ns=1.0)
    assert out["signal_like"] == int(np.sum(scores >= 0.5))
    h = np.histogram(scores, bins=20, range=(0.0, 1.0))[0]
    np.testing.assert_array_equal(out["score"].values(), h)
    # the processor, tagger included, pickles to workers after use without its session
    np.testing.assert_allclose(tagger(windows[:, :, None])[:, 0], scores, atol=1e-6)
    assert tagger._session is not None
    proc = pickle.loads(pickle.dumps(example.MaxPulseProcessor(tagger)))
    assert proc.tagger._session is None
