"""Ctrl-C and SIGTERM stop `render -j N` and `gallery -j N` at once: queued scenes are cancelled, workers stop,
no output is written and no temporary file is left. A scene failing in a worker is reported intact, after the
others are rendered."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from optviz.commands.cli import main
from optviz.errors import SceneError, SceneErrors

#: Slow enough (a second or two each) that no scene finishes between the first temporary file and the signal.
SLOW = "function: beale\nsteps: 499\noptimizers: [adam, sgd, nag, rmsprop]\n"
SMALL = "function: beale\nsteps: 3\nsize: [128, 96]\noptimizers: [adam]\n"


def folder_of(tmp_path: Path, text: str, count: int) -> Path:
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    for i in range(count):
        (scenes / f"s{i}.yaml").write_text(text)
    return scenes


def everything_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize("command", ["render", "gallery"])
@pytest.mark.parametrize("sig, code, said", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_signal_stops_parallel_work_at_once_leaving_nothing(tmp_path, command, sig, code, said):
    """Ctrl-C as a terminal sends it (to the whole process group), SIGTERM as `kill` does (to the command)."""
    scenes = folder_of(tmp_path, SLOW, 6)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "optviz.commands.cli", command, str(scenes), "-o", str(out),
                             "-j", "2", "-q"], stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob(".*.tmp.gif")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read()
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=20)    # a few seconds at most; the queued scenes take far longer
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)     # whatever is left of it (workers of a command that died)
        proc.wait()
    assert (proc.returncode, stderr.strip()) == (code, said)
    assert [name for name in everything_in(out) if name != ".gallery.json"] == []
    assert everything_in(scenes) == [f"s{i}.yaml" for i in range(6)]


def test_a_scene_failing_in_a_worker_is_reported_intact_after_the_others(tmp_path, monkeypatch):
    from optviz.draw import animate

    real = animate.render

    def render(traj, out, fmt=None, progress=None):
        if traj.scene.name == "a":
            raise SceneErrors([SceneError("first problem", path="k", file="a.yaml", line=3),
                               SceneError("second problem", path="j", file="a.yaml", line=7)])
        return real(traj, out, fmt, progress)

    monkeypatch.setattr(animate, "render", render)     # the workers are forked: they render with this too
    scenes = folder_of(tmp_path, SMALL, 0)
    for name in "abc":
        (scenes / f"{name}.yaml").write_text(SMALL)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", str(scenes), "-o", str(out), "-j", "2"])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert lines == [f"wrote {out / 'b.gif'}", f"wrote {out / 'c.gif'}",
                     "error: a.yaml:3: k: first problem", "error: a.yaml:7: j: second problem"]
    assert everything_in(out) == ["b.gif", "c.gif"]


def test_a_bug_in_a_worker_names_its_scene_and_the_others_still_render(tmp_path, monkeypatch):
    from optviz.draw import animate

    real = animate.render

    def render(traj, out, fmt=None, progress=None):
        if traj.scene.name == "b":
            raise ZeroDivisionError("a bug")
        return real(traj, out, fmt, progress)

    monkeypatch.setattr(animate, "render", render)
    scenes = folder_of(tmp_path, SMALL, 0)
    for name in "abc":
        (scenes / f"{name}.yaml").write_text(SMALL)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["gallery", str(scenes), "-o", str(out), "-j", "2", "-q"])
    assert result.exit_code == 1
    assert f"internal error: {scenes / 'b.yaml'}: ZeroDivisionError: a bug" in result.output
    assert everything_in(out) == [".gallery.json", "a.gif", "a.html", "c.gif", "c.html"]


def test_a_signal_held_back_while_the_temporary_file_was_made_still_deletes_it(tmp_path, monkeypatch):
    """Ctrl-C or SIGTERM during mkstemp is held back and raised the moment it is let through, before the caller
    has the file: it must still be deleted."""
    from optviz import atomic

    @contextlib.contextmanager
    def held():
        yield
        raise KeyboardInterrupt      # what the held-back signal's handler does as the mask is restored

    monkeypatch.setattr(atomic, "_signals_held", held)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_bytes_atomic(tmp_path / "out.gif", b"GIF89a")
    assert list(tmp_path.iterdir()) == [] and not atomic._LIVE
