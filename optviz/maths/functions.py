"""Test functions: value, analytic gradient and Hessian, coordinate-first like ``scipy.optimize.rosen``.

Every function takes ``xy`` of shape ``(2, ...)``, so one code path serves a contour grid
(``f(np.stack([X, Y]))``, ``(2, H, W) -> (H, W)``), a batch of points (``f(points.T)``, ``(2, N) -> (N,)``)
and a single point (``(2,) -> ()``). Gradients are ``(2, ...)``, Hessians ``(2, 2, ...)``.

>>> f = make_function("rosenbrock")
>>> float(f([1.0, 1.0]))
0.0
>>> f.gradient(np.array([[0.0, 2.0], [0.0, 4.0]])).tolist()   # two points, (0, 0) and (2, 4)
[[-2.0, 2.0], [0.0, 0.0]]
>>> f.hessian([1.0, 1.0]).tolist()
[[802.0, -400.0], [-400.0, 200.0]]
>>> float(make_function("goldstein_price")([0.0, -1.0]))
3.0
>>> make_function("parabola").formula
'x**2/50 + y**2'
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ..fields import Field

Array = np.ndarray


@dataclass(frozen=True)
class Objective:
    """A built function with its coefficients resolved: what a scene plots and the optimizers descend."""

    name: str
    formula: str
    params: Mapping[str, Any]
    value: Callable[[Array], Array]
    gradient: Callable[[Array], Array]
    hessian: Callable[[Array], Array]
    minima: tuple[tuple[float, float], ...]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    start: tuple[float, float]
    local_minima: tuple[tuple[float, float], ...] = ()
    #: For functions that are a mean of data terms: how many, and the gradient of a minibatch of them,
    #: ``term_gradient(params (runs, 2), idx (runs, batch)) -> (runs, 2)``, so SGD can sample as in the post.
    n_terms: int = 0
    term_gradient: Callable[[Array, Array], Array] | None = None
    #: Contour grid points per side the renderer should use (None: its own default, fine enough for any pixel
    #: size); a function that is costly to evaluate, such as a network's loss over a plane, asks for fewer.
    grid: int | None = None
    axes: tuple[str, str] = ("x", "y")          # the axes' labels (a one-letter one is set in italics)

    def __call__(self, xy) -> Array:
        return self.value(xy)


@dataclass(frozen=True)
class FunctionSpec:
    """A registry entry: what ``optviz list functions`` shows and how to build the function."""

    name: str
    formula: str
    defaults: Mapping[str, Any]
    description: str
    build: Callable[..., Objective] = field(repr=False)

    @property
    def fields(self) -> dict[str, Field]:
        """The coefficients as the scene format's fields: a number, or a pair for a point like ``center``."""
        return {key: Field(key, default, "pair" if isinstance(default, tuple) else "float")
                for key, default in self.defaults.items()}


FUNCTIONS: dict[str, FunctionSpec] = {}


def register(name: str, formula: str, description: str, **defaults: Any):
    """Register a builder; the defaults' types (float or 2-tuple of floats) are the params' types."""

    def decorate(build: Callable[..., Objective]) -> Callable[..., Objective]:
        FUNCTIONS[name] = FunctionSpec(name, formula, MappingProxyType(defaults), description, build)
        return build

    return decorate


def make_function(name: str, **params: Any) -> Objective:
    """Fill defaults, build. Unknown name -> KeyError(name); unknown param -> TypeError naming it."""
    try:
        spec = FUNCTIONS[name]
    except KeyError:
        raise KeyError(name) from None
    for key in params:
        if key not in spec.defaults:
            expected = ", ".join(spec.defaults) or "none"
            raise TypeError(f"{name}: unknown parameter {key!r} (parameters: {expected})")
    resolved = {}
    for key, default in spec.defaults.items():
        v = params.get(key, default)
        resolved[key] = tuple(float(c) for c in v) if isinstance(default, tuple) else float(v)
    return spec.build(**resolved)


# --- helpers -------------------------------------------------------------------------------------------------

def _xy(xy) -> tuple[Array, Array]:
    a = np.asarray(xy, dtype=np.float64)
    if a.ndim == 0 or a.shape[0] != 2:
        raise ValueError(f"expected coordinates of shape (2, ...), got {a.shape}")
    return a[0], a[1]


def _grad(gx, gy, shape) -> Array:
    """(2, *shape), laid out point by point so that its transpose, the optimizers' (runs, 2), is contiguous."""
    out = np.empty((*shape, 2))
    out[..., 0] = gx
    out[..., 1] = gy
    return out.transpose(out.ndim - 1, *range(out.ndim - 1))


def _hess(hxx, hxy, hyy, shape) -> Array:
    """Symmetric by construction; constants are broadcast so the shape is always (2, 2, *shape)."""
    b = [np.broadcast_to(h, shape) for h in (hxx, hxy, hyy)]
    return np.stack([np.stack([b[0], b[1]]), np.stack([b[1], b[2]])]).astype(np.float64, copy=False)


def _num(v: float) -> str:
    """Shortest round-tripping text for a coefficient: 4.0 -> '4', 0.45807 -> '0.45807'."""
    s = repr(float(v))
    return s[:-2] if s.endswith(".0") else s


def _times(c: float, term: str) -> str:
    """``c*term``, written ``term/50`` when 1/c is a whole number, as in the post's ``x**2/50``."""
    if c == 1:
        return term
    inv = 1.0 / c
    if c > 0 and abs(inv) < 1e15 and inv == round(inv):
        return f"{term}/{int(round(inv))}"
    return f"{_num(c)}*{term}"


def _shifted(var: str, c: float) -> str:
    if c == 0:
        return var
    return f"({var}-{_num(c)})" if c > 0 else f"({var}+{_num(-c)})"


def _tidy(formula: str) -> str:
    return formula.replace("+ -", "- ")


