"""Merging new handler stubs into the user's service file: insert only, or explain.

Each case is a user file as people really write them (CRLF, tabs, no final
newline, a renamed class, a syntax error); the merge either inserts a stub and
changes no existing byte, or leaves the file alone and says what to add.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowgen_design.codegen.targets.python.services import merge_service, service_module_text
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.model import Flow, Service
from tests.conftest import SKETCH

SPEC = SKETCH.read_text().replace(
    "command ReserveStock",
    "event StockCounted { sku: string  key sku }\ncommand CountStock { sku: string } -> StockCounted\ncommand ReserveStock",
)
GAINED = SPEC.replace(
    "  handles ReleaseStock { use standard  idempotent by order_id }\n",
    "  handles ReleaseStock { use standard  idempotent by order_id }\n  handles CountStock { use standard  idempotent by sku }\n",
)
STUB = "def count_stock(self, command: models.CountStock) -> models.StockCounted:"


def flow_of(tmp_path: Path, text: str, name: str) -> Flow:
    path = tmp_path / f"{name}.flow"
    path.write_text(text)
    result = check_file(path)
    assert result.ok, [d.message for d in result.diagnostics if d.is_error]
    assert result.flow is not None
    return result.flow


@pytest.fixture(scope="module")
def flows(tmp_path_factory: pytest.TempPathFactory) -> tuple[Flow, Flow]:
    """The sketch with the CountStock command, before and after Inventory handles it."""
    tmp = tmp_path_factory.mktemp("merge")
    return flow_of(tmp, SPEC, "before"), flow_of(tmp, GAINED, "after")


def inventory(flow: Flow) -> Service:
    service = flow.service("Inventory")
    assert service is not None
    return service


def original(flows: tuple[Flow, Flow]) -> str:
    before = flows[0]
    return service_module_text(before, inventory(before))


def merge(text: str, flows: tuple[Flow, Flow]) -> tuple[str | None, tuple[str, ...]]:
    after = flows[1]
    result = merge_service(text, after, inventory(after))
    return result.content, result.messages


def assert_inserted_only(before: str, after: str) -> str:
    """`after` is `before` with one chunk inserted; returns the chunk."""
    assert len(after) > len(before)
    start = next((i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b), len(before))
    chunk = after[start : start + len(after) - len(before)]
    assert after[:start] + after[start + len(chunk) :] == before
    return chunk


def test_first_file_has_every_handler_and_merge_adds_the_new_one(flows: tuple[Flow, Flow]) -> None:
    text = original(flows)
    merged, messages = merge(text, flows)
    assert merged is not None and STUB in merged
    assert STUB in assert_inserted_only(text, merged)
    assert messages == ("added stubs for `count_stock` to class `InventoryService`",)
    again, _ = merge(merged, flows)
    assert again == merged  # nothing more to add: the merge is idempotent
    compile(merged, "inventory.py", "exec")


@pytest.mark.parametrize(
    ("label", "transform"),
    [
        ("crlf", lambda t: t.replace("\n", "\r\n")),
        ("tabs", lambda t: t.replace("    ", "\t")),
        ("two-spaces", lambda t: t.replace("    ", "  ")),
        ("no-final-newline", lambda t: t.rstrip("\n")),
        ("code-after-class", lambda t: t + "\n\ndef helper() -> int:\n    return 1\n"),
        ("comment-at-class-end", lambda t: t + "    # a trailing comment inside the class\n"),
    ],
)
def test_merge_keeps_every_user_byte(flows: tuple[Flow, Flow], label: str, transform) -> None:  # type: ignore[no-untyped-def]
    text = transform(original(flows))
    merged, _ = merge(text, flows)
    assert merged is not None, label
    chunk = assert_inserted_only(text, merged)
    assert "count_stock" in chunk
    tree = ast.parse(merged)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    assert [n.name for n in cls.body if isinstance(n, ast.FunctionDef)] == [
        "reserve_stock",
        "release_stock",
        "count_stock",
    ]
    if label == "crlf":
        assert "\n" not in merged.replace("\r\n", "")
    if label == "tabs":
        assert "\n\tdef count_stock(" in merged and "\n\t\traise NotImplementedError" in merged


@pytest.mark.parametrize(
    ("label", "transform", "reason"),
    [
        (
            "renamed",
            lambda t: t.replace("class InventoryService(", "class Stock("),
            "no top-level class `InventoryService`",
        ),
        ("syntax-error", lambda t: t + "\ndef broken(:\n", "does not parse"),
        (
            "one-line-class",
            lambda t: t[: t.index("class InventoryService")] + "class InventoryService(InventoryHandlers): pass\n",
            "does not start on its own indented line",
        ),
        ("twice", lambda t: t + "\n\nclass InventoryService:\n    pass\n", "more than once"),
        (
            "imports-nothing",
            lambda t: t.replace("from typing_extensions import override\n", "")
            .replace("from __future__ import annotations\n", "")
            .replace("from checkout import models\n", "")
            .replace("from checkout.handlers.inventory import InventoryHandlers\n", "InventoryHandlers = object\n"),
            "has no import to add `from typing_extensions import override`",
        ),
    ],
)
def test_unsafe_merge_leaves_the_file_and_says_what_to_add(flows: tuple[Flow, Flow], label: str, transform, reason: str) -> None:  # type: ignore[no-untyped-def]
    merged, messages = merge(transform(original(flows)), flows)
    assert merged is None, label
    (message,) = messages
    assert reason in message
    assert STUB in message and "@override" in message
    if label == "renamed":
        assert "Define `class InventoryService(InventoryHandlers)` (it is imported by that name) with:" in message
    else:
        assert "Add to class `InventoryService`:" in message


@pytest.mark.parametrize(
    ("label", "transform", "added"),
    [
        ("no-override-import", lambda t: t.replace("from typing_extensions import override\n", ""), "override"),
        (
            "no-models-import",
            lambda t: t.replace("from checkout import models\n", "from checkout.models import ReserveStock\n"),
            "models",
        ),
    ],
)
def test_merge_adds_the_imports_new_stubs_need(flows: tuple[Flow, Flow], label: str, transform, added: str) -> None:  # type: ignore[no-untyped-def]
    merged, _ = merge(transform(original(flows)), flows)
    assert merged is not None, label
    line = {"override": "from typing_extensions import override", "models": "from checkout import models"}[added]
    assert merged.count(line + "\n") == 1 and merged.index(line) < merged.index("class InventoryService")
    compile(merged, "inventory.py", "exec")


def test_sequence_import_is_added_when_a_new_stub_uses_it(tmp_path: Path) -> None:
    before = flow_of(tmp_path, SKETCH.read_text(), "s1")
    after = flow_of(
        tmp_path,
        SKETCH.read_text().replace(
            "on PaymentFailed -> cancel_order",
            "on OrderCancelled -> note_cancel {\n    use standard\n    idempotent by order_id\n  }\n  on PaymentFailed -> cancel_order",
        ),
        "s2",
    )
    orders_before, orders_after = before.service("Orders"), after.service("Orders")
    assert orders_before is not None and orders_after is not None
    text = service_module_text(before, orders_before).replace("from collections.abc import Sequence\n", "")
    result = merge_service(text, after, orders_after)
    assert result.content is not None and "def note_cancel(" in result.content
    assert "from collections.abc import Sequence\n" in result.content


def test_method_bound_another_way_counts_as_present(flows: tuple[Flow, Flow]) -> None:
    text = original(flows) + "\n    count_stock = reserve_stock\n"
    merged, _ = merge(text, flows)
    assert merged == text


def test_orphaned_methods_are_reported_with_their_line(flows: tuple[Flow, Flow]) -> None:
    """The spec lost CountStock: the user's method stays, and its line is named."""
    before, after = flows
    with_stub = merge_service(original(flows), after, inventory(after)).content
    assert with_stub is not None
    text = (
        with_stub
        + "\n    def _helper(self) -> None:\n        pass\n\n    @typing_extensions.override\n    def gone_too(self) -> None:\n        pass\n"
    )
    result = merge_service(text, before, inventory(before))
    assert result.content == text  # never touched
    lines = text.splitlines()
    orphans = [n for n in result.notes if "no longer a handler" in n.message]
    assert [(n.line, lines[n.line - 1].strip().split("(")[0]) for n in orphans] == [
        (next(i for i, t in enumerate(lines, 1) if "def count_stock(" in t), "def count_stock"),
        (next(i for i, t in enumerate(lines, 1) if "def gone_too(" in t), "def gone_too"),
    ]
    assert "`count_stock` is no longer a handler of `Inventory`" in result.notes[0].message


