"""The PDF writer: the last frame as vector graphics, for print."""
from __future__ import annotations

from .base import VectorWriter, register_writer


@register_writer
class PdfWriter(VectorWriter):
    name = "pdf"
    metadata = {"CreationDate": None, "ModDate": None}
