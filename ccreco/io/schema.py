"""Ntuple schemas: ccreco's native layout, named presets and user TOML mappings.

A :class:`Mapping` says where a file keeps each thing ccreco reads (tree, waveform branches,
sampling, run/event, MC truth, candidate tags) and how to convert it (sampling unit, amplitude
scale/offset, polarity, tag convention). docs/SCHEMA.md documents every key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping as _MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccreco.constants import TREE
from ccreco.errors import ConfigError, closest_first
from ccreco.io.expr import Expression, is_branch_name, parse

#: Scalar truth fields (one value per waveform) of the in-memory form.
TRUTH_SCALARS: tuple[str, ...] = (
    "n_clusters",
    "n_electrons",
    "impact_cm",
    "track_length_cm",
    "momentum_gev",
    "pdg",
    "angle_deg",
    "saturated",
)
#: Jagged truth fields (one list per waveform) of the in-memory form.
TRUTH_JAGGED: tuple[str, ...] = (
    "cluster_time_ns",
    "cluster_size",
    "cluster_distance_cm",
    "electron_time_ns",
    "electron_cluster",
    "electron_peak_ns",
    "electron_gain",
    "electron_in_window",
    "cand_time_ns",
    "cand_label",
)
#: Every truth field name ccreco knows.
TRUTH_FIELDS: tuple[str, ...] = TRUTH_SCALARS + TRUTH_JAGGED

#: Sampling units: name -> (is_rate, factor). A period p in the unit is ``p * factor`` ns; a
#: rate r in the unit is a period of ``factor / r`` ns.
SAMPLING_UNITS: dict[str, tuple[bool, float]] = {
    "ns": (False, 1.0),
    "ps": (False, 1e-3),
    "us": (False, 1e3),
    "s": (False, 1e9),
    "GS/s": (True, 1.0),
    "GHz": (True, 1.0),
    "MS/s": (True, 1e3),
    "MHz": (True, 1e3),
    "Hz": (True, 1e9),
}
#: Units of candidate times: "sample" (index into the waveform) or "ns".
TIME_UNITS: tuple[str, ...] = ("sample", "ns")
#: Conventions of ``angle_deg`` in a file: ccreco's is "to_normal" (angle between the track and
#: the plane normal to the wire, 0 = perpendicular track); "to_wire" is the angle between track
#: and wire (90 = perpendicular), converted with ``90 - angle``.
ANGLE_CONVENTIONS: tuple[str, ...] = ("to_normal", "to_wire")
#: Conventions of ``electron_gain`` in a file: ccreco's is "absolute" (avalanche size in
#: electrons); "relative" (gain / mean gain) is multiplied by the mapping's ``gain_mean``.
GAIN_CONVENTIONS: tuple[str, ...] = ("absolute", "relative")


@dataclass(frozen=True)
class Mapping:
    """Where a file keeps waveforms, metadata and truth, and how to convert them.

    Attributes
    ----------
    name : str
        Label used in messages and reports.
    tree : str
        Tree name.
    waveforms : tuple of str
        One waveform branch, or several channel branches flattened into one waveform each.
    channels : tuple of int
        Channel index of each branch in ``waveforms`` (default ``0..len-1``).
    channel_branch : str or None
        Branch with a per-entry channel index (single waveform branch only).
    n_samples : int or None
        Expected samples per waveform; ``None`` takes the first entry's length.
    sampling_branch : str or None
        Branch holding the sampling (period or rate, see ``sampling_unit``).
    sampling_value : float or None
        Fixed sampling when the file stores none (same unit).
    sampling_unit : str
        One of :data:`SAMPLING_UNITS` ("ns", "ps", "GS/s", "MHz", ...).
    scale : float
        mV per raw unit, applied after subtracting ``offset``.
    offset : float
        Pedestal in raw units, subtracted before scaling.
    polarity : int
        +1, or -1 for digitizers that record negative pulses.
    run, event : str or None
        Branches with run and event numbers (entry number when ``None`` or absent).
    truth : dict
        In-memory truth field -> branch name. Every truth branch is optional.
    derived : dict
        In-memory truth field -> arithmetic expression on branches (:mod:`ccreco.io.expr`), e.g.
        ``{"electron_peak_ns": "electron_time_ns + 2.4"}``; taken as written (no convention
        transform). A field is either renamed (``truth``) or derived, not both.
    angle_convention : str
        How the file's angle (renamed or auto-imported ``angle_deg``) is measured, one of
        :data:`ANGLE_CONVENTIONS`; "to_wire" is converted to ccreco's "to_normal".
    gain_convention : str
        How the file's ``electron_gain`` is expressed, one of :data:`GAIN_CONVENTIONS`.
    gain_mean : float or None
        Mean gain that turns a "relative" ``electron_gain`` into an absolute one (required then).
    auto_truth : bool
        Also take every branch named like a known truth field (native files).
    cand_time, cand_tag : str or None
        Branches of candidate times and tags (cepc layouts).
    cand_time_unit : str
        "sample" (index into the waveform, default) or "ns".
    signal_tags, noise_tags : tuple of int
        Tag values meaning signal (label 1) and noise (label 0); any other value is an error.
    """

    name: str = "native"
    tree: str = TREE
    waveforms: tuple[str, ...] = ("waveform",)
    channels: tuple[int, ...] | None = None
    channel_branch: str | None = "channel"
    n_samples: int | None = None
    sampling_branch: str | None = "sampling_ns"
    sampling_value: float | None = None
    sampling_unit: str = "ns"
    scale: float = 1.0
    offset: float = 0.0
    polarity: int = 1
    run: str | None = "run"
    event: str | None = "event"
    truth: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)
    angle_convention: str = "to_normal"
    gain_convention: str = "absolute"
    gain_mean: float | None = None
    auto_truth: bool = True
    cand_time: str | None = None
    cand_tag: str | None = None
    cand_time_unit: str = "sample"
    signal_tags: tuple[int, ...] = ()
    noise_tags: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # types first: `tree = 5` or `scale = "big"` in a TOML file
            v, t = getattr(self, f.name), str(f.type)
            if v is None and t.endswith("| None"):
                continue
            if t.startswith("str") and not isinstance(v, str):
                raise ConfigError(f"mapping {self.name!r}: {f.name} must be a string, got {v!r}")
            if t.startswith("float") and (isinstance(v, bool) or not isinstance(v, (int, float))
                                          or v != v or v in (float("inf"), float("-inf"))):
                raise ConfigError(f"mapping {self.name!r}: {f.name} must be a finite number, got {v!r}")
        if isinstance(self.waveforms, str):
            object.__setattr__(self, "waveforms", (self.waveforms,))
        object.__setattr__(self, "waveforms", tuple(self.waveforms))
        if not self.waveforms:
            raise ConfigError(f"mapping {self.name!r}: 'waveforms' needs at least one branch")
        if self.channels is None:
            object.__setattr__(self, "channels", tuple(range(len(self.waveforms))))
        else:
            object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if len(self.channels or ()) != len(self.waveforms):
            raise ConfigError(
                f"mapping {self.name!r}: 'channels' has {len(self.channels or ())} values for "
                f"{len(self.waveforms)} waveform branches"
            )
        object.__setattr__(self, "truth", dict(self.truth))
        object.__setattr__(self, "signal_tags", tuple(int(t) for t in self.signal_tags))
        object.__setattr__(self, "noise_tags", tuple(int(t) for t in self.noise_tags))
        if self.sampling_unit not in SAMPLING_UNITS:
            raise ConfigError(
                f"mapping {self.name!r}: unknown sampling_unit {self.sampling_unit!r}; "
                f"use one of {closest_first(self.sampling_unit, list(SAMPLING_UNITS))}"
            )
        if self.sampling_branch is None and self.sampling_value is None:
            raise ConfigError(f"mapping {self.name!r}: give a sampling branch or a sampling value")
        if self.sampling_value is not None and not self.sampling_value > 0:
            raise ConfigError(f"mapping {self.name!r}: sampling value must be > 0")
        if self.polarity not in (1, -1):
            raise ConfigError(f"mapping {self.name!r}: polarity must be 1 or -1, got {self.polarity}")
        if not self.scale or self.scale != self.scale:
            raise ConfigError(f"mapping {self.name!r}: scale must be a non-zero number")
        if self.n_samples is not None and self.n_samples <= 0:
            raise ConfigError(f"mapping {self.name!r}: n_samples must be > 0")
        if self.cand_time_unit not in TIME_UNITS:
            raise ConfigError(
                f"mapping {self.name!r}: cand_time_unit must be one of {TIME_UNITS}, "
                f"got {self.cand_time_unit!r}"
            )
        if self.cand_tag is not None and not (self.signal_tags and self.noise_tags):
            raise ConfigError(
                f"mapping {self.name!r}: a candidate tag branch needs signal_tags and noise_tags"
            )
        if set(self.signal_tags) & set(self.noise_tags):
            raise ConfigError(f"mapping {self.name!r}: a tag value is both signal and noise")
        object.__setattr__(self, "derived", dict(self.derived))
        unknown = [k for k in (*self.truth, *self.derived) if k not in TRUTH_FIELDS]
        if unknown:
            raise ConfigError(
                f"mapping {self.name!r}: unknown truth field {unknown[0]!r}; closest: "
                f"{closest_first(unknown[0], list(TRUTH_FIELDS))[:3]}"
            )
        both = sorted(set(self.truth) & set(self.derived))
        if both:
            raise ConfigError(f"mapping {self.name!r}: truth field {both[0]!r} is both renamed and derived")
        for name, text in self.derived.items():
            try:
                expr = parse(text)
            except ConfigError as exc:
                raise ConfigError(f"mapping {self.name!r}: [truth] {name}: {exc.message}") from None
            if not expr.names:
                raise ConfigError(f"mapping {self.name!r}: [truth] {name} = {text!r} reads no branch")
        if self.angle_convention not in ANGLE_CONVENTIONS:
            raise ConfigError(f"mapping {self.name!r}: angle_deg convention must be one of "
                              f"{ANGLE_CONVENTIONS}, got {self.angle_convention!r}")
        if self.gain_convention not in GAIN_CONVENTIONS:
            raise ConfigError(f"mapping {self.name!r}: electron_gain convention must be one of "
                              f"{GAIN_CONVENTIONS}, got {self.gain_convention!r}")
        if self.gain_convention == "relative" and not (self.gain_mean is not None and self.gain_mean > 0):
            raise ConfigError(f"mapping {self.name!r}: electron_gain = \"relative\" needs gain_mean > 0 "
                              "under [conventions] (the mean avalanche size, e.g. 1.5e5)")
        if len(self.waveforms) > 1 and self.channel_branch is not None:
            object.__setattr__(self, "channel_branch", None)

    @property
    def identity_amplitude(self) -> bool:
        """True when the amplitude conversion is a no-op (native files)."""
        return self.scale == 1.0 and self.offset == 0.0 and self.polarity == 1

    def to_period_ns(self, value: Any) -> Any:
        """Convert sampling values in ``sampling_unit`` to a period in ns.

        Parameters
        ----------
        value : float or numpy.ndarray
            Period or rate as stored in the file.

        Returns
        -------
        float or numpy.ndarray
            Sampling period in ns.
        """
        is_rate, factor = SAMPLING_UNITS[self.sampling_unit]
        return factor / value if is_rate else value * factor

    def expressions(self) -> dict[str, Expression]:
        """Parsed :attr:`derived` expressions, truth field -> :class:`~ccreco.io.expr.Expression`."""
        return {name: parse(text) for name, text in self.derived.items()}

    def replace(self, **changes: Any) -> Mapping:
        """Return a copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


