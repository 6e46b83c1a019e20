"""Record torch.optim's own trajectories into tests/golden/optimizers.npz.

The golden file holds optviz's optimizers to torch without torch installed. Everything here is torch:
the functions are torch expressions, each step's gradient comes from autograd, and each optimizer is the
torch class with ``foreach=False`` (the ``_single_tensor_*`` code), on float64 parameters of shape (2,),
with float64 as the default dtype (NAdam keeps ``mu_product`` in the default dtype). Names and kwargs are
written as a scene would give them; the translation of optviz's aliases to torch is done here, independently
of optviz. A case with ``maximize`` maximises the negated function, so it still heads for the minimum.

Some runs are chaotic: a rounding difference of one ulp in one gradient grows to percents in 500 steps, and
an analytic gradient differs from autograd's by about that much. Each case is therefore run three more times
with every gradient nudged by about one ulp (all up, all down, random signs: which way matters); if any of
these moves the path by more than 1e-12 (relative), the case is marked ``chaotic`` and torch's gradients are
stored, so a test can replay them instead of recomputing them.

The npz holds ``points`` (cases, steps + 1, 2), ``grads`` (chaotic cases, steps, 2: ``p.grad`` as torch saw
it) and ``cases``, one JSON object per case: optimizer, kwargs (as passed to ``make_optimizer``), torch_class,
torch_kwargs, function, start, lr, steps, sensitivity (the nudged run's relative drift), chaotic, and for
chaotic cases grads_index. It is written byte for byte the same on every run.
Usage: python scripts/make_golden_optimizers.py [output path]
"""
from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "optimizers.npz"
STEPS = 500

ALIASES = {  # optviz name -> (torch class, torch kwargs the alias sets)
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "nag": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "rmsprop": ("RMSprop", {}),
    "adam": ("Adam", {}),
    "adamw": ("AdamW", {}),
    "amsgrad": ("Adam", {"amsgrad": True}),
    "nadam": ("NAdam", {}),
    "radam": ("RAdam", {}),
    "adagrad": ("Adagrad", {}),
    "adadelta": ("Adadelta", {}),
    "adamax": ("Adamax", {}),
}


def beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def himmelblau(x, y):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


FUNCTIONS = {"beale": beale, "rosenbrock": rosenbrock, "himmelblau": himmelblau}
STARTS = {
    "beale": [(2.0, 1.7), (1.0, -1.0)],
    "rosenbrock": [(-1.5, 2.0), (0.0, -0.5)],
    "himmelblau": [(0.0, 0.0), (-1.0, -1.5)],
}

# Learning rates per family and function: large enough to travel, small enough to stay finite.
LR = {
    "sgd": {"beale": 3e-3, "rosenbrock": 1e-3, "himmelblau": 1e-2},
    "momentum": {"beale": 5e-4, "rosenbrock": 2e-4, "himmelblau": 2e-3},
    "adaptive": {"beale": 0.05, "rosenbrock": 0.02, "himmelblau": 0.1},
    "radam": {"beale": 2e-3, "rosenbrock": 2e-3, "himmelblau": 1e-2},  # its first steps are plain momentum
    "adagrad": {"beale": 0.5, "rosenbrock": 0.5, "himmelblau": 1.0},
    "adadelta": {"beale": 1.0, "rosenbrock": 1.0, "himmelblau": 1.0},
}

