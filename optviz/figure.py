"""The picture: a static background (contours, minima, axes) and the few artists that move.

Everything here is built once per render. Moving artists are created ``animated=True`` so that
``canvas.draw()`` leaves them out of the cached background; ``frames.py`` draws them with ``draw_artist``.
Only ``Figure`` + ``FigureCanvasAgg`` are used (no pyplot), so renders in threads or processes never share state.
"""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, to_hex
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.offsetbox import TextArea
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox, IdentityTransform

from .errors import SceneError
from .simulate import Run, Trajectories, lr_schedule

DPI = 72
#: Okabe & Ito's colour-blind-safe set, in their order.
DEFAULT_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
STAR_COLOR = "#ff0000"
GRID = 250                 # contour grid per side: finer than the pixels a contour needs at 720 px
SURFACE_GRID = 60
DECADES_FOR_LOG = 2.0      # a range spanning this many decades gets log-spaced levels, as in the post
AUTO_LEVELS = 20
GREY_TOP = 0.9             # the highest grey level stays visible on white (the post's lightest is ~231/255)
MAIN_BOX = (0.125, 0.125, 0.775, 0.755)   # the post's axes box
SWARM_ALPHA = 0.35         # a swarm's paths: faint and thin, so that where many runs go shows as darker
SWARM_WIDTH = 1.0
HEAD_SIZE = 5              # a swarm's current points (a lone run's dot is 7)


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


@dataclass
class Track:
    """One run's moving artists (panel artists are None when the panel is off). The 2-D ones mostly carry
    style: frames.py draws their paths and dots straight to the renderer. A run of a swarm has no artists of
    its own (line and dot are None): its ``Swarm`` draws all of them at once."""

    run: Run
    color: str
    line: Line2D | None
    dot: Line2D | None
    loss_line: Line2D | None = None
    loss_dot: Line2D | None = None
    surf_line: object | None = None     # mpl_toolkits.mplot3d Line3D
    surf_dot: object | None = None
    height: np.ndarray | None = None    # the run's loss as a surface height
    lrs: np.ndarray | None = None       # the lr at each step, for a scheduled run (the legend shows it)

    @property
    def last(self) -> int:
        return len(self.run.points) - 1


@dataclass
class Swarm:
    """The runs of one entry with many starts: one colour, one legend entry, and one artist per layer for all
    of them (faint paths, bright heads), so that a frame costs a few draw calls however many runs there are."""

    tracks: list[Track]
    color: str
    lines: Line2D                       # style of the paths (frames.py draws them straight to the renderer)
    heads: Line2D                       # the current points, all in one marker-only line
    loss_lines: Line2D | None = None    # the panels' paths: pieces separated by NaN rows
    loss_heads: Line2D | None = None
    surf_lines: object | None = None
    surf_heads: object | None = None
    lrs: np.ndarray | None = None

    @property
    def last(self) -> int:
        return max(t.last for t in self.tracks)

    @property
    def diverged(self) -> int:
        return sum(t.run.diverged_at is not None for t in self.tracks)


@dataclass
class Picture:
    figure: Figure
    canvas: FigureCanvasAgg
    axes: object
    tracks: list[Track]                 # every run, in scene order
    counter: Counter | None
    legend: object | None
    levels: Levels
    loss_axes: object | None = None
    surface_axes: object | None = None
    entries: list | None = None         # legend entries in order: a lone run's Track, or a Swarm

    def __post_init__(self):
        if self.entries is None:
            self.entries = list(self.tracks)

    @property
    def steps(self) -> int:
        return max(t.last for t in self.tracks) if self.tracks else 0

    @property
    def scheduled(self) -> bool:
        """Whether some legend text changes during the animation (a scheduled lr)."""
        return any(e.lrs is not None for e in self.entries)

    def labels(self, k: int | None = None) -> list[str]:
        """The legend's texts at step ``k`` (None: the static ones)."""
        return [entry_label(e, k) for e in self.entries]

    def in_view(self, xy) -> bool:
        (x0, x1), (y0, y1) = self.axes.get_xlim(), self.axes.get_ylim()
        return bool(min(x0, x1) <= xy[0] <= max(x0, x1) and min(y0, y1) <= xy[1] <= max(y0, y1))


