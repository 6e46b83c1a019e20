"""Fair learning rates: tune every optimizer's lr by one stated rule, and write the scene back with only its lrs
changed (the YAML text is edited in place, so comments and key order survive).

The post's pictures were tuned by hand "so that the first steps look equally fast". Two rules automate that,
and under both a tuned run never leaves the view (a candidate whose run, or any start of a swarm that began
inside the view, steps outside it is out of the race):

- ``final-loss``: the lr whose run settles lowest: its loss is judged as the worst over the last ``SETTLE`` of
  the run's steps, not the last point alone, so an lr that zigzags at the end loses to one that arrives and
  stays; and an lr scores the worse of that loss at itself and at ``MARGIN`` times itself, so the pick keeps a
  factor ``MARGIN`` from the edge of stability (where a slightly larger lr flies off), as practitioners do.
  A log grid over ``LR_RANGE`` (``PER_DECADE`` points a decade, plus the current lr), then two finer log grids
  around the best. A run that diverges, ends non-finite or leaves the view loses. Scores within ``TIE_RTOL``
  relative + ``TIE_ATOL`` absolute of the best are ties, and ties go to the smallest lr (the most stable one).
- ``initial-speed``: the lr that makes the path of the first ``k`` steps as long as a target taken from the
  scene: the pace at which a run would cover the distance from its start to the nearest minimum in the view
  in ``1/REACH`` of its steps (``REACH * k * distance / steps``, at most the distance itself; without a
  minimum in the view, half the view's diagonal stands in for the distance). Every optimizer is tuned to it,
  the first included. The path length is not always monotone in lr, so the rule is "the smallest lr that
  reaches the target": the first grid point that reaches it brackets the crossing, and ever finer log grids
  inside the bracket close in on it to ``SPEED_RTOL``. If the whole run at that lr would leave the view, the
  largest lr below it that keeps the run inside is taken (and the table says so).

A swarm (an entry with many starts) is one entry: its score is the mean over its starts, and it loses if any
start diverges or leaves the view. Candidate lrs run side by side as extra runs of one vectorised ``advance``
call; a run with gradient noise or minibatches is simulated one candidate at a time instead, so each candidate
sees exactly the noise the rendered run will.
"""
from __future__ import annotations

import bisect
import math
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

from .._version import __version__
from ..api import scene_output
from ..atomic import writable_target, write_bytes_atomic
from ..draw import look
from ..errors import SceneError
from ..scenes import budget
from ..scenes.load import load, scene_from_data
from ..scenes.record import RunSpec, Scene, scene_entries
from ..scenes.source import _Loader, parse_yaml, read_text
from ..maths.torch_bridge import is_dotted
from ..simulate import advance, advance_torch, lr_schedule, momentum_schedule
from ..networks.spec import is_network

OBJECTIVES = ("final-loss", "initial-speed")
LR_RANGE = (1e-6, 1e2)      # searched, widened to take in the current lr
PER_DECADE = 8
REFINE = 16                 # intervals of each finer grid
TIE_RTOL, TIE_ATOL = 1e-9, 1e-12
SETTLE = 0.25               # final-loss judges the worst loss over this last part of the run
MARGIN = 2.0                # ... at the lr and at this multiple of it: the pick stays clear of the edge of stability
REACH = 8                   # initial-speed: the first steps' pace would reach the nearest minimum in 1/REACH of the run
SPEED_RTOL = 1e-6          # how close the speed search closes in on the lr
DIGITS_RTOL = 1e-5         # a written speed-tuned lr has 6 digits unless that misses the distance by more
MAX_POINTS = 4_000_000      # points held by one advance call (64 MB); more candidates are split across calls


@dataclass(frozen=True)
class TuneRow:
    label: str
    optimizer: str
    old_lr: float
    new_lr: float
    final_loss: float       # mean over a swarm's starts; inf when the run diverges
    note: str = ""


@dataclass(frozen=True)
class TuneResult:
    rows: tuple[TuneRow, ...]
    text: str               # the tuned scene's YAML
    table: str
    output: Path | None     # where it was written, None when not written


def default_output(path: str | Path) -> Path:
    """``<scene stem>.tuned.yaml`` next to the scene."""
    path = Path(path)
    return path.with_name(f"{path.stem}.tuned.yaml")


