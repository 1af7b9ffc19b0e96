"""Faster drop-ins for lark's contextual lexer and LALR parser loop: same results, less overhead.

Parsing is most of what `flowgen check` costs on a large spec, and most of
that is lark's general machinery around each step rather than the steps
themselves: a method call, a line-counter object and a keyword-handling
constructor per token; per reduction, a rule object hashed in Python to find
its callback. The two classes here keep everything lark computes (the grammar,
the LALR tables, each state's terminals and their order of preference, the
tree-building callbacks and every error) and only tighten the two loops. They
are installed with lark's `_plugins` option, the hook lark provides for
replacing its lexer and parser classes.

Anything out of the ordinary is handed to lark itself: an input that does not
lex or parse (so syntax errors are lark's own, with its interactive parser),
the end of input, a parser state whose lexer needs lark's token callbacks.
`tests/test_fastlark.py` compares both against plain lark, token by token and
error by error, on every spec in the repository and on generated and damaged
ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from re import Match
from typing import Any

from lark.exceptions import UnexpectedInput
from lark.lexer import BasicLexer, ContextualLexer, LexerState, Token
from lark.parsers.lalr_analysis import Shift
from lark.parsers.lalr_interactive_parser import InteractiveParser
from lark.parsers.lalr_parser import LALR_Parser, _Parser
from lark.parsers.lalr_parser_state import ParserState

_Matcher = Callable[[str, int, int], "Match[str] | None"]
_new_str = str.__new__


def _fast_matcher(lexer: BasicLexer) -> _Matcher | None:
    """The alternation `lexer` scans with, or None when its tokens need lark's own callbacks."""
    scanner = lexer.scanner  # builds lexer.callback as well
    if set(lexer.callback) - set(lexer.user_callbacks):
        return None
    pattern = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in scanner.terminals)
    return lexer.re.compile(pattern, lexer.g_regex_flags).match  # type: ignore[no-any-return]


class _Matchers(dict[int, "_Matcher | None"]):
    """Parser state -> its lexer's matcher, compiled on first use (as lark compiles its scanners)."""

    def __init__(self, lexers: dict[int, Any]) -> None:
        super().__init__()
        self._lexers = lexers
        self._by_lexer: dict[int, _Matcher | None] = {}

    def __missing__(self, state: int) -> _Matcher | None:
        lexer = self._lexers[state]
        if id(lexer) not in self._by_lexer:
            self._by_lexer[id(lexer)] = _fast_matcher(lexer)
        matcher = self[state] = self._by_lexer[id(lexer)]
        return matcher


class FastContextualLexer(ContextualLexer):
    """lark's contextual lexer: the same per-state alternations, in one tight loop."""

    def __init__(self, conf: Any, states: Any, always_accept: Any = ()) -> None:
        super().__init__(conf, states, always_accept)
        self.matchers = _Matchers(self.lexers)
        root: Any = self.root_lexer
        self._ignore: frozenset[str] = root.ignore_types
        self._newline: frozenset[str] = root.newline_types
        self._callbacks: dict[str, Callable[[Token], Token]] = dict(root.user_callbacks)

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        matchers = self.matchers
        ignore, newline_types, callbacks = self._ignore, self._newline, self._callbacks
        counter = lexer_state.line_ctr
        text, end = lexer_state.text.text, lexer_state.text.end
        pos, line, line_start = counter.char_pos, counter.line, counter.line_start_pos
        stack = parser_state.state_stack
        while pos < end:
            match = matchers[stack[-1]]
            found = match(text, pos, end) if match is not None else None
            if found is None:
                break  # lark's lexer takes over from here
            kind = found.lastgroup
            value = found.group()
            start, column, start_line = pos, pos - line_start + 1, line
            pos = found.end()
            if kind in newline_types:
                breaks = value.count("\n")
                if breaks:
                    line += breaks
                    line_start = start + value.rindex("\n") + 1
            if kind in ignore and kind not in callbacks:
                continue
            token = _new_str(Token, value)
            token.type = kind  # type: ignore[assignment]
            token.value = value
            token.start_pos = start
            token.line = start_line
            token.column = column
            token.end_line = line
            token.end_column = pos - line_start + 1
            token.end_pos = pos
            if kind in callbacks:
                token = callbacks[kind](token)
            if kind in ignore:
                continue
            counter.char_pos, counter.line, counter.line_start_pos = pos, line, line_start
            counter.column = pos - line_start + 1
            lexer_state.last_token = token
            yield token
        counter.char_pos, counter.line, counter.line_start_pos = pos, line, line_start
        counter.column = pos - line_start + 1
        if pos < end:
            yield from super().lex(lexer_state, parser_state)


