"""How long the largest network scene optviz accepts takes, and where the time goes.

The scene: an MLP of 9,794 parameters (2-96-96-2, tanh) on the 512-point spiral, trained for 2,000 steps by
SGD, momentum, Adam and NAdam, drawn on its PCA plane (a 61x61 grid of the true loss) as a 500-frame GIF with
the loss panel. Prints the time of each part (the first training pass, the plane's PCA, the second pass that
projects every step, the grid evaluation, the drawing), the total against the one-minute target, and the
first pass against the common approach: each optimizer training its own ``nn.Sequential`` through
``torch.optim``, one run after another.

    python benchmarks/bench_network.py [--quick]     (--quick: a 2-16-16-2 network, 300 steps, for the tests)
"""
from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

import optviz
from optviz.maths.optimizers import OPTIMIZERS
from optviz.networks import plane as plane_module
from optviz.networks import simulate as network_simulate
from optviz.networks.model import initial_weights, one_thread

TARGET = 60.0


def scene(quick: bool):
    layers = [2, 16, 16, 2] if quick else [2, 96, 96, 2]
    return optviz.scene(
        name="bench-network",
        function={"network": {"layers": layers, "activation": "tanh"},
                  "data": {"name": "spiral", "n": 512, "noise": 0.2, "seed": 0}},
        steps=300 if quick else 2000, panels=["loss"], legend="upper right",
        optimizers=[{"name": "sgd", "lr": 0.5}, {"name": "momentum", "lr": 0.05}, {"name": "adam", "lr": 0.003},
                    {"name": "nadam", "lr": 0.003}])


class Clock:
    """Wraps the pieces of a network render to time them, without changing what they compute."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def add(self, part: str, seconds: float) -> None:
        self.seconds[part] = self.seconds.get(part, 0.0) + seconds

    def timed(self, fn, part):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(part() if callable(part) else part, time.perf_counter() - start)
        return wrapper


def torch_optim_baseline(s) -> float:
    """The first training pass the common way: per optimizer, an nn.Sequential and a torch.optim class."""
    net = s.function.network
    x, y = torch.from_numpy(net.data.x), torch.from_numpy(net.data.y)
    classes = {"sgd": torch.optim.SGD, "momentum": torch.optim.SGD, "adam": torch.optim.Adam,
               "nadam": torch.optim.NAdam}
    start = time.perf_counter()
    with one_thread():
        for spec in s.runs:
            layers = []
            for a, b in zip(net.layers[:-1], net.layers[1:]):
                layers += [torch.nn.Linear(a, b, dtype=torch.float64), torch.nn.Tanh()]
            model = torch.nn.Sequential(*layers[:-1])
            flat = torch.from_numpy(initial_weights(net, [net.init_seed])[0])
            torch.nn.utils.vector_to_parameters(flat, model.parameters())
            kwargs = OPTIMIZERS[spec.optimizer].torch_kwargs(spec.hyperparameters)
            opt = classes[spec.optimizer](model.parameters(), lr=spec.lr, **kwargs)
            for _ in range(spec.steps):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
    return time.perf_counter() - start


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    s = scene(quick)
    net = s.function.network
    clock = Clock()
    passes = iter(["training (first pass)", "projection (second pass)"])
    network_simulate.train = clock.timed(network_simulate.train, lambda: next(passes))
    network_simulate.pca_plane = clock.timed(network_simulate.pca_plane, "PCA")
    make_objective = plane_module.plane_objective

    def timed_objective(*args, **kwargs):
        objective = make_objective(*args, **kwargs)
        return replace(objective, value=clock.timed(objective.value, "grid"))

    network_simulate.plane_objective = timed_objective

    start, cpu = time.perf_counter(), time.process_time()
    traj = optviz.simulate(s)
    simulated = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        optviz.render(traj, Path(folder) / "bench-network.gif")
        rendered = time.perf_counter() - start
    cpu = time.process_time() - cpu
    clock.add("drawing", rendered - clock.seconds["grid"])
    total = simulated + rendered

    steps = max(spec.steps for spec in s.runs)
    print(f"{len(s.runs)} optimizers x {steps} steps, MLP {list(net.layers)} ({net.parameters:,} parameters), "
          f"{net.data.rows} rows, {s.function.network.plane.directions} plane, "
          f"{traj.scene.function.grid}x{traj.scene.function.grid} grid, {min(steps + 1, s.max_frames)} frames")
    for part in ("training (first pass)", "PCA", "projection (second pass)", "grid", "drawing"):
        print(f"  {part:26s} {clock.seconds.get(part, 0.0):6.2f}s")
    other = total - sum(clock.seconds.values())
    print(f"  {'other':26s} {other:6.2f}s")
    print(f"total {total:.2f}s ({cpu:.2f}s of CPU time: a busy machine stretches the first, not the second); "
          f"ratio: {total / TARGET:.2f} of the one-minute target")
    baseline = torch_optim_baseline(s)
    first = clock.seconds["training (first pass)"]
    print(f"the first pass one run at a time with nn.Sequential + torch.optim: {baseline:.2f}s; "
          f"ratio: {baseline / first:.1f}x the batched pass")
    finals = np.array([run.loss[-1] for run in traj.runs])
    print("final losses: " + ", ".join(f"{run.spec.label} {loss:.4g}" for run, loss in zip(traj.runs, finals)))


if __name__ == "__main__":
    main()
