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
from ..fields import Problems, describe, yaml_text
from ..maths.formula import FormulaError, formula_objective
from ..maths.functions import FUNCTIONS, Objective, make_function
from ..maths.minima import check_minimum, find_minima
from ..maths.optimizers import OPTIMIZERS, other_names
from ..maths.torch_bridge import is_dotted, load_plugins
from ..networks import spec as network
from . import budget, checks, render_options, run_options
from .keys import MAX_RUNS, MAX_SWEEP, RUN_KEYS, SCENE_KEYS, VIEW_LIMIT
from .record import RunSpec, Scene
from .run_options import POINT, SceneDefaults
from .source import parse_yaml, read_text
from .torch_entry import torch_optimizer

__all__ = ["load", "scene", "scene_from_data", "SceneErrors"]

#: Lone and swept runs of one scene (swarm starts are counted by their own limit).
MAX_TOTAL_RUNS = MAX_SWEEP


def load(path: str | Path, plugins: Iterable[str | Path | ModuleType] = (), *, limits: bool = True) -> Scene:
    """Read and validate a scene file. Raises ``SceneErrors`` listing every problem found. ``plugins`` are Python
    files (or modules) whose torch Optimizer subclasses the scene may name (``my_optimizers.MyAdam``).
    ``limits=False`` accepts a scene whose work exceeds the budget (``optviz.scenes.budget``)."""
    load_plugins(plugins)
    return scene_from_text(read_text(path), path, limits=limits)


def scene_from_text(text: str, path: str | Path, *, limits: bool = True) -> Scene:
    """``load`` for a scene file whose text is already read: ``path`` names it in messages and names the scene."""
    name = str(path)
    data, lines = parse_yaml(text, file=name)
    return scene_from_data(data, lines=lines, file=name, name=Path(path).stem, limits=limits)


def scene(name: str = "scene", *, plugins: Iterable[str | Path | ModuleType] = (), limits: bool = True,
          **data: Any) -> Scene:
    """Build a scene in code from the same keys a file has, validated exactly like a file:
    ``optviz.scene(function="beale", optimizers=[{"name": "adam", "lr": 0.7}], steps=150)``.
    ``function`` may also be an ``Objective`` (``optviz.make_function("rosenbrock", b=10)``); ``plugins`` and
    ``limits`` as for ``load``."""
    load_plugins(plugins)
    return scene_from_data(data, name=name, limits=limits)


def scene_from_data(data: Any, *, lines: dict[str, int] | None = None, file: str | None = None,
                    name: str = "scene", limits: bool = True) -> Scene:
    """Validate plain data (as from YAML or built in code) into a Scene; with ``limits``, its work must also
    fit the budget."""
    p = Problems(lines, file)
    built = _scene(data, p, name)
    if built is not None and not p and limits:
        for key, message in budget.problems(built):
            p.add(key, message)
    if p or built is None:
        raise SceneErrors(p.items or [SceneError("invalid scene", file=file)])
    return replace(built, source=file, output_line=p.line_of("output") if built.output else None)


#: Keys written at the top level that belong in each optimizer entry.
_PER_ENTRY = {key: "a learning rate belongs to each optimizer entry: optimizers: [{name: adam, lr: 0.1}]"
              for key in ("lr", "learning_rate")}


