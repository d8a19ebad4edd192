"""The one numba decorator every ccreco kernel uses.

All kernels are compiled with ``cache=True`` (compiled once per machine, reused by every process
and dask worker), ``nogil=True`` (threads can run them in parallel) and numpy's error model
(division by zero gives inf/nan instead of raising inside the kernel: wrappers check inputs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])


def jit(func: F) -> F:
    """Compile ``func`` with ccreco's kernel options.

    Parameters
    ----------
    func : callable
        A numba-compatible function (name starting with ``_`` by convention).

    Returns
    -------
    callable
        The compiled dispatcher (picklable, so it travels to dask workers).
    """
    return numba.njit(cache=True, nogil=True, error_model="numpy")(func)  # type: ignore[return-value]
