"""The picture: a static background (contours, minima, axes) and the few artists that move.

Everything here is built once per render. Moving artists are created ``animated=True`` so that
``canvas.draw()`` leaves them out of the cached background; ``frames.py`` draws them with ``draw_artist``.
Only ``Figure`` + ``FigureCanvasAgg`` are used (no pyplot), so renders in threads or processes never share state.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Affine2D, Bbox, IdentityTransform

from ..scenes.record import entries as entry_members
from ..simulate import Run, Trajectories
from . import look
from ._mpl_internals import at_least_width, text_areas
from .look import HEAD_SIZE, STAR_COLOR, SURFACE_GRID, SWARM_ALPHA, SWARM_WIDTH, Levels, contour_levels

DPI = 72


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
    path: np.ndarray | None = None      # the points its line goes through (look.drawn_path)
    exits: list = field(default_factory=list)    # look.Exit: where it leaves the view
    arrows: list = field(default_factory=list)   # one marker per exit, at the edge, pointing where it went

    def __post_init__(self):
        if self.path is None:
            self.path = self.run.points

    @property
    def last(self) -> int:
        return len(self.run.points) - 1

    def arrow_at(self, k: int) -> int | None:
        """The exit whose arrow shows at step ``k`` (the latest one, while the run is out of view), or None."""
        shown = None
        for i, e in enumerate(self.exits):
            if e.step <= k:
                shown = i
        return shown


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
        return self.diverged_by(None)

    def diverged_by(self, k: int | None) -> int:
        return diverged_by(self.tracks, k)


def diverged_by(tracks: list[Track], k: int | None) -> int:
    """How many of the runs have diverged by step ``k`` (None: by the end)."""
    return sum(t.run.diverged_at is not None and (k is None or t.run.diverged_at <= k) for t in tracks)


@dataclass
class Group:
    """Runs shown as one legend row: a swept entry (``sweep`` set: coloured along its map, with a colour bar),
    or lone runs of one optimizer when a row each would not fit the picture."""

    tracks: list[Track]
    color: str
    text: str
    sweep: look.Sweep | None = None
    lrs: np.ndarray | None = None       # never changes: a group shows its range, not a current lr
    told: Callable[[int], str] | None = None    # the text for a count of diverged runs (told as they diverge)

    @property
    def last(self) -> int:
        return max(t.last for t in self.tracks)

    def text_at(self, k: int | None) -> str:
        """The row's text at step ``k`` (None: after the last), counting the runs diverged by then."""
        if self.told is None:
            return self.text
        return self.told(diverged_by(self.tracks, k))


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
    entries: list | None = None         # what frames draw, in order: a lone run's Track, or a Swarm
    scale: float = 1.0                  # pixels per point (the scene's resolution multiplier)
    rows: list | None = None            # legend rows in order: an entry, or a Group of runs
    show_lr: bool = True
    stars: Line2D | None = None         # the minima's markers

    def __post_init__(self):
        if self.entries is None:
            self.entries = list(self.tracks)
        if self.rows is None:
            self.rows = list(self.entries)

    @property
    def steps(self) -> int:
        return max(t.last for t in self.tracks) if self.tracks else 0

    def changes(self, row: Track | Swarm | Group) -> bool:
        """Whether a legend row's text changes during the animation (a scheduled lr, or a divergence told on
        the frame it happens; a group counts its diverged runs as they diverge)."""
        if isinstance(row, Group):
            return row.told is not None and any(t.run.diverged_at is not None for t in row.tracks)
        if row.lrs is not None:
            return True
        return row.run.diverged_at is not None if isinstance(row, Track) else row.diverged > 0

    def labels(self, k: int | None = None) -> list[str]:
        """The legend's texts at step ``k`` (None: after the last step)."""
        return [entry_label(e, k, self.show_lr) for e in self.rows]

    def in_view(self, points):
        """Whether each point (..., 2) lies in the view, its edges included (NaN does not); a bool for one point."""
        (x0, x1), (y0, y1) = self.axes.get_xlim(), self.axes.get_ylim()
        inside = look.inside(points, (min(x0, x1), max(x0, x1)), (min(y0, y1), max(y0, y1)))
        return bool(inside) if np.ndim(inside) == 0 else inside


