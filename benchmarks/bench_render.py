"""optviz's renderer against the common way of making an optimizer GIF, on the same scene and trajectories.

The common way: a script with ``FuncAnimation`` redrawing the whole figure (contours included) every frame, each
full line re-set with ``set_data``, saved with ``PillowWriter`` (which quantizes every frame on its own). optviz's
way: the command a user types, ``python -m optviz render bench.yaml -o bench.gif``. Each way runs as its own
process, timed whole (start-up, imports, simulation and exit included), so neither gets a warm start; the best of
``--repeat`` runs is reported for each (other processes on a small machine only ever add time), as wall time and
as CPU time (both processes, where optviz encodes in a second one), with the machine's load; the two ways
take turns, so that both see the same load.

Both ways import optviz, so its modules are byte-compiled first (``compileall``), as an installed package is:
a checkout run where Python may not write bytecode (``PYTHONDONTWRITEBYTECODE``) would otherwise compile them
from source on every run.

    python benchmarks/bench_render.py [--repeat N] [--keep DIR]

A second part renders every scene under ``configs/`` both as its GIF and as its interactive page (at the scene's
own size) and prints both sizes: the page, which holds the background, every point and the player, should be
the smaller.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"

SCENE = {
    "function": "beale",
    "start": [2.0, 1.7],
    "steps": 300,
    "xlim": [-4.5, 4.5],
    "ylim": [-4.5, 4.5],
    "levels": {"logspace": [0, 5, 20]},
    "size": [600, 450],
    "frames": 150,
    "fps": 20,
    "optimizers": [
        {"name": "sgd", "label": "SGD", "lr": 0.003},
        {"name": "momentum", "label": "SGD-Momentum", "lr": 0.0015, "momentum": 0.9},
        {"name": "nag", "label": "SGD-NAG", "lr": 0.0015, "momentum": 0.9},
        {"name": "rmsprop", "label": "RMSProp", "lr": 0.05},
        {"name": "adam", "label": "Adam", "lr": 0.3},
    ],
}


def run_common(scene_file: str, out: str) -> None:
    """What most optimizer-animation posts do (same figure, same frames, same trajectories)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.animation import FuncAnimation, PillowWriter
    from matplotlib.colors import LogNorm

    import optviz
    from optviz.draw.figure import run_colors
    from optviz.draw.look import run_label
    from optviz.draw.frames import frame_steps

    traj = optviz.simulate(optviz.load(scene_file))
    scene = traj.scene
    w, h = scene.size
    fig = plt.figure(figsize=(w / 72, h / 72), dpi=72)
    ax = fig.add_axes((0.125, 0.125, 0.775, 0.755))
    x = np.linspace(*scene.xlim, 250)
    y = np.linspace(*scene.ylim, 250)
    X, Y = np.meshgrid(x, y)
    ax.contour(X, Y, scene.function.value(np.stack([X, Y])), levels=scene.levels, norm=LogNorm(), cmap="gray",
               linewidths=1.2)
    for mx, my in scene.function.minima:
        ax.plot(mx, my, "r*", markersize=12)
    ax.set_xlim(scene.xlim)
    ax.set_ylim(scene.ylim)
    ax.set_xlabel("x", fontstyle="italic")
    ax.set_ylabel("y", fontstyle="italic")
    colors = run_colors(traj)
    lines = [ax.plot([], [], lw=2, color=c, label=run_label(r.spec, r.diverged_at))[0] for r, c in zip(traj.runs, colors)]
    dots = [ax.plot([], [], "o", color=c)[0] for c in colors]
    ax.legend(loc="upper left")
    counter = ax.text(0.98, 0.03, "", transform=ax.transAxes, ha="right")

    def update(k):
        for run, line, dot in zip(traj.runs, lines, dots):
            i = min(k, len(run.points) - 1)
            line.set_data(run.points[:i + 1, 0], run.points[:i + 1, 1])
            dot.set_data(run.points[i:i + 1, 0], run.points[i:i + 1, 1])
        counter.set_text(f"step {k}")
        return [*lines, *dots, counter]

    steps = max(len(r.points) for r in traj.runs) - 1
    anim = FuncAnimation(fig, update, frames=list(frame_steps(steps, scene.max_frames)), blit=False)
    anim.save(out, writer=PillowWriter(fps=scene.fps), dpi=72)


