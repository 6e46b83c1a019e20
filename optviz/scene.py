"""The validated scene: everything a run and a render need, with defaults filled in.

The loader that builds it from YAML lives in ``optviz.load``; rendering and simulation read only these records.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .functions import Objective


@dataclass(frozen=True)
class RunSpec:
    """One optimizer entry of a scene, fully resolved."""

    optimizer: str                      # registry name as written in the scene, e.g. "nag"
    label: str
    hyperparameters: dict[str, Any]     # every hyperparameter with defaults filled in, including lr
    start: tuple[float, float]
    steps: int
    color: str | None = None            # None: the scene's palette picks one
    schedule: dict[str, Any] | None = None   # {"name": "StepLR", <torch kwargs, resolved>}
    noise: dict[str, Any] | None = None      # {"std": 0.5, "seed": 0, "kind": "additive" | "multiplicative"}
    minibatch: dict[str, Any] | None = None  # {"size": 8, "seed": 0}: sample data terms each step
    group: str | None = None                 # runs from one entry with many starts share a group (a swarm)


@dataclass(frozen=True)
class Scene:
    """A validated scene. Render settings have their defaults here, so the renderer never guesses."""

    function: Objective
    runs: tuple[RunSpec, ...]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    name: str = "scene"                  # file stem; names the default output
    title: str | None = None
    description: str | None = None
    output: str | None = None
    source: str | None = None            # path of the scene file, when loaded from one
    size: tuple[int, int] = (720, 432)   # pixels
    fps: float = 20.0
    max_frames: int = 500                # cap: more steps than this are evenly thinned
    pause: float = 1.0                   # seconds the last frame stays
    levels: Any = None                   # None (auto), an int count, or an explicit increasing list
    style: str = "grey"                  # "grey" (the post's look) or a matplotlib colormap name
    palette: tuple[str, ...] = ()        # () means the colour-blind-safe default
    panels: tuple[str, ...] = ()         # any of "loss", "surface"
    legend: str = "upper left"
    extra: dict[str, Any] = field(default_factory=dict)


_resolved_init = Scene.__init__


def _scene_init(self, function=None, runs=None, xlim=None, ylim=None, **settings):
    """``Scene(function="beale", optimizers=[...], steps=150)`` validates like a scene file;
    the loader passes resolved fields (an Objective and RunSpecs) straight through."""
    if isinstance(function, Objective) and runs is not None:
        _resolved_init(self, function, runs, xlim, ylim, **settings)
        return
    from dataclasses import fields

    from .load import scene_from_data

    data = {"function": function, **settings}
    data.update({k: list(v) for k, v in (("xlim", xlim), ("ylim", ylim)) if v is not None})
    name = data.pop("name", "scene")
    built = scene_from_data(data, name=name)
    for f in fields(Scene):
        object.__setattr__(self, f.name, getattr(built, f.name))


Scene.__init__ = _scene_init