def run_colors(traj: Trajectories) -> list[str]:
    """Each run's colour as hex (``look.run_colors`` picks them; a swept run's comes from its colour map)."""
    def along(cmap: str, t: float) -> str:
        return to_hex(matplotlib.colormaps[cmap](t))

    return [to_hex(c) for c in look.run_colors([r.spec for r in traj.runs], traj.scene.palette, along)]


def told_steps(row: Track | Swarm | Group) -> list[int]:
    """The steps from which a legend row's text reads differently, its lr aside: 0 and each of its runs'
    divergence (which can lie past the run's last kept point, when the point it flew to was not finite)."""
    tracks = [row] if isinstance(row, Track) else row.tracks
    return sorted({0} | {t.run.diverged_at for t in tracks if t.run.diverged_at is not None})


def entry_label(entry: Track | Swarm | Group, k: int | None = None, show_lr: bool = True,
                lr: float | str | None = None) -> str:
    """An entry's legend text at step ``k`` (None: after the last): a scheduled lr shows the value that made the
    latest step, and a divergence is told from the step it happens on. ``lr`` overrides the lr (the HTML page
    passes a placeholder that its player fills in at each step)."""
    if isinstance(entry, Group):
        return entry.text_at(k) + look.off_plane_text(look.off_plane_share([t.run for t in entry.tracks]))
    lr = look.current_lr(entry.lrs, k) if lr is None else lr
    if isinstance(entry, Swarm):
        return look.swarm_label(entry.tracks[0].run.spec, len(entry.tracks), entry.diverged_by(k), lr, show_lr,
                                look.off_plane_share([t.run for t in entry.tracks]))
    at = entry.run.diverged_at
    return look.run_label(entry.run.spec, at if at is not None and (k is None or k >= at) else None, lr, show_lr,
                          look.off_plane_share([entry.run]))


def level_colors(levels: Levels, style: str, greys: tuple[float, float] = (0.0, look.GREY_TOP),
                 shown: tuple[float, float] | None = None) -> list:
    """Grey: low levels dark, high ones light, like the post, fading over the levels the view shows
    (``shown``: its lowest and highest value). Otherwise the named colormap."""
    if style == "grey":
        return levels.greys(*greys, shown=shown)
    return [tuple(c) for c in matplotlib.colormaps[style](levels.scaled(levels.values))]


def _surface_cmap(style: str):
    if style == "grey":
        return LinearSegmentedColormap.from_list("optviz-grey", [(0.25,) * 3, (0.95,) * 3])
    return matplotlib.colormaps[style]


def _variable(label: str) -> str:
    """A one-letter label names a variable: italic, as maths sets it. Plain text in DejaVu Sans Oblique draws the
    glyphs ``$x$`` would, without building matplotlib's math parser (about 0.025 s, a twentieth of a render)."""
    return "italic" if len(label) == 1 else "normal"


