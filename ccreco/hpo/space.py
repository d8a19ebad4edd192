"""Search spaces read from a SPACE.toml file and sampled through an Optuna trial.

Format (one table per hyperparameter, under ``[params]``)::

    [params]
    cell = ["lstm", "gru"]                                   # categorical list
    hidden = {low = 16, high = 128, log = true}              # int range (both bounds int)
    dropout = {low = 0.0, high = 0.3}                        # float range
    learning_rate = {low = 1e-4, high = 1e-2, log = true}
    batch_size = {low = 64, high = 256, step = 64}           # int range with step

A bare scalar fixes the value. Ranges are inclusive.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccreco.errors import ConfigError


@dataclass(frozen=True)
class Param:
    """One hyperparameter of a search space.

    Attributes
    ----------
    name : str
        Hyperparameter name (a config field or a derived option such as ``dense``).
    kind : {"categorical", "int", "float", "fixed"}
        How it is sampled.
    choices : tuple
        Categorical choices (or the single fixed value).
    low, high : float or None
        Range bounds (inclusive) for ``int`` and ``float``.
    log : bool
        Sample uniformly in log space.
    step : float or None
        Discretization step of the range.
    """

    name: str
    kind: str
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    def __post_init__(self) -> None:
        if self.kind in ("int", "float"):
            if self.low is None or self.high is None or not self.low <= self.high:
                raise ConfigError(f"space parameter {self.name!r}: need low <= high")
            if self.log and self.low <= 0:
                raise ConfigError(f"space parameter {self.name!r}: log range needs low > 0")
            if self.log and self.step is not None:
                raise ConfigError(f"space parameter {self.name!r}: log and step are exclusive")
        elif self.kind in ("categorical", "fixed"):
            if not self.choices:
                raise ConfigError(f"space parameter {self.name!r}: empty choice list")
        else:
            raise ConfigError(f"space parameter {self.name!r}: unknown kind {self.kind!r}")

    def _range(self) -> tuple[float, float]:
        # __post_init__ guarantees both bounds for the "int" and "float" kinds
        if self.low is None or self.high is None:
            raise ConfigError(f"space parameter {self.name!r} ({self.kind}) has no range")
        return self.low, self.high

    def suggest(self, trial: Any) -> Any:
        """Draw this parameter's value from an ``optuna.trial.Trial``.

        Parameters
        ----------
        trial : optuna.trial.Trial
            The running trial.

        Returns
        -------
        object
            The sampled value (the fixed value for ``fixed``).
        """
        if self.kind == "fixed":
            return self.choices[0]
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        low, high = self._range()
        if self.kind == "int":
            step = int(self.step) if self.step is not None else 1
            return trial.suggest_int(self.name, int(low), int(high), step=step, log=self.log)
        return trial.suggest_float(self.name, float(low), float(high), step=self.step, log=self.log)

    def grid(self, n_float: int = 3) -> list[Any]:
        """Values this parameter takes in a grid search.

        Parameters
        ----------
        n_float : int
            Points for a float range (log-spaced when ``log``).

        Returns
        -------
        list
            The grid values.
        """
        if self.kind in ("categorical", "fixed"):
            return list(self.choices)
        low, high = self._range()
        lo, hi = float(low), float(high)
        if self.kind == "int" and not self.log:
            step = int(self.step or 1)
            return list(range(int(lo), int(hi) + 1, step))
        if self.step is not None:
            n = int(math.floor((hi - lo) / self.step + 1e-9)) + 1
            return [lo + i * self.step for i in range(n)]
        if self.log:
            vals = [math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * i / (n_float - 1)) for i in range(n_float)]
        else:
            vals = [lo + (hi - lo) * i / (n_float - 1) for i in range(n_float)]
        if self.kind == "int":
            return sorted({int(round(v)) for v in vals})
        return vals


@dataclass(frozen=True)
class SearchSpace:
    """An ordered set of :class:`Param`.

    Attributes
    ----------
    params : tuple of Param
        The hyperparameters, in file order.
    """

    params: tuple[Param, ...]

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Sample every parameter; returns ``{name: value}``."""
        return {p.name: p.suggest(trial) for p in self.params}

    def grid(self, n_float: int = 3) -> dict[str, list[Any]]:
        """The grid for ``optuna.samplers.GridSampler`` (sampled parameters only)."""
        return {p.name: p.grid(n_float) for p in self.params if p.kind != "fixed"}

    def extra_inputs(self) -> tuple[str, ...]:
        """Every name that the ``extra`` parameter (CNN extra scalar inputs) can take, in order.

        Returns
        -------
        tuple of str
            E.g. ``("track_length_cm",)``; empty when the space has no ``extra``.

        Examples
        --------
        >>> parse_space({"params": {"extra": ["", "track_length_cm"]}}).extra_inputs()
        ('track_length_cm',)
        """
        names: dict[str, None] = {}
        for p in self.params:
            if p.name != "extra":
                continue
            for choice in p.choices:
                items = choice.split(",") if isinstance(choice, str) else list(choice)
                names.update((str(v).strip(), None) for v in items if str(v).strip())
        return tuple(names)


def _param(name: str, spec: Any) -> Param:
    if isinstance(spec, list):
        return Param(name, "categorical", choices=tuple(spec))
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"low", "high", "log", "step"}
        if unknown or "low" not in spec or "high" not in spec:
            raise ConfigError(
                f"space parameter {name!r}: a range needs low and high (optional log, step);"
                f" got keys {sorted(spec)}"
            )
        is_int = all(isinstance(spec[k], int) and not isinstance(spec[k], bool) for k in ("low", "high"))
        return Param(
            name,
            "int" if is_int else "float",
            low=spec["low"],
            high=spec["high"],
            log=bool(spec.get("log", False)),
            step=spec.get("step"),
        )
    return Param(name, "fixed", choices=(spec,))


def parse_space(doc: Mapping[str, Any]) -> SearchSpace:
    """Build a :class:`SearchSpace` from a parsed TOML document.

    Parameters
    ----------
    doc : mapping
        The document; parameters live in its ``params`` table.

    Returns
    -------
    SearchSpace
        The space.

    Raises
    ------
    ConfigError
        No ``params`` table, or a malformed entry (the message names it).
    """
    params = doc.get("params")
    if not isinstance(params, Mapping) or not params:
        raise ConfigError("search space needs a non-empty [params] table")
    return SearchSpace(tuple(_param(str(k), v) for k, v in params.items()))


def load_space(path: str | Path) -> SearchSpace:
    """Read a SPACE.toml file.

    Parameters
    ----------
    path : path-like
        The TOML file.

    Returns
    -------
    SearchSpace
        The space.
    """
    with open(path, "rb") as fh:
        try:
            doc = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    return parse_space(doc)
