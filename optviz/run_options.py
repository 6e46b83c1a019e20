"""Optional keys of a run: many starts, gradient noise, minibatches, lr schedules. Each parser reports
problems at its key path and returns the resolved value (or None)."""
from __future__ import annotations

from typing import Any

from . import checks
from .checks import Problems

MAX_STARTS = 2000


def starts(value: Any, path: str, p: Problems, shared: dict) -> list[tuple[float, float]] | None:
    """Many starts: a list of points, ``{random: N, seed: S}`` inside the view, or ``{grid: [nx, ny]}``."""
    import numpy as np

    if isinstance(value, list):
        if not 1 <= len(value) <= MAX_STARTS:
            p.add(path, f"must list 1 to {MAX_STARTS} points, got {len(value)}")
            return None
        points = [checks.pair(v, f"{path}[{i}]", p) for i, v in enumerate(value)]
        return None if any(pt is None for pt in points) else points
    if not isinstance(value, dict):
        p.add(path, f"must be a list of [x, y] points, {{random: N, seed: S}} or {{grid: [nx, ny]}}, "
                    f"got {checks.describe(value)}")
        return None
    checks.known_keys(value, ["random", "seed", "grid"], path, p)
    xlim, ylim = shared["xlim"], shared["ylim"]
    if ("random" in value) == ("grid" in value):
        p.add(path, "give exactly one of 'random' or 'grid'")
        return None
    if xlim is None or ylim is None:
        return None
    if "random" in value:
        n = checks.integer(value["random"], f"{path}.random", p, minimum=1, maximum=MAX_STARTS)
        seed = checks.integer(value.get("seed", 0), f"{path}.seed", p, minimum=0, maximum=2**32 - 1)
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
        p.add(f"{path}.grid", f"must be [nx, ny], got {checks.describe(grid)}")
        return None
    nx = checks.integer(grid[0], f"{path}.grid[0]", p, minimum=1, maximum=MAX_STARTS)
    ny = checks.integer(grid[1], f"{path}.grid[1]", p, minimum=1, maximum=MAX_STARTS)
    if nx is None or ny is None:
        return None
    if nx * ny > MAX_STARTS:
        p.add(f"{path}.grid", f"makes {nx * ny} starts; the limit is {MAX_STARTS}")
        return None
    # cell centres, so no start sits on the edge of the view
    xs = xlim[0] + (np.arange(nx) + 0.5) * (xlim[1] - xlim[0]) / nx
    ys = ylim[0] + (np.arange(ny) + 0.5) * (ylim[1] - ylim[0]) / ny
    return [(float(x), float(y)) for y in ys for x in xs]


def noise(value: Any, path: str, p: Problems, shared: dict) -> dict | None:
    if checks.mapping(value, path, p) is None:
        return None
    checks.known_keys(value, ["std", "seed", "kind"], path, p)
    if "std" not in value:
        p.add(path, "missing required key 'std' (the noise's standard deviation)")
        return None
    std = checks.number(value["std"], f"{path}.std", p, minimum=0, maximum=1e6)
    seed = checks.integer(value.get("seed", 0), f"{path}.seed", p, minimum=0, maximum=2**32 - 1)
    kind = checks.string(value.get("kind", "additive"), f"{path}.kind", p, choices=("additive", "multiplicative"))
    if std is None or seed is None or kind is None:
        return None
    return {"std": std, "seed": seed, "kind": kind}


def minibatch(value: Any, path: str, p: Problems, shared: dict) -> dict | None:
    if checks.mapping(value, path, p) is None:
        return None
    checks.known_keys(value, ["size", "seed"], path, p)
    objective = shared["objective"]
    if objective is not None and not objective.n_terms:
        p.add(path, f"needs a function made of data terms (least_squares); '{objective.name}' is one formula")
        return None
    if "size" not in value:
        p.add(path, "missing required key 'size' (terms per step)")
        return None
    size = checks.integer(value["size"], f"{path}.size", p, minimum=1,
                          maximum=objective.n_terms if objective is not None else None)
    seed = checks.integer(value.get("seed", 0), f"{path}.seed", p, minimum=0, maximum=2**32 - 1)
    if size is None or seed is None:
        return None
    return {"size": size, "seed": seed}


def schedule(value: Any, path: str, p: Problems, lr: float, steps: int) -> dict | None:
    from .schedules import SCHEDULES

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
    return {"name": name, **spec.resolve(lr, steps, kwargs)}
