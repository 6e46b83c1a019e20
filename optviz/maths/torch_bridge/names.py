"""Dotted names -> torch optimizer classes, importing as little as possible and nothing a scene should not reach.

A scene may name ``torch.optim.Adam`` or ``pytorch_optimizer.Lion``; resolving such a name imports modules, which
runs their code, so what may be imported is narrow:

- a name is letters, digits and ``_`` in dotted parts, none private (``_x``) and so none a dunder;
- its first part is a plugin loaded on purpose (``--plugin my_optimizers.py``, the API's ``plugins=``), or an
  installed distribution that is torch or depends on it (``importlib.metadata``: a file in the current folder, the
  standard library and unrelated packages are refused before anything is imported);
- the object it names must be a ``torch.optim.Optimizer`` subclass, checked before it is called.

So ``os.system`` and ``subprocess.Popen`` are refused and nothing runs. torch itself is imported here only when a
dotted name is resolved; without torch such a name is a ``MissingDependency``.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

from ...errors import MissingDependency, SceneError
from ...fields import did_you_mean

TORCH_NEEDED = "needs torch: pip install 'optviz[torch]'"
#: pip names of optimizer packages whose import name differs, for the message when one is missing.
PIP_NAMES = {"pytorch_optimizer": "pytorch-optimizer", "torch": "'optviz[torch]'"}

_PART = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
#: What a resolvable name looks like (the JSON Schema's pattern): public dotted parts, at least two.
TORCH_CLASS_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$"
_PLUGINS: dict[str, ModuleType] = {}          # module name -> module loaded from a file (or handed over) on purpose


def is_dotted(name: Any) -> bool:
    """A torch class path (``torch.optim.Adam``) rather than a registry name (``adam``)."""
    return isinstance(name, str) and "." in name


def torch_module() -> ModuleType:
    """torch, imported now; ``MissingDependency`` when it is not installed."""
    try:
        import torch  # lazy: torch is optional and loads only for a scene that names a torch class
    except ImportError:
        raise MissingDependency(TORCH_NEEDED) from None
    return torch


def is_optimizer_class(obj: Any) -> bool:
    torch = torch_module()
    return isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer) and obj is not torch.optim.Optimizer


def resolve(name: str) -> type:
    """The Optimizer subclass ``name`` names. Raises ``SceneError`` (``MissingDependency`` when torch or the
    package is not installed) with a message for the scene's ``name`` key; imports nothing it refuses."""
    parts = name.split(".")
    for part in parts:
        if not part:
            raise SceneError(f"'{name}' has an empty part; write module.Class, e.g. torch.optim.Adam")
        if part.startswith("_"):
            raise SceneError(f"'{name}': private names ('{part}') are refused; name a public optimizer class")
        if not _PART.match(part):
            raise SceneError(f"'{name}': '{part}' is not a Python name")
    torch_module()
    obj = _walk(parts)
    if not is_optimizer_class(obj):
        what = (f"a {type(obj).__name__}" if not isinstance(obj, type) else "the base class itself"
                if obj is torch_module().optim.Optimizer else f"the class {obj.__qualname__}")
        raise SceneError(f"'{name}' is {what}, not a torch.optim.Optimizer subclass; nothing was run")
    return obj


def _walk(parts: list[str]) -> Any:
    """From the longest plugin prefix, or else the (checked) top-level package, attribute by attribute."""
    for done in range(len(parts), 0, -1):
        if ".".join(parts[:done]) in _PLUGINS:
            obj = _PLUGINS[".".join(parts[:done])]
            break
    else:
        _check_importable(parts[0])
        obj, done = importlib.import_module(parts[0]), 1
    for i in range(done, len(parts)):
        obj = _attribute(obj, parts[i], ".".join(parts[:i]))
    return obj


def _check_importable(top: str) -> None:
    spec = _find_spec(top)
    if (top == "torch" or top in _torch_packages()) and not _is_local(Path(getattr(spec, "origin", None) or ".")):
        return      # installed, and not shadowed by a file of that name in the current folder
    if spec is None:
        for local in (Path(f"{top}.py"), Path(top) / "__init__.py"):
            if local.is_file():
                raise SceneError(f"'{top}' is a local file ({local}), not an installed package; a scene never "
                                 f"imports one by itself: pass it with --plugin {local} (plugins= in Python)")
        hint = did_you_mean(top, [*_torch_packages(), *_PLUGINS, "torch"])
        if hint:        # a typo, not a missing package
            raise SceneError(f"no installed module '{top}'{hint}")
        pip = PIP_NAMES.get(top, "the package that provides it")
        raise MissingDependency(f"needs {top}, which is not installed here (pip install {pip})")
    origin = Path(spec.origin) if spec.origin and spec.origin not in ("built-in", "frozen") else None
    if origin is not None and _is_local(origin):
        shown = origin.parent if origin.name == "__init__.py" else origin
        raise SceneError(f"'{top}' is a local file ({shown}), not an installed package; a scene never imports "
                         f"one by itself: pass it with --plugin {shown} (plugins= in Python)")
    raise SceneError(f"'{top}' is not a torch package: only installed packages that depend on torch, and plugins "
                     "given with --plugin, are imported for a scene")


def _find_spec(top: str):
    try:
        return importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None


def _is_local(path: Path) -> bool:
    """Found through the current folder (which Python puts on sys.path for ``python -m`` and notebooks)."""
    if path == Path("."):
        return False
    here = Path.cwd().resolve()
    try:
        folder = path.resolve().parent
    except OSError:
        return False
    return folder == here or (path.name == "__init__.py" and folder.parent == here)


