"""`flowgen check` as on a platform without a lark-cython wheel: plain lark parses.

Run as its own process by `benchmarks/run.py`, next to `flowgen check`, so the
report shows what lark-cython gains. `lark_cython` is made unimportable before
flowgen is imported; everything else is `flowgen check` itself.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    sys.modules["lark_cython"] = None  # type: ignore[assignment]  # `import lark_cython` now raises ImportError
    from flowgen_design.cli import entry

    sys.argv = ["flowgen", "check", *argv]
    entry()  # exits
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
