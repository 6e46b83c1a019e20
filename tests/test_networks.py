"""Network scenes: the data, the network against torch, training against torch.optim, the plane against a direct
PCA, the pictures' determinism, and every bad spec refused with its key path before any work."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import optviz
from optviz.api import render_scene
from optviz.commands.cli import main
from optviz.commands.export import to_csv, to_json
from optviz.errors import SceneError
from optviz.maths.optimizers import OPTIMIZERS
from optviz.networks.data import GENERATORS, make_data
from optviz.networks.spec import torch_available

ROOT = Path(__file__).resolve().parents[1]
FIRST_ORDER = [name for name, spec in OPTIMIZERS.items() if not spec.needs_objective]
MOONS = {"network": {"layers": [2, 8, 2], "activation": "tanh"},
         "data": {"name": "moons", "n": 64, "noise": 0.1, "seed": 0}}


@pytest.fixture
def torch():
    """torch in float64 (NAdam keeps a product in the default dtype) on one thread, as optviz runs it."""
    torch = pytest.importorskip("torch")
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    yield torch
    torch.set_default_dtype(dtype)
    torch.set_num_threads(threads)


def net_scene(function=None, **data):
    data.setdefault("steps", 30)
    return optviz.scene(function=function or MOONS, **data)


def all_weights(scene) -> list[np.ndarray]:
    """Every run's weights at every step, straight from the training loop (no plane involved)."""
    from optviz.networks.model import Model, one_thread
    from optviz.networks.train import train
    from optviz.scenes.record import entries
    from optviz.simulate import lr_schedule

    steps = max(spec.steps for spec in scene.runs)
    out = np.full((len(scene.runs), steps + 1, scene.function.network.parameters), np.nan)

    def keep(k, params, live):
        out[live, k] = params[live]

    with one_thread():
        train(Model(scene.function.network), scene.runs,
              [lr_schedule(scene.runs[m[0]]) for m in entries(scene.runs)], keep)
    return [out[r, :spec.steps + 1] for r, spec in enumerate(scene.runs)]


def sequential(torch, net, flat: np.ndarray):
    """The network as plain torch: nn.Sequential of Linear and the activation, weights from ``flat``."""
    modules = []
    activation = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "gelu": torch.nn.GELU}[net.activation]
    for a, b in zip(net.layers[:-1], net.layers[1:]):
        modules += [torch.nn.Linear(a, b, dtype=torch.float64), activation()]
    model = torch.nn.Sequential(*modules[:-1])
    if flat is not None:
        torch.nn.utils.vector_to_parameters(torch.from_numpy(flat.copy()), model.parameters())
    return model


def torch_loss(torch, net, flat: np.ndarray) -> float:
    model = sequential(torch, net, flat)
    with torch.no_grad():
        return float(torch.nn.functional.cross_entropy(model(torch.from_numpy(net.data.x)),
                                                       torch.from_numpy(net.data.y)))


# --- data --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(GENERATORS))
def test_data_sets_are_balanced_seeded_and_two_dimensional(name):
    d = make_data(name, n=101, noise=0.1, seed=3)
    assert d.x.shape == (101, 2) and d.x.dtype == np.float64 and np.all(np.isfinite(d.x))
    assert d.classes == 2 and d.features == 2 and np.bincount(d.y).tolist() == [50, 51]
    np.testing.assert_array_equal(d.x, make_data(name, n=101, noise=0.1, seed=3).x)
    assert not np.allclose(d.x, make_data(name, n=101, noise=0.1, seed=4).x)
    # the two classes are different sets of points
    assert np.linalg.norm(d.x[d.y == 0].mean(0) - d.x[d.y == 1].mean(0)) > 0.05 or name in ("circles", "xor")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_csv_data_skips_a_header_and_counts_features_and_classes(in_tmp, torch):
    rows = ["a,b,c,label"] + [f"{i},{i % 3},{-i},{i % 3}" for i in range(12)]
    (in_tmp / "data").mkdir()
    (in_tmp / "data" / "d.csv").write_text("\n".join(rows) + "\n")
    # relative to the scene file's folder; for a scene built in code, to the current folder
    (in_tmp / "data" / "scene.yaml").write_text("function:\n  network: {layers: [3, 4, 3]}\n  data: {csv: d.csv}\n"
                                                "optimizers: [adam]\nsteps: 5\n")
    data = optviz.load(in_tmp / "data" / "scene.yaml").function.network.data
    assert (data.rows, data.features, data.classes) == (12, 3, 3)
    np.testing.assert_array_equal(data.x[4], [4.0, 1.0, -4.0])
    np.testing.assert_array_equal(data.y[:4], [0, 1, 2, 0])
    in_code = net_scene({"network": {"layers": [3, 4, 3]}, "data": {"csv": "data/d.csv"}}, optimizers=["adam"])
    np.testing.assert_array_equal(in_code.function.network.data.x, data.x)
    assert optviz.simulate(in_code).runs[0].loss[-1] < optviz.simulate(in_code).runs[0].loss[0]


# --- the network against torch -------------------------------------------------------------------------------

@pytest.mark.parametrize("layers", [[2, 8, 2], [2, 16, 16, 3], [4, 5, 6, 7, 2]])
def test_initial_weights_are_torchs_default_init(torch, layers):
    from optviz.networks.model import initial_weights
    from optviz.networks.spec import Network, PlaneSpec

    net = Network(tuple(layers), "tanh", make_data("moons", 8, 0.0, 0), 0, PlaneSpec())
    state = torch.get_rng_state()
    ours = initial_weights(net, [5, 6])
    assert torch.equal(state, torch.get_rng_state())          # the global generator is not touched
    for row, seed in zip(ours, (5, 6)):
        torch.manual_seed(seed)
        expected = torch.nn.utils.parameters_to_vector(sequential(torch, net, None).parameters())
        np.testing.assert_array_equal(row, expected.detach().numpy())


