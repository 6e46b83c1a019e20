"""Frames by blitting: the background is drawn once and each frame draws only what is new.

Three layers, bottom to top: the background (contours, star, axes), the trails (the paths so far, a second
cached image that each frame updates) and the top (dots, step counter, legend, pasted or drawn per frame).
The cached layers are numpy copies of the canvas's own pixel buffer; a frame copies between them only the boxes
it drew in (its dots' boxes, the rebuilt rectangles), and tells the writer those boxes, outside which nothing
changed. A frame costs its new segments plus the top layer, whatever the length of the paths or the picture.

Updating the trails keeps the look of drawing whole lines in legend order (a later run above an earlier one):
the small rectangle around a run's new segments is rebuilt from the background with every segment that
crosses it, clipped to it. Drawing new segments on top instead would put a slow run above the later runs it
crawls along, and drawing a segment twice would thicken its antialiased edges.

That keeps its cost in the overlaps: a new segment where k later runs passed redraws those k. With many lone
runs (more than ``MANY_RUNS``: a sweep of learning rates, where dozens of lines share a valley) that grows as
runs squared, so a crowd of runs is drawn as strokes instead: each frame lays every run's new segments on top
of the trails in one collection (in legend order within the frame), and all dots are one more collection. A
frame then costs two draw calls whatever the number of runs; where lines overlap, the latest stroke is on top
(at a few dozen runs, which line is above which cannot be read anyway). A still draws whole paths in legend
order, so the last frame and the still differ only where strokes overlap.

A swarm (hundreds of faint runs of one colour) is another exception: each step's segments of all its runs are one
compound path, built once and drawn on top of the trails when the step is shown; its heads are one marker
draw per frame. Swarms are laid down step by step in every case (a frame, a rebuilt rectangle, a still), so a
scene of swarms alone gives the same last frame either way; against lone runs' lines their order is only
approximate outside rebuilt rectangles (faint strokes: it hardly shows).
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.markers import MarkerStyle
from matplotlib.path import Path
from matplotlib.transforms import Bbox

from ._mpl_internals import PIXELS, PlainPaths, Stamp, clip_box, draw_collection, pen, text_areas
from .figure import Picture, Swarm, Track

Box = tuple[int, int, int, int]     # (row0, row1, col0, col1) of the image, rows from the top
ALL_FOUR = 0x01010101               # four True bytes read as one little-endian word

REACH = 1.5     # points of antialiasing beyond half the line width (pixels at scale 1)
MANY_RUNS = 8   # above this many lone runs, frames lay strokes down instead of rebuilding (see above)


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
        width, self.height = canvas.get_width_height()
        self.whole: Box = (0, self.height, 0, width)
        self.dirty: list[Box] = []      # boxes drawn in since the list was last taken (see ``changes``)
        self.pasted: list[Box] = []     # the legend's and counter's boxes, when their text changed
        self.stills = 0                 # stills drawn since the last frame
        self.pixels_now = np.asarray(canvas.buffer_rgba())  # the canvas itself: layers are swapped in by copying
        self.background = self.pixels_now.copy()
        self.legend = _Legend(pic, self.background, self.pixels_now) if pic.legend is not None else None
        self.counter = _Odometer(pic, self.background, self.pixels_now) if pic.counter is not None else None
        self.clip = clip_box(pic.axes.bbox)
        ax = pic.axes.get_window_extent()
        low, high = (np.floor(ax.x0) - 1, np.floor(ax.y0) - 1), (np.ceil(ax.x1) + 1, np.ceil(ax.y1) + 1)
        self.view = np.array(low * 2), np.array(high * 2)     # clip limits for x0, y0, x1, y1
        self.layers = [_Path(self, e) if isinstance(e, Track) else _Swarm(self, e) for e in pic.entries]
        self.swarms = [i for i, layer in enumerate(self.layers) if isinstance(layer, _Swarm)]
        lone = [i for i, layer in enumerate(self.layers) if isinstance(layer, _Path)]
        self.crowd = _Crowd(self, lone) if len(lone) > MANY_RUNS else None
        self.segments = _Segments(self.layers) if self.crowd is None else None   # for rebuilds: a crowd lays strokes
        self.plain_path = PlainPaths()

    def frames(self, ks) -> Iterator[np.ndarray]:
        """RGBA frames (height, width, 4) for the increasing steps ``ks``."""
        for pixels, _ in self.changes(ks):
            yield pixels.copy()

    def changes(self, ks) -> Iterator[tuple[np.ndarray, list[Box]]]:
        """For the increasing steps ``ks``: the canvas's own pixels showing that frame (valid until the next one
        is asked for: copy what you keep) and the boxes, (row0, row1, col0, col1), outside which it equals the
        frame before (the first frame's box is the whole picture).

        Only those boxes are copied between the layers: the previous frame's dots are wiped by restoring their
        boxes from the trails, the trails take back only the boxes their new segments were drawn in. The legend
        and the counter are opaque and pasted at their place every frame, over whatever was drawn there: they
        need no wiping, and count as changed only when their text does."""
        now = self.pixels_now
        trails = self.background.copy()
        drawn = [0] * len(self.layers)
        top: list[Box] = []
        self.stills = 0
        for n, k in enumerate(ks):
            fresh = n == 0 or self.stills > 0     # a still drew over the canvas in between: start over
            if fresh:
                top, self.stills = [self.whole], 0
            for rows, cols in map(_slices, top):
                now[rows, cols] = trails[rows, cols]
            self.dirty = []
            before = list(drawn)
            drawn = [min(int(k), layer.last) for layer in self.layers]
            changed = [i for i in range(len(drawn)) if drawn[i] > before[i]]
            self._lay_swarms([range(before[i], drawn[i]) for i in self.swarms], self.clip, panels=True)
            if self.crowd is not None:
                self.crowd.lay(before, drawn)
            for i in changed:
                layer = self.layers[i]
                if isinstance(layer, _Path):
                    if self.crowd is None:
                        lo, hi = layer.boxes
                        self._rebuild(lo[before[i]:drawn[i]].min(axis=0), hi[before[i]:drawn[i]].max(axis=0),
                                      drawn)
                    self._draw_panels(layer.track, before[i], drawn[i])
            laid = self._covering(self.dirty)
            for rows, cols in map(_slices, laid):
                trails[rows, cols] = now[rows, cols]
            self.dirty, self.pasted = [], []
            self._draw_top(int(k))
            boxes = [self.whole] if fresh else self._covering(top + laid + self.dirty + self.pasted)
            top = self._covering(self.dirty)
            yield now, boxes

    def _covering(self, boxes: list[Box]) -> list[Box]:
        """``boxes``, or only the whole picture once it is among them: every box is copied between the layers
        and handed to the writer, and a panel marks the whole picture once per line it draws."""
        return [self.whole] if self.whole in boxes else boxes

    def still(self, k: int) -> np.ndarray:
        """One frame drawn from scratch (whole paths): for a PNG and for sampling the GIF palette."""
        np.copyto(self.pixels_now, self.background)
        self.dirty, self.pasted = [], []
        self.stills += 1
        renderer = self.renderer
        if self.crowd is not None:
            self.crowd.lay([0] * len(self.layers), [min(int(k), layer.last) for layer in self.layers])
        for i, layer in enumerate(self.layers):
            if isinstance(layer, _Swarm):
                if i == self.swarms[0]:
                    self._lay_swarms([range(min(int(k), self.layers[j].last)) for j in self.swarms], self.clip,
                                     panels=True)
                continue
            t, pix, pen = layer.track, layer.pixels, layer.pen
            end = min(int(k), t.last)
            if self.crowd is not None:
                if end > 0:
                    self._draw_panels(t, 0, end)
            elif end > 0:
                pen.set_clip_rectangle(self.clip)
                renderer.draw_path(pen, Path(pix[:end + 1]), PIXELS)
                self._draw_panels(t, 0, end)
        self._draw_top(int(k))
        return self._rgb()

    def _rebuild(self, lo: np.ndarray, hi: np.ndarray, drawn: list[int]) -> None:
        """Redraw the trails inside the pixel box lo..hi: background, then every run's segments so far that
        cross it, in legend order, clipped to the box."""
        x0, y0, x1, y1 = np.clip(np.concatenate([np.floor(lo), np.ceil(hi)]), *self.view).tolist()
        if not (x1 > x0 and y1 > y0):
            return
        rows = slice(int(self.height - y1), int(self.height - y0))   # image rows count from the top
        cols = slice(int(x0), int(x1))
        self.pixels_now[rows, cols] = self.background[rows, cols]
        self.dirty.append((rows.start, rows.stop, cols.start, cols.stop))
        clip = np.array([[x0, y0], [x1, y1]])
        renderer = self.renderer
        hits = self.segments.crossing(x0, y0, x1, y1, drawn)
        for i, layer in enumerate(self.layers):
            if isinstance(layer, _Swarm):
                if i == self.swarms[0]:
                    self._lay_swarms([self.layers[j].crossing(clip, drawn[j]) for j in self.swarms], clip)
                continue
            hit = hits[i]
            if hit.size:
                layer.pen.set_clip_rectangle(clip)
                renderer.draw_path(layer.pen, self.plain_path(_pieces(layer.pixels, hit)), PIXELS)

    def _lay_swarms(self, steps: list, clip, panels: bool = False) -> None:
        """The given steps of each swarm, step by step and, within a step, in legend order: the same order
        whether a frame adds them, a still replays them or a rebuild redraws some."""
        swarms = [self.layers[i] for i in self.swarms]
        for swarm in swarms:
            swarm.pen.set_clip_rectangle(clip)
        order = sorted((j, n) for n, js in enumerate(steps) for j in js)
        if order:
            self.mark(*clip.ravel())
        for j, n in order:
            swarms[n].draw_step(j)
            if panels:
                swarms[n].panel_step(j)

    def _draw_panels(self, t: Track, start: int, end: int) -> None:
        """Points start..end of a run in the side panels (drawn on top: their lines rarely cross)."""
        draw = self.pic.figure.draw_artist
        if t.loss_line is not None or t.surf_line is not None:
            self.dirty.append(self.whole)     # a panel: rare, and a 3-D line's extent is not worth working out
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
        if self.crowd is not None:
            self.crowd.dots(k)
        for layer in self.layers:
            if isinstance(layer, _Swarm):
                layer.top(k)
                continue
            if self.crowd is not None and layer.loss_stamp is None and layer.track.surf_dot is None:
                i = min(k, layer.last)
                if layer.arrows and not layer.seen[i]:
                    layer.arrow(i)
                continue
            t, pix, stamp, loss_stamp = layer.track, layer.pixels, layer.stamp, layer.loss_stamp
            i = min(k, t.last)
            seen = bool(layer.seen[i])  # a run that flew off has no dot: an arrow shows where it went
            if not seen:
                layer.arrow(i)
            elif self.crowd is None:
                self.stamp(stamp, pix[i])
            if loss_stamp is not None and np.isfinite(t.run.loss[i]):
                self.stamp(loss_stamp, t.loss_dot.axes.transData.transform((i, t.run.loss[i])))
            if t.surf_dot is not None:
                self.dirty.append(self.whole)
                x, y = t.run.points[i]
                t.surf_dot.set_data_3d(np.array([x]), np.array([y]), t.height[i:i + 1])
                t.surf_dot.set_visible(seen and bool(np.isfinite(t.height[i])))
                draw(t.surf_dot)
        if self.legend is not None and self.legend.draw(k):
            self.pasted.append(self.legend.box)
        if self.counter is not None and self.counter.draw(k):
            self.pasted.append(self.counter.box)

    def stamp(self, stamp: Stamp, xy) -> None:
        stamp(self.renderer, xy)
        self.mark(*stamp.extent(xy))

    def mark(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Note that display pixels x0..x1, y0..y1 (y up) may have been drawn in."""
        h, w = self.height, self.whole[3]
        if not math.isfinite(x0 + x1 + y0 + y1):
            self.dirty.append(self.whole)
            return
        r0, r1 = max(math.floor(h - y1), 0), min(math.ceil(h - y0), h)
        c0, c1 = max(math.floor(x0), 0), min(math.ceil(x1), w)
        if r1 > r0 and c1 > c0:
            self.dirty.append((r0, r1, c0, c1))

    def _rgb(self) -> np.ndarray:
        return self.pixels_now.copy()


class _Path:
    """A lone run: its path in display pixels, each segment's pixel box, the graphics contexts that draw it."""

    def __init__(self, anim: Animator, t: Track):
        self.anim = anim
        self.track = t
        self.last = t.last
        self.pixels = anim.pic.axes.transData.transform(t.path)
        self.seen = anim.pic.in_view(t.run.points)
        self.boxes = _segment_boxes(self.pixels, (t.line.get_linewidth() / 2 + REACH) * anim.pic.scale)
        self.pen = pen(anim.renderer, t.line)
        self.stamp = Stamp(anim.renderer, t.dot)
        self.loss_stamp = Stamp(anim.renderer, t.loss_dot) if t.loss_dot is not None else None
        self.arrows = [(Stamp(anim.renderer, a), a.axes.transData.transform(np.ravel(a.get_data())))
                       for a in t.arrows]

    def arrow(self, k: int) -> None:
        """While the run is out of view, an arrow where it last left, pointing the way it went."""
        i = self.track.arrow_at(k)
        if i is not None:
            self.anim.stamp(*self.arrows[i])


class _Segments:
    """Every lone run's segment boxes in one array, so that finding the segments that cross a box is a few
    array operations for all runs at once (a frame asks once per run that moved)."""

    def __init__(self, layers: list):
        lone = [(i, layer.boxes) for i, layer in enumerate(layers) if isinstance(layer, _Path)]
        self.layers = [i for i, _ in lone]
        sizes = [len(lo) for _, (lo, _) in lone]
        self.sizes = np.array(sizes, dtype=int)
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        lows = np.concatenate([lo for _, (lo, _) in lone]) if lone else np.zeros((0, 2))
        highs = np.concatenate([hi for _, (_, hi) in lone]) if lone else np.zeros((0, 2))
        self.bounds = np.concatenate([lows, -highs], axis=1)       # crossing x0, y0, x1, y1: bounds <= limits
        self.none = np.zeros(0, dtype=int)
        self.count = len(layers)

    def crossing(self, x0, y0, x1, y1, drawn: list[int]) -> list[np.ndarray]:
        """Per layer, the indices of its segments before ``drawn`` whose box meets x0..x1, y0..y1 (empty
        for a swarm)."""
        below = self.bounds <= np.array([x1, y1, -x0, -y0])
        found = np.flatnonzero(below.view("<u4")[:, 0] == ALL_FOUR)    # a row's four booleans as one word
        out = [self.none] * self.count
        starts = self.starts[:-1]
        ends = starts + np.minimum([drawn[i] for i in self.layers], self.sizes)
        cuts = np.searchsorted(found, np.stack([starts, ends], axis=1)).tolist()
        for k, (a, b) in enumerate(cuts):
            if b > a:
                out[self.layers[k]] = found[a:b] - starts[k]
        return out


class _Crowd:
    """Many lone runs drawn together: their new segments as one collection of polylines per frame (each run's
    piece in its colour, in legend order), their dots as one collection of markers, in the runs' own styles."""

    def __init__(self, anim: Animator, members: list[int]):
        pic = anim.pic
        self.anim, self.members = anim, members
        layers = [anim.layers[i] for i in members]
        line, dot = layers[0].track.line, layers[0].track.dot
        self.colors = np.array([to_rgba(layer.track.color) for layer in layers])
        self.width = line.get_linewidth()
        self.pen = pen(anim.renderer, line)
        self.pen.set_clip_rectangle(anim.clip)
        marker = MarkerStyle(dot.get_marker())
        self.dot = marker.get_path().transformed(marker.get_transform())
        size = anim.renderer.points_to_pixels(dot.get_markersize())
        self.dot_size = [np.diag([size, size, 1.0])]
        self.dot_width = dot.get_markeredgewidth()
        self.dot_pen = pen(anim.renderer, dot)
        self.dot_pen.set_clip_rectangle(anim.clip)
        self.ends = np.array([layer.last for layer in layers])
        pixels = _padded([layer.pixels for layer in layers], int(self.ends.max()))
        self.seen = pic.in_view(_padded([layer.track.run.points for layer in layers], int(self.ends.max())))
        self.pixels = pixels
        self.rows = np.arange(len(members))

    def lay(self, before: list[int], drawn: list[int]) -> None:
        """Each member's segments before..drawn, in one draw call on top of what is there."""
        layers = self.anim.layers
        pieces, colors = [], []
        for n, i in enumerate(self.members):
            if drawn[i] > before[i]:
                pieces.append(self.anim.plain_path(layers[i].pixels[before[i]:drawn[i] + 1]))
                colors.append(self.colors[n])
        if pieces:
            draw_collection(self.anim.renderer, self.pen, pieces, colors, self.width)
            reach = (self.width / 2 + REACH) * self.anim.pic.scale
            with np.errstate(invalid="ignore"):
                ends = np.concatenate([p.vertices for p in pieces])
                (x0, y0), (x1, y1) = np.nanmin(ends, axis=0) - reach, np.nanmax(ends, axis=0) + reach
            self.anim.mark(x0, y0, x1, y1)

    def dots(self, k: int) -> None:
        """Every member's current point (its last, once it stopped), unless it left the view; in one draw."""
        at = np.minimum(k, self.ends)
        seen = self.seen[self.rows, at]
        if seen.any():
            colors = self.colors[seen]
            offsets = self.pixels[self.rows[seen], at[seen]]
            draw_collection(self.anim.renderer, self.dot_pen, [self.dot], colors, self.dot_width, facecolors=colors,
                            transforms=self.dot_size, offsets=offsets)
            reach = self.dot_size[0][0, 0] * np.abs(self.dot.vertices).max() + self.dot_width * self.anim.pic.scale + 2
            (x0, y0), (x1, y1) = offsets.min(axis=0) - reach, offsets.max(axis=0) + reach
            self.anim.mark(x0, y0, x1, y1)


class _Swarm:
    """The runs of a swarm as (runs, steps + 1) arrays, NaN after a run's last point, so that heads and hit
    tests are array operations. Its paths are laid down a step at a time, every run's segment of that step
    in one compound path (built once): overlaps of different steps add up (where the swarm goes often is
    darker), a frame costs one draw per step shown, and a still replays the same draws."""

    def __init__(self, anim: Animator, swarm: Swarm):
        pic = anim.pic
        self.anim, self.swarm = anim, swarm
        self.last = swarm.last
        runs = len(swarm.tracks)
        self.rows = np.arange(runs)
        self.ends = np.array([t.last for t in swarm.tracks])
        self.points = _padded([t.run.points for t in swarm.tracks], self.last)
        self.loss = _padded([t.run.loss for t in swarm.tracks], self.last)
        self.height = (_padded([t.height for t in swarm.tracks], self.last)
                       if swarm.surf_lines is not None else None)
        drawn = _padded([t.path for t in swarm.tracks], self.last)     # a diverged run's line ends on the edge
        with np.errstate(invalid="ignore"):
            self.pixels = pic.axes.transData.transform(drawn.reshape(-1, 2)).reshape(drawn.shape)
            reach = (REACH + swarm.lines.get_linewidth() / 2) * pic.scale
            self.lo = np.minimum(self.pixels[:, :-1], self.pixels[:, 1:]) - reach   # NaN past a run's end
            self.hi = np.maximum(self.pixels[:, :-1], self.pixels[:, 1:]) + reach
            self.seen = pic.in_view(self.points)
        self.steps = [_segments(self.pixels[:, j], self.pixels[:, j + 1]) for j in range(self.last)]
        self.pen = pen(anim.renderer, swarm.lines)
        self.stamp = Stamp(anim.renderer, swarm.heads)
        self.loss_stamp = Stamp(anim.renderer, swarm.loss_heads) if swarm.loss_heads is not None else None

    def draw_step(self, j: int) -> None:
        """Every run's segment of step ``j`` (clipped to the pen's clip rectangle)."""
        if self.steps[j] is not None:
            self.anim.renderer.draw_path(self.pen, self.steps[j], PIXELS)

    def crossing(self, box: np.ndarray, n: int) -> np.ndarray:
        """The steps before ``n`` with a segment crossing ``box``, [[x0, y0], [x1, y1]]."""
        (x0, y0), (x1, y1) = box
        lo, hi = self.lo[:, :n], self.hi[:, :n]
        with np.errstate(invalid="ignore"):
            return np.flatnonzero(((lo[..., 0] <= x1) & (hi[..., 0] >= x0)
                                   & (lo[..., 1] <= y1) & (hi[..., 1] >= y0)).any(axis=0))

    def panel_step(self, j: int) -> None:
        swarm, draw = self.swarm, self.anim.pic.figure.draw_artist
        if swarm.loss_lines is None and swarm.surf_lines is None:
            return
        self.anim.dirty.append(self.anim.whole)
        gap = np.full(len(self.rows), np.nan)
        if swarm.loss_lines is not None:
            x = np.column_stack([np.full(len(self.rows), j), np.full(len(self.rows), j + 1), gap]).ravel()
            y = np.column_stack([self.loss[:, j], self.loss[:, j + 1], gap]).ravel()
            swarm.loss_lines.set_data(x, y)
            draw(swarm.loss_lines)
        if swarm.surf_lines is not None:
            xs, ys, hs = (np.column_stack([v[:, j], v[:, j + 1], gap]).ravel()
                          for v in (self.points[..., 0], self.points[..., 1], self.height))
            swarm.surf_lines.set_data_3d(xs, ys, hs)
            draw(swarm.surf_lines)

    def top(self, k: int) -> None:
        """The heads: each run's current point (its last, once it stopped), unless it left the view."""
        swarm = self.swarm
        at = np.minimum(k, self.ends)
        seen = self.seen[self.rows, at]
        rows, at_seen = self.rows[seen], at[seen]
        swarm.heads.set_data(self.points[rows, at_seen, 0], self.points[rows, at_seen, 1])
        if rows.size:
            self.anim.stamp(self.stamp, self.pixels[rows, at_seen])
        if self.loss_stamp is not None:
            loss = self.loss[self.rows, at]
            ok = seen & np.isfinite(loss)
            if ok.any():
                xy = np.column_stack([at[ok], loss[ok]]).astype(float)
                self.anim.stamp(self.loss_stamp, swarm.loss_heads.axes.transData.transform(xy))
        if swarm.surf_heads is not None:
            h = self.height[self.rows, at]
            ok = seen & np.isfinite(h)
            p = self.points[self.rows[ok], at[ok]]
            swarm.surf_heads.set_data_3d(p[:, 0], p[:, 1], h[ok])
            swarm.surf_heads.set_visible(bool(ok.any()))
            self.anim.pic.figure.draw_artist(swarm.surf_heads)
            self.anim.dirty.append(self.anim.whole)


def _padded(arrays: list[np.ndarray], last: int) -> np.ndarray:
    """Per-run arrays of different lengths as one (runs, last + 1, ...) array, NaN after each run's end."""
    out = np.full((len(arrays), last + 1, *arrays[0].shape[1:]), np.nan)
    for i, a in enumerate(arrays):
        out[i, :len(a)] = a
    return out


def _segments(a: np.ndarray, b: np.ndarray) -> Path | None:
    """Segments a[i] -> b[i] (those with both ends finite) as one compound path."""
    ok = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    if not ok.any():
        return None
    vertices = np.stack([a[ok], b[ok]], axis=1).reshape(-1, 2)
    codes = np.tile(np.array([Path.MOVETO, Path.LINETO], dtype=Path.code_type), int(ok.sum()))
    return Path(vertices, codes)


class _Legend:
    """The legend from pixels: it is opaque, and drawing text costs more than all else in a frame. Drawn whole
    once; a text that changes (a scheduled lr) is drawn once per distinct value into its own cell, whose pixels
    are pasted over the legend's afterwards. The legend's Text artists hold the latest frame's texts."""

    def __init__(self, pic: Picture, background: np.ndarray, pixels_now: np.ndarray):
        self.pic, self.canvas, self.now = pic, pic.canvas, pixels_now
        legend = pic.legend
        pic.figure.draw_artist(legend)
        self.base = self.canvas.copy_from_bbox(legend.get_frame().get_window_extent().padded(1.5 * pic.scale))
        self.box = _region_box(self.base, pixels_now)
        self.texts = legend.get_texts()
        self.changing = [i for i, e in enumerate(pic.rows) if pic.changes(e)]
        self.drawn, self.shown = False, None
        self.cells: dict[tuple[int, str], object] = {}
        self.boxes: dict[int, Bbox] = {}
        if self.changing:
            renderer = self.canvas.get_renderer()
            areas = text_areas(legend)
            self.face = np.round(255 * np.asarray(to_rgba(legend.get_frame().get_facecolor()))).astype(np.uint8)
            for i in self.changing:
                box = (areas[i] or self.texts[i]).get_window_extent(renderer)
                self.boxes[i] = Bbox.from_extents(np.floor(box.x0) - 1, np.floor(box.y0) - 1,
                                                  np.ceil(box.x1) + 1, np.ceil(box.y1) + 1)
                self.cells[i, self.texts[i].get_text()] = self.canvas.copy_from_bbox(self.boxes[i])
        np.copyto(pixels_now, background)

    def draw(self, k: int) -> bool:
        """Paste the legend as at step ``k``; True if its text differs from the previous draw's."""
        self.canvas.restore_region(self.base)
        first, self.drawn = not self.drawn, True
        if not self.changing:
            return first
        labels = self.pic.labels(k)
        changed = first or labels != self.shown
        self.shown = labels
        for i in self.changing:
            text = labels[i]
            if self.texts[i].get_text() != text:
                self.texts[i].set_text(text)
            cell = self.cells.get((i, text))
            if cell is None:
                cell = self.cells[i, text] = self._cell(i)
            self.canvas.restore_region(cell)
        return changed

    def _cell(self, i: int):
        """Draw text ``i`` alone on the legend's face colour (in place: the frame being made shows it)."""
        box = self.boxes[i]
        height = self.now.shape[0]
        self.now[int(height - box.y1):int(height - box.y0), int(box.x0):int(box.x1)] = self.face
        self.pic.figure.draw_artist(self.texts[i])
        return self.canvas.copy_from_bbox(box)


class _Odometer:
    """The step counter from pixels cached once per digit (see ``figure.Counter``). The cells sit a whole number
    of pixels apart and text is placed on whole pixels, so a digit looks the same in every cell: it is drawn
    in the first and pasted, shifted, into the others."""

    def __init__(self, pic: Picture, background: np.ndarray, pixels_now: np.ndarray):
        c, canvas, draw = pic.counter, pic.canvas, pic.figure.draw_artist
        np.copyto(pixels_now, background)
        draw(c.box)
        draw(c.label)
        self.canvas = canvas
        self.base = canvas.copy_from_bbox(c.bounds)
        self.box = _region_box(self.base, pixels_now)
        self.shown: str | None = None
        shifts = [cell.x0 - c.cells[0].x0 for cell in c.cells]
        same = all(s == round(s) and cell.y0 == c.cells[0].y0 and text.get_position()[0] - c.digits[0].get_position()[0]
                   == s for s, cell, text in zip(shifts, c.cells, c.digits))
        self.cells = []
        for text, cell in zip(c.digits[:1] if same else c.digits, c.cells):
            glyphs = []
            for d in "0123456789":
                text.set_text(d)
                draw(text)
                glyphs.append(canvas.copy_from_bbox(cell))
                canvas.restore_region(self.base)
            self.cells.append(glyphs)
        x0, y0, _, _ = self.cells[0][0].get_extents()
        self.places = [(x0 + int(s), y0) for s in shifts] if same else [None] * len(c.cells)
        np.copyto(pixels_now, background)

    def draw(self, k: int) -> bool:
        """Paste the counter showing ``k``; True if that differs from the previous draw."""
        self.canvas.restore_region(self.base)
        for j, d in enumerate(str(k)):
            glyphs = self.cells[j if j < len(self.cells) else 0]
            self.canvas.restore_region(glyphs[int(d)], xy=self.places[j])
        changed, self.shown = str(k) != self.shown, str(k)
        return changed


def _region_box(region, pixels: np.ndarray) -> Box:
    """The (row0, row1, col0, col1) box of a saved canvas region, within the picture (a region may stick out)."""
    x0, y0, x1, y1 = region.get_extents()
    h, w = pixels.shape[:2]
    return min(max(y0, 0), h), min(max(y1, 0), h), min(max(x0, 0), w), min(max(x1, 0), w)


def _slices(box: Box) -> tuple[slice, slice]:
    return slice(box[0], box[1]), slice(box[2], box[3])


def _segment_boxes(pix: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel bounding boxes (low corners, high corners) of each segment, widened by what a line paints."""
    with np.errstate(invalid="ignore"):
        return np.minimum(pix[:-1], pix[1:]) - reach, np.maximum(pix[:-1], pix[1:]) + reach


def _pieces(points: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """The points of the given segment indices as one polyline, NaN rows between non-adjacent runs."""
    first, last = int(segments[0]), int(segments[-1])
    if last - first == len(segments) - 1:
        return points[first:last + 2]
    breaks = np.flatnonzero(np.diff(segments) > 1) + 1
    if not breaks.size:
        return points[segments[0]:segments[-1] + 2]
    gap = np.full((1, 2), np.nan)
    parts = []
    for piece in np.split(segments, breaks):
        parts += [points[piece[0]:piece[-1] + 2], gap]
    return np.concatenate(parts[:-1])
