"""The PNG writer: the last frame alone, for print."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .base import Movie, Writer, register_writer


@register_writer
class PngWriter(Writer):
    name = "png"
    still = True

    def setup(self, path: Path, movie: Movie) -> None:
        self.path = path

    def grab_frame(self, rgba: np.ndarray, changed=None) -> None:
        Image.fromarray(np.ascontiguousarray(rgba[:, :, :3])).save(self.path, "PNG")
