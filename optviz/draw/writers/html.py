"""The HTML writer: one self-contained page per scene that plays, pauses, scrubs and explains the race.

A GIF can only be watched. The page holds the renderer's own background (contours, axes, labels, minima) as a
lossless WebP, every point of every run as numbers, and a small player (``player.js`` and ``player.css`` beside
this module) that draws the paths and dots on a canvas with the axes' own data-to-pixel transform, so its last
frame puts the dots on the GIF's pixels. Nothing is fetched: no CDN, no font, no request of any kind.

A page must weigh less than the scene's GIF, so everything in it is stored small. The player's style and script
are deflated; a few lines (``boot.js``) inflate and run them with the browser's built-in DecompressionStream,
which also inflates the numbers. Until the player runs, the page is its picture (``page.css``): without
JavaScript, or in a browser without DecompressionStream, it shows the surface and says why it cannot play.

Lone runs' coordinates are fixed-point numbers in units of 2**-30 (within 5e-10 of ``optviz trace``'s, far
below a pixel), stored as second differences (a path's steps change slowly), zigzagged into small unsigned
integers; a coordinate too large for that (a diverging run) keeps its run's float64. Losses and a swarm's many
runs are float32 (7 digits), an lr schedule float64 (the legend writes it as Python does). Float sequences are
XOR-ed with their previous value (neighbouring points share their high bits); every pack's bytes are split into
planes (byte 0 of every number, then byte 1, ...) and deflated.
"""
from __future__ import annotations

import base64
import html
import io
import json
import zlib
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from ..._version import __version__
from ...maths.formula import NUMPY_OPS, FormulaError, expand_definitions, parse_formula, program, walk
from .base import Movie, Writer, register_writer
from .gif import make_palette

MAX_PIXELS = 4096 * 4096     # the largest canvas every browser draws (iPhones' Safari stops at 16.7 Mpx)
MAX_POINTS = 1_000_000       # every point is kept in memory, drawn each frame and searched on hover
LR_MARK = "\ue000"           # stands in a legend text for the current lr, which the player fills in

_CAPS = {"butt": "butt", "round": "round", "projecting": "square"}


@register_writer
class HtmlWriter(Writer):
    """A still writer: the page is built from the picture and its trajectories (``movie.source``), not from
    frames; the player draws its own."""

    name = "html"
    still = True

    @classmethod
    def problems(cls, scene) -> list[tuple[str, str]]:
        found = []
        width, height = (int(round(v * scene.scale)) for v in scene.size)
        if width * height > MAX_PIXELS:
            found.append(("scale", f"{scene.size[0]}x{scene.size[1]} at scale {scene.scale:g} is {width}x{height} "
                                  f"pixels; a page's canvas holds at most {MAX_PIXELS} (4096x4096, the limit on "
                                  "iPhones): lower size or scale, or render a gif"))
        points = sum(run.steps + 1 for run in scene.runs)
        if points > MAX_POINTS:
            found.append(("steps", f"the page would hold {points} points ({len(scene.runs)} runs); it holds at "
                                   f"most {MAX_POINTS}: use fewer steps, runs or starts, or render a gif"))
        return found

    def setup(self, path: Path, movie: Movie) -> None:
        self.path, self.movie = path, movie

    def grab_frame(self, rgba: np.ndarray, changed=None) -> None:
        """The page draws its own frames."""

    def finish(self) -> None:
        traj, pic, anim = self.movie.source
        self.path.write_bytes(page(traj, pic, anim).encode("utf-8"))