@pytest.mark.parametrize("activation", ["tanh", "relu", "gelu"])
def test_losses_and_gradients_are_torch_autograd_of_the_sequential_network(torch, activation):
    from optviz.networks.model import Model, initial_weights

    s = net_scene({**MOONS, "network": {"layers": [2, 16, 16, 2], "activation": activation}}, optimizers=["sgd"])
    net = s.function.network
    weights = initial_weights(net, [0, 1, 2])
    rows = np.random.default_rng(0).integers(0, 64, (3, 10))
    model = Model(net)
    losses, grads = model.loss_and_grad(weights)
    _, batch_grads = model.loss_and_grad(weights, rows)
    for r in range(3):
        m = sequential(torch, net, weights[r])
        for grad, idx in ((grads[r], slice(None)), (batch_grads[r], rows[r])):
            m.zero_grad()
            loss = torch.nn.functional.cross_entropy(m(torch.from_numpy(net.data.x[idx])),
                                                     torch.from_numpy(net.data.y[idx]))
            loss.backward()
            expected = torch.cat([p.grad.ravel() for p in m.parameters()]).numpy()
            np.testing.assert_allclose(grad, expected, rtol=0, atol=1e-15)
        assert losses[r] == pytest.approx(torch_loss(torch, net, weights[r]), rel=1e-15)
    np.testing.assert_array_equal(model.losses(weights), losses)


def _layered(torch, net, flat):
    """One leaf tensor per layer weight and bias, as nn.Sequential's parameters."""
    return [torch.tensor(flat[sl].reshape(shape), requires_grad=True)
            for layer in net.layout
            for sl, shape in ((layer.weight, (layer.outputs, layer.inputs)), (layer.bias, (layer.outputs,)))]


def _assert_same_steps(torch, net, model, ours, params, opt):
    """``opt`` on the layer tensors ``params``, fed the gradients at our points, lands on our next points bit for
    bit at every step."""
    for k in range(len(ours) - 1):
        _, grad = model.loss_and_grad(ours[k][None])
        for p, layer_grad in zip(params, _layered(torch, net, grad[0])):
            p.grad = layer_grad.detach()
        opt.step()
        np.testing.assert_array_equal(torch.cat([p.detach().ravel() for p in params]).numpy(), ours[k + 1])


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_network_steps_are_torch_optim_steps_of_the_networks_parameters(name, torch, monkeypatch):
    """A built-in optimizer on the flattened weights is torch.optim on the layer tensors: given the same
    gradients the first five steps agree to the bit (torch's sqrt borrowed, as in test_optimizers: MKL's is
    one ulp off on some inputs). And a whole first step, gradient included, equals torch stepping
    nn.Sequential to rounding (the two compute the gradient's sums in different orders)."""
    from optviz.maths.optimizers import adagrad, adam, rmsprop
    from optviz.networks.model import Model

    for family in (rmsprop, adam, adagrad):
        monkeypatch.setattr(family, "sqrt", lambda x: torch.from_numpy(np.ascontiguousarray(x)).sqrt().numpy())
    spec = OPTIMIZERS[name]
    lr = {"sgd": 0.5, "adadelta": 1.0}.get(name, 0.01)
    extra = {"weight_decay": 0.01} if name in ("sgd", "adam", "adamw", "rmsprop") else {}
    s = net_scene(optimizers=[{"name": name, "lr": lr, **extra}], steps=5)
    net, run = s.function.network, s.runs[0]
    ours = all_weights(s)[0]
    model = Model(net)

    params = _layered(torch, net, ours[0])
    cls = getattr(torch.optim, spec.torch_class.rsplit(".", 1)[1])
    opt = cls(params, foreach=False, **spec.torch_kwargs({"lr": run.lr, **run.hyperparameters}))
    _assert_same_steps(torch, net, model, ours, params, opt)

    m = sequential(torch, net, ours[0])
    opt = cls(m.parameters(), foreach=False, **spec.torch_kwargs({"lr": run.lr, **run.hyperparameters}))
    torch.nn.functional.cross_entropy(m(torch.from_numpy(net.data.x)), torch.from_numpy(net.data.y)).backward()
    opt.step()
    theirs = torch.nn.utils.parameters_to_vector(m.parameters()).detach().numpy()
    np.testing.assert_allclose(ours[1], theirs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_a_momentum_cycling_schedule_is_torchs_on_a_network(name, torch, monkeypatch):
    """OneCycleLR cycles SGD's momentum and Adam's beta1 by default (cycle_momentum): on the network's tensors,
    with the same gradients, torch's optimizer and scheduler take the same steps to the bit."""
    from optviz.maths.optimizers import adam
    from optviz.networks.model import Model

    monkeypatch.setattr(adam, "sqrt", lambda x: torch.from_numpy(np.ascontiguousarray(x)).sqrt().numpy())
    schedule = {"name": "OneCycleLR", "max_lr": 0.05, "total_steps": 8}
    s = net_scene(optimizers=[{"name": name, "lr": 0.01, "schedule": schedule}], steps=8)
    net, run = s.function.network, s.runs[0]
    ours = all_weights(s)[0]
    flat = all_weights(net_scene(optimizers=[{"name": name, "lr": 0.01, "schedule": {**schedule,
                                                                                      "cycle_momentum": False}}],
                                 steps=8))[0]
    assert not np.array_equal(ours[-1], flat[-1])          # the cycling matters
    model, spec = Model(net), OPTIMIZERS[name]
    params = _layered(torch, net, ours[0])
    cls = getattr(torch.optim, spec.torch_class.rsplit(".", 1)[1])
    opt = cls(params, foreach=False, **spec.torch_kwargs({"lr": run.lr, **run.hyperparameters}))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=8)
    for k in range(8):
        _, grad = model.loss_and_grad(ours[k][None])
        for p, layer_grad in zip(params, _layered(torch, net, grad[0])):
            p.grad = layer_grad.detach()
        opt.step()
        scheduler.step()
        np.testing.assert_array_equal(torch.cat([p.detach().ravel() for p in params]).numpy(), ours[k + 1])


def test_newton_and_bfgs_are_refused_for_networks():
    for name in ("newton", "bfgs"):
        with pytest.raises(SceneError) as info:
            net_scene(optimizers=["adam", name])
        assert f"optimizers[1].name: {name} works on 2-D functions only" in str(info.value)


# --- torch optimizer classes (the bridge) on the network's layers ---------------------------------------------