def build(traj: Trajectories) -> Picture:
    """Create the figure and all its artists. Moving ones are ``animated``: left out of ``canvas.draw()``."""
    scene = traj.scene
    style = scene.style
    width, height = scene.size
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI * scene.scale, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    boxes = look.layout(tuple(scene.panels), scene.size)
    ax = fig.add_axes(boxes["main"])

    (x0, x1), (y0, y1) = scene.xlim, scene.ylim
    grid = scene.contour_grid or scene.function.grid or look.CONTOUR_GRID
    X, Y = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
    with np.errstate(all="ignore"):
        Z = np.asarray(scene.function.value(np.stack([X, Y])), dtype=float)
    Z = np.where(np.isfinite(Z), Z, np.nan)
    levels = contour_levels(Z, scene.levels)
    finite = Z[np.isfinite(Z)]
    shown = (float(finite.min()), float(finite.max())) if finite.size else None
    ax.contour(X, Y, np.ma.masked_invalid(Z), levels=levels.values,
               colors=level_colors(levels, style, scene.contour_greys, shown), linewidths=scene.contour_width,
               zorder=1)
    minima = np.asarray(scene.function.minima, dtype=float).reshape(-1, 2)
    stars = None
    if len(minima):
        stars, = ax.plot(minima[:, 0], minima[:, 1], "*", color=STAR_COLOR, markersize=12, zorder=1.5,
                         linestyle="none")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    xlabel, ylabel = scene.function.axes
    ax.set_xlabel(xlabel, fontstyle=_variable(xlabel))
    ax.set_ylabel(ylabel, fontstyle=_variable(ylabel))
    if scene.title and scene.show_title:
        ax.set_title(scene.title)

    colors = run_colors(traj)
    tracks, entries = [], []
    for members in entry_members([r.spec for r in traj.runs]):
        color = colors[members[0]]
        first = traj.runs[members[0]]
        lrs = first.lrs if first.spec.schedule is not None else None
        if first.spec.group is None:
            run = first
            line, = ax.plot([], [], color=color, lw=2, solid_capstyle="round", solid_joinstyle="round",
                            snap=False, animated=True, zorder=2)
            dot, = ax.plot([], [], "o", color=color, markersize=7, animated=True, zorder=3)
            track = Track(run, color, line, dot, lrs=lrs,
                          path=look.drawn_path(run.points, scene.xlim, scene.ylim, run.diverged_at is not None),
                          exits=look.exits(run.points, scene.xlim, scene.ylim))
            track.arrows = [_arrow(ax, e, color, scene.scale) for e in track.exits]
            tracks.append(track)
            entries.append(track)
            continue
        members = [Track(traj.runs[i], color, None, None,
                         path=look.drawn_path(traj.runs[i].points, scene.xlim, scene.ylim,
                                              traj.runs[i].diverged_at is not None)) for i in members]
        lines, = ax.plot([], [], color=color, lw=SWARM_WIDTH, alpha=SWARM_ALPHA, solid_capstyle="butt",
                         solid_joinstyle="round", snap=False, animated=True, zorder=2)
        heads, = ax.plot([], [], "o", linestyle="none", color=color, markersize=HEAD_SIZE, animated=True, zorder=3)
        tracks.extend(members)
        entries.append(Swarm(members, color, lines, heads, lrs=lrs))

    pic = Picture(fig, canvas, ax, tracks, None, None, levels, entries=entries, scale=scene.scale,
                  rows=_sweep_rows(entries, traj), show_lr=scene.show_lr)
    pic.stars = stars
    _colour_bars(pic, boxes["main"])
    if scene.legend and scene.legend != "none":
        _legend(pic, "upper left" if scene.legend == "auto" else scene.legend,
                tuple(scene.palette) or look.DEFAULT_PALETTE)
    if "loss" in boxes:
        pic.loss_axes = _loss_panel(fig, boxes["loss"], pic)
    if "surface" in boxes:
        costly = (X, Y, Z) if scene.function.grid is not None else None   # asked for a coarse grid: reuse it
        pic.surface_axes = _surface_panel(fig, boxes["surface"], scene, levels, pic, style, costly)
    ground = _ground(pic)
    legend_box = _place_legend(pic, best=scene.legend == "best", ground=ground if scene.legend == "auto" else None)
    pic.counter = _counter(pic, legend_box, ground) if scene.show_counter else None
    return pic