def tune_file(path: str | Path, out: str | Path | None = None, objective: str = "final-loss", k: int = 10,
              distance: float | None = None, write: bool = True, limits: bool = True) -> TuneResult:
    """Tune every optimizer entry of the scene at ``path`` and (with ``write``) save the result to ``out``
    (default: ``default_output(path)``). The new text is loaded and checked before anything is written.
    ``limits=False`` lifts the work budget (the scene's, and tuning's own, which counts every candidate)."""
    _check_options(objective, k, distance)
    path = Path(path)
    out = Path(out) if out is not None else default_output(path)
    text = read_text(path)
    data, lines = parse_yaml(text, file=str(path))
    scene = scene_from_data(data, lines=lines, file=str(path), name=path.stem, limits=limits)
    entries = _entries(scene, data)
    if is_network(scene.function):
        from ..networks.tune import check_budget  # lazy: the network code imports torch
        check_budget(scene.function.network, scene.runs, objective, k)
    if objective == "initial-speed":
        short = min(entries, key=lambda e: e.spec.steps)
        if k > short.spec.steps:
            raise SceneError(f"must be at most the scene's steps ({short.spec.steps} for {short.label}), got {k}",
                             path="--k")
    if limits:
        _check_budget(entries, objective, k, str(path))
    if write:
        writable_target(out)

    target, why = distance, "given"
    if objective == "initial-speed" and distance is None:
        target, why = (_network_distance if is_network(scene.function) else _scene_distance)(scene, entries, k)

    rows = []
    for entry in entries:
        if objective == "final-loss":
            new, note = _tune_final_loss(scene, entry)
        else:
            new, note = _tune_speed(scene, entry, k, target)
        loss = float(_evaluate(scene, entry, [new], entry.spec.steps, _final_loss(scene))[0])
        rows.append(TuneRow(entry.label, entry.spec.optimizer, entry.old_lr, new, loss, note))

    changed = {e.index: _fmt(r.new_lr) for e, r in zip(entries, rows) if r.new_lr != e.old_lr}
    header = _header(objective, k, target, why, path.name, distance is not None)
    new_text = _rewrite(text, changed, objective, header)
    _verify(new_text, data, [r.new_lr for r in rows], out, limits)
    table = _table(rows, objective, k, target)
    if write:
        write_bytes_atomic(out, new_text.encode())
    return TuneResult(rows=tuple(rows), text=new_text, table=table, output=out if write else None)


def _candidates(entry: _Entry, objective: str) -> tuple[int, int]:
    """About how many candidate lrs tuning ``entry`` simulates over all its steps, and over the first k: the
    searches below, counted from the same constants (final-loss scores each lr at MARGIN times it as well)."""
    grid = len(_log_grid(*_search_range(entry)))
    if objective == "final-loss":
        return 2 * (grid + 1 + 2 * (2 * REFINE + 1)) + 1, 0
    return 2, grid + SPEED_ROUNDS * REFINE + len(_roundings(entry.old_lr))


SPEED_ROUNDS = 6    # finer grids the speed search takes from one grid step (10**(1/8)) to SPEED_RTOL / 10


def _check_budget(entries: list[_Entry], objective: str, k: int, file: str) -> None:
    """Tuning multiplies a scene's work by its candidate lrs: the total must fit ``budget.MAX_TUNE_POINTS``."""
    points, most = 0, 0
    for entry in entries:
        full, first = _candidates(entry, objective)
        points += len(entry.runs) * (full * (entry.spec.steps + 1) + first * (k + 1))
        most = max(most, full + first)
    problem = budget.tune_problem(points, f"about {most} learning rates per optimizer ({objective})")
    if problem:
        raise SceneError(problem, path="steps", file=file)


def output_note(original: str | Path, tuned: str | Path) -> str | None:
    """What to tell about where the tuned scene renders: ``output:`` is relative to the scene file, so a
    tuned copy in the same folder renders over the original's picture, and one elsewhere renders elsewhere."""
    first, second = load(original, limits=False), load(tuned, limits=False)
    if first.output is None:
        return None
    before, after = (os.path.realpath(Path(s.source).parent / s.output) for s in (first, second))
    if after == before:
        return (f"the tuned scene renders to the same file as the original ({first.output}); change its "
                "`output:` to keep both")
    try:
        shown = scene_output(second)
    except SceneError:
        return (f"the tuned scene's `output: {second.output}` is relative to its own folder, from where it leads "
                "outside; change it, or render the tuned scene with -o")
    return (f"the tuned scene's `output:` is relative to its own folder, so it renders to {shown}, not to the "
            "original's file; change it if you meant the same file")


