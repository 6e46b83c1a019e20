"""An optimizer entry that names a torch class (``name: pytorch_optimizer.Lion``): the class resolved, and its
constructor keywords checked against its signature and by the class itself, before any work."""
from __future__ import annotations

from typing import Any

from ..errors import MissingDependency, SceneError
from ..fields import Problems
from ..maths.formula import FormulaError
from ..maths.functions import Objective
from ..maths.optimizers.base import lr_hyper
from ..maths.torch_bridge import check_keywords, construct, cycled, lr_default, mode, resolve, torch_value
from ..maths.torch_bridge.keywords import keywords
from .keys import RUN_KEYS

LR = lr_hyper(1e-3)


def torch_optimizer(entry: dict, path: str, p: Problems, objective: Objective | None
                    ) -> tuple[str, dict[str, Any], str, str | None, int] | None:
    """``(name, hyperparameters with lr, legend label, what a momentum-cycling schedule sets, problem count
    before the keyword checks)``, or None when the class cannot be used (the problems say why). ``objective``:
    the function a closure or graph class will evaluate in torch; None for a network, which brings its own loss."""
    name = entry["name"]
    if len(name) > 200:
        p.add(f"{path}.name", f"is too long ({len(name)} characters; the limit is 200)")
        return None
    try:
        cls = resolve(name)
    except SceneError as exc:
        p.add(f"{path}.name", exc.message, type(exc) if isinstance(exc, MissingDependency) else SceneError)
        return None
    given = [key for key in entry if key not in RUN_KEYS]
    before = len(p.items)
    if entry.get("sweep") is not None:
        p.add(f"{path}.sweep", "sweeps need a built-in optimizer; give a torch class one entry per value")
    for key, message in check_keywords(cls, name, given, also=RUN_KEYS):
        p.add(f"{path}.{key}", message)
    if "lr" not in keywords(cls):
        p.add(f"{path}.name", f"{name} takes no lr keyword, and optviz sets every run's learning rate through it")
        return None
    lr = LR.check(entry["lr"], f"{path}.lr", p) if "lr" in entry else _default_lr(cls, name, path, p)
    if len(p.items) != before or lr is None:
        return None
    kwargs = {key: torch_value(entry[key]) for key in given if key != "lr"}
    try:
        optimizer = construct(cls, name, kwargs, lr)
    except SceneError as exc:
        p.add(path, exc.message)
        return None
    if mode(cls) != "plain" and objective is not None:
        try:
            from ..maths.torch_bridge.evaluate import torch_function  # lazy: imports torch, which is known present

            torch_function(objective)
        except FormulaError as exc:
            p.add(f"{path}.name", f"{name} evaluates the function itself (in torch), and this function's formula "
                                  f"cannot be read for that: {exc}")
            return None
    return name, {"lr": lr, **kwargs}, cls.__name__, cycled(optimizer), before


def _default_lr(cls: type, name: str, path: str, p: Problems) -> float | None:
    default = lr_default(cls)
    if LR.problems(default):
        p.add(f"{path}.lr", f"required: {name}'s default lr is {default!r}, and optviz needs a number > 0")
        return None
    return float(default)
