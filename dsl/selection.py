"""Which diagnostics a project wants: codes turned off, warnings made errors.

Like mypy's `disable_error_code`, ruff's `ignore` and buf's `except`, a project
lists codes in `[tool.flowgen] ignore = [...]` and `error = [...]`, and the
command line adjusts them (`--disable`, `--enable`, `--error`). A code is named
by its code (`FLOW602`) or slug (`published-never-consumed`). Only codes that
`ErrorCode.can_ignore` may be ignored: every warning, and the few errors whose
model is still sound to generate from (see `dsl.codes`). Naming an unknown code,
or ignoring one that cannot be, is a usage error with a "did you mean".
"""

from __future__ import annotations

from collections.abc import Iterable

from flowgen_design.dsl.codes import BY_SLUG, CODES, ErrorCode, Severity, Stage
from flowgen_design.dsl.diagnostics import Diagnostic
from flowgen_design.dsl.frozen import frozen


class SelectionError(ValueError):
    """A code in configuration or on the command line that cannot be used (a usage error)."""


@frozen(kw_only=False)
class Selection:
    ignore: frozenset[str] = frozenset()
    """Codes (`FLOW602`) left out of every report."""
    error: frozenset[str] = frozenset()
    """Codes reported as errors whatever their default severity."""

    @property
    def key(self) -> str:
        """A stable text of the selection, for stamps and caches."""
        return f"ignore={','.join(sorted(self.ignore))};error={','.join(sorted(self.error))}"

    def apply(self, diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
        return [self._promoted(d) for d in diagnostics if d.code not in self.ignore]

    def _promoted(self, d: Diagnostic) -> Diagnostic:
        if d.code not in self.error or d.is_error:
            return d
        return Diagnostic(code=d.code, severity=Severity.ERROR, message=d.message, span=d.span, hint=d.hint)


DEFAULT = Selection()


def lookup(name: str, source: str) -> ErrorCode:
    """The code named `name` (a code or a slug); `source` says where it was written, for the error."""
    entry = CODES.get(name.strip().upper()) or BY_SLUG.get(name.strip().lower())
    if entry is not None:
        return entry
    import difflib  # only for a mistyped code: `check` without one never pays for it

    close = difflib.get_close_matches(name, [*CODES, *BY_SLUG], n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else " (`flowgen check --list-codes` lists them)"
    raise SelectionError(f"{source}: unknown diagnostic code `{name}`{hint}")


def build(
    ignore: Iterable[str] = (),
    error: Iterable[str] = (),
    *,
    disable: Iterable[str] = (),
    enable: Iterable[str] = (),
    promote: Iterable[str] = (),
    config: str = "[tool.flowgen]",
) -> Selection:
    """The selection of a project's `ignore`/`error` lists adjusted by the command line's
    `--disable`/`--enable`/`--error`: the command line wins over the project, and where one
    of them both ignores a code and makes it an error, it is an error."""
    cli_off, cli_on, cli_error = _codes(disable, "--disable"), _codes(enable, "--enable"), _codes(promote, "--error")
    errors = (_codes(error, f"{config} error") - cli_off) | cli_error
    ignored = ((_codes(ignore, f"{config} ignore") - cli_on) | cli_off) - errors
    for entry in sorted(ignored, key=lambda e: e.code):
        if not entry.can_ignore:
            raise SelectionError(f"{entry} cannot be ignored: {_WHY_NOT[entry.stage]}")
    return Selection(ignore=frozenset(e.code for e in ignored), error=frozenset(e.code for e in errors))


_WHY_NOT = {
    Stage.INPUT: "a spec that cannot be read has no model to generate from",
    Stage.SYNTAX: "text that does not parse has no model to generate from",
    Stage.RESOLVE: "the model would miss what failed to resolve",
    Stage.RULES: "the generated code or infrastructure would break on it",
    Stage.TARGET: "the generated code or infrastructure would break on it",
}


def _codes(names: Iterable[str], source: str) -> set[ErrorCode]:
    return {lookup(name, source) for name in names}
