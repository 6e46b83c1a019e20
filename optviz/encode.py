"""Frames -> file. The GIF writer is why the outputs are small.

Common GIF writers quantize every frame on its own (new palette, dithering noise that differs from frame to
frame), so every frame is stored whole. Here all frames share one palette, no dithering is done, and each frame
stores only the rectangle that changed, with its unchanged pixels transparent: a frame of an optimizer race is
a few dots and a few new segments, and it costs about that many bytes. Pillow does the LZW compression; the
GIF blocks around it are written here, so that what is stored is exactly what this module decided.
"""
from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import BinaryIO, Iterable

import numpy as np
from PIL import Image

COLORS = 64          # line art: contour greys, a few run colours and their antialiased edges


def make_palette(samples: Iterable[np.ndarray], keep: Iterable[tuple[int, int, int]] = (),
                 colors: int = COLORS) -> np.ndarray:
    """One palette for the whole animation: ``keep`` exactly (run colours stay true), the rest chosen by
    median cut over the sample frames. One slot is left for the transparent index. Returns (n, 3) uint8."""
    rgb = np.concatenate([np.asarray(s)[::2, :, :3] for s in samples], axis=0)  # every other row is plenty
    keep = [tuple(int(v) for v in c) for c in keep]
    budget = max(colors - 1 - len(keep), 2)
    quant = Image.fromarray(np.ascontiguousarray(rgb)).quantize(budget, method=Image.Quantize.MEDIANCUT,
                                                                dither=Image.Dither.NONE)
    used = np.unique(np.asarray(quant))
    found = np.asarray(quant.getpalette()[: 3 * (int(used.max()) + 1)], dtype=np.uint8).reshape(-1, 3)[used]
    table = list(dict.fromkeys(keep + [tuple(int(v) for v in c) for c in found]))
    return np.asarray(table[: colors - 1], dtype=np.uint8)


class _Nearest:
    """RGB -> nearest palette index through a lazily filled 2**24 table: each colour is looked up once,
    so mapping a frame costs one gather, and the same colour always gets the same index."""

    MISSING = 255

    def __init__(self, palette: np.ndarray):
        if len(palette) >= self.MISSING:
            raise ValueError("palette too large")
        self.palette = palette.astype(np.float32)
        self.table = np.full(1 << 24, self.MISSING, dtype=np.uint8)

    def __call__(self, keys: np.ndarray) -> np.ndarray:
        idx = self.table[keys]
        missing = idx == self.MISSING
        if missing.any():
            new = np.unique(keys[missing])
            rgb = np.stack([new & 0xFF, (new >> 8) & 0xFF, (new >> 16) & 0xFF], axis=1).astype(np.float32)
            d = ((rgb[:, None, :] - self.palette[None, :, :]) ** 2).sum(axis=2)
            self.table[new] = np.argmin(d, axis=1).astype(np.uint8)
            idx = self.table[keys]
        return idx


def _packed(rgba: np.ndarray) -> np.ndarray:
    """(h, w, 4) uint8 -> (h, w) uint32 without copying; ``& 0xFFFFFF`` gives the colour key, R in the low byte."""
    return np.ascontiguousarray(rgba).view("<u4")[:, :, 0]


def _lzw(indices: np.ndarray) -> bytes:
    """Pillow's LZW encoding of a block of palette indices: min code size byte, sub-blocks, terminator."""
    buf = io.BytesIO()
    h, w = indices.shape
    Image.frombytes("P", (w, h), np.ascontiguousarray(indices).tobytes()).save(buf, "GIF", optimize=False,
                                                                             interlace=False)
    data = buf.getvalue()
    pos = 13
    if data[10] & 0x80:
        pos += 3 << ((data[10] & 7) + 1)
    while data[pos] == 0x21:                       # skip extensions
        pos += 2
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    if data[pos] != 0x2C:
        raise ValueError("unexpected GIF layout from Pillow")
    flags = data[pos + 9]
    pos += 10
    if flags & 0x80:
        pos += 3 << ((flags & 7) + 1)
    start = pos
    pos += 1                                       # LZW minimum code size
    while data[pos]:
        pos += data[pos] + 1
    return data[start:pos + 1]


