"""The test functions: analytic derivatives against finite differences, minima, shapes, params, errors."""
import doctest
import warnings

import numpy as np
import pytest

import optviz.maths.functions as functions_module
from optviz.maths.functions import FUNCTIONS, Objective, make_function

NAMES = sorted(FUNCTIONS)
WITH_MINIMA = [n for n in NAMES if make_function(n).minima]
DATA_FITS = [n for n in NAMES if make_function(n).n_terms]  # minimum value depends on the sampled data

KNOWN_MIN_VALUE = {
    "parabola": 0.0, "bumpy": 0.0, "beale": 0.0, "rosenbrock": 0.0, "himmelblau": 0.0, "rastrigin": 0.0,
    "ackley": 0.0, "booth": 0.0, "matyas": 0.0, "goldstein_price": 3.0,
    "six_hump_camel": -1.031628453489877, "styblinski_tang": -78.33233140754282,
    # the surfaces of optimizer benchmarks; the published values, to their digits, agree
    "sphere": 0.0, "levy": 0.0, "schaffer2": 0.0,
    "cross_in_tray": -2.062611870822738,     # -2.06261
    "eggholder": -976.9110009971895,         # inside [-550, 550]**2; the box corner of [-512, 512]**2 gives -959.6407
    "langermann": -4.155809291847786,        # m = 5, c = (1, 2, 5, 2, 3): about -4.1558 at (2.7934, 1.5972)
    "shubert": -186.73090883102378,          # -186.7309
}

# Non-default coefficients for the parametrized functions, so the derivatives are checked off the defaults too.
VARIANTS = [(n, {}) for n in NAMES] + [
    ("parabola", {"a": 0.5, "b": 3.0}),
    ("bumpy", {"a": 0.1, "depth": 5.0, "width": 1.2, "rim": 1.0, "rim_width": 2.0, "center": (-2.0, 1.5)}),
    ("rosenbrock", {"a": 2.0, "b": 50.0}),
    ("rastrigin", {"A": 3.0}),
]
VARIANT_IDS = [n + "".join(f"-{k}={v}" for k, v in p.items()) for n, p in VARIANTS]