def _newton(gradient, hessian, seed, tol: float = 1e-10, steps: int = 60) -> tuple[float, float] | None:
    """Refine a minimum from a nearby seed. A seed whose gradient is already below ``tol`` is returned
    unchanged, so exact minima such as (0, 0) stay exact. None if it does not converge to a minimum."""
    p = np.array(seed, dtype=np.float64)
    for _ in range(steps):
        g = gradient(p)
        if not np.all(np.isfinite(g)):
            return None
        if np.max(np.abs(g)) <= tol:
            break
        try:
            p = p - np.linalg.solve(hessian(p), g)
        except np.linalg.LinAlgError:
            return None
    else:
        return None
    if not np.all(np.linalg.eigvalsh(hessian(p)) > 0):
        return None
    return float(p[0]), float(p[1])


def _refined(gradient, hessian, seeds) -> tuple[tuple[float, float], ...]:
    """Newton-refine published (rounded) minima so the listed ones have zero gradient to rounding."""
    out = []
    for seed in seeds:
        p = _newton(gradient, hessian, seed)
        if p is None:
            raise RuntimeError(f"minimum near {seed} did not refine")  # a typo in a seed, not user input
        out.append(p)
    return tuple(out)


def _positive(**values: float) -> None:
    for key, v in values.items():
        if not v > 0:
            raise ValueError(f"{key}: must be positive, got {_num(v)}")


# --- the post's functions ------------------------------------------------------------------------------------

@register("parabola", "a*x**2 + b*y**2", "the post's elongated bowl", a=1 / 50, b=1.0)
def parabola(a: float, b: float) -> Objective:
    _positive(a=a, b=b)

    def value(xy):
        x, y = _xy(xy)
        return a * x**2 + b * y**2

    def gradient(xy):
        x, y = _xy(xy)
        return _grad(2 * a * x, 2 * b * y, np.shape(x))

    def hessian(xy):
        x, _ = _xy(xy)
        return _hess(2 * a, 0.0, 2 * b, np.shape(x))

    formula = f"{_times(a, 'x**2')} + {_times(b, 'y**2')}"
    return Objective("parabola", formula, MappingProxyType({"a": a, "b": b}), value, gradient, hessian,
                     minima=((0.0, 0.0),), xlim=(-5.5, 5.5), ylim=(-5.5, 5.5), start=(4.0, 4.0))


@register("bumpy",
          "a*x**2 + b*y**2 - depth*exp(-r2/width) + rim*exp(-r2/rim_width), r2 = |(x, y) - center|**2",
          "the post's bowl with a small dip near (4, 1) that traps plain SGD",
          a=1 / 50, b=1.0, depth=3.04353, width=0.45807, rim=2.44326, rim_width=0.55007, center=(4.0, 1.0))
def bumpy(a, b, depth, width, rim, rim_width, center) -> Objective:
    """A wide dip minus a slightly wider bump: a local minimum with a faint rim. The defaults are an
    empirical fit that reproduces the post's local-minimum GIF to the pixel; its formula was never published."""
    _positive(a=a, b=b, width=width, rim_width=rim_width)
    cx, cy = center

    def parts(xy):
        x, y = _xy(xy)
        dx, dy = x - cx, y - cy
        r2 = dx**2 + dy**2
        e1, e2 = np.exp(-r2 / width), np.exp(-r2 / rim_width)
        g1 = depth / width * e1 - rim / rim_width * e2              # d(dip)/d(r2)
        g2 = -depth / width**2 * e1 + rim / rim_width**2 * e2       # d2(dip)/d(r2)2
        return x, y, dx, dy, e1, e2, g1, g2

    def value(xy):
        x, y, _, _, e1, e2, _, _ = parts(xy)
        return a * x**2 + b * y**2 - depth * e1 + rim * e2

    def gradient(xy):
        x, y, dx, dy, _, _, g1, _ = parts(xy)
        return _grad(2 * a * x + 2 * dx * g1, 2 * b * y + 2 * dy * g1, np.shape(x))

    def hessian(xy):
        x, _, dx, dy, _, _, g1, g2 = parts(xy)
        return _hess(2 * a + 2 * g1 + 4 * dx**2 * g2, 4 * dx * dy * g2, 2 * b + 2 * g1 + 4 * dy**2 * g2,
                     np.shape(x))

    # The bowl's bottom and the dip are found, not assumed: with other coefficients the dip may vanish
    # or become the global minimum.
    found: list[tuple[float, float]] = []
    for seed in ((0.0, 0.0), center):
        p = _newton(gradient, hessian, seed)
        if p is not None and all(np.hypot(p[0] - q[0], p[1] - q[1]) > 1e-6 for q in found):
            found.append(p)
    found.sort(key=lambda p: float(value(p)))
    r2 = f"{_shifted('x', cx)}**2 + {_shifted('y', cy)}**2"
    formula = _tidy(f"{_times(a, 'x**2')} + {_times(b, 'y**2')} + {_num(-depth)}*exp(-r2/{_num(width)})"
                    f" + {_num(rim)}*exp(-r2/{_num(rim_width)}), r2 = {r2}")
    params = dict(a=a, b=b, depth=depth, width=width, rim=rim, rim_width=rim_width, center=(cx, cy))
    lim = max(5.5, abs(cx) + 1.5, abs(cy) + 1.5)
    return Objective("bumpy", formula, MappingProxyType(params), value, gradient, hessian,
                     minima=tuple(found[:1]), local_minima=tuple(found[1:]),
                     xlim=(-lim, lim), ylim=(-lim, lim), start=(4.0, 4.0))


# --- benchmark functions (https://en.wikipedia.org/wiki/Test_functions_for_optimization) --------------------
# Views follow that page. Default starts are far from the minimum, and plain gradient flow from them reaches
# the global minimum, except on rastrigin and ackley, where being trapped is the point, and saddle, which has none.

_BEALE = "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2"


