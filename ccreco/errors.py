"""All ccreco exceptions, in one module.

Every error raised on bad input names what it can of: the file, the tree, the branch and the
first bad entry, so a user can find the problem without a debugger.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence


def _where(
    file: str | None = None,
    tree: str | None = None,
    branch: str | None = None,
    entry: int | None = None,
) -> str:
    parts = []
    if file is not None:
        parts.append(f"file {file!r}")
    if tree is not None:
        parts.append(f"tree {tree!r}")
    if branch is not None:
        parts.append(f"branch {branch!r}")
    if entry is not None:
        parts.append(f"entry {entry}")
    return ", ".join(parts)


class CcrecoError(Exception):
    """Base class of every ccreco error.

    Parameters
    ----------
    message : str
        What went wrong.
    file, tree, branch : str, optional
        Where it went wrong.
    entry : int, optional
        The first bad entry (global entry number in the file).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        tree: str | None = None,
        branch: str | None = None,
        entry: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.tree = tree
        self.branch = branch
        self.entry = entry
        where = _where(file, tree, branch, entry)
        super().__init__(f"{where}: {message}" if where else message)

    def __str__(self) -> str:  # KeyError subclasses would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class ConfigError(CcrecoError, ValueError):
    """An invalid configuration value or combination (names the field)."""


class InputFileError(CcrecoError, OSError):
    """A file that is missing, not ROOT, truncated or corrupt."""


class MissingTreeError(CcrecoError, KeyError):
    """The requested tree is not in the file (lists the trees present)."""


class MissingBranchError(CcrecoError, KeyError):
    """A required branch is not in the tree (lists the branches, closest names first)."""


class EmptyTreeError(CcrecoError, ValueError):
    """The tree has no entries."""


class WaveformLengthError(CcrecoError, ValueError):
    """Waveforms of unequal or unexpected length."""


class NonFiniteWaveformError(CcrecoError, ValueError):
    """NaN or inf samples in a waveform."""


class SamplingMismatchError(CcrecoError, ValueError):
    """A sampling period that disagrees with the one asked for (or a model's)."""


class TruthInconsistencyError(CcrecoError, ValueError):
    """MC-truth arrays that contradict each other."""


class ModelError(CcrecoError, ValueError):
    """A missing, corrupt or incompatible model file."""


class MissingExtraError(CcrecoError, ModuleNotFoundError):
    """An optional dependency is not installed (the message names the extra to install).

    Parameters
    ----------
    message : str
        The install hint (see :func:`ccreco._extras.install_hint`).
    module : str
        The missing top-level module.
    extra : str, optional
        The ``setup.cfg`` extra that installs it.
    """

    def __init__(self, message: str, *, module: str, extra: str | None = None) -> None:
        super().__init__(message)
        self.name = module
        self.extra = extra


def closest_first(name: str, candidates: Sequence[str]) -> list[str]:
    """Return ``candidates`` sorted by similarity to ``name``, most similar first.

    Parameters
    ----------
    name : str
        The name that was asked for.
    candidates : sequence of str
        The names that exist.

    Returns
    -------
    list of str
        The candidates, closest first (ties keep alphabetical order).
    """
    return sorted(
        sorted(candidates),
        key=lambda c: -difflib.SequenceMatcher(None, name.lower(), c.lower()).ratio(),
    )