def _scene(data: Any, p: Problems, name: str) -> Scene | None:
    if not isinstance(data, dict):
        p.add("", f"a scene must be a YAML mapping (key: value), got {describe(data)}")
        return None
    checks.known_keys(data, SCENE_KEYS, "", p, _PER_ENTRY)
    for required in ("function", "optimizers"):
        if required not in data:
            p.add(required, f"missing required key '{required}'")

    objective = _function(data["function"], "function", p) if "function" in data else None
    is_network = network.is_network(objective) or (isinstance(data.get("function"), dict)
                                                    and "network" in data["function"])
    if is_network and "start" in data:
        p.add("start", network.START_MESSAGE)
    if is_network:
        network.steps_problem(data.get("steps"), "steps", p)
    given = {key: SCENE_KEYS[key].check(data[key], key, p) for key in ("xlim", "ylim", "start", "steps")
             if key in data and not (is_network and key == "start")}
    defaults = SceneDefaults(start=given.get("start"), steps=given.get("steps", 100),
                             xlim=given.get("xlim"), ylim=given.get("ylim"), objective=objective,
                             network=is_network)
    if objective is not None:
        defaults.xlim = defaults.xlim or objective.xlim
        defaults.ylim = defaults.ylim or objective.ylim
        defaults.start = defaults.start or objective.start
        if isinstance(data["function"], dict) and "formula" in data["function"]:
            objective = _formula_minima(objective, data["function"], "function", p, defaults.xlim, defaults.ylim)
    for key, parse in (("starts", run_options.starts), ("noise", run_options.noise),
                       ("minibatch", run_options.minibatch)):
        if data.get(key) is not None:
            setattr(defaults, key, parse(data[key], key, p, defaults))
    runs = _runs(data.get("optimizers"), p, defaults) if "optimizers" in data else ()
    if network.is_network(objective) and runs and not p:
        network.check_runs(objective.network, runs, p)
    render = render_options.settings(data, p)
    if network.is_network(objective) and render.get("contour_grid"):
        network.check_grid(objective.network, render["contour_grid"], p)
    if p or objective is None or not runs:
        return None
    built = Scene(function=objective, runs=runs, xlim=defaults.xlim, ylim=defaults.ylim, name=name, **render)
    render_options.shown_by_output(built, p)
    return built


def _function(value: Any, path: str, p: Problems) -> Objective | None:
    if isinstance(value, Objective):  # built in code, e.g. optviz.scene(function=make_function("beale"), ...)
        return value
    if isinstance(value, dict) and "network" in value:
        return network.parse(value, path, p, Path(p.file).parent if p.file else None)
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


_FORMULA_VIEW = {"xlim": replace(POINT, increasing=True, minimum=-VIEW_LIMIT, maximum=VIEW_LIMIT),
                 "ylim": replace(POINT, increasing=True, minimum=-VIEW_LIMIT, maximum=VIEW_LIMIT), "start": POINT}


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
    if "minima" in value and value["minima"] != "none":
        if not isinstance(value["minima"], list):
            p.add(f"{path}.minima", f"must be a list of [x, y] points or 'none', got {describe(value['minima'])}")
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


def _formula_minima(objective: Objective, value: dict, path: str, p: Problems, xlim, ylim) -> Objective:
    """A formula's minima: the ones it gives, each checked to be a local minimum (gradient ~ 0, curving up),
    else the ones found in the view (the lowest are starred, the others kept as local minima); 'none' hides
    them."""
    if value.get("minima") == "none":
        return replace(objective, minima=(), local_minima=())
    if "minimum" in value or "minima" in value:
        keys = ([f"{path}.minimum"] if "minimum" in value
                else [f"{path}.minima[{i}]" for i in range(len(objective.minima))])
        for key, point in zip(keys, objective.minima):
            problem = check_minimum(objective, point, xlim, ylim)
            if problem:
                p.add(key, problem)
        return objective
    lowest, others = find_minima(objective, xlim, ylim)
    return replace(objective, minima=tuple(lowest), local_minima=tuple(others))


def _runs(value: Any, p: Problems, defaults: SceneDefaults) -> tuple[RunSpec, ...]:
    if not isinstance(value, list) or not value:
        p.add("optimizers", f"must be a non-empty list of optimizer entries, got {describe(value)}")
        return ()
    if len(value) > MAX_RUNS:
        p.add("optimizers", f"has {len(value)} entries; the limit is {MAX_RUNS}")
        return ()
    parsed = {}
    for i, entry in enumerate(value):
        result = _run(entry, f"optimizers[{i}]", p, defaults)
        if result is not None:
            parsed[i] = result
    named = {i for i in parsed if isinstance(value[i], dict) and "label" in value[i]}
    relabelled = _distinct_labels({i: made[0] for i, (made, _) in parsed.items() if not made[0].sweep}, named)
    runs = []
    labels: dict[str, int] = {}
    for i, (made, run_starts) in parsed.items():
        if i in relabelled:
            made = [relabelled[i]]
        label = made[0].sweep or made[0].label
        if label in labels:
            p.add(f"optimizers[{i}].label", f"label '{label}' is already used by optimizers[{labels[label]}]; "
                                            "give each run its own label")
        labels[label] = i
        runs.extend(_swarm(made[0], run_starts, defaults.network) if run_starts else made)
    lone = sum(run.group is None for run in runs)
    if lone > MAX_TOTAL_RUNS:
        p.add("optimizers", f"make {lone} runs besides swarms; the limit is {MAX_TOTAL_RUNS}")
        return ()
    return tuple(runs)


