"""What a scene will cost, estimated from the scene alone before any work, and checked against limits that
real scenes stay far below. Each limit is in work units, not seconds (the same scene gets faster as optviz
does): simulated points for memory and simulation time, pixels per frame for memory while drawing,
frames x pixels for drawing and encoding time. Each key's own range cannot catch this: ``steps: 100000``,
``starts: {random: 2000}`` and 64 optimizers are each allowed, and together would need about 200 GB.

The limits leave room: the largest shipped scene uses about a fiftieth of any of them, and 64 runs x 10,000
steps, a 2,000-start swarm x 100 steps, 64 runs x 2,000 steps x 500 frames, and the largest size at scale 2
all pass; what they refuse would take many gigabytes or many minutes. People who mean it
lift them with ``--no-limits`` (``limits=False`` in Python).
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_POINTS = 5_000_000              # runs x (steps + 1): ~40 bytes each while simulated and drawn (~200 MB)
MAX_FRAME_PIXELS = 8192 * 8192      # one frame (size x scale, squared): ~55 bytes each while drawn (~3.7 GB)
MAX_PIXEL_FRAMES = 10_000_000_000   # frames x pixels per frame: drawing and encoding work
MAX_TUNE_POINTS = 10_000_000        # points `optviz tune` simulates over all its candidate lrs
BYTES_PER_POINT = 40
BYTES_PER_PIXEL = 55
LIFT = "or lift the limit with --no-limits (limits=False in Python)"


@dataclass(frozen=True)
class Estimate:
    """The work a scene asks for."""

    runs: int
    points: int                     # every run's start and steps
    frames: int
    width: int                      # pixels, scale included
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def pixel_frames(self) -> int:
        return self.frames * self.pixels


def estimate(scene, scale: float | None = None) -> Estimate:
    """The work of simulating and rendering ``scene`` (a ``Scene``), with ``scale`` in place of its own."""
    scale = scene.scale if scale is None else float(scale)
    steps = max(run.steps for run in scene.runs)
    return Estimate(runs=len(scene.runs), points=sum(run.steps + 1 for run in scene.runs),
                    frames=min(steps + 1, max(scene.max_frames, 2)),
                    width=round(scene.size[0] * scale), height=round(scene.size[1] * scale))


def problems(scene, scale: float | None = None, scale_key: str = "scale") -> list[tuple[str, str]]:
    """Every limit ``scene`` exceeds, as ``[(key to change, message)]``; empty when it fits. A ``scale`` that
    overrides the scene's is the key to change (named ``scale_key``) for any picture limit."""
    e = estimate(scene, scale)
    found = []
    if e.points > MAX_POINTS:
        swarm = any(run.group for run in scene.runs)
        key = "steps" if e.points / e.runs >= e.runs else ("starts" if swarm else "optimizers")
        found.append((key, f"the scene simulates {e.runs:,} runs, {amount(e.points)} points in all (about "
                           f"{megabytes(e.points * BYTES_PER_POINT)}); the limit is {amount(MAX_POINTS)}: lower "
                           f"steps, starts or the number of optimizers, {LIFT}"))
    if e.pixels > MAX_FRAME_PIXELS:
        key = scale_key if scale is not None or scene.scale > 1 else "size"
        found.append((key, f"a frame would be {e.width} x {e.height} = {amount(e.pixels)} pixels (about "
                           f"{megabytes(e.pixels * BYTES_PER_PIXEL)} to draw); the limit is "
                           f"{amount(MAX_FRAME_PIXELS)}: lower size or scale, {LIFT}"))
    elif e.pixel_frames > MAX_PIXEL_FRAMES:
        found.append(("frames" if scale is None else scale_key, f"the animation would be {e.frames:,} frames of {e.width} x {e.height} pixels, "
                                f"{amount(e.pixel_frames)} pixel-frames; the limit is {amount(MAX_PIXEL_FRAMES)}: "
                                f"lower frames, size or scale, {LIFT}"))
    return found


def tune_problem(points: int, candidates: str) -> str | None:
    """Why tuning is refused when it would simulate ``points`` points over its candidate lrs, or None."""
    if points <= MAX_TUNE_POINTS:
        return None
    return (f"tuning tries {candidates}: {amount(points)} simulated points in all; the limit is "
            f"{amount(MAX_TUNE_POINTS)}: lower steps or starts, {LIFT}")


def amount(n: int) -> str:
    """A count people read at a glance: 640,000, 6.4 million, 12.8 billion."""
    for size, word in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million")):
        if n >= size:
            return f"{n / size:.3g} {word}"
    return f"{n:,}"


def megabytes(n: int) -> str:
    return f"{n / 1e9:.3g} GB" if n >= 10**9 else f"{n / 1e6:.3g} MB"