@register("beale", _BEALE, "flat valleys and steep walls: the post's Adam and RMSProp race")
def beale() -> Objective:
    # f = sum (c_i - x + x*y**i)**2, i = 1..3
    def terms(xy):
        x, y = _xy(xy)
        for i, c in ((1, 1.5), (2, 2.25), (3, 2.625)):
            t = c - x + x * y**i
            tx, ty = y**i - 1, i * x * y ** (i - 1)                              # first derivatives of t
            txy, tyy = i * y ** (i - 1), i * (i - 1) * x * y ** max(i - 2, 0)    # second (txx = 0)
            yield x, t, tx, ty, txy, tyy

    def value(xy):     # the terms alone: the contour grid (62,500 points) needs no derivatives
        x, y = _xy(xy)
        return sum((c - x + x * y**i) ** 2 for i, c in ((1, 1.5), (2, 2.25), (3, 2.625)))

    def gradient(xy):
        gx = gy = 0.0
        for x, t, tx, ty, _, _ in terms(xy):
            gx, gy = gx + 2 * t * tx, gy + 2 * t * ty
        return _grad(gx, gy, np.shape(x))

    def hessian(xy):
        hxx = hxy = hyy = 0.0
        for x, t, tx, ty, txy, tyy in terms(xy):
            hxx = hxx + 2 * tx**2
            hxy = hxy + 2 * (tx * ty + t * txy)
            hyy = hyy + 2 * (ty**2 + t * tyy)
        return _hess(hxx, hxy, hyy, np.shape(x))

    return Objective("beale", _BEALE, MappingProxyType({}), value, gradient, hessian,
                     minima=((3.0, 0.5),), xlim=(-4.5, 4.5), ylim=(-4.5, 4.5), start=(2.0, 1.7))


@register("rosenbrock", "(a - x)**2 + b*(y - x**2)**2", "the banana valley: easy to find, slow to follow",
          a=1.0, b=100.0)
def rosenbrock(a: float, b: float) -> Objective:
    _positive(b=b)

    def value(xy):
        x, y = _xy(xy)
        return (a - x) ** 2 + b * (y - x**2) ** 2

    def gradient(xy):
        x, y = _xy(xy)
        return _grad(-2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2), np.shape(x))

    def hessian(xy):
        x, y = _xy(xy)
        return _hess(2 - 4 * b * y + 12 * b * x**2, -4 * b * x, 2 * b, np.shape(x))

    # The default view is scipy's and Wikipedia's; it widens so that another `a` keeps the minimum in sight.
    xlim = (min(-2.0, a - 1.0), max(2.0, a + 1.0))
    ylim = (min(-1.0, a * a - 1.0), max(3.0, a * a + 1.0))
    return Objective("rosenbrock", f"({_num(a)} - x)**2 + {_num(b)}*(y - x**2)**2",
                     MappingProxyType({"a": a, "b": b}), value, gradient, hessian,
                     minima=((a, a * a),), xlim=xlim, ylim=ylim, start=(-1.5, 2.0))


_HIMMELBLAU = "(x**2 + y - 11)**2 + (x + y**2 - 7)**2"


@register("himmelblau", _HIMMELBLAU, "four equal minima: which one an optimizer picks depends on its path")
def himmelblau() -> Objective:
    def value(xy):
        x, y = _xy(xy)
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    def gradient(xy):
        x, y = _xy(xy)
        p, q = x**2 + y - 11, x + y**2 - 7
        return _grad(4 * x * p + 2 * q, 2 * p + 4 * y * q, np.shape(x))

    def hessian(xy):
        x, y = _xy(xy)
        p, q = x**2 + y - 11, x + y**2 - 7
        return _hess(4 * p + 8 * x**2 + 2, 4 * (x + y), 2 + 4 * q + 8 * y**2, np.shape(x))

    minima = _refined(gradient, hessian,
                      ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)))
    return Objective("himmelblau", _HIMMELBLAU, MappingProxyType({}), value, gradient, hessian,
                     minima=minima, xlim=(-5.0, 5.0), ylim=(-5.0, 5.0), start=(0.0, 0.0))


@register("rastrigin", "2*A + x**2 - A*cos(2*pi*x) + y**2 - A*cos(2*pi*y)",
          "a bowl covered in a grid of local minima", A=10.0)
def rastrigin(A: float) -> Objective:
    if A < 0:
        raise ValueError(f"A: must be >= 0 (a negative A turns the origin into a maximum), got {_num(A)}")
    w = 2 * np.pi

    def value(xy):
        x, y = _xy(xy)
        return 2 * A + x**2 - A * np.cos(w * x) + y**2 - A * np.cos(w * y)

    def gradient(xy):
        x, y = _xy(xy)
        return _grad(2 * x + A * w * np.sin(w * x), 2 * y + A * w * np.sin(w * y), np.shape(x))

    def hessian(xy):
        x, y = _xy(xy)
        return _hess(2 + A * w**2 * np.cos(w * x), 0.0, 2 + A * w**2 * np.cos(w * y), np.shape(x))

    formula = _tidy(f"{_num(2 * A)} + x**2 - {_num(A)}*cos(2*pi*x) + y**2 - {_num(A)}*cos(2*pi*y)")
    return Objective("rastrigin", formula, MappingProxyType({"A": A}), value, gradient, hessian,
                     minima=((0.0, 0.0),), xlim=(-5.12, 5.12), ylim=(-5.12, 5.12), start=(4.2, 3.7))


_ACKLEY = "-20*exp(-0.2*sqrt(0.5*(x**2 + y**2))) - exp(0.5*(cos(2*pi*x) + cos(2*pi*y))) + e + 20"


