"""Trajectories -> a file in any registered format (``writers``), written atomically."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..atomic import atomic_path
from ..errors import SceneError
from ..simulate import Trajectories
from .figure import build, key_colors
from .frames import Animator, frame_steps
from .writers import WRITERS, Movie, Writer


def writer_for(fmt: str, out: Path) -> type[Writer]:
    """The writer class for ``fmt``, or a SceneError saying what is unknown or missing."""
    if fmt not in WRITERS:
        raise SceneError(f"unknown output format '{fmt}' for {out} (use {', '.join('.' + f for f in WRITERS)})")
    missing = WRITERS[fmt].missing()
    if missing:
        raise SceneError(missing)
    return WRITERS[fmt]


def render(traj: Trajectories, out: str | Path, fmt: str | None = None,
           progress: Callable[[int, int], None] | None = None) -> Path:
    """Draw every frame of the scene and write ``out`` (format from ``fmt``, else its extension, else gif).

    A still format (png) gets the final frame alone. Nothing is left at ``out`` (nor beside it) if anything fails.
    """
    out = Path(out)
    fmt = (fmt or out.suffix.lstrip(".") or "gif").lower()
    writer_class = writer_for(fmt, out)

    scene = traj.scene
    pic = build(traj)
    anim = Animator(pic)
    ks = frame_steps(pic.steps, scene.max_frames)
    width, height = pic.canvas.get_width_height()

    def samples(n: int) -> list[np.ndarray]:
        return [anim.still(int(k)) for k in ks[np.linspace(0, len(ks) - 1, n).round().astype(int)]]

    movie = Movie(width, height, len(ks), scene.fps, scene.pause, samples, key_colors(pic), (traj, pic, anim))
    frames = [(anim.still(int(ks[-1])), None)] if writer_class.still else anim.changes(ks)
    total = 1 if writer_class.still else len(ks)
    with atomic_path(out) as tmp:
        writer = writer_class()
        try:
            writer.setup(tmp, movie)
            for done, (rgba, changed) in enumerate(frames, 1):
                writer.grab_frame(rgba, changed)
                if progress is not None:
                    progress(done, total)
            writer.finish()
        finally:
            writer.close()
    return out
