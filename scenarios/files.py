"""Reading the files a scenario names: the scenario itself and its data files.

Only regular files are read. A device (``/dev/zero``), a FIFO or a socket is refused from
``os.stat``, which never blocks, before anything is opened; the size is checked before reading
and at most ``limit + 1`` bytes are read, so that a file growing meanwhile cannot get past the
limit. A data file a scenario names must lie inside the scenario's folder (symbolic links
resolved) or the bundled data folder, so that a scenario written by someone else cannot make
netsim read and show a private file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from scenarios.datasets import DATA_DIR


class FileProblem(ValueError):
    """A file that cannot be read; the message says why, without the file's name."""


def _kind_of(mode: int) -> str:
    """What a non-regular file is, for messages."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _mib(size: int) -> str:
    return f"{size >> 20} MiB" if size % (1 << 20) == 0 else f"{size / 2**20:,.1f} MiB"


def read_bytes(
    path: Path, limit: int, what: str = "file", reserve: Callable[[int], object] | None = None
) -> bytes:
    """The contents of the regular file at ``path``, at most ``limit`` bytes; FileProblem
    otherwise (missing, a directory, a device or FIFO, too large, unreadable). ``reserve`` is
    called with the file's size once it is known to fit, before anything is read (a memory
    budget's charge, which may refuse by raising)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileProblem("no such file") from None
    except OSError as e:
        raise FileProblem(e.strerror or str(e)) from None
    if stat.S_ISDIR(info.st_mode):
        raise FileProblem(f"is a directory; expected a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise FileProblem(f"is {_kind_of(info.st_mode)}, not a regular file; expected a {what}")
    too_large = f"is too large for a {what}: the limit is {_mib(limit)}"
    if info.st_size > limit:
        raise FileProblem(f"{_mib(info.st_size)} {too_large}")
    if reserve is not None and info.st_size > 0:
        reserve(info.st_size)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise FileProblem(e.strerror or str(e)) from None
    try:
        # The file may have been replaced between stat and open: check what was opened.
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileProblem(f"is not a regular file; expected a {what}")
        with os.fdopen(fd, "rb", closefd=False) as f:
            # Ask for what stat saw (and one byte more, to notice a file that grew): asking
            # for the whole limit would reserve a buffer of that size for a small file.
            want = min(limit, info.st_size) + 1
            data = f.read(want)
            if len(data) == want and want <= limit:
                data += f.read(limit + 1 - want)
    except OSError as e:
        raise FileProblem(e.strerror or str(e)) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileProblem(f"{too_large} (it grew while being read)")
    return data


def read_text(path: Path, limit: int, what: str = "file") -> str:
    """``read_bytes`` decoded as UTF-8, one leading byte-order mark dropped."""
    data = read_bytes(path, limit, what)
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise FileProblem(f"is not UTF-8 text ({e.reason} at byte {e.start:,})") from None


def data_file(given: str, base: Path) -> Path:
    """The data file a scenario names as ``given``, relative to ``base`` (the scenario file's
    folder), resolved; FileProblem when it is empty or lies outside both ``base`` and the
    bundled data folder."""
    allowed = "data files must be inside the scenario file's folder (or the bundled data)"
    if not given.strip():
        raise FileProblem("is empty; give the name of a file in the scenario file's folder")
    if "\0" in given:
        raise FileProblem(f"{given!r} contains a NUL character")
    if Path(given).is_absolute():
        raise FileProblem(
            f"{given!r} is an absolute path; {allowed}: give a path relative to the scenario file"
        )
    try:
        root = base.resolve()
        path = (base / given).resolve()
    except (OSError, RuntimeError) as e:  # a symbolic-link loop
        raise FileProblem(f"{given!r} cannot be resolved: {e}") from None
    if not (path.is_relative_to(root) or path.is_relative_to(DATA_DIR.resolve())):
        plain = Path(os.path.normpath(root / given))
        how = "is a symbolic link leading" if plain.is_relative_to(root) else "leads"
        raise FileProblem(f"{given!r} {how} outside the scenario file's folder {root}; {allowed}")
    return path
