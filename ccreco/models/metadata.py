"""Keys and (de)serialisation of the metadata embedded in ccreco's ONNX files (pure Python).

Every value is stored as JSON text in the ONNX ``metadata_props`` under a ``ccreco.`` key, so
any ONNX tool shows it and :mod:`ccreco.models.inference` reads it back through onnxruntime's
``custom_metadata_map`` without importing torch or onnx.

Keys common to every kind: ``kind`` (:data:`KINDS`), ``metadata_version``,
``ccreco_version``, ``sampling_ns``, ``model_config``, ``train_config``, ``train_sample``,
``metrics`` (validation metrics at the kept epoch), ``inputs``, ``outputs``.
Peaks add ``window_left``, ``window_right``, ``normalization``, ``threshold``; clusters add
``encoding`` (kind, bins, window_ns, bin_ns, t0_ns), ``extra_inputs``, ``target`` and
``normalization``; per-peak
models add ``context``, ``channels``, ``peak_model``, ``target``, ``normalization``; run-level
models (:mod:`ccreco.models.runlevel`) add ``statistics`` (input column names), ``ranges`` (each
statistic's training range), ``peak_model`` and ``cluster_model`` (the chain they were fitted on:
name and sha256) and ``min_waveforms``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: Prefix of every ccreco key in ``metadata_props``.
PREFIX: str = "ccreco."
#: Version of this metadata layout.
METADATA_VERSION: int = 1
#: Model kinds.
KINDS: tuple[str, ...] = ("peaks", "clusters", "peak_clusters", "run_level")
#: Keys every ccreco model carries.
COMMON_KEYS: tuple[str, ...] = (
    "kind",
    "metadata_version",
    "ccreco_version",
    "sampling_ns",
    "model_config",
    "train_config",
    "train_sample",
    "metrics",
    "inputs",
    "outputs",
)
#: Extra keys per kind.
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "peaks": ("window_left", "window_right", "normalization", "threshold"),
    "clusters": ("encoding", "extra_inputs", "target", "normalization"),
    "peak_clusters": ("context", "channels", "peak_model", "target", "normalization"),
    "run_level": ("statistics", "ranges", "peak_model", "cluster_model", "min_waveforms"),
}


def encode(metadata: Mapping[str, Any]) -> dict[str, str]:
    """Turn a metadata dict into ``metadata_props`` strings (prefixed keys, JSON values).

    Parameters
    ----------
    metadata : mapping
        Unprefixed keys to JSON-serialisable values.

    Returns
    -------
    dict of str to str
        Prefixed keys to JSON text.
    """
    return {PREFIX + k: json.dumps(v, sort_keys=True) for k, v in metadata.items()}


def decode(props: Mapping[str, str]) -> dict[str, Any]:
    """Read ccreco keys back from ``metadata_props`` (other keys are ignored).

    Parameters
    ----------
    props : mapping of str to str
        The raw ``metadata_props`` / ``custom_metadata_map``.

    Returns
    -------
    dict
        Unprefixed keys to decoded values.

    Raises
    ------
    ValueError
        A ccreco value that is not valid JSON.
    """
    out: dict[str, Any] = {}
    for key, text in props.items():
        if key.startswith(PREFIX):
            out[key[len(PREFIX):]] = json.loads(text)
    return out


def missing_keys(metadata: Mapping[str, Any]) -> list[str]:
    """Required keys absent from ``metadata`` (empty when complete).

    Parameters
    ----------
    metadata : mapping
        Decoded metadata.

    Returns
    -------
    list of str
        The missing keys (``kind`` alone when the kind itself is missing or unknown).
    """
    kind = metadata.get("kind")
    if kind not in KINDS:
        return ["kind"]
    return [k for k in COMMON_KEYS + KIND_KEYS[kind] if k not in metadata]


def _number(value: Any, *, lo: float | None = None, hi: float | None = None, integer: bool = False,
            lo_open: bool = False) -> str | None:
    """Why ``value`` is not an acceptable number (None when it is)."""
    import math

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{value!r} is not a number"
    if integer and not float(value).is_integer():
        return f"{value!r} is not an integer"
    if not math.isfinite(float(value)):
        return f"{value!r} is not finite"
    if lo is not None and (value <= lo if lo_open else value < lo):
        return f"{value!r} is below {'or at ' if lo_open else ''}{lo}"
    if hi is not None and value > hi:
        return f"{value!r} is above {hi}"
    return None


def invalid_values(metadata: Mapping[str, Any]) -> list[str]:
    """Metadata values outside what the matching ``--set`` option accepts (empty when all valid).

    Checks ``sampling_ns`` (finite, > 0), ``threshold`` (in [0, 1], like ``--set threshold=``),
    ``window_left``/``window_right`` (integers >= 0, not both 0), and the cluster encoding's
    ``bins`` (integer >= 1) and ``window_ns``/``bin_ns`` (finite, > 0).

    Parameters
    ----------
    metadata : mapping
        Decoded metadata with every required key present.

    Returns
    -------
    list of str
        ``key: reason`` for every bad value.
    """
    bad: list[str] = []

    def check(key: str, value: Any, **kw: Any) -> None:
        why = _number(value, **kw)
        if why:
            bad.append(f"{key}: {why}")

    check("sampling_ns", metadata.get("sampling_ns"), lo=0.0, lo_open=True)
    if metadata.get("kind") == "peaks":
        check("threshold", metadata.get("threshold"), lo=0.0, hi=1.0)
        for key in ("window_left", "window_right"):
            check(key, metadata.get(key), lo=0, integer=True)
        if not bad and int(metadata["window_left"]) + int(metadata["window_right"]) < 1:
            bad.append("window_left + window_right: the window is empty")
    elif metadata.get("kind") == "clusters":
        enc = metadata.get("encoding")
        if not isinstance(enc, Mapping):
            bad.append(f"encoding: {enc!r} is not a table")
        else:
            if "bins" in enc:
                check("encoding.bins", enc["bins"], lo=1, integer=True)
            for key in ("window_ns", "bin_ns"):
                if key in enc:
                    check(f"encoding.{key}", enc[key], lo=0.0, lo_open=True)
    return bad


__all__ = ["COMMON_KEYS", "KINDS", "KIND_KEYS", "METADATA_VERSION", "PREFIX", "decode", "encode", "invalid_values",
           "missing_keys"]
