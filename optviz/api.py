"""The flow every entry point shares: scene file -> Scene -> Trajectories -> rendered file."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable

from .atomic import writable_target
from .draw.writers import WRITERS
from .errors import SceneError, SceneErrors
from .fields import Problems
from .scenes import budget
from .scenes.keys import SCENE_KEYS
from .scenes.load import load
from .scenes.record import Scene
from .scenes.source import parse_yaml, read_text
from .simulate import Trajectories, simulate

Progress = Callable[[int, int], None]


def output_path(scene: Scene, out: str | os.PathLike | None = None, fmt: str | None = None,
                root: str | os.PathLike | None = None) -> Path:
    """``-o`` if given, else the scene's ``output`` (see ``scene_output``), else ``outputs/<scene name>.<fmt or
    gif>`` in the current folder."""
    if out is not None:
        path = Path(out)
    elif scene.output:
        path = scene_output(scene, root)
    else:
        path = Path("outputs") / f"{scene.name}.{fmt or 'gif'}"
    if fmt and path.suffix.lower().lstrip(".") != fmt:
        path = path.with_suffix(f".{fmt}")
    return path


def scene_output(scene: Scene, root: str | os.PathLike | None = None) -> Path:
    """Where a scene's own ``output`` points: relative to the scene file's folder (the current folder for a
    scene built in code), and it must stay inside ``root`` (the folder being rendered; default: the scene's
    folder) or the current folder, symlinks followed, so that rendering a downloaded folder of scenes cannot
    write anywhere else. Given as a path relative to the current folder when it is inside it."""
    base = Path(scene.source).parent if scene.source else Path(".")
    wanted = base / scene.output
    real = os.path.realpath(wanted)
    here = os.path.realpath(".")
    roots = [os.path.realpath(root if root is not None else base), here]
    if not any(within(real, r) for r in roots):
        where = " and ".join(dict.fromkeys(_shown(r, here) for r in roots))
        raise SceneError(f"'{scene.output}' leads to {real}, outside {where}; keep it inside, or give -o to write "
                         "elsewhere", path="output", file=scene.source, line=scene.output_line)
    parent = os.path.realpath(wanted.parent)
    return Path(os.path.relpath(parent, here) if within(parent, here) else parent) / wanted.name


def within(path: str, folder: str) -> bool:
    """Whether the real path ``path`` lies in the real folder ``folder`` (or is it)."""
    return os.path.commonpath([path, folder]) == folder


def _shown(folder: str, here: str) -> str:
    if folder == here:
        return "the current folder"
    return f"{os.path.relpath(folder, here) if within(folder, here) else folder}/"


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


def check_budget(scene: Scene, scale: float | None) -> None:
    """A ``--scale`` that overrides the scene's must keep the picture within the budget the scene was held to."""
    if scale is not None:
        found = budget.problems(scene, scale, scale_key="--scale")
        if found:
            raise SceneError(found[0][1], path=found[0][0], file=scene.source)


def render_scene(scene: Scene | Trajectories, out: str | os.PathLike | None = None, fmt: str | None = None,
                 progress: Progress | None = None, scale: float | None = None,
                 simulating: Progress | None = None, limits: bool = True) -> Path:
    """Simulate (unless given trajectories) and render; returns the written path. ``scale`` overrides the
    scene's resolution multiplier. ``simulating(steps done, steps)`` and then ``progress(frames done, frames)``
    follow the work. The output is checked before any work (a regular file, or none yet); ``limits=False``
    lets a ``scale`` exceed the work budget."""
    check_scale(scale)
    if limits:
        check_budget(scene.scene if isinstance(scene, Trajectories) else scene, scale)
    if scale is not None:
        scene = (replace(scene, scene=replace(scene.scene, scale=float(scale))) if isinstance(scene, Trajectories)
                 else replace(scene, scale=float(scale)))
    plain = scene.scene if isinstance(scene, Trajectories) else scene
    path = output_path(plain, out, fmt)
    check_output(plain, path, fmt)
    writable_target(path)
    from .draw.animate import render  # lazy: matplotlib loads only when something is drawn (keeps `import optviz` light)

    traj = scene if isinstance(scene, Trajectories) else simulate(scene, progress=simulating)
    return render(traj, path, fmt, progress=progress)


def scene_sources(paths: Iterable[str | os.PathLike]) -> list[tuple[Path, Path]]:
    """Each scene file under ``paths`` with the folder it was found in: a folder argument for the files under
    it (sorted, so output order is stable), the file's own folder for a file argument."""
    found: list[tuple[Path, Path]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            if not files:
                raise SceneError("no .yaml scene files in this folder", file=str(path))
            found.extend((f, path) for f in files)
        else:
            found.append((path, path.parent))
    return found


def scene_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand folders into the scene files under them (sorted, so output order is stable)."""
    return [file for file, _ in scene_sources(paths)]


def render_file(path: str | os.PathLike, out: str | os.PathLike | None = None, fmt: str | None = None,
                progress: Progress | None = None, scale: float | None = None, plugins: Iterable = (),
                limits: bool = True) -> Path:
    """Load (with ``plugins``, as a worker process must load them itself) and render a scene file."""
    return render_scene(load(path, plugins, limits=limits), out, fmt, progress, scale, limits=limits)
