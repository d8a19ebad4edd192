"""Run every ``benchmarks/bench_*.py`` and rewrite ``BENCHMARKS.md``.

Each benchmark module exposes ``main(quick: bool = False) -> str`` returning a markdown section
whose speed figures are ratios against a baseline measured in the same run. Usage::

    python benchmarks/run.py            # full run, rewrites BENCHMARKS.md
    python benchmarks/run.py --quick    # smaller samples (for a smoke check)
    python benchmarks/run.py io sim     # re-run only these; their sections are replaced in place
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import os
import platform
import re
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
    stamp = (f"{_dt.date.today().isoformat()}, ccreco {ccreco.__version__}, "
             f"Python {platform.python_version()}, {platform.machine()}, "
             f"{os.cpu_count()} logical cores{' (quick mode)' if args.quick else ''}")
    out = Path(args.output)
    if args.names and out.exists():
        text = merge_sections(out.read_text(), dict(zip([f.stem for f in files], sections, strict=True)), stamp)
    else:
        header = [
            "# ccreco benchmarks",
            "",
            "Written by `make bench` (`python benchmarks/run.py`); do not edit by hand.",
            "Every speed figure is a ratio against a baseline measured in the same run.",
            "",
            f"- date: {stamp}",
            "",
        ]
        text = "\n".join(header) + "\n\n".join(sections) + "\n"
    out.write_text(text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def merge_sections(text: str, new: dict[str, str], stamp: str) -> str:
    """Replace the ``## ... bench_<name>.py ...`` sections of ``text`` by ``new`` (appending new ones).

    Parameters
    ----------
    text : str
        The existing BENCHMARKS.md.
    new : dict of str to str
        Module stem (``bench_reco``) -> its freshly generated section.
    stamp : str
        Date and machine line of this partial run.

    Returns
    -------
    str
        The merged file, with a line saying which sections were re-run when.
    """
    parts = re.split(r"(?m)^(?=## )", text)
    head, sections = parts[0], parts[1:]
    out, done = [], set()
    for sec in sections:
        m = re.search(r"(bench_\w+)\.py", sec.splitlines()[0])
        if m and m.group(1) in new:
            out.append(new[m.group(1)].strip() + "\n\n")
            done.add(m.group(1))
        else:
            out.append(sec if sec.endswith("\n\n") else sec.rstrip("\n") + "\n\n")
    out += [sec.strip() + "\n\n" for stem, sec in new.items() if stem not in done]
    names = ", ".join(sorted(new))
    head = head.rstrip("\n") + f"\n- re-run: {names} on {stamp}\n\n"
    return head + "".join(out).rstrip("\n") + "\n"


if __name__ == "__main__":
    sys.exit(main())
