"""The template built in parts: after an edit, only the elements it reaches are built and checked.

The template is one JSON object with sorted keys, so its `Resources`, `Outputs`, `Parameters`
and `Conditions` are lists of entries (`"Name": {...}`) in name order, each written the same
wherever it stands. Each element of the flow becomes a group of entries (`Group`: a handler's
queue, rule, function, role and alarms; a saga's; the API's), keyed by the fingerprint of the
elements its builder reads (`codegen.fragments`: the flow's identity and the stack's shared
resources, then the group's own inputs; source positions left out). After an edit, a group
whose key the last clean run's template holds is taken back from that file entry by entry;
only the others are built, run through the passes over finished resources (data safety,
tags: `finish`), written and checked. The stack's shared entries (bus, table, parameters,
the event-delivery queue, whose policy names every rule) are built every time.

Positions: the only text of an entry that depends on where its element is in the spec is
its `Metadata.flowgen` (spec file and line) and an alarm's description (`threshold from
file:line`). The record keeps where those are in each entry (holes: offset, length, and
`METADATA` or `DESCRIPTION`), and a taken-back entry gets them written anew from this
run's plan, so an edit that moves every line below it still takes back every group it
does not reach.

The check: the groups built are checked as the whole template is (`verify.flow_part_problems`),
their names resolved against every name of this run's template. A group taken back was checked
with the template it came from, so its references hold as long as every name of that template
is still a name of this one; when one is gone (an element removed), the whole template is parsed
and checked. With nothing taken back, the whole template is checked, as on the plain road.

`build_template` and `Template.render` are the plain road; `tests/test_incremental.py` compares
the two after random edits. The user's `deploy.toml` and `overrides.json`, when they add
anything, take the plain road too (`customise.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from flowgen_design.codegen import prettyjson
from flowgen_design.codegen.aws.plan import Alarm, Plan, Resource
from flowgen_design.codegen.fragments import Fragments, Hole
from flowgen_design.codegen.targets.cloudformation.observability import alarm_description
from flowgen_design.codegen.targets.cloudformation.template import Json, Template, provenance
from flowgen_design.codegen.targets.cloudformation.verify import (
    PSEUDO_PARAMETERS,
    flow_part_problems,
    flow_problems,
)
from flowgen_design.dsl.model import Flow, Saga

if TYPE_CHECKING:
    from flowgen_design.codegen.targets.cloudformation import Group

SECTIONS = ("Conditions", "Outputs", "Parameters", "Resources")
_MARKS = {"Conditions": "C", "Outputs": "O", "Parameters": "P", "Resources": "R"}
_KEY_LENGTH = 40
METADATA, DESCRIPTION = 0, 1
"""The kinds of hole: a resource's `Metadata` object, an alarm's `AlarmDescription` string."""
_ENTRY = "\n    "  # an entry of a section, at depth 2
_METADATA_AT = '\n      "Metadata": '
_DESCRIPTION_AT = '\n        "AlarmDescription": '

Entry = tuple[str, str, list[Hole]]
"""An entry of a section as the template writes it: key (for the record), text, holes."""


def template_in_parts(
    flow: Flow,
    plan: Plan,
    path: str,
    head: Template,
    groups: Sequence[Group],
    finish: Callable[[Json], None],
) -> str:
    """The template's text, byte for byte what `Template.render` writes for the whole template.

    `head` holds the stack's shared entries, finished; `finish` runs the passes over finished
    resources on the resources of one group."""
    stack_identity = (flow.name, flow.version, flow.path, *sorted(head.resources), *sorted(head.parameters))
    fragments = Fragments(PurePosixPath(path), stack_identity)
    entries: dict[str, dict[str, Entry]] = {section: {} for section in SECTIONS}
    built = Template(head.description, head.metadata, dict(head.parameters), dict(head.resources))
    built.outputs, built.conditions = dict(head.outputs), dict(head.conditions)
    _made(entries, fragments.key("stack", ()), head, {}, {})
    sagas: list[Saga] = []
    taken = False
    for group in groups:
        key = fragments.key(group.kind, group.inputs)
        resources, alarms = _declared(group)
        reused = _taken_back(fragments, key, group, resources, alarms) if key is not None else None
        if reused is not None:
            taken = True
            for section, name, entry in reused:
                entries[section][name] = entry
            continue
        part = Template(head.description, head.metadata)
        group.build(part)
        finish(part.resources)
        _same_names(group, part, resources)
        _made(entries, key, part, resources, alarms)
        built.resources.update(part.resources)
        built.outputs.update(part.outputs)
        built.parameters.update(part.parameters)
        sagas += [group.saga] if group.saga is not None else []
    text = _composed(head, entries, fragments)
    _check(flow, text, built, sagas, (set(entries["Resources"]), set(entries["Parameters"])), fragments, taken)
    return text


def _declared(group: Group) -> tuple[dict[str, Resource], dict[str, Alarm]]:
    alarms = {a.resource.logical_id: a for a in group.alarms}
    resources = {r.logical_id: r for r in group.resources}
    resources.update((rid, a.resource) for rid, a in alarms.items())
    return resources, alarms


def _same_names(group: Group, part: Template, resources: dict[str, Resource]) -> None:
    """A group adds what the plan says it adds: what it takes back depends on it."""
    made = (set(part.resources), set(part.outputs), set(part.parameters), set(part.conditions))
    declared: tuple[set[str], ...] = (set(resources), set(group.outputs), set(group.parameters), set())
    if made != declared:
        raise RuntimeError(f"flowgen bug: a {group.kind} group adds {made}, its plan says {declared}")


def _entry_key(group_key: str, section: str, name: str) -> str:
    return group_key[:_KEY_LENGTH] + _MARKS[section] + name


def _entry_text(name: str, value: object) -> str:
    return prettyjson.dumps(name) + ": " + prettyjson.dumps(value).replace("\n", _ENTRY)


def _metadata_text(resource: Resource) -> str:
    return prettyjson.dumps(provenance(resource.span, resource.element)).replace("\n", "\n      ")


def _made(
    entries: dict[str, dict[str, Entry]],
    key: str | None,
    part: Template,
    resources: dict[str, Resource],
    alarms: dict[str, Alarm],
) -> None:
    """The entries of a group just built (or of the head), with their holes: a group whose key is
    None, or an entry whose positions are not where they are looked for, is never taken back."""
    body = part.as_dict()
    for section in SECTIONS:
        for name, value in body.get(section, {}).items():
            text = _entry_text(name, value)
            holes: list[Hole] | None = []
            if section == "Resources" and name in resources:
                holes = _holes(text, resources[name], alarms.get(name))
            entry_key = _entry_key(key, section, name) if key is not None and holes is not None else ""
            entries[section][name] = (entry_key, text, holes or [])


def _holes(text: str, resource: Resource, alarm: Alarm | None) -> list[Hole] | None:
    holes: list[Hole] = []
    at = text.find(_METADATA_AT)
    metadata = _metadata_text(resource)
    if at < 0 or not text.startswith(metadata, at + len(_METADATA_AT)):
        return None
    holes.append((at + len(_METADATA_AT), len(metadata), [METADATA]))
    if alarm is not None:
        at = text.find(_DESCRIPTION_AT)
        description = prettyjson.dumps(alarm_description(alarm))
        if at < 0 or not text.startswith(description, at + len(_DESCRIPTION_AT)):
            return None
        holes.append((at + len(_DESCRIPTION_AT), len(description), [DESCRIPTION]))
    return sorted(holes)


def _taken_back(
    fragments: Fragments,
    key: str,
    group: Group,
    resources: dict[str, Resource],
    alarms: dict[str, Alarm],
) -> list[tuple[str, str, Entry]] | None:
    """Every entry of the group from the last clean run's template, positions written anew; None
    when one is missing there or its holes are not the ones expected."""
    prefix = key[:_KEY_LENGTH]
    found: list[tuple[str, str, Entry]] = []
    metadata: dict[tuple[str, int, str], str] = {}  # a group's resources mostly share one position
    for rid, resource in resources.items():
        entry_key = prefix + "R" + rid
        recorded = fragments.recorded(entry_key)
        alarm = alarms.get(rid)
        if recorded is None or [h[2] for h in recorded[1]] != ([[METADATA]] if alarm is None else _ALARM_HOLES):
            return None
        old, holes = recorded
        span = resource.span
        shown = metadata.get((span.file, span.line, resource.element))
        if shown is None:
            shown = metadata[span.file, span.line, resource.element] = _metadata_text(resource)
        at, length, _ = holes[0]
        pieces = [old[:at], shown]
        new_holes: list[Hole] = [(at, len(shown), [METADATA])]
        if alarm is not None:
            at_description, length_description, _ = holes[1]
            description = prettyjson.dumps(alarm_description(alarm))
            pieces += [old[at + length : at_description], description]
            new_holes.append((at_description + len(shown) - length, len(description), [DESCRIPTION]))
            at, length = at_description, length_description
        pieces.append(old[at + length :])
        found.append(("Resources", rid, (entry_key, "".join(pieces), new_holes)))
    others = [("Outputs", name) for name in group.outputs] + [("Parameters", name) for name in group.parameters]
    for section, name in others:
        entry_key = prefix + _MARKS[section] + name
        recorded = fragments.recorded(entry_key)
        if recorded is None or recorded[1]:
            return None
        found.append((section, name, (entry_key, recorded[0], [])))
    return found


_ALARM_HOLES = [[METADATA], [DESCRIPTION]]


def _composed(head: Template, entries: dict[str, dict[str, Entry]], fragments: Fragments) -> str:
    """The whole template's text from its entries, each noted (in document order) for the record."""
    body = head.as_dict()
    for section in SECTIONS:
        body.pop(section, None)
    shown = {section for section in SECTIONS if entries[section] or section in ("Parameters", "Resources")}
    pieces = []
    for name in sorted([*body, *shown]):
        if name not in shown:
            pieces.append(prettyjson.dumps(name) + ": " + prettyjson.dumps(body[name]).replace("\n", "\n  "))
            continue
        listed = entries[name]
        if not listed:
            pieces.append(prettyjson.dumps(name) + ": {}")
            continue
        texts = []
        for entry_name in sorted(listed):
            key, text, holes = listed[entry_name]
            texts.append(text)
            if key:
                fragments.add(key, text, holes)
        pieces.append(prettyjson.dumps(name) + ": {" + _ENTRY + ("," + _ENTRY).join(texts) + "\n  }")
    return "{\n  " + ",\n  ".join(pieces) + "\n}\n"


