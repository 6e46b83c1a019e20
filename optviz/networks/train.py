"""Training every run of a network scene, in lockstep, from the same initial weights.

All runs advance one step at a time together: one batched gradient call for all full-batch runs (and one per
minibatch size), then each entry's optimizer moves its own runs. A run's path does not depend on which other
runs share the call (the batched products compute each vector on its own; a test checks it). Minibatches and
gradient noise are drawn as for 2-D functions (``optviz.simulate.gradient_oracle``): per entry, from its seed,
so run i of every entry sees the same rows and the same noise (a torch class that evaluates the loss itself,
LBFGS, does so on its step's rows and noise).

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
from ..maths.optimizers import Optimizer, build_optimizer
from ..maths.torch_bridge import is_dotted, resolve, torch_value
from ..scenes.record import RunSpec, entries
from ..simulate import momentum_schedule
from .model import Model, initial_weights
from .spec import Network

#: A run has diverged once its loss is this many times its loss at the start (or not finite): its network is
#: then far worse than at random, as a 2-D run that flies ten view widths away.
FAR_WORSE = 100.0

Visit = Callable[[int, np.ndarray, np.ndarray], None]


def mover(specs: Sequence[RunSpec], net: Network, model: Model, params: np.ndarray) -> Optimizer | Bridged:
    """What moves one entry's runs (``specs``, from their initial weights ``params``).

    A built-in optimizer (``init``/``update``, as for 2-D scenes) applies its exact rule to the flattened
    parameter vector: every first-order rule is elementwise (scalars aside), so ``(runs, P)`` works as
    ``(runs, 2)`` does, and it equals ``torch.optim`` stepping the network's parameter tensors (a test checks
    the first step). A torch class (a dotted name) runs through the bridge on the layers' tensors (``Bridged``).
    """
    if is_dotted(specs[0].optimizer):
        return Bridged(specs, net, model, params)
    return build_optimizer(specs[0].optimizer, specs[0].hyperparameters)


def layer_shapes(net: Network) -> list[tuple[int, ...]]:
    """The network's parameter tensors in ``nn.Sequential(...).parameters()`` order: each layer's weight
    (out, in), then its bias (out,); their sizes in order make up the flat vector (``net.layout``)."""
    return [shape for layer in net.layout for shape in ((layer.outputs, layer.inputs), (layer.outputs,))]


@dataclass(frozen=True)
class Draw:
    """What an entry's gradient oracle drew for one step: each run's minibatch rows (runs, b), None for all the
    data; and its gradient noise (runs, P), None for none, added (or, ``multiplicative``, scaling)."""

    rows: np.ndarray | None = None
    noise: np.ndarray | None = None
    multiplicative: bool = False

    def perturb(self, g: np.ndarray, runs: slice = slice(None)) -> np.ndarray:
        if self.noise is None:
            return g
        eps = self.noise[runs]
        return g * (1.0 + eps) if self.multiplicative else g + eps


class Bridged:
    """An entry's runs trained by a torch optimizer class (``name: pytorch_optimizer.Lion``) through the bridge's
    ``Stepper``, as torch would train the network: each run is one parameter group of its layers' tensors
    (``layer_shapes``), so per-tensor norms (LAMB, LARS) and factored or preconditioned moments (Adafactor, SOAP)
    see the layers; the lrs are torch's own scheduler's. Classes that evaluate the loss themselves get the
    network's: a closure (LBFGS) computes the loss and gradient at the class's own points, and a graph class
    (AdaHessian, Sophia-H) differentiates the loss's autograd graph, both on the step's own rows and noise, as a
    torch training loop's closure over the current minibatch does. ``specs``: the entry's runs, each with its own
    lr and schedule (``optviz tune``'s candidates differ in them)."""

    def __init__(self, specs: Sequence[RunSpec], net: Network, model: Model, params: np.ndarray):
        from ..maths.torch_bridge.stepper import Stepper  # lazy: imports torch, as the model does

        first = specs[0]
        self.name = first.optimizer
        self.model = model
        kwargs = {key: torch_value(value) for key, value in first.hyperparameters.items()}
        self.stepper = Stepper(resolve(first.optimizer), kwargs, params, np.array([spec.lr for spec in specs]),
                               schedule=_per_run([spec.schedule for spec in specs]), loss=model.batch_losses,
                               shapes=layer_shapes(net))

    @property
    def lrs(self) -> np.ndarray:
        """The lr each run's next step uses."""
        return self.stepper.lrs

    def step(self, grads: np.ndarray, active: np.ndarray, draw: Draw, k: int) -> np.ndarray:
        """Step ``k`` of the active runs on ``grads`` (the step's, noise included); returns every run's weights."""
        per_run = None if self.stepper.mode == "plain" else self._per_run(draw)
        try:
            return self.stepper.step(lambda _: grads, active, per_run)
        except Exception as exc:    # the class's own code failed: say which, at which step, and why
            raise SceneError(f"{self.name} failed at step {k + 1}: {type(exc).__name__}: {exc}") from None

    def _per_run(self, draw: Draw):
        model = self.model

        def own(i: int):
            rows = None if draw.rows is None else draw.rows[i:i + 1]

            def loss(params):
                return model.batch_losses(params, rows)

            def gradient(point: np.ndarray) -> np.ndarray:
                return draw.perturb(model.loss_and_grad(point, rows)[1], slice(i, i + 1))

            return loss, gradient

        return own


def _per_run(schedules: list[dict | None]) -> dict | None:
    """One schedule for an entry's runs: theirs when they share it, else a list of R values for each keyword
    that differs (tune's candidates of a CyclicLR that follows the lr differ in ``base_lr``)."""
    first = schedules[0]
    if first is None or all(s == first for s in schedules):
        return first
    return {key: value if all(s[key] == value for s in schedules) else [s[key] for s in schedules]
            for key, value in first.items()}


def init_seed(spec: RunSpec, net: Network) -> int:
    return net.init_seed if spec.init_seed is None else spec.init_seed


@dataclass
class _Entry:
    """One scene entry: its runs' rows in the lockstep arrays, its optimizer, lrs and random streams."""

    rows: np.ndarray
    spec: RunSpec
    optimizer: Optimizer | Bridged
    lrs: np.ndarray
    state: Any = None
    batches: np.random.Generator | None = None
    noise: np.random.Generator | None = None
    cycled: dict[str, np.ndarray] | None = None     # momentum or beta1 per step (OneCycleLR, CyclicLR)


def train(model: Model, specs: Sequence[RunSpec], lrs: Sequence[np.ndarray], visit: Visit,
          stop: np.ndarray | None = None, losses: bool = True, copies: int = 1
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train every run; after each step k (and before the first, k = 0) ``visit(k, params (R, P), live (R,))``
    sees every run's weights, ``live`` marking the runs still going (k at most their last step).

    ``lrs``: each entry's lr per step, (steps,) or (steps, runs), for built-in optimizers; an entry naming a
    torch class starts from its runs' ``lr`` and follows torch's scheduler. ``stop``: each run's last step
    (default: its steps; a first pass's divergences shorten it). ``copies``: each entry's runs are this many
    copies of its scene runs side by side (``optviz tune``'s candidate lrs), which share every random draw, as
    each candidate alone would see them. Returns the real loss on all the data (R, steps + 1; NaN where not
    computed, and not computed for minibatch runs unless ``losses``), each run's divergence step (-1: none) and
    the lr each run's steps used (R, steps; NaN past its own steps).
    """
    net = model.net
    groups = entries(specs)
    params = initial_weights(net, [init_seed(spec, net) for spec in specs])
    runs = []
    for members, lr in zip(groups, lrs):
        rows = np.array(members)
        runs.append(_Entry(rows, specs[members[0]], mover([specs[i] for i in members], net, model, params[rows]), lr))
    for e in runs:
        if isinstance(e.optimizer, Bridged):
            e.cycled = {}
        else:
            e.state = e.optimizer.init(params[e.rows])
            e.cycled = momentum_schedule(e.spec)
        if e.spec.minibatch is not None:
            e.batches = np.random.default_rng(e.spec.minibatch["seed"])
        if e.spec.noise is not None and e.spec.noise["std"] != 0:
            e.noise = np.random.default_rng(e.spec.noise["seed"])
    last = np.array([spec.steps for spec in specs]) if stop is None else np.array(stop)
    loss = np.full((len(specs), last.max() + 1), np.nan)
    used = np.full((len(specs), max(spec.steps for spec in specs)), np.nan)
    diverged = np.full(len(specs), -1)
    for k in range(int(last.max()) + 1):
        live = k <= last
        for e in runs:
            if k < e.spec.steps:
                used[e.rows, k] = e.optimizer.lrs if isinstance(e.optimizer, Bridged) else e.lrs[k]
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
                g, rows = grads[id(e)]
                draw = Draw(rows)
                if e.noise is not None:
                    eps = e.spec.noise["std"] * _shared(e.noise.standard_normal((len(e.rows) // copies, g.shape[1])),
                                                        copies)
                    draw = Draw(rows, eps, e.spec.noise["kind"] == "multiplicative")
                    g = draw.perturb(g)
                if isinstance(e.optimizer, Bridged):
                    params[e.rows] = e.optimizer.step(g, k < last[e.rows], draw, k)
                else:
                    params[e.rows], e.state = e.optimizer.update(g, e.state, params[e.rows], e.lrs[k],
                                                                 **{key: value[k] for key, value in e.cycled.items()})
    return loss, diverged, used


def _shared(draw: np.ndarray, copies: int) -> np.ndarray:
    return draw if copies == 1 else np.tile(draw, (copies, 1))


def _gradients(model: Model, stepping: list[_Entry], params: np.ndarray, loss: np.ndarray,
               copies: int = 1) -> dict[int, tuple[np.ndarray, np.ndarray | None]]:
    """Each stepping entry's gradients at ``params`` and the minibatch rows they were taken on (None: all the
    data), in one batched call per kind of batch (all the data, or minibatches of one size). Full-batch losses
    come with them and are written into ``loss``."""
    out: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
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
            taken = slice(at, at + len(e.rows))
            out[id(e)] = grads[taken], None if sampled is None else sampled[taken]
            at += len(e.rows)
    return out
