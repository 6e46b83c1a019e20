"""Render settings of a scene (size, frames, levels, style, colours, panels, legend, output), validated."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib import cbook
from matplotlib.colors import is_color_like

from ..atomic import name_problem
from ..draw.writers import WRITERS
from ..fields import REQUIRED, Field, Problems, describe, did_you_mean, unprintable
from . import checks
from .keys import MIN_FPS, PANELS, SCENE_KEYS

LEVEL_COUNT = Field("levels", REQUIRED, "int", minimum=2, maximum=200, help="number of contour levels")
LEVEL_BOUND = Field("bound", REQUIRED, "float", minimum=-300, maximum=300, help="start or stop of the spacing")
LEVEL = Field("level", REQUIRED, "float", help="one contour level")
STYLE = Field("style", "grey", "text", max_length=100)
PANEL = Field("panels", REQUIRED, "str", choices=PANELS)

#: Scene key -> the Scene field it fills, where the names differ.
_RENAMED = {"frames": "max_frames"}


def color(value: Any, path: str, p: Problems) -> str | None:
    if not isinstance(value, str) or not is_color_like(value):
        p.add(path, f"is not a colour matplotlib knows, got {describe(value)} "
                    "(try a name like 'tab:red' or a hex code like '#d55e00')")
        return None
    return value


def settings(data: dict, p: Problems) -> dict[str, Any]:
    """The render settings ``data`` gives, as Scene fields (absent keys are left to the Scene's defaults)."""
    out: dict[str, Any] = {}
    for key in ("title", "description", "size", "scale", "fps", "frames", "pause", "legend", "show_title",
                "show_counter", "show_lr", "contour_greys", "contour_width", "contour_grid"):
        if key in data and data[key] is not None:
            out[_RENAMED.get(key, key)] = SCENE_KEYS[key].check(data[key], key, p)
    if out.get("title") is not None:
        out["title"] = drawable(out["title"], "title", p)
    if out.get("fps") is not None and out["fps"] < MIN_FPS:
        p.add("fps", f"is too slow to show ({out['fps']:g} frames a second); the slowest is {MIN_FPS:g}, "
                     f"{1 / MIN_FPS:g} s a frame")
        out["fps"] = None
    if data.get("output") is not None:
        out["output"] = output(data["output"], p)
    if "levels" in data:
        out["levels"] = levels(data["levels"], p)
    if "style" in data:
        out["style"] = style(data["style"], p)
    if "palette" in data:
        pal = data["palette"]
        if not isinstance(pal, list) or not pal:
            p.add("palette", f"must be a non-empty list of colours, got {describe(pal)}")
        else:
            out["palette"] = tuple(color(c, f"palette[{i}]", p) for i, c in enumerate(pal))
    if "panels" in data:
        panels = data["panels"]
        if not isinstance(panels, list):
            p.add("panels", f"must be a list drawn from {list(PANELS)}, got {describe(panels)}")
        else:
            out["panels"] = tuple(PANEL.check(v, f"panels[{i}]", p) for i, v in enumerate(panels))
    return {k: v for k, v in out.items() if v is not None}


#: Groups (``{...}``, ``\left...\right``) nested deeper than this are refused: matplotlib's math parser
#: recurses per level and runs out of stack at about 23 when called at the top, earlier inside a drawing.
MATH_DEPTH = 10


def drawable(text: str | None, path: str, p: Problems) -> str | None:
    """``text`` if matplotlib can draw it, else None after reporting why. Text with an even number of
    unescaped ``$`` is math (matplotlib's rule), and goes through matplotlib's own math parser here, so that
    what validates also draws."""
    if text is None:
        return None
    problem = math_problem(text)
    if problem:
        p.add(path, problem)
        return None
    return text


def math_problem(text: str) -> str | None:
    """Why matplotlib cannot draw ``text`` as math, or None (also for text that is not math)."""
    if not cbook.is_math_text(text):
        return None
    from matplotlib.mathtext import MathTextParser  # lazy: the math parser (pyparsing) loads only for math
    depth = deepest = 0
    for token in re.findall(r"\\[{}]|\\left|\\right|[{}]", text):
        if token in ("{", "\\left"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("}", "\\right"):
            depth -= 1
    if deepest > MATH_DEPTH:
        return f"math nests groups {deepest} deep; matplotlib draws at most {MATH_DEPTH}"
    try:
        MathTextParser("path").parse(text)
    except ValueError as exc:
        reason = str(exc).strip().splitlines()[-1]
        reason = re.sub(r"^Parse\w*Exception: |,? *\(line:\d+, col:\d+\)", "", reason)
        reason = re.sub(r"\s+", " ", reason)
        return f"is not math matplotlib can draw: {reason} (text between $ signs is math; write \\$ for a dollar)"
    except RecursionError:
        return f"math nests too deeply for matplotlib to draw (at most {MATH_DEPTH} groups)"
    return None


def output(value: Any, p: Problems) -> str | None:
    path = Field("output", None, "text", max_length=1000).check(value, "output", p)
    if path is None:
        return None
    bad = unprintable(path, allowed="")
    if bad:
        p.add("output", f"contains {bad}, which a file name cannot hold")
        return None
    too_long = name_problem(path)
    if too_long:
        p.add("output", too_long)
        return None
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in WRITERS:
        names = [f".{name}" for name in WRITERS]
        p.add("output", f"must end in {', '.join(names[:-1])} or {names[-1]}, got '{path}'")
        return None
    return path


def shown_by_output(scene, p: Problems) -> None:
    """What the format of the scene's own ``output`` cannot show of it (a page has limits a GIF has not):
    `validate` accepts only what `render` can draw."""
    if scene.output:
        for key, message in WRITERS[Path(scene.output).suffix.lower().lstrip(".")].problems(scene):
            p.add(key, message)


def levels(value: Any, p: Problems) -> Any:
    if isinstance(value, dict):
        found = checks.spacing(value, "levels", p, LEVEL_BOUND, LEVEL_COUNT)
        if found is None:
            return None
        kind, a, b, n = found
        if not a < b:
            p.add(f"levels.{kind}", "start must be below stop")
            return None
        fn = np.logspace if kind == "logspace" else np.linspace
        return [float(v) for v in fn(a, b, n)]
    if isinstance(value, list):
        if not 1 <= len(value) <= 200:
            p.add("levels", f"must list 1 to 200 levels, got {len(value)}")
            return None
        found = [LEVEL.check(v, f"levels[{i}]", p) for i, v in enumerate(value)]
        if any(v is None for v in found):
            return None
        if any(b <= a for a, b in zip(found, found[1:])):
            p.add("levels", "must be strictly increasing")
            return None
        return found
    return LEVEL_COUNT.check(value, "levels", p)


def style(value: Any, p: Problems) -> str | None:
    name = STYLE.check(value, "style", p)
    if name is None or name == "grey":
        return name
    if name not in matplotlib.colormaps:
        p.add("style", f"unknown style '{name}'{did_you_mean(name, ['grey', *matplotlib.colormaps])} "
                       "(use 'grey' or a matplotlib colormap name)")
        return None
    return name