@register("ackley", _ACKLEY, "a nearly flat, rippled plateau around one sharp funnel")
def ackley() -> Objective:
    """The funnel's tip at the origin is a cone point: neither gradient nor Hessian exists there. We give the
    subgradient 0 (so optimizers stop at the minimum instead of getting NaN) and, consistently, drop the cone
    term's curvature at that single point (its true limit is infinite), keeping only the cosine term's."""
    w = 2 * np.pi

    def parts(xy):
        x, y = _xy(xy)
        s = np.sqrt(0.5 * (x**2 + y**2))
        tip = s == 0
        s_safe = np.where(tip, 1.0, s)
        e1 = np.exp(-0.2 * s)
        e2 = np.exp(0.5 * (np.cos(w * x) + np.cos(w * y)))
        return x, y, s, tip, s_safe, e1, e2

    def value(xy):
        _, _, _, _, _, e1, e2 = parts(xy)
        return -20 * e1 - e2 + np.e + 20

    def gradient(xy):
        x, y, _, tip, s_safe, e1, e2 = parts(xy)
        u = np.where(tip, 0.0, 2 * e1 / s_safe)            # cone term: grad = u * (x, y)
        v = np.pi * e2                                     # cosine term: grad = v * sin(2 pi (x, y))
        return _grad(u * x + v * np.sin(w * x), u * y + v * np.sin(w * y), np.shape(x))

    def hessian(xy):
        x, y, _, tip, s, e1, e2 = parts(xy)
        u = np.where(tip, 0.0, 2 * e1 / s)
        du = np.where(tip, 0.0, -2 * e1 * (0.2 * s + 1) / s**2 * 0.5 / s)   # du/ds * ds/d(x or y) / (x or y)
        sx, sy = np.sin(w * x), np.sin(w * y)
        hxx = u + du * x**2 + np.pi * e2 * (w * np.cos(w * x) - np.pi * sx**2)
        hyy = u + du * y**2 + np.pi * e2 * (w * np.cos(w * y) - np.pi * sy**2)
        hxy = du * x * y - np.pi**2 * e2 * sx * sy
        return _hess(hxx, hxy, hyy, np.shape(x))

    return Objective("ackley", _ACKLEY, MappingProxyType({}), value, gradient, hessian,
                     minima=((0.0, 0.0),), xlim=(-5.0, 5.0), ylim=(-5.0, 5.0), start=(4.2, 3.7))


_BOOTH = "(x + 2*y - 7)**2 + (2*x + y - 5)**2"


@register("booth", _BOOTH, "a tilted quadratic bowl")
def booth() -> Objective:
    def value(xy):
        x, y = _xy(xy)
        return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2

    def gradient(xy):
        x, y = _xy(xy)
        p, q = x + 2 * y - 7, 2 * x + y - 5
        return _grad(2 * p + 4 * q, 4 * p + 2 * q, np.shape(x))

    def hessian(xy):
        x, _ = _xy(xy)
        return _hess(10.0, 8.0, 10.0, np.shape(x))

    return Objective("booth", _BOOTH, MappingProxyType({}), value, gradient, hessian,
                     minima=((1.0, 3.0),), xlim=(-10.0, 10.0), ylim=(-10.0, 10.0), start=(-8.0, 8.0))


_MATYAS = "0.26*(x**2 + y**2) - 0.48*x*y"


@register("matyas", _MATYAS, "a long, nearly flat diagonal valley")
def matyas() -> Objective:
    def value(xy):
        x, y = _xy(xy)
        return 0.26 * (x**2 + y**2) - 0.48 * x * y

    def gradient(xy):
        x, y = _xy(xy)
        return _grad(0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x, np.shape(x))

    def hessian(xy):
        x, _ = _xy(xy)
        return _hess(0.52, -0.48, 0.52, np.shape(x))

    return Objective("matyas", _MATYAS, MappingProxyType({}), value, gradient, hessian,
                     minima=((0.0, 0.0),), xlim=(-10.0, 10.0), ylim=(-10.0, 10.0), start=(8.0, 5.0))


@register("saddle", "x**2 - y**2", "a saddle point: no minimum, just how fast each optimizer escapes")
def saddle() -> Objective:
    def value(xy):
        x, y = _xy(xy)
        return x**2 - y**2

    def gradient(xy):
        x, y = _xy(xy)
        return _grad(2 * x, -2 * y, np.shape(x))

    def hessian(xy):
        x, _ = _xy(xy)
        return _hess(2.0, 0.0, -2.0, np.shape(x))

    return Objective("saddle", "x**2 - y**2", MappingProxyType({}), value, gradient, hessian,
                     minima=(), xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), start=(1.5, 0.01))


_GOLDSTEIN_PRICE = ("(1 + (x + y + 1)**2*(19 - 14*x + 3*x**2 - 14*y + 6*x*y + 3*y**2))"
                    "*(30 + (2*x - 3*y)**2*(18 - 32*x + 12*x**2 + 48*y - 36*x*y + 27*y**2))")


@register("goldstein_price", _GOLDSTEIN_PRICE, "a minimum of 3 among terraces spanning six orders of magnitude")
def goldstein_price() -> Objective:
    def factor(c, lx, ly, l, q, qx, qy, qxx, qxy, qyy):
        """Value, gradient and Hessian of c + l**2*q for linear l (gradient lx, ly) and quadratic q."""
        v = c + l**2 * q
        vx, vy = 2 * l * lx * q + l**2 * qx, 2 * l * ly * q + l**2 * qy
        vxx = 2 * lx * lx * q + 4 * l * lx * qx + l**2 * qxx
        vxy = 2 * lx * ly * q + 2 * l * (lx * qy + ly * qx) + l**2 * qxy
        vyy = 2 * ly * ly * q + 4 * l * ly * qy + l**2 * qyy
        return v, vx, vy, vxx, vxy, vyy

    def parts(xy):
        x, y = _xy(xy)
        A = factor(1, 1, 1, x + y + 1, 19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2,
                   -14 + 6 * x + 6 * y, -14 + 6 * x + 6 * y, 6, 6, 6)
        B = factor(30, 2, -3, 2 * x - 3 * y, 18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2,
                   -32 + 24 * x - 36 * y, 48 - 36 * x + 54 * y, 24, -36, 54)
        return x, A, B

    def value(xy):
        _, A, B = parts(xy)
        return A[0] * B[0]

    def gradient(xy):
        x, (a, ax, ay, *_), (b, bx, by, *_) = parts(xy)
        return _grad(ax * b + a * bx, ay * b + a * by, np.shape(x))

    def hessian(xy):
        x, (a, ax, ay, axx, axy, ayy), (b, bx, by, bxx, bxy, byy) = parts(xy)
        return _hess(axx * b + 2 * ax * bx + a * bxx, axy * b + ax * by + ay * bx + a * bxy,
                     ayy * b + 2 * ay * by + a * byy, np.shape(x))

    local = _refined(gradient, hessian, ((-0.6, -0.4), (1.8, 0.2), (1.2, 0.8)))   # values 30, 84, 840
    return Objective("goldstein_price", _GOLDSTEIN_PRICE, MappingProxyType({}), value, gradient, hessian,
                     minima=((0.0, -1.0),), local_minima=local,
                     xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), start=(1.5, -1.5))


