"""Rendering grows with the runs, not their square: 4 optimizer families x N learning rates on Rosenbrock.

The scene of issue 13: sgd, momentum, rmsprop and adam, each with N log-spaced learning rates (4N runs),
2,000 steps, 500 frames. Simulation and rendering are timed separately for N = 1 and N = 16 (4 and 64 runs),
in CPU seconds of this process (single-threaded work; other processes on a shared machine do not count), and
the ratios printed. Before batching and crowd drawing they were 4 runs: 0.3 s + 1.2 s, 64 runs: 5.6 s + 43.6 s.

    python benchmarks/bench_runs.py [--repeat N] [--keep DIR]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


from bench_simulate import FAMILIES, sweep   # the same four families and lr ranges

from optviz.draw.animate import render
from optviz.simulate import simulate


def scene(per: int):
    return sweep(FAMILIES, per, 2000)


def timed(per: int, folder: Path, repeat: int) -> tuple[float, float]:
    best_sim = best_render = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        traj = simulate(scene(per))
        middle = time.process_time()
        render(traj, folder / f"runs-{4 * per}.gif")
        end = time.process_time()
        best_sim, best_render = min(best_sim, middle - start), min(best_render, end - middle)
    return best_sim, best_render


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each size; the fastest counts (default 3)")
    parser.add_argument("--keep", metavar="DIR", help="keep both GIFs in DIR")
    args = parser.parse_args()
    repeat = max(args.repeat, 1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        timed(1, folder, 1)      # warm up: fonts, caches
        (s4, r4), (s64, r64) = timed(1, folder, repeat), timed(16, folder, repeat)
        sizes = [(folder / f"runs-{n}.gif").stat().st_size for n in (4, 64)]
    print(f"Rosenbrock, 4 optimizers x N lrs, 2000 steps, 500 frames (CPU seconds, best of {repeat})")
    print(f"{'':12s}{'simulate':>10s}{'render':>10s}{'size':>10s}")
    print(f"{'4 runs':12s}{s4:9.2f}s{r4:9.2f}s{sizes[0] / 1024:7.0f} KB")
    print(f"{'64 runs':12s}{s64:9.2f}s{r64:9.2f}s{sizes[1] / 1024:7.0f} KB")
    print(f"ratio: 64 runs render in {r64 / r4:.1f}x the 4-run time (target: at most 4x), "
          f"simulate in {s64 / s4:.1f}x")


if __name__ == "__main__":
    main()
