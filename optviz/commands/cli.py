"""The `optviz` command: parses arguments and calls into the same flow as the Python API."""
from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import click

from .._version import __version__
from ..draw.writers import WRITERS
from ..errors import SceneError

EXIT_BAD_INPUT = 2

plugin_option = click.option(
    "--plugin", "plugins", multiple=True, type=click.Path(dir_okay=False),
    help="A Python file whose torch Optimizer subclasses scenes may name (name: my_optimizers.MyAdam); repeatable. "
         "A scene alone never imports a local file.")


class _Group(click.Group):
    """Turns user errors into one line and exit 2, and anything unexpected into one line and exit 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SceneError as exc:
            for line in str(exc).splitlines():
                click.echo(f"error: {line}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug: say so plainly; OPTVIZ_DEBUG=1 shows the traceback
            if os.environ.get("OPTVIZ_DEBUG"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc} (set OPTVIZ_DEBUG=1 for a traceback "
                       "and please report it)", err=True)
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
def render(scenes: tuple[str, ...], out: str | None, fmt: str | None, jobs: int, scale: float | None,
           quiet: bool, plugins: tuple[str, ...]) -> None:
    """Render SCENES (files or folders of .yaml) to animations.

    \b
    The output is -o, else the scene's `output`, else outputs/<scene name>.gif.
    Examples:
      optviz render configs/blog/adam-beale.yaml
      optviz render configs/blog -j 2
      optviz render configs/rosenbrock.yaml --format png --scale 3 -o rosenbrock.png
      optviz render my-scene.yaml --plugin my_optimizers.py
    """
    # lazy: a command imports only what it uses, so `optviz --help` and completion stay fast
    from ..api import check_output, check_scale, output_path, render_file, render_scene, scene_files
    from ..scenes.load import load

    check_scale(scale)
    files = scene_files(scenes)
    loaded = [load(f, plugins) for f in files]  # every scene is validated before any rendering starts
    several = len(loaded) > 1
    targets = [output_path(s, Path(out) / f"{s.name}.{fmt or 'gif'}" if (out and several) else out, fmt)
               for s in loaded]
    for f, s, target in zip(files, loaded, targets):
        check_output(s, target, fmt, scale, file=f)
    show_bar = not quiet and sys.stderr.isatty()
    if jobs == 1 or not several:
        for scene, target in zip(loaded, targets):
            bar = _ProgressBar(scene.name) if show_bar else None
            try:
                path = render_scene(scene, target, fmt, bar, scale=scale, simulating=bar.simulating if bar else None)
            finally:
                if bar:
                    bar.close()
            if not quiet:
                click.echo(f"wrote {path}", err=True)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:  # scenes hold closures: workers load their own file
        futures = [pool.submit(render_file, f, target, fmt, scale=scale, plugins=plugins)
                   for f, target in zip(files, targets)]
        for future in futures:
            path = future.result()
            if not quiet:
                click.echo(f"wrote {path}", err=True)


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
def trace(scene: str, out: str | None, plugins: tuple[str, ...]) -> None:
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
    traj = simulate(load(scene, plugins))
    text = to_csv(traj) if fmt == "csv" else to_json(traj)
    if out is None:
        click.echo(text, nl=False)
    else:
        write_bytes_atomic(out, text.encode())


@main.command()
@click.argument("scenes", nargs=-1, required=True, type=click.Path())
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
@plugin_option
def validate(scenes: tuple[str, ...], quiet: bool, plugins: tuple[str, ...]) -> None:
    """Check SCENES (files or folders) and report every problem, one per line.

    \b
    Exit code 0 when all are valid, 2 otherwise (also for a scene naming a torch optimizer whose package is not
    installed here).
    Example:
      optviz validate configs/
    """
    # lazy: a command imports only what it uses, so `optviz --help` and completion stay fast
    from ..api import scene_files
    from ..scenes.load import load
    from ..maths.torch_bridge import load_plugins

    load_plugins(plugins)
    bad = 0
    for path in scene_files(scenes):
        try:
            load(path)
        except SceneError as exc:
            bad += 1
            for line in str(exc).splitlines():
                click.echo(f"error: {line}", err=True)
        else:
            if not quiet:
                click.echo(f"ok: {path}")
    if bad:
        raise click.exceptions.Exit(EXIT_BAD_INPUT)


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
        click.echo(describe_module(module))
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
def tune(scene: str, out: str | None, objective: str, k: int, distance: float | None,
         plugins: tuple[str, ...]) -> None:
    """Find a learning rate per optimizer and write a tuned copy of SCENE.

    \b
    Comments and order of the scene are kept; a comment records how each lr was found.
    Examples:
      optviz tune configs/blog/adam-beale.yaml
      optviz tune configs/rosenbrock.yaml --objective initial-speed -k 5 -o fair.yaml
    """
    # lazy: a command imports only what it uses, so `optviz --help` and completion stay fast
    from ..scenes.load import load
    from .tune import tune_file
    from ..maths.torch_bridge import load_plugins

    load_plugins(plugins)
    result = tune_file(scene, out, objective=objective, k=k, distance=distance)
    click.echo(result.table)
    if result.output is not None:
        click.echo(f"wrote {result.output}", err=True)
        shared = load(scene).output
        if shared is not None and load(result.output).output == shared:
            click.echo(f"note: the tuned scene renders to the same file as the original ({shared}); "
                       "change its `output:` to keep both", err=True)


@main.command()
@click.argument("folder", required=False, default="configs", type=click.Path())
@click.option("-o", "--output", "out", type=click.Path(), default="outputs", show_default=True,
              help="Folder for the animations and index.html.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Render this many scenes in parallel processes.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--force", is_flag=True, help="Re-render scenes even when their output is up to date.")
@plugin_option
def gallery(folder: str, out: str, jobs: int, quiet: bool, force: bool, plugins: tuple[str, ...]) -> None:
    """Render every scene under FOLDER and write a gallery page, OUT/index.html.

    \b
    Scenes whose output is newer than the scene and this optviz version are skipped, and so, with a note on the
    page, are scenes naming torch optimizers whose package is not installed here.
    Example:
      optviz gallery configs -o outputs -j 2
    """
    # lazy: a command imports only what it uses, so `optviz --help` and completion stay fast
    from .gallery import build_gallery

    build_gallery(folder, out, jobs=jobs, echo=None if quiet else click.echo, force=force, plugins=plugins)


if __name__ == "__main__":  # pragma: no cover
    main()
