"""The keys of a scene and of one optimizer entry, described once: the validator checks them, the JSON Schema
and the README's tables are generated from them.

Keys whose value is one simple thing (a number, a pair, a choice) are checked by their ``Field`` alone; the
others (``kind="custom"``) have a parser of their own in ``load``, ``run_options`` or ``render_options``,
which also gives their JSON Schema.
"""
from __future__ import annotations

from ..fields import REQUIRED, Field

MAX_STEPS = 100_000
MAX_RUNS = 64
MAX_STARTS = 2000
MAX_SWEEP = 256     # runs one swept entry makes (a grid: the product of its value counts)
VIEW_LIMIT = 1e300          # |xlim|, |ylim| at most this: the view's width must stay a finite float
MIN_FPS = 0.01              # 100 s a frame; slower cannot be stored in a GIF (655 s at most) or told apart
LEGEND_LOCS = ("auto", "best", "upper right", "upper left", "lower left", "lower right", "right", "center left",
               "center right", "lower center", "upper center", "center", "none")
PANELS = ("loss", "surface")

SCENE_KEYS: dict[str, Field] = {f.name: f for f in (
    Field("title", None, "text", max_length=200, help="title drawn above the plot"),
    Field("description", None, "text", max_length=2000, help="a sentence about the scene (shown in the gallery)"),
    Field("function", REQUIRED, "custom",
          help="a registry name, {name: ..., <coefficient>: ...}, {formula: ..., minimum: [x, y]}, or a network: "
               "{network: ..., data: ...} (see the network keys)"),
    Field("start", None, "pair", shown="the function's start", help="default start [x, y] for every optimizer"),
    Field("steps", 100, "int", minimum=1, maximum=MAX_STEPS,
          help=f"optimizer steps for every run (1..{MAX_STEPS})"),
    Field("xlim", None, "pair", increasing=True, minimum=-VIEW_LIMIT, maximum=VIEW_LIMIT, shown="the function's view",
          help="x range of the view [low, high]"),
    Field("ylim", None, "pair", increasing=True, minimum=-VIEW_LIMIT, maximum=VIEW_LIMIT, shown="the function's view",
          help="y range of the view [low, high]"),
    Field("starts", None, "custom",
          help="many starts for every optimizer: [[x, y], ...], {random: N, seed: S} or {grid: [nx, ny]}; "
               "for a network {random: N, seed: S} is N init seeds S, S+1, ..."),
    Field("optimizers", REQUIRED, "custom", help=f"list of runs (1..{MAX_RUNS}); see the optimizer entry keys"),
    Field("noise", None, "custom",
          help="gradient noise for every run: {std: 0.5, seed: 0, kind: additive | multiplicative}"),
    Field("minibatch", None, "custom",
          help="for data-term functions (least_squares, networks): {size: 8, seed: 0} samples terms each step"),
    Field("output", None, "custom", shown="outputs/<scene name>.gif",
          help="where `optviz render` writes, relative to the scene file (and inside its folder or the current "
               "one); the extension picks the format"),
    Field("size", (720, 432), "int_pair", minimum=64, maximum=4096, help="picture size in pixels [width, height]"),
    Field("scale", 1.0, "float", minimum=0.25, maximum=8,
          help="resolution multiplier, text and lines scaling along (2: sharp on high-DPI screens and in print)"),
    Field("fps", 20, "float", exclusive_minimum=0, maximum=100,
          help="frames per second (20 = 50 ms a frame, as in the post)"),
    Field("frames", 500, "int", minimum=2, maximum=5000,
          help="most frames in the animation; more steps than this are evenly thinned"),
    Field("pause", 1.0, "float", minimum=0, maximum=60, help="seconds the last frame is held before the GIF loops"),
    Field("levels", None, "custom", shown="auto",
          help="contour levels: a count, a list, or {logspace: [a, b, n]} / {linspace: [a, b, n]}"),
    Field("style", "grey", "custom", help="'grey' (the post's grey contours) or a matplotlib colormap name"),
    Field("palette", None, "custom", shown="colour-blind-safe",
          help="list of colours used in order for runs without a color"),
    Field("panels", [], "custom", help="extra synchronised panels: 'loss' (loss vs step), 'surface' (3-D view)"),
    Field("legend", "auto", "str", choices=LEGEND_LOCS,
          help="legend location: 'auto' (where it hides no start or minimum and the least of the paths), "
               "a matplotlib loc, or 'none'"),
    Field("show_title", True, "bool", help="draw the title above the plot (the post's figures have none)"),
    Field("show_counter", True, "bool", help="draw the step counter in a free corner of the plot"),
    Field("show_lr", True, "bool", help="write each run's lr in the legend"),
    Field("contour_greys", (0.0, 0.9), "pair", minimum=0, maximum=1,
          help="style grey: the grey of the lowest and of the highest contour level in view (0 black, 1 white)"),
    Field("contour_width", 1.2, "float", exclusive_minimum=0, maximum=20, help="contour line width in points"),
    Field("contour_grid", None, "int", minimum=10, maximum=2000, shown="250 (a network's plane: 61)",
          help="points per side of the grid the contours are traced on (the post's: 111, every 0.1 over +-5.5)"),
)}

#: Keys of one optimizer entry besides its hyperparameters.
RUN_KEYS: dict[str, Field] = {f.name: f for f in (
    Field("name", REQUIRED, "custom",
          help="optimizer name from `optviz list optimizers`, or a torch optimizer class: torch.optim.Adam"),
    Field("label", None, "text", max_length=80, shown="display name", help="legend label"),
    Field("color", None, "custom", shown="from the palette", help="line and dot colour (any matplotlib colour)"),
    Field("start", None, "pair", shown="scene start", help="this run's start [x, y]"),
    Field("steps", None, "int", minimum=1, maximum=MAX_STEPS, shown="scene steps", help="this run's number of steps"),
    Field("starts", None, "custom", shown="scene starts",
          help="many starts for this run (a swarm); same forms as the scene's starts"),
    Field("schedule", None, "custom",
          help="lr schedule: {name: StepLR, step_size: 30, gamma: 0.5} (torch.optim.lr_scheduler names)"),
    Field("sweep", None, "custom",
          help="one run per value: {lr: {logspace: [1e-4, 1e-1, 16]}}, {linspace: [a, b, n]} or a list; "
               "two keys make a grid; coloured along a colour map"),
    Field("noise", None, "custom", shown="scene noise", help="gradient noise for this run (same form as the scene's)"),
    Field("minibatch", None, "custom", shown="scene minibatch",
          help="minibatch sampling for this run (same form as the scene's)"),
)}
