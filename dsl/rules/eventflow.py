"""Event flow: everything consumed is published, everything published is consumed, no loops."""

from __future__ import annotations

from collections import defaultdict

from flowgen_design.dsl import ast
from flowgen_design.dsl.model import Flow
from flowgen_design.dsl.rules import RuleContext
from flowgen_design.dsl.source import Span


def publishers(flow: Flow) -> dict[str, list[str]]:
    """Event name -> who puts it on the bus (services, sagas, externals)."""
    out: dict[str, list[str]] = defaultdict(list)
    for s in flow.services:
        for e in s.publishes:
            out[e.name].append(f"service {s.name}")
        for api in s.apis:
            out[api.event.name].append(f"{api.route} of {s.name}")
        for h in s.handlers:
            if h.trigger == "command":
                for reply in h.outputs:
                    out[reply.name].append(f"{s.name}.{h.name}")
    for saga in flow.sagas:
        for outcome in (saga.on_completed, saga.on_compensated, saga.on_failed):
            if outcome is not None:
                out[outcome.name].append(f"saga {saga.name}")
    for x in flow.externals:
        for e in x.publishes:
            out[e.name].append(f"external {x.name}")
    return out


def consumers(flow: Flow) -> dict[str, list[tuple[str, Span]]]:
    """Event name -> who reacts to it, with the span of each subscription."""
    out: dict[str, list[tuple[str, Span]]] = defaultdict(list)
    for h in flow.handlers():
        if h.trigger == "event":
            out[h.input.name].append((f"{h.service}.{h.name}", h.span))
    for saga in flow.sagas:
        out[saga.trigger.name].append((f"saga {saga.name}", saga.name_span))
        for step in saga.steps:
            for call in (step.action, step.compensation):
                for reply in call.command.replies if call else ():
                    out[reply.name].append((f"saga {saga.name}", call.span))  # type: ignore[union-attr]
    for x in flow.externals:
        for e in x.consumes:
            out[e.name].append((f"external {x.name}", x.name_span))
    return out


Sites = dict[str, list[tuple[str, Span]]]


def _flow_with_broken_sagas(ctx: RuleContext) -> tuple[dict[str, list[str]], Sites]:
    """Publishers and consumers, counting what sagas and steps dropped by an error refer to.

    A saga with one mistake (a misspelt service in a step, no trigger) leaves the
    model, and so would every event it touches: each would be reported as never
    published or never consumed, burying the one real error under false ones.
    """
    published = publishers(ctx.flow)
    consumed = consumers(ctx.flow)
    events = {e.name for e in ctx.flow.events}
    commands = {c.name: c for c in ctx.flow.commands}
    resolved = {s.name for s in ctx.flow.sagas}
    for decl in (d for m in ctx.modules for d in m.declarations if isinstance(d, ast.SagaDecl)):
        who = f"saga {decl.name.text}"
        for member in decl.members:
            if isinstance(member, ast.OutcomeDecl) and member.event.text in events:
                whos = published.setdefault(member.event.text, [])
                whos.extend([who] if who not in whos else [])
            elif isinstance(member, ast.TriggerDecl) and member.event.text in events and decl.name.text not in resolved:
                _add_site(consumed, member.event.text, (who, decl.name.span))
            elif isinstance(member, ast.StepDecl):
                for call in (member.target, *member.compensate):
                    command = commands.get(call.command.text)
                    for reply in command.replies if command else ():
                        _add_site(consumed, reply.name, (who, call.span))
    return published, consumed


def _add_site(sites: Sites, event: str, site: tuple[str, Span]) -> None:
    known = sites.setdefault(event, [])
    if site not in known:
        known.append(site)


def check_publishers(ctx: RuleContext) -> None:
    published, consumed = _flow_with_broken_sagas(ctx)
    for name, sites in consumed.items():
        if name in published:
            continue
        for who, span in sites:
            ctx.report.add(
                "consumed-never-published",
                f"{who} consumes `{name}`, but nothing publishes it",
                span,
                f"add `{name}` to a service's `publishes`, or declare `external NAME {{ publishes {name} }}`",
            )


def check_api_events(ctx: RuleContext) -> None:
    """An API entry point puts its event on the bus, so its service should say it publishes it."""
    for service in ctx.flow.services:
        listed = {e.name for e in service.publishes}
        for api in service.apis:
            if api.event.name not in listed:
                ctx.report.add(
                    "api-event-not-published",
                    f"`{api.route}` emits `{api.event.name}`, which `{service.name}` does not list under `publishes`",
                    api.span,
                    f"add `publishes {api.event.name}` to service `{service.name}`",
                )


def check_consumers(ctx: RuleContext) -> None:
    published, consumed = _flow_with_broken_sagas(ctx)
    for event in ctx.flow.events:
        if event.name in published and event.name not in consumed:
            ctx.report.add(
                "published-never-consumed",
                f"`{event.name}` is published ({', '.join(published[event.name][:3])}) but nothing consumes it",
                event.name_span,
                f"subscribe a handler with `on {event.name} -> ...`, or declare the external system that consumes it",
            )


def check_cycles(ctx: RuleContext) -> None:
    """Report each strongly connected group of events that feed each other through handlers."""
    graph: dict[str, set[str]] = defaultdict(set)
    via: dict[tuple[str, str], Span] = {}
    for h in ctx.flow.handlers():
        if h.trigger != "event":
            continue
        for out in h.outputs:
            graph[h.input.name].add(out.name)
            via.setdefault((h.input.name, out.name), h.span)
    for component in _strongly_connected(graph):
        loop = sorted(component)
        if len(loop) == 1 and loop[0] not in graph[loop[0]]:
            continue
        first = min(
            (via[(a, b)] for a in component for b in graph[a] if b in component and (a, b) in via),
            key=lambda s: (s.file, s.line, s.column),
        )
        ctx.report.add(
            "event-cycle",
            f"events feed back into themselves through handlers: {' -> '.join(loop + [loop[0]])}",
            first,
            "make sure a handler in the loop stops it (narrow its `emits`), or break the loop",
        )


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative so deep graphs cannot exhaust the stack."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[set[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                result.append(component)
    return result
