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
from matplotlib.colors import LinearSegmentedColormap, to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox, IdentityTransform

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
class Group:
    """Runs shown as one legend row: a swept entry (``sweep`` set: coloured along its map, with a colour bar),
    or lone runs of one optimizer when a row each would not fit the picture."""

    tracks: list[Track]
    color: str
    text: str
    sweep: look.Sweep | None = None
    lrs: np.ndarray | None = None       # never changes: a group shows its range, not a current lr


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

    def __post_init__(self):
        if self.entries is None:
            self.entries = list(self.tracks)
        if self.rows is None:
            self.rows = list(self.entries)

    @property
    def steps(self) -> int:
        return max(t.last for t in self.tracks) if self.tracks else 0

    @property
    def scheduled(self) -> bool:
        """Whether some legend text changes during the animation (a scheduled lr)."""
        return any(e.lrs is not None for e in self.rows)

    def labels(self, k: int | None = None) -> list[str]:
        """The legend's texts at step ``k`` (None: the static ones)."""
        return [entry_label(e, k) for e in self.rows]

    def in_view(self, xy) -> bool:
        (x0, x1), (y0, y1) = self.axes.get_xlim(), self.axes.get_ylim()
        return bool(min(x0, x1) <= xy[0] <= max(x0, x1) and min(y0, y1) <= xy[1] <= max(y0, y1))


def run_colors(traj: Trajectories) -> list[str]:
    """Each run's colour as hex (``look.run_colors`` picks them; a swept run's comes from its colour map)."""
    def along(cmap: str, t: float) -> str:
        return to_hex(matplotlib.colormaps[cmap](t))

    return [to_hex(c) for c in look.run_colors([r.spec for r in traj.runs], traj.scene.palette, along)]


def entry_label(entry: Track | Swarm | Group, k: int | None = None, lr: float | str | None = None) -> str:
    """An entry's legend text at step ``k``: a scheduled lr shows the value that made the latest step.
    ``lr`` overrides it (the HTML page passes a placeholder that its player fills in at each step)."""
    if isinstance(entry, Group):
        return entry.text
    lr = look.current_lr(entry.lrs, k) if lr is None else lr
    if isinstance(entry, Swarm):
        return look.swarm_label(entry.tracks[0].run.spec, len(entry.tracks), entry.diverged, lr)
    return look.run_label(entry.run.spec, entry.run.diverged_at, lr)


def level_colors(levels: Levels, style: str) -> list:
    """Grey: low levels dark, high ones light, like the post. Otherwise the named colormap."""
    if style == "grey":
        return levels.greys()
    return [tuple(c) for c in matplotlib.colormaps[style](levels.scaled(levels.values))]


def _surface_cmap(style: str):
    if style == "grey":
        return LinearSegmentedColormap.from_list("optviz-grey", [(0.25,) * 3, (0.95,) * 3])
    return matplotlib.colormaps[style]


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
    X, Y = np.meshgrid(np.linspace(x0, x1, look.GRID), np.linspace(y0, y1, look.GRID))
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
    for members in entry_members([r.spec for r in traj.runs]):
        color = colors[members[0]]
        first = traj.runs[members[0]]
        lrs = first.lrs if first.spec.schedule is not None else None
        if first.spec.group is None:
            run = first
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

    pic = Picture(fig, canvas, ax, tracks, None, None, levels, entries=entries, scale=scene.scale,
                  rows=_sweep_rows(entries, traj))
    _colour_bars(pic, boxes["main"])
    if scene.legend and scene.legend != "none":
        _legend(pic, scene.legend, tuple(scene.palette) or look.DEFAULT_PALETTE)
    if "loss" in boxes:
        pic.loss_axes = _loss_panel(fig, boxes["loss"], pic)
    if "surface" in boxes:
        pic.surface_axes = _surface_panel(fig, boxes["surface"], scene, levels, pic, style)
    pic.counter = _counter(pic, _place_legend(pic, best=scene.legend == "best"))
    return pic


