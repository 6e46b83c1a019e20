"""What an optimizer is to optviz, and the one registry of them.

An optimizer is a pair of pure functions over ``(runs, 2)`` arrays (``Optimizer``; its update usually written as a
generator that yields its fused multiply-adds, see ``_exact``); a registry entry
(``OptimizerSpec``) says what it is called, what torch calls it, its update rule in one line, its
hyperparameters (``Hyper``, the scene format's ``Field``) and how to build it. Each family module registers its
entries with ``register``; the package's ``__init__`` imports the families in the order the README lists them.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from collections.abc import Generator
from typing import Any, Callable, NamedTuple

import numpy as np

from ...fields import Field, did_you_mean
from ._exact import drive

#: A hyperparameter is a field of an optimizer entry: type, default, range and help in one record.
Hyper = Field


class Optimizer(NamedTuple):
    """``init(params) -> state``; ``update(grads, state, params, lr) -> (new_params, new_state)``.

    Arrays are ``(runs, 2)``. ``lr`` is the current group lr, a float or a ``(runs, 1)`` array (one per run; a
    first-order rule, which works coordinate by coordinate, also takes it spread to ``(runs, 2)``);
    so may be any hyperparameter the optimizer was built with (``_exact.branch`` and ``_exact.scalar`` keep each
    run on the path torch would take for it).
    ``update`` also takes the hyperparameter a momentum-cycling schedule sets each step as a keyword
    (``momentum=`` for SGD and RMSprop, ``beta1=`` for the Adam family; absent: the value it was built with).
    """

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any, Any], tuple[Any, Any]]
    #: The same update as a generator that yields its fused multiply-adds (see ``_exact``), for ``simulate``
    #: to answer those of several optimizers at once; None for a rule that needs none.
    steps: Callable[..., Generator] | None = None

    @classmethod
    def of_steps(cls, init, steps) -> Optimizer:
        """An optimizer written as such a generator; its plain ``update`` answers each request at once."""
        return cls(init, drive(steps), steps)


def steps_of(opt: Optimizer) -> Callable[..., Generator]:
    """``opt``'s update as a generator, also for a rule written plainly (it asks for nothing)."""
    if opt.steps is not None:
        return opt.steps

    def steps(*args, **kwargs):
        return opt.update(*args, **kwargs)
        yield   # never reached: makes this a generator

    return steps


def cycled_key(names) -> str | None:
    """What torch's momentum-cycling schedulers set on an optimizer with these hyperparameter names: ``beta1``
    if it has ``betas``, else ``momentum`` if it has one, else None (they refuse)."""
    return "beta1" if "betas" in names else "momentum" if "momentum" in names else None


@dataclass(frozen=True)
class Rule:
    """A check across fields, reported at ``key``; skipped while a field it reads is itself unsound."""

    key: str
    reads: tuple[str, ...]
    ok: Callable[[dict], bool]
    message: str


@dataclass(frozen=True)
class OptimizerSpec:
    """A registry entry: what the optimizer is called, what torch calls it, and how to build it.

    ``build(**hyperparameters_except_lr)``, or ``build(objective, **...)`` when ``needs_objective`` (second-order
    methods need the Hessian or function values, not only the gradient).
    """

    name: str
    torch_class: str
    rule: str
    hypers: tuple[Hyper, ...]
    build: Callable[..., Optimizer]
    display: str = ""                   # the legend's default label
    base: str | None = None             # the entry this one is an alias of, with other defaults
    rules: tuple[Rule, ...] = ()
    needs_objective: bool = False

    def defaults(self) -> dict:
        return {h.name: h.default for h in self.hypers}

    def hyper(self, name: str) -> Hyper:
        return next(h for h in self.hypers if h.name == name)

    @property
    def label(self) -> str:
        return self.display or self.name

    @property
    def cycled(self) -> str | None:
        """The ``update`` keyword a momentum-cycling schedule (OneCycleLR, CyclicLR) sets each step, chosen as
        torch's schedulers choose: ``beta1`` if the optimizer has ``betas``, else ``momentum`` if it has one;
        None when it has neither (torch refuses to cycle it)."""
        return cycled_key({h.name for h in self.hypers})

    def check(self, hp: dict) -> list[tuple[str, str]]:
        """Every problem of a complete hyperparameter dict, as ``[(key, message)]``: unknown and missing
        keys, types, the declared ranges, then rules between fields (only when those fields are sound)."""
        known = {h.name for h in self.hypers}
        problems = [(key, f"unknown hyperparameter for {self.name}{did_you_mean(key, sorted(known))}")
                    for key in hp if key not in known]
        for h in self.hypers:
            problems += h.problems(hp[h.name]) if h.name in hp else [(h.name, "missing")]
        unsound = {key.split("[")[0] for key, _ in problems}
        return problems + [(r.key, r.message) for r in self.rules if not unsound & set(r.reads) and not r.ok(hp)]

    def torch_kwargs(self, hp: dict) -> dict:
        """The keyword arguments for ``torch_class`` (drops optviz-only options, which must be off)."""
        if hp.get("eps_inside_sqrt"):
            raise ValueError("eps_inside_sqrt has no torch equivalent")
        return {k: v for k, v in hp.items() if k != "eps_inside_sqrt"}


OPTIMIZERS: dict[str, OptimizerSpec] = {}


