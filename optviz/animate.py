"""Trajectories -> a GIF, MP4 or PNG file, written atomically."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.colors import to_rgb

from .atomic import atomic_path
from .encode import GifWriter, delays, make_palette, write_mp4, write_png
from .errors import SceneError
from .figure import STAR_COLOR, SWARM_ALPHA, Swarm, build
from .frames import Animator, frame_steps
from .render_options import FORMATS
from .simulate import Trajectories

MP4_MISSING = "mp4 needs the optional ffmpeg support: pip install 'optviz[mp4]'"


def render(traj: Trajectories, out: str | Path, fmt: str | None = None,
           progress: Callable[[int, int], None] | None = None) -> Path:
    """Draw every frame of the scene and write ``out`` (format from ``fmt``, else its extension, else gif).

    "png" is the final frame alone, for print. Nothing is left at ``out`` (nor beside it) if anything fails.
    """
    out = Path(out)
    fmt = (fmt or out.suffix.lstrip(".") or "gif").lower()
    if fmt not in FORMATS:
        raise SceneError(f"unknown output format '{fmt}' for {out} (use .gif, .mp4 or .png)")
    if fmt == "mp4" and importlib.util.find_spec("imageio_ffmpeg") is None:
        raise SceneError(MP4_MISSING)

    scene = traj.scene
    pic = build(traj)
    anim = Animator(pic)
    ks = frame_steps(pic.steps, scene.max_frames)
    total = 1 if fmt == "png" else len(ks)

    def frames():
        for done, rgba in enumerate(anim.frames(ks), 1):
            yield rgba
            if progress is not None:
                progress(done, total)

    with atomic_path(out) as tmp:
        if fmt == "png":
            write_png(tmp, anim.still(int(ks[-1])))
            if progress is not None:
                progress(1, 1)
        elif fmt == "mp4":
            write_mp4(tmp, frames(), scene.fps, scene.pause)
        else:
            samples = [anim.still(int(k)) for k in ks[np.linspace(0, len(ks) - 1, 4).round().astype(int)]]
            palette = make_palette(samples, _exact_colors(pic))
            height, width = samples[0].shape[:2]
            with open(tmp, "wb") as fp:
                gif = GifWriter(fp, width, height, palette)
                for rgba, delay in zip(frames(), delays(len(ks), scene.fps, scene.pause)):
                    gif.add(rgba, delay)
                gif.close()
    return out


def _exact_colors(pic) -> list[tuple[int, int, int]]:
    """Colours the palette keeps exactly: white, black, the star, each entry's colour and, for a swarm, its
    faint paths over white (each once: a swarm of hundreds of runs takes one slot, not hundreds)."""
    keep = [(255, 255, 255), (0, 0, 0), _rgb8(STAR_COLOR)] + [_rgb8(e.color) for e in pic.entries]
    for e in pic.entries:
        if isinstance(e, Swarm):
            keep.append(_rgb8(SWARM_ALPHA * np.asarray(to_rgb(e.color)) + (1 - SWARM_ALPHA)))
    return list(dict.fromkeys(keep))


def _rgb8(color) -> tuple[int, int, int]:
    return tuple(int(round(255 * c)) for c in to_rgb(color))
