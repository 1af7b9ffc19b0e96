"""Names that cannot be Python identifiers: mapped safely with an alias, or rejected by `check`.

Each case is a small spec and the exact errors `check` must report (none means the
name is mapped, and the Python target tests prove the mapping works).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowgen_design.codegen.checks import check_spec
from flowgen_design.codegen.targets.python.naming import python_field_name, python_member_name


def errors(tmp_path: Path, body: str, flow: str = "shop") -> list[tuple[str, str]]:
    spec = tmp_path / "case.flow"
    spec.write_text(f"flow {flow} version 1.0.0\n{body}\n")
    result = check_spec(spec)
    return sorted((d.code, d.message) for d in result.diagnostics if d.is_error)


@pytest.mark.parametrize(
    ("name", "attribute"),
    [
        ("order_id", "order_id"),
        ("from", "from_"),
        ("class", "class_"),
        ("type", "type"),  # a soft keyword is a fine attribute
        ("_id", "id_"),
        ("__x", "x_"),
        ("_", "field_"),
        ("json", "json_"),
        ("model_config", "model_config_"),
        ("model_dump", "model_dump_"),
        ("idempotency_key", "idempotency_key_"),
        ("str", "str_"),
        ("datetime", "datetime_"),
        ("date", "date"),
        ("uuid", "uuid"),
    ],
)
def test_python_field_name(name: str, attribute: str) -> None:
    assert python_field_name(name) == attribute
    assert attribute.isidentifier()


def test_field_named_after_a_declared_type_is_mapped() -> None:
    assert python_field_name("Money", frozenset({"Money"})) == "Money_"
    assert python_field_name("Money") == "Money"


@pytest.mark.parametrize(
    ("name", "attribute"),
    [
        ("active", "active"),
        ("class", "class_"),
        ("name", "name_"),
        ("value", "value_"),
        ("upper", "upper_"),
        ("mro", "mro_"),
        ("_x", "x_"),
        ("UPPER", "UPPER"),
    ],
)
def test_python_member_name(name: str, attribute: str) -> None:
    assert python_member_name(name) == attribute


def test_keyword_fields_are_accepted_and_mapped(tmp_path: Path) -> None:
    assert errors(tmp_path, "type T { from: string  class: int  type: string  _id: string }") == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "type T { from: string  from_: string }",
            ("FLOW105", "`from_` and `from` both become `from_` in Python attributes of `T`"),
        ),
        (
            "type T { _id: string  id_: string }",
            ("FLOW105", "`id_` and `_id` both become `id_` in Python attributes of `T`"),
        ),
        (
            "type T { json: string  json_: string }",
            ("FLOW105", "`json_` and `json` both become `json_` in Python attributes of `T`"),
        ),
        (
            "type Money { a: int }\ntype T { Money: Money  Money_: int }",
            ("FLOW105", "`Money_` and `Money` both become `Money_` in Python attributes of `T`"),
        ),
        ("enum E { name, name_ }", ("FLOW105", "`name_` and `name` both become `name_` in Python members of `E`")),
        (
            "type _Private { a: int }",
            (
                "FLOW104",
                "declaration `_Private` cannot start with an underscore: generated Python would treat it as private",
            ),
        ),
        (
            "type UUID { a: int }",
            ("FLOW104", "declaration `UUID` cannot be used: it is a reserved name in generated Python"),
        ),
        (
            "type ClassVar { a: int }",
            ("FLOW104", "declaration `ClassVar` cannot be used: it is a reserved name in generated Python"),
        ),
        ("service Import { }", ("FLOW104", "service `Import` becomes the Python module `import`, a reserved word")),
        (
            "service _Hidden { }",
            (
                "FLOW104",
                "service `_Hidden` cannot start with an underscore: generated Python would treat it as private",
            ),
        ),
        (
            'type T { s: string (pattern "[a-") }',
            (
                "FLOW204",
                "`pattern` of `T.s` is not a valid regular expression: unterminated character set at position 0",
            ),
        ),
    ],
)
def test_names_generated_python_cannot_take_are_errors(tmp_path: Path, body: str, expected: tuple[str, str]) -> None:
    assert errors(tmp_path, body) == [expected]


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        ("_private", "handler `_private` cannot start with an underscore: generated Python would treat it as private"),
        ("models", "handler `models` cannot be used: the generated handler class needs that name"),
        ("override", "handler `override` cannot be used: the generated handler class needs that name"),
    ],
)
def test_handler_names_the_handler_class_needs_are_errors(tmp_path: Path, handler: str, message: str) -> None:
    body = f"event E {{ id: uuid  key id }}\nexternal X {{ publishes E }}\nservice S {{\n  on E -> {handler} {{ idempotent by id }}\n}}"
    assert errors(tmp_path, body) == [("FLOW104", message)]


@pytest.mark.parametrize(
    ("flow", "message"),
    [
        (
            "calendar",
            "flow `calendar` would generate the Python package `calendar`, which hides the module of that name",
        ),
        (
            "Pydantic",
            "flow `Pydantic` would generate the Python package `pydantic`, which hides the module of that name",
        ),
        ("Import", "flow `Import` becomes the Python module `import`, a reserved word"),
    ],
)
def test_flow_names_that_make_a_bad_package_are_errors(tmp_path: Path, flow: str, message: str) -> None:
    assert errors(tmp_path, "type T { a: int }", flow=flow) == [("FLOW104", message)]


def test_the_written_out_basemodel_attributes_are_the_installed_pydantics() -> None:
    """dsl.naming lists BaseModel's attributes so that `check` does not import pydantic."""
    from pydantic import BaseModel

    from flowgen_design.codegen.targets.python.naming import PYDANTIC_MODEL_ATTRIBUTES

    assert PYDANTIC_MODEL_ATTRIBUTES == {name for name in dir(BaseModel) if not name.startswith("_")}
