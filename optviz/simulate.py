"""Trajectories: every run of a scene computed up front, so drawing never waits on arithmetic."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import SceneError
from .maths.optimizers import OPTIMIZERS, Optimizer, build_optimizer
from .maths.optimizers._exact import fma_all
from .maths.optimizers.base import steps_of
from .maths.schedules import lr_sequence, momentum_sequence
from .maths.torch_bridge import is_dotted
from .networks.spec import is_network
from .scenes.record import RunSpec, Scene, entries


@dataclass(frozen=True)
class Run:
    spec: RunSpec
    points: np.ndarray          # (n + 1, 2): the start, then one point per step; only finite points
    loss: np.ndarray            # (n + 1,)
    diverged_at: int | None     # the step at which the point became non-finite or flew far out of view
    lrs: np.ndarray             # (steps,): the lr each step used (constant unless the run has a schedule)
    #: Network scenes (``optviz.networks``): where the drawn point is not the real one. Per point, the real
    #: weights' distance from the picture's plane, and the length of the real path so far (both in weights).
    off_plane: np.ndarray | None = None
    travelled: np.ndarray | None = None


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


def simulate(scene: Scene, progress: Callable[[int, int], None] | None = None) -> Trajectories:
    """Run every optimizer of the scene to completion (or divergence) with exact (or sampled) gradients.

    Entries that share an optimizer (whatever their hyperparameters, lrs, schedules, starts and steps) advance
    as one batch, hyperparameters that differ becoming per-run arrays, and all batches advance in one loop
    with one gradient call per step; each run's numbers are the same, bit for bit, as when it is simulated
    alone. An entry naming a torch class (``torch.optim.Adam``) advances on its own, one torch optimizer for all
    its starts (``advance_torch``). ``progress(done, total)`` is told the steps done. A network scene trains its
    network instead, and its trajectories are drawn on a plane through the weights (``optviz.networks``).
    """
    if is_network(scene.function):
        from .networks.simulate import simulate_network  # lazy: it imports torch, and this module's Run
        return simulate_network(scene, progress)
    runs: list[Run | None] = [None] * len(scene.runs)
    every = entries(scene.runs)
    bridged = [members for members in every if is_dotted(scene.runs[members[0]].optimizer)]
    parts = len(bridged) + (len(bridged) < len(every))
    unit = max(spec.steps for spec in scene.runs)
    for part, members in enumerate(bridged):
        group = [scene.runs[i] for i in members]
        for i, run in zip(members, _simulate_torch(scene, group, _share(progress, part, parts, unit))):
            runs[i] = run
    if all(run is not None for run in runs):
        return Trajectories(scene=scene, runs=tuple(runs))
    built_in = _batches(scene.runs)
    grouped = [[[scene.runs[i] for i in members] for members in batch] for batch in built_in]
    order = [i for batch in built_in for members in batch for i in members]
    groups = [group for batch in grouped for group in batch]
    specs = [spec for group in groups for spec in group]
    steps = max(spec.steps for spec in specs)
    batches, schedules, at = [], [], 0
    for members in grouped:
        size = sum(len(group) for group in members)
        batch = _batch(scene, members, steps, slice(at, at + size))
        batches.append(batch)
        schedules += [batch.lrs if batch.lrs.ndim == 1 else batch.lrs[:, j] for j in range(size)]
        at += size
    starts = np.array([spec.start for spec in specs], dtype=float)
    points, diverged = _advance(batches, _batch_oracle(scene.function, groups), starts, steps, scene.xlim,
                                scene.ylim, _share(progress, parts - 1, parts, unit))
    for j, (i, spec) in enumerate(zip(order, specs)):
        runs[i] = _run(scene, spec, points[:spec.steps + 1, j], int(diverged[j]), schedules[j][:spec.steps])
    return Trajectories(scene=scene, runs=tuple(runs))


def _batches(specs) -> list[list[list[int]]]:
    """Scene entries (lists of run indices) grouped by the optimizer they run: aliases such as ``momentum``
    and ``nag`` share ``sgd``'s rule, so they join its batch."""
    batches: dict[str, list[list[int]]] = {}
    for members in entries(specs):
        if is_dotted(specs[members[0]].optimizer):
            continue
        spec = OPTIMIZERS[specs[members[0]].optimizer]
        batches.setdefault(spec.base or spec.name, []).append(members)
    return list(batches.values())


