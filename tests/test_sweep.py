"""Sweeps: one entry, one run per value (or per grid point), coloured along a map; legends that always fit."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.colors import to_rgb

import optviz
from optviz.commands.cli import main
from optviz.commands.tune import tune_file
from optviz.draw import figure
from optviz.draw.frames import MANY_RUNS, Animator
from optviz.errors import SceneError
from optviz.scenes.load import load, scene_from_data
from optviz.simulate import simulate


def sweep_scene(sweep, name="sgd", **entry):
    return optviz.scene(function="parabola", start=[-4.5, 4.0], steps=20,
                        optimizers=[{"name": name, "label": "S", "sweep": sweep, **entry}])


def problems(data):
    with pytest.raises(SceneError) as info:
        scene_from_data(data)
    return str(info.value)


def test_logspace_linspace_and_lists_make_one_run_each():
    runs = sweep_scene({"lr": {"logspace": [0.01, 1.0, 5]}}).runs
    assert [r.lr for r in runs] == pytest.approx([0.01, 10**-1.5, 0.1, 10**-0.5, 1.0])
    assert runs[0].lr == 0.01 and runs[-1].lr == 1.0                     # the ends exactly as written
    assert [r.label for r in runs][0] == "S lr=0.01" and all(r.sweep == "S" for r in runs)
    assert [r.lr for r in sweep_scene({"lr": {"linspace": [0.1, 0.3, 3]}}).runs] == pytest.approx([0.1, 0.2, 0.3])
    assert [r.lr for r in sweep_scene({"lr": [0.3, 0.1]}).runs] == [0.3, 0.1]


def test_two_keys_make_a_grid_and_each_run_names_its_values():
    runs = sweep_scene({"lr": [0.01, 0.1], "momentum": [0.5, 0.9]}, name="momentum").runs
    assert [(r.lr, r.hyperparameters["momentum"]) for r in runs] == [(0.01, 0.5), (0.01, 0.9), (0.1, 0.5), (0.1, 0.9)]
    assert runs[1].label == "S lr=0.01 momentum=0.9"
    assert runs[1].swept == (("lr", 0.01), ("momentum", 0.9))


def test_trace_labels_each_run_with_its_values(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("function: parabola\nsteps: 5\noptimizers:\n  - {name: adam, sweep: {lr: [0.1, 0.2]}}\n")
    result = CliRunner().invoke(main, ["trace", str(path)])
    assert result.exit_code == 0, result.output
    runs = json.loads(result.output)["runs"]
    assert [r["label"] for r in runs] == ["Adam lr=0.1", "Adam lr=0.2"]
    assert [r["hyperparameters"]["lr"] for r in runs] == [0.1, 0.2]


@pytest.mark.parametrize("sweep, message", [
    ({"lr": {"logspace": [0, 1, 4]}}, "optimizers[0].sweep.lr.logspace: needs first and last above 0"),
    ({"lr": {"linspace": [0.1, 0.2, 1]}}, "optimizers[0].sweep.lr.linspace[2]: must be at least 2"),
    ({"lr": {"linspace": [-1.0, 0.2, 3]}}, "optimizers[0].sweep.lr.linspace: must be > 0"),
    ({"betas": [[0.9, 0.99]]}, "optimizers[0].sweep.betas: cannot be swept"),
    ({"lrr": [0.1, 0.2]}, "optimizers[0].sweep.lrr: cannot be swept"),
    ({"lr": [0.1, 0.1]}, "optimizers[0].sweep.lr: lists a value twice"),
    ({"lr": {"linspace": [0.1, 0.2, 20]}, "momentum": {"linspace": [0.1, 0.9, 20]}},
     "optimizers[0].sweep: makes 400 runs; the limit is 256"),
    ({"lr": [0.1], "momentum": [0.1], "dampening": [0.1]}, "optimizers[0].sweep: must sweep one or two"),
    ({"momentum": [0.0, 0.9]}, "optimizers[0].sweep: nesterov needs momentum > 0"),
])
def test_bad_sweeps_are_named_precisely(sweep, message):
    name = "nag" if "momentum" in sweep and len(sweep) == 1 else "sgd"
    data = {"function": "beale", "optimizers": [{"name": name, "sweep": sweep}]}
    assert message in problems(data)


def test_a_swept_key_is_given_once_and_a_sweep_has_one_start():
    assert "optimizers[0].lr: is swept" in problems(
        {"function": "beale", "optimizers": [{"name": "sgd", "lr": 0.1, "sweep": {"lr": [0.1, 0.2]}}]})
    assert "give either 'sweep' or 'starts'" in problems(
        {"function": "beale", "optimizers": [{"name": "sgd", "sweep": {"lr": [0.1, 0.2]}, "starts": {"random": 3}}]})


def test_errors_carry_file_and_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("function: beale\noptimizers:\n  - name: sgd\n    sweep:\n      lr: {logspace: [0, 1, 3]}\n")
    with pytest.raises(SceneError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}:5: optimizers[0].sweep.lr.logspace")


def test_a_sweep_is_one_legend_row_with_a_colour_bar_and_colours_along_its_values():
    traj = simulate(sweep_scene({"lr": {"logspace": [0.01, 1.0, 12]}}))
    pic = figure.build(traj)
    assert pic.labels(0) == ["S, lr 0.01..1 (12 runs)"]
    assert len(pic.figure.axes) == 2                                    # the plot and one colour bar
    colours = np.array([to_rgb(c) for c in figure.run_colors(traj)])
    assert len({tuple(c) for c in colours}) == 12
    lightness = colours.mean(axis=1)                                    # viridis brightens along its values
    assert np.all(np.diff(lightness) > 0)


def test_the_legend_never_runs_off_the_picture():
    families = [("sgd", 1e-4), ("momentum", 1e-5), ("rmsprop", 1e-3), ("adam", 3e-3)]
    optimizers = [{"name": name, "label": f"{name} {i}", "lr": lr * (1 + i)} for name, lr in families
                  for i in range(16)]
    scene = optviz.scene(function="rosenbrock", steps=10, optimizers=optimizers)
    pic = figure.build(simulate(scene))
    assert len(pic.labels(0)) == 4 and pic.labels(0)[0] == "SGD x16 (lr=0.0001..0.0016)"
    assert pic.legend.get_window_extent().height <= pic.axes.get_window_extent().height
    assert len({t.color for t in pic.tracks}) == 4                     # a group is one colour, as its row says


def test_a_crowd_of_runs_costs_the_same_draw_calls_per_frame_for_any_number_of_runs(draw_calls):
    def calls(n):
        scene = sweep_scene({"lr": {"logspace": [0.01, 0.9, n]}})
        anim = Animator(figure.build(simulate(scene)))
        frames = anim.frames(range(21))
        next(frames)
        return draw_calls(anim, frames)

    assert calls(MANY_RUNS + 1) == calls(200) <= 2


def test_a_crowd_ends_close_to_its_still():
    anim = Animator(figure.build(simulate(sweep_scene({"lr": {"logspace": [0.01, 0.9, 16]}}))))
    *_, last = anim.frames(range(21))
    differ = np.abs(last.astype(int) - anim.still(20).astype(int)).max(axis=2) > 8
    assert differ.mean() < 0.002          # only where strokes of different runs overlap


def test_tune_refuses_a_sweep(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("function: parabola\nsteps: 5\noptimizers:\n  - {name: adam, sweep: {lr: [0.1, 0.2]}}\n")
    with pytest.raises(SceneError, match="sweep"):
        tune_file(path, write=False)


def test_sweeps_together_are_capped():
    entries = [{"name": "sgd", "label": f"S{i}", "sweep": {"lr": {"logspace": [0.01, 0.1, 100]}}} for i in range(3)]
    assert "optimizers: make 300 runs besides swarms; the limit is 256" in problems(
        {"function": "beale", "optimizers": entries})
