"""The scene format as JSON Schema, generated from the same ``Field`` records the validator checks against.

Editors (yaml-language-server) read it for completion and red squiggles; `optviz validate` stays the
authority (it also checks what a schema cannot say, such as nesterov needing momentum).
"""
from __future__ import annotations

import json
from typing import Any

from .._version import __version__
from ..draw.writers import WRITERS
from ..fields import Field
from ..maths.functions import FUNCTIONS
from ..maths.optimizers import OPTIMIZERS, spellings
from ..maths.optimizers.base import lr_hyper
from ..maths.torch_bridge import TORCH_CLASS_PATTERN
from ..maths.schedules import SCHEDULES
from ..networks.spec import (ACTIVATION, DATA_CSV, DATA_N, DATA_NAME, DATA_NOISE, DATA_SEED, LAYERS, NETWORK_KEYS,
                             PLANE_DIRECTIONS, PLANE_ORIGIN, PLANE_SEED, PLANES)
from .keys import MAX_RUNS, MAX_STARTS, MAX_SWEEP, PANELS, RUN_KEYS, SCENE_KEYS
from .render_options import LEVEL, LEVEL_BOUND, LEVEL_COUNT
from .run_options import (BATCH_SIZE, GRID_SIDE, NOISE_KIND, NOISE_STD, POINT, RANDOM_STARTS, SEED, SWEEP_BOUND,
                          SWEEP_COUNT)

SCHEMA_ID = "https://optviz.invalid/scene.schema.json"


def _bare(field: Field) -> dict:
    """A field's schema without its help text (for items inside a described value)."""
    return {k: v for k, v in field.schema().items() if k != "description"}


def _object(fields: list[Field]) -> dict:
    return {"type": "object", "properties": {f.name: f.schema() for f in fields},
            "required": [f.name for f in fields if f.required], "additionalProperties": False}


def _starts() -> dict:
    return {"oneOf": [
        {"type": "array", "items": {"$ref": "#/$defs/point"}, "minItems": 1, "maxItems": MAX_STARTS},
        _object([RANDOM_STARTS, SEED]),
        {"type": "object", "properties": {"grid": {"type": "array", "items": _bare(GRID_SIDE), "minItems": 2,
                                                   "maxItems": 2}},
         "required": ["grid"], "additionalProperties": False},
    ]}


def _sweep() -> dict:
    triple = {"type": "array", "prefixItems": [_bare(SWEEP_BOUND), _bare(SWEEP_BOUND), _bare(SWEEP_COUNT)],
              "minItems": 3, "maxItems": 3}
    values = {"oneOf": [
        {"type": "array", "minItems": 2, "maxItems": MAX_SWEEP},
        {"type": "object", "properties": {"logspace": triple}, "required": ["logspace"], "additionalProperties": False},
        {"type": "object", "properties": {"linspace": triple}, "required": ["linspace"], "additionalProperties": False},
    ]}
    return {"type": "object", "additionalProperties": values, "minProperties": 1, "maxProperties": 2}


def _schedule() -> dict:
    variants = []
    for name, spec in SCHEDULES.items():
        props = {"name": {"const": name}, **{a.name: a.schema() for a in spec.args}}
        variants.append({"type": "object", "title": name, "description": spec.formula, "properties": props,
                         "required": ["name", *(a.name for a in spec.args if a.required)],
                         "additionalProperties": False})
    return {"oneOf": variants}


def _described(value: dict, field: Field, with_default: bool = True) -> dict:
    text = f"{field.help} (default: {field.default_text()})" if with_default else field.help
    return {**value, "description": text}


def _optimizer_entry() -> dict:
    refs = {"start": {"$ref": "#/$defs/point"}, "starts": {"$ref": "#/$defs/starts"},
            "schedule": {"$ref": "#/$defs/schedule"}, "noise": {"$ref": "#/$defs/noise"},
            "minibatch": {"$ref": "#/$defs/minibatch"}, "color": {"type": "string"},
            "sweep": {"$ref": "#/$defs/sweep"}}
    common = {key: _described(refs.get(key) or _bare(field), field, with_default=False)
              for key, field in RUN_KEYS.items() if key != "name"}
    variants = []
    for name, spec in OPTIMIZERS.items():
        props = {"name": {"enum": list(spellings(spec))}, **common, **{h.name: h.schema() for h in spec.hypers}}
        variants.append({"type": "object", "title": name, "description": f"{spec.torch_class}: {spec.rule}",
                         "properties": props, "required": ["name"], "additionalProperties": False})
    dotted = {"type": "string", "pattern": TORCH_CLASS_PATTERN,
              "description": "a torch.optim.Optimizer subclass by its dotted path, e.g. pytorch_optimizer.Lion"}
    torch_class = {"type": "object", "title": "a torch optimizer class",
                   "description": "any torch.optim.Optimizer subclass; the other keys are its constructor keywords "
                                  "(`optviz list optimizers --module MODULE` lists them)",
                   "properties": {"name": dotted, **common, "lr": lr_hyper(1e-3).schema()},
                   "required": ["name"], "additionalProperties": True}
    names = {"enum": list(dict.fromkeys(n for spec in OPTIMIZERS.values() for n in spellings(spec)))}
    return {"oneOf": [names, *variants, dotted, torch_class]}