def _sweep_rows(entries: list, traj: Trajectories) -> list:
    """Legend rows: one per entry, except that a swept entry's runs are one row (its colour bar tells them apart)."""
    rows: list = []
    by_run = {id(e.run): e for e in entries if isinstance(e, Track)}
    for sweep in look.sweeps([r.spec for r in traj.runs]):
        members = [by_run[id(traj.runs[i])] for i in sweep.members]
        diverged = sum(t.run.diverged_at is not None for t in members)
        color = to_hex(matplotlib.colormaps[sweep.cmap]((look.SWEEP_SPAN[0] + look.SWEEP_SPAN[1]) / 2))
        rows.append(Group(members, color, look.sweep_label(sweep, diverged), sweep,
                          told=functools.partial(look.sweep_label, sweep)))
    grouped = {id(t) for g in rows for t in g.tracks}
    out, placed = [], set()
    for e in entries:
        if id(e) not in grouped:
            out.append(e)
            continue
        group = next(g for g in rows if any(t is e for t in g.tracks))
        if id(group) not in placed:
            placed.add(id(group))
            out.append(group)
    return out


def _by_optimizer(pic: Picture, palette) -> list:
    """Lone runs grouped into one legend row per optimizer (sweeps and swarms stay as they are), each group in
    one colour: the rows a legend has room for when every run cannot have its own."""
    from ..maths.optimizers import OPTIMIZERS  # lazy: only crowded legends need the registry's display names

    groups: dict[str, list[Track]] = {}
    for row in pic.rows:
        if isinstance(row, Track) and row.run.spec.color is None:
            groups.setdefault(row.run.spec.optimizer, []).append(row)
    rows, placed = [], set()
    colors = iter(palette)
    made = {}
    for name, members in groups.items():
        color = next(colors, None) or look.DEFAULT_PALETTE[len(made) % len(look.DEFAULT_PALETTE)]
        diverged = sum(t.run.diverged_at is not None for t in members)
        specs = [t.run.spec for t in members]
        made[name] = Group(members, color, look.group_label(OPTIMIZERS[name].label, specs, diverged),
                           told=functools.partial(look.group_label, OPTIMIZERS[name].label, specs))
        for t in members:
            t.color = color
            for artist in (t.line, t.dot, *t.arrows):
                artist.set_color(color)
    for row in pic.rows:
        name = row.run.spec.optimizer if isinstance(row, Track) and row.run.spec.color is None else None
        if name is None:
            rows.append(row)
        elif name not in placed:
            placed.add(name)
            rows.append(made[name])
    return rows


def _legend(pic: Picture, loc: str, palette) -> None:
    """The legend, kept inside the picture: when a row per run is taller than the axes, lone runs are grouped
    per optimizer, and rows that still do not fit are summed up in a last one."""
    def make():
        handles = [Line2D([], [], color=e.color, lw=1.5, marker="o", markersize=HEAD_SIZE) if isinstance(e, Swarm)
                   else Line2D([], [], color=e.color, lw=2) for e in pic.rows]
        if pic.legend is not None:
            pic.legend.remove()
        pic.legend = pic.axes.legend(handles, pic.labels(0), loc=loc, framealpha=1.0)
        pic.legend.set_animated(True)
        return pic.legend.get_window_extent(pic.canvas.get_renderer()).height

    room = pic.axes.get_window_extent(pic.canvas.get_renderer()).height
    if make() > room and len(pic.rows) > 1:
        pic.rows = _by_optimizer(pic, palette)
        while make() > room and len(pic.rows) > 2:
            hidden = pic.rows[-2:]
            tracks = [t for r in hidden for t in (r.tracks if not isinstance(r, Track) else [r])]
            pic.rows = pic.rows[:-2] + [Group(tracks, "#ffffff", f"... and {len(tracks)} more runs")]
    if any(pic.changes(row) for row in pic.rows):
        _reserve_widths(pic)


