"""The torch bridge: any torch.optim.Optimizer subclass in a scene, on optviz's own gradients.

Checked here: bridged torch.optim classes equal the built-ins (the reference), swarms stay independent, closures
(LBFGS) and Hessian-vector products (AdaHessian, Sophia-H) work, keywords are checked against the signature, names
that are not optimizers are refused with nothing run, plugins, listings, tune, the gallery, and missing torch.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import optviz
from optviz.commands.cli import main
from optviz.commands.gallery import build_gallery
from optviz.commands.tune import tune_file
from optviz.errors import MissingDependency, SceneError
from optviz.maths.optimizers import OPTIMIZERS

torch = pytest.importorskip("torch", reason="the bridge needs torch (CI installs it)")

from optviz.maths.torch_bridge import names  # noqa: E402
from optviz.maths.torch_bridge.stepper import Stepper, for_objective  # noqa: E402

#: every built-in that is a torch.optim class, with hyperparameters off their defaults too (eps_inside_sqrt has
#: no torch equivalent)
BUILTINS = [(name, {}) for name, spec in OPTIMIZERS.items() if spec.torch_class.startswith("torch.optim.")] + [
    ("sgd", {"momentum": 0.5, "dampening": 0.3, "weight_decay": 0.01}),
    ("nag", {"maximize": False, "weight_decay": 0.1}),
    ("rmsprop", {"centered": True, "momentum": 0.9, "alpha": 0.9}),
    ("adam", {"amsgrad": True, "weight_decay": 0.1, "betas": [0.8, 0.99]}),
    ("adamw", {"weight_decay": 0.3}),
    ("nadam", {"decoupled_weight_decay": True, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("radam", {"decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.5}),
    ("adadelta", {"rho": 0.5}),
    ("adamax", {"betas": [0.5, 0.9]}),
]
LR = {"adadelta": 1.0, "adagrad": 1.0, "rmsprop": 0.02, "sgd": 0.02, "momentum": 0.01, "nag": 0.01}
STARTS = [[-8.0, 8.0], [6.0, -3.0], [2.5, 9.0]]


def scene(optimizers, **extra):
    return optviz.scene(**{"function": "booth", "steps": 120, "starts": STARTS, **extra, "optimizers": optimizers})


def points(traj):
    return np.stack([run.points for run in traj.runs])


# --- built-ins stay the reference ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,hp", BUILTINS, ids=[f"{n}{h or ''}" for n, h in BUILTINS])
def test_bridged_torch_class_equals_the_builtin(name, hp):
    """Booth's quadratic bowl is not chaotic, so torch's sqrt (one ulp low now and then) cannot grow: 1e-12."""
    spec = OPTIMIZERS[name]
    lr = LR.get(name, 0.05)
    builtin = optviz.simulate(scene([{"name": name, "lr": lr, **hp}]))
    torch_kwargs = spec.torch_kwargs({**spec.defaults(), **hp, "lr": lr})
    bridged = optviz.simulate(scene([{"name": spec.torch_class, "label": "bridged", **torch_kwargs}]))
    np.testing.assert_allclose(points(bridged), points(builtin), rtol=1e-12, atol=1e-12)
    assert bridged.runs[0].spec.label == "bridged #1"


@pytest.mark.parametrize("schedule", [{"name": "OneCycleLR", "max_lr": 0.05}, {"name": "StepLR", "step_size": 20},
                                      {"name": "CyclicLR", "max_lr": 0.04, "step_size_up": 9, "mode": "triangular2"}],
                         ids=lambda s: s["name"])
@pytest.mark.parametrize("name", ["sgd", "nag", "rmsprop", "adam", "nadam"])
def test_schedules_and_noise_run_the_same_through_torch(name, schedule):
    """torch's own lr_scheduler (momentum cycling included) on the bridged class, optviz's schedules on the
    built-in, the same seeded gradient noise: the same paths."""
    spec = OPTIMIZERS[name]
    noise = {"std": 0.5, "seed": 3}
    builtin = optviz.simulate(scene([{"name": name, "lr": 0.01, "schedule": schedule}], noise=noise))
    kwargs = spec.torch_kwargs({**spec.defaults(), "lr": 0.01})
    bridged = optviz.simulate(scene([{"name": spec.torch_class, **kwargs, "schedule": schedule}], noise=noise))
    np.testing.assert_allclose(points(bridged), points(builtin), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(bridged.runs[0].lrs, builtin.runs[0].lrs)


def test_minibatch_oracle_reaches_torch_too():
    data = {"function": "least_squares", "steps": 60, "minibatch": {"size": 4, "seed": 1}}
    builtin = optviz.simulate(optviz.scene(**data, optimizers=[{"name": "sgd", "lr": 0.1}]))
    bridged = optviz.simulate(optviz.scene(**data, optimizers=[{"name": "torch.optim.SGD", "lr": 0.1}]))
    np.testing.assert_array_equal(points(bridged), points(builtin))


# --- swarms, closures, second order --------------------------------------------------------------------------

@pytest.mark.parametrize("entry", [
    {"name": "torch.optim.Adam", "lr": 0.3},
    {"name": "pytorch_optimizer.Prodigy"},            # its step size d is estimated over a whole parameter group
    {"name": "pytorch_optimizer.Lion", "lr": 0.05},
    {"name": "torch.optim.LBFGS", "lr": 0.5, "max_iter": 5},
], ids=lambda e: e["name"])
def test_each_swarm_run_equals_the_single_run_from_its_start(entry):
    pytest.importorskip("pytorch_optimizer")
    swarm = optviz.simulate(optviz.scene(function="himmelblau", steps=60, starts=STARTS, optimizers=[entry]))
    for run, start in zip(swarm.runs, STARTS):
        single = optviz.simulate(optviz.scene(function="himmelblau", steps=60, start=start, optimizers=[entry]))
        np.testing.assert_array_equal(run.points, single.runs[0].points)


def test_lbfgs_reaches_rosenbrocks_minimum():
    traj = optviz.simulate(optviz.scene(function="rosenbrock", steps=20, optimizers=[
        {"name": "torch.optim.LBFGS", "lr": 1, "line_search_fn": "strong_wolfe", "tolerance_grad": 1e-12,
         "tolerance_change": 1e-20}]))
    run = traj.runs[0]
    np.testing.assert_allclose(run.points[-1], [1.0, 1.0], atol=1e-9)
    assert run.loss[-1] < 1e-18 and run.spec.label == "LBFGS"


def test_closure_sees_optviz_gradients_and_the_torch_loss():
    objective = optviz.make_function("beale")
    seen = []

    def gradient(params):
        seen.append(params.copy())
        return objective.gradient(params.T).T

    stepper = for_objective("torch.optim.LBFGS", {"max_iter": 3}, np.array([[1.0, 1.0], [2.0, 0.2]]), 0.1, objective)
    assert stepper.mode == "closure" and len(stepper.optimizers) == 2   # a line search is per run
    stepper.step(gradient)
    assert all(p.shape == (1, 2) for p in seen) and len(seen) >= 2


@pytest.mark.parametrize("name", ["pytorch_optimizer.AdaHessian", "pytorch_optimizer.SophiaH"])
def test_hessian_vector_products_are_exact(name):
    """On x**2/50 + y**2 the Hessian is diag(0.04, 2); a Hutchinson estimate z*(Hz) with Rademacher z is exactly
    its diagonal, and .grad's value is optviz's gradient to the bit."""
    pytest.importorskip("pytorch_optimizer")
    objective = optviz.make_function("parabola")
    starts = np.array([[4.0, 4.0], [-3.0, 1.0]])
    stepper = for_objective(name, {"hessian_distribution": "rademacher"}, starts, 0.1, objective)
    assert stepper.mode == "graph"
    stepper.step(lambda p: objective.gradient(p.T).T)
    assert not stepper.shared       # Hutchinson samples: one optimizer (and random stream) per run
    for p, start, opt in zip(stepper.params, starts, stepper.optimizers):
        np.testing.assert_array_equal(p.grad.detach().numpy(), objective.gradient(start))
        np.testing.assert_allclose(opt.state[p]["hessian"].numpy(), [0.04, 2.0], rtol=1e-14)


def test_second_order_classes_descend_and_are_reproducible():
    pytest.importorskip("pytorch_optimizer")
    entries = [{"name": "pytorch_optimizer.AdaHessian", "lr": 0.2},
               {"name": "pytorch_optimizer.SophiaH", "lr": 0.5, "p": 1.0}]
    rng_before = torch.get_rng_state()
    first = optviz.simulate(optviz.scene(function="booth", steps=80, optimizers=entries))
    again = optviz.simulate(optviz.scene(function="booth", steps=80, optimizers=entries))
    assert torch.equal(torch.get_rng_state(), rng_before)        # the caller's random stream is left alone
    for a, b in zip(first.runs, again.runs):
        np.testing.assert_array_equal(a.points, b.points)
        assert a.loss[-1] < 0.05 * a.loss[0]


def test_doctests():
    import doctest

    from optviz.maths.torch_bridge import evaluate, stepper

    assert doctest.testmod(stepper).failed == 0 and doctest.testmod(evaluate).failed == 0


def test_stepper_on_a_flat_parameter_vector():
    """The core is not tied to 2-D scenes: any R x D, any gradient function (what networks will use)."""
    starts = np.arange(12.0).reshape(3, 4)
    stepper = Stepper(torch.optim.Adam, {}, starts, lr=np.array([0.1, 0.2, 0.3]),
                      schedule={"name": "StepLR", "step_size": 1, "gamma": 0.5})
    assert stepper.lrs.tolist() == [0.1, 0.2, 0.3]
    out = stepper.step(lambda p: p.copy(), active=np.array([True, False, True]))
    np.testing.assert_allclose(out[0], starts[0] - 0.1 * np.sign(starts[0]) * (starts[0] != 0), atol=1e-7)
    np.testing.assert_array_equal(out[1], starts[1])              # inactive: no gradient, not moved
    assert stepper.lrs.tolist() == [0.05, 0.1, 0.15]
    assert torch.get_default_dtype() == torch.float32           # float64 only while stepping


# --- scenes: labels, keywords, refusals ----------------------------------------------------------------------

def test_legend_shows_the_class_name_and_trace_the_dotted_name(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("function: beale\nsteps: 5\noptimizers:\n  - {name: torch.optim.Adam, lr: 0.1, betas: [0.8, 0.9]}\n")
    result = CliRunner().invoke(main, ["trace", str(path)])
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.output)["runs"]
    assert run["label"] == "Adam" and run["optimizer"] == "torch.optim.Adam"
    assert run["hyperparameters"] == {"lr": 0.1, "betas": [0.8, 0.9]}


def problems(entry, **extra):
    with pytest.raises(SceneError) as info:
        optviz.scene(function="beale", steps=5, optimizers=[entry], **extra)
    return [(p.path, p.message) for p in info.value.problems]


def test_keywords_are_checked_against_the_signature():
    [(key, message)] = problems({"name": "torch.optim.Adam", "betaz": [0.9, 0.9]})
    assert key == "optimizers[0].betaz" and "did you mean 'betas'" in message and "its keywords: lr, betas" in message
    [(key, message)] = problems({"name": "torch.optim.SGD", "lable": "mine"})
    assert key == "optimizers[0].lable" and "did you mean 'label'" in message
    [(key, message)] = problems({"name": "torch.optim.Adam", "lr": "fast"})
    assert key == "optimizers[0].lr" and "must be a number" in message
    [(key, message)] = problems({"name": "torch.optim.Adam", "sweep": {"lr": [0.1, 0.2]}})
    assert key == "optimizers[0].sweep" and "need a built-in optimizer" in message


def test_required_keywords_and_the_class_own_checks():
    pytest.importorskip("pytorch_optimizer")
    [(key, message)] = problems({"name": "pytorch_optimizer.Ranger21", "lr": 0.1})
    assert key == "optimizers[0].num_iterations" and message == "required by pytorch_optimizer.Ranger21"
    [(key, message)] = problems({"name": "torch.optim.Adam", "betas": [1.2, 0.9]})
    assert key == "optimizers[0]"
    assert message == "torch.optim.Adam refused these keywords: ValueError: Invalid beta parameter at index 0: 1.2"


def test_cycling_momentum_needs_momentum_or_betas_like_torch():
    [(key, message)] = problems({"name": "torch.optim.Adagrad", "schedule": {"name": "OneCycleLR", "max_lr": 0.1}})
    assert key == "optimizers[0].schedule.cycle_momentum" and "neither momentum nor betas" in message


@pytest.mark.parametrize("name,says", [
    ("os.system", "'os' is not a torch package"),
    ("subprocess.Popen", "'subprocess' is not a torch package"),
    ("torch.optim._functional.adam", "private names ('_functional') are refused"),
    ("torch.optim.Adam.__init__", "private names ('__init__') are refused"),
    ("torch.nn.Linear", "is the class Linear, not a torch.optim.Optimizer subclass"),
    ("torch.optim.Optimizer", "is the base class itself"),
    ("torch.optim.adam", "is a module, not a torch.optim.Optimizer subclass"),
    ("torch.optim.Adamm", "has no 'Adamm'; did you mean 'Adam'?"),
    ("torch..Adam", "has an empty part"),
    ("pytorch_optimzer.Lion", "did you mean 'pytorch_optimizer'?"),
])
def test_refused_names_run_nothing(name, says, monkeypatch):
    import os as os_module

    calls = []
    monkeypatch.setattr(os_module, "system", lambda *a: calls.append(a))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: calls.append(a))
    [(key, message)] = problems({"name": name})
    assert key == "optimizers[0].name" and says in message and calls == []


def test_a_missing_package_is_a_missing_dependency():
    with pytest.raises(SceneError) as info:
        optviz.scene(function="beale", optimizers=[{"name": "no_such_optimizer_package.Adam"}])
    (problem,) = info.value.problems
    assert isinstance(problem, MissingDependency) and problem.message.startswith("needs no_such_optimizer_package")


# --- plugins --------------------------------------------------------------------------------------------------

PLUGIN = '''
import torch
from pathlib import Path

Path(__file__).with_suffix(".imported").write_text("yes")


class SignSGD(torch.optim.Optimizer):
    """theta -= lr * sign(g)"""

    def __init__(self, params, lr=0.01, flip=False):
        super().__init__(params, dict(lr=lr, flip=flip))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad.sign(), alpha=group["lr"] * (1 if group["flip"] else -1))


class Exploding(SignSGD):
    def step(self, closure=None):
        raise RuntimeError("boom")
'''

PLUGIN_SCENE = """\
function: booth
start: [-8, 8]
steps: 10
optimizers:
  - {name: my_optimizers.SignSGD, lr: 0.5}
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """my_optimizers.py and a scene naming it, in the current folder (where `python -m` would import it from)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "my_optimizers.py").write_text(PLUGIN)
    (tmp_path / "scene.yaml").write_text(PLUGIN_SCENE)
    yield tmp_path
    names._PLUGINS.pop("my_optimizers", None)
    sys.modules.pop("my_optimizers", None)


def test_a_scene_alone_never_imports_a_local_file(plugin):
    """Whether the current folder is on sys.path (python -m, notebooks: here in-process) or not (the optviz
    command: the subprocess)."""
    result = CliRunner().invoke(main, ["validate", "scene.yaml"])
    assert result.exit_code == 2
    assert "'my_optimizers' is a local file" in result.output and "--plugin" in result.output
    command = subprocess.run([sys.executable, "-c", "import sys; from optviz.commands.cli import main; "
                              "sys.path = [p for p in sys.path if p not in ('', '.')]; main()",
                              "render", "scene.yaml", "-o", "x.gif"], capture_output=True, text=True)
    assert command.returncode == 2 and "pass it with --plugin my_optimizers.py" in command.stderr
    assert not (plugin / "my_optimizers.imported").exists() and not (plugin / "x.gif").exists()


def test_a_local_file_shadowing_a_torch_package_is_not_imported(tmp_path):
    (tmp_path / "pytorch_optimizer.py").write_text("open('shadow.imported', 'w').write('yes')\n")
    (tmp_path / "s.yaml").write_text("function: beale\noptimizers: [{name: pytorch_optimizer.Lion}]\n")
    result = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, ''); "
                             "from optviz.commands.cli import main; main()", "validate", "s.yaml"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2 and "'pytorch_optimizer' is a local file" in result.stderr
    assert not (tmp_path / "shadow.imported").exists()


def test_plugin_file_on_the_command_line(plugin):
    result = CliRunner().invoke(main, ["trace", "scene.yaml", "--plugin", "my_optimizers.py"])
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.output)["runs"]
    assert run["label"] == "SignSGD"
    assert run["points"][:3] == [[-8.0, 8.0], [-7.5, 8.5], [-7.0, 9.0]]     # booth's gradient is (-, -) there
    result = CliRunner().invoke(main, ["render", "scene.yaml", "--plugin", "my_optimizers.py", "-o", "s.png", "-q"])
    assert result.exit_code == 0, result.output and (plugin / "s.png").stat().st_size > 0


def test_plugin_in_the_python_api(plugin):
    traj = optviz.simulate(optviz.load("scene.yaml", plugins=["my_optimizers.py"]))
    assert traj.runs[0].points[1].tolist() == [-7.5, 8.5]
    again = optviz.scene(function="booth", start=[-8, 8], steps=3, plugins=["my_optimizers.py"],
                         optimizers=[{"name": "my_optimizers.SignSGD", "flip": True}])
    assert optviz.simulate(again).runs[0].points[1].tolist() == [-8.01, 7.99]


def test_a_failing_plugin_step_is_reported_not_crashed(plugin):
    (plugin / "scene.yaml").write_text(PLUGIN_SCENE.replace("SignSGD", "Exploding"))
    result = CliRunner().invoke(main, ["render", "scene.yaml", "--plugin", "my_optimizers.py", "-o", "x.gif"])
    assert result.exit_code == 2
    assert "my_optimizers.Exploding failed at step 1: RuntimeError: boom" in result.output
    assert not (plugin / "x.gif").exists()


def test_bad_plugins_are_refused(tmp_path):
    broken, empty, shadow = tmp_path / "broken.py", tmp_path / "nothing_here.py", tmp_path / "numpy.py"
    broken.write_text("def (:\n")
    empty.write_text("x = 1\n")
    shadow.write_text(PLUGIN)
    for path, says in ((broken, "cannot import this plugin: SyntaxError"),
                       (empty, "defines no torch.optim.Optimizer subclass"),
                       (shadow, "'numpy' is already the name of another module"),
                       (tmp_path / "missing.py", "a plugin is a Python file")):
        result = CliRunner().invoke(main, ["list", "optimizers", "--module", "torch.optim", "--plugin", str(path)])
        assert result.exit_code == 2 and says in result.output, result.output
    assert "nothing_here" not in sys.modules and "broken" not in sys.modules


# --- listings, tune, gallery ----------------------------------------------------------------------------------

def test_list_a_modules_optimizers():
    pytest.importorskip("pytorch_optimizer")
    result = CliRunner().invoke(main, ["list", "optimizers", "--module", "pytorch_optimizer"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any(line.startswith("pytorch_optimizer.Lion(lr=0.0001, betas=(0.9, 0.99)") for line in lines)
    assert len(lines) > 100 and "0x" not in result.output
    result = CliRunner().invoke(main, ["list", "optimizers", "--module", "os"])
    assert result.exit_code == 2 and "not a torch package" in result.output


def test_tune_searches_a_torch_class_like_the_builtin(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent("""\
        function: rosenbrock
        steps: 100
        optimizers:
          - {name: adam, lr: 0.01}
          - {name: torch.optim.Adam, label: torch, lr: 0.01}
        """))
    result = tune_file(path, write=False)
    builtin, bridged = result.rows
    assert bridged.new_lr == builtin.new_lr and bridged.final_loss == builtin.final_loss


def test_gallery_skips_a_scene_whose_package_is_missing_and_says_so(tmp_path):
    configs, out = tmp_path / "configs", tmp_path / "out"
    configs.mkdir()
    (configs / "plain.yaml").write_text("function: booth\nsteps: 3\noptimizers: [sgd]\n")
    (configs / "exotic.yaml").write_text("title: Exotic\nfunction: booth\nsteps: 3\n"
                                         "optimizers: [{name: no_such_optimizer_package.Fast}]\n")
    result = build_gallery(configs, out)
    assert result.unavailable == [configs / "exotic.yaml"] and result.rendered == [out / "plain.gif"]
    page = (out / "index.html").read_text()
    assert "Exotic" in page and "Not rendered here: needs no_such_optimizer_package" in page
    validate = CliRunner().invoke(main, ["validate", str(configs)])
    assert validate.exit_code == 2 and "needs no_such_optimizer_package" in validate.output


# --- without torch --------------------------------------------------------------------------------------------

NO_TORCH = """
import sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch.") or name == "pytorch_optimizer":
            raise ImportError(f"No module named {name!r} (hidden)")

