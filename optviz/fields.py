"""The vocabulary of the scene format: one record per value a scene can give, read by everything that
describes the format (the validator, the optimizer and schedule registries, the JSON Schema, the README).

A ``Field`` says what a value may be (its kind, bounds, choices, default) and what it means; ``check``
reports every problem at the value's key path into ``Problems``, so `optviz validate` lists all of them at once
(``file:line: key.path: message``). One suggestion helper, ``closest``, serves every "did you mean".
"""
from __future__ import annotations

import math
import numbers
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable

from .errors import SceneError


class _Required:
    """Sentinel default of a value the scene must give; distinct from None, which can be a real default."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REQUIRED"

    def __reduce__(self):
        return (_Required, ())


REQUIRED: Any = _Required()

#: "str" is a choice among ``choices``; "text" is free text; "pair" is two numbers ("int_pair" two whole ones);
#: "*_or_none" also takes null; "custom" values have a parser of their own (the field only describes them).
KINDS = ("float", "int", "bool", "pair", "int_pair", "int_list", "str", "text", "float_or_none", "int_or_none",
         "custom")


class Problems:
    """Collects every problem in a scene, so `optviz validate` can report them all at once."""

    def __init__(self, lines: dict[str, int] | None = None, file: str | None = None):
        self.lines = lines or {}
        self.file = file
        self.items: list[SceneError] = []

    def add(self, path: str, message: str, kind: type[SceneError] = SceneError) -> None:
        self.items.append(kind(message, path=path, file=self.file, line=self.line_of(path)))

    def line_of(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.lines.get("")

    def __bool__(self) -> bool:
        return bool(self.items)


# --- suggestions ---------------------------------------------------------------------------------------------

def _distance(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit (optimal string alignment): 'adma' is one
    edit from 'adam' and two from 'adamax', which is what a typist means."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def closest(word: Any, choices: Iterable[str]) -> str | None:
    """The choice ``word`` most likely meant: the same ignoring case, else the fewest edits (at most a third of
    the word, one at least), ties to the earlier choice. None when nothing is close."""
    text = str(word)
    if len(text) > 100:
        return None
    choices = [c for c in choices if isinstance(c, str)]
    lowered = text.lower()
    for c in choices:
        if c.lower() == lowered:
            return c
    limit = max(1, len(text) // 3)
    best, best_d = None, limit + 1
    for c in choices:
        if abs(len(c) - len(text)) >= best_d:
            continue
        d = _distance(lowered, c.lower())
        if d < best_d:
            best, best_d = c, d
    return best


def did_you_mean(word: Any, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or ``""``: the tail every unknown-name message ends with."""
    match = closest(word, choices)
    return f"; did you mean '{match}'?" if match is not None else ""


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
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    return repr(value)


def unprintable(text: str, allowed: str = "\n\t") -> str | None:
    """The first character of ``text`` that cannot be drawn or printed, described (a control character such as
    an ANSI escape, or half of a UTF-16 surrogate pair); None when every character is fine."""
    for c in text:
        if c in allowed:
            continue
        category = unicodedata.category(c)
        if category == "Cc":
            return f"the control character U+{ord(c):04X}"
        if category == "Cs":
            return f"a lone surrogate U+{ord(c):04X} (not a character)"
    return None


def yaml_text(value: Any) -> str:
    """A value as a scene would write it: ``true``, ``[0.9, 0.999]``, ``0.001``."""
    if _is_bool(value):
        return str(bool(value)).lower()
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _g(v: float) -> str:
    return f"{v:g}"


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool) or type(v).__name__ == "bool_"    # numpy's bool is no numbers.Number


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not _is_bool(v)


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not _is_bool(v)


