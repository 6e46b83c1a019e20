"""The stepping core: one torch optimizer stepping many independent parameter vectors on gradients computed
outside torch (optviz's exact ones, a noise or minibatch oracle, or a small network's).

>>> import numpy as np, torch
>>> s = Stepper(torch.optim.SGD, {"momentum": 0.9}, np.array([[1.0, 2.0], [3.0, 4.0]]), lr=0.1)
>>> s.step(lambda p: 2 * p).tolist()      # the gradient of |p|**2, one row per run
[[0.8, 1.6], [2.4, 3.2]]
>>> s.lrs.tolist()
[0.1, 0.1]

- ``starts`` is (R, D): R runs of D parameters (2 for a scene, any D for a network's flat weight vector). Each run
  is its own float64 leaf tensor in its own parameter group, so per-tensor state (moments) and per-group state
  (Prodigy's d, schedule-free weights) stay independent, and one optimizer steps them all: one ``step()`` call a
  step, whatever R.
- ``lr`` is one float or R of them (tune's candidates: one group each).
- ``schedule`` is ``{"name": <torch.optim.lr_scheduler class>, **kwargs}``, run by torch's own class; a keyword
  given as a list of R values is per group (CyclicLR's ``base_lr``).
- ``gradient(params (R, D)) -> (R, D)`` (numpy, float64) is written into ``.grad``. How ``step`` is driven
  depends on the class (``keywords.mode``): plain; through a closure (LBFGS: then every run has its own optimizer,
  because a line search treats all its parameters as one problem); or with ``.grad`` carrying an autograd graph
  of ``loss`` (Hessian-vector products: AdaHessian, Sophia-H), its value still exactly ``gradient``'s.
- ``loss(params (R, D) tensor) -> (R,)`` is needed by the closure and graph modes (``evaluate.torch_function``).
- Runs not in ``active`` get no gradient: torch optimizers skip such parameters (a diverged run stays put).

Everything runs with float64 as torch's default dtype (NAdam keeps a product in it) and with torch's random
generator seeded from ``seed`` and kept apart from the caller's, so a run is reproducible to the bit.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable

import numpy as np
import torch

from ..functions import Objective
from .evaluate import torch_function
from .keywords import mode as step_mode
from .keywords import torch_value
from .names import resolve

Gradient = Callable[[np.ndarray], np.ndarray]
Loss = Callable[[torch.Tensor], torch.Tensor]


class Stepper:
    def __init__(self, cls: type, kwargs: dict, starts: np.ndarray, lr: Any, *, schedule: dict | None = None,
                 loss: Loss | None = None, seed: int = 0):
        starts = np.asarray(starts, dtype=np.float64)
        runs = starts.shape[0]
        lrs = np.broadcast_to(np.asarray(lr, dtype=np.float64), (runs,))
        self.mode = step_mode(cls)
        if self.mode != "plain" and loss is None:
            raise ValueError(f"{cls.__name__} needs the loss in torch (mode {self.mode})")
        self.loss = loss
        with _isolated(None) as rng:
            torch.manual_seed(seed)
            self.params = [torch.tensor(row, dtype=torch.float64, requires_grad=True) for row in starts]
            groups = [{"params": [p], "lr": float(a)} for p, a in zip(self.params, lrs)]
            base = {"lr": float(lrs[0])} if runs else {}
            if self.mode == "closure":
                self.optimizers = [cls([group], **base, **kwargs) for group in groups]
            else:
                self.optimizers = [cls(groups, **base, **kwargs)]
            self.schedulers = [] if schedule is None else [
                _scheduler(opt, schedule, i if self.mode == "closure" else None)
                for i, opt in enumerate(self.optimizers)]
            self._rng = rng()

    @property
    def lrs(self) -> np.ndarray:
        """The lr each run's next step uses."""
        return np.array([float(g["lr"]) for opt in self.optimizers for g in opt.param_groups])

    def positions(self) -> np.ndarray:
        return torch.stack([p.detach() for p in self.params]).numpy().copy()

    def step(self, gradient: Gradient, active: np.ndarray | None = None) -> np.ndarray:
        """One optimizer step of every active run; returns the new parameters (R, D)."""
        active = np.ones(len(self.params), dtype=bool) if active is None else np.asarray(active, dtype=bool)
        with _isolated(self._rng) as rng:
            if self.mode == "closure":
                self._step_closures(gradient, active)
            else:
                self._step_together(gradient, active)
            for scheduler in self.schedulers:
                scheduler.step()
            self._rng = rng()
        return self.positions()

    def _step_together(self, gradient: Gradient, active: np.ndarray) -> None:
        values = torch.from_numpy(np.ascontiguousarray(gradient(self.positions()), dtype=np.float64)).unbind(0)
        if self.mode == "graph":
            with torch.enable_grad():
                graph = torch.autograd.grad(self.loss(torch.stack(self.params)).sum(), self.params,
                                            create_graph=True)
            # autograd's gradient, shifted to optviz's value: exact whenever the two are within a factor 2
            # (Sterbenz), as they are to 1e-12; the graph for Hessian-vector products is autograd's
            values = [g + (v - g).detach() for g, v in zip((torch.nan_to_num(g) for g in graph), values)]
        for p, g, on in zip(self.params, values, active):
            p.grad = g if on else None
        self.optimizers[0].step()

    def _step_closures(self, gradient: Gradient, active: np.ndarray) -> None:
        for p, opt, on in zip(self.params, self.optimizers, active):
            if on:
                opt.step(self._closure(p, gradient))

    def _closure(self, p: torch.Tensor, gradient: Gradient) -> Callable[[], torch.Tensor]:
        def closure() -> torch.Tensor:
            point = p.detach()[None]
            p.grad = torch.from_numpy(np.ascontiguousarray(gradient(point.numpy().copy())[0], dtype=np.float64))
            with torch.no_grad():
                return self.loss(point)[0]
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


def _scheduler(optimizer, schedule: dict, run: int | None):
    kwargs = {k: (v[run] if run is not None else v) if isinstance(v, list) else v
              for k, v in schedule.items() if k != "name"}
    return getattr(torch.optim.lr_scheduler, schedule["name"])(optimizer, **kwargs)


@contextlib.contextmanager
def _isolated(state: torch.Tensor | None):
    """float64 as torch's default dtype and a random generator of our own, both given back afterwards; yields a
    function returning our generator's state at the end."""
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with torch.random.fork_rng(devices=[]):
            if state is not None:
                torch.set_rng_state(state)
            yield torch.get_rng_state
    finally:
        torch.set_default_dtype(dtype)
