"""The Python API's render: a file on disk that also shows itself inline in Jupyter."""
from __future__ import annotations

import base64
import html
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .api import render_scene
from .scenes.record import Scene
from .simulate import Trajectories

_MIME = {"gif": "image/gif", "png": "image/png", "mp4": "video/mp4"}


@dataclass(frozen=True)
class Animation:
    """A rendered file. Jupyter displays it inline (``_repr_html_``, an html page as its interactive player;
    ``_repr_png_`` for a png)."""

    path: Path

    @property
    def format(self) -> str:
        return self.path.suffix.lower().lstrip(".")

    def _repr_html_(self) -> str:
        if self.format == "html":
            return _inline_page(self.path.read_text(encoding="utf-8"), self.path.name)
        data = base64.b64encode(self.path.read_bytes()).decode("ascii")
        mime = _MIME[self.format]
        if self.format == "mp4":
            return f'<video controls loop autoplay muted src="data:{mime};base64,{data}"></video>'
        return f'<img src="data:{mime};base64,{data}" alt="{self.path.name}"/>'

    def _repr_png_(self) -> bytes | None:
        return self.path.read_bytes() if self.format == "png" else None

    def __fspath__(self) -> str:
        return os.fspath(self.path)


#: Room below the picture for the player's controls (one row at notebook widths) and the page's margins.
CONTROLS_HEIGHT = 64


def _inline_page(page: str, name: str) -> str:
    """The player in an iframe of its own (its script and ids stay apart from the notebook's), sized to the
    picture plus its controls. ``sandbox``: the page may run its script but cannot reach the notebook."""
    found = re.search(r'<img class="optviz-background"[^>]* width="(\d+)" height="(\d+)"', page)
    width, height = (int(found.group(1)), int(found.group(2))) if found else (720, 432)
    return (f'<iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" title="{html.escape(name)}" '
            f'style="width: 100%; max-width: {width + 16}px; height: {height + CONTROLS_HEIGHT}px; border: 0">'
            "</iframe>")


def render(scene: Scene | Trajectories, out: str | os.PathLike | None = None, format: str | None = None,
           scale: float | None = None, limits: bool = True) -> Animation:
    """Render a scene (or already simulated trajectories) to ``out``; default: the scene's own output path.
    ``scale`` multiplies the resolution (text and lines scale along); ``limits=False`` lets it exceed the budget."""
    return Animation(Path(render_scene(scene, out, format, scale=scale, limits=limits)))
