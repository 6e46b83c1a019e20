"""Trajectories: every run of a scene computed up front, so drawing never waits on arithmetic."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scene import RunSpec, Scene


@dataclass(frozen=True)
class Run:
    spec: RunSpec
    points: np.ndarray          # (n + 1, 2): the start, then one point per step; only finite points
    loss: np.ndarray            # (n + 1,)
    diverged_at: int | None     # the step at which the point became non-finite or flew far out of view


@dataclass(frozen=True)
class Trajectories:
    scene: Scene
    runs: tuple[Run, ...]


#: A run is diverged once its point is further than this many view widths from the view's centre.
FAR_OUT = 10.0


def simulate(scene: Scene) -> Trajectories:
    """Run every optimizer of the scene to completion (or divergence) with exact gradients."""
    return Trajectories(scene=scene, runs=tuple(_simulate_run(scene, spec) for spec in scene.runs))


def _simulate_run(scene: Scene, spec: RunSpec) -> Run:
    hp = dict(spec.hyperparameters)
    lr = hp.pop("lr")
    points, diverged = advance(spec.optimizer, hp, np.array([spec.start], dtype=float),
                               np.full(spec.steps, lr), scene.function.gradient, scene.xlim, scene.ylim)
    path = points[:, 0, :]
    stop = diverged[0]
    if stop >= 0:
        keep = stop + 1 if np.all(np.isfinite(path[stop])) else stop
        path = path[:keep]
    with np.errstate(all="ignore"):
        loss = scene.function.value(path.T)
    return Run(spec=spec, points=path, loss=np.asarray(loss, dtype=float),
               diverged_at=int(stop) if stop >= 0 else None)


def advance(optimizer: str, hyperparameters: dict, starts: np.ndarray, lrs: np.ndarray, gradient,
            xlim: tuple[float, float], ylim: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Advance many runs of one optimizer at once.

    ``starts`` is (runs, 2); ``lrs`` is (steps,) or (steps, runs). Returns the points (steps + 1, runs, 2)
    and, per run, the first step whose point is non-finite or far out of view (-1 if none). Diverged runs
    keep being computed (harmlessly, under errstate) so the loop stays one vectorised update per step.
    """
    from .optimizers import OPTIMIZERS

    opt = OPTIMIZERS[optimizer].build(**hyperparameters)
    steps = lrs.shape[0]
    runs = starts.shape[0]
    centre = np.array([(xlim[0] + xlim[1]) / 2, (ylim[0] + ylim[1]) / 2])
    reach = FAR_OUT * max(xlim[1] - xlim[0], ylim[1] - ylim[0])
    points = np.empty((steps + 1, runs, 2))
    points[0] = starts
    diverged = np.full(runs, -1)
    params = starts.astype(float)
    state = opt.init(params)
    with np.errstate(all="ignore"):
        for k in range(steps):
            lr = lrs[k] if lrs.ndim == 1 else lrs[k][:, None]
            grads = gradient(params.T).T
            params, state = opt.update(grads, state, params, lr)
            points[k + 1] = params
            bad = ~np.all(np.isfinite(params), axis=1) | np.any(np.abs(params - centre) > reach, axis=1)
            newly = bad & (diverged < 0)
            diverged[newly] = k + 1
            if np.all(diverged >= 0):
                points[k + 2:] = np.nan
                break
    return points, diverged
