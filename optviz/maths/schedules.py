"""Learning-rate schedules, named and parameterised exactly like ``torch.optim.lr_scheduler``.

Each schedule is re-implemented in plain Python floats, step for step as torch's own ``get_lr``
recursion does it (not the closed forms), so the sequences equal torch 2.13's bit for bit and
torch stays an optional dependency.

OneCycleLR and CyclicLR also cycle momentum (SGD's and RMSprop's ``momentum``, or the Adam family's beta1)
inversely to the lr, as torch does by default (``cycle_momentum: true``): ``momentum_sequence`` gives the
value each step uses, and the optimizers take it as a per-step keyword. torch refuses to cycle momentum on an
optimizer that has neither (Adagrad, Adadelta), and so does optviz.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import SceneError
from ..fields import KINDS, REQUIRED, Field, did_you_mean

__all__ = ["Arg", "ScheduleSpec", "SCHEDULES", "REQUIRED", "KINDS", "lr_sequence", "momentum_sequence"]


#: One keyword argument of a schedule: torch's name and default, plus the range optviz accepts.
Arg = Field

# torch arguments we leave out on purpose, with the reason a user who copies a torch config should see.
_OMITTED = {
    "optimizer": "the optimizer is the run's own; it is not a schedule argument",
    "last_epoch": "schedules always start from the first step",
    "verbose": "not supported",
    "scale_fn": "custom scale functions are not supported; use mode",
    "scale_mode": "set by mode (custom scale functions are not supported)",
    "epochs": "use total_steps (it defaults to the run's steps)",
    "steps_per_epoch": "use total_steps (it defaults to the run's steps)",
}


# A schedule's arithmetic: given resolved kwargs and the optimizer's lr, yield the lr torch sets at
# last_epoch = 0, 1, 2, ... (0 is the constructor's initial step).
_Impl = Callable[[dict, float], "Any"]


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule as a scene names it: torch's class name and keywords, and optviz's checks on them."""

    name: str
    args: tuple[Arg, ...]
    formula: str
    _impl: _Impl = field(repr=False, compare=False, default=None)
    _combos: Callable[[dict], list] | None = field(repr=False, compare=False, default=None)
    _blame: str = field(repr=False, compare=False, default="")   # key named if torch's arithmetic fails
    _momentum: _Impl | None = field(repr=False, compare=False, default=None)   # yields momentum, as _impl lrs

    def arg(self, name: str) -> Arg:
        for a in self.args:
            if a.name == name:
                return a
        raise KeyError(name)

    def check(self, kwargs: Mapping, *, base_lr: float | None = None, steps: int | None = None) -> list[tuple[str, str]]:
        """Everything wrong with ``kwargs`` as ``[(key, message)]``; empty when fine.

        With ``steps`` (and ``base_lr``) it also runs the schedule, so problems that only show over a
        run of that length (OneCycleLR's total_steps < steps, zero-length phases) are caught here too.
        A ``name`` key equal to this schedule's name is ignored, so a scene's mapping can be passed whole.
        """
        if not isinstance(kwargs, Mapping):
            return [("", f"schedule arguments must be a mapping, got {kwargs!r}")]
        errors: list[tuple[str, str]] = []
        known = {a.name for a in self.args}
        for key in kwargs:
            if key in known:
                continue
            if key == "name" and kwargs[key] == self.name:
                continue
            if key in _OMITTED:
                errors.append((str(key), f"not accepted by optviz's {self.name}: {_OMITTED[key]}"))
                continue
            errors.append((str(key), f"unknown argument for {self.name}{did_you_mean(key, sorted(known))} "
                                     f"(expected: {', '.join(a.name for a in self.args)})"))
        for a in self.args:
            if a.name not in kwargs:
                if a.required:
                    errors.append((a.name, f"required by {self.name}"))
                continue
            msg = a.error(kwargs[a.name])
            if msg:
                errors.append((a.name, msg))
        if errors:
            return errors
        resolved = self._fill(kwargs)
        if self._combos is not None:
            errors.extend(self._combos(resolved))
        if not errors and steps is not None:
            try:
                _run(self, resolved, 1.0 if base_lr is None else base_lr, steps)
            except SceneError as e:
                errors.append((e.path, e.message))
        return errors

    def cycles_momentum(self, resolved: Mapping) -> bool:
        """Whether these (resolved) arguments cycle the optimizer's momentum or beta1 (``cycle_momentum``)."""
        return self._momentum is not None and bool(resolved.get("cycle_momentum"))

    def _fill(self, kwargs: Mapping) -> dict:
        return {a.name: a.normalize(kwargs.get(a.name, a.default)) for a in self.args}

    def resolve(self, base_lr: float, steps: int, kwargs: Mapping) -> dict:
        """Every argument with defaults filled in, including the run-dependent ones
        (OneCycleLR total_steps = steps, CyclicLR base_lr = the optimizer's lr): valid torch kwargs."""
        errors = self.check(kwargs)
        if errors:
            key, msg = errors[0]
            raise SceneError(msg, path=key)
        out = self._fill(kwargs)
        if self.name == "OneCycleLR" and out["total_steps"] is None:
            out["total_steps"] = max(int(steps), 1)    # torch wants >= 1; an empty run records nothing anyway
        if self.name == "CyclicLR" and out["base_lr"] is None:
            out["base_lr"] = float(base_lr)
        return out


