"""Shared pytest configuration: headless plotting, no progress bars, deterministic numba cache."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("CCRECO_NO_PROGRESS", "1")


@pytest.fixture(scope="session")
def root_exe() -> str:
    """Path of the ROOT executable from the ROOT wheel in this environment.

    Fails (not skips) when it is missing: ``make test`` installs the ``root`` wheel, and the
    ROOT-side checks are part of the suite.
    """
    exe = shutil.which("root", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    if exe is None:
        pytest.fail("the ROOT executable 'root' is not installed (pip install root==0.1a12)")
    return exe