def lr_schedule(spec: RunSpec, lr: float | None = None) -> np.ndarray:
    """The lr at each step: constant, or the run's torch-style schedule started from ``lr`` (default: its own)."""
    lr = spec.lr if lr is None else lr
    if spec.schedule is None:
        return np.full(spec.steps, float(lr))
    kwargs = {k: v for k, v in spec.schedule.items() if k != "name"}
    return lr_sequence(spec.schedule["name"], float(lr), spec.steps, **kwargs)


def momentum_schedule(spec: RunSpec) -> dict[str, np.ndarray]:
    """What a momentum-cycling schedule (OneCycleLR, CyclicLR) sets at each step, as the ``update`` keyword
    of the run's optimizer: ``{"momentum": (steps,)}`` or ``{"beta1": (steps,)}``; ``{}`` when nothing is cycled."""
    if spec.schedule is None:
        return {}
    kwargs = {k: v for k, v in spec.schedule.items() if k != "name"}
    values = momentum_sequence(spec.schedule["name"], float(spec.lr), spec.steps, **kwargs)
    if values is None:
        return {}
    return {OPTIMIZERS[spec.optimizer].cycled: values}


def _cycled(groups: list[list[RunSpec]], steps: int) -> dict[str, np.ndarray]:
    """The per-step keyword of a batch whose entries cycle momentum: each run's sequence, or for a run that does
    not, the value it was built with; (steps,) when every run has the same, else (steps, runs)."""
    cycles = [momentum_schedule(group[0]) for group in groups]
    if not any(cycles):
        return {}
    key = OPTIMIZERS[groups[0][0].optimizer].cycled
    columns = []
    for group, cycle in zip(groups, cycles):
        spec = group[0]
        built = spec.hyperparameters["betas"][0] if key == "beta1" else spec.hyperparameters[key]
        sequence = cycle.get(key, np.full(spec.steps, float(built)))
        columns += [np.pad(sequence, (0, steps - spec.steps), mode="edge")] * len(group)
    if all(np.array_equal(c, columns[0]) for c in columns):
        return {key: columns[0]}
    return {key: np.column_stack(columns)}


def per_run(values: list):
    """One hyperparameter over the runs of a batch: the value itself when every run has it, else a (runs, 1)
    array (a pair, such as betas, component by component)."""
    first = values[0]
    if all(v == first for v in values):
        return first
    if isinstance(first, tuple):
        return tuple(per_run([v[j] for v in values]) for j in range(len(first)))
    return np.array(values)[:, None]


@dataclass(frozen=True)
class _Batch:
    """Runs that one optimizer advances together: the rows ``rows`` of the scene's (runs, 2) parameters."""

    optimizer: Optimizer
    lrs: np.ndarray             # (steps,) shared by every run, or (steps, runs)
    rows: slice
    elementwise: bool = False   # a first-order rule: the lr may come as (runs, 2), one per coordinate
    cycled: dict[str, np.ndarray] = field(default_factory=dict)   # momentum or beta1 per step, like lrs


def _batch(scene: Scene, groups: list[list[RunSpec]], steps: int, rows: slice) -> _Batch:
    """The batch of these entries, for ``steps`` steps: a run with fewer steps keeps its last lr (the extra
    steps are cut off afterwards)."""
    specs = [spec for group in groups for spec in group]
    schedules = [np.pad(lr_schedule(group[0]), (0, steps - group[0].steps), mode="edge") for group in groups]
    if all(np.array_equal(s, schedules[0]) for s in schedules):
        lrs = schedules[0]
    else:
        lrs = np.column_stack([s for s, group in zip(schedules, groups) for _ in group])
    first = specs[0]
    hyperparameters = {key: per_run([spec.hyperparameters[key] for spec in specs]) for key in first.hyperparameters}
    return _Batch(build_optimizer(first.optimizer, hyperparameters, scene.function), lrs, rows,
                  not OPTIMIZERS[first.optimizer].needs_objective, _cycled(groups, steps))


