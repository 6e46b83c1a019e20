"""A torch optimizer class's constructor keywords, checked against its signature before any work, and the way its
``step`` has to be driven."""
from __future__ import annotations

import inspect
from typing import Any, Iterable

from ...errors import SceneError
from ...fields import did_you_mean
from ..optimizers.base import cycled_key
from .names import torch_module

#: How the stepping core drives a class: write the gradient into ``.grad`` and call ``step()``; call
#: ``step(closure)`` (its step requires one, like LBFGS); or give ``.grad`` an autograd graph first
#: (Hessian-vector products: pytorch-optimizer's AdaHessian and SophiaH take ``step(hessian=...)``; any class can
#: ask for it with a class attribute ``create_graph = True``).
MODES = ("plain", "closure", "graph")


def keywords(cls: type) -> dict[str, inspect.Parameter]:
    """The keywords a scene may give: the constructor's named parameters after ``params``. Keywords a class only
    swallows through ``**kwargs`` are not among them (a typo there would be silently ignored)."""
    found = {}
    for i, p in enumerate(inspect.signature(cls).parameters.values()):
        if i == 0 or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
            continue
        found[p.name] = p
    return found


def check_keywords(cls: type, name: str, given: Iterable[str], also: Iterable[str] = ()) -> list[tuple[str, str]]:
    """``[(key, message)]`` for every given keyword the constructor lacks (with a did-you-mean from its signature,
    and from ``also``, the entry's other keys) and every required one not given."""
    known = keywords(cls)
    given = list(given)
    listing = ", ".join(known) or "none"
    problems = [(key, f"unknown keyword for {name}{did_you_mean(key, [*known, *also])} (its keywords: {listing})")
                for key in given if key not in known]
    problems += [(key, f"required by {name}") for key, p in known.items()
                 if p.default is p.empty and key not in given]
    return problems


def torch_value(value: Any) -> Any:
    """A scene's value as a constructor keyword: YAML lists become tuples, as torch writes ``betas=(0.9, 0.999)``."""
    if isinstance(value, (list, tuple)):
        return tuple(torch_value(v) for v in value)
    return value


def keyword_default(cls: type, key: str) -> Any:
    """The constructor's default for ``key``; None where it has no such keyword or no default."""
    p = keywords(cls).get(key)
    return None if p is None or p.default is p.empty else p.default


def lr_default(cls: type) -> Any:
    return keyword_default(cls, "lr")


def mode(cls: type) -> str:
    """One of ``MODES``, read from the class: its ``step`` signature, or ``create_graph = True``."""
    params = inspect.signature(cls.step).parameters
    closure = params.get("closure")
    if closure is not None and closure.default is closure.empty:
        return "closure"
    if "hessian" in params or getattr(cls, "create_graph", False) is True:
        return "graph"
    return "plain"


#: A graph class's step takes a gradient with its autograd graph and a Hessian-vector product through it: about
#: this many gradients' work.
GRAPH_EVALUATIONS = 3


def evaluations(cls: type, kwargs: dict) -> int:
    """About how many gradients' work one step of the class takes, for budgets: a closure class evaluates up to
    ``max_eval`` times a step (LBFGS's keyword; by default ``max_iter * 5 // 4``, as torch sets it; 1 for a
    closure class without them), a graph class ``GRAPH_EVALUATIONS``, any other one."""
    how = mode(cls)
    if how == "graph":
        return GRAPH_EVALUATIONS
    if how == "plain":
        return 1
    most, iterations = (kwargs.get(key, keyword_default(cls, key)) for key in ("max_eval", "max_iter"))
    if isinstance(most, int) and not isinstance(most, bool):
        return max(1, most)
    if isinstance(iterations, int) and not isinstance(iterations, bool):
        return max(1, iterations * 5 // 4)
    return 1


def cycled(optimizer: Any) -> str | None:
    """What torch's momentum-cycling schedulers set on this optimizer: ``beta1`` if its defaults have ``betas``,
    else ``momentum`` if they have it, else None (they refuse)."""
    return cycled_key(optimizer.defaults)


def construct(cls: type, name: str, kwargs: dict, lr: float) -> Any:
    """The optimizer on one dummy float64 parameter, as the run will build it: its own checks of the keywords run
    here, before any work. Raises ``SceneError`` naming what it refused."""
    torch = torch_module()
    param = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    try:
        return cls([{"params": [param], "lr": lr}], lr=lr, **kwargs)
    except Exception as exc:
        raise SceneError(f"{name} refused these keywords: {type(exc).__name__}: {exc}") from None
