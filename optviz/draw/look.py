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
GRID = 250                 # contour grid per side: finer than the pixels a contour needs at 720 px
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

def run_label(spec: RunSpec, diverged_at: int | None = None, lr: float | None = None) -> str:
    """'Adam (lr=0.7)', with ', diverged at step k' so a vanished run is explained in the legend.
    ``lr``: the current lr of a scheduled run, shown instead of the initial one."""
    label = spec.label + lr_text(spec, lr)
    if diverged_at is not None:
        label += f", diverged at step {diverged_at}"
    return label


def swarm_label(spec: RunSpec, starts: int, diverged: int, lr: float | None = None) -> str:
    """'Adam (lr=0.2), 60 starts', with ', k diverged' when some runs left."""
    label = f"{spec.group}{lr_text(spec, lr)}, {starts} start{'s' if starts != 1 else ''}"
    if diverged:
        label += f", {diverged} diverged"
    return label


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

    def greys(self) -> list[tuple[float, float, float, float]]:
        """The post's look: low levels dark, high ones light."""
        return [(g, g, g, 1.0) for g in (GREY_TOP * self.scaled(self.values))]


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
