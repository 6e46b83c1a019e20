"""The HTML player: one self-contained page per scene, checked in a real browser (the system's headless Chromium,
driven by Playwright): offline, exact (trace's numbers), on the GIF's pixels, and usable by mouse, keyboard,
touch-sized screens and embedders."""
from __future__ import annotations

import base64
import fnmatch
import html.parser
import io
import json
import os
import re
import shutil
import zlib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.colors import to_rgb
from PIL import Image

import optviz
from optviz.commands.cli import main
from optviz.draw import figure, look
from optviz.draw.frames import Animator
from optviz.draw.writers.html import LR_MARK, MAX_PIXELS, MAX_POINTS, FixedPack, _compact, background
from optviz.errors import MissingDependency, SceneError, problems_of
from optviz.maths.formula import NUMPY_OPS
from optviz.maths.functions import make_function

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))
BLOG = sorted((ROOT / "configs" / "blog").glob("*.yaml"))
ASSETS = ("boot.js", "page.css", "player.js", "player.css")


def renderable() -> list[Path]:
    """The shipped scenes this environment can render: CI installs torch and pytorch-optimizer; elsewhere a scene
    that needs them (a network, a torch optimizer) is left out."""
    found = []
    for path in CONFIGS:
        try:
            optviz.load(path)
        except SceneError as exc:
            if all(isinstance(p, MissingDependency) for p in problems_of(exc)):
                continue
            raise
        found.append(path)
    return found


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Every shipped scene's page, rendered once by the command users run."""
    out = tmp_path_factory.mktemp("pages")
    result = CliRunner().invoke(main, ["render", *map(str, renderable()), "--format", "html", "-o", str(out),
                                       "-j", "2", "-q"])
    assert result.exit_code == 0, result.output
    return {p.stem: p for p in out.glob("*.html")}


@pytest.fixture(scope="module")
def pictures():
    """Scene name -> (trajectories, picture, animator), as the renderer builds them."""
    made = {}

    def picture(name):
        if name not in made:
            path = next(p for p in CONFIGS if p.stem == name)
            traj = optviz.simulate(optviz.load(path))
            pic = figure.build(traj)
            made[name] = (traj, pic, Animator(pic))
        return made[name]

    return picture