sys.meta_path.insert(0, NoTorch())
from optviz.commands.cli import main
main(sys.argv[1:])
"""


def run_without_torch(*args):
    return subprocess.run([sys.executable, "-c", NO_TORCH, *args], capture_output=True, text=True)


def test_without_torch_a_dotted_name_says_what_to_install(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("function: beale\noptimizers:\n  - {name: torch.optim.Adam, lr: 0.1}\n  - adam\n")
    result = run_without_torch("render", str(path), "-o", str(tmp_path / "s.gif"))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {path}:3: optimizers[0].name: needs torch: pip install 'optviz[torch]'")
    assert not (tmp_path / "s.gif").exists()
    blog = Path(__file__).resolve().parent.parent / "configs" / "blog"
    assert run_without_torch("validate", str(blog), "-q").returncode == 0      # nothing else changes
    listed = run_without_torch("list", "optimizers")
    assert listed.returncode == 0 and "torch.optim.Adam" in listed.stdout


def test_one_progress_bar_counts_bridged_entries_then_the_built_ins():
    """Each torch entry advances on its own, then the built-ins together: the bar is told each part in turn, as
    equal shares of one total, and never moves back."""
    seen = []
    scene = optviz.scene(function="rosenbrock", steps=600, optimizers=[
        {"name": "torch.optim.Adam", "lr": 0.01}, {"name": "adam", "lr": 0.01, "label": "built-in Adam"},
        {"name": "torch.optim.SGD", "lr": 0.001, "steps": 300}])
    optviz.simulate(scene, progress=lambda done, total: seen.append((done, total)))
    assert {total for _, total in seen} == {1800} and seen[-1] == (1800, 1800)
    done = [d for d, _ in seen]
    assert done == sorted(done) and {600, 1200} <= set(done)      # each part ends where the next begins
