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

import torch

import optviz
from optviz.maths.optimizers import OPTIMIZERS
from optviz.maths.torch_bridge import resolve
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
    """Wraps the pieces of a network render to time them (wall and CPU), without changing what they compute.
    CPU time is what the work costs; wall time also counts waiting for a core on a busy machine."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def add(self, part: str, wall: float, cpu: float) -> None:
        self.wall[part] = self.wall.get(part, 0.0) + wall
        self.cpu[part] = self.cpu.get(part, 0.0) + cpu

    def timed(self, fn, part):
        def wrapper(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(part() if callable(part) else part, time.perf_counter() - wall, time.process_time() - cpu)
        return wrapper


def torch_optim_baseline(s) -> tuple[float, float]:
    """The first training pass the common way: per optimizer, an nn.Sequential and a torch.optim class.
    Returns its wall and CPU time."""
    net = s.function.network
    x, y = torch.from_numpy(net.data.x), torch.from_numpy(net.data.y)
    wall, cpu = time.perf_counter(), time.process_time()
    with one_thread():
        for spec in s.runs:
            layers = []
            for a, b in zip(net.layers[:-1], net.layers[1:]):
                layers += [torch.nn.Linear(a, b, dtype=torch.float64), torch.nn.Tanh()]
            model = torch.nn.Sequential(*layers[:-1])
            flat = torch.from_numpy(initial_weights(net, [net.init_seed])[0])
            torch.nn.utils.vector_to_parameters(flat, model.parameters())
            kwargs = OPTIMIZERS[spec.optimizer].torch_kwargs(spec.hyperparameters)
            opt = resolve(OPTIMIZERS[spec.optimizer].torch_class)(model.parameters(), lr=spec.lr, **kwargs)
            for _ in range(spec.steps):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
    return time.perf_counter() - wall, time.process_time() - cpu


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

    wall, cpu = time.perf_counter(), time.process_time()
    traj = optviz.simulate(s)
    with tempfile.TemporaryDirectory() as folder:
        render = clock.timed(optviz.render, "render")
        render(traj, Path(folder) / "bench-network.gif")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    clock.add("drawing", clock.wall.pop("render") - clock.wall["grid"], clock.cpu.pop("render") - clock.cpu["grid"])

    steps = max(spec.steps for spec in s.runs)
    print(f"{len(s.runs)} optimizers x {steps} steps, MLP {list(net.layers)} ({net.parameters:,} parameters), "
          f"{net.data.rows} rows, {net.plane.directions} plane, "
          f"{traj.scene.function.grid}x{traj.scene.function.grid} grid, {min(steps + 1, s.max_frames)} frames")
    print(f"  {'':32s} {'CPU':>7s} {'wall':>7s}")
    again = "projection (second pass)" in clock.cpu
    for part in ("training (first pass)", "PCA", *(["projection (second pass)"] if again else []), "grid", "drawing"):
        print(f"  {part:32s} {clock.cpu[part]:6.2f}s {clock.wall[part]:6.2f}s")
    rest = (cpu - sum(clock.cpu.values()), wall - sum(clock.wall.values()))
    other = "other" if again else "other (projection from memory)"
    print(f"  {other:32s} {rest[0]:6.2f}s {rest[1]:6.2f}s")
    print(f"total {cpu:.2f}s CPU, {wall:.2f}s wall (on one core: a busy machine stretches wall time); "
          f"ratio: {cpu / TARGET:.2f} of the one-minute target")
    base_wall, base_cpu = torch_optim_baseline(s)
    first = clock.cpu["training (first pass)"]
    print(f"the first pass one run at a time with nn.Sequential + torch.optim: {base_cpu:.2f}s CPU "
          f"({base_wall:.2f}s wall); ratio: {base_cpu / first:.1f}x the batched pass")
    print("final losses: " + ", ".join(f"{run.spec.label} {run.loss[-1]:.4g}" for run in traj.runs))


if __name__ == "__main__":
    main()
