"""Every shipped scene renders; the post's figures come out small and with the post's timing."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from PIL import Image

from optviz.api import render_scene
from optviz.draw.writers.gif import delays

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("blog_ssim", ROOT / "scripts" / "blog_ssim.py")
blog_ssim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(blog_ssim)
CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))
#: The post's smallest GIF (SGD-momentum) weighs 0.87 MB; each of ours must be at most a fifth of its original.
SMALLEST_ORIGINAL = 870_000


@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(ROOT / "configs")) for p in CONFIGS])
def test_every_config_renders(tmp_path, path, load_or_skip):
    scene = load_or_skip(path)
    out = render_scene(scene, tmp_path / f"{scene.name}.gif")
    longest = max(run.steps for run in scene.runs)
    count = min(longest + 1, scene.max_frames)
    with Image.open(out) as gif:
        assert gif.size == scene.size
        durations = []
        for k in range(gif.n_frames):
            gif.seek(k)
            durations.append(gif.info["duration"])
        if scene.show_counter:
            assert gif.n_frames == count
        else:   # without a counter, frames after the runs stop are the same picture: stored once, held longer
            assert gif.n_frames <= count
        assert sum(durations) == 10 * sum(delays(count, scene.fps, scene.pause))
    if path.parent.name == "blog":
        assert out.stat().st_size <= SMALLEST_ORIGINAL / 5
        with Image.open(out) as gif:
            gif.seek(1)
            assert gif.info["duration"] == 50  # 20 fps, as in the post
        # the post's look: last frame against the post's last frame (scripts/blog_ssim.py prints these)
        assert blog_ssim.ssim(blog_ssim.grey(out), blog_ssim.grey(ROOT / "tests" / "reference" / out.name.replace(
            ".gif", ".png"))) >= 0.95
