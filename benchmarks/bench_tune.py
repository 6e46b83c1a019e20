"""Why `optviz tune` vectorises: one `advance` call for all candidate lrs against one call per lr.

Runs the same log grid of candidate learning rates (1e-6 .. 1e2, 8 a decade) for every optimizer of a scene
both ways, checks that the final points agree exactly, and prints both times and the ratio; then times the
whole `tune_file` (grid plus refinement) for both objectives.

    python benchmarks/bench_tune.py [SCENE]      (default: configs/rosenbrock.yaml, 5 optimizers, 300 steps)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from optviz.scenes.load import load
from optviz.simulate import advance, lr_schedule
from optviz.commands.tune import tune_file

ROOT = Path(__file__).resolve().parents[1]


def final_points(scene, spec, lrs, vectorised: bool) -> np.ndarray:
    """Each candidate's final point; NaN for a run that diverged (where it stops is all that matters)."""
    hp = {k: v for k, v in spec.hyperparameters.items() if k != "lr"}
    schedules = np.stack([lr_schedule(spec, lr) for lr in lrs], axis=1)
    if vectorised:
        starts = np.tile(np.array([spec.start], dtype=float), (len(lrs), 1))
        runs = [advance(spec.optimizer, hp, starts, schedules, scene.function, scene.xlim, scene.ylim)]
    else:
        runs = [advance(spec.optimizer, hp, np.array([spec.start], dtype=float), schedules[:, i], scene.function,
                        scene.xlim, scene.ylim) for i in range(len(lrs))]
    finals = np.concatenate([points[-1] for points, _ in runs])
    diverged = np.concatenate([d for _, d in runs])
    finals[diverged >= 0] = np.nan
    return finals


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "configs" / "rosenbrock.yaml"
    scene = load(path)
    lrs = np.logspace(-6, 2, 65)
    timings = {}
    results = {}
    for vectorised in (True, False):
        start = time.perf_counter()
        results[vectorised] = [final_points(scene, spec, lrs, vectorised) for spec in scene.runs]
        timings[vectorised] = time.perf_counter() - start
    for a, b in zip(results[True], results[False]):
        np.testing.assert_array_equal(a, b)  # same numbers, only faster
    steps = max(spec.steps for spec in scene.runs)
    print(f"{path.name}: {len(scene.runs)} optimizers x {len(lrs)} candidate lrs x {steps} steps")
    print(f"one advance per lr          {timings[False]:7.2f}s")
    print(f"all lrs in one advance      {timings[True]:7.2f}s")
    print(f"ratio: {timings[False] / timings[True]:.1f}x faster, identical final points and divergences")
    for objective in ("final-loss", "initial-speed"):
        start = time.perf_counter()
        tune_file(path, objective=objective, write=False)
        print(f"optviz tune --objective {objective:13s} {time.perf_counter() - start:5.2f}s (whole search)")


if __name__ == "__main__":
    main()
