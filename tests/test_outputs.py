"""Where optviz writes: only regular files (devices, FIFOs, sockets and folders are refused), symlinks written
through, modes kept, temporary files of killed runs cleaned up, a scene's `output:` kept inside its folder,
and a full or read-only disk reported as the user's situation."""
from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import optviz
from optviz.commands.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = "function: beale\nsteps: 3\nsize: [128, 96]\noptimizers: [adam]\n"
STALE = 3600        # older than optviz's STALE_AFTER (ten minutes)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def scene(folder: Path, text: str = SMALL, name: str = "s.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def make_special(path: Path, kind: str):
    """A non-regular file at ``path``; a character device needs root (else a FIFO stands in)."""
    if kind == "device":
        try:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))     # what /dev/null is
        except PermissionError:
            os.mkfifo(path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        return sock
    else:
        path.mkdir()
    return None


COMMANDS = {
    "render": lambda s, out: ["render", s, "-o", out, "-q"],
    "trace": lambda s, out: ["trace", s, "-o", out],
    "schema": lambda s, out: ["schema", "-o", out],
    "tune": lambda s, out: ["tune", s, "-o", out],
}
SUFFIX = {"render": ".gif", "trace": ".json", "schema": ".json", "tune": ".yaml"}


@pytest.mark.parametrize("kind", ["device", "fifo", "socket", "directory"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_only_regular_files_are_written(tmp_path, command, kind):
    src = scene(tmp_path / "scenes")
    target = tmp_path / f"target{SUFFIX[command]}"
    sock = make_special(target, kind)
    before = os.lstat(target)
    try:
        result = run(*COMMANDS[command](src, target))
    finally:
        if sock is not None:
            sock.close()
    assert result.exit_code == 2, result.output
    assert f"error: {target}: is a" in result.output and "not a regular file" in result.output
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino, after.st_rdev) == (before.st_mode, before.st_ino, before.st_rdev)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_gallery_refuses_an_image_path_that_is_not_a_regular_file(tmp_path):
    scene(tmp_path / "scenes", name="bowl.yaml")
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "bowl.gif")
    result = run("gallery", tmp_path / "scenes", "-o", out, "-q")
    assert result.exit_code == 2, result.output
    assert f"error: {out / 'bowl.gif'}: is a FIFO (named pipe), not a regular file" in result.output
    assert stat.S_ISFIFO(os.lstat(out / "bowl.gif").st_mode) and not (out / "index.html").exists()


def test_a_symlinked_output_is_written_through_keeping_the_link_and_the_mode(tmp_path):
    src = scene(tmp_path)
    real = tmp_path / "site" / "picture.gif"
    real.parent.mkdir()
    real.write_bytes(b"old")
    real.chmod(0o600)
    link = tmp_path / "link.gif"
    link.symlink_to(Path("site") / "picture.gif")
    assert run("render", src, "-o", link, "-q").exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(Path("site") / "picture.gif")
    assert real.read_bytes()[:6] == b"GIF89a" and stat.S_IMODE(real.stat().st_mode) == 0o600
    assert sorted(p.name for p in real.parent.iterdir()) == ["picture.gif"]

    fresh = tmp_path / "fresh.json"
    assert run("trace", src, "-o", fresh).exit_code == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644

    os.mkfifo(tmp_path / "pipe.gif")
    (tmp_path / "to-pipe.gif").symlink_to("pipe.gif")
    result = run("render", src, "-o", tmp_path / "to-pipe.gif", "-q")
    assert result.exit_code == 2 and "is a FIFO (named pipe) (through the symlink" in result.output


def temp_name(target: Path, pid: int | None, tag: str = "abcdefgh") -> Path:
    middle = f"{pid}." if pid is not None else ""
    return target.parent / f".{target.name}.{middle}{tag}.tmp{target.suffix}"


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def age(path: Path, seconds: float) -> None:
    when = time.time() - seconds
    os.utime(path, (when, when))


def test_stale_temporary_files_of_dead_writers_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "x.json"
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        files = {
            "dead and old": temp_name(target, dead_pid(), "aaaaaaaa"),
            "old, no pid (an older optviz)": temp_name(target, None, "bbbbbbbb"),
            "alive and old": temp_name(target, alive.pid, "cccccccc"),
            "dead but fresh": temp_name(target, dead_pid(), "dddddddd"),
            "another target's": temp_name(tmp_path / "y.json", dead_pid(), "eeeeeeee"),
        }
        for label, path in files.items():
            path.write_text(label)
            if label != "dead but fresh":
                age(path, STALE)
        assert run("schema", "-o", target).exit_code == 0
    finally:
        alive.kill()
        alive.wait()
    left = {label for label, path in files.items() if path.exists()}
    assert left == {"alive and old", "dead but fresh", "another target's"}


def test_a_killed_render_leaves_a_temporary_file_that_the_next_render_removes(tmp_path):
    src = scene(tmp_path, "function: beale\nsteps: 499\noptimizers: [adam, sgd, nag, rmsprop]\n")
    out = tmp_path / "out" / "x.gif"
    proc = subprocess.Popen([sys.executable, "-m", "optviz.commands.cli", "render", str(src), "-o", str(out), "-q"],
                            env={**os.environ, "MPLBACKEND": "Agg"})
    deadline = time.monotonic() + 120
    while not list(out.parent.glob(".x.gif.*.tmp.gif")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (leftover,) = out.parent.glob(".x.gif.*.tmp.gif")
    assert f".x.gif.{proc.pid}." in leftover.name and not out.exists()
    age(leftover, STALE)
    small = scene(tmp_path, SMALL, "small.yaml")
    assert run("render", small, "-o", out, "-q").exit_code == 0
    assert [p.name for p in out.parent.iterdir()] == ["x.gif"]


def test_sigterm_during_a_single_render_removes_its_temporary_file(tmp_path):
    src = scene(tmp_path, "function: beale\nsteps: 499\noptimizers: [adam, sgd, nag, rmsprop]\n")
    out = tmp_path / "out" / "x.gif"
    proc = subprocess.Popen([sys.executable, "-m", "optviz.commands.cli", "render", str(src), "-o", str(out), "-q"],
                            env={**os.environ, "MPLBACKEND": "Agg"}, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.parent.glob(".x.gif.*")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    assert proc.stderr.read().strip() == "terminated"
    assert list(out.parent.iterdir()) == []


def test_a_full_disk_is_the_users_situation(tmp_path, monkeypatch):
    from optviz.draw.writers import gif

    def full(self, rgba, delay_cs, changed=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gif.GifStream, "add", full)
    out = tmp_path / "out.gif"
    result = run("render", scene(tmp_path), "-o", out, "-q")
    assert result.exit_code == 2
    assert result.output == f"error: {out}: cannot write: No space left on device (ENOSPC)\n"
    assert [p.name for p in tmp_path.iterdir()] == ["s.yaml"]


def test_a_read_only_folder_is_the_users_situation(tmp_path, monkeypatch):
    from optviz import atomic

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", read_only)
    out = tmp_path / "schema.json"
    result = run("schema", "-o", out)
    assert result.exit_code == 2
    assert result.output == f"error: {out}: cannot write: Read-only file system (EROFS)\n"


def test_a_file_in_the_way_of_a_folder_is_the_users_situation(tmp_path):
    (tmp_path / "file").write_text("x")
    for args in (["schema", "-o", tmp_path / "file" / "s.json"],
                 ["render", scene(tmp_path), "-o", tmp_path / "file" / "x.gif", "-q"]):
        result = run(*args)
        assert result.exit_code == 2, result.output
        assert "internal error" not in result.output and "Not a directory" in result.output


# -- a scene's own `output:` -------------------------------------------------------------------------------

def test_output_is_relative_to_the_scene_file(tmp_path, monkeypatch):
    src = scene(tmp_path / "scenes", SMALL + "output: pics/x.gif\n")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = run("render", src)
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {tmp_path / 'scenes' / 'pics' / 'x.gif'}\n"
    assert list((tmp_path / "elsewhere").iterdir()) == []

    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    monkeypatch.chdir(tmp_path)         # the README's first command, from the project's folder
    result = run("render", "configs/blog/adam-beale.yaml", "--scale", "0.25")
    assert result.exit_code == 0 and result.output == "wrote outputs/adam-beale.gif\n"
    assert (tmp_path / "outputs" / "adam-beale.gif").exists()


def test_output_may_not_leave_the_scene_folder_or_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    downloaded = tmp_path / "downloaded"
    escape = scene(downloaded / "sub", SMALL + "output: ../../../pwned.gif\n", "escape.yaml")
    absolute = scene(downloaded, SMALL + f"output: {tmp_path / 'abs' / 'pwned.gif'}\n", "absolute.yaml")
    result = run("render", downloaded, "-q")
    assert result.exit_code == 2
    assert f"error: {escape}:5: output: '../../../pwned.gif' leads to {tmp_path.parent / 'pwned.gif'}, outside " \
           f"{downloaded}/ and the current folder; keep it inside, or give -o to write elsewhere" in result.output
    assert f"error: {absolute}:5: output: '{tmp_path / 'abs' / 'pwned.gif'}' leads to" in result.output
    assert not (tmp_path.parent / "pwned.gif").exists() and not (tmp_path / "abs").exists()

    inside = scene(downloaded / "sub", SMALL + "output: ../inside.gif\n", "inside.yaml")
    assert run("render", inside, "-q").exit_code == 2              # alone, its tree is downloaded/sub
    assert run("render", inside, "-q", "-o", tmp_path / "chosen.gif").exit_code == 0   # -o is the user's word
    (downloaded / "link").symlink_to(tmp_path / "abs-target", target_is_directory=True)
    linked = scene(downloaded, SMALL + "output: link/x.gif\n", "linked.yaml")
    result = run("render", linked, "-q")
    assert result.exit_code == 2 and "leads to" in result.output
    for bad in (escape, absolute, linked):
        bad.unlink()
    assert run("render", downloaded, "-q").exit_code == 0           # the folder being rendered holds it
    assert (downloaded / "inside.gif").exists()


def test_a_scene_built_in_code_resolves_against_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    made = optviz.render(optviz.scene(function="beale", steps=2, size=[128, 96], output="pics/x.gif",
                                      optimizers=["adam"]))
    assert made.path == Path("pics/x.gif") and (tmp_path / "pics" / "x.gif").exists()
    with pytest.raises(optviz.SceneError, match=r"^output: '\.\./x\.gif' leads to .*, outside the current folder"):
        optviz.render(optviz.scene(function="beale", steps=2, output="../x.gif", optimizers=["adam"]))


def test_two_scenes_writing_one_file_is_an_error_naming_both(tmp_path):
    a = scene(tmp_path / "d", name="a.yaml")
    b = scene(tmp_path / "d" / "sub", name="a.yaml")
    out = tmp_path / "out"
    result = run("render", tmp_path / "d", "-o", out, "-q")
    assert result.exit_code == 2
    assert f"error: output: {a} and {b} would all write" in result.output and not out.exists()
    c = scene(tmp_path / "e", SMALL + "output: same.gif\n", "c.yaml")
    d = scene(tmp_path / "e", SMALL + "output: ./same.gif\n", "d.yaml")
    result = run("render", tmp_path / "e", "-q")
    assert result.exit_code == 2 and f"{c} and {d} would all write" in result.output


def test_a_tuned_copy_elsewhere_says_where_it_renders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "configs" / "blog", tmp_path / "configs" / "blog")
    (tmp_path / "mine").mkdir()
    result = run("tune", "configs/blog/adam-beale.yaml", "--objective", "initial-speed", "-o", "mine/fair.yaml")
    assert result.exit_code == 0, result.output
    assert "note: the tuned scene's `output: ../../outputs/adam-beale.gif` is relative to its own folder, from " \
           "where it leads outside; change it, or render the tuned scene with -o" in result.output
