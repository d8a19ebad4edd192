"""Load the repository's scripts (benchmarks/, examples/) as modules for their tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str, *, register: bool = False) -> ModuleType:
    """Import ``ROOT / relative`` (e.g. ``"benchmarks/sn_scan.py"``) under its file stem.

    Parameters
    ----------
    relative : str
        Path of the script inside the repository.
    register : bool
        Also put it in ``sys.modules`` under its stem (needed when its objects are pickled,
        as a user's own module would be importable).

    Returns
    -------
    types.ModuleType
        The executed module.
    """
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module
