"""The stepping core: one torch optimizer class stepping many independent parameter vectors on gradients computed
outside torch (optviz's exact ones, a noise or minibatch oracle, or a small network's).

>>> import numpy as np, torch
>>> s = Stepper(torch.optim.SGD, {"momentum": 0.9}, np.array([[1.0, 2.0], [3.0, 4.0]]), lr=0.1)
>>> s.step(lambda p: 2 * p).tolist()      # the gradient of |p|**2, one row per run
[[0.8, 1.6], [2.4, 3.2]]
>>> s.lrs.tolist(), s.shared
([0.1, 0.1], True)

- ``starts`` is (R, D): R runs of D parameters (2 for a scene, any D for a network's weights). Each run is its own
  parameter group of float64 leaf tensors, so per-tensor state (moments) and per-group state stay independent,
  and one optimizer steps them all: one ``step()`` call a step, whatever R (``shared``).
- ``shapes``: the tensors a run's D parameters are, in order (a network's layers: ``(out, in)`` weights and
  ``(out,)`` biases, as ``nn.Sequential(...).parameters()``); default one flat tensor of D. Elementwise rules do
  not care, but per-tensor norms (LAMB, LARS) and factored or preconditioned moments (Adafactor, SOAP)
  see the layers as torch would show them. ``params`` holds every leaf tensor, run by run.
- Some classes couple what they are given even across groups: Prodigy and D-Adaptation estimate one step size
  from all parameters, a line search (LBFGS) treats them as one problem, Hutchinson estimates draw one random
  stream. Those get one optimizer per run, each with its own copy of the random stream (``shared`` is False): the
  class needs a closure or Hessian-vector products, or a probe of a few steps, two runs in one optimizer against
  each alone, does not agree to the bit. So every run of a swarm equals the single run from its start.
- ``lr`` is one float or R of them (tune's candidates: one group each).
- ``schedule`` is ``{"name": <torch.optim.lr_scheduler class>, **kwargs}``, run by torch's own class; a keyword
  given as a list of R values is per run (CyclicLR's ``base_lr``).
- ``gradient(params (R, D)) -> (R, D)`` (numpy, float64) is written into ``.grad``. How ``step`` is driven
  depends on the class (``keywords.mode``): plain; through a closure (LBFGS); or with ``.grad`` carrying an
  autograd graph of ``loss`` (AdaHessian, Sophia-H), its value still exactly ``gradient``'s.
- ``loss(params (R, D) tensor) -> (R,)`` is needed by the closure and graph modes (``evaluate.torch_function``).
  Where the loss and the gradient differ from run to run and step to step (a network's minibatch and noise),
  ``step(..., per_run=)`` gives each run's own for that step.
- Runs not in ``active`` get no gradient and are not stepped: a diverged run stays put.

Everything runs with float64 as torch's default dtype (NAdam keeps a product in it) and with torch's random
generator seeded from ``seed`` and kept apart from the caller's, so a run is reproducible to the bit.
"""
from __future__ import annotations

import contextlib
import functools
import math
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..functions import Objective
from .evaluate import torch_function
from .keywords import lr_default, torch_value
from .keywords import mode as step_mode
from .names import resolve

Gradient = Callable[[np.ndarray], np.ndarray]
Loss = Callable[[torch.Tensor], torch.Tensor]
#: ``per_run(i) -> (loss, gradient)``: run i's own loss and gradient function for one step.
PerRun = Callable[[int], tuple[Loss, Gradient]]


