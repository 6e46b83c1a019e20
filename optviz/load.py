"""Scene file -> validated ``Scene``. Every check runs before any work, and every problem is reported at once."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import checks
from .checks import Problems
from .errors import SceneError
from .functions import FUNCTIONS, Objective, make_function
from .methods import OPTIMIZERS
from .scene import RunSpec, Scene
from .source import parse_yaml, read_text

MAX_STEPS = 100_000
MAX_RUNS = 64
FORMATS = ("gif", "mp4", "png")
LEGEND_LOCS = ("best", "upper right", "upper left", "lower left", "lower right", "right", "center left",
               "center right", "lower center", "upper center", "center", "none")
PANELS = ("loss", "surface")

#: Top-level scene keys: name -> (default shown in docs, one-line meaning). The README and schema read this.
SCENE_KEYS: dict[str, tuple[Any, str]] = {
    "title": (None, "title drawn above the plot"),
    "description": (None, "a sentence about the scene (shown in the gallery)"),
    "function": ("(required)", "a registry name, {name: ..., <coefficient>: ...}, or {formula: ..., minimum: [x, y]}"),
    "start": ("the function's start", "default start [x, y] for every optimizer"),
    "steps": (100, f"optimizer steps for every run (1..{MAX_STEPS})"),
    "xlim": ("the function's view", "x range of the view [low, high]"),
    "ylim": ("the function's view", "y range of the view [low, high]"),
    "starts": (None, "many starts for every optimizer: [[x, y], ...], {random: N, seed: S} or {grid: [nx, ny]}"),
    "optimizers": ("(required)", f"list of runs (1..{MAX_RUNS}); see the optimizer entry keys"),
    "noise": (None, "gradient noise for every run: {std: 0.5, seed: 0, kind: additive | multiplicative}"),
    "minibatch": (None, "for data-term functions (least_squares): {size: 8, seed: 0} samples terms each step"),
    "output": ("outputs/<scene name>.gif", "where `optviz render` writes (relative to the current folder); the extension picks gif, mp4 or png"),
    "size": ([720, 432], "picture size in pixels [width, height]"),
    "fps": (20, "frames per second (20 = 50 ms a frame, as in the post)"),
    "frames": (500, "most frames in the animation; more steps than this are evenly thinned"),
    "pause": (1.0, "seconds the last frame is held before the GIF loops"),
    "levels": ("auto", "contour levels: a count, a list, or {logspace: [a, b, n]} / {linspace: [a, b, n]}"),
    "style": ("grey", "'grey' (the post's grey contours) or a matplotlib colormap name"),
    "palette": ("colour-blind-safe", "list of colours used in order for runs without a color"),
    "panels": ([], "extra synchronised panels: 'loss' (loss vs step), 'surface' (3-D view)"),
    "legend": ("upper left", "legend location (a matplotlib loc) or 'none'"),
}

#: Keys of one optimizer entry besides its hyperparameters.
RUN_KEYS: dict[str, tuple[Any, str]] = {
    "name": ("(required)", "optimizer name from `optviz list optimizers`"),
    "label": ("display name", "legend label"),
    "color": ("from the palette", "line and dot colour (any matplotlib colour)"),
    "start": ("scene start", "this run's start [x, y]"),
    "steps": ("scene steps", "this run's number of steps"),
    "starts": ("scene starts", "many starts for this run (a swarm); same forms as the scene's starts"),
    "schedule": (None, "lr schedule: {name: StepLR, step_size: 30, gamma: 0.5} (torch.optim.lr_scheduler names)"),
    "noise": ("scene noise", "gradient noise for this run (same form as the scene's)"),
    "minibatch": ("scene minibatch", "minibatch sampling for this run (same form as the scene's)"),
}
MAX_STARTS = 2000

DISPLAY_NAMES = {
    "sgd": "SGD", "momentum": "SGD-Momentum", "nag": "SGD-NAG", "rmsprop": "RMSProp", "adam": "Adam",
    "adamw": "AdamW", "nadam": "NAdam", "radam": "RAdam", "adagrad": "AdaGrad", "adadelta": "AdaDelta",
    "adamax": "AdaMax", "amsgrad": "AMSGrad", "newton": "Newton", "bfgs": "BFGS",
}


def load(path: str | Path) -> Scene:
    """Read and validate a scene file. Raises ``SceneErrors`` listing every problem found."""
    name = str(path)
    text = read_text(path)
    data, lines = parse_yaml(text, file=name)
    return scene_from_data(data, lines=lines, file=name, name=Path(path).stem)


def scene_from_data(data: Any, *, lines: dict[str, int] | None = None, file: str | None = None,
                    name: str = "scene") -> Scene:
    """Validate plain data (as from YAML or built in code) into a Scene."""
    p = Problems(lines, file)
    scene = _scene(data, p, name, file)
    if p or scene is None:
        raise SceneErrors(p.items or [SceneError("invalid scene", file=file)])
    return scene


class SceneErrors(SceneError):
    """Several problems at once; ``str`` gives one line per problem."""

    def __init__(self, problems: list[SceneError]):
        self.problems = problems
        first = problems[0]
        super().__init__(first.message, first.path, first.file, first.line)

    def __str__(self) -> str:
        return "\n".join(SceneError.__str__(e) for e in self.problems)


def _scene(data: Any, p: Problems, name: str, file: str | None) -> Scene | None:
    if not isinstance(data, dict):
        p.add("", f"a scene must be a YAML mapping (key: value), got {checks.describe(data)}")
        return None
    checks.known_keys(data, SCENE_KEYS, "", p)
    for required in ("function", "optimizers"):
        if required not in data:
            p.add(required, f"missing required key '{required}'")

    objective = _function(data["function"], "function", p) if "function" in data else None
    xlim = ylim = start = None
    if "xlim" in data:
        xlim = checks.pair(data["xlim"], "xlim", p, increasing=True)
    if "ylim" in data:
        ylim = checks.pair(data["ylim"], "ylim", p, increasing=True)
    if "start" in data:
        start = checks.pair(data["start"], "start", p)
    steps = 100
    if "steps" in data:
        steps = checks.integer(data["steps"], "steps", p, minimum=1, maximum=MAX_STEPS)
    if objective is not None:
        xlim = xlim or objective.xlim
        ylim = ylim or objective.ylim
        start = start or objective.start

    shared = {"start": start, "steps": steps, "xlim": xlim, "ylim": ylim, "objective": objective}
    for key, parse in (("starts", _starts), ("noise", _noise), ("minibatch", _minibatch)):
        shared[key] = parse(data[key], key, p, shared) if data.get(key) is not None else None
    runs = _runs(data.get("optimizers"), p, shared) if "optimizers" in data else ()
    render = _render_settings(data, p, name)
    if p or objective is None or not runs:
        return None
    return Scene(function=objective, runs=runs, xlim=xlim, ylim=ylim, name=name, source=file, **render)


def _function(value: Any, path: str, p: Problems) -> Objective | None:
    if isinstance(value, Objective):  # built in code, e.g. optviz.Scene(function=make_function("beale"), ...)
        return value
    if isinstance(value, str):
        value = {"name": value}
        name_path = path
    else:
        name_path = f"{path}.name"
    if not isinstance(value, dict):
        p.add(path, f"must be a function name or a mapping, got {checks.describe(value)}")
        return None
    if "formula" in value:
        return _formula_function(value, path, p)
    if "name" not in value:
        p.add(path, "needs 'name' (a registry function) or 'formula'")
        return None
    name = checks.registry_name(value["name"], name_path, p, FUNCTIONS, "function", "see `optviz list functions`")
    if name is None:
        return None
    spec = FUNCTIONS[name]
    checks.known_keys(value, ["name", *spec.defaults], path, p)
    params: dict[str, Any] = {}
    for key, default in spec.defaults.items():
        if key not in value:
            continue
        if isinstance(default, (tuple, list)):
            params[key] = checks.pair(value[key], f"{path}.{key}", p)
        else:
            params[key] = checks.number(value[key], f"{path}.{key}", p)
    if any(v is None for v in params.values()) or p:
        return None
    try:
        return make_function(name, **params)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        key, _, rest = message.partition(": ")
        if key in spec.defaults and rest:
            p.add(f"{path}.{key}", rest)
        else:
            p.add(path, message)
        return None


def _formula_function(value: dict, path: str, p: Problems) -> Objective | None:
    from .formula import FormulaError, formula_objective

    checks.known_keys(value, ["formula", "minimum", "minima", "xlim", "ylim", "start"], path, p)
    text = checks.string(value["formula"], f"{path}.formula", p)
    minima: list[tuple[float, float]] = []
    if "minimum" in value and "minima" in value:
        p.add(path, "give either 'minimum' or 'minima', not both")
    if "minimum" in value:
        m = checks.pair(value["minimum"], f"{path}.minimum", p)
        minima = [m] if m else []
    if "minima" in value:
        if not isinstance(value["minima"], list):
            p.add(f"{path}.minima", f"must be a list of [x, y] points, got {checks.describe(value['minima'])}")
        else:
            minima = [m for i, v in enumerate(value["minima"])
                      if (m := checks.pair(v, f"{path}.minima[{i}]", p)) is not None]
    view = {key: checks.pair(value[key], f"{path}.{key}", p, increasing=key != "start")
            for key in ("xlim", "ylim", "start") if key in value}
    if text is None or p:
        return None
    try:
        return formula_objective(text, minima=tuple(minima), **{k: v for k, v in view.items() if v})
    except FormulaError as exc:
        p.add(f"{path}.formula", str(exc))
        return None


def _runs(value: Any, p: Problems, shared: dict) -> tuple[RunSpec, ...]:
    if not isinstance(value, list) or not value:
        p.add("optimizers", f"must be a non-empty list of optimizer entries, got {checks.describe(value)}")
        return ()
    if len(value) > MAX_RUNS:
        p.add("optimizers", f"has {len(value)} entries; the limit is {MAX_RUNS}")
        return ()
    runs = []
    labels: dict[str, int] = {}
    for i, entry in enumerate(value):
        result = _run(entry, f"optimizers[{i}]", p, shared)
        if result is None:
            continue
        run, run_starts = result
        if run.label in labels:
            p.add(f"optimizers[{i}].label", f"label '{run.label}' is already used by optimizers[{labels[run.label]}]; "
                                            "give each run its own label")
        labels[run.label] = i
        runs.extend(_expand(run, run_starts) if run_starts else [run])
    return tuple(runs)


def _expand(run: RunSpec, starts: list) -> list[RunSpec]:
    """One entry with many starts becomes one run per start, grouped so they are drawn as a swarm."""
    from dataclasses import replace

    return [replace(run, label=f"{run.label} #{i + 1}", start=s, group=run.label) for i, s in enumerate(starts)]


def _run(entry: Any, path: str, p: Problems, shared: dict) -> tuple[RunSpec, list | None] | None:
    """One optimizer entry, and its many starts when it has them (``start`` on the entry wins)."""
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict):
        p.add(path, f"must be a mapping like {{name: adam, lr: 0.1}}, got {checks.describe(entry)}")
        return None
    if "name" not in entry:
        p.add(path, "missing required key 'name' (the optimizer, e.g. adam)")
        return None
    name = checks.registry_name(entry["name"], f"{path}.name", p, OPTIMIZERS, "optimizer",
                                "see `optviz list optimizers`")
    if name is None:
        return None
    spec = OPTIMIZERS[name]
    hypers = {h.name: h for h in spec.hypers}
    checks.known_keys(entry, [*RUN_KEYS, *hypers], path, p)
    before = len(p.items)

    hp = spec.defaults()
    for key, hyper in hypers.items():
        if key in entry:
            hp[key] = _hyper(entry[key], hyper, f"{path}.{key}", p)
    if len(p.items) == before:
        for key, message in spec.check(hp):
            p.add(f"{path}.{key}", message)

    label = checks.string(entry.get("label", DISPLAY_NAMES.get(name, name)), f"{path}.label", p, max_length=80)
    color = None
    if "color" in entry:
        color = _color(entry["color"], f"{path}.color", p)
    run_start = checks.pair(entry["start"], f"{path}.start", p) if "start" in entry else shared["start"]
    run_steps = (checks.integer(entry["steps"], f"{path}.steps", p, minimum=1, maximum=MAX_STEPS)
                 if "steps" in entry else shared["steps"])
    if "start" in entry and "starts" in entry:
        p.add(path, "give either 'start' or 'starts', not both")
    starts = None if "start" in entry else shared["starts"]
    if entry.get("starts") is not None:
        starts = _starts(entry["starts"], f"{path}.starts", p, shared)
    extras = {key: parse(entry[key], f"{path}.{key}", p, shared) if entry.get(key) is not None else shared[key]
              for key, parse in (("noise", _noise), ("minibatch", _minibatch))}
    schedule = None
    if entry.get("schedule") is not None and run_steps is not None and isinstance(hp.get("lr"), float):
        schedule = _schedule(entry["schedule"], f"{path}.schedule", p, hp["lr"], run_steps)
    if len(p.items) != before or label is None or run_start is None or run_steps is None:
        return None
    run = RunSpec(optimizer=name, label=label, hyperparameters=hp, start=tuple(run_start), steps=run_steps,
                  color=color, schedule=schedule, **extras)
    return run, starts


def _starts(value: Any, path: str, p: Problems, shared: dict) -> list[tuple[float, float]] | None:
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


def _noise(value: Any, path: str, p: Problems, shared: dict) -> dict | None:
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


def _minibatch(value: Any, path: str, p: Problems, shared: dict) -> dict | None:
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


def _schedule(value: Any, path: str, p: Problems, lr: float, steps: int) -> dict | None:
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


def _hyper(value: Any, hyper: Any, path: str, p: Problems) -> Any:
    """Type-check one hyperparameter; ranges are the optimizer spec's own check."""
    if hyper.kind == "bool":
        return checks.boolean(value, path, p)
    if hyper.kind == "int":
        return checks.integer(value, path, p)
    if hyper.kind == "betas":
        return checks.pair(value, path, p)
    return checks.number(value, path, p)


