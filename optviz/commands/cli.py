"""The `optviz` command: parses arguments and calls into the same flow as the Python API."""
from __future__ import annotations

import atexit
import errno
import gc
import os
import re
import signal
import sys
import threading
from pathlib import Path

import click

from .._version import __version__
from ..atomic import USER_ERRNOS, writable_target
from ..draw.writers import WRITERS
from ..errors import SceneError, SceneErrors, problems_of
from .parallel import ScenesFailed, outcomes, raise_failures, worker_pool

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130      # 128 + SIGINT, as shells report Ctrl-C
EXIT_TERMINATED = 143       # 128 + SIGTERM

# A command ends its process: freezing the heap at exit spares Python collecting every object of numpy and
# matplotlib one by one (about 0.1 s, a tenth of a render), memory the system takes back at once anyway.
atexit.register(gc.freeze)


def entry() -> None:
    """The ``optviz`` command as a process (the console script and ``python -m optviz``): ``main``, then, when
    it has finished its work alone (every file written and closed, no other thread, no child process), leave
    at once instead of tearing down every module and object (about 0.03 s, a twentieth of a render)."""
    try:
        main()
    except SystemExit as done:
        code = done.code
        if code is not None and not isinstance(code, int):
            raise
        if threading.active_count() > 1 or _children():
            raise
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):   # a closed pipe, a full disk: Python's own exit reports it
            raise done from None
        os._exit(code or 0)


def _children() -> bool:
    multiprocessing = sys.modules.get("multiprocessing")
    return bool(multiprocessing and multiprocessing.active_children())


def _import_drawing() -> None:
    """Import matplotlib's drawing stack with the cyclic collector paused, then freeze what exists: those
    objects live as long as the process, and collections during the import and after it would walk them again
    and again (about 0.02 s of a render) to free nothing. And without the property tables matplotlib writes into
    each Artist class's ``set()`` docstring as the class is defined (about 0.06 s, a tenth of a render): a
    command never shows a docstring (the Python API, which may, keeps them). Once per process."""
    if "optviz.draw.animate" in sys.modules:
        return
    import matplotlib.artist as artist  # lazy: `import matplotlib`, which validation uses, has imported it already

    collecting, kwdoc = gc.isenabled(), getattr(artist, "kwdoc", None)
    gc.disable()
    if kwdoc is not None:
        artist.kwdoc = _no_property_table
    try:
        from ..draw import animate  # noqa: F401  lazy: only commands that draw pay for matplotlib's figures
    finally:
        if kwdoc is not None:
            artist.kwdoc = kwdoc
        gc.freeze()
        if collecting:
            gc.enable()


def _no_property_table(artist) -> str:
    return "(not listed: imported by the optviz command)"

plugin_option = click.option(
    "--plugin", "plugins", multiple=True, type=click.Path(dir_okay=False),
    help="A Python file whose torch Optimizer subclasses scenes may name (name: my_optimizers.MyAdam); repeatable. "
         "A scene alone never imports a local file.")


NO_LIMITS = click.option("--no-limits", "no_limits", is_flag=True,
                         help="Lift the work budget (points, pixels, frames) for scenes you mean to be huge.")

#: Characters a terminal acts on instead of showing: C0/C1 controls (ANSI escapes start with ESC), bidi
#: overrides that reorder what is shown, and lone surrogates (which cannot even be encoded).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on written as an escape (``\\x1b``), so that a
    value from a scene file can be shown but never drive the terminal."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)


