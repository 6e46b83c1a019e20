"""The version, in one place that every module (and pyproject.toml) can read without importing the package."""
__version__ = "0.1.0"
