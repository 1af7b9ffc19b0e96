"""flowgen's per-user cache folder, for results that are slow to compute and pure.

What lives there: pictures drawn by Graphviz's `dot`, modules black formatted
(`codegen.cache`) and the stamps of `generate` runs (`codegen.stamp`), each keyed
by a hash of everything it depends on, so a stale entry is never used, only
unused. The grammar's tables are not kept there: CI systems share this folder
between runs, and lark's cache is a pickle (`tests/test_parser_cache.py`).
The cache is an optimisation: when the folder cannot be created or written,
flowgen computes everything afresh and says nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_dir(*parts: str) -> Path | None:
    """$FLOWGEN_CACHE_DIR, else the user's cache folder (XDG, ~/.cache, LOCALAPPDATA), joined with `parts`.

    None when the folder cannot be created and written (a read-only home, say).
    """
    configured = os.environ.get("FLOWGEN_CACHE_DIR")
    if configured:
        folder = Path(configured)
    elif sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        folder = Path(os.environ["LOCALAPPDATA"]) / "flowgen" / "cache"
    else:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "flowgen"
    folder = folder.joinpath(*parts)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK | os.R_OK) else None