#: The native schema written by :class:`ccreco.io.NtupleWriter`.
NATIVE = Mapping()

#: Public IHEP/CEPC Garfield++ layout (newer files): tag 0 noise, 1 primary, 2 secondary.
CEPC = Mapping(
    name="cepc",
    tree=TREE,
    waveforms=("wf_i",),
    channel_branch=None,
    sampling_branch="sampling_rate",
    sampling_unit="GS/s",
    run=None,
    event=None,
    truth={"n_clusters": "ncls", "momentum_gev": "mom"},
    auto_truth=False,
    cand_time="time",
    cand_tag="tag",
    cand_time_unit="sample",
    signal_tags=(1, 2),
    noise_tags=(0,),
)

#: Older layout of the same group: tree ``signal``, tag 0 primary, 1 secondary, 2 noise.
CEPC_OLD = CEPC.replace(name="cepc-old", tree="signal", signal_tags=(0, 1), noise_tags=(2,))

#: Named schema presets.
PRESETS: dict[str, Mapping] = {m.name: m for m in (NATIVE, CEPC, CEPC_OLD)}

# TOML tables and the Mapping fields their keys set; top-level keys map one to one.
_TABLES: dict[str, dict[str, str]] = {
    "sampling": {"branch": "sampling_branch", "value": "sampling_value", "unit": "sampling_unit"},
    "amplitude": {"scale": "scale", "offset": "offset", "polarity": "polarity"},
    "candidates": {
        "time": "cand_time",
        "tag": "cand_tag",
        "time_unit": "cand_time_unit",
        "signal_tags": "signal_tags",
        "noise_tags": "noise_tags",
    },
    "conventions": {
        "angle_deg": "angle_convention",
        "electron_gain": "gain_convention",
        "gain_mean": "gain_mean",
    },
}
_TOP: tuple[str, ...] = (
    "name",
    "tree",
    "waveforms",
    "channels",
    "channel_branch",
    "n_samples",
    "run",
    "event",
    "auto_truth",
)


