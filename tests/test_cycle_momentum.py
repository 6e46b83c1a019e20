"""OneCycleLR and CyclicLR cycle momentum (or beta1) on the built-in optimizers exactly as torch's schedulers do:
a scene written with torch's defaults gives torch's numbers."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import optviz
from optviz.errors import SceneError
from optviz.maths.optimizers import OPTIMIZERS

CYCLED = [name for name, spec in OPTIMIZERS.items() if spec.cycled]
SCHEDULES = [{"name": "OneCycleLR", "max_lr": 0.05},
             {"name": "CyclicLR", "max_lr": 0.05, "step_size_up": 7, "mode": "triangular2", "base_momentum": 0.5}]


def torch_run(torch, spec, hp, lr, schedule, start, steps, objective):
    cls = getattr(torch.optim, spec.torch_class.rsplit(".", 1)[1])
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = cls([p], foreach=False, **spec.torch_kwargs(hp | {"lr": lr}))
    kwargs = {k: v for k, v in schedule.items() if k != "name"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = getattr(torch.optim.lr_scheduler, schedule["name"])(opt, **kwargs)
        points = [np.array(start)]
        for _ in range(steps):
            p.grad = torch.from_numpy(objective.gradient(p.detach().numpy()))
            opt.step()
            sched.step()
            points.append(p.detach().numpy().copy())
    return np.array(points)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s["name"])
@pytest.mark.parametrize("name", CYCLED)
def test_builtin_cycles_momentum_like_torch(name, schedule):
    torch = pytest.importorskip("torch")
    scene = optviz.scene(function="booth", start=[-8, 8], steps=60,
                         optimizers=[{"name": name, "lr": 0.01, "schedule": schedule}])
    run = optviz.simulate(scene).runs[0]
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        want = torch_run(torch, OPTIMIZERS[name], run.spec.hyperparameters, run.spec.lr, run.spec.schedule,
                         run.spec.start, run.spec.steps, scene.function)
    finally:
        torch.set_default_dtype(dtype)
    np.testing.assert_allclose(run.points, want, rtol=1e-12, atol=1e-12)


def test_cycling_changes_the_path_and_can_be_turned_off():
    def final(schedule):
        scene = optviz.scene(function="booth", start=[-8, 8], steps=60,
                             optimizers=[{"name": "sgd", "lr": 0.01, "schedule": schedule}])
        return optviz.simulate(scene).runs[0].points[-1]

    cycled, plain = final({"name": "OneCycleLR", "max_lr": 0.05}), final(
        {"name": "OneCycleLR", "max_lr": 0.05, "cycle_momentum": False})
    assert not np.allclose(cycled, plain)     # plain SGD gains momentum 0.85..0.95, as under torch


@pytest.mark.parametrize("name", [n for n, s in OPTIMIZERS.items() if not s.cycled])
def test_optimizers_without_momentum_refuse_cycling_like_torch(name):
    with pytest.raises(SceneError) as info:
        optviz.scene(function="booth", steps=20,
                     optimizers=[{"name": name, "lr": 0.1, "schedule": {"name": "CyclicLR", "max_lr": 0.2}}])
    assert info.value.path == "optimizers[0].schedule.cycle_momentum"
    assert "neither momentum nor betas" in info.value.message and "cycle_momentum: false" in info.value.message
    optviz.scene(function="booth", steps=20, optimizers=[
        {"name": name, "lr": 0.1, "schedule": {"name": "CyclicLR", "max_lr": 0.2, "cycle_momentum": False}}])


def test_per_run_momentum_arrays():
    """update(..., momentum=m) and beta1=b take one value per run, as (runs, 1) arrays."""
    for name, key in (("sgd", "momentum"), ("rmsprop", "momentum"), ("adam", "beta1"), ("nadam", "beta1")):
        opt, _ = optviz.maths.optimizers.make_optimizer(name)
        params = np.array([[1.0, 2.0], [-1.0, 0.5]])
        g = np.array([[0.3, -0.2], [0.1, 0.4]])
        values = np.array([[0.5], [0.9]])
        both, _ = opt.update(g, opt.init(params), params, 0.1, **{key: values})
        for r in range(2):
            one, _ = opt.update(g[r:r + 1], opt.init(params[r:r + 1]), params[r:r + 1], 0.1, **{key: values[r, 0]})
            np.testing.assert_array_equal(both[r], one[0])


def test_a_batch_mixing_cycled_and_plain_entries_runs_each_as_alone():
    """Entries sharing an optimizer advance as one batch; one cycling momentum must not touch the others."""
    entries = [{"name": "sgd", "lr": 0.01, "schedule": {"name": "OneCycleLR", "max_lr": 0.05}},
               {"name": "momentum", "lr": 0.005},
               {"name": "nag", "lr": 0.01, "schedule": {"name": "CyclicLR", "max_lr": 0.03, "step_size_up": 5}},
               {"name": "adam", "lr": 0.1, "betas": [0.5, 0.9]},
               {"name": "amsgrad", "lr": 0.1, "schedule": {"name": "OneCycleLR", "max_lr": 0.2}}]
    together = optviz.simulate(optviz.scene(function="booth", start=[-8, 8], steps=50, optimizers=entries))
    for run, entry in zip(together.runs, entries):
        alone = optviz.simulate(optviz.scene(function="booth", start=[-8, 8], steps=50, optimizers=[entry]))
        np.testing.assert_array_equal(run.points, alone.runs[0].points)
