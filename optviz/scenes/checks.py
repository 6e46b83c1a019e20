"""Structural checks of scene data (mappings, their keys, registry names); values are checked by ``Field``."""
from __future__ import annotations

from typing import Any, Iterable

from ..fields import Problems, describe, did_you_mean


def mapping(value: Any, path: str, p: Problems) -> dict | None:
    if not isinstance(value, dict):
        p.add(path, f"must be a mapping (key: value), got {describe(value)}")
        return None
    return value


def known_keys(data: dict, allowed: Iterable[str], path: str, p: Problems,
               hints: dict[str, str] | None = None) -> None:
    """Report every key not in ``allowed``; ``hints`` gives a pointed tail for keys other libraries use
    (``learning_rate``: "use 'lr'"), else the closest allowed key is suggested."""
    allowed = list(allowed)
    hints = hints or {}
    for key in data:
        if not isinstance(key, str):
            p.add(join(path, key), f"keys must be strings, got {describe(key)}")
        elif key not in allowed:
            where = f"in {path}" if path else "at the top level"
            tail = f"; {hints[key]}" if key in hints else did_you_mean(key, allowed)
            p.add(join(path, key), f"unknown key '{key}' {where}{tail}")


def registry_name(value: Any, path: str, p: Problems, registry: Iterable[str], what: str, see: str) -> str | None:
    """A name that must be in a registry: unknown names get a did-you-mean and where to look."""
    if not isinstance(value, str):
        p.add(path, f"must be a string, got {describe(value)}")
        return None
    if len(value) > 100:
        p.add(path, f"is too long ({len(value)} characters; the limit is 100)")
        return None
    if value not in registry:
        p.add(path, f"unknown {what} '{value}'{did_you_mean(value, registry)} ({see})")
        return None
    return value


def join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def spacing(value: dict, path: str, p: Problems, bound: Any, count: Any, ends: str = "start, stop",
            alternative: str = "") -> tuple[str, float, float, int] | None:
    """``{logspace: [a, b, n]}`` or ``{linspace: [a, b, n]}``: which one and its three numbers, each checked by its
    field (``bound`` for a and b, ``count`` for n); None after reporting what is wrong."""
    known_keys(value, ["logspace", "linspace"], path, p)
    if len(value) != 1:
        p.add(path, f"give exactly one of logspace or linspace{alternative}")
        return None
    (kind, args), = value.items()
    if kind not in ("logspace", "linspace"):
        return None
    if not isinstance(args, list) or len(args) != 3:
        p.add(f"{path}.{kind}", f"must be [{ends}, count], got {describe(args)}")
        return None
    a = bound.check(args[0], f"{path}.{kind}[0]", p)
    b = bound.check(args[1], f"{path}.{kind}[1]", p)
    n = count.check(args[2], f"{path}.{kind}[2]", p)
    if a is None or b is None or n is None:
        return None
    return kind, a, b, n
