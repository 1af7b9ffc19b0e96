"""pre-commit: the hooks flowgen ships for users' projects, and flowgen's own configuration.

`.pre-commit-hooks.yaml` is what a project's `.pre-commit-config.yaml` refers to; each
hook's `entry` runs here in a subprocess on a copy of `specs/`, as pre-commit would run it
(with the staged `.flow` files appended unless `pass_filenames: false`).
"""

from __future__ import annotations

import importlib
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, SPECS, run_flowgen

pytestmark = pytest.mark.slow  # runs the pre-commit hooks in subprocesses

HOOKS = ROOT / ".pre-commit-hooks.yaml"
CONFIG = ROOT / ".pre-commit-config.yaml"
# What pre-commit's schema requires of a hook, and the languages used here.
REQUIRED = {"id", "name", "entry", "language"}


def hooks() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(HOOKS.read_text())
    assert isinstance(loaded, list) and loaded
    return loaded


def test_pre_commit_accepts_both_files() -> None:
    """pre-commit's own loaders validate the manifest and the configuration against its schema
    (pre-commit ships no type information, hence the untyped module)."""
    clientlib: Any = importlib.import_module("pre_commit.clientlib")
    assert [hook["id"] for hook in clientlib.load_manifest(str(HOOKS))] == [hook["id"] for hook in hooks()]
    assert clientlib.load_config(str(CONFIG))["repos"][0]["repo"] == "local"


def test_the_hooks_file_parses_and_names_the_three_checks() -> None:
    found = hooks()
    for hook in found:
        assert hook.keys() >= REQUIRED, hook
        assert hook["language"] == "python", "pre-commit installs flowgen from this repository"
        assert shlex.split(hook["entry"])[0] == "flowgen"
        re.compile(hook.get("files", ""))
    entries = {hook["entry"] for hook in found}
    assert {"flowgen check", "flowgen fmt --check", "flowgen generate --check"} <= entries
    assert len({hook["id"] for hook in found}) == len(found)


def _project(tmp_path: Path) -> Path:
    shutil.copytree(SPECS, tmp_path / "specs")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.flowgen]\nspecs = ["specs"]\nout = "generated"\ntargets = ["python", "asyncapi"]\n'
    )
    done = run_flowgen("generate", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp_path


def _run_hook(hook: dict[str, Any], project: Path) -> subprocess.CompletedProcess[str]:
    """The hook's entry with `flowgen` run from this checkout, given the files pre-commit would pass."""
    args = shlex.split(hook["entry"])[1:] + [str(a) for a in hook.get("args", [])]
    if hook.get("pass_filenames", True):
        pattern = re.compile(hook.get("files", ""))
        files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
        args += [f for f in files if pattern.search(f) and not f.startswith("generated/")]
    return run_flowgen(*args, cwd=project)


def test_each_hook_runs_cleanly_on_the_bundled_specs(tmp_path: Path) -> None:
    project = _project(tmp_path)
    for hook in hooks():
        if hook["entry"] == "flowgen fmt":
            continue  # rewrites files: the --check variant below proves the same specs
        done = _run_hook(hook, project)
        assert done.returncode == 0, f"{hook['id']}: {done.stdout}{done.stderr}"


def test_the_hooks_fail_on_what_they_guard(tmp_path: Path) -> None:
    project = _project(tmp_path)
    spec = project / "specs" / "checkout.flow"
    spec.write_text(spec.read_text().replace("event OrderPlaced {", "event   OrderPlaced {", 1))
    by_id = {hook["id"]: hook for hook in hooks()}
    assert _run_hook(by_id["flowgen-fmt-check"], project).returncode == 1
    spec.write_text(spec.read_text() + "\nevent Unused { id: uuid }\nservice Lonely { publishes Unused }\n")
    assert _run_hook(by_id["flowgen-generate-check"], project).returncode == 1
    spec.write_text(spec.read_text() + "\nevent Broken { id: uuidd }\n")
    assert _run_hook(by_id["flowgen-check"], project).returncode == 1


def test_flowgens_own_configuration_runs_its_tools() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    local = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {hook["id"] for hook in local} == {"ruff", "black", "mypy", "flowgen-check"}
    for hook in local:
        argv = shlex.split(hook["entry"])
        assert argv[:2] == ["python", "-m"], hook
        module = argv[2]
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)",
            ],
            cwd=ROOT,
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 0, f"{hook['id']}: `{module}` is not installed"
    flowgen_check = next(h for h in local if h["id"] == "flowgen-check")
    checked = run_flowgen(*shlex.split(flowgen_check["entry"])[3:], cwd=ROOT)
    assert checked.returncode == 0, checked.stdout + checked.stderr
