"""The SVG writer: the last frame as vector graphics, for print and for pages that scale it."""
from __future__ import annotations

from .base import VectorWriter, register_writer


@register_writer
class SvgWriter(VectorWriter):
    name = "svg"
    metadata = {"Date": None}
