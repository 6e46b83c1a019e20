"""Every shipped scene renders; the post's figures come out small and with the post's timing."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from optviz.api import render_scene
from optviz.errors import MissingDependency, SceneError, problems_of
from optviz.scenes.load import load

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))
#: The post's smallest GIF (SGD-momentum) weighs 0.87 MB; each of ours must be at most a fifth of its original.
SMALLEST_ORIGINAL = 870_000


@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(ROOT / "configs")) for p in CONFIGS])
def test_every_config_renders(tmp_path, path):
    try:
        scene = load(path)
    except SceneError as exc:    # CI installs torch and pytorch-optimizer; elsewhere say what is missing
        if all(isinstance(p, MissingDependency) for p in problems_of(exc)):
            pytest.skip(f"{path.name} {exc.message}")
        raise
    out = render_scene(scene, tmp_path / f"{scene.name}.gif")
    with Image.open(out) as gif:
        assert gif.size == scene.size
        longest = max(run.steps for run in scene.runs)
        assert gif.n_frames == min(longest + 1, scene.max_frames)
    if path.parent.name == "blog":
        assert out.stat().st_size <= SMALLEST_ORIGINAL / 5
        with Image.open(out) as gif:
            gif.seek(1)
            assert gif.info["duration"] == 50  # 20 fps, as in the post
