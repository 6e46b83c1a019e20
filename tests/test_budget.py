"""The work budget: a scene's cost (points, pixels, frames; tuning's candidates) is estimated and checked before
any work, with a message giving the estimate and the key to change; real scenes pass, --no-limits lifts it."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import optviz
from optviz.commands.cli import main
from optviz.errors import SceneError

ROOT = Path(__file__).resolve().parents[1]
SIXTY_FOUR = [{"name": "sgd", "label": f"run {i}", "lr": 1e-4 * (i + 1)} for i in range(64)]
ISSUE = ("function: beale\nsteps: 100000\nstarts: {random: 2000, seed: 0}\noptimizers:\n"
         + "".join(f"  - {{name: sgd, label: r{i}, lr: 0.001}}\n" for i in range(64)))


def budget_module():
    return sys.modules["optviz.scenes.budget"]


@pytest.mark.parametrize("command", [["validate"], ["render", "-q"], ["trace"], ["tune"]])
def test_a_scene_that_would_need_200_gb_is_refused_before_any_work(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bomb.yaml"
    path.write_text(ISSUE)
    result = CliRunner().invoke(main, [command[0], str(path), *command[1:]])
    assert result.exit_code == 2, result.output
    assert (f"error: {path}:3: starts: the scene simulates 128,000 runs, 12.8 billion points in all (about 512 GB); "
            "the limit is 5 million: lower steps, starts or the number of optimizers, or lift the limit with "
            "--no-limits (limits=False in Python)") in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["bomb.yaml"]


def test_picture_limits_name_scale_or_frames():
    with pytest.raises(SceneError) as frame:
        optviz.scene(function="beale", optimizers=["adam"], steps=2, size=[4096, 2048], scale=4)
    assert str(frame.value).startswith("scale: a frame would be 16384 x 8192 = 134 million pixels (about 7.38 GB "
                                       "to draw); the limit is 67.1 million: lower size or scale")
    with pytest.raises(SceneError) as animation:
        optviz.scene(function="beale", optimizers=["adam"], steps=499, size=[4096, 4096], scale=1.5)
    assert str(animation.value).startswith("frames: the animation would be 500 frames of 6144 x 6144 pixels, "
                                           "18.9 billion pixel-frames; the limit is 10 billion")


def test_real_scenes_and_the_scale_targets_fit(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(ROOT / "configs")])
    assert result.exit_code == 0, result.output
    for extra in ({"steps": 10_000, "optimizers": SIXTY_FOUR},
                  {"steps": 100, "starts": {"random": 2000, "seed": 0}, "optimizers": ["adam"]},
                  {"steps": 2000, "frames": 500, "optimizers": SIXTY_FOUR},
                  {"steps": 499, "scale": 2, "optimizers": ["adam"]},
                  {"steps": 100, "size": [4096, 4096], "scale": 2, "optimizers": ["adam"]}):
        optviz.scene(function="beale", **extra)
    with pytest.raises(SceneError, match="^steps: the scene simulates 64 runs, 6.4 million points"):
        optviz.scene(function="beale", steps=100_000, optimizers=SIXTY_FOUR)
    assert len(optviz.scene(function="beale", steps=100_000, optimizers=SIXTY_FOUR, limits=False).runs) == 64


def test_no_limits_reaches_every_command(tmp_path, monkeypatch):
    monkeypatch.setattr(budget_module(), "MAX_POINTS", 10)     # a tiny budget: the small scene exceeds it
    monkeypatch.setattr(budget_module(), "MAX_TUNE_POINTS", 10)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "s.yaml"
    path.write_text("function: beale\nsteps: 20\nsize: [128, 96]\noptimizers: [adam, sgd]\n")
    runner = CliRunner()
    for args in (["validate", path], ["render", path, "-o", "a.gif"], ["trace", path], ["tune", path],
                 ["gallery", tmp_path, "-o", "g"]):
        refused = runner.invoke(main, [str(a) for a in args])
        assert refused.exit_code == 2 and "--no-limits" in refused.output, (args, refused.output)
        allowed = runner.invoke(main, [str(a) for a in args] + ["--no-limits"])
        assert allowed.exit_code == 0, (args, allowed.output)
    assert (tmp_path / "a.gif").exists() and (tmp_path / "g" / "index.html").exists()
    with pytest.raises(SceneError, match="points"):
        optviz.load(path)
    assert optviz.render(optviz.load(path, limits=False), tmp_path / "b.gif").path.exists()


def test_tuning_counts_its_candidates(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text("function: rosenbrock\nsteps: 100000\noptimizers: [adam]\n")
    result = CliRunner().invoke(main, ["tune", str(path)])
    assert result.exit_code == 2
    assert (f"error: {path}: steps: tuning tries about 265 learning rates per optimizer (final-loss): 26.5 million "
            "simulated points in all; the limit is 10 million") in result.output
    assert not (tmp_path / "long.tuned.yaml").exists()
    assert CliRunner().invoke(main, ["validate", str(path)]).exit_code == 0   # rendering it is within budget


def test_a_scale_override_is_held_to_the_budget(tmp_path):
    path = tmp_path / "square.yaml"
    path.write_text("function: beale\nsteps: 200\nsize: [2048, 2048]\noptimizers: [adam]\n")
    result = CliRunner().invoke(main, ["render", str(path), "--scale", "4", "-o", str(tmp_path / "big.gif")])
    assert result.exit_code == 2
    assert (f"error: {path}: --scale: the animation would be 201 frames of 8192 x 8192 pixels, 13.5 billion "
            "pixel-frames; the limit is 10 billion") in result.output
    assert list(tmp_path.iterdir()) == [path]