def _sequential_steps(torch, net, flat, optimizer, steps, kind="plain", rows=None):
    """``optimizer(parameters)`` training nn.Sequential from ``flat`` as a torch user would: ``rows[k]`` (or all
    the data) at step k, ``step(closure)`` for a closure class, ``backward(create_graph=True)`` for a graph class;
    the random stream seeded 0, as the bridge seeds it. Returns the weights after each step."""
    m = sequential(torch, net, flat)
    opt = optimizer(m.parameters())
    x, y = torch.from_numpy(net.data.x), torch.from_numpy(net.data.y)
    torch.manual_seed(0)
    out = [flat]
    for k in range(steps):
        xb, yb = (x, y) if rows is None else (x[rows[k]], y[rows[k]])

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(m(xb), yb)
            if kind == "graph":
                grads = torch.autograd.grad(loss, list(m.parameters()), create_graph=True)
                for p, g in zip(m.parameters(), grads):
                    p.grad = g
            else:
                loss.backward()
            return loss

        if kind == "closure":
            opt.step(closure)
        else:
            closure()
            opt.step()
        out.append(torch.nn.utils.parameters_to_vector(m.parameters()).detach().numpy().copy())
    return np.array(out)


BRIDGED = [("torch.optim.Adam", {"lr": 0.01, "weight_decay": 0.01}), ("torch.optim.SGD", {"lr": 0.5, "momentum": 0.9}),
           ("pytorch_optimizer.Lion", {"lr": 0.01}), ("pytorch_optimizer.Adan", {"lr": 0.01}),
           ("pytorch_optimizer.Lamb", {"lr": 0.05}), ("pytorch_optimizer.SOAP", {"lr": 0.05}),
           ("pytorch_optimizer.AdaFactor", {"lr": 0.05})]


@pytest.mark.parametrize("name, kwargs", BRIDGED, ids=[n for n, _ in BRIDGED])
def test_bridged_network_steps_are_the_classes_steps_of_the_sequential_network(name, kwargs, torch):
    """A torch class trains the network's layer tensors in one parameter group, as on nn.Sequential: given the same
    gradients the first five steps agree to the bit; a whole first step, gradient included, to 1e-12."""
    from optviz.maths.torch_bridge import resolve
    from optviz.networks.model import Model

    if name.startswith("pytorch_optimizer."):
        pytest.importorskip("pytorch_optimizer")
    cls = resolve(name)
    s = net_scene(optimizers=[{"name": name, **kwargs}], steps=5)
    net = s.function.network
    ours = all_weights(s)[0]
    model = Model(net)
    params = _layered(torch, net, ours[0])
    opt = cls(params, **kwargs)
    _assert_same_steps(torch, net, model, ours, params, opt)
    theirs = _sequential_steps(torch, net, ours[0], lambda ps: cls(ps, **kwargs), 1)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["pytorch_optimizer.Lamb", "pytorch_optimizer.SOAP", "pytorch_optimizer.AdaFactor"])
def test_per_tensor_optimizers_see_the_layers(name, torch):
    """LAMB's trust ratio is per tensor, SOAP preconditions each weight matrix from both sides (from its second
    step), Adafactor factors a matrix's second moment into its rows and columns: on the layers their steps are
    theirs on the network's tensors, bit for bit, and on one flat tensor they would not be."""
    from optviz.maths.torch_bridge import resolve
    from optviz.maths.torch_bridge.stepper import Stepper
    from optviz.networks.model import Model

    pytest.importorskip("pytorch_optimizer")
    cls = resolve(name)
    s = net_scene({**MOONS, "network": {"layers": [2, 8, 6, 2]}}, optimizers=[{"name": name, "lr": 0.05}], steps=2)
    net = s.function.network
    ours = all_weights(s)[0]
    model = Model(net)
    layered = _layered(torch, net, ours[0])
    opt = cls(layered, lr=0.05)
    flat = Stepper(cls, {}, ours[:1], 0.05)
    for k in range(2):
        _, grad = model.loss_and_grad(ours[k][None])
        for p, layer_grad in zip(layered, _layered(torch, net, grad[0])):
            p.grad = layer_grad.detach()
        opt.step()
        flat.step(lambda at: model.loss_and_grad(at)[1])
    np.testing.assert_array_equal(torch.cat([p.detach().ravel() for p in layered]).numpy(), ours[2])
    assert np.abs(flat.positions()[0] - ours[2]).max() > 1e-4


