"""Reading a scene file safely: YAML to plain data plus the line of every key path, for error messages.

Hostile files get a one-line SceneError, never a hang, a crash or a flood of memory: only regular files under
``MAX_BYTES`` are read (a device, FIFO or socket is refused without being opened), only UTF-8 is accepted
(UTF-16 and UTF-32 are named as such), nesting deeper than ``MAX_DEPTH``, recursive aliases, more than
``MAX_NODES`` nodes and numbers a float cannot hold are refused at their key.
"""
from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

import yaml

from ..atomic import file_kind
from ..errors import SceneError

MAX_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_DEPTH = 50              # lists and mappings inside each other; a real scene needs 4


class _Loader(yaml.SafeLoader):
    """SafeLoader (never constructs Python objects) that also reads ``1e-3`` as a float, as users expect, and
    turns a value Python cannot construct (a date like 2001-13-45) into a YAML error at its line."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as exc:
            raise yaml.constructor.ConstructorError(None, None, f"cannot read this value ({exc})",
                                                    node.start_mark) from None


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)

def read_bytes(path: str | Path) -> bytes:
    """The scene file's bytes, or a SceneError that says plainly why it cannot be read. Only a regular file is
    opened (a FIFO would block, /dev/zero never ends), and never more than ``MAX_BYTES`` + 1 bytes are read."""
    name = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise SceneError("no such file", file=name) from None
    except OSError as exc:
        raise SceneError(f"cannot read: {exc.strerror or exc}", file=name) from None
    if stat.S_ISDIR(info.st_mode):
        raise SceneError("is a directory, not a scene file", file=name)
    if not stat.S_ISREG(info.st_mode):
        raise SceneError(f"is {file_kind(info.st_mode)}, not a regular file; scenes are read from files only",
                         file=name)
    if info.st_size > MAX_BYTES:
        raise SceneError(f"file is too large for a scene ({info.st_size} bytes; the limit is {MAX_BYTES})", file=name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if not stat.S_ISREG(mode):   # swapped for something else since the check above
                raise SceneError(f"is {file_kind(mode)}, not a regular file; scenes are read from files only",
                                 file=name)
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SceneError(f"cannot read: {exc.strerror or exc}", file=name) from None
    if len(raw) > MAX_BYTES:
        raise SceneError(f"file is too large for a scene (more than {MAX_BYTES} bytes)", file=name)
    return raw


_WIDE = ((b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32 (little-endian)"),     # (byte-order mark, codec, name)
         (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32 (big-endian)"),
         (b"\xff\xfe", "utf-16-le", "UTF-16 (little-endian)"),
         (b"\xfe\xff", "utf-16-be", "UTF-16 (big-endian)"))


def _wide_encoding(raw: bytes) -> str | None:
    """The UTF-16/32 flavour ``raw`` is written in: it decodes in it, after its byte-order mark or, without
    one, to printable text (so binary garbage is not taken for UTF-16)."""
    for bom, codec, name in _WIDE:
        if raw.startswith(bom):
            try:
                raw[len(bom):].decode(codec)
            except UnicodeDecodeError:
                continue
            return name
    for _, codec, name in _WIDE:
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if text and all(c.isprintable() or c in "\t\r\n" for c in text):
            return name
    return None


def decode(raw: bytes, name: str) -> str:
    """UTF-8 text (a UTF-8 byte-order mark is allowed), or a SceneError naming what the bytes are instead."""
    wide = _wide_encoding(raw) if raw[:4].count(0) or raw.startswith((b"\xff\xfe", b"\xfe\xff")) else None
    if wide:
        raise SceneError(f"is {wide} text; scenes must be UTF-8 (save the file as UTF-8)", file=name)
    if b"\x00" in raw:
        raise SceneError("is not a text file (it contains NUL bytes)", file=name)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SceneError(f"is not UTF-8 text (bad byte at offset {exc.start})", file=name) from None


def read_text(path: str | Path) -> str:
    """The scene file's text, or a SceneError that says plainly why it cannot be read."""
    return decode(read_bytes(path), str(path))


def parse_yaml(text: str, file: str | None = None) -> tuple[Any, dict[str, int]]:
    """Parse YAML text into plain data and a map from key path (``optimizers[2].betas[1]``) to 1-based line."""
    empty = SceneError("the file is empty; a scene is a YAML mapping with at least 'function' and 'optimizers'",
                       file=file)
    if not text.strip():
        raise empty
    loader = _Loader(text)
    try:
        try:
            _check_nesting(text, file)      # the composer recurses once per level: bound it before composing
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise _yaml_error(exc, file) from None
        if node is None:
            raise empty
        lines: dict[str, int] = {}
        _walk(node, lines, file)
        try:
            data = loader.construct_document(node)      # what yaml.load does, from the node already composed
        except yaml.YAMLError as exc:
            raise _yaml_error(exc, file) from None
    finally:
        loader.dispose()
    return data, lines