def _colour_bars(pic: Picture, box) -> None:
    """A colour bar per swept entry (stacked beside the main axes), for the values its colours stand for."""
    sweeps = [row.sweep for row in pic.rows if isinstance(row, Group) and row.sweep is not None]
    if not sweeps:
        return
    from matplotlib.cm import ScalarMappable  # lazy: only sweeps draw colour bars
    from matplotlib.colors import ListedColormap, LogNorm, Normalize  # lazy: as above

    x0, y0, w, h = box
    gap = 0.04 * h
    each = (h - gap * (len(sweeps) - 1)) / len(sweeps)
    for i, sweep in enumerate(sweeps):
        full = matplotlib.colormaps[sweep.cmap]
        span = ListedColormap(full(np.linspace(*look.SWEEP_SPAN, 256)))
        norm = (LogNorm if sweep.log else Normalize)(sweep.low, sweep.high)
        cax = pic.figure.add_axes((x0 + w + 0.012, y0 + h - (i + 1) * each - i * gap, 0.014, each))
        bar = pic.figure.colorbar(ScalarMappable(norm, span), cax=cax)
        bar.ax.tick_params(labelsize=7)
        cax.set_title(sweep.key, fontsize=8, loc="left")


ARROW_SIZE = 9      # points: a little larger than the dot it stands in for


def _arrow(ax, exit: look.Exit, color: str, scale: float) -> Line2D:
    """A triangle just inside the view where the run crossed its edge, pointing the way the run went."""
    a = ax.transData.transform(exit.at)
    d = ax.transData.transform(np.add(exit.at, exit.heading)) - a    # the data-to-pixel map is affine
    d = d / max(float(np.hypot(*d)), 1e-300)
    tip = a - d * (ARROW_SIZE / 2) * scale * 0.9
    xy = ax.transData.inverted().transform(tip)
    angle = float(np.degrees(np.arctan2(d[1], d[0]))) - 90.0
    line, = ax.plot([xy[0]], [xy[1]], marker=(3, 0, angle), markersize=ARROW_SIZE, color=color, linestyle="none",
                    animated=True, zorder=3)
    return line


def _reserve_widths(pic: Picture) -> None:
    """Give each changing legend text the width of its widest version, so that the legend keeps its size
    (and its place) while the lr in it changes or a divergence is told: the legend's packers size each row
    from its TextArea's bbox."""
    renderer = pic.canvas.get_renderer()
    for entry, text, area in zip(pic.rows, pic.legend.get_texts(), text_areas(pic.legend)):
        if not pic.changes(entry) or area is None:
            continue
        first = text.get_text()
        width = 0.0
        steps = told_steps(entry)
        if entry.lrs is not None:       # a scheduled lr: the text may change at every step
            steps = sorted(set(steps) | set(range(entry.last + 1)))
        for version in dict.fromkeys(entry_label(entry, k, pic.show_lr) for k in steps):
            text.set_text(version)
            width = max(width, area.get_bbox(renderer).width)
        text.set_text(first)
        at_least_width(area, width)


LOSS_DECADES = 12       # a log loss panel shows at most this many decades below the highest loss


def _loss_panel(fig: Figure, box, pic: Picture):
    """Loss against step, on a log scale when the losses shown span decades."""
    tracks = pic.tracks
    ax = fig.add_axes(box)
    steps = max(t.last for t in tracks) if tracks else 1
    shown = [loss[np.isfinite(loss)] for loss in (np.asarray(t.run.loss, dtype=float) for t in tracks)]
    values = np.concatenate(shown) if shown else np.array([1.0])   # runs out of view too: a rise is seen rising
    values = values if values.size else np.array([1.0])
    lo, hi = float(values.min()), float(values.max())
    positive = values[values > 0]
    if lo >= 0 and positive.size and positive.max() / positive.min() >= 10 ** look.DECADES_FOR_LOG:
        ax.set_yscale("log")  # a loss of exactly 0 (a run that lands on the minimum) just leaves the plot
        ax.set_ylim(max(positive.min() / 2, hi * 10.0 ** -LOSS_DECADES), hi * 2)
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


