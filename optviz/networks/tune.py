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
from ..maths.torch_bridge import is_dotted
from ..scenes.record import RunSpec
from .model import Model, one_thread
from .spec import MAX_WORK, Network, evaluations
from .train import init_seed, train

#: ``optviz tune --objective final-loss`` trains about this many candidate lrs per entry: a log grid of 65 and two
#: finer grids of 33, each lr also at twice itself (tune's margin from the edge of stability).
FINAL_LOSS_CANDIDATES = 264
TUNE_WORK = 16 * MAX_WORK
#: Floats the candidates of one call may hold in weights, optimizer state and activations (256 MB).
CALL_FLOATS = 1 << 25


def check_budget(net: Network, runs: Sequence[RunSpec], objective: str, k: int) -> None:
    """Refuse, before any training, a search that would take many minutes."""
    steps = sum((spec.steps if objective == "final-loss" else min(k, spec.steps)) * evaluations(spec) for spec in runs)
    work = FINAL_LOSS_CANDIDATES * steps * net.data.rows * net.parameters
    if work > TUNE_WORK:
        raise SceneError(f"tuning would train {FINAL_LOSS_CANDIDATES} candidates of every run ({work:.3g} row x "
                         f"parameter steps, the limit is {TUNE_WORK:.3g}); tune a smaller network, fewer steps "
                         "or rows, or --objective initial-speed", path="--objective")


def evaluate(net: Network, runs: Sequence[RunSpec], schedule: np.ndarray, steps: int, lrs: Sequence[float] = (),
             follows_lr: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train the entry's S runs once per candidate (a column of ``schedule``, the lr per step (steps, R)) for
    ``steps`` steps. Returns the real loss at every step (R, S, steps + 1), the path length in weight space
    (R, S) and where each run diverged (R, S; -1: never).

    A torch class follows torch's scheduler from each candidate's lr (``lrs``; a CyclicLR that ``follows_lr``
    starts its cycle there), every candidate a parameter group of one optimizer; a candidate whose schedule
    torch refuses (NaN in ``schedule``) is not trained and counts as diverged at once."""
    model = Model(net)
    s, candidates = len(runs), schedule.shape[1]
    bridged = is_dotted(runs[0].optimizer)
    trained = np.all(np.isfinite(schedule), axis=0) if bridged else np.ones(candidates, dtype=bool)
    loss = np.full((candidates, s, steps + 1), np.nan)
    length = np.zeros((candidates, s))
    diverged = np.zeros((candidates, s), dtype=int)
    per_call = max(1, CALL_FLOATS // (s * (net.data.rows * model.width + 8 * net.parameters)))
    chosen = np.flatnonzero(trained)
    with one_thread():
        for i in range(0, len(chosen), per_call):
            picked = chosen[i:i + per_call]
            copies = [_candidate(spec, float(lrs[c]), follows_lr) for c in picked for spec in runs] if bridged else \
                list(runs) * len(picked)
            loss[picked], length[picked], diverged[picked] = _train(model, copies, schedule[:, picked], steps)
    return loss, length, diverged


def _candidate(spec: RunSpec, lr: float, follows_lr: bool) -> RunSpec:
    if follows_lr:
        return replace(spec, lr=lr, schedule={**spec.schedule, "base_lr": lr})
    return replace(spec, lr=lr)


def _train(model: Model, specs: Sequence[RunSpec], schedule: np.ndarray, steps: int):
    """The candidates' runs ``specs`` (R copies of the entry's S runs, each candidate's S runs together) side by
    side, the candidates' lrs per step (steps, R)."""
    r = schedule.shape[1]
    s = len(specs) // r
    specs = [replace(spec, steps=steps, group="candidates", init_seed=init_seed(spec, model.net)) for spec in specs]
    length = np.zeros(len(specs))
    previous = np.zeros((len(specs), model.net.parameters))

    def walk(k: int, params: np.ndarray, live: np.ndarray) -> None:
        if k:
            length[live] += np.linalg.norm(params[live] - previous[live], axis=1)
        previous[live] = params[live]

    loss, diverged, _ = train(model, specs, [np.repeat(schedule, s, axis=1)], walk, copies=r)
    return loss.reshape(r, s, steps + 1), length.reshape(r, s), diverged.reshape(r, s)
