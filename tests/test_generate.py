"""`flowgen generate` as a user runs it: `--check`, `[tool.flowgen]` configuration, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SKETCH, Runner
from tests.pytarget import tree

pytestmark = pytest.mark.slow  # runs the flowgen command in subprocesses


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "checkout.flow").write_text(SKETCH.read_text())
    return tmp_path


def test_check_lists_what_is_stale_and_passes_after_generating(project: Path, flowgen: Runner) -> None:
    args = ("generate", "specs", "--out", "gen", "--target", "python")
    first = flowgen(*args, "--check", cwd=project)
    assert first.returncode == 1
    stale = [line for line in first.stdout.splitlines() if line.startswith("stale: ")]
    assert "stale: gen/python/checkout/models.py (create)" in stale and len(stale) == 15
    assert f"{len(stale)} file(s) out of date: run `flowgen generate`" in first.stderr
    assert not (project / "gen").exists()  # --check writes nothing
    assert flowgen(*args, cwd=project).returncode == 0
    second = flowgen(*args, "--check", cwd=project)
    assert (second.returncode, second.stdout.strip()) == (0, "generated files are up to date")
    (project / "specs" / "checkout.flow").write_text(
        SKETCH.read_text().replace("reason: string", "reason: string  code: int?", 1)
    )
    third = flowgen(*args, "--check", cwd=project)
    assert third.returncode == 1 and third.stdout.splitlines() == ["stale: gen/python/checkout/models.py (update)"]


def test_configuration_from_pyproject(project: Path, flowgen: Runner) -> None:
    (project / "pyproject.toml").write_text('[tool.flowgen]\nspecs = ["specs"]\nout = "gen"\ntargets = ["python"]\n')
    (project / "sub").mkdir()
    result = flowgen("generate", cwd=project / "sub")  # found by walking up; paths relative to pyproject.toml
    assert result.returncode == 0, result.stderr
    assert (project / "gen/python/checkout/models.py").is_file() and not (project / "sub/gen").exists()
    assert sorted(p.name for p in (project / "gen").iterdir()) == [".flowgen", "python"]  # only the configured target
    assert flowgen("generate", "--check", cwd=project).returncode == 0


def test_command_line_overrides_configuration(project: Path, flowgen: Runner) -> None:
    (project / "pyproject.toml").write_text('[tool.flowgen]\nspecs = "specs"\nout = "gen"\ntargets = ["python"]\n')
    result = flowgen("generate", "--out", "elsewhere", cwd=project)
    assert result.returncode == 0, result.stderr
    assert (project / "elsewhere/python/checkout/models.py").is_file() and not (project / "gen").exists()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[tool.flowgen]\nspecs = 3\n", "[tool.flowgen] specs must be a list of strings"),
        ('[tool.flowgen]\nspecs = ["specs"]\nout = 1\n', "[tool.flowgen] out must be a string"),
        ('[tool.flowgen]\nspecs = ["specs"]\ntargets = [1]\n', "[tool.flowgen] targets must be a list of strings"),
        ("[tool.flowgen\n", "cannot read"),
        ('[tool]\nflowgen = "x"\n', "[tool.flowgen] must be a table"),
        ('[tool.flowgen]\nspecs = ["nowhere"]\nout = "gen"\n', "no such file or folder"),
        ('[tool.flowgen]\nspecs = ["specs"]\n', "no output folder"),
        (
            '[tool.flowgen]\nspecs = ["specs"]\nout = "gen"\ntargets = ["pyhton"]\n',
            "unknown target `pyhton`; did you mean `python`?",
        ),
    ],
)
def test_bad_configuration_is_a_one_line_error(project: Path, flowgen: Runner, config: str, message: str) -> None:
    (project / "pyproject.toml").write_text(config)
    result = flowgen("generate", cwd=project)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("flowgen: error: ") and len(result.stderr.strip().splitlines()) == 1


def test_spec_with_errors_generates_nothing(project: Path, flowgen: Runner) -> None:
    (project / "specs" / "checkout.flow").write_text(SKETCH.read_text().replace("event Charged", "event Chrged"))
    result = flowgen("generate", "specs", "--out", "gen", "--target", "python", cwd=project)
    assert result.returncode == 1 and "nothing generated" in result.stderr
    assert not (project / "gen").exists()


def test_symlink_out_of_the_output_folder_is_a_one_line_error(project: Path, flowgen: Runner, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "gen").mkdir()
    (project / "gen" / "python").symlink_to(outside, target_is_directory=True)
    result = flowgen("generate", "specs", "--out", "gen", "--target", "python", cwd=project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "leads outside" in result.stderr and list(outside.iterdir()) == []


def test_unwritable_output_is_a_one_line_error(project: Path, flowgen: Runner) -> None:
    (project / "gen").write_text("a file, not a folder")
    result = flowgen("generate", "specs", "--out", "gen", "--target", "python", cwd=project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("flowgen: error: cannot write to gen")


def test_two_flows_share_one_output_folder(project: Path, flowgen: Runner) -> None:
    from tests.pytarget import EDGES

    (project / "specs" / "edges.flow").write_text(EDGES.read_text())
    args = ("generate", "specs", "--out", "gen", "--target", "python")
    assert flowgen(*args, cwd=project).returncode == 0
    before = tree(project / "gen")
    assert {"python/checkout/models.py", "python/python_edges/models.py", "python/pyproject.toml"} <= set(before)
    again = flowgen(*args, cwd=project)
    assert (
        again.stdout.strip().endswith("unchanged") and "create" not in again.stdout and tree(project / "gen") == before
    )


def test_check_never_imports_black() -> None:
    """`flowgen check` stays fast: the Python target's formatter is not on its import path."""
    script = (
        "import sys\n"
        "from flowgen_design.cli import main\n"
        f"code = main(['check', {str(SKETCH)!r}])\n"
        "assert code == 0, code\n"
        "print(sorted(m for m in sys.modules if m == 'black' or m.startswith('black.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_output_does_not_depend_on_the_working_folder(project: Path, flowgen: Runner) -> None:
    """Headers name the spec relative to the project root (the folder of pyproject.toml)."""
    (project / "pyproject.toml").write_text('[project]\nname = "team"\n')
    (project / "sub").mkdir()
    assert flowgen("generate", "specs", "--out", "gen", "--target", "python", cwd=project).returncode == 0
    result = flowgen("generate", "../specs", "--out", "../gen", "--target", "python", "--check", cwd=project / "sub")
    assert (result.returncode, result.stdout.strip()) == (0, "generated files are up to date"), result.stdout
    assert (
        (project / "gen/python/checkout/models.py")
        .read_text()
        .startswith("# Generated by flowgen from specs/checkout.flow ")
    )


def test_generate_lists_handlers_still_unimplemented(project: Path, flowgen: Runner) -> None:
    """One warning per handler whose method still raises NotImplementedError, as `path:line:`."""
    args = ("generate", "specs", "--out", "gen", "--target", "python")
    first = flowgen(*args, cwd=project)
    assert first.returncode == 0
    warnings = [line for line in first.stderr.splitlines() if "is not implemented yet" in line]
    payments = project / "gen" / "python" / "checkout" / "services" / "payments.py"
    lines = payments.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "def charge(" in text)
    expected = f"warning: {Path('gen') / 'python' / 'checkout' / 'services' / 'payments.py'}:{line}: `Payments.charge`"
    assert any(w.startswith(expected) for w in warnings), warnings
    payments.write_text(
        payments.read_text().replace(
            'raise NotImplementedError("Payments.charge: implement this handler")',
            "return None  # type: ignore[return-value]",
        )
    )
    second = flowgen(*args, cwd=project)
    assert not any("`Payments.charge`" in w for w in second.stderr.splitlines())
    assert len([w for w in second.stderr.splitlines() if "is not implemented yet" in w]) == len(warnings) - 1
