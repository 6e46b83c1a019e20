"""Newton and BFGS: the textbook properties users rely on, checked against independent references."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from optviz.maths.functions import make_function
from optviz.maths.optimizers import OPTIMIZERS
from optviz.maths.optimizers.second_order import CURVATURE_FLOOR

ROSENBROCK_START = (-1.5, 2.0)


def build(name, fn, **hp):
    obj = make_function(fn) if isinstance(fn, str) else fn
    return obj, OPTIMIZERS[name].build(obj, **hp)


def trajectory(name, fn, starts, steps, lr=1.0, **hp):
    """Points (steps + 1, runs, 2) and the state after every step."""
    obj, opt = build(name, fn, **hp)
    p = np.array(starts, dtype=float).reshape(-1, 2)
    state = opt.init(p)
    points, states = [p], [state]
    for _ in range(steps):
        p, state = opt.update(obj.gradient(p.T).T, state, p, lr)
        points.append(p)
        states.append(state)
    return np.array(points), states


# ---------------------------------------------------------------- registry

def test_registry_entries():
    assert {n for n, s in OPTIMIZERS.items() if s.needs_objective} == {"newton", "bfgs"}
    assert OPTIMIZERS["newton"].defaults() == {"lr": 1.0, "damping": 0.0}
    assert OPTIMIZERS["bfgs"].defaults() == {"lr": 1.0, "c1": 1e-4, "shrink": 0.5, "max_backtracks": 30}
    for spec in (OPTIMIZERS["newton"], OPTIMIZERS["bfgs"]):
        assert spec.check(spec.defaults()) == []
        assert spec.rule and spec.torch_class
    assert [k for k, _ in OPTIMIZERS["bfgs"].check({**OPTIMIZERS["bfgs"].defaults(), "c1": 1.0})] == ["c1"]
    assert [k for k, _ in OPTIMIZERS["newton"].check({"lr": 1.0, "damping": -1.0})] == ["damping"]


def test_build_takes_scene_values():
    """Ints and missing keys are fine, as a scene file gives them."""
    obj, opt = build("bfgs", "rosenbrock", shrink=0.5, max_backtracks=10.0)
    p = np.array([ROSENBROCK_START])
    new, _ = opt.update(obj.gradient(p.T).T, opt.init(p), p, 1)
    assert np.all(np.isfinite(new)) and obj.value(new.T)[0] < obj.value(p.T)[0]


# ---------------------------------------------------------------- Newton

@pytest.mark.parametrize("fn", ["booth", "matyas", "parabola"])
def test_newton_minimises_a_quadratic_in_one_step(fn):
    obj = make_function(fn)
    starts = [obj.start, (3.0, -7.0), (0.1, 0.2)]
    points, _ = trajectory("newton", obj, starts, 1)
    np.testing.assert_allclose(points[1], np.repeat([obj.minima[0]], 3, axis=0), atol=1e-12)


def test_newton_converges_on_rosenbrock():
    points, _ = trajectory("newton", "rosenbrock", [ROSENBROCK_START], 30)
    np.testing.assert_allclose(points[-1, 0], [1.0, 1.0], atol=1e-12)


def test_newton_flees_a_saddle_instead_of_jumping_to_it():
    obj = make_function("saddle")
    points, _ = trajectory("newton", obj, [obj.start], 6)
    path = points[:, 0]
    loss = obj.value(path.T)
    assert np.all(np.diff(loss) < 0)
    assert np.all(np.abs(path[1:, 1]) > 0) and np.all(np.diff(np.abs(path[:, 1])) > 0)
    np.testing.assert_allclose(path[1, 0], 0.0, atol=1e-15)   # the positive-curvature direction is solved


def _reference_step(H, g, damping):
    """(|H| + damping*I)^-1 g by np.linalg.eigh, one point at a time."""
    lam, V = np.linalg.eigh(H)
    mag = np.maximum(np.abs(lam), CURVATURE_FLOOR * max(1.0, np.abs(lam).max()))
    return V @ ((V.T @ g) / (mag + damping))


@pytest.mark.parametrize("fn", ["rosenbrock", "himmelblau", "six_hump_camel", "goldstein_price"])
@pytest.mark.parametrize("damping", [0.0, 0.5])
def test_newton_step_matches_an_eigendecomposition(fn, damping):
    """Closed-form 2x2 algebra versus LAPACK; where H is positive definite, versus Levenberg's solve."""
    obj, opt = build("newton", fn, damping=damping)
    rng = np.random.default_rng(0)
    p = np.column_stack([rng.uniform(*obj.xlim, 200), rng.uniform(*obj.ylim, 200)])
    g = obj.gradient(p.T).T
    new, _ = opt.update(g, opt.init(p), p, 1.0)
    H = np.moveaxis(obj.hessian(p.T), -1, 0)
    want = np.array([_reference_step(H[i], g[i], damping) for i in range(len(p))])
    np.testing.assert_allclose(p - new, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())
    assert np.all(np.sum((p - new) * g, axis=1) > 0)   # always a descent direction
    pd = np.all(np.linalg.eigvalsh(H) > 1e-3, axis=1)
    assert pd.any() and not pd.all()
    levenberg = np.linalg.solve(H[pd] + damping * np.eye(2), g[pd][:, :, None])[:, :, 0]
    np.testing.assert_allclose((p - new)[pd], levenberg, rtol=1e-9, atol=1e-12 * np.abs(levenberg).max())