def _check_options(objective: Any, k: Any, distance: Any) -> None:
    if objective not in OBJECTIVES:
        raise SceneError(f"unknown objective {objective!r} (choose from: {', '.join(OBJECTIVES)})",
                         path="--objective")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise SceneError(f"must be a whole number of steps >= 1, got {k!r}", path="--k")
    if distance is not None and (isinstance(distance, bool) or not isinstance(distance, (int, float))
                                 or not math.isfinite(distance) or distance <= 0):
        raise SceneError(f"must be a finite distance > 0, got {distance!r}", path="--distance")


# --- the entries of a scene and their candidate runs ------------------------------------------------------

@dataclass(frozen=True)
class _Entry:
    """One optimizer entry of the scene file: one run, or a swarm's runs."""

    index: int                  # position in the file's optimizers list
    runs: tuple[RunSpec, ...]
    follows_lr: bool            # CyclicLR without its own base_lr: the cycle starts from the optimizer's lr

    @property
    def spec(self) -> RunSpec:
        return self.runs[0]

    @property
    def label(self) -> str:
        return self.spec.group or self.spec.label

    @property
    def old_lr(self) -> float:
        return self.spec.lr


def _entries(scene: Scene, data: dict) -> list[_Entry]:
    groups = [[scene.runs[i] for i in members] for members in scene_entries(scene.runs)]
    raw = data["optimizers"]
    for i, group in enumerate(groups):
        if group[0].sweep is not None:
            raise SceneError("sweeps its hyperparameters; tune finds one lr per entry (drop the sweep to tune it)",
                             path=f"optimizers[{i}].sweep")
    if len(groups) != len(raw):   # every entry gives at least one run, in order
        raise AssertionError(f"{len(groups)} run groups for {len(raw)} optimizer entries")
    found = []
    for i, (group, item) in enumerate(zip(groups, raw)):
        schedule = item.get("schedule") if isinstance(item, dict) else None
        follows = (isinstance(schedule, dict) and schedule.get("name") == "CyclicLR"
                   and schedule.get("base_lr") is None)
        found.append(_Entry(i, tuple(group), follows))
    return found


def _lr_steps(entry: _Entry, lr: float, n: int) -> np.ndarray:
    """The lr at each of the first ``n`` steps when the entry's lr is ``lr``, schedule included, exactly as
    the tuned scene will resolve it."""
    spec = entry.spec
    if entry.follows_lr:
        spec = replace(spec, schedule={**spec.schedule, "base_lr": float(lr)})
    try:
        return lr_schedule(spec, lr)[:n]
    except SceneError:          # a schedule torch would refuse at this lr: the candidate cannot win
        return np.full(n, np.nan)


Reduce = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _evaluate(scene: Scene, entry: _Entry, lrs, n: int, reduce: Reduce) -> np.ndarray:
    """``reduce(points (n+1, R, S, 2), diverged (R, S)) -> (R,)`` over the first ``n`` steps of the entry's
    S starts for each of R candidate lrs."""
    lrs = np.asarray(lrs, dtype=float)
    spec = entry.spec
    hp = spec.hyperparameters
    starts = np.array([run.start for run in entry.runs], dtype=float)
    s = len(starts)
    schedule = np.stack([_lr_steps(entry, lr, n) for lr in lrs], axis=1)
    if is_network(scene.function):  # the real loss and path length, in weight space
        from ..networks.tune import evaluate  # lazy: the network code imports torch
        return reduce.network(*evaluate(scene.function.network, entry.runs, schedule, n, lrs, entry.follows_lr))
    exact = spec.noise is None and spec.minibatch is None
    per_call = max(1, MAX_POINTS // ((n + 1) * s)) if exact else 1
    torch_class = is_dotted(spec.optimizer)
    cycled = {} if torch_class else {k: v[:n] for k, v in momentum_schedule(spec).items()}   # the same at every lr
    out = []
    for i in range(0, len(lrs), per_call):
        cols = schedule[:, i:i + per_call]
        r = cols.shape[1]
        if torch_class:
            out.append(_evaluate_torch(scene, entry, lrs[i:i + per_call], n, reduce, starts))
            continue
        points, diverged = advance(spec.optimizer, hp, np.tile(starts, (r, 1)), np.repeat(cols, s, axis=1),
                                   scene.function, scene.xlim, scene.ylim, noise=spec.noise,
                                   minibatch=spec.minibatch, cycled=cycled)
        out.append(reduce(points.reshape(n + 1, r, s, 2), diverged.reshape(r, s)))
    return np.concatenate(out)


def _evaluate_torch(scene: Scene, entry: _Entry, lrs: np.ndarray, n: int, reduce: Reduce,
                    starts: np.ndarray) -> np.ndarray:
    """``_evaluate`` for a torch class: every candidate lr (times every start) is a parameter group of one
    optimizer, and torch's scheduler runs each group's schedule; a candidate whose schedule torch would refuse
    loses."""
    spec, s = entry.spec, len(starts)
    ok = np.array([np.all(np.isfinite(_lr_steps(entry, lr, min(n, 1)))) for lr in lrs])
    result = np.full(len(lrs), np.inf)
    if not ok.any():
        return result
    run_lrs = np.repeat(lrs[ok], s)
    schedule = spec.schedule
    if entry.follows_lr:
        schedule = {**schedule, "base_lr": [float(lr) for lr in run_lrs]}
    r = int(ok.sum())
    points, diverged, _ = advance_torch(spec.optimizer, spec.hyperparameters, np.tile(starts, (r, 1)), run_lrs, n,
                                        scene.function, scene.xlim, scene.ylim, noise=spec.noise,
                                        minibatch=spec.minibatch, schedule=schedule)
    result[ok] = reduce(points.reshape(n + 1, r, s, 2), diverged.reshape(r, s))
    return result


def _for_networks(network: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]):
    """Give a reducer its form for a network scene, ``network(loss (R, S, n+1), length (R, S), diverged (R, S))
    -> (R,)``: the real loss on all the data and the path length in weight space (a network has no view to
    leave: only diverging loses)."""
    def attach(reduce: Reduce) -> Reduce:
        reduce.network = network
        return reduce
    return attach