def test_lbfgs_trains_a_tiny_network_on_its_own_evaluations(torch):
    """LBFGS's closure evaluates the network's loss and gradient at the points it chooses: on all the data it
    follows torch's LBFGS on nn.Sequential, and on minibatches it re-evaluates the step's own rows, as a torch
    training loop's closure over the current batch does."""
    tiny = {**MOONS, "network": {"layers": [2, 3, 2]}}
    kwargs = {"lr": 1, "max_iter": 5, "line_search_fn": "strong_wolfe"}
    s = net_scene(tiny, optimizers=[{"name": "torch.optim.LBFGS", **kwargs}], steps=4)
    net = s.function.network
    traj = optviz.simulate(s)
    assert traj.runs[0].loss[-1] < 0.5 * traj.runs[0].loss[0] and traj.runs[0].diverged_at is None
    assert np.all(np.diff(traj.runs[0].loss) < 0)
    ours = all_weights(s)[0]
    theirs = _sequential_steps(torch, net, ours[0], lambda ps: torch.optim.LBFGS(ps, **kwargs), 4, "closure")
    np.testing.assert_allclose(ours[1], theirs[1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)    # 20 line-search steps amplify the rounding

    batches = net_scene(tiny, optimizers=[{"name": "torch.optim.LBFGS", **kwargs, "minibatch": {"size": 16, "seed": 3}}],
                        steps=4)
    ours = all_weights(batches)[0]
    rows = np.random.default_rng(3).integers(0, 64, size=(4, 16))      # one draw of (1, 16) a step
    theirs = _sequential_steps(torch, net, ours[0], lambda ps: torch.optim.LBFGS(ps, **kwargs), 4, "closure", rows)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


def test_hessian_classes_differentiate_the_networks_graph(torch):
    """AdaHessian's Hutchinson estimates are Hessian-vector products through the network's own autograd graph,
    with the same random vectors as torch draws for nn.Sequential's tensors."""
    po = pytest.importorskip("pytorch_optimizer")
    s = net_scene(optimizers=[{"name": "pytorch_optimizer.AdaHessian", "lr": 0.1}], steps=3)
    ours = all_weights(s)[0]
    theirs = _sequential_steps(torch, s.function.network, ours[0], lambda ps: po.AdaHessian(ps, lr=0.1), 3, "graph")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    assert not np.allclose(ours[1], all_weights(net_scene(optimizers=[
        {"name": "pytorch_optimizer.AdaHessian", "lr": 0.1, "hessian_distribution": "gaussian"}], steps=1))[0][1])


@pytest.mark.parametrize("entry", [{"name": "pytorch_optimizer.Lion", "lr": 0.01},
                                   {"name": "pytorch_optimizer.Prodigy"}],     # couples its groups: one optimizer a run
                         ids=lambda e: e["name"])
def test_a_bridged_swarm_is_many_initialisations(entry, torch):
    pytest.importorskip("pytorch_optimizer")
    swarm = all_weights(net_scene(optimizers=[{**entry, "starts": {"random": 3, "seed": 5}}]))
    for seed, w in zip((5, 6, 7), swarm):
        lone = all_weights(net_scene({**MOONS, "init_seed": seed}, optimizers=[entry]))[0]
        np.testing.assert_array_equal(w, lone)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_bridged_schedules_minibatches_and_noise_are_the_builtins(name, torch, monkeypatch):
    """torch's own scheduler (OneCycleLR cycling momentum or beta1) on the bridged class, optviz's on the built-in,
    the same minibatches and noise: the same weights, and the run's lrs are torch's scheduler's."""
    from optviz.maths.optimizers import adam

    monkeypatch.setattr(adam, "sqrt", lambda x: torch.from_numpy(np.ascontiguousarray(x)).sqrt().numpy())
    spec = OPTIMIZERS[name]
    extra = {"minibatch": {"size": 16, "seed": 1}, "noise": {"std": 0.1, "seed": 2}, "steps": 12}
    schedule = {"name": "StepLR", "step_size": 4, "gamma": 0.5} if name == "sgd" else \
        {"name": "OneCycleLR", "max_lr": 0.05}
    kwargs = spec.torch_kwargs({**spec.defaults(), "lr": 0.02})
    builtin = net_scene(optimizers=[{"name": name, "lr": 0.02, "schedule": schedule}], **extra)
    bridged = net_scene(optimizers=[{"name": spec.torch_class, **kwargs, "schedule": schedule}], **extra)
    np.testing.assert_allclose(all_weights(bridged)[0], all_weights(builtin)[0], rtol=0, atol=1e-12)
    ours, theirs = optviz.simulate(bridged).runs[0], optviz.simulate(builtin).runs[0]
    assert len(ours.lrs) == 12 and len(set(ours.lrs.tolist())) > 1
    np.testing.assert_allclose(ours.lrs, theirs.lrs, rtol=1e-15)
    if name == "sgd":       # SGD's step is one multiply-add: bit for bit
        np.testing.assert_array_equal(all_weights(bridged)[0], all_weights(builtin)[0])


def test_a_failing_bridged_step_names_the_class_and_step(torch, tmp_path):
    (tmp_path / "boom.py").write_text(textwrap.dedent("""
        import torch

        class Boom(torch.optim.Optimizer):
            def __init__(self, params, lr=0.1):
                super().__init__(params, {"lr": lr})

            def step(self, closure=None):
                if self.state.setdefault("calls", [0])[0] == 2:
                    raise RuntimeError("no more")
                self.state["calls"][0] += 1
    """))
    s = net_scene(optimizers=[{"name": "boom.Boom"}], plugins=[str(tmp_path / "boom.py")])
    with pytest.raises(SceneError, match=r"boom.Boom failed at step 3: RuntimeError: no more"):
        optviz.simulate(s)


# --- trajectories and the plane ------------------------------------------------------------------------------

def test_pca_plane_and_projections_match_a_direct_computation(torch):
    """PCA by SVD of every snapshot minus the origin (here every step is a snapshot), the least-squares
    projection, the distance from the plane and the path length, against simulate's."""
    s = net_scene(optimizers=[{"name": "sgd", "lr": 0.5}, {"name": "adam", "label": "Adam", "lr": 0.02}],
                  function={**MOONS, "plane": {"origin": "Adam"}})
    traj = optviz.simulate(s)
    plane = traj.scene.function.plane
    weights = all_weights(s)
    origin = weights[1][-1]
    np.testing.assert_array_equal(plane.origin, origin)
    m = np.concatenate(weights) - origin
    _, sv, vt = np.linalg.svd(m, full_matrices=False)
    for i in range(2):
        assert abs(vt[i] @ plane.directions[i]) == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(plane.explained, sv[:2] ** 2 / np.sum(sv**2), rtol=1e-10)
    assert plane.captured == pytest.approx(np.sum(sv[:2] ** 2) / np.sum(sv**2), rel=1e-10)
    directions = vt[:2] * np.sign(np.sum(vt[:2] * plane.directions, axis=1))[:, None]
    for run, w in zip(traj.runs, weights):
        coords = (w - origin) @ directions.T
        np.testing.assert_allclose(run.points, coords, rtol=0, atol=1e-10)
        np.testing.assert_allclose(run.off_plane, np.linalg.norm(w - origin - coords @ directions, axis=1),
                                   rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(run.travelled[1:], np.cumsum(np.linalg.norm(np.diff(w, axis=0), axis=1)),
                                   rtol=1e-12)
        np.testing.assert_allclose(run.loss, [torch_loss(torch, s.function.network, v) for v in w], rtol=1e-14)
        assert run.spec.start == tuple(run.points[0])
    assert traj.runs[1].points[-1] == pytest.approx([0.0, 0.0], abs=1e-12)
    assert traj.runs[1].off_plane[-1] == pytest.approx(0.0, abs=1e-12)
    assert np.all(traj.runs[0].points[0] <= 0)          # paths run towards the origin at the upper right


def test_a_path_is_the_projection_of_plain_torch_training(torch):
    """SGD on nn.Sequential with torch.optim for 30 steps, projected onto simulate's plane, is the drawn path."""
    s = net_scene(optimizers=[{"name": "sgd", "lr": 0.5, "momentum": 0.5}])
    traj = optviz.simulate(s)
    net, plane = s.function.network, traj.scene.function.plane
    m = sequential(torch, net, all_weights(s)[0][0])
    opt = torch.optim.SGD(m.parameters(), lr=0.5, momentum=0.5)
    path = [torch.nn.utils.parameters_to_vector(m.parameters()).detach().numpy().copy()]
    for _ in range(30):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(torch.from_numpy(net.data.x)), torch.from_numpy(net.data.y)).backward()
        opt.step()
        path.append(torch.nn.utils.parameters_to_vector(m.parameters()).detach().numpy().copy())
    np.testing.assert_allclose(plane.coordinates(np.array(path)), traj.runs[0].points, rtol=0, atol=1e-10)


def test_the_grid_is_the_true_loss_over_the_plane(torch):
    s = net_scene(optimizers=[{"name": "adam", "lr": 0.05}, {"name": "sgd", "lr": 0.3}])
    traj = optviz.simulate(s)
    f, net = traj.scene.function, s.function.network
    plane = f.plane
    assert float(f.value([0.0, 0.0])) == traj.runs[0].loss[-1]
    assert float(f.value([0.0, 0.0])) == pytest.approx(torch_loss(torch, net, plane.origin), rel=1e-14)
    xy = np.array([[0.3, -1.2, 2.0], [0.7, 0.1, -0.4]])
    expected = [torch_loss(torch, net, plane.origin + x * plane.directions[0] + y * plane.directions[1])
                for x, y in xy.T]
    np.testing.assert_allclose(f.value(xy), expected, rtol=1e-13)
    assert f.value(np.zeros((2, 4, 5))).shape == (4, 5)
    # the gradient over the plane is the weights' gradient along the two directions
    h = 1e-6
    numeric = [(f.value(xy + h * e[:, None]) - f.value(xy - h * e[:, None])) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(f.gradient(xy), numeric, rtol=1e-6, atol=1e-8)
    assert f.grid == 61 and "PCA" in f.axes[0]


def test_random_planes_are_orthonormal_or_filter_normalized(torch):
    from optviz.networks.model import Model, one_thread
    from optviz.networks.plane import random_plane
    from optviz.networks.spec import layout

    for directions in ("random", "filter-normalized"):
        s = net_scene({**MOONS, "network": {"layers": [2, 8, 6, 2]}, "plane": {"directions": directions, "seed": 4}},
                      optimizers=[{"name": "adam", "lr": 0.05}])
        traj = optviz.simulate(s)
        plane = traj.scene.function.plane
        d = plane.directions
        if directions == "random":
            np.testing.assert_allclose(d @ d.T, np.eye(2), atol=1e-12)
        else:
            for layer in layout(s.function.network.layers):
                shape = (layer.outputs, layer.inputs)
                for row in d[:, layer.weight]:
                    np.testing.assert_allclose(np.linalg.norm(row.reshape(shape), axis=1),
                                               np.linalg.norm(plane.origin[layer.weight].reshape(shape), axis=1))
                assert np.all(d[:, layer.bias] == 0)
        again = random_plane(s.function.network, directions, 4, plane.origin[None], plane.origin, "x")
        np.testing.assert_array_equal(again.directions, d)       # from the seed alone
        coords, off = plane.project(plane.weights(np.array([[0.2, -0.3]])))
        np.testing.assert_allclose(coords, [[0.2, -0.3]], atol=1e-12)
        assert off[0] < 1e-12
        assert 0 <= plane.captured <= 1
        with one_thread():
            assert float(traj.scene.function.value([0, 0])) == Model(s.function.network).losses(plane.origin[None])[0]


def test_keeping_the_weights_or_training_again_give_the_same_trajectories(torch, monkeypatch):
    """A large network is trained twice instead of kept in memory; the projections must not change."""
    from optviz.networks import simulate as network_simulate

    s = net_scene(optimizers=[{"name": "nadam", "lr": 0.05}, {"name": "sgd", "lr": 0.5, "steps": 20},
                              {"name": "sgd", "label": "diverges", "lr": 400.0},
                              {"name": "torch.optim.Adam", "lr": 0.05, "schedule": {"name": "StepLR", "step_size": 5}},
                              {"name": "torch.optim.LBFGS", "lr": 0.5, "max_iter": 3},
                              {"name": "torch.optim.SGD", "label": "diverges too", "lr": 400.0}],
                  minibatch={"size": 16, "seed": 1}, noise={"std": 0.01, "seed": 2})
    kept = optviz.simulate(s)
    monkeypatch.setattr(network_simulate, "KEEP_BYTES", 0)
    again = optviz.simulate(s)
    assert kept.runs[2].diverged_at is not None
    assert kept.runs[5].diverged_at == kept.runs[2].diverged_at     # a bridged run diverges as the built-in does
    for a, b in zip(kept.runs, again.runs):
        for field in ("points", "loss", "off_plane", "travelled"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        assert a.diverged_at == b.diverged_at


def test_a_run_does_not_depend_on_the_other_runs_of_its_scene(torch):
    alone = all_weights(net_scene(optimizers=[{"name": "sgd", "lr": 0.5}]))[0]
    together = all_weights(net_scene(optimizers=[{"name": "adam", "lr": 0.01}, {"name": "sgd", "lr": 0.5},
                                                 {"name": "rmsprop", "lr": 0.01, "steps": 12}]))[1]
    np.testing.assert_array_equal(alone, together)


def test_a_swarm_is_many_initialisations(torch):
    s = net_scene(optimizers=[{"name": "adam", "label": "Adam", "lr": 0.02, "starts": {"random": 3, "seed": 5}}])
    assert [r.init_seed for r in s.runs] == [5, 6, 7] and {r.group for r in s.runs} == {"Adam"}
    swarm = all_weights(s)
    for seed, w in zip((5, 6, 7), swarm):
        lone = all_weights(net_scene({**MOONS, "init_seed": seed}, optimizers=[{"name": "adam", "lr": 0.02}]))[0]
        np.testing.assert_array_equal(w, lone)
    traj = optviz.simulate(s)
    assert len({tuple(r.points[0]) for r in traj.runs}) == 3


def test_minibatches_noise_and_schedules_apply_to_networks(torch):
    sgd = {"name": "sgd", "lr": 0.5}
    full = all_weights(net_scene(optimizers=[sgd]))[0]
    batch = all_weights(net_scene(optimizers=[{**sgd, "minibatch": {"size": 8, "seed": 1}}]))[0]
    again = all_weights(net_scene(optimizers=[{**sgd, "minibatch": {"size": 8, "seed": 1}}]))[0]
    noisy = all_weights(net_scene(optimizers=[{**sgd, "noise": {"std": 0.1, "seed": 0}}]))[0]
    stepped = all_weights(net_scene(optimizers=[{**sgd, "schedule": {"name": "StepLR", "step_size": 10}}]))[0]
    np.testing.assert_array_equal(batch, again)
    assert not np.allclose(batch, full) and not np.allclose(noisy, full)
    np.testing.assert_array_equal(stepped[:11], full[:11])
    assert not np.allclose(stepped[-1], full[-1])
    # the noise is the seeded normal sequence, added to the gradient (SGD: step = lr * (g + noise))
    from optviz.networks.model import Model
    g = Model(net_scene(optimizers=[sgd]).function.network).loss_and_grad(noisy[:1])[1][0]
    eps = 0.1 * np.random.default_rng(0).standard_normal((1, g.size))[0]
    np.testing.assert_allclose((noisy[0] - noisy[1]) / 0.5, g + eps, rtol=1e-12, atol=1e-14)


def test_a_diverging_run_stops_and_is_drawn(torch, tmp_path):
    s = net_scene(optimizers=[{"name": "adam", "label": "Adam", "lr": 0.05},
                              {"name": "sgd", "label": "wild", "lr": 2000.0}])
    traj = optviz.simulate(s)
    wild = traj.runs[1]
    assert wild.diverged_at is not None and len(wild.points) == wild.diverged_at + 1
    assert wild.loss[-1] > 100 * wild.loss[0] and np.all(np.isfinite(wild.points))
    from optviz.draw.figure import build
    labels = build(traj).labels()
    assert labels[1].startswith(f"wild (lr=2e+03), diverged at step {wild.diverged_at}")
    assert render_scene(traj, tmp_path / "wild.png").stat().st_size > 0


def test_the_legend_and_trace_tell_how_far_paths_are_from_the_plane(torch):
    s = net_scene(optimizers=[{"name": "adam", "label": "Adam", "lr": 0.05}, {"name": "sgd", "label": "SGD", "lr": 1}])
    traj = optviz.simulate(s)
    from optviz.draw.figure import build
    from optviz.draw.look import off_plane_share
    labels = build(traj).labels()
    for run, label in zip(traj.runs, labels):
        share = np.max(run.off_plane) / run.travelled[-1]
        assert off_plane_share([run]) == share
        assert label.endswith(f"{'<1' if share < 0.005 else f'{100 * share:.0f}'}% off-plane")
    data = json.loads(to_json(traj))
    assert data["plane"]["directions"] == "pca" and data["plane"]["origin"] == "Adam"
    assert data["plane"]["parameters"] == 42 and len(data["plane"]["explained_variance"]) == 2
    run = data["runs"][1]
    assert len(run["points"]) == len(run["loss"]) == len(run["off_plane"]) == len(run["travelled"]) == 31
    assert run["loss"] == list(traj.runs[1].loss)
    header, first = to_csv(traj).splitlines()[:2]
    assert header.endswith("off_plane,travelled") and first.endswith(",0.0")


def test_renderer_uses_the_objectives_grid_and_axis_labels():
    """A costly function asks for a coarse grid; the contours and the 3-D panel share one evaluation."""
    from optviz.draw.figure import build

    base = optviz.make_function("rosenbrock")
    shapes = []

    def value(xy):
        shapes.append(np.shape(xy))
        return base.value(xy)

    f = replace(base, value=value, grid=13, axes=("weight a", "weight b"))
    pic = build(optviz.simulate(optviz.scene(function=f, optimizers=["adam"], steps=5, panels=["surface", "loss"])))
    assert shapes.count((2, 13, 13)) == 1 and all(s[1:] != (250, 250) for s in shapes)
    assert (pic.axes.get_xlabel(), pic.axes.get_ylabel()) == ("weight a", "weight b")
    shapes.clear()
    build(optviz.simulate(optviz.scene(function=f, optimizers=["adam"], steps=5, contour_grid=17)))
    assert shapes.count((2, 17, 17)) == 1 and (2, 13, 13) not in shapes     # the scene's own grid wins


# --- determinism ---------------------------------------------------------------------------------------------

def test_the_same_scene_gives_the_same_bytes(torch, tmp_path):
    path = ROOT / "configs" / "networks" / "mlp-spiral-minibatch.yaml"
    data = path.read_text().replace("steps: 1500", "steps: 120").replace("frames: 250", "frames: 40")
    scene_file = tmp_path / "small.yaml"
    scene_file.write_text(data)
    outputs = []
    for i in range(2):
        traj = optviz.simulate(optviz.load(scene_file))
        outputs.append([render_scene(traj, tmp_path / f"{i}.{fmt}").read_bytes() for fmt in ("gif", "png")]
                       + [to_json(traj).encode()])
    assert outputs[0] == outputs[1]
    proc = subprocess.run([sys.executable, "-m", "optviz.commands.cli", "trace", str(scene_file)],
                          capture_output=True, check=True)
    assert proc.stdout == outputs[0][2]


# --- bad input -----------------------------------------------------------------------------------------------

BAD = [
    ({"network": {"layers": [3, 8, 2]}}, "function.network.layers[0]: must be 2 (the data's features), got 3"),
    ({"network": {"layers": [2, 8, 3]}}, "function.network.layers[2]: must be 2 (the data's classes), got 3"),
    ({"network": {"layers": [2]}}, "function.network.layers: needs at least an input and an output size"),
    ({"network": {"layers": [2, 0, 2]}}, "function.network.layers: every entry must be at least 1"),
    ({"network": {"layers": [2, 120, 80, 2]}}, "function.network.layers: makes 10,202 parameters; the limit is 10,000"),
    ({"network": {"layers": [2, 8, 2], "activation": "tahn"}},
     "function.network.activation: unknown value 'tahn'; did you mean 'tanh'?"),
    ({"network": {"layer": [2, 8, 2]}}, "function.network.layer: unknown key 'layer'"),
    ({"network": [2, 8, 2]}, "function.network: must be a mapping"),
    ({"data": {"name": "spirals"}}, "function.data.name: unknown value 'spirals'; did you mean 'spiral'?"),
    ({"data": {"name": "moons", "n": 3}}, "function.data.n: must be at least 4, got 3"),
    ({"data": {"name": "moons", "n": 10001}}, "function.data.n: must be at most 10000"),
    ({"data": {"name": "moons", "noise": -1}}, "function.data.noise: must be in [0, 10], got -1"),
    ({"data": {"name": "moons", "n": 10000}, "network": {"layers": [2, 200, 2]}},
     "function.network.layers: 1,002 parameters on 10,000 data rows is too large a pass"),
    ({"data": {"n": 10}}, "function.data: needs 'name'"),
    ({"data": {"csv": "missing.csv"}}, "function.data.csv: cannot read"),
    ({"data": None}, "function.data: must be a mapping"),
    ({"init_seed": -1}, "function.init_seed: must be at least 0, got -1"),
    ({"plane": "pcaa"}, "function.plane: unknown value 'pcaa'; did you mean 'pca'?"),
    ({"plane": {"directions": "randon"}}, "function.plane.directions: unknown value 'randon'; did you mean 'random'?"),
    ({"plane": {"seed": 1}}, "function.plane.seed: a PCA plane has no seed"),
    ({"plane": {"origin": "Adma"}}, "function.plane.origin: no run is labelled 'Adma'; did you mean 'Adam'?"),
    ({"plane": {"angle": 1}}, "function.plane.angle: unknown key 'angle'"),
    ({"plane": 3}, "function.plane: must be pca, random, filter-normalized or {directions: ..."),
    ({"batch": 32}, "function.batch: minibatches are the scene's `minibatch: {size: 32, seed: 0}` key"),
    ({"network": None, "data": None, "init_seed": None, "plane": None, "extra": 1}, "function.extra: unknown key"),
]


@pytest.mark.parametrize("change, expected", BAD, ids=[e.split(":")[0] + f"-{i}" for i, (_, e) in enumerate(BAD)])
def test_bad_network_specs_exit_2_with_a_key_path(tmp_path, change, expected):
    if "plane" in change and "origin" in str(change["plane"]) and not torch_available():
        pytest.skip("the origin is checked against the runs once the network is valid, which needs torch")
    function = {**MOONS, **change}
    if change.get("extra"):
        function = {**MOONS, "extra": 1}
    scene = {"function": function, "optimizers": [{"name": "adam", "label": "Adam"}]}
    (tmp_path / "bad.yaml").write_text(json.dumps(scene))
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "bad.yaml")])
    assert result.exit_code == 2
    assert f"bad.yaml:1: {expected}" in result.output, result.output
    assert "Traceback" not in result.output