def _expand_waveforms(spec: Any, where: str) -> tuple[tuple[str, ...], tuple[int, ...] | None]:
    """Waveform branches from a name, a list, or ``{pattern = "Waveform{}", channels = [...]}``."""
    if isinstance(spec, str):
        return (spec,), None
    if isinstance(spec, list) and all(isinstance(s, str) for s in spec):
        return tuple(spec), None
    if isinstance(spec, dict) and set(spec) <= {"pattern", "channels"} and "pattern" in spec:
        chans = spec.get("channels", [0])
        if isinstance(chans, dict):  # {first = 0, last = 15}
            chans = list(range(int(chans["first"]), int(chans["last"]) + 1))
        return tuple(spec["pattern"].format(c) for c in chans), tuple(int(c) for c in chans)
    raise ConfigError(
        f"{where}: 'waveforms' must be a branch name, a list of names or "
        "{pattern = 'Waveform{}', channels = [...]}"
    )


def _truth_entries(table: dict[str, Any], where: str) -> tuple[dict[str, str], dict[str, str]]:
    """Split ``[truth]`` into renames (a branch name) and derived fields (an expression).

    A value is a branch name (``"t_arrival"``, ``"hits.time"``), an expression
    (``"t_arrival + 2.4"``), or a table ``{branch = "t", scale = 1.0, offset = 2.4}``
    (``branch * scale + offset``) or ``{expr = "..."}``.
    """
    renames: dict[str, str] = {}
    derived: dict[str, str] = {}
    for name, value in table.items():
        if isinstance(value, str):
            (renames if is_branch_name(value) else derived)[name] = value
        elif isinstance(value, dict) and set(value) == {"expr"} and isinstance(value["expr"], str):
            derived[name] = value["expr"]
        elif isinstance(value, dict) and "branch" in value and set(value) <= {"branch", "scale", "offset"}:
            branch = value["branch"]
            if not (isinstance(branch, str) and branch.isidentifier()):
                raise ConfigError(f"{where}: [truth] {name}: branch must be a branch name, got {branch!r}")
            try:
                scale, offset = float(value.get("scale", 1.0)), float(value.get("offset", 0.0))
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: [truth] {name}: scale and offset must be numbers") from None
            derived[name] = f"{branch} * {scale!r} + {offset!r}"
        else:
            raise ConfigError(
                f"{where}: [truth] {name} must be a branch name, an expression such as \"t + 2.4\", "
                f"{{branch = \"t\", scale = 1.0, offset = 2.4}} or {{expr = \"...\"}}; got {value!r}"
            )
    return renames, derived