def gif_and_page(scene: str, folder: str) -> tuple[str, int, int] | None:
    """One scene rendered both ways from the same trajectories: (name, GIF bytes, page bytes); None for a scene
    that needs what is not installed here (torch, a torch optimizer's package)."""
    import optviz
    from optviz.errors import MissingDependency, SceneError, problems_of

    try:
        loaded = optviz.load(scene)
    except SceneError as exc:
        if all(isinstance(p, MissingDependency) for p in problems_of(exc)):
            return None
        raise
    traj = optviz.simulate(loaded)
    gif = optviz.render(traj, Path(folder) / f"{traj.scene.name}.gif").path
    page = optviz.render(traj, Path(folder) / f"{traj.scene.name}.html").path
    return traj.scene.name, gif.stat().st_size, page.stat().st_size


def page_sizes(folder: Path) -> None:
    from concurrent.futures import ProcessPoolExecutor  # lazy: only this part uses a pool

    folder.mkdir(exist_ok=True)
    scenes = sorted(str(p) for p in CONFIGS.rglob("*.yaml"))
    with ProcessPoolExecutor(max_workers=2) as pool:
        sizes = [size for size in pool.map(gif_and_page, scenes, [str(folder)] * len(scenes)) if size is not None]
    print()
    print("Every scene in configs/ as a GIF and as an interactive page (scale 1)")
    print(f"{'':28s}{'GIF':>10s}{'page':>10s}{'page/GIF':>10s}")
    for name, gif, page in sizes:
        print(f"{name:28s}{gif / 1024:7.0f} KB{page / 1024:7.0f} KB{page / gif:10.2f}")
    ratios = [page / gif for _, gif, page in sizes]
    smaller = sum(r < 1 for r in ratios)
    print(f"ratio: pages are {min(ratios):.2f}-{max(ratios):.2f}x their GIF's size; "
          f"{smaller} of {len(ratios)} are smaller")


def timed(command: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one process, its children included."""
    import subprocess  # lazy: only the parent runs processes; a timed child imports what its renderer needs

    before, start = os.times(), time.perf_counter()
    subprocess.run(command, check=True)
    wall, after = time.perf_counter() - start, os.times()
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--common", nargs=2, metavar=("SCENE", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each way; the fastest counts (default 3)")
    parser.add_argument("--keep", metavar="DIR", help="keep the GIFs and pages in DIR")
    args = parser.parse_args()
    if args.common:
        run_common(*args.common)
        return
    import compileall  # lazy: these three only for the parent
    import tempfile

    import yaml

    compileall.compile_dir(ROOT / "optviz", quiet=1)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        scene = folder / "bench.yaml"
        scene.write_text(yaml.safe_dump(SCENE, sort_keys=False))
        commands = {"optviz": [sys.executable, "-m", "optviz", "render", str(scene), "-q", "-o"],
                    "common": [sys.executable, __file__, "--common", str(scene)]}
        outs = {mode: folder / f"bench-{mode}.gif" for mode in commands}
        runs: dict[str, list] = {mode: [] for mode in commands}
        for _ in range(max(args.repeat, 1)):    # taken in turns, so that both see the same load
            for mode, command in commands.items():
                runs[mode].append(timed(command + [str(outs[mode])]))
        results = {mode: (min(w for w, _ in runs[mode]), min(c for _, c in runs[mode]), outs[mode].stat().st_size)
                   for mode in commands}
        (t_o, c_o, s_o), (t_c, c_c, s_c) = results["optviz"], results["common"]
        print(f"Beale, 5 optimizers, 300 steps, 150 frames, 600x450 px (whole process, best of "
              f"{max(args.repeat, 1)}; load {load:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} cores)")
        print(f"{'':28s}{'time':>10s}{'CPU':>10s}{'size':>12s}")
        print(f"{'optviz':28s}{t_o:9.2f}s{c_o:9.2f}s{s_o / 1024:9.0f} KB")
        print(f"{'FuncAnimation + PillowWriter':28s}{t_c:9.2f}s{c_c:9.2f}s{s_c / 1024:9.0f} KB")
        print(f"ratio: {t_c / t_o:.1f}x faster ({c_c / c_o:.1f}x less CPU), {s_c / s_o:.1f}x smaller "
              "(targets: at least 20x and 30x)", flush=True)
        page_sizes(folder / "pages")


if __name__ == "__main__":
    main()