def say(text: str, err: bool = False) -> None:
    """Print each line of ``text`` (values from scenes included) made safe for a terminal."""
    for line in str(text).splitlines() or [""]:
        click.echo(printable(line), err=err)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that it unwinds (deleting temporary files) like Ctrl-C."""


def _terminate(signum, frame):
    raise Terminated()


class _Group(click.Group):
    """Turns user errors into one line and exit 2, and anything unexpected into one line and exit 1.
    Ctrl-C exits 130 and SIGTERM 143, after the work in progress is stopped and its temporary files removed."""

    def invoke(self, ctx: click.Context):
        try:
            previous = signal.signal(signal.SIGTERM, _terminate)
            installed = True
        except ValueError:      # not the main thread (an embedding application): leave signals alone
            installed = False
        try:
            return super().invoke(ctx)
        except SceneError as exc:
            for line in str(exc).splitlines():
                say(f"error: {line}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except OSError as exc:
            if exc.errno not in USER_ERRNOS:    # a full disk or a read-only folder is the user's situation
                _internal(ctx, exc)
            where = f"{exc.filename}: " if exc.filename else ""
            say(f"error: {where}{exc.strerror or exc} ({errno.errorcode.get(exc.errno, '')})", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Terminated:
            say("terminated", err=True)
            ctx.exit(EXIT_TERMINATED)
        except KeyboardInterrupt:
            say("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except ScenesFailed as exc:
            for line in exc.lines:
                say(line, err=True)
            say("(set OPTVIZ_DEBUG=1 and render the scene alone for a traceback, and please report it)", err=True)
            ctx.exit(1)
        except Exception as exc:
            _internal(ctx, exc)
        finally:
            if installed:
                signal.signal(signal.SIGTERM, previous)


def _internal(ctx: click.Context, exc: Exception) -> None:
    """A bug: say so plainly and exit 1; OPTVIZ_DEBUG=1 shows the traceback instead."""
    if os.environ.get("OPTVIZ_DEBUG"):
        raise exc
    say(f"internal error: {type(exc).__name__}: {exc} (set OPTVIZ_DEBUG=1 for a traceback and please report it)",
        err=True)
    ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="optviz")
def main() -> None:
    """Animate deep-learning optimizers racing across 2-D loss surfaces.

    \b
    Examples:
      optviz render configs/blog/adam-beale.yaml
      optviz trace configs/rosenbrock.yaml -o rosenbrock.csv
      optviz tune configs/blog/adam-beale.yaml --objective initial-speed
      optviz validate configs/
      optviz gallery configs -o outputs
      optviz list optimizers

    \b
    Shell completion (bash; use zsh or fish likewise):
      eval "$(_OPTVIZ_COMPLETE=bash_source optviz)"
    """


@main.command()
@click.argument("scenes", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", "out", type=click.Path(), help="Output file (one scene) or folder (several).")
@click.option("--format", "fmt", type=click.Choice(list(WRITERS)), help="Output format (default: from "
              "the output's extension, else gif). png writes the final frame.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Render this many scenes in parallel processes.")
@click.option("--scale", type=float, help="Resolution multiplier (overrides the scene's `scale`): text and lines "
              "scale along, e.g. 2 for print or high-DPI screens.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no 'wrote' lines.")
@plugin_option
@NO_LIMITS
def render(scenes: tuple[str, ...], out: str | None, fmt: str | None, jobs: int, scale: float | None,
           quiet: bool, plugins: tuple[str, ...], no_limits: bool) -> None:
    """Render SCENES (files or folders of .yaml) to animations.

    \b
    The output is -o, else the scene's `output` (relative to the scene file, and inside the folder being
    rendered or the current folder), else outputs/<scene name>.gif. Every scene and output is checked before
    anything renders; a scene that fails then is reported after the others are done.
    Examples:
      optviz render configs/blog/adam-beale.yaml
      optviz render configs/blog -j 2
      optviz render configs/rosenbrock.yaml --format png --scale 3 -o rosenbrock.png
      optviz render my-scene.yaml --plugin my_optimizers.py
    """
    # lazy: a command imports only what it uses, so `optviz --help` and completion stay fast
    from ..api import check_scale, render_file, render_scene, scene_sources

    check_scale(scale)
    limits = not no_limits
    sources = scene_sources(scenes)
    files = [f for f, _ in sources]
    loaded = _load_all(files, plugins, limits)   # every scene is validated before any rendering starts
    targets = _targets(loaded, sources, out, fmt, scale, limits)
    show_bar = not quiet and sys.stderr.isatty()
    failures: list[tuple[str, BaseException]] = []
    if jobs == 1 or len(loaded) == 1:
        _import_drawing()
        for file, scene, target in zip(files, loaded, targets):
            bar = _ProgressBar(scene.name) if show_bar else None
            try:
                path = render_scene(scene, target, fmt, bar, scale=scale, simulating=bar.simulating if bar else None,
                                    limits=limits)
            except SceneError as exc:   # the user's situation (a full disk): the other scenes still render
                failures.append((str(file), exc))
                continue
            finally:
                if bar:
                    bar.close()
            if not quiet:
                say(f"wrote {path}", err=True)
    else:
        calls = [(f, target, fmt, None, scale, plugins, limits) for f, target in zip(files, targets)]
        with worker_pool(min(jobs, len(calls))) as pool:  # scenes hold closures: workers load their own file
            for file, (path, error) in zip(files, outcomes(pool, render_file, calls)):
                if error is not None:
                    failures.append((str(file), error))
                elif not quiet:
                    say(f"wrote {path}", err=True)
    raise_failures(failures)


def _load_all(files: list[Path], plugins: tuple[str, ...], limits: bool) -> list:
    """Every scene, or one SceneErrors with the problems of all of them."""
    from ..scenes.load import load  # lazy: a command imports only what it uses

    loaded, problems = [], []
    for file in files:
        try:
            loaded.append(load(file, plugins, limits=limits))
        except SceneError as exc:
            problems.extend(problems_of(exc))
    if problems:
        raise SceneErrors(problems)
    return loaded


def _targets(loaded: list, sources: list[tuple[Path, Path]], out: str | None, fmt: str | None,
             scale: float | None, limits: bool) -> list[Path]:
    """Each scene's output, checked before any work: inside the folder being rendered (or the current one)
    unless -o says otherwise, a regular file or nothing yet, one its format can show the scene in, within
    budget at ``scale``, and no two scenes writing the same file."""
    from ..api import check_budget, check_output, output_path  # lazy: a command imports only what it uses

    several = len(loaded) > 1
    targets, problems = [], []
    writers: dict[str, list[str]] = {}
    for scene, (file, root) in zip(loaded, sources):
        try:
            target = output_path(scene, Path(out) / f"{scene.name}.{fmt or 'gif'}" if (out and several) else out,
                                 fmt, root=root)
            writers.setdefault(os.path.realpath(writable_target(target)), []).append(str(file))
            check_output(scene, target, fmt, scale, file=file)
            if limits:
                check_budget(scene, scale)
        except SceneError as exc:
            problems.extend(problems_of(exc))
            target = None
        targets.append(target)
    for real, files in writers.items():
        if len(files) > 1:
            problems.append(SceneError(f"{' and '.join(files)} would all write {os.path.relpath(real)}; render "
                                       "them separately or give each its own output", path="output"))
    if problems:
        raise SceneErrors(problems)
    return targets


class _ProgressBar:
    """One click progress bar on stderr for a scene: its simulation's steps (when there are many), then its
    frames, in the same line; created when the first total is known."""

    SIMULATION_SHOWN = 5_000      # steps below which a simulation is too quick to be worth a bar

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.phase = None

    def simulating(self, done: int, total: int) -> None:
        self._show("simulating", f"{self.label} (simulating)", done, total)

    def __call__(self, done: int, total: int) -> None:
        self._show("frames", self.label, done, total)

    def _show(self, phase: str, label: str, done: int, total: int) -> None:
        if self.bar is None:
            if phase == "simulating" and total < self.SIMULATION_SHOWN:
                return
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self.bar.__enter__()
        if phase != self.phase:            # the next phase restarts the same bar
            self.phase = phase
            self.bar.length, self.bar.pos, self.bar.label = total, 0, label
        self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@main.command()
@click.argument("scene", type=click.Path())
@click.option("-o", "--output", "out", type=click.Path(), help="Write here (.json or .csv); default: JSON on stdout.")
@plugin_option
@NO_LIMITS
def trace(scene: str, out: str | None, plugins: tuple[str, ...], no_limits: bool) -> None:
    """Compute SCENE's trajectories and write them as JSON or CSV.

    \b
    Each run has its label, optimizer, resolved hyperparameters, points (start, then one [x, y] per step),
    loss (one per point) and diverged_at (null or the step). A network scene's points are projections onto
    its plane (also exported), its losses real, and each point has off_plane and travelled (in weights).
    Examples:
      optviz trace configs/blog/adam-beale.yaml > adam.json
      optviz trace configs/rosenbrock.yaml -o rosenbrock.csv
    """
    # lazy: a command imports only what it uses, so `optviz --help` and completion stay fast
    from ..atomic import write_bytes_atomic
    from ..scenes.load import load
    from ..simulate import simulate
    from .export import to_csv, to_json

    fmt = "json"
    if out is not None:
        fmt = Path(out).suffix.lower().lstrip(".")
        if fmt not in ("json", "csv"):
            raise SceneError(f"trace writes .json or .csv, not '{Path(out).suffix or out}'", path="--output")
    loaded = load(scene, plugins, limits=not no_limits)
    if out is not None:
        writable_target(out)
    traj = simulate(loaded)
    text = to_csv(traj) if fmt == "csv" else to_json(traj)
    if out is None:
        click.echo(text, nl=False)
    else:
        write_bytes_atomic(out, text.encode())


@main.command()
@click.argument("scenes", nargs=-1, required=True, type=click.Path())
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
@plugin_option
@NO_LIMITS
def validate(scenes: tuple[str, ...], quiet: bool, plugins: tuple[str, ...], no_limits: bool) -> None:
    """Check SCENES (files or folders) and report every problem, one per line.

    \b
    A scene whose work exceeds the budget is a problem too, unless --no-limits.
    Exit code 0 when all are valid, 2 otherwise (also for a scene naming a torch optimizer whose package is not
    installed here), 1 if optviz itself failed on one (the others are still checked).
    Example:
      optviz validate configs/
    """
    # lazy: a command imports only what it uses, so `optviz --help` and completion stay fast
    from ..scenes.load import load
    from ..maths.torch_bridge import load_plugins

    load_plugins(plugins)
    bad = broken = 0
    for path in _each_scene(scenes):
        if isinstance(path, SceneError):    # a folder without scenes
            bad += 1
            say(f"error: {path}", err=True)
            continue
        try:
            load(path, limits=not no_limits)
        except SceneError as exc:
            bad += 1
            for line in str(exc).splitlines():
                say(f"error: {line}", err=True)
        except Exception as exc:  # a bug, in one file: the others are still checked
            broken += 1
            say(f"internal error: {path}: {type(exc).__name__}: {exc} (please report it)", err=True)
        else:
            if not quiet:
                say(f"ok: {path}")
    if bad or broken:
        raise click.exceptions.Exit(1 if broken else EXIT_BAD_INPUT)


def _each_scene(paths: tuple[str, ...]):
    """The scene files under each path, or the SceneError of a path that has none, in order."""
    from ..api import scene_files  # lazy: a command imports only what it uses

    for path in paths:
        try:
            yield from scene_files([path])
        except SceneError as exc:
            yield exc


@main.command("list")
@click.argument("what", type=click.Choice(["functions", "optimizers"]))
@click.option("--module", help="List the torch Optimizer classes this installed module (or plugin) offers, with "
              "their keywords, as a scene names them (module.Class).")
@plugin_option
def list_(what: str, module: str | None, plugins: tuple[str, ...]) -> None:
    """List the registered test functions or optimizers, with formulas, update rules and defaults.

    \b
    Examples:
      optviz list functions
      optviz list optimizers
      optviz list optimizers --module pytorch_optimizer
      optviz list optimizers --module torch.optim
    """
    # lazy: a command imports only what it uses, so `optviz --help` and completion stay fast
    from .catalog import describe_functions, describe_module, describe_optimizers
    from ..maths.torch_bridge import load_plugins

    if module is not None:
        if what != "optimizers":
            raise click.UsageError("--module lists optimizers: optviz list optimizers --module MODULE")
        load_plugins(plugins)
        say(describe_module(module))
        return
    click.echo(describe_functions() if what == "functions" else describe_optimizers())


@main.command()
@click.option("-o", "--output", "out", type=click.Path(), help="Write the schema here instead of stdout.")
def schema(out: str | None) -> None:
    """Print the scene format's JSON Schema (for editor completion and checks).

    \b
    Put this first line in a scene to get completion in editors using yaml-language-server:
      # yaml-language-server: $schema=../schema/scene.schema.json
    Example:
      optviz schema -o schema/scene.schema.json
    """
    # lazy: a command imports only what it uses, so `optviz --help` and completion stay fast
    from ..atomic import write_bytes_atomic
    from ..scenes.schema import schema_json

    text = schema_json()
    if out is None:
        click.echo(text, nl=False)
    else:
        write_bytes_atomic(out, text.encode())


@main.command()
@click.argument("scene", type=click.Path())
@click.option("-o", "--output", "out", type=click.Path(), help="Tuned scene (default: <scene>.tuned.yaml beside it).")
@click.option("--objective", type=click.Choice(["final-loss", "initial-speed"]), default="final-loss",
              show_default=True, help="final-loss: the run that settles lowest (worst loss over the last quarter, "
              "at the lr and twice it); initial-speed: every optimizer travels the same distance in its first k "
              "steps (the post's hand tuning). Either way a tuned run never leaves the view.")
@click.option("-k", "--k", "k", type=int, default=10, show_default=True, help="Steps for initial-speed.")
@click.option("--distance", type=float, help="Target distance for initial-speed (default: from the scene, the "
              "pace that would reach the nearest minimum in an eighth of the steps).")
@plugin_option
@NO_LIMITS
def tune(scene: str, out: str | None, objective: str, k: int, distance: float | None,
         plugins: tuple[str, ...], no_limits: bool) -> None:
    """Find a learning rate per optimizer and write a tuned copy of SCENE.

    \b
    Comments and order of the scene are kept; a comment records how each lr was found.
    Examples:
      optviz tune configs/blog/adam-beale.yaml
      optviz tune configs/rosenbrock.yaml --objective initial-speed -k 5 -o fair.yaml
    """
    # lazy: a command imports only what it uses, so `optviz --help` and completion stay fast
    from .tune import output_note, tune_file
    from ..maths.torch_bridge import load_plugins

    load_plugins(plugins)
    result = tune_file(scene, out, objective=objective, k=k, distance=distance, limits=not no_limits)
    say(result.table)
    if result.output is not None:
        say(f"wrote {result.output}", err=True)
        note = output_note(scene, result.output)
        if note:
            say(f"note: {note}", err=True)


@main.command()
@click.argument("folder", required=False, default="configs", type=click.Path())
@click.option("-o", "--output", "out", type=click.Path(), default="outputs", show_default=True,
              help="Folder for the animations and index.html.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Render this many scenes in parallel processes.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--force", is_flag=True, help="Re-render scenes even when their output is up to date.")
@plugin_option
@NO_LIMITS
def gallery(folder: str, out: str, jobs: int, quiet: bool, force: bool, plugins: tuple[str, ...],
            no_limits: bool) -> None:
    """Render every scene under FOLDER and write a gallery page, OUT/index.html.

    \b
    Scenes whose output is newer than the scene and this optviz version are skipped, and so, with a note on the
    page, are scenes naming torch optimizers whose package is not installed here. A scene that is a symlink to
    a file outside FOLDER is not published (its text would be on the page).
    Example:
      optviz gallery configs -o outputs -j 2
    """
    # lazy: a command imports only what it uses, so `optviz --help` and completion stay fast
    from .gallery import build_gallery

    result = build_gallery(folder, out, jobs=jobs, echo=None if quiet else say, force=force, plugins=plugins,
                           limits=not no_limits)
    if quiet:
        for note in result.notes:
            say(note, err=True)


if __name__ == "__main__":  # pragma: no cover
    entry()