def trace(path) -> dict:
    result = CliRunner().invoke(main, ["trace", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


# -- the file ------------------------------------------------------------------------------------------------

def page_data(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="optviz-data">(.*?)</script>', page,
                                re.S).group(1))


def unpack(pack: dict) -> np.ndarray:
    """The page's numbers as its player reads them: inflate, byte planes, then either undo the XOR with the
    previous value (floats) or sum the second differences twice and scale (fixed-point)."""
    planes = np.frombuffer(zlib.decompress(base64.b64decode(pack["data"])), dtype=np.uint8)
    if pack["type"] == "fixed":
        u = sum(planes[b * pack["size"]:(b + 1) * pack["size"]].astype(np.uint64) << np.uint64(8 * b)
                for b in range(pack["width"]))
        d = (u >> np.uint64(1)).astype(np.int64) ^ -(u & np.uint64(1)).astype(np.int64)
        out = np.zeros(pack["size"])
        for at, n in pack["seqs"]:
            out[at:at + n] = np.cumsum(np.cumsum(d[at:at + n])) * 2.0 ** -pack["bits"]
        return out
    width = 8 if pack["type"] == "f64" else 4
    words = planes.reshape(width, -1).T.copy().view(f"<u{width}").ravel()
    for at, n in pack["seqs"]:
        words[at:at + n] = np.bitwise_xor.accumulate(words[at:at + n])
    return words.view(f"<f{width}")


def numbers(data: dict, ref) -> np.ndarray:
    """One sequence of a page's numbers, by its reference [pack, index]."""
    pack = data["packs"][ref[0]]
    at, n = pack["seqs"][ref[1]]
    return unpack(pack)[at:at + n]


def player_parts(page: str) -> dict:
    """The player's style and script as the page stores them (deflated JSON) for boot.js."""
    found = re.search(r'<script type="application/octet-stream" id="optviz-player">(.*?)</script>', page, re.S)
    return json.loads(zlib.decompress(base64.b64decode(found.group(1))))


def test_every_shipped_scene_gives_a_page_smaller_than_its_gif(pages):
    assert sorted(pages) == sorted(p.stem for p in renderable())
    for name, page in pages.items():
        gif = ROOT / "outputs" / f"{name}.gif"
        assert page.stat().st_size < gif.stat().st_size, (name, page.stat().st_size, gif.stat().st_size)


def test_the_same_scene_gives_the_same_bytes(pages, tmp_path):
    again = optviz.render(optviz.load(ROOT / "configs" / "swarm.yaml"), tmp_path / "swarm", format="html")
    assert again.path == tmp_path / "swarm.html" and again.format == "html"
    assert again.path.read_bytes() == pages["swarm"].read_bytes()


class _Outside(html.parser.HTMLParser):
    """Everything a page could fetch: any src/href that is not inline data, any external script or style."""

    def __init__(self):
        super().__init__()
        self.fetches, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for key, value in attrs:
            if key in ("src", "href", "srcset", "poster", "data") and value and not value.startswith("data:"):
                self.fetches.append(f"<{tag} {key}={value[:40]}>")
        if tag == "link":
            self.fetches.append("<link>")


def test_a_page_is_self_contained_and_its_numbers_are_traces(pages):
    text = pages["adam-beale"].read_text(encoding="utf-8")
    parser = _Outside()
    parser.feed(text)
    assert parser.fetches == [] and "@import" not in text and "url(" not in text
    assert parser.tags.count("script") == 3 and parser.tags.count("canvas") == 1
    data = page_data(text)
    records = trace(ROOT / "configs" / "blog" / "adam-beale.yaml")
    assert [r["label"] for r in data["runs"]] == [r["label"] for r in records["runs"]]
    for run, record in zip(data["runs"], records["runs"]):
        x, y = (numbers(data, run[k]) for k in ("x", "y"))
        points = np.asarray(record["points"])
        assert data["packs"][run["x"][0]]["type"] == "fixed"
        assert np.abs(x - points[:, 0]).max() <= 2.0 ** -31 and np.abs(y - points[:, 1]).max() <= 2.0 ** -31
        assert run["loss"] is None      # the page computes losses from the function's formula: see below
        page_loss = run_program(data["formula"], x, y)
        np.testing.assert_allclose(page_loss, make_function("beale")(np.stack([x, y])), rtol=1e-12)
        # trace's loss is at the unrounded point: 2^-31 in x and y moves it far below the readout's 6 digits
        np.testing.assert_allclose(page_loss, record["loss"], rtol=5e-7)


def run_program(prog: list, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """What player.js's losses() computes, in numpy: the formula program, node by node."""
    values: list = []
    for node in prog:
        if isinstance(node, float):
            values.append(np.full_like(x, node))
        elif node in ("x", "y"):
            values.append(x if node == "x" else y)
        else:
            values.append(NUMPY_OPS[node[0]](*(values[i] for i in node[1:])))
    return values[-1]


def test_losses_are_stored_where_the_page_cannot_compute_them(tmp_path):
    scene = optviz.scene(function="least_squares", optimizers=["sgd"], steps=20, minibatch={"size": 8})
    traj = optviz.simulate(scene)
    data = page_data(optviz.render(traj, tmp_path / "ls.html").path.read_text(encoding="utf-8"))
    assert data["formula"] is None    # data terms: no formula the page could run
    np.testing.assert_array_equal(numbers(data, data["runs"][0]["loss"]), np.float32(traj.runs[0].loss))


def test_a_swarm_is_stored_as_float32(pages):
    data = page_data(pages["swarm"].read_text(encoding="utf-8"))
    records = trace(ROOT / "configs" / "swarm.yaml")
    assert len(data["runs"]) == len(records["runs"]) == 120
    for run, record in zip(data["runs"][::17], records["runs"][::17]):
        assert data["packs"][run["x"][0]]["type"] == "f32"
        assert np.array_equal(numbers(data, run["x"]), np.float32(np.asarray(record["points"])[:, 0]))


def test_a_run_beyond_fixed_point_keeps_its_float64(opened, tmp_path):
    """Coordinates of 2**20 and more (a huge view, a run flying off) stay float64, exactly trace's; just below,
    fixed-point needs 7 bytes a number, which the player still reads exactly."""
    runs = [{"name": "sgd", "label": "far", "lr": 0.3}, {"name": "sgd", "label": "edge", "lr": 0.01,
                                                         "start": [1.0e6, -1.04e6]},
            {"name": "sgd", "label": "near", "lr": 0.3, "start": [3.0, 1.0]}]
    scene = optviz.scene(name="far", function="parabola", start=[1.5e6, -2.0e5], steps=40, xlim=[-2e6, 2e6],
                         ylim=[-2e6, 2e6], size=[400, 240], optimizers=runs)
    traj = optviz.simulate(scene)
    o = opened(optviz.render(traj, tmp_path / "far.html").path)
    data = page_data(o.path.read_text(encoding="utf-8"))
    assert [data["packs"][run["x"][0]]["type"] for run in data["runs"]] == ["f64", "fixed", "fixed"]
    assert data["packs"][1]["width"] == 7
    far = traj.runs[0].points
    assert not FixedPack.holds(far)
    assert np.array_equal(numbers(data, data["runs"][0]["x"]), far[:, 0])
    assert np.array_equal(numbers(data, data["runs"][0]["y"]), far[:, 1])
    for k in (0, 1, 7, 40):
        state = o.seek(k)
        assert state["runs"][0]["x"] == far[k, 0] and state["runs"][0]["y"] == far[k, 1]
        for run, simulated in zip(state["runs"][1:], traj.runs[1:]):
            assert np.abs(np.array([run["x"], run["y"]]) - simulated.points[k]).max() <= 2.0 ** -31
    assert o.errors == []


def test_fixed_point_is_exact_to_half_its_unit_up_to_its_limit():
    rng = np.random.default_rng(0)
    values = [np.cumsum(rng.normal(0, 10.0 ** e, 500)) for e in (-12, -3, 0, 3)]
    values.append(np.array([FixedPack.LIMIT * 0.999, -FixedPack.LIMIT * 0.999, 0.0, -0.0, 1e-300]))
    pack = FixedPack(0)
    refs = [pack.add(v) for v in values]
    data = {"packs": [pack.encoded()]}
    for v, ref in zip(values, refs):
        assert np.abs(numbers(data, ref) - v).max() <= 2.0 ** -(FixedPack.BITS + 1)
    assert data["packs"][0]["width"] <= 7                   # below 2**53: exact in a JavaScript number
    assert not FixedPack.holds([FixedPack.LIMIT]) and not FixedPack.holds([0.0, np.nan])


def test_the_background_is_the_pictures_own_pixels(pages, pictures):
    text = pages["sgd-momentum"].read_text(encoding="utf-8")
    found = re.search(r'<img class="optviz-background" src="data:image/webp;base64,([^"]*)"', text).group(1)
    shown = Image.open(io.BytesIO(base64.b64decode(found)))
    assert shown.format == "WEBP"
    traj, pic, anim = pictures("sgd-momentum")
    assert np.array_equal(np.asarray(shown.convert("RGB")), np.asarray(background(pic, anim).convert("RGB")))


def test_the_player_is_stored_compacted_and_deflated(pages):
    text = pages["sgd-momentum"].read_text(encoding="utf-8")
    parts = player_parts(text)
    for name, kind in (("player.js", "script"), ("player.css", "style")):
        source = resources.files("optviz.draw.writers").joinpath(name).read_text(encoding="utf-8")
        assert parts[kind] == _compact(source) and len(parts[kind]) < len(source)
    assert "player.js" not in text and "optviz-player" in text
    source = "a = '//  x';  // gone\nb = \"it's\";  // kept: a quote is open\n  /* gone\n  too */\nc = 1;\n"
    assert _compact(source) == "a = '//  x';\nb = \"it's\";  // kept: a quote is open\nc = 1;\n"
    with pytest.raises(RuntimeError):
        _compact("a = `multi\nline`;\n")


def test_player_files_are_package_data():
    for name in ASSETS:
        assert resources.files("optviz.draw.writers").joinpath(name).is_file()
    tomllib = pytest.importorskip("tomllib")
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert all(any(fnmatch.fnmatch(name, p) for p in patterns["optviz.draw.writers"]) for name in ASSETS)


# -- what a page cannot show: exit 2, one line, no file ---------------------------------------------------------

BIG = """\
function: beale
steps: {steps}
size: {size}
scale: {scale}
optimizers:
{runs}
"""


@pytest.mark.parametrize("settings, args, expected", [
    ({"size": "[4096, 4096]", "scale": 2}, [], "big.yaml:4: scale: 4096x4096 at scale 2 is 8192x8192 pixels; "
                                               f"a page's canvas holds at most {MAX_PIXELS}"),
    ({"size": "[2048, 2048]", "scale": 1}, ["--scale", "4"], "error: --scale: 2048x2048 at scale 4 is 8192x8192"),
    ({"steps": 100_000, "runs": 12}, [], f"big.yaml:2: steps: the page would hold 1200012 points (12 runs); it "
                                         f"holds at most {MAX_POINTS}"),
])
def test_what_a_page_cannot_show_is_refused_before_any_work(tmp_path, settings, args, expected):
    runs = "\n".join(f"  - {{name: sgd, label: run {i}, lr: 0.001}}" for i in range(settings.get("runs", 1)))
    scene = tmp_path / "big.yaml"
    scene.write_text(BIG.format(steps=settings.get("steps", 10), size=settings.get("size", "[720, 432]"),
                                scale=settings.get("scale", 1), runs=runs))
    out = tmp_path / "big.html"
    result = CliRunner().invoke(main, ["render", str(scene), "--format", "html", "-o", str(out), *args])
    assert result.exit_code == 2
    assert expected in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == [scene]
    gif = CliRunner().invoke(main, ["validate", str(scene)])
    assert gif.exit_code == 0                       # the scene itself is fine: a gif can show it
    scene.write_text(scene.read_text() + "output: big.html\n")
    if not args:                                    # with an .html output, validate says what render would
        checked = CliRunner().invoke(main, ["validate", str(scene)])
        assert checked.exit_code == 2 and expected in checked.output


# -- in a real browser ----------------------------------------------------------------------------------------

def chromium() -> str | None:
    return shutil.which("chromium") or next((p for p in ("/usr/bin/chromium",) if os.path.exists(p)), None)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
    exe = chromium()
    if exe is None:
        pytest.skip("no headless browser: apt-get install chromium")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=exe, args=[
            "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-dev-shm-usage", "--disable-gpu"])
        yield launched
        launched.close()


class Opened:
    """A page in its own browser context, with every request and every console error it caused."""

    def __init__(self, browser, path: Path, width: int = 1000, height: int = 720, **options):
        self.context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1,
                                           **options)
        self.requests, self.errors = [], []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                           else route.abort())
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.path, self.url = path, path.as_uri()
        self.page.goto(self.url)
        self.page.wait_for_function("window.optvizPlayer !== undefined")

    def state(self) -> dict:
        return self.page.evaluate("optvizPlayer.state()")

    def seek(self, k: int) -> dict:
        self.page.evaluate(f"optvizPlayer.pause(); optvizPlayer.seek({k})")
        return self.state()

    def screenshot(self) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(self.page.screenshot(full_page=True))).convert("RGB"))

    def rect(self, selector: str) -> dict | None:
        return self.page.evaluate(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            if (!e || e.offsetParent === null) return null;
            const r = e.getBoundingClientRect();
            return {{left: r.left + scrollX, top: r.top + scrollY, right: r.right + scrollX,
                     bottom: r.bottom + scrollY, width: r.width}}; }})()""")

    def close(self):
        self.context.close()


@pytest.fixture
def opened(browser):
    made = []

    def open_page(path, **options):
        made.append(Opened(browser, path, **options))
        return made[-1]

    yield open_page
    for o in made:
        o.close()


def rgb8(color) -> np.ndarray:
    return np.round(255 * np.asarray(to_rgb(color))).astype(int)


def inside(px, box, margin=2.0) -> bool:
    return box is not None and box["left"] - margin <= px[0] <= box["right"] + margin \
        and box["top"] - margin <= px[1] <= box["bottom"] + margin


def covered_later(state, i, reach=6.0) -> bool:
    """Whether a run drawn after run i has its dot over run i's point (its colour wins there)."""
    x, y = state["runs"][i]["px"]
    return any(r["visible"] and r["inView"] and np.hypot(r["px"][0] - x, r["px"][1] - y) < reach
               for r in state["runs"][i + 1:])