def _function() -> dict:
    variants: list[dict] = [{"enum": list(FUNCTIONS)}]
    for name, spec in FUNCTIONS.items():
        props: dict[str, Any] = {"name": {"const": name}, **{k: f.schema() for k, f in spec.fields.items()}}
        variants.append({"type": "object", "title": name, "description": spec.description, "properties": props,
                         "required": ["name"], "additionalProperties": False})
    point = {"$ref": "#/$defs/point"}
    variants.append({"type": "object", "title": "formula", "description": "a custom formula in x and y",
                     "properties": {"formula": {"type": "string", "maxLength": 500},
                                    "minimum": point,
                                    "minima": {"oneOf": [{"type": "array", "items": point}, {"const": "none"}]},
                                    "xlim": point, "ylim": point, "start": point},
                     "required": ["formula"], "additionalProperties": False})
    variants.append(_network())
    return {"oneOf": variants}


def _network() -> dict:
    parts = {
        "network": _object([LAYERS, ACTIVATION]),
        "data": {"oneOf": [_object([DATA_NAME, DATA_N, DATA_NOISE, DATA_SEED]), _object([DATA_CSV])]},
        "init_seed": _bare(NETWORK_KEYS["init_seed"]),
        "plane": {"oneOf": [{"enum": list(PLANES)}, _object([PLANE_DIRECTIONS, PLANE_SEED, PLANE_ORIGIN])]},
    }
    props = {key: _described(parts[key], field) for key, field in NETWORK_KEYS.items()}
    return {"type": "object", "title": "network", "properties": props,
            "description": "a small MLP trained on classification data, drawn on a plane through its weights",
            "required": [key for key, field in NETWORK_KEYS.items() if field.required], "additionalProperties": False}


def _levels() -> dict:
    triple = {"type": "array", "items": _bare(LEVEL_BOUND), "minItems": 3, "maxItems": 3}
    return {"oneOf": [
        _bare(LEVEL_COUNT),
        {"type": "array", "items": _bare(LEVEL), "minItems": 1, "maxItems": 200},
        {"type": "object", "properties": {"logspace": triple}, "required": ["logspace"], "additionalProperties": False},
        {"type": "object", "properties": {"linspace": triple}, "required": ["linspace"], "additionalProperties": False},
    ]}


def scene_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a scene file."""
    custom: dict[str, Any] = {
        "function": _function(),
        "starts": {"$ref": "#/$defs/starts"},
        "optimizers": {"type": "array", "items": _optimizer_entry(), "minItems": 1, "maxItems": MAX_RUNS},
        "noise": {"$ref": "#/$defs/noise"},
        "minibatch": {"$ref": "#/$defs/minibatch"},
        "output": {"type": ["string", "null"], "pattern": r"\.(" + "|".join(WRITERS) + r")$"},
        "levels": _levels(),
        "style": {"type": "string"},
        "palette": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "panels": {"type": "array", "items": {"enum": list(PANELS)}},
    }
    props: dict[str, Any] = {}
    for key, field in SCENE_KEYS.items():
        if key in custom:
            value = custom[key]
        elif key in ("start", "xlim", "ylim"):
            value = {"$ref": "#/$defs/point"}
        else:
            value = _bare(field)
            if field.kind == "text":   # a null title is the same as none
                value = {**value, "type": ["string", "null"]}
        props[key] = _described(value, field)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "optviz scene",
        "description": f"A scene for optviz {__version__}: a loss surface and the optimizers that race on it.",
        "type": "object",
        "properties": props,
        "required": [key for key, field in SCENE_KEYS.items() if field.required],
        "additionalProperties": False,
        "$defs": {"point": _bare(POINT), "starts": _starts(), "schedule": _schedule(),
                  "noise": _object([NOISE_STD, SEED, NOISE_KIND]), "minibatch": _object([BATCH_SIZE, SEED]),
                  "sweep": _sweep()},
    }


def schema_json() -> str:
    return json.dumps(scene_schema(), indent=1, sort_keys=False) + "\n"
