"""Render settings of a scene (size, frames, levels, style, colours, panels, legend), validated."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import checks
from .checks import Problems

FORMATS = ("gif", "mp4", "png")
LEGEND_LOCS = ("best", "upper right", "upper left", "lower left", "lower right", "right", "center left",
               "center right", "lower center", "upper center", "center", "none")
PANELS = ("loss", "surface")


def color(value: Any, path: str, p: Problems) -> str | None:
    from matplotlib.colors import is_color_like

    if not isinstance(value, str) or not is_color_like(value):
        p.add(path, f"is not a colour matplotlib knows, got {checks.describe(value)} "
                    "(try a name like 'tab:red' or a hex code like '#d55e00')")
        return None
    return value


def settings(data: dict, p: Problems) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "title" in data and data["title"] is not None:
        out["title"] = checks.string(data["title"], "title", p, max_length=200)
    if "description" in data and data["description"] is not None:
        out["description"] = checks.string(data["description"], "description", p, max_length=2000)
    if "output" in data and data["output"] is not None:
        output = checks.string(data["output"], "output", p, max_length=1000)
        if output is not None:
            suffix = Path(output).suffix.lower().lstrip(".")
            if suffix not in FORMATS:
                p.add("output", f"must end in .gif, .mp4 or .png, got '{output}'")
            out["output"] = output
    if "size" in data:
        size = data["size"]
        if not isinstance(size, list) or len(size) != 2:
            p.add("size", f"must be [width, height] in pixels, got {checks.describe(size)}")
        else:
            w = checks.integer(size[0], "size[0]", p, minimum=64, maximum=4096)
            h = checks.integer(size[1], "size[1]", p, minimum=64, maximum=4096)
            if w and h:
                out["size"] = (w, h)
    if "fps" in data:
        out["fps"] = checks.number(data["fps"], "fps", p, exclusive_minimum=0, maximum=100)
    if "frames" in data:
        out["max_frames"] = checks.integer(data["frames"], "frames", p, minimum=2, maximum=5000)
    if "pause" in data:
        out["pause"] = checks.number(data["pause"], "pause", p, minimum=0, maximum=60)
    if "levels" in data:
        out["levels"] = levels(data["levels"], p)
    if "style" in data:
        out["style"] = style(data["style"], p)
    if "palette" in data:
        pal = data["palette"]
        if not isinstance(pal, list) or not pal:
            p.add("palette", f"must be a non-empty list of colours, got {checks.describe(pal)}")
        else:
            out["palette"] = tuple(color(c, f"palette[{i}]", p) for i, c in enumerate(pal))
    if "panels" in data:
        panels = data["panels"]
        if not isinstance(panels, list):
            p.add("panels", f"must be a list drawn from {list(PANELS)}, got {checks.describe(panels)}")
        else:
            out["panels"] = tuple(checks.string(v, f"panels[{i}]", p, choices=PANELS) for i, v in enumerate(panels))
    if "legend" in data:
        out["legend"] = checks.string(data["legend"], "legend", p, choices=LEGEND_LOCS)
    return {k: v for k, v in out.items() if v is not None}


def levels(value: Any, p: Problems) -> Any:
    if isinstance(value, dict):
        import numpy as np

        checks.known_keys(value, ["logspace", "linspace"], "levels", p)
        if len(value) != 1:
            p.add("levels", "give exactly one of logspace or linspace")
            return None
        (kind, args), = value.items()
        if not isinstance(args, list) or len(args) != 3:
            p.add(f"levels.{kind}", f"must be [start, stop, count], got {checks.describe(args)}")
            return None
        a = checks.number(args[0], f"levels.{kind}[0]", p, minimum=-300, maximum=300)
        b = checks.number(args[1], f"levels.{kind}[1]", p, minimum=-300, maximum=300)
        n = checks.integer(args[2], f"levels.{kind}[2]", p, minimum=2, maximum=200)
        if a is None or b is None or n is None:
            return None
        if not a < b:
            p.add(f"levels.{kind}", "start must be below stop")
            return None
        fn = np.logspace if kind == "logspace" else np.linspace
        return [float(v) for v in fn(a, b, n)]
    if isinstance(value, list):
        if not 1 <= len(value) <= 200:
            p.add("levels", f"must list 1 to 200 levels, got {len(value)}")
            return None
        levels = [checks.number(v, f"levels[{i}]", p) for i, v in enumerate(value)]
        if any(v is None for v in levels):
            return None
        if any(b <= a for a, b in zip(levels, levels[1:])):
            p.add("levels", "must be strictly increasing")
            return None
        return levels
    return checks.integer(value, "levels", p, minimum=2, maximum=200)


def style(value: Any, p: Problems) -> str | None:
    import matplotlib

    style = checks.string(value, "style", p, max_length=100)
    if style is None or style == "grey":
        return style
    if style not in matplotlib.colormaps:
        p.add("style", f"unknown style '{style}'{checks.did_you_mean(style, ['grey', *matplotlib.colormaps])} "
                       "(use 'grey' or a matplotlib colormap name)")
        return None
    return style
