"""Event flow: everything consumed is published, everything published is consumed, no loops.

The rules read the flow's event graph (`dsl.graph`), the one answer to who
publishes and who consumes each event.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby, pairwise

from flowgen_design.dsl import ast, codes
from flowgen_design.dsl.graph import PUBLISHING, Arc, event_graph
from flowgen_design.dsl.model import ApiEndpoint, Event, External, Flow, Handler, Saga, Service
from flowgen_design.dsl.rules import RuleContext
from flowgen_design.dsl.source import Span


def _label(arc: Arc) -> str:
    """How a diagnostic names the element at the far end of an arc."""
    element = arc.source if arc.kind in PUBLISHING else arc.target
    if isinstance(element, Handler):
        return f"{element.service}.{element.name}"
    if isinstance(element, ApiEndpoint):
        return f"{element.route} of {element.service}"
    kind = {Service: "service", Saga: "saga", External: "external"}[type(element)]
    return f"{kind} {element.name}"  # type: ignore[union-attr]


_NAMED_FIRST = {"publishes": 0, "api": 1, "replies": 2}


def _owner(arc: Arc) -> tuple[str, str]:
    """The declaration an arc belongs to: a service for its entry points and handlers."""
    source = arc.source
    if isinstance(source, ApiEndpoint | Handler):
        return ("service", source.service)
    return (type(source).__name__, source.name)  # type: ignore[union-attr]


def publishers(flow: Flow) -> dict[str, list[str]]:
    """Event name -> who puts it on the bus (services, entry points, command handlers, sagas, externals).

    A service is named by its own `publishes` before its entry points, as the messages always have.
    """
    graph = event_graph(flow)
    out: dict[str, list[str]] = {}
    for name in graph.published():
        for _, group in groupby(graph.publishers(name), key=_owner):
            ordered = sorted(group, key=lambda a: _NAMED_FIRST.get(a.kind, 0))
            out.setdefault(name, []).extend(_label(a) for a in ordered)
    return out


def consumers(flow: Flow) -> dict[str, list[tuple[str, Span]]]:
    """Event name -> who reacts to it, with the span of each subscription."""
    graph = event_graph(flow)
    return {name: [(_label(a), a.span) for a in graph.consumers(name)] for name in graph.consumed()}


Sites = dict[str, list[tuple[str, Span]]]


_last_seen: list[tuple[Flow, list[ast.Module], tuple[dict[str, list[str]], Sites]]] = []


def _flow_with_broken_sagas(ctx: RuleContext) -> tuple[dict[str, list[str]], Sites]:
    """Publishers and consumers, counting what sagas and steps dropped by an error refer to.

    A saga with one mistake (a misspelt service in a step, no trigger) leaves the
    model, and so would every event it touches: each would be reported as never
    published or never consumed, burying the one real error under false ones.
    Both event-flow rules read it, so the last flow's answer is kept (read-only).
    """
    for flow, modules, answer in _last_seen:
        if flow is ctx.flow and modules is ctx.modules:
            return answer
    answer = _count_broken_sagas(ctx)
    _last_seen[:] = [(ctx.flow, ctx.modules, answer)]
    return answer


def _count_broken_sagas(ctx: RuleContext) -> tuple[dict[str, list[str]], Sites]:
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
            elif isinstance(member, ast.StepDecl | ast.ParallelDecl):
                for step in _steps_of(member):
                    if isinstance(step.target, ast.AwaitClause):
                        for name in step.target.events:
                            _add_site(consumed, name.text, (who, step.target.span))
                for call in (
                    c
                    for s in _steps_of(member)
                    if isinstance(s.target, ast.QualifiedName)
                    for c in (s.target, *s.compensate)
                ):
                    command = commands.get(call.command.text)
                    for reply in command.replies if command else ():
                        _add_site(consumed, reply.name, (who, call.span))
    return published, consumed


def _steps_of(member: ast.StepDecl | ast.ParallelDecl) -> tuple[ast.StepDecl, ...]:
    return member.steps if isinstance(member, ast.ParallelDecl) else (member,)


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
                codes.CONSUMED_NEVER_PUBLISHED,
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
                    codes.API_EVENT_NOT_PUBLISHED,
                    f"`{api.route}` emits `{api.event.name}`, which `{service.name}` does not list under `publishes`",
                    api.span,
                    f"add `publishes {api.event.name}` to service `{service.name}`",
                )


def check_consumers(ctx: RuleContext) -> None:
    published, consumed = _flow_with_broken_sagas(ctx)
    for event in ctx.flow.events:
        if event.name in published and event.name not in consumed:
            ctx.report.add(
                codes.PUBLISHED_NEVER_CONSUMED,
                f"`{event.name}` is published ({', '.join(published[event.name][:3])}) but nothing consumes it",
                event.name_span,
                f"subscribe a handler with `on {event.name} -> ...`, or declare the external system that consumes it",
            )


Edges = dict[str, dict[str, Handler]]


def check_cycles(ctx: RuleContext) -> None:
    """Report each strongly connected group of events that feed each other through handlers.

    The message walks the loop as a message would (event -> handler -> event ...),
    from where the loop is entered, and points at the handler that closes it.
    """
    graph: dict[str, set[str]] = defaultdict(set)
    edges: Edges = defaultdict(dict)
    for arc in event_graph(ctx.flow).of_kind("emits"):
        assert isinstance(arc.source, Handler) and isinstance(arc.target, Event)
        start = arc.source.input.name
        graph[start].add(arc.target.name)
        edges[start].setdefault(arc.target.name, arc.source)
    for component in _strongly_connected(graph):
        if len(component) == 1 and not component & graph[next(iter(component))]:
            continue
        path = _cycle(_entry(ctx.flow, component), component, graph)
        hops = [edges[a][b] for a, b in pairwise(path)]
        walk = "".join(f"{event} -> {h.service}.{h.name} -> " for event, h in zip(path, hops, strict=False)) + path[0]
        closing = hops[-1]
        ctx.report.add(
            codes.EVENT_CYCLE,
            f"events feed back into themselves through handlers: {walk}",
            closing.span,
            f"`{closing.service}.{closing.name}` closes the loop: narrow its `emits` (or another handler's in the loop)"
            " so the loop stops, or break the loop",
        )


def _entry(flow: Flow, component: set[str]) -> str:
    """Where a message enters the loop: the first event in it that something outside the loop publishes.

    An entry point, an external system, a saga or a handler outside the loop puts
    the first message on the bus; a loop nothing enters starts at its first event.
    """
    graph = event_graph(flow)
    ordered = [e.name for e in flow.events if e.name in component]
    for name in ordered:
        for arc in graph.publishers(name):
            if arc.kind == "publishes" and isinstance(arc.source, Service):
                continue
            if isinstance(arc.source, Handler) and arc.source.input.name in component:
                continue
            return name
    return ordered[0] if ordered else min(component)


def _cycle(start: str, component: set[str], graph: dict[str, set[str]]) -> list[str]:
    """The shortest loop from `start` back to it inside `component`, both ends included (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*path[::-1], start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return [start, start]


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
