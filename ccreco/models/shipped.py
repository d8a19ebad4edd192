"""Models shipped inside the package (``ccreco/models/data/*.onnx``, each with a model card)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ccreco.errors import ModelError

#: Directory of the shipped ONNX files and their model cards (``<name>.md``).
DATA_DIR: Path = Path(__file__).resolve().parent / "data"
#: Shipped step-1 model used when none is named (reconstruction, evaluation, HPO).
DEFAULT_PEAK_MODEL: str = "lstm_compact_tb2023_untuned"
#: Shipped per-peak step-2 model used by the ``perpeak`` method when none is named.
DEFAULT_PERPEAK_MODEL: str = "perpeak_random_wide"
#: Shipped step-2 CNN used by the ``cnn`` method when none is named.
DEFAULT_CNN_MODEL: str = "cnn_ihep_tb2023_mix"
#: Shipped step-2 model of the reconstruction (``ccreco reco``, ``Reconstructor``) when none is
#: named: the per-peak model, whose count stays linear in the true one (docs/MODELS.md).
DEFAULT_CLUSTER_MODEL: str = DEFAULT_PERPEAK_MODEL


def available_models() -> list[str]:
    """Names of the shipped models (file stems).

    Returns
    -------
    list of str
        Sorted names, e.g. ``["lstm_compact_tb2023_untuned"]``.
    """
    return sorted(p.stem for p in DATA_DIR.glob("*.onnx"))


def shipped_model(name: str) -> Path:
    """Path of a shipped ONNX model.

    Parameters
    ----------
    name : str
        A name from :func:`available_models` (with or without ``.onnx``).

    Returns
    -------
    pathlib.Path
        The file (open it with :func:`ccreco.models.load_model`).

    Raises
    ------
    ModelError
        Unknown name (lists the shipped ones).
    """
    path = DATA_DIR / (name if name.endswith(".onnx") else f"{name}.onnx")
    if not path.is_file():
        raise ModelError(f"no shipped model {name!r}; shipped: {', '.join(available_models()) or 'none'}",
                         file=str(path))
    verify_shipped(path)
    return path


def model_file(spec: str | os.PathLike[str] | None, default: str | None = None) -> Path:
    """A model given as a file or by the name of a shipped model.

    Parameters
    ----------
    spec : str or path-like or None
        An existing ``.onnx`` file, else a name from :func:`available_models` (with or without
        ``.onnx``), e.g. ``perpeak_random_wide_angle``; ``None`` or empty: ``default``.
    default : str, optional
        The shipped model taken when ``spec`` is not given.

    Returns
    -------
    pathlib.Path
        The file; a path that is neither is returned as given, for the loader to report.

    Raises
    ------
    ModelError
        Neither ``spec`` nor ``default`` given.

    Examples
    --------
    >>> model_file("perpeak_random_wide_angle").name
    'perpeak_random_wide_angle.onnx'
    >>> model_file(None, default="perpeak_random_wide").name
    'perpeak_random_wide.onnx'
    """
    if not spec:
        if default is None:
            raise ModelError("no model given and no default")
        return shipped_model(default)
    path = Path(spec)
    if path.exists():
        return path
    name = os.fspath(spec)
    if "/" not in name and name.removesuffix(".onnx") in available_models():
        return shipped_model(name)
    return path


#: The sha256 in a model card: ``sha256 `HEX` `` (the full digest, or its first 16+ digits).
_CARD_SHA = re.compile(r"sha256 `([0-9a-f]{16,64})")
_VERIFIED: dict[tuple[str, int, int], bool] = {}


def recorded_sha256(path: str | Path) -> str | None:
    """The sha256 (or its leading digits) that a shipped model's card records, if any.

    Parameters
    ----------
    path : path-like
        The ``.onnx`` file; its card is the ``.md`` beside it.

    Returns
    -------
    str or None
        Hex digits.
    """
    card = Path(path).with_suffix(".md")
    try:
        m = _CARD_SHA.search(card.read_text())
    except OSError:
        return None
    return m.group(1) if m else None


def verify_shipped(path: str | Path) -> None:
    """Check a shipped model's bytes against the sha256 its model card records.

    Parameters
    ----------
    path : path-like
        A shipped ``.onnx`` file.

    Raises
    ------
    ModelError
        No recorded digest, or the file's digest differs (a damaged installation).
    """
    from ccreco._outputs import file_sha256

    path = Path(path)
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if _VERIFIED.get(key):
        return
    want = recorded_sha256(path)
    if want is None:
        raise ModelError(f"shipped model has no sha256 in its card {path.with_suffix('.md').name}; "
                         "regenerate the card with ccreco.models.shipped.model_card", file=str(path))
    got = file_sha256(path)
    if not got.startswith(want):
        raise ModelError(f"shipped model is damaged: sha256 {got[:16]}... differs from the recorded {want[:16]}...; "
                         "reinstall ccreco (a developer who retrained it regenerates the card with model_card)",
                         file=str(path))
    _VERIFIED[key] = True





def model_card(path: str | Path, title: str | None = None, notes: str = "") -> str:
    """Markdown model card written from an ONNX file's ccreco metadata (no hand-typed numbers).

    Parameters
    ----------
    path : path-like
        A ccreco ONNX model.
    title : str, optional
        Card title (default: the file name).
    notes : str
        Free text appended at the end (how it was made, caveats).

    Returns
    -------
    str
        The card.
    """
    import json

    from ccreco._outputs import file_sha256
    from ccreco.models.inference import read_metadata

    path = Path(path)
    meta = read_metadata(path)
    digest = file_sha256(path)
    metrics = meta.get("metrics", {})
    sample = meta.get("train_sample", {})
    lines = [
        f"# {title or path.name}",
        "",
        f"- file: `{path.name}` ({path.stat().st_size:,} bytes, sha256 `{digest}`)",
        f"- kind: {meta.get('kind')}; ccreco {meta.get('ccreco_version')}, opset {meta.get('opset')}",
        f"- sampling period: {meta.get('sampling_ns')} ns",
    ]
    if meta.get("kind") == "peaks":
        lines.append(
            f"- window: [t - {meta['window_left']}, t + {meta['window_right']}] "
            f"({meta['window_left'] + meta['window_right'] + 1} samples), threshold {meta['threshold']}"
        )
        if meta.get("candidates"):
            lines.append(f"- candidates: `{json.dumps(meta['candidates'], sort_keys=True)}`")
    elif meta.get("kind") == "peak_clusters":
        lines.append(f"- per-peak inputs: context {meta.get('context')} candidates on each side, channels "
                     f"{meta.get('channels')}; step-1 model `{json.dumps(meta.get('peak_model'), sort_keys=True)}`")
        lines.append("- calibration line (inverted only on request, calibrate=True): "
                     f"`{json.dumps(meta.get('calibration'), sort_keys=True)}`")
    elif meta.get("kind") == "run_level":
        for role, step in (("peak_model", "step 1"), ("cluster_model", "step 2")):
            chain = meta.get(role) or {}
            lines.append(f"- {step} of the chain: `{chain.get('file')}` (sha256 `{chain.get('sha256')}`)")
        lines.append(f"- runs of at least {meta.get('min_waveforms')} waveforms; statistics (training range): "
                     + ", ".join(f"{k} ({v[0]:.4g}..{v[1]:.4g})" for k, v in (meta.get("ranges") or {}).items()))
        metrics = {f"{part}.{k}": v for part, values in metrics.items() for k, v in values.items()}
    else:
        lines.append(f"- encoding: `{json.dumps(meta.get('encoding'), sort_keys=True)}`, "
                     f"extra inputs {meta.get('extra_inputs')}")
        if meta.get("calibration"):
            lines.append("- calibration line (inverted only on request, calibrate=True): "
                         f"`{json.dumps(meta['calibration'], sort_keys=True)}`")
    lines += [
        f"- model: `{json.dumps(meta.get('model_config'), sort_keys=True)}`",
        f"- training: `{json.dumps(meta.get('train_config'), sort_keys=True)}`",
        f"- sample: `{json.dumps(sample, sort_keys=True)}`",
        "",
        "Validation metrics at the kept epoch (from the metadata):" if meta.get("kind") != "run_level"
        else "Spread of log(level) over the blocks, before and after the correction (from the metadata):",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    for key in sorted(metrics):
        value = metrics[key]
        lines.append(f"| {key} | {value:.4f} |" if isinstance(value, float) else f"| {key} | {value} |")
    if notes:
        lines += ["", notes.strip()]
    return "\n".join(lines) + "\n"

__all__ = ["DATA_DIR", "DEFAULT_CLUSTER_MODEL", "DEFAULT_CNN_MODEL", "DEFAULT_PEAK_MODEL", "DEFAULT_PERPEAK_MODEL",
           "available_models", "model_card", "model_file", "recorded_sha256", "shipped_model", "verify_shipped"]
