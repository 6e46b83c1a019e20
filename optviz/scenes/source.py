"""Reading a scene file safely: YAML to plain data plus the line of every key path, for error messages."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import SceneError

MAX_BYTES = 1_000_000
MAX_NODES = 100_000


class _Loader(yaml.SafeLoader):
    """SafeLoader (never constructs Python objects) that also reads ``1e-3`` as a float, as users expect."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def read_text(path: str | Path) -> str:
    """The scene file's text, or a SceneError that says plainly why it cannot be read."""
    p = Path(path)
    name = str(path)
    if not p.exists():
        raise SceneError("no such file", file=name)
    if p.is_dir():
        raise SceneError("is a directory, not a scene file", file=name)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise SceneError(f"file is too large for a scene ({size} bytes; the limit is {MAX_BYTES})", file=name)
        raw = p.read_bytes()
    except OSError as exc:
        raise SceneError(f"cannot read: {exc.strerror or exc}", file=name) from None
    if b"\x00" in raw:
        raise SceneError("is not a text file (it contains NUL bytes)", file=name)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SceneError(f"is not UTF-8 text (bad byte at offset {exc.start})", file=name) from None


def parse_yaml(text: str, file: str | None = None) -> tuple[Any, dict[str, int]]:
    """Parse YAML text into plain data and a map from key path (``optimizers[2].betas[1]``) to 1-based line."""
    empty = SceneError("the file is empty; a scene is a YAML mapping with at least 'function' and 'optimizers'",
                       file=file)
    if not text.strip():
        raise empty
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file) from None
    if node is None:
        raise empty
    lines: dict[str, int] = {}
    _walk(node, "", lines, [0], file)
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file) from None
    return data, lines


def _walk(node: yaml.Node, path: str, lines: dict[str, int], count: list[int], file: str | None) -> None:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise SceneError(f"the scene is too large (more than {MAX_NODES} YAML nodes)", file=file)
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            if key in seen and key != "<<":
                raise SceneError(f"duplicate key '{key}' (first on line {seen[key]})",
                                 path=_join(path, key), file=file, line=line)
            seen[key] = line
            child = _join(path, key)
            lines.setdefault(child, line)
            _walk(value_node, child, lines, count, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, f"{path}[{i}]", lines, count, file)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _yaml_error(exc: yaml.YAMLError, file: str | None) -> SceneError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if "constructor for the tag" in str(problem) or "could not determine a constructor" in str(exc):
        tag = re.search(r"tag '([^']+)'", str(exc))
        problem = f"YAML tag {tag.group(1) if tag else ''} is not allowed in a scene (only plain data)".replace("  ", " ")
    return SceneError(f"invalid YAML: {problem}", file=file, line=(mark.line + 1) if mark else None)
