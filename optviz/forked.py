"""Work in a forked second process, fed through a pipe, so that it runs on another core meanwhile (the GIF
writer encodes there while the frames are drawn).

The child is a copy of the process at the moment of the fork: it has everything imported and built already, so it
starts at once (a fresh process would pay the imports again, most of a render's time). The parent sends it byte
strings; the child runs the same code a single process would, so what it writes does not depend on the number of
cores. Only where fork is cheap and safe: Linux, no other Python thread; ``Forked`` raises OSError if the system
refuses the fork, and its users then work in one process.
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import queue
import signal
import sys
import threading
import warnings
from typing import Callable

try:
    import fcntl
except ImportError:     # not on Windows, where nothing forks either
    fcntl = None

PIPE_BYTES = 1 << 20    # a frame's worth, so that the parent rarely waits for the child
PR_SET_PDEATHSIG = 1    # linux/prctl.h


def available() -> bool:
    """Whether a second process can help: Linux, more than one usable core, and no other Python thread (a fork
    copies only the calling thread; a lock another thread holds would stay held in the child)."""
    return (sys.platform.startswith("linux") and len(os.sched_getaffinity(0)) > 1
            and threading.active_count() == 1 and threading.current_thread() is threading.main_thread())


class Inbox:
    """The child's end of the pipe, drained by a thread: the child may be busy before it reads (choosing a
    palette), and the parent should not wait for it meanwhile; up to ``BACKLOG`` chunks wait here."""

    BACKLOG = 64

    def __init__(self, fd: int):
        self.fd, self.chunks = fd, queue.Queue(self.BACKLOG)
        self.buffer, self.at = b"", 0
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while chunk := os.read(self.fd, PIPE_BYTES):
            self.chunks.put(chunk)
        self.chunks.put(b"")

    def read(self, n: int) -> bytes:
        while len(self.buffer) - self.at < n:
            chunk = self.chunks.get()
            if not chunk:
                self.chunks.put(b"")
                raise EOFError("the drawing process stopped sending")
            self.buffer, self.at = self.buffer[self.at:] + chunk, 0
        data = self.buffer[self.at:self.at + n]
        self.at += n
        return data


class Forked:
    """``work(inbox)`` in a forked child: ``start()`` it, ``send`` it bytes, then ``join``, which returns when the
    child has finished or raises the exception it raised; ``stop`` ends it (after an error in the parent).

    A signal arriving during the fork must not run the parent's handler there: inside fork's own callbacks its
    exception would be lost (the CLI's SIGTERM forgotten), and in the child it would go on with the parent's
    work. So the signals are blocked in this thread and, since numpy's BLAS threads may still take one, Python's
    handlers only note it until both sides are ready; the parent then raises what was noted, once ``start`` has
    recorded the child, so whoever catches it can ``stop`` it."""

    def __init__(self, work: Callable[[Inbox], None]):
        self.work, self.pid = work, None

    def start(self) -> None:
        """Fork; OSError if the system refuses (nothing is left open then)."""
        parent = os.getpid()
        data_r, data_w = os.pipe()
        status_r, status_w = os.pipe()
        with contextlib.suppress(AttributeError, OSError):      # a smaller pipe only means more waiting
            fcntl.fcntl(data_w, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        held = _Held()
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns when other OS threads exist; without Python threads those are numpy's BLAS
                # pool, idle and fork-aware.
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            held.release()
            for fd in (data_r, data_w, status_r, status_w):
                os.close(fd)
            raise
        if pid == 0:
            _child(self.work, held, mask, data_r, data_w, status_r, status_w, parent)
        os.close(data_r)
        os.close(status_w)
        self.pid, self.status = pid, status_r
        self.out = os.fdopen(data_w, "wb", buffering=0)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        held.release()

    def send(self, data: bytes | memoryview) -> None:
        try:
            self.out.write(data)
        except BrokenPipeError:
            self.join()     # the child stopped: raise its error
            raise RuntimeError("the encoding process stopped early") from None

    def join(self) -> None:
        """Wait for the child; raise its exception if it failed."""
        self._close_pipe()
        report = b""
        while chunk := os.read(self.status, 1 << 16):
            report += chunk
        os.close(self.status)
        _, code = os.waitpid(self.pid, 0)
        self.pid = None
        if report:
            try:
                error = pickle.loads(report)
            except Exception:   # an exception that cannot be rebuilt here: keep its text
                error = RuntimeError(report.decode("utf-8", "replace"))
            raise error
        if code != 0:
            raise RuntimeError(f"the encoding process failed (status {code})")

    def stop(self) -> None:
        """End the child, if it still runs, and wait for it (after an error in the parent)."""
        if self.pid is None:
            return
        os.kill(self.pid, signal.SIGTERM)
        self._close_pipe()
        os.close(self.status)
        os.waitpid(self.pid, 0)
        self.pid = None

    def _close_pipe(self) -> None:
        if not self.out.closed:
            try:
                self.out.close()
            except BrokenPipeError:
                pass


class _Held:
    """Python's signal handlers replaced by one that notes the signal, until ``release`` puts them back and
    raises what was noted."""

    def __init__(self):
        self.caught: list[int] = []
        self.saved = {}
        for number in signal.valid_signals():
            handler = signal.getsignal(number)
            if callable(handler):
                self.saved[number] = signal.signal(number, self._note)

    def _note(self, number, frame) -> None:
        self.caught.append(number)

    def restore(self) -> None:
        for number, handler in self.saved.items():
            signal.signal(number, handler)

    def release(self) -> None:
        self.restore()
        for number in dict.fromkeys(self.caught):
            signal.raise_signal(number)


def _die_with(parent: int) -> None:
    """Have the kernel end this child when its parent ends, however (SIGKILL included), so that nothing is
    written on the parent's behalf after it is gone (Linux's PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:     # it ended before the line above took effect
        os._exit(1)


def _child(work, held: _Held, mask, data_r: int, data_w: int, status_r: int, status_w: int, parent: int) -> None:
    """Never returns: the child must not run the parent's code after the fork (nor its atexit handlers or
    buffered output), so it leaves through ``os._exit``. Its signals are still blocked: SIGTERM (``stop``'s, or
    anyone's) gets its default action, ending it at once, since the parent's handler is for the parent's work;
    the others get the parent's handlers back (Ctrl-C ends both, or neither), delivered inside the ``try``."""
    code = 1
    try:
        _die_with(parent)
        gc.disable()    # a short life: collecting would only copy the parent's pages it reads (copy-on-write)
        held.restore()          # what was noted here was meant for the parent
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(data_w)
        os.close(status_r)
        work(Inbox(data_r))
        code = 0
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
        try:
            report = pickle.dumps(exc)
        except Exception:
            report = f"{type(exc).__name__}: {exc}".encode()
        try:
            while report:
                report = report[os.write(status_w, report):]
        except OSError:
            pass
    finally:
        os._exit(code)
