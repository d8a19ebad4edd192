"""An ONNX Runtime wrapper in the style of coffea's ``ml_tools`` (torch, xgboost, triton wrappers).

coffea ships wrappers for TorchScript, TensorFlow, xgboost and Triton but none for
onnxruntime. :class:`onnx_wrapper` fills that gap and is what ccreco's own models
(:mod:`ccreco.models.inference`) open their sessions with:

- **lazy session**: the ``onnxruntime.InferenceSession`` is created on first use and dropped
  when the wrapper is pickled, so the wrapper travels to dask workers (before or after it has
  been called) and each worker opens its own session once;
- **execution provider** chosen on the process that runs the model, from what the installed
  onnxruntime offers: ``CUDAExecutionProvider`` when ``onnxruntime-gpu`` provides it, else
  ``CPUExecutionProvider`` (:func:`select_providers`);
- **threads and spinning** set explicitly (:func:`session_options`): onnxruntime ignores
  ``OMP_NUM_THREADS`` (which dask sets to 1), and by default its idle pool threads spin,
  costing CPU between calls on a worker that shares cores with others. The defaults here are
  one intra-op and one inter-op thread and no spinning, which is what a dask worker with one
  thread wants;
- **numpy and awkward inputs**: calling the wrapper with numpy arrays runs the model;
  awkward arrays go through :meth:`onnx_wrapper.prepare_awkward` first (override it to pad or
  reshape jagged data), as in coffea's ``numpy_call_wrapper``; dask-awkward arrays are handed to
  coffea's own ``map_partitions`` machinery (imported only then).

This module imports onnxruntime, numpy and awkward only: not coffea (whose ``ml_tools`` package
imports torch), so ccreco's core runs without coffea.

Examples
--------
>>> from ccreco.models.onnx_wrapper import onnx_wrapper
>>> class Tagger(onnx_wrapper):  # doctest: +SKIP
...     def prepare_awkward(self, jets):
...         x = ak.fill_none(ak.pad_none(jets.pt, 4, clip=True), 0.0)
...         return (x[:, :, None],), {}
>>> tagger = Tagger("tagger.onnx")  # doctest: +SKIP
>>> scores = tagger(events.Jet)  # awkward in, awkward out  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import onnxruntime as ort

from ccreco.errors import ModelError

#: Execution providers tried in this order by ``providers="auto"`` (those installed are kept).
PREFERRED_PROVIDERS: tuple[str, ...] = ("CUDAExecutionProvider", "CPUExecutionProvider")

#: Graph optimization levels by name.
OPTIMIZATION_LEVELS: dict[str, Any] = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}

#: ONNX tensor element types -> numpy dtypes the wrapper casts inputs to.
_ONNX_DTYPES: dict[str, Any] = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int16)": np.int16, "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_,
}


def select_providers(requested: str | Sequence[str] = "auto", available: Sequence[str] | None = None) -> list[str]:
    """The execution providers a session is created with.

    Parameters
    ----------
    requested : "auto", "cpu", "cuda" or sequence of str
        ``"auto"``: :data:`PREFERRED_PROVIDERS` that are installed (CUDA first when
        ``onnxruntime-gpu`` provides it, CPU always last); ``"cpu"`` / ``"cuda"``: that one
        (plus CPU as fallback for operators CUDA lacks); a sequence: those providers, in order.
    available : sequence of str, optional
        What the installed onnxruntime offers (default ``onnxruntime.get_available_providers()``;
        given explicitly in tests).

    Returns
    -------
    list of str
        Provider names, most preferred first.

    Raises
    ------
    ModelError
        A requested provider that is not installed (the message lists those that are).
    """
    have = list(ort.get_available_providers() if available is None else available)
    if isinstance(requested, str):
        key = requested.lower()
        if key == "auto":
            chosen = [p for p in PREFERRED_PROVIDERS if p in have]
            return chosen or ["CPUExecutionProvider"]
        aliases = {"cpu": ["CPUExecutionProvider"], "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"]}
        if key not in aliases:
            raise ModelError(f"providers must be 'auto', 'cpu', 'cuda' or a list of provider names; got {requested!r}")
        wanted = aliases[key]
    else:
        wanted = list(requested)
    missing = [p for p in wanted if p not in have]
    if missing:
        raise ModelError(f"execution provider(s) {missing} not available in this onnxruntime "
                         f"{ort.__version__} (available: {have}); install onnxruntime-gpu for CUDA")
    return wanted


def session_options(
    intra_op_num_threads: int = 1,
    optimization: str = "all",
    sequential: bool = True,
    spinning: bool = False,
    inter_op_num_threads: int = 1,
) -> ort.SessionOptions:
    """onnxruntime session options as ccreco uses them.

    Parameters
    ----------
    intra_op_num_threads : int
        Threads inside one operator (set explicitly; onnxruntime ignores ``OMP_NUM_THREADS``).
        0 lets onnxruntime use every core.
    optimization : {"all", "extended", "basic", "disable"}
        Graph optimization level.
    sequential : bool
        Sequential execution mode (operators one after the other; ``inter_op_num_threads``
        only matters when False).
    spinning : bool
        Let idle intra- and inter-op pool threads spin while waiting for work. Spinning makes
        back-to-back calls slightly faster on an otherwise idle machine but burns CPU between
        calls, which a dask worker sharing cores cannot afford; it is off by default (and moot
        with one thread, where there is no pool).
    inter_op_num_threads : int
        Threads running independent operators in parallel mode.

    Returns
    -------
    onnxruntime.SessionOptions
        The options (``session.intra_op.allow_spinning`` and ``session.inter_op.allow_spinning``
        set to ``"0"`` when spinning is off).

    Raises
    ------
    ModelError
        Unknown optimization level or a negative thread count.
    """
    if optimization not in OPTIMIZATION_LEVELS:
        raise ModelError(f"optimization must be one of {', '.join(OPTIMIZATION_LEVELS)}; got {optimization!r}")
    if intra_op_num_threads < 0 or inter_op_num_threads < 0:
        raise ModelError(f"thread counts must be >= 0; got {intra_op_num_threads}, {inter_op_num_threads}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(intra_op_num_threads)
    opts.inter_op_num_threads = int(inter_op_num_threads)
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL if sequential else ort.ExecutionMode.ORT_PARALLEL
    opts.graph_optimization_level = OPTIMIZATION_LEVELS[optimization]
    opts.log_severity_level = 3
    flag = "1" if spinning else "0"
    opts.add_session_config_entry("session.intra_op.allow_spinning", flag)
    opts.add_session_config_entry("session.inter_op.allow_spinning", flag)
    return opts


class _NumpyToAwkward:
    """The numpy -> awkward output converter coffea's ``_call_dask`` expects as ``_np_to_ak_``."""

    @staticmethod
    def convert(value: Any, backends: Any = None) -> Any:
        if isinstance(value, dict):
            return {k: _NumpyToAwkward.convert(v) for k, v in value.items()}
        return ak.from_numpy(value) if isinstance(value, np.ndarray) else value


