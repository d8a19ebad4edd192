"""Keys and (de)serialisation of the metadata embedded in ccreco's ONNX files (pure Python).

Every value is stored as JSON text in the ONNX ``metadata_props`` under a ``ccreco.`` key, so
any ONNX tool shows it and :mod:`ccreco.models.inference` reads it back through onnxruntime's
``custom_metadata_map`` without importing torch or onnx.

Keys common to both kinds: ``kind`` ("peaks" / "clusters"), ``metadata_version``,
``ccreco_version``, ``sampling_ns``, ``model_config``, ``train_config``, ``train_sample``,
``metrics`` (validation metrics at the kept epoch), ``inputs``, ``outputs``.
Peaks add ``window_left``, ``window_right``, ``normalization``, ``threshold``; clusters add
``encoding`` (kind, bins, window_ns, bin_ns, t0_ns), ``extra_inputs``, ``target`` and
``normalization``.
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
KINDS: tuple[str, ...] = ("peaks", "clusters", "peak_clusters")
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


__all__ = ["COMMON_KEYS", "KINDS", "KIND_KEYS", "METADATA_VERSION", "PREFIX", "decode", "encode", "missing_keys"]