def _surface_panel(fig: Figure, box, scene, levels: Levels, pic: Picture, style: str, grid=None):
    """The function as a 3-D surface (drawn once), with each run's path at its loss height. ``grid``: the
    contours' (X, Y, Z), for a function too costly to evaluate twice."""
    from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  lazy: registers the 3-D projection, only for this panel

    ax = fig.add_axes(box, projection="3d")
    (x0, x1), (y0, y1) = scene.xlim, scene.ylim
    if grid is None:
        X, Y = np.meshgrid(np.linspace(x0, x1, SURFACE_GRID), np.linspace(y0, y1, SURFACE_GRID))
        with np.errstate(all="ignore"):
            Z = levels.height(scene.function.value(np.stack([X, Y])))
    else:
        X, Y, Z = grid[0], grid[1], levels.height(grid[2])
    Z = np.where(np.isfinite(Z), Z, np.nan)
    ax.plot_surface(X, Y, Z, cmap=_surface_cmap(style), linewidth=0, antialiased=False, rcount=40, ccount=40,
                    alpha=0.9)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    finite = Z[np.isfinite(Z)]     # a view where the function overflows everywhere has no heights at all
    zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
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


def _counter(pic: Picture, legend_box: Bbox | None, ground: look.Ground) -> Counter:
    """Build the counter in the corner of the main axes that covers least and leaves the legend alone."""
    renderer = pic.canvas.get_renderer()
    prop = FontProperties(size="medium")

    def extent(s: str) -> tuple[float, float, float]:
        return renderer.get_text_width_height_descent(s, prop, ismath=False)

    advance = extent("0" * 10)[0] - extent("0" * 9)[0]
    cell = int(np.ceil(advance))
    label_w = int(np.ceil(extent("step")[0]))
    gap = max(int(round(extent("step 0")[0] - extent("step")[0] - extent("0")[0])), 2)
    _, height, descent = extent("step 0123456789")
    pad = round(3 * pic.scale)
    n = len(str(max(pic.steps, 0)))
    w = label_w + gap + n * cell + 2 * pad
    h = int(np.ceil(height)) + 2 * pad
    avoid = None if legend_box is None else look.Box(*legend_box.extents)
    spot, _ = ground.place((w, h), COUNTER_MARGIN * pic.scale, look.COUNTER_CORNERS, pad=2 * pic.scale,
                           avoid=avoid, corners_only=True)
    bounds = Bbox.from_bounds(round(spot.x0), round(spot.y0), w, h)
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


def _ground(pic: Picture) -> look.Ground:
    """What the legend and counter must not hide, in display pixels: every run's whole path (a swarm's at half
    weight: it is faint), and every start, minimum marker and exit arrow, which they must never cover."""
    ax = pic.axes
    to_pixels = ax.transData.transform
    px = pic.scale
    paths = [(to_pixels(t.path), 1.0 if t.line is not None else 0.5) for t in pic.tracks]
    marks = []
    for t in pic.tracks:
        if pic.in_view(t.run.points[0]):
            size = t.dot.get_markersize() if t.dot is not None else HEAD_SIZE
            marks.append((*to_pixels(t.run.points[0]), (size / 2 + 2) * px))
        for arrow in t.arrows:
            marks.append((*to_pixels(np.ravel(arrow.get_data())), (ARROW_SIZE / 2 + 2) * px))
    if pic.stars is not None:
        for xy in np.column_stack(pic.stars.get_data()):
            marks.append((*to_pixels(xy), (pic.stars.get_markersize() / 2 + 2) * px))
    frame = ax.get_window_extent(pic.canvas.get_renderer())
    return look.Ground(look.Box(*frame.extents), paths, marks)


