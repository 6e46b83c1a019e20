"""Rendering: the files users get (frames, size, palette, timing), the pixels they see, and failures."""
from __future__ import annotations

import importlib.util
import io
import os
import struct
import xml.etree.ElementTree as ET
from dataclasses import replace

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

import optviz
from optviz.draw import figure, look
from optviz import forked
from optviz.draw.writers import gif as encode
from optviz.errors import SceneError
from optviz.draw.frames import Animator, frame_steps
from optviz.maths.functions import make_function
from optviz.draw.animate import render
from optviz.draw.writers.mp4 import MP4_MISSING
from optviz.scenes.record import RunSpec, Scene
from optviz.simulate import Run, Trajectories, lr_schedule

SIZE = (160, 120)


def line_run(label, start, end, steps=20, color=None, lr=0.1, diverged_at=None):
    """A straight path: the points are known, so their pixels are too."""
    t = np.linspace(0.0, 1.0, steps + 1)[:, None]
    points = np.asarray(start) + t * (np.asarray(end) - np.asarray(start))
    f = make_function("beale")
    spec = RunSpec("sgd", label, lr, {}, tuple(start), steps, color)
    return Run(spec, points, np.asarray(f.value(points.T), dtype=float), diverged_at, lr_schedule(spec))


def make_traj(*runs, **settings):
    """Paths in the lower half: at 160x120 the legend (upper right) and the counter (lower right) are large."""
    runs = runs or (line_run("A", (-3.5, -3.5), (0.5, -1.5)), line_run("B", (3.0, -1.0), (-1.5, -2.5)))
    settings.setdefault("legend", "upper right")
    scene = Scene(function=make_function("beale"), runs=tuple(r.spec for r in runs), xlim=(-4.5, 4.5),
                  ylim=(-4.5, 4.5), size=SIZE, **settings)
    return Trajectories(scene, tuple(runs))


def gif_blocks(data: bytes) -> dict:
    """The GIF's structure: global colour table, and per image its rectangle, local-table flag, delay."""
    assert data[:6] == b"GIF89a"
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    images, delays, loop = [], [], None
    while data[pos] != 0x3B:
        if data[pos] == 0x21:
            label = data[pos + 1]
            if label == 0xF9:
                delays.append(struct.unpack("<H", data[pos + 4:pos + 6])[0])
            if label == 0xFF and data[pos + 3:pos + 14] == b"NETSCAPE2.0":
                loop = struct.unpack("<H", data[pos + 16:pos + 18])[0]
            pos += 2
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
        elif data[pos] == 0x2C:
            x, y, w, h, f = struct.unpack("<HHHHB", data[pos + 1:pos + 10])
            pos += 10 + (3 << ((f & 7) + 1) if f & 0x80 else 0)
            images.append({"box": (x, y, w, h), "local_table": bool(f & 0x80), "code_size": data[pos]})
            pos += 1
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
        else:
            raise AssertionError(f"unexpected GIF block {data[pos]:#x} at {pos}")
    return {"global_table": bool(flags & 0x80), "table_bits": (flags & 7) + 1, "images": images, "delays": delays,
            "loop": loop}


def frame_rgb(path, index):
    with Image.open(path) as im:
        im.seek(index)
        return np.asarray(im.convert("RGB"))


def rgb8(color):
    return tuple(int(round(255 * c)) for c in to_rgb(color))


def test_gif_has_one_frame_per_step_and_the_scene_size(tmp_path):
    out = render(make_traj(), tmp_path / "a.gif")
    with Image.open(out) as im:
        assert im.size == SIZE
        assert im.n_frames == 21
        assert im.info["loop"] == 0