def _sweep_rows(entries: list, traj: Trajectories) -> list:
    """Legend rows: one per entry, except that a swept entry's runs are one row (its colour bar tells them apart)."""
    rows: list = []
    by_run = {id(e.run): e for e in entries if isinstance(e, Track)}
    for sweep in look.sweeps([r.spec for r in traj.runs]):
        members = [by_run[id(traj.runs[i])] for i in sweep.members]
        diverged = sum(t.run.diverged_at is not None for t in members)
        color = to_hex(matplotlib.colormaps[sweep.cmap]((look.SWEEP_SPAN[0] + look.SWEEP_SPAN[1]) / 2))
        rows.append(Group(members, color, look.sweep_label(sweep, diverged), sweep))
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
        made[name] = Group(members, color, look.group_label(OPTIMIZERS[name].label, [t.run.spec for t in members],
                                                          diverged))
        for t in members:
            t.color = color
            t.line.set_color(color)
            t.dot.set_color(color)
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
    if pic.scheduled:
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


def _reserve_widths(pic: Picture) -> None:
    """Give each changing legend text the width of its widest version, so that the legend keeps its size
    (and its place) while the lr in it changes: the legend's packers size each row from its TextArea's bbox."""
    renderer = pic.canvas.get_renderer()
    for entry, text, area in zip(pic.rows, pic.legend.get_texts(), text_areas(pic.legend)):
        if entry.lrs is None or area is None:
            continue
        first = text.get_text()
        width = 0.0
        for version in dict.fromkeys(entry_label(entry, k) for k in range(len(entry.lrs) + 1)):
            text.set_text(version)
            width = max(width, area.get_bbox(renderer).width)
        text.set_text(first)
        at_least_width(area, width)


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
    if lo >= 0 and positive.size and positive.max() / positive.min() >= 10 ** look.DECADES_FOR_LOG:
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
    from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  lazy: registers the 3-D projection, only for this panel

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
    pad = round(3 * pic.scale)
    n = len(str(max(pic.steps, 0)))
    w = label_w + gap + n * cell + 2 * pad
    h = int(np.ceil(height)) + 2 * pad
    ax = pic.axes.get_window_extent(renderer)
    margin = COUNTER_MARGIN * pic.scale
    left, right = ax.x0 + margin, ax.x1 - margin - w
    bottom, top = ax.y0 + margin, ax.y1 - margin - h
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
    return pic.legend.get_window_extent(renderer).padded(6 * pic.scale)


def _joined(pieces: list[np.ndarray]) -> np.ndarray:
    """Polylines as one, NaN rows between them (a line with gaps)."""
    gap = np.full((1, pieces[0].shape[1]), np.nan)
    return np.concatenate([part for piece in pieces for part in (piece, gap)][:-1])


def to_pixel(pic: Picture, xy) -> tuple[float, float]:
    """Data coordinates -> (column, row) in the rendered image, row 0 at the top."""
    x, y = pic.axes.transData.transform(np.asarray(xy, dtype=float))
    return float(x), float(pic.canvas.get_width_height()[1] - y)


def key_colors(pic: Picture) -> list[tuple[int, int, int]]:
    """Colours a palette must keep exactly: white, black, the star, each entry's colour and, for a swarm, its
    faint paths over white (each once: a swarm of hundreds of runs takes one slot, not hundreds)."""
    colours = list(dict.fromkeys(_rgb8(e.color) for e in pic.entries))
    if len(colours) > KEPT_RUN_COLOURS:  # a sweep's many colours: keep some exactly, the palette finds the rest
        colours = [colours[i] for i in np.linspace(0, len(colours) - 1, KEPT_RUN_COLOURS).round().astype(int)]
    keep = [(255, 255, 255), (0, 0, 0), _rgb8(STAR_COLOR)] + colours
    for e in pic.entries:
        if isinstance(e, Swarm):
            keep.append(_rgb8(SWARM_ALPHA * np.asarray(to_rgb(e.color)) + (1 - SWARM_ALPHA)))
    return list(dict.fromkeys(keep))


KEPT_RUN_COLOURS = 16      # run colours a GIF palette keeps exactly (the contours need the other slots)


def _rgb8(color) -> tuple[int, int, int]:
    return tuple(int(round(255 * c)) for c in to_rgb(color))
