r"""Second-order methods, Newton and BFGS, as ``init``/``update`` pairs over ``(runs, 2)`` arrays.

They need more than the gradient (the Hessian, or function values for a line search), so their builder
takes the objective: ``OPTIMIZERS[name].build(objective, **hyperparameters_except_lr)``. ``update`` has
the first-order signature, ``update(grads, state, params, lr) -> (new_params, new_state)``, with ``grads``
the gradient at ``params`` and ``lr`` a float or a ``(runs, 1)`` array.

Every run is independent and all runs advance in one vectorised call: Newton by closed-form 2x2 algebra,
BFGS by a backtracking line search that evaluates every pending run's trial point together. A non-finite
point never raises; it propagates, and optviz reads it as divergence.

Reference: J. Nocedal & S. J. Wright, *Numerical Optimization*, 2nd ed., Springer 2006 (N&W):
line searches and Newton's method with Hessian modification in chapter 3, BFGS in chapter 6.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .base import Hyper, Optimizer, OptimizerSpec, register

__all__ = ["NewtonState", "BFGSState", "newton", "bfgs"]

#: Newton: eigenvalue magnitudes of the Hessian are floored at this times max(1, largest magnitude).
CURVATURE_FLOOR = 1e-8
#: BFGS: the inverse-Hessian update is skipped unless s.y > this * |s| |y| (y's angle to s under 90 deg).
CURVATURE_GUARD = 1.4901161193847656e-08  # sqrt(machine epsilon)


def _float64(params, lr) -> tuple[np.ndarray, Any]:
    return (np.asarray(params, dtype=np.float64),
            float(lr) if np.ndim(lr) == 0 else np.asarray(lr, dtype=np.float64))


def _per_run(value):
    """A hyperparameter as the (runs,) vectors here want it: a scalar stays, a (runs, 1) array is flattened."""
    return np.asarray(value).reshape(-1) if isinstance(value, np.ndarray) else value


def _dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[:, 0] * v[:, 0] + u[:, 1] * v[:, 1]


# --- Newton ----------------------------------------------------------------------------------------------------

class NewtonState(NamedTuple):
    step: int


def _saddle_free_solve(hessian: np.ndarray, g: np.ndarray, damping: float) -> np.ndarray:
    r"""``(|H| + damping*I)^{-1} g`` for a batch of symmetric 2x2 ``hessian`` (2, 2, runs), ``g`` (runs, 2).

    With eigenvalues :math:`\lambda_1, \lambda_2` (:math:`|\lambda_1| \ge |\lambda_2|`) and the projector
    :math:`P_1` onto :math:`\lambda_1`'s eigenvector, :math:`f(H) = f(\lambda_2) I + (f(\lambda_1) - f(\lambda_2)) P_1`
    for any :math:`f`, and :math:`P_1 = \tfrac12 I + \operatorname{sign}(m)(H - mI)/(2r)` where
    :math:`m = \operatorname{tr}H/2`, :math:`r = \sqrt{((a-c)/2)^2 + b^2}`. The larger root is
    :math:`m + \operatorname{sign}(m) r` and the smaller :math:`\det H / \lambda_1`, which avoids cancellation.
    """
    a, c = hessian[0, 0], hessian[1, 1]
    b = 0.5 * (hessian[0, 1] + hessian[1, 0])
    m, h = 0.5 * (a + c), 0.5 * (a - c)
    r = np.hypot(h, b)
    sign = np.where(m < 0, -1.0, 1.0)
    big = m + sign * r
    small = np.where(big != 0, (a * c - b * b) / np.where(big != 0, big, 1.0), 0.0)
    floor = CURVATURE_FLOOR * np.maximum(1.0, np.abs(big))
    f1 = 1.0 / (np.maximum(np.abs(big), floor) + damping)
    f2 = 1.0 / (np.maximum(np.abs(small), floor) + damping)
    safe_r = np.where(r > 0, r, 1.0)
    u = np.where(r > 0, sign * h / safe_r, 0.0)     # 2*P_1 = I + [[u, v], [v, -u]]
    v = np.where(r > 0, sign * b / safe_r, 0.0)
    gx, gy = g[:, 0], g[:, 1]
    k = 0.5 * (f1 - f2)
    return np.stack([f2 * gx + k * (gx + u * gx + v * gy), f2 * gy + k * (gy + v * gx - u * gy)], axis=1)


def newton(objective, damping: float = 0.0) -> Optimizer:
    r"""Damped, saddle-free Newton (N&W section 3.4, "Newton's method with Hessian modification"):

    .. math:: \theta_{k+1} = \theta_k - \gamma\, (|\nabla^2 f(\theta_k)| + \mu I)^{-1} \nabla f(\theta_k)

    :math:`|H|` is :math:`H` with each eigenvalue replaced by its magnitude, floored at
    ``CURVATURE_FLOOR`` times :math:`\max(1, \max_i|\lambda_i|)` (N&W eq. 3.41 modifies eigenvalues the
    same way; taking magnitudes rather than clipping at the floor is Dauphin et al., "Identifying and
    attacking the saddle point problem in high-dimensional non-convex optimization", NeurIPS 2014). So the
    step is always a descent direction: at a saddle Newton flees along negative curvature instead of jumping
    to the stationary point. Where :math:`H` is positive definite this is exactly Levenberg's damped step
    :math:`(H + \mu I)^{-1} g`, and with :math:`\mu = 0` plain Newton, which minimises a convex quadratic in
    one step at :math:`\gamma = 1`.
    """

    damping = _per_run(damping)

    def init(params):
        return NewtonState(0)

    def update(g, state, p, lr):
        p, lr = _float64(p, lr)
        with np.errstate(all="ignore"):
            g = np.asarray(g, dtype=np.float64)
            d = _saddle_free_solve(objective.hessian(p.T), g, damping)
            return p - lr * d, NewtonState(state.step + 1)

    return Optimizer(init, update)


# --- BFGS ------------------------------------------------------------------------------------------------------

class BFGSState(NamedTuple):
    inv_hessian: np.ndarray   # (runs, 2, 2): H_k, the approximation of the inverse Hessian
    fresh: np.ndarray         # (runs,) bool: H_k is still the unscaled identity (scaled at the next update)
    step_size: np.ndarray     # (runs,): the step length the last line search accepted, 0 if it failed
    step: int


def bfgs(objective, c1: float = 1e-4, shrink: float = 0.5, max_backtracks: int = 30) -> Optimizer:
    r"""BFGS with a backtracking Armijo line search (N&W algorithms 6.1 and 3.1):

    .. math:: p_k = -H_k g_k, \quad
              t_k = \gamma\,\rho^j \text{ for the least } j \text{ with }
              f(\theta_k + t_k p_k) \le f(\theta_k) + c_1 t_k\, g_k^\top p_k, \quad
              \theta_{k+1} = \theta_k + t_k p_k,
    .. math:: s_k = \theta_{k+1} - \theta_k,\ y_k = g_{k+1} - g_k,\ \rho_k = 1/y_k^\top s_k, \quad
              H_{k+1} = (I - \rho_k s_k y_k^\top) H_k (I - \rho_k y_k s_k^\top) + \rho_k s_k s_k^\top

    :math:`\gamma` is ``lr``, the first trial step, :math:`\rho` is ``shrink``. :math:`H_0 = I`, rescaled to
    :math:`(y^\top s / y^\top y) I` just before the first update (N&W eq. 6.20), so the second step already
    has the right length. Safeguards: the update is skipped unless :math:`y^\top s >` ``CURVATURE_GUARD``
    :math:`\|s\|\|y\|` (which keeps :math:`H` positive definite, N&W section 6.1); if :math:`p_k` is somehow
    not a descent direction, or no trial point is accepted after ``max_backtracks`` shrinks, :math:`H` is
    reset to :math:`I` — after a failed search the point does not move, and the next step is steepest descent.
    """

    c1, shrink, max_backtracks = _per_run(c1), _per_run(shrink), _per_run(max_backtracks)
    limit = np.max(max_backtracks)

    def init(params):
        runs = np.shape(params)[0]
        return BFGSState(np.broadcast_to(np.eye(2), (runs, 2, 2)).copy(), np.ones(runs, dtype=bool),
                         np.zeros(runs), 0)

    def update(g, state, p, lr):
        p, lr = _float64(p, lr)
        with np.errstate(all="ignore"):
            return _update(np.asarray(g, dtype=np.float64), state, p, lr)

    def _update(g, state, p, lr):
        runs = p.shape[0]
        eye = np.eye(2)
        H, fresh = state.inv_hessian, state.fresh
        d = -np.einsum("rij,rj->ri", H, g)
        slope = _dot(g, d)
        lost = (slope >= 0) & np.any(g != 0, axis=1)
        if lost.any():
            H, fresh = np.where(lost[:, None, None], eye, H), fresh | lost
            d = np.where(lost[:, None], -g, d)
            slope = _dot(g, d)

        f0 = objective.value(p.T)
        t = np.broadcast_to(np.asarray(lr, dtype=np.float64), (runs, 1))[:, 0].copy()
        accepted = np.zeros(runs, dtype=bool)
        finite = np.all(np.isfinite(p), axis=1)
        pending = np.flatnonzero(finite)   # a non-finite point stays as it is
        for j in range(int(limit) + 1):
            if isinstance(max_backtracks, np.ndarray):      # runs out of rejections have failed
                pending = pending[max_backtracks[pending] >= j]
            if pending.size == 0:
                break
            trial = p[pending] + t[pending, None] * d[pending]
            armijo = c1 if not isinstance(c1, np.ndarray) else c1[pending]
            ok = objective.value(trial.T) <= f0[pending] + armijo * t[pending] * slope[pending]
            accepted[pending[ok]] = True
            pending = pending[~ok]
            if j < limit:       # a run out of rejections leaves ``pending`` next pass; its t is never read
                t[pending] *= shrink if not isinstance(shrink, np.ndarray) else shrink[pending]
        new_p = np.where(accepted[:, None], p + t[:, None] * d, p)
        failed = finite & ~accepted
        H, fresh = np.where(failed[:, None, None], eye, H), fresh | failed

        s = new_p - p
        y = objective.gradient(new_p.T).T - g
        sy, yy = _dot(s, y), _dot(y, y)
        curved = sy > CURVATURE_GUARD * np.sqrt(_dot(s, s) * yy)
        scale = fresh & curved
        H = np.where(scale[:, None, None], (sy / np.where(scale, yy, 1.0))[:, None, None] * eye, H)
        rho = 1.0 / np.where(curved, sy, 1.0)
        Hy = np.einsum("rij,rj->ri", H, y)
        ss = s[:, :, None] * s[:, None, :]
        sHy = s[:, :, None] * Hy[:, None, :]
        updated = H - rho[:, None, None] * (sHy + sHy.transpose(0, 2, 1)) \
            + (rho * rho * _dot(y, Hy) + rho)[:, None, None] * ss
        H = np.where(curved[:, None, None], updated, H)
        return new_p, BFGSState(H, fresh & ~curved, np.where(accepted, t, 0.0), state.step + 1)

    return Optimizer(init, update)


# --- registry entries ------------------------------------------------------------------------------------------

register(
    OptimizerSpec(
        "newton", "—",
        "d = (|H| + damping*I)^-1 g, |H| = H with eigenvalues |lambda| (floored at 1e-8*max(1, max|lambda|)); "
        "theta -= lr*d",
        (Hyper("lr", 1.0, "float", exclusive_minimum=0.0, help="step scale (1 = full Newton step)"),
         Hyper("damping", 0.0, "float", minimum=0.0,
               help="Levenberg damping mu: solve (|H| + mu*I) d = g; larger means shorter, gradient-like steps")),
        newton, display="Newton", needs_objective=True),
    OptimizerSpec(
        "bfgs", "scipy.optimize.minimize(method='BFGS') (not in torch.optim)",
        "d = -H g; t = lr*shrink^j, least j with f(theta + t*d) <= f(theta) + c1*t*g.d; theta += t*d; "
        "s = t*d, y = g_new - g, H = (I - s y'/y's) H (I - y s'/y's) + s s'/y's if y's > 0",
        (Hyper("lr", 1.0, "float", exclusive_minimum=0.0, help="first trial step of the line search"),
         Hyper("c1", 1e-4, "float", exclusive_minimum=0.0, exclusive_maximum=1.0,
               help="Armijo constant: accept a step that achieves this fraction of the predicted decrease"),
         Hyper("shrink", 0.5, "float", exclusive_minimum=0.0, exclusive_maximum=1.0,
               help="factor the trial step is multiplied by after each rejection"),
         Hyper("max_backtracks", 30, "int", minimum=0,
               help="rejections allowed before the line search gives up (the point then stays put)")),
        bfgs, display="BFGS", needs_objective=True),
)
