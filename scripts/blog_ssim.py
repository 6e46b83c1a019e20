"""How close each blog figure's last frame is to the post's: grayscale SSIM with a 7x7 window, in numpy.

    python scripts/blog_ssim.py                 # render configs/blog/*.yaml and compare with tests/reference/
    python scripts/blog_ssim.py a.gif b.png     # compare two pictures (a GIF's last frame)

SSIM is Wang, Bovik, Sheikh & Simoncelli (2004), "Image quality assessment: from error visibility to
structural similarity", computed as scikit-image's ``structural_similarity`` does by default: a uniform 7x7
window, K1 = 0.01, K2 = 0.03, data range 255, sample (N - 1) covariances, and the mean over the pixels whose
window lies inside the picture. Grayscale is Pillow's ``convert("L")`` (ITU-R 601-2 luma).
``tests/reference/<name>.png`` are the post's last frames, recovered from its GIFs.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"
BLOG = ROOT / "configs" / "blog"
WINDOW = 7
K1, K2, RANGE = 0.01, 0.03, 255.0


def _box_mean(a: np.ndarray, w: int) -> np.ndarray:
    """Mean over each w x w window that lies inside ``a`` (shape shrinks by w - 1), from a summed-area table."""
    c = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    c[1:, 1:] = a.cumsum(axis=0).cumsum(axis=1)
    return (c[w:, w:] - c[:-w, w:] - c[w:, :-w] + c[:-w, :-w]) / (w * w)


def ssim(a: np.ndarray, b: np.ndarray, window: int = WINDOW) -> float:
    """Mean structural similarity of two grayscale pictures of one size (values 0..255)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"pictures differ in size: {a.shape} and {b.shape}")
    n = window * window
    ua, ub = _box_mean(a, window), _box_mean(b, window)
    vaa = (_box_mean(a * a, window) - ua * ua) * n / (n - 1)
    vbb = (_box_mean(b * b, window) - ub * ub) * n / (n - 1)
    vab = (_box_mean(a * b, window) - ua * ub) * n / (n - 1)
    c1, c2 = (K1 * RANGE) ** 2, (K2 * RANGE) ** 2
    s = (2 * ua * ub + c1) * (2 * vab + c2) / ((ua * ua + ub * ub + c1) * (vaa + vbb + c2))
    return float(s.mean())


def grey(path) -> np.ndarray:
    """A picture as grayscale (0..255); a GIF's last frame."""
    with Image.open(path) as im:
        if getattr(im, "n_frames", 1) > 1:
            im.seek(im.n_frames - 1)
        return np.asarray(im.convert("RGB").convert("L"))


def blog_scores(folder: Path) -> dict[str, float]:
    """Render every blog config into ``folder`` and score its last frame against the post's."""
    from optviz import load, render  # lazy: the two-picture mode needs no optviz

    scores = {}
    for config in sorted(BLOG.glob("*.yaml")):
        out = render(load(config), folder / f"{config.stem}.gif")
        scores[config.stem] = ssim(grey(out), grey(REFERENCE / f"{config.stem}.png"))
    return scores


def main(argv: list[str]) -> None:
    if len(argv) == 2:
        print(f"{ssim(grey(argv[0]), grey(argv[1])):.4f}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name, score in blog_scores(Path(tmp)).items():
            print(f"{name:24s} {score:.4f}")


if __name__ == "__main__":
    main(sys.argv[1:])
