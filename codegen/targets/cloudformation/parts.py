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
file:line`). A taken-back entry gets both written anew from this run's plan (`_positions`
finds them in the entry; an entry built is kept for the record only when they are found
there as they were written), so an edit that moves every line below it still takes back
every group it does not reach. The record keeps where each entry is (`Fragments.place`:
nothing is searched for in the finished template).

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

from collections.abc import Callable, Sequence
from json.encoder import encode_basestring  # the C implementation when available
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import orjson

from flowgen_design.codegen import prettyjson
from flowgen_design.codegen.aws.plan import Alarm, Plan, Resource
from flowgen_design.codegen.fragments import Fragments, Index, Recorded
from flowgen_design.codegen.targets.cloudformation.observability import alarm_description
from flowgen_design.codegen.targets.cloudformation.template import Json, Template
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
_KEY_LENGTH = 24  # hex digits of the group's key in an entry's: 96 bits
_ENTRY = "\n    "  # an entry of a section, at depth 2
_METADATA_AT = '\n      "Metadata": '  # a resource's own key, at depth 3: deeper lines are indented more
_METADATA_END = "\n      }"
_DESCRIPTION_AT = '\n        "AlarmDescription": '  # a key of its properties, at depth 4

Entry = tuple[str, list[str], int]
"""An entry of a section as the template writes it: its key for the record ("": never to be taken
back), its text in pieces, and the text's length."""


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
    document, index = fragments.previous()
    entries: dict[str, dict[str, Entry]] = {section: {} for section in SECTIONS}
    built = Template(head.description, head.metadata, dict(head.parameters), dict(head.resources))
    built.outputs, built.conditions = dict(head.outputs), dict(head.conditions)
    _made(entries, fragments.key("stack", ()), head, {}, {})
    sagas: list[Saga] = []
    taken = False
    for group in groups:
        key = fragments.key(group.kind, group.inputs)
        resources, alarms = _declared(group)
        reused = _taken_back(document, index, key, group, resources, alarms) if key is not None else None
        if reused is not None:
            taken = True
            for section, name, entry in reused:
                _enter(entries[section], name, entry)
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
    text, placed = _composed(head, entries)
    fragments.place(text, placed)
    _check(flow, text, built, sagas, (set(entries["Resources"]), set(entries["Parameters"])), index, taken)
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


def _metadata_text(resource: Resource) -> str:
    """`prettyjson.dumps(provenance(resource.span, resource.element))` at a resource's depth, written
    here: it is written for every resource taken back (thousands), always of this one shape
    (`tests/test_incremental.py` compares the two)."""
    return (
        '{\n        "flowgen": {\n          "element": '
        + encode_basestring(resource.element)
        + ',\n          "line": '
        + int.__repr__(resource.span.line)
        + ',\n          "spec": '
        + encode_basestring(resource.span.file)
        + "\n        }\n      }"
    )


def _description_text(alarm: Alarm) -> str:
    """`prettyjson.dumps(alarm_description(alarm))`: JSON's text of a string, as `json.dumps` writes it."""
    return encode_basestring(alarm_description(alarm))


def _positions(text: str, start: int, end: int, alarm: bool) -> tuple[int, int, int, int] | None:
    """Where the positions are in the resource entry `text[start:end]`: its `Metadata` value and,
    for an alarm, its `AlarmDescription` value (else -1, -1). No string of JSON holds a line break,
    so these keys at their depth's indentation are the resource's own."""
    metadata = text.find(_METADATA_AT, start, end)
    if metadata < 0:
        return None
    metadata += len(_METADATA_AT)
    metadata_end = text.find(_METADATA_END, metadata, end)
    if metadata_end < 0:
        return None
    metadata_end += len(_METADATA_END)
    if not alarm:
        return metadata, metadata_end, -1, -1
    description = text.find(_DESCRIPTION_AT, metadata_end, end)
    if description < 0:
        return None
    description += len(_DESCRIPTION_AT)
    line_end = text.find("\n", description, end)
    if line_end < 0:
        return None
    return metadata, metadata_end, description, line_end - (text[line_end - 1] == ",")


def _made(
    entries: dict[str, dict[str, Entry]],
    key: str | None,
    part: Template,
    resources: dict[str, Resource],
    alarms: dict[str, Alarm],
) -> None:
    """The entries of a group just built (or of the head). An entry is never taken back when its
    group's key is None, or when its positions are not where `_positions` finds them."""
    body = part.as_dict()
    for section in SECTIONS:
        for name, value in body.get(section, {}).items():
            text = prettyjson.dumps(name) + ": " + prettyjson.dumps(value).replace("\n", _ENTRY)
            kept = key is not None
            if kept and section == "Resources" and name in resources:
                kept = _found_where_looked_for(text, resources[name], alarms.get(name))
            entry_key = _entry_key(key, section, name) if key is not None and kept else ""
            _enter(entries[section], name, (entry_key, [text], len(text)))


def _enter(section: dict[str, Entry], name: str, entry: Entry) -> None:
    """One entry of a section: two groups giving the same name would overwrite each other."""
    if name in section:
        raise ValueError(f"bug: two entries named {name}")
    section[name] = entry


def _found_where_looked_for(text: str, resource: Resource, alarm: Alarm | None) -> bool:
    found = _positions(text, 0, len(text), alarm is not None)
    if found is None or text[found[0] : found[1]] != _metadata_text(resource):
        return False
    return alarm is None or text[found[2] : found[3]] == _description_text(alarm)


def _taken_back(
    document: str,
    index: Index,
    key: str,
    group: Group,
    resources: dict[str, Resource],
    alarms: dict[str, Alarm],
) -> list[tuple[str, str, Entry]] | None:
    """Every entry of the group from the last clean run's template, positions written anew; None
    when one is missing there."""
    prefix = key[:_KEY_LENGTH]
    found: list[tuple[str, str, Entry]] = []
    metadata: dict[tuple[int, str], str] = {}  # a group's resources mostly share one position (span)
    for rid, resource in resources.items():
        entry_key = prefix + "R" + rid
        placed = index.place(entry_key)
        if placed is None:
            return None
        start, end = placed[0], placed[0] + placed[1]
        alarm = alarms.get(rid)
        at = _positions(document, start, end, alarm is not None)
        if at is None:
            return None
        shown = metadata.get((id(resource.span), resource.element))
        if shown is None:
            shown = metadata[id(resource.span), resource.element] = _metadata_text(resource)
        length = end - start + len(shown) - (at[1] - at[0])
        if alarm is None:
            pieces = [document[start : at[0]], shown, document[at[1] : end]]
        else:
            description = _description_text(alarm)
            pieces = [document[start : at[0]], shown, document[at[1] : at[2]], description, document[at[3] : end]]
            length += len(description) - (at[3] - at[2])
        found.append(("Resources", rid, (entry_key, pieces, length)))
    others = [("Outputs", name) for name in group.outputs] + [("Parameters", name) for name in group.parameters]
    for section, name in others:
        entry_key = prefix + _MARKS[section] + name
        placed = index.place(entry_key)
        if placed is None:
            return None
        offset, length = placed
        found.append((section, name, (entry_key, [document[offset : offset + length]], length)))
    return found


def _composed(head: Template, entries: dict[str, dict[str, Entry]]) -> tuple[str, list[Recorded]]:
    """The whole template's text from its entries, and where each entry to keep is in it."""
    body = head.as_dict()
    for section in SECTIONS:
        body.pop(section, None)
    shown = {section for section in SECTIONS if entries[section] or section in ("Parameters", "Resources")}
    pieces: list[str] = []
    placed: list[Recorded] = []
    offset = 0
    for number, name in enumerate(sorted([*body, *shown])):
        opening = ("{\n  " if number == 0 else ",\n  ") + prettyjson.dumps(name) + ": "
        if name not in shown:
            opening += prettyjson.dumps(body[name]).replace("\n", "\n  ")
        elif not entries[name]:
            opening += "{}"
        pieces.append(opening)
        offset += len(opening)
        if name not in shown or not entries[name]:
            continue
        listed = entries[name]
        separator = "{" + _ENTRY
        for entry_name in sorted(listed):
            key, text, length = listed[entry_name]
            pieces.append(separator)
            offset += len(separator)
            if key:
                placed.append(Recorded(key, offset, length, []))
            pieces += text
            offset += length
            separator = "," + _ENTRY
        pieces.append("\n  }")
        offset += 4
    pieces.append("\n}\n")
    return "".join(pieces), placed


def _check(
    flow: Flow,
    text: str,
    built: Template,
    sagas: list[Saga],
    names: tuple[set[str], set[str]],
    index: Index,
    taken: bool,
) -> None:
    """The consistency check of what was built, and of the names what was taken back refers to."""
    resources, parameters = names
    if not taken:
        problems = flow_problems(flow, orjson.loads(text))  # the template exactly as written
    else:
        previous_resources: set[str] = set()
        previous_parameters: set[str] = set()
        for key in index:
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
            problems = flow_problems(flow, orjson.loads(text))
    if problems:
        raise RuntimeError("flowgen bug: the generated template is inconsistent:\n  " + "\n  ".join(problems))


_MOST_GONE = 16


def _mentioned(gone: set[str], text: str) -> bool:
    """Whether the template may refer to one of the names `gone`: a `Ref`, `Fn::GetAtt` or `DependsOn`
    writes a name as a JSON string, an `Fn::Sub` as `${name}` or `${name.Attribute}` (a name that is
    only part of another string is a false alarm, which costs the whole check, nothing more)."""
    if len(gone) > _MOST_GONE:
        return True
    # Both forms hold the name itself: one pass over the text each, the forms only where it is.
    return any(name in text and (f'"{name}"' in text or "${" + name in text) for name in gone)
