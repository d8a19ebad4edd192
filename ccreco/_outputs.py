"""Output safety: what every ccreco command does before, while and after it writes.

One small module at the bottom of the layers (it imports only :mod:`ccreco.errors`), used by the
library's writers and by every command that writes (reco, compare, pid, tune, hpo, simulate,
train):

- :func:`check_outputs` refuses, before any work, an output that resolves to an input (same
  file through a link, a hard link or ``..``), an output directory that holds an input, a file
  output that is a directory and a directory output that is a file, and a destination whose
  directory cannot be written.
- :func:`lock_output` takes an exclusive ``fcntl.flock`` on a hidden lock file beside each
  output for the run's duration; a second run on the same path is refused at once. The kernel
  drops the lock when the process dies, even on SIGKILL.
- :func:`clean_stale` removes the hidden ``.NAME.tmp-PID``, ``.NAME.partial-PID`` and
  ``.NAME.old-PID`` left beside an output by a killed run (PID no longer alive on this machine).
- A directory that ccreco replaces as a whole (``ccreco reco -o OUTDIR --overwrite``) carries a
  manifest of what ccreco wrote there (``summary.json``'s ``outputs`` or ``.ccreco-outputs.json``);
  :func:`check_replaceable` refuses a directory holding anything else, and :func:`replace_dir`
  removes only the listed files of the old directory.
- :func:`safe_name` turns a name read from input data into one path component;
  :func:`confine` refuses a path (e.g. read from a study database) that leaves its directory.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccreco.errors import ConfigError

#: Manifest file ccreco writes into directories it owns (when no ``summary.json`` lists the outputs).
MANIFEST = ".ccreco-outputs.json"
#: Hidden files ccreco leaves beside an output while writing it: ``.NAME.<kind>-PID``.
_HIDDEN = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|partial|old)-(?P<pid>\d+)$")
#: The other form some writers use: ``.NAME.PID.tmp`` (optionally with an extension after it).
_HIDDEN_PID_FIRST = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.tmp(\.[A-Za-z0-9]+)?$")


def _leftover(filename: str) -> tuple[str, int] | None:
    """``(output name, pid)`` when ``filename`` is one of ccreco's hidden in-progress names."""
    m = _HIDDEN.match(filename) or _HIDDEN_PID_FIRST.match(filename)
    return (m["name"], int(m["pid"])) if m else None


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine.

    Parameters
    ----------
    pid : int
        Process id.

    Returns
    -------
    bool
        True when it exists (also when owned by another user).
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the hidden leftovers of killed runs beside ``path`` (and inside it, for a directory).

    Only names of ccreco's forms ``.NAME.tmp-PID``, ``.NAME.partial-PID``, ``.NAME.old-PID`` and
    ``.NAME.PID.tmp[.ext]`` whose PID is not a live process are removed; the current process's own
    are kept. Beside ``path`` only those of ``path`` itself; inside a directory all of them.

    Parameters
    ----------
    path : path-like
        An output file or directory about to be written.

    Returns
    -------
    list of pathlib.Path
        What was removed.
    """
    p = Path(os.path.abspath(path))
    removed: list[Path] = []
    places: list[tuple[Path, str | None]] = [(p.parent, p.name)]
    if p.is_dir():
        places.append((p, None))
    for folder, name in places:
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            found = _leftover(entry.name)
            if not found or (name is not None and found[0] != name):
                continue
            pid = found[1]
            if pid == os.getpid() or pid_alive(pid):
                continue
            try:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                removed.append(entry)
            except OSError:
                pass
    return removed


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _inside(child: str, folder: str) -> bool:
    c, f = os.path.realpath(child), os.path.realpath(folder)
    return c == f or c.startswith(f.rstrip(os.sep) + os.sep)


def _writable_dir(folder: Path) -> Path:
    """The nearest existing ancestor of ``folder`` (which must be writable to create it)."""
    cur = Path(os.path.abspath(folder))
    while not cur.exists() and cur != cur.parent:
        cur = cur.parent
    return cur


@dataclass(frozen=True)
class Output:
    """One output of a command.

    Attributes
    ----------
    path : str
        The file or directory.
    kind : {"file", "dir", "replace_dir"}
        A file; a directory written into; or a directory replaced as a whole at the end.
    """

    path: str
    kind: str = "file"


def check_outputs(outputs: Sequence[Output], inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Refuse unsafe outputs before any work starts.

    Parameters
    ----------
    outputs : sequence of Output
        What the command will write.
    inputs : iterable of path-like
        What it reads (files or directories).

    Raises
    ------
    ConfigError
        An output resolving to an input, a directory output holding an input, a file output that
        is an existing directory (or the reverse), or a destination that cannot be written.
    """
    ins = [str(i) for i in inputs if os.path.exists(i)]
    for out in outputs:
        p = Path(out.path)
        what = "output file" if out.kind == "file" else "output directory"
        for i in ins:
            if os.path.exists(p) and _same(str(p), i):
                raise ConfigError(
                    f"{what} {p} is the input {i}; choose another output path (inputs are never overwritten)")
            if out.kind != "file" and _inside(i, str(p)):
                raise ConfigError(f"{what} {p} holds the input {i}; choose an output directory that holds no input")
        if out.kind == "file" and p.is_dir():
            raise ConfigError(f"output {p} is a directory; give a file name (e.g. {p / 'model.onnx'})")
        if out.kind != "file" and p.exists() and not p.is_dir():
            raise ConfigError(f"output directory {p} exists and is not a directory; choose another path")
        base = p if (out.kind == "dir" and p.is_dir()) else _writable_dir(p.parent)
        if not os.access(base, os.W_OK | os.X_OK):
            raise ConfigError(f"cannot write {p}: {base} is not writable (read-only file system or no permission); "
                              "choose another output path")