class FloatPack:
    """Float sequences of one type, stored small (see the module docstring); ``add`` returns the sequence's
    reference, [pack, index], which the page's data uses to find it."""

    def __init__(self, number: int, dtype: str):
        self.number, self.dtype = number, np.dtype(dtype)
        self.parts: list[np.ndarray] = []
        self.seqs: list[tuple[int, int]] = []
        self.size = 0

    def add(self, values) -> list[int]:
        part = self.words(values)
        self.parts.append(part)
        self.seqs.append((self.size, len(part)))
        self.size += len(part)
        return [self.number, len(self.seqs) - 1]

    def words(self, values) -> np.ndarray:
        words = np.ascontiguousarray(values, dtype=self.dtype).view(f"<u{self.dtype.itemsize}")
        return np.concatenate([words[:1], words[1:] ^ words[:-1]])

    def width(self) -> int:
        return self.dtype.itemsize

    def encoded(self) -> dict:
        width = self.width()
        words = np.concatenate(self.parts) if self.parts else np.zeros(0, np.uint64)
        planes = words.astype("<u8").view(np.uint8).reshape(-1, 8)[:, :width].T.tobytes()
        return {"type": f"f{8 * self.dtype.itemsize}", "size": self.size, "seqs": self.seqs,
                "data": base64.b64encode(zlib.compress(planes, 9)).decode("ascii")}