def _distinct_labels(runs: dict[int, RunSpec], named: set[int]) -> dict[int, RunSpec]:
    """Entries left to their default label that share it get the hyperparameters that tell them apart:
    two Adams at two lrs are 'Adam (lr=0.01)' and 'Adam (lr=0.1)'. Labels a scene gives are kept as written."""
    out = dict(runs)
    shared: dict[str, list[int]] = {}
    for i, run in runs.items():
        if i not in named:
            shared.setdefault(run.label, []).append(i)
    for members in shared.values():
        if len(members) < 2:
            continue
        settings = [{"lr": runs[i].lr, **runs[i].hyperparameters} for i in members]
        differ = [key for key in settings[0] if len({yaml_text(s[key]) for s in settings}) > 1]
        if not differ:
            continue
        for i, s in zip(members, settings):
            told = ", ".join(f"{key}={yaml_text(s[key])}" for key in differ)
            out[i] = replace(runs[i], label=f"{runs[i].label} ({told})")
    return out


def _swarm(run: RunSpec, starts: list, seeds: bool = False) -> list[RunSpec]:
    """One entry with many starts becomes one run per start, grouped so they are drawn as a swarm. A network's
    starts are init seeds."""
    return [replace(run, label=f"{run.label} #{i + 1}", group=run.label, **{"init_seed" if seeds else "start": s})
            for i, s in enumerate(starts)]


def _optimizer_name(value: Any, path: str, p: Problems) -> str | None:
    """The registry name a scene means: the name itself in any case, torch's class name (``SGD``, ``RMSprop``,
    ``AdamW``) or the legend's display name (``SGD-NAG``); unknown names get a did-you-mean."""
    if isinstance(value, str) and value not in OPTIMIZERS:
        lowered = value.lower()
        value = next((n for n in OPTIMIZERS if n.lower() == lowered), other_names().get(lowered, value))
    return checks.registry_name(value, path, p, OPTIMIZERS, "optimizer", "see `optviz list optimizers`")


def _foreign_keys(spec) -> dict[str, str]:
    """Pointed hints for keys other libraries (Keras, optax, papers) use for what torch names otherwise."""
    names = {h.name for h in spec.hypers}
    hints = {key: "use 'lr' (torch's name for the learning rate)" for key in ("learning_rate", "learningrate", "eta")}
    if "betas" in names:
        for key in ("beta1", "beta_1", "b1", "beta2", "beta_2", "b2"):
            hints[key] = "use 'betas: [beta1, beta2]' (torch's name: one pair)"
        if "momentum" not in names:
            hints["momentum"] = (f"{spec.label}'s momentum is betas[0] "
                                 f"(betas: {yaml_text(spec.hyper('betas').default)} by default)")
    return hints


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
        found = torch_optimizer(entry, path, p, None if defaults.network else defaults.objective)
        if found is None:
            return None
        name, hp, display, cycled, before = found
        hypers, swept, combos = {}, None, [{}]
        if defaults.network:
            network.entry_problems(entry, None, path, p)
    else:
        found = _registry_optimizer(entry, path, p)
        if found is None:
            return None
        name, hp, display, cycled, before, hypers, swept, combos = found
        if defaults.network:
            network.entry_problems(entry, OPTIMIZERS[name], path, p)

    label = render_options.drawable(RUN_KEYS["label"].check(entry.get("label", display), f"{path}.label", p),
                                    f"{path}.label", p)
    color = render_options.color(entry["color"], f"{path}.color", p) if "color" in entry else None
    run_start = RUN_KEYS["start"].check(entry["start"], f"{path}.start", p) \
        if "start" in entry and not defaults.network else defaults.start
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
    name = _optimizer_name(entry["name"], f"{path}.name", p)
    if name is None:
        return None
    spec = OPTIMIZERS[name]
    hypers = {h.name: h for h in spec.hypers}
    checks.known_keys(entry, [*RUN_KEYS, *hypers], path, p, _foreign_keys(spec))
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
