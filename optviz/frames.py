"""Frames by blitting: the background is drawn once and each frame draws only what is new.

Three layers, bottom to top: the background (contours, star, axes), the trails (the paths so far, a second
cached image that each frame updates) and the top (dots, step counter, legend, pasted or drawn per frame).
The cached layers are numpy copies of the canvas's own pixel buffer, swapped in with ``np.copyto``.
A frame costs its new segments plus the top layer, whatever the length of the paths.

Updating the trails keeps the look of drawing whole lines in legend order (a later run above an earlier one):
the small rectangle around a run's new segments is rebuilt from the background with every segment that
crosses it, clipped to it. Drawing new segments on top instead would put a slow run above the later runs it
crawls along, and drawing a segment twice would thicken its antialiased edges.
"""
from __future__ import annotations

from numbers import Real
from typing import Iterator

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.markers import MarkerStyle
from matplotlib.path import Path
from matplotlib.transforms import Bbox, IdentityTransform

from .figure import Picture, Track

REACH = 1.5     # pixels of antialiasing beyond half the line width


def frame_steps(steps: int, max_frames: int) -> np.ndarray:
    """Frame k shows points 0..k, k = 0..steps; above ``max_frames`` frames, keep an even subset
    that always includes the first and the last."""
    count = steps + 1
    cap = max(int(max_frames), 2)
    if count <= cap:
        return np.arange(count)
    return np.unique(np.round(np.linspace(0, steps, cap)).astype(int))


class Animator:
    def __init__(self, pic: Picture):
        self.pic = pic
        canvas = pic.canvas
        canvas.draw()
        self.renderer = canvas.get_renderer()
        self.height = canvas.get_width_height()[1]
        self.pixels_now = np.asarray(canvas.buffer_rgba())  # the canvas itself: layers are swapped in by copying
        self.background = self.pixels_now.copy()
        self.legend = None
        if pic.legend is not None:  # opaque and static: drawn once, pasted per frame (drawing text is slow)
            pic.figure.draw_artist(pic.legend)
            self.legend = canvas.copy_from_bbox(pic.legend.get_frame().get_window_extent().padded(1.5))
            np.copyto(self.pixels_now, self.background)
        self.counter = _Odometer(pic, self.background, self.pixels_now) if pic.counter is not None else None
        self.clip = pic.axes.bbox
        ax = pic.axes.get_window_extent()
        self.view = (np.floor(ax.x0) - 1, np.floor(ax.y0) - 1, np.ceil(ax.x1) + 1, np.ceil(ax.y1) + 1)
        self.pixels = [pic.axes.transData.transform(t.run.points) for t in pic.tracks]
        self.boxes = [_segment_boxes(p, t.line.get_linewidth() / 2 + REACH) for p, t in zip(self.pixels, pic.tracks)]
        renderer = self.renderer
        self.pens = [_pen(renderer, t.line) for t in pic.tracks]
        self.stamps = [_Stamp(renderer, t.dot) for t in pic.tracks]
        self.loss_stamps = [_Stamp(renderer, t.loss_dot) if t.loss_dot is not None else None for t in pic.tracks]

    def frames(self, ks) -> Iterator[np.ndarray]:
        """RGBA frames (height, width, 4) for the increasing steps ``ks``."""
        pic, now = self.pic, self.pixels_now
        trails = self.background.copy()
        drawn = [0] * len(pic.tracks)
        for k in ks:
            np.copyto(now, trails)
            before = list(drawn)
            drawn = [min(int(k), t.last) for t in pic.tracks]
            changed = [i for i in range(len(drawn)) if drawn[i] > before[i]]
            for i in changed:
                lo, hi = self.boxes[i]
                self._rebuild(lo[before[i]:drawn[i]].min(axis=0), hi[before[i]:drawn[i]].max(axis=0), drawn)
                self._draw_panels(pic.tracks[i], before[i], drawn[i])
            if changed:
                np.copyto(trails, now)
            self._draw_top(int(k))
            yield self._rgb()

    def still(self, k: int) -> np.ndarray:
        """One frame drawn from scratch (whole paths): for a PNG and for sampling the GIF palette."""
        np.copyto(self.pixels_now, self.background)
        renderer = self.renderer
        for t, pix, pen in zip(self.pic.tracks, self.pixels, self.pens):
            end = min(int(k), t.last)
            if end > 0:
                pen.set_clip_rectangle(self.clip)
                renderer.draw_path(pen, Path(pix[:end + 1]), IdentityTransform())
                self._draw_panels(t, 0, end)
        self._draw_top(int(k))
        return self._rgb()

    def _rebuild(self, lo: np.ndarray, hi: np.ndarray, drawn: list[int]) -> None:
        """Redraw the trails inside the pixel box lo..hi: background, then every run's segments so far that
        cross it, in legend order, clipped to the box."""
        vx0, vy0, vx1, vy1 = self.view
        x0, y0 = np.clip(np.floor(lo), (vx0, vy0), (vx1, vy1))
        x1, y1 = np.clip(np.ceil(hi), (vx0, vy0), (vx1, vy1))
        if not (x1 > x0 and y1 > y0):
            return
        rows = slice(int(self.height - y1), int(self.height - y0))   # image rows count from the top
        cols = slice(int(x0), int(x1))
        self.pixels_now[rows, cols] = self.background[rows, cols]
        box = Bbox([[x0, y0], [x1, y1]])
        renderer = self.renderer
        for pix, (seg_lo, seg_hi), pen, n in zip(self.pixels, self.boxes, self.pens, drawn):
            seg_lo, seg_hi = seg_lo[:n], seg_hi[:n]
            hit = np.flatnonzero((seg_lo[:, 0] <= x1) & (seg_hi[:, 0] >= x0)
                                 & (seg_lo[:, 1] <= y1) & (seg_hi[:, 1] >= y0))
            if hit.size:
                pen.set_clip_rectangle(box)
                renderer.draw_path(pen, Path(_pieces(pix, hit)), IdentityTransform())

    def _draw_panels(self, t: Track, start: int, end: int) -> None:
        """Points start..end of a run in the side panels (drawn on top: their lines rarely cross)."""
        draw = self.pic.figure.draw_artist
        if t.loss_line is not None:
            t.loss_line.set_data(np.arange(start, end + 1), t.run.loss[start:end + 1])
            draw(t.loss_line)
        if t.surf_line is not None:
            seg = t.run.points[start:end + 1]
            t.surf_line.set_data_3d(seg[:, 0], seg[:, 1], t.height[start:end + 1])
            draw(t.surf_line)

    def _draw_top(self, k: int) -> None:
        pic = self.pic
        draw = pic.figure.draw_artist
        renderer = self.renderer
        for t, pix, stamp, loss_stamp in zip(pic.tracks, self.pixels, self.stamps, self.loss_stamps):
            i = min(k, t.last)
            seen = pic.in_view(t.run.points[i])  # a run that flew off has no dot
            if seen:
                stamp(renderer, pix[i])
            if loss_stamp is not None and seen and np.isfinite(t.run.loss[i]):
                loss_stamp(renderer, t.loss_dot.axes.transData.transform((i, t.run.loss[i])))
            if t.surf_dot is not None:
                x, y = t.run.points[i]
                t.surf_dot.set_data_3d(np.array([x]), np.array([y]), t.height[i:i + 1])
                t.surf_dot.set_visible(seen and bool(np.isfinite(t.height[i])))
                draw(t.surf_dot)
        if self.legend is not None:
            pic.canvas.restore_region(self.legend)
        if self.counter is not None:
            self.counter.draw(k)

    def _rgb(self) -> np.ndarray:
        return self.pixels_now.copy()


