"""How a picture looks, decided without matplotlib: colours, legend texts, contour levels and the layout of the
panels. ``figure.py`` turns these decisions into artists; keeping them apart means they can be tested (and
reused by other writers, such as a page that draws the paths itself) without building a figure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..scenes.record import RunSpec, entries, scene_entries

#: Okabe & Ito's colour-blind-safe set, in their order.
DEFAULT_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
STAR_COLOR = "#ff0000"
CONTOUR_GRID = 250         # contour grid per side unless the scene or its function says otherwise
SURFACE_GRID = 60
DECADES_FOR_LOG = 2.0      # a range spanning this many decades gets log-spaced levels, as in the post
AUTO_LEVELS = 20
GREY_TOP = 0.9             # the highest grey level stays visible on white (the post's lightest is ~231/255)
MAIN_BOX = (0.125, 0.125, 0.775, 0.755)   # the post's axes box
SWARM_ALPHA = 0.35         # a swarm's paths: faint and thin, so that where many runs go shows as darker
SWARM_WIDTH = 1.0
HEAD_SIZE = 5              # a swarm's current points (a lone run's dot is 7)
SWEEP_MAPS = ("viridis", "plasma", "cividis")   # colour maps of swept entries, in order
SWEEP_SPAN = (0.0, 0.85)   # the part of a map used: the palest end would vanish on white


# --- colours -------------------------------------------------------------------------------------------------

def run_colors(specs: Sequence[RunSpec], palette: Sequence[str] = (),
               colormap: Callable[[str, float], str] | None = None) -> list[str]:
    """Each run's colour as written: its own, else the scene palette cycled, else Okabe-Ito, in run order.
    The runs of a swarm share their entry's colour (and one palette slot). A swept run without a colour of its
    own is ``colormap(map name, position)``, its place along the sweep's first key (see ``sweeps``)."""
    palette = tuple(palette) or DEFAULT_PALETTE
    colors: list[str] = [""] * len(specs)
    i = 0
    swept = {j: (sweep.cmap, t) for sweep in sweeps(specs) for j, t in zip(sweep.members, sweep.positions)}
    for members in entries(specs):
        spec = specs[members[0]]
        if members[0] in swept and not spec.color and colormap is not None:
            color = colormap(*swept[members[0]])
        elif spec.color:
            color = spec.color
        else:
            color = palette[i % len(palette)]
            i += 1
        for j in members:
            colors[j] = color
    return colors


@dataclass(frozen=True)
class Sweep:
    """A swept entry's colour scale: its runs are placed along ``key`` (its first swept key), linearly or on a
    log scale (log when every value is positive and they span a decade or more)."""

    label: str
    key: str
    members: tuple[int, ...]        # run indices
    values: tuple[float, ...]       # each member's value of ``key``
    log: bool
    cmap: str

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    @property
    def positions(self) -> list[float]:
        """Each member's place along the colour map, within ``SWEEP_SPAN``."""
        v = np.asarray(self.values, dtype=float)
        lo, hi = (np.log10(self.low), np.log10(self.high)) if self.log else (self.low, self.high)
        x = np.log10(v) if self.log else v
        t = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
        return list(SWEEP_SPAN[0] + t * (SWEEP_SPAN[1] - SWEEP_SPAN[0]))


def sweeps(specs: Sequence[RunSpec]) -> list[Sweep]:
    """The swept entries of a scene, in order, each with its own colour map from ``SWEEP_MAPS``."""
    found = []
    for members in scene_entries(specs):
        first = specs[members[0]]
        if first.sweep is None:
            continue
        key = first.swept[0][0]
        values = tuple(float(dict(specs[j].swept)[key]) for j in members)
        log = min(values) > 0 and max(values) / min(values) >= 10
        found.append(Sweep(first.sweep, key, tuple(members), values, log, SWEEP_MAPS[len(found) % len(SWEEP_MAPS)]))
    return found


def sweep_label(sweep: Sweep, diverged: int) -> str:
    """'Adam, lr 0.0001..0.1 (24 runs)', with ', k diverged' when some runs left."""
    label = f"{sweep.label}, {sweep.key} {_number(sweep.low)}..{_number(sweep.high)} ({len(sweep.members)} runs)"
    if diverged:
        label += f", {diverged} diverged"
    return label


