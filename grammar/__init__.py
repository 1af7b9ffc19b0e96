"""The .flow grammar, shipped as package data so an installed flowgen can find it."""

from importlib.resources import files

GRAMMAR_FILE = "flow.lark"


def grammar_text() -> str:
    """Return the Lark grammar of the .flow language."""
    return files(__name__).joinpath(GRAMMAR_FILE).read_text(encoding="utf-8")