def _run(spec: ScheduleSpec, p: dict, base_lr: float, steps: int, impl: _Impl | None = None) -> list[float]:
    """torch computes lr (and momentum) at last_epoch 0..steps (the last after the final step, never used) and
    fails if any of them fails, so we compute all of them too and raise where torch would. ``impl`` defaults to
    the lr's arithmetic."""
    if spec.name == "OneCycleLR" and p["total_steps"] is None:
        p = {**p, "total_steps": max(int(steps), 1)}
    if spec.name == "CyclicLR" and p["base_lr"] is None:
        p = {**p, "base_lr": float(base_lr)}
    if spec.name == "OneCycleLR" and p["total_steps"] < steps:
        raise SceneError(f"must be at least the run's {steps} steps (torch raises once stepped past it), "
                         f"got {p['total_steps']}", path="total_steps")
    out: list[float] = []
    try:
        for lr in (impl or spec._impl)(p, float(base_lr)):
            out.append(lr)
            if len(out) > steps:
                break
    except ZeroDivisionError:
        raise SceneError(f"{spec.name} divides by zero with these values within {steps} steps "
                         "(torch raises ZeroDivisionError too)", path=spec._blame) from None
    except OverflowError:
        raise SceneError(f"{spec.name} overflows with these values within {steps} steps "
                         "(torch raises OverflowError too)", path=spec._blame) from None
    return out[:steps]


# ---- the schedules: each mirrors the matching torch get_lr, operation for operation ----

def _step_lr(p, lr):
    s, g = p["step_size"], p["gamma"]
    e = 0
    while True:
        if not (e == 0 or e % s != 0):
            lr = lr * g
        yield lr
        e += 1


def _multistep_lr(p, lr):
    milestones, g = Counter(p["milestones"]), p["gamma"]
    e = 0
    while True:
        if e in milestones:
            lr = lr * g ** milestones[e]
        yield lr
        e += 1


def _constant_lr(p, lr):
    f, t = p["factor"], p["total_iters"]
    e = 0
    while True:
        if e == 0:
            lr = lr * f
        elif e == t:
            lr = lr * (1.0 / f)
        yield lr
        e += 1


def _linear_lr(p, lr):
    sf, ef, t = p["start_factor"], p["end_factor"], p["total_iters"]
    e = 0
    while True:
        if e == 0:
            lr = lr * sf
        elif e <= t:
            lr = lr * (1.0 + (ef - sf) / (t * sf + (e - 1) * (ef - sf)))
        yield lr
        e += 1


def _exponential_lr(p, lr):
    g = p["gamma"]
    yield lr                    # torch's initial step leaves the lr alone
    while True:
        lr = lr * g
        yield lr


def _polynomial_lr(p, lr):
    t, power = p["total_iters"], p["power"]
    yield lr
    e = 1
    while True:
        if e <= t:
            lr = lr * ((1.0 - e / t) / (1.0 - (e - 1) / t)) ** power
        yield lr
        e += 1


