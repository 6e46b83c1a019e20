"""Atomic file writes: a reader (or a crash) never sees a half-written output, and nothing but a regular file
is ever replaced.

- Only regular files are written. A directory, device, FIFO or socket at the target is refused (a SceneError,
  exit 2): as root, ``-o /dev/null`` must not replace /dev/null with a GIF.
- A symlink is written through: the file it points to is replaced (atomically, beside that file) and the link
  is kept. A link to anything but a regular file is refused like the thing itself.
- A file that is replaced keeps its permission bits (a 0600 output stays 0600); a new file gets 0644.
- The temporary file is ``.NAME.PID.RANDOM.tmp.EXT`` beside the file it replaces. This process's temporary
  files are tracked, so a signal handler can remove them (``remove_temps``) before exiting. A run killed
  outright (SIGKILL, power loss) leaves one behind: the next write to the same file removes those whose writer
  process is gone and that nobody has written to for ``STALE_AFTER`` seconds.
- A write that fails because of the user's situation (disk full, read-only, no permission, a path component
  that is a file, a name too long) is a one-line SceneError naming the target, not an internal error.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import stat
import tempfile
import time
from pathlib import Path
from typing import Iterator

from .errors import SceneError

NAME_MAX = 255          # bytes in one file or folder name (Linux, macOS and Windows agree)
TEMP_NAME = 64          # bytes of the target's name kept in its temporary file's name
STALE_AFTER = 600       # seconds without a write before a dead writer's temporary file is removed
NEW_FILE_MODE = 0o644

#: Failures that describe the user's disk or permissions, not a bug.
USER_ERRNOS = frozenset(getattr(errno, name) for name in (
    "ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "EISDIR", "ENOTDIR", "ENAMETOOLONG", "EFBIG", "ELOOP", "EEXIST",
    "ENOENT", "EXDEV", "ETXTBSY") if hasattr(errno, name))

_LIVE: set[str] = set()     # temporary files of this process that are being written

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words: 'a directory', 'a character device', ..."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def name_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot name a file (a name longer than ``NAME_MAX`` bytes), or None."""
    for part in Path(path).parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX and part != os.sep:
            return f"has a name of {size} bytes ('{part[:20]}...'); file and folder names are at most {NAME_MAX}"
    return None


def user_error(exc: OSError, target: str | os.PathLike) -> SceneError:
    """A write failure the user can act on, as one line naming the target."""
    code = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or str(exc)
    return SceneError(f"cannot write: {reason}" + (f" ({code})" if code else ""), file=str(target))


def writable_target(target: str | os.PathLike) -> Path:
    """The regular file that writing ``target`` replaces or creates: ``target`` itself, or the file a symlink at
    ``target`` points to. A SceneError when that is anything but a regular file (or cannot be looked at)."""
    target = Path(target)
    problem = name_problem(target)
    if problem:
        raise SceneError(problem, file=str(target))
    real = Path(os.path.realpath(target)) if target.is_symlink() else target
    try:
        info = os.stat(real)
    except FileNotFoundError:
        return real
    except OSError as exc:
        raise user_error(exc, target) from None
    if not stat.S_ISREG(info.st_mode):
        via = f" (through the symlink {target})" if real != target else ""
        raise SceneError(f"is {file_kind(info.st_mode)}{via}, not a regular file; optviz writes only regular "
                         "files (choose another output)", file=str(real))
    return real


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside the file ``target`` names; on success rename it over that file (keeping
    its permission bits), on error delete it. See the module's docstring for what is refused."""
    real = writable_target(target)
    tmp = None
    try:
        try:
            real.parent.mkdir(parents=True, exist_ok=True)
            remove_stale(real)
            with _signals_held():   # a signal between creating the file and tracking it would leave it behind
                fd, tmp = tempfile.mkstemp(prefix=f".{_short(real.name)}.{os.getpid()}.",
                                           suffix=".tmp" + real.suffix, dir=real.parent)
                _LIVE.add(tmp)
            os.close(fd)
        except OSError as exc:
            if exc.errno in USER_ERRNOS:
                raise user_error(exc, target) from None
            raise
        yield Path(tmp)
        real = writable_target(target)      # it may have been swapped for something else meanwhile
        try:
            mode = stat.S_IMODE(os.stat(real).st_mode)
        except FileNotFoundError:
            mode = NEW_FILE_MODE
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException as exc:    # a signal held back above arrives here too, and still deletes the file
        if tmp is None:
            raise
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in USER_ERRNOS and _about(exc, tmp, real):
            raise user_error(exc, target) from None
        raise
    finally:
        _LIVE.discard(tmp)


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def remove_temps() -> None:
    """Delete this process's temporary files now (for a signal handler that is about to exit)."""
    for tmp in list(_LIVE):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _LIVE.discard(tmp)


def remove_stale(real: Path) -> list[Path]:
    """Remove temporary files of ``real`` left by writers that were killed: their process is gone and they have
    not been written to for ``STALE_AFTER`` seconds (the delay spares a writer on another machine sharing the
    folder). Returns what was removed."""
    pattern = re.compile(rf"\.{re.escape(_short(real.name))}\.(?:(\d+)\.)?[a-z0-9_]{{8}}\.tmp{re.escape(real.suffix)}")
    removed = []
    try:
        names = os.listdir(real.parent)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        found = pattern.fullmatch(name)
        if not found:
            continue
        path = real.parent / name
        try:
            info = os.lstat(path)
        except OSError:
            continue
        pid = int(found.group(1)) if found.group(1) else None
        if stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_AFTER and not _running(pid):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (they arrive when the block ends) where POSIX lets us."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _about(exc: OSError, tmp: str, real: Path) -> bool:
    """Whether ``exc`` is about writing this output (not some other file read along the way)."""
    return exc.filename is None or os.fspath(exc.filename) in (tmp, os.fspath(real), os.fspath(real.parent))


def _running(pid: int | None) -> bool:
    if pid is None:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError, OSError):
        return False
    return True


def _short(name: str) -> str:
    return os.fsdecode(os.fsencode(name)[:TEMP_NAME])
