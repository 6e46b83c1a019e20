"""Scene file or plain data -> validated ``Scene``. Every check runs before any work, and every problem is
reported at once.

>>> s = scene(function="beale", optimizers=[{"name": "adam", "lr": 0.7}], steps=20)
>>> s.runs[0].label, s.runs[0].lr, s.runs[0].steps
('Adam', 0.7, 20)
"""
from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

from ..errors import SceneError, SceneErrors
from ..fields import Problems, describe
from ..maths.formula import FormulaError, formula_objective
from ..maths.functions import FUNCTIONS, Objective, make_function
from ..maths.optimizers import OPTIMIZERS
from ..maths.torch_bridge import is_dotted, load_plugins
from . import checks, render_options, run_options
from .keys import MAX_RUNS, MAX_SWEEP, RUN_KEYS, SCENE_KEYS
from .record import RunSpec, Scene
from .run_options import POINT, SceneDefaults
from .source import parse_yaml, read_text
from .torch_entry import torch_optimizer

__all__ = ["load", "scene", "scene_from_data", "SceneErrors"]

#: Lone and swept runs of one scene (swarm starts are counted by their own limit).
MAX_TOTAL_RUNS = MAX_SWEEP


def load(path: str | Path, plugins: Iterable[str | Path | ModuleType] = ()) -> Scene:
    """Read and validate a scene file. Raises ``SceneErrors`` listing every problem found. ``plugins`` are Python
    files (or modules) whose torch Optimizer subclasses the scene may name (``my_optimizers.MyAdam``)."""
    load_plugins(plugins)
    name = str(path)
    text = read_text(path)
    data, lines = parse_yaml(text, file=name)
    return scene_from_data(data, lines=lines, file=name, name=Path(path).stem)


def scene(name: str = "scene", *, plugins: Iterable[str | Path | ModuleType] = (), **data: Any) -> Scene:
    """Build a scene in code from the same keys a file has, validated exactly like a file:
    ``optviz.scene(function="beale", optimizers=[{"name": "adam", "lr": 0.7}], steps=150)``.
    ``function`` may also be an ``Objective`` (``optviz.make_function("rosenbrock", b=10)``); ``plugins`` as
    for ``load``."""
    load_plugins(plugins)
    return scene_from_data(data, name=name)


def scene_from_data(data: Any, *, lines: dict[str, int] | None = None, file: str | None = None,
                    name: str = "scene") -> Scene:
    """Validate plain data (as from YAML or built in code) into a Scene."""
    p = Problems(lines, file)
    built = _scene(data, p, name)
    if p or built is None:
        raise SceneErrors(p.items or [SceneError("invalid scene", file=file)])
    return built


def _scene(data: Any, p: Problems, name: str) -> Scene | None:
    if not isinstance(data, dict):
        p.add("", f"a scene must be a YAML mapping (key: value), got {describe(data)}")
        return None
    checks.known_keys(data, SCENE_KEYS, "", p)
    for required in ("function", "optimizers"):
        if required not in data:
            p.add(required, f"missing required key '{required}'")

    objective = _function(data["function"], "function", p) if "function" in data else None
    given = {key: SCENE_KEYS[key].check(data[key], key, p) for key in ("xlim", "ylim", "start", "steps")
             if key in data}
    defaults = SceneDefaults(start=given.get("start"), steps=given.get("steps", 100),
                             xlim=given.get("xlim"), ylim=given.get("ylim"), objective=objective)
    if objective is not None:
        defaults.xlim = defaults.xlim or objective.xlim
        defaults.ylim = defaults.ylim or objective.ylim
        defaults.start = defaults.start or objective.start
    for key, parse in (("starts", run_options.starts), ("noise", run_options.noise),
                       ("minibatch", run_options.minibatch)):
        if data.get(key) is not None:
            setattr(defaults, key, parse(data[key], key, p, defaults))
    runs = _runs(data.get("optimizers"), p, defaults) if "optimizers" in data else ()
    render = render_options.settings(data, p)
    if p or objective is None or not runs:
        return None
    built = Scene(function=objective, runs=runs, xlim=defaults.xlim, ylim=defaults.ylim, name=name, **render)
    render_options.shown_by_output(built, p)
    return built