def groups(runs) -> list[list[int]]:
    """Run indices per legend entry: a lone run, or the consecutive runs of one swarm (``spec.group``)."""
    out: list[list[int]] = []
    for i, run in enumerate(runs):
        group = run.spec.group
        if out and group is not None and runs[out[-1][0]].spec.group == group:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def run_colors(traj: Trajectories) -> list[str]:
    """A run's own colour, else the scene palette cycled, else Okabe-Ito, in run order.
    The runs of a swarm share their entry's colour (and one palette slot)."""
    palette = tuple(traj.scene.palette) or DEFAULT_PALETTE
    colors: list[str] = [""] * len(traj.runs)
    i = 0
    for entry in groups(traj.runs):
        spec = traj.runs[entry[0]].spec
        if spec.color:
            color = to_hex(spec.color)
        else:
            color = to_hex(palette[i % len(palette)])
            i += 1
        for j in entry:
            colors[j] = color
    return colors


def run_label(run: Run, lr: float | None = None) -> str:
    """'Adam (lr=0.7)', with ', diverged at step k' so a vanished run is explained in the legend.
    ``lr``: the current lr of a scheduled run, shown instead of the initial one."""
    label = run.spec.label
    label += _lr_text(run.spec, lr)
    if run.diverged_at is not None:
        label += f", diverged at step {run.diverged_at}"
    return label


def swarm_label(swarm: Swarm, lr: float | None = None) -> str:
    """'Adam (lr=0.2), 60 starts', with ', k diverged' when some runs left."""
    spec = swarm.tracks[0].run.spec
    n = len(swarm.tracks)
    label = f"{spec.group}{_lr_text(spec, lr)}, {n} start{'s' if n != 1 else ''}"
    if swarm.diverged:
        label += f", {swarm.diverged} diverged"
    return label


def entry_label(entry: Track | Swarm, k: int | None = None) -> str:
    """An entry's legend text at step ``k``: a scheduled lr shows the value that made the latest step."""
    lr = None
    if entry.lrs is not None and k is not None and len(entry.lrs):
        lr = float(entry.lrs[min(max(int(k) - 1, 0), len(entry.lrs) - 1)])
    if isinstance(entry, Swarm):
        return swarm_label(entry, lr)
    return run_label(entry.run, lr)


def _lr_text(spec, lr: float | None) -> str:
    if lr is not None:
        return f" (lr={lr:.3g})"
    static = spec.hyperparameters.get("lr")
    return f" (lr={_number(static)})" if static is not None else ""


def _number(v) -> str:
    try:
        return f"{float(v):.3g}"
    except (TypeError, ValueError):
        return str(v)


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


def level_colors(levels: Levels, style: str) -> list:
    """Grey: low levels dark, high ones light, like the post. Otherwise the named colormap."""
    t = levels.scaled(levels.values)
    if style == "grey":
        return [(g, g, g, 1.0) for g in (GREY_TOP * t)]
    return [tuple(c) for c in _colormap(style)(t)]


def _colormap(style: str):
    try:
        return matplotlib.colormaps[style]
    except KeyError:
        raise SceneError(f"unknown style {style!r} (use 'grey' or a matplotlib colormap name)",
                         path="style") from None


def _surface_cmap(style: str):
    if style == "grey":
        return LinearSegmentedColormap.from_list("optviz-grey", [(0.25,) * 3, (0.95,) * 3])
    return _colormap(style)


def _layout(panels: tuple[str, ...], size: tuple[int, int]) -> dict[str, tuple[float, float, float, float]]:
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