class Stepper:
    def __init__(self, cls: type, kwargs: dict, starts: np.ndarray, lr: Any, *, schedule: dict | None = None,
                 loss: Loss | None = None, seed: int = 0, shapes: Sequence[tuple[int, ...]] | None = None):
        starts = np.asarray(starts, dtype=np.float64)
        runs, size = starts.shape
        lrs = np.broadcast_to(np.asarray(lr, dtype=np.float64), (runs,))
        self.shapes = [(size,)] if shapes is None else [tuple(shape) for shape in shapes]
        self.sizes = [math.prod(shape) for shape in self.shapes]
        if sum(self.sizes) != size:
            raise ValueError(f"the shapes {self.shapes} hold {sum(self.sizes)} parameters, not {size}")
        self.mode = step_mode(cls)
        if self.mode != "plain" and loss is None:
            raise ValueError(f"{cls.__name__} needs the loss in torch (mode {self.mode})")
        self.loss = loss
        self.shared = self.mode == "plain" and (runs < 2 or not couples(cls, kwargs, lrs))
        with _isolated():
            self.tensors = [[torch.tensor(piece.reshape(shape), dtype=torch.float64, requires_grad=True)
                             for piece, shape in zip(np.split(row, np.cumsum(self.sizes)[:-1]), self.shapes)]
                            for row in starts]
            self.params = [p for run in self.tensors for p in run]
            groups = [{"params": run, "lr": float(a)} for run, a in zip(self.tensors, lrs)]
            if self.shared:
                self.optimizers = [cls(groups, lr=float(lrs[0]), **kwargs)] if runs else []
            else:
                self.optimizers = [cls([g], lr=g["lr"], **kwargs) for g in groups]
            self.schedulers = [] if schedule is None else [
                _scheduler(opt, schedule, None if self.shared else i) for i, opt in enumerate(self.optimizers)]
            torch.manual_seed(seed)
            self._rngs = [torch.get_rng_state()] * len(self.optimizers)   # separate runs: one stream each
        self._now = self.positions()    # where the runs are: read once after each step, used by the next

    @property
    def lrs(self) -> np.ndarray:
        """The lr each run's next step uses."""
        return np.array([float(g["lr"]) for opt in self.optimizers for g in opt.param_groups])

    def positions(self) -> np.ndarray:
        if not self.params:
            return np.empty((0, sum(self.sizes)))
        return torch.cat([p.detach().reshape(-1) for p in self.params]).reshape(len(self.tensors), -1).numpy().copy()

    def step(self, gradient: Gradient, active: np.ndarray | None = None, per_run: PerRun | None = None
             ) -> np.ndarray:
        """One optimizer step of every active run; returns the new parameters (R, D). ``per_run(i) -> (loss,
        gradient)``: run i's own loss and gradient at any point for this step, which closure classes evaluate at
        their own points and graph classes differentiate (default: ``loss`` and ``gradient``)."""
        active = np.ones(len(self.tensors), dtype=bool) if active is None else np.asarray(active, dtype=bool)
        own = per_run or (lambda i: (self.loss, gradient))
        with _isolated():
            if self.mode == "closure":
                for i in np.flatnonzero(active):
                    self._in_stream(i, lambda: self.optimizers[i].step(self._closure(self.tensors[i], *own(i))))
            else:
                values = torch.from_numpy(np.ascontiguousarray(gradient(self._now), dtype=np.float64))
                for i, run in enumerate(self.tensors):
                    pieces = self._pieces(values[i])
                    if self.mode == "graph" and active[i]:
                        pieces = self._graph(run, pieces, own(i)[0])
                    for p, piece in zip(run, pieces):
                        p.grad = piece if active[i] else None
                if self.shared:
                    self._in_stream(0, self.optimizers[0].step)
                else:
                    for i in np.flatnonzero(active):
                        self._in_stream(i, self.optimizers[i].step)
            for scheduler in self.schedulers:
                scheduler.step()
        self._now = self.positions()
        return self._now

    def _in_stream(self, i: int, call: Callable[[], Any]) -> None:
        torch.set_rng_state(self._rngs[i])
        call()
        self._rngs[i] = torch.get_rng_state()

    def _pieces(self, row: torch.Tensor) -> list[torch.Tensor]:
        """One run's (D,) values as its tensors' shapes (views)."""
        return [piece.view(shape) for piece, shape in zip(row.split(self.sizes), self.shapes)]

    def _graph(self, run: list[torch.Tensor], values: list[torch.Tensor], loss: Loss) -> list[torch.Tensor]:
        """autograd's gradient of ``loss`` at the run's tensors (a graph, for Hessian-vector products), shifted to
        ``values``: exactly ``values`` whenever the two are within a factor 2 (Sterbenz), as they are to 1e-12."""
        with torch.enable_grad():
            flat = torch.cat([p.reshape(-1) for p in run])[None]
            grads = torch.autograd.grad(loss(flat).sum(), run, create_graph=True)
        out = []
        for g, value in zip(grads, values):
            g = torch.nan_to_num(g)
            out.append(g + (value - g).detach())
        return out

    def _closure(self, run: list[torch.Tensor], loss: Loss, gradient: Gradient) -> Callable[[], torch.Tensor]:
        def closure() -> torch.Tensor:
            point = torch.cat([p.detach().reshape(-1) for p in run])[None]
            values = torch.from_numpy(np.ascontiguousarray(gradient(point.numpy().copy())[0], dtype=np.float64))
            for p, piece in zip(run, self._pieces(values)):
                p.grad = piece
            with torch.no_grad():
                return loss(point)[0]
        return closure