def _share(progress, part: int, parts: int, unit: int):
    """``progress`` for one of ``parts`` equal parts of the simulation (each torch entry advances on its own,
    then the built-ins together), each counted as ``unit`` steps: one bar for the whole, that never moves back."""
    if progress is None or parts == 1:
        return progress
    return lambda done, total: progress(part * unit + done * unit // max(total, 1), parts * unit)


def _simulate_torch(scene: Scene, group: list[RunSpec], progress=None) -> list[Run]:
    """One entry naming a torch class: torch's own scheduler runs its schedule, so its lrs are recorded."""
    first = group[0]
    starts = np.array([spec.start for spec in group], dtype=float)
    points, diverged, lrs = advance_torch(first.optimizer, first.hyperparameters, starts, first.lr, first.steps,
                                          scene.function, scene.xlim, scene.ylim, noise=first.noise,
                                          minibatch=first.minibatch, schedule=first.schedule, progress=progress)
    return [_run(scene, spec, points[:, j], int(diverged[j]), lrs[:, j]) for j, spec in enumerate(group)]


def _run(scene: Scene, spec: RunSpec, path: np.ndarray, stop: int, lrs: np.ndarray) -> Run:
    """A run's record from its rows of the batch: cut where it diverged (keeping the last finite point)."""
    if stop > spec.steps:
        stop = -1
    if stop >= 0:
        keep = stop + 1 if np.all(np.isfinite(path[stop])) else stop
        path = path[:keep]
    with np.errstate(all="ignore"):
        loss = scene.function.value(path.T)
    return Run(spec=spec, points=np.ascontiguousarray(path), loss=np.asarray(loss, dtype=float),
               diverged_at=stop if stop >= 0 else None, lrs=np.ascontiguousarray(lrs))


def _batch_oracle(objective, groups: list[list[RunSpec]]):
    """The gradients of a batch: one call when no entry samples, else each entry's own oracle on its rows, so
    that an entry draws the noise (or minibatches) it would draw alone."""
    if all(group[0].noise is None and group[0].minibatch is None for group in groups):
        return gradient_oracle(objective)
    rows, at = [], 0
    for group in groups:
        rows.append((slice(at, at + len(group)), gradient_oracle(objective, group[0].noise, group[0].minibatch)))
        at += len(group)

    def grad(params):
        out = np.empty_like(params)
        for sl, oracle in rows:
            out[sl] = oracle(params[sl])
        return out

    return grad


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
            minibatch: dict | None = None, cycled: dict[str, np.ndarray] | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Advance many runs of one optimizer at once (``hyperparameters`` without lr: ``lrs`` gives it).

    ``starts`` is (runs, 2); ``lrs`` is (steps,) or (steps, runs), and so is each of ``cycled``'s sequences of
    a hyperparameter set every step (``momentum_schedule``). Returns the points (steps + 1, runs, 2)
    and, per run, the first step whose point is non-finite or far out of view (-1 if none). Diverged runs
    keep being computed (harmlessly, under errstate) so the loop stays one vectorised update per step.
    """
    batch = _Batch(build_optimizer(optimizer, hyperparameters, objective), lrs, slice(None),
                   not OPTIMIZERS[optimizer].needs_objective, cycled or {})
    return _advance([batch], gradient_oracle(objective, noise, minibatch), starts, lrs.shape[0], xlim, ylim)


#: Steps between progress reports (and checks whether every run has diverged).
CHUNK = 256


def _advance(batches: list[_Batch], grad, starts: np.ndarray, steps: int, xlim, ylim, progress=None):
    runs = starts.shape[0]
    centre, reach = _far_out(xlim, ylim)
    points = np.empty((steps + 1, runs, 2))
    points[0] = starts
    params = points[0]
    states = [b.optimizer.init(params[b.rows]) for b in batches]
    plan = [(steps_of(b.optimizer), _per_step(b), b.rows, _cycled_per_step(b)) for b in batches]
    diverged = np.full(runs, -1)
    checked = 0                 # points[1:checked + 1] have been looked at
    with np.errstate(all="ignore"):
        for k in range(steps):
            g = grad(params)
            now = points[k + 1]
            updates = [update(g[rows], states[j], params[rows], lrs[k],
                              **{key: value[k] for key, value in cycled.items()}) if cycled
                       else update(g[rows], states[j], params[rows], lrs[k])
                       for j, (update, lrs, rows, cycled) in enumerate(plan)]
            for j, (new, state) in enumerate(_together(updates)):
                now[plan[j][2]], states[j] = new, state
            params = now
            if (k + 1) % CHUNK == 0 or k + 1 == steps:
                checked = _mark(diverged, points, checked, k + 1, centre, reach)
                if progress is not None:
                    progress(k + 1, steps)
                if np.all(diverged >= 0):
                    points[k + 2:] = np.nan
                    break
    if progress is not None:
        progress(steps, steps)
    return points, diverged


def _together(updates: list) -> list:
    """Run the batches' updates (generators, see ``optimizers._exact``) side by side, answering the fused
    multiply-adds they ask for at the same point in one call: a batch's update costs mostly calls, not numbers.
    Returns each update's result, in order."""
    results = [None] * len(updates)
    asking = []
    for j, update in enumerate(updates):
        try:
            asking.append((j, next(update)))
        except StopIteration as done:
            results[j] = done.value
    while asking:
        answers = fma_all([request for _, request in asking])
        still = []
        for (j, _), answer in zip(asking, answers):
            try:
                still.append((j, updates[j].send(answer)))
            except StopIteration as done:
                results[j] = done.value
        asking = still
    return results


#: Per-run lrs are spread over both coordinates up front when they take at most this many bytes.
WIDE_LRS = 32 * 2**20


def _per_step(batch: _Batch) -> np.ndarray:
    """The batch's lrs indexed by step: floats, or per-run (runs, 1) columns; for a first-order rule (which
    works coordinate by coordinate) they are spread to (runs, 2) once here rather than at every step."""
    lrs = batch.lrs
    if lrs.ndim == 1:
        return lrs
    if batch.elementwise and lrs.nbytes * 2 <= WIDE_LRS:
        return np.repeat(lrs[:, :, None], 2, axis=2)
    return lrs[:, :, None]


def _cycled_per_step(batch: _Batch) -> dict[str, np.ndarray]:
    """The batch's per-step keywords indexed by step: floats, or per-run (runs, 1) columns."""
    return {key: value if value.ndim == 1 else value[:, :, None] for key, value in batch.cycled.items()}


def _mark(diverged: np.ndarray, points: np.ndarray, checked: int, upto: int, centre, reach) -> int:
    """Record in ``diverged`` the first step in ``checked + 1 .. upto`` at which each run went bad."""
    bad = _diverged(points[checked + 1:upto + 1], centre, reach)
    new = bad.any(axis=0) & (diverged < 0)
    diverged[new] = bad[:, new].argmax(axis=0) + checked + 1
    return upto


def _far_out(xlim, ylim) -> tuple[np.ndarray, float]:
    """The view's centre, and how far from it in x or y a run counts as diverged: ``FAR_OUT`` view widths."""
    return (np.array([(xlim[0] + xlim[1]) / 2, (ylim[0] + ylim[1]) / 2]),
            FAR_OUT * max(xlim[1] - xlim[0], ylim[1] - ylim[0]))


def _diverged(points: np.ndarray, centre: np.ndarray, reach: float) -> np.ndarray:
    """Whether each point (..., 2) is non-finite or further than ``reach`` from ``centre`` in x or y."""
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(points).all(axis=-1) | (np.abs(points - centre) > reach).any(axis=-1)


def advance_torch(name: str, hyperparameters: dict, starts: np.ndarray, lr, steps: int, objective,
                  xlim: tuple[float, float], ylim: tuple[float, float], noise: dict | None = None,
                  minibatch: dict | None = None, schedule: dict | None = None, progress=None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``advance`` for a torch optimizer class (a dotted ``name``): one optimizer steps every run, each its own
    parameter tensor and group, starting from ``lr`` (a float, or one per run: tune's candidates), with torch's
    own lr scheduler for ``schedule``, on the same gradients as the built-ins. A diverged run stops moving.
    Returns the points and divergence steps as ``advance`` does, and the lr each step used (steps, runs)."""
    from .maths.torch_bridge.stepper import for_objective  # lazy: torch loads only for a scene naming a torch class

    stepper = for_objective(name, hyperparameters, starts, lr, objective, schedule)
    grad = gradient_oracle(objective, noise, minibatch)
    centre, reach = _far_out(xlim, ylim)
    runs = starts.shape[0]
    points = np.full((steps + 1, runs, 2), np.nan)
    points[0] = starts
    diverged = np.full(runs, -1)
    used = np.full((steps, runs), np.nan)
    with np.errstate(all="ignore"):
        for k in range(steps):
            used[k] = stepper.lrs
            try:
                params = stepper.step(grad, active=diverged < 0)
            except Exception as exc:    # the class's own code failed: say which, at which step, and why
                raise SceneError(f"{name} failed at step {k + 1}: {type(exc).__name__}: {exc}") from None
            points[k + 1] = params
            diverged[_diverged(params, centre, reach) & (diverged < 0)] = k + 1
            if progress is not None and ((k + 1) % CHUNK == 0 or k + 1 == steps):
                progress(k + 1, steps)
            if np.all(diverged >= 0):
                used[k + 1:] = used[k]
                break
    if progress is not None:
        progress(steps, steps)
    return points, diverged, used