def _color(value: Any, path: str, p: Problems) -> str | None:
    from matplotlib.colors import is_color_like

    if not isinstance(value, str) or not is_color_like(value):
        p.add(path, f"is not a colour matplotlib knows, got {checks.describe(value)} "
                    "(try a name like 'tab:red' or a hex code like '#d55e00')")
        return None
    return value


def _render_settings(data: dict, p: Problems, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "title" in data and data["title"] is not None:
        out["title"] = checks.string(data["title"], "title", p, max_length=200)
    if "description" in data and data["description"] is not None:
        out["description"] = checks.string(data["description"], "description", p, max_length=2000)
    if "output" in data and data["output"] is not None:
        output = checks.string(data["output"], "output", p, max_length=1000)
        if output is not None:
            suffix = Path(output).suffix.lower().lstrip(".")
            if suffix not in FORMATS:
                p.add("output", f"must end in .gif, .mp4 or .png, got '{output}'")
            out["output"] = output
    if "size" in data:
        size = data["size"]
        if not isinstance(size, list) or len(size) != 2:
            p.add("size", f"must be [width, height] in pixels, got {checks.describe(size)}")
        else:
            w = checks.integer(size[0], "size[0]", p, minimum=64, maximum=4096)
            h = checks.integer(size[1], "size[1]", p, minimum=64, maximum=4096)
            if w and h:
                out["size"] = (w, h)
    if "fps" in data:
        out["fps"] = checks.number(data["fps"], "fps", p, exclusive_minimum=0, maximum=100)
    if "frames" in data:
        out["max_frames"] = checks.integer(data["frames"], "frames", p, minimum=2, maximum=5000)
    if "pause" in data:
        out["pause"] = checks.number(data["pause"], "pause", p, minimum=0, maximum=60)
    if "levels" in data:
        out["levels"] = _levels(data["levels"], p)
    if "style" in data:
        out["style"] = _style(data["style"], p)
    if "palette" in data:
        pal = data["palette"]
        if not isinstance(pal, list) or not pal:
            p.add("palette", f"must be a non-empty list of colours, got {checks.describe(pal)}")
        else:
            out["palette"] = tuple(_color(c, f"palette[{i}]", p) for i, c in enumerate(pal))
    if "panels" in data:
        panels = data["panels"]
        if not isinstance(panels, list):
            p.add("panels", f"must be a list drawn from {list(PANELS)}, got {checks.describe(panels)}")
        else:
            out["panels"] = tuple(checks.string(v, f"panels[{i}]", p, choices=PANELS) for i, v in enumerate(panels))
    if "legend" in data:
        out["legend"] = checks.string(data["legend"], "legend", p, choices=LEGEND_LOCS)
    return {k: v for k, v in out.items() if v is not None}


def _levels(value: Any, p: Problems) -> Any:
    if isinstance(value, dict):
        import numpy as np

        checks.known_keys(value, ["logspace", "linspace"], "levels", p)
        if len(value) != 1:
            p.add("levels", "give exactly one of logspace or linspace")
            return None
        (kind, args), = value.items()
        if not isinstance(args, list) or len(args) != 3:
            p.add(f"levels.{kind}", f"must be [start, stop, count], got {checks.describe(args)}")
            return None
        a = checks.number(args[0], f"levels.{kind}[0]", p, minimum=-300, maximum=300)
        b = checks.number(args[1], f"levels.{kind}[1]", p, minimum=-300, maximum=300)
        n = checks.integer(args[2], f"levels.{kind}[2]", p, minimum=2, maximum=200)
        if a is None or b is None or n is None:
            return None
        if not a < b:
            p.add(f"levels.{kind}", "start must be below stop")
            return None
        fn = np.logspace if kind == "logspace" else np.linspace
        return [float(v) for v in fn(a, b, n)]
    if isinstance(value, list):
        if not 1 <= len(value) <= 200:
            p.add("levels", f"must list 1 to 200 levels, got {len(value)}")
            return None
        levels = [checks.number(v, f"levels[{i}]", p) for i, v in enumerate(value)]
        if any(v is None for v in levels):
            return None
        if any(b <= a for a, b in zip(levels, levels[1:])):
            p.add("levels", "must be strictly increasing")
            return None
        return levels
    return checks.integer(value, "levels", p, minimum=2, maximum=200)


def _style(value: Any, p: Problems) -> str | None:
    import matplotlib

    style = checks.string(value, "style", p, max_length=100)
    if style is None or style == "grey":
        return style
    if style not in matplotlib.colormaps:
        p.add("style", f"unknown style '{style}'{checks.did_you_mean(style, ['grey', *matplotlib.colormaps])} "
                       "(use 'grey' or a matplotlib colormap name)")
        return None
    return style
