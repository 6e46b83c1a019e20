"""Scene validation: good scenes load with defaults filled in; every kind of bad input is named precisely."""
from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from optviz.errors import SceneError
from optviz.errors import SceneErrors
from optviz.scenes.load import load, scene_from_data
from optviz.maths.optimizers import OPTIMIZERS

GOOD = """\
title: Adam on Beale's function      # optional
function: beale                       # or {name: rosenbrock, a: 1, b: 100}
start: [2.0, 1.7]                     # default start for every optimizer
steps: 150
xlim: [-5.5, 5.5]
ylim: [-5.5, 5.5]
optimizers:
  - {name: sgd, label: SGD, lr: 0.003}
  - {name: sgd, label: SGD-NAG, lr: 0.0015, momentum: 0.9, nesterov: true}
  - {name: adam, label: Adam, lr: 0.7, betas: [0.9, 0.999]}
output: outputs/adam-beale.gif        # optional
"""


def write(tmp_path, text, name="scene.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(data):
    with pytest.raises(SceneError) as info:
        scene_from_data(data)
    return str(info.value)


def base(**changes):
    data = yaml.safe_load(GOOD)
    data.update(changes)
    return data


def test_issue_example_loads_with_defaults_filled(tmp_path):
    scene = load(write(tmp_path, GOOD, "adam-beale.yaml"))
    assert scene.name == "adam-beale"
    assert scene.function.name == "beale"
    assert [r.label for r in scene.runs] == ["SGD", "SGD-NAG", "Adam"]
    adam = scene.runs[2].hyperparameters
    assert scene.runs[2].lr == 0.7 and tuple(adam["betas"]) == (0.9, 0.999)
    assert adam["eps"] == OPTIMIZERS["adam"].defaults()["eps"]
    assert scene.runs[1].hyperparameters["dampening"] == 0
    assert all(r.start == (2.0, 1.7) and r.steps == 150 for r in scene.runs)
    assert scene.output == "outputs/adam-beale.gif"


def test_entry_overrides_start_and_steps_and_function_mapping():
    scene = scene_from_data(base(function={"name": "rosenbrock", "a": 2, "b": 50},
                                 optimizers=[{"name": "adam", "lr": 0.1, "start": [0, 0], "steps": 7},
                                             {"name": "nag"}]))
    assert scene.function.minima[0] == pytest.approx((2.0, 4.0))
    assert scene.runs[0].start == (0.0, 0.0) and scene.runs[0].steps == 7
    assert scene.runs[1].label == "SGD-NAG" and scene.runs[1].hyperparameters["nesterov"] is True


def test_scientific_notation_without_dot_is_a_number(tmp_path):
    scene = load(write(tmp_path, GOOD.replace("lr: 0.003", "lr: 3e-3")))
    assert scene.runs[0].lr == pytest.approx(0.003)


def test_defaults_from_function_when_view_and_start_omitted():
    scene = scene_from_data({"function": "himmelblau", "optimizers": ["adam"]})
    assert scene.xlim == scene.function.xlim and scene.runs[0].start == scene.function.start
    assert scene.runs[0].steps == 100


@pytest.mark.parametrize("data, expected", [
    (base(functon="beale"), "unknown key 'functon' at the top level; did you mean 'function'?"),
    (base(function="beal"), "function: unknown function 'beal'; did you mean 'beale'?"),
    (base(function={"name": "rosenbrock", "c": 3}), "function.c: unknown key 'c'"),
    (base(optimizers=[{"name": "adamm", "lr": 1}]), "optimizers[0].name: unknown optimizer 'adamm'; did you mean 'adam'?"),
    (base(optimizers=[{"name": "adam", "lr": 1, "beta": [0.9, 0.99]}]), "optimizers[0].beta: unknown key 'beta' in optimizers[0]; did you mean 'betas'?"),
    (base(optimizers=[{"name": "adam", "lr": 0}]), "optimizers[0].lr"),
    (base(optimizers=[{"name": "adam", "lr": -1}]), "optimizers[0].lr"),
    (base(optimizers=[{"name": "adam", "lr": "fast"}]), "optimizers[0].lr: must be a number, got 'fast' (a string)"),
    (base(optimizers=[{"name": "sgd"}, {"name": "adam", "betas": [0.9, 1.0]}]), "optimizers[1].betas[1]"),
    (base(optimizers=[{"name": "adam", "betas": [-0.1, 0.9]}]), "optimizers[0].betas[0]"),
    (base(optimizers=[{"name": "adam", "betas": [0.9]}]), "optimizers[0].betas: must be a list of two numbers"),
    (base(optimizers=[{"name": "sgd", "nesterov": True}]), "optimizers[0].nesterov"),
    (base(optimizers=[{"name": "sgd", "momentum": 0.9, "dampening": 0.5, "nesterov": True}]), "optimizers[0].nesterov"),
    (base(optimizers=[{"name": "sgd", "nesterov": "yes"}]), "optimizers[0].nesterov: must be true or false"),
    (base(optimizers=[{"name": "adam", "lr": math.nan}]), "optimizers[0].lr: must be a finite number"),
    (base(optimizers=[{"name": "adam", "lr": math.inf}]), "optimizers[0].lr: must be a finite number"),
    (base(start=[math.nan, 1]), "start[0]: must be a finite number"),
    (base(xlim=[1, math.inf]), "xlim[1]: must be a finite number"),
    (base(xlim=[2, 1]), "xlim: must be increasing"),
    (base(steps=0), "steps: must be at least 1"),
    (base(steps=-5), "steps: must be at least 1"),
    (base(steps=10**9), "steps: must be at most"),
    (base(steps=1.5), "steps: must be a whole number"),
    (base(start=[1]), "start: must be a list of two numbers"),
    (base(start="origin"), "start: must be a list of two numbers"),
    (base(start=[1, "a"]), "start[1]: must be a number"),
    (base(optimizers=[]), "optimizers: must be a non-empty list"),
    (base(optimizers={"name": "adam"}), "optimizers: must be a non-empty list"),
    (base(optimizers=[42]), "optimizers[0]: must be a mapping"),
    (base(optimizers=[{"lr": 1}]), "optimizers[0]: missing required key 'name'"),
    (base(optimizers=[{"name": "sgd"}, {"name": "sgd"}]), "optimizers[1].label: label 'SGD' is already used"),
    (base(optimizers=[{"name": "sgd", "color": "blurple"}]), "optimizers[0].color: is not a colour"),
    (base(size=[10, 10]), "size[0]: must be at least 64"),
    (base(style="viridiss"), "style: unknown style 'viridiss'; did you mean 'viridis'?"),
    (base(panels=["loss", "3d"]), "panels[1]: unknown value '3d'"),
    (base(output="x.jpg"), "output: must end in .gif, .mp4, .png, .html, .svg or .pdf"),   # vector formats: #11
    (base(levels={"logspace": [5, 0, 10]}), "levels.logspace: start must be below stop"),
    (base(levels=[3, 2, 1]), "levels: must be strictly increasing"),
    (base(fps=0), "fps: must be in (0, 100]"),
    ({"optimizers": ["adam"]}, "function: missing required key 'function'"),
    ({"function": "beale"}, "optimizers: missing required key 'optimizers'"),
    ([1, 2, 3], "a scene must be a YAML mapping"),
    (base(function={"name": "parabola", "a": -1}), "function.a"),
    (base(function={"name": "bumpy", "center": [4]}), "function.center: must be a list of two numbers"),
])
def test_bad_values_are_named_by_key_path(data, expected):
    assert expected in problems(data)


def test_every_problem_is_reported_at_once():
    with pytest.raises(SceneErrors) as info:
        scene_from_data(base(steps=0, xlim=[2, 1], optimizers=[{"name": "adam", "lr": 0}, {"name": "sgdd"}]))
    paths = {e.path for e in info.value.problems}
    assert {"steps", "xlim", "optimizers[0].lr", "optimizers[1].name"} <= paths
    assert len(str(info.value).splitlines()) == len(info.value.problems)


def test_messages_carry_file_and_line(tmp_path):
    text = GOOD.replace("betas: [0.9, 0.999]", "betas: [0.9, 1.5]")
    path = write(tmp_path, text)
    with pytest.raises(SceneError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}:10: optimizers[2].betas[1]:")


@pytest.mark.parametrize("content, expected", [
    (b"", "the file is empty"),
    (b"   \n# only a comment\n", "the file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a text file"),
    (b"\xff\xfe\xfa garbage", "not UTF-8"),
    (b"function: [beale\n", "invalid YAML"),
    (b"- 1\n- 2\n", "a scene must be a YAML mapping"),
    (b"just a string\n", "a scene must be a YAML mapping"),
    (b"function: beale\nfunction: adam\noptimizers: [adam]\n", "duplicate key 'function'"),
    (b"!!python/object/apply:os.system ['touch pwned']\n", "not allowed"),
    (b"function: !!python/object/apply:os.system ['touch pwned']\noptimizers: [adam]\n", "not allowed"),
])
def test_bad_files(tmp_path, monkeypatch, content, expected):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(SceneError) as info:
        load(path)
    assert expected in str(info.value)
    assert not (tmp_path / "pwned").exists()


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(SceneError, match="no such file"):
        load(tmp_path / "nope.yaml")
    with pytest.raises(SceneError, match="is a directory"):
        load(tmp_path)


def test_alias_bomb_is_refused_quickly(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(SceneError, match="too large"):
        load(path)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["adam", "sgd", "beale", "rosenbrock", "nag"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
keys = st.sampled_from(["function", "optimizers", "start", "steps", "xlim", "ylim", "title", "levels", "style",
                        "size", "fps", "frames", "pause", "panels", "palette", "legend", "output", "name", "lr"])
entry = st.dictionaries(st.sampled_from(["name", "lr", "betas", "momentum", "nesterov", "label", "start",
                                         "steps", "color", "eps", "alpha", "centered", "rho"]), values, max_size=5)
scenes = st.one_of(values, st.dictionaries(keys, values, max_size=8),
                   st.fixed_dictionaries({"function": st.one_of(values, st.just("beale")),
                                          "optimizers": st.lists(st.one_of(entry, values), max_size=3)},
                                         optional={"steps": values, "start": values, "levels": values}))


@settings(max_examples=300, deadline=None)
@given(scenes)
def test_random_scene_mappings_never_raise_anything_but_scene_errors(data):
    try:
        scene_from_data(data)
    except SceneError as exc:
        assert str(exc)


# --- forgiving names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("written, name", [
    ("SGD", "sgd"), ("AdamW", "adamw"), ("RMSprop", "rmsprop"), ("Adagrad", "adagrad"), ("Adadelta", "adadelta"),
    ("Adamax", "adamax"), ("NAdam", "nadam"), ("RAdam", "radam"), ("ADAM", "adam"), ("RMSProp", "rmsprop"),
    ("SGD-NAG", "nag"), ("sgd-momentum", "momentum"), ("AMSGrad", "amsgrad"),
])
def test_torch_class_names_and_case_variants_resolve(written, name):
    scene = scene_from_data(base(optimizers=[{"name": written, "lr": 0.01}]))
    assert scene.runs[0].optimizer == name
    assert scene.runs[0].label == OPTIMIZERS[name].label


def test_every_torch_class_of_the_registry_is_a_name_a_scene_may_use():
    for name, spec in OPTIMIZERS.items():
        if spec.base is None and spec.torch_class.startswith("torch.optim."):
            written = spec.torch_class.rsplit(".", 1)[-1]
            assert scene_from_data(base(optimizers=[written])).runs[0].optimizer == name


@pytest.mark.parametrize("data, expected", [
    (base(optimizers=[{"name": "adma"}]), "unknown optimizer 'adma'; did you mean 'adam'?"),
    (base(optimizers=[{"name": "rmsporp"}]), "unknown optimizer 'rmsporp'; did you mean 'rmsprop'?"),
    (base(optimizers=[{"name": "adam", "learning_rate": 0.1}]),
     "optimizers[0].learning_rate: unknown key 'learning_rate' in optimizers[0]; use 'lr'"),
    (base(optimizers=[{"name": "adam", "beta1": 0.9}]), "optimizers[0].beta1: unknown key 'beta1' in optimizers[0]; "
                                                         "use 'betas: [beta1, beta2]'"),
    (base(optimizers=[{"name": "adamw", "beta2": 0.99}]), "use 'betas: [beta1, beta2]'"),
    (base(optimizers=[{"name": "adam", "momentum": 0.9}]),
     "optimizers[0].momentum: unknown key 'momentum' in optimizers[0]; Adam's momentum is betas[0] "
     "(betas: [0.9, 0.999] by default)"),
    (base(lr=0.1), "lr: unknown key 'lr' at the top level; a learning rate belongs to each optimizer entry"),
])
def test_foreign_names_get_pointed_hints(data, expected):
    assert expected in problems(data)


def test_momentum_is_still_a_key_where_torch_has_it():
    scene = scene_from_data(base(optimizers=[{"name": "rmsprop", "momentum": 0.5}]))
    assert scene.runs[0].hyperparameters["momentum"] == 0.5


def test_entries_that_differ_only_in_hyperparameters_get_distinct_labels():
    scene = scene_from_data(base(optimizers=[{"name": "adam", "lr": 0.01}, {"name": "adam", "lr": 0.1},
                                             {"name": "sgd", "label": "plain"}, {"name": "Adam", "lr": 0.1,
                                                                                 "betas": [0.8, 0.999]}]))
    assert [r.label for r in scene.runs] == ["Adam (lr=0.01, betas=[0.9, 0.999])",
                                             "Adam (lr=0.1, betas=[0.9, 0.999])", "plain",
                                             "Adam (lr=0.1, betas=[0.8, 0.999])"]
    two = scene_from_data(base(optimizers=[{"name": "adam", "lr": 0.01}, {"name": "adam", "lr": 0.1}]))
    assert [r.label for r in two.runs] == ["Adam (lr=0.01)", "Adam (lr=0.1)"]


def test_a_given_label_is_kept_and_still_must_be_unique():
    assert "label 'Adam (lr=0.1)' is already used" in problems(base(optimizers=[
        {"name": "adam", "lr": 0.1, "label": "Adam (lr=0.1)"}, {"name": "adam", "lr": 0.1, "label": "Adam (lr=0.1)"}]))
