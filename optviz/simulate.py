"""Trajectories: every run of a scene computed up front, so drawing never waits on arithmetic."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .maths.optimizers import build_optimizer
from .maths.schedules import lr_sequence
from .scenes.record import RunSpec, Scene, entries


@dataclass(frozen=True)
class Run:
    spec: RunSpec
    points: np.ndarray          # (n + 1, 2): the start, then one point per step; only finite points
    loss: np.ndarray            # (n + 1,)
    diverged_at: int | None     # the step at which the point became non-finite or flew far out of view
    lrs: np.ndarray             # (steps,): the lr each step used (constant unless the run has a schedule)


@dataclass(frozen=True)
class Trajectories:
    scene: Scene
    runs: tuple[Run, ...]

    def to_dataframe(self):
        """One row per point (label, optimizer, step, x, y, loss); needs pandas, which optviz does not require."""
        try:
            import pandas as pd  # lazy: optional, and not a dependency of optviz
        except ImportError:
            raise ImportError("to_dataframe needs pandas: pip install pandas") from None
        rows = [(run.spec.label, run.spec.optimizer, step, float(x), float(y), float(loss))
                for run in self.runs for step, ((x, y), loss) in enumerate(zip(run.points, run.loss))]
        return pd.DataFrame(rows, columns=["label", "optimizer", "step", "x", "y", "loss"])


#: A run is diverged once its point is further than this many view widths from the view's centre.
FAR_OUT = 10.0


def simulate(scene: Scene) -> Trajectories:
    """Run every optimizer of the scene to completion (or divergence) with exact (or sampled) gradients.

    Runs of one swarm (an entry with many starts) advance together in one vectorised loop.
    """
    runs: list[Run] = []
    for members in entries(scene.runs):
        runs.extend(_simulate_group(scene, [scene.runs[i] for i in members]))
    return Trajectories(scene=scene, runs=tuple(runs))


def lr_schedule(spec: RunSpec, lr: float | None = None) -> np.ndarray:
    """The lr at each step: constant, or the run's torch-style schedule started from ``lr`` (default: its own)."""
    lr = spec.lr if lr is None else lr
    if spec.schedule is None:
        return np.full(spec.steps, float(lr))
    kwargs = {k: v for k, v in spec.schedule.items() if k != "name"}
    return lr_sequence(spec.schedule["name"], float(lr), spec.steps, **kwargs)


def _simulate_group(scene: Scene, group: list[RunSpec]) -> list[Run]:
    first = group[0]
    lrs = lr_schedule(first)
    starts = np.array([spec.start for spec in group], dtype=float)
    points, diverged = advance(first.optimizer, first.hyperparameters, starts, lrs, scene.function, scene.xlim,
                               scene.ylim, noise=first.noise, minibatch=first.minibatch)
    runs = []
    for i, spec in enumerate(group):
        path = points[:, i, :]
        stop = int(diverged[i])
        if stop >= 0:
            keep = stop + 1 if np.all(np.isfinite(path[stop])) else stop
            path = path[:keep]
        with np.errstate(all="ignore"):
            loss = scene.function.value(path.T)
        runs.append(Run(spec=spec, points=np.ascontiguousarray(path), loss=np.asarray(loss, dtype=float),
                        diverged_at=stop if stop >= 0 else None, lrs=lrs))
    return runs


def gradient_oracle(objective, noise: dict | None = None, minibatch: dict | None = None):
    """``grad(params (runs, 2)) -> (runs, 2)``: exact, minibatch-sampled, and/or with seeded noise.

    Run i of every optimizer draws the same noise sequence for a given seed, so they face the same luck.
    """
    if minibatch is not None:
        batch_rng = np.random.default_rng(minibatch["seed"])
        size = minibatch["size"]

        def exact(params):
            idx = batch_rng.integers(0, objective.n_terms, size=(params.shape[0], size))
            return objective.term_gradient(params, idx)
    else:
        def exact(params):
            return objective.gradient(params.T).T

    if noise is None or noise["std"] == 0:
        return exact
    noise_rng = np.random.default_rng(noise["seed"])
    std, multiplicative = noise["std"], noise["kind"] == "multiplicative"

    def noisy(params):
        g = exact(params)
        eps = std * noise_rng.standard_normal(g.shape)
        return g * (1.0 + eps) if multiplicative else g + eps

    return noisy


def advance(optimizer: str, hyperparameters: dict, starts: np.ndarray, lrs: np.ndarray, objective,
            xlim: tuple[float, float], ylim: tuple[float, float], noise: dict | None = None,
            minibatch: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Advance many runs of one optimizer at once (``hyperparameters`` without lr: ``lrs`` gives it).

    ``starts`` is (runs, 2); ``lrs`` is (steps,) or (steps, runs). Returns the points (steps + 1, runs, 2)
    and, per run, the first step whose point is non-finite or far out of view (-1 if none). Diverged runs
    keep being computed (harmlessly, under errstate) so the loop stays one vectorised update per step.
    """
    opt = build_optimizer(optimizer, hyperparameters, objective)
    grad = gradient_oracle(objective, noise, minibatch)
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
            params, state = opt.update(grad(params), state, params, lr)
            points[k + 1] = params
            bad = ~np.all(np.isfinite(params), axis=1) | np.any(np.abs(params - centre) > reach, axis=1)
            diverged[bad & (diverged < 0)] = k + 1
            if np.all(diverged >= 0):
                points[k + 2:] = np.nan
                break
    return points, diverged

