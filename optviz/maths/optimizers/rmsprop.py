"""torch.optim.RMSprop: plain, centered and with momentum; registered as ``rmsprop``."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._exact import addcmul, branch, branch_fused, descend, ema, ema_sq, some, sqrt
from ._wrappers import torch_like
from .base import EPS_INSIDE_SQRT, MAXIMIZE, Hyper, Optimizer, OptimizerSpec, eps_hyper, lr_hyper, register, weight_decay_hyper


class RMSpropState(NamedTuple):
    square_avg: np.ndarray
    grad_avg: np.ndarray
    momentum_buffer: np.ndarray
    step: int


def _rmsprop(alpha: float, eps: float, momentum: float, centered: bool, eps_inside_sqrt: bool) -> Optimizer:
    r"""RMSProp (Hinton, Neural Networks for Machine Learning, lecture 6e, 2012); centered as in Graves,
    "Generating Sequences With Recurrent Neural Networks", 2013:

    .. math:: v_t = \alpha v_{t-1} + (1-\alpha) g_t^2, \quad
              \tilde v_t = v_t - \bar g_t^2 \text{ (centered, } \bar g_t = \alpha \bar g_{t-1} + (1-\alpha) g_t),
    .. math:: \theta_t = \theta_{t-1} - \gamma\, g_t / (\sqrt{\tilde v_t} + \epsilon)
              \quad\text{or, with momentum, } b_t = \mu b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon),\
              \theta_t = \theta_{t-1} - \gamma b_t

    ``eps_inside_sqrt`` divides by :math:`\sqrt{\tilde v_t + \epsilon}` instead, the post's form.
    ``update(..., momentum=m)`` uses ``m`` for this step, as a momentum-cycling schedule sets it.
    """

    def init(params):
        zeros = np.zeros_like(params)
        return RMSpropState(zeros, zeros, zeros, 0)

    def steps(g, state, p, lr, momentum=momentum):
        square_avg = yield from ema_sq(state.square_avg, g, alpha)
        grad_avg = state.grad_avg
        var = square_avg
        if some(centered):
            grad_avg = yield from ema(grad_avg, g, alpha)
            var = yield from branch_fused(centered, lambda: addcmul(square_avg, grad_avg, grad_avg, -1.0),
                                          lambda: var)
        avg = branch(eps_inside_sqrt, lambda: sqrt(var + eps), lambda: sqrt(var) + eps)
        buf = state.momentum_buffer
        with_momentum = momentum > 0
        if some(with_momentum):
            buf = buf * momentum + g / avg
        p = yield from branch_fused(with_momentum, lambda: descend(p, lr, buf), lambda: descend(p, lr, g, avg))
        return p, RMSpropState(square_avg, grad_avg, buf, state.step + 1)

    return Optimizer.of_steps(init, steps)



def _build(alpha, eps, weight_decay, momentum, centered, maximize, eps_inside_sqrt):
    return torch_like(_rmsprop(alpha, eps, momentum, centered, eps_inside_sqrt), weight_decay, maximize)


register(OptimizerSpec(
    "rmsprop", "torch.optim.RMSprop",
    "v = alpha*v + (1-alpha)*g^2 (minus gbar^2 if centered); theta -= lr*g/(sqrt(v)+eps), "
    "through b = momentum*b + g/(sqrt(v)+eps) if momentum > 0",
    (lr_hyper(1e-2),
     Hyper("alpha", 0.99, "float", minimum=0.0, help="decay rate of the squared-gradient average"),
     eps_hyper(1e-8), weight_decay_hyper(),
     Hyper("momentum", 0.0, "float", minimum=0.0, help="momentum factor"),
     Hyper("centered", False, "bool", help="divide by the estimated variance, not the second moment"),
     MAXIMIZE, EPS_INSIDE_SQRT),
    _build, display="RMSProp"))
