"""Any ``torch.optim.Optimizer`` subclass in a scene, run on optviz's own gradients.

An optimizer entry whose ``name`` is dotted (``torch.optim.Adam``, ``pytorch_optimizer.Lion``,
``my_optimizers.MyAdam`` from ``--plugin my_optimizers.py``) runs that class; its other keys, besides the run keys
(label, start, schedule, ...), are constructor keywords. The built-in optimizers stay the fast path and the
reference: a bridged ``torch.optim.X`` equals the built-in ``x`` to 1e-12.

Importing this package does not import torch; torch loads only when a dotted name is resolved.

- ``names``: ``is_dotted(name)``, ``resolve(name) -> class`` (refuses private parts, modules that are not torch
  packages or plugins, objects that are not Optimizer subclasses; ``MissingDependency`` without torch or the
  package), ``load_plugins([path or module, ...])``, ``module_classes(module) -> {name: class}``,
  ``describe_signature(class)``.
- ``keywords``: ``check_keywords(class, name, given) -> [(key, message)]`` against the constructor's signature,
  ``torch_value`` (YAML lists -> tuples), ``construct`` (the class on a dummy parameter, so its own checks run
  before any work), ``mode(class)`` (plain, closure or graph), ``cycled(optimizer)``.
- ``stepper`` (imports torch): ``Stepper(class, kwargs, starts (R, D), lr, schedule=, loss=, seed=, shapes=)``
  with ``.step(gradient, active=None, per_run=None) -> (R, D)`` and ``.lrs``: one optimizer stepping R
  independent float64 parameter vectors, each its own parameter group, on gradients computed elsewhere; a run is
  one tensor, or one per layer (``shapes``: a network's, so per-tensor optimizers see its layers).
- ``evaluate`` (imports torch): ``torch_function(objective)``: the function in torch, from its formula through the
  formula parser, for closures (LBFGS) and Hessian-vector products (AdaHessian, Sophia-H).
"""
from __future__ import annotations

from .keywords import check_keywords, construct, cycled, lr_default, mode, torch_value
from .names import (TORCH_CLASS_PATTERN, TORCH_NEEDED, describe_signature, is_dotted, load_plugins, module_classes,
                    resolve, torch_module)

__all__ = ["TORCH_CLASS_PATTERN", "TORCH_NEEDED", "check_keywords", "construct", "cycled", "describe_signature", "is_dotted",
           "load_plugins", "lr_default", "mode", "module_classes", "resolve", "torch_module", "torch_value"]
