"""Scenes rendered in parallel processes that stop at once on Ctrl-C or SIGTERM.

``concurrent.futures`` alone finishes every queued scene before an interrupt gets through (leaving its
``with`` block waits for them). Here the first interrupt cancels what is queued and terminates the workers;
a worker's SIGTERM handler deletes the temporary file it is writing and exits, so no output is half written
and no temporary file is left. Workers ignore SIGINT: the parent, which a terminal's Ctrl-C also reaches,
decides.
"""
from __future__ import annotations

import contextlib
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterator, Sequence

from ..atomic import remove_temps
from ..errors import SceneError, SceneErrors, problems_of

GRACE = 5.0         # seconds a terminated worker gets to clean up before it is killed


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_stop)


def _worker_stop(signum, frame) -> None:
    remove_temps()
    os._exit(128 + signum)


@contextlib.contextmanager
def worker_pool(jobs: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool that, when its block is left by an exception (KeyboardInterrupt, the CLI's SIGTERM),
    cancels queued work and stops its workers instead of waiting for them."""
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init)
    try:
        yield pool
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown()


def _stop(pool: ProcessPoolExecutor) -> None:
    # ProcessPoolExecutor has no public way to stop running workers before Python 3.14 (terminate_workers)
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    deadline = time.monotonic() + GRACE
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.kill()
            worker.join(1.0)


def outcomes(pool: ProcessPoolExecutor, fn: Callable, calls: Sequence[tuple]) -> Iterator[tuple[Any, BaseException | None]]:
    """``(result, None)`` or ``(None, error)`` for ``fn(*args)`` of each call, in order; every call runs even
    when others fail."""
    futures = [pool.submit(fn, *args) for args in calls]
    for future in futures:
        error = future.exception()
        yield (None, error) if error is not None else (future.result(), None)


class ScenesFailed(Exception):
    """Some scenes failed for reasons that are not the user's (a bug); every failed scene is listed."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


def raise_failures(failures: Sequence[tuple[str, BaseException]]) -> None:
    """After every scene was attempted: one SceneErrors with every user problem, or, when some failure is a
    bug, ScenesFailed naming each failed scene and what went wrong with it."""
    if not failures:
        return
    if all(isinstance(exc, SceneError) for _, exc in failures):
        raise SceneErrors([p for _, exc in failures for p in problems_of(exc)])
    lines = []
    for scene, exc in failures:
        if isinstance(exc, SceneError):
            lines += [f"error: {line}" for line in str(exc).splitlines()]
        else:
            lines.append(f"internal error: {scene}: {type(exc).__name__}: {exc}")
    raise ScenesFailed(lines)
