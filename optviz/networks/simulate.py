"""A network scene -> trajectories on a plane, which the renderer, ``trace`` and the writers take as they take
any 2-D scene's.

1. Train every run (``train``), keeping thinned snapshots of its weights (at most ``SNAPSHOTS`` a run), its
   real loss at every step and where it diverged.
2. Choose the plane (``plane``): its origin is the origin run's last point, its directions come from all
   runs' snapshots together (PCA) or from a seed.
3. Train again, deterministically, projecting every step's weights onto the plane, with its distance from
   the plane and the length of the path so far (the first pass's snapshots are checked to recur exactly).
4. Give the trajectories a scene whose function is the loss over the plane (a coarse grid: each point is a
   forward pass over all the data) and whose view fits the paths, unless the scene gives one.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..scenes.record import Scene, entries
from ..simulate import Run, Trajectories, lr_schedule
from .model import Model, initial_weights, one_thread
from .plane import Plane, pca_plane, plane_objective, random_plane
from .spec import origin_run
from .train import init_seed, train

#: Snapshots per run for the plane (evenly spaced steps, the first and last included), fewer when the runs
#: are many or the network large: at most SNAPSHOT_FLOATS floats (128 MB) in all.
SNAPSHOTS = 201
SNAPSHOT_FLOATS = 1 << 24
MARGIN = 0.1            # the fitted view's margin around the paths, a share of their extent on each axis
NARROWEST = 0.25        # an axis spans at least this share of the other's extent (a flat path stays legible)


def simulate_network(scene: Scene, progress=None) -> Trajectories:
    """``progress(done, total)``: the steps trained (both passes, when training runs twice)."""
    net = scene.function.network
    specs = scene.runs
    lrs = [lr_schedule(specs[members[0]]) for members in entries(specs)]
    model = Model(net)
    count = len(specs)
    per_run = int(min(SNAPSHOTS, max(2, SNAPSHOT_FLOATS // (count * net.parameters))))
    wanted = [set(np.linspace(0, spec.steps, min(spec.steps + 1, per_run)).round().astype(int).tolist())
              for spec in specs]
    snapshots: dict[tuple[int, int], np.ndarray] = {}
    latest = np.empty((count, net.parameters))
    latest_step = np.zeros(count, dtype=int)

    def keep(k: int, params: np.ndarray, live: np.ndarray) -> None:
        finite = live & np.all(np.isfinite(params), axis=1)
        latest[finite] = params[finite]
        latest_step[finite] = k
        for r in np.flatnonzero(finite):
            if k in wanted[r]:
                snapshots[(r, k)] = params[r].copy()

    with one_thread():
        loss, diverged = train(model, specs, lrs, keep)
        ends = np.where(diverged >= 0, diverged, [spec.steps for spec in specs])
        for r in range(count):
            snapshots.setdefault((r, int(latest_step[r])), latest[r].copy())
        plane = _plane(net, specs, snapshots, latest)
        coords, off_plane, travelled = _replay(model, specs, lrs, ends, plane, snapshots)

    runs = []
    for r, spec in enumerate(specs):
        n = int(latest_step[r]) + 1
        runs.append(Run(spec=replace(spec, start=(float(coords[r, 0, 0]), float(coords[r, 0, 1]))),
                        points=np.ascontiguousarray(coords[r, :n]), loss=loss[r, :n].copy(),
                        diverged_at=int(diverged[r]) if diverged[r] >= 0 else None,
                        lrs=lrs[_entry_of(specs)[r]], off_plane=off_plane[r, :n].copy(),
                        travelled=travelled[r, :n].copy()))
    xlim, ylim = (scene.xlim, scene.ylim) if scene.xlim and scene.ylim else _view([run.points for run in runs])
    xlim, ylim = scene.xlim or xlim, scene.ylim or ylim
    function = plane_objective(net, plane, model, xlim, ylim)
    drawn = replace(scene, function=function, xlim=xlim, ylim=ylim, runs=tuple(run.spec for run in runs))
    return Trajectories(scene=drawn, runs=tuple(replace(run, spec=s) for run, s in zip(runs, drawn.runs)))


def _entry_of(specs) -> list[int]:
    out = [0] * len(specs)
    for i, members in enumerate(entries(specs)):
        for r in members:
            out[r] = i
    return out


def _plane(net, specs, snapshots: dict, latest: np.ndarray) -> Plane:
    o = origin_run(net, specs)
    origin = latest[o].copy()
    label = specs[o].group or specs[o].label
    stacked = np.array([snapshots[key] for key in sorted(snapshots)])
    if net.plane.directions == "pca":
        start = initial_weights(net, [init_seed(specs[o], net)])[0]
        return pca_plane(stacked, origin, label, start)
    return random_plane(net, net.plane.directions, net.plane.seed, stacked, origin, label)


def _replay(model: Model, specs, lrs, ends: np.ndarray, plane: Plane, snapshots: dict):
    """The second pass: every step's coordinates (R, steps + 1, 2), distance from the plane and path length."""
    count, steps = len(specs), int(ends.max())
    coords = np.full((count, steps + 1, 2), np.nan)
    off_plane = np.full((count, steps + 1), np.nan)
    travelled = np.zeros((count, steps + 1))
    previous = np.zeros((count, model.net.parameters))

    def project(k: int, params: np.ndarray, live: np.ndarray) -> None:
        rows = np.flatnonzero(live & np.all(np.isfinite(params), axis=1))
        for r in rows:
            if (r, k) in snapshots and not np.array_equal(snapshots[(r, k)], params[r]):
                raise RuntimeError(f"training did not repeat exactly (run {r}, step {k}): torch is not "
                                   "deterministic in this environment")
        coords[rows, k], off_plane[rows, k] = plane.project(params[rows])
        if k:
            travelled[rows, k] = travelled[rows, k - 1] + np.linalg.norm(params[rows] - previous[rows], axis=1)
        previous[rows] = params[rows]

    train(model, specs, lrs, project, stop=ends, losses=False)
    return coords, off_plane, travelled


def _view(paths: list[np.ndarray]) -> tuple[tuple[float, float], tuple[float, float]]:
    """A view around every path, with a margin, each axis at least NARROWEST of the other's extent."""
    points = np.concatenate(paths)
    points = points[np.all(np.isfinite(points), axis=1)]
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.maximum(hi - lo, NARROWEST * (hi - lo).max())
    span = np.where(span > 0, span, 1.0)
    centre = (lo + hi) / 2
    half = span * (0.5 + MARGIN)
    return ((float(centre[0] - half[0]), float(centre[0] + half[0])),
            (float(centre[1] - half[1]), float(centre[1] + half[1])))
