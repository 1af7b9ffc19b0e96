"""The symbol table: one namespace for every top-level name of a spec and its imports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.model import Scalar
from flowgen_design.dsl.source import Span

SCALARS = frozenset(s.value for s in Scalar)

KIND_OF = {
    ast.TypeDecl: "type",
    ast.EnumDecl: "enum",
    ast.EventDecl: "event",
    ast.CommandDecl: "command",
    ast.PolicyDecl: "policy",
    ast.ServiceDecl: "service",
    ast.SagaDecl: "saga",
    ast.ExternalDecl: "external",
}


def where(span: Span) -> str:
    return f"{span.file}:{span.line}:{span.column}"


def _a(noun: str) -> str:
    """`an event`, `a type`: the article for a declaration kind."""
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    import difflib  # only for a misspelt name: a clean spec never pays for it

    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


@dataclass
class Symbols:
    """Declarations by name, plus the reporter every resolution step writes to."""

    reporter: Reporter
    decls: dict[str, ast.Declaration] = field(default_factory=dict)

    def declare_all(self, modules: Iterable[ast.Module]) -> None:
        for module in modules:
            for decl in module.declarations:
                if isinstance(decl, (ast.DefaultsDecl, ast.ArchiveDecl)):
                    continue
                self._declare(decl)

    def _declare(self, decl: ast.Declaration) -> None:
        name = decl.name  # type: ignore[union-attr]
        if name.text in SCALARS:
            self.reporter.add(
                codes.RESERVED_NAME, f"`{name.text}` is a built-in type and cannot be redeclared", name.span
            )
            return
        first = self.decls.get(name.text)
        if first is not None:
            self.reporter.add(
                codes.DUPLICATE_NAME,
                f"`{name.text}` is already declared as {_a(KIND_OF[type(first)])}",
                name.span,
                f"first declared at {where(first.name.span)}; rename one of them",  # type: ignore[union-attr]
            )
            return
        self.decls[name.text] = decl

    def names_of(self, kinds: tuple[str, ...]) -> list[str]:
        return [n for n, d in self.decls.items() if KIND_OF[type(d)] in kinds]

    def lookup(self, name: ast.Name, *kinds: str) -> ast.Declaration | None:
        """The declaration `name` refers to, if it is one of `kinds`; else report and None."""
        decl = self.decls.get(name.text)
        wanted = " or ".join(kinds)
        if decl is None:
            hint = did_you_mean(name.text, self.names_of(kinds)) or f"declare the {wanted} `{name.text}`"
            self.reporter.add(codes.UNDEFINED_NAME, f"undefined {wanted} `{name.text}`", name.span, hint)
            return None
        kind = KIND_OF[type(decl)]
        if kind not in kinds:
            self.reporter.add(
                codes.WRONG_KIND,
                f"`{name.text}` is {_a(kind)}, but {_a(wanted)} is needed here",
                name.span,
                f"`{name.text}` is declared at {where(decl.name.span)}",  # type: ignore[union-attr]
            )
            return None
        return decl
