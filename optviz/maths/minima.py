"""Minima of a function found from its exact derivatives: for formulas, whose minima nobody wrote down, and to
check the ones a scene claims.

The search is saddle-free Newton (the Hessian's eigenvalues taken by absolute value, so every step goes
downhill) with a backtracking line search, from a grid of starts over the view plus every cell of a fine grid
that is lower than its eight neighbours (so rugged functions, Shubert's or the egg holder's, keep their deep
narrow wells), all starts at once; what it
reaches is kept when the gradient vanishes there and the Hessian is positive definite, and points closer than
a millionth of the view are one minimum.
"""
from __future__ import annotations

import numpy as np

from .functions import Objective

GRID = 16                   # starts per side of the view
FINE = 201                  # points per side of the grid whose own low cells are starts too (rugged functions)
LOW_CELLS = 512             # the lowest of those at most
ITERATIONS = 80
BACKTRACKS = 30
SAME = 1e-6                 # two minima closer than this fraction of the view are one
NEAR = 1e-3                 # a claimed minimum may be this fraction of the view away from the true one
MOST = 32                   # minima marked at most (the lowest ones; Shubert's function has 18)


def _step(objective: Objective, p: np.ndarray) -> np.ndarray:
    """Saddle-free Newton directions at points ``p`` (N, 2): -(|H|)^-1 g, |H| with eigenvalues |lambda|."""
    with np.errstate(all="ignore"):
        g = np.moveaxis(np.asarray(objective.gradient(p.T), dtype=float), 0, -1)
        h = np.moveaxis(np.asarray(objective.hessian(p.T), dtype=float), (0, 1), (-2, -1))
    ok = np.isfinite(g).all(axis=-1) & np.isfinite(h).all(axis=(-2, -1))
    g, h = np.where(ok[:, None], g, 0.0), np.where(ok[:, None, None], h, 0.0)
    lam, vec = np.linalg.eigh(h)
    mag = np.abs(lam)
    mag = np.maximum(mag, 1e-12 * np.maximum(1.0, mag.max(axis=-1, keepdims=True)))
    coords = np.einsum("nji,nj->ni", vec, g) / mag
    d = -np.einsum("nij,nj->ni", vec, coords)
    return np.where(ok[:, None], d, 0.0)


def descend(objective: Objective, starts, iterations: int = ITERATIONS) -> np.ndarray:
    """Where saddle-free Newton with a backtracking line search takes each start (N, 2)."""
    p = np.array(starts, dtype=float).reshape(-1, 2)
    with np.errstate(all="ignore"):
        f = np.asarray(objective.value(p.T), dtype=float)
    for _ in range(iterations):
        d = _step(objective, p)
        t = np.ones(len(p))
        moving = np.isfinite(f) & (np.abs(d).sum(axis=1) > 0)
        for _ in range(BACKTRACKS):
            with np.errstate(all="ignore"):
                trial = np.asarray(objective.value((p + t[:, None] * d).T), dtype=float)
            better = moving & np.isfinite(trial) & (trial <= f)
            p = np.where(better[:, None], p + t[:, None] * d, p)
            f = np.where(better, trial, f)
            moving &= ~better
            t = np.where(moving, t / 2, t)
            if not moving.any():
                break
    return p


def kind(objective: Objective, point) -> str:
    """'minimum', 'maximum', 'saddle' or 'flat' from the Hessian's eigenvalues at a stationary point."""
    with np.errstate(all="ignore"):
        lam = np.linalg.eigvalsh(np.asarray(objective.hessian(np.asarray(point, dtype=float)), dtype=float))
    if not np.isfinite(lam).all():
        return "flat"
    floor = 1e-8 * max(1.0, float(np.abs(lam).max()))
    if lam[0] > floor:
        return "minimum"
    if lam[1] < -floor:
        return "maximum"
    if lam[0] < -floor and lam[1] > floor:
        return "saddle"
    return "flat"