def mapping_from_dict(doc: _MappingABC[str, Any], *, where: str = "mapping") -> Mapping:
    """Build a :class:`Mapping` from a parsed TOML document (see docs/SCHEMA.md).

    Parameters
    ----------
    doc : mapping
        The document. ``preset = "cepc"`` starts from that preset; other keys override it.
    where : str
        Name of the source, for error messages.

    Returns
    -------
    Mapping
        The validated mapping.

    Raises
    ------
    ConfigError
        On an unknown key, preset or value, naming it and the closest valid names.
    """
    doc = dict(doc)
    base_name = doc.pop("preset", "native")
    if base_name not in PRESETS:
        raise ConfigError(
            f"{where}: unknown preset {base_name!r}; presets: {closest_first(base_name, list(PRESETS))}"
        )
    base = PRESETS[base_name]
    changes: dict[str, Any] = {"name": Path(where).stem if where != "mapping" else base_name}
    if "truth" in doc:
        truth = doc.pop("truth")
        if not isinstance(truth, dict):
            raise ConfigError(f"{where}: [truth] must be a table of field = \"branch\" or \"expression\"")
        renames, derived = _truth_entries(truth, where)
        changes["truth"] = {k: v for k, v in {**base.truth, **renames}.items() if k not in derived}
        changes["derived"] = {k: v for k, v in {**base.derived, **derived}.items() if k not in renames}
    for table, keys in _TABLES.items():
        if table not in doc:
            continue
        sub = doc.pop(table)
        if not isinstance(sub, dict):
            raise ConfigError(f"{where}: [{table}] must be a table")
        for key, value in sub.items():
            if key not in keys:
                raise ConfigError(
                    f"{where}: unknown key {key!r} in [{table}]; valid: {closest_first(key, list(keys))}"
                )
            changes[keys[key]] = value
        if table == "sampling" and "value" in sub and "branch" not in sub:
            changes["sampling_branch"] = None
    for key, value in doc.items():
        if key not in _TOP:
            valid = list(_TOP) + list(_TABLES) + ["preset", "truth"]
            raise ConfigError(f"{where}: unknown key {key!r}; closest: {closest_first(key, valid)[:3]}")
        if key == "waveforms":
            wfs, chans = _expand_waveforms(value, where)
            changes["waveforms"] = wfs
            changes.setdefault("channels", chans)
            if len(wfs) > 1:
                changes["channel_branch"] = None
        else:
            changes[key] = value
    for key in ("run", "event", "channel_branch", "sampling_branch", "cand_time", "cand_tag"):
        if changes.get(key, 0) == "":  # an empty string in TOML means "none"
            changes[key] = None
    try:
        return dataclasses.replace(base, **changes)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise ConfigError(f"{where}: {exc.message}") from exc
        raise ConfigError(f"{where}: {exc}") from exc