@pytest.mark.parametrize("scene", BLOG, ids=lambda p: p.stem)
def test_blog_page_seeks_to_traces_points_on_the_gifs_pixels(scene, pages, pictures, opened):
    o = opened(pages[scene.stem])
    records = trace(scene)["runs"]
    traj, pic, anim = pictures(scene.stem)
    canvas = o.rect(".optviz-canvas")
    width = pic.canvas.get_width_height()[0]
    shown = o.state()
    assert shown["steps"] == pic.steps and [r["label"] for r in shown["runs"]] == [r["label"] for r in records]
    checked = set()
    for k in sorted({0, 1, pic.steps // 3, pic.steps // 2, pic.steps - 1, pic.steps}):
        state = o.seek(k)
        assert state["step"] == k
        shot = o.screenshot()
        still = anim.still(k)[:, :, :3].astype(int)
        legend, counter = o.rect(".optviz-legend"), o.rect(".optviz-counter")
        for i, (run, record) in enumerate(zip(state["runs"], records)):
            point = record["points"][min(k, len(record["points"]) - 1)]
            assert abs(run["x"] - point[0]) <= 1e-9 and abs(run["y"] - point[1]) <= 1e-9
            assert run["loss"] == pytest.approx(record["loss"][min(k, len(record["loss"]) - 1)], rel=5e-7)
            column, row = figure.to_pixel(pic, point)
            scale = canvas["width"] / width
            assert run["px"][0] == pytest.approx(canvas["left"] + column * scale, abs=1e-6)
            assert run["px"][1] == pytest.approx(canvas["top"] + row * scale, abs=1e-6)
            if not run["inView"] or covered_later(state, i) or inside(run["px"], legend) \
                    or inside(run["px"], counter):
                continue
            color = rgb8(run["color"])
            left, top = (int(v) for v in run["px"])
            assert np.abs(shot[top, left] - color).max() <= 8, (k, run["label"], shot[top, left], color)
            assert np.abs(still[int(row), int(column)] - color).max() <= 8     # the GIF's frame: same pixel
            checked.add(i)
        # the rest of the picture is the GIF's frame too (text of the page's own legend and counter aside)
        view = shot[int(canvas["top"]):int(canvas["top"]) + still.shape[0],
                    int(canvas["left"]):int(canvas["left"]) + still.shape[1]].astype(int)
        differs = np.abs(view - still).sum(axis=2) > 96
        for box in (legend, counter):
            if box is not None:
                differs[int(box["top"] - canvas["top"]) - 2:int(box["bottom"] - canvas["top"]) + 2,
                        int(box["left"] - canvas["left"]) - 2:int(box["right"] - canvas["left"]) + 2] = False
        assert differs.sum() <= 60, (k, differs.sum())        # about 30 edge pixels of antialiasing
    assert checked == set(range(len(records)))
    assert o.requests == [o.url] and o.errors == []


def test_play_advances_fires_step_events_loops_and_stops(pages, opened):
    o = opened(pages["sgd-momentum"])
    page = o.page
    o.seek(0)
    page.evaluate("window.seen = []; addEventListener('optviz:step', e => seen.push(e.detail.step))")
    page.evaluate("optvizPlayer.play()")
    page.wait_for_function("optvizPlayer.state().step >= 5")
    page.evaluate("optvizPlayer.pause()")
    seen = page.evaluate("seen")
    assert seen and seen == sorted(seen) and seen[-1] == o.state()["step"] and not o.state()["playing"]
    steps = o.state()["steps"]
    o.seek(steps - 3)
    page.uncheck(".optviz-loop")
    page.evaluate("optvizPlayer.play()")
    page.wait_for_function("!optvizPlayer.state().playing", timeout=10_000)
    assert o.state()["step"] == steps                        # played to the end, held, stopped
    page.check(".optviz-loop")
    page.evaluate("seen.length = 0; optvizPlayer.play()")    # from the end, play starts over ...
    page.wait_for_function("seen.some(k => k > 5)")
    page.evaluate("optvizPlayer.seek(optvizPlayer.state().steps - 2)")
    page.wait_for_function(f"seen.lastIndexOf({steps}) >= 0 && seen[seen.length - 1] < 5", timeout=10_000)
    assert o.state()["playing"]                              # ... and loops
    assert o.errors == []


def test_legend_entries_toggle_their_runs(pages, opened):
    o = opened(pages["adam-beale"])
    state = o.seek(60)
    adam = state["runs"][2]
    color = rgb8(adam["color"])
    left, top = (int(v) for v in adam["px"])
    assert np.abs(o.screenshot()[top, left] - color).max() <= 8
    button = o.page.locator(".optviz-legend button").nth(2)
    button.click()
    hidden = o.state()
    assert [r["visible"] for r in hidden["runs"]] == [True, True, False]
    assert button.get_attribute("aria-pressed") == "false"
    shot = o.screenshot()
    assert not (np.abs(shot[top - 3:top + 4, left - 3:left + 4] - color).max(axis=2) <= 24).any()
    button.click()
    assert o.state()["runs"][2]["visible"] and np.abs(o.screenshot()[top, left] - color).max() <= 8


def test_slider_keys_and_tab_order(pages, opened):
    o = opened(pages["sgd-nag"])
    page = o.page
    steps = o.seek(10)["steps"]
    page.focus(".optviz-slider")
    page.keyboard.press("ArrowRight")
    assert o.state()["step"] == 11
    page.keyboard.press("End")
    assert o.state()["step"] == steps
    page.fill(".optviz-slider", "40")
    assert o.state()["step"] == 40 and page.input_value(".optviz-slider") == "40"
    page.evaluate("document.activeElement.blur()")
    for key, step in (("ArrowLeft", 39), ("ArrowLeft", 38), ("ArrowRight", 39), ("Home", 0), ("End", steps)):
        page.keyboard.press(key)
        assert o.state()["step"] == step, key
    page.keyboard.press("Space")
    assert o.state()["playing"]
    page.keyboard.press("Space")
    assert not o.state()["playing"]
    page.evaluate("optvizPlayer.seek(20)")
    page.click(".optviz-forward")
    page.click(".optviz-forward")
    page.click(".optviz-back")
    assert o.state()["step"] == 21
    page.select_option(".optviz-speed", "4")
    assert page.input_value(".optviz-speed") == "4"
    page.evaluate("document.activeElement.blur()")
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.className || document.activeElement.tagName"))
    for control in ("optviz-play", "optviz-back", "optviz-forward", "optviz-slider", "optviz-speed", "optviz-loop"):
        assert control in reached
    assert reached.count("BUTTON") == 3                                        # the legend's entries
    assert o.errors == []


def test_reduced_motion_starts_paused_on_the_whole_story(pages, opened):
    o = opened(pages["adam-beale"], reduced_motion="reduce")
    first = o.state()
    o.page.wait_for_timeout(300)
    assert not first["playing"] and first["step"] == first["steps"] == o.state()["step"]
    moving = opened(pages["adam-beale"])
    assert moving.state()["playing"]


def test_readable_at_320_pixels(pages, opened):
    o = opened(pages["adam-beale"], width=320, height=640)
    page = o.page
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    picture, legend = o.rect(".optviz-canvas"), o.rect(".optviz-legend")
    assert picture["width"] <= 320 - 16
    assert legend["top"] >= picture["bottom"] and legend["right"] <= 320     # below the picture, not over it
    sizes = page.evaluate("""[...document.querySelectorAll(
        '.optviz-legend .optviz-label, .optviz-step, .optviz-option, .optviz-tip')].map(
        e => parseFloat(getComputedStyle(e).fontSize))""")
    assert sizes and min(sizes) >= 12
    buttons = page.evaluate("[...document.querySelectorAll('.optviz-controls button')].map("
                            "b => b.getBoundingClientRect().height)")
    assert min(buttons) >= 24
    state = o.seek(90)
    run = state["runs"][0]
    page.mouse.click(*run["px"])                                              # a tap shows the numbers too
    assert page.is_visible(".optviz-tip") and "SGD" in page.inner_text(".optviz-tip")
    wide = opened(pages["adam-beale"], width=1000)
    wide_picture, wide_legend = wide.rect(".optviz-canvas"), wide.rect(".optviz-legend")
    assert wide_legend["bottom"] < wide_picture["bottom"]                    # over the picture, as in the GIF


def test_hovering_a_path_shows_step_position_loss_and_lr(pages, pictures, opened):
    o = opened(pages["schedules"])
    traj, pic, _ = pictures("schedules")
    state = o.seek(50)
    run = state["runs"][1]                                                    # StepLR
    o.page.mouse.move(*run["px"])
    o.page.wait_for_selector(".optviz-tip", state="visible")
    text = o.page.inner_text(".optviz-tip")
    lr = look.current_lr(traj.runs[1].lrs, 50)
    assert text.splitlines()[:2] == ["StepLR", "step 50"]
    assert f"lr {lr:.3g}" in text and "loss " in text and "x " in text
    assert run["lr"] == lr
    o.page.mouse.move(2, 2)
    assert not o.page.is_visible(".optviz-tip")


def test_a_scheduled_runs_legend_shows_the_current_lr(pages, pictures, opened):
    o = opened(pages["schedules"])
    _, pic, _ = pictures("schedules")
    for k in (0, 1, 29, 30, 31, 45, 60, 90, 119, 120):
        o.seek(k)
        labels = o.page.eval_on_selector_all(".optviz-legend .optviz-label", "es => es.map(e => e.textContent)")
        assert labels == pic.labels(k), k
    assert LR_MARK not in pages["schedules"].read_text(encoding="utf-8").split("<script")[0]


def test_the_legend_writes_an_lr_as_python_does(opened, tmp_path):
    """Halving 2.25 meets exact ties (1.125 -> 1.12, 0.5625 -> 0.562: Python rounds half to even) and, further
    down, exponents (3.43e-05): the page's legend must read as the GIF's."""
    scene = optviz.scene(name="halving", function="matyas", steps=24, size=[400, 240],
                         optimizers=[{"name": "sgd", "label": "halved", "lr": 2.25,
                                      "schedule": {"name": "StepLR", "step_size": 1, "gamma": 0.5}},
                                     {"name": "sgd", "label": "tiny", "lr": 3.0e-7}])
    traj = optviz.simulate(scene)
    pic = figure.build(traj)
    o = opened(optviz.render(traj, tmp_path / "halving.html").path)
    for k in range(0, 25):
        o.seek(k)
        labels = o.page.eval_on_selector_all(".optviz-legend .optviz-label", "es => es.map(e => e.textContent)")
        assert labels == pic.labels(k), k
    assert {"halved (lr=1.12)", "halved (lr=0.562)", "halved (lr=3.43e-05)"} <= {pic.labels(k)[0] for k in range(25)}


def test_swarms_diverged_runs_and_panels_behave_as_in_the_gif(pages, pictures, opened):
    o = opened(pages["swarm"])
    state = o.seek(100)
    assert len(state["runs"]) == 120
    records = trace(ROOT / "configs" / "swarm.yaml")["runs"]
    for run, record in zip(state["runs"], records):
        assert run["x"] == pytest.approx(record["points"][-1][0], rel=1e-6, abs=1e-6)
    o.page.locator(".optviz-legend button").nth(1).click()
    assert [r["visible"] for r in o.state()["runs"]] == [True] * 60 + [False] * 60

    lr = opened(pages["learning-rate"])
    state = lr.seek(lr.state()["steps"])
    gone = state["runs"][2]                                  # 'too large': it flew off and has no dot
    assert not gone["inView"]
    assert "diverged at step" in lr.page.locator(".optviz-legend button").nth(2).inner_text()

    views = opened(pages["three-views"], width=1200)
    _, pic, anim = pictures("three-views")
    k = 80
    state = views.seek(k)
    canvas = views.rect(".optviz-canvas")
    shot = views.screenshot()
    still = anim.still(k)[:, :, :3].astype(int)
    view = shot[int(canvas["top"]):int(canvas["top"]) + still.shape[0],
                int(canvas["left"]):int(canvas["left"]) + still.shape[1]].astype(int)
    height = pic.canvas.get_width_height()[1]
    for panel in (pic.loss_axes, pic.surface_axes):            # both panels follow the slider, as the GIF's do
        box = panel.bbox
        rows, cols = slice(int(height - box.y1), int(height - box.y0)), slice(int(box.x0), int(box.x1))
        assert (np.abs(view[rows, cols] - still[rows, cols]).sum(axis=2) > 96).sum() <= 20
    last = pic.tracks[-1].run                                 # drawn last: its loss dot is on top
    column, row = pic.loss_axes.transData.transform((k, last.loss[k]))
    assert np.abs(view[int(height - row), int(column)] - rgb8(state["runs"][-1]["color"])).max() <= 8
    for o_ in (o, lr, views):
        assert o_.errors == [] and o_.requests == [o_.url]


@pytest.mark.parametrize("without", ["javascript", "DecompressionStream"])
def test_without_the_player_the_page_is_the_picture(pages, browser, without):
    """No JavaScript, or a browser too old to inflate the player: the picture, at the page's width, and a note;
    none of the player's controls, legend or canvas, which would do nothing."""
    options = {"java_script_enabled": False} if without == "javascript" else {}
    context = browser.new_context(viewport={"width": 320, "height": 640}, **options)
    try:
        if without == "DecompressionStream":
            context.add_init_script("delete window.DecompressionStream")
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(pages["adam-beale"].as_uri())
        page.wait_for_load_state("load")
        picture = page.evaluate("""(() => { const r = document.querySelector('.optviz-background')
            .getBoundingClientRect(); return [r.width, r.height]; })()""")
        assert 280 <= picture[0] <= 320 - 16 and picture[1] == pytest.approx(picture[0] * 432 / 720, abs=1)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        for hidden in (".optviz-canvas", ".optviz-legend", ".optviz-controls"):
            assert not page.is_visible(hidden), hidden
        note = "The player needs JavaScript" if without == "javascript" else "lacks DecompressionStream"
        assert note in page.inner_text("body") and errors == []
    finally:
        context.close()


def test_jupyter_shows_the_player_inline(pages, browser, tmp_path):
    shown = optviz.notebook.Animation(pages["sgd-momentum"])._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in shown
    notebook = tmp_path / "notebook.html"
    notebook.write_text(f"<!DOCTYPE html><html><body>{shown}</body></html>", encoding="utf-8")
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(notebook.as_uri())
        frame = page.frames[1]
        frame.wait_for_function("window.optvizPlayer !== undefined")
        state = frame.evaluate("optvizPlayer.pause(); optvizPlayer.seek(30); optvizPlayer.state()")
        assert state["step"] == 30 and len(state["runs"]) == 2 and errors == []
    finally:
        context.close()


def test_a_divergence_is_told_on_its_step_and_an_arrow_shows_where_the_run_went(pages, pictures, opened):
    o = opened(pages["learning-rate"])
    _, pic, anim = pictures("learning-rate")
    track = pic.tracks[2]                                   # "too large": leaves the view, then diverges
    d = track.run.diverged_at
    for k in (0, track.exits[-1].step, d - 1, d, pic.steps):
        o.seek(k)
        labels = o.page.eval_on_selector_all(".optviz-legend .optviz-label", "es => es.map(e => e.textContent)")
        assert labels == pic.labels(k), k
    assert "diverged" not in pic.labels(d - 1)[2] and "diverged at step" in pic.labels(d)[2]
    o.seek(pic.steps)
    shot, canvas = o.screenshot(), o.rect(".optviz-canvas")
    still = anim.still(pic.steps)[:, :, :3].astype(int)
    column, row = figure.to_pixel(pic, np.ravel(track.arrows[-1].get_data()))
    color = rgb8(track.color)
    assert np.abs(still[int(row), int(column)] - color).max() <= 8                         # the GIF's arrow
    assert np.abs(shot[int(canvas["top"] + row), int(canvas["left"] + column)] - color).max() <= 8   # the page's


def test_a_page_leaves_out_the_lr_when_the_scene_does(pages, pictures, opened):
    o = opened(pages["adam-beale"])
    _, pic, _ = pictures("adam-beale")
    labels = o.page.eval_on_selector_all(".optviz-legend .optviz-label", "es => es.map(e => e.textContent)")
    assert labels == pic.labels(0) == ["SGD", "SGD-NAG", "Adam"]


def test_a_page_of_another_origin_drives_the_player_by_message(pages, browser, tmp_path):
    """A sandboxed iframe is another origin: the embedding page cannot reach window.optvizPlayer, and does the
    same by postMessage (the page says it is ready, answers each command with its state, and a listener gets
    every step)."""
    shutil.copy(pages["adam-beale"], tmp_path / "adam-beale.html")
    (tmp_path / "embed.html").write_text("""<!DOCTYPE html><html><body>
<iframe id="f" src="adam-beale.html" sandbox="allow-scripts" width="900" height="700"></iframe>
<script>
window.got = []; window.reachable = null;
addEventListener("message", e => {
  got.push(e.data);
  if (e.data.optviz !== "ready") return;
  try { f.contentWindow.optvizPlayer.pause(); reachable = true; } catch (err) { reachable = false; }
  for (const m of [{optviz: "listen"}, {optviz: "pause"}, {optviz: "seek", step: 40}]) e.source.postMessage(m, "*");
});
</script></body></html>""", encoding="utf-8")
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto((tmp_path / "embed.html").as_uri())
        page.wait_for_function("got.some(m => m.optviz === 'state' && m.state.step === 40)")
        assert page.evaluate("reachable") is False
        state = page.evaluate("got.filter(m => m.optviz === 'state').pop().state")
        records = trace(ROOT / "configs" / "blog" / "adam-beale.yaml")["runs"]
        assert not state["playing"] and [r["label"] for r in state["runs"]] == [r["label"] for r in records]
        for run, record in zip(state["runs"], records):
            assert abs(run["x"] - record["points"][40][0]) <= 1e-9 and abs(run["y"] - record["points"][40][1]) <= 1e-9
        assert page.evaluate("got.some(m => m.optviz === 'step' && m.state.step === 40)")
        page.evaluate("document.getElementById('f').contentWindow.postMessage({optviz: 'play'}, '*')")
        page.wait_for_function("got.filter(m => m.optviz === 'step').length >= 6")
        told = page.evaluate("got.filter(m => m.optviz === 'step').map(m => m.state.step)")
        assert told[0] == 40 and told[1:] == sorted(told[1:]) and told[-1] > 40
        page.evaluate("document.getElementById('f').contentWindow.postMessage({optviz: 'pause'}, '*')")
        assert errors == []
    finally:
        context.close()
