"""A folder of scenes -> their GIFs, their interactive pages and one static ``index.html`` showing each with its
command and source.

Rerunning is cheap: ``.gallery.json`` beside the images records which scene file (hash, mtime) and which optviz
version made each image, and only scenes whose record no longer matches are rendered again. A scene that names a
torch optimizer whose package (or torch) is not installed here is not rendered: the page says what it needs, and
shows the image an earlier render left, if any.
"""
from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import quote

from .. import api
from .. import _version
from ..atomic import writable_target, write_bytes_atomic
from ..draw.writers import WRITERS
from ..errors import MissingDependency, SceneError, problems_of
from ..maths.torch_bridge import load_plugins
from ..scenes.load import scene_from_text
from ..scenes.record import Scene
from ..scenes.source import decode, parse_yaml, read_bytes
from .parallel import outcomes, raise_failures, worker_pool

MANIFEST = ".gallery.json"
INDEX = "index.html"

#: Headings for folders (relative to the gallery's scene folder) that deserve a better name than their path.
FOLDER_TITLES = {"blog": "The post's figures", "networks": "Real networks"}

Echo = Callable[[str], None]


@dataclass(frozen=True)
class GalleryResult:
    """What ``build_gallery`` did: the page, and the images it rendered or found up to date (scene order)."""

    index: Path
    rendered: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    unavailable: list[Path] = field(default_factory=list)   # scene files needing a package not installed here
    notes: list[str] = field(default_factory=list)          # scenes left off the page, and why


@dataclass(frozen=True)
class _Entry:
    path: Path          # the scene file, as found under the scene folder
    scene: Scene | None  # None when it needs what is not installed here
    text: str           # the scene file's source, shown on the page
    digest: str         # sha256 of the scene file's bytes
    mtime_ns: int
    folder: str         # parent folder relative to the scene folder, posix; "" for the folder itself
    image: Path         # <out>/<name>.gif
    needs: str = ""     # why it is not rendered here (MissingDependency messages)

    @property
    def player(self) -> Path | None:
        """<out>/<name>.html, the scene's interactive page; None if a page cannot show the scene."""
        if self.scene is None or WRITERS["html"].problems(self.scene):
            return None
        return self.image.with_suffix(".html")

    def record(self, version: str) -> dict:
        return {"scene": str(self.path), "sha256": self.digest, "mtime_ns": self.mtime_ns, "optviz": version}


def build_gallery(scene_dir: str | os.PathLike = "configs", out_dir: str | os.PathLike = "outputs", jobs: int = 1,
                  echo: Echo | None = None, force: bool = False, plugins: Iterable = (),
                  limits: bool = True) -> GalleryResult:
    """Render every scene under ``scene_dir`` to ``<out_dir>/<name>.gif`` and its interactive page
    ``<out_dir>/<name>.html``, and write ``<out_dir>/index.html`` linking both.

    Scenes are all validated (and every output path checked) before anything renders. Images whose scene file
    and optviz version are unchanged since they were made are kept (unless ``force``). ``jobs`` > 1 renders in
    that many processes. ``plugins`` are loaded first (and again by each worker), as for ``load``. A scene file
    that is a symlink to a file outside ``scene_dir`` is not published: the page would show that file's text.
    ``limits=False`` lifts the work budget.
    """
    if jobs < 1:
        raise SceneError(f"jobs must be at least 1, got {jobs}", path="--jobs")
    plugins = [str(p) for p in plugins]
    load_plugins(plugins)
    version = _version.__version__   # read per call: a test (or a reinstall) may change it
    say = echo or (lambda line: None)
    out = Path(out_dir)
    entries, notes = _entries(Path(scene_dir), out, limits)
    for note in notes:
        say(note)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    manifest = _read_manifest(manifest_path)

    todo: list[_Entry] = []
    skipped: list[Path] = []
    unavailable: list[Path] = []
    for entry in entries:
        if entry.scene is None:
            unavailable.append(entry.path)
            say(f"not rendered {entry.path}: {entry.needs}")
        elif not force and _up_to_date(entry, manifest.get(entry.image.name), version):
            skipped.append(entry.image)
            say(f"up to date {entry.image}")
        else:
            todo.append(entry)

    rendered: list[Path] = []
    failures: list[tuple[str, BaseException]] = []
    with contextlib.closing(_render_all(todo, jobs, plugins, limits)) as results:   # closed at once on Ctrl-C
        for entry, error in results:
            if error is not None:
                failures.append((str(entry.path), error))
                continue
            manifest[entry.image.name] = entry.record(version)
            _write_manifest(manifest_path, manifest)
            rendered.append(entry.image)
            say(f"rendered {entry.image}")
    raise_failures(failures)

    index = out / INDEX
    write_bytes_atomic(index, page(entries, version).encode("utf-8"))
    say(f"wrote {index}")
    return GalleryResult(index=index, rendered=rendered, skipped=skipped, unavailable=unavailable, notes=notes)