_CAMEL = "(4 - 2.1*x**2 + x**4/3)*x**2 + x*y + (-4 + 4*y**2)*y**2"


@register("six_hump_camel", _CAMEL, "two global minima, mirror images, among six humps")
def six_hump_camel() -> Objective:
    def value(xy):
        x, y = _xy(xy)
        return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2

    def gradient(xy):
        x, y = _xy(xy)
        return _grad(8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3, np.shape(x))

    def hessian(xy):
        x, y = _xy(xy)
        return _hess(8 - 25.2 * x**2 + 10 * x**4, 1.0, -8 + 48 * y**2, np.shape(x))

    minima = _refined(gradient, hessian, ((0.0898, -0.7126), (-0.0898, 0.7126)))
    local = _refined(gradient, hessian, ((-1.7036, 0.7961), (1.7036, -0.7961), (1.6071, 0.5687),
                                         (-1.6071, -0.5687)))
    return Objective("six_hump_camel", _CAMEL, MappingProxyType({}), value, gradient, hessian,
                     minima=minima, local_minima=local, xlim=(-3.0, 3.0), ylim=(-2.0, 2.0), start=(-1.0, -1.5))


_STYBLINSKI_TANG = "(x**4 - 16*x**2 + 5*x + y**4 - 16*y**2 + 5*y)/2"


@register("styblinski_tang", _STYBLINSKI_TANG, "a separable quartic with one global and three local minima")
def styblinski_tang() -> Objective:
    def value(xy):
        x, y = _xy(xy)
        return (x**4 - 16 * x**2 + 5 * x + y**4 - 16 * y**2 + 5 * y) / 2

    def gradient(xy):
        x, y = _xy(xy)
        return _grad(2 * x**3 - 16 * x + 2.5, 2 * y**3 - 16 * y + 2.5, np.shape(x))

    def hessian(xy):
        x, y = _xy(xy)
        return _hess(6 * x**2 - 16, 0.0, 6 * y**2 - 16, np.shape(x))

    lo, hi = -2.903534, 2.746803   # the roots of 2t**3 - 16t + 2.5 that are minima; refined below
    minima = _refined(gradient, hessian, ((lo, lo),))
    local = _refined(gradient, hessian, ((hi, hi), (lo, hi), (hi, lo)))
    return Objective("styblinski_tang", _STYBLINSKI_TANG, MappingProxyType({}), value, gradient, hessian,
                     minima=minima, local_minima=local, xlim=(-5.0, 5.0), ylim=(-5.0, 5.0), start=(-4.5, 0.0))


# --- the surfaces optimizer benchmarks draw (pytorch-optimizer's plots, Optimizer-Benchmark) -----------------
# Definitions as in https://www.sfu.ca/~ssurjano/optimization.html; multi-modal ones start where being trapped is
# the point. Formulas are written out in full, so they read (and parse) as they are computed.

@register("sphere", "x**2 + y**2", "the round bowl every optimizer should solve: a sanity check")
def sphere() -> Objective:
    def value(xy):
        x, y = _xy(xy)
        return x**2 + y**2

    def gradient(xy):
        x, y = _xy(xy)
        return _grad(2 * x, 2 * y, np.shape(x))

    def hessian(xy):
        x, _ = _xy(xy)
        return _hess(2.0, 0.0, 2.0, np.shape(x))

    return Objective("sphere", "x**2 + y**2", MappingProxyType({}), value, gradient, hessian,
                     minima=((0.0, 0.0),), xlim=(-5.0, 5.0), ylim=(-5.0, 5.0), start=(-4.0, 3.0))


_CROSS_IN_TRAY = "-0.0001*(abs(sin(x)*sin(y)*exp(abs(100 - sqrt(x**2 + y**2)/pi))) + 1)**0.1"