def build(traj: Trajectories) -> Picture:
    """Create the figure and all its artists. Moving ones are ``animated``: left out of ``canvas.draw()``."""
    scene = traj.scene
    style = scene.style or "grey"
    if style != "grey":
        _colormap(style)
    width, height = scene.size
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    boxes = _layout(tuple(scene.panels), scene.size)
    ax = fig.add_axes(boxes["main"])

    (x0, x1), (y0, y1) = scene.xlim, scene.ylim
    X, Y = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
    with np.errstate(all="ignore"):
        Z = np.asarray(scene.function.value(np.stack([X, Y])), dtype=float)
    Z = np.where(np.isfinite(Z), Z, np.nan)
    levels = contour_levels(Z, scene.levels)
    ax.contour(X, Y, np.ma.masked_invalid(Z), levels=levels.values, colors=level_colors(levels, style),
               linewidths=1.2, zorder=1)
    minima = np.asarray(scene.function.minima, dtype=float).reshape(-1, 2)
    if len(minima):
        ax.plot(minima[:, 0], minima[:, 1], "*", color=STAR_COLOR, markersize=12, zorder=1.5, linestyle="none")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$x$")
    ax.set_ylabel("$y$")
    if scene.title:
        ax.set_title(scene.title)

    colors = run_colors(traj)
    tracks, entries = [], []
    for members in groups(traj.runs):
        color = colors[members[0]]
        spec = traj.runs[members[0]].spec
        lrs = lr_schedule(spec) if spec.schedule is not None else None
        if spec.group is None:
            run = traj.runs[members[0]]
            line, = ax.plot([], [], color=color, lw=2, solid_capstyle="round", solid_joinstyle="round",
                            snap=False, animated=True, zorder=2)
            dot, = ax.plot([], [], "o", color=color, markersize=7, animated=True, zorder=3)
            track = Track(run, color, line, dot, lrs=lrs)
            tracks.append(track)
            entries.append(track)
            continue
        members = [Track(traj.runs[i], color, None, None) for i in members]
        lines, = ax.plot([], [], color=color, lw=SWARM_WIDTH, alpha=SWARM_ALPHA, solid_capstyle="butt",
                         solid_joinstyle="round", snap=False, animated=True, zorder=2)
        heads, = ax.plot([], [], "o", linestyle="none", color=color, markersize=HEAD_SIZE, animated=True, zorder=3)
        tracks.extend(members)
        entries.append(Swarm(members, color, lines, heads, lrs=lrs))

    pic = Picture(fig, canvas, ax, tracks, None, None, levels, entries=entries)
    if scene.legend and scene.legend != "none":
        handles = [Line2D([], [], color=e.color, lw=2) if isinstance(e, Track) else
                   Line2D([], [], color=e.color, lw=1.5, marker="o", markersize=HEAD_SIZE) for e in entries]
        pic.legend = ax.legend(handles, pic.labels(0), loc=scene.legend, framealpha=1.0)
        pic.legend.set_animated(True)
        if pic.scheduled:
            _reserve_widths(pic)
    if "loss" in boxes:
        pic.loss_axes = _loss_panel(fig, boxes["loss"], pic)
    if "surface" in boxes:
        pic.surface_axes = _surface_panel(fig, boxes["surface"], scene, levels, pic, style)
    pic.counter = _counter(pic, _place_legend(pic, best=scene.legend == "best"))
    return pic


def _reserve_widths(pic: Picture) -> None:
    """Give each changing legend text the width of its widest version, so that the legend keeps its size
    (and its place) while the lr in it changes: the legend's packers size each row from its TextArea's bbox."""
    renderer = pic.canvas.get_renderer()
    for entry, text, area in zip(pic.entries, pic.legend.get_texts(), text_areas(pic.legend)):
        if entry.lrs is None or area is None:
            continue
        first = text.get_text()
        width = 0.0
        for version in dict.fromkeys(entry_label(entry, k) for k in range(len(entry.lrs) + 1)):
            text.set_text(version)
            width = max(width, area.get_bbox(renderer).width)
        text.set_text(first)
        area.get_bbox = _at_least(area.get_bbox, width)


def text_areas(legend) -> list[TextArea | None]:
    """The legend's TextArea boxes, one per text (in the order of ``legend.get_texts()``)."""
    areas = {id(a.get_children()[0]): a for a in _offsetboxes(legend) if isinstance(a, TextArea)}
    return [areas.get(id(text)) for text in legend.get_texts()]


def _offsetboxes(artist):
    for child in artist.get_children():
        yield child
        if not isinstance(child, Text):
            yield from _offsetboxes(child)


def _at_least(get_bbox, width: float):
    def widened(renderer):
        box = get_bbox(renderer)
        return Bbox.from_bounds(box.x0, box.y0, max(box.width, width), box.height)
    return widened