class FixedPack(FloatPack):
    """Coordinates as whole multiples of 2**-BITS: second differences, zigzagged (0, -1, 1, -2, ... ->
    0, 1, 2, 3, ...), as few bytes as the largest needs. The player rebuilds each value exactly as
    integer * 2**-BITS: below 2**53 every step of that is exact in a JavaScript number."""

    BITS = 30
    LIMIT = 2.0 ** 20          # |value| below this keeps |second difference| * 2 under 2**53

    def __init__(self, number: int):
        super().__init__(number, "<i8")

    @classmethod
    def holds(cls, values) -> bool:
        values = np.asarray(values, dtype=float)
        return bool(np.all(np.isfinite(values)) and np.all(np.abs(values) < cls.LIMIT))

    def words(self, values) -> np.ndarray:
        q = np.rint(np.asarray(values, dtype=float) * 2.0 ** self.BITS).astype(np.int64)
        for _ in range(2):
            q = np.concatenate([q[:1], np.diff(q)])
        return ((q << 1) ^ (q >> 63)).view(np.uint64)

    def width(self) -> int:
        top = int(max((p.max() for p in self.parts if len(p)), default=0))
        return max(1, (top.bit_length() + 7) // 8)

    def encoded(self) -> dict:
        return {**super().encoded(), "type": "fixed", "bits": self.BITS, "width": self.width()}


def page(traj, pic, anim) -> str:
    """The whole page: markup, style, the scene's data and the player."""
    scene = traj.scene
    data = scene_data(traj, pic, anim)
    title = scene.title or scene.name
    width, height = scene.size
    picture = base64.b64encode(webp(background(pic, anim))).decode("ascii")
    e, a = _text, _attr
    legend = _legend(data) if data["legend"] is not None else []
    counter = []
    if data["counter"]:
        box, font = data["counter"]["box"], data["counter"]["font"]
        style = f"{_box(box)}; line-height: calc(var(--k) * {box[3]}px); --font: {font}"
        counter = [f'<div class="optviz-counter" style="{a(style)}" hidden>step <span>0</span></div>']
    controls = [
        '<div class="optviz-controls" hidden>',
        '<button type="button" class="optviz-play" aria-label="Play" title="Play / pause (space)">'
        '<svg viewBox="0 0 16 16" aria-hidden="true"><path class="optviz-icon-play" d="M4 2.5v11l9-5.5z"/>'
        '<path class="optviz-icon-pause" d="M3.5 2.5h3v11h-3zM9.5 2.5h3v11h-3z"/></svg></button>',
        '<button type="button" class="optviz-back" aria-label="Step back" title="Step back (left arrow)">'
        '<svg viewBox="0 0 16 16" aria-hidden="true"><path d="M3 2.5h2v11H3zM14 2.5v11L6 8z"/></svg></button>',
        '<button type="button" class="optviz-forward" aria-label="Step forward" title="Step forward (right arrow)">'
        '<svg viewBox="0 0 16 16" aria-hidden="true"><path d="M11 2.5h2v11h-2zM2 2.5v11L10 8z"/></svg></button>',
        f'<input type="range" class="optviz-slider" min="0" max="{data["steps"]}" step="1" value="0" '
        'aria-label="Step">',
        f'<output class="optviz-step" aria-live="off">step 0 / {data["steps"]}</output>',
        '<label class="optviz-option">speed <select class="optviz-speed" aria-label="Speed">'
        + "".join(f'<option value="{v}"{" selected" if v == "1" else ""}>{v}x</option>'
                  for v in ("0.25", "0.5", "1", "2", "4"))
        + "</select></label>",
        '<label class="optviz-option"><input type="checkbox" class="optviz-loop" checked> loop</label>',
        "</div>",
    ]
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="optviz {a(__version__)}">',
        f"<title>{e(title)}</title>",
        f"<style>\n{_compact(_asset('page.css'))}</style>",
        "</head>",
        "<body>",
        f'<figure class="optviz" id="optviz" style="max-width: {width}px">',
        '<div class="optviz-stage">',
        f'<img class="optviz-background" src="data:image/webp;base64,{picture}" width="{width}" height="{height}" '
        f'alt="{a(scene.description or title)}">',
        f'<canvas class="optviz-canvas" width="{data["pixels"][0]}" height="{data["pixels"][1]}" hidden></canvas>',
        *counter,
        *legend,
        '<div class="optviz-tip" role="status" hidden></div>',
        "</div>",
        *controls,
        '<p class="optviz-message" hidden></p>',
        "<noscript><p>The player needs JavaScript; the picture above shows the scene's surface.</p></noscript>",
        "</figure>",
        f'<script type="application/json" id="optviz-data">{_json(data)}</script>',
        f'<script type="application/octet-stream" id="optviz-player">{player()}</script>',
        f"<script>\n{_compact(_asset('boot.js'))}</script>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(lines)


def scene_data(traj, pic, anim) -> dict:
    """What the player needs, as plain JSON: sizes, transforms, clip boxes, styles, entries, runs and packs.
    Positions, colours, styles and texts are read from the picture, so the page shows what the GIF shows."""
    from ..figure import Swarm, entry_label, told_steps  # lazy: matplotlib's Figure loads only when a page is written
    from ..frames import frame_steps  # lazy: as above

    scene = traj.scene
    scale = pic.scale
    pixels = pic.canvas.get_width_height()
    precise, fixed, compact = FloatPack(0, "<f8"), FixedPack(1), FloatPack(2, "<f4")
    formula = loss_program(scene.function, traj.runs)
    index = {id(run): i for i, run in enumerate(traj.runs)}
    entries, runs = [], [None] * len(traj.runs)
    for n, entry in enumerate(pic.entries):
        swarm = isinstance(entry, Swarm)
        tracks = entry.tracks if swarm else [entry]
        first = tracks[0].run
        mark = LR_MARK if first.spec.schedule is not None else None
        labels = []                     # [step, text from that step on]: a divergence is told when it happens
        for k in told_steps(entry):
            text = entry_label(entry, k, pic.show_lr, lr=mark)
            if not labels or labels[-1][1] != text:
                labels.append([int(k), text])
        lines = (entry.lines, entry.heads, entry.loss_lines, entry.loss_heads, entry.surf_lines, entry.surf_heads) \
            if swarm else (entry.line, entry.dot, entry.loss_line, entry.loss_dot, entry.surf_line, entry.surf_dot)
        entries.append({
            "labels": labels,
            "text": entry_label(entry, 0, pic.show_lr),
            "color": entry.color,
            "swarm": swarm,
            "runs": [index[id(t.run)] for t in tracks],
            "lrs": precise.add(first.lrs) if first.spec.schedule is not None else None,
            "line": _stroke(lines[0], scale), "dot": _marker(lines[1], scale),
            "lossLine": _stroke(lines[2], scale), "lossDot": _marker(lines[3], scale),
            "surfLine": _stroke(lines[4], scale), "surfDot": _marker(lines[5], scale),
        })
        for t in tracks:
            run = t.run
            store = compact if swarm else fixed if fixed.holds(run.points) else precise
            record = {"label": run.spec.label, "entry": n, "lr": float(run.spec.lr),
                      "diverged": None if run.diverged_at is None else int(run.diverged_at),
                      "x": store.add(run.points[:, 0]), "y": store.add(run.points[:, 1]),
                      "loss": None if formula else compact.add(run.loss), "lossPx": None, "surfPx": None,
                      **_exits(t, pic)}
            if pic.loss_axes is not None:
                steps = np.arange(len(run.loss), dtype=float)
                with np.errstate(all="ignore"):
                    xy = pic.loss_axes.transData.transform(np.column_stack([steps, run.loss]))
                record["lossPx"] = [compact.add(xy[:, 0]), compact.add(pixels[1] - xy[:, 1])]
            if pic.surface_axes is not None:
                xy = _projected(lines[4], run, t.height, anim.renderer)
                record["surfPx"] = [compact.add(xy[:, 0]), compact.add(pixels[1] - xy[:, 1])]
            runs[index[id(run)]] = record
    ks = frame_steps(pic.steps, scene.max_frames)
    (x0, x1), (y0, y1) = pic.axes.get_xlim(), pic.axes.get_ylim()
    return {
        "size": [int(v) for v in scene.size],
        "pixels": [int(v) for v in pixels],
        "scale": float(scale),
        "steps": int(pic.steps),
        "fps": float(scene.fps),
        "pause": float(scene.pause),
        "frames": None if len(ks) == pic.steps + 1 else [int(k) for k in ks],
        "main": {"affine": _affine(pic.axes), "clip": _clip(pic.axes.bbox, pixels),
                 "view": [min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)]},
        "loss": {"clip": _clip(pic.loss_axes.bbox, pixels)} if pic.loss_axes is not None else None,
        "surface": {"clip": _clip(pic.surface_axes.bbox, pixels)} if pic.surface_axes is not None else None,
        "legend": _legend_data(pic) if pic.legend is not None else None,
        "counter": _counter_data(pic) if pic.counter is not None else None,
        "formula": formula,
        "entries": entries,
        "runs": runs,
        "packs": [precise.encoded(), fixed.encoded(), compact.encoded()],
    }


