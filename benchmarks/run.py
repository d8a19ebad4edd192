"""Run every ``benchmarks/bench_*.py`` and rewrite ``BENCHMARKS.md``.

Each benchmark module exposes ``main(quick: bool = False) -> str`` returning a markdown section
whose speed figures are ratios against a baseline measured in the same run. Usage::

    python benchmarks/run.py            # full run, rewrites BENCHMARKS.md
    python benchmarks/run.py --quick    # smaller samples (for a smoke check)
    python benchmarks/run.py io sim     # only the named benchmarks
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _load(path: Path):  # noqa: ANN202 - a module
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write BENCHMARKS.md (see module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="bench_<name>.py to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller samples")
    parser.add_argument("-o", "--output", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args(argv)

    import ccreco

    files = sorted(HERE.glob("bench_*.py"))
    if args.names:
        files = [f for f in files if f.stem.removeprefix("bench_") in args.names]
    sections = []
    for path in files:
        print(f"== {path.name}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        sections.append(_load(path).main(quick=args.quick).strip())
        print(f"   {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    header = [
        "# ccreco benchmarks",
        "",
        "Written by `make bench` (`python benchmarks/run.py`); do not edit by hand.",
        "Every speed figure is a ratio against a baseline measured in the same run.",
        "",
        f"- date: {_dt.date.today().isoformat()}, ccreco {ccreco.__version__}, "
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} logical cores{' (quick mode)' if args.quick else ''}",
        "",
    ]
    Path(args.output).write_text("\n".join(header) + "\n\n".join(sections) + "\n")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
