"""The one ONNX export path of ccreco (the only caller of ``torch.onnx.export``).

:func:`export_onnx` writes a single self-contained file (``external_data=False``) with a
dynamic batch axis and a pinned opset, embeds the metadata of :mod:`ccreco.models.metadata`,
runs ``onnx.checker`` (full check) and compares ONNX Runtime with PyTorch on seeded random
inputs before atomically moving the file into place.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ccreco import __version__
from ccreco.errors import ModelError
from ccreco.models import metadata as md
from ccreco.models.model import ModelInfo

#: ONNX opset of every exported model (pinned: ORT >= 1.20 supports it fully).
OPSET: int = 18
#: Batch sizes of the export-time parity check.
CHECK_BATCHES: tuple[int, ...] = (1, 7)


def _quiet_export(model: torch.nn.Module, args: tuple[torch.Tensor, ...], path: Path, info: ModelInfo) -> None:
    batch = torch.export.Dim("batch")
    # The tuple form of dynamic_shapes matches forward's positional arguments, whatever their
    # names, and leaves optional arguments (the CNN's ``extra``) out when they are not given.
    dynamic = tuple({0: batch} for _ in args)
    sink = io.StringIO()
    torch_onnx_log = logging.getLogger("torch.onnx")
    level = torch_onnx_log.level
    torch_onnx_log.setLevel(logging.ERROR)  # "torchvision is not installed" notices
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                model,
                args,
                str(path),
                dynamo=True,
                external_data=False,
                dynamic_shapes=dynamic,
                input_names=list(info.input_names),
                output_names=list(info.output_names),
                opset_version=OPSET,
                verbose=False,
            )
        except Exception as exc:  # the exporter raises many types; report them all the same way
            raise ModelError(f"torch.onnx.export failed: {exc}\n{sink.getvalue()[-2000:]}", file=str(path)) from exc
        finally:
            torch_onnx_log.setLevel(level)


#: Node metadata the exporter fills with the exporting machine's source paths and line numbers;
#: removed so that a model file depends on its weights and metadata only (same seed, same bytes).
SOURCE_TRACE_KEYS: tuple[str, ...] = ("pkg.torch.onnx.stack_trace",)


def _strip_source_traces(graph: Any) -> None:
    """Remove :data:`SOURCE_TRACE_KEYS` from every node of an ONNX graph or function (and subgraphs)."""
    for node in graph.node:
        kept = [(p.key, p.value) for p in node.metadata_props if p.key not in SOURCE_TRACE_KEYS]
        if len(kept) != len(node.metadata_props):
            del node.metadata_props[:]
            for key, value in kept:
                entry = node.metadata_props.add()
                entry.key, entry.value = key, value
        for attribute in node.attribute:
            if attribute.HasField("g"):
                _strip_source_traces(attribute.g)
            for sub in attribute.graphs:
                _strip_source_traces(sub)


def check_parity(
    model: torch.nn.Module,
    info: ModelInfo,
    path: str | os.PathLike[str],
    batches: tuple[int, ...] = CHECK_BATCHES,
    atol: float = 1e-5,
    seed: int = 1,
    rtol: float = 1e-4,
) -> float:
    """Compare PyTorch and ONNX Runtime outputs on seeded random inputs.

    Parameters
    ----------
    model : torch.nn.Module
        The module that was exported (evaluated in eval mode).
    info : ModelInfo
        Its inputs and outputs.
    path : path-like
        The ONNX file.
    batches : tuple of int
        Batch sizes to try (exercises the dynamic batch axis).
    atol : float
        Largest accepted absolute difference (beyond ``rtol * |PyTorch output|``).
    seed : int
        Seed of the random inputs.
    rtol : float
        Accepted relative difference.

    Returns
    -------
    float
        The largest absolute difference seen.

    Raises
    ------
    ModelError
        Non-finite outputs or a difference above ``atol``.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    model = model.eval()
    worst = 0.0
    for i, batch in enumerate(batches):
        inputs = info.example_inputs(batch, seed=seed + i)
        with torch.no_grad():
            ref = model(*inputs).numpy()
        got = sess.run(None, {n: t.numpy() for n, t in zip(info.input_names, inputs, strict=True)})[0]
        if got.shape != ref.shape or not np.all(np.isfinite(got)):
            raise ModelError(
                f"ONNX Runtime output of shape {got.shape} (finite: {np.all(np.isfinite(got))}) "
                f"vs PyTorch {ref.shape} at batch {batch}",
                file=str(path),
            )
        diff = float(np.max(np.abs(got - ref))) if got.size else 0.0
        worst = max(worst, diff)
        # absolute tolerance plus a relative one: a rate output (exp) on random inputs can be large, and
        # its relative error is the absolute float32 error of its logit, which grows with the hidden
        # activations (1.1e-5 seen for a per-peak model trained 2 epochs on 80 waveforms); an export
        # bug differs by far more than 1e-4
        excess = float(np.max(np.abs(got - ref) - rtol * np.abs(ref))) if got.size else 0.0
        if excess > atol:
            raise ModelError(f"ONNX Runtime differs from PyTorch by {diff:.3g} (> {atol:g} + {rtol:g} x |output|) "
                             f"at batch {batch}", file=str(path))
    return worst


def export_onnx(
    model: torch.nn.Module,
    info: ModelInfo,
    path: str | os.PathLike[str],
    metadata: Mapping[str, Any],
    *,
    atol: float = 1e-5,
) -> Path:
    """Export ``model`` to one self-contained ONNX file with ccreco metadata.

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`~ccreco.models.model.PeakClassifier` or
        :class:`~ccreco.models.model.ClusterCNN` (exported in eval mode, on CPU).
    info : ModelInfo
        Its I/O description from ``build_*_model``.
    path : path-like
        Destination ``.onnx`` file (written atomically; parent directories are created).
    metadata : mapping
        Unprefixed metadata (see :mod:`ccreco.models.metadata`); ``kind``, ``inputs``,
        ``outputs``, ``ccreco_version`` and ``metadata_version`` are filled in here.
    atol : float
        Tolerance of the export-time PyTorch / ONNX Runtime comparison.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ModelError
        Incomplete metadata, a failing export, ``onnx.checker`` or parity check.
    """
    import onnx

    path = Path(path)
    meta = dict(metadata)
    meta.update(
        kind=info.kind,
        inputs=list(info.input_names),
        outputs=list(info.output_names),
        ccreco_version=__version__,
        metadata_version=md.METADATA_VERSION,
        opset=OPSET,
    )
    missing = md.missing_keys(meta)
    if missing:
        raise ModelError(f"metadata lacks {missing}", file=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    model = model.cpu().eval()
    try:
        _quiet_export(model, info.example_inputs(2), tmp, info)
        proto = onnx.load(str(tmp))
        _strip_source_traces(proto.graph)
        for function in proto.functions:
            _strip_source_traces(function)
        del proto.metadata_props[:]
        for key, value in sorted(md.encode(meta).items()):
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        proto.producer_name, proto.producer_version = "ccreco", __version__
        proto.doc_string = f"ccreco {info.kind} model"
        onnx.checker.check_model(proto, full_check=True)
        onnx.save(proto, str(tmp))
        if Path(str(tmp) + ".data").exists():  # pragma: no cover - guards external_data=False
            raise ModelError("exporter wrote external weights", file=str(path))
        check_parity(model, info, tmp, atol=atol)
        os.replace(tmp, path)
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"onnx.checker rejected the export: {exc}", file=str(path)) from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


__all__ = ["CHECK_BATCHES", "OPSET", "check_parity", "export_onnx"]
