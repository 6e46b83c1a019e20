"""The forked second process: its errors come back, signals are neither lost nor run in the wrong process, and it
never outlives the process that started it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from optviz import forked

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the second process is Linux-only")


class Stop(Exception):
    pass


def read_all(inbox):
    while inbox.read(1) != b".":
        pass


def test_the_child_gets_what_is_sent_and_its_error_comes_back_as_raised():
    def work(inbox):
        data = inbox.read(5)
        raise ValueError(f"got {data!r}")

    child = forked.Forked(work)
    child.start()
    child.send(b"hello")
    with pytest.raises(ValueError, match="got b'hello'"):
        child.join()


def test_a_signal_during_the_fork_is_held_until_the_child_is_recorded_then_raised(monkeypatch):
    def stop(number, frame):
        raise Stop()

    previous = signal.signal(signal.SIGUSR1, stop)
    real_fork = os.fork
    other = threading.Thread(target=time.sleep, args=(2,), daemon=True)   # as numpy's BLAS threads are
    other.start()

    def fork_while_signalled():
        # sent to the process while this thread blocks it: another thread takes it, and Python would run the
        # handler here, at once, were it not only noting it
        os.kill(os.getpid(), signal.SIGUSR1)
        time.sleep(0.05)
        return real_fork()

    monkeypatch.setattr(forked.os, "fork", fork_while_signalled)
    child = forked.Forked(read_all)
    try:
        with pytest.raises(Stop):
            child.start()
        pid = child.pid
        assert pid is not None                      # recorded before the handler ran: it can be stopped
        assert signal.getsignal(signal.SIGUSR1) is stop
    finally:
        child.stop()
        signal.signal(signal.SIGUSR1, previous)
    with pytest.raises(ChildProcessError):         # stopped and collected
        os.waitpid(pid, os.WNOHANG)


def test_the_child_ends_when_its_parent_is_killed(tmp_path):
    script = (
        "import os, sys, time\n"
        "from optviz import forked\n"
        "def work(inbox):\n"
        "    inbox.read(1)\n"
        "child = forked.Forked(work)\n"
        "child.start()\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pid = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[1].split()[0] == "Z":   # ended, waiting for init to collect it
                    break
        except FileNotFoundError:
            break
        time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the child outlived its parent")