def loss_program(objective, runs) -> list | None:
    """The function as a program the player runs to compute each point's loss, so the page need not store them;
    None when its formula cannot be read (networks, data terms) or does not give the runs' losses, which are
    then stored (float32)."""
    try:
        expr = parse_formula(expand_definitions(objective.formula))
    except FormulaError:
        return None
    for run in runs:
        with np.errstate(all="ignore"):
            (value,) = walk([expr], run.points[:, 0], run.points[:, 1], np.float64, NUMPY_OPS)
        value = np.broadcast_to(np.asarray(value, dtype=float), run.loss.shape)
        if not np.allclose(value, run.loss, rtol=1e-12, atol=0, equal_nan=True):
            return None
    return program(expr)


def background(pic, anim) -> Image.Image:
    """The renderer's cached background in one palette of the GIF's size that keeps its key colours exactly
    (white, black, the star, the runs' colours), each pixel mapped to its nearest palette colour."""
    from ..figure import key_colors  # lazy: see scene_data

    rgb = np.ascontiguousarray(anim.background[:, :, :3])
    palette = make_palette([anim.background], key_colors(pic))
    keys = rgb.astype(np.uint32) @ np.array([1, 1 << 8, 1 << 16], dtype=np.uint32)
    colors, where = np.unique(keys.ravel(), return_inverse=True)
    found = np.stack([colors & 0xFF, (colors >> 8) & 0xFF, colors >> 16], axis=1).astype(float)
    nearest = ((found[:, None, :] - palette[None, :, :].astype(float)) ** 2).sum(axis=2).argmin(axis=1)
    height, width = keys.shape
    image = Image.frombytes("P", (width, height), nearest.astype(np.uint8)[where].tobytes())
    image.putpalette(palette.ravel().tolist())
    return image