SCENE_BAD = [
    ({"start": [1, 2]}, "start: a network run starts from its initial weights (function.init_seed)"),
    ({"optimizers": [{"name": "adam", "start": [0, 0]}]}, "optimizers[0].start: a network run starts from"),
    ({"starts": [[0, 0]]}, "starts: for a network, starts are initialisations: {random: N, seed: S}"),
    ({"starts": {"grid": [2, 2]}}, "starts: for a network, starts are initialisations"),
    ({"starts": {"random": 65}}, "starts.random: must be at most 64, got 65"),
    ({"steps": 2001}, "steps: a network trains at most 2,000 steps, got 2,001"),
    ({"optimizers": ["sgd", {"name": "adam", "steps": 2500}]}, "optimizers[1].steps: a network trains at most 2,000"),
    ({"optimizers": ["bfgs"]}, "optimizers[0].name: bfgs works on 2-D functions only"),
    ({"minibatch": {"size": 65}}, "minibatch.size: must be at most 64, got 65"),
    ({"function": {**MOONS, "network": {"layers": [2, 96, 96, 2]}, "data": {"name": "moons", "n": 512}},
      "steps": 2000, "optimizers": ["sgd", "adam", "nadam", "radam", "adamw"]},
     "optimizers: 5 runs (10,000 steps in all) x 512 rows x 9,794 parameters is too much training"),
    ({"function": {**MOONS, "network": {"layers": [2, 96, 96, 2]}, "data": {"name": "moons", "n": 512}},
      "contour_grid": 62}, "contour_grid: 62x62 forward passes of 9,794 parameters on 512 rows is too much"),
    ({"function": {**MOONS, "network": {"layers": [2, 96, 96, 2]}, "data": {"name": "moons", "n": 512}},
      "steps": 2000, "optimizers": [{"name": "torch.optim.LBFGS", "max_iter": 4}]},
     "optimizers: 1 runs (2,000 steps in all, 10,000 gradients' work counting what a closure or Hessian step "
     "evaluates) x 512 rows x 9,794 parameters is too much training"),
]


