"""The post's figures: our configs end where the post's GIFs end.

The end points are the ones recovered from the post's GIFs (dot located in the last frame, pixels mapped
to coordinates by the axes box and ticks), as recorded in the project's notes on the figures
(shared/BLOG_FIGURES.md). A GIF pixel is about 0.014 units here, so 0.03 is two pixels.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from optviz import load, simulate

ROOT = Path(__file__).resolve().parents[1]
BLOG = ROOT / "configs" / "blog"

ENDS = {
    "sgd-momentum": {"SGD": (2.44, 0.0)},
    "sgd-nag": {"SGD": (3.16, 0.0), "SGD-Momentum": (-0.02, 0.67), "SGD-NAG": (-0.03, 0.0)},
    "sgd-momentum-localmin": {"SGD": (3.93, 0.53)},
}
LAST_STEP = {"sgd-momentum": 123, "sgd-nag": 118, "sgd-momentum-localmin": 426, "rmsprop-beale": 301,
             "adam-beale": 151}


@pytest.mark.parametrize("name", sorted(LAST_STEP))
def test_blog_config_shows_the_posts_steps_at_720x432_and_20fps(name):
    scene = load(BLOG / f"{name}.yaml")
    assert all(run.steps == LAST_STEP[name] for run in scene.runs)
    assert scene.size == (720, 432) and scene.fps == 20 and scene.xlim == scene.ylim == (-5.5, 5.5)
    assert scene.max_frames >= LAST_STEP[name] + 1  # one frame per step, no thinning, as in the post


@pytest.mark.parametrize("name", sorted(ENDS))
def test_runs_end_where_the_posts_dots_end(name):
    runs = {run.spec.label: run for run in simulate(load(BLOG / f"{name}.yaml")).runs}
    for label, end in ENDS[name].items():
        np.testing.assert_allclose(runs[label].points[-1], end, atol=0.03, err_msg=label)


def test_momentum_escapes_the_dip_and_sgd_does_not():
    traj = simulate(load(BLOG / "sgd-momentum-localmin.yaml"))
    sgd, momentum = traj.runs
    f = traj.scene.function
    assert np.linalg.norm(sgd.points[-1] - f.local_minima[0]) < 0.02
    assert np.linalg.norm(momentum.points[-1]) < 0.02


@pytest.mark.parametrize("name", ["rmsprop-beale", "adam-beale"])
def test_beale_figures_end_near_the_minimum_in_the_posts_order(name):
    runs = simulate(load(BLOG / f"{name}.yaml")).runs
    distances = [np.linalg.norm(run.points[-1] - (3.0, 0.5)) for run in runs]
    assert distances[0] > distances[1] > distances[2]  # SGD behind NAG behind the adaptive method
    assert distances[2] < 0.02


def _blog_ssim():
    spec = importlib.util.spec_from_file_location("blog_ssim", ROOT / "scripts" / "blog_ssim.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ssim_is_one_for_the_same_picture_and_falls_with_what_changes():
    ssim = _blog_ssim().ssim
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (60, 80)).astype(float)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, np.roll(a, 1, axis=1)) < 0.2              # structure moved: no longer similar
    assert 0.9 < ssim(a, np.clip(a + 3, 0, 255)) < 1.0         # a slight brightening: still similar
    assert ssim(a, 255 - a) < 0                                # inverted structure
    assert ssim(a, np.roll(a, 1, axis=0)) == pytest.approx(ssim(np.roll(a, 1, axis=0), a))


def test_ssim_matches_the_definition_on_one_window():
    """On a 7x7 picture there is one window: the formula of Wang et al. (2004) with sample covariances."""
    ssim = _blog_ssim().ssim
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0, 255, (7, 7)), rng.uniform(0, 255, (7, 7))
    ua, ub = a.mean(), b.mean()
    va, vb = a.var(ddof=1), b.var(ddof=1)
    cov = ((a - ua) * (b - ub)).sum() / 48
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    expected = (2 * ua * ub + c1) * (2 * cov + c2) / ((ua ** 2 + ub ** 2 + c1) * (va + vb + c2))
    assert ssim(a, b) == pytest.approx(expected, rel=1e-12)


def test_the_post_reference_frames_are_in_the_repository():
    for name in LAST_STEP:
        with Image.open(ROOT / "tests" / "reference" / f"{name}.png") as im:
            assert im.size == (720, 432)
