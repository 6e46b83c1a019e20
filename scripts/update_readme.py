"""Regenerate the README's tables from the registries: python scripts/update_readme.py"""
from pathlib import Path

from optviz.commands.catalog import fill_readme

readme = Path(__file__).resolve().parents[1] / "README.md"
readme.write_text(fill_readme(readme.read_text()))