def _lost(values: np.ndarray, diverged: np.ndarray) -> np.ndarray:
    """Mean over starts, inf when any start diverged or its value is not finite."""
    with np.errstate(invalid="ignore"):
        return np.where((diverged >= 0) | ~np.isfinite(values), np.inf, values).mean(axis=1)


def _final_loss(scene: Scene) -> Reduce:
    """Mean loss at the last point; inf when any start diverged or ended non-finite."""
    @_for_networks(lambda loss, length, diverged: _lost(loss[..., -1], diverged))
    def reduce(points, diverged):
        with np.errstate(all="ignore"):
            loss = np.asarray(scene.function.value(np.moveaxis(points[-1], -1, 0)), dtype=float)
        lost = (diverged >= 0) | ~np.isfinite(loss)
        return np.where(lost, np.inf, loss).mean(axis=1)
    return reduce


def _leaves(scene: Scene, points: np.ndarray) -> np.ndarray:
    """Per run: it starts inside the view and some later point is outside (points: (n+1, ...) -> (...))."""
    inside = look.inside(points, scene.xlim, scene.ylim)
    return inside[0] & ~inside[1:].all(axis=0)


def _settled_loss(scene: Scene, n: int) -> Reduce:
    """The worst loss over the last ``SETTLE`` of ``n`` steps, mean over starts; inf when any start diverged,
    ends non-finite or leaves the view."""
    first = n - max(1, math.ceil(SETTLE * n))

    @_for_networks(lambda loss, length, diverged: _lost(np.where(np.isnan(loss), np.inf, loss)[..., first:].max(-1),
                                                         diverged))
    def reduce(points, diverged):
        with np.errstate(all="ignore"):
            loss = np.asarray(scene.function.value(np.moveaxis(points[first:], -1, 0)), dtype=float)
            worst = np.where(np.isfinite(loss), loss, np.inf).max(axis=0)
        lost = (diverged >= 0) | ~np.isfinite(worst) | _leaves(scene, points)
        return np.where(lost, np.inf, worst).mean(axis=1)
    return reduce


def _stays(scene: Scene) -> Reduce:
    """1 when no start of the entry diverges or leaves the view, else 0."""
    @_for_networks(lambda loss, length, diverged: (diverged < 0).all(axis=1).astype(float))
    def reduce(points, diverged):
        return (~((diverged >= 0) | _leaves(scene, points))).all(axis=1).astype(float)
    return reduce


def _path_length(points, diverged):
    """Mean length of the path over the given steps; inf when it is not finite."""
    with np.errstate(all="ignore"):
        length = np.linalg.norm(np.diff(points, axis=0), axis=-1).sum(axis=0)
    return np.where(np.isfinite(length), length, np.inf).mean(axis=1)


