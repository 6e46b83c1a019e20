"""torch.optim.SGD: plain, heavy-ball momentum and Nesterov; registered as ``sgd``, ``momentum`` and ``nag``."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._exact import add, branch_fused, descend, some
from ._wrappers import torch_like
from .base import MAXIMIZE, Hyper, Optimizer, OptimizerSpec, Rule, alias, lr_hyper, register, weight_decay_hyper


class SGDState(NamedTuple):
    momentum_buffer: np.ndarray
    step: int


def _sgd(momentum: float, dampening: float, nesterov: bool) -> Optimizer:
    r"""Heavy ball (Polyak, "Some methods of speeding up the convergence of iteration methods", 1964) and
    Nesterov momentum in the form of Sutskever et al., "On the importance of initialization and momentum
    in deep learning", ICML 2013:

    .. math:: b_t = \mu b_{t-1} + (1-\tau) g_t \ (b_1 = g_1), \quad
              d_t = g_t + \mu b_t \text{ (nesterov) or } b_t, \quad \theta_t = \theta_{t-1} - \gamma d_t

    The buffer starts as the first gradient, undamped: that is torch's choice, and the post's figures fit it.
    ``update(..., momentum=m)`` uses ``m`` for this step (a float or one per run), as a momentum-cycling
    schedule sets it.
    """

    def init(params):
        return SGDState(np.zeros_like(params), 0)

    def steps(g, state, p, lr, momentum=momentum):
        buf = state.momentum_buffer
        uses_momentum = momentum != 0
        if some(uses_momentum):
            buf = g.copy() if state.step == 0 else (yield from add(buf * momentum, g, 1 - dampening))
            g = yield from branch_fused(
                uses_momentum, lambda: branch_fused(nesterov, lambda: add(g, buf, momentum), lambda: buf), lambda: g)
        return (yield from descend(p, lr, g)), SGDState(buf, state.step + 1)

    return Optimizer.of_steps(init, steps)



def _build(momentum, dampening, weight_decay, nesterov, maximize):
    return torch_like(_sgd(momentum, dampening, nesterov), weight_decay, maximize)


SGD = OptimizerSpec(
    "sgd", "torch.optim.SGD",
    "b = momentum*b + (1-dampening)*g (b = g at step 1); d = g + momentum*b if nesterov else b; theta -= lr*d",
    (lr_hyper(1e-3),
     Hyper("momentum", 0.0, "float", minimum=0.0, help="momentum factor"),
     Hyper("dampening", 0.0, "float", help="dampening for momentum"),
     weight_decay_hyper(),
     Hyper("nesterov", False, "bool", help="Nesterov momentum"),
     MAXIMIZE),
    _build, display="SGD",
    rules=(Rule("nesterov", ("nesterov", "momentum", "dampening"),
                lambda hp: not hp["nesterov"] or (hp["momentum"] > 0 and hp["dampening"] == 0),
                "nesterov needs momentum > 0 and dampening = 0"),))

register(SGD,
         alias(SGD, "momentum", "SGD-Momentum", momentum=0.9),
         alias(SGD, "nag", "SGD-NAG", momentum=0.9, nesterov=True))
