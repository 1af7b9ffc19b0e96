"""`generate` as an adversary would run it (issue 11): colliding flows, leftovers of a
killed run, links, hostile file names and devices that fill up. Each test is the
reproducer of a failure the audit found."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SKETCH, Runner

pytestmark = pytest.mark.slow  # runs and kills the flowgen command in subprocesses

PYTHON = ("--target", "python")


def small(name: str) -> str:
    return f"flow {name} version 1.0.0\n\nevent Placed {{\n  id: uuid\n}}\n\nexternal Shop {{\n  publishes Placed\n}}\n"


@pytest.mark.parametrize(
    ("first", "second"),
    [("OrderDesk", "order_desk"), ("orders", "orders"), ("Orders", "orders")],
    ids=["one-folder", "one-flow-name", "case-only"],
)
def test_colliding_flows_are_a_diagnostic_before_anything_is_written(
    first: str, second: str, flowgen: Runner, tmp_path: Path
) -> None:
    (tmp_path / "a.flow").write_text(small(first))
    (tmp_path / "b.flow").write_text(small(second))
    result = flowgen("generate", "a.flow", "b.flow", "--out", "out", *PYTHON, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "b.flow:1:1: error[FLOW023]" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_leftovers_of_a_killed_run_are_listed_by_check_and_removed_by_a_run(flowgen: Runner, tmp_path: Path) -> None:
    spec = tmp_path / "checkout.flow"
    spec.write_text(SKETCH.read_text())
    args = ("generate", "checkout.flow", "--out", "out", *PYTHON)
    assert flowgen(*args, cwd=tmp_path).returncode == 0
    assert flowgen(*args, "--check", cwd=tmp_path).returncode == 0
    leftover = tmp_path / "out/python/checkout/.models.py.x7y8z9ab.flowgen-tmp"
    leftover.write_text("half a file")
    check = flowgen(*args, "--check", cwd=tmp_path)
    assert check.returncode == 1 and "models.py.x7y8z9ab.flowgen-tmp (delete" in check.stdout
    assert flowgen(*args, cwd=tmp_path).returncode == 0
    assert not leftover.exists()
    assert flowgen(*args, "--check", cwd=tmp_path).returncode == 0


def test_renaming_a_flow_removes_its_old_outputs(flowgen: Runner, tmp_path: Path) -> None:
    spec = tmp_path / "shop.flow"
    spec.write_text(small("orders"))
    assert flowgen("generate", "shop.flow", "--out", "out", *PYTHON, cwd=tmp_path).returncode == 0
    spec.write_text(small("ordering"))
    result = flowgen("generate", "shop.flow", "--out", "out", *PYTHON, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "out/python/orders/models.py").exists()
    assert (tmp_path / "out/python/ordering/models.py").exists()
    assert sorted(p.name for p in (tmp_path / "out/.flowgen").iterdir()) == ["ordering.json"]


def test_an_out_folder_that_is_a_loop_of_links_is_an_error_not_a_traceback(flowgen: Runner, tmp_path: Path) -> None:
    (tmp_path / "shop.flow").write_text(small("shop"))
    (tmp_path / "out").symlink_to(tmp_path / "out")
    for out in ("out", "out/below"):
        result = flowgen("generate", "shop.flow", "--out", out, *PYTHON, cwd=tmp_path)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert "symbolic links" in result.stderr


def test_a_generated_file_linked_to_a_user_file_is_a_conflict(flowgen: Runner, tmp_path: Path) -> None:
    (tmp_path / "checkout.flow").write_text(SKETCH.read_text())
    args = ("generate", "checkout.flow", "--out", "out", *PYTHON)
    assert flowgen(*args, cwd=tmp_path).returncode == 0
    pkg = tmp_path / "out/python/checkout"
    mine = pkg / "services/orders.py"
    mine.write_text(mine.read_text() + "# my code\n")
    before = mine.read_text()
    (pkg / "handlers/orders.py").unlink()
    (pkg / "handlers/orders.py").symlink_to(mine)
    result = flowgen(*args, cwd=tmp_path)
    assert "handlers/orders.py: " in result.stderr and "symbolic link" in result.stderr
    assert mine.read_text() == before
    assert flowgen(*args, "--check", cwd=tmp_path).returncode == 1


def test_a_spec_file_name_cannot_put_code_in_a_generated_header(flowgen: Runner, tmp_path: Path) -> None:
    name = 'x\nimport os; os.system("touch PWNED")\n\u2028# .flow'
    (tmp_path / name).write_text(small("shop"))
    result = flowgen("generate", name, "--out", "out", cwd=tmp_path)
    if "dot" in result.stderr and result.returncode:  # no Graphviz here: the other targets suffice
        result = flowgen(
            "generate", name, "--out", "out", "-t", "python", "-t", "asyncapi", "-t", "cloudformation", cwd=tmp_path
        )
    assert result.returncode == 0, result.stderr
    models = tmp_path / "out/python/shop/models.py"
    header = models.read_text().splitlines()[:3]
    assert any("\\nimport os" in line and line.startswith("#") for line in header), header
    spec = importlib.util.spec_from_file_location("shop_models", models)
    assert spec is not None
    subprocess.run([sys.executable, "-c", f"import runpy; runpy.run_path({str(models)!r})"], cwd=tmp_path, check=True)
    assert not (tmp_path / "PWNED").exists()
    asyncapi = (tmp_path / "out/asyncapi/shop.asyncapi.yaml").read_text()
    assert asyncapi.splitlines()[0].startswith("# Generated by flowgen from x\\nimport os")
    template = json.loads((tmp_path / "out/infra/shop/template.json").read_text())
    assert "PWNED" in json.dumps(template)  # kept as data, in a JSON string
    for page in (tmp_path / "out").rglob("*.html"):
        head = page.read_text().split("-->", 1)[0]
        assert "\n" not in head.removeprefix("<!DOCTYPE html>\n").rstrip("\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
def test_output_to_a_full_device_is_an_error_and_leaves_no_temporary(flowgen: Runner, tmp_path: Path) -> None:
    (tmp_path / "checkout.flow").write_text(SKETCH.read_text())
    out = tmp_path / "out"
    out.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(out)], capture_output=True).returncode:
        pytest.skip("tmpfs cannot be mounted here")
    try:
        (out / "filler").write_bytes(b"x" * 40_000)
        result = flowgen("generate", "checkout.flow", "--out", "out", *PYTHON, cwd=tmp_path)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert "No space left on device" in result.stderr
        assert [p.name for p in out.rglob("*") if p.is_file()] == ["filler"]
    finally:
        subprocess.run(["umount", str(out)], check=False)


def test_the_readme_promises_name_tests_that_exist() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    promises = readme.split("## Promises, and the tests that hold them", 1)[1].split("\n## ", 1)[0]
    for promise in ("Never loses your code", "Stays inside the output folder", "Never a traceback"):
        assert f"**{promise}" in promises
    named = set(re.findall(r"`(tests/test_\w+\.py)`", promises))
    assert len(named) >= 10
    for test in named:
        assert (Path(__file__).resolve().parent.parent / test).is_file(), test


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [["check", "specs"], ["fmt", "--check", "specs"], ["trace", "specs/checkout.flow", "Orders"]],
    ids=lambda a: a[0],
)
def test_output_to_a_full_device_is_one_line_not_a_traceback(args: list[str]) -> None:
    root = Path(__file__).resolve().parent.parent
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "flowgen_design", *args],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "flowgen: error: cannot write the output: No space left on device"


def test_an_edit_saved_during_generate_survives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reproducer: the spec gains a handler (so the user's module gets a merge), and the
    user saves that module while `generate` is writing. Their save wins, every time."""
    from flowgen_design.cli import main
    from flowgen_design.codegen import writer

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLOWGEN_CACHE_DIR", str(tmp_path / "cache"))
    spec = tmp_path / "checkout.flow"
    spec.write_text(SKETCH.read_text())
    assert main(["generate", "checkout.flow", "--out", "out", *PYTHON]) == 0
    mine = tmp_path / "out/python/checkout/services/orders.py"
    text = SKETCH.read_text()
    spec.write_text(text.replace("service Orders {", "service Orders {\n  on OrderConfirmed -> audit", 1))
    saved = mine.read_text() + "\n# saved while generate ran\n"
    real_stage = writer._stage

    def stage_and_save(out_dir: Path, rel: object, data: bytes) -> Path:
        if not mine.read_text().endswith("ran\n"):
            mine.write_text(saved)
        return real_stage(out_dir, rel, data)  # type: ignore[arg-type]

    monkeypatch.setattr(writer, "_stage", stage_and_save)
    assert main(["generate", "checkout.flow", "--out", "out", *PYTHON]) == 1
    assert mine.read_text() == saved
    assert "services/orders.py: changed on disk while flowgen was running" in capsys.readouterr().err
    monkeypatch.setattr(writer, "_stage", real_stage)
    assert main(["generate", "checkout.flow", "--out", "out", *PYTHON]) == 0
    assert "def audit" in mine.read_text() and "# saved while generate ran" in mine.read_text()
