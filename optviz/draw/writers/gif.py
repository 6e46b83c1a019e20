"""The GIF writer, and why the outputs are small.

Common GIF writers quantize every frame on its own (new palette, dithering noise that differs from frame to
frame), so every frame is stored whole. Here all frames share one palette, no dithering is done, and each frame
stores only the rectangle that changed, with its unchanged pixels transparent: a frame of an optimizer race is
a few dots and a few new segments, and it costs about that many bytes. Pillow does the LZW compression; the
GIF blocks around it are written here, so that what is stored is exactly what this module decided.
"""
from __future__ import annotations

import functools
import struct
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

import numpy as np
import PIL
from PIL import GifImagePlugin, Image

from ... import forked
from .base import Box, Movie, Writer, register_writer

COLORS = 64          # line art: contour greys, a few run colours and their antialiased edges
MAX_DELAY = 0xFFFF   # the longest a GIF frame can be shown, in hundredths of a second (655.35 s)


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


def _lzw(indices: np.ndarray, bits: int = 8) -> bytes:
    """Pillow's LZW encoding of a block of palette indices (each below ``2**bits``): minimum code size byte,
    sub-blocks, terminator.

    ``GifImagePlugin.getdata`` is Pillow's documented way to encode one image block; it returns the image
    descriptor first. If Pillow ever changes that layout, this fails loudly rather than writing a broken GIF.
    Pillow always declares 8-bit codes; the encoder takes the code size as its ``encoderconfig`` (as Pillow's
    own GIF saving sets it), and codes as narrow as the palette (6 bits for 64 colours) make the LZW data
    about a twentieth smaller.
    """
    h, w = indices.shape
    image = Image.frombytes("P", (w, h), np.ascontiguousarray(indices).tobytes())
    image.encoderconfig = (bits, False)     # code size, not interlaced
    fragments = GifImagePlugin.getdata(image)
    descriptor, data = fragments[0], b"".join(fragments[1:])
    if (len(descriptor) != 10 or descriptor[:1] != b"," or struct.unpack("<HH", descriptor[5:9]) != (w, h)
            or descriptor[9] & 0x80 or not data or data[0] not in (8, bits) or data[-1] != 0):
        raise RuntimeError(f"unexpected GIF block layout from Pillow {PIL.__version__}: "
                           f"{descriptor[:10]!r}...; optviz cannot write GIFs with this Pillow")
    return bytes([bits]) + data[1:]


