"""Golden output folders: compare a generated tree with `tests/golden/<target>/<spec-stem>/`,
or rewrite the golden folder with `pytest --update-golden`."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def tree(folder: Path, only: Iterable[str] | None = None) -> dict[str, str]:
    """Every file under `folder` (relative POSIX path -> text), minus flowgen's manifest.

    `only`, if given, keeps the files whose relative path starts with one of its prefixes.
    """
    prefixes = tuple(only) if only is not None else ("",)
    return {
        rel: p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".flowgen" not in p.relative_to(folder).parts
        if (rel := p.relative_to(folder).as_posix()).startswith(prefixes)
    }


def check_golden(actual: dict[str, str], target: str, spec: Path, update: bool) -> None:
    golden = GOLDEN / target / spec.stem
    if update:
        shutil.rmtree(golden, ignore_errors=True)
        for rel, text in actual.items():
            (golden / rel).parent.mkdir(parents=True, exist_ok=True)
            (golden / rel).write_text(text, encoding="utf-8")
    assert golden.is_dir(), f"no golden output for {spec.name}: run pytest with --update-golden"
    expected = tree(golden)
    assert sorted(actual) == sorted(expected), "the generated files differ from golden: run pytest with --update-golden"
    for rel in actual:
        assert (
            actual[rel] == expected[rel]
        ), f"{rel} differs from golden: review the diff, then run pytest with --update-golden"
