"""The validated scene: plain frozen records of values that are already valid, with defaults filled in.

Building one from raw data is ``optviz.scenes.load`` (``load(path)``, ``scene(**data)``); simulation and
rendering read only these records.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..maths.functions import Objective


@dataclass(frozen=True)
class RunSpec:
    """One optimizer entry of a scene (or one start of a swarm), fully resolved."""

    optimizer: str                      # registry name as written in the scene, e.g. "nag"
    label: str
    lr: float                           # the initial learning rate (a schedule starts from it)
    hyperparameters: dict[str, Any]     # every other hyperparameter, defaults filled in
    start: tuple[float, float]          # a network run's: its projected start, once simulated (NaN before)
    steps: int
    color: str | None = None            # None: the scene's palette picks one
    schedule: dict[str, Any] | None = None   # {"name": "StepLR", <torch kwargs, resolved>}
    noise: dict[str, Any] | None = None      # {"std": 0.5, "seed": 0, "kind": "additive" | "multiplicative"}
    minibatch: dict[str, Any] | None = None  # {"size": 8, "seed": 0}: sample data terms each step
    group: str | None = None                 # runs from one entry with many starts share a group (a swarm)
    sweep: str | None = None                 # runs from one swept entry share its label ...
    swept: tuple[tuple[str, Any], ...] = ()  # ... and each has its own values of the swept keys
    init_seed: int | None = None             # a network scene's swarm: this run's initial weights' seed


@dataclass(frozen=True)
class Scene:
    """A validated scene. Render settings have their defaults here, so the renderer never guesses."""

    function: Objective
    runs: tuple[RunSpec, ...]
    xlim: tuple[float, float] | None     # None only in a network scene that leaves the view to the paths
    ylim: tuple[float, float] | None
    name: str = "scene"                  # file stem; names the default output
    title: str | None = None
    description: str | None = None
    output: str | None = None
    size: tuple[int, int] = (720, 432)   # pixels at scale 1
    scale: float = 1.0                   # resolution multiplier: the picture is size * scale pixels
    fps: float = 20.0
    max_frames: int = 500                # cap: more steps than this are evenly thinned
    pause: float = 1.0                   # seconds the last frame stays
    levels: Any = None                   # None (auto), an int count, or an explicit increasing list
    style: str = "grey"                  # "grey" (the post's look) or a matplotlib colormap name
    palette: tuple[str, ...] = ()        # () means the colour-blind-safe default
    panels: tuple[str, ...] = ()         # any of "loss", "surface"
    legend: str = "auto"                 # "auto": placed once where it hides least (draw/look.py)
    show_title: bool = True
    show_counter: bool = True
    show_lr: bool = True                 # each run's lr in the legend
    contour_greys: tuple[float, float] = (0.0, 0.9)   # style grey: lowest and highest level in view
    contour_width: float = 1.2           # points
    contour_grid: int | None = None      # grid points per side for the contours (None: the function's, else 250)
    source: str | None = None            # the scene file (None: built in code); `output` is relative to its folder
    output_line: int | None = None       # where `output` is in that file, for messages


def scene_entries(runs: Sequence[RunSpec]) -> list[list[int]]:
    """Run indices per optimizer entry as written in the scene: a swarm's runs, or a sweep's, are one entry."""
    out: list[list[int]] = []
    for i, members in enumerate(entries(runs)):
        run = runs[members[0]]
        if out and run.sweep is not None and runs[out[-1][0]].sweep == run.sweep:
            out[-1].extend(members)
        else:
            out.append(list(members))
    return out


def entries(runs: Sequence[RunSpec]) -> list[list[int]]:
    """Run indices per scene entry: a lone run, or the consecutive runs of one swarm (same ``group``).
    The one place that knows how a swarm is laid out in ``Scene.runs``."""
    out: list[list[int]] = []
    for i, run in enumerate(runs):
        if out and run.group is not None and runs[out[-1][0]].group == run.group:
            out[-1].append(i)
        else:
            out.append([i])
    return out