def webp(image: Image.Image) -> bytes:
    """Lossless WebP, libwebp's slowest and smallest (a tenth smaller than the best PNG of a background; every
    browser that runs the player shows WebP). Same pixels, same bytes."""
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "WEBP", lossless=True, quality=100, method=6)
    return buf.getvalue()


def _projected(line, run, height, renderer) -> np.ndarray:
    """A run's path on the 3-D panel in display pixels, as the panel's own Line3D projects it (NaN where it
    hides points outside the limits): the page draws it flat over the cached surface, as the GIF does."""
    line.set_data_3d(run.points[:, 0], run.points[:, 1], height)
    line.draw(renderer)
    xy = np.asarray(line.get_xydata(), dtype=float)
    line.set_data_3d([], [], [])
    with np.errstate(all="ignore"):
        return line.get_transform().transform(xy)


def _affine(ax) -> list[float]:
    """The main axes' data-to-display transform, [a, b, c, d, e, f]: x' = a x + b y + c, y' = d x + e y + f."""
    transform = ax.transData
    if not transform.is_affine:
        raise RuntimeError("the page draws on linear axes only")
    (a, b, c), (d, e, f), _ = transform.get_matrix()
    return [float(v) for v in (a, b, c, d, e, f)]


def _clip(bbox, pixels) -> list[int]:
    """A display box (origin bottom left) as [left, top, width, height] in canvas pixels (origin top left),
    rounded to whole pixels as Agg rounds a clip box."""
    left, right = (int(np.floor(v + 0.5)) for v in (bbox.x0, bbox.x1))
    top, bottom = (int(np.floor(pixels[1] - v + 0.5)) for v in (bbox.y1, bbox.y0))
    return [left, top, right - left, bottom - top]


def _stroke(line, scale: float) -> dict | None:
    if line is None:
        return None
    return {"width": float(line.get_linewidth()) * scale, "cap": _CAPS[line.get_solid_capstyle()],
            "join": line.get_solid_joinstyle(), "alpha": 1.0 if line.get_alpha() is None else float(line.get_alpha())}


def _marker(line, scale: float) -> dict | None:
    if line is None:
        return None
    return {"radius": float(line.get_markersize()) * scale / 2, "edge": float(line.get_markeredgewidth()) * scale}


def _exits(track, pic) -> dict:
    """Where a run's line ends if it left the view for good (``cut``: the step and the point on the edge, as
    ``look.drawn_path`` draws it) and, for a lone run, its arrows (step, triangle corners in page pixels, edge
    width), as the GIF shows them while the run is out of view."""
    from matplotlib.markers import MarkerStyle  # lazy: as in scene_data, matplotlib loads only when a page is written

    cut = None
    gone = np.flatnonzero(np.isnan(track.path[:, 0]) & np.isfinite(track.run.points[:, 0]))
    if gone.size:
        step = int(gone[0]) - 1
        cut = [step, float(track.path[step, 0]), float(track.path[step, 1])]
    if track.line is None:              # a swarm's run: its line is cut the same way, it has no arrows
        return {"cut": cut, "arrows": []}
    height = pic.canvas.get_width_height()[1]
    renderer = pic.canvas.get_renderer()
    arrows = []
    for exit, line in zip(track.exits, track.arrows):
        marker = MarkerStyle(line.get_marker())
        size = renderer.points_to_pixels(line.get_markersize())
        corners = marker.get_transform().scale(size).transform(marker.get_path().vertices[:3])
        at = pic.axes.transData.transform(np.ravel(line.get_data()))
        arrows.append([int(exit.step), [[float(at[0] + x), float(height - (at[1] + y))] for x, y in corners],
                       float(line.get_markeredgewidth()) * pic.scale])
    return {"cut": cut, "arrows": arrows}


