"""Layout that hides nothing: the legend and the step counter are placed once from the whole scene, and no
shipped picture covers a start point or a minimum marker with either (checked from the artists' extents)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from optviz import load, simulate
from optviz.draw import figure, look
from optviz.scenes.load import scene_from_data

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))


def marker_boxes(pic):
    """Pixel boxes of every start dot, minimum star and exit arrow, from the artists' marker sizes."""
    ax = pic.axes
    px = pic.figure.dpi / 72
    boxes = []

    def add(xy, size):
        x, y = ax.transData.transform(xy)
        r = size * px / 2
        boxes.append(look.Box(x - r, y - r, x + r, y + r))

    for t in pic.tracks:
        if pic.in_view(t.run.points[0]):
            add(t.run.points[0], t.dot.get_markersize() if t.dot is not None else look.HEAD_SIZE)
        for arrow in t.arrows:
            add(np.ravel(arrow.get_data()), arrow.get_markersize())
    if pic.stars is not None:
        for xy in np.column_stack(pic.stars.get_data()):
            if pic.in_view(xy):
                add(xy, pic.stars.get_markersize())
    return boxes


def covers(pic):
    """(what, marker box) for every marker the legend or the counter overlaps."""
    renderer = pic.canvas.get_renderer()
    panes = []
    if pic.legend is not None:
        panes.append(("legend", look.Box(*pic.legend.get_window_extent(renderer).extents)))
    if pic.counter is not None:
        panes.append(("counter", look.Box(*pic.counter.bounds.extents)))
    return [(name, m) for name, pane in panes for m in marker_boxes(pic) if pane.overlaps(m)]


@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(ROOT / "configs")) for p in CONFIGS])
def test_no_shipped_picture_covers_a_start_or_a_minimum(path, load_or_skip):
    scene = load_or_skip(path)
    pic = figure.build(simulate(scene))
    assert marker_boxes(pic)
    assert covers(pic) == []
    if pic.legend is not None and pic.counter is not None:
        legend = look.Box(*pic.legend.get_window_extent(pic.canvas.get_renderer()).extents)
        assert not legend.overlaps(look.Box(*pic.counter.bounds.extents))


def scene(**data):
    data.setdefault("function", "rosenbrock")
    data.setdefault("steps", 30)
    return simulate(scene_from_data(data))


def test_the_default_legend_leaves_the_start_in_the_upper_left_alone():
    # issue 11: in the upper left, rosenbrock's five-entry legend hid its start (-1.5, 2)
    traj = simulate(load(ROOT / "configs" / "rosenbrock.yaml"))
    assert traj.scene.legend == "auto" and covers(figure.build(traj)) == []
    pinned = replace(traj, scene=replace(traj.scene, legend="upper left"))
    assert {name for name, _ in covers(figure.build(pinned))} == {"legend"}   # a scene can still pin it there


def test_the_legend_goes_where_the_paths_are_not():
    pic = figure.build(scene(function="parabola", start=[4, 4], optimizers=[{"name": "sgd", "lr": 0.1}]))
    frame = pic.axes.get_window_extent(pic.canvas.get_renderer())
    legend = pic.legend.get_window_extent(pic.canvas.get_renderer())
    assert legend.x0 < frame.x0 + frame.width / 2 and legend.y0 > frame.y0 + frame.height / 2   # upper left: free


def test_the_counter_takes_another_free_corner():
    pic = figure.build(scene(function="parabola", start=[5.3, -5.3], optimizers=[{"name": "sgd", "lr": 0.1}]))
    frame = pic.axes.get_window_extent(pic.canvas.get_renderer())
    c = pic.counter.bounds
    assert c.x0 > frame.x0 + frame.width / 2 and c.y0 > frame.y0 + frame.height / 2    # lower right holds the start
    assert covers(pic) == []


def test_place_prefers_the_corners_in_order_and_avoids_marks_and_paths():
    frame = look.Box(0, 0, 400, 300)
    empty = look.Ground(frame)
    box, cost = empty.place((100, 40), 5, look.LEGEND_CORNERS)
    assert (box.x0, box.y1) == (5, 295) and cost < 1            # upper left, the post's place
    marked = look.Ground(frame, marks=[(20, 280, 4)])
    box, _ = marked.place((100, 40), 5, look.LEGEND_CORNERS)
    assert (box.x1, box.y1) == (395, 295)                        # upper right once a start sits upper left
    crossed = look.Ground(frame, paths=[(np.array([[0, 300], [400, 260]]), 1.0)], marks=[(20, 20, 4)])
    box, cost = crossed.place((100, 40), 5, look.LEGEND_CORNERS)
    assert box.y0 == 5 and box.x1 == 395 and cost < 1             # lower right: no path, no start
    box, _ = crossed.place((60, 20), 5, look.COUNTER_CORNERS, avoid=box, corners_only=True)
    assert not box.overlaps(look.Box(295, 5, 395, 45))


def test_drawn_path_ends_where_a_diverged_run_leaves_for_good():
    points = np.array([[0.0, 0.0], [1.0, 2.0], [-2.0, -4.0], [4.0, 8.0], [-8.0, -16.0]])
    found = look.exits(points, (-5, 5), (-5, 5))
    assert [e.step for e in found] == [3] and found[0].at == (2.5, 5.0)
    drawn = look.drawn_path(points, (-5, 5), (-5, 5), diverged=True)
    np.testing.assert_array_equal(drawn[:4], [[0, 0], [1, 2], [-2, -4], [2.5, 5]])
    assert np.isnan(drawn[4]).all()
    np.testing.assert_array_equal(look.drawn_path(points, (-5, 5), (-5, 5), diverged=False), points)


def test_the_ground_grid_stays_small_for_huge_pictures():
    frame = look.Box(0, 0, 30000, 18000)                 # a 4096 px scene at scale 8 has an axes this large
    ground = look.Ground(frame, paths=[(np.array([[0, 17000], [30000, 17000]]), 1.0)], marks=[(300, 300, 40)])
    assert max(ground.path.shape) <= look.GROUND_CELLS + 2
    box, cost = ground.place((4000, 2000), 100, look.LEGEND_CORNERS)
    assert box.y1 < 17000 - 100 and not box.overlaps(look.Box(260, 260, 340, 340)) and cost < 1
