"""The one argument convention every ``ccreco`` subcommand follows (parser helpers).

- inputs are positional (``FILE ...``; ``--data`` is a hidden, deprecated alias that still works);
- ``-o/--output`` is the output, a file or a directory as the command makes;
- ``--schema NAME`` or ``--mapping FILE.toml`` wherever waveform files are read;
- ``--json FILE`` writes the command's summary as JSON (``-`` or no value: standard output);
- ``--seed`` defaults to :data:`DEFAULT_SEED` everywhere a command draws random numbers;
- ``--chunk-size`` is the number of entries per block/chunk;
- ``--plots [DIR]`` / ``--no-plots`` switch plots on (optionally into DIR) or off;
- defaults are shown by the help formatter, and each ``--help`` ends with an example.

Deprecated spellings (``--data``, ``--outdir``, ``--step-size``) stay accepted but hidden from
``--help``; using one prints a one-line notice on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

#: Seed of every command that draws random numbers, unless ``--seed`` says otherwise.
DEFAULT_SEED = 1
#: Width of wrapped descriptions in ``--help``.
_WIDTH = 94
#: ``--preset`` names, sorted, for ``--help``. Literal copies, because importing the tables
#: (``ccreco.sim.config`` pulls numba) would slow every ``ccreco --help``;
#: tests/test_cli_convention.py checks each equals ``sorted()`` of its table.
SIM_PRESETS = ("heed-tube", "pid", "tb2023-tuned", "tb2023-untuned")  # ccreco.sim.PRESETS
PEAK_MODEL_PRESETS = ("anwar2024", "compact")  # ccreco.models.config.PEAK_PRESETS
CLUSTER_MODEL_PRESETS = ("ihep", "wide")  # ccreco.models.config.CLUSTER_PRESETS


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Show each option's default (unless it is None, a flag's bool or empty) and keep the epilog's layout."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or default is argparse.SUPPRESS or default is None or isinstance(default, bool)
                or default == [] or isinstance(action, (argparse._HelpAction, argparse._VersionAction))):
            return text  # flags and unset options: the help text says what happens
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{text} (default: %(default)s)" if text else "default: %(default)s"
        return text


def add_command(subparsers: Any, name: str, *, help: str, description: str,
                examples: list[str]) -> argparse.ArgumentParser:
    """Add a subcommand with the shared formatter, a wrapped description and an example epilog.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        Where to add it.
    name : str
        Subcommand name.
    help : str
        One line for the parent's command list.
    description : str
        Paragraphs (separated by blank lines) shown at the top of ``--help``.
    examples : list of str
        Command lines shown under "examples:" at the end of ``--help``.

    Returns
    -------
    argparse.ArgumentParser
        The new parser.
    """
    paragraphs = [textwrap.fill(" ".join(par.split()), _WIDTH) for par in description.split("\n\n")]
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples) if examples else None
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help, description="\n\n".join(paragraphs), epilog=epilog, formatter_class=HelpFormatter)
    return parser


class _Deprecated(argparse.Action):
    """A hidden old spelling that stores into the new option's place and says so once."""

    def __init__(self, option_strings: list[str], dest: str, *, new: str, **kw: Any) -> None:
        self.new = new
        super().__init__(option_strings, dest, **kw)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"ccreco: {option_string} is deprecated; use {self.new}", file=sys.stderr)
        if isinstance(values, list):
            values = [*(getattr(namespace, self.dest, None) or []), *values]
        setattr(namespace, self.dest, values)


