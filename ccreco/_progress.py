"""Progress for long work: a tqdm bar on a terminal, periodic one-line reports in batch logs,
nothing with ``-q`` or ``CCRECO_NO_PROGRESS`` (CI and tests)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

#: Seconds between two progress lines when stderr is not a terminal (batch logs);
#: ``CCRECO_PROGRESS_INTERVAL`` overrides it.
LOG_INTERVAL_S = 30.0

_quiet = False


def set_quiet(quiet: bool) -> None:
    """Silence (or re-enable) progress bars and progress lines for this process (``ccreco -q``).

    Parameters
    ----------
    quiet : bool
        True: no progress output at all.
    """
    global _quiet
    _quiet = bool(quiet)


def is_quiet() -> bool:
    """Whether ``ccreco -q`` asked for no progress output (stage lines included).

    Returns
    -------
    bool
        The value last given to :func:`set_quiet`.
    """
    return _quiet


def progress_silenced() -> bool:
    """Whether all progress output is off (``-q`` or ``CCRECO_NO_PROGRESS``).

    Returns
    -------
    bool
        True when nothing about progress should be printed.
    """
    return _quiet or bool(os.environ.get("CCRECO_NO_PROGRESS"))


class LogProgress:
    """A tqdm-like counter for batch logs: one line on stderr at most every ``interval`` seconds
    and one when it closes (no carriage returns, so log files stay readable).

    Parameters
    ----------
    total : int, optional
        Expected number of units.
    desc : str
        Label at the start of each line.
    unit : str
        Unit name.
    initial : int
        Units already done.
    interval : float, optional
        Seconds between lines (default ``CCRECO_PROGRESS_INTERVAL`` or :data:`LOG_INTERVAL_S`).
    """

    #: Code that prints its own lines when bars are off (as for tqdm's ``disable``) keeps doing so.
    disable = True

    def __init__(self, total: int | None = None, desc: str = "", unit: str = "it", initial: int = 0,
                 interval: float | None = None) -> None:
        self.total, self.desc, self.unit, self.n = total, desc, unit, int(initial)
        env = os.environ.get("CCRECO_PROGRESS_INTERVAL")
        self.interval = float(interval if interval is not None else (env or LOG_INTERVAL_S))
        self.postfix = ""
        self._start = self._last = time.monotonic()
        self._closed = False

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _line(self) -> str:
        elapsed = time.monotonic() - self._start
        done = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        text = f"{self.desc}: {done} {self.unit}"
        if self.total:
            text += f" ({100.0 * self.n / self.total:.0f} %)"
        text += f", {elapsed:.0f} s"
        if self.total and 0 < self.n < self.total and elapsed > 0:
            text += f", about {elapsed * (self.total - self.n) / self.n:.0f} s left"
        return text + (f"; {self.postfix}" if self.postfix else "")

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units; print a line if ``interval`` has passed since the last."""
        self.n += int(n)
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            print(self._line(), file=sys.stderr, flush=True)

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        """Text appended to the next line."""
        self.postfix = str(s)

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any) -> None:
        """``key=value`` pairs appended to the next line."""
        items = {**(dict(ordered_dict) if ordered_dict else {}), **kwargs}
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def close(self) -> None:
        """Print the final line (once)."""
        if not self._closed:
            self._closed = True
            if self.n or self.total:
                print(self._line(), file=sys.stderr, flush=True)


def progress_enabled() -> bool:
    """Whether progress bars should be drawn (stderr is a TTY and not disabled).

    Returns
    -------
    bool
        False with ``-q``, when ``CCRECO_NO_PROGRESS`` is set or stderr is not a terminal.
    """
    if progress_silenced():
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
    tqdm.tqdm or LogProgress
        Use as a context manager and call ``update(n)``: a tqdm bar on a terminal, a
        :class:`LogProgress` (a line every ``LOG_INTERVAL_S``) when stderr is a file or pipe,
        a disabled bar with ``-q`` or ``CCRECO_NO_PROGRESS``.
    """
    from tqdm.auto import tqdm

    if not progress_silenced() and not sys.stderr.isatty() and "disable" not in kwargs:
        return LogProgress(total=total, desc=desc, unit=unit, initial=int(kwargs.get("initial", 0)))
    kwargs.setdefault("disable", not progress_enabled())
    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, **kwargs)
