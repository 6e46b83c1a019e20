"""The shipped JSON Schema is generated, in sync, and agrees with the validator on real and broken scenes."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from optviz.commands.cli import main
from optviz.errors import SceneError
from optviz.scenes.keys import RUN_KEYS, SCENE_KEYS
from optviz.scenes.load import scene_from_data
from optviz.maths.optimizers import OPTIMIZERS, spellings
from optviz.scenes.schema import scene_schema, schema_json
from optviz.scenes.source import parse_yaml

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "schema" / "scene.schema.json"
CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SHIPPED.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_shipped_schema_is_what_optviz_schema_prints():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert result.output == SHIPPED.read_text() == schema_json(), \
        "schema/scene.schema.json is stale: run `optviz schema -o schema/scene.schema.json`"


def test_schema_covers_every_key_and_optimizer():
    schema = scene_schema()
    assert set(schema["properties"]) == set(SCENE_KEYS)
    entries = schema["properties"]["optimizers"]["items"]["oneOf"]
    assert entries[0]["enum"][:1] == ["sgd"] and set(entries[0]["enum"]) == {
        n for spec in OPTIMIZERS.values() for n in spellings(spec)}     # torch's class names are names too
    for variant in entries[1:-2]:
        name = variant["properties"]["name"]["enum"][0]
        assert variant["properties"]["name"]["enum"] == list(spellings(OPTIMIZERS[name]))
        assert set(RUN_KEYS) | {h.name for h in OPTIMIZERS[name].hypers} == set(variant["properties"])
    dotted, torch_class = entries[-2:]                # a torch class: by its path, its keywords its own
    assert dotted["pattern"] == torch_class["properties"]["name"]["pattern"]
    assert set(RUN_KEYS) | {"lr"} == set(torch_class["properties"]) and torch_class["additionalProperties"]


def test_schema_and_validator_both_accept_torch_class_names_and_say_none_to_minima(validator):
    data = {"function": {"formula": "x**2 + y**2", "minima": "none"},
            "optimizers": ["SGD", {"name": "AdamW", "lr": 0.1}, {"name": "RMSprop"}]}
    assert list(validator.iter_errors(data)) == []
    assert [r.optimizer for r in scene_from_data(data).runs] == ["sgd", "adamw", "rmsprop"]


@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(ROOT)) for p in CONFIGS])
def test_every_config_validates_against_the_schema(validator, path):
    data, _ = parse_yaml(path.read_text())
    errors = [e.message for e in validator.iter_errors(data)]
    assert errors == []


BROKEN = [
    {"function": "beale", "optimizers": [{"name": "adam", "betas": [0.9, 1.0]}]},
    {"function": "beale", "optimizers": [{"name": "adam", "lr": 0}]},
    {"function": "beale", "optimizers": [{"name": "adam", "beta": [0.9, 0.99]}]},
    {"function": "beale", "optimizers": [{"name": "adamm"}]},
    {"function": "beale", "optimizers": [{"name": "torch.optim._functional"}]},
    {"function": "beale", "optimizers": [{"name": "torch.optim.Adam", "lr": -1}]},
    {"function": "beal", "optimizers": ["adam"]},
    {"function": "beale", "optimizers": ["adam"], "steps": 0},
    {"function": "beale", "optimizers": ["adam"], "size": [10, 10]},
    {"function": "beale", "optimizers": ["adam"], "colour": "red"},
    {"function": "beale", "optimizers": [{"name": "sgd", "schedule": {"name": "StepLR"}}]},
    {"function": "beale", "optimizers": ["adam"], "noise": {"seed": 1}},
    {"function": "beale"},
]


@pytest.mark.parametrize("data", BROKEN)
def test_schema_and_validator_both_reject(validator, data):
    assert list(validator.iter_errors(data))
    with pytest.raises(SceneError):
        scene_from_data(data)
