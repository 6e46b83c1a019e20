"""The MP4 writer: H.264 through imageio's ffmpeg plugin, an optional extra (``pip install 'optviz[mp4]'``)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from .base import Movie, Writer, register_writer

MP4_MISSING = "mp4 needs the optional ffmpeg support: pip install 'optviz[mp4]'"


@register_writer
class Mp4Writer(Writer):
    """Even sizes (yuv420p needs them) by a white margin, the last frame repeated for the pause, bit-exact flags
    so the same frames give the same bytes."""

    name = "mp4"

    @classmethod
    def missing(cls) -> str | None:
        return MP4_MISSING if importlib.util.find_spec("imageio_ffmpeg") is None else None

    def setup(self, path: Path, movie: Movie) -> None:
        import imageio.v2 as imageio  # lazy: imageio's ffmpeg plugin takes a while to load, and only mp4 needs it

        self.repeats = int(round(movie.pause * movie.fps))
        self.last = None
        self.writer = imageio.get_writer(str(path), format="FFMPEG", mode="I", fps=movie.fps, codec="libx264",
                                         pixelformat="yuv420p", macro_block_size=1, quality=None,
                                         output_params=["-crf", "18", "-preset", "medium", "-threads", "1",
                                                        "-fflags", "+bitexact", "-flags:v", "+bitexact",
                                                        "-map_metadata", "-1"])

    def grab_frame(self, rgba: np.ndarray, changed=None) -> None:
        self.last = _even(rgba[:, :, :3])
        self.writer.append_data(self.last)

    def finish(self) -> None:
        for _ in range(self.repeats):
            self.writer.append_data(self.last)

    def close(self) -> None:
        if getattr(self, "writer", None) is not None:
            self.writer.close()


def _even(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return np.ascontiguousarray(rgb)
    out = np.full((h + h % 2, w + w % 2, 3), 255, dtype=np.uint8)
    out[:h, :w] = rgb
    return out
