"""What torch.optim does around every rule: ``maximize`` (negate the gradient first), weight decay (L2 in the
gradient, or decoupled as AdamW), and float64 at the boundary. Per-step hyperparameter keywords of ``update``
(``momentum=``, ``beta1=``: what a momentum-cycling schedule sets) pass through to the rule."""
from __future__ import annotations

import numpy as np

from ._exact import add, branch, branch_fused, some
from .base import Optimizer, steps_of


def _maximizing(opt: Optimizer, maximize) -> Optimizer:
    """Ascend instead: torch negates the gradient before anything else."""
    if not some(maximize):
        return opt
    inner = steps_of(opt)

    def steps(g, state, p, lr, **kw):     # the inner update's own generator: one level less to pass through
        return inner(branch(maximize, lambda: -g, lambda: g), state, p, lr, **kw)

    return Optimizer.of_steps(opt.init, steps)


def _l2_weight_decay(opt: Optimizer, weight_decay) -> Optimizer:
    """``g + weight_decay*theta``: L2 regularisation folded into the gradient."""
    if not some(weight_decay != 0):
        return opt
    inner = steps_of(opt)

    def steps(g, state, p, lr, **kw):
        g = yield from branch_fused(weight_decay != 0, lambda: add(g, p, weight_decay), lambda: g)
        return (yield from inner(g, state, p, lr, **kw))

    return Optimizer.of_steps(opt.init, steps)


def _decoupled_weight_decay(opt: Optimizer, weight_decay) -> Optimizer:
    """``theta *= 1 - lr*weight_decay`` before the step (Loshchilov & Hutter, "Decoupled Weight Decay
    Regularization", ICLR 2019)."""
    if not some(weight_decay != 0):
        return opt
    inner = steps_of(opt)

    def steps(g, state, p, lr, **kw):
        return inner(g, state, branch(weight_decay != 0, lambda: p * (1 - lr * weight_decay), lambda: p), lr, **kw)

    return Optimizer.of_steps(opt.init, steps)


def _weight_decay(opt: Optimizer, weight_decay, decoupled) -> Optimizer:
    """L2 or decoupled weight decay; ``decoupled`` may differ between runs (NAdam's and RAdam's option)."""
    if not isinstance(decoupled, np.ndarray):
        return (_decoupled_weight_decay if decoupled else _l2_weight_decay)(opt, weight_decay)
    return _l2_weight_decay(_decoupled_weight_decay(opt, np.where(decoupled, weight_decay, 0.0)),
                            np.where(decoupled, 0.0, weight_decay))


def _float64(opt: Optimizer) -> Optimizer:
    """Accept lists and float32 at the boundary; inside, everything is float64 like the golden torch runs."""
    inner = steps_of(opt)

    def init(params):
        return opt.init(np.asarray(params, dtype=np.float64))

    def steps(grads, state, params, lr, **kw):
        if type(lr) is not float and not (type(lr) is np.ndarray and lr.ndim == 2 and lr.dtype == np.float64):
            lr = float(lr) if np.ndim(lr) == 0 else np.asarray(lr, dtype=np.float64)
            if np.ndim(lr) == 1:  # one lr per run, given flat: (runs,) would broadcast along the wrong axis
                lr = lr[:, None]
        if not (type(grads) is np.ndarray and grads.dtype == np.float64):
            grads = np.asarray(grads, dtype=np.float64)
        if not (type(params) is np.ndarray and params.dtype == np.float64):
            params = np.asarray(params, dtype=np.float64)
        if not kw:
            return inner(grads, state, params, lr)
        for key, value in kw.items():   # a per-step hyperparameter: a float, or one per run as (runs, 1)
            kw[key] = float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=np.float64).reshape(-1, 1)
        return inner(grads, state, params, lr, **kw)

    return Optimizer.of_steps(init, steps)


def torch_like(core: Optimizer, weight_decay, maximize, decoupled=False) -> Optimizer:
    """Wrap a rule in torch's preamble: negate for ``maximize``, then weight decay, then the rule. Each option
    is a Python value or a per-run (runs, 1) array."""
    return _float64(_maximizing(_weight_decay(core, weight_decay, decoupled), maximize))

