"""One module per `flowgen` verb: `configure(parser)` adds its options, `run(args)` returns the exit code.

The exit codes and the one-line usage error live here, beside the verbs that return them, so no verb
imports the command-line entry point (`flowgen_design.cli`) back.
"""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def fail(message: str, code: int = EXIT_USAGE) -> int:
    """A one-line error for problems that have no location in a spec."""
    print(f"flowgen: error: {message}", file=sys.stderr)
    return code
