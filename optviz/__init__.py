"""optviz: animated, torch-exact pictures of optimizers racing across 2-D loss surfaces.

>>> import optviz
>>> scene = optviz.Scene(function="beale", optimizers=[{"name": "adam", "lr": 0.7}], steps=20)
>>> traj = optviz.simulate(scene)
>>> traj.runs[0].points.shape
(21, 2)
"""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import SceneError
from .functions import FUNCTIONS, Objective, make_function
from .load import load
from .notebook import Animation, render
from .methods import OPTIMIZERS
from .scene import RunSpec, Scene
from .simulate import Run, Trajectories, simulate

__all__ = [
    "Animation", "FUNCTIONS", "OPTIMIZERS", "Objective", "Run", "RunSpec", "Scene", "SceneError", "Trajectories",
    "load", "make_function", "render", "simulate", "__version__",
]