def _cosine_annealing_lr(p, lr):
    t, eta_min = p["T_max"], p["eta_min"]
    base_lr = lr
    yield lr
    e = 1
    while True:
        if (e - 1 - t) % (2 * t) == 0:
            lr = lr + (base_lr - eta_min) * (1 - math.cos(math.pi / t)) / 2
        else:
            lr = (1 + math.cos(math.pi * e / t)) / (1 + math.cos(math.pi * (e - 1) / t)) * (lr - eta_min) + eta_min
        yield lr
        e += 1


def _cyclic(p, start, peak, sign):
    """torch's CyclicLR arithmetic: ``start + sign*(peak - start)*scale_factor*scale`` in torch's operation
    order, with (start, peak) = (base_lr, max_lr), sign +1, for the lr, and (max_momentum, base_momentum), sign -1
    (torch's ``max_momentum - (max_momentum - base_momentum)*...``) for the momentum cycled against it."""
    mode, gamma = p["mode"], p["gamma"]
    up = float(p["step_size_up"])
    down = float(p["step_size_down"]) if p["step_size_down"] is not None else up
    total_size = up + down
    step_ratio = up / total_size
    e = 0
    while True:
        cycle = math.floor(1 + e / total_size)
        x = 1.0 + e / total_size - cycle
        if x <= step_ratio:
            scale_factor = x / step_ratio
        else:
            scale_factor = (x - 1) / (step_ratio - 1)
        if sign > 0:
            base_height = (peak - start) * scale_factor
        else:
            base_height = (start - peak) * scale_factor
        if mode == "triangular":
            scale = 1.0
        elif mode == "triangular2":
            scale = 1 / (2.0 ** (cycle - 1))
        else:  # exp_range scales by iterations, not cycles
            scale = gamma ** e
        yield start + base_height * scale if sign > 0 else start - base_height * scale
        e += 1


def _cyclic_lr(p, _lr):
    return _cyclic(p, p["base_lr"], p["max_lr"], 1)


def _cyclic_momentum(p, _lr):
    return _cyclic(p, p["max_momentum"], p["base_momentum"], -1)


def _one_cycle(p, pairs):
    """torch's OneCycleLR: anneal from ``pairs[i][0]`` to ``pairs[i][1]`` over phase i."""
    total, pct = p["total_steps"], p["pct_start"]
    if p["three_phase"]:
        ends = [float(pct * total) - 1, float(2 * pct * total) - 2, total - 1]
    else:
        ends = [float(pct * total) - 1, total - 1]
    cos = p["anneal_strategy"] == "cos"
    e = 0
    while True:
        if e > total:
            raise SceneError(f"OneCycleLR would step {e} times but total_steps is {total}; "
                             "total_steps must be at least the run's steps", path="total_steps")
        start_step = 0.0
        for i, end_step in enumerate(ends):
            if e <= end_step or i == len(ends) - 1:
                pct_done = (e - start_step) / (end_step - start_step)
                start, end = pairs[i]
                if cos:
                    value = end + (start - end) / 2.0 * (math.cos(math.pi * pct_done) + 1)
                else:
                    value = (end - start) * pct_done + start
                break
            start_step = end_step
        yield value
        e += 1


def _one_cycle_lr(p, _lr):
    initial_lr = p["max_lr"] / p["div_factor"]
    max_lr, min_lr = p["max_lr"], initial_lr / p["final_div_factor"]
    if p["three_phase"]:
        return _one_cycle(p, [(initial_lr, max_lr), (max_lr, initial_lr), (initial_lr, min_lr)])
    return _one_cycle(p, [(initial_lr, max_lr), (max_lr, min_lr)])


def _one_cycle_momentum(p, _lr):
    low, high = p["base_momentum"], p["max_momentum"]
    if p["three_phase"]:
        return _one_cycle(p, [(high, low), (low, high), (high, high)])
    return _one_cycle(p, [(high, low), (low, high)])


def _multistep_combos(p):
    m = p["milestones"]
    if any(b <= a for a, b in zip(m, m[1:])):
        return [("milestones", f"must be strictly increasing, got {list(m)!r}")]
    return []


