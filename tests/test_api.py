"""The Python API a notebook uses: load, Scene, simulate, render, inline display."""
from __future__ import annotations

import base64
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import optviz
from optviz.commands.cli import main

ROOT = Path(__file__).resolve().parents[1]


def small_scene(**extra):
    return optviz.scene(function="beale", start=[2, 1.7], steps=12, size=[160, 120],
                        optimizers=[{"name": "sgd", "lr": 0.003}, {"name": "adam", "lr": 0.7}], **extra)


def test_public_names_are_the_documented_flow():
    assert set(optviz.__all__) >= {"load", "Scene", "simulate", "render", "SceneError", "make_function"}
    for name in optviz.__all__:
        assert getattr(optviz, name) is not None


def test_scene_in_code_equals_scene_from_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("function: beale\nstart: [2, 1.7]\nsteps: 12\nsize: [160, 120]\n"
                    "optimizers: [{name: sgd, lr: 0.003}, {name: adam, lr: 0.7}]\n")
    from_file = optviz.simulate(optviz.load(path))
    in_code = optviz.simulate(small_scene())
    for a, b in zip(from_file.runs, in_code.runs):
        np.testing.assert_array_equal(a.points, b.points)
        assert a.spec.hyperparameters == b.spec.hyperparameters


def test_scene_in_code_reports_problems_like_the_cli():
    with pytest.raises(optviz.SceneError, match=r"optimizers\[0\].lr: must be > 0"):
        optviz.scene(function="beale", optimizers=[{"name": "adam", "lr": 0}])


def test_scene_accepts_an_objective_built_in_code():
    f = optviz.make_function("rosenbrock", a=2, b=50)
    traj = optviz.simulate(optviz.scene(function=f, steps=5, optimizers=["adam"]))
    assert traj.scene.function is f and len(traj.runs[0].points) == 6


def test_render_returns_an_animation_that_displays_inline(tmp_path):
    anim = optviz.render(small_scene(), tmp_path / "a.gif")
    assert isinstance(anim, optviz.Animation) and anim.path.exists()
    html = anim._repr_html_()
    assert html.startswith('<img src="data:image/gif;base64,')
    assert base64.b64decode(html.split(",", 1)[1].split('"')[0]) == anim.path.read_bytes()
    assert anim._repr_png_() is None
    png = optviz.render(small_scene(), tmp_path / "a.png")
    assert png._repr_png_() == png.path.read_bytes() and png.path.read_bytes()[:4] == b"\x89PNG"


def test_render_accepts_trajectories(tmp_path):
    traj = optviz.simulate(small_scene())
    assert optviz.render(traj, tmp_path / "b.gif").path.stat().st_size > 0


def test_to_dataframe_needs_pandas_or_gives_rows():
    traj = optviz.simulate(small_scene())
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install pandas"):
            traj.to_dataframe()
    else:
        df = traj.to_dataframe()
        assert len(df) == 26 and list(df.columns) == ["label", "optimizer", "step", "x", "y", "loss"]


def test_tune_warns_when_the_tuned_scene_would_overwrite_the_original(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "configs/blog/adam-beale.yaml", tmp_path / "adam-beale.yaml")
    result = CliRunner().invoke(main, ["tune", "adam-beale.yaml", "--objective", "initial-speed"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "adam-beale.tuned.yaml").exists()
    assert "renders to the same file as the original" in result.output
