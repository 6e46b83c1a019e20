"""``optviz tune`` on a network scene: candidate learning rates train side by side as copies of an entry's runs.

The measures are the real ones, in weight space: the loss on all the data after the run's steps (a run that
diverges loses), and the length of the path over the first k steps. Each candidate sees exactly the
minibatches and noise the rendered run sees. The work is bounded before anything trains.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from ..errors import SceneError
from ..scenes.record import RunSpec
from .model import Model, one_thread
from .spec import MAX_WORK, Network
from .train import init_seed, train

#: ``optviz tune --objective final-loss`` trains about this many candidate lrs per entry (a log grid of 65,
#: then two finer grids of 33).
FINAL_LOSS_CANDIDATES = 131
TUNE_WORK = 16 * MAX_WORK
#: Floats the candidates of one call may hold in weights, optimizer state and activations (256 MB).
CALL_FLOATS = 1 << 25


def check_budget(net: Network, runs: Sequence[RunSpec], objective: str, k: int) -> None:
    """Refuse, before any training, a search that would take many minutes."""
    steps = sum(spec.steps if objective == "final-loss" else min(k, spec.steps) for spec in runs)
    work = FINAL_LOSS_CANDIDATES * steps * net.data.rows * net.parameters
    if work > TUNE_WORK:
        raise SceneError(f"tuning would train {FINAL_LOSS_CANDIDATES} candidates of every run ({work:.3g} row x "
                         f"parameter steps, the limit is {TUNE_WORK:.3g}); tune a smaller network, fewer steps "
                         "or rows, or --objective initial-speed", path="--objective")


def evaluate(net: Network, runs: Sequence[RunSpec], schedule: np.ndarray, steps: int, measure: str) -> np.ndarray:
    """For each candidate (a column of ``schedule``, the lr per step (steps, R)) the mean over the entry's S
    runs of ``measure``: "loss" (final loss, inf when a run diverges) or "path" (path length, inf likewise)."""
    model = Model(net)
    s, candidates = len(runs), schedule.shape[1]
    per_call = max(1, CALL_FLOATS // (s * (net.data.rows * model.width + 8 * net.parameters)))
    out = []
    with one_thread():
        for i in range(0, candidates, per_call):
            cols = schedule[:, i:i + per_call]
            out.append(_measure(model, runs, cols, steps, measure))
    return np.concatenate(out)


def _measure(model: Model, runs: Sequence[RunSpec], schedule: np.ndarray, steps: int, measure: str) -> np.ndarray:
    r = schedule.shape[1]
    specs = [replace(spec, steps=steps, group="candidates", init_seed=init_seed(spec, model.net)) for spec in runs] * r
    length = np.zeros(len(specs))
    previous = np.zeros((len(specs), model.net.parameters))

    def walk(k: int, params: np.ndarray, live: np.ndarray) -> None:
        if k:
            length[live] += np.linalg.norm(params[live] - previous[live], axis=1)
        previous[live] = params[live]

    loss, diverged = train(model, specs, [np.repeat(schedule, len(runs), axis=1)], walk, copies=r)
    value = loss[:, steps] if measure == "loss" else length
    lost = (diverged >= 0) | ~np.isfinite(value)
    return np.where(lost, np.inf, value).reshape(r, len(runs)).mean(axis=1)

