"""Why optviz batches runs: many runs cost about what one does, and far less than a torch.optim loop.

Two measurements on Rosenbrock's function, each printed with its ratio:

1. One optimizer (Adam), 10,000 steps: one run against 64 runs (64 learning rates in one scene). Entries that
   share an optimizer advance in one vectorised loop, so 64 runs should cost at most twice one run.
2. 64 runs (4 optimizers x 16 learning rates), 10,000 steps: ``optviz.simulate`` against the equivalent
   ``torch.optim`` loop (one optimizer per run, each step's gradients computed for all runs at once in numpy,
   handed to each run's optimizer as ``p.grad``), which needs torch. The final points are compared too.

Times are CPU seconds of this process (torch limited to one thread, as numpy is on arrays this small).

    python benchmarks/bench_simulate.py [--steps N] [--repeat N]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from optviz.scenes.load import scene_from_data
from optviz.simulate import simulate

#: (optimizer, lowest lr, highest lr): each family's sensible range on Rosenbrock from its start.
FAMILIES = [("sgd", 1e-4, 2e-3), ("momentum", 1e-5, 4e-4), ("rmsprop", 1e-3, 3e-2), ("adam", 3e-3, 1e-1)]
TORCH = {"sgd": ("SGD", {}), "momentum": ("SGD", {"momentum": 0.9}), "rmsprop": ("RMSprop", {}),
         "adam": ("Adam", {})}


def sweep(families, per: int, steps: int):
    optimizers = [{"name": name, "label": f"{name} {i}", "lr": float(lr)}
                  for name, lo, hi in families for i, lr in enumerate(np.geomspace(lo, hi, per))]
    return scene_from_data({"function": "rosenbrock", "steps": steps, "optimizers": optimizers}, name="bench")


def best(f, repeat: int) -> float:
    """The fastest of ``repeat`` calls, in CPU seconds of this process: both sides are single-threaded, and on a
    shared machine wall-clock time would also count the other processes' turns."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        f()
        times.append(time.process_time() - start)
    return min(times)


def torch_loop(scene) -> np.ndarray:
    """The common way: one torch.optim optimizer per run, stepped one after another; returns final points."""
    import torch  # lazy: optional, only this half of the benchmark needs it

    torch.set_num_threads(1)
    params, opts = [], []
    for run in scene.runs:
        p = torch.tensor(run.start, dtype=torch.float64, requires_grad=True)
        cls, kwargs = TORCH[run.optimizer]
        params.append(p)
        opts.append(getattr(torch.optim, cls)([p], lr=run.lr, **kwargs))
    objective = scene.function
    for _ in range(scene.runs[0].steps):
        with torch.no_grad():
            now = np.stack([p.numpy() for p in params])
        grads = objective.gradient(now.T).T
        for i, (p, opt) in enumerate(zip(params, opts)):
            p.grad = torch.from_numpy(np.ascontiguousarray(grads[i]))
            opt.step()
    with torch.no_grad():
        return np.stack([p.numpy() for p in params])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="steps per run (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing; the fastest counts")
    args = parser.parse_args()
    steps, repeat = args.steps, max(args.repeat, 1)

    one, many = sweep([("adam", 0.01, 0.01)], 1, steps), sweep([("adam", 3e-3, 1e-1)], 64, steps)
    t_one, t_many = best(lambda: simulate(one), repeat), best(lambda: simulate(many), repeat)
    print(f"Rosenbrock, Adam, {steps} steps (best of {repeat})")
    print(f"{'1 run':28s}{t_one:9.3f}s")
    print(f"{'64 runs (64 lrs)':28s}{t_many:9.3f}s")
    print(f"ratio: 64 runs cost {t_many / t_one:.2f}x one run (target: at most 2x)")

    scene = sweep(FAMILIES, 16, steps)
    t_optviz = best(lambda: simulate(scene), repeat)
    print(f"\nRosenbrock, 4 optimizers x 16 lrs = 64 runs, {steps} steps")
    print(f"{'optviz.simulate':28s}{t_optviz:9.3f}s")
    try:
        import torch  # noqa: F401  lazy: optional
    except ImportError:
        print("torch.optim loop: skipped (torch is not installed)")
        return
    finals: list[np.ndarray] = []
    t_torch = best(lambda: finals.append(torch_loop(scene)), 1)
    ours = np.stack([run.points[-1] if run.diverged_at is None else np.full(2, np.nan)
                     for run in simulate(scene).runs])
    kept = np.isfinite(ours).all(axis=1)
    same = np.sum(np.all(ours[kept] == finals[-1][kept], axis=1))
    print(f"{'torch.optim loop':28s}{t_torch:9.3f}s   (one optimizer per run; best of 1)")
    print(f"final points equal to torch's, bit for bit: {same} of {kept.sum()} runs that stayed in view")
    print(f"ratio: {t_torch / t_optviz:.1f}x faster than the torch.optim loop (target: at least 20x)")


if __name__ == "__main__":
    main()
