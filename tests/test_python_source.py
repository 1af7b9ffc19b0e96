"""The one escaping place: any spec text becomes Python that parses and means the same text."""

from __future__ import annotations

import inspect

from hypothesis import given, settings
from hypothesis import strategies as st

from flowgen_design.codegen.targets.python.source import docstring, format_module, literal

NASTY = ['"', '"""', "'''", "\\", "{", "}", "{{x}}", "\\n", "\r", "\x00", "\x0c", "\u2028", "\t", "é", "😀", " "]
texts = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=8)), max_size=12).map("".join)


def run(lines: list[str]) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile(format_module(lines), "generated.py", "exec"), namespace)
    return namespace


@settings(max_examples=300, deadline=None)
@given(texts)
def test_literal_is_exact(text: str) -> None:
    assert run([f"VALUE = {literal(text)}"])["VALUE"] == text


@settings(max_examples=300, deadline=None)
@given(texts)
def test_docstring_keeps_the_text(text: str) -> None:
    """Exact up to whitespace, which black and docstring conventions may normalise."""
    doc = run(["class C:", *docstring(text or "x", "    "), "", "value = C.__doc__"])["value"]
    assert isinstance(doc, str)
    assert doc.split() == (text or "x").split()


def test_docstring_of_awkward_text_is_exact() -> None:
    text = 'Say "hi"\nPath C:\\new\\table and """quotes"""\nBraces {name} {{x}} end"'
    doc = run(["class C:", *docstring(text, "    "), "", "value = C.__doc__"])["value"]
    assert isinstance(doc, str) and inspect.cleandoc(doc) == text


def test_format_module_is_black_stable() -> None:
    import black

    source = format_module(["def f(a,b):", "    return {'a':a,'b':b}"])
    assert black.format_str(source, mode=black.Mode()) == source
