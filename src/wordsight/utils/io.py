"""Atomic file and folder writes: a crash at any moment leaves either the old file or the new one.

A write goes to a temporary name next to its target (``.NAME.<random>.tmp``, a file or a folder) and is
renamed onto the target when complete. A process killed mid-write (SIGKILL, power loss) cannot clean up
after itself, so :func:`remove_stale_temporaries` removes such leftovers later (the trainer calls it on
resume and at the end of a run). Written files and folders get the permissions the user's umask gives
new files (``0666 & ~umask``, ``0777 & ~umask``), not the private 0600/0700 of ``tempfile``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

# the temporary names made below: "." + target name + "." + tempfile's random part + ".tmp"
STALE_TMP_RE = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$")
# atomic_dir moves a replaced folder to ".NAME.old" for the moment of the swap
STALE_OLD_RE = re.compile(r"^\.(?P<name>.+)\.old$")


def current_umask() -> int:
    """The process's umask, read without changing it where the OS allows (``/proc/self/status`` on
    Linux); elsewhere set and restored at once, as ``os.umask`` can only read by writing."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``.

    The temporary file lives in the same folder so that ``os.replace`` is a rename on one file system.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes 0600 (and writers such as safetensors rename their own 0600 file onto tmp_path): the
        # result is an ordinary file, so it gets the permissions the umask gives one
        os.chmod(tmp_path, 0o666 & ~current_umask())
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``path`` (an existing one is removed after).

    Used for ``checkpoint-<step>/``: readers see either no folder or a complete one. While an existing
    ``path`` is swapped out it lives at ``.NAME.old``; :func:`remove_stale_temporaries` puts it back if a
    kill lands between the two renames.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700
        yield tmp
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(path, old)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove what killed atomic writes left directly in ``folder``; return the removed paths.

    Removed: temporary files and folders of :func:`atomic_path`/:func:`atomic_dir` (``.NAME.<random>.tmp``,
    never renamed, so never complete) and ``.NAME.old`` folders whose ``NAME`` exists again. A ``.NAME.old``
    without ``NAME`` is the only copy left by a kill between atomic_dir's two renames: it is renamed back
    to ``NAME`` rather than deleted. Nothing else is touched, and nothing below ``folder``'s own entries.
    Call it only when no write into ``folder`` is in progress (a live write's temporary looks the same).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for entry in sorted(folder.iterdir()):
        stale = STALE_TMP_RE.match(entry.name)
        old = STALE_OLD_RE.match(entry.name)
        if old and entry.is_dir() and not entry.is_symlink():
            target = folder / old.group("name")
            if not target.exists():
                os.replace(entry, target)
                continue
        elif not stale:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    if removed:
        _fsync_dir(folder)
    return removed


def append_jsonl(path: str | os.PathLike, record: dict) -> None:
    """Append one JSON line (flushed and fsynced so a kill does not lose logged metrics)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