def for_objective(name: str, hyperparameters: dict, starts: np.ndarray, lr: Any, objective: Objective,
                  schedule: dict | None = None) -> Stepper:
    """The stepper for runs of a scene: the class its dotted ``name`` resolves to, the entry's keywords (lr
    apart), and the function in torch when the class evaluates it itself."""
    cls = resolve(name)
    loss = None
    if step_mode(cls) != "plain":
        f = torch_function(objective)

        def loss(params: torch.Tensor) -> torch.Tensor:
            return f(params.T)

    kwargs = {k: torch_value(v) for k, v in hyperparameters.items()}
    return Stepper(cls, kwargs, starts, lr, schedule=schedule, loss=loss)


def couples(cls: type, kwargs: dict, lrs: Any = ()) -> bool:
    """Whether runs in one optimizer (a group each) move differently from each run alone, probed at the class's
    default lr and at the smallest and largest of ``lrs`` (coupling may only show where the lr lets estimated step
    sizes grow); an inconclusive probe (an error, a non-finite point) counts as coupling."""
    default = lr_default(cls)           # None where the class has no lr keyword or no default for it
    probe = {float(v) for v in np.asarray(lrs, dtype=np.float64).ravel()[[0, -1]]} if np.size(lrs) else set()
    probe = sorted(probe | {1e-3} | ({float(default)} if isinstance(default, (int, float))
                                     and not isinstance(default, bool) else set()))
    try:
        key = (cls, tuple(sorted(kwargs.items())))
        hash(key)
    except TypeError:
        return any(_couples_at(cls, kwargs, lr) for lr in probe)
    return any(_cached_couples_at(key, lr) for lr in probe)


@functools.lru_cache(maxsize=256)
def _cached_couples_at(key: tuple, lr: float) -> bool:
    return _couples_at(key[0], dict(key[1]), lr)


def _couples_at(cls: type, kwargs: dict, lr: float) -> bool:
    """A dozen steps on two quadratic bowls of very different steepness (so estimated step sizes grow and global
    norms show), two runs in one optimizer against each alone."""
    rng = np.random.default_rng(0)
    starts, targets = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    steepness = (1.0, 50.0)

    def run(rows: list[int]) -> np.ndarray:
        with _isolated():
            torch.manual_seed(0)
            params = [torch.tensor(starts[r], requires_grad=True) for r in rows]
            opt = cls([{"params": [p], "lr": lr} for p in params], lr=lr, **kwargs)
            for _ in range(12):
                for p, r in zip(params, rows):
                    p.grad = steepness[r] * (p.detach() - torch.from_numpy(targets[r]))
                opt.step()
            return torch.stack([p.detach() for p in params]).numpy()

    try:
        together = run([0, 1])
        alone = np.concatenate([run([0]), run([1])])
    except Exception:
        return True
    return not (np.all(np.isfinite(together)) and np.array_equal(together, alone))


def _scheduler(optimizer, schedule: dict, run: int | None):
    kwargs = {k: (v[run] if run is not None else v) if isinstance(v, list) else v
              for k, v in schedule.items() if k != "name"}
    return getattr(torch.optim.lr_scheduler, schedule["name"])(optimizer, **kwargs)


@contextlib.contextmanager
def _isolated():
    """float64 as torch's default dtype, and the caller's random state given back afterwards."""
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        torch.set_default_dtype(dtype)
