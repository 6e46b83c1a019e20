"""What the torch bridge costs, and why a swarm goes through one optimizer.

1. The same 6-optimizer, 300-step scene (Beale) with the built-ins (``adam``) and through the bridge
   (``torch.optim.Adam``), each as a whole ``optviz trace`` process, torch's import included; the trajectories are
   checked to agree to 1e-12.
2. A 200-start swarm through one bridged optimizer (one ``step()`` a step for all starts, gradients in one numpy
   call) against the same 200 starts as 200 separate single runs, in one process; every swarm run is checked to
   equal its single run to the bit.

    python benchmarks/bench_bridge.py [--repeat N]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import optviz

OPTIMIZERS = [  # (built-in entry, bridged entry): the same hyperparameters under torch's names
    ({"name": "sgd", "lr": 0.002}, {"name": "torch.optim.SGD", "lr": 0.002}),
    ({"name": "nag", "lr": 0.001}, {"name": "torch.optim.SGD", "lr": 0.001, "momentum": 0.9, "nesterov": True}),
    ({"name": "rmsprop", "lr": 0.01}, {"name": "torch.optim.RMSprop", "lr": 0.01}),
    ({"name": "adam", "lr": 0.1}, {"name": "torch.optim.Adam", "lr": 0.1}),
    ({"name": "adagrad", "lr": 0.5}, {"name": "torch.optim.Adagrad", "lr": 0.5}),
    ({"name": "nadam", "lr": 0.05}, {"name": "torch.optim.NAdam", "lr": 0.05}),
]


def scene_text(entries: list[dict]) -> str:
    lines = ["function: beale", "start: [2.0, 1.7]", "steps: 300", "optimizers:"]
    lines += ["  - " + json.dumps({**e, "label": f"run {i}"}) for i, e in enumerate(entries)]
    return "\n".join(lines) + "\n"


def trace_process(path: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "optviz.commands.cli", "trace", str(path), "-o", str(out)], check=True)
    return time.perf_counter() - start


def whole_scenes(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        times, points = {}, {}
        for kind, entries in (("built-ins", [b for b, _ in OPTIMIZERS]), ("bridge", [t for _, t in OPTIMIZERS])):
            path, out = Path(tmp) / f"{kind}.yaml", Path(tmp) / f"{kind}.json"
            path.write_text(scene_text(entries))
            times[kind] = min(trace_process(path, out) for _ in range(repeat))
            points[kind] = [np.array(run["points"]) for run in json.loads(out.read_text())["runs"]]
    for a, b in zip(points["built-ins"], points["bridge"]):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    print("6 optimizers x 300 steps on Beale, `optviz trace` as a whole process (best of %d):" % repeat)
    print(f"  built-ins            {times['built-ins']:6.2f}s")
    print(f"  through the bridge   {times['bridge']:6.2f}s   (torch imported; same paths to 1e-12)")
    print(f"  ratio: the bridge takes {times['bridge'] / times['built-ins']:.1f}x the built-ins' time")


def swarm(repeat: int, n: int = 200, steps: int = 300) -> None:
    entry = {"name": "torch.optim.Adam", "lr": 0.05}
    starts = np.random.default_rng(0).uniform(-4.5, 4.5, (n, 2)).tolist()
    together = optviz.scene(function="beale", steps=steps, starts=starts, optimizers=[entry])
    alone = [optviz.scene(function="beale", steps=steps, start=s, optimizers=[entry]) for s in starts]
    optviz.simulate(alone[0])  # torch imported and warmed up for both
    timings = {"swarm": [], "single": []}
    for _ in range(repeat):
        start = time.perf_counter()
        swarm_runs = optviz.simulate(together).runs
        timings["swarm"].append(time.perf_counter() - start)
        start = time.perf_counter()
        single_runs = [optviz.simulate(s).runs[0] for s in alone]
        timings["single"].append(time.perf_counter() - start)
    for a, b in zip(swarm_runs, single_runs):
        np.testing.assert_array_equal(a.points, b.points)
    t_swarm, t_single = min(timings["swarm"]), min(timings["single"])
    print(f"{n} starts x {steps} steps of torch.optim.Adam on Beale (best of {repeat}):")
    print(f"  {n} separate single runs      {t_single:6.2f}s")
    print(f"  one swarm, one optimizer     {t_swarm:6.2f}s   (every run equal to its single run, to the bit)")
    print(f"  ratio: the swarm is {t_single / t_swarm:.1f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timings")
    repeat = parser.parse_args().repeat
    whole_scenes(repeat)
    swarm(repeat)


if __name__ == "__main__":
    main()
