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
    scene = traj.scene
    f = scene.function
    return {
        "scene": scene.name,
        "function": {"name": f.name, "formula": f.formula, "params": _plain(dict(f.params)),
                     "minima": [list(m) for m in f.minima]},
        "xlim": list(scene.xlim),
        "ylim": list(scene.ylim),
        "runs": [
            {
                "label": run.spec.label,
                "optimizer": run.spec.optimizer,
                "hyperparameters": _plain({"lr": run.spec.lr, **run.spec.hyperparameters}),
                "start": list(run.spec.start),
                "steps": run.spec.steps,
                "points": [[float(x), float(y)] for x, y in run.points],
                "loss": [_num(v) for v in run.loss],
                "diverged_at": run.diverged_at,
            }
            for run in traj.runs
        ],
    }


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
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["label", "optimizer", "step", "x", "y", "loss", "diverged_at"])
    for run in traj.runs:
        for step, ((x, y), loss) in enumerate(zip(run.points, run.loss)):
            writer.writerow([run.spec.label, run.spec.optimizer, step, repr(float(x)), repr(float(y)),
                             repr(float(loss)), "" if run.diverged_at is None else run.diverged_at])
    return buf.getvalue()
