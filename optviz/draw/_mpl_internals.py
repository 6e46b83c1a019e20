"""Where optviz reaches into matplotlib's internals, fenced in one place.

Each piece copies or patches something matplotlib does not offer as public API, for speed or for a legend that
keeps still. If a matplotlib upgrade breaks rendering, look here first; tests/test_render.py checks every piece
against what matplotlib itself draws.
"""
from __future__ import annotations

from numbers import Real

import matplotlib
import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.markers import MarkerStyle
from matplotlib.offsetbox import TextArea
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.transforms import Bbox


# --- drawing paths and markers without Line2D.draw -------------------------------------------------------------
# Why: a frame draws a few segments and dots; Line2D.draw's per-call bookkeeping (transforms, path
# simplification, a new graphics context each time) costs more than the drawing. These do the same renderer
# calls with the same graphics-context settings, copied from Line2D.draw (matplotlib 3.7-3.11).

def pen(renderer, line):
    """A graphics context with the line's style: paths go straight to the renderer, skipping the Line2D
    machinery that would otherwise cost more than the drawing itself."""
    gc = renderer.new_gc()
    if line.get_alpha() is not None:
        gc.set_alpha(line.get_alpha())
    gc.set_foreground(line.get_color())
    gc.set_linewidth(line.get_linewidth())
    gc.set_capstyle(line.get_solid_capstyle())
    gc.set_joinstyle(line.get_solid_joinstyle())
    gc.set_antialiased(True)
    gc.set_snap(False)
    return gc


class Stamp:
    """Draws a line's marker at pixel positions (one, or a swarm's many): what ``Line2D.draw`` does for
    markers (same graphics context, same renderer call) without its per-call bookkeeping."""

    def __init__(self, renderer, line):
        marker = MarkerStyle(line.get_marker())
        size = renderer.points_to_pixels(line.get_markersize())
        self.path = marker.get_path()
        self.transform = marker.get_transform().scale(size)
        self.face = to_rgba(line.get_markerfacecolor())
        gc = renderer.new_gc()
        gc.set_clip_rectangle(clip_box(line.axes.bbox))
        gc.set_linewidth(line.get_markeredgewidth())
        gc.set_antialiased(line.get_antialiased())
        gc.set_foreground(to_rgba(line.get_markeredgecolor()), isRGBA=True)
        snap = marker.get_snap_threshold()
        gc.set_snap(size >= snap if isinstance(snap, Real) else snap)
        gc.set_joinstyle(marker.get_joinstyle())
        gc.set_capstyle(marker.get_capstyle())
        self.gc = gc
        self.matrix = self.transform.get_matrix().copy()    # as an array, for the reason PIXELS is None
        corners = self.transform.transform_path(self.path).get_extents().get_points()
        # the marker's half size, half its edge, and a pixel each for antialiasing and snapping
        self.reach = float(np.abs(corners).max()) + renderer.points_to_pixels(line.get_markeredgewidth()) / 2 + 2

    def __call__(self, renderer, xy) -> None:
        renderer.draw_markers(self.gc, self.path, self.matrix, Path(np.reshape(xy, (-1, 2))), PIXELS, self.face)

    def extent(self, xy) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1): display pixels that drawing at ``xy`` may touch."""
        xy = np.reshape(xy, (-1, 2))
        (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
        r = self.reach
        return x0 - r, y0 - r, x1 + r, y1 + r


#: The transform of paths already in pixels. Agg's renderer takes None as the identity without calling back
#: into Python (an ``IdentityTransform`` is read through its ``__array__``): a little faster per call, and an
#: exception raised meanwhile by a signal handler (the CLI's SIGTERM) cannot be swallowed by that conversion
#: and come out as "Invalid affine transformation matrix".
PIXELS = None


def clip_box(bbox) -> np.ndarray:
    """A clip rectangle as the array Agg reads (for the reason ``PIXELS`` is None: a ``Bbox`` is read through
    Python on every draw)."""
    return np.array(bbox.get_points(), dtype=float)


class PlainPaths:
    """``Path(vertices)``, with the same simplification setting, without ``Path.__init__``'s checks and rcParams
    look-ups (read once here): frames make thousands, and those cost more than drawing them."""

    def __init__(self):
        self.template = Path(np.zeros((0, 2)))
        self.simplify = self.template._simplify_threshold > 0 and matplotlib.rcParams["path.simplify"]

    def __call__(self, vertices: np.ndarray) -> Path:
        path = Path._fast_from_codes_and_verts(vertices, None, self.template)
        path._should_simplify = self.simplify and len(path.vertices) >= 128
        return path


def draw_collection(renderer, gc, paths, edgecolors, linewidth: float, facecolors=(), transforms=(), offsets=()):
    """Many paths (each with its own colours) in one renderer call: what ``Collection.draw`` ends in, without
    its per-call bookkeeping (colour parsing, transforms, a probe call), which costs more than the drawing.
    Paths and offsets are in pixels; ``transforms`` are 3x3 matrices applied to the paths first (a marker's
    size); ``linewidth`` is in points."""
    renderer.draw_path_collection(gc, PIXELS, paths, np.asarray(transforms, dtype=float).reshape(-1, 3, 3),
                                  np.asarray(offsets, dtype=float).reshape(-1, 2),
                                  PIXELS, np.asarray(facecolors, dtype=float).reshape(-1, 4),
                                  np.asarray(edgecolors, dtype=float).reshape(-1, 4), [linewidth], [(0, None)],
                                  [True], [None], "screen")


# --- a legend row that keeps its width --------------------------------------------------------------------------
# Why: a scheduled run's legend text changes every frame (its lr); matplotlib sizes each row from its TextArea's
# bbox, so the legend would resize and jump. There is no public way to fix a row's width, so TextArea.get_bbox
# is wrapped on that one instance. text_areas() finds the TextAreas by walking the legend's private packers.

def text_areas(legend) -> list[TextArea | None]:
    """The legend's TextArea boxes, one per text (in the order of ``legend.get_texts()``)."""
    areas = {id(a.get_children()[0]): a for a in _offsetboxes(legend) if isinstance(a, TextArea)}
    return [areas.get(id(text)) for text in legend.get_texts()]


def _offsetboxes(artist):
    for child in artist.get_children():
        yield child
        if not isinstance(child, Text):
            yield from _offsetboxes(child)


def at_least_width(area: TextArea, width: float) -> None:
    """Make ``area`` report at least ``width`` pixels wide from now on."""
    get_bbox = area.get_bbox

    def widened(renderer):
        box = get_bbox(renderer)
        return Bbox.from_bounds(box.x0, box.y0, max(box.width, width), box.height)

    area.get_bbox = widened