_GAMMA_NOTE = " (stricter than torch: gamma <= 0 zeroes or flips the sign of the lr)"
_CYCLE_MOMENTUM = Arg("cycle_momentum", True, "bool",
                      help="cycle momentum (beta1 for the Adam family) inversely to the lr, as torch does by default; "
                           "needs an optimizer with momentum or betas")


def _momentum_bound(name: str, default: float, which: str) -> Arg:
    return Arg(name, default, "float", minimum=0,
               help=f"{which} momentum (beta1) of the cycle, reached where the lr is at its "
                    f"{'peak' if which == 'lowest' else 'lowest'}")



SCHEDULES: dict[str, ScheduleSpec] = {s.name: s for s in (
    ScheduleSpec(
        "StepLR",
        (Arg("step_size", REQUIRED, "int", minimum=1, help="steps between decays"),
         Arg("gamma", 0.1, "float", exclusive_minimum=0, help="decay factor" + _GAMMA_NOTE)),
        "lr = base_lr * gamma ** (step // step_size)",
        _step_lr, _blame="step_size"),
    ScheduleSpec(
        "MultiStepLR",
        (Arg("milestones", REQUIRED, "int_list", minimum=0, help="strictly increasing steps at which to decay"),
         Arg("gamma", 0.1, "float", exclusive_minimum=0, help="decay factor" + _GAMMA_NOTE)),
        "lr = base_lr * gamma ** (number of milestones <= step)",
        _multistep_lr, _multistep_combos, _blame="gamma"),
    ScheduleSpec(
        "ConstantLR",
        (Arg("factor", 1.0 / 3, "float", exclusive_minimum=0, maximum=1,
             help="lr multiplier until total_iters (0 is rejected: torch divides by it)"),
         Arg("total_iters", 5, "int", minimum=0, help="step at which the lr returns to base_lr")),
        "lr = base_lr * factor for step < total_iters, then base_lr",
        _constant_lr, _blame="factor"),
    ScheduleSpec(
        "LinearLR",
        (Arg("start_factor", 1.0 / 3, "float", exclusive_minimum=0, maximum=1, help="lr multiplier at step 0"),
         Arg("end_factor", 1.0, "float", minimum=0, maximum=1, help="lr multiplier from total_iters on"),
         Arg("total_iters", 5, "int", minimum=0, help="steps of the linear ramp")),
        "lr = base_lr * (start_factor + (end_factor - start_factor) * min(step, total_iters) / total_iters)",
        _linear_lr, _blame="total_iters"),
    ScheduleSpec(
        "ExponentialLR",
        (Arg("gamma", REQUIRED, "float", exclusive_minimum=0, help="per-step factor" + _GAMMA_NOTE),),
        "lr = base_lr * gamma ** step",
        _exponential_lr, _blame="gamma"),
    ScheduleSpec(
        "PolynomialLR",
        (Arg("total_iters", 5, "int", minimum=0, help="steps until the lr reaches 0"),
         Arg("power", 1.0, "float", minimum=0, help="polynomial power (negative would divide by zero at total_iters)")),
        "lr = base_lr * (1 - min(step, total_iters) / total_iters) ** power",
        _polynomial_lr, _blame="power"),
    ScheduleSpec(
        "CosineAnnealingLR",
        (Arg("T_max", REQUIRED, "int", minimum=1, help="steps of a half cosine period; past it the lr climbs back"),
         Arg("eta_min", 0.0, "float", minimum=0, help="lowest lr")),
        "lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * step / T_max)) / 2",
        _cosine_annealing_lr, _blame="T_max"),
    ScheduleSpec(
        "CyclicLR",
        (Arg("base_lr", None, "float_or_none", minimum=0,
             help="lower lr of the cycle; default (null): the optimizer's lr (torch requires it)"),
         Arg("max_lr", REQUIRED, "float", minimum=0, help="upper lr of the cycle"),
         Arg("step_size_up", 2000, "int", minimum=1, help="steps from base_lr up to max_lr"),
         Arg("step_size_down", None, "int_or_none", minimum=0, help="steps back down; default (null): step_size_up"),
         Arg("mode", "triangular", "str", choices=("triangular", "triangular2", "exp_range"),
             help="triangular2 halves the amplitude each cycle; exp_range scales it by gamma ** step"),
         Arg("gamma", 1.0, "float", exclusive_minimum=0, maximum=1,
             help="exp_range's per-step amplitude factor (torch requires the scale to stay within [0, 1])"),
         _CYCLE_MOMENTUM, _momentum_bound("base_momentum", 0.8, "lowest"),
         _momentum_bound("max_momentum", 0.9, "highest")),
        "lr = base_lr + (max_lr - base_lr) * triangle(step; step_size_up, step_size_down) * scale(mode); "
        "momentum cycles from max_momentum to base_momentum and back",
        _cyclic_lr, _momentum=_cyclic_momentum, _blame="mode"),   # triangular2's 2.0 ** cycle overflows after 1024 cycles
    ScheduleSpec(
        "OneCycleLR",
        (Arg("max_lr", REQUIRED, "float", exclusive_minimum=0, help="peak lr; the optimizer's lr is ignored"),
         Arg("total_steps", None, "int_or_none", minimum=1,
             help="length of the cycle; default (null): the run's steps (it may not be shorter)"),
         Arg("pct_start", 0.3, "float", minimum=0, maximum=1, help="fraction of the cycle spent warming up"),
         Arg("anneal_strategy", "cos", "str", choices=("cos", "linear")),
         Arg("div_factor", 25.0, "float", exclusive_minimum=0, help="starting lr = max_lr / div_factor"),
         Arg("final_div_factor", 1e4, "float", exclusive_minimum=0, help="final lr = starting lr / final_div_factor"),
         Arg("three_phase", False, "bool", help="warm up, come back down symmetrically, then anneal to the final lr"),
         _CYCLE_MOMENTUM, _momentum_bound("base_momentum", 0.85, "lowest"),
         _momentum_bound("max_momentum", 0.95, "highest")),
        "lr anneals max_lr/div_factor -> max_lr over pct_start*total_steps, then -> max_lr/div_factor/final_div_factor;"
        " momentum max_momentum -> base_momentum -> max_momentum",
        _one_cycle_lr, _momentum=_one_cycle_momentum, _blame="pct_start"),
)}