@pytest.mark.parametrize("change, expected", SCENE_BAD, ids=[e.split(":")[0] for _, e in SCENE_BAD])
def test_bad_network_scenes_are_refused_before_any_work(tmp_path, change, expected):
    if expected.startswith(("optimizers: ", "minibatch.size", "contour_grid")) and not torch_available():
        pytest.skip("checked against the network (its rows, its work) once it is valid, which needs torch")
    scene = {"function": MOONS, "optimizers": ["adam"], **change}
    (tmp_path / "bad.yaml").write_text(json.dumps(scene))
    result = CliRunner().invoke(main, ["render", str(tmp_path / "bad.yaml"), "-o", str(tmp_path / "x.gif")])
    assert result.exit_code == 2
    assert f"bad.yaml:1: {expected}" in result.output, result.output
    assert not (tmp_path / "x.gif").exists()


def test_csv_problems_name_the_row_and_column(tmp_path):
    (tmp_path / "bad.csv").write_text("1,2,0\n3,4,1\n5,x,1\n")
    (tmp_path / "one.csv").write_text("1,2,0\n3,4,0\n")
    (tmp_path / "half.csv").write_text("1,2,0\n3,4,0.5\n")
    (tmp_path / "gap.csv").write_text("1,2,0\n3,4,2\n")
    for name, expected in (("bad", "bad.csv row 3 column 2: not a number: 'x'"),
                           ("one", "every row has label 0; a classifier needs at least 2 classes"),
                           ("half", "half.csv row 2: the label (last column) must be a whole number"),
                           ("gap", "labels must be 0..2 with every class present; no row has label 1")):
        scene = {"function": {"network": {"layers": [2, 4, 2]}, "data": {"csv": f"{name}.csv"}}, "optimizers": ["adam"]}
        (tmp_path / "s.yaml").write_text(json.dumps(scene))
        result = CliRunner().invoke(main, ["validate", str(tmp_path / "s.yaml")])
        assert result.exit_code == 2 and f"function.data.csv: {tmp_path / name}.csv" in result.output
        assert expected in result.output, result.output