def _entries(scene_dir: Path, out: Path, limits: bool = True) -> tuple[list[_Entry], list[str]]:
    """Load and validate every scene and check its output paths (reporting all problems at once: one bad scene
    does not stop the others being checked), and give each a unique image name. Also returns a note for each
    scene left out because it is a symlink to a file outside ``scene_dir``."""
    files = api.scene_files([scene_dir])
    root = scene_dir if scene_dir.is_dir() else scene_dir.parent
    inside = os.path.realpath(root)
    loaded, problems, broken, notes = [], [], [], []
    for path in files:
        target = os.path.realpath(path)
        if not api.within(target, inside):
            notes.append(f"not published: {path} is a symlink to {target}, outside {root}")
            continue
        needs = ""
        try:
            raw = read_bytes(path)
            text = decode(raw, str(path))
            try:
                scene = scene_from_text(text, path, limits=limits)   # plugins: loaded by build_gallery
            except SceneError as exc:
                found = problems_of(exc)
                if not all(isinstance(e, MissingDependency) for e in found):
                    raise
                scene, needs = None, "; ".join(dict.fromkeys(e.message for e in found))
            mtime_ns = path.stat().st_mtime_ns
        except SceneError as exc:
            problems.extend(problems_of(exc))
            continue
        except OSError as exc:
            problems.append(SceneError(f"cannot read: {exc.strerror or exc}", file=str(path)))
            continue
        except Exception as exc:  # a bug, in one scene: the others are still checked
            broken.append((str(path), exc))
            continue
        folder = path.parent.relative_to(root).as_posix()
        loaded.append((path, scene, text, hashlib.sha256(raw).hexdigest(), mtime_ns, "" if folder == "." else folder,
                       needs))
    names = _unique_names([(scene.name if scene else path.stem, folder) for path, scene, *_, folder, _ in loaded],
                          root.resolve().name or "scenes", taken={Path(INDEX).stem})
    entries = [_Entry(path, scene, text, digest, mtime_ns, folder, out / f"{name}.gif", needs)
               for (path, scene, text, digest, mtime_ns, folder, needs), name in zip(loaded, names)]
    for entry in entries:
        for made in (entry.image, entry.player):
            try:
                if made is not None:
                    writable_target(made)
            except SceneError as exc:
                problems.extend(problems_of(exc))
    raise_failures([(p.file, p) for p in problems] + broken)
    return entries, notes


def _unique_names(items: list[tuple[str, str]], root_name: str, taken: set[str] = frozenset()) -> list[str]:
    """The scene's own name, unless another scene shares it: then prefix its folder (``blog-adam``).
    Names in ``taken`` (the gallery's own page) are numbered away."""
    counts: dict[str, int] = {}
    for name, _ in items:
        counts[name] = counts.get(name, 0) + 1
    names = []
    for name, folder in items:
        if counts[name] > 1:
            name = "-".join([*(folder.split("/") if folder else [root_name]), name])
        names.append(name)
    return _numbered(names, taken)  # still clashing (a.yaml and a.yml side by side): numbered in scene order


