"""One converter from ``KEY=VALUE`` strings, TOML values and Python values to typed dataclass fields.

Every configuration dataclass of ccreco converts and checks its fields here, whatever the source:
``--set key=value`` (strings), ``--config file.toml`` (TOML scalars and arrays) and Python
keyword arguments all give the same value or the same error. Rules, by the field's annotation:

- ``bool``: ``True``/``False``, or one of the strings ``true yes on 1`` / ``false no off 0``
  (case-insensitive); anything else (including the numbers 0 and 1) is refused;
- ``int``: an int (not a bool), or a string of one (``"12"``); ``12.5`` and ``"12.0"`` are refused;
- ``float``: an int or float, or a string of one; must be finite (``inf``/``nan`` refused);
- ``str``: a string;
- ``X | None``: ``None``, the string ``none`` (case-insensitive) or an empty string, else as ``X``;
- ``tuple[X, ...]``: a list/tuple, or a comma-separated string (``pi,K,p``), each item as ``X``;
  a single scalar becomes a one-item tuple; ``tuple[int, int]`` items may be written ``32x4``;
- ``Literal[...]``: one of the listed values.

Errors are :class:`ccreco.errors.ConfigError` naming the owner and the field
(``SimConfig.adc_bits = 12.5: must be an integer``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

from ccreco.errors import ConfigError

#: Spellings of yes/no accepted for bool fields (case-insensitive).
TRUE_WORDS: tuple[str, ...] = ("true", "yes", "on", "1")
FALSE_WORDS: tuple[str, ...] = ("false", "no", "off", "0")

_T = typing.TypeVar("_T")


def _fail(name: str, value: Any, why: str) -> ConfigError:
    return ConfigError(f"{name} = {value!r}: {why}")


def convert_value(value: Any, kind: Any, *, name: str) -> Any:
    """Convert one value (string, TOML or Python value) to the annotated type ``kind``.

    Parameters
    ----------
    value : object
        The raw value.
    kind : type or typing annotation
        The field's (evaluated) annotation.
    name : str
        Used in error messages (e.g. ``SimConfig.noise_mv``).

    Returns
    -------
    object
        The converted value.

    Raises
    ------
    ConfigError
        The value does not convert, or a float is not finite.
    """
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if kind is Any or kind is object:
        return value
    if origin in (typing.Union, types.UnionType):
        if type(None) in args:
            if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "")):
                return None
            rest = [a for a in args if a is not type(None)]
            kind = rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]  # noqa: UP007
            return convert_value(value, kind, name=name)
        for a in args:
            try:
                return convert_value(value, a, name=name)
            except ConfigError:
                pass
        raise _fail(name, value, f"matches none of {kind}")
    if origin is typing.Literal:
        for a in args:
            if value == a or (isinstance(value, str) and not isinstance(a, str) and value.strip() == str(a)):
                return a
        raise _fail(name, value, f"must be one of {', '.join(map(repr, args))}")
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            word = value.strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
        raise _fail(name, value, f"must be true or false ({'/'.join(TRUE_WORDS)} or {'/'.join(FALSE_WORDS)})")
    if kind is int:
        if isinstance(value, bool):
            raise _fail(name, value, "must be an integer")
        if isinstance(value, int):
            return int(value)
        if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu" and getattr(value, "ndim", 1) == 0:
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise _fail(name, value, "must be an integer")
    if kind is float:
        out: float | None = None
        if isinstance(value, bool):
            out = None
        elif isinstance(value, (int, float)):
            out = float(value)
        elif hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iuf" and getattr(value, "ndim", 1) == 0:
            out = float(value)
        elif isinstance(value, str):
            try:
                out = float(value.strip())
            except ValueError:
                out = None
        if out is None:
            raise _fail(name, value, "must be a number")
        if not math.isfinite(out):
            raise _fail(name, value, "must be finite")
        return out
    if kind is str:
        if isinstance(value, str):
            return value.strip()
        raise _fail(name, value, "must be a string")
    if origin is tuple:
        if isinstance(value, str):
            items: list[Any] = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            items = [value]
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(convert_value(v, args[0], name=f"{name}[{i}]") for i, v in enumerate(items))
        if len(items) == 1 and isinstance(items[0], str) and "x" in items[0] and len(args) > 1:
            items = items[0].split("x")  # ``32x4`` for tuple[int, int]
        if len(items) != len(args):
            raise _fail(name, value, f"needs {len(args)} items")
        return tuple(convert_value(v, a, name=f"{name}[{i}]") for i, (v, a) in enumerate(zip(items, args, strict=True)))
    if isinstance(kind, type) and isinstance(value, kind):
        return value
    if origin is not None and isinstance(origin, type) and isinstance(value, origin):
        return value  # other containers (dict, list, Mapping) are checked by their owner
    raise _fail(name, value, f"must be {getattr(kind, '__name__', kind)}")


@functools.cache
def _field_types(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


def field_types(cls: type) -> dict[str, Any]:
    """The evaluated annotation of every dataclass field of ``cls``.

    Parameters
    ----------
    cls : type
        A dataclass.

    Returns
    -------
    dict of str to annotation
        In field order.
    """
    return dict(_field_types(cls))


def convert_fields(cls: type, values: Mapping[str, Any], *, what: str | None = None,
                   lower_keys: bool = False) -> dict[str, Any]:
    """Check the keys of ``values`` against ``cls``'s fields and convert every value.

    Parameters
    ----------
    cls : type
        A dataclass.
    values : mapping
        Field name to raw value (strings from ``--set``, TOML values, Python values).
    what : str, optional
        How the fields are called in messages (default the class name).
    lower_keys : bool
        Match keys case-insensitively (``N1`` for ``n1``).

    Returns
    -------
    dict
        Field name to converted value.

    Raises
    ------
    ConfigError
        An unknown key (with the closest known ones) or a value that does not convert.
    """
    from ccreco.errors import closest_first

    kinds = field_types(cls)
    label = what or cls.__name__
    out = {}
    for key, raw in values.items():
        field = key.lower() if lower_keys else key
        if field not in kinds:
            raise ConfigError(f"unknown {label} parameter {key!r}; closest: {closest_first(field, list(kinds))[:3]}")
        out[field] = convert_value(raw, kinds[field], name=f"{cls.__name__}.{field}")
    return out


def coerce_fields(obj: Any) -> None:
    """Convert every field of a (possibly frozen) dataclass instance in place (``__post_init__``).

    Parameters
    ----------
    obj : dataclass instance
        Its fields are replaced by their converted values.

    Raises
    ------
    ConfigError
        A field whose value does not convert (named ``Class.field``).
    """
    cls = type(obj)
    for field, kind in field_types(cls).items():
        value = getattr(obj, field)
        new = convert_value(value, kind, name=f"{cls.__name__}.{field}")
        if new is not value:
            object.__setattr__(obj, field, new)


def replace_fields(obj: _T, values: Mapping[str, Any], *, what: str | None = None,
                   lower_keys: bool = False) -> _T:
    """A copy of a dataclass instance with fields set from raw values (validated again).

    Parameters
    ----------
    obj : dataclass instance
        The starting point.
    values : mapping
        As for :func:`convert_fields`.
    what : str, optional
        How the fields are called in messages.
    lower_keys : bool
        Match keys case-insensitively.

    Returns
    -------
    dataclass instance
        The new, validated instance.
    """
    changes = convert_fields(type(obj), values, what=what, lower_keys=lower_keys)
    return typing.cast(_T, dataclasses.replace(typing.cast(Any, obj), **changes))


__all__ = ["FALSE_WORDS", "TRUE_WORDS", "coerce_fields", "convert_fields", "convert_value", "field_types",
           "replace_fields"]
