"""The flow every entry point shares: scene file -> Scene -> Trajectories -> rendered file."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable

from .draw.writers import WRITERS
from .errors import SceneError, SceneErrors
from .fields import Problems
from .scenes.keys import SCENE_KEYS
from .scenes.load import load
from .scenes.record import Scene
from .scenes.source import parse_yaml, read_text
from .simulate import Trajectories, simulate

Progress = Callable[[int, int], None]


def output_path(scene: Scene, out: str | os.PathLike | None = None, fmt: str | None = None) -> Path:
    """``-o`` if given, else the scene's ``output``, else ``outputs/<scene name>.<fmt or gif>``."""
    if out is not None:
        path = Path(out)
    elif scene.output:
        path = Path(scene.output)
    else:
        path = Path("outputs") / f"{scene.name}.{fmt or 'gif'}"
    if fmt and path.suffix.lower().lstrip(".") != fmt:
        path = path.with_suffix(f".{fmt}")
    return path


def check_scale(scale: float | None) -> None:
    """A ``--scale`` given on the command line or to ``render`` obeys the scene key's range."""
    if scale is not None:
        problems = SCENE_KEYS["scale"].problems(scale, "--scale")
        if problems:
            raise SceneError(problems[0][1], path="--scale")


def check_output(scene: Scene, path: Path, fmt: str | None = None, scale: float | None = None,
                 file: str | os.PathLike | None = None) -> None:
    """Whether the output's format can show ``scene`` (a page has limits a GIF has not), before any work.
    ``file``: the scene file, for messages that name its line."""
    writer = WRITERS.get((fmt or path.suffix.lstrip(".") or "gif").lower())
    if writer is None:
        return  # an unknown format is the renderer's to report
    found = writer.problems(scene if scale is None else replace(scene, scale=float(scale)))
    if not found:
        return
    lines = parse_yaml(read_text(file), file=str(file))[1] if file is not None else None
    p = Problems(lines, None if file is None else str(file))
    for key, message in found:
        if key == "scale" and scale is not None:
            p.items.append(SceneError(message, path="--scale"))  # the command line's, not the file's
        else:
            p.add(key, message)
    raise SceneErrors(p.items)


def render_scene(scene: Scene | Trajectories, out: str | os.PathLike | None = None, fmt: str | None = None,
                 progress: Progress | None = None, scale: float | None = None,
                 simulating: Progress | None = None) -> Path:
    """Simulate (unless given trajectories) and render; returns the written path. ``scale`` overrides the
    scene's resolution multiplier. ``simulating(steps done, steps)`` and then ``progress(frames done, frames)``
    follow the work."""
    check_scale(scale)
    if scale is not None:
        scene = (replace(scene, scene=replace(scene.scene, scale=float(scale))) if isinstance(scene, Trajectories)
                 else replace(scene, scale=float(scale)))
    plain = scene.scene if isinstance(scene, Trajectories) else scene
    path = output_path(plain, out, fmt)
    check_output(plain, path, fmt)
    from .draw.animate import render  # lazy: matplotlib loads only when something is drawn (keeps `import optviz` light)

    traj = scene if isinstance(scene, Trajectories) else simulate(scene, progress=simulating)
    return render(traj, path, fmt, progress=progress)


def scene_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand folders into the scene files under them (sorted, so output order is stable)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            if not found:
                raise SceneError("no .yaml scene files in this folder", file=str(path))
            files.extend(found)
        else:
            files.append(path)
    return files


def render_file(path: str | os.PathLike, out: str | os.PathLike | None = None, fmt: str | None = None,
                progress: Progress | None = None, scale: float | None = None, plugins: Iterable = ()) -> Path:
    """Load (with ``plugins``, as a worker process must load them itself) and render a scene file."""
    return render_scene(load(path, plugins), out, fmt, progress, scale)
