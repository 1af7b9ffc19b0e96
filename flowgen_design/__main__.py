"""`python -m flowgen_design` runs the `flowgen` command."""

from flowgen_design.cli import entry

entry()
