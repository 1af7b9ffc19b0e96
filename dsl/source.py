"""Source files and spans: every diagnostic and AST node points into one of these."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from dsl.trusted import trusted


class Span(BaseModel):
    """A region of a source file; lines and columns are 1-based, the end is exclusive."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def to(self, other: Span) -> Span:
        """The span from the start of this one to the end of `other` (both valid, so no validation)."""
        return trusted(
            Span,
            file=self.file,
            line=self.line,
            column=self.column,
            end_line=other.end_line,
            end_column=other.end_column,
        )

    @property
    def start(self) -> tuple[int, int]:
        return (self.line, self.column)


class SourceFile(BaseModel):
    """A file's text as read, kept so diagnostics can show the offending line."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    path: str
    text: str

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""
