"""What `pip install` puts on a user's machine: one import namespace of our own (`flowgen_design`),
nothing else at the top level, and a working `flowgen` command."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT, SPECS

pytestmark = pytest.mark.slow

SOURCE_FOLDERS = {"flowgen_design": "flowgen_design", "grammar": "grammar", "dsl": "dsl", "codegen": "codegen"}


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_source_package_is_listed_for_the_build() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]  # type: ignore[index]
    listed = set(setuptools["packages"])
    found = {"flowgen_design"}
    for folder in ("grammar", "dsl", "codegen"):
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT).as_posix().replace("/", ".")
            found.add(f"flowgen_design.{relative}")
    assert listed == found


def test_install_puts_one_namespace_on_the_path_and_the_command_works(tmp_path: Path) -> None:
    target = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    top_level = {p.name for p in target.iterdir() if not p.name.endswith(".dist-info") and p.name != "bin"}
    assert top_level == {"flowgen_design"}
    installed = {
        p.relative_to(target / "flowgen_design").as_posix()
        for p in (target / "flowgen_design").rglob("*")
        if p.is_file()
    }
    assert "grammar/flow.lark" in installed
    assert "cli.py" in installed and "dsl/parser.py" in installed and "codegen/writer.py" in installed
    # Run the installed copy from outside the checkout, so nothing of the source tree is importable.
    env = {**os.environ, "PYTHONPATH": str(target)}
    check = subprocess.run(
        [sys.executable, "-m", "flowgen_design", "check", str(SPECS)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "0 errors" in check.stdout
    imported = subprocess.run(
        [sys.executable, "-c", "import flowgen_design.dsl.parser as p; print(p.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.stdout.strip().startswith(str(target)), imported.stdout + imported.stderr