def _loss_panel(fig: Figure, box, pic: Picture):
    """Loss against step, on a log scale when the losses shown span decades."""
    tracks = pic.tracks
    ax = fig.add_axes(box)
    steps = max(t.last for t in tracks) if tracks else 1
    shown = []
    (x0, x1), (y0, y1) = pic.axes.get_xlim(), pic.axes.get_ylim()
    for t in tracks:
        p, loss = t.run.points, np.asarray(t.run.loss, dtype=float)
        inside = (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)
        inside[0] = True
        shown.append(loss[inside & np.isfinite(loss)])
    values = np.concatenate(shown) if shown else np.array([1.0])
    values = values if values.size else np.array([1.0])
    lo, hi = float(values.min()), float(values.max())
    positive = values[values > 0]
    if lo >= 0 and positive.size and positive.max() / positive.min() >= 10 ** DECADES_FOR_LOG:
        ax.set_yscale("log")  # a loss of exactly 0 (a run that lands on the minimum) just leaves the plot
        ax.set_ylim(positive.min() / 2, hi * 2)
    else:
        pad = (hi - lo) * 0.05 or max(abs(hi), 1.0) * 0.05
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(0, max(steps, 1))
    ax.set_xlabel("step", fontsize=9)
    ax.set_ylabel("loss", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(True, color="0.92", lw=0.8)
    for e in pic.entries:
        if isinstance(e, Track):
            e.loss_line, = ax.plot([], [], color=e.color, lw=1.5, solid_capstyle="round", animated=True)
            e.loss_dot, = ax.plot([], [], "o", color=e.color, markersize=5, animated=True)
        else:
            e.loss_lines, = ax.plot([], [], color=e.color, lw=SWARM_WIDTH, alpha=SWARM_ALPHA, solid_capstyle="butt",
                                    animated=True)
            e.loss_heads, = ax.plot([], [], "o", linestyle="none", color=e.color, markersize=3, animated=True)
    return ax


def _surface_panel(fig: Figure, box, scene, levels: Levels, pic: Picture, style: str):
    """The function as a 3-D surface (drawn once), with each run's path at its loss height."""
    from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  (registers the projection)

    ax = fig.add_axes(box, projection="3d")
    (x0, x1), (y0, y1) = scene.xlim, scene.ylim
    X, Y = np.meshgrid(np.linspace(x0, x1, SURFACE_GRID), np.linspace(y0, y1, SURFACE_GRID))
    with np.errstate(all="ignore"):
        Z = levels.height(scene.function.value(np.stack([X, Y])))
    Z = np.where(np.isfinite(Z), Z, np.nan)
    ax.plot_surface(X, Y, Z, cmap=_surface_cmap(style), linewidth=0, antialiased=False, rcount=40, ccount=40,
                    alpha=0.9)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    zmin, zmax = float(np.nanmin(Z)), float(np.nanmax(Z))
    ax.set_zlim(zmin, zmax if zmax > zmin else zmin + 1)
    ax.set_zlabel(r"$\log_{10}$ loss" if levels.log and levels.base == 0 else
                  r"$\log_{10}(f - f_{min})$" if levels.log else "loss", fontsize=8)
    ax.tick_params(labelsize=7, pad=0)
    ax.locator_params(nbins=5)
    for t in pic.tracks:
        with np.errstate(all="ignore"):
            h = levels.height(np.asarray(t.run.loss, dtype=float))
        t.height = np.where(np.isfinite(h), h, np.nan)
    for e in pic.entries:
        if isinstance(e, Track):
            e.surf_line, = ax.plot([], [], [], color=e.color, lw=1.5, animated=True, axlim_clip=True)
            e.surf_dot, = ax.plot([], [], [], "o", color=e.color, markersize=5, animated=True, axlim_clip=True)
        else:
            e.surf_lines, = ax.plot([], [], [], color=e.color, lw=SWARM_WIDTH, alpha=SWARM_ALPHA, animated=True,
                                    axlim_clip=True)
            e.surf_heads, = ax.plot([], [], [], "o", linestyle="none", color=e.color, markersize=3, animated=True,
                                    axlim_clip=True)
    return ax


@dataclass
class Counter:
    """'step k' in a white box, one Text per digit at fixed pixel cells: frames.py renders each digit once per
    cell and pastes pixels afterwards, since laying out text costs more than all else in a frame."""

    box: Rectangle
    label: Text
    digits: list[Text]
    bounds: Bbox            # the box, display pixels
    cells: list[Bbox]       # each digit's cell, display pixels


COUNTER_MARGIN = 6          # pixels between the counter box and the axes frame


def _counter(pic: Picture, legend_box: Bbox | None) -> Counter:
    """Build the counter in the first corner of the main axes that the legend leaves free."""
    renderer = pic.canvas.get_renderer()
    prop = FontProperties(size="medium")

    def extent(s: str) -> tuple[float, float, float]:
        return renderer.get_text_width_height_descent(s, prop, ismath=False)

    advance = extent("0" * 10)[0] - extent("0" * 9)[0]
    cell = int(np.ceil(advance))
    label_w = int(np.ceil(extent("step")[0]))
    gap = max(int(round(extent("step 0")[0] - extent("step")[0] - extent("0")[0])), 2)
    _, height, descent = extent("step 0123456789")
    pad = 3
    n = len(str(max(pic.steps, 0)))
    w = label_w + gap + n * cell + 2 * pad
    h = int(np.ceil(height)) + 2 * pad
    ax = pic.axes.get_window_extent(renderer)
    left, right = ax.x0 + COUNTER_MARGIN, ax.x1 - COUNTER_MARGIN - w
    bottom, top = ax.y0 + COUNTER_MARGIN, ax.y1 - COUNTER_MARGIN - h
    corners = [(right, bottom), (right, top), (left, bottom), (left, top)]
    for x0, y0 in corners:
        bounds = Bbox.from_bounds(round(x0), round(y0), w, h)
        if legend_box is None or not legend_box.overlaps(bounds):
            break
    else:
        bounds = Bbox.from_bounds(round(corners[0][0]), round(corners[0][1]), w, h)
    x0, y0 = bounds.x0, bounds.y0
    fig = pic.figure
    pixels = IdentityTransform()
    box = fig.add_artist(Rectangle((x0, y0), w, h, transform=pixels, facecolor="white", edgecolor="none",
                                   animated=True))
    baseline = y0 + pad + int(round(descent))
    label = fig.text(x0 + pad, baseline, "step", transform=pixels, fontproperties=prop, va="baseline",
                     animated=True)
    first = x0 + pad + label_w + gap
    digits = [fig.text(first + j * cell, baseline, "0", transform=pixels, fontproperties=prop, va="baseline",
                       animated=True) for j in range(n)]
    cells = [Bbox.from_bounds(first + j * cell, y0, cell, h) for j in range(n)]
    return Counter(box, label, digits, bounds, cells)


def _place_legend(pic: Picture, best: bool) -> Bbox | None:
    """Fix the legend's place once ('best' would otherwise move as the lines grow); return its extent."""
    if pic.legend is None:
        return None
    renderer = pic.canvas.get_renderer()
    if best:  # judge against the finished paths
        for e in pic.entries:
            xy = e.run.points if isinstance(e, Track) else _joined([t.run.points for t in e.tracks])
            (e.line if isinstance(e, Track) else e.lines).set_data(xy[:, 0], xy[:, 1])
        box = pic.legend.get_window_extent(renderer)
        for e in pic.entries:
            (e.line if isinstance(e, Track) else e.lines).set_data([], [])
        frac = box.transformed(pic.axes.transAxes.inverted())
        pic.legend.set_loc((frac.x0, frac.y0))
    return pic.legend.get_window_extent(renderer).padded(6)


def _joined(pieces: list[np.ndarray]) -> np.ndarray:
    """Polylines as one, NaN rows between them (a line with gaps)."""
    gap = np.full((1, pieces[0].shape[1]), np.nan)
    return np.concatenate([part for piece in pieces for part in (piece, gap)][:-1])


def to_pixel(pic: Picture, xy) -> tuple[float, float]:
    """Data coordinates -> (column, row) in the rendered image, row 0 at the top."""
    x, y = pic.axes.transData.transform(np.asarray(xy, dtype=float))
    return float(x), float(pic.canvas.get_width_height()[1] - y)
