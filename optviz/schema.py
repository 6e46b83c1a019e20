"""The scene format as JSON Schema, built from the registries and tables the validator itself uses.

Editors (yaml-language-server) read it for completion and red squiggles; `optviz validate` stays the
authority (it also checks what a schema cannot say, such as nesterov needing momentum).
"""
from __future__ import annotations

import json
from typing import Any

from . import __version__
from .functions import FUNCTIONS
from .load import MAX_RUNS, MAX_STEPS, RUN_KEYS, SCENE_KEYS
from .render_options import FORMATS, LEGEND_LOCS, PANELS
from .methods import OPTIMIZERS
from .run_options import MAX_STARTS
from .schedules import SCHEDULES

SCHEMA_ID = "https://optviz.invalid/scene.schema.json"
_NUMBER = {"type": "number"}
_PAIR = {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2}


def _bounds(obj: Any) -> dict:
    out = {}
    for attr, key in (("minimum", "minimum"), ("exclusive_minimum", "exclusiveMinimum"),
                      ("maximum", "maximum"), ("exclusive_maximum", "exclusiveMaximum")):
        value = getattr(obj, attr, None)
        if value is not None:
            out[key] = value
    return out


def _hyper(h) -> dict:
    if h.kind == "bool":
        return {"type": "boolean", "default": h.default, "description": h.help}
    if h.kind == "betas":
        item = {"type": "number", **_bounds(h)}
        return {"type": "array", "items": item, "minItems": 2, "maxItems": 2, "default": list(h.default),
                "description": h.help}
    kind = "integer" if h.kind == "int" else "number"
    return {"type": kind, **_bounds(h), "default": h.default, "description": h.help}


def _schedule_arg(a) -> dict:
    kinds = {"float": {"type": "number"}, "int": {"type": "integer"}, "bool": {"type": "boolean"},
             "int_list": {"type": "array", "items": {"type": "integer"}},
             "float_or_none": {"type": ["number", "null"]}, "int_or_none": {"type": ["integer", "null"]}}
    out = dict(kinds.get(a.kind, {"type": "string"}))
    if a.choices:
        out = {"enum": list(a.choices)}
    out.update(_bounds(a))
    if not a.required:
        out["default"] = a.default
    if a.help:
        out["description"] = a.help
    return out


def _schedule() -> dict:
    variants = []
    for name, spec in SCHEDULES.items():
        props = {"name": {"const": name}, **{a.name: _schedule_arg(a) for a in spec.args}}
        variants.append({"type": "object", "title": name, "description": spec.formula, "properties": props,
                         "required": ["name", *(a.name for a in spec.args if a.required)],
                         "additionalProperties": False})
    return {"oneOf": variants}


def _starts() -> dict:
    return {"oneOf": [
        {"type": "array", "items": _PAIR, "minItems": 1, "maxItems": MAX_STARTS},
        {"type": "object", "properties": {"random": {"type": "integer", "minimum": 1, "maximum": MAX_STARTS},
                                          "seed": {"type": "integer", "minimum": 0}},
         "required": ["random"], "additionalProperties": False},
        {"type": "object", "properties": {"grid": {"type": "array", "items": {"type": "integer", "minimum": 1},
                                                   "minItems": 2, "maxItems": 2}},
         "required": ["grid"], "additionalProperties": False},
    ]}


_NOISE = {"type": "object", "properties": {
    "std": {"type": "number", "minimum": 0}, "seed": {"type": "integer", "minimum": 0, "default": 0},
    "kind": {"enum": ["additive", "multiplicative"], "default": "additive"}},
    "required": ["std"], "additionalProperties": False}
_MINIBATCH = {"type": "object", "properties": {
    "size": {"type": "integer", "minimum": 1}, "seed": {"type": "integer", "minimum": 0, "default": 0}},
    "required": ["size"], "additionalProperties": False}