def _check_nesting(text: str, file: str | None) -> None:
    """Refuse lists and mappings nested deeper than ``MAX_DEPTH`` in the text, naming the key where it happens.
    Reads parser events, which PyYAML produces without recursion."""
    levels: list[list] = []             # per open collection: [is_mapping, key or index, expecting a key]
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionEndEvent):
            levels.pop()
            _value_done(levels)
            continue
        if not isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent)):
            continue
        top = levels[-1] if levels else None
        is_key = top is not None and top[0] and top[2]
        if top is not None and not top[0]:
            top[1] += 1
        if is_key:
            top[1] = event.value if isinstance(event, yaml.ScalarEvent) else "?"
            top[2] = False
        if isinstance(event, yaml.CollectionStartEvent):
            if len(levels) >= MAX_DEPTH:
                path = "".join(f"[{k}]" if not m else f".{k}" for m, k, _ in levels).lstrip(".")
                raise SceneError(f"lists and mappings are nested more than {MAX_DEPTH} deep here", path=path,
                                 file=file, line=event.start_mark.line + 1)
            levels.append([isinstance(event, yaml.MappingStartEvent), -1, True])
        elif not is_key:
            _value_done(levels)


def _value_done(levels: list[list]) -> None:
    if levels and levels[-1][0]:
        levels[-1][2] = True


_INT = "tag:yaml.org,2002:int"


def _walk(root: yaml.Node, lines: dict[str, int], file: str | None) -> None:
    """Record the line of every key path, checking as it goes: duplicate keys, more than ``MAX_NODES`` nodes
    (an alias bomb), aliases that contain themselves, nesting through aliases, numbers too large for a float.
    Iterative, so no YAML can exhaust the stack."""
    count = 0
    inside: set[int] = set()            # the collections on the path to the current node
    todo: list[tuple[Any, str, int]] = [(root, "", 1)]
    ints = _Loader("")
    while todo:
        node, path, depth = todo.pop()
        if node is None:                # the marker pushed below: leaving the collection whose id is ``depth``
            inside.discard(depth)
            continue
        count += 1
        if count > MAX_NODES:
            raise SceneError(f"the scene is too large (more than {MAX_NODES} YAML nodes)", file=file)
        line = node.start_mark.line + 1
        lines.setdefault(path, line)
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _INT:
                _check_int(ints, node, path, file)
            continue
        if id(node) in inside:
            raise SceneError("contains itself through a YAML alias (an anchor used inside its own value)",
                             path=path, file=file, line=line)
        if depth > MAX_DEPTH:
            raise SceneError(f"lists and mappings are nested more than {MAX_DEPTH} deep here (through aliases)",
                             path=path, file=file, line=line)
        inside.add(id(node))
        children: list[tuple[Any, str, int]] = []
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                key_line = key_node.start_mark.line + 1
                if key in seen and key != "<<":
                    raise SceneError(f"duplicate key '{key}' (first on line {seen[key]})",
                                     path=_join(path, key), file=file, line=key_line)
                seen[key] = key_line
                child = _join(path, key)
                lines.setdefault(child, key_line)
                children.append((value_node, child, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(node.value)]
        todo.append((None, "", id(node)))
        todo.extend(reversed(children))


def _check_int(loader: _Loader, node: yaml.ScalarNode, path: str, file: str | None) -> None:
    """An integer must fit in a float (nothing in a scene is larger), and Python must be able to read it."""
    try:
        value = loader.construct_yaml_int(node)
        fits = abs(value) <= sys.float_info.max
    except (ValueError, OverflowError):
        fits = False
    if not fits:
        raise SceneError("is a number too large to use (more than 1e308, the largest a float holds)", path=path,
                         file=file, line=node.start_mark.line + 1)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _yaml_error(exc: yaml.YAMLError, file: str | None) -> SceneError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if "constructor for the tag" in str(problem) or "could not determine a constructor" in str(exc):
        tag = re.search(r"tag '([^']+)'", str(exc))
        problem = f"YAML tag {tag.group(1) if tag else ''} is not allowed in a scene (only plain data)".replace("  ", " ")
    return SceneError(f"invalid YAML: {problem}", file=file, line=(mark.line + 1) if mark else None)