def deprecated(p: argparse.ArgumentParser, old: str, new: str, *, dest: str, nargs: Any = None,
               type: Any = None) -> None:
    """Accept ``old`` as a hidden alias of ``new`` (stores into ``dest``).

    Parameters
    ----------
    p : argparse.ArgumentParser
        The parser.
    old, new : str
        Old spelling (e.g. ``--outdir``), new spelling for the notice (e.g. ``-o/--output``).
    dest : str
        Attribute the new option stores into.
    nargs, type
        As for the new option.
    """
    p.add_argument(old, dest=dest, action=_Deprecated, new=new, nargs=nargs, type=type,
                   default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def add_inputs(p: argparse.ArgumentParser, help: str, *, data_alias: bool = True) -> None:
    """Positional ``FILE ...`` inputs (dest ``files``), with ``--data`` as a hidden alias."""
    p.add_argument("files", nargs="*", metavar="FILE", help=help)
    if data_alias:
        deprecated(p, "--data", "positional FILE arguments", dest="data_files", nargs="+")


def input_files(args: argparse.Namespace) -> list[str]:
    """The input files of a command: positional ``FILE``s plus any given with ``--data``.

    Raises
    ------
    ConfigError
        When no input was given.
    """
    from ccreco.errors import ConfigError

    files = [*getattr(args, "files", []), *getattr(args, "data_files", [])]
    if not files:
        raise ConfigError("give at least one input FILE (ROOT file or glob pattern)")
    return files


def add_output(p: argparse.ArgumentParser, *, metavar: str, help: str, required: bool = True,
               old: tuple[str, ...] = ()) -> None:
    """``-o/--output`` (dest ``output``), with hidden old spellings (e.g. ``--outdir``)."""
    p.add_argument("-o", "--output", required=False, default=None, metavar=metavar,
                   help=help + (" (required)" if required else ""))
    for name in old:
        deprecated(p, name, "-o/--output", dest="output")
    p.set_defaults(_output_required=required)


def output(args: argparse.Namespace) -> str | None:
    """The ``-o/--output`` value; a usage error when the command requires one and none was given."""
    from ccreco.errors import ConfigError

    value = getattr(args, "output", None)
    if value is None and getattr(args, "_output_required", False):
        raise ConfigError("-o/--output is required")
    return value


def required_output(args: argparse.Namespace) -> str:
    """The ``-o/--output`` value of a command that requires one; a usage error when none was given."""
    from ccreco.errors import ConfigError

    value = output(args)
    if value is None:
        raise ConfigError("-o/--output is required")
    return value


def add_schema(p: argparse.ArgumentParser) -> None:
    """``--schema NAME`` and ``--mapping FILE.toml`` (exclusive; dest ``schema`` and ``mapping``)."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--schema", default="native", metavar="NAME",
                       help="schema preset of the input files: native, cepc, cepc-old (docs/SCHEMA.md)")
    group.add_argument("--mapping", metavar="FILE.toml",
                       help="TOML branch mapping for any other layout (docs/SCHEMA.md); excludes --schema")


def schema(args: argparse.Namespace) -> str:
    """What to pass as ``schema=`` to the library: the ``--mapping`` path (checked now) or the preset name.

    Raises
    ------
    ConfigError
        The mapping file is missing, invalid, or not named ``*.toml``.
    """
    from ccreco.errors import ConfigError
    from ccreco.io import load_mapping

    mapping = getattr(args, "mapping", None)
    if not mapping:
        return str(args.schema)
    if not str(mapping).endswith(".toml"):
        raise ConfigError(f"--mapping expects a FILE.toml, got {mapping!r}")
    load_mapping(mapping)  # errors name the file and key before any work starts
    return str(mapping)


def add_json(p: argparse.ArgumentParser, what: str = "the summary") -> None:
    """``--json [FILE]``: write ``what`` as JSON to FILE (``-`` or no value: standard output)."""
    p.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                   help=f"write {what} as JSON to FILE ('-' or no FILE: standard output)")


def write_json(args: argparse.Namespace, data: Any) -> None:
    """Write ``data`` where ``--json`` says (nothing when it was not given)."""
    target = getattr(args, "json", None)
    if target is None:
        return
    text = json.dumps(data, indent=2, sort_keys=True, default=_jsonable) + "\n"
    if target == "-":
        sys.stdout.write(text)
        return
    path = Path(target)
    if path.parent != Path("."):
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def add_seed(p: argparse.ArgumentParser, what: str = "random seed") -> None:
    """``--seed N`` with the one default, :data:`DEFAULT_SEED`."""
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=what)


def add_chunk_size(p: argparse.ArgumentParser, default: int | None, what: str = "entries per chunk",
                   *, step_alias: bool = False) -> None:
    """``--chunk-size N`` (dest ``chunk_size``); ``--step-size`` as a hidden alias when asked."""
    p.add_argument("--chunk-size", type=int, default=default, metavar="N", help=what)
    if step_alias:
        deprecated(p, "--step-size", "--chunk-size", dest="chunk_size", type=int)


def add_plots(p: argparse.ArgumentParser, *, default_on: bool, where: str) -> None:
    """``--plots [DIR]`` / ``--no-plots`` (dest ``plots``: True, False or a directory).

    Parameters
    ----------
    p : argparse.ArgumentParser
        The parser.
    default_on : bool
        Whether the command draws plots when neither option is given.
    where : str
        Where plots go without DIR (for the help).
    """
    group = p.add_mutually_exclusive_group()
    state = "on" if default_on else "off"
    group.add_argument("--plots", nargs="?", const=True, default=default_on, metavar="DIR",
                       help=f"draw plots (default {state}; without DIR into {where})")
    group.add_argument("--no-plots", dest="plots", action="store_false", help="do not draw plots")


def plot_dir(args: argparse.Namespace, default: str | os.PathLike[str]) -> Path | None:
    """Where to draw plots: ``None`` (no plots), the ``--plots DIR`` given, or ``default``."""
    value = getattr(args, "plots", False)
    if value is False or value is None:
        return None
    return Path(default) if value is True else Path(value)


def plot_dir_beside(args: argparse.Namespace, output: str | os.PathLike[str]) -> Path | None:
    """:func:`plot_dir` whose default is ``OUTPUT-plots/`` beside an output file (simulate, train,
    tune): the one place that names it, for the command and for its output checks alike."""
    out = Path(output)
    return plot_dir(args, out.with_name(f"{out.stem}-plots"))


def add_max_waveforms(p: argparse.ArgumentParser) -> None:
    """``--max-waveforms N``: read at most N waveforms."""
    p.add_argument("--max-waveforms", type=int, default=None, metavar="N", help="read at most N waveforms")


def add_set(p: argparse.ArgumentParser, what: str) -> None:
    """Repeatable ``--set KEY=VALUE`` (dest ``set_``)."""
    p.add_argument("--set", dest="set_", action="append", metavar="KEY=VALUE", help=what)


def add_preset(p: argparse.ArgumentParser, names: tuple[str, ...], default: str, what: str) -> None:
    """``--preset NAME``, its help naming every preset (the formatter adds the default).

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser.
    names : tuple of str
        The known presets (:data:`SIM_PRESETS`, :data:`PEAK_MODEL_PRESETS` or
        :data:`CLUSTER_MODEL_PRESETS`); an unknown one is refused by the library, naming them.
    default : str
        One of ``names``.
    what : str
        What the preset configures, e.g. ``"simulator preset"``.
    """
    if default not in names:
        raise ValueError(f"--preset default {default!r} is not one of {names}")
    listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    p.add_argument("--preset", default=default, metavar="NAME", help=f"{what}: {listed}")