WITHOUT_TORCH = """
import sys
sys.modules["torch"] = None  # as if torch were not installed
from optviz.api import render_scene
from optviz.commands.cli import main
main(["validate", sys.argv[1]])
"""


def test_without_torch_a_network_scene_fails_with_the_install_hint(tmp_path):
    scene = {"function": MOONS, "optimizers": ["adam"]}
    (tmp_path / "net.yaml").write_text(json.dumps(scene))
    proc = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, str(tmp_path / "net.yaml")], capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: {tmp_path / 'net.yaml'}:1: function.network: "
                                   "needs torch: pip install 'optviz[torch]'")


def test_without_torch_a_network_scene_naming_a_torch_class_fails_with_the_install_hint(tmp_path):
    scene = {"function": MOONS, "optimizers": [{"name": "pytorch_optimizer.Lion", "lr": 0.01}]}
    (tmp_path / "net.yaml").write_text(json.dumps(scene))
    proc = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, str(tmp_path / "net.yaml")], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    for key in ("function.network", "optimizers[0].name"):
        assert f"net.yaml:1: {key}: needs torch: pip install 'optviz[torch]'" in proc.stderr, proc.stderr


def test_validating_a_network_scene_does_not_import_torch(tmp_path, torch):
    code = ("import sys, optviz; optviz.load(sys.argv[1]); print('torch' in sys.modules)")
    (tmp_path / "net.yaml").write_text(json.dumps({"function": MOONS, "optimizers": ["adam"]}))
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "net.yaml")], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


