"""Key fields: the one check behind `key`, `ordered by` and `idempotent by`.

Each names a field of a payload that identifies (or orders, or deduplicates) a
message, so each must name a field that exists and is a required scalar.
"""

from __future__ import annotations

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.model import EnumRef, Field, Scalar, ScalarRef, TypeRef, type_text
from flowgen_design.dsl.resolve.symbols import did_you_mean


def is_key_type(t: TypeRef) -> bool:
    """A key identifies one message: a required scalar (not bytes) or enum."""
    if isinstance(t, EnumRef):
        return True
    return isinstance(t, ScalarRef) and t.scalar not in (Scalar.BYTES, Scalar.FLOAT)


def key_field(report: Reporter, name: ast.Name, fields: tuple[Field, ...], label: str, owner: str) -> Field | None:
    """The field of `owner` that the `label` clause names; None, reported, when there is no usable one."""
    found = next((f for f in fields if f.name == name.text), None)
    if found is None:
        hint = (
            did_you_mean(name.text, [f.name for f in fields])
            or f"declare `{name.text}` in `{owner}` or name one of its fields"
        )
        report.add(
            codes.KEY_FIELD_MISSING,
            f"`{label}` names `{name.text}`, which is not a field of `{owner}`",
            name.span,
            hint,
        )
        return None
    if not is_key_type(found.type):
        report.add(
            codes.KEY_NOT_SCALAR,
            f"`{label}` field `{name.text}` is `{type_text(found.type)}`, which cannot identify a message",
            name.span,
            "use a required scalar field such as a uuid, string or int",
        )
        return None
    return found
