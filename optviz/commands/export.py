"""Trajectories -> JSON or CSV, with full float precision so numbers can be checked against torch."""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from ..simulate import Trajectories


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def to_records(traj: Trajectories) -> dict[str, Any]:
    """A network scene's trace also has its ``plane`` and, per run, each point's ``off_plane`` distance and the
    path length ``travelled`` so far (both in weight space): ``points`` are projections, ``loss`` is real."""
    scene = traj.scene
    f = scene.function
    plane = getattr(f, "plane", None)
    return {
        "scene": scene.name,
        "function": {"name": f.name, "formula": f.formula, "params": _plain(dict(f.params)),
                     "minima": [list(m) for m in f.minima]},
        **({"plane": plane.record()} if plane is not None else {}),
        "xlim": list(scene.xlim),
        "ylim": list(scene.ylim),
        "runs": [_run(run) for run in traj.runs],
    }


def _run(run) -> dict[str, Any]:
    out = {
        "label": run.spec.label,
        "optimizer": run.spec.optimizer,
        "hyperparameters": _plain({"lr": run.spec.lr, **run.spec.hyperparameters}),
        "start": list(run.spec.start),
        "steps": run.spec.steps,
        "points": [[float(x), float(y)] for x, y in run.points],
        "loss": [_num(v) for v in run.loss],
        "diverged_at": run.diverged_at,
    }
    if run.off_plane is not None:
        out.update(init_seed=run.spec.init_seed, off_plane=[_num(v) for v in run.off_plane],
                   travelled=[_num(v) for v in run.travelled])
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


def to_json(traj: Trajectories) -> str:
    return json.dumps(to_records(traj), indent=1, allow_nan=False) + "\n"


def to_csv(traj: Trajectories) -> str:
    """One row per point; a network scene's rows also have ``off_plane`` and ``travelled``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    network = any(run.off_plane is not None for run in traj.runs)
    writer.writerow(["label", "optimizer", "step", "x", "y", "loss", "diverged_at"]
                    + (["off_plane", "travelled"] if network else []))
    for run in traj.runs:
        for step, ((x, y), loss) in enumerate(zip(run.points, run.loss)):
            extra = [repr(float(run.off_plane[step])), repr(float(run.travelled[step]))] if network else []
            writer.writerow([run.spec.label, run.spec.optimizer, step, repr(float(x)), repr(float(y)),
                             repr(float(loss)), "" if run.diverged_at is None else run.diverged_at, *extra])
    return buf.getvalue()
