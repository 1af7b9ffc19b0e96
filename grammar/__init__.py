"""The .flow grammar, shipped as package data so an installed flowgen can find it."""

from importlib.resources import files
from pathlib import Path

GRAMMAR_FILE = "flow.lark"
TABLES_FILE = "flow.tables.json"


def grammar_text() -> str:
    """Return the Lark grammar of the .flow language."""
    return files(__name__).joinpath(GRAMMAR_FILE).read_text(encoding="utf-8")


def tables_text() -> str:
    """The grammar's precompiled parser tables (`python -m flowgen_design.dsl.parser` writes them)."""
    return files(__name__).joinpath(TABLES_FILE).read_text(encoding="utf-8")


def tables_path() -> Path:
    """Where the tables file lives in a checkout, for writing it."""
    return Path(__file__).with_name(TABLES_FILE)
