"""Regenerating after the user wrote code and the spec changed: the user's bytes survive.

The scenario runs the real `flowgen generate` command like a user: generate,
implement, change the spec (a handler gained, then lost), `--check`, generate again.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import SKETCH, Runner
from tests.pytarget import run_mypy, tree

pytestmark = pytest.mark.slow  # runs the flowgen command and black in subprocesses

SERVICE = Path("python/checkout/services/inventory.py")

# The user's implementation of Inventory, with their own helper, comments and imports.
IMPLEMENTATION = '''"""Inventory, as our team implements it."""

from __future__ import annotations

from collections.abc import Sequence

from typing_extensions import override

from checkout import models
from checkout.handlers.inventory import InventoryHandlers

# Stock levels live in memory for this example.
STOCK = {"apple": 3}


class InventoryService(InventoryHandlers):
    """Our inventory."""

    def _available(self, items: Sequence[models.LineItem]) -> bool:
        return all(STOCK.get(item.sku, 0) >= item.quantity for item in items)

    @override
    def reserve_stock(self, command: models.ReserveStock) -> models.StockReserved | models.OutOfStock:
        if self._available(command.items):
            return models.StockReserved(order_id=command.order_id)
        return models.OutOfStock(order_id=command.order_id)

    @override
    def release_stock(self, command: models.ReleaseStock) -> models.StockReleased:
        return models.StockReleased(order_id=command.order_id)  # nothing to undo in memory


def helper_after_the_class() -> int:
    return len(STOCK)
'''

GAINED = """
event StockCounted { sku: string  count: int  key sku }
command CountStock { sku: string } -> StockCounted
"""


def gain_handler(spec: Path) -> None:
    text = spec.read_text().replace("command ReserveStock", GAINED.strip() + "\ncommand ReserveStock", 1)
    text = text.replace(
        "handles ReleaseStock { use standard  idempotent by order_id }",
        "handles ReleaseStock { use standard  idempotent by order_id }\n  handles CountStock { use standard  idempotent by sku }",
    )
    spec.write_text(text)


@pytest.fixture
def project(tmp_path: Path, flowgen: Runner) -> Path:
    """A copy of the sketch, generated once, with the user's Inventory implementation in place."""
    (tmp_path / "checkout.flow").write_text(SKETCH.read_text())
    result = flowgen("generate", "checkout.flow", "--out", "out", "--target", "python", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (tmp_path / "out" / SERVICE).write_text(IMPLEMENTATION)
    return tmp_path


def generate(flowgen: Runner, project: Path, *extra: str) -> tuple[int, str, str]:
    result = flowgen("generate", "checkout.flow", "--out", "out", "--target", "python", *extra, cwd=project)
    return result.returncode, result.stdout, result.stderr


def mtimes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in sorted(root.rglob("*")) if p.is_file()}


def test_noop_generate_touches_nothing(project: Path, flowgen: Runner) -> None:
    before, stamps = tree(project / "out"), mtimes(project / "out")
    code, out, err = generate(flowgen, project)
    assert code == 0, err
    assert "create" not in out and "update" not in out and "merge" not in out
    assert tree(project / "out") == before and mtimes(project / "out") == stamps
    code, out, _ = generate(flowgen, project, "--check")
    assert (code, out.strip()) == (0, "generated files are up to date")


def test_spec_gains_a_handler(project: Path, flowgen: Runner) -> None:
    gain_handler(project / "checkout.flow")
    code, out, err = generate(flowgen, project, "--check")
    assert code == 1
    stale = sorted(re.findall(r"^stale: out/(\S+)", out, flags=re.M))
    assert stale == ["python/checkout/handlers/inventory.py", "python/checkout/models.py", str(SERVICE)]
    assert "1 file(s)" not in err and "3 file(s) out of date" in err

    code, out, err = generate(flowgen, project)
    assert code == 0, err
    merged = (project / "out" / SERVICE).read_text()
    # Every byte the user wrote is still there, in order; only the stub was inserted, at the class end.
    at = merged.index("\n    @override\n    def count_stock(")
    added = merged[at : at + len(merged) - len(IMPLEMENTATION)]
    assert merged[:at] + merged[at + len(added) :] == IMPLEMENTATION
    assert at == IMPLEMENTATION.index("\n\n\ndef helper_after_the_class") + 1
    assert [line.strip() for line in added.strip().splitlines()] == [
        "@override",
        "def count_stock(self, command: models.CountStock) -> models.StockCounted:",
        'raise NotImplementedError("Inventory.count_stock: implement this handler")',
    ]
    assert f"merge out/{SERVICE}" in " ".join(out.split())

    code, out, _ = generate(flowgen, project, "--check")
    assert code == 0, out
    result = run_mypy(project / "out" / "python")
    assert result.returncode == 0, result.stdout