_path_length.network = lambda loss, length, diverged: _lost(length, diverged)


def _search_range(entry: _Entry) -> tuple[float, float]:
    return min(LR_RANGE[0], entry.old_lr), max(LR_RANGE[1], entry.old_lr)


def _log_grid(lo: float, hi: float) -> np.ndarray:
    a, b = math.floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9)
    return np.logspace(a, b, (b - a) * PER_DECADE + 1)


def _lr_matters(entry: _Entry) -> bool:
    """False when the schedule sets the lr itself (OneCycleLR, CyclicLR with its own base_lr)."""
    n = entry.spec.steps
    return not np.array_equal(_lr_steps(entry, 1e-3, n), _lr_steps(entry, 1e-1, n))


def _fmt(lr: float) -> str:
    """The shortest text, 6 significant digits at least, that reads back as exactly ``lr``."""
    return next(t for p in range(6, 18) if float(t := f"{lr:.{p}g}") == lr)


def _six(lr: float) -> float:
    return float(f"{lr:.6g}")


def _six_below(lr: float) -> float:
    """The largest number with 6 significant digits that is at most ``lr``."""
    unit = 10.0 ** (math.floor(math.log10(lr)) - 5)
    return float(f"{math.floor(lr / unit + 1e-9) * unit:.6g}")


def _roundings(lr: float) -> list[float]:
    """``lr`` at 6, 8, 10, 12 and all significant digits: the candidates for what is written."""
    return list(dict.fromkeys([float(f"{lr:.{p}g}") for p in (6, 8, 10, 12)] + [float(lr)]))


# --- the two objectives -----------------------------------------------------------------------------------

def _tune_final_loss(scene: Scene, entry: _Entry) -> tuple[float, str]:
    if not _lr_matters(entry):
        return entry.old_lr, f"lr has no effect under {entry.spec.schedule['name']}; kept"
    sign = -1.0 if entry.spec.hyperparameters.get("maximize") else 1.0
    reduce = _settled_loss(scene, entry.spec.steps)
    scores: dict[float, float] = {}     # settled loss at each lr evaluated
    candidates: set[float] = set()

    def evaluate(lrs) -> None:
        lrs = {float(lr) for lr in lrs}
        candidates.update(lrs)
        new = sorted((lrs | {MARGIN * lr for lr in lrs}) - scores.keys())
        if new:
            loss = _evaluate(scene, entry, new, entry.spec.steps, reduce)
            scores.update(zip(new, np.where(np.isfinite(loss), sign * loss, np.inf)))

    def best() -> float | None:
        lrs = np.array(sorted(candidates))
        s = np.array([max(scores[lr], scores[MARGIN * lr]) for lr in lrs])   # only as good as its margin
        s[np.isnan(s)] = np.inf
        finite = np.isfinite(s)
        if not finite.any():
            return None
        m = s[finite].min()
        tied = finite & (s <= m + TIE_RTOL * abs(m) + TIE_ATOL)
        return float(lrs[np.argmax(tied)])

    lo, hi = _search_range(entry)
    evaluate([*map(_six, _log_grid(lo, hi)), entry.old_lr])    # 6-digit candidates: scored as written
    width = 10 ** (1 / PER_DECADE)
    for _ in range(2):
        centre = best()
        if centre is None:
            break
        evaluate(map(_six, np.geomspace(centre / width, centre * width, 2 * REFINE + 1)))
        width = width ** (2 / REFINE)
    found = best()
    if found is None:
        return entry.old_lr, f"diverges or leaves the view at every lr in {lo:g}..{hi:g}; kept"
    return found, ""


