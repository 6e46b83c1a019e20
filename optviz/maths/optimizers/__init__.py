"""Optimizers as pure ``init``/``update`` pairs over ``(runs, 2)`` arrays, with torch.optim's numbers.

Laid out like torch.optim: one module per family holds each optimizer's rule (with its math and paper in
the docstring), its hyperparameters, display name and update-rule text, and registers it. ``_exact`` is
torch's tensor arithmetic in numpy, ``_wrappers`` what torch does around every rule (maximize, weight decay).
Each rule follows torch 2.13's ``_single_tensor_*`` code operation by operation; given the same gradients a
run matches float64 torch bit for bit, except where torch's sqrt (MKL's) rounds one ulp low.

Hyperparameters use torch's names, defaults and order. The one addition is ``eps_inside_sqrt`` (RMSProp,
Adam and kin): the post divides by ``sqrt(v + eps)`` where torch divides by ``sqrt(v) + eps``.

Adding an optimizer: a new module here that calls ``register(OptimizerSpec(...))``, imported below, plus its
golden cases in ``scripts/make_golden_optimizers.py``.
"""
from __future__ import annotations

from . import sgd, rmsprop, adam, adagrad, second_order  # noqa: F401  (each registers its family, in this order)
from .base import (OPTIMIZERS, Hyper, Optimizer, OptimizerSpec, Rule, build_optimizer, make_optimizer, other_names,
                   register, spellings)

__all__ = ["OPTIMIZERS", "Hyper", "Optimizer", "OptimizerSpec", "Rule", "build_optimizer", "make_optimizer",
           "other_names", "register", "spellings"]
