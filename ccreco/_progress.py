"""Progress bars for long work: tqdm on a terminal, silent in CI and tests."""

from __future__ import annotations

import os
import sys
from typing import Any


def progress_enabled() -> bool:
    """Whether progress bars should be drawn (stderr is a TTY and not disabled).

    Returns
    -------
    bool
        False when ``CCRECO_NO_PROGRESS`` is set or stderr is not a terminal.
    """
    if os.environ.get("CCRECO_NO_PROGRESS"):
        return False
    return sys.stderr.isatty()


def progress(total: int | None = None, desc: str = "", unit: str = "it", **kwargs: Any) -> Any:
    """Create a tqdm progress bar, disabled when :func:`progress_enabled` is False.

    Parameters
    ----------
    total : int, optional
        Expected number of units.
    desc : str
        Label shown before the bar.
    unit : str
        Unit name (e.g. ``"wf"`` for waveforms).
    **kwargs
        Passed to :class:`tqdm.tqdm`.

    Returns
    -------
    tqdm.tqdm
        Use as a context manager and call ``update(n)``.
    """
    from tqdm.auto import tqdm

    kwargs.setdefault("disable", not progress_enabled())
    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, **kwargs)