def _check(
    flow: Flow,
    text: str,
    built: Template,
    sagas: list[Saga],
    names: tuple[set[str], set[str]],
    fragments: Fragments,
    taken: bool,
) -> None:
    """The consistency check of what was built, and of the names what was taken back refers to."""
    resources, parameters = names
    if not taken:
        problems = flow_problems(flow, json.loads(text))  # the template exactly as written
    else:
        previous_resources: set[str] = set()
        previous_parameters: set[str] = set()
        for key in fragments.recorded_keys():
            mark, name = key[_KEY_LENGTH : _KEY_LENGTH + 1], key[_KEY_LENGTH + 1 :]
            if mark == "R":
                previous_resources.add(name)
            elif mark == "P":
                previous_parameters.add(name)
        gone = (previous_resources - resources) | (previous_parameters - parameters)
        if not _mentioned(gone, text):
            known = (resources, resources | parameters | PSEUDO_PARAMETERS)
            problems = flow_part_problems(flow, built.as_dict(), sagas, known)
        else:  # a name the last template had is gone, and something may still refer to it
            problems = flow_problems(flow, json.loads(text))
    if problems:
        raise RuntimeError("flowgen bug: the generated template is inconsistent:\n  " + "\n  ".join(problems))


_MOST_GONE = 16


def _mentioned(gone: set[str], text: str) -> bool:
    """Whether the template may refer to one of the names `gone`: a `Ref`, `Fn::GetAtt` or `DependsOn`
    writes a name as a JSON string, an `Fn::Sub` as `${name}` or `${name.Attribute}` (a name that is
    only part of another string is a false alarm, which costs the whole check, nothing more)."""
    if len(gone) > _MOST_GONE:
        return True
    return any(f'"{name}"' in text or "${" + name in text for name in gone)