def _up_to_date(entry: _Entry, record: dict | None, version: str) -> bool:
    made = entry.record(version)
    del made["scene"]  # informational: a moved but unchanged scene makes the same picture
    if not isinstance(record, dict) or any(record.get(key) != value for key, value in made.items()):
        return False
    made_files = [entry.image] + ([entry.player] if entry.player else [])
    try:
        return all(f.stat().st_mtime_ns >= entry.mtime_ns for f in made_files)
    except OSError:
        return False


def _read_manifest(path: Path) -> dict:
    """The records of earlier runs; a missing or damaged manifest just means everything renders again."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    outputs = data.get("outputs") if isinstance(data, dict) else None
    return dict(outputs) if isinstance(outputs, dict) else {}


def _write_manifest(path: Path, outputs: dict) -> None:
    text = json.dumps({"outputs": outputs}, indent=1, sort_keys=True) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


def _render_all(todo: list[_Entry], jobs: int, plugins: list[str], limits: bool = True):
    """Yield (entry, error or None) in scene order; every render is attempted even if one fails. Ctrl-C (or
    SIGTERM in the CLI) stops the workers at once (``parallel.worker_pool``)."""
    if jobs == 1 or len(todo) < 2:
        for entry in todo:
            try:
                _render_one(str(entry.path), str(entry.image), entry.player and str(entry.player), plugins, limits)
            except Exception as exc:
                yield entry, exc
            else:
                yield entry, None
        return
    calls = [(str(e.path), str(e.image), e.player and str(e.player), plugins, limits) for e in todo]
    with worker_pool(min(jobs, len(todo))) as pool:  # scenes hold closures, so each worker loads its own file
        for entry, (_, error) in zip(todo, outcomes(pool, _render_one, calls)):
            yield entry, error


def _render_one(scene: str, image: str, player: str | None, plugins: list[str], limits: bool = True) -> None:
    load_plugins(plugins)       # again in a worker process, which starts without them
    lifted = {} if limits else {"limits": False}
    api.render_file(scene, image, "gif", **lifted)
    if player is not None:
        api.render_file(scene, player, "html", **lifted)


# -- the page -------------------------------------------------------------------------------------------------

CSS = """\
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --code: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 64rem; padding: 2rem 1.25rem 4rem; color: var(--ink); background: #fff;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { margin: 0 0 .25rem; font-size: 2rem; }
h2 { margin: 3rem 0 1rem; padding-bottom: .3rem; border-bottom: 1px solid var(--line); font-size: 1.5rem; }
h3 { margin: 0 0 .25rem; font-size: 1.2rem; }
h3 a { color: inherit; text-decoration: none; }
h3 a:hover { text-decoration: underline; }
p { margin: .25rem 0 .75rem; }
.lead, .description { color: var(--muted); }
nav ul { margin: .5rem 0; padding-left: 1.25rem; }
nav li > ul { margin: 0; }
article { margin: 0 0 2.5rem; }
img { display: block; max-width: 100%; height: auto; margin: .5rem 0; box-shadow: 0 0 0 1px var(--line); }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; }
.command code { display: block; overflow-x: auto; white-space: pre; padding: .5rem .75rem; background: var(--code);
  border-radius: 6px; }