def test_one_global_palette_and_frames_store_only_what_changed(tmp_path):
    traj = make_traj(fps=20, pause=1.0)
    blocks = gif_blocks(render(traj, tmp_path / "a.gif").read_bytes())
    assert blocks["global_table"]
    assert not any(im["local_table"] for im in blocks["images"])
    assert blocks["table_bits"] <= 6                    # at most 64 colours ...
    assert {im["code_size"] for im in blocks["images"]} == {max(blocks["table_bits"], 2)}   # ... and codes to match
    assert blocks["images"][0]["box"] == (0, 0, *SIZE)
    area = SIZE[0] * SIZE[1]
    assert all(w * h < area / 2 for _, _, w, h in (im["box"] for im in blocks["images"][1:]))
    assert blocks["delays"][:-1] == [5] * 20           # 1/20 s, in hundredths
    assert blocks["delays"][-1] == 5 + 100               # the last frame holds for the pause
    assert blocks["loop"] == 0


def test_each_runs_final_dot_is_drawn_where_its_last_point_maps(tmp_path):
    traj = make_traj(palette=("#d62728", "#2ca02c"))
    out = render(traj, tmp_path / "a.gif")
    pic = figure.build(traj)
    last, first = frame_rgb(out, 20), frame_rgb(out, 0)
    for run, color in zip(traj.runs, ("#d62728", "#2ca02c")):
        col, row = figure.to_pixel(pic, run.points[-1])
        assert tuple(last[int(row), int(col)]) == rgb8(color)
        col0, row0 = figure.to_pixel(pic, run.points[0])
        assert tuple(first[int(row0), int(col0)]) == rgb8(color)
        assert tuple(first[int(row), int(col)]) != rgb8(color)   # not there yet at step 0


def test_same_inputs_give_the_same_bytes(tmp_path):
    a = render(make_traj(), tmp_path / "a.gif").read_bytes()
    b = render(make_traj(), tmp_path / "b.gif").read_bytes()
    assert a == b
    assert render(make_traj(), tmp_path / "a.png").read_bytes() == render(make_traj(), tmp_path / "b.png").read_bytes()


