"""Rules about the flow's bus: its event archive (`archive 90d`).

EventBridge keeps an archive for a whole number of days (`RetentionDays`), so a
retention that is not one is an error rather than a silent rounding; a second
`archive` is a repeated clause, like a second `defaults`.
"""

from __future__ import annotations

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.durations import DAY_MS
from flowgen_design.dsl.resolve.symbols import where
from flowgen_design.dsl.rules import RuleContext


def check_archive(ctx: RuleContext) -> None:
    archives = [d for m in ctx.modules for d in m.declarations if isinstance(d, ast.ArchiveDecl)]
    for extra in archives[1:]:
        ctx.report.add(
            codes.DUPLICATE_CLAUSE,
            "`archive` is declared more than once",
            extra.span,
            f"keep one: the first is at {where(archives[0].span)}",
        )
    for decl in archives[:1]:
        retention = decl.retention
        if retention.millis < DAY_MS or retention.millis % DAY_MS:
            days = max(1, -(-retention.millis // DAY_MS))
            ctx.report.add(
                codes.ARCHIVE_RETENTION,
                f"an event archive keeps events for whole days; `{retention.text}` is not",
                retention.span,
                f"write `archive {days}d`",
            )
