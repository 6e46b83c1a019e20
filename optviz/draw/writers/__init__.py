"""Frames -> files: one module per format, each registering a ``Writer`` under its name (the file extension)."""
from . import gif, mp4, png, html, svg, pdf  # noqa: F401  (each registers its writer, in this order)
from .base import WRITERS, Movie, Writer, register_writer

__all__ = ["WRITERS", "Movie", "Writer", "register_writer"]
