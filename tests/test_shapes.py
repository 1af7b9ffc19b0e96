"""Formatting by shape (`codegen.shapes`) gives black's own result for every module flowgen makes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from flowgen_design.codegen import shapes
from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.targets import all_targets
from flowgen_design.codegen.targets.python import source
from flowgen_design.dsl.compiler import check_file

pytestmark = pytest.mark.slow  # black over every example's generated modules

ROOT = Path(__file__).resolve().parent.parent
SPECS = [
    ROOT / "specs" / "checkout.flow",
    ROOT / "specs" / "travel.flow",
    ROOT / "tests" / "specs" / "escaping.flow",
    ROOT / "tests" / "specs" / "python_edges.flow",
    ROOT / "tests" / "lambda_adapters.flow",
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_module_formats_by_shape_as_black_formats_it(spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWGEN_JOBS", "1")
    monkeypatch.setattr(shapes, "_formatted", {})
    compared: list[str] = []

    def both(text: str, format_: Callable[[str], str]) -> str:
        via_shape = shapes.format_by_shape(text, format_)
        assert via_shape == source._black(text)
        compared.append(text)
        return via_shape

    monkeypatch.setattr(source, "format_by_shape", both)
    flow = check_file(spec).flow
    assert flow is not None
    for name in ("python", "lambda"):
        all_targets()[name].build(flow, GenerateOptions(out_dir=Path("out")))
    assert compared


@pytest.mark.parametrize(
    "text",
    [
        'x = 1.e10 + 0x1F + 1_000j\ny = "\\N{BULLET} \\x41bc"\n',
        'value = rb"abc" + f"{name!r}" + Rb"xyz"\n',
        "def handler(self, message: Payload) -> None:  # type: ignore[override]\n    pass\n",
        "# fmt: off\nitems = [1,2,\n  3]\n# fmt: on\n",
        "class Handlers:\n    @overload\n    def call(self) -> None: ...\n    @overload\n    def call(self, x: int) -> None: ...\n",
        "match command:\n    case Reserve(order_id=order):\n        pass\n",
    ],
)
def test_fixed_words_numbers_escapes_and_prefixes_keep_their_meaning(text: str) -> None:
    assert shapes.format_by_shape(text, source._black) == source._black(text)


def test_names_of_the_same_width_share_a_shape() -> None:
    one = shapes.shape("class OrdersPlaced(Model):\n    order_id: str\n")
    two = shapes.shape("class ClaimsPlaced(Model):\n    claim_id: str\n")
    assert one is not None and two is not None and one[0] == two[0]


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_the_test_kit_formatted_entry_by_entry_is_the_test_kit_formatted_whole(spec: Path) -> None:
    from flowgen_design.codegen.targets import lambda_adapters
    from flowgen_design.codegen.targets.testkit import testing_source

    flow = check_file(spec).flow
    assert flow is not None
    whole = lambda_adapters._format(flow, testing_source(flow))
    assert lambda_adapters._format_testing(flow) == whole


def test_a_run_of_imports_is_cut_only_when_black_leaves_each_line_as_it_is() -> None:
    from flowgen_design.codegen.targets import lambda_adapters

    head = ['"""Doc."""', "", "from typing import Literal", ""]
    run = [f"from pkg.adapters import {name} as _{name}" for name in ("orders", "billing_payments", "stock")]
    tail = ["", "X: Literal['a'] = 'a'", ""]
    skeleton, first, cut = lambda_adapters._without_imports("\n".join([*head, *run, *tail]))
    assert (first, cut) == (run[0], run)
    assert skeleton == "\n".join([*head, run[0], *tail])
    long_name = "a_service_whose_module_name_is_far_too_long_for_one_line_of_eighty_eight"
    too_long = [*run, f"from pkg.adapters import {long_name} as _{long_name}"]
    text = "\n".join([*head, *too_long, *tail])
    assert lambda_adapters._without_imports(text) == (text, "", [])
    assert not shapes.stable_lines(["x = 1", "y  =  2"], source._black)
    assert shapes.stable_lines(["import os", "import sys"], source._black)
