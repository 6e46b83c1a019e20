"""The torch evaluators: every registry function (and a custom formula) in torch, from its formula through the
formula parser, with autograd derivatives equal to the analytic ones."""
from __future__ import annotations

import numpy as np
import pytest

from optviz.maths.formula import FormulaError, formula_objective
from optviz.maths.functions import FUNCTIONS, make_function

torch = pytest.importorskip("torch", reason="the torch evaluators need torch (CI installs it)")
from optviz.maths.formula import expand_definitions  # noqa: E402
from optviz.maths.torch_bridge.evaluate import torch_function  # noqa: E402

VARIANTS = [(n, {}) for n in sorted(FUNCTIONS)] + [
    ("bumpy", {"a": 0.1, "depth": 5.0, "width": 1.2, "rim": 1.0, "rim_width": 2.0, "center": (-2.0, 1.5)}),
    ("rosenbrock", {"a": 2.0, "b": 50.0}), ("rastrigin", {"A": 3.0}), ("parabola", {"a": 0.3, "b": 3.0}),
    ("least_squares", {"n": 17, "seed": 4, "noise": 1.5}),
]


def per_point_error(actual, expected, axes):
    """Largest error at each point relative to that point's largest entry (a component near zero beside a large
    one is judged at the point's scale)."""
    return np.max(np.abs(actual - expected), axis=axes) / np.maximum(np.max(np.abs(expected), axis=axes), 1e-300)


def autograd_derivatives(f, objective, n=40, seed=0):
    rng = np.random.default_rng(seed)
    p = np.stack([rng.uniform(*objective.xlim, n), rng.uniform(*objective.ylim, n)])
    xy = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    value = f(xy)
    (g,) = torch.autograd.grad(value.sum(), xy, create_graph=True)
    h = torch.stack([torch.autograd.grad(g[i].sum(), xy, retain_graph=True)[0] for i in range(2)])
    return p, value.detach().numpy(), g.detach().numpy(), h.numpy()


@pytest.mark.parametrize("name,params", VARIANTS, ids=[n + "".join(f"-{k}" for k in p) for n, p in VARIANTS])
def test_autograd_gradient_matches_the_analytic_one(name, params):
    objective = make_function(name, **params)
    p, value, g, h = autograd_derivatives(torch_function(objective), objective)
    assert np.all(per_point_error(value[None], objective.value(p)[None], 0) < 1e-12)
    assert np.all(per_point_error(g, objective.gradient(p), 0) < 1e-12)
    assert np.all(per_point_error(h, objective.hessian(p), (0, 1)) < 1e-11)


def test_custom_formula_and_definitions():
    objective = formula_objective("x**2 + 10*sin(y)**2 + abs(x*y) + 2**x", minima=[(0, 0)])
    p, value, g, _ = autograd_derivatives(torch_function(objective), objective, seed=3)
    assert np.all(per_point_error(g, objective.gradient(p), 0) < 1e-12)
    assert expand_definitions("exp(-r2) + w, r2 = x**2 + w, w = y") == "exp(-(x**2 + (y))) + (y)"


def test_unreadable_formula_is_a_formula_error():
    objective = make_function("beale")
    from dataclasses import replace
    with pytest.raises(FormulaError):
        torch_function(replace(objective, formula="sum of squares"))


def test_shapes_follow_the_input():
    f = torch_function(make_function("himmelblau"))
    assert f(torch.zeros(2, dtype=torch.float64)).shape == ()
    assert f(torch.zeros(2, 3, 4, dtype=torch.float64)).shape == (3, 4)
    assert torch_function(make_function("saddle"))(torch.ones(2, 5, dtype=torch.float64)).shape == (5,)