def group_label(name: str, specs: Sequence[RunSpec], diverged: int) -> str:
    """'SGD x16 (lr=0.0001..0.002)': runs grouped into one legend row when one row each would not fit."""
    lrs = [s.lr for s in specs]
    span = _number(min(lrs)) if min(lrs) == max(lrs) else f"{_number(min(lrs))}..{_number(max(lrs))}"
    label = f"{name} x{len(specs)} (lr={span})"
    if diverged:
        label += f", {diverged} diverged"
    return label


# --- legend texts --------------------------------------------------------------------------------------------

def run_label(spec: RunSpec, diverged_at: int | None = None, lr: float | None = None, show_lr: bool = True,
              off_plane: float | None = None) -> str:
    """'Adam (lr=0.7)', with ', diverged at step k' so a vanished run is explained in the legend (pass
    ``diverged_at`` only from the frame it happens on). ``lr``: the current lr of a scheduled run, shown instead
    of the initial one; a label that already names its lr ('Adam (lr=0.1)') is not told it twice. ``off_plane``:
    a network run's share hidden from the plane (``off_plane_share``)."""
    label = spec.label + (lr_text(spec, lr) if show_lr and not names_lr(spec.label) else "")
    if diverged_at is not None:
        label += f", diverged at step {diverged_at}"
    return label + off_plane_text(off_plane)


def swarm_label(spec: RunSpec, starts: int, diverged: int, lr: float | None = None, show_lr: bool = True,
                off_plane: float | None = None) -> str:
    """'Adam (lr=0.2), 60 starts', with ', k diverged' when some runs left."""
    shown = lr_text(spec, lr) if show_lr and not names_lr(spec.group) else ""
    label = f"{spec.group}{shown}, {starts} start{'s' if starts != 1 else ''}"
    if diverged:
        label += f", {diverged} diverged"
    return label + off_plane_text(off_plane)


def off_plane_share(runs) -> float | None:
    """How far the real weights of network runs get from the picture's plane: the largest distance from the
    plane along each path, as a share of that path's length in weight space (the worst of ``runs``). None
    for runs of a 2-D function, which are drawn where they are."""
    shares = [float(np.max(run.off_plane) / run.travelled[-1]) for run in runs
              if getattr(run, "off_plane", None) is not None and run.travelled[-1] > 0]
    return max(shares) if shares else None


def off_plane_text(share: float | None) -> str:
    if share is None:
        return ""
    return f", {'<1' if share < 0.005 else f'{100 * share:.0f}'}% off-plane"


def names_lr(label: str | None) -> bool:
    return "lr=" in (label or "")


def current_lr(lrs: np.ndarray | None, k: int | None) -> float | None:
    """The lr that made the latest step shown at step ``k`` (None before any step is chosen)."""
    if lrs is None or k is None or not len(lrs):
        return None
    return float(lrs[min(max(int(k) - 1, 0), len(lrs) - 1)])


def lr_text(spec: RunSpec, lr: float | None = None) -> str:
    return f" (lr={_number(spec.lr if lr is None else lr)})"


def _number(v) -> str:
    try:
        return f"{float(v):.3g}"
    except (TypeError, ValueError):
        return str(v)


# --- contour levels ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Levels:
    """Contour levels and how to colour them. ``base`` is subtracted before a log scale (0 when all > 0)."""

    values: np.ndarray
    log: bool
    base: float = 0.0

    def scaled(self, z: np.ndarray) -> np.ndarray:
        """Where ``z`` sits between the lowest and highest level, 0..1 (log or linear)."""
        lo, hi = self.values[0] - self.base, self.values[-1] - self.base
        v = np.asarray(z, dtype=float) - self.base
        if self.log:
            with np.errstate(all="ignore"):
                t = (np.log10(np.maximum(v, lo)) - np.log10(lo)) / max(np.log10(hi / lo), 1e-12)
        else:
            t = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
        return np.clip(t, 0.0, 1.0)

    def height(self, z: np.ndarray) -> np.ndarray:
        """A surface height that shows the same decades the contours show."""
        z = np.asarray(z, dtype=float)
        if not self.log:
            return z
        floor = (self.values[0] - self.base) / 10
        with np.errstate(all="ignore"):
            return np.log10(np.maximum(z - self.base, floor))

    def greys(self, dark: float = 0.0, light: float = GREY_TOP,
              shown: tuple[float, float] | None = None) -> list[tuple[float, float, float, float]]:
        """The post's look: low levels dark, high ones light, fading from grey ``dark`` (0 black) at the lowest
        level the view shows to ``light`` at the highest (``shown``: the view's lowest and highest value)."""
        inside = self.values
        if shown is not None:
            inside = self.values[(self.values >= shown[0]) & (self.values <= shown[1])]
        if inside.size < 2:
            inside = self.values
        t = Levels(inside, self.log, self.base).scaled(self.values) if inside.size > 1 else np.zeros(len(self.values))
        return [(g, g, g, 1.0) for g in dark + (light - dark) * t]