@functools.lru_cache(maxsize=1)
def _torch_packages() -> frozenset[str]:
    """Top-level import names of the installed distributions that are torch or require it."""
    from importlib.metadata import packages_distributions, requires  # lazy: only for dotted names (~0.1 s)

    def needs_torch(dist: str) -> bool:
        try:
            wanted = requires(dist) or []
        except Exception:       # a broken distribution's metadata: treat it as unrelated
            return False
        return dist.lower() == "torch" or any(re.match(r"torch\b(?![-_.\w])", r.strip().lower()) for r in wanted)

    return frozenset(top for top, dists in packages_distributions().items()
                     if _PART.match(top) and any(needs_torch(d) for d in dists))


def _attribute(obj: Any, part: str, where: str) -> Any:
    if isinstance(obj, ModuleType) and part not in vars(obj):
        sub = f"{obj.__name__}.{part}"
        if obj.__name__ not in _PLUGINS and getattr(obj, "__path__", None) is not None and _find_spec(sub) is not None:
            return importlib.import_module(sub)     # a submodule of an installed torch package
    try:
        return getattr(obj, part)
    except AttributeError:
        pass
    known = list(optimizer_classes(obj)) if isinstance(obj, ModuleType) else []
    hint = did_you_mean(part, known)
    if not hint and known:
        hint = f" (it has {len(known)}: `optviz list optimizers --module {where}`)"
    raise SceneError(f"'{where}' has no '{part}'{hint}")


def optimizer_classes(module: ModuleType) -> dict[str, type]:
    """The public Optimizer subclasses a module offers, by the name a scene writes after the module's."""
    found = {}
    for attr in sorted(vars(module)):
        if attr.startswith("_"):
            continue
        value = vars(module)[attr]
        if is_optimizer_class(value):
            found[attr] = value
    return found


def module_classes(module_name: str) -> dict[str, type]:
    """``optimizer_classes`` of a module given by name, imported by the same rules as a scene's names."""
    parts = module_name.split(".")
    if not all(_PART.match(p) for p in parts):
        raise SceneError(f"'{module_name}' is not a public module name", path="--module")
    torch_module()
    try:
        obj = _walk(parts)
    except SceneError as exc:
        exc.path = "--module"
        raise
    if not isinstance(obj, ModuleType):
        raise SceneError(f"'{module_name}' is not a module", path="--module")
    return optimizer_classes(obj)


# --- plugins: local files a user asks for -------------------------------------------------------------------

def load_plugins(plugins: Iterable[str | Path | ModuleType]) -> list[ModuleType]:
    """Import each plugin file (or take each module object) so that a scene may name its Optimizer subclasses as
    ``<module name>.<Class>``. Loading the same file again reuses it; a file whose name would shadow an installed
    module, or that defines no Optimizer subclass, is refused."""
    return [_register(p) if isinstance(p, ModuleType) else _load_file(Path(p)) for p in plugins]


def _register(module: ModuleType) -> ModuleType:
    if not optimizer_classes(module):
        raise SceneError(f"plugin module '{module.__name__}' defines no torch.optim.Optimizer subclass",
                         path="plugins")
    _PLUGINS[module.__name__] = module
    return module


def _load_file(path: Path) -> ModuleType:
    file = str(path)
    name = path.stem
    if path.suffix != ".py" or not path.is_file():
        raise SceneError("a plugin is a Python file (.py) that defines torch.optim.Optimizer subclasses",
                         file=file)
    if not _PART.match(name):
        raise SceneError(f"the file name must be a public Python name (it becomes the module '{name}' that scenes "
                         "write before the class name); rename the file", file=file)
    torch_module()
    loaded = _PLUGINS.get(name) or sys.modules.get(name)
    if loaded is not None and _same_file(loaded, path):
        return _register(loaded)            # loaded before (or imported by the user): not run twice
    if loaded is not None:
        raise SceneError(f"'{name}' is already the name of another module ({getattr(loaded, '__file__', name)}); "
                         "rename the plugin file", file=file)
    spec = _find_spec(name)
    if name == "torch" or (spec is not None and spec.origin and not _is_local(Path(spec.origin))):
        raise SceneError(f"'{name}' is the name of an installed module; rename the plugin file", file=file)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module          # as an import does: pickling, inspect and the module's own imports need it
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise SceneError(f"cannot import this plugin: {type(exc).__name__}: {exc}", file=file) from None
    if not optimizer_classes(module):
        del sys.modules[name]
        raise SceneError("defines no torch.optim.Optimizer subclass, so a scene could not name anything in it",
                         file=file)
    _PLUGINS[name] = module
    return module


def _same_file(module: ModuleType, path: Path) -> bool:
    try:
        return Path(module.__file__).resolve() == path.resolve()
    except (AttributeError, TypeError, OSError):
        return False


def describe_signature(cls: type) -> str:
    """``(lr=0.001, betas=(0.9, 0.999), ...)``: the constructor's keywords a scene may give."""
    params = [p for p in inspect.signature(cls).parameters.values()
              if p.name != "params" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return "(" + ", ".join(p.name if p.default is p.empty else f"{p.name}={_shown(p.default)}" for p in params) + ")"


def _shown(value: Any) -> str:
    """A default as a scene could write it; anything else (a function) by its kind, never by its address."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, (tuple, list)) and all(v is None or isinstance(v, (bool, int, float, str)) for v in value):
        return repr(value)
    return f"<{type(value).__name__}>"
