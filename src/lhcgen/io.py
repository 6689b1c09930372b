"""Atomic file writes: write under a temporary name in the target folder, then rename."""

from __future__ import annotations

import contextlib
import ctypes
import glob
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lhcgen.errors import LhcgenError


def _part_prefix(target: Path) -> str:
    """Temporary names carry the writer's process id: ``.NAME.PID.xxxx.part``."""
    return f".{target.name}.{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_parts(target: Path) -> list[Path]:
    """Remove temporary files and folders that a killed writer of ``target`` left behind
    (``kill -9`` skips every cleanup): those whose process id is no longer running."""
    removed = []
    for part in target.parent.glob(f".{glob.escape(target.name)}.*.part"):
        pid_text = part.name[len(target.name) + 2:].split(".", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        if part.is_dir():
            shutil.rmtree(part, ignore_errors=True)
        else:
            part.unlink(missing_ok=True)
        removed.append(part)
    return removed


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    On any exception (including KeyboardInterrupt) the temporary file is removed and the
    target is left untouched, so no half-written file ever carries the final name.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(target)
    fd, tmp = tempfile.mkstemp(prefix=_part_prefix(target), suffix=".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        tmp_path.chmod(0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


_RENAME_EXCHANGE = 2  # linux/fs.h: atomically swap two paths


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux renameat2); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def replace_dir(new: Path, target: Path) -> None:
    """Put the folder ``new`` at ``target``; an existing ``target`` is swapped out, not
    deleted first, so a reader always finds a complete folder there.

    On Linux the swap is one ``renameat2(RENAME_EXCHANGE)``; elsewhere the old folder is
    renamed aside and the new one renamed in (two renames, no copy), then the old removed.
    """
    if not target.exists() and not target.is_symlink():
        new.rename(target)
        return
    if _exchange(new, target):
        shutil.rmtree(new)  # `new` now holds the old folder
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    aside.rmdir()
    target.rename(aside)
    try:
        new.rename(target)
    except BaseException:
        aside.rename(target)
        raise
    shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder next to ``target``; on success it replaces ``target``.

    On any exception the temporary folder is removed and an existing ``target`` is kept.
    There is never a moment without a complete folder at ``target`` (``replace_dir``).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(target)
    tmp = Path(tempfile.mkdtemp(prefix=_part_prefix(target), suffix=".part", dir=target.parent))
    try:
        yield tmp
        tmp.chmod(0o777 & ~_umask())
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _nearest_existing(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.exists():
            return parent
    return Path(".")


def _check_writable_folder(path: Path, what: str) -> None:
    """``path``'s folder (or its nearest existing ancestor) accepts a new file."""
    folder = _nearest_existing(path.parent)
    if not folder.is_dir():
        raise LhcgenError(f"{what} {path}: {folder} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".lhcgen-write-check.", dir=folder)
    except OSError as exc:
        raise LhcgenError(f"{what} {path}: cannot write in {folder} "
                          f"({exc.strerror or exc.__class__.__name__})") from None
    os.close(fd)
    os.unlink(probe)


def check_output_file(path: str | os.PathLike, what: str = "output file") -> None:
    """Before any work: ``path`` can be written as a file (not a folder, writable place)."""
    path = Path(path)
    if path.is_dir():
        raise LhcgenError(f"{what} {path} is a directory; give a file name such as "
                          f"{path / 'events.h5'}")
    _check_writable_folder(path, what)


def check_output_dir(path: str | os.PathLike, what: str = "output directory") -> None:
    """Before any work: ``path`` can be made (or replaced) as a folder."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise LhcgenError(f"{what} {path} is an existing file, not a directory")
    _check_writable_folder(path, what)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(target: str | os.PathLike, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def json_safe(value):
    """A copy of ``value`` for json.dumps(allow_nan=False): arrays to lists, NaN/inf to None,
    numpy scalars to Python numbers, anything else unknown to its str()."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


@contextlib.contextmanager
def stdout_to_devnull() -> Iterator[None]:
    """Point file descriptor 1 at /dev/null (C and C++ output included), then restore it."""
    sys.stdout.flush()
    libc = ctypes.CDLL(None)
    libc.fflush(None)
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        libc.fflush(None)
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
