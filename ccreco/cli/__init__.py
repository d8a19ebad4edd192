"""The ``ccreco`` command line: a thin argparse front over the library.

Each subcommand group lives in its own module exposing ``add_parser(subparsers)``; the parser
calls ``args.func(args)``, which returns the exit status. Heavy imports happen inside the
command functions, so ``ccreco --version`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ccreco import __version__
from ccreco.errors import CcrecoError

#: Subcommand modules, in the order they appear in ``ccreco --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "ccreco.cli.inspect",
    "ccreco.cli.simulate",
    "ccreco.cli.reco",
    "ccreco.cli.evaluate",
    "ccreco.cli.train",
    "ccreco.cli.tune",
    "ccreco.cli.pid",
    "ccreco.cli.compare",
    "ccreco.cli.hpo",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every subcommand registered.

    Returns
    -------
    argparse.ArgumentParser
        The ``ccreco`` parser.
    """
    parser = argparse.ArgumentParser(
        prog="ccreco",
        description="Cluster counting in drift chambers: simulate, reconstruct, evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"ccreco {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ccreco`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        Exit status: 0 on success, 1 when the command found problems, 2 on a usage or input
        error.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CcrecoError as exc:
        print(f"ccreco {args.command}: error: {exc}", file=sys.stderr)
        return 2


def parse_set(items: Sequence[str] | None) -> dict[str, str]:
    """Parse repeated ``--set key=value`` options into a dict of strings.

    Parameters
    ----------
    items : sequence of str, optional
        The raw ``key=value`` strings.

    Returns
    -------
    dict
        Keys to (unconverted) values; the caller converts by its config's field types.
    """
    from ccreco.errors import ConfigError

    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