@register("cross_in_tray", _CROSS_IN_TRAY, "four global minima in a tray of ridges along sin(x)*sin(y) = 0")
def cross_in_tray() -> Objective:
    """``-1e-4*(P + 1)**0.1`` with ``P = |u|*E``, ``u = sin(x)sin(y)``, ``E = exp(|q|)``, ``q = 100 - r/pi``. The
    ridges (u = 0) are kinks and the origin a cone point of r; there the one-sided derivatives are dropped, as
    ackley's tip is, and |u|'s subgradient is 0."""

    def parts(xy):
        x, y = _xy(xy)
        r = np.sqrt(x**2 + y**2)
        tip = r == 0
        r_safe = np.where(tip, 1.0, r)
        rx, ry = np.where(tip, 0.0, x / r_safe), np.where(tip, 0.0, y / r_safe)
        q = 100 - r / np.pi
        sq = np.sign(q)
        E = np.exp(np.abs(q))
        u = np.sin(x) * np.sin(y)
        su = np.sign(u)
        ux, uy, uxy = np.cos(x) * np.sin(y), np.sin(x) * np.cos(y), np.cos(x) * np.cos(y)
        Ex, Ey = -E * sq * rx / np.pi, -E * sq * ry / np.pi
        P = np.abs(u) * E
        Px, Py = su * ux * E + np.abs(u) * Ex, su * uy * E + np.abs(u) * Ey
        return x, y, r_safe, tip, rx, ry, sq, E, u, su, ux, uy, uxy, Ex, Ey, P, Px, Py

    def value(xy):
        x, y = _xy(xy)
        return -0.0001 * (np.abs(np.sin(x) * np.sin(y) * np.exp(np.abs(100 - np.sqrt(x**2 + y**2) / np.pi))) + 1) ** 0.1

    def gradient(xy):
        x, *_, P, Px, Py = parts(xy)
        k = -1e-5 * (P + 1) ** -0.9
        return _grad(k * Px, k * Py, np.shape(x))

    def hessian(xy):
        x, y, r, tip, rx, ry, sq, E, u, su, ux, uy, uxy, Ex, Ey, P, Px, Py = parts(xy)
        rxx = np.where(tip, 0.0, (1 - rx * rx) / r)            # second derivatives of r
        rxy = np.where(tip, 0.0, -rx * ry / r)
        ryy = np.where(tip, 0.0, (1 - ry * ry) / r)
        qx, qy = -rx / np.pi, -ry / np.pi
        Exx = E * (qx * qx - sq * rxx / np.pi)
        Exy = E * (qx * qy - sq * rxy / np.pi)
        Eyy = E * (qy * qy - sq * ryy / np.pi)
        au = np.abs(u)
        Pxx = -su * u * E + 2 * su * ux * Ex + au * Exx
        Pxy = su * (uxy * E + ux * Ey + uy * Ex) + au * Exy
        Pyy = -su * u * E + 2 * su * uy * Ey + au * Eyy
        k1, k2 = -1e-5 * (P + 1) ** -0.9, 9e-6 * (P + 1) ** -1.9
        return _hess(k1 * Pxx + k2 * Px * Px, k1 * Pxy + k2 * Px * Py, k1 * Pyy + k2 * Py * Py, np.shape(x))

    c = 1.349406608602084   # where the four global minima sit; refined below
    minima = _refined(gradient, hessian, ((c, c), (-c, c), (-c, -c), (c, -c)))
    return Objective("cross_in_tray", _CROSS_IN_TRAY, MappingProxyType({}), value, gradient, hessian,
                     minima=minima, xlim=(-10.0, 10.0), ylim=(-10.0, 10.0), start=(4.5, 6.0))


_EGGHOLDER = "-(y + 47)*sin(sqrt(abs(x/2 + y + 47))) - x*sin(sqrt(abs(x - y - 47)))"


@register("eggholder", _EGGHOLDER, "a deep, irregular egg crate: hundreds of local minima")
def eggholder() -> Objective:
    """The classic minimum, -959.64 at (512, 404.23), is the corner of the box [-512, 512]**2, where the slope is
    not zero. The view here is a little wider, [-550, 550]**2, and its lowest point is a true minimum,
    -976.91 at (522.16, 413.32). On the lines where a square root's argument is 0 the slope is infinite; there
    its derivatives are set to 0."""

    def s(t):
        """sin(sqrt|t|) and its first two derivatives in t."""
        a = np.abs(t)
        root = np.sqrt(a)
        zero = a == 0
        safe_a, safe_root = np.where(zero, 1.0, a), np.where(zero, 1.0, root)
        d1 = np.where(zero, 0.0, np.cos(root) * np.sign(t) / (2 * safe_root))
        d2 = np.where(zero, 0.0, -np.sin(root) / (4 * safe_a) - np.cos(root) / (4 * safe_root**3))
        return np.sin(root), d1, d2

    def parts(xy):
        x, y = _xy(xy)
        return x, y + 47, s(x / 2 + y + 47), s(x - y - 47)

    def value(xy):
        x, y = _xy(xy)
        return -(y + 47) * np.sin(np.sqrt(np.abs(x / 2 + y + 47))) - x * np.sin(np.sqrt(np.abs(x - y - 47)))

    def gradient(xy):
        x, w, (sa, da, _), (sb, db, _) = parts(xy)
        return _grad(-w * da / 2 - sb - x * db, -sa - w * da + x * db, np.shape(x))

    def hessian(xy):
        x, w, (_, da, dda), (_, db, ddb) = parts(xy)
        return _hess(-w * dda / 4 - 2 * db - x * ddb, -da / 2 - w * dda / 2 + db + x * ddb,
                     -2 * da - w * dda - x * ddb, np.shape(x))

    minima = _refined(gradient, hessian, ((522.16, 413.32),))
    return Objective("eggholder", _EGGHOLDER, MappingProxyType({}), value, gradient, hessian,
                     minima=minima, xlim=(-550.0, 550.0), ylim=(-550.0, 550.0), start=(-350.0, 250.0))


_LANGERMANN_TERMS = ((1.0, 3.0, 5.0), (2.0, 5.0, 2.0), (5.0, 2.0, 1.0), (2.0, 1.0, 4.0), (3.0, 7.0, 9.0))  # c, a, b
_LANGERMANN = " + ".join(
    f"{_times(c, f'exp(-((x - {a:g})**2 + (y - {b:g})**2)/pi)')}*cos(pi*((x - {a:g})**2 + (y - {b:g})**2))"
    for c, a, b in _LANGERMANN_TERMS)