def register(*specs: OptimizerSpec) -> None:
    """Add entries to the registry, their builders taking values as a scene gives them (ints, lists, missing
    keys filled with defaults)."""
    for spec in specs:
        if spec.name in OPTIMIZERS:
            raise ValueError(f"optimizer {spec.name!r} is registered twice")
        OPTIMIZERS[spec.name] = replace(spec, build=_resolving(spec))


def _resolving(spec: OptimizerSpec) -> Callable[..., Optimizer]:
    by_name = {h.name: h for h in spec.hypers if h.name != "lr"}
    build = spec.build

    def resolved(*objective: Any, **hp: Any) -> Optimizer:
        return build(*objective, **{k: _normalized(h, hp.get(k, h.default)) for k, h in by_name.items()})

    return functools.update_wrapper(resolved, build)


def _normalized(h: Hyper, value: Any) -> Any:
    """A value as the maths wants it; per-run arrays (runs of a batch that differ in it, see ``simulate``)
    already are."""
    if isinstance(value, np.ndarray) or (isinstance(value, tuple) and any(isinstance(v, np.ndarray) for v in value)):
        return value
    return h.normalize(value)


def spellings(spec: OptimizerSpec) -> tuple[str, ...]:
    """The names a scene may use for ``spec``: its own, torch's class name (``SGD``, ``RMSprop``, ``AdamW``; an
    alias leaves its class to the entry it aliases) and the legend's display name (``SGD-NAG``, ``AMSGrad``).
    Any case of these is accepted too."""
    torch_name = spec.torch_class.rsplit(".", 1)[-1] if spec.torch_class.startswith("torch.optim.") else ""
    return tuple(dict.fromkeys(n for n in (spec.name, torch_name if spec.base is None else "", spec.display) if n))


def other_names() -> dict[str, str]:
    """Lower-cased spellings -> registry name, for what is not a registry name in any case. Built from the
    registry, so a new optimizer brings its names along."""
    names: dict[str, str] = {}
    taken = {n.lower() for n in OPTIMIZERS}
    for name, spec in OPTIMIZERS.items():
        for other in spellings(spec)[1:]:
            if other.lower() not in taken:
                names.setdefault(other.lower(), name)
    return names


def alias(spec: OptimizerSpec, name: str, display: str, **defaults: Any) -> OptimizerSpec:
    """The same optimizer under the name the post's readers know, with other defaults."""
    return replace(spec, name=name, display=display, hypers=with_defaults(spec.hypers, **defaults), base=spec.name)


def with_defaults(hypers: tuple[Hyper, ...], **defaults: Any) -> tuple[Hyper, ...]:
    return tuple(replace(h, default=defaults[h.name]) if h.name in defaults else h for h in hypers)


# --- hyperparameters several families share --------------------------------------------------------------------

def lr_hyper(default: float, help: str = "learning rate") -> Hyper:
    return Hyper("lr", default, "float", exclusive_minimum=0.0, help=help)


def betas_hyper() -> Hyper:
    return Hyper("betas", (0.9, 0.999), "pair", minimum=0.0, exclusive_maximum=1.0,
                 help="decay rates of the first and second moment averages")


def eps_hyper(default: float, help: str = "added to the denominator for numerical stability") -> Hyper:
    return Hyper("eps", default, "float", minimum=0.0, help=help)


def weight_decay_hyper(default: float = 0.0) -> Hyper:
    return Hyper("weight_decay", default, "float", minimum=0.0, help="weight decay (L2 penalty)")


MAXIMIZE = Hyper("maximize", False, "bool", help="ascend the function instead of descending it")
EPS_INSIDE_SQRT = Hyper("eps_inside_sqrt", False, "bool",
                        help="divide by sqrt(v + eps) as the post writes it, not torch's sqrt(v) + eps")
DECOUPLED = Hyper("decoupled_weight_decay", False, "bool", help="decay the weights directly, as AdamW")


# --- building ------------------------------------------------------------------------------------------------

def make_optimizer(name: str, **hyper: Any) -> tuple[Optimizer, dict]:
    """Fill torch's defaults in, check everything, build. Returns the optimizer and every hyperparameter
    (lr included), so a run can be repeated or handed to ``torch_class`` as it is."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer '{name}'{did_you_mean(name, OPTIMIZERS)} "
                         f"(choose from: {', '.join(OPTIMIZERS)})")
    spec = OPTIMIZERS[name]
    if spec.needs_objective:
        raise ValueError(f"{name} needs the objective: use build_optimizer('{name}', hyperparameters, objective)")
    defaults = spec.defaults()
    for key in hyper:
        if key not in defaults:
            raise TypeError(f"{name}() got an unexpected keyword argument '{key}'{did_you_mean(key, defaults)}")
    hp = defaults | hyper
    problems = spec.check(hp)
    if problems:
        raise ValueError(f"Invalid {name} hyperparameters: " + "; ".join(f"{k}: {m}" for k, m in problems))
    hp = {h.name: h.normalize(hp[h.name]) for h in spec.hypers}
    return spec.build(**{k: v for k, v in hp.items() if k != "lr"}), hp


def build_optimizer(name: str, hyperparameters: dict, objective: Any = None) -> Optimizer:
    """Build a registry entry from checked hyperparameters (lr excluded); second-order methods get the
    objective too."""
    spec = OPTIMIZERS[name]
    if spec.needs_objective:
        return spec.build(objective, **hyperparameters)
    return spec.build(**hyperparameters)
