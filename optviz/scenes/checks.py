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
