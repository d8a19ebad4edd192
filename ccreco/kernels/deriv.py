"""DERIV: the classical derivative peak finder of the Lecce/Bari test-beam analysis.

Exactly as in PHYSICS.md "Algorithms": ``Y = x - baseline`` with baseline and noise RMS from
the pre-signal region; central differences ``D1[i] = (Y[i+1] - Y[i-1]) / (2 dt)``,
``D2[i] = (Y[i+1] - 2 Y[i] + Y[i-1]) / dt**2``; ``sigma_D1 = rms / (sqrt(2) dt)``,
``sigma_D2 = rms / (2 dt**2)``. Sample ``i`` passes when

- ``Y[i] > N1 rms``,
- ``Y[i] - (Y[i-1] + Y[i+1]) / 2 > N2 rms``,
- ``|D1[i]| < 2 N3 sigma_D1`` or ``D1[i-1] > N3 sigma_D1`` or ``D1[i+1] < -N3 sigma_D1``,
- ``D2[i] < -N4 sigma_D2``;

a run of consecutive passing samples gives one peak at its highest sample (the first one on a
tie). ``D1[i +- 1]`` need samples ``i +- 2``, so samples 0, 1, n-2 and n-1 never pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ccreco.constants import BASELINE_NS, SAMPLING_NS
from ccreco.errors import ConfigError
from ccreco.kernels._jit import jit
from ccreco.kernels._util import as_waveforms, ns_to_samples
from ccreco.kernels.baseline import _baseline_rms
from ccreco.kernels.candidates import _grow
from ccreco.kernels.clusterize import ClusterizeConfig


@dataclass(frozen=True)
class DerivConfig:
    """Thresholds of the derivative peak finder (in units of the noise RMS / derivative sigmas).

    Attributes
    ----------
    n1 : float
        Amplitude threshold ``Y[i] > n1 rms``.
    n2 : float
        Prominence over the neighbours' mean, ``> n2 rms``.
    n3 : float
        First-derivative (slope change) tolerance.
    n4 : float
        Curvature threshold ``D2 < -n4 sigma_D2``.
    baseline_start_ns, baseline_stop_ns : float
        Pre-signal region for baseline and RMS (default ``[0, constants.BASELINE_NS)``).

    Notes
    -----
    The defaults are DERIV's best window-F1 setting on tb2023-untuned simulation
    (docs/ALGORITHMS.md, "DERIV baseline"); :data:`DERIV_PRESETS` also holds the test-beam
    analysts' typical setting.
    """

    n1: float = 9.0
    n2: float = 0.5
    n3: float = 0.1
    n4: float = 0.0
    baseline_start_ns: float = 0.0
    baseline_stop_ns: float = BASELINE_NS

    def __post_init__(self) -> None:
        from ccreco.config import coerce_fields

        coerce_fields(self)  # one converter for keyword arguments and ``--set`` strings
        for name in ("n1", "n2", "n3", "n4"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
                    or not np.isfinite(value):
                raise ConfigError(f"{name} must be a finite number, got {value!r}")
        if not (0 <= self.baseline_start_ns < self.baseline_stop_ns):
            raise ConfigError(
                f"baseline_start_ns, baseline_stop_ns must satisfy 0 <= start < stop, "
                f"got {self.baseline_start_ns!r}, {self.baseline_stop_ns!r}"
            )

    @classmethod
    def from_strings(cls, values: dict[str, str], base: DerivConfig | None = None) -> DerivConfig:
        """Build a config from ``--set``-style strings (keys case-insensitive, e.g. ``N1=9``).

        Parameters
        ----------
        values : dict
            Field name to value string.
        base : DerivConfig, optional
            Values for the fields not given (default ``DerivConfig()``).

        Returns
        -------
        DerivConfig
            The validated config.

        Raises
        ------
        ConfigError
            Unknown field or a value that is not a number.
        """
        from ccreco.config import replace_fields

        return replace_fields(cls() if base is None else base, values, what="DERIV", lower_keys=True)


#: Named DERIV settings: ``tb2023`` (best window F1 on tb2023-untuned simulation, the default;
#: use with clusterization c = 0.35), ``tb2023-counting`` (best cluster-count RMS, with c = 0.40)
#: and ``analysts`` (middle of the test-beam analysts' range, PHYSICS.md "Algorithms").
DERIV_PRESETS: dict[str, DerivConfig] = {
    "tb2023": DerivConfig(),
    "tb2023-counting": DerivConfig(n1=8.0, n2=0.5, n3=0.1, n4=0.0),
    "analysts": DerivConfig(n1=9.0, n2=1.1, n3=0.1, n4=0.1),
}

#: The clusterization that goes with each DERIV preset's peaks (same names as
#: :data:`DERIV_PRESETS`; docs/ALGORITHMS.md, "DERIV baseline"). Reconstruction, evaluation,
#: PID and the features all take a preset's pair through :func:`deriv_preset`.
DERIV_CLUSTERIZE: dict[str, ClusterizeConfig] = {
    "tb2023": ClusterizeConfig(c=0.35),
    "tb2023-counting": ClusterizeConfig(c=0.40),
    "analysts": ClusterizeConfig(c=0.35),
}


def deriv_preset(name: str) -> tuple[DerivConfig, ClusterizeConfig]:
    """A named DERIV setting with the clusterization constant that goes with it.

    Parameters
    ----------
    name : str
        A :data:`DERIV_PRESETS` name.

    Returns
    -------
    DerivConfig, ClusterizeConfig
        The peak finder's thresholds and the clusterization of its peaks.

    Raises
    ------
    ConfigError
        Unknown name (lists the known ones).
    """
    if name not in DERIV_PRESETS:
        raise ConfigError(f"DERIV preset must be one of {', '.join(DERIV_PRESETS)}; got {name!r}")
    return DERIV_PRESETS[name], DERIV_CLUSTERIZE[name]


@jit
def _deriv_peaks(
    waveforms: np.ndarray,
    baseline: np.ndarray,
    rms: np.ndarray,
    dt: float,
    n1: float,
    n2: float,
    n3: float,
    n4: float,
) -> tuple[np.ndarray, np.ndarray]:
    n, ns = waveforms.shape
    offsets = np.zeros(n + 1, dtype=np.int64)
    out = np.empty(max(4 * n, 16), dtype=np.int64)
    y = np.empty(ns, dtype=np.float64)
    m = 0
    for w in range(n):
        x = waveforms[w]
        b = baseline[w]
        r = rms[w]
        for i in range(ns):
            y[i] = x[i] - b
        s1 = r / (np.sqrt(2.0) * dt)
        s2 = r / (2.0 * dt * dt)
        out = _grow(out, m + ns // 2 + 1)
        run = False
        best = 0
        for i in range(2, ns - 2):
            ok = False
            if y[i] > n1 * r and y[i] - (y[i - 1] + y[i + 1]) / 2.0 > n2 * r:
                d1 = (y[i + 1] - y[i - 1]) / (2.0 * dt)
                d1m = (y[i] - y[i - 2]) / (2.0 * dt)
                d1p = (y[i + 2] - y[i]) / (2.0 * dt)
                d2 = (y[i + 1] - 2.0 * y[i] + y[i - 1]) / (dt * dt)
                ok = (abs(d1) < 2.0 * n3 * s1 or d1m > n3 * s1 or d1p < -n3 * s1) and d2 < -n4 * s2
            if ok:
                if not run:
                    run = True
                    best = i
                elif y[i] > y[best]:
                    best = i
            elif run:
                out[m] = best
                m += 1
                run = False
        if run:
            out[m] = best
            m += 1
        offsets[w + 1] = m
    return out[:m].copy(), offsets


def deriv_peaks(
    waveforms: np.ndarray,
    cfg: DerivConfig | None = None,
    *,
    sampling_ns: float = SAMPLING_NS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Peaks found by DERIV in every waveform (flat sample indices + offsets).

    Parameters
    ----------
    waveforms : numpy.ndarray
        Shape ``(n, n_samples)``, float32 (converted otherwise).
    cfg : DerivConfig, optional
        Thresholds (default ``DerivConfig()``).
    sampling_ns : float
        Sampling period ``dt`` in ns.

    Returns
    -------
    index : numpy.ndarray
        int64 sample indices of the peaks, sorted within each waveform.
    offsets : numpy.ndarray
        int64 ``(n + 1,)``.
    baseline, rms : numpy.ndarray
        float64 ``(n,)``.
    """
    cfg = DerivConfig() if cfg is None else cfg
    wf = as_waveforms(waveforms)
    start, stop = ns_to_samples(cfg.baseline_start_ns, cfg.baseline_stop_ns, sampling_ns, wf.shape[1],
                                "baseline_start_ns/baseline_stop_ns")
    baseline, rms = _baseline_rms(wf, start, stop)
    index, offsets = _deriv_peaks(wf, baseline, rms, float(sampling_ns), float(cfg.n1), float(cfg.n2),
                                  float(cfg.n3), float(cfg.n4))
    return index, offsets, baseline, rms


__all__ = ["DERIV_CLUSTERIZE", "DERIV_PRESETS", "DerivConfig", "deriv_peaks", "deriv_preset"]