def test_newton_lr_scales_the_step_and_damping_shortens_it():
    obj = make_function("rosenbrock")
    p = np.array([ROSENBROCK_START] * 2)
    g = obj.gradient(p.T).T
    opt = build("newton", obj)[1]
    full, _ = opt.update(g, opt.init(p), p, 1.0)
    half, _ = opt.update(g, opt.init(p), p, np.array([[0.5], [0.25]]))
    np.testing.assert_allclose(half - p, (full - p) * [[0.5], [0.25]], rtol=1e-12)
    damped, _ = build("newton", obj, damping=100.0)[1].update(g, opt.init(p), p, 1.0)
    assert np.linalg.norm(damped - p) < np.linalg.norm(full - p)


def test_newton_on_a_flat_function_does_not_divide_by_zero():
    from optviz.maths.formula import formula_objective
    obj, opt = build("newton", formula_objective("x + 0*y"))
    p = np.array([[1.0, 2.0]])
    new, _ = opt.update(obj.gradient(p.T).T, opt.init(p), p, 1.0)
    assert np.all(np.isfinite(new)) and new[0, 0] < 1.0 and new[0, 1] == 2.0


# ---------------------------------------------------------------- BFGS

def test_bfgs_converges_on_rosenbrock():
    points, _ = trajectory("bfgs", "rosenbrock", [ROSENBROCK_START], 100)
    dist = np.linalg.norm(points[:, 0] - [1.0, 1.0], axis=1)
    assert dist[-1] < 1e-6
    assert np.argmax(dist < 1e-6) < 70   # superlinear: well within the budget


@pytest.fixture(scope="module")
def rosenbrock_bfgs():
    obj = make_function("rosenbrock")
    points, states = trajectory("bfgs", obj, [ROSENBROCK_START, (2.0, -0.5), (0.0, 2.5)], 60)
    return obj, points, states


def test_bfgs_inverse_hessian_satisfies_the_secant_condition(rosenbrock_bfgs):
    obj, points, states = rosenbrock_bfgs
    checked = 0
    for k in range(len(states) - 1):
        s = points[k + 1] - points[k]
        y = obj.gradient(points[k + 1].T).T - obj.gradient(points[k].T).T
        H = states[k + 1].inv_hessian
        np.testing.assert_array_equal(H, H.transpose(0, 2, 1))
        assert np.all(np.linalg.eigvalsh(H) > 0)
        updated = np.sum(s * y, axis=1) > 1e-8 * np.linalg.norm(s, axis=1) * np.linalg.norm(y, axis=1)
        Hy = np.einsum("rij,rj->ri", H, y)
        np.testing.assert_allclose(Hy[updated], s[updated], rtol=1e-7, atol=1e-9 * np.abs(s).max())
        checked += updated.sum()
    assert checked > 60


def test_bfgs_first_update_scales_the_identity(rosenbrock_bfgs):
    """N&W eq. 6.20: H0 = (y's / y'y) I just before the first update, so H1 = BFGS(that)."""
    obj, points, states = rosenbrock_bfgs
    s = points[1] - points[0]
    y = obj.gradient(points[1].T).T - obj.gradient(points[0].T).T
    for i in range(len(s)):
        rho = 1 / (y[i] @ s[i])
        V = np.eye(2) - rho * np.outer(y[i], s[i])
        H0 = (y[i] @ s[i]) / (y[i] @ y[i]) * np.eye(2)
        np.testing.assert_allclose(states[1].inv_hessian[i], V.T @ H0 @ V + rho * np.outer(s[i], s[i]),
                                   rtol=1e-10)
    assert not states[1].fresh.any()


