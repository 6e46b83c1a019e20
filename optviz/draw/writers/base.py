"""The writer interface and registry: frames -> one file format, looked up by name as matplotlib's
``animation.writers`` are, so a new format is one new module."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

import matplotlib
import numpy as np


@dataclass
class Movie:
    """What a writer is told about the animation it writes.

    ``count`` frames of ``width`` x ``height`` RGBA pixels at ``fps``, the last held ``pause`` seconds.
    ``samples(n)`` draws ``n`` frames spread over the animation (for a palette); ``key_colors`` are colours that
    must come out exactly (white, black, the minima's star, each run's colour). ``source`` is what the frames
    were drawn from (the picture, its animator and the trajectories), for writers that need more than pixels.
    """

    width: int
    height: int
    count: int
    fps: float
    pause: float
    samples: Callable[[int], list[np.ndarray]]
    key_colors: list[tuple[int, int, int]] = field(default_factory=list)
    source: Any = None


Box = tuple[int, int, int, int]     # (row0, row1, col0, col1) of a frame, rows from the top


class Writer:
    """``setup(path, movie)``, then ``grab_frame(rgba, changed)`` per frame, then ``finish()``; ``close()``
    always runs last, after ``finish`` or after an error, to release what ``setup`` opened. A ``still`` writer
    is given only the last frame.

    ``rgba`` may be the canvas's own buffer: it is valid during the call only (copy what you keep). ``changed``
    is a hint, None or boxes outside which the frame equals the one before; a writer may ignore it."""

    name: ClassVar[str] = ""
    still: ClassVar[bool] = False

    @classmethod
    def missing(cls) -> str | None:
        """Why this writer cannot run here (a missing optional dependency), or None."""
        return None

    @classmethod
    def problems(cls, scene) -> list[tuple[str, str]]:
        """(key, why) for each setting of ``scene`` this format cannot show; checked before any work."""
        return []

    def setup(self, path: Path, movie: Movie) -> None:
        raise NotImplementedError

    def grab_frame(self, rgba: np.ndarray, changed: list[Box] | None = None) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        pass

    def close(self) -> None:
        pass


class VectorWriter(Writer):
    """A still writer that ignores the pixels it is given and draws the last frame again as vector graphics
    (contours, paths, markers and text as shapes, no embedded picture), for print at any size: the figure
    itself comes in ``Movie.source``, ``figure.settle`` puts every artist at the last step and ``savefig``
    draws them. Dates and random ids are left out, so the same scene gives the same bytes."""

    still = True
    metadata: dict = {}

    def setup(self, path: Path, movie: Movie) -> None:
        if movie.source is None:
            raise ValueError(f"{self.name} output needs the figure (Movie.source)")
        self.path, self.source = path, movie.source

    def grab_frame(self, rgba: np.ndarray, changed: list[Box] | None = None) -> None:
        pass

    def finish(self) -> None:
        from ..figure import settle  # lazy: figure -> scenes -> render_options -> this registry would be a cycle

        traj, pic, _ = self.source
        settle(pic, pic.steps)
        with matplotlib.rc_context({"svg.hashsalt": "optviz", "pdf.compression": 6}):
            pic.figure.savefig(self.path, format=self.name, dpi=72, metadata=self.metadata,
                               facecolor=pic.figure.get_facecolor())


WRITERS: dict[str, type[Writer]] = {}


def register_writer(cls: type[Writer]) -> type[Writer]:
    """Class decorator: make ``cls`` the writer for ``cls.name``."""
    if not cls.name or cls.name in WRITERS:
        raise ValueError(f"writer name {cls.name!r} is empty or taken")
    WRITERS[cls.name] = cls
    return cls
