"""The README is the front page: its commands run, its code runs, its scenes load, its tables are current."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from optviz.commands.catalog import fill_readme
from optviz.errors import MissingDependency, SceneError, problems_of
from optviz.networks.spec import torch_available
from optviz.scenes.load import scene_from_data
from optviz.scenes.source import parse_yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)
OPTVIZ = shutil.which("optviz") or str(Path(sys.executable).with_name("optviz"))


def blocks(lang: str) -> list[str]:
    return [body for kind, body in BLOCKS if kind == lang]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_two_newcomer_commands_are_what_ci_runs():
    install, tests = blocks("bash")[:2]
    assert "pip install -e ." in install and "optviz render configs/blog/adam-beale.yaml" in install
    assert tests.strip() in (ROOT / ".ci" / "run").read_text()
    assert (ROOT / "configs/blog/adam-beale.yaml").exists()


def test_tables_are_generated_from_the_registries():
    assert fill_readme(README) == README, "README tables are stale: run python scripts/update_readme.py"


def test_gallery_images_exist_and_are_small():
    images = re.findall(r"\]\((outputs/[\w.-]+\.gif)\)", README)
    assert len(images) >= 7
    for image in images:
        path = ROOT / image
        assert path.exists(), image
        assert path.stat().st_size < 1_000_000, image


COMMANDS = [line.split("  #")[0].strip() for body in blocks("console") for line in body.splitlines()
            if line.startswith("optviz ")]


@pytest.mark.parametrize("command", COMMANDS)
def test_console_commands_run(workdir, command):
    args = shlex.split(command)
    proc = subprocess.run([OPTVIZ, *args[1:]], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    if proc.returncode == 2 and errors and all("pip install" in line for line in errors):
        pytest.skip(f"needs what is not installed here: {errors[0]}")  # CI installs torch and pytorch-optimizer
    assert proc.returncode == 0, proc.stderr
    if "-o" in args:
        target = workdir / args[args.index("-o") + 1]
        assert target.exists() and (target.is_dir() or target.stat().st_size > 0)


BENCHMARKS = [line for body in blocks("console") for line in body.splitlines() if line.startswith("python ")]


@pytest.mark.parametrize("command", BENCHMARKS)
def test_benchmark_commands_run_and_print_ratios(command):
    """Runs each benchmark once (no timing is asserted: the numbers are for people to read)."""
    args = shlex.split(command)[1:]
    if args[0].endswith(("bench_render.py", "bench_runs.py", "bench_bridge.py")):
        args.append("--repeat=1")
    if args[0].endswith("bench_simulate.py"):
        args += ["--steps=1000", "--repeat=1"]
    if args[0].endswith(("bench_network.py", "bench_bridge.py")) and not torch_available():
        pytest.skip("this benchmark needs torch, which is not installed here")
    if args[0].endswith("bench_network.py"):
        args.append("--quick")
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stderr
    assert "ratio:" in proc.stdout


@pytest.mark.parametrize("code", blocks("python"))
def test_python_blocks_run(workdir, code):
    if "import torch" in code:
        pytest.importorskip("torch", reason="this block is a torch optimizer plugin (CI installs torch)")
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


@pytest.mark.parametrize("text", blocks("yaml"))
def test_yaml_blocks_are_valid_scenes(text):
    if all(line.startswith("#") for line in text.strip().splitlines()):
        assert "yaml-language-server: $schema=" in text
        return
    data, lines = parse_yaml(text)
    try:
        scene_from_data(data, lines=lines, file="README.md")
    except SceneError as exc:     # CI installs torch and pytorch-optimizer; elsewhere say what is missing
        if not all(isinstance(p, MissingDependency) for p in problems_of(exc)):
            raise
        pytest.skip(str(exc))