user_lines = st.lists(
    st.sampled_from(
        [
            "        x = 1  # comment with \"quotes\" and '''triple'''",
            "    # a comment at class level",
            "",
            "    def helper(self) -> int:\n        return 1",
            '    NOTE = """a\n    multi-line string\n    """',
            "    async def later(self) -> None:\n        pass",
        ]
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=user_lines, tail=st.sampled_from(["", "\n\nVALUE = 1\n", "\n\n# end\n"]), crlf=st.booleans())
def test_merge_is_insert_only_for_any_user_additions(
    flows: tuple[Flow, Flow], extra: list[str], tail: str, crlf: bool
) -> None:
    text = original(flows) + "".join(line + "\n" for line in extra if not line.startswith("        ")) + tail
    if crlf:
        text = text.replace("\n", "\r\n")
    try:
        ast.parse(text)
    except SyntaxError:
        return
    merged, _ = merge(text, flows)
    assert merged is not None
    assert_inserted_only(text, merged)
    ast.parse(merged)


def test_handlers_still_raising_not_implemented_are_listed_with_their_line(flows: tuple[Flow, Flow]) -> None:
    """`flowgen generate` warns about each handler the user has not implemented yet."""
    _, after = flows
    text = original(flows).replace(
        'raise NotImplementedError("Inventory.reserve_stock: implement this handler")',
        "return models.StockReserved(order_id=command.order_id)",
    )
    result = merge_service(text, after, inventory(after))
    lines = (result.content or text).splitlines()
    unimplemented = [n for n in result.notes if "not implemented yet" in n.message]
    assert [lines[n.line - 1].strip().split("(")[0] for n in unimplemented] == ["def release_stock", "def count_stock"]
    assert all("reserve_stock" not in n.message for n in unimplemented)
