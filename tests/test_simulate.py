"""Entries that share an optimizer advance together: each run must come out as if simulated alone."""
from __future__ import annotations

import numpy as np
import pytest

from optviz.maths.optimizers import OPTIMIZERS
from optviz.scenes.load import scene
from optviz.simulate import _batches, simulate

#: Per family, entries that differ in every hyperparameter and in each data-dependent branch of the rule
#: (lerp's formula, momentum on/off, nesterov, amsgrad, centered, eps inside the root, RAdam's rectification).
VARIANTS = {
    "sgd": [{"name": "sgd", "lr": 1e-3},
            {"name": "momentum", "lr": 5e-4, "schedule": {"name": "StepLR", "step_size": 7, "gamma": 0.5}},
            {"name": "nag", "lr": 5e-4, "momentum": 0.6, "steps": 25},
            {"name": "sgd", "lr": 2e-4, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1},
            {"name": "sgd", "lr": 1e-4, "maximize": True, "starts": [[0.5, 0.5], [-1.0, 1.5]]}],
    "rmsprop": [{"name": "rmsprop"},
                {"name": "rmsprop", "lr": 3e-3, "centered": True, "alpha": 0.9},
                {"name": "rmsprop", "lr": 2e-3, "momentum": 0.5, "eps": 1e-4},
                {"name": "rmsprop", "eps_inside_sqrt": True, "weight_decay": 0.1, "steps": 30},
                {"name": "rmsprop", "lr": 1e-3, "maximize": True, "noise": {"std": 0.3, "seed": 2}}],
    "adam": [{"name": "adam", "lr": 0.05},
             {"name": "amsgrad", "lr": 0.02, "betas": [0.8, 0.99]},
             {"name": "adam", "lr": 0.01, "eps_inside_sqrt": True, "weight_decay": 0.01},
             {"name": "adam", "lr": 0.03, "betas": [0.3, 0.6], "eps": 1e-3,
              "schedule": {"name": "CosineAnnealingLR", "T_max": 20}},
             {"name": "adam", "lr": 0.03, "starts": {"grid": [2, 2]}}],
    "adamw": [{"name": "adamw", "lr": 0.05}, {"name": "adamw", "lr": 0.02, "weight_decay": 0.3, "amsgrad": True},
              {"name": "adamw", "lr": 0.01, "weight_decay": 0.0, "maximize": True}],
    "nadam": [{"name": "nadam", "lr": 0.05},
              {"name": "nadam", "lr": 0.02, "momentum_decay": 0.05, "betas": [0.5, 0.9]},
              {"name": "nadam", "lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True},
              {"name": "nadam", "lr": 0.02, "weight_decay": 0.1}],
    "radam": [{"name": "radam", "lr": 0.05},
              {"name": "radam", "lr": 0.05, "betas": [0.9, 0.99]},   # rectifies from another step on
              {"name": "radam", "lr": 0.05, "betas": [0.5, 0.5]},    # rho_inf = 3: never rectifies
              {"name": "radam", "lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True}],
    "adagrad": [{"name": "adagrad", "lr": 0.1},
                {"name": "adagrad", "lr": 0.3, "lr_decay": 0.01, "initial_accumulator_value": 0.1},
                {"name": "adagrad", "lr": 0.2, "eps": 1e-3, "weight_decay": 0.1}],
    "adadelta": [{"name": "adadelta"}, {"name": "adadelta", "lr": 0.5, "rho": 0.5, "eps": 1e-3}],
    "adamax": [{"name": "adamax", "lr": 0.05}, {"name": "adamax", "lr": 0.1, "betas": [0.5, 0.9], "eps": 1e-3}],
    "newton": [{"name": "newton"}, {"name": "newton", "lr": 0.5, "damping": 10.0}],
    "bfgs": [{"name": "bfgs"}, {"name": "bfgs", "lr": 2.0, "c1": 0.4, "shrink": 0.3, "max_backtracks": 2}],
}


def test_every_optimizer_has_variants():
    assert {OPTIMIZERS[v["name"]].base or v["name"] for vs in VARIANTS.values() for v in vs} == \
        {spec.base or name for name, spec in OPTIMIZERS.items()}


def _labelled(entries):
    return [{**e, "label": f"run {i}"} for i, e in enumerate(entries)]


def _scene(entries, steps=40):
    return scene(function="rosenbrock", start=[-1.2, 1.4], steps=steps, optimizers=entries)


@pytest.mark.parametrize("family", VARIANTS)
def test_a_batched_run_equals_the_run_alone(family):
    entries = _labelled(VARIANTS[family])
    together = simulate(_scene(entries))
    assert len(_batches(together.scene.runs)) == 1            # the point: they really advance together
    at = 0
    for i, entry in enumerate(entries):
        alone = simulate(_scene([entry])).runs
        for run in alone:
            mine = together.runs[at]
            assert mine.spec.label == run.spec.label
            np.testing.assert_array_equal(mine.points, run.points, err_msg=f"{family} entry {i}")
            np.testing.assert_array_equal(mine.loss, run.loss)
            np.testing.assert_array_equal(mine.lrs, run.lrs)
            assert mine.diverged_at == run.diverged_at
            at += 1
    assert at == len(together.runs)


def test_every_family_in_one_scene_asks_for_its_multiply_adds_together_and_equals_itself_alone(monkeypatch):
    """All families advance side by side, their fused multiply-adds answered in one call per round: each run
    still comes out bit for bit as simulated alone (fma works element by element)."""
    import importlib

    simulation = importlib.import_module("optviz.simulate")    # the module, not the function the package exports
    asked = []
    real = simulation.fma_all
    monkeypatch.setattr(simulation, "fma_all", lambda requests: asked.append(len(requests)) or real(requests))
    entries = _labelled([e for family in VARIANTS.values() for e in family])
    together = simulate(_scene(entries))
    assert len(_batches(together.scene.runs)) == len({OPTIMIZERS[e["name"]].base or e["name"] for e in entries})
    assert max(asked) >= 8                                     # at least eight batches answered in one call
    monkeypatch.setattr(simulation, "fma_all", real)
    at = 0
    for entry in entries:
        for run in simulate(_scene([entry])).runs:
            mine = together.runs[at]
            np.testing.assert_array_equal(mine.points, run.points, err_msg=entry["label"])
            assert mine.diverged_at == run.diverged_at
            at += 1
    assert at == len(together.runs)


def test_runs_that_diverge_in_a_batch_stop_where_they_would_alone():
    entries = _labelled([{"name": "sgd", "lr": 1e-4}, {"name": "sgd", "lr": 0.05},
                         {"name": "sgd", "lr": 3e-3, "steps": 90}])
    together = simulate(_scene(entries, steps=300))
    assert together.runs[1].diverged_at is not None
    for i, entry in enumerate(entries):
        alone = simulate(_scene([entry], steps=300)).runs[0]
        np.testing.assert_array_equal(together.runs[i].points, alone.points)
        assert together.runs[i].diverged_at == alone.diverged_at


def test_progress_counts_every_step_once():
    seen = []
    simulate(_scene(_labelled(VARIANTS["adam"] + VARIANTS["sgd"]), steps=600), progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (600, 600)         # the batches advance side by side
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
