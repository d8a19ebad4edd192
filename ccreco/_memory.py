"""Peak resident memory of this process, as the process itself used it.

``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is not that for a child process: Linux keeps
the high-water mark across ``fork`` and ``exec``, so a worker or subprocess started by a large
parent reports at least the parent's resident size at the fork. ``VmHWM`` in
``/proc/self/status`` is the high-water mark of the process's own address space (since its
``exec``). :func:`peak_rss` reads ``VmHWM`` and falls back to ``ru_maxrss`` only where
``/proc`` is absent (macOS), and says which it used. HPO trials (:mod:`ccreco.hpo.trial`) and
the benchmarks (``benchmarks/``) both measure with it.
"""

from __future__ import annotations

import resource
import sys

#: Where :func:`peak_rss` read the value: the process's own high-water mark, or the rusage one.
SOURCES: tuple[str, str] = ("VmHWM", "ru_maxrss")


def peak_rss(status_path: str = "/proc/self/status") -> tuple[float, str]:
    """Peak resident set size of this process in MB (2**20 bytes), and where it was read.

    Parameters
    ----------
    status_path : str
        The ``/proc`` status file (a parameter only so that tests can point it elsewhere).

    Returns
    -------
    (float, str)
        The peak in MB, and ``"VmHWM"`` (this process's own peak) or ``"ru_maxrss"`` (no
        readable ``VmHWM``: the rusage peak, which for a child includes its parent's peak at the
        fork).
    """
    try:
        with open(status_path) as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    value, unit = line.split()[1:3]
                    if unit == "kB":
                        return int(value) / 1024.0, "VmHWM"
    except (OSError, ValueError, IndexError):
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS
    return (rss / 2**20 if sys.platform == "darwin" else rss / 1024.0), "ru_maxrss"


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (:func:`peak_rss` without its source)."""
    return peak_rss()[0]


__all__ = ["SOURCES", "peak_rss", "peak_rss_mb"]