# --- the record ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """One value of the scene format: its name, default, kind and range, and a line of help.

    ``check`` is the validator's (problems reported at a key path), ``problems`` the registries' (a list of
    ``(key, message)``), ``schema`` the JSON Schema's. All three read the same bounds.
    """

    name: str
    default: Any
    kind: str                           # one of KINDS
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    exclusive_maximum: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""
    max_length: int = 500               # text
    increasing: bool = False            # pair: low < high
    shown: str | None = None            # the default as the docs say it, when it is not a plain value

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def default_text(self) -> str:
        """The default as docs show it: ``(required)``, ``-`` for none, else the value as YAML writes it."""
        if self.shown is not None:
            return self.shown
        if self.required:
            return "(required)"
        return "-" if self.default is None else yaml_text(self.default)

    # -- ranges ------------------------------------------------------------------------------------------
    def range_text(self) -> str:
        """The allowed range, e.g. ``in [0, 1)`` or ``>= 0``; ``""`` when unbounded."""
        low = self.minimum if self.minimum is not None else self.exclusive_minimum
        high = self.maximum if self.maximum is not None else self.exclusive_maximum
        if low is not None and high is not None:
            return (f"in {'[' if self.minimum is not None else '('}{_g(low)}, "
                    f"{_g(high)}{']' if self.maximum is not None else ')'}")
        if low is not None:
            return f"{'>=' if self.minimum is not None else '>'} {_g(low)}"
        if high is not None:
            return f"{'<=' if self.maximum is not None else '<'} {_g(high)}"
        return ""

    def in_range(self, x: float) -> bool:
        return not ((self.minimum is not None and x < self.minimum)
                    or (self.exclusive_minimum is not None and x <= self.exclusive_minimum)
                    or (self.maximum is not None and x > self.maximum)
                    or (self.exclusive_maximum is not None and x >= self.exclusive_maximum))

    # -- checking ----------------------------------------------------------------------------------------
    def problems(self, value: Any, key: str | None = None) -> list[tuple[str, str]]:
        """Every problem of ``value`` as ``[(key, message)]`` (keys like ``betas[1]``); empty when fine."""
        key = self.name if key is None else key
        kind = self.kind
        if kind.endswith("_or_none"):
            if value is None:
                return []
            kind = kind[: -len("_or_none")]
        if kind == "bool":
            return [] if _is_bool(value) else [(key, f"must be true or false, got {describe(value)}")]
        if kind == "str":
            if value in self.choices:
                return []
            return [(key, f"unknown value {describe(value).split(' (')[0]}{did_you_mean(value, self.choices)} "
                          f"(choose from: {', '.join(self.choices)})")]
        if kind == "text":
            if not isinstance(value, str):
                return [(key, f"must be a string, got {describe(value)}")]
            if len(value) > self.max_length:
                return [(key, f"is too long ({len(value)} characters; the limit is {self.max_length})")]
            bad = unprintable(value)
            return [(key, f"contains {bad}, which text in a scene cannot hold")] if bad else []
        if kind in ("pair", "int_pair"):
            if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") or len(value) != 2:
                return [(key, f"must be a list of two numbers, got {describe(value)}")]
            item = "int" if kind == "int_pair" else "float"
            out = [p for i, x in enumerate(value) for p in self._number(x, f"{key}[{i}]", item)]
            if not out and self.increasing and not value[0] < value[1]:
                out.append((key, f"must be increasing (low, high), got [{_g(value[0])}, {_g(value[1])}]"))
            return out
        if kind == "int_list":
            if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__"):
                return [(key, f"must be a list of whole numbers, got {describe(value)}")]
            out = [p for i, x in enumerate(value) for p in self._number(x, f"{key}[{i}]", "int")]
            return [(key, f"every entry {m}") for _, m in out[:1]]
        return self._number(value, key, kind)

    def _number(self, x: Any, key: str, kind: str) -> list[tuple[str, str]]:
        if kind == "int":
            if isinstance(x, float) and x.is_integer():
                x = int(x)
            if not _is_int(x):
                return [(key, f"must be a whole number, got {describe(x)}")]
            if (self.minimum is not None and x < self.minimum) or (self.maximum is not None and x > self.maximum):
                bound = ("at least", self.minimum) if self.minimum is not None and x < self.minimum \
                    else ("at most", self.maximum)
                return [(key, f"must be {bound[0]} {bound[1]:g}, got {x}")]
            return []
        if not _is_real(x):
            return [(key, f"must be a number, got {describe(x)}")]
        try:
            x = float(x)
        except OverflowError:
            return [(key, "must be a finite number, got a number too large for a float")]
        if not math.isfinite(x):
            return [(key, f"must be a finite number, got {x}")]
        if not self.in_range(float(x)):
            return [(key, f"must be {self.range_text()}, got {_g(float(x))}")]
        return []

    def error(self, value: Any) -> str | None:
        """The first problem's message, or None when ``value`` is fine."""
        found = self.problems(value)
        return found[0][1] if found else None

    def normalize(self, value: Any) -> Any:
        """The value as the maths wants it: floats, ints, a tuple pair, a list of ints."""
        if value is None:
            return None
        kind = self.kind.removesuffix("_or_none")
        if kind == "bool":
            return bool(value)
        if kind == "float":
            return float(value)
        if kind == "int":
            return int(value)
        if kind == "pair":
            return (float(value[0]), float(value[1]))
        if kind == "int_pair":
            return (int(value[0]), int(value[1]))
        if kind == "int_list":
            return [int(v) for v in value]
        return value

    def check(self, value: Any, path: str, p: Problems) -> Any:
        """The normalised value, or None after reporting every problem at ``path`` into ``p``."""
        if self.kind == "custom":
            raise TypeError(f"{self.name} has a parser of its own")
        found = self.problems(value, path)
        for key, message in found:
            p.add(key, message)
        return None if found else self.normalize(value)

    # -- describing --------------------------------------------------------------------------------------
    def schema(self) -> dict:
        """This value as JSON Schema (draft 2020-12)."""
        kind = self.kind.removesuffix("_or_none")
        if kind == "custom":
            raise TypeError(f"{self.name} has a schema of its own")
        bounds = {k: v for k, v in (("minimum", self.minimum), ("exclusiveMinimum", self.exclusive_minimum),
                                    ("maximum", self.maximum), ("exclusiveMaximum", self.exclusive_maximum))
                  if v is not None}
        if kind == "str":
            out: dict = {"enum": list(self.choices)}
        elif kind == "text":
            out = {"type": "string", "maxLength": self.max_length}
        elif kind == "bool":
            out = {"type": "boolean"}
        elif kind in ("pair", "int_pair"):
            item = "integer" if kind == "int_pair" else "number"
            out = {"type": "array", "items": {"type": item, **bounds}, "minItems": 2, "maxItems": 2}
        elif kind == "int_list":
            out = {"type": "array", "items": {"type": "integer", **bounds}}
        else:
            out = {"type": "integer" if kind == "int" else "number", **bounds}
        if self.kind.endswith("_or_none"):
            out = {**out, "type": [out["type"], "null"]} if "type" in out else {"anyOf": [out, {"type": "null"}]}
        if not self.required and self.default is not None:
            out["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        if self.help:
            out["description"] = self.help
        return out