def test_bfgs_accepts_the_first_armijo_step_of_the_backtracking(rosenbrock_bfgs):
    """Each accepted step satisfies Armijo, and the step twice as long (if tried) did not."""
    obj, points, states = rosenbrock_bfgs
    c1, shrink = 1e-4, 0.5
    backtracked = False
    for k in range(len(states) - 1):
        p, new, t = points[k], points[k + 1], states[k + 1].step_size
        moved = t > 0
        np.testing.assert_array_equal(new[~moved], p[~moved])
        g = obj.gradient(p.T).T
        d = -np.einsum("rij,rj->ri", states[k].inv_hessian, g)
        f0, slope = obj.value(p.T), np.sum(g * d, axis=1)
        assert np.all(obj.value(new.T)[moved] <= f0[moved] + c1 * t[moved] * slope[moved])
        np.testing.assert_allclose(new[moved], (p + t[:, None] * d)[moved], rtol=1e-15)
        longer = moved & (t < 1.0)
        if longer.any():
            backtracked = True
            t2 = t[longer] / shrink
            rejected = obj.value((p[longer] + t2[:, None] * d[longer]).T)
            assert np.all(rejected > f0[longer] + c1 * t2 * slope[longer])
        assert np.all(np.log2(t[moved]) == np.round(np.log2(t[moved])))   # t = lr * shrink**j
    assert backtracked


def test_bfgs_failed_line_search_stays_put_and_resets():
    obj, opt = build("bfgs", "rosenbrock", max_backtracks=0)
    p = np.array([ROSENBROCK_START])
    new, state = opt.update(obj.gradient(p.T).T, opt.init(p), p, 1e6)
    np.testing.assert_array_equal(new, p)
    np.testing.assert_array_equal(state.inv_hessian[0], np.eye(2))
    assert state.fresh[0] and state.step_size[0] == 0.0


# ---------------------------------------------------------------- both

@pytest.mark.parametrize("name", ["newton", "bfgs"])
def test_runs_in_one_call_equal_separate_calls(name):
    starts = [ROSENBROCK_START, (2.0, -0.5), (0.0, 2.5), (1.2, 1.2), (np.nan, 0.0)]
    lr = np.array([[1.0], [0.7], [2.0], [0.3], [1.0]])
    batch, states = trajectory(name, "rosenbrock", starts, 25, lr=lr)
    for i, start in enumerate(starts):
        alone, _ = trajectory(name, "rosenbrock", [start], 25, lr=float(lr[i, 0]))
        np.testing.assert_allclose(batch[:, i], alone[:, 0], rtol=1e-13, atol=1e-15)
    if name == "bfgs":
        first = states[1].step_size[:4] / lr[:4, 0]
        assert len(set(first)) > 1   # different numbers of backtracks in the same call


@pytest.mark.parametrize("name", ["newton", "bfgs"])
def test_update_is_pure(name):
    obj, opt = build(name, "rosenbrock")
    p = np.array([ROSENBROCK_START, (0.5, 0.5)])
    g = obj.gradient(p.T).T
    state = opt.init(p)
    copies = [np.copy(x) for x in (p, g, *state)]
    opt.update(g, state, p, 1.0)
    for before, after in zip(copies, (p, g, *state)):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("name", ["newton", "bfgs"])
@pytest.mark.parametrize("fn", ["rosenbrock", "goldstein_price", "ackley"])
def test_non_finite_points_propagate_without_raising(name, fn):
    obj, opt = build(name, fn)
    p = np.array([[np.nan, 0.0], [np.inf, 1.0], [1e200, -1e200], [1e-300, 1e300], ROSENBROCK_START])
    state = opt.init(p)
    for _ in range(5):
        with np.errstate(all="ignore"):          # as the caller does: the gradient itself may overflow
            g = obj.gradient(p.T).T
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            p, state = opt.update(g, state, p, 1.0)
    assert not np.any(np.all(np.isfinite(p[:2]), axis=1))
    assert np.all(np.isfinite(p[4]))