def _function(value: Any, path: str, p: Problems) -> Objective | None:
    if isinstance(value, Objective):  # built in code, e.g. optviz.scene(function=make_function("beale"), ...)
        return value
    if isinstance(value, str):
        value = {"name": value}
        name_path = path
    else:
        name_path = f"{path}.name"
    if not isinstance(value, dict):
        p.add(path, f"must be a function name or a mapping, got {describe(value)}")
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
    params = {key: field.check(value[key], f"{path}.{key}", p) for key, field in spec.fields.items() if key in value}
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


_FORMULA_VIEW = {"xlim": replace(POINT, increasing=True), "ylim": replace(POINT, increasing=True), "start": POINT}


def _formula_function(value: dict, path: str, p: Problems) -> Objective | None:
    checks.known_keys(value, ["formula", "minimum", "minima", "xlim", "ylim", "start"], path, p)
    text = value["formula"]
    if not isinstance(text, str):
        p.add(f"{path}.formula", f"must be a string, got {describe(text)}")
        text = None
    minima: list[tuple[float, float]] = []
    if "minimum" in value and "minima" in value:
        p.add(path, "give either 'minimum' or 'minima', not both")
    if "minimum" in value:
        m = POINT.check(value["minimum"], f"{path}.minimum", p)
        minima = [m] if m else []
    if "minima" in value:
        if not isinstance(value["minima"], list):
            p.add(f"{path}.minima", f"must be a list of [x, y] points, got {describe(value['minima'])}")
        else:
            minima = [m for i, v in enumerate(value["minima"])
                      if (m := POINT.check(v, f"{path}.minima[{i}]", p)) is not None]
    view = {key: field.check(value[key], f"{path}.{key}", p) for key, field in _FORMULA_VIEW.items() if key in value}
    if text is None or p:
        return None
    try:
        return formula_objective(text, minima=tuple(minima), **{k: v for k, v in view.items() if v})
    except FormulaError as exc:
        p.add(f"{path}.formula", str(exc))
        return None


def _runs(value: Any, p: Problems, defaults: SceneDefaults) -> tuple[RunSpec, ...]:
    if not isinstance(value, list) or not value:
        p.add("optimizers", f"must be a non-empty list of optimizer entries, got {describe(value)}")
        return ()
    if len(value) > MAX_RUNS:
        p.add("optimizers", f"has {len(value)} entries; the limit is {MAX_RUNS}")
        return ()
    runs = []
    labels: dict[str, int] = {}
    for i, entry in enumerate(value):
        result = _run(entry, f"optimizers[{i}]", p, defaults)
        if result is None:
            continue
        made, run_starts = result
        label = made[0].sweep or made[0].label
        if label in labels:
            p.add(f"optimizers[{i}].label", f"label '{label}' is already used by optimizers[{labels[label]}]; "
                                            "give each run its own label")
        labels[label] = i
        runs.extend(_swarm(made[0], run_starts) if run_starts else made)
    lone = sum(run.group is None for run in runs)
    if lone > MAX_TOTAL_RUNS:
        p.add("optimizers", f"make {lone} runs besides swarms; the limit is {MAX_TOTAL_RUNS}")
        return ()
    return tuple(runs)


def _swarm(run: RunSpec, starts: list) -> list[RunSpec]:
    """One entry with many starts becomes one run per start, grouped so they are drawn as a swarm."""
    return [replace(run, label=f"{run.label} #{i + 1}", start=s, group=run.label) for i, s in enumerate(starts)]