def get_schedule(name: Any) -> ScheduleSpec:
    """The spec for a torch class name; a SceneError at key ``name`` suggests the closest one."""
    spec = SCHEDULES.get(name) if isinstance(name, str) else None
    if spec is None:
        raise SceneError(f"unknown schedule {name!r}{did_you_mean(name, SCHEDULES)} (known: {', '.join(SCHEDULES)})",
                         path="name")
    return spec


_STEPS = Field("steps", REQUIRED, "int", minimum=0)
_BASE_LR = Field("lr", REQUIRED, "float")


def lr_sequence(name: str, base_lr: float, steps: int, /, **kwargs) -> np.ndarray:
    """The lr used at each of ``steps`` optimizer steps (shape (steps,)), exactly as torch's
    ``for k in range(steps): lrs.append(opt.param_groups[0]['lr']); opt.step(); sched.step()`` records.

    Positional-only so CyclicLR's own ``base_lr`` keyword can be passed. Raises SceneError (a
    ValueError) whose ``path`` is the offending key, including where torch itself would raise.
    """
    spec = get_schedule(name)
    for key, value, field_ in (("steps", steps, _STEPS), ("lr", base_lr, _BASE_LR)):
        message = field_.error(value)
        if message:
            raise SceneError(message, path=key)
    resolved = spec.resolve(base_lr, steps, kwargs)
    return np.array(_run(spec, resolved, float(base_lr), int(steps)), dtype=float)


def momentum_sequence(name: str, base_lr: float, steps: int, /, **kwargs) -> np.ndarray | None:
    """The momentum (SGD, RMSprop) or beta1 (the Adam family) each of ``steps`` optimizer steps uses under a
    schedule that cycles it (OneCycleLR and CyclicLR with ``cycle_momentum``, torch's default), exactly as torch's
    scheduler sets it in the param group; None when the schedule leaves momentum alone. Same arguments as
    ``lr_sequence``."""
    spec = get_schedule(name)
    resolved = spec.resolve(base_lr, steps, kwargs)
    if not spec.cycles_momentum(resolved):
        return None
    return np.array(_run(spec, resolved, float(base_lr), int(steps), spec._momentum), dtype=float)
