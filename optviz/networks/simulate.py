"""A network scene -> trajectories on a plane, which the renderer, ``trace`` and the writers take as they take
any 2-D scene's.

1. Train every run (``train``), keeping thinned snapshots of its weights (at most ``SNAPSHOTS`` a run), its
   real loss at every step and where it diverged; and every step's weights too when they fit in
   ``KEEP_BYTES``.
2. Choose the plane (``plane``): its origin is the origin run's last point, its directions come from all
   runs' snapshots together (PCA) or from a seed.
3. Project every step's weights onto the plane, with their distance from it and the length of the path so
   far: from memory, or, for a large network, by training again (deterministically: the first pass's
   snapshots are checked to recur exactly). Both feed one ``Projection`` the same steps in the same order.
4. Give the trajectories a scene whose function is the loss over the plane (a coarse grid: each point is a
   forward pass over all the data) and whose view fits the paths, unless the scene gives one.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..scenes.record import Scene, entries
from ..simulate import Run, Trajectories, lr_schedule
from .model import Model, one_thread
from .plane import Plane, pca_plane, plane_objective, random_plane
from .spec import entry_name, origin_run
from .train import train

#: Snapshots per run for the plane (evenly spaced steps, the first and last included; a two-direction PCA
#: needs no more), fewer when the runs are many or the network large: at most SNAPSHOT_FLOATS floats (128 MB).
SNAPSHOTS = 101
SNAPSHOT_FLOATS = 1 << 24
#: Every step's weights are kept for the projection when they take at most this; else training runs twice.
KEEP_BYTES = 256 << 20
MARGIN = 0.1            # the fitted view's margin around the paths, a share of their extent on each axis
NARROWEST = 0.25        # an axis spans at least this share of the other's extent (a flat path stays legible)


def simulate_network(scene: Scene, progress=None) -> Trajectories:
    """``progress(done, total)`` is told the run-steps trained (runs x steps, both passes when training runs
    twice), every ``REPORT`` steps."""
    net = scene.function.network
    specs = scene.runs
    lrs = [lr_schedule(specs[members[0]]) for members in entries(specs)]
    model = Model(net)
    count, steps = len(specs), max(spec.steps for spec in specs)
    per_run = int(min(SNAPSHOTS, max(2, SNAPSHOT_FLOATS // (count * net.parameters))))
    wanted = [set(np.linspace(0, spec.steps, min(spec.steps + 1, per_run)).round().astype(int).tolist())
              for spec in specs]
    kept = np.full((count, steps + 1, net.parameters), np.nan) \
        if count * (steps + 1) * net.parameters * 8 <= KEEP_BYTES else None
    snapshots: dict[tuple[int, int], np.ndarray] = {}
    lives: list[np.ndarray] = []
    latest = np.empty((count, net.parameters))
    latest_step = np.zeros(count, dtype=int)

    def keep(k: int, params: np.ndarray, live: np.ndarray) -> None:
        finite = live & np.all(np.isfinite(params), axis=1)
        latest[finite] = params[finite]
        latest_step[finite] = k
        lives.append(live.copy())
        if kept is not None:
            kept[finite, k] = params[finite]
        for r in np.flatnonzero(finite):
            if k in wanted[r]:
                snapshots[(r, k)] = params[r].copy()

    passes = 1 if kept is not None else 2
    with one_thread():
        loss, diverged, used = train(model, specs, lrs, _telling(keep, progress, 0, passes, count, steps))
        for r in range(count):
            snapshots.setdefault((r, int(latest_step[r])), latest[r].copy())
        plane = _plane(net, specs, snapshots, latest)
        projection = Projection(plane, count, len(lives) - 1, net.parameters)
        if kept is not None:
            for k, live in enumerate(lives):
                projection(k, kept[:, k], live)
        else:
            ends = np.where(diverged >= 0, diverged, [spec.steps for spec in specs])
            projection.expected = snapshots
            train(model, specs, lrs, _telling(projection, progress, 1, passes, count, steps), stop=ends,
                  losses=False)

    runs = []
    for r, spec in enumerate(specs):
        n = int(latest_step[r]) + 1
        points = np.ascontiguousarray(projection.coords[r, :n])
        runs.append(Run(spec=replace(spec, start=(float(points[0, 0]), float(points[0, 1]))), points=points,
                        loss=loss[r, :n].copy(), diverged_at=int(diverged[r]) if diverged[r] >= 0 else None,
                        lrs=used[r, :spec.steps].copy(), off_plane=projection.off_plane[r, :n].copy(),
                        travelled=projection.travelled[r, :n].copy()))
    fitted = _view([run.points for run in runs])
    xlim, ylim = scene.xlim or fitted[0], scene.ylim or fitted[1]
    function = plane_objective(net, plane, model, xlim, ylim)
    drawn = replace(scene, function=function, xlim=xlim, ylim=ylim, runs=tuple(run.spec for run in runs))
    return Trajectories(scene=drawn, runs=tuple(runs))


#: Steps between progress reports.
REPORT = 16


def _telling(visit, progress, done_passes: int, passes: int, count: int, steps: int):
    """``visit``, also telling ``progress`` how many run-steps are done every REPORT steps and at the end."""
    if progress is None:
        return visit

    def visit_and_tell(k: int, params: np.ndarray, live: np.ndarray) -> None:
        visit(k, params, live)
        if k % REPORT == 0 or k == steps:
            progress(count * (done_passes * steps + k), count * passes * steps)

    return visit_and_tell


class Projection:
    """Takes every step's weights, in order, as ``train`` visits them: their plane coordinates (R, steps + 1, 2),
    distance from the plane and the length of the path so far. ``expected``: snapshots the weights must equal
    (a second training pass repeats the first exactly, or the projection would be of another path)."""

    def __init__(self, plane: Plane, count: int, steps: int, parameters: int):
        self.plane = plane
        self.coords = np.full((count, steps + 1, 2), np.nan)
        self.off_plane = np.full((count, steps + 1), np.nan)
        self.travelled = np.zeros((count, steps + 1))
        self.previous = np.zeros((count, parameters))
        self.expected: dict[tuple[int, int], np.ndarray] = {}

    def __call__(self, k: int, params: np.ndarray, live: np.ndarray) -> None:
        rows = np.flatnonzero(live & np.all(np.isfinite(params), axis=1))
        for r in rows:
            if (r, k) in self.expected and not np.array_equal(self.expected[(r, k)], params[r]):
                raise RuntimeError(f"training did not repeat exactly (run {r}, step {k}): torch is not "
                                   "deterministic in this environment")
        self.coords[rows, k], self.off_plane[rows, k] = self.plane.project(params[rows])
        if k:
            step = np.linalg.norm(params[rows] - self.previous[rows], axis=1)
            self.travelled[rows, k] = self.travelled[rows, k - 1] + step
        self.previous[rows] = params[rows]


def _plane(net, specs, snapshots: dict, latest: np.ndarray) -> Plane:
    o = origin_run(net, specs)
    origin = latest[o].copy()
    label = entry_name(specs[o])
    stacked = np.array([snapshots[key] for key in sorted(snapshots)])
    if net.plane.directions == "pca":
        return pca_plane(stacked, origin, label, snapshots[(o, 0)])   # step 0 is always kept: the start
    return random_plane(net, net.plane.directions, net.plane.seed, stacked, origin, label)


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
