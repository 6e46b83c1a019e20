"""Helpers several test modules share, as fixtures."""
from __future__ import annotations

import pytest

from optviz.errors import MissingDependency, SceneError, problems_of
from optviz.scenes.load import load


def _load_or_skip(path):
    """A shipped scene; skipped, saying what is missing, where it needs a package that CI installs (torch,
    pytorch-optimizer) and this environment lacks. Any other problem fails the test."""
    try:
        return load(path)
    except SceneError as exc:
        if all(isinstance(p, MissingDependency) for p in problems_of(exc)):
            pytest.skip(f"{path.name} {exc.message}")
        raise


def _draw_calls_of_next_frame(anim, frames) -> int:
    """How many renderer calls (paths, markers, collections) the next frame of ``frames`` makes."""
    count = []
    for name in ("draw_path", "draw_markers", "draw_path_collection"):
        real = getattr(anim.renderer, name)
        setattr(anim.renderer, name, lambda *a, _real=real, **kw: count.append(1) or _real(*a, **kw))
    next(frames)
    return len(count)


@pytest.fixture
def load_or_skip():
    return _load_or_skip


@pytest.fixture
def draw_calls():
    return _draw_calls_of_next_frame
