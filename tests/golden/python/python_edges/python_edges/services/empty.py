"""The `Empty` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from python_edges.handlers.empty import EmptyHandlers


class EmptyService(EmptyHandlers):
    """Implements the handlers of `Empty`."""
