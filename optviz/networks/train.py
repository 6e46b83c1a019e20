"""Training every run of a network scene, in lockstep, from the same initial weights.

All runs advance one step at a time together: one batched gradient call for all full-batch runs (and one per
minibatch size), then each entry's optimizer moves its own runs. A run's path does not depend on which other
runs share the call (the batched products compute each vector on its own; a test checks it). Minibatches and
gradient noise are drawn as for 2-D functions (``optviz.simulate.gradient_oracle``): per entry, from its seed,
so run i of every entry sees the same rows and the same noise.

Training is deterministic, and ``simulate_network`` uses that: a first pass keeps thinned snapshots (for the
plane), the losses and the divergences, a second pass replays the same steps to project every step's weights
onto the plane. Holding every step's weights instead would take runs x steps x parameters floats (640 MB
for 4 runs of 2,000 steps of a 10k-parameter network).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import SceneError
from ..maths.optimizers import OPTIMIZERS, Optimizer, build_optimizer
from ..scenes.record import RunSpec, entries
from ..simulate import momentum_schedule
from .model import Model, initial_weights
from .spec import Network

#: A run has diverged once its loss is this many times its loss at the start (or not finite): its network is
#: then far worse than at random, as a 2-D run that flies ten view widths away.
FAR_WORSE = 100.0

Visit = Callable[[int, np.ndarray, np.ndarray], None]


def stepper(spec: RunSpec, net: Network, model: Model) -> Optimizer:
    """How one entry's runs move: ``init(params (runs, P)) -> state`` and
    ``update(grads (runs, P), state, params, lr) -> (params, state)``, the built-in optimizers' interface.

    A built-in optimizer applies its exact rule to the flattened parameter vector: every first-order rule is
    elementwise (scalars aside), so ``(runs, P)`` works as ``(runs, 2)`` does, and it equals ``torch.optim``
    stepping the network's parameter tensors (a test checks the first step).

    The seam for torch optimizer classes (``optviz.maths.torch_bridge``, issue 9): for now ``scenes.load`` refuses
    a dotted name in a network scene (``networks.spec.TORCH_CLASS_MESSAGE``). To connect them, drop that refusal
    and return here an ``Optimizer`` around the bridge's ``Stepper``: ``init(params)`` builds
    ``Stepper(resolve(name), {k: torch_value(v) ...}, params, spec.lr, schedule=spec.schedule, loss=...)`` from the
    (runs, P) weights (``loss``: ``model._losses`` on a (1, P) tensor, for closure and graph classes) and
    ``update`` returns ``state.step(lambda _: grads)``; the run's lrs are then the stepper's (torch's scheduler).
    Two things the Stepper does not do yet: one tensor per layer (it makes one flat tensor per run, which is
    exact for elementwise rules, but per-tensor norms (LAMB, LARS) and factored moments (Adafactor) need the
    layers: ``net.layout`` gives each one's ``weight``/``bias`` slices and shapes, in ``nn.Sequential`` order),
    and a gradient function for closure classes (LBFGS evaluates at its own points: ``model.loss_and_grad``).
    """
    if spec.optimizer in OPTIMIZERS:
        return build_optimizer(spec.optimizer, spec.hyperparameters)
    raise SceneError(f"'{spec.optimizer}' cannot train a network here (built-in optimizers only)",
                     path="optimizers")


def init_seed(spec: RunSpec, net: Network) -> int:
    return net.init_seed if spec.init_seed is None else spec.init_seed


@dataclass
class _Entry:
    """One scene entry: its runs' rows in the lockstep arrays, its optimizer, lrs and random streams."""

    rows: np.ndarray
    spec: RunSpec
    optimizer: Optimizer
    lrs: np.ndarray
    state: Any = None
    batches: np.random.Generator | None = None
    noise: np.random.Generator | None = None
    cycled: dict[str, np.ndarray] | None = None     # momentum or beta1 per step (OneCycleLR, CyclicLR)


def train(model: Model, specs: Sequence[RunSpec], lrs: Sequence[np.ndarray], visit: Visit,
          stop: np.ndarray | None = None, losses: bool = True, copies: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Train every run; after each step k (and before the first, k = 0) ``visit(k, params (R, P), live (R,))``
    sees every run's weights, ``live`` marking the runs still going (k at most their last step).

    ``lrs``: each entry's lr per step, (steps,) or (steps, runs). ``stop``: each run's last step (default:
    its steps; a first pass's divergences shorten it). ``copies``: each entry's runs are this many copies of
    its scene runs side by side (``optviz tune``'s candidate lrs), which share every random draw, as each
    candidate alone would see them. Returns the real loss on all the data (R, steps + 1; NaN where not
    computed, and not computed for minibatch runs unless ``losses``) and each run's divergence step (-1: none).
    """
    net = model.net
    groups = entries(specs)
    params = initial_weights(net, [init_seed(spec, net) for spec in specs])
    runs = [_Entry(np.array(members), specs[members[0]], stepper(specs[members[0]], net, model), lr)
            for members, lr in zip(groups, lrs)]
    for e in runs:
        e.state = e.optimizer.init(params[e.rows])
        e.cycled = momentum_schedule(e.spec) if e.spec.optimizer in OPTIMIZERS else {}
        if e.spec.minibatch is not None:
            e.batches = np.random.default_rng(e.spec.minibatch["seed"])
        if e.spec.noise is not None and e.spec.noise["std"] != 0:
            e.noise = np.random.default_rng(e.spec.noise["seed"])
    last = np.array([spec.steps for spec in specs]) if stop is None else np.array(stop)
    loss = np.full((len(specs), last.max() + 1), np.nan)
    diverged = np.full(len(specs), -1)
    for k in range(int(last.max()) + 1):
        live = k <= last
        stepping = [e for e in runs if k < e.spec.steps and np.any(k < last[e.rows])]
        grads = _gradients(model, stepping, params, loss[:, k], copies)
        if losses:
            missing = live & np.isnan(loss[:, k])
            if missing.any():
                loss[missing, k] = model.losses(params[missing])
            if stop is None and k > 0:
                with np.errstate(invalid="ignore"):
                    bad = live & (~np.all(np.isfinite(params), axis=1) | ~np.isfinite(loss[:, k])
                                  | (loss[:, k] > FAR_WORSE * loss[:, 0]))
                diverged[bad] = k
                last[bad] = k
                live = k <= last
        visit(k, params, live)
        with np.errstate(all="ignore"):
            for e in stepping:
                g = grads[id(e)]
                if e.noise is not None:
                    eps = e.spec.noise["std"] * _shared(e.noise.standard_normal((len(e.rows) // copies, g.shape[1])),
                                                        copies)
                    g = g * (1.0 + eps) if e.spec.noise["kind"] == "multiplicative" else g + eps
                params[e.rows], e.state = e.optimizer.update(g, e.state, params[e.rows], e.lrs[k],
                                                             **{key: value[k] for key, value in e.cycled.items()})
    return loss, diverged


def _shared(draw: np.ndarray, copies: int) -> np.ndarray:
    return draw if copies == 1 else np.tile(draw, (copies, 1))


def _gradients(model: Model, stepping: list[_Entry], params: np.ndarray, loss: np.ndarray,
               copies: int = 1) -> dict[int, np.ndarray]:
    """Each stepping entry's gradients at ``params``, in one batched call per kind of batch (all the data, or
    minibatches of one size). Full-batch losses come with them and are written into ``loss``."""
    out: dict[int, np.ndarray] = {}
    kinds: dict[int | None, list[_Entry]] = {}
    for e in stepping:
        kinds.setdefault(None if e.spec.minibatch is None else e.spec.minibatch["size"], []).append(e)
    n = model.net.data.rows
    for size, group in kinds.items():
        rows = np.concatenate([e.rows for e in group])
        sampled = None if size is None else np.concatenate(
            [_shared(e.batches.integers(0, n, size=(len(e.rows) // copies, size)), copies) for e in group])
        values, grads = model.loss_and_grad(params[rows], sampled)
        if size is None:
            loss[rows] = values
        at = 0
        for e in group:
            out[id(e)] = grads[at:at + len(e.rows)]
            at += len(e.rows)
    return out