def _place_legend(pic: Picture, best: bool, ground: look.Ground | None = None) -> Bbox | None:
    """Fix the legend's place once and return its extent: with ``ground``, the spot that hides no start or
    minimum and the least of the paths ('best' would otherwise move as the lines grow)."""
    if pic.legend is None:
        return None
    renderer = pic.canvas.get_renderer()
    if ground is not None:
        box = pic.legend.get_window_extent(renderer)
        margin = pic.legend.borderaxespad * renderer.points_to_pixels(pic.legend.get_texts()[0].get_fontsize())
        spot, _ = ground.place((box.width, box.height), margin, look.LEGEND_CORNERS, pad=2 * pic.scale)
        frame = pic.axes.get_window_extent(renderer)
        pic.legend.set_loc(((spot.x0 - frame.x0) / frame.width, (spot.y0 - frame.y0) / frame.height))
    elif best:  # judge against the finished paths
        for e in pic.entries:
            xy = e.run.points if isinstance(e, Track) else _joined([t.run.points for t in e.tracks])
            (e.line if isinstance(e, Track) else e.lines).set_data(xy[:, 0], xy[:, 1])
        box = pic.legend.get_window_extent(renderer)
        for e in pic.entries:
            (e.line if isinstance(e, Track) else e.lines).set_data([], [])
        frac = box.transformed(pic.axes.transAxes.inverted())
        pic.legend.set_loc((frac.x0, frac.y0))
    return pic.legend.get_window_extent(renderer).padded(6 * pic.scale)


def _joined(pieces: list[np.ndarray]) -> np.ndarray:
    """Polylines as one, NaN rows between them (a line with gaps)."""
    gap = np.full((1, pieces[0].shape[1]), np.nan)
    return np.concatenate([part for piece in pieces for part in (piece, gap)][:-1])


def to_pixel(pic: Picture, xy) -> tuple[float, float]:
    """Data coordinates -> (column, row) in the rendered image, row 0 at the top."""
    x, y = pic.axes.transData.transform(np.asarray(xy, dtype=float))
    return float(x), float(pic.canvas.get_width_height()[1] - y)


TEXT_GREYS = 8      # greys kept between black and white, for the edges of text


def key_colors(pic: Picture) -> list[tuple[int, int, int]]:
    """Colours a palette must keep exactly: white, black, the star, each entry's colour and, for a swarm, its
    faint paths over white (each once: a swarm of hundreds of runs takes one slot, not hundreds); and a ramp
    of greys, so that the antialiased edges of text keep their shades when light contours fill the rest of
    the palette (the post's local-minimum figure has no mid grey otherwise)."""
    colours = list(dict.fromkeys(_rgb8(e.color) for e in pic.entries))
    if len(colours) > KEPT_RUN_COLOURS:  # a sweep's many colours: keep some exactly, the palette finds the rest
        colours = [colours[i] for i in np.linspace(0, len(colours) - 1, KEPT_RUN_COLOURS).round().astype(int)]
    keep = [(255, 255, 255), (0, 0, 0), _rgb8(STAR_COLOR)] + colours
    for e in pic.entries:
        if isinstance(e, Swarm):
            keep.append(_rgb8(SWARM_ALPHA * np.asarray(to_rgb(e.color)) + (1 - SWARM_ALPHA)))
    keep += [(g, g, g) for g in np.linspace(0, 255, TEXT_GREYS + 2)[1:-1].round().astype(int).tolist()]
    return list(dict.fromkeys(keep))


KEPT_RUN_COLOURS = 16      # run colours a GIF palette keeps exactly (the contours need the other slots)


def _rgb8(color) -> tuple[int, int, int]:
    return tuple(int(round(255 * c)) for c in to_rgb(color))