def contour_levels(z: np.ndarray, levels=None) -> Levels:
    """Levels for ``z`` (NaNs ignored). None/int: log-spaced when the range spans two decades, else linear.

    The low end of a log range is the value that 1% of the view lies below, not the grid's minimum:
    a grid point landing next to the exact minimum would otherwise spend half the levels on a dot.
    Functions reaching zero or below are shifted by their minimum (levels = fmin + logspace).
    """
    finite = z[np.isfinite(z)]
    if isinstance(levels, (list, tuple, np.ndarray)):
        values = np.asarray(levels, dtype=float)
        log = bool(values[0] > 0 and len(values) > 1 and values[-1] / values[0] >= 10 ** DECADES_FOR_LOG)
        return Levels(values, log)
    n = AUTO_LEVELS if levels is None else int(levels)
    if finite.size == 0:
        return Levels(np.linspace(0.0, 1.0, n), False)
    zmin, zmax = float(finite.min()), float(finite.max())
    base = 0.0 if zmin > 0 else zmin
    above = finite - base
    above = above[above > 0]
    if above.size:
        lo, hi = float(np.quantile(above, 0.01)), float(above.max())
        if hi / lo >= 10 ** DECADES_FOR_LOG:
            return Levels(base + np.geomspace(lo, hi, n), True, base)
    if zmax == zmin:
        zmax = zmin + 1.0
    return Levels(np.linspace(zmin, zmax, n + 2)[1:-1], False)


# --- layout --------------------------------------------------------------------------------------------------

def layout(panels: tuple[str, ...], size: tuple[int, int]) -> dict[str, tuple[float, float, float, float]]:
    """Axes boxes in figure fractions. ``size`` is the whole picture, so panels take room from the main plot:
    one panel sits beside it; two sit in columns on a wide picture (2:1 or wider), else stacked."""
    if not panels:
        return {"main": MAIN_BOX}
    if len(panels) == 1:
        side = (0.67, 0.125, 0.30, 0.755) if panels[0] == "loss" else (0.585, 0.07, 0.375, 0.84)
        return {"main": (0.075, 0.125, 0.52, 0.755), panels[0]: side}
    if size[0] >= 2 * size[1]:
        return {"main": (0.05, 0.125, 0.42, 0.755), "loss": (0.53, 0.125, 0.19, 0.755),
                "surface": (0.73, 0.1, 0.225, 0.78)}
    return {"main": (0.065, 0.125, 0.47, 0.755), "loss": (0.64, 0.60, 0.33, 0.28),
            "surface": (0.57, 0.0, 0.39, 0.52)}


# --- where the legend and the step counter go ---------------------------------------------------------------
# Decided once from the whole scene (every path, start and minimum marker), in display pixels (y up), so that
# neither box hides a start or a minimum at any frame and both cover as little of the paths as they can.

KEEP_OUT = 1e6      # cost per pixel of covering a start or a minimum marker: only if nowhere else will do
OFF_EDGE = 1e4      # cost of a box touching no edge of the plot (it floats over the picture)
GROUND_CELLS = 1024 # most grid cells along a side of the plot when scoring boxes
LEGEND_CORNERS = ("upper left", "upper right", "lower left", "lower right")   # the post's first
COUNTER_CORNERS = ("lower right", "upper right", "lower left", "upper left")


