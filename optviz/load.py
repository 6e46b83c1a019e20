"""Scene file -> validated ``Scene``. Every check runs before any work, and every problem is reported at once."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import checks, render_options, run_options
from .checks import Problems
from .errors import SceneError
from .functions import FUNCTIONS, Objective, make_function
from .methods import OPTIMIZERS
from .scene import RunSpec, Scene
from .source import parse_yaml, read_text

MAX_STEPS = 100_000
MAX_RUNS = 64

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
    for key, parse in (("starts", run_options.starts), ("noise", run_options.noise),
                       ("minibatch", run_options.minibatch)):
        shared[key] = parse(data[key], key, p, shared) if data.get(key) is not None else None
    runs = _runs(data.get("optimizers"), p, shared) if "optimizers" in data else ()
    render = render_options.settings(data, p)
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
        color = render_options.color(entry["color"], f"{path}.color", p)
    run_start = checks.pair(entry["start"], f"{path}.start", p) if "start" in entry else shared["start"]
    run_steps = (checks.integer(entry["steps"], f"{path}.steps", p, minimum=1, maximum=MAX_STEPS)
                 if "steps" in entry else shared["steps"])
    if "start" in entry and "starts" in entry:
        p.add(path, "give either 'start' or 'starts', not both")
    starts = None if "start" in entry else shared["starts"]
    if entry.get("starts") is not None:
        starts = run_options.starts(entry["starts"], f"{path}.starts", p, shared)
    extras = {key: parse(entry[key], f"{path}.{key}", p, shared) if entry.get(key) is not None else shared[key]
              for key, parse in (("noise", run_options.noise), ("minibatch", run_options.minibatch))}
    schedule = None
    if entry.get("schedule") is not None and run_steps is not None and isinstance(hp.get("lr"), float):
        schedule = run_options.schedule(entry["schedule"], f"{path}.schedule", p, hp["lr"], run_steps)
    if len(p.items) != before or label is None or run_start is None or run_steps is None:
        return None
    run = RunSpec(optimizer=name, label=label, hyperparameters=hp, start=tuple(run_start), steps=run_steps,
                  color=color, schedule=schedule, **extras)
    return run, starts


def _hyper(value: Any, hyper: Any, path: str, p: Problems) -> Any:
    """Type-check one hyperparameter; ranges are the optimizer spec's own check."""
    if hyper.kind == "bool":
        return checks.boolean(value, path, p)
    if hyper.kind == "int":
        return checks.integer(value, path, p)
    if hyper.kind == "betas":
        return checks.pair(value, path, p)
    return checks.number(value, path, p)


