"""`FLOWGEN_STRAIGHT=1`: build every file the straightforward way, to prove the shortcuts.

A first run takes shortcuts that must never change a byte of output: black formats each
shape of module once (`codegen.shapes`), the test kit's data entry by entry and the
models class by class, constant templates come formatted with flowgen
(`codegen.preformatted`), `dot` draws in the background and several drawings in one
process (`codegen.diagrams.render`), and results are cached per user (`codegen.cache`).
With this variable set, each of them takes the plain road instead: black over every
whole module, one `dot` per drawing when it is needed, no cache.
`tests/test_first_run.py` generates every bundled spec both ways and compares the bytes.
"""

from __future__ import annotations

import os


def straight() -> bool:
    """True when every shortcut is to be left out."""
    return os.environ.get("FLOWGEN_STRAIGHT") == "1"
