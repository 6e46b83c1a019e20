"""Hostile scene files: every one gets a one-line exit-2 message naming its key or line, `validate` goes on to
the next file, nothing hangs or floods memory, and what validate accepts, render draws."""
from __future__ import annotations

import copy
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

import optviz
from optviz.commands.cli import main
from optviz.draw.writers.gif import delays
from optviz.errors import SceneError
from optviz.scenes.load import scene_from_data
from optviz.scenes.source import parse_yaml, read_text

ROOT = Path(__file__).resolve().parents[1]
MAX_DELAY = 0xFFFF      # a GIF stores a frame's delay in 16 bits of hundredths of a second
BASE = "function: beale\nsteps: 4\nsize: [128, 96]\noptimizers: [adam]\n"


def validate(tmp_path, *texts: str | bytes):
    """``optviz validate`` over one file per text (a.yaml, b.yaml, ...) and a good scene last."""
    paths = []
    for i, text in enumerate(texts):
        path = tmp_path / f"{chr(97 + i)}.yaml"
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        paths.append(path)
    good = tmp_path / "z-good.yaml"
    good.write_text(BASE)
    result = CliRunner().invoke(main, ["validate", *map(str, paths), str(good)])
    return result, paths, good


HOSTILE = {
    "digits over Python's limit": ("frames: " + "1" * 5000, ":5: frames: is a number too large to use"),
    "int beyond a float": ("start: [1" + "0" * 400 + ", 0]", ":5: start[0]: is a number too large to use"),
    "sexagesimal beyond a float": ("frames: 1" + ":0" * 2500, ":5: frames: is a number too large to use"),
    "recursive alias": ("title: &a [sgd, *a]", ":5: title[1]: contains itself through a YAML alias"),
    "recursive alias in a mapping": ("noise: &a {std: *a}", ":5: noise.std: contains itself"),
    "deep flow lists": ("title: " + "[" * 600 + "]" * 600, ":5: title" + "[0]" * 49 + ": lists and mappings are nested"),
    "deep flow maps": ("title: " + "{a: " * 600 + "1" + "}" * 600, ":5: title" + ".a" * 49 + ": lists and mappings"),
    "deep block lists": ("title:\n" + "".join("  " * i + "-\n" for i in range(300)),
                         ":55: title" + "[0]" * 49 + ": lists and mappings are nested more than 50 deep here"),
    "deep through aliases": ("\n".join(f"k{i}: &a{i} [*a{i - 1}]" if i else "k0: &a0 [1]" for i in range(80)),
                             ":5: k49" + "[0]" * 49 + ": lists and mappings are nested more than 50 deep here "
                                                      "(through aliases)"),
    "impossible date": ("title: 2001-13-45", ":5: invalid YAML: cannot read this value"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_parsing_limits_are_exit_2_at_the_key_and_validate_goes_on(tmp_path, case):
    text, expected = HOSTILE[case]
    result, (path,), good = validate(tmp_path, BASE + text + "\n")
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert f"error: {path}{expected}" in result.output
    assert f"ok: {good}" in result.output


def test_the_nesting_limit_is_exact_and_shared_aliases_still_load():
    text = "function: beale\nsteps: &n 5\noptimizers: [{name: adam, steps: *n}]\ntitle: DEEP\n"
    data, lines = parse_yaml(text.replace("DEEP", "[" * 49 + "]" * 49))     # 50 levels with the scene itself
    assert data["optimizers"][0]["steps"] == 5 and lines["optimizers[0].steps"] == 3
    with pytest.raises(SceneError, match=r"title(\[0\]){49}: lists and mappings are nested more than 50 deep"):
        parse_yaml(text.replace("DEEP", "[" * 50 + "]" * 50))


def test_non_regular_inputs_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock.yaml"))
    (tmp_path / "folder").mkdir()
    try:   # a real process with a timeout: reading /dev/zero never ends and opening a FIFO blocks forever
        proc = subprocess.run([sys.executable, "-m", "optviz.commands.cli", "validate", "/dev/zero", str(fifo),
                               str(tmp_path / "sock.yaml"), str(tmp_path / "folder")], capture_output=True, text=True,
                              timeout=60)
    finally:
        sock.close()
    assert proc.returncode == 2, proc.stderr
    assert "error: /dev/zero: is a character device, not a regular file" in proc.stderr
    assert f"error: {fifo}: is a FIFO (named pipe), not a regular file" in proc.stderr
    assert f"error: {tmp_path / 'sock.yaml'}: is a socket, not a regular file" in proc.stderr
    assert f"error: {tmp_path / 'folder'}: no .yaml scene files in this folder" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("codec, name", [("utf-16", "UTF-16 (little-endian)"), ("utf-16-be", "UTF-16 (big-endian)"),
                                         ("utf-32", "UTF-32 (little-endian)"), ("utf-32-be", "UTF-32 (big-endian)")])
def test_utf16_and_utf32_files_are_named(tmp_path, codec, name):
    path = tmp_path / "wide.yaml"
    path.write_bytes(BASE.encode(codec))
    with pytest.raises(SceneError, match=rf"is {re.escape(name)} text; scenes must be UTF-8"):
        read_text(path)


TEXT_CASES = {
    "math with an unknown command": ('title: "$\\\\foo$"', "title: is not math matplotlib can draw: Unknown symbol"),
    "unclosed math group": ('title: "$x^{$"', "title: is not math matplotlib can draw"),
    "deep math": ('title: "$' + "{" * 30 + "x" + "}" * 30 + '$"', "title: math nests groups 30 deep"),
    "math in a label": ('optimizers: [{name: adam, label: "$\\\\left($"}]', "optimizers[0].label: is not math"),
    "lone surrogate": ('title: "\\ud800"', "title: contains a lone surrogate U+D800"),
    "ANSI escape": ('title: "\\e[31mred"', "title: contains the control character U+001B"),
    "NUL in output": ('output: "a\\0b.gif"', "output: contains the control character U+0000"),
    "newline in output": ('output: "a\\nb.gif"', "output: contains the control character U+000A"),
    "name too long": ("output: " + "a" * 252 + ".gif", "output: has a name of 256 bytes"),
    "view too wide": ("xlim: [-1e308, 1e308]", "xlim[0]: must be in [-1e+300, 1e+300], got -1e+308"),
    "formula view too wide": ("function: {formula: 'x**2', xlim: [-1e308, 1e308]}", "function.xlim[0]: must be in"),
    "denormal fps": ("fps: 5e-324", "fps: is too slow to show"),
}


@pytest.mark.parametrize("case", sorted(TEXT_CASES))
def test_what_render_cannot_draw_is_refused_by_validate(tmp_path, case):
    text, expected = TEXT_CASES[case]
    body = BASE.replace("optimizers: [adam]\n", "") if text.startswith("optimizers") else BASE
    if text.startswith("function"):
        body = body.replace("function: beale\n", "")
    result, (path,), _ = validate(tmp_path, body + text + "\n")
    assert result.exit_code == 2, result.output
    assert f"error: {path}:" in result.output and expected in result.output, result.output


def test_math_is_checked_by_matplotlibs_own_parser_and_good_math_is_drawn(tmp_path):
    with pytest.raises(SceneError, match=r"^title: is not math matplotlib can draw: Unknown symbol: \\foo"):
        optviz.scene(function="beale", title=r"$\foo$", optimizers=["adam"])
    scene = optviz.scene(function="beale", steps=3, size=[160, 120], title=r"Adam, $\beta_2 = 0.999$",
                         optimizers=[{"name": "adam", "label": r"$\alpha = 10^{-1}$"}, {"name": "sgd", "label": "$5"}])
    assert optviz.render(scene, tmp_path / "m.gif").path.stat().st_size > 0


def test_extreme_numbers_anywhere_in_the_shipped_scenes_are_scene_errors_or_valid():
    """Every number of a few shipped scenes, replaced by an extreme value: validation names a problem or
    accepts; it never fails otherwise (a denormal coefficient used to overflow in the formula's text)."""
    def leaves(node, path=()):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from leaves(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from leaves(v, path + (i,))
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            yield path

    checked = 0
    for name in ("learning-rate.yaml", "schedules.yaml", "custom-formula.yaml", "blog/adam-beale.yaml"):
        data = yaml.safe_load(read_text(ROOT / "configs" / name))
        for path in leaves(data):
            for value in (1e308, -1e308, 5e-324, 10**400):
                changed = copy.deepcopy(data)
                node = changed
                for key in path[:-1]:
                    node = node[key]
                node[path[-1]] = value
                try:
                    scene_from_data(changed)
                except SceneError:
                    pass
                checked += 1
    assert checked > 100


def test_views_that_overflow_the_function_still_draw_every_panel(tmp_path):
    scene = optviz.scene(function="rosenbrock", steps=3, size=[160, 120], xlim=[-1e300, 1e300],
                         ylim=[-1e300, 1e300], panels=["loss", "surface"], optimizers=["adam"])
    with Image.open(optviz.render(scene, tmp_path / "wide.gif").path) as im:
        assert im.n_frames == 4


def test_a_tiny_fps_makes_the_slowest_gif_never_a_fast_one(tmp_path):
    assert delays(3, 1e-300, 1.0) == [MAX_DELAY] * 3
    assert delays(3, 0.1, 1000.0) == [1000, 1000, MAX_DELAY]
    assert delays(3, 20, 1.0) == [5, 5, 105]
    scene = optviz.scene(function="beale", steps=2, size=[128, 96], fps=0.01, optimizers=["adam"])
    with Image.open(optviz.render(scene, tmp_path / "slow.gif").path) as im:
        im.seek(1)
        assert im.info["duration"] == 100_000          # 100 s a frame, the slowest a scene may ask for


def test_terminal_output_escapes_control_characters(tmp_path):
    result, _, _ = validate(tmp_path, BASE + '"\\e[2J\\e]0;pwned\\a": 1\n')
    assert result.exit_code == 2
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "unknown key '\\x1b[2J\\x1b]0;pwned\\x07'" in result.output
    from optviz.commands.cli import printable

    assert printable("a\u202eb\ud800c\td") == "a\\u202eb\\ud800c\td"


def test_validate_reports_every_file_even_after_a_bug_in_one(tmp_path, monkeypatch):
    load_module = sys.modules["optviz.scenes.load"]
    real = load_module.render_options.settings

    def broken(data, p):
        if data.get("title") == "boom":
            raise RuntimeError("a bug")
        return real(data, p)

    monkeypatch.setattr(load_module.render_options, "settings", broken)
    result, (bug, bad), good = validate(tmp_path, BASE + "title: boom\n", BASE + "frames: 0\n")
    assert result.exit_code == 1
    assert f"internal error: {bug}: RuntimeError: a bug" in result.output
    assert f"error: {bad}:5: frames: must be at least 2" in result.output
    assert f"ok: {good}" in result.output



def test_the_gallery_does_not_publish_a_symlink_to_a_file_outside_its_folder(tmp_path):
    secret = tmp_path / "private" / "notes.yaml"
    secret.parent.mkdir()
    secret.write_text(BASE + "description: my private notes\n")
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    (scenes / "bowl.yaml").write_text(BASE)
    (scenes / "inside.yaml").symlink_to("bowl.yaml")              # a link within the folder is fine
    (scenes / "notes.yaml").symlink_to(secret)
    result = CliRunner().invoke(main, ["gallery", str(scenes), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert f"not published: {scenes / 'notes.yaml'} is a symlink to {secret}, outside {scenes}" in result.output
    page = (tmp_path / "out" / "index.html").read_text()
    assert "private notes" not in page and "notes.gif" not in page and "inside.gif" in page
    assert sorted(p.name for p in (tmp_path / "out").glob("*.gif")) == ["bowl.gif", "inside.gif"]


def test_one_bad_scene_does_not_stop_the_gallery_checking_the_others(tmp_path):
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    (scenes / "a-recursive.yaml").write_text(BASE + "title: &a [sgd, *a]\n")
    (scenes / "b-math.yaml").write_text(BASE + 'title: "$x^{$"\n')
    (scenes / "c-good.yaml").write_text(BASE)
    result = CliRunner().invoke(main, ["gallery", str(scenes), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert f"error: {scenes / 'a-recursive.yaml'}:5: title[1]: contains itself" in result.output
    assert f"error: {scenes / 'b-math.yaml'}:5: title: is not math matplotlib can draw" in result.output
    assert not (tmp_path / "out").exists()
