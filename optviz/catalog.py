"""Human-readable listings of the registries, for `optviz list` and the README tables."""
from __future__ import annotations

from .functions import FUNCTIONS, make_function
from .optimizers import OPTIMIZERS


def _fmt(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def describe_functions() -> str:
    blocks = []
    for name, spec in FUNCTIONS.items():
        f = make_function(name)
        minima = ", ".join(f"({x:.4g}, {y:.4g})" for x, y in f.minima) or "none"
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in spec.defaults.items()) or "-"
        blocks.append(f"{name}\n  f(x, y) = {f.formula}\n  {spec.description}\n"
                      f"  parameters: {params}\n  global minima: {minima}\n"
                      f"  view: x {_fmt(f.xlim)}, y {_fmt(f.ylim)}; start {_fmt(f.start)}")
    return "\n".join(blocks)


def describe_optimizers() -> str:
    blocks = []
    for name, spec in OPTIMIZERS.items():
        hypers = ", ".join(f"{k}={_fmt(v)}" for k, v in spec.defaults().items())
        alias = f" (alias of {spec.base})" if spec.base else ""
        blocks.append(f"{name}{alias}  ~ {spec.torch_class}\n  {spec.rule}\n  defaults: {hypers}")
    return "\n".join(blocks)
