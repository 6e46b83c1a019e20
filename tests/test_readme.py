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

from optviz.catalog import fill_readme
from optviz.load import scene_from_data
from optviz.source import parse_yaml

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
    assert proc.returncode == 0, proc.stderr
    if "-o" in args:
        target = workdir / args[args.index("-o") + 1]
        assert target.exists() and (target.is_dir() or target.stat().st_size > 0)


def test_benchmark_command_names_a_real_script():
    for body in blocks("console"):
        for line in body.splitlines():
            if line.startswith("python "):
                assert (ROOT / shlex.split(line)[1]).exists(), line


@pytest.mark.parametrize("code", blocks("python"))
def test_python_blocks_run(workdir, code):
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


@pytest.mark.parametrize("text", blocks("yaml"))
def test_yaml_blocks_are_valid_scenes(text):
    if all(line.startswith("#") for line in text.strip().splitlines()):
        assert "yaml-language-server: $schema=" in text
        return
    data, lines = parse_yaml(text)
    scene_from_data(data, lines=lines, file="README.md")
