"""optviz: animated, torch-exact pictures of optimizers racing across 2-D loss surfaces.

The package follows the data: ``scenes`` (scene file -> validated ``Scene``), ``maths`` (functions, formulas,
optimizers, schedules), ``simulate`` (trajectories), ``draw`` (pictures and the files they go into), and
``commands`` on top. This module is the Python API:

>>> import optviz
>>> scene = optviz.scene(function="beale", optimizers=[{"name": "adam", "lr": 0.7}], steps=20)
>>> traj = optviz.simulate(scene)
>>> traj.runs[0].points.shape
(21, 2)
"""
from __future__ import annotations

from ._version import __version__
from .errors import SceneError
from .maths.functions import FUNCTIONS, Objective, make_function
from .maths.optimizers import OPTIMIZERS
from .notebook import Animation, render
from .scenes.load import load, scene
from .scenes.record import RunSpec, Scene
from .simulate import Run, Trajectories, simulate

__all__ = [
    "Animation", "FUNCTIONS", "OPTIMIZERS", "Objective", "Run", "RunSpec", "Scene", "SceneError", "Trajectories",
    "load", "make_function", "render", "scene", "simulate", "__version__",
]