def load_mapping(path: str | os.PathLike[str]) -> Mapping:
    """Read a TOML mapping file.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.toml`` file (format in docs/SCHEMA.md).

    Returns
    -------
    Mapping
        The validated mapping, named after the file.

    Raises
    ------
    ConfigError
        When the file is missing, not valid TOML, or has unknown keys or bad values.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError as exc:
        raise ConfigError(f"mapping file {str(path)!r} not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"mapping file {str(path)!r} is not valid TOML: {exc}") from exc
    return mapping_from_dict(doc, where=str(path))


def resolve_schema(schema: str | Mapping | os.PathLike[str]) -> Mapping:
    """Turn a preset name, a ``.toml`` path or a :class:`Mapping` into a :class:`Mapping`.

    Parameters
    ----------
    schema : str, os.PathLike or Mapping
        Preset name (see :data:`PRESETS`), path of a TOML mapping, or a mapping.

    Returns
    -------
    Mapping
        The mapping to read with.
    """
    if isinstance(schema, Mapping):
        return schema
    name = os.fspath(schema)
    if name in PRESETS:
        return PRESETS[name]
    if name.endswith(".toml"):
        return load_mapping(name)
    raise ConfigError(
        f"unknown schema {name!r}; presets: {closest_first(name, list(PRESETS))} "
        "(or give a .toml mapping file)"
    )


#: What each truth-dependent command needs: name -> alternatives, each a set of truth fields.
NEEDS_TRUTH: dict[str, tuple[frozenset[str], ...]] = {
    "evaluate peaks / train peaks": (frozenset({"electron_peak_ns"}), frozenset({"cand_time_ns", "cand_label"})),
    "evaluate clusters / train clusters": (frozenset({"n_clusters"}),),
}


def supported_uses(truth_fields: list[str] | set[str]) -> dict[str, bool]:
    """Which truth-dependent commands a file's truth supports.

    Parameters
    ----------
    truth_fields : list or set of str
        Truth fields the reader delivers for the file.

    Returns
    -------
    dict of str to bool
        Command -> supported. ``reco``, ``compare`` and ``tune`` need no truth and are not listed.
    """
    have = set(truth_fields)
    return {use: any(alt <= have for alt in alts) for use, alts in NEEDS_TRUTH.items()}

