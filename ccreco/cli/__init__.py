"""The ``ccreco`` command line: a thin argparse front over the library.

Each subcommand group lives in its own module exposing ``add_parser(subparsers)``; the parser
calls ``args.func(args)``, which returns the exit status. Heavy imports happen inside the
command functions, so ``ccreco --version`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

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
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more messages (debug logging); on an error, also print the traceback")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
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
    setup_logging(args.verbose, args.quiet)
    try:
        with _guarded(args):
            return int(args.func(args) or 0)
    except CcrecoError as exc:
        _report(args, exc, f"ccreco {args.command}: error: {exc}")
        return 2
    except BrokenPipeError:  # `ccreco inspect f | head`: the reader left; nothing more to say
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        print(f"ccreco {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that turns any failure into a message
        _report(args, exc, f"ccreco {args.command}: error: {describe_exception(exc)}")
        return 1


def _guarded(args: argparse.Namespace) -> Any:
    """Check, clean and lock the command's outputs (``outputs(args)`` of its module) while it runs."""
    import contextlib

    from ccreco._outputs import guard

    spec = getattr(sys.modules.get(getattr(args.func, "__module__", ""), None), "outputs", None)
    if spec is None:
        return contextlib.nullcontext()
    outs, ins = spec(args)
    target = getattr(args, "json", None)  # --json FILE of any command (``-`` is stdout)
    if isinstance(target, str) and target != "-" and all(o.path != target for o in outs):
        from ccreco._outputs import Output

        outs = [*outs, Output(target, "file")]
    return guard(outs, expand_inputs(ins))


def expand_inputs(items: Sequence[str | None]) -> list[str]:
    """Input paths with glob patterns expanded (``None`` entries dropped).

    Parameters
    ----------
    items : sequence of str or None
        Paths or patterns from the command line.

    Returns
    -------
    list of str
        Existing paths.
    """
    import glob

    out: list[str] = []
    for item in items:
        if item is None:
            continue
        matches = glob.glob(item) if glob.has_magic(item) else [item]
        out += [m for m in matches if os.path.exists(m)]
    return out


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    """Send ccreco's log records to stderr at the level ``-v``/``-q`` ask for.

    Parameters
    ----------
    verbose : int
        Number of ``-v`` (1: debug messages of ccreco).
    quiet : bool
        Only warnings and errors.
    """
    import logging

    class _Stderr(logging.StreamHandler[TextIO]):
        """Writes to the current ``sys.stderr`` (which tests and notebooks replace)."""

        @property
        def stream(self) -> TextIO:
            return sys.stderr

        @stream.setter
        def stream(self, value: TextIO) -> None:
            pass

        def emit(self, record: logging.LogRecord) -> None:
            # through tqdm.write: a message clears the progress bars, prints, and redraws them
            # below it, so log lines and bars never run into each other
            try:
                from tqdm import tqdm

                tqdm.write(self.format(record), file=sys.stderr)
            except Exception:  # noqa: BLE001 - logging must never raise
                self.handleError(record)

    from ccreco._progress import set_quiet

    set_quiet(quiet)  # -q: no progress bars or progress lines either
    level = logging.ERROR if quiet else (logging.DEBUG if verbose else logging.WARNING)
    log = logging.getLogger("ccreco")
    if not any(getattr(h, "_ccreco_cli", False) for h in log.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._ccreco_cli = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(level)


def _report(args: argparse.Namespace, exc: BaseException, line: str) -> None:
    if getattr(args, "verbose", 0):
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    else:
        line += " (run with -v for the traceback)" if not isinstance(exc, CcrecoError) else ""
    print(line, file=sys.stderr)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's exit flush does not raise BrokenPipeError again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


#: What to do about an OSError, by errno.
_OS_ADVICE: dict[int, str] = {
    28: "free disk space or write elsewhere (outputs already in place were left as they were)",
    30: "the file system is read-only; choose another output path",
    13: "check the permissions or choose another path",
    2: "check the path",
    21: "give a file name, not a directory",
    20: "a path component is a file, not a directory",
}


def describe_exception(exc: BaseException) -> str:
    """One line for an unexpected exception: what failed, where, and what to do.

    Parameters
    ----------
    exc : BaseException
        The exception.

    Returns
    -------
    str
        The message (without the program name).
    """
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        from ccreco._extras import EXTRA_OF, install_hint

        if exc.name.split(".")[0] in EXTRA_OF:  # an optional package: name the extra
            return install_hint(exc.name)
    if isinstance(exc, OSError) and exc.errno in _OS_ADVICE:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}: {_OS_ADVICE[exc.errno]}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    hint = ""
    if isinstance(exc, (ValueError, OSError, KeyError, UnicodeError, EOFError)):
        hint = "; the input is probably damaged or not what ccreco expects. Check it with `ccreco inspect`"
    elif isinstance(exc, (TimeoutError, ConnectionError)):
        hint = "; check the address and that the service runs"
    return f"{name}: {text}{hint}" if text else f"{name}{hint}"


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
