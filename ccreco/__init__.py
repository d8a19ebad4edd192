"""ccreco: cluster counting in drift chambers.

Read Garfield++ or beam-test ROOT ntuples, simulate drift-cell waveforms, find ionization
peaks with numba kernels and ONNX models, count primary clusters and measure dN/dx.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]


def __dir__() -> list[str]:
    return __all__