def _optimizer_entry() -> dict:
    common = {
        "label": {"type": "string", "description": RUN_KEYS["label"][1]},
        "color": {"type": "string", "description": RUN_KEYS["color"][1]},
        "start": {"$ref": "#/$defs/point", "description": RUN_KEYS["start"][1]},
        "steps": {"type": "integer", "minimum": 1, "maximum": MAX_STEPS, "description": RUN_KEYS["steps"][1]},
        "starts": {"$ref": "#/$defs/starts", "description": RUN_KEYS["starts"][1]},
        "schedule": {"$ref": "#/$defs/schedule", "description": RUN_KEYS["schedule"][1]},
        "noise": {"$ref": "#/$defs/noise", "description": RUN_KEYS["noise"][1]},
        "minibatch": {"$ref": "#/$defs/minibatch", "description": RUN_KEYS["minibatch"][1]},
    }
    variants = []
    for name, spec in OPTIMIZERS.items():
        props = {"name": {"const": name}, **common, **{h.name: _hyper(h) for h in spec.hypers}}
        variants.append({"type": "object", "title": name, "description": f"{spec.torch_class}: {spec.rule}",
                         "properties": props, "required": ["name"], "additionalProperties": False})
    return {"oneOf": [{"enum": list(OPTIMIZERS)}, *variants]}


def _function() -> dict:
    variants: list[dict] = [{"enum": list(FUNCTIONS)}]
    for name, spec in FUNCTIONS.items():
        props: dict[str, Any] = {"name": {"const": name}}
        for key, default in spec.defaults.items():
            props[key] = {**_PAIR, "default": list(default)} if isinstance(default, tuple) else \
                {"type": "number", "default": default}
        variants.append({"type": "object", "title": name, "description": spec.description, "properties": props,
                         "required": ["name"], "additionalProperties": False})
    variants.append({"type": "object", "title": "formula", "description": "a custom formula in x and y",
                     "properties": {"formula": {"type": "string", "maxLength": 500},
                                    "minimum": _PAIR, "minima": {"type": "array", "items": _PAIR},
                                    "xlim": _PAIR, "ylim": _PAIR, "start": _PAIR},
                     "required": ["formula"], "additionalProperties": False})
    return {"oneOf": variants}


def _levels() -> dict:
    triple = {"type": "array", "items": _NUMBER, "minItems": 3, "maxItems": 3}
    return {"oneOf": [
        {"type": "integer", "minimum": 2, "maximum": 200},
        {"type": "array", "items": _NUMBER, "minItems": 1, "maxItems": 200},
        {"type": "object", "properties": {"logspace": triple}, "required": ["logspace"], "additionalProperties": False},
        {"type": "object", "properties": {"linspace": triple}, "required": ["linspace"], "additionalProperties": False},
    ]}


def scene_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a scene file."""
    props: dict[str, Any] = {
        "title": {"type": ["string", "null"]},
        "description": {"type": ["string", "null"]},
        "function": _function(),
        "start": {"$ref": "#/$defs/point"},
        "steps": {"type": "integer", "minimum": 1, "maximum": MAX_STEPS},
        "xlim": {"$ref": "#/$defs/point"},
        "ylim": {"$ref": "#/$defs/point"},
        "starts": {"$ref": "#/$defs/starts"},
        "optimizers": {"type": "array", "items": _optimizer_entry(), "minItems": 1, "maxItems": MAX_RUNS},
        "noise": {"$ref": "#/$defs/noise"},
        "minibatch": {"$ref": "#/$defs/minibatch"},
        "output": {"type": ["string", "null"], "pattern": r"\.(" + "|".join(FORMATS) + r")$"},
        "size": {"type": "array", "items": {"type": "integer", "minimum": 64, "maximum": 4096},
                 "minItems": 2, "maxItems": 2},
        "fps": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
        "frames": {"type": "integer", "minimum": 2, "maximum": 5000},
        "pause": {"type": "number", "minimum": 0, "maximum": 60},
        "levels": _levels(),
        "style": {"type": "string"},
        "palette": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "panels": {"type": "array", "items": {"enum": list(PANELS)}},
        "legend": {"enum": list(LEGEND_LOCS)},
    }
    for key, (default, meaning) in SCENE_KEYS.items():
        props[key] = {**props[key], "description": f"{meaning} (default: {default})"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "optviz scene",
        "description": f"A scene for optviz {__version__}: a loss surface and the optimizers that race on it.",
        "type": "object",
        "properties": props,
        "required": ["function", "optimizers"],
        "additionalProperties": False,
        "$defs": {"point": _PAIR, "starts": _starts(), "schedule": _schedule(), "noise": _NOISE,
                  "minibatch": _MINIBATCH},
    }


def schema_json() -> str:
    return json.dumps(scene_schema(), indent=1, sort_keys=False) + "\n"