def _run(entry: Any, path: str, p: Problems, defaults: SceneDefaults) -> tuple[list[RunSpec], list | None] | None:
    """One optimizer entry's runs (one, or one per swept value), and its many starts when it has them (``start``
    on the entry wins)."""
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict):
        p.add(path, f"must be a mapping like {{name: adam, lr: 0.1}}, got {describe(entry)}")
        return None
    if "name" not in entry:
        p.add(path, "missing required key 'name' (the optimizer, e.g. adam)")
        return None
    if is_dotted(entry["name"]):
        found = torch_optimizer(entry, path, p, defaults.objective)
        if found is None:
            return None
        name, hp, display, cycled, before = found
        hypers, swept, combos = {}, None, [{}]
    else:
        found = _registry_optimizer(entry, path, p)
        if found is None:
            return None
        name, hp, display, cycled, before, hypers, swept, combos = found

    label = RUN_KEYS["label"].check(entry.get("label", display), f"{path}.label", p)
    color = render_options.color(entry["color"], f"{path}.color", p) if "color" in entry else None
    run_start = RUN_KEYS["start"].check(entry["start"], f"{path}.start", p) if "start" in entry else defaults.start
    run_steps = RUN_KEYS["steps"].check(entry["steps"], f"{path}.steps", p) if "steps" in entry else defaults.steps
    if "start" in entry and "starts" in entry:
        p.add(path, "give either 'start' or 'starts', not both")
    starts = None if "start" in entry or swept else defaults.starts
    if entry.get("starts") is not None:
        starts = run_options.starts(entry["starts"], f"{path}.starts", p, defaults)
        if swept:
            p.add(path, "give either 'sweep' or 'starts', not both")
    noise = run_options.noise(entry["noise"], f"{path}.noise", p, defaults) \
        if entry.get("noise") is not None else defaults.noise
    minibatch = run_options.minibatch(entry["minibatch"], f"{path}.minibatch", p, defaults) \
        if entry.get("minibatch") is not None else defaults.minibatch
    runs = []
    for combo in combos:
        values = hp | {k: hypers[k].normalize(v) for k, v in combo.items()} if len(p.items) == before else hp
        lr = values.pop("lr")
        schedule = None
        if entry.get("schedule") is not None and run_steps is not None and isinstance(lr, float):
            schedule = run_options.schedule(entry["schedule"], f"{path}.schedule", p, lr, run_steps, cycled)
        if len(p.items) != before or label is None or run_start is None or run_steps is None:
            return None
        runs.append(RunSpec(optimizer=name, label=_swept_label(label, combo), lr=lr, hyperparameters=values,
                            start=tuple(run_start), steps=run_steps, color=color, schedule=schedule, noise=noise,
                            minibatch=minibatch, sweep=label if combo else None,
                            swept=tuple((k, hypers[k].normalize(v)) for k, v in combo.items())))
    return runs, starts


def _registry_optimizer(entry: dict, path: str, p: Problems) -> tuple | None:
    """A registry optimizer's name, checked hyperparameters (defaults filled in), legend label, the keyword a
    momentum-cycling schedule sets, the problem count before its checks, and its sweep (hyperparameter fields,
    swept values, their combinations)."""
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
            hp[key] = entry[key]
    swept = run_options.sweep(entry["sweep"], f"{path}.sweep", p, hypers) if entry.get("sweep") is not None else None
    for key in swept or ():
        if key in entry:
            p.add(f"{path}.{key}", f"is swept (sweep.{key}); give it in one place")
    combos = [dict(zip(swept, values)) for values in itertools.product(*swept.values())] if swept else [{}]
    unswept = set(spec.check(hp))
    for key, message in dict.fromkeys(problem for combo in combos for problem in spec.check(hp | combo)):
        if swept and key in swept:
            p.add(f"{path}.sweep.{key}", message)
        else:   # a rule broken only by some swept values is the sweep's problem
            p.add(f"{path}.{key}" if not swept or (key, message) in unswept else f"{path}.sweep", message)
    hp = {key: hyper.normalize(hp[key]) for key, hyper in hypers.items()} if len(p.items) == before else hp
    return name, hp, spec.label, spec.cycled, before, hypers, swept, combos


def _swept_label(label: str, combo: dict) -> str:
    """'Adam lr=0.001 momentum=0.9': a swept run's label names its values (shortest text that round-trips)."""
    return " ".join([label, *(f"{key}={value!r}" if isinstance(value, float) else f"{key}={value}"
                              for key, value in combo.items())])