class GifStream:
    """Streams frames to a GIF: global palette only, delta rectangles, unchanged pixels transparent."""

    def __init__(self, fp: BinaryIO, width: int, height: int, palette: np.ndarray, loop: int = 0):
        self.fp = fp
        self.size = (width, height)
        self.nearest = _Nearest(palette)
        self.transparent = len(palette)
        bits = max(1, int(np.ceil(np.log2(len(palette) + 1))))
        self.code_bits = max(bits, 2)       # LZW codes start one bit wider; GIF's smallest is 2
        table = np.zeros((1 << bits, 3), dtype=np.uint8)
        table[: len(palette)] = palette
        fp.write(b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80 | (bits - 1), 0, 0) + table.tobytes())
        fp.write(b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", loop) + b"\x00")
        self.indices: np.ndarray | None = None
        self.pending: tuple[tuple[int, int], np.ndarray, bool, int] | None = None
        self.frames = 0

    def add(self, rgba: np.ndarray, delay_cs: int, changed: list[Box] | None = None) -> None:
        """Add a frame shown for ``delay_cs`` hundredths of a second. A frame identical to the previous one
        only lengthens it. ``changed``, if given, holds boxes (row0, row1, col0, col1) outside which the frame
        equals the previous one: only their bounding box is compared (the result is the same)."""
        packed = _packed(rgba)
        if self.indices is None:
            self.indices = self.nearest(packed & 0xFFFFFF)
            self._prev = packed.copy()
            self._queue((0, 0), self.indices.copy(), False, delay_cs)
            return
        oy, ox, y1, x1 = 0, 0, *packed.shape
        if changed is not None:
            if not changed:
                self._lengthen(delay_cs)
                return
            oy, ox = min(b[0] for b in changed), min(b[2] for b in changed)
            y1, x1 = max(b[1] for b in changed), max(b[3] for b in changed)
        within = (slice(oy, y1), slice(ox, x1))
        diff = packed[within] != self._prev[within]
        box = _bbox(diff)
        if box is None:
            self._lengthen(delay_cs)
            return
        y0, y1, x0, x1 = box
        sub = diff[y0:y1, x0:x1]
        y0, y1, x0, x1 = y0 + oy, y1 + oy, x0 + ox, x1 + ox
        region = (slice(y0, y1), slice(x0, x1))
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
        self.fp.write(b"!\xf9\x04" + struct.pack("<BHB", packed, min(delay, MAX_DELAY),
                                                  self.transparent if transparent else 0) + b"\x00")
        h, w = block.shape
        self.fp.write(b"," + struct.pack("<HHHHB", x, y, w, h, 0))
        self.fp.write(_lzw(block, self.code_bits))
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
    drift), at least 2 (browsers slow shorter delays to 10), the last one held ``pause`` seconds longer. No
    delay exceeds what a GIF can store: a tiny fps gives the slowest GIF, never a wrapped-around fast one."""
    if fps > 0 and 100.0 / fps < MAX_DELAY:
        times = np.round(np.arange(count + 1) * 100.0 / fps).astype(int)
    else:       # slower than a GIF can show: every frame gets the longest delay
        times = np.arange(count + 1, dtype=int) * MAX_DELAY
    out = [min(max(int(d), 2), MAX_DELAY) for d in np.diff(times)]
    if out:
        out[-1] = min(out[-1] + int(round(min(pause, MAX_DELAY / 100) * 100)), MAX_DELAY)
    return out


PALETTE_SAMPLES = 4     # frames the palette is chosen from, spread over the animation
END = struct.pack("<i", -1)


@register_writer
class GifWriter(Writer):
    """The animation as a looping GIF: one shared palette, changed rectangles only. Where a second core helps
    (``forked.available``), a forked copy of this process chooses the palette and encodes while this one draws;
    the frames go to it through a pipe, only the boxes that changed, and it writes the same bytes."""

    name = "gif"
    fp = stream = encoder = None

    def setup(self, path: Path, movie: Movie) -> None:
        self.whole = [(0, movie.height, 0, movie.width)]
        # opened here, before any fork: the encoding process writes to this file and never creates one, so a
        # temporary file removed by this process (an error, a signal) cannot come back
        self.fp = open(path, "wb")
        if forked.available():
            self.encoder = forked.Forked(functools.partial(_encode, self.fp, movie))
            try:
                self.encoder.start()
                return
            except OSError:
                self.encoder = None     # no second process today (the system refused the fork): encode here
        self.stream, self.delays = _stream(self.fp, movie)

    def grab_frame(self, rgba: np.ndarray, changed: list[Box] | None = None) -> None:
        if self.encoder is None:
            self.stream.add(rgba, next(self.delays), changed)
            return
        boxes = self.whole if changed is None else changed
        parts = [struct.pack("<i", len(boxes)), np.asarray(boxes, dtype="<i4").tobytes()]
        parts += [rgba[r0:r1, c0:c1].tobytes() for r0, r1, c0, c1 in boxes]
        self.encoder.send(b"".join(parts))

    def finish(self) -> None:
        if self.encoder is None:
            self.stream.close()
            return
        self.encoder.send(END)
        self.encoder.join()

    def close(self) -> None:
        if self.encoder is not None:
            self.encoder.stop()
        if self.fp is not None:
            self.fp.close()


def _stream(fp: BinaryIO, movie: Movie) -> tuple[GifStream, Iterator[int]]:
    palette = make_palette(movie.samples(PALETTE_SAMPLES), movie.key_colors)
    return GifStream(fp, movie.width, movie.height, palette), iter(delays(movie.count, movie.fps, movie.pause))


def _encode(fp: BinaryIO, movie: Movie, inbox: forked.Inbox) -> None:
    """The forked encoder: frames arrive as their changed boxes (a count, the boxes, their pixels), END last."""
    frame = np.zeros((movie.height, movie.width, 4), dtype=np.uint8)

    def receive() -> list[Box] | None:
        n = struct.unpack("<i", inbox.read(4))[0]
        if n < 0:
            return None
        boxes = [tuple(b) for b in np.frombuffer(inbox.read(16 * n), dtype="<i4").reshape(n, 4).tolist()]
        for r0, r1, c0, c1 in boxes:
            shape = (r1 - r0, c1 - c0, 4)
            frame[r0:r1, c0:c1] = np.frombuffer(inbox.read(shape[0] * shape[1] * 4), np.uint8).reshape(shape)
        return boxes

    boxes = receive()    # the first frame (the whole picture) first, so that the drawing goes on meanwhile
    stream, delays_cs = _stream(fp, movie)
    while boxes is not None:
        stream.add(frame, next(delays_cs), boxes)
        boxes = receive()
    stream.close()
    fp.close()