@dataclass(frozen=True)
class Box:
    """A rectangle in display pixels, y up."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1


class Ground:
    """What a box laid over the plot would cover: path pixels (weighted) and the pixels of starts and minimum
    markers, each on a grid with a summed-area table, so any box is scored in constant time. The grid has a
    cell per pixel up to ``GROUND_CELLS`` a side (larger pictures get coarser cells, so memory stays small)."""

    def __init__(self, frame: Box, paths: Sequence[tuple[np.ndarray, float]] = (),
                 marks: Sequence[tuple[float, float, float]] = ()):
        self.frame = frame
        self.x, self.y = float(np.floor(frame.x0)), float(np.floor(frame.y0))
        self.cell = max(1.0, max(frame.x1 - frame.x0, frame.y1 - frame.y0) / GROUND_CELLS)
        w = int(np.ceil((frame.x1 - self.x) / self.cell)) + 1
        h = int(np.ceil((frame.y1 - self.y) / self.cell)) + 1
        path = np.zeros((h, w))
        for points, weight in paths:
            xy = (_resampled(np.asarray(points, dtype=float), self.cell) - (self.x, self.y)) / self.cell
            xy = np.floor(xy[np.isfinite(xy).all(axis=1)]).astype(int)
            xy = xy[(xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)]
            np.add.at(path, (xy[:, 1], xy[:, 0]), weight * self.cell)
        keep = np.zeros((h, w))
        for x, y, r in marks:
            cx, cy = (x - self.x) / self.cell, (y - self.y) / self.cell
            r = r / self.cell
            if np.isfinite(cx) and np.isfinite(cy):
                keep[max(int(np.floor(cy - r)), 0):max(int(np.ceil(cy + r)) + 1, 0),
                     max(int(np.floor(cx - r)), 0):max(int(np.ceil(cx + r)) + 1, 0)] = 1.0
        self.path, self.keep = _summed(path), _summed(keep)

    def covered(self, x0, y0, x1, y1, table) -> np.ndarray:
        """The sum of ``table`` over boxes (arrays of corners, display pixels), clipped to the grid."""
        h, w = table.shape[0] - 1, table.shape[1] - 1
        a = np.clip(np.floor((np.asarray(x0) - self.x) / self.cell).astype(int), 0, w)
        b = np.clip(np.floor((np.asarray(y0) - self.y) / self.cell).astype(int), 0, h)
        c = np.clip(np.ceil((np.asarray(x1) - self.x) / self.cell).astype(int) + 1, 0, w)
        d = np.clip(np.ceil((np.asarray(y1) - self.y) / self.cell).astype(int) + 1, 0, h)
        return table[d, c] - table[b, c] - table[d, a] + table[b, a]

    def place(self, size: tuple[float, float], margin: float, corners: Sequence[str], pad: float = 0.0,
              avoid: Box | None = None, corners_only: bool = False, stride: float = 2.0) -> tuple[Box, float]:
        """The box of ``size`` (inside the frame, ``margin`` from it) covering the least, and its cost. Ties go to
        the corners in the order given, then to spots along an edge nearest a corner. ``corners_only`` tries
        the four corners first and the rest only if each corner would hide a start or a minimum."""
        w, h = size
        f = self.frame
        lo_x, hi_x = f.x0 + margin, max(f.x1 - margin - w, f.x0 + margin)
        lo_y, hi_y = f.y0 + margin, max(f.y1 - margin - h, f.y0 + margin)
        named = {"upper left": (lo_x, hi_y), "upper right": (hi_x, hi_y), "lower left": (lo_x, lo_y),
                 "lower right": (hi_x, lo_y)}
        spots = [named[c] for c in corners]
        if corners_only:
            box, cost = self._best(spots, len(spots), w, h, pad, avoid)
            if cost < KEEP_OUT:
                return box, cost
        stride = max(stride, self.cell)
        xs = np.unique(np.append(np.arange(lo_x, hi_x, stride), hi_x))
        ys = np.unique(np.append(np.arange(lo_y, hi_y, stride), hi_y))
        X, Y = (a.ravel() for a in np.meshgrid(xs, ys))
        spots += list(zip(X, Y))
        return self._best(spots, len(corners), w, h, pad, avoid)

    def _best(self, spots, ranked: int, w, h, pad, avoid) -> tuple[Box, float]:
        xy = np.asarray(spots, dtype=float)
        x0, y0 = xy[:, 0], xy[:, 1]
        x1, y1 = x0 + w, y0 + h
        cost = (self.covered(x0 - pad, y0 - pad, x1 + pad, y1 + pad, self.path)
                + KEEP_OUT * self.covered(x0 - pad, y0 - pad, x1 + pad, y1 + pad, self.keep))
        f = self.frame
        gaps = np.stack([x0 - f.x0, f.x1 - x1, y0 - f.y0, f.y1 - y1])
        cost = cost + OFF_EDGE * (gaps.min(axis=0) > gaps.min() + 0.5)
        corner = np.hypot(np.minimum(gaps[0], gaps[1]), np.minimum(gaps[2], gaps[3]))
        cost = cost + 1e-3 * corner + 1e-6 * np.where(np.arange(len(xy)) < ranked, np.arange(len(xy)), ranked)
        if avoid is not None:
            hit = (x0 < avoid.x1) & (avoid.x0 < x1) & (y0 < avoid.y1) & (avoid.y0 < y1)
            cost = cost + 100 * KEEP_OUT * hit
        i = int(np.argmin(cost))
        return Box(float(x0[i]), float(y0[i]), float(x1[i]), float(y1[i])), float(cost[i])


def _summed(grid: np.ndarray) -> np.ndarray:
    """Summed-area table with a zero first row and column: sum over [b:d, a:c] = T[d,c] - T[b,c] - T[d,a] + T[b,a]."""
    out = np.zeros((grid.shape[0] + 1, grid.shape[1] + 1))
    out[1:, 1:] = grid.cumsum(axis=0).cumsum(axis=1)
    return out


def _resampled(points: np.ndarray, step: float = 1.0) -> np.ndarray:
    """A polyline (N, 2) as points no more than ``step`` apart (NaN rows break it), for counting covered length."""
    if len(points) < 2:
        return points
    a, b = points[:-1], points[1:]
    with np.errstate(invalid="ignore"):
        n = np.ceil(np.hypot(*(b - a).T) / step)
    n = np.where(np.isfinite(n), np.clip(n, 1, 100_000), 0).astype(int)
    seg = np.repeat(np.arange(len(a)), n)
    t = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(np.maximum(n, 1), n)
    return np.concatenate([a[seg] + t[:, None] * (b[seg] - a[seg]), points[-1:]])


# --- a run that leaves the view ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Exit:
    """Where a run's path crosses out of the view: the step that is first outside, the crossing point on the
    edge, and the direction it was heading (a unit vector in data coordinates)."""

    step: int
    at: tuple[float, float]
    heading: tuple[float, float]


def inside(points: np.ndarray, xlim, ylim) -> np.ndarray:
    p = np.asarray(points, dtype=float)
    with np.errstate(invalid="ignore"):
        return ((p[..., 0] >= xlim[0]) & (p[..., 0] <= xlim[1]) & (p[..., 1] >= ylim[0]) & (p[..., 1] <= ylim[1]))


def exits(points: np.ndarray, xlim, ylim) -> list[Exit]:
    """Every step at which the path leaves the view, with the point on the edge where it crosses."""
    seen = inside(points, xlim, ylim)
    out = []
    for j in np.flatnonzero(seen[:-1] & ~seen[1:]):
        a, b = points[j], points[j + 1]
        d = b - a
        t = 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            for k, (lo, hi) in enumerate((xlim, ylim)):
                if d[k] > 0:
                    t = min(t, (hi - a[k]) / d[k])
                elif d[k] < 0:
                    t = min(t, (lo - a[k]) / d[k])
        norm = float(np.hypot(*d))
        heading = (float(d[0] / norm), float(d[1] / norm)) if norm > 0 and np.isfinite(norm) else (0.0, 1.0)
        out.append(Exit(int(j + 1), (float(a[0] + t * d[0]), float(a[1] + t * d[1])), heading))
    return out


def drawn_path(points: np.ndarray, xlim, ylim, diverged: bool) -> np.ndarray:
    """The points a run's line is drawn through: all of them, except that a diverged run's line ends where it
    last leaves the view (on the edge; NaN after), so its flight far outside is not drawn as lines across
    the picture. The dot and the legend tell the rest."""
    out = np.array(points, dtype=float)
    if not diverged:
        return out
    found = exits(out, xlim, ylim)
    if not found or inside(out[found[-1].step:], xlim, ylim).any():
        return out
    last = found[-1]
    out[last.step] = last.at
    out[last.step + 1:] = np.nan
    return out