class GifWriter:
    """Streams frames to a GIF: global palette only, delta rectangles, unchanged pixels transparent."""

    def __init__(self, fp: BinaryIO, width: int, height: int, palette: np.ndarray, loop: int = 0):
        self.fp = fp
        self.size = (width, height)
        self.nearest = _Nearest(palette)
        self.transparent = len(palette)
        bits = max(1, int(np.ceil(np.log2(len(palette) + 1))))
        table = np.zeros((1 << bits, 3), dtype=np.uint8)
        table[: len(palette)] = palette
        fp.write(b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80 | (bits - 1), 0, 0) + table.tobytes())
        fp.write(b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", loop) + b"\x00")
        self.indices: np.ndarray | None = None
        self.pending: tuple[tuple[int, int], np.ndarray, bool, int] | None = None
        self.frames = 0

    def add(self, rgba: np.ndarray, delay_cs: int) -> None:
        """Add a frame shown for ``delay_cs`` hundredths of a second. A frame identical to the previous one
        only lengthens it."""
        packed = _packed(rgba)
        if self.indices is None:
            self.indices = self.nearest(packed & 0xFFFFFF)
            self._prev = packed.copy()
            self._queue((0, 0), self.indices.copy(), False, delay_cs)
            return
        changed = packed != self._prev
        box = _bbox(changed)
        if box is None:
            self._lengthen(delay_cs)
            return
        y0, y1, x0, x1 = box
        region = (slice(y0, y1), slice(x0, x1))
        sub = changed[region]
        self._prev[region][sub] = packed[region][sub]
        new = self.nearest(packed[region][sub] & 0xFFFFFF)   # only the pixels that changed colour
        indices = self.indices[region]
        moved = np.zeros_like(sub)
        moved[sub] = new != indices[sub]                      # ... and only those whose palette entry changed
        inner = _bbox(moved)
        if inner is None:
            self._lengthen(delay_cs)
            return
        indices[sub] = new
        iy0, iy1, ix0, ix1 = inner
        block = np.where(moved, indices, np.uint8(self.transparent))[iy0:iy1, ix0:ix1]
        self._queue((x0 + ix0, y0 + iy0), block, True, delay_cs)

    def close(self) -> None:
        self._flush()
        self.fp.write(b";")

    def _lengthen(self, delay_cs: int) -> None:
        offset, block, transparent, delay = self.pending
        self.pending = (offset, block, transparent, delay + delay_cs)

    def _queue(self, offset, block, transparent, delay_cs) -> None:
        self._flush()
        self.pending = (offset, block, transparent, delay_cs)

    def _flush(self) -> None:
        if self.pending is None:
            return
        (x, y), block, transparent, delay = self.pending
        packed = (1 << 2) | (1 if transparent else 0)          # disposal 1: leave the frame for the next
        self.fp.write(b"!\xf9\x04" + struct.pack("<BHB", packed, min(delay, 0xFFFF),
                                                  self.transparent if transparent else 0) + b"\x00")
        h, w = block.shape
        self.fp.write(b"," + struct.pack("<HHHHB", x, y, w, h, 0))
        self.fp.write(_lzw(block))
        self.frames += 1
        self.pending = None


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0]:rows[-1] + 1].any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def delays(count: int, fps: float, pause: float) -> list[int]:
    """Per-frame delays in hundredths of a second whose running sum tracks ``fps`` exactly (rounding does not
    drift), at least 2 (browsers slow shorter delays to 10), the last one held ``pause`` seconds longer."""
    times = np.round(np.arange(count + 1) * 100.0 / fps).astype(int)
    out = [max(int(d), 2) for d in np.diff(times)]
    if out:
        out[-1] += int(round(pause * 100))
    return out


def write_png(path: Path, rgba: np.ndarray) -> None:
    Image.fromarray(np.ascontiguousarray(rgba[:, :, :3])).save(path, "PNG")


def write_mp4(path: Path, frames: Iterable[np.ndarray], fps: float, pause: float) -> None:
    """H.264 through imageio's ffmpeg plugin; even sizes (yuv420p needs them) by a white margin, the last frame
    repeated for the pause, bit-exact flags so the same frames give the same bytes."""
    import imageio.v2 as imageio

    writer = imageio.get_writer(str(path), format="FFMPEG", mode="I", fps=fps, codec="libx264",
                                pixelformat="yuv420p", macro_block_size=1, quality=None,
                                output_params=["-crf", "18", "-preset", "medium", "-threads", "1",
                                               "-fflags", "+bitexact", "-flags:v", "+bitexact",
                                               "-map_metadata", "-1"])
    try:
        last = None
        for rgba in frames:
            last = _even(rgba[:, :, :3])
            writer.append_data(last)
        for _ in range(int(round(pause * fps))):
            writer.append_data(last)
    finally:
        writer.close()


def _even(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return np.ascontiguousarray(rgb)
    out = np.full((h + h % 2, w + w % 2, 3), 255, dtype=np.uint8)
    out[:h, :w] = rgb
    return out