def _tune_speed(scene: Scene, entry: _Entry, k: int, target: float) -> tuple[float, str]:
    if not _lr_matters(entry):
        return entry.old_lr, f"lr has no effect under {entry.spec.schedule['name']}; kept"

    def travel(lrs) -> np.ndarray:
        return _evaluate(scene, entry, lrs, k, _path_length)

    lo, hi = _search_range(entry)
    grid = _log_grid(lo, hi)
    reach = travel(grid) >= target
    if not reach.any():
        return entry.old_lr, f"cannot travel {target:.6g} in {k} steps at any lr up to {grid[-1]:g}; kept"
    j = int(np.argmax(reach))
    if j == 0:
        return entry.old_lr, f"travels more than {target:.6g} even at lr {grid[0]:g}; kept"
    a, b = grid[j - 1], grid[j]           # travel(a) < target <= travel(b)
    while b / a - 1 > SPEED_RTOL / 10:
        inner = np.geomspace(a, b, REFINE + 2)[1:-1]
        reach = travel(inner) >= target
        if reach.any():
            i = int(np.argmax(reach))
            a, b = (inner[i - 1] if i else a), inner[i]
        else:
            a = inner[-1]
    # the fewest digits (6 at least) that keep the distance on target
    lrs = _roundings(b)
    travelled = travel(lrs)
    errors = np.abs(travelled - target) / target
    good = np.flatnonzero(errors <= DIGITS_RTOL)
    pick = int(good[0]) if good.size else int(np.argmin(errors))
    note = ""
    if errors[pick] > 1e-4:
        note = f"travels {travelled[pick]:.6g}: the distance jumps past the target near this lr"
    if not _evaluate(scene, entry, [lrs[pick]], entry.spec.steps, _stays(scene))[0]:
        return _inside_view(scene, entry, k, lo, lrs[pick])
    return lrs[pick], note


def _inside_view(scene: Scene, entry: _Entry, k: int, lo: float, hi: float) -> tuple[float, str]:
    """The largest lr below ``hi`` whose whole run stays in the view (to ``SPEED_RTOL``), for a run that would
    leave it at the lr that travels the target distance."""
    def stays(lrs) -> np.ndarray:
        return _evaluate(scene, entry, lrs, entry.spec.steps, _stays(scene)) > 0

    grid = np.geomspace(lo, hi, int(math.ceil(math.log10(hi / lo) * PER_DECADE)) + 2)[:-1]
    ok = stays(grid)
    if not ok[0]:
        return entry.old_lr, f"leaves the view even at lr {lo:g}; kept"
    j = len(ok) - int(np.argmax(ok[::-1])) - 1     # the largest grid lr that stays
    a, b = grid[j], grid[j + 1] if j + 1 < len(grid) else hi
    while b / a - 1 > SPEED_RTOL:
        inner = np.geomspace(a, b, REFINE + 2)[1:-1]
        ok = stays(inner)
        if ok.all():
            a = inner[-1]
        elif ok.any():
            i = len(ok) - int(np.argmax(ok[::-1])) - 1
            a, b = inner[i], inner[i + 1] if i + 1 < len(inner) else b
        else:
            b = inner[0]
    lr = _six_below(a)
    while not stays([lr])[0]:
        lr = _six_below(lr * (1 - 1e-9))
    travelled = float(_evaluate(scene, entry, [lr], k, _path_length)[0])
    return lr, f"travels {travelled:.6g}: faster lrs leave the view"


def _network_distance(scene: Scene, entries: list[_Entry], k: int) -> tuple[float, str]:
    """A network has no minimum to aim at: the target is the length, in weight space, of the first entry's path
    over its first ``k`` steps at its own lr."""
    first = entries[0]
    travelled = float(_evaluate(scene, first, [first.old_lr], k, _path_length)[0])
    if not math.isfinite(travelled) or travelled <= 0:
        raise SceneError(f"{first.label} travels {travelled:g} in its first {k} steps at lr {first.old_lr:g}, so it "
                         "cannot set the distance; give one", path="--distance")
    return travelled, (f"what {first.label} travels in weight space at its lr {_fmt(first.old_lr)} "
                       "(a network has no minimum to aim at)")


def _scene_distance(scene: Scene, entries: list[_Entry], k: int) -> tuple[float, str]:
    """The initial-speed target from the scene alone, and how it was found (see the module docstring)."""
    (x0, x1), (y0, y1) = scene.xlim, scene.ylim
    minima = np.array([m for m in scene.function.minima if x0 <= m[0] <= x1 and y0 <= m[1] <= y1]).reshape(-1, 2)
    starts = np.array([run.start for entry in entries for run in entry.runs], dtype=float)
    steps = min(entry.spec.steps for entry in entries)
    if len(minima):
        far = float(np.median(np.min(np.linalg.norm(starts[:, None] - minima[None], axis=2), axis=1)))
        why = f"{far:.4g} from the start to the nearest minimum"
    else:
        far = float(np.hypot(x1 - x0, y1 - y0) / 2)
        why = f"{far:.4g}, half the view's diagonal (no minimum in view)"
    if far <= 0:
        raise SceneError("the runs start on the minimum, so the scene sets no distance; give one",
                         path="--distance")
    target = min(far, REACH * k * far / steps)
    return target, f"{why}, covered in 1/{REACH} of the {steps} steps at that pace"


