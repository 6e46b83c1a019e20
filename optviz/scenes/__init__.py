"""Scene file -> validated scene: reading YAML safely (``source``), the format's keys (``keys``), checking them
(``load``, ``run_options``, ``render_options``) into frozen records (``record``), and the JSON Schema (``schema``)."""
from .load import load, scene, scene_from_data
from .record import RunSpec, Scene, entries

__all__ = ["RunSpec", "Scene", "entries", "load", "scene", "scene_from_data"]