def test_a_gif_is_the_same_bytes_encoded_beside_the_drawing_or_in_a_second_process(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    scenes = {"lone": make_traj(), "diverged": make_traj(line_run("A", (0.0, 0.0), (40.0, 30.0), diverged_at=20),
                                                        line_run("B", (-3.0, -2.0), (-1.0, -2.0))),
              "swarm": make_traj(*swarm("S", rng.uniform(-4, 4, (30, 2)), rng.uniform(-4, 4, (30, 2)))),
              "crowd": make_traj(*[line_run(f"R{i}", (-4.0 + i / 2, -3.0), (i / 3, 3.0)) for i in range(12)]),
              "panels": make_traj(panels=("loss",))}
    for name, traj in scenes.items():
        out = {}
        for processes in (1, 2):
            monkeypatch.setattr(forked, "available", lambda: processes == 2)
            out[processes] = render(traj, tmp_path / f"{name}-{processes}.gif").read_bytes()
        assert out[1] == out[2], name


def test_the_changed_boxes_of_each_frame_hold_every_pixel_that_changed():
    rng = np.random.default_rng(4)
    for traj in (make_traj(), make_traj(*swarm("S", rng.uniform(-4, 4, (20, 2)), rng.uniform(-4, 4, (20, 2)))),
                 make_traj(line_run("A", (0.0, 0.0), (40.0, 30.0), diverged_at=20), panels=("loss",))):
        anim = Animator(figure.build(traj))
        before = None
        for k, (pixels, boxes) in enumerate(anim.changes(range(21))):
            inside = np.zeros(pixels.shape[:2], dtype=bool)
            for r0, r1, c0, c1 in boxes:
                inside[r0:r1, c0:c1] = True
            if before is None:
                assert inside.all()
            else:
                assert not ((pixels != before).any(axis=2) & ~inside).any(), k
                assert inside.mean() < 1 or traj.scene.panels      # only a panel's frames copy everything
            before = pixels.copy()


def test_a_render_that_fails_while_drawing_ends_its_encoding_process_and_leaves_no_file(tmp_path, monkeypatch):
    started = []
    real_start, real_changes = forked.Forked.start, Animator.changes

    def recording_start(self):
        real_start(self)
        started.append(self.pid)

    def failing_changes(self, ks):
        for n, frame in enumerate(real_changes(self, ks)):
            if n == 5:
                raise RuntimeError("canvas on fire")
            yield frame

    monkeypatch.setattr(forked, "available", lambda: True)
    monkeypatch.setattr(forked.Forked, "start", recording_start)
    monkeypatch.setattr(Animator, "changes", failing_changes)
    with pytest.raises(RuntimeError, match="canvas on fire"):
        render(make_traj(), tmp_path / "a.gif")
    assert list(tmp_path.iterdir()) == []
    assert len(started) == 1
    with pytest.raises(ChildProcessError):      # ended and waited for: no process left behind
        os.waitpid(started[0], os.WNOHANG)


def test_where_the_system_refuses_a_second_process_the_gif_is_encoded_in_this_one(tmp_path, monkeypatch):
    def refuse():
        raise BlockingIOError("no more processes")

    monkeypatch.setattr(forked, "available", lambda: False)
    alone = render(make_traj(), tmp_path / "alone.gif").read_bytes()
    monkeypatch.setattr(forked, "available", lambda: True)
    monkeypatch.setattr(forked.os, "fork", refuse)
    assert render(make_traj(), tmp_path / "refused.gif").read_bytes() == alone


@pytest.mark.parametrize("processes", [1, 2])
def test_a_failed_render_leaves_no_file(tmp_path, monkeypatch, processes):
    calls = []

    def failing_add(self, rgba, delay, changed=None):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(encode.GifStream, "add", failing_add)
    monkeypatch.setattr(forked, "available", lambda: processes == 2)
    with pytest.raises(RuntimeError, match="disk on fire"):   # raised in the encoding process, told here
        render(make_traj(), tmp_path / "a.gif")
    assert list(tmp_path.iterdir()) == []


def test_a_diverged_run_is_named_in_the_legend_and_leaves_the_view(tmp_path):
    far = line_run("SGD", (0.0, 0.0), (40.0, 30.0), steps=12, lr=0.5, diverged_at=12)
    calm = line_run("Adam", (-3.0, -2.0), (-1.0, -2.0), steps=20, lr=0.7)
    traj = make_traj(far, calm)
    assert look.run_label(far.spec, far.diverged_at) == "SGD (lr=0.5), diverged at step 12"
    pic = figure.build(traj)
    # told on the frame it happens, not before (issue 11: the legend said so from frame 0)
    assert [t.get_text() for t in pic.legend.get_texts()] == ["SGD (lr=0.5)", "Adam (lr=0.7)"]
    assert pic.labels(11)[0] == "SGD (lr=0.5)"
    assert pic.labels(12) == pic.labels(20) == ["SGD (lr=0.5), diverged at step 12", "Adam (lr=0.7)"]
    out = render(traj, tmp_path / "a.gif")
    with Image.open(out) as im:
        assert im.n_frames == 21                       # the longest run sets the length
    last = frame_rgb(out, 20)
    col, row = figure.to_pixel(pic, calm.points[-1])
    assert tuple(last[int(row), int(col)]) == rgb8(look.DEFAULT_PALETTE[1])
    assert not pic.in_view(far.points[-1])


def test_png_is_the_final_frame(tmp_path):
    traj = make_traj()
    png = render(traj, tmp_path / "a.png")
    gif = render(traj, tmp_path / "a.gif")
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size == SIZE
        still = np.asarray(im.convert("RGB")).astype(int)
    assert np.abs(still - frame_rgb(gif, 20)).mean() < 2   # the GIF's palette is only 64 colours
    assert render(traj, tmp_path / "b", fmt="png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mp4_without_ffmpeg_says_how_to_get_it(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "imageio_ffmpeg" else real(name, *a))
    with pytest.raises(SceneError) as err:
        render(make_traj(), tmp_path / "a.mp4")
    assert str(err.value) == MP4_MISSING == "mp4 needs the optional ffmpeg support: pip install 'optviz[mp4]'"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(importlib.util.find_spec("imageio_ffmpeg") is None, reason="imageio-ffmpeg not installed")
def test_mp4(tmp_path):
    out = render(make_traj(), tmp_path / "a.mp4")
    assert out.stat().st_size > 1000
    assert render(make_traj(), tmp_path / "b.mp4").read_bytes() == out.read_bytes()


def test_unknown_format_and_style_are_scene_errors(tmp_path):
    with pytest.raises(SceneError, match="unknown output format"):
        render(make_traj(), tmp_path / "a.webm")
    with pytest.raises(SceneError) as err:   # a Scene holds only valid values: the front door checks the style
        render(optviz.simulate(optviz.scene(function="beale", optimizers=["sgd"], steps=3, style="no-such-map")),
               tmp_path / "a.gif")
    assert err.value.path == "style"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("panels", [("loss",), ("surface",), ("loss", "surface")])
def test_panels_render_in_sync(tmp_path, panels):
    traj = make_traj(panels=panels, palette=("#d62728", "#2ca02c"))
    out = render(traj, tmp_path / "a.gif")
    with Image.open(out) as im:
        assert im.size == SIZE and im.n_frames == 21
    pic = figure.build(traj)
    last = frame_rgb(out, 20)
    for panel in (pic.loss_axes, pic.surface_axes):
        if panel is None:
            continue
        box = panel.get_window_extent()
        inside = last[int(SIZE[1] - box.y1):int(SIZE[1] - box.y0), int(box.x0):int(box.x1)].reshape(-1, 3)
        assert (inside == rgb8("#d62728")).all(axis=1).any()  # the panel shows the runs too


def test_thinning_keeps_the_first_and_last_frame_and_caps_the_count(tmp_path):
    ks = frame_steps(1000, 50)
    assert len(ks) == 50 and ks[0] == 0 and ks[-1] == 1000 and np.all(np.diff(ks) > 0)
    assert list(frame_steps(5, 50)) == [0, 1, 2, 3, 4, 5]
    long = line_run("A", (-3.5, -3.5), (0.5, -1.5), steps=30)
    out = render(make_traj(long, max_frames=8), tmp_path / "a.gif")
    with Image.open(out) as im:
        assert im.n_frames == 8
    pic = figure.build(make_traj(long))
    col, row = figure.to_pixel(pic, long.points[-1])
    assert tuple(frame_rgb(out, 7)[int(row), int(col)]) == rgb8(look.DEFAULT_PALETTE[0])


def test_progress_reports_every_frame(tmp_path):
    seen = []
    render(make_traj(), tmp_path / "a.gif", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 21) for i in range(1, 22)]


def test_run_colours_own_then_palette_then_okabe_ito():
    runs = [line_run("A", (0, 0), (1, 1)), line_run("B", (0, 0), (1, 1), color="red"), line_run("C", (0, 0), (1, 1))]
    assert figure.run_colors(make_traj(*runs)) == ["#0072b2", "#ff0000", "#e69f00"]
    assert figure.run_colors(make_traj(*runs, palette=("C0",))) == ["#1f77b4", "#ff0000", "#1f77b4"]


def test_automatic_levels_are_log_spaced_over_decades_and_linear_otherwise():
    x, y = np.meshgrid(np.linspace(-4.5, 4.5, 100), np.linspace(-4.5, 4.5, 100))
    beale = make_function("beale").value(np.stack([x, y]))
    levels = look.contour_levels(beale)
    assert levels.log and len(levels.values) == 20
    assert np.allclose(np.diff(np.log10(levels.values)), np.log10(levels.values[1] / levels.values[0]))
    saddle = x**2 - y**2
    assert not look.contour_levels(saddle, 7).log and len(look.contour_levels(saddle, 7).values) == 7
    camel = make_function("six_hump_camel").value(np.stack([x, y]))
    shifted = look.contour_levels(camel)
    assert shifted.log and shifted.base == camel.min() and shifted.values[0] > camel.min()
    assert list(look.contour_levels(beale, [1, 10, 100]).values) == [1, 10, 100]


def test_delays_track_the_frame_rate_without_drift():
    d = encode.delays(30, fps=30, pause=0.5)
    assert set(d[:-1]) <= {3, 4} and sum(d[:-1]) + d[-1] - 50 == 100


def swarm(label, starts, ends, steps=20, lr=0.2, color=None, diverged=()):
    """Straight runs of one group (a scene entry with many starts), labelled as the loader labels them."""
    runs = []
    for i, (start, end) in enumerate(zip(starts, ends)):
        run = line_run(f"{label} #{i + 1}", start, end, steps=steps, lr=lr, color=color,
                       diverged_at=steps if i in diverged else None)
        runs.append(replace(run, spec=replace(run.spec, group=label)))
    return runs


SWARM_ENDS = [(-3.5, -3.5), (-2.5, -2.0), (-1.5, -3.5), (-0.5, -2.0), (0.5, -3.5)]


def test_a_swarm_is_one_colour_one_legend_entry_and_heads_at_its_points(tmp_path):
    crowd = swarm("Adam", [(x, 0.0) for x in (-3.0, -2.0, -1.0, 0.0, 1.0)], SWARM_ENDS)
    lone = line_run("SGD", (3.5, 0.5), (3.0, -1.0), lr=0.1)
    traj = make_traj(*crowd, lone, palette=("#d62728", "#2ca02c"))
    assert figure.run_colors(traj) == ["#d62728"] * 5 + ["#2ca02c"]   # the swarm takes one palette slot
    pic = figure.build(traj)
    assert [t.get_text() for t in pic.legend.get_texts()] == ["Adam (lr=0.2), 5 starts", "SGD (lr=0.1)"]
    assert len([line for line in pic.axes.lines if line.get_marker() == "o"]) == 2   # one heads artist per entry
    out = render(traj, tmp_path / "a.gif")
    first, last = frame_rgb(out, 0), frame_rgb(out, 20)
    for run in crowd:
        col, row = figure.to_pixel(pic, run.points[-1])
        assert tuple(last[int(row), int(col)]) == rgb8("#d62728")
        col0, row0 = figure.to_pixel(pic, run.points[0])
        assert tuple(first[int(row0), int(col0)]) == rgb8("#d62728")
        assert tuple(first[int(row), int(col)]) != rgb8("#d62728")
    col, row = figure.to_pixel(pic, lone.points[-1])
    assert tuple(last[int(row), int(col)]) == rgb8("#2ca02c")


def test_a_swarm_names_its_diverged_runs_and_hides_their_heads():
    crowd = swarm("SGD", [(-3.0, 3.0)] * 3, [(-3.5, -3.5), (-1.0, -3.0), (40.0, -30.0)], lr=0.5, diverged=(2,))
    pic = figure.build(make_traj(*crowd))
    assert [t.get_text() for t in pic.legend.get_texts()] == ["SGD (lr=0.5), 3 starts"]   # not yet at frame 0
    assert pic.labels(20) == ["SGD (lr=0.5), 3 starts, 1 diverged"]
    anim = Animator(pic)
    *_, last = anim.frames(range(21))
    heads = pic.entries[0].heads.get_xydata()
    assert np.allclose(heads, [crowd[0].points[-1], crowd[1].points[-1]])   # the one that flew off has none


def test_a_swarm_scene_costs_the_same_draw_calls_per_frame_for_any_number_of_runs(draw_calls):
    def calls(n):
        rng = np.random.default_rng(0)
        crowd = swarm("Adam", rng.uniform(-4, 4, (n, 2)), rng.uniform(-4, -1, (n, 2)))
        anim = Animator(figure.build(make_traj(*crowd)))
        frames = anim.frames(range(21))
        next(frames)
        return draw_calls(anim, frames)

    assert calls(5) == calls(300) <= 3


def test_a_swarm_scene_ends_on_its_png(tmp_path):
    rng = np.random.default_rng(1)
    traj = make_traj(*swarm("A", rng.uniform(-4, 4, (30, 2)), rng.uniform(-4, 4, (30, 2))),
                     *swarm("B", rng.uniform(-4, 4, (30, 2)), rng.uniform(-4, 4, (30, 2))))
    anim = Animator(figure.build(traj))
    *_, last = anim.frames(range(21))
    assert np.array_equal(last, anim.still(20))   # step by step, in the same order, either way


def scheduled(label="StepLR", steps=20):
    run = line_run(label, (-3.5, -3.5), (0.5, -1.5), steps=steps, lr=0.1)
    spec = replace(run.spec, schedule={"name": "StepLR", "step_size": 5, "gamma": 0.1})
    return Run(spec, run.points, run.loss, None, lr_schedule(spec))


def test_the_legend_shows_a_scheduled_runs_current_lr(tmp_path):
    run, plain = scheduled(), line_run("B", (3.0, -1.0), (-1.5, -2.5))
    pic = figure.build(make_traj(run, plain))
    assert pic.labels(0) == ["StepLR (lr=0.1)", "B (lr=0.1)"]
    assert pic.labels(6) == ["StepLR (lr=0.01)", "B (lr=0.1)"]     # step 6 was made with the lr after one decay
    size = pic.legend.get_window_extent().size
    anim = Animator(pic)
    list(anim.frames(range(21)))
    assert [t.get_text() for t in pic.legend.get_texts()] == ["StepLR (lr=0.0001)", "B (lr=0.1)"]
    assert np.allclose(pic.legend.get_window_extent().size, size)   # the legend keeps its size and place

    def legend_pixels(traj, name):
        out = render(traj, tmp_path / name)
        box = figure.build(traj).legend.get_window_extent()
        rows, cols = slice(int(SIZE[1] - box.y1), int(SIZE[1] - box.y0)), slice(int(box.x0), int(box.x1))
        return frame_rgb(out, 0)[rows, cols], frame_rgb(out, 20)[rows, cols]

    first, last = legend_pixels(make_traj(run, plain), "s.gif")
    assert not np.array_equal(first, last)
    first, last = legend_pixels(make_traj(), "p.gif")
    assert np.array_equal(first, last)


def test_the_gif_writer_fails_loudly_if_pillows_block_layout_changes(monkeypatch):
    """The writer takes only the LZW data from Pillow's encoder; a different layout must not slip through."""
    block = (np.arange(12, dtype=np.uint8) % 7).reshape(3, 4)
    for bits in (3, 6, 8):
        data = encode._lzw(block, bits)
        assert data[0] == bits and data[-1] == 0          # min code size, ..., block terminator
        table = (3 << bits) * b"\x00"
        with Image.open(io.BytesIO(b"GIF89a" + struct.pack("<HHBBB", 4, 3, 0x80 | (bits - 1), 0, 0) + table
                                   + b"," + struct.pack("<HHHHB", 0, 0, 4, 3, 0) + data + b";")) as im:
            assert np.array_equal(np.asarray(im), block)  # Pillow reads back what we stored
    real = encode.GifImagePlugin.getdata
    monkeypatch.setattr(encode.GifImagePlugin, "getdata", lambda im: [b"!" + bytes(9)] + real(im)[1:])
    with pytest.raises(RuntimeError, match="unexpected GIF block layout"):
        encode._lzw(block)


def test_scale_multiplies_the_resolution_and_the_animation_still_ends_on_its_still(tmp_path):
    traj = make_traj(scale=2.0)
    png = render(traj, tmp_path / "a.png")
    with Image.open(png) as im:
        assert im.size == (2 * SIZE[0], 2 * SIZE[1])
    anim = Animator(figure.build(traj))
    *_, last = anim.frames(range(21))
    # blitted boxes grow with the scale: nothing is left behind (incremental antialiasing differs by a level at most)
    assert np.abs(last.astype(int) - anim.still(20).astype(int)).max() <= 1
    one = np.asarray(Image.open(render(make_traj(), tmp_path / "b.png")).convert("L"), dtype=float)
    two = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert abs(one.mean() - two.reshape(SIZE[1], 2, SIZE[0], 2).mean(axis=(1, 3)).mean()) < 2   # same picture


def test_the_legend_tells_a_divergence_on_its_step_and_keeps_its_size(tmp_path):
    far = line_run("SGD", (0.0, -2.0), (40.0, -30.0), steps=12, lr=0.5, diverged_at=12)
    calm = line_run("Adam", (-3.0, -2.0), (-1.0, -2.0), steps=20, lr=0.7)
    traj = make_traj(far, calm)
    traj = replace(traj, scene=replace(traj.scene, size=(320, 240)))
    pic = figure.build(traj)
    box = pic.legend.get_window_extent(pic.canvas.get_renderer())
    out = render(traj, tmp_path / "a.gif")
    h = pic.canvas.get_width_height()[1]
    rows, cols = slice(int(h - box.y1), int(h - box.y0)), slice(int(box.x0), int(box.x1))
    before, at, end = (frame_rgb(out, k)[rows, cols] for k in (11, 12, 20))
    assert not np.array_equal(before, at) and np.array_equal(at, end)
    widest = pic.legend.get_window_extent(pic.canvas.get_renderer())
    assert widest.width == box.width     # the row was sized for its longest text from the start


def test_a_run_out_of_view_shows_an_arrow_where_it_left(tmp_path):
    far = line_run("SGD", (0.0, -2.0), (40.0, -30.0), steps=12, lr=0.5, diverged_at=12)
    calm = line_run("Adam", (-3.0, -2.0), (-1.0, -2.0), steps=20, lr=0.7)
    traj = make_traj(far, calm, palette=("#d62728", "#2ca02c"))
    pic = figure.build(traj)
    track = pic.tracks[0]
    assert [e.step for e in track.exits] == [2] and len(track.arrows) == 1     # step 2 is the first outside
    assert track.arrow_at(1) is None and track.arrow_at(2) == 0 and track.arrow_at(20) == 0
    x, y = np.ravel(track.arrows[0].get_data())
    assert track.exits[0].at == pytest.approx((3.5 + 1 / 14, -4.5))    # the path crosses the bottom edge there
    col, row = figure.to_pixel(pic, (x, y))
    edge = figure.to_pixel(pic, track.exits[0].at)
    assert pic.in_view((x, y)) and 0 < np.hypot(col - edge[0], row - edge[1]) <= figure.ARROW_SIZE   # just inside
    out = render(traj, tmp_path / "a.gif")
    assert tuple(frame_rgb(out, 20)[int(row), int(col)]) == rgb8("#d62728")
    assert tuple(frame_rgb(out, 0)[int(row), int(col)]) != rgb8("#d62728")


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_vector_output_is_the_last_frame_as_shapes_and_the_same_bytes_each_time(tmp_path, fmt):
    far = line_run("SGD", (0.0, -2.0), (40.0, -30.0), steps=12, lr=0.5, diverged_at=12)
    calm = line_run("Adam", (-3.0, -2.0), (-1.0, -2.0), steps=20, lr=0.7)
    traj = make_traj(far, calm, panels=("loss",))
    a = render(traj, tmp_path / f"a.{fmt}").read_bytes()
    assert a == render(traj, tmp_path / f"b.{fmt}").read_bytes()
    if fmt == "svg":
        root = ET.fromstring(a)
        ns = "{http://www.w3.org/2000/svg}"
        assert root.tag == f"{ns}svg" and root.get("width") == f"{SIZE[0]}pt"
        assert not list(root.iter(f"{ns}image"))                       # nothing embedded as a picture
        assert len(list(root.iter(f"{ns}path"))) > 50                  # contours, paths, markers, glyphs
        assert b"<dc:date>" not in a
    else:
        assert a.startswith(b"%PDF") and b"/Subtype /Image" not in a and b"CreationDate" not in a


def test_settle_puts_the_artists_at_the_last_step():
    far = line_run("SGD", (0.0, -2.0), (40.0, -30.0), steps=12, lr=0.5, diverged_at=12)
    calm = line_run("Adam", (-3.0, -2.0), (-1.0, -2.0), steps=20, lr=0.7)
    pic = figure.build(make_traj(far, calm))
    figure.settle(pic, 20)
    lone, flown = pic.tracks[1], pic.tracks[0]
    np.testing.assert_allclose(np.column_stack(lone.line.get_data()), calm.points)
    np.testing.assert_allclose(np.column_stack(lone.dot.get_data()), calm.points[-1:])
    assert lone.dot.get_visible() and not flown.dot.get_visible() and flown.arrows[0].get_visible()
    assert [t.get_text() for t in pic.legend.get_texts()] == pic.labels(20)
    assert "".join(t.get_text() for t in pic.counter.digits) == "20"
    assert not any(a.get_animated() for a in (lone.line, lone.dot, pic.legend, pic.counter.box))


@pytest.mark.parametrize("as_swarm", [False, True])
def test_a_diverged_runs_flight_across_the_view_is_not_drawn(tmp_path, as_swarm):
    # up and out of the top at step 2, then one flight from far above to far below (through the view), gone
    f = make_function("beale")
    points = np.array([[-2.0, 0.0], [-2.0, 3.0], [-2.0, 6.0], [2.0, -60.0]])
    spec = RunSpec("sgd", "SGD", 1.0, {}, (-2.0, 0.0), 3, "#d62728", group="SGD" if as_swarm else None)
    far = Run(spec, points, np.asarray(f.value(points.T), dtype=float), 3, lr_schedule(spec))
    traj = make_traj(far)
    pic = figure.build(traj)
    assert np.isnan(pic.tracks[0].path[3]).all() and pic.tracks[0].path[2].tolist() == [-2.0, 4.5]
    anim = Animator(pic)
    last, background = anim.still(3)[:, :, :3], anim.background[:, :, :3]
    col, row = figure.to_pixel(pic, (0.0, -2.0))            # on the flight's line, inside the view: not drawn
    assert tuple(last[int(row), int(col)]) == tuple(background[int(row), int(col)])
    col, row = figure.to_pixel(pic, (-2.0, 1.5))            # on the drawn part
    assert tuple(last[int(row), int(col)]) != tuple(background[int(row), int(col)])
    if not as_swarm:
        assert tuple(frame_rgb(render(traj, tmp_path / "a.gif"), 3)[int(row), int(col)]) == rgb8("#d62728")


def test_a_sweeps_legend_row_counts_its_diverged_runs_as_they_diverge():
    from pathlib import Path

    traj = optviz.simulate(optviz.load(Path(__file__).resolve().parents[1] / "configs" / "lr-sweep.yaml"))
    pic = figure.build(traj)
    (row,) = pic.rows
    first = min(r.diverged_at for r in traj.runs if r.diverged_at is not None)
    assert pic.changes(row)
    assert "diverged" not in pic.labels(0)[0] and "diverged" not in pic.labels(first - 1)[0]
    assert pic.labels(first)[0].endswith("1 diverged") and pic.labels(None) == pic.labels(pic.steps)


def test_the_legend_has_room_for_a_divergence_told_after_the_last_kept_point():
    """A run whose first step flies to infinity keeps only its start (its last point was not finite), so its
    divergence is told at a step past that point: the legend must still be wide enough for that text."""
    traj = optviz.simulate(optviz.scene(function="rosenbrock", steps=30, optimizers=[
        {"name": "sgd", "lr": 1e308, "label": "SGD"}, {"name": "adam", "lr": 0.05, "label": "Adam"}]))
    assert len(traj.runs[0].points) == 1 and traj.runs[0].diverged_at == 1
    pic = figure.build(traj)
    renderer = pic.canvas.get_renderer()
    list(Animator(pic).frames(range(31)))
    assert "diverged at step 1" in pic.legend.get_texts()[0].get_text()
    frame = pic.legend.get_frame().get_window_extent(renderer)
    for text in pic.legend.get_texts():
        assert text.get_window_extent(renderer).x1 <= frame.x1
