"""Human-readable listings of the registries, for `optviz list` and the README tables."""
from __future__ import annotations

import re

from ..fields import yaml_text as _fmt
from ..maths.functions import FUNCTIONS, make_function
from ..maths.optimizers import OPTIMIZERS
from ..maths.schedules import SCHEDULES
from ..networks.spec import NETWORK_FIELDS, NETWORK_KEYS
from ..scenes.keys import RUN_KEYS, SCENE_KEYS


def describe_functions() -> str:
    blocks = []
    for name, spec in FUNCTIONS.items():
        f = make_function(name)
        minima = ", ".join(f"({x:.4g}, {y:.4g})" for x, y in f.minima) or "none"
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in spec.defaults.items()) or "-"
        blocks.append(f"{name}\n  f(x, y) = {f.formula}\n  {spec.description}\n"
                      f"  parameters: {params}\n  global minima: {minima}\n"
                      f"  view: x {_fmt(f.xlim)}, y {_fmt(f.ylim)}; start {_fmt(f.start)}")
    return "\n".join(blocks)


def describe_module(module: str) -> str:
    """The torch Optimizer classes a module offers, each as a scene names it, with its constructor keywords."""
    from ..maths.torch_bridge import describe_signature, module_classes  # lazy: imports torch and the module

    classes = module_classes(module)
    if not classes:
        return f"{module} offers no torch.optim.Optimizer subclass"
    lines = [f"{module}: {len(classes)} optimizer classes (name: {module}.<Class> in a scene)"]
    lines += [f"{module}.{name}{describe_signature(cls)}" for name, cls in classes.items()]
    return "\n".join(lines)


def describe_optimizers() -> str:
    blocks = []
    for name, spec in OPTIMIZERS.items():
        hypers = ", ".join(f"{k}={_fmt(v)}" for k, v in spec.defaults().items())
        alias = f" (alias of {spec.base})" if spec.base else ""
        blocks.append(f"{name}{alias}  ~ {spec.torch_class}\n  {spec.rule}\n  defaults: {hypers}")
    return "\n".join(blocks)


# --- README tables: generated here so the docs cannot drift from the registries (tests check) -------------

def _md(text: str) -> str:
    return str(text).replace("|", "\\|")


def markdown_optimizers() -> str:
    rows = ["| name | matches | update rule | hyperparameters (defaults) |", "|---|---|---|---|"]
    for name, spec in OPTIMIZERS.items():
        hypers = ", ".join(f"`{k}={_fmt(v)}`" for k, v in spec.defaults().items())
        shown = f"`{name}`" + (f" (= `{spec.base}`)" if spec.base else "")
        rows.append(f"| {shown} | `{spec.torch_class}` | `{_md(spec.rule)}` | {hypers} |")
    return "\n".join(rows)


def markdown_functions() -> str:
    rows = ["| name | f(x, y) | global minima | parameters (defaults) | view, start |", "|---|---|---|---|---|"]
    for name, spec in FUNCTIONS.items():
        f = make_function(name)
        minima = ", ".join(f"({x:.4g}, {y:.4g})" for x, y in f.minima) or "none"
        params = ", ".join(f"`{k}={_fmt(v)}`" for k, v in spec.defaults.items()) or "-"
        rows.append(f"| `{name}` | `{_md(f.formula)}` | {minima} | {params} | "
                    f"x {_fmt(f.xlim)}, y {_fmt(f.ylim)}; {_fmt(f.start)} |")
    return "\n".join(rows)


def markdown_scene_keys() -> str:
    rows = ["| key | default | meaning |", "|---|---|---|"]
    rows += [f"| `{k}` | {_md(f.default_text())} | {_md(f.help)} |" for k, f in SCENE_KEYS.items()]
    rows += ["", "Keys of one entry under `optimizers` (besides the optimizer's hyperparameters):", "",
             "| key | default | meaning |", "|---|---|---|"]
    rows += [f"| `{k}` | {_md(f.default_text())} | {_md(f.help)} |" for k, f in RUN_KEYS.items()]
    return "\n".join(rows)


def markdown_network_keys() -> str:
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for key, field in NETWORK_KEYS.items():
        rows.append(f"| `{key}` | {_md(field.default_text())} | {_md(field.help)} |")
        rows += [f"| `{key}.{f.name}` | {_md(f.default_text())} | {_md(f.help)} |" for f in NETWORK_FIELDS.get(key, ())]
    return "\n".join(rows)


def markdown_schedules() -> str:
    rows = ["| schedule | arguments (defaults) | lr at step t |", "|---|---|---|"]
    for name, spec in SCHEDULES.items():
        args = ", ".join(f"`{a.name}" + (" (required)`" if a.required else f"={_fmt(a.default)}`")
                         for a in spec.args)
        rows.append(f"| `{name}` | {args} | {_md(spec.formula)} |")
    return "\n".join(rows)


README_TABLES = {"scene-keys": markdown_scene_keys, "optimizers": markdown_optimizers,
                 "functions": markdown_functions, "schedules": markdown_schedules,
                 "network-keys": markdown_network_keys}


def fill_readme(text: str) -> str:
    """Replace each ``<!-- table:NAME -->...<!-- /table -->`` block with the freshly generated table."""
    def fill(match: re.Match) -> str:
        return f"<!-- table:{match.group(1)} -->\n{README_TABLES[match.group(1)]()}\n<!-- /table -->"

    return re.sub(r"<!-- table:([\w-]+) -->.*?<!-- /table -->", fill, text, flags=re.S)