def _is_dask_awkward(x: Any) -> bool:
    return type(x).__module__.startswith("dask_awkward")


class onnx_wrapper:  # noqa: N801 - named like coffea.ml_tools' torch_wrapper, xgboost_wrapper
    """Run an ONNX model with onnxruntime on numpy, awkward or dask-awkward inputs.

    Call the wrapper as ``wrapper(*args, **kwargs)``. With numpy arrays, positional arguments
    feed the graph inputs in order and keyword arguments feed them by name. With awkward
    arrays, :meth:`prepare_awkward` first turns the arguments into numpy-convertible (regular)
    awkward arrays; the default passes them through, so override it for jagged data (pad,
    clip, stack fields), as with coffea's wrappers. The result is the model's output (a dict
    of name to array when several outputs are requested), as numpy for numpy inputs and as
    awkward for awkward inputs.

    Parameters
    ----------
    path : path-like
        The ``.onnx`` file. On a cluster, every worker must see it at this path.
    providers : "auto", "cpu", "cuda" or sequence of str
        Execution providers (:func:`select_providers`), resolved on the process that creates
        the session (a dask worker may have a GPU the client lacks).
    intra_op_num_threads, inter_op_num_threads : int
        onnxruntime thread counts (default 1 each: one dask worker thread, one core).
    spinning : bool
        Let idle pool threads spin (default False; see :func:`session_options`).
    optimization : {"all", "extended", "basic", "disable"}
        Graph optimization level.
    sequential : bool
        Sequential execution mode.
    batch_size : int, optional
        Rows per ``session.run`` call (None: the whole input at once). onnxruntime is faster
        on moderate batches than on one huge one.
    output_names : sequence of str, optional
        Outputs to return (default all of them).

    Attributes
    ----------
    session : onnxruntime.InferenceSession
        Created on first access (also after unpickling).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        providers: str | Sequence[str] = "auto",
        intra_op_num_threads: int = 1,
        inter_op_num_threads: int = 1,
        spinning: bool = False,
        optimization: str = "all",
        sequential: bool = True,
        batch_size: int | None = None,
        output_names: Sequence[str] | None = None,
    ) -> None:
        self.path = Path(path)
        if batch_size is not None and batch_size < 1:
            raise ModelError(f"batch_size must be >= 1 or None; got {batch_size}", file=str(self.path))
        self.batch_size = None if batch_size is None else int(batch_size)
        self.providers = providers if isinstance(providers, str) else list(providers)
        self.options: dict[str, Any] = dict(
            intra_op_num_threads=int(intra_op_num_threads),
            inter_op_num_threads=int(inter_op_num_threads),
            spinning=bool(spinning),
            optimization=optimization,
            sequential=bool(sequential),
        )
        session_options(**self.options)  # reject bad options here, not on a worker
        if not isinstance(providers, str):
            select_providers(self.providers)
        self.output_names = None if output_names is None else list(output_names)
        self._session: ort.InferenceSession | None = None

    # -- the lazy, non-picklable session (coffea's nonserializable_attribute pattern) -------
    def _create_session(self) -> ort.InferenceSession:
        if not self.path.is_file():
            raise ModelError("model file not found", file=str(self.path))
        providers = select_providers(self.providers)
        try:
            return ort.InferenceSession(str(self.path), session_options(**self.options), providers=providers)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise ModelError(f"not a readable ONNX model: {exc}", file=str(self.path)) from exc

    @property
    def session(self) -> ort.InferenceSession:
        """The onnxruntime session, created on first access in this process."""
        if self._session is None:
            self._session = self._create_session()
        return self._session

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_session"] = None
        state.pop("_delayed_wrapper", None)  # coffea's dask path caches dask.delayed(self) here
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @property
    def active_providers(self) -> list[str]:
        """Providers the session actually uses (onnxruntime drops CUDA if no GPU is usable)."""
        return list(self.session.get_providers())

    @property
    def input_names(self) -> list[str]:
        """Graph input names, in order."""
        return [i.name for i in self.session.get_inputs()]

    # -- numpy ------------------------------------------------------------------------------
    def _feed(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        inputs = self.session.get_inputs()
        names = [i.name for i in inputs]
        if len(args) > len(names):
            raise ModelError(f"{len(args)} positional inputs for a model with inputs {names}", file=str(self.path))
        feed = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                raise ModelError(f"unknown input {key!r}; the model's inputs are {names}", file=str(self.path))
            if key in feed:
                raise ModelError(f"input {key!r} given twice", file=str(self.path))
            feed[key] = value
        missing = [n for n in names if n not in feed]
        if missing:
            raise ModelError(f"inputs {missing} missing (the model's inputs are {names})", file=str(self.path))
        out: dict[str, np.ndarray] = {}
        for node in inputs:
            dtype = _ONNX_DTYPES.get(node.type)
            arr = np.asarray(feed[node.name])
            if dtype is not None and arr.dtype != dtype:
                arr = arr.astype(dtype)
            out[node.name] = np.ascontiguousarray(arr)
        return out

    def validate_numpy_input(self, *args: np.ndarray, **kwargs: np.ndarray) -> None:
        """Check ranks, fixed dimensions and the common batch length of the inputs.

        Raises
        ------
        ModelError
            Naming the input, the shape it got and the shape the graph declares.
        """
        feed = self._feed(args, kwargs)
        lengths = set()
        for node in self.session.get_inputs():
            arr = feed[node.name]
            shape = list(node.shape)
            fixed = [d if isinstance(d, int) else None for d in shape]
            # zip only once the ranks agree (the `or` short-circuits), so the lengths are equal
            if arr.ndim != len(shape) or any(
                f is not None and f != a for f, a in zip(fixed[1:], arr.shape[1:], strict=True)
            ):
                raise ModelError(f"input {node.name!r} has shape {arr.shape}; the model expects {shape}",
                                 file=str(self.path))
            lengths.add(arr.shape[0] if arr.ndim else 1)
        if len(lengths) > 1:
            raise ModelError(f"inputs of different lengths {sorted(lengths)}", file=str(self.path))

    def numpy_call(self, *args: np.ndarray, **kwargs: np.ndarray) -> np.ndarray | dict[str, np.ndarray]:
        """Run the model on numpy inputs, ``batch_size`` rows per ``session.run``.

        Returns
        -------
        numpy.ndarray or dict of str to numpy.ndarray
            The output (one requested output) or outputs by name. An empty input gives empty
            outputs without running the model (symbolic non-batch dimensions become 0).
        """
        feed = self._feed(args, kwargs)
        session = self.session
        names = self.output_names or [o.name for o in session.get_outputs()]
        n = next(iter(feed.values())).shape[0] if feed and next(iter(feed.values())).ndim else 0
        bs = self.batch_size
        if n == 0:  # some kernels (the LSTM's) abort the process on an empty batch: never run one
            nodes = {o.name: o for o in session.get_outputs()}
            results = [np.zeros([0] + [d if isinstance(d, int) else 0 for d in nodes[name].shape[1:]],
                                dtype=_ONNX_DTYPES.get(nodes[name].type, np.float32)) for name in names]
        elif bs is None or n <= bs:
            results = session.run(names, feed)
        else:
            results = []
            for start in range(0, n, bs):
                part = session.run(names, {k: v[start : start + bs] for k, v in feed.items()})
                if not results:
                    results = [np.empty((n, *p.shape[1:]), dtype=p.dtype) for p in part]
                for dest, p in zip(results, part, strict=True):
                    dest[start : start + bs] = p
        return results[0] if len(names) == 1 else dict(zip(names, results, strict=True))

    def _call_numpy(self, *args: Any, **kwargs: Any) -> Any:
        self.validate_numpy_input(*args, **kwargs)
        return self.numpy_call(*args, **kwargs)

    # -- awkward ----------------------------------------------------------------------------
    def prepare_awkward(self, *args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Turn awkward inputs into regular arrays ``numpy_call`` accepts (override for jagged data).

        The default returns the arguments unchanged; each must then be convertible by
        ``ak.to_numpy`` (regular dimensions, no missing values).

        Returns
        -------
        tuple
            ``(args, kwargs)`` for :meth:`numpy_call`.
        """
        return args, kwargs

    def postprocess_awkward(self, return_array: Any, *args: Any, **kwargs: Any) -> Any:
        """Reshape the output for awkward callers (default: unchanged); gets the original inputs."""
        return return_array

    @staticmethod
    def _to_numpy(x: Any, name: str) -> Any:
        if not isinstance(x, ak.Array):
            return x
        try:
            return ak.to_numpy(x, allow_missing=False)
        except (ValueError, TypeError) as exc:
            raise ModelError(f"awkward input {name} is not regular ({x.type}); override prepare_awkward to pad "
                             f"or clip it: {exc}") from exc

    def _call_awkward(self, *args: Any, **kwargs: Any) -> Any:
        a, k = self.prepare_awkward(*args, **kwargs)
        np_args = tuple(self._to_numpy(x, f"#{i}") for i, x in enumerate(a))
        np_kwargs = {key: self._to_numpy(x, repr(key)) for key, x in k.items()}
        out = self._call_numpy(*np_args, **np_kwargs)
        out = {key: ak.from_numpy(v) for key, v in out.items()} if isinstance(out, dict) else ak.from_numpy(out)
        return self.postprocess_awkward(out, *args, **kwargs)

    def _call_dask(self, *args: Any, **kwargs: Any) -> Any:
        try:  # imported only for dask-awkward inputs (coffea's ml_tools package also imports torch if present)
            from coffea.ml_tools.helper import numpy_call_wrapper
        except ImportError as exc:
            raise ModelError(f"dask-awkward inputs need coffea (pip install coffea): {exc}",
                             file=str(self.path)) from exc

        return numpy_call_wrapper._call_dask(self, *args, **kwargs)

    #: coffea's ``_call_dask`` converts the numpy outputs to awkward with this
    _np_to_ak_ = _NumpyToAwkward()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run on numpy, awkward or dask-awkward inputs (never a mix of awkward and dask-awkward)."""
        values = [*args, *kwargs.values()]
        has_dak = any(_is_dask_awkward(v) for v in values)
        has_ak = any(isinstance(v, ak.Array) for v in values)
        if has_ak and has_dak:
            raise ModelError("cannot mix awkward and dask-awkward inputs", file=str(self.path))
        if has_dak:
            return self._call_dask(*args, **kwargs)
        if has_ak:
            return self._call_awkward(*args, **kwargs)
        return self._call_numpy(*args, **kwargs)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({str(self.path)!r}, providers={self.providers!r}, "
                f"batch_size={self.batch_size}, {self.options})")


__all__ = ["OPTIMIZATION_LEVELS", "PREFERRED_PROVIDERS", "onnx_wrapper", "select_providers", "session_options"]
