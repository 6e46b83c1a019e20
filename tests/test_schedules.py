"""optviz's schedules must give torch's lr sequences, and reject bad arguments by key."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from optviz.errors import SceneError
from optviz.maths.schedules import KINDS, REQUIRED, SCHEDULES, get_schedule, lr_sequence, momentum_sequence

GOLDEN = json.loads((Path(__file__).parent / "golden" / "schedules.json").read_text())

# We replay torch's float recursion operation for operation, so agreement is in fact exact; the
# tolerance only allows for a libm differing by an ulp. atol is relative to the case's peak lr, for
# recursion residues near zero (e.g. cosine at T_max), where a relative tolerance means nothing.
RTOL = 1e-12


def assert_same(got, want):
    want = np.asarray(want, dtype=float)
    atol = RTOL * float(np.max(np.abs(want), initial=0.0))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=atol)


# ---------------------------------------------------------------- golden

@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: f"{c['name']}-{json.dumps(c['kwargs'])}")
def test_golden(case):
    got = lr_sequence(case["name"], case["base_lr"], case["steps"], **case["kwargs"])
    assert got.shape == (case["steps"],)
    assert_same(got, case["lrs"])


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: f"{c['name']}-{json.dumps(c['kwargs'])}")
def test_golden_momentum(case):
    """The momentum SGD uses and the beta1 Adam uses at each step, where the schedule cycles them (torch's
    default for CyclicLR and OneCycleLR); None where it leaves them alone."""
    got = momentum_sequence(case["name"], case["base_lr"], case["steps"], **case["kwargs"])
    if "momenta" not in case:
        assert got is None
        return
    assert case["momenta"] == case["beta1s"]        # torch sets the same numbers into momentum and into betas[0]
    np.testing.assert_array_equal(got, case["momenta"])


def test_golden_covers_every_schedule():
    assert {c["name"] for c in GOLDEN["cases"]} == set(SCHEDULES)
    cycled = [c for c in GOLDEN["cases"] if "momenta" in c]
    assert {c["name"] for c in cycled} == {name for name, spec in SCHEDULES.items() if spec._momentum}
    assert any(c["kwargs"].get("cycle_momentum") is False for c in GOLDEN["cases"])


# ---------------------------------------------------------------- live against torch

def _random_kwargs(name, rng, steps):
    """Valid optviz kwargs, biased towards edges: zero-length ramps, tiny periods, milestones at 0."""
    r = rng.random
    if name == "StepLR":
        return {"step_size": int(rng.integers(1, 60)), "gamma": float(rng.uniform(0.05, 1.5))}
    if name == "MultiStepLR":
        ms = sorted(set(int(m) for m in rng.integers(0, steps + 5, size=rng.integers(0, 6))))
        return {"milestones": ms, "gamma": float(rng.uniform(0.05, 1.2))}
    if name == "ConstantLR":
        return {"factor": float(rng.uniform(0.01, 1.0)), "total_iters": int(rng.integers(0, steps + 3))}
    if name == "LinearLR":
        return {"start_factor": float(rng.uniform(0.01, 1.0)), "end_factor": float(rng.choice([0.0, 1.0, r()])),
                "total_iters": int(rng.integers(0, steps + 3))}
    if name == "ExponentialLR":
        return {"gamma": float(rng.uniform(0.9, 1.02))}
    if name == "PolynomialLR":
        return {"total_iters": int(rng.integers(0, steps + 3)), "power": float(rng.choice([0.0, 1.0, 3 * r()]))}
    if name == "CosineAnnealingLR":
        return {"T_max": int(rng.choice([1, 2, 3, rng.integers(1, steps + 10)])), "eta_min": float(rng.choice([0.0, 1e-3 * r()]))}
    if name == "CyclicLR":
        kw = {"max_lr": float(rng.uniform(0.01, 1.0)), "step_size_up": int(rng.integers(1, 50)),
              "mode": str(rng.choice(["triangular", "triangular2", "exp_range"])),
              "gamma": float(rng.uniform(0.98, 1.0))}
        if r() < 0.5:
            kw["base_lr"] = float(rng.uniform(0.0, 0.01))
        if r() < 0.5:
            kw["step_size_down"] = int(rng.integers(0, 50))
        return kw
    if name == "OneCycleLR":
        kw = {"max_lr": float(rng.uniform(0.01, 1.0)), "pct_start": float(rng.choice([0.0, 1.0, 0.5, r()])),
              "anneal_strategy": str(rng.choice(["cos", "linear"])), "three_phase": bool(r() < 0.5),
              "div_factor": float(rng.uniform(1.0, 50.0)), "final_div_factor": float(rng.uniform(1.0, 1e4))}
        if r() < 0.5:
            kw["total_steps"] = steps + int(rng.integers(0, 20))
        return kw
    raise AssertionError(name)


def _torch_lrs(torch, name, kwargs, base_lr, steps):
    spec = SCHEDULES[name]
    kw = spec.resolve(base_lr, steps, kwargs)
    kw.pop("cycle_momentum", None)   # torch's default (True) on a momentum SGD: must not change the lr
    opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=base_lr, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = getattr(torch.optim.lr_scheduler, name)(opt, **kw)
        lrs = []
        for _ in range(steps):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return lrs


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_live_against_torch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(sum(map(ord, name)))
    for _ in range(25):
        steps = int(rng.integers(0, 120))
        base_lr = float(10 ** rng.uniform(-4, 0))
        kwargs = _random_kwargs(name, rng, steps)
        assert SCHEDULES[name].check(kwargs) == [], kwargs
        try:
            want = _torch_lrs(torch, name, kwargs, base_lr, steps)
        except (ZeroDivisionError, OverflowError, ValueError):
            # torch itself fails on this combination: optviz must refuse it too, by key, in check() as well
            with pytest.raises(SceneError) as info:
                lr_sequence(name, base_lr, steps, **kwargs)
            assert info.value.path in SCHEDULES[name].check(kwargs, base_lr=base_lr, steps=steps)[0]
            continue
        got = lr_sequence(name, base_lr, steps, **kwargs)
        assert SCHEDULES[name].check(kwargs, base_lr=base_lr, steps=steps) == []
        assert_same(got, want)


def test_cyclic_triangular2_overflow_is_refused_like_torch():
    # torch's 2.0 ** (cycle - 1) overflows at cycle 1025: with one-step cycles, within 1100 steps.
    kwargs = {"max_lr": 1.0, "step_size_up": 1, "step_size_down": 0, "mode": "triangular2"}
    assert len(lr_sequence("CyclicLR", 0.1, 1000, **kwargs)) == 1000
    with pytest.raises(SceneError) as info:
        lr_sequence("CyclicLR", 0.1, 1100, **kwargs)
    assert info.value.path == "mode"


def test_one_cycle_zero_length_phase_is_refused_like_torch():
    # pct_start * total_steps == 1 makes torch divide 0 by 0 at the very first step.
    with pytest.raises(SceneError) as info:
        lr_sequence("OneCycleLR", 0.1, 10, max_lr=1.0, pct_start=0.1)
    assert info.value.path == "pct_start"


# ---------------------------------------------------------------- defaults and interface

def test_run_dependent_defaults():
    # CyclicLR's lower bound defaults to the optimizer's lr...
    np.testing.assert_array_equal(lr_sequence("CyclicLR", 0.01, 50, max_lr=0.1, step_size_up=10),
                                  lr_sequence("CyclicLR", 0.5, 50, base_lr=0.01, max_lr=0.1, step_size_up=10))
    # ...and OneCycleLR's cycle to the run's length, ending at its final lr.
    lrs = lr_sequence("OneCycleLR", 123.0, 40, max_lr=0.1)
    np.testing.assert_array_equal(lrs, lr_sequence("OneCycleLR", 0.0, 40, max_lr=0.1, total_steps=40))
    assert lrs[0] == pytest.approx(0.1 / 25) and lrs[-1] == pytest.approx(0.1 / 25 / 1e4)


def test_empty_run_and_scene_mapping_with_name():
    assert lr_sequence("StepLR", 0.1, 0, step_size=3).shape == (0,)
    assert lr_sequence("OneCycleLR", 0.1, 0, max_lr=1.0).shape == (0,)
    scene = {"name": "StepLR", "step_size": 3, "gamma": 0.5}
    assert SCHEDULES["StepLR"].check(scene) == []
    assert lr_sequence("StepLR", 0.1, 4, **scene)[-1] == 0.05


def test_specs_are_well_formed():
    for name, spec in SCHEDULES.items():
        assert spec.name == name and spec.formula
        assert len({a.name for a in spec.args}) == len(spec.args)
        for a in spec.args:
            assert a.kind in KINDS
            assert (a.kind == "str") == bool(a.choices)
            if not a.required:
                assert a.error(a.default) is None, (name, a.name)
        required = {a.name: 1.0 if a.kind == "float" else [1] if a.kind == "int_list" else 1
                    for a in spec.args if a.default is REQUIRED}
        assert spec.check(required) == []


def test_torch_defaults_match():
    torch = pytest.importorskip("torch")
    import inspect
    for name, spec in SCHEDULES.items():
        params = inspect.signature(getattr(torch.optim.lr_scheduler, name).__init__).parameters
        for a in spec.args:
            assert a.name in params, (name, a.name)
            torch_default = params[a.name].default
            if a.name in ("base_lr", "total_steps"):
                continue  # documented optviz departures
            want = REQUIRED if torch_default is inspect.Parameter.empty else torch_default
            assert a.default == want, (name, a.name)


# ---------------------------------------------------------------- check(): bad input named by key

def keys(name, /, **kwargs):
    return [k for k, _ in SCHEDULES[name].check(kwargs)]


@pytest.mark.parametrize("name, kwargs, key", [
    ("StepLR", {"step_size": 0}, "step_size"),
    ("StepLR", {"step_size": 2.5}, "step_size"),
    ("StepLR", {"step_size": True}, "step_size"),
    ("StepLR", {}, "step_size"),
    ("StepLR", {"step_size": 3, "gamma": 0}, "gamma"),
    ("StepLR", {"step_size": 3, "gamma": -0.5}, "gamma"),
    ("StepLR", {"step_size": 3, "gamma": "half"}, "gamma"),
    ("StepLR", {"step_size": 3, "gamma": float("nan")}, "gamma"),
    ("ExponentialLR", {}, "gamma"),
    ("MultiStepLR", {"milestones": [30, 10]}, "milestones"),
    ("MultiStepLR", {"milestones": [10, 10]}, "milestones"),
    ("MultiStepLR", {"milestones": [-1, 10]}, "milestones"),
    ("MultiStepLR", {"milestones": "10,20"}, "milestones"),
    ("ConstantLR", {"factor": 0.0}, "factor"),
    ("ConstantLR", {"factor": 1.5}, "factor"),
    ("LinearLR", {"start_factor": 0.0}, "start_factor"),
    ("LinearLR", {"end_factor": 1.1}, "end_factor"),
    ("PolynomialLR", {"power": -1.0}, "power"),
    ("CosineAnnealingLR", {"T_max": 0}, "T_max"),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": -1e-3}, "eta_min"),
    ("OneCycleLR", {}, "max_lr"),
    ("OneCycleLR", {"max_lr": 0.1, "anneal_strategy": "cosine"}, "anneal_strategy"),
    ("OneCycleLR", {"max_lr": 0.1, "pct_start": 1.5}, "pct_start"),
    ("OneCycleLR", {"max_lr": 0.1, "total_steps": 0}, "total_steps"),
    ("OneCycleLR", {"max_lr": 0.1, "cycle_momentum": "yes"}, "cycle_momentum"),
    ("OneCycleLR", {"max_lr": 0.1, "base_momentum": -0.1}, "base_momentum"),
    ("CyclicLR", {}, "max_lr"),
    ("CyclicLR", {"max_lr": 0.1, "mode": "triangle"}, "mode"),
    ("CyclicLR", {"max_lr": 0.1, "step_size_up": 0}, "step_size_up"),
    ("CyclicLR", {"max_lr": 0.1, "mode": "exp_range", "gamma": 1.01}, "gamma"),
    ("CyclicLR", {"max_lr": 0.1, "max_momentum": "high"}, "max_momentum"),
])
def test_check_names_bad_key(name, kwargs, key):
    assert key in keys(name, **kwargs)
    with pytest.raises(SceneError) as info:
        lr_sequence(name, 0.1, 10, **kwargs)
    assert info.value.path == key and isinstance(info.value, ValueError)


def test_unknown_and_omitted_kwargs_are_named():
    [(key, msg)] = SCHEDULES["StepLR"].check({"step_size": 3, "gamm": 0.5})
    assert key == "gamm" and "did you mean 'gamma'" in msg
    [(key, msg)] = SCHEDULES["CyclicLR"].check({"max_lr": 0.1, "scale_fn": "x"})
    assert key == "scale_fn" and "use mode" in msg
    assert SCHEDULES["OneCycleLR"].check({"max_lr": 0.1, "max_momentum": 0.9, "cycle_momentum": True}) == []
    assert keys("StepLR", step_size=3, last_epoch=5) == ["last_epoch"]
    assert keys("StepLR", step_size=3, name="ExponentialLR") == ["name"]
    assert SCHEDULES["StepLR"].check([("step_size", 3)])[0][0] == ""
    with pytest.raises(SceneError) as info:
        lr_sequence("StepLR", 0.1, 10, step_size=3, warmup=5)
    assert info.value.path == "warmup"


def test_run_dependent_checks():
    spec = SCHEDULES["OneCycleLR"]
    assert spec.check({"max_lr": 0.1, "total_steps": 50}) == []
    assert [k for k, _ in spec.check({"max_lr": 0.1, "total_steps": 50}, steps=51)] == ["total_steps"]
    assert spec.check({"max_lr": 0.1, "total_steps": 50}, steps=50) == []
    with pytest.raises(SceneError) as info:
        lr_sequence("OneCycleLR", 0.1, 51, max_lr=0.1, total_steps=50)
    assert info.value.path == "total_steps"


def test_unknown_schedule_and_bad_run():
    with pytest.raises(SceneError) as info:
        lr_sequence("steplr", 0.1, 10, step_size=3)
    assert info.value.path == "name" and "StepLR" in str(info.value)
    with pytest.raises(SceneError) as info:
        get_schedule("CosineAnnealingWarmRestarts")
    assert info.value.path == "name"
    with pytest.raises(SceneError) as info:
        lr_sequence("StepLR", 0.1, -1, step_size=3)
    assert info.value.path == "steps"