def points_in_view(f: Objective, n: int, seed: int = 0) -> np.ndarray:
    """(2, n) random points inside the function's default view."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(*f.xlim, n), rng.uniform(*f.ylim, n)])


def central_difference(func, p: np.ndarray) -> np.ndarray:
    """Fourth-order central differences of func along x and y at the points p (2, N): shape (2, *func(p).shape).

    The step is relative to the coordinate, and small because some surfaces vary fast (langermann's cos(pi*d) with
    d up to 100, cross_in_tray's |sin(x)sin(y)|**0.1 beside its ridges); truncation then stays below 1e-8 relative
    and rounding below 1e-10. (The torch evaluator test checks every derivative to 1e-12 against autograd too.)"""
    out = []
    for i in range(2):
        h = 1e-5 * (1.0 + np.abs(p[i]))
        e = np.zeros_like(p)
        e[i] = h
        d = (-func(p + 2 * e) + 8 * func(p + e) - 8 * func(p - e) + func(p - 2 * e)) / (12 * h)
        out.append(d)
    return np.stack(out)


def assert_close_per_point(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float = 1e-7):
    """Compare per point (last axis), relative to the largest entry at that point: a component that happens
    to be near zero beside a large one is judged at the scale of the point, as finite differences allow."""
    a, e = actual.reshape(-1, actual.shape[-1]), expected.reshape(-1, expected.shape[-1])
    err = np.max(np.abs(a - e), axis=0)
    scale = np.max(np.abs(e), axis=0)
    bad = err > rtol * scale + atol
    assert not bad.any(), f"worst relative error {np.max(err / (scale + atol)):.3g} at points {np.flatnonzero(bad)}"


@pytest.mark.parametrize("name,params", VARIANTS, ids=VARIANT_IDS)
def test_gradient_matches_finite_differences(name, params):
    f = make_function(name, **params)
    p = points_in_view(f, 20)
    assert_close_per_point(f.gradient(p), central_difference(f.value, p), rtol=1e-7)


@pytest.mark.parametrize("name,params", VARIANTS, ids=VARIANT_IDS)
def test_hessian_matches_finite_differences_of_gradient(name, params):
    f = make_function(name, **params)
    p = points_in_view(f, 20, seed=1)
    fd = central_difference(f.gradient, p)          # fd[j, i] = d g_i / d x_j
    assert_close_per_point(f.hessian(p), np.swapaxes(fd, 0, 1), rtol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_hessian_is_symmetric(name):
    f = make_function(name)
    h = f.hessian(points_in_view(f, 50, seed=2))
    np.testing.assert_array_equal(h[0, 1], h[1, 0])


@pytest.mark.parametrize("name", NAMES)
def test_listed_minima_are_stationary(name):
    f = make_function(name)
    for m in f.minima + f.local_minima:
        scale = 1.0 + np.max(np.abs(f.hessian(m)))
        np.testing.assert_allclose(f.gradient(m), 0.0, atol=1e-9 * scale, err_msg=str(m))
        assert np.all(np.linalg.eigvalsh(f.hessian(m)) > 0) or name == "ackley", m


@pytest.mark.parametrize("name", sorted(KNOWN_MIN_VALUE))
def test_minimum_values(name):
    f = make_function(name)
    for m in f.minima:
        assert float(f(m)) == pytest.approx(KNOWN_MIN_VALUE[name], abs=1e-12), m
    for m in f.local_minima:
        assert float(f(m)) > KNOWN_MIN_VALUE[name] + 1e-3


def test_every_function_with_a_minimum_has_a_known_value():
    assert set(WITH_MINIMA) - set(DATA_FITS) == set(KNOWN_MIN_VALUE)
    assert make_function("saddle").minima == ()


@pytest.mark.parametrize("name", WITH_MINIMA)
def test_nothing_in_view_is_below_the_minimum(name):
    f = make_function(name)
    X, Y = np.meshgrid(np.linspace(*f.xlim, 301), np.linspace(*f.ylim, 301))
    lowest = min(float(np.min(f(np.stack([X, Y])))), float(np.min(f(points_in_view(f, 5000, seed=3)))))
    assert lowest >= min(float(f(m)) for m in f.minima) - 1e-12


@pytest.mark.parametrize("name", NAMES)
def test_minima_and_start_are_in_view(name):
    f = make_function(name)
    for x, y in f.minima + f.local_minima + (f.start,):
        assert f.xlim[0] <= x <= f.xlim[1] and f.ylim[0] <= y <= f.ylim[1], (x, y)


def test_known_minima_locations():
    assert make_function("beale").minima == ((3.0, 0.5),)
    assert make_function("booth").minima == ((1.0, 3.0),)
    assert make_function("goldstein_price").minima == ((0.0, -1.0),)
    assert len(make_function("himmelblau").minima) == 4
    camel = make_function("six_hump_camel").minima
    np.testing.assert_allclose(camel, [(0.0898, -0.7126), (-0.0898, 0.7126)], atol=1e-4)
    (st,) = make_function("styblinski_tang").minima
    np.testing.assert_allclose(st, (-2.903534, -2.903534), atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_shapes(name):
    f = make_function(name)
    grid = np.stack(np.meshgrid(np.linspace(*f.xlim, 4), np.linspace(*f.ylim, 3)))
    assert f(grid).shape == (3, 4) and f.gradient(grid).shape == (2, 3, 4)
    assert f.hessian(grid).shape == (2, 2, 3, 4)
    batch = points_in_view(f, 5)
    assert f(batch).shape == (5,) and f.gradient(batch).shape == (2, 5) and f.hessian(batch).shape == (2, 2, 5)
    point = batch[:, 0]
    assert np.shape(f(point)) == () and f.gradient(point).shape == (2,) and f.hessian(point).shape == (2, 2)
    for out in (f(batch), f.gradient(batch), f.hessian(batch), f(point), f.gradient(point), f.hessian(point)):
        assert np.asarray(out).dtype == np.float64


@pytest.mark.parametrize("name", NAMES)
def test_batch_equals_per_point(name):
    f = make_function(name)
    batch = points_in_view(f, 7, seed=4)
    # Equal to rounding only: numpy's scalar and SIMD array paths for pow/exp/cos may differ in the last bit.
    close = dict(rtol=1e-14, atol=1e-14)
    for j in range(batch.shape[1]):
        p = tuple(batch[:, j])                     # a plain tuple works as a point too
        np.testing.assert_allclose(f(batch)[j], f(p), **close)
        np.testing.assert_allclose(f.gradient(batch)[:, j], f.gradient(p), **close)
        np.testing.assert_allclose(f.hessian(batch)[:, :, j], f.hessian(p), **close)


def test_integer_input_is_computed_in_float():
    f = make_function("rosenbrock")
    assert f(np.array([3, 3])) == 4 + 100 * 36
    assert f.gradient(np.array([[0], [0]])).dtype == np.float64


def test_wrong_leading_axis_is_rejected():
    with pytest.raises(ValueError, match=r"\(2, \.\.\.\)"):
        make_function("booth")(np.zeros((5, 2)))


NAMESPACE = {"exp": np.exp, "cos": np.cos, "sin": np.sin, "sqrt": np.sqrt, "abs": np.abs, "pi": np.pi, "e": np.e}


def evaluate_formula(formula: str, p: np.ndarray) -> np.ndarray:
    """The displayed formula is valid Python; 'expr, r2 = defn' defines r2 first."""
    scope = dict(NAMESPACE, x=p[0], y=p[1])
    expr, _, defn = formula.partition(", r2 = ")
    if defn:
        scope["r2"] = eval(defn, {}, scope)
    return eval(expr, {}, scope)


@pytest.mark.parametrize("name,params", VARIANTS, ids=VARIANT_IDS)
def test_formula_is_what_is_computed(name, params):
    f = make_function(name, **params)
    if f.n_terms:
        return  # its formula describes sampled data; test_least_squares_* check the numbers
    assert "\n" not in f.formula
    p = points_in_view(f, 30, seed=5)
    np.testing.assert_allclose(evaluate_formula(f.formula, p), f(p), rtol=1e-12, atol=1e-12)


def test_default_formulas_read_like_the_post():
    assert make_function("parabola").formula == "x**2/50 + y**2"
    assert make_function("bumpy").formula == (
        "x**2/50 + y**2 - 3.04353*exp(-r2/0.45807) + 2.44326*exp(-r2/0.55007), r2 = (x-4)**2 + (y-1)**2")
    assert make_function("rosenbrock").formula == "(1 - x)**2 + 100*(y - x**2)**2"


def test_bumpy_default_is_the_posts_expression():
    f = make_function("bumpy")
    x, y = p = points_in_view(f, 200, seed=6)
    r2 = (x - 4) ** 2 + (y - 1) ** 2
    expected = x**2 / 50 + y**2 - 3.04353 * np.exp(-r2 / 0.45807) + 2.44326 * np.exp(-r2 / 0.55007)
    np.testing.assert_allclose(f(p), expected, rtol=1e-14, atol=1e-14)


def test_bumpy_has_the_posts_local_minimum():
    f = make_function("bumpy")
    assert f.minima == ((0.0, 0.0),)
    (m,) = f.local_minima
    np.testing.assert_allclose(m, (3.926, 0.514), atol=1e-3)
    np.testing.assert_allclose(f.gradient(m), 0.0, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(f.hessian(m)) > 0)
    assert 0.3 < float(f(m)) < 0.4          # the dip sits above the global minimum


def test_bumpy_deep_dip_becomes_the_global_minimum():
    f = make_function("bumpy", depth=20.0)
    (g,), (loc,) = f.minima, f.local_minima
    assert np.hypot(g[0] - 4, g[1] - 1) < 1 and np.hypot(*loc) < 1e-6
    assert f(g) < f(loc)


def test_bumpy_without_a_dip_has_no_local_minimum():
    f = make_function("bumpy", depth=0.0, rim=0.0)
    assert f.minima == ((0.0, 0.0),) and f.local_minima == ()


def test_bumpy_view_follows_a_far_center():
    f = make_function("bumpy", center=(8.0, -1.0))
    assert f.xlim[1] >= 9.5 and f.params["center"] == (8.0, -1.0)


def test_rosenbrock_params_move_the_minimum():
    f = make_function("rosenbrock", a=2.0, b=50.0)
    assert f.minima == ((2.0, 4.0),)
    assert f((2.0, 4.0)) == 0.0 and np.all(f.gradient((2.0, 4.0)) == 0.0)
    assert f((1.0, 1.0)) == 1.0
    assert f.xlim[0] <= 2.0 <= f.xlim[1] and f.ylim[0] <= 4.0 <= f.ylim[1]
    assert dict(f.params) == {"a": 2.0, "b": 50.0}


def test_parabola_coefficients_change_values():
    default, steep = make_function("parabola"), make_function("parabola", a=0.5, b=2.0)
    assert default((5.0, 1.0)) == pytest.approx(1.5)
    assert steep((1.0, 1.0)) == 2.5
    assert steep.formula == "x**2/2 + 2*y**2"
    assert make_function("parabola", a=0.3).formula == "0.3*x**2 + y**2"


def test_rastrigin_amplitude():
    assert make_function("rastrigin", A=0.0)((1.0, 2.0)) == 5.0
    assert make_function("rastrigin", A=5.0)((0.5, 0.0)) == pytest.approx(0.25 + 10.0)


def test_ackley_tip_is_finite():
    f = make_function("ackley")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(f.gradient((0.0, 0.0)) == 0.0)
        h = f.hessian((0.0, 0.0))
        grid = np.stack(np.meshgrid(np.linspace(-5, 5, 11), np.linspace(-5, 5, 11)))
        assert np.all(np.isfinite(f.gradient(grid))) and np.all(np.isfinite(f.hessian(grid)))
    # at the tip only the cosine term's curvature is kept: 2 pi**2 e on the diagonal
    np.testing.assert_allclose(h, 2 * np.pi**2 * np.e * np.eye(2))


def test_make_function_fills_defaults_and_converts():
    f = make_function("bumpy", center=(3, 2), depth=1)
    assert f.params["center"] == (3.0, 2.0) and isinstance(f.params["depth"], float)
    assert f.params["rim"] == FUNCTIONS["bumpy"].defaults["rim"]


def test_unknown_name_is_a_key_error():
    with pytest.raises(KeyError, match="nope"):
        make_function("nope")


def test_unknown_param_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="'c'"):
        make_function("parabola", c=1.0)
    with pytest.raises(TypeError, match="'a'"):
        make_function("beale", a=1.0)


@pytest.mark.parametrize("name,params,param", [
    ("parabola", {"a": 0.0}, "a"), ("parabola", {"b": -1.0}, "b"), ("rosenbrock", {"b": 0.0}, "b"),
    ("bumpy", {"width": 0.0}, "width"), ("rastrigin", {"A": -1.0}, "A"),
])
def test_nonsense_params_are_value_errors_naming_the_param(name, params, param):
    with pytest.raises(ValueError, match=f"^{param}: "):
        make_function(name, **params)


@pytest.mark.parametrize("name", NAMES)
def test_registry_entries(name):
    spec = FUNCTIONS[name]
    assert spec.name == name and "\n" not in spec.formula and "\n" not in spec.description
    for v in spec.defaults.values():
        assert isinstance(v, float) or (isinstance(v, tuple) and len(v) == 2 and all(isinstance(c, float) for c in v))
    f = make_function(name)
    assert f.name == name and dict(f.params) == dict(spec.defaults)


def test_required_functions_are_registered():
    assert set(NAMES) >= {"parabola", "bumpy", "beale", "rosenbrock", "himmelblau", "rastrigin", "ackley", "booth",
                          "matyas", "saddle", "goldstein_price", "six_hump_camel", "styblinski_tang"}


def test_doctests():
    assert doctest.testmod(functions_module).failed == 0


def test_least_squares_minibatch_of_everything_is_the_full_gradient():
    f = make_function("least_squares", n=40, seed=3)
    params = points_in_view(f, 5, seed=1).T
    idx = np.tile(np.arange(40), (5, 1))
    np.testing.assert_allclose(f.term_gradient(params, idx), f.gradient(params.T).T, rtol=1e-12, atol=1e-12)
    single = f.term_gradient(params, np.zeros((5, 1), dtype=int))
    assert not np.allclose(single, f.gradient(params.T).T)


def test_least_squares_minimum_fits_the_line_and_depends_on_seed():
    f = make_function("least_squares", n=2000, noise=0.1)
    (w, b), = f.minima
    assert w == pytest.approx(2.0, abs=0.02) and b == pytest.approx(1.0, abs=0.02)
    np.testing.assert_allclose(f.gradient(np.array([w, b])), 0.0, atol=1e-12)
    assert make_function("least_squares", seed=1).minima != make_function("least_squares", seed=2).minima
    with pytest.raises(ValueError, match="^n: "):
        make_function("least_squares", n=2.5)