details { margin: .5rem 0; }
summary { cursor: pointer; color: var(--muted); }
.needs { padding: .5rem .75rem; background: #fff8c5; border-radius: 6px; }
pre { overflow-x: auto; margin: .5rem 0; padding: .75rem; background: var(--code); border-radius: 6px; }
"""


def page(entries: list[_Entry], version: str) -> str:
    """The gallery's HTML: self-contained (inline CSS, no scripts, nothing fetched but the images beside it;
    each card links its scene's interactive page)."""
    groups: dict[str, list[_Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.folder, []).append(entry)
    folders = sorted(groups, key=lambda f: (f == "", f))  # subfolders (the post's figures) first
    ids = _ids([f"group-{f or 'top'}" for f in folders] + [e.image.stem for e in entries])
    group_id = dict(zip(folders, ids))
    scene_id = {e.image: i for e, i in zip(entries, ids[len(folders):])}

    def heading(folder: str) -> str:
        if folder in FOLDER_TITLES:
            return FOLDER_TITLES[folder]
        if folder:
            return folder
        return "More scenes" if len(folders) > 1 else "Scenes"

    e, a = _text, _attr
    count = f"{len(entries)} scene{'s' if len(entries) != 1 else ''}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="optviz {a(version)}">',
        "<title>optviz gallery</title>",
        f"<style>\n{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>optviz gallery</h1>",
        f'<p class="lead">{count} rendered by optviz {e(version)}. Under each animation: the command that makes '
        "it and its scene file.</p>",
        "</header>",
        "<nav>",
        "<ul>",
    ]
    for folder in folders:
        out.append(f'<li><a href="#{a(group_id[folder])}">{e(heading(folder))}</a>')
        out.append("<ul>")
        out += [f'<li><a href="#{a(scene_id[x.image])}">{e(_title(x))}</a></li>' for x in groups[folder]]
        out.append("</ul>")
        out.append("</li>")
    out += ["</ul>", "</nav>", "<main>"]
    for folder in folders:
        out.append(f'<section id="{a(group_id[folder])}">')
        out.append(f"<h2>{e(heading(folder))}</h2>")
        for entry in groups[folder]:
            out += _article(entry, scene_id[entry.image])
        out.append("</section>")
    out += ["</main>", "</body>", "</html>", ""]
    return "\n".join(out)


def _article(entry: _Entry, anchor: str) -> list[str]:
    e, a = _text, _attr
    title = _title(entry)
    command = shlex.join(["optviz", "render", str(entry.path), "-o", str(entry.image)])
    lines = [f'<article id="{a(anchor)}">', f'<h3><a href="#{a(anchor)}">{e(title)}</a></h3>']
    description = entry.scene.description if entry.scene else _written(entry, "description")
    if description:
        lines.append(f'<p class="description">{e(description)}</p>')
    if entry.scene is not None:
        width, height = entry.scene.size
        lines.append(f'<img src="{a(quote(entry.image.name))}" width="{width}" height="{height}" alt="{a(title)}">')
    else:
        earlier = " The image is from an earlier render." if entry.image.is_file() else ""
        lines.append(f'<p class="needs">Not rendered here: {e(entry.needs)}.{e(earlier)}</p>')
        if earlier:
            lines.append(f'<img src="{a(quote(entry.image.name))}" alt="{a(title)}">')
    lines += [
        *([f'<p class="player"><a href="{a(quote(entry.player.name))}">Interactive version</a>: play, pause, '
           "scrub and hover the paths for their numbers</p>"] if entry.player else []),
        f'<p class="command"><code>{e(command)}</code></p>',
        f"<details><summary>Scene file <code>{e(str(entry.path))}</code></summary>",
        f"<pre>\n{e(entry.text.rstrip())}</pre>",  # parsers drop the newline right after <pre>, not the text's
        "</details>",
        "</article>",
    ]
    return lines


def _text(s: str) -> str:
    return html.escape(s, quote=False)


def _attr(s: str) -> str:
    return html.escape(s, quote=False).replace('"', "&quot;")


def _title(entry: _Entry) -> str:
    if entry.scene is None:
        return _written(entry, "title") or entry.path.stem
    return entry.scene.title or entry.scene.name


def _written(entry: _Entry, key: str) -> str | None:
    """A text key as the scene file writes it, for a scene that could not be built here."""
    try:
        data, _ = parse_yaml(entry.text, file=str(entry.path))
    except SceneError:
        return None
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _ids(wanted: list[str]) -> list[str]:
    """Readable, unique HTML ids (letters, digits, - and _) from names, in order."""
    return _numbered([re.sub(r"[^\w-]+", "-", raw).strip("-") or "scene" for raw in wanted])


def _numbered(names: list[str], taken: set[str] = frozenset()) -> list[str]:
    """Make names unique by numbering repeats (``a``, ``a-2``, ...), keeping their order; names in ``taken``
    count as used."""
    seen: set[str] = set(taken)
    unique = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name}-{n}"
        seen.add(candidate)
        unique.append(candidate)
    return unique