def find_minima(objective: Objective, xlim, ylim) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """The isolated minima inside the view: (the lowest ones, the other local minima), each sorted by x then y.
    At most ``MOST`` are returned as the lowest; none are when the function goes lower somewhere the search
    cannot reach (a kink such as Ackley's), so that no star claims a minimum that is not the lowest."""
    (x0, x1), (y0, y1) = xlim, ylim
    span = max(x1 - x0, y1 - y0)
    xs = x0 + (np.arange(GRID) + 0.5) * (x1 - x0) / GRID
    ys = y0 + (np.arange(GRID) + 0.5) * (y1 - y0) / GRID
    X, Y, z = _grid(objective, xlim, ylim)
    starts = np.concatenate([np.array([(x, y) for y in ys for x in xs]), _low_cells(X, Y, z)])
    ends = descend(objective, starts)
    inside = (ends[:, 0] >= x0) & (ends[:, 0] <= x1) & (ends[:, 1] >= y0) & (ends[:, 1] <= y1)
    found: list[np.ndarray] = []
    for p in ends[inside]:
        if any(np.linalg.norm(p - q) <= SAME * span for q in found):
            continue
        if _stationary(objective, p, span) and kind(objective, p) == "minimum":
            found.append(p)
    if not found:
        return [], []
    with np.errstate(all="ignore"):
        values = np.asarray(objective.value(np.array(found).T), dtype=float)
    lowest = float(values.min())
    tol = 1e-9 * max(1.0, abs(lowest))
    if np.nanmin(z) < lowest - tol:   # lower ground the search cannot reach: a kink (abs, sqrt)
        lowest = -np.inf
    order = np.lexsort((np.array(found)[:, 1], np.array(found)[:, 0]))
    best = [tuple(map(float, found[i])) for i in order if values[i] <= lowest + tol]
    rest = [tuple(map(float, found[i])) for i in order if values[i] > lowest + tol]
    return best[:MOST], rest


def _grid(objective: Objective, xlim, ylim, n: int = FINE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A fine grid over the view (its centre included) and the function on it, NaN where it is not finite."""
    X, Y = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
    with np.errstate(all="ignore"):
        z = np.asarray(objective.value(np.stack([X, Y])), dtype=float)
    return X, Y, np.where(np.isfinite(z), z, np.nan)


def _low_cells(X: np.ndarray, Y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The inner grid points lower than their eight neighbours, the lowest ``LOW_CELLS`` of them."""
    inner = z[1:-1, 1:-1]
    low = np.isfinite(inner)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                around = z[1 + dy:z.shape[0] - 1 + dy, 1 + dx:z.shape[1] - 1 + dx]
                with np.errstate(invalid="ignore"):
                    low &= ~(around < inner)
    rows, cols = np.nonzero(low)
    order = np.argsort(inner[rows, cols], kind="stable")[:LOW_CELLS]
    return np.column_stack([X[1:-1, 1:-1][rows[order], cols[order]], Y[1:-1, 1:-1][rows[order], cols[order]]])


def _stationary(objective: Objective, p, span: float) -> bool:
    """A further Newton step from ``p`` is negligible against the view: the gradient vanishes there."""
    d = _step(objective, np.asarray(p, dtype=float).reshape(1, 2))[0]
    return bool(np.isfinite(d).all() and np.linalg.norm(d) <= SAME * span)


def check_minimum(objective: Objective, point, xlim, ylim) -> str | None:
    """Why ``point`` is not a local minimum of the function (None when it is, to ``NEAR`` of the view)."""
    span = max(xlim[1] - xlim[0], ylim[1] - ylim[0])
    p = np.asarray(point, dtype=float)
    with np.errstate(all="ignore"):
        value = float(np.asarray(objective.value(p)))
        g = np.asarray(objective.gradient(p), dtype=float)
    if not np.isfinite(value) or not np.isfinite(g).all():
        return "the function is not defined there"
    where = f"({_g(p[0])}, {_g(p[1])})"
    if np.linalg.norm(_step(objective, p.reshape(1, 2))[0]) <= NEAR * span:
        shape = kind(objective, p)
        if shape in ("saddle", "maximum"):
            return f"{where} is {'a saddle point' if shape == 'saddle' else 'a maximum'}, not a minimum"
    end = descend(objective, p)[0]
    if np.linalg.norm(end - p) > NEAR * span:
        shape = kind(objective, end) if _stationary(objective, end, span) else ""
        near = f"; the nearest minimum downhill is near ({_g(end[0])}, {_g(end[1])})" if shape == "minimum" else ""
        return f"{where} is not a minimum: the gradient there is ({_g(g[0])}, {_g(g[1])}){near}"
    shape = kind(objective, end)
    if shape == "flat" and _lowest_around(objective, end, NEAR * span):
        shape = "minimum"
    if shape == "minimum":
        return None
    what = {"saddle": "a saddle point", "maximum": "a maximum", "flat": "not a minimum: the function is flat"}[shape]
    return f"{where} is {what}" + (", not a minimum" if shape != "flat" else " there")


def _lowest_around(objective: Objective, p, radius: float) -> bool:
    """No point on two small circles around ``p`` is lower: a minimum whose Hessian is singular (x**4 + y**4)."""
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    ring = np.concatenate([p + r * np.column_stack([np.cos(angles), np.sin(angles)]) for r in (radius, radius / 10)])
    with np.errstate(all="ignore"):
        around = np.asarray(objective.value(ring.T), dtype=float)
        here = float(np.asarray(objective.value(np.asarray(p, dtype=float))))
    return bool(np.isfinite(around).all() and (around >= here).all())


def _g(v: float) -> str:
    return f"{float(v):.4g}"
