"""Optional keys of a run: many starts, gradient noise, minibatches, lr schedules. Each parser reports
problems at its key path and returns the resolved value (or None); each sub-key is a ``Field``, which the JSON
Schema reads too."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..fields import REQUIRED, Field, Problems, describe
from ..maths.functions import Objective
from ..maths.schedules import SCHEDULES
from ..networks.spec import init_seeds
from . import checks
from .keys import MAX_STARTS, MAX_SWEEP


@dataclass
class SceneDefaults:
    """What the scene's top level gives every entry that does not say otherwise."""

    start: tuple[float, float] | None
    steps: int | None
    xlim: tuple[float, float] | None
    ylim: tuple[float, float] | None
    objective: Objective | None
    starts: list[tuple[float, float]] | None = None
    noise: dict | None = None
    minibatch: dict | None = None
    network: bool = False               # the function is a network: starts are init seeds, not points


SEED = Field("seed", 0, "int", minimum=0, maximum=2**32 - 1, help="random seed")
RANDOM_STARTS = Field("random", REQUIRED, "int", minimum=1, maximum=MAX_STARTS,
                      help="this many starts, uniform inside the view")
GRID_SIDE = Field("grid", REQUIRED, "int", minimum=1, maximum=MAX_STARTS, help="starts along one side of the grid")
NOISE_STD = Field("std", REQUIRED, "float", minimum=0, maximum=1e6, help="standard deviation of the noise")
NOISE_KIND = Field("kind", "additive", "str", choices=("additive", "multiplicative"),
                   help="added to the gradient, or scaling it by (1 + noise)")
BATCH_SIZE = Field("size", REQUIRED, "int", minimum=1, help="data terms sampled each step")
POINT = Field("point", REQUIRED, "pair", help="a point [x, y]")
SWEEP_COUNT = Field("count", REQUIRED, "int", minimum=2, maximum=MAX_SWEEP, help="number of values")
SWEEP_BOUND = Field("bound", REQUIRED, "float", help="first or last value")


def starts(value: Any, path: str, p: Problems, defaults: SceneDefaults) -> list[tuple[float, float]] | None:
    """Many starts: a list of points, ``{random: N, seed: S}`` inside the view, or ``{grid: [nx, ny]}``.
    A network's starts are initialisations: a list of init seeds."""
    if defaults.network:
        return init_seeds(value, path, p)
    if isinstance(value, list):
        if not 1 <= len(value) <= MAX_STARTS:
            p.add(path, f"must list 1 to {MAX_STARTS} points, got {len(value)}")
            return None
        points = [POINT.check(v, f"{path}[{i}]", p) for i, v in enumerate(value)]
        return None if any(pt is None for pt in points) else points
    if not isinstance(value, dict):
        p.add(path, f"must be a list of [x, y] points, {{random: N, seed: S}} or {{grid: [nx, ny]}}, "
                    f"got {describe(value)}")
        return None
    checks.known_keys(value, ["random", "seed", "grid"], path, p)
    xlim, ylim = defaults.xlim, defaults.ylim
    if ("random" in value) == ("grid" in value):
        p.add(path, "give exactly one of 'random' or 'grid'")
        return None
    if xlim is None or ylim is None:
        return None
    if "random" in value:
        n = RANDOM_STARTS.check(value["random"], f"{path}.random", p)
        seed = SEED.check(value.get("seed", 0), f"{path}.seed", p)
        if n is None or seed is None:
            return None
        rng = np.random.default_rng(seed)
        xs = rng.uniform(*xlim, n)
        ys = rng.uniform(*ylim, n)
        return [(float(x), float(y)) for x, y in zip(xs, ys)]
    if "seed" in value:
        p.add(f"{path}.seed", "a grid of starts has no seed")
    grid = value["grid"]
    if not isinstance(grid, list) or len(grid) != 2:
        p.add(f"{path}.grid", f"must be [nx, ny], got {describe(grid)}")
        return None
    nx = GRID_SIDE.check(grid[0], f"{path}.grid[0]", p)
    ny = GRID_SIDE.check(grid[1], f"{path}.grid[1]", p)
    if nx is None or ny is None:
        return None
    if nx * ny > MAX_STARTS:
        p.add(f"{path}.grid", f"makes {nx * ny} starts; the limit is {MAX_STARTS}")
        return None
    # cell centres, so no start sits on the edge of the view
    xs = xlim[0] + (np.arange(nx) + 0.5) * (xlim[1] - xlim[0]) / nx
    ys = ylim[0] + (np.arange(ny) + 0.5) * (ylim[1] - ylim[0]) / ny
    return [(float(x), float(y)) for y in ys for x in xs]


def noise(value: Any, path: str, p: Problems, defaults: SceneDefaults) -> dict | None:
    if checks.mapping(value, path, p) is None:
        return None
    checks.known_keys(value, ["std", "seed", "kind"], path, p)
    if "std" not in value:
        p.add(path, "missing required key 'std' (the noise's standard deviation)")
        return None
    std = NOISE_STD.check(value["std"], f"{path}.std", p)
    seed = SEED.check(value.get("seed", 0), f"{path}.seed", p)
    kind = NOISE_KIND.check(value.get("kind", "additive"), f"{path}.kind", p)
    if std is None or seed is None or kind is None:
        return None
    return {"std": std, "seed": seed, "kind": kind}


