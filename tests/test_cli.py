"""The command line: exit codes, one-line errors without tracebacks, trace output, listings."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from optviz import __version__
from optviz.commands.cli import main
from optviz.maths.functions import FUNCTIONS
from optviz.maths.optimizers import OPTIMIZERS

SCENE = """\
function: beale
start: [2.0, 1.7]
steps: 40
optimizers:
  - {name: sgd, label: SGD, lr: 0.003}
  - {name: adam, label: Adam, lr: 0.7, betas: [0.9, 0.999]}
"""


@pytest.fixture
def runner():
    return CliRunner()


def scene(tmp_path, text=SCENE, name="s.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_version_and_help(runner):
    assert runner.invoke(main, ["--version"]).output.strip().endswith(__version__)
    for args in ([], ["render"], ["trace"], ["validate"], ["list"]):
        result = runner.invoke(main, [*args, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output


def test_trace_json_has_resolved_run_records(runner, tmp_path):
    result = runner.invoke(main, ["trace", scene(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    sgd, adam = data["runs"]
    assert sgd["label"] == "SGD" and sgd["optimizer"] == "sgd"
    assert sgd["hyperparameters"] == {**OPTIMIZERS["sgd"].defaults(), "lr": 0.003}
    assert adam["hyperparameters"]["betas"] == [0.9, 0.999]
    assert len(sgd["points"]) == 41 and len(sgd["loss"]) == 41 and sgd["diverged_at"] is None
    assert sgd["points"][0] == [2.0, 1.7]
    assert adam["loss"][-1] < adam["loss"][0]


def test_trace_csv_by_extension_matches_json(runner, tmp_path):
    out = tmp_path / "t.csv"
    assert runner.invoke(main, ["trace", scene(tmp_path), "-o", str(out)]).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 82 and rows[0]["label"] == "SGD" and rows[-1]["step"] == "40"
    data = json.loads(runner.invoke(main, ["trace", scene(tmp_path)]).output)
    assert float(rows[-1]["x"]) == data["runs"][1]["points"][-1][0]


def test_divergence_is_recorded_not_raised(runner, tmp_path):
    text = "function: parabola\nstart: [4, 4]\nsteps: 100\noptimizers:\n  - {name: sgd, label: big, lr: 1.5}\n" \
           "  - {name: sgd, label: ok, lr: 0.1}\n"
    result = runner.invoke(main, ["trace", scene(tmp_path, text)])
    assert result.exit_code == 0, result.output
    big, ok = json.loads(result.output)["runs"]
    assert big["diverged_at"] is not None and 1 < big["diverged_at"] < 100
    assert len(big["points"]) <= big["diverged_at"] + 1
    assert all(np.isfinite(big["points"]).ravel())
    assert ok["diverged_at"] is None and len(ok["points"]) == 101


def test_trace_to_nan_is_a_divergence(runner, tmp_path):
    text = "function: {formula: 'sqrt(x)'}\nstart: [1, 1]\nsteps: 50\noptimizers:\n  - {name: sgd, lr: 3}\n"
    result = runner.invoke(main, ["trace", scene(tmp_path, text)])
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)["runs"][0]
    assert run["diverged_at"] is not None


def test_list_shows_every_function_and_optimizer(runner):
    functions = runner.invoke(main, ["list", "functions"]).output
    optimizers = runner.invoke(main, ["list", "optimizers"]).output
    assert all(name in functions for name in FUNCTIONS)
    assert all(name in optimizers for name in OPTIMIZERS)
    assert "torch.optim.Adam" in optimizers and "betas=[0.9, 0.999]" in optimizers
    assert "x**2/50 + y**2" in functions


def test_validate_reports_every_problem_in_every_file(runner, tmp_path):
    good = scene(tmp_path, name="good.yaml")
    bad = scene(tmp_path, SCENE.replace("lr: 0.003", "lr: -1").replace("steps: 40", "steps: 0"), name="bad.yaml")
    result = runner.invoke(main, ["validate", good, bad])
    assert result.exit_code == 2
    assert f"ok: {good}" in result.output
    assert "optimizers[0].lr" in result.output and "steps" in result.output


BAD_INPUTS = {
    "missing": None,
    "empty": b"",
    "garbage": bytes(range(256)) * 4,
    "yaml": b"function: [beale\n",
    "list": b"- function\n- beale\n",
    "tag": b"function: !!python/object/apply:os.system ['touch pwned']\noptimizers: [adam]\n",
    "unknown-function": b"function: bael\noptimizers: [adam]\n",
    "unknown-optimizer": b"function: beale\noptimizers: [adamw2]\n",
    "unknown-key": b"function: beale\noptimizers: [adam]\nstep: 10\n",
    "type": b"function: beale\nsteps: many\noptimizers: [adam]\n",
    "lr": b"function: beale\noptimizers: [{name: adam, lr: 0}]\n",
    "betas": b"function: beale\noptimizers: [{name: adam, betas: [0.9, 1]}]\n",
    "nan": b"function: beale\nstart: [.nan, 1]\noptimizers: [adam]\n",
    "inf": b"function: beale\noptimizers: [{name: adam, lr: .inf}]\n",
    "steps0": b"function: beale\nsteps: 0\noptimizers: [adam]\n",
    "steps-neg": b"function: beale\nsteps: -3\noptimizers: [adam]\n",
    "steps-absurd": b"function: beale\nsteps: 1000000000000\noptimizers: [adam]\n",
    "start": b"function: beale\nstart: [1, 2, 3]\noptimizers: [adam]\n",
}


@pytest.mark.parametrize("command", ["trace", "render"])
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exit_2_one_line_no_output(runner, tmp_path, monkeypatch, command, case):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / f"{case}.yaml"
    if BAD_INPUTS[case] is not None:
        path.write_bytes(BAD_INPUTS[case])
    out = tmp_path / ("out.json" if command == "trace" else "out.gif")
    result = runner.invoke(main, [command, str(path), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("error: ") and str(path) in result.output
    assert not out.exists() and not (tmp_path / "outputs").exists() and not (tmp_path / "pwned").exists()
    assert [p.name for p in tmp_path.iterdir()] in ([], [path.name])


def test_directory_as_scene(runner, tmp_path):
    result = runner.invoke(main, ["trace", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.output


def test_real_process_exit_code_and_no_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("function: beale\noptimizers: [{name: adam, lr: -1}]\n")
    proc = subprocess.run([sys.executable, "-m", "optviz.commands.cli", "trace", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {path}:2: optimizers[0].lr: "
                                                 + proc.stderr.split("optimizers[0].lr: ", 1)[1].strip()]
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_the_process_leaves_at_once_with_all_its_output(tmp_path):
    """``python -m optviz`` ends with os._exit once its work is done: its exit code and every byte it printed
    (a pipe is block-buffered) still arrive."""
    path = scene(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "optviz", "trace", path], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == ""
    assert json.loads(proc.stdout) == json.loads(CliRunner().invoke(main, ["trace", path]).output)
    bad = scene(tmp_path, "function: rosenbrok\noptimizers: [adam]\n", name="bad.yaml")
    proc = subprocess.run([sys.executable, "-m", "optviz", "validate", path, bad], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout.startswith(f"ok: {path}") and "did you mean 'rosenbrock'" in proc.stderr


def test_the_quick_exit_waits_for_other_threads_and_keeps_python_s_codes(monkeypatch, capsys):
    import threading

    from optviz.commands import cli

    exits = []
    monkeypatch.setattr(cli.os, "_exit", exits.append)
    monkeypatch.setattr(sys, "argv", ["optviz", "--version"])
    cli.entry()
    assert exits == [0] and __version__ in capsys.readouterr().out
    monkeypatch.setattr(threading, "active_count", lambda: 2)       # a thread still running: Python's own exit
    with pytest.raises(SystemExit) as done:
        cli.entry()
    assert done.value.code == 0 and exits == [0]


def test_the_command_imports_matplotlib_without_its_docstring_tables_and_the_api_keeps_them():
    """The command skips the property tables matplotlib writes into every Artist's ``set()`` docstring (it never
    shows one, and they cost a tenth of a render); a Python session that imports optviz keeps them."""
    code = ("import sys, matplotlib.artist as artist; kwdoc = artist.kwdoc\n"
            "if sys.argv[1] == 'command':\n"
            "    from optviz.commands.cli import _import_drawing; _import_drawing()\n"
            "else:\n"
            "    import optviz.draw.animate\n"
            "from matplotlib.lines import Line2D\n"
            "print(artist.kwdoc is kwdoc, 'drawstyle' in Line2D.set.__doc__, len(Line2D.set.__doc__))\n")
    command, api = (subprocess.run([sys.executable, "-c", code, how], capture_output=True, text=True, check=True)
                    .stdout.split() for how in ("command", "api"))
    assert command[:2] == ["True", "False"] and api[:2] == ["True", "True"] and int(command[2]) < int(api[2])


def test_a_bad_formula_is_pointed_at_through_the_scene(runner, tmp_path):
    text = "function: {formula: \"x**2 + __import__('os').system('touch pwned')\"}\noptimizers: [adam]\n"
    result = runner.invoke(main, ["validate", scene(tmp_path, text)])
    assert result.exit_code == 2
    assert "function.formula:" in result.output and "__import__" in result.output
    assert not (tmp_path / "pwned").exists()


def test_render_several_scenes_into_a_folder_in_parallel(runner, tmp_path):
    small = SCENE.replace("steps: 40", "steps: 8") + "size: [160, 120]\n"
    a, b = scene(tmp_path, small, "a.yaml"), scene(tmp_path, small, "b.yaml")
    out = tmp_path / "out"
    result = runner.invoke(main, ["render", a, b, "-o", str(out), "-j", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a.gif", "b.gif"]
    assert (out / "a.gif").read_bytes() == (out / "b.gif").read_bytes()


def test_render_png_format_writes_the_final_frame(runner, tmp_path):
    small = SCENE.replace("steps: 40", "steps: 8") + "size: [160, 120]\n"
    out = tmp_path / "final.png"
    result = runner.invoke(main, ["render", scene(tmp_path, small), "--format", "png", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_scale_option(tmp_path):
    out = tmp_path / "x.png"
    ok = CliRunner().invoke(main, ["render", str(Path(__file__).resolve().parent.parent / "configs" / "rosenbrock.yaml"), "--scale", "0.5", "-o", str(out), "-q"])
    assert ok.exit_code == 0, ok.output
    from PIL import Image
    with Image.open(out) as im:
        assert im.size == (360, 216)
    bad = CliRunner().invoke(main, ["render", str(Path(__file__).resolve().parent.parent / "configs" / "rosenbrock.yaml"), "--scale", "9", "-o", str(out)])
    assert bad.exit_code == 2 and "--scale: must be in [0.25, 8], got 9" in bad.output


def test_one_progress_bar_follows_a_long_simulation_then_the_frames(monkeypatch):
    import io
    import sys

    from optviz.commands.cli import _ProgressBar

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    quick = _ProgressBar("quick")
    quick.simulating(100, 100)
    assert quick.bar is None                       # a quick simulation gets no bar; its frames will
    bar = _ProgressBar("long")
    bar.simulating(2560, 10_000)
    first = bar.bar
    assert (first.length, first.pos, first.label) == (10_000, 2560, "long (simulating)")
    bar(1, 500)
    assert bar.bar is first and (first.length, first.pos, first.label) == (500, 1, "long")
    bar.close()