def test_spec_loses_a_handler(project: Path, flowgen: Runner) -> None:
    spec = project / "checkout.flow"
    gain_handler(spec)
    assert generate(flowgen, project)[0] == 0
    implemented = (project / "out" / SERVICE).read_text()
    spec.write_text(SKETCH.read_text())  # CountStock leaves the spec again

    code, out, _ = generate(flowgen, project, "--check")
    assert code == 1 and f"out/{SERVICE}" not in out  # the user's file is not stale: nothing to add
    code, out, err = generate(flowgen, project)
    assert code == 0, err
    assert (project / "out" / SERVICE).read_text() == implemented
    line = next(i for i, text in enumerate(implemented.splitlines(), 1) if "def count_stock(" in text)
    assert re.search(
        rf"^warning: out/{re.escape(str(SERVICE))}:{line}: `count_stock` is no longer a handler of `Inventory`",
        err,
        flags=re.M,
    ), err
    assert "class CountStock" not in (project / "out/python/checkout/models.py").read_text()
    # mypy agrees: the orphan's @override no longer overrides anything.
    result = run_mypy(project / "out" / "python")
    assert result.returncode == 1
    where = f"{SERVICE.relative_to('python')}:{line}: error: "
    assert f'{where}Method "count_stock" is marked as an override, but no base method was found' in result.stdout


def test_user_file_that_cannot_be_merged_gets_instructions(project: Path, flowgen: Runner) -> None:
    path = project / "out" / SERVICE
    renamed = IMPLEMENTATION.replace("class InventoryService(", "class MyInventory(")
    path.write_text(renamed)
    gain_handler(project / "checkout.flow")
    code, out, err = generate(flowgen, project)
    assert code == 0
    assert path.read_text() == renamed
    assert "cannot add handler stubs" in err and "no top-level class `InventoryService`" in err
    assert "def count_stock(self, command: models.CountStock) -> models.StockCounted:" in err
    code, out, err = generate(flowgen, project, "--check")
    assert code == 1 and f"stale: out/{SERVICE} (conflict" in out


def test_deleted_user_file_is_created_again(project: Path, flowgen: Runner) -> None:
    (project / "out" / SERVICE).unlink()
    code, out, _err = generate(flowgen, project)
    assert code == 0 and f"create out/{SERVICE}" in " ".join(out.split())
    assert "raise NotImplementedError" in (project / "out" / SERVICE).read_text()


def test_edited_generated_file_is_restored_and_check_catches_it(project: Path, flowgen: Runner) -> None:
    models = project / "out/python/checkout/models.py"
    original = models.read_bytes()
    models.write_text(models.read_text() + "\nHACK = 1\n")
    code, out, _ = generate(flowgen, project, "--check")
    assert code == 1 and "stale: out/python/checkout/models.py (update)" in out
    assert generate(flowgen, project)[0] == 0
    assert models.read_bytes() == original


def test_output_is_identical_across_hash_seeds(tmp_path: Path, flowgen: Runner) -> None:
    """Each seed generates in a fresh subprocess, from the same folder and spec names."""
    from tests.pytarget import EDGES

    for spec in (SKETCH, EDGES):
        (tmp_path / spec.name).write_text(spec.read_text())
    trees = []
    for seed in ("0", "1", "4242"):
        os.environ["PYTHONHASHSEED"] = seed
        try:
            result = flowgen(
                "generate", SKETCH.name, EDGES.name, "--out", f"out-{seed}", "--target", "python", cwd=tmp_path
            )
        finally:
            del os.environ["PYTHONHASHSEED"]
        assert result.returncode == 0, result.stderr
        trees.append(tree(tmp_path / f"out-{seed}"))
    assert trees[0] and trees[0] == trees[1] == trees[2]


def test_spec_loses_a_service(tmp_path: Path, flowgen: Runner) -> None:
    """Its interface is deleted; the user's implementation stays, with a warning on every run."""
    from tests.pytarget import EDGES

    spec = tmp_path / "edges.flow"
    spec.write_text(EDGES.read_text())
    args = ("generate", "edges.flow", "--out", "out", "--target", "python")
    assert flowgen(*args, cwd=tmp_path).returncode == 0
    package = tmp_path / "out/python/python_edges"
    (package / "services/empty.py").write_text("# our notes\n")
    spec.write_text(EDGES.read_text().replace("service Empty {\n}\n", ""))
    for _ in range(2):
        result = flowgen(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert not (package / "handlers/empty.py").exists()
        assert (package / "services/empty.py").read_text() == "# our notes\n"
        assert (
            "warning: out/python/python_edges/services/empty.py: the spec no longer has what this file implements"
            in result.stderr
        )
