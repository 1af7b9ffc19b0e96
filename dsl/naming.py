"""Case conversions of spec names, shared by the front end and every target.

What a name may not be in one target (Python keywords, CloudFormation's
logical-ID limits) belongs to that target: see `codegen.targets.python.naming`
and `codegen.aws.plan`.
"""

from __future__ import annotations

import re
from functools import cache

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@cache  # a spec's names are few, and asked for again by every target: ten thousand times on a large spec
def snake_case(name: str) -> str:
    """`ReserveStock` -> `reserve_stock`; `HTTPServer` -> `http_server`."""
    return _WORD_BOUNDARY.sub("_", name).lower()


@cache
def pascal_case(name: str) -> str:
    """`cancel_order` -> `CancelOrder`; already-Pascal names are kept."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)