def _legend_data(pic) -> dict:
    """Where the picture's legend sits, in CSS pixels at the scene's size, and which corner anchors it (the one
    nearest the axes' corner it was placed in), so that the page's own legend grows away from that corner."""
    renderer = pic.canvas.get_renderer()
    box = pic.legend.get_window_extent(renderer)
    ax = pic.axes.bbox
    height = pic.canvas.get_width_height()[1]
    s = pic.scale
    right = bool((box.x0 + box.x1) / 2 > (ax.x0 + ax.x1) / 2)
    bottom = bool((box.y0 + box.y1) / 2 < (ax.y0 + ax.y1) / 2)
    width = pic.canvas.get_width_height()[0]
    return {"x": round(float((width - box.x1) if right else box.x0) / s, 2),
            "y": round(float(box.y0 if bottom else (height - box.y1)) / s, 2),
            "right": right, "bottom": bottom,
            "font": float(pic.legend.get_texts()[0].get_fontsize()) if pic.legend.get_texts() else 10.0}


def _counter_data(pic) -> dict:
    c = pic.counter
    height = pic.canvas.get_width_height()[1]
    s = pic.scale
    b = c.bounds
    return {"box": [round(float(v) / s, 2) for v in (b.x0, height - b.y1, b.width, b.height)],
            "font": float(c.label.get_fontsize())}


def _legend(data: dict) -> list[str]:
    info = data["legend"]
    e, a = _text, _attr
    place = (f'{"right" if info["right"] else "left"}: calc(var(--k) * {info["x"]}px); '
             f'{"bottom" if info["bottom"] else "top"}: calc(var(--k) * {info["y"]}px); --font: {info["font"]}')
    out = [f'<ul class="optviz-legend" aria-label="Runs (click to show or hide)" style="{a(place)}" hidden>']
    for n, entry in enumerate(data["entries"]):
        kind = "optviz-key optviz-key-swarm" if entry["swarm"] else "optviz-key"
        text = entry["text"]
        out.append(f'<li><button type="button" aria-pressed="true" data-entry="{n}">'
                   f'<span class="{kind}" style="--c: {a(entry["color"])}"></span>'
                   f'<span class="optviz-label">{e(text)}</span></button></li>')
    out.append("</ul>")
    return out


def _box(box: list[float]) -> str:
    left, top, width, height = box
    return (f"left: calc(var(--k) * {left}px); top: calc(var(--k) * {top}px); "
            f"width: calc(var(--k) * {width}px); height: calc(var(--k) * {height}px)")


def _asset(name: str) -> str:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower():
        raise RuntimeError(f"{name} would end its own element early")
    return text


def _compact(text: str) -> str:
    """A script or style without its indentation, blank lines and comments. Line breaks stay (no statement
    is joined to another), and only what cannot be in a string is dropped: a block comment on lines of its own,
    a line that is a '//' comment, and a trailing '  // ...' after code whose quotes are all closed."""
    if "`" in text or "\\\n" in text:
        raise RuntimeError("a multi-line string: _compact keeps no such text intact")
    lines, comment = [], False
    for line in text.splitlines():
        code = line.strip()
        if comment or code.startswith("/*"):
            comment = not code.endswith("*/")
            if "*/" in code[:-2]:
                raise RuntimeError(f"code after a block comment: {code}")
            continue
        if "/*" in code:
            raise RuntimeError(f"a block comment after code: {code}")
        if not code or code.startswith("//"):
            continue
        before, mark, _ = code.partition("  //")
        if mark and before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
            code = before.rstrip()
        lines.append(code)
    return "\n".join(lines) + "\n"


def player() -> str:
    """The player's style and script, compacted, as JSON deflated (a fifth of their size) for ``boot.js``."""
    parts = {"style": _compact(_asset("player.css")), "script": _compact(_asset("player.js"))}
    return base64.b64encode(zlib.compress(json.dumps(parts).encode("utf-8"), 9)).decode("ascii")


def _json(data: dict) -> str:
    """JSON safe inside a <script> element (no '</' can close it), exact for every float."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def _text(s: str) -> str:
    return html.escape(s, quote=False)


def _attr(s: str) -> str:
    return html.escape(str(s), quote=True)