def settle(pic: Picture, k: int) -> None:
    """Put every artist at step ``k`` as an ordinary artist, so that a plain ``savefig`` draws the frame as
    vector graphics (an SVG or PDF for print): lines through the paths so far, dots, arrows of runs out of
    view, the legend's texts of that step and the counter. Frames are blitted instead; this is for a still."""
    show = []
    for e in pic.entries:
        if isinstance(e, Track):
            i = min(k, e.last)
            path = e.path[:i + 1]
            e.line.set_data(path[:, 0], path[:, 1])
            seen = pic.in_view(e.run.points[i])
            e.dot.set_data(e.run.points[i:i + 1, 0], e.run.points[i:i + 1, 1])
            e.dot.set_visible(seen)
            arrow = None if seen else e.arrow_at(i)
            for j, a in enumerate(e.arrows):
                a.set_visible(j == arrow)
            show += [e.line, e.dot, *e.arrows]
            if e.loss_line is not None:
                steps = np.arange(i + 1)
                e.loss_line.set_data(steps, e.run.loss[:i + 1])
                e.loss_dot.set_data([i], e.run.loss[i:i + 1])
                e.loss_dot.set_visible(bool(np.isfinite(e.run.loss[i])))
                show += [e.loss_line, e.loss_dot]
            if e.surf_line is not None:
                e.surf_line.set_data_3d(path[:, 0], path[:, 1], e.height[:i + 1])
                e.surf_dot.set_data_3d(e.run.points[i:i + 1, 0], e.run.points[i:i + 1, 1], e.height[i:i + 1])
                e.surf_dot.set_visible(seen and bool(np.isfinite(e.height[i])))
                show += [e.surf_line, e.surf_dot]
            continue
        ends = [min(k, t.last) for t in e.tracks]
        lines = _joined([t.path[:i + 1] for t, i in zip(e.tracks, ends)])
        e.lines.set_data(lines[:, 0], lines[:, 1])
        heads = np.array([t.run.points[i] for t, i in zip(e.tracks, ends) if pic.in_view(t.run.points[i])])
        heads = heads.reshape(-1, 2)
        e.heads.set_data(heads[:, 0], heads[:, 1])
        show += [e.lines, e.heads]
        if e.loss_lines is not None:
            loss = _joined([np.column_stack([np.arange(i + 1), t.run.loss[:i + 1]]) for t, i in zip(e.tracks, ends)])
            e.loss_lines.set_data(loss[:, 0], loss[:, 1])
            e.loss_heads.set_data(ends, [t.run.loss[i] for t, i in zip(e.tracks, ends)])
            show += [e.loss_lines, e.loss_heads]
        if e.surf_lines is not None:
            surf = _joined([np.column_stack([t.path[:i + 1], t.height[:i + 1]]) for t, i in zip(e.tracks, ends)])
            e.surf_lines.set_data_3d(surf[:, 0], surf[:, 1], surf[:, 2])
            e.surf_heads.set_data_3d(*np.array([[*t.run.points[i], t.height[i]] for t, i in zip(e.tracks, ends)]).T)
            show += [e.surf_lines, e.surf_heads]
    if pic.legend is not None:
        for area in text_areas(pic.legend):      # the widths kept for changing texts are raster pixels
            if area is not None and "get_bbox" in vars(area):
                del area.get_bbox
        for text, label in zip(pic.legend.get_texts(), pic.labels(k)):
            text.set_text(label)
        show.append(pic.legend)
    if pic.counter is not None:
        c = pic.counter
        width, height = pic.canvas.get_width_height()
        in_figure = Affine2D().scale(1 / width, 1 / height) + pic.figure.transFigure   # any dpi, not pixels
        for text, digit in zip(c.digits, str(k).ljust(len(c.digits))):
            text.set_text(digit.strip())
        for artist in (c.box, c.label, *c.digits):
            artist.set_transform(in_figure)
            show.append(artist)
    if pic.surface_axes is not None:
        pic.surface_axes.computed_zorder = False   # paths over the surface, as the frames draw them
    for artist in show:
        artist.set_animated(False)