# ---------------------------------------------------------------------------------------------
# locks


class OutputLock:
    """An exclusive lock on one output path (a hidden ``.NAME.lock`` beside it).

    Parameters
    ----------
    path : path-like
        The output file or directory.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        p = Path(os.path.abspath(path))
        self.path = p
        self.lockfile = p.parent / f".{p.name}.lock"
        self._fd: int | None = None

    def acquire(self) -> OutputLock:
        """Take the lock or fail at once.

        Returns
        -------
        OutputLock
            ``self``.

        Raises
        ------
        ConfigError
            Another process holds it, or the lock file cannot be created.
        """
        self.lockfile.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                fd = os.open(self.lockfile, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise ConfigError(f"cannot write {self.path}: {exc.strerror} ({self.lockfile.parent}); "
                                  "choose another output path") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    holder = ""
                    with contextlib.suppress(OSError, ValueError):
                        holder = f" (pid {int(self.lockfile.read_text().strip())})"
                    raise ConfigError(f"{self.path} is being written by another ccreco run{holder}; "
                                      "wait for it to finish or choose another output") from None
                raise
            # the file may have been unlinked by the previous holder between open and flock
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.lockfile))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock and remove the lock file."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.lockfile)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_output(path: str | os.PathLike[str]) -> OutputLock:
    """Acquire an :class:`OutputLock` on ``path`` (release it with ``.release()`` or ``with``).

    Parameters
    ----------
    path : path-like
        Output file or directory.

    Returns
    -------
    OutputLock
        The held lock.
    """
    return OutputLock(path).acquire()


@contextlib.contextmanager
def guard(outputs: Sequence[Output], inputs: Iterable[str | os.PathLike[str]] = ()) -> Iterator[None]:
    """Check, clean and lock every output for the duration of a ``with`` block.

    Parameters
    ----------
    outputs : sequence of Output
        What the command writes.
    inputs : iterable of path-like
        What it reads.

    Yields
    ------
    None
        While every output is locked.
    """
    check_outputs(outputs, inputs)
    with contextlib.ExitStack() as stack:
        for out in outputs:
            stack.enter_context(OutputLock(out.path))
            clean_stale(out.path)
        yield


# ---------------------------------------------------------------------------------------------
# manifests and replacing a directory


def _manifest_list(doc: Any) -> Any:
    """The file list of a ``.ccreco-outputs.json`` document (the document itself; JSON, untyped)."""
    return doc


def _summary_outputs(doc: Any) -> Any:
    """The ``outputs`` of a ``ccreco reco`` ``summary.json`` document, or None for another JSON file."""
    return doc.get("outputs") if "ccreco_version" in doc else None


def read_manifest(folder: str | os.PathLike[str]) -> list[str] | None:
    """The files ccreco recorded as written in ``folder`` (relative paths), or None.

    ``.ccreco-outputs.json`` (a JSON list) or, for a ``ccreco reco`` output, ``summary.json``
    with its ``ccreco_version`` and ``outputs`` list.

    Parameters
    ----------
    folder : path-like
        A directory.

    Returns
    -------
    list of str or None
        None when ``folder`` carries no manifest.
    """
    f = Path(folder)
    for name, pick in ((MANIFEST, _manifest_list), ("summary.json", _summary_outputs)):
        try:
            data = pick(json.loads((f / name).read_text()))
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(data, list) and all(isinstance(x, str) for x in data):
            return data + ([name] if name == MANIFEST else [])
    return None


def write_manifest(folder: str | os.PathLike[str], files: Iterable[str]) -> Path:
    """Write ``.ccreco-outputs.json`` listing ``files`` (relative to ``folder``).

    Parameters
    ----------
    folder : path-like
        The directory.
    files : iterable of str
        Relative paths ccreco wrote there.

    Returns
    -------
    pathlib.Path
        The manifest.
    """
    path = Path(folder) / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(sorted(set(files)), indent=1) + "\n")
    os.replace(tmp, path)
    return path


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())


def foreign_files(folder: str | os.PathLike[str]) -> list[str]:
    """Files in ``folder`` that its manifest does not list (all of them without a manifest).

    Parameters
    ----------
    folder : path-like
        An existing directory.

    Returns
    -------
    list of str
        Relative paths ccreco did not write.
    """
    f = Path(folder)
    listed = set(read_manifest(f) or ())
    return [x for x in _files(f) if x not in listed and not _leftover(Path(x).name)]


def check_replaceable(outdir: str | os.PathLike[str]) -> None:
    """Refuse to replace a directory holding files ccreco did not write there.

    Parameters
    ----------
    outdir : path-like
        The directory ``--overwrite`` would replace (absent or empty is fine).

    Raises
    ------
    ConfigError
        ``outdir`` holds foreign files (the first few are named).
    """
    p = Path(outdir)
    if not p.is_dir():
        return
    if os.path.realpath(p) in (os.path.realpath(os.getcwd()), os.path.realpath(Path.home()), "/"):
        if any(p.iterdir()):
            raise ConfigError(f"refusing to replace {p.resolve()} (the current, home or root directory); "
                              "choose a new output directory")
    foreign = foreign_files(p)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ConfigError(f"--overwrite replaces only what ccreco wrote, but {p.resolve()} also holds {shown}; "
                          "move those away or choose another output directory")


def replace_dir(
    stage: str | os.PathLike[str], outdir: str | os.PathLike[str], files: Iterable[str] | None = None
) -> Path:
    """Move a finished staging directory to ``outdir``; of an old ``outdir`` remove only ccreco's files.

    Parameters
    ----------
    stage : path-like
        Complete new content.
    outdir : path-like
        Destination.
    files : iterable of str, optional
        Relative paths in ``stage`` to list in a ``.ccreco-outputs.json`` manifest (none written
        when omitted: the stage carries its own, e.g. ``summary.json``).

    Returns
    -------
    pathlib.Path
        ``outdir``.

    Raises
    ------
    ConfigError
        The old ``outdir`` holds files ccreco did not write (checked again at the end).
    """
    stage, out = Path(stage), Path(os.path.abspath(outdir))
    if files is not None:
        write_manifest(stage, files)
    if not out.exists():
        os.replace(stage, out)
        return out
    check_replaceable(out)
    listed = read_manifest(out) or []
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.replace(out, old)
    os.replace(stage, out)
    for rel in listed:
        target = (old / rel)
        if _inside(str(target), str(old)) and (target.is_file() or target.is_symlink()):
            target.unlink()
    for d in sorted((p for p in old.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            d.rmdir()
    with contextlib.suppress(OSError):
        old.rmdir()
    return out


# ---------------------------------------------------------------------------------------------
# names and paths from data


_UNSAFE = re.compile(r"[^A-Za-z0-9_.+=-]+")


def safe_name(name: str, *, max_len: int = 100) -> str:
    """One safe path component from a name read from input data (a branch, a variable).

    Separators, ``..``, control and other special characters become ``_``; a leading dot is
    dropped (no hidden files); an empty result becomes ``_``.

    Parameters
    ----------
    name : str
        The raw name.
    max_len : int
        Longest result.

    Returns
    -------
    str
        A name that stays inside the directory it is joined to.
    """
    s = _UNSAFE.sub("_", str(name)).strip(".")
    s = s.replace("..", "_")
    return s[:max_len] or "_"


def confine(path: str | os.PathLike[str], root: str | os.PathLike[str], what: str = "path") -> Path:
    """``root / path``, refused unless it stays inside ``root``.

    Parameters
    ----------
    path : path-like
        Relative path read from a file or database.
    root : path-like
        The directory it must stay in.
    what : str
        What the path is (for the message).

    Returns
    -------
    pathlib.Path
        The joined path.

    Raises
    ------
    ConfigError
        Absolute, or resolving outside ``root``.
    """
    p = Path(path)
    joined = Path(root) / p
    if p.is_absolute() or not _inside(str(joined), str(root)) or _same(str(joined), str(root)):
        raise ConfigError(f"{what} {str(path)!r} leaves {root}; refusing to read or write it")
    return joined


def duplicate_inputs(paths: Sequence[str | os.PathLike[str]]) -> list[tuple[str, str]]:
    """Pairs of inputs that are the same file (path, link, hard link) or byte-identical.

    Byte identity compares sizes first and then the SHA-256 of the whole file, so only files
    of equal size are read.

    Parameters
    ----------
    paths : sequence of path-like
        Input files.

    Returns
    -------
    list of (str, str)
        Each later duplicate with the first file it repeats.
    """
    seen_stat: dict[tuple[int, int], str] = {}
    by_size: dict[int, list[str]] = {}
    pairs: list[tuple[str, str]] = []
    for raw in paths:
        p = str(raw)
        try:
            st = os.stat(p)
        except OSError:
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_stat:
            pairs.append((p, seen_stat[key]))
            continue
        seen_stat[key] = p
        by_size.setdefault(st.st_size, []).append(p)
    for group in by_size.values():
        if len(group) < 2:
            continue
        digests: dict[str, str] = {}
        for p in group:
            d = file_sha256(p)
            if d in digests:
                pairs.append((p, digests[d]))
            else:
                digests[d] = p
    return pairs


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (hex), read in 1 MiB blocks.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    str
        64 hex digits.
    """
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


__all__ = ["MANIFEST", "Output", "OutputLock", "check_outputs", "check_replaceable", "clean_stale", "confine",
           "duplicate_inputs", "file_sha256", "foreign_files", "guard", "lock_output", "pid_alive", "read_manifest",
           "replace_dir", "safe_name", "write_manifest"]