# --- the table --------------------------------------------------------------------------------------------

def _table(rows: list[TuneRow], objective: str, k: int, target: float | None) -> str:
    if objective == "final-loss":
        title = (f"final-loss: the lowest worst loss over the last {SETTLE:.0%} of each run, at the lr and "
                 f"{MARGIN:g}x it, inside the view (ties go to the smaller lr)")
    else:
        title = f"initial-speed: every optimizer travels {target:.6g} in its first {k} steps"
    head = ("optimizer", "old lr", "new lr", "final loss", "note")
    body = [(r.label, _fmt(r.old_lr), _fmt(r.new_lr),
             f"{r.final_loss:.4g}" if math.isfinite(r.final_loss) else "diverged", r.note) for r in rows]
    widths = [max(len(row[i]) for row in (head, *body)) for i in range(len(head))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in body]
    return "\n".join(lines) + "\n"


# --- the new scene text -----------------------------------------------------------------------------------

HEADER_START = "# Tuned by optviz "
_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")     # what YAML counts as a line break
_TUNED_COMMENT = re.compile(r"#\s*tuned:\s*\S+")


def _header(objective: str, k: int, target: float | None, why: str, source: str, given: bool) -> list[str]:
    command = f"optviz tune --objective {objective}"
    if objective == "initial-speed":
        command += f" --k {k}" + (f" --distance {target:g}" if given else "")
    lines = [f"{HEADER_START}{__version__} from {source} (`{command}`):"]
    if objective == "final-loss":
        lines += [f"#   objective: the lowest worst loss over the last {SETTLE:.0%} of each run's steps (a run that",
                  f"#     settles beats one that zigzags at the end), at the lr and at {MARGIN:g}x it (clear of the",
                  f"#     edge of stability); lrs within {TIE_RTOL:g} relative of the best tie and go to the smallest"]
        finish = "then two finer grids around the best"
    else:
        lines += [f"#   objective: each path over the first {k} steps is {target:.6g} long (the smallest lr that gets",
                  f"#     that far): {why}"]
        finish = f"then finer grids to {SPEED_RTOL:g} relative"
    lines += ["#   a run that diverges or leaves the view is out of the race",
              f"#   search: lr on a log grid {LR_RANGE[0]:g}..{LR_RANGE[1]:g} ({PER_DECADE} a decade), {finish}",
              f"#   lines whose lr was changed end in '# tuned: {objective}'; everything else is as written"]
    return lines


MODELINE = "# yaml-language-server:"


def _rewrite(text: str, lrs: dict[int, str], tag: str, header: list[str]) -> str:
    """``text`` with entry i's lr set to ``lrs[i]`` (replaced in place, or added after its ``name``), a
    ``# tuned`` comment on each changed line, and ``header`` replacing any earlier tune header."""
    nl = "\r\n" if "\r\n" in text else "\n"
    starts = [0] + [m.end() for m in _BREAK.finditer(text)]
    ends = [m.start() for m in _BREAK.finditer(text)] + [len(text)]
    root = yaml.compose(text, Loader=_Loader)
    seq = next(v for key, v in root.value if isinstance(key, yaml.ScalarNode) and key.value == "optimizers")
    edits: list[tuple[int, int, int, str]] = []     # (start, end, order, replacement)
    marked: set[int] = set()                        # lines that get a '# tuned' comment

    for i, lr in sorted(lrs.items()):
        node = seq.value[i]
        where = f"optimizers[{i}]"
        if isinstance(node, yaml.ScalarNode):
            a, b = node.start_mark.index, node.end_mark.index
            edits.append((a, b, 0, f"{{name: {text[a:b]}, lr: {lr}}}"))
            marked.add(node.end_mark.line)
            continue
        if not isinstance(node, yaml.MappingNode):
            raise SceneError("cannot write a tuned lr into this entry; set it by hand", path=where)
        keys = {key.value: (key, value) for key, value in node.value if isinstance(key, yaml.ScalarNode)}
        if "lr" in keys:
            a, b = _value_span(text, *keys["lr"])
            edits.append((a, b, 0, lr))
            marked.add(_line_of(starts, a))
            continue
        if "name" not in keys:
            raise SceneError("has no 'name' key of its own to put the tuned lr after; set it by hand", path=where)
        key, value = keys["name"]
        _, b = _value_span(text, key, value)
        if node.flow_style:
            edits.append((b, b, 0, f", lr: {lr}"))
            marked.add(_line_of(starts, b))
        else:
            line = _line_of(starts, b)
            at = starts[line + 1] if line + 1 < len(starts) else len(text)
            before = "" if line + 1 < len(starts) else nl
            edits.append((at, at, 0, f"{before}{' ' * key.start_mark.column}lr: {lr}  # tuned: {tag}{nl}"))

    content_end, open_lines = _content_ends(text, starts, ends)
    for line in sorted(marked):
        if line in open_lines:
            continue
        rest = text[content_end[line]:ends[line]]
        hash_at = rest.find("#")
        if hash_at < 0:
            edits.append((content_end[line], content_end[line], 1, f"  # tuned: {tag}"))
        elif m := _TUNED_COMMENT.match(rest, hash_at):
            at = content_end[line] + m.start()
            edits.append((at, content_end[line] + m.end(), 1, f"# tuned: {tag}"))

    first = 1 if text.startswith(MODELINE) and len(starts) > 1 else 0  # the editor's schema line stays first
    top = starts[first]
    old = top
    if text.startswith(HEADER_START, top):
        line = first + 1
        while line < len(starts) and text.startswith("#   ", starts[line]):
            line += 1
        if line < len(starts) and not text[starts[line]:ends[line]].strip():
            line += 1
        old = starts[line] if line < len(starts) else len(text)
    edits.append((top, old, -1, nl.join(header) + nl + (nl if old < len(text) else "")))

    pieces, pos = [], 0
    for a, b, _, new in sorted(edits, key=lambda e: (e[0], e[2])):
        if a < pos:
            raise AssertionError("overlapping edits")
        pieces += [text[pos:a], new]
        pos = b
    pieces.append(text[pos:])
    return "".join(pieces)