@register("langermann", _LANGERMANN, "five rippled wells of different depths, unevenly spaced")
def langermann() -> Objective:
    """``sum_i c_i h(d_i)``, ``h(d) = exp(-d/pi) cos(pi d)``, ``d_i = (x - a_i)**2 + (y - b_i)**2`` (m = 5)."""

    def parts(xy):
        x, y = _xy(xy)
        for c, a, b in _LANGERMANN_TERMS:
            dx, dy = x - a, y - b
            d = dx**2 + dy**2
            e, cs, sn = np.exp(-d / np.pi), np.cos(np.pi * d), np.sin(np.pi * d)
            h1 = e * (-cs / np.pi - np.pi * sn)                              # dh/dd
            h2 = e * ((1 / np.pi**2 - np.pi**2) * cs + 2 * sn)               # d2h/dd2
            yield x, c, dx, dy, e * cs, h1, h2

    def value(xy):
        return sum(c * h for _, c, _, _, h, _, _ in parts(xy))

    def gradient(xy):
        gx = gy = 0.0
        for x, c, dx, dy, _, h1, _ in parts(xy):
            gx, gy = gx + 2 * c * h1 * dx, gy + 2 * c * h1 * dy
        return _grad(gx, gy, np.shape(x))

    def hessian(xy):
        hxx = hxy = hyy = 0.0
        for x, c, dx, dy, _, h1, h2 in parts(xy):
            hxx = hxx + c * (4 * h2 * dx**2 + 2 * h1)
            hxy = hxy + c * 4 * h2 * dx * dy
            hyy = hyy + c * (4 * h2 * dy**2 + 2 * h1)
        return _hess(hxx, hxy, hyy, np.shape(x))

    minima = _refined(gradient, hessian, ((2.7934, 1.5972),))
    return Objective("langermann", _LANGERMANN, MappingProxyType({}), value, gradient, hessian,
                     minima=minima, xlim=(0.0, 10.0), ylim=(0.0, 10.0), start=(4.6, 6.7))


_LEVY = ("sin(pi*(1 + (x - 1)/4))**2 + ((x - 1)/4)**2*(1 + 10*sin(pi*(1 + (x - 1)/4) + 1)**2)"
         " + ((y - 1)/4)**2*(1 + sin(2*pi*(1 + (y - 1)/4))**2)")


@register("levy", _LEVY, "Levy's function: a separable landscape of ridges around one minimum at (1, 1)")
def levy() -> Objective:
    """With ``w = 1 + (x - 1)/4`` and ``v = 1 + (y - 1)/4`` it is ``A(w) + B(v)``, separable, so the Hessian is
    diagonal and each part's derivatives are one-dimensional (``d/dx = d/dw / 4``)."""
    pi = np.pi

    def parts(xy):
        x, y = _xy(xy)
        w, v = 1 + (x - 1) / 4, 1 + (y - 1) / 4
        return x, w, v, w - 1, v - 1

    def value(xy):
        x, w, v, dw, dv = parts(xy)
        return np.sin(pi * w) ** 2 + dw**2 * (1 + 10 * np.sin(pi * w + 1) ** 2) + dv**2 * (1 + np.sin(2 * pi * v) ** 2)

    def gradient(xy):
        x, w, v, dw, dv = parts(xy)
        a1 = pi * np.sin(2 * pi * w) + 2 * dw * (1 + 10 * np.sin(pi * w + 1) ** 2) + 10 * pi * dw**2 * np.sin(2 * pi * w + 2)
        b1 = 2 * dv * (1 + np.sin(2 * pi * v) ** 2) + 2 * pi * dv**2 * np.sin(4 * pi * v)
        return _grad(a1 / 4, b1 / 4, np.shape(x))

    def hessian(xy):
        x, w, v, dw, dv = parts(xy)
        a2 = (2 * pi**2 * np.cos(2 * pi * w) + 2 + 20 * np.sin(pi * w + 1) ** 2
              + 40 * pi * dw * np.sin(2 * pi * w + 2) + 20 * pi**2 * dw**2 * np.cos(2 * pi * w + 2))
        b2 = 2 + 2 * np.sin(2 * pi * v) ** 2 + 8 * pi * dv * np.sin(4 * pi * v) + 8 * pi**2 * dv**2 * np.cos(4 * pi * v)
        return _hess(a2 / 16, 0.0, b2 / 16, np.shape(x))

    return Objective("levy", _LEVY, MappingProxyType({}), value, gradient, hessian,
                     minima=((1.0, 1.0),), xlim=(-10.0, 10.0), ylim=(-10.0, 10.0), start=(-9.5, -7.7))


_SCHAFFER2 = "0.5 + (sin(x**2 - y**2)**2 - 0.5)/(1 + 0.001*(x**2 + y**2))**2"


@register("schaffer2", _SCHAFFER2, "Schaffer's second function: saddle ripples with valleys along the diagonals")
def schaffer2() -> Objective:
    """``0.5 + N/Q`` with ``N = sin(u)**2 - 1/2``, ``u = x**2 - y**2``, ``Q = D**2``, ``D = 1 + 0.001 r**2``; the
    quotient rule twice. Shown on [-5, 5]**2 (the usual box, [-100, 100]**2, is ripples finer than a pixel)."""

    def parts(xy):
        x, y = _xy(xy)
        u = x**2 - y**2
        s2, c2 = np.sin(2 * u), np.cos(2 * u)
        D = 1 + 0.001 * (x**2 + y**2)
        N = np.sin(u) ** 2 - 0.5
        n = (2 * x * s2, -2 * y * s2)                                         # N_x, N_y
        nn = (8 * x**2 * c2 + 2 * s2, -8 * x * y * c2, 8 * y**2 * c2 - 2 * s2)  # N_xx, N_xy, N_yy
        Q = D**2
        q = (0.004 * x * D, 0.004 * y * D)
        qq = (0.004 * D + 8e-6 * x**2, 8e-6 * x * y, 0.004 * D + 8e-6 * y**2)
        return x, N, n, nn, Q, q, qq

    def value(xy):
        x, y = _xy(xy)
        return 0.5 + (np.sin(x**2 - y**2) ** 2 - 0.5) / (1 + 0.001 * (x**2 + y**2)) ** 2

    def gradient(xy):
        x, N, n, _, Q, q, _ = parts(xy)
        return _grad(n[0] / Q - N * q[0] / Q**2, n[1] / Q - N * q[1] / Q**2, np.shape(x))

    def hessian(xy):
        x, N, n, nn, Q, q, qq = parts(xy)

        def second(i, j, k):   # (N/Q)_ij; k indexes the (xx, xy, yy) triples
            return (nn[k] / Q - (n[i] * q[j] + n[j] * q[i]) / Q**2 - N * qq[k] / Q**2
                    + 2 * N * q[i] * q[j] / Q**3)

        return _hess(second(0, 0, 0), second(0, 1, 1), second(1, 1, 2), np.shape(x))

    return Objective("schaffer2", _SCHAFFER2, MappingProxyType({}), value, gradient, hessian,
                     minima=((0.0, 0.0),), xlim=(-5.0, 5.0), ylim=(-5.0, 5.0), start=(4.1, 4.2))