# (optimizer, kwargs besides lr, lr family). Every torch keyword is off its default in some set. An
# optimizer's defaults run from every start; other sets (and aliases) from one start per function, in turns.
SETS = [
    ("sgd", {}, "sgd"),
    ("sgd", {"momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}, "momentum"),
    ("sgd", {"momentum": 0.8, "nesterov": True, "maximize": True}, "momentum"),
    ("momentum", {}, "momentum"),
    ("momentum", {"momentum": 0.5, "weight_decay": 0.1, "maximize": True}, "sgd"),
    ("nag", {}, "momentum"),
    ("nag", {"momentum": 0.95, "weight_decay": 0.01}, "momentum"),
    ("rmsprop", {}, "adaptive"),
    ("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.01}, "adaptive"),
    ("rmsprop", {"alpha": 0.9, "eps": 1e-4, "momentum": 0.9, "maximize": True}, "adaptive"),
    ("adam", {}, "adaptive"),
    ("adam", {"amsgrad": True, "weight_decay": 0.1}, "adaptive"),
    ("adam", {"betas": (0.5, 0.9), "eps": 1e-3, "maximize": True}, "adaptive"),
    ("adamw", {}, "adaptive"),
    ("adamw", {"weight_decay": 0.1, "amsgrad": True, "betas": (0.8, 0.99)}, "adaptive"),
    ("adamw", {"eps": 1e-3, "maximize": True}, "adaptive"),
    ("amsgrad", {}, "adaptive"),
    ("amsgrad", {"betas": (0.95, 0.9), "weight_decay": 0.01, "maximize": True}, "adaptive"),
    ("nadam", {}, "adaptive"),
    ("nadam", {"decoupled_weight_decay": True, "weight_decay": 0.1, "momentum_decay": 0.01}, "adaptive"),
    ("nadam", {"weight_decay": 0.01, "betas": (0.8, 0.99), "eps": 1e-4, "maximize": True}, "adaptive"),
    ("radam", {}, "radam"),
    ("radam", {"decoupled_weight_decay": True, "weight_decay": 0.1}, "radam"),
    ("radam", {"weight_decay": 0.01, "betas": (0.9, 0.99), "eps": 1e-4, "maximize": True}, "radam"),
    ("adagrad", {}, "adagrad"),
    ("adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.01, "eps": 1e-3,
                 "maximize": True}, "adagrad"),
    ("adadelta", {}, "adadelta"),
    ("adadelta", {"rho": 0.5, "eps": 1e-4, "weight_decay": 0.01, "maximize": True}, "adadelta"),
    ("adamax", {}, "adaptive"),
    ("adamax", {"betas": (0.5, 0.9), "weight_decay": 0.1, "eps": 1e-3, "maximize": True}, "adaptive"),
]


def cases() -> list[dict]:
    out = []
    turn = 0
    for optimizer, kwargs, family in SETS:
        every_start = not kwargs and not ALIASES[optimizer][1]
        for function, starts in STARTS.items():
            chosen = starts if every_start else [starts[turn % len(starts)]]
            for start in chosen:
                lr = LR[family][function]
                cls, alias_kwargs = ALIASES[optimizer]
                torch_kwargs = {**alias_kwargs, **kwargs, "lr": lr}
                out.append({"optimizer": optimizer, "kwargs": {**kwargs, "lr": lr},
                            "torch_class": f"torch.optim.{cls}", "torch_kwargs": torch_kwargs,
                            "function": function, "start": list(start), "lr": lr, "steps": STEPS})
        turn += not every_start
    return out


def trajectory(case: dict, nudge: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The points and the gradients torch used; ``nudge`` (steps, 2) scales step k's gradient by 1 + nudge[k]."""
    cls = getattr(torch.optim, case["torch_class"].rsplit(".", 1)[1])
    kwargs = {k: tuple(v) if k == "betas" else v for k, v in case["torch_kwargs"].items()}
    sign = -1.0 if kwargs.get("maximize") else 1.0
    f = FUNCTIONS[case["function"]]
    p = torch.tensor(case["start"], dtype=torch.float64, requires_grad=True)
    opt = cls([p], foreach=False, **kwargs)
    points, grads = [p.detach().clone()], []
    for k in range(case["steps"]):
        opt.zero_grad()
        (sign * f(p[0], p[1])).backward()
        if nudge is not None:
            p.grad.mul_(torch.from_numpy(1 + nudge[k]))
        grads.append(p.grad.detach().clone())
        opt.step()
        points.append(p.detach().clone())
    return torch.stack(points).numpy(), torch.stack(grads).numpy()


def drift(a: np.ndarray, b: np.ndarray) -> float:
    """Largest difference relative to the size of the point (at least 1e-3, so zeros do not blow it up)."""
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-3)))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed`` with fixed timestamps, so the file only changes when the numbers do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue())


def main(out: Path = OUT) -> None:
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    all_cases, points, grads = cases(), [], []
    rng = np.random.default_rng(0)
    for case in all_cases:
        pts, g = trajectory(case)
        if not np.all(np.isfinite(pts)):
            raise SystemExit(f"a run did not stay finite: {case}; lower its lr")
        ulp = 2.0**-52
        nudges = [np.full((STEPS, 2), ulp), np.full((STEPS, 2), -ulp), rng.choice([-ulp, ulp], (STEPS, 2))]
        case["sensitivity"] = float(f"{max(drift(trajectory(case, n)[0], pts) for n in nudges):.2g}")
        case["chaotic"] = case["sensitivity"] > 1e-12
        if case["chaotic"]:
            case["grads_index"] = len(grads)
            grads.append(g)
        points.append(pts)
    meta = {"torch": torch.__version__, "steps": STEPS, "generator": "scripts/make_golden_optimizers.py"}
    write_npz(out, {"points": np.stack(points), "grads": np.stack(grads).reshape(-1, STEPS, 2),
                    "cases": np.array([json.dumps(c, sort_keys=True) for c in all_cases]),
                    "meta": np.array(json.dumps(meta, sort_keys=True))})
    print(f"wrote {len(all_cases)} cases x {STEPS} steps ({len(grads)} chaotic, with torch's gradients) "
          f"to {out} ({out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
