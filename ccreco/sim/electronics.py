"""Gas gain, single-electron pulse, front-end shaping and the digitizer (numba kernel)."""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

#: Fine-grid points per sample for the pulse template (0.05 ns at 1 GHz).
OVERSAMPLE: int = 20


def polya_gain(rng: np.random.Generator, n: int, mean: float, theta: float) -> np.ndarray:
    """Draw avalanche sizes from a Polya distribution.

    ``G / mean`` follows a gamma distribution with shape ``1 + theta`` and mean 1
    (theta = 0 is the exponential/Furry limit).

    Parameters
    ----------
    rng : numpy.random.Generator
        Random stream.
    n : int
        Number of avalanches.
    mean : float
        Mean gain.
    theta : float
        Polya parameter (>= 0).

    Returns
    -------
    numpy.ndarray
        float64 gains.
    """
    return rng.gamma(1.0 + theta, 1.0 / (1.0 + theta), n) * mean


@dataclass(frozen=True)
class PulseTemplate:
    """Single-electron response on a fine grid, peak normalized to 1.

    Attributes
    ----------
    values : numpy.ndarray
        float64 response at ``t = i * dt_fine_ns`` after the electron reaches the wire, with a
        trailing zero so linear interpolation never reads past the end.
    dt_fine_ns : float
        Fine-grid step.
    peak_delay_ns : float
        Time from arrival to the maximum of the shaped pulse (parabolic refinement).
    fwhm_ns : float
        Full width at half maximum.
    """

    values: np.ndarray
    dt_fine_ns: float
    peak_delay_ns: float
    fwhm_ns: float

    @classmethod
    def from_values(cls, values: np.ndarray, dt_fine_ns: float) -> PulseTemplate:
        """Wrap a fine-grid response (arrival at index 0): taper, normalize, find peak and FWHM.

        Parameters
        ----------
        values : numpy.ndarray
            Response at ``t = i * dt_fine_ns`` after the electron reaches the wire.
        dt_fine_ns : float
            Fine-grid step.

        Returns
        -------
        PulseTemplate
            Peak-normalized template, tapered to zero over its last 10 per cent.
        """
        raw = np.array(values, dtype=np.float64)
        n_taper = max(raw.size // 10, 1)
        raw[-n_taper:] *= 0.5 * (1.0 + np.cos(np.linspace(0.0, np.pi, n_taper)))
        if not raw.max() > 0:
            raise ValueError("pulse template has no positive sample")
        raw /= raw.max()
        k = int(np.argmax(raw))
        shift = 0.0
        if 0 < k < raw.size - 1:
            y0, y1, y2 = raw[k - 1], raw[k], raw[k + 1]
            den = y0 - 2 * y1 + y2
            shift = 0.5 * (y0 - y2) / den if den != 0 else 0.0
        above = np.flatnonzero(raw >= 0.5)
        return cls(
            values=np.append(raw, 0.0),
            dt_fine_ns=float(dt_fine_ns),
            peak_delay_ns=float((k + shift) * dt_fine_ns),
            fwhm_ns=float((above[-1] - above[0]) * dt_fine_ns),
        )

    @classmethod
    def build(
        cls,
        *,
        sampling_ns: float,
        rise_ns: float,
        fall_ns: float,
        ion_tail_fraction: float,
        ion_tail_t0_ns: float,
        bandwidth_mhz: float,
        length_ns: float,
    ) -> PulseTemplate:
        """Build the ``biexp`` template (the model of the ``tb2023-*`` presets).

        The induced pulse is ``exp(-t/fall) - exp(-t/rise)`` (peak 1) plus an ion tail
        ``f_ion (1 - exp(-t/rise)) / (1 + t/t0)``; it is convolved with a two-pole low pass
        whose -3 dB point is ``bandwidth_mhz`` (0 disables shaping), renormalized to peak 1
        and tapered to zero over its last 10 per cent.

        Parameters
        ----------
        sampling_ns : float
            Sampling period; the fine step is ``sampling_ns / OVERSAMPLE``.
        rise_ns, fall_ns : float
            Rise and fall time constants of the electron pulse.
        ion_tail_fraction : float
            Ion-tail height relative to the electron peak.
        ion_tail_t0_ns : float
            Ion-tail time constant of the 1/(1 + t/t0) law.
        bandwidth_mhz : float
            Front-end -3 dB bandwidth.
        length_ns : float
            Template length (the tail is cut there).

        Returns
        -------
        PulseTemplate
            The template.
        """
        dt = sampling_ns / OVERSAMPLE
        t = np.arange(int(round(length_ns / dt))) * dt
        raw = np.exp(-t / fall_ns) - np.exp(-t / rise_ns)
        raw /= raw.max()
        raw += ion_tail_fraction * (1.0 - np.exp(-t / rise_ns)) / (1.0 + t / ion_tail_t0_ns)
        raw = _low_pass(raw, t, dt, bandwidth_mhz)
        return cls.from_values(raw, dt)

    @classmethod
    def build_ion_tail(
        cls,
        *,
        sampling_ns: float,
        ion_tau_ns: float,
        ion_t0_ns: float,
        shaper_tau_ns: float,
        ac_coupling_ns: float,
        bandwidth_mhz: float,
        length_ns: float,
    ) -> PulseTemplate:
        """Build the ``iontail`` template: ion-tail current through a CR-RC front end.

        The current induced by the avalanche ions drifting away from the wire is
        ``i(t) = exp(-t/tau_ion) / (1 + t/t0)`` (the 1/(1 + t/t0) law of ions leaving a thin
        wire, cut off by ``tau_ion`` as they reach the low-field region; Garfield++ signal
        studies, Blum-Riegler-Rolandi "Particle detection with drift chambers" ch. 4). It is
        convolved with the response of a charge-sensitive preamplifier and CR-RC shaper to a
        unit charge, ``(t/tau) exp(-t/tau)``, then optionally with a two-pole low pass
        (``bandwidth_mhz``) and an AC-coupling high pass of time constant ``ac_coupling_ns``
        (``y - x * exp(-t/tau_ac)/tau_ac``: a small undershoot after each pulse; 0 disables).

        Parameters
        ----------
        sampling_ns : float
            Sampling period.
        ion_tau_ns, ion_t0_ns : float
            Ion-current cut-off and 1/(1 + t/t0) time constants.
        shaper_tau_ns : float
            CR-RC time constant.
        ac_coupling_ns : float
            AC-coupling time constant (0: DC coupled).
        bandwidth_mhz : float
            Extra two-pole low pass (0: none).
        length_ns : float
            Template length.

        Returns
        -------
        PulseTemplate
            The template.
        """
        dt = sampling_ns / OVERSAMPLE
        t = np.arange(int(round(length_ns / dt))) * dt
        current = np.exp(-t / ion_tau_ns) / (1.0 + t / ion_t0_ns)
        h = t / shaper_tau_ns * np.exp(-t / shaper_tau_ns) * dt / shaper_tau_ns
        raw = np.convolve(current, h)[: t.size]
        raw = _low_pass(raw, t, dt, bandwidth_mhz)
        if ac_coupling_ns > 0:
            g = np.exp(-t / ac_coupling_ns) * dt / ac_coupling_ns
            raw = raw - np.convolve(raw, g)[: t.size]
        return cls.from_values(raw, dt)

    @classmethod
    def from_file(cls, path: str, *, sampling_ns: float, length_ns: float) -> PulseTemplate:
        """Read a measured single-electron pulse (``template`` model).

        The file has two columns, time in ns and amplitude (any unit; the template is
        normalized to its peak and scaled by ``single_electron_mv``), as CSV (comma or
        whitespace separated; ``#`` comments and one header line are skipped). The first time
        is taken as the electron's arrival at the wire; the pulse is interpolated linearly onto
        the fine grid, zero after its last point, and cut at ``length_ns``.

        Parameters
        ----------
        path : str
            Template file.
        sampling_ns : float
            Sampling period.
        length_ns : float
            Template length.

        Returns
        -------
        PulseTemplate
            The template.

        Raises
        ------
        ConfigError
            Unreadable file, fewer than 4 points, non-numeric or non-finite values, times not
            strictly increasing, or no positive amplitude (the message names the file and line).
        """
        t_in, a_in = read_template_file(path)
        dt = sampling_ns / OVERSAMPLE
        t = np.arange(int(round(length_ns / dt))) * dt
        raw = np.interp(t, t_in - t_in[0], a_in, right=0.0)
        return cls.from_values(raw, dt)


def _low_pass(raw: np.ndarray, t: np.ndarray, dt: float, bandwidth_mhz: float) -> np.ndarray:
    """Two-pole low pass with -3 dB point ``bandwidth_mhz`` (0: unchanged)."""
    if bandwidth_mhz <= 0:
        return raw
    tau = np.sqrt(np.sqrt(2.0) - 1.0) / (2.0 * np.pi * bandwidth_mhz * 1e-3)
    h = t / tau**2 * np.exp(-t / tau) * dt
    return np.convolve(raw, h)[: t.size]


def read_template_file(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Read ``time_ns, amplitude`` rows of a pulse template (see :meth:`PulseTemplate.from_file`).

    Parameters
    ----------
    path : str
        CSV / whitespace-separated file.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Times (ns) and amplitudes.
    """
    from ccreco.errors import ConfigError

    try:
        with open(path) as fh:  # closed at once (an unclosed file is a ResourceWarning)
            lines = fh.read().splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read pulse template: {exc.strerror}", file=str(path)) from exc
    ts: list[float] = []
    amps: list[float] = []
    for lineno, line in enumerate(lines, start=1):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        parts = body.replace(",", " ").replace(";", " ").split()
        try:
            if len(parts) < 2:
                raise ValueError
            tv, av = float(parts[0]), float(parts[1])
        except ValueError:
            if not ts and not any(c.isdigit() for c in parts[0][:1]):
                continue  # header
            raise ConfigError(f"pulse template line {lineno}: expected 'time_ns, amplitude', got {line!r}",
                              file=str(path)) from None
        if not (np.isfinite(tv) and np.isfinite(av)):
            raise ConfigError(f"pulse template line {lineno}: non-finite value", file=str(path))
        if ts and tv <= ts[-1]:
            raise ConfigError(f"pulse template line {lineno}: time {tv} not after {ts[-1]}", file=str(path))
        ts.append(tv)
        amps.append(av)
    if len(ts) < 4:
        raise ConfigError(f"pulse template needs at least 4 points, got {len(ts)}", file=str(path))
    if not max(amps) > 0:
        raise ConfigError("pulse template has no positive amplitude (pulses must be positive)", file=str(path))
    return np.array(ts), np.array(amps)


@numba.njit(cache=True, nogil=True)
def _digitize(
    out: np.ndarray,
    ev_offsets: np.ndarray,
    t_ns: np.ndarray,
    amp_mv: np.ndarray,
    template: np.ndarray,
    oversample: int,
    sampling_ns: float,
    white: np.ndarray,
    white_mv: float,
    coloured: np.ndarray,
    coloured_mv: float,
    ar_coef: float,
    baseline_mv: float,
    adc_min_mv: float,
    lsb_mv: float,
    code_max: int,
    saturated: np.ndarray,
) -> None:
    """Sum pulses, add noise, quantize. ``out`` (n, n_samples) float32 is overwritten."""
    n_ev, n_s = out.shape
    n_t = template.size - 1
    innov = np.sqrt(1.0 - ar_coef * ar_coef)
    for e in range(n_ev):
        row = out[e]
        # coloured noise: stationary AR(1) with unit variance, then scaled
        c = coloured[e, 0]
        for i in range(n_s):
            if i > 0:
                c = ar_coef * c + innov * coloured[e, i]
            row[i] = baseline_mv + white_mv * white[e, i] + coloured_mv * c
        for k in range(ev_offsets[e], ev_offsets[e + 1]):
            t = t_ns[k]
            a = amp_mv[k]
            i0 = int(np.ceil(t / sampling_ns))
            if i0 < 0:
                i0 = 0
            u = (i0 * sampling_ns - t) / sampling_ns * oversample
            j = int(u)
            frac = u - j
            i = i0
            while i < n_s and j < n_t:
                row[i] += a * (template[j] * (1.0 - frac) + template[j + 1] * frac)
                i += 1
                j += oversample
        sat = False
        for i in range(n_s):
            code = np.rint((row[i] - adc_min_mv) / lsb_mv)
            if code >= code_max:
                code = code_max
                sat = True
            elif code <= 0:
                code = 0
                sat = True
            row[i] = adc_min_mv + code * lsb_mv
        saturated[e] = sat


def digitize(
    ev_offsets: np.ndarray,
    t_ns: np.ndarray,
    amp_mv: np.ndarray,
    template: PulseTemplate,
    *,
    n_samples: int,
    sampling_ns: float,
    white: np.ndarray,
    white_mv: float,
    coloured: np.ndarray,
    coloured_mv: float,
    coloured_time_ns: float,
    baseline_mv: float,
    adc_bits: int,
    adc_min_mv: float,
    adc_max_mv: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Build digitized waveforms from electron arrival times and pulse amplitudes.

    Parameters
    ----------
    ev_offsets : numpy.ndarray
        int64 offsets (n_events + 1) into the electron arrays.
    t_ns : numpy.ndarray
        Arrival time of each electron at the wire, ns from the window start.
    amp_mv : numpy.ndarray
        Peak amplitude of each electron's pulse in mV.
    template : PulseTemplate
        Shaped single-electron response.
    n_samples : int
        Samples per waveform.
    sampling_ns : float
        Sampling period.
    white, coloured : numpy.ndarray
        Standard-normal float32 arrays of shape (n_events, n_samples).
    white_mv, coloured_mv : float
        RMS of the white and of the coloured noise.
    coloured_time_ns : float
        Correlation time of the coloured (AR(1)) noise.
    baseline_mv : float
        Baseline offset.
    adc_bits : int
        ADC resolution.
    adc_min_mv, adc_max_mv : float
        ADC input range; samples outside are clipped and the waveform flagged.

    Returns
    -------
    waveforms : numpy.ndarray
        float32 (n_events, n_samples) in mV.
    saturated : numpy.ndarray
        bool per waveform, True where a sample hit either end of the ADC range.
    """
    n_ev = ev_offsets.size - 1
    out = np.empty((n_ev, n_samples), dtype=np.float32)
    saturated = np.zeros(n_ev, dtype=np.bool_)
    code_max = 2**adc_bits - 1
    lsb = (adc_max_mv - adc_min_mv) / code_max
    ar = float(np.exp(-sampling_ns / coloured_time_ns)) if coloured_time_ns > 0 else 0.0
    _digitize(
        out, ev_offsets.astype(np.int64), t_ns.astype(np.float64), amp_mv.astype(np.float64),
        template.values, OVERSAMPLE, float(sampling_ns), white, float(white_mv), coloured,
        float(coloured_mv), ar, float(baseline_mv), float(adc_min_mv), float(lsb), int(code_max),
        saturated,
    )
    return out, saturated