_SHUBERT_SUM = " + ".join(_times(float(i), f"cos({i + 1}*{{v}} + {i})") for i in range(1, 6))
_SHUBERT = f"({_SHUBERT_SUM.format(v='x')})*({_SHUBERT_SUM.format(v='y')})"


@register("shubert", _SHUBERT, "a grid of 760 local minima, 18 of them global, in pairs")
def shubert() -> Objective:
    """``G(x)*G(y)``, ``G(t) = sum_{i=1..5} i*cos((i+1)*t + i)``."""
    i = np.arange(1.0, 6.0)

    def g(t):
        """G, G' and G'' at every element of t."""
        arg = (i + 1) * t[..., None] + i
        return (np.sum(i * np.cos(arg), axis=-1), -np.sum(i * (i + 1) * np.sin(arg), axis=-1),
                -np.sum(i * (i + 1) ** 2 * np.cos(arg), axis=-1))

    def value(xy):
        x, y = _xy(xy)
        return g(x)[0] * g(y)[0]

    def gradient(xy):
        x, y = _xy(xy)
        (gx, dgx, _), (gy, dgy, _) = g(x), g(y)
        return _grad(dgx * gy, gx * dgy, np.shape(x))

    def hessian(xy):
        x, y = _xy(xy)
        (gx, dgx, ddgx), (gy, dgy, ddgy) = g(x), g(y)
        return _hess(ddgx * gy, dgx * dgy, gx * ddgy, np.shape(x))

    low, high = (-7.70831, -1.42513, 4.85806), (-7.08351, -0.80032, 5.48286)   # where G is lowest, highest
    seeds = [(a, b) for a in low for b in high] + [(b, a) for a in low for b in high]
    return Objective("shubert", _SHUBERT, MappingProxyType({}), value, gradient, hessian,
                     minima=tuple(sorted(_refined(gradient, hessian, seeds))),
                     xlim=(-10.0, 10.0), ylim=(-10.0, 10.0), start=(1.81, 1.82))


# --- a sum of data terms, for real stochastic gradients ------------------------------------------------------

def least_squares_data(n: float, seed: float, slope: float, intercept: float, noise: float) -> tuple[Array, Array]:
    """The points (u_i, v_i) a ``least_squares`` function fits: ``n`` of them, drawn from ``seed``."""
    rng = np.random.default_rng(int(seed))
    u = rng.uniform(-2.0, 2.0, int(n))
    return u, slope * u + intercept + noise * rng.standard_normal(int(n))


@register("least_squares", "mean_i (x*u_i + y - v_i)**2 / 2 over n points v_i = slope*u_i + intercept + noise",
          "fitting a line (slope x, intercept y) to n noisy points; minibatches sample the points",
          n=64.0, seed=0.0, slope=2.0, intercept=1.0, noise=0.5)
def least_squares(n: float, seed: float, slope: float, intercept: float, noise: float) -> Objective:
    if n != int(n) or not 2 <= n <= 100_000:
        raise ValueError(f"n: must be a whole number from 2 to 100000, got {n:g}")
    if seed != int(seed) or seed < 0:
        raise ValueError(f"seed: must be a whole number >= 0, got {seed:g}")
    if noise < 0:
        raise ValueError(f"noise: must be >= 0, got {noise:g}")
    u, v = least_squares_data(n, seed, slope, intercept, noise)
    mu, muu, mv, muv = u.mean(), (u * u).mean(), v.mean(), (u * v).mean()

    def value(xy):
        x, y = _xy(xy)
        r = x[..., None] * u + y[..., None] - v
        return 0.5 * np.mean(r * r, axis=-1)

    def gradient(xy):
        x, y = _xy(xy)
        return _grad(x * muu + y * mu - muv, x * mu + y - mv, np.shape(x))

    def hessian(xy):
        x, _ = _xy(xy)
        return _hess(muu, mu, 1.0, np.shape(x))

    def term_gradient(params, idx):
        uu, vv = u[idx], v[idx]
        r = params[:, :1] * uu + params[:, 1:] - vv
        return np.stack([np.mean(r * uu, axis=1), np.mean(r, axis=1)], axis=1)

    det = muu - mu * mu
    best = ((muv - mu * mv) / det, (muu * mv - mu * muv) / det)
    formula = (f"mean_i (x*u_i + y - v_i)**2 / 2, {int(n)} points v_i = {_num(slope)}*u_i + {_num(intercept)}"
               f" + {_num(noise)}*N(0, 1), u_i ~ U(-2, 2), seed {int(seed)}")
    params = MappingProxyType({"n": n, "seed": seed, "slope": slope, "intercept": intercept, "noise": noise})
    return Objective("least_squares", formula, params, value, gradient, hessian, minima=(best,),
                     xlim=(-5.5, 5.5), ylim=(-5.5, 5.5), start=(-4.0, -4.0), n_terms=int(n),
                     term_gradient=term_gradient)
