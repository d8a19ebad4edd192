"""The one report writer of the analysis commands: a markdown table and its JSON, written atomically.

``ccreco pid``, ``ccreco compare`` and ``ccreco tune`` compute a result object, plot it, and
write it here: ``<stem>.md`` (a title and the result's markdown table) and ``<stem>.json``
(the result's dict), each through a temporary file and :func:`os.replace`, so a killed run
leaves either the old file or the new one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_report(folder: str | os.PathLike[str], stem: str, *, table: str, data: Any, title: str | None = None,
                 json_default: Callable[[Any], Any] | None = None) -> dict[str, Path]:
    """Write ``<folder>/<stem>.md`` and ``<folder>/<stem>.json``.

    Parameters
    ----------
    folder : path-like
        Directory (created).
    stem : str
        File name without suffix.
    table : str
        Markdown body (the result's ``table()``).
    data : object
        JSON-serializable content (the result's ``to_dict()``).
    title : str, optional
        First-level heading put above ``table``.
    json_default : callable, optional
        ``json.dumps``'s ``default`` for values it cannot serialize (e.g. ``float`` for numpy
        scalars).

    Returns
    -------
    dict of str to Path
        ``md`` and ``json``.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / f"{stem}.md", out / f"{stem}.json"
    text = json.dumps(data, indent=2, default=json_default) + "\n"  # fails before anything is written
    _write_atomic(md, (f"# {title}\n\n" if title else "") + table)
    _write_atomic(js, text)
    return {"md": md, "json": js}


__all__ = ["write_report"]