def minibatch(value: Any, path: str, p: Problems, defaults: SceneDefaults) -> dict | None:
    if checks.mapping(value, path, p) is None:
        return None
    checks.known_keys(value, ["size", "seed"], path, p)
    objective = defaults.objective
    if objective is not None and not objective.n_terms:
        p.add(path, f"needs a function made of data terms (least_squares or a network); '{objective.name}' is one "
                    "formula")
        return None
    if "size" not in value:
        p.add(path, "missing required key 'size' (terms per step)")
        return None
    size_field = BATCH_SIZE if objective is None else Field("size", REQUIRED, "int", minimum=1,
                                                            maximum=objective.n_terms)
    size = size_field.check(value["size"], f"{path}.size", p)
    seed = SEED.check(value.get("seed", 0), f"{path}.seed", p)
    if size is None or seed is None:
        return None
    return {"size": size, "seed": seed}


def schedule(value: Any, path: str, p: Problems, lr: float, steps: int, cycled: str | None = None) -> dict | None:
    """A torch lr scheduler by name and keywords; ``cycled`` is what the run's optimizer would let a
    momentum-cycling schedule set ("momentum", "beta1", or None when it has neither, which torch refuses)."""
    if checks.mapping(value, path, p) is None:
        return None
    if "name" not in value:
        p.add(path, "missing required key 'name' (a torch.optim.lr_scheduler class, e.g. StepLR)")
        return None
    name = checks.registry_name(value["name"], f"{path}.name", p, SCHEDULES, "schedule",
                                f"choose from: {', '.join(SCHEDULES)}")
    if name is None:
        return None
    spec = SCHEDULES[name]
    kwargs = {k: v for k, v in value.items() if k != "name"}
    problems = spec.check(kwargs, base_lr=lr, steps=steps)
    for key, message in problems:
        p.add(f"{path}.{key}" if key else path, message)
    if problems:
        return None
    resolved = spec.resolve(lr, steps, kwargs)
    if cycled is None and spec.cycles_momentum(resolved):
        p.add(f"{path}.cycle_momentum", f"{name} cycles momentum by default, as torch does, but this optimizer has "
                                        "neither momentum nor betas (torch raises too); set cycle_momentum: false")
        return None
    return {"name": name, **resolved}


def sweep(value: Any, path: str, p: Problems, hypers: dict) -> dict[str, list] | None:
    """``{key: values}`` for one or two of the optimizer's hyperparameters (``hypers``: name -> Hyper), each
    as ``{logspace: [first, last, count]}`` (log-spaced values, first and last included), ``{linspace: [...]}``
    or a list; two keys make a grid. Every value is checked as the hyperparameter itself would be."""
    if checks.mapping(value, path, p) is None:
        return None
    if not 1 <= len(value) <= 2:
        p.add(path, f"must sweep one or two hyperparameters, got {len(value)}")
        return None
    out: dict[str, list] = {}
    for key, spec in value.items():
        at = f"{path}.{key}"
        hyper = hypers.get(key)
        if hyper is None or hyper.kind not in ("float", "int", "bool"):
            numeric = sorted(k for k, h in hypers.items() if h.kind in ("float", "int", "bool"))
            p.add(at, f"cannot be swept: sweep one of {', '.join(numeric)}")
            continue
        values = _sweep_values(spec, at, p, hyper)
        if values is not None:
            out[key] = values
    if len(out) != len(value):
        return None
    runs = int(np.prod([len(v) for v in out.values()]))
    if runs > MAX_SWEEP:
        p.add(path, f"makes {runs} runs; the limit is {MAX_SWEEP}")
        return None
    return out


def _sweep_values(spec: Any, path: str, p: Problems, hyper) -> list | None:
    if isinstance(spec, list):
        if not 2 <= len(spec) <= MAX_SWEEP:
            p.add(path, f"must list 2 to {MAX_SWEEP} values, got {len(spec)}")
            return None
        values = [hyper.check(v, f"{path}[{i}]", p) for i, v in enumerate(spec)]
        if any(v is None for v in values):
            return None
        values = [hyper.normalize(v) for v in values]
        if len(set(values)) != len(values):
            p.add(path, "lists a value twice")
            return None
        return values
    if checks.mapping(spec, path, p) is None:
        return None
    named = next(iter(spec)) if len(spec) == 1 else None
    if named in ("logspace", "linspace") and hyper.kind != "float":
        p.add(f"{path}.{named}", f"{hyper.name} takes a list of values, not a {named}")
        return None
    found = checks.spacing(spec, path, p, SWEEP_BOUND, SWEEP_COUNT, ends="first, last",
                           alternative=" (or a list of values)")
    if found is None:
        return None
    kind, a, b, n = found
    if kind == "logspace" and not (a > 0 and b > 0):
        p.add(f"{path}.{kind}", f"needs first and last above 0, got {a:g} and {b:g}")
        return None
    values = [float(v) for v in (np.geomspace if kind == "logspace" else np.linspace)(a, b, n)]
    values[0], values[-1] = a, b     # exactly as written
    if len(set(values)) != len(values):
        p.add(f"{path}.{kind}", "gives a value twice (first and last are equal)")
        return None
    bad = [v for v in values if hyper.problems(v)]
    if bad:
        p.add(f"{path}.{kind}", f"{hyper.problems(bad[0])[0][1]} ({hyper.name} = {bad[0]:g})")
        return None
    return values
