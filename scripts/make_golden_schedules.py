"""Record torch's own lr sequences for optviz's schedules into tests/golden/schedules.json.

The golden file lets the tests hold optviz to torch without torch installed. Kwargs are written as a
scene would give them; the only translation to torch is filling optviz's run-dependent defaults
(CyclicLR base_lr = the optimizer's lr, OneCycleLR total_steps = steps), done here independently
of optviz. Momentum cycling is left at torch's default (on for CyclicLR and OneCycleLR) on an SGD with
momentum, to show it does not touch the lr; where it is on, the momentum SGD uses at each step and the beta1
an Adam uses under the same schedule are recorded too ("momenta", "beta1s").
Usage: python scripts/make_golden_schedules.py [output path]
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "schedules.json"

# (name, kwargs, base_lr, steps)
CASES = [
    ("StepLR", {"step_size": 30}, 0.1, 300),
    ("StepLR", {"step_size": 7, "gamma": 0.5}, 0.05, 300),
    ("MultiStepLR", {"milestones": [50, 120, 200]}, 0.1, 300),
    ("MultiStepLR", {"milestones": [0, 3, 90], "gamma": 0.7}, 0.3, 300),
    ("ConstantLR", {}, 0.1, 300),
    ("ConstantLR", {"factor": 0.25, "total_iters": 40}, 0.05, 300),
    ("LinearLR", {}, 0.1, 300),
    ("LinearLR", {"start_factor": 0.05, "total_iters": 100}, 0.3, 300),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 250}, 0.1, 300),
    ("LinearLR", {"start_factor": 0.5, "end_factor": 0.2, "total_iters": 300}, 0.05, 300),
    ("ExponentialLR", {"gamma": 0.99}, 0.1, 300),
    ("ExponentialLR", {"gamma": 1.005}, 0.01, 300),
    ("PolynomialLR", {}, 0.1, 300),
    ("PolynomialLR", {"total_iters": 200, "power": 2.0}, 0.1, 300),
    ("PolynomialLR", {"total_iters": 150, "power": 0.5}, 0.3, 300),
    ("CosineAnnealingLR", {"T_max": 300}, 0.1, 300),
    ("CosineAnnealingLR", {"T_max": 70, "eta_min": 0.001}, 0.1, 300),
    ("CosineAnnealingLR", {"T_max": 1}, 0.05, 300),
    ("CosineAnnealingLR", {"T_max": 3, "eta_min": 0.01}, 0.3, 300),
    ("CyclicLR", {"max_lr": 0.1}, 0.001, 300),
    ("CyclicLR", {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 40}, 0.05, 300),
    ("CyclicLR", {"max_lr": 0.2, "step_size_up": 30, "step_size_down": 20, "mode": "triangular2"}, 0.01, 300),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.3, "step_size_up": 25, "mode": "exp_range", "gamma": 0.995}, 0.1, 300),
    ("CyclicLR", {"max_lr": 0.1, "step_size_up": 17, "step_size_down": 0}, 0.02, 300),
    ("OneCycleLR", {"max_lr": 0.1}, 0.01, 300),
    ("OneCycleLR", {"max_lr": 0.5, "anneal_strategy": "linear"}, 0.01, 300),
    ("OneCycleLR", {"max_lr": 0.2, "three_phase": True, "pct_start": 0.25}, 0.01, 300),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 400, "div_factor": 10.0, "final_div_factor": 100.0,
                    "pct_start": 0.1}, 0.01, 300),
    # momentum cycling: torch's defaults above; here its own bounds, every mode and phase layout, and off
    ("CyclicLR", {"max_lr": 0.1, "step_size_up": 20, "base_momentum": 0.5, "max_momentum": 0.99}, 0.01, 300),
    ("CyclicLR", {"max_lr": 0.2, "step_size_up": 15, "step_size_down": 35, "mode": "triangular2",
                  "base_momentum": 0.7}, 0.01, 300),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.3, "step_size_up": 25, "mode": "exp_range", "gamma": 0.99,
                  "max_momentum": 0.95}, 0.1, 300),
    ("CyclicLR", {"max_lr": 0.1, "step_size_up": 30, "cycle_momentum": False}, 0.01, 300),
    ("OneCycleLR", {"max_lr": 0.3, "base_momentum": 0.6, "max_momentum": 0.98}, 0.01, 300),
    ("OneCycleLR", {"max_lr": 0.3, "anneal_strategy": "linear", "three_phase": True, "pct_start": 0.2,
                    "base_momentum": 0.8, "max_momentum": 0.9}, 0.01, 300),
    ("OneCycleLR", {"max_lr": 0.3, "total_steps": 350, "cycle_momentum": False}, 0.01, 300),
]


def torch_run(name: str, kwargs: dict, base_lr: float, steps: int, optimizer: str = "SGD") -> tuple[list, list]:
    """The lr and the momentum (SGD) or beta1 (Adam) before each optimizer step, recorded the way a training
    loop sees them."""
    kw = dict(kwargs)
    if name == "CyclicLR":
        kw.setdefault("base_lr", base_lr)
    if name == "OneCycleLR":
        kw.setdefault("total_steps", steps)
    param = torch.zeros(2, requires_grad=True)
    if optimizer == "SGD":
        opt = torch.optim.SGD([param], lr=base_lr, momentum=0.9)
    else:
        opt = torch.optim.Adam([param], lr=base_lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = getattr(torch.optim.lr_scheduler, name)(opt, **kw)
        lrs, momenta = [], []
        for _ in range(steps):
            group = opt.param_groups[0]
            lrs.append(float(group["lr"]))
            momenta.append(float(group["momentum"] if optimizer == "SGD" else group["betas"][0]))
            opt.step()
            sched.step()
    return lrs, momenta


def case(name: str, kwargs: dict, base_lr: float, steps: int) -> dict:
    lrs, momenta = torch_run(name, kwargs, base_lr, steps)
    out = {"name": name, "kwargs": kwargs, "base_lr": base_lr, "steps": steps, "lrs": lrs}
    if name in ("CyclicLR", "OneCycleLR") and kwargs.get("cycle_momentum", True):
        out["momenta"] = momenta
        out["beta1s"] = torch_run(name, kwargs, base_lr, steps, "Adam")[1]
    return out


def main(out: Path = OUT) -> None:
    cases = [case(n, kw, lr, s) for n, kw, lr, s in CASES]
    out.parent.mkdir(parents=True, exist_ok=True)
    # One case per line: small diffs when torch changes, still compact.
    body = ",\n".join(json.dumps(c, separators=(",", ":")) for c in cases)
    out.write_text(f'{{"torch":{json.dumps(torch.__version__)},"cases":[\n{body}\n]}}\n')
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
