"""Safe arithmetic expressions on branches, for derived truth fields of a mapping.

A mapping may define a truth field as an expression on the file's branches, e.g.
``electron_peak_ns = "electron_time_ns + 2.4"`` or ``angle_deg = "90 - theta"``. The text is
parsed with :mod:`ast` and checked against a whitelist (numbers, branch names, ``+ - * / // % **``,
unary signs, parentheses and the functions in :data:`FUNCTIONS`); nothing is ever passed to
``eval``. Evaluation works element-wise on numpy and awkward arrays, so a per-waveform scalar
branch broadcasts against a per-electron jagged one.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccreco.errors import ConfigError, closest_first

#: Longest expression accepted (characters).
MAX_LENGTH = 500

#: Functions an expression may call (numpy ufuncs: element-wise on numpy and awkward arrays).
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": np.absolute,
    "sqrt": np.sqrt,
    "exp": np.exp,
    "log": np.log,
    "log10": np.log10,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
    "arctan2": np.arctan2,
    "deg2rad": np.deg2rad,
    "rad2deg": np.rad2deg,
    "minimum": np.minimum,
    "maximum": np.maximum,
}

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}


@dataclass(frozen=True)
class Expression:
    """A checked arithmetic expression on branch names.

    Attributes
    ----------
    text : str
        The expression as written.
    names : tuple of str
        Branch names it reads, in order of first appearance.
    """

    text: str
    names: tuple[str, ...]
    _tree: ast.Expression

    def evaluate(self, arrays: Mapping[str, Any]) -> Any:
        """Evaluate on arrays of branch values.

        Parameters
        ----------
        arrays : mapping of str to array
            Branch name -> numpy or awkward array (every name in :attr:`names`).

        Returns
        -------
        numpy.ndarray or awkward.Array
            The result, element-wise (broadcast like numpy/awkward arithmetic).

        Raises
        ------
        ConfigError
            When the arithmetic fails (e.g. arrays that do not broadcast).
        """
        try:
            with np.errstate(all="ignore"):  # NaN/inf in the result are caught by validation
                return _eval(self._tree.body, arrays)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise ConfigError(f"cannot evaluate {self.text!r}: {type(exc).__name__}: {exc}") from exc


def _eval(node: ast.AST, arrays: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):  # _check admits no other
        return float(node.value)
    if isinstance(node, ast.Name):
        return arrays[node.id]
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, arrays), _eval(node.right, arrays))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, arrays))
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return FUNCTIONS[node.func.id](*(_eval(a, arrays) for a in node.args))
    raise AssertionError(f"unchecked node {type(node).__name__}")  # parse() admits nothing else


def _check(node: ast.AST, text: str, names: list[str]) -> None:
    """Reject every node outside the whitelist, collecting branch names."""
    def bad(what: str) -> ConfigError:
        return ConfigError(f"expression {text!r}: {what} is not allowed (numbers, branch names, "
                           f"+ - * / // % **, parentheses and {', '.join(FUNCTIONS)})")

    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise bad(f"the constant {node.value!r}")
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise bad(f"the function name {node.id!r} without a call")
        if node.id not in names:
            names.append(node.id)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise bad(f"the operator {type(node.op).__name__}")
        _check(node.left, text, names)
        _check(node.right, text, names)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise bad(f"the operator {type(node.op).__name__}")
        _check(node.operand, text, names)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            called = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            near = closest_first(called, list(FUNCTIONS))[:3]
            raise bad(f"calling {called!r} (closest allowed: {', '.join(near)})")
        if node.keywords:
            raise bad("a keyword argument")
        n_args = 2 if node.func.id in ("arctan2", "minimum", "maximum") else 1
        if len(node.args) != n_args or any(isinstance(a, ast.Starred) for a in node.args):
            raise ConfigError(f"expression {text!r}: {node.func.id}() takes {n_args} argument(s)")
        for arg in node.args:
            _check(arg, text, names)
    else:
        raise bad(f"{type(node).__name__} syntax")


def parse(text: str) -> Expression:
    """Parse and check an expression.

    Parameters
    ----------
    text : str
        E.g. ``"electron_time_ns + 2.4"``, ``"90 - theta"``, ``"gain * 1.5e5"``.

    Returns
    -------
    Expression
        The checked expression (numbers become floats, so ``**`` cannot build huge integers).

    Raises
    ------
    ConfigError
        Not valid syntax, too long, or anything outside the whitelist (attributes, subscripts,
        comparisons, strings, other functions, keyword arguments...).

    Examples
    --------
    >>> e = parse("t + 2.4")
    >>> e.names
    ('t',)
    >>> float(e.evaluate({"t": 1.0}))
    3.4
    """
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"expression must be a non-empty string, got {text!r}")
    if len(text) > MAX_LENGTH:
        raise ConfigError(f"expression longer than {MAX_LENGTH} characters: {text[:40]!r}...")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"expression {text!r} is not valid: {exc.msg}") from None
    names: list[str] = []
    _check(tree.body, text, names)
    return Expression(text=text.strip(), names=tuple(names), _tree=tree)


def is_branch_name(text: str) -> bool:
    """True when ``text`` is a plain (possibly dotted) branch name, i.e. a rename, not an expression.

    Parameters
    ----------
    text : str
        A ``[truth]`` value of a mapping.

    Returns
    -------
    bool
        ``True`` for ``"t_arrival"`` or ``"hits.time"``; ``False`` for ``"t_arrival + 2.4"``.
    """
    parts = text.split(".")
    return all(p.isidentifier() for p in parts) and not (len(parts) == 1 and text in FUNCTIONS)
