"""Models shipped inside the package (``ccreco/models/data/*.onnx``, each with a model card)."""

from __future__ import annotations

from pathlib import Path

from ccreco.errors import ModelError

#: Directory of the shipped ONNX files and their model cards (``<name>.md``).
DATA_DIR: Path = Path(__file__).resolve().parent / "data"


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
        raise ModelError(f"no shipped model {name!r}; shipped: {', '.join(available_models()) or 'none'}", file=str(path))
    return path


__all__ = ["DATA_DIR", "available_models", "shipped_model"]