# --- tune ----------------------------------------------------------------------------------------------------

def test_tune_measures_the_real_loss_the_render_shows(torch, tmp_path):
    from optviz.commands.tune import tune_file

    (tmp_path / "net.yaml").write_text(json.dumps({
        "function": MOONS, "steps": 25, "minibatch": {"size": 16, "seed": 3},
        "optimizers": [{"name": "sgd", "label": "SGD", "lr": 0.1},
                       {"name": "adam", "label": "Adam", "lr": 0.001, "starts": {"random": 2, "seed": 0}}]}))
    result = tune_file(tmp_path / "net.yaml", tmp_path / "tuned.yaml")
    traj = optviz.simulate(optviz.load(tmp_path / "tuned.yaml"))
    assert [r.new_lr for r in result.rows] == [traj.runs[0].spec.lr, traj.runs[1].spec.lr]
    assert result.rows[0].final_loss == traj.runs[0].loss[-1]
    assert result.rows[1].final_loss == pytest.approx(np.mean([r.loss[-1] for r in traj.runs[1:]]), rel=1e-15)
    assert result.rows[0].final_loss < traj.runs[0].loss[0]
    # initial-speed: every entry travels, in weight space, what SGD travels in 5 steps at its own lr
    from optviz.networks.tune import evaluate

    speed = tune_file(tmp_path / "net.yaml", objective="initial-speed", k=5, write=False)
    assert speed.rows[0].new_lr == pytest.approx(0.1, rel=1e-5)
    assert "what SGD travels in weight space at its lr 0.1" in speed.text
    scene = optviz.load(tmp_path / "net.yaml")
    groups = [scene.runs[:1], scene.runs[1:]]
    target = evaluate(scene.function.network, groups[0], np.full((5, 1), 0.1), 5)[1].mean()
    for row, runs in zip(speed.rows, groups):
        length = evaluate(scene.function.network, runs, np.full((5, 1), row.new_lr), 5)[1].mean()
        assert length == pytest.approx(target, rel=1e-4)


def test_tune_searches_a_bridged_class_on_a_network(torch, tmp_path):
    """Candidate lrs of a torch class are parameter groups of one optimizer, each followed by torch's scheduler
    (a CyclicLR without base_lr cycles from each candidate's lr); the tuned lr's loss is the rendered run's."""
    from optviz.commands.tune import tune_file

    pytest.importorskip("pytorch_optimizer")
    (tmp_path / "net.yaml").write_text(json.dumps({
        "function": MOONS, "steps": 20, "minibatch": {"size": 16, "seed": 3},
        "optimizers": [{"name": "pytorch_optimizer.Lion", "label": "Lion", "lr": 1e-4,
                        "schedule": {"name": "StepLR", "step_size": 5, "gamma": 0.5}},
                       {"name": "torch.optim.SGD", "label": "SGD", "lr": 0.1,
                        "schedule": {"name": "CyclicLR", "max_lr": 0.5, "step_size_up": 5}}]}))
    result = tune_file(tmp_path / "net.yaml", tmp_path / "tuned.yaml")
    traj = optviz.simulate(optviz.load(tmp_path / "tuned.yaml"))
    assert [r.new_lr for r in result.rows] == [run.spec.lr for run in traj.runs]
    assert result.rows[0].new_lr != 1e-4 and traj.runs[1].lrs[0] == result.rows[1].new_lr != 0.1
    for row, run in zip(result.rows, traj.runs):
        assert row.final_loss == run.loss[-1] < run.loss[0]
    assert traj.runs[0].lrs[5] == traj.runs[0].lrs[0] / 2


def test_tuning_a_large_network_is_refused_before_any_work(tmp_path, torch):
    from optviz.commands.tune import tune_file

    (tmp_path / "net.yaml").write_text(json.dumps({
        "function": {"network": {"layers": [2, 96, 96, 2]}, "data": {"name": "spiral"}}, "steps": 2000,
        "optimizers": ["sgd", "adam"]}))
    with pytest.raises(SceneError, match="tuning would train 264 candidates"):
        tune_file(tmp_path / "net.yaml", write=False)