# One entry of the fast table: (True, next state, terminal callback or None) for a
# shift or goto; (False, (rule length, rule callback, rule's nonterminal), None) for a reduction.
_Entry = tuple[bool, Any, Any]


class _FastParser(_Parser):
    """lark's LALR loop over a table that needs no hashing of rule objects."""

    def __init__(self, parse_table: Any, callbacks: Any, debug: bool = False) -> None:
        super().__init__(parse_table, callbacks, debug)
        self._table: dict[Any, dict[str, _Entry]] = {
            state: {
                symbol: (
                    (True, arg, callbacks.get(symbol))
                    if action is Shift
                    else (False, (len(arg.expansion), callbacks[arg], arg.origin.name), None)
                )
                for symbol, (action, arg) in row.items()
            }
            for state, row in parse_table.states.items()
        }

    def parse_from_state(self, state: ParserState[Any], last_token: Token | None = None) -> Any:
        try:
            token = self._run(state)
            if token is None:
                token = last_token
            end = Token.new_borrow_pos("$END", "", token) if token else Token("$END", "", 0, 1, 1)
            return state.feed_token(end, True)
        except UnexpectedInput as err:
            err.interactive_parser = InteractiveParser(self, state, state.lexer)
            raise

    def _run(self, state: ParserState[Any]) -> Token | None:
        """Shift and reduce every token; the last token seen, or None for an empty input."""
        table = self._table
        stack, values = state.state_stack, state.value_stack
        token = None
        tokens: Iterator[Token] = state.lexer.lex(state)  # type: ignore[no-untyped-call]
        for token in tokens:
            kind = token.type
            while True:
                entry = table[stack[-1]].get(kind)
                if entry is None:
                    state.feed_token(token)  # lark raises its own UnexpectedToken
                    raise AssertionError("lark accepted a token its own table rejects")
                shift, arg, convert = entry
                if shift:
                    stack.append(arg)
                    values.append(token if convert is None else convert(token))
                    break
                size, callback, origin = arg
                if size:
                    children = values[-size:]
                    del stack[-size:]
                    del values[-size:]
                else:
                    children = []
                values.append(callback(children))
                stack.append(table[stack[-1]][origin][1])
        return token


class FastLALRParser(LALR_Parser):
    """lark's LALR parser with `_FastParser` as its loop (fresh and from lark's cache)."""

    def __init__(self, parser_conf: Any, debug: bool = False, strict: bool = False) -> None:
        super().__init__(parser_conf, debug, strict)
        self.parser = _FastParser(self._parse_table, parser_conf.callbacks, debug)

    @classmethod
    def deserialize(  # type: ignore[override]  # lark's own signature, which its stubs do not declare
        cls, data: Any, memo: Any, callbacks: Any, debug: bool = False
    ) -> FastLALRParser:
        inst: FastLALRParser = super().deserialize(data, memo, callbacks, debug)  # type: ignore[no-untyped-call]
        inst.parser = _FastParser(inst._parse_table, callbacks, debug)
        return inst


PLUGINS: dict[str, type] = {"ContextualLexer": FastContextualLexer, "LALR_Parser": FastLALRParser}
