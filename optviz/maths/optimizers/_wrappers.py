"""What torch.optim does around every rule: ``maximize`` (negate the gradient first), weight decay (L2 in the
gradient, or decoupled as AdamW), and float64 at the boundary."""
from __future__ import annotations

import numpy as np

from ._exact import add
from .base import Optimizer

def _maximizing(opt: Optimizer) -> Optimizer:
    """Ascend instead: torch negates the gradient before anything else."""
    return Optimizer(opt.init, lambda g, state, p, lr: opt.update(-g, state, p, lr))


def _l2_weight_decay(opt: Optimizer, weight_decay: float) -> Optimizer:
    """``g + weight_decay*theta``: L2 regularisation folded into the gradient."""
    if weight_decay == 0:
        return opt
    return Optimizer(opt.init, lambda g, state, p, lr: opt.update(add(g, p, weight_decay), state, p, lr))


def _decoupled_weight_decay(opt: Optimizer, weight_decay: float) -> Optimizer:
    """``theta *= 1 - lr*weight_decay`` before the step (Loshchilov & Hutter, "Decoupled Weight Decay
    Regularization", ICLR 2019)."""
    if weight_decay == 0:
        return opt
    return Optimizer(opt.init, lambda g, state, p, lr: opt.update(g, state, p * (1 - lr * weight_decay), lr))


def _weight_decay(opt: Optimizer, weight_decay: float, decoupled: bool) -> Optimizer:
    return (_decoupled_weight_decay if decoupled else _l2_weight_decay)(opt, weight_decay)


def _float64(opt: Optimizer) -> Optimizer:
    """Accept lists and float32 at the boundary; inside, everything is float64 like the golden torch runs."""

    def init(params):
        return opt.init(np.asarray(params, dtype=np.float64))

    def update(grads, state, params, lr):
        lr = float(lr) if np.ndim(lr) == 0 else np.asarray(lr, dtype=np.float64)
        if np.ndim(lr) == 1:  # one lr per run, given flat: (runs,) would broadcast along the wrong axis
            lr = lr[:, None]
        return opt.update(np.asarray(grads, dtype=np.float64), state, np.asarray(params, dtype=np.float64), lr)

    return Optimizer(init, update)


def torch_like(core: Optimizer, weight_decay: float, maximize: bool, decoupled: bool = False) -> Optimizer:
    """Wrap a rule in torch's preamble: negate for ``maximize``, then weight decay, then the rule."""
    opt = _weight_decay(core, weight_decay, decoupled)
    return _float64(_maximizing(opt) if maximize else opt)