def _line_of(starts: list[int], index: int) -> int:
    return bisect.bisect_right(starts, index) - 1


def _value_span(text: str, key: yaml.Node, value: yaml.Node) -> tuple[int, int]:
    """Where the value written after ``key:`` is: an alias (``*rate``) is replaced, an anchor or tag kept."""
    i = key.end_mark.index
    while text[i] in " \t\"'":  # a quoted key ends before its closing quote
        i += 1
    if text[i] != ":":
        raise AssertionError(f"no ':' after key at {i}")
    i += 1
    while text[i] in " \t":
        i += 1
    if text[i] == "*":
        m = re.compile(r"\*[^\s,\[\]{}]+").match(text, i)
        return i, m.end()
    while text[i] in "&!":
        while text[i] not in " \t":
            i += 1
        while text[i] in " \t":
            i += 1
    return i, value.end_mark.index


def _content_ends(text: str, starts: list[int], ends: list[int]) -> tuple[list[int], set[int]]:
    """For each line, where its YAML content ends (a comment can only follow that), and the lines inside a
    token that spans lines (a quoted string), which have no room for a comment."""
    content_end = list(starts)
    inside: set[int] = set()
    for token in yaml.scan(text, Loader=_Loader):
        a, b = token.start_mark, token.end_mark
        content_end[b.line] = max(content_end[b.line], b.index)
        inside.update(range(a.line, b.line))
    return content_end, inside


def _verify(text: str, old_data: dict, lrs: list[float], out: Path, limits: bool = True) -> None:
    """The new text must load, give exactly the tuned lrs, and differ from the old scene in nothing else."""
    try:
        data, lines = parse_yaml(text, file=str(out))
        scene = scene_from_data(data, lines=lines, file=str(out), name=out.stem, limits=limits)
    except SceneError as exc:
        raise SceneError(f"the tuned scene would not load ({str(exc).splitlines()[0]}); nothing was written",
                         path="optimizers") from None
    got = [e.old_lr for e in _entries(scene, data)]
    bad = [i for i, (a, b) in enumerate(zip(got, lrs)) if a != b]
    if bad:     # e.g. entries sharing one lr through a YAML anchor, tuned to different values
        raise SceneError(f"optimizers[{bad[0]}].lr would load as {got[bad[0]]:g}, not the tuned "
                         f"{lrs[bad[0]]:g} (is it shared through a YAML alias?); nothing was written",
                         path="optimizers")
    if _without_lrs(data) != _without_lrs(old_data):
        raise AssertionError("the tuned scene differs from the original in more than its lrs")


def _without_lrs(data: dict) -> dict:
    entries = [{"name": e} if isinstance(e, str) else {k: v for k, v in e.items() if k != "lr"}
               for e in data["optimizers"]]
    return {**data, "optimizers": entries}
