"""The floor: parse a spec with lark alone, using flowgen's grammar and parser options.

Run as its own process by `benchmarks/run.py`: import lark, compile the grammar
from grammar/flow.lark, parse the file into lark's own tree. Whatever flowgen
does beyond this (typed AST, resolution, rules, diagnostics) is its overhead.
"""

from __future__ import annotations

import sys

from lark import Lark


def main(grammar_path: str, spec_path: str) -> int:
    with open(grammar_path, encoding="utf-8") as grammar:
        parser = Lark(grammar.read(), start="module", parser="lalr", lexer="contextual")
    with open(spec_path, encoding="utf-8") as spec:
        parser.parse(spec.read())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
