"""Small value checks shared by the scene loader: each reports a problem at a key path and returns None."""
from __future__ import annotations

import difflib
import math
from typing import Any, Iterable

from .errors import SceneError


class Problems:
    """Collects every problem in a scene, so `optviz validate` can report them all at once."""

    def __init__(self, lines: dict[str, int] | None = None, file: str | None = None):
        self.lines = lines or {}
        self.file = file
        self.items: list[SceneError] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(SceneError(message, path=path, file=self.file, line=self.line_of(path)))

    def line_of(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.lines.get("")

    def __bool__(self) -> bool:
        return bool(self.items)


def did_you_mean(word: Any, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def describe(value: Any) -> str:
    """A value as the user wrote it, short, with its YAML type when that is the surprise."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"'{text}' (a string)"
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return repr(value)


def number(value: Any, path: str, p: Problems, *, minimum: float | None = None,
           exclusive_minimum: float | None = None, maximum: float | None = None,
           exclusive_maximum: float | None = None) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        p.add(path, f"must be a number, got {describe(value)}")
        return None
    value = float(value)
    if not math.isfinite(value):
        p.add(path, f"must be a finite number, got {value}")
        return None
    if minimum is not None and value < minimum:
        p.add(path, f"must be >= {minimum:g}, got {value:g}")
        return None
    if exclusive_minimum is not None and value <= exclusive_minimum:
        p.add(path, f"must be > {exclusive_minimum:g}, got {value:g}")
        return None
    if maximum is not None and value > maximum:
        p.add(path, f"must be <= {maximum:g}, got {value:g}")
        return None
    if exclusive_maximum is not None and value >= exclusive_maximum:
        p.add(path, f"must be < {exclusive_maximum:g}, got {value:g}")
        return None
    return value


def integer(value: Any, path: str, p: Problems, *, minimum: int | None = None,
            maximum: int | None = None) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        p.add(path, f"must be a whole number, got {describe(value)}")
        return None
    if minimum is not None and value < minimum:
        p.add(path, f"must be at least {minimum}, got {value}")
        return None
    if maximum is not None and value > maximum:
        p.add(path, f"must be at most {maximum}, got {value}")
        return None
    return value


def boolean(value: Any, path: str, p: Problems) -> bool | None:
    if not isinstance(value, bool):
        p.add(path, f"must be true or false, got {describe(value)}")
        return None
    return value


def string(value: Any, path: str, p: Problems, *, choices: Iterable[str] | None = None,
           max_length: int = 500) -> str | None:
    if not isinstance(value, str):
        p.add(path, f"must be a string, got {describe(value)}")
        return None
    if len(value) > max_length:
        p.add(path, f"is too long ({len(value)} characters; the limit is {max_length})")
        return None
    if choices is not None:
        choices = list(choices)
        if value not in choices:
            p.add(path, f"unknown value '{value}'{did_you_mean(value, choices)} (choose from: {', '.join(choices)})")
            return None
    return value


def registry_name(value: Any, path: str, p: Problems, registry: Iterable[str], what: str, see: str) -> str | None:
    """A name that must be in a registry: unknown names get a did-you-mean and where to look."""
    name = string(value, path, p, max_length=100)
    if name is None:
        return None
    if name not in registry:
        p.add(path, f"unknown {what} '{name}'{did_you_mean(name, registry)} ({see})")
        return None
    return name


def pair(value: Any, path: str, p: Problems, *, increasing: bool = False, **bounds: float) -> tuple[float, float] | None:
    """Two finite numbers, like ``start: [2.0, 1.7]`` or ``xlim: [-5.5, 5.5]``."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        p.add(path, f"must be a list of two numbers, got {describe(value)}")
        return None
    a = number(value[0], f"{path}[0]", p, **bounds)
    b = number(value[1], f"{path}[1]", p, **bounds)
    if a is None or b is None:
        return None
    if increasing and not a < b:
        p.add(path, f"must be increasing (low, high), got [{a:g}, {b:g}]")
        return None
    return (a, b)


def mapping(value: Any, path: str, p: Problems) -> dict | None:
    if not isinstance(value, dict):
        p.add(path, f"must be a mapping (key: value), got {describe(value)}")
        return None
    return value


def known_keys(data: dict, allowed: Iterable[str], path: str, p: Problems) -> None:
    allowed = list(allowed)
    for key in data:
        if not isinstance(key, str):
            p.add(_join(path, key), f"keys must be strings, got {describe(key)}")
        elif key not in allowed:
            where = f"in {path}" if path else "at the top level"
            p.add(_join(path, key), f"unknown key '{key}' {where}{did_you_mean(key, allowed)}")


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)