class _Odometer:
    """The step counter from pixels cached once per digit and cell (see ``figure.Counter``)."""

    def __init__(self, pic: Picture, background: np.ndarray, pixels_now: np.ndarray):
        c, canvas, draw = pic.counter, pic.canvas, pic.figure.draw_artist
        np.copyto(pixels_now, background)
        draw(c.box)
        draw(c.label)
        self.canvas = canvas
        self.base = canvas.copy_from_bbox(c.bounds)
        self.cells = []
        for text, cell in zip(c.digits, c.cells):
            glyphs = []
            for d in "0123456789":
                text.set_text(d)
                draw(text)
                glyphs.append(canvas.copy_from_bbox(cell))
                canvas.restore_region(self.base)
            self.cells.append(glyphs)
        np.copyto(pixels_now, background)

    def draw(self, k: int) -> None:
        self.canvas.restore_region(self.base)
        for glyphs, d in zip(self.cells, str(k)):
            self.canvas.restore_region(glyphs[int(d)])


def _pen(renderer, line):
    """A graphics context with the line's style: paths go straight to the renderer, skipping the Line2D
    machinery that would otherwise cost more than the drawing itself."""
    gc = renderer.new_gc()
    gc.set_foreground(line.get_color())
    gc.set_linewidth(line.get_linewidth())
    gc.set_capstyle(line.get_solid_capstyle())
    gc.set_joinstyle(line.get_solid_joinstyle())
    gc.set_antialiased(True)
    gc.set_snap(False)
    return gc


class _Stamp:
    """Draws a line's marker at one pixel position: what ``Line2D.draw`` does for markers (same graphics
    context, same renderer call) without its per-call bookkeeping."""

    def __init__(self, renderer, line):
        marker = MarkerStyle(line.get_marker())
        size = renderer.points_to_pixels(line.get_markersize())
        self.path = marker.get_path()
        self.transform = marker.get_transform().scale(size)
        self.face = to_rgba(line.get_markerfacecolor())
        gc = renderer.new_gc()
        gc.set_clip_rectangle(line.axes.bbox)
        gc.set_linewidth(line.get_markeredgewidth())
        gc.set_antialiased(line.get_antialiased())
        gc.set_foreground(to_rgba(line.get_markeredgecolor()), isRGBA=True)
        snap = marker.get_snap_threshold()
        gc.set_snap(size >= snap if isinstance(snap, Real) else snap)
        gc.set_joinstyle(marker.get_joinstyle())
        gc.set_capstyle(marker.get_capstyle())
        self.gc = gc

    def __call__(self, renderer, xy) -> None:
        renderer.draw_markers(self.gc, self.path, self.transform, Path(np.reshape(xy, (1, 2))),
                              IdentityTransform(), self.face)


def _segment_boxes(pix: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel bounding boxes (low corners, high corners) of each segment, widened by what a line paints."""
    with np.errstate(invalid="ignore"):
        return np.minimum(pix[:-1], pix[1:]) - reach, np.maximum(pix[:-1], pix[1:]) + reach


def _pieces(points: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """The points of the given segment indices as one polyline, NaN rows between non-adjacent runs."""
    breaks = np.flatnonzero(np.diff(segments) > 1) + 1
    if not breaks.size:
        return points[segments[0]:segments[-1] + 2]
    gap = np.full((1, 2), np.nan)
    parts = []
    for piece in np.split(segments, breaks):
        parts += [points[piece[0]:piece[-1] + 2], gap]
    return np.concatenate(parts[:-1])
