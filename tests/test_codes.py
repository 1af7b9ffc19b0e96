"""Diagnostic codes: typed, tied to the rules that emit them, and selectable per project.

- The registry is consistent: one constant per code, named after its slug.
- Each rule emits only the codes `RULES` declares for it, every rule-stage code has
  a rule, and what a rule `requires` is reported before it runs.
- A project turns codes off or makes them errors (`[tool.flowgen] ignore/error`,
  `--disable/--enable/--error`); unknown codes and errors that cannot be ignored
  are usage errors; an error that may be ignored really leaves a model every
  target generates from.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flowgen_design.cli import main
from flowgen_design.codegen.options import GenerateOptions
from flowgen_design.codegen.targets import all_targets
from flowgen_design.dsl import codes
from flowgen_design.dsl.codes import CODES, ErrorCode, Severity, Stage
from flowgen_design.dsl.compiler import check_file
from flowgen_design.dsl.diagnostics import Reporter
from flowgen_design.dsl.loader import load
from flowgen_design.dsl.resolve import resolve
from flowgen_design.dsl.rules import RULES, Rule
from flowgen_design.dsl.selection import Selection, SelectionError, build
from tests.conftest import example_specs
from tests.test_cases import CASE_FILES, expectations

# ---- the registry ---------------------------------------------------------------


def test_each_code_has_one_constant_named_after_its_slug() -> None:
    constants = {name: v for name, v in vars(codes).items() if isinstance(v, ErrorCode)}
    assert sorted(c.code for c in constants.values()) == sorted(CODES)
    for name, entry in constants.items():
        assert name == entry.slug.upper().replace("-", "_"), (name, entry)
    assert len({c.slug for c in CODES.values()}) == len(CODES)


def test_only_warnings_and_marked_errors_can_be_ignored() -> None:
    for entry in CODES.values():
        assert entry.can_ignore == (entry.severity is Severity.WARNING or entry.ignorable)
        if entry.ignorable:
            assert entry.severity is Severity.ERROR and entry.stage is Stage.RULES, entry


# ---- rules declare what they emit and require ----------------------------------


def _rule_outputs(spec: Path) -> Iterator[tuple[Rule, set[str]]]:
    """Each rule with the codes it reported on `spec`, running the pipeline by hand."""
    reporter = Reporter()
    loaded = load(spec, reporter)
    if loaded.root is None:
        return
    flow = resolve(loaded.root, loaded.modules, reporter)
    for rule in RULES:
        before = len(reporter.items)
        rule.run(flow, loaded.modules, reporter)
        yield rule, {d.code for d in reporter.items[before:]}


def test_each_rule_emits_only_the_codes_it_declares() -> None:
    seen: dict[str, set[str]] = {}
    for spec in [*CASE_FILES, *example_specs()]:
        for rule, emitted in _rule_outputs(spec):
            undeclared = emitted - {c.code for c in rule.emits}
            assert not undeclared, f"{rule.name} emitted {sorted(undeclared)} on {spec.name} without declaring them"
            seen.setdefault(rule.name, set()).update(emitted)
    silent = [r.name for r in RULES if not seen.get(r.name)]
    assert not silent, f"rules that no case file makes speak: {silent}"


def test_every_rule_stage_code_is_emitted_by_a_declared_rule() -> None:
    declared = {c.code for r in RULES for c in r.emits}
    missing = [c.code for c in CODES.values() if c.stage is Stage.RULES and c.code not in declared]
    assert not missing, f"codes of the rules stage that no rule declares: {missing}"


def test_the_front_end_reports_only_codes_registered_for_its_stages() -> None:
    """A code the loader, parser or resolver reports records that stage (`stage` or `also`)."""
    for spec in [*CASE_FILES, *example_specs()]:
        reporter = Reporter()
        loaded = load(spec, reporter)
        read = {d.code for d in reporter.items}
        if loaded.root is not None:
            resolve(loaded.root, loaded.modules, reporter)
        resolved = {d.code for d in reporter.items} - read
        for codes_seen, allowed in ((read, {Stage.INPUT, Stage.SYNTAX}), (resolved, {Stage.RESOLVE})):
            for code in codes_seen:
                entry = CODES[code]
                assert {entry.stage, *entry.also} & allowed, f"{spec.name}: {entry} reported by {allowed}"


def test_what_a_rule_requires_is_reported_before_it_runs() -> None:
    for index, rule in enumerate(RULES):
        earlier = {c.code for r in RULES[:index] for c in r.emits}
        for needed in rule.requires:
            assert (
                needed.stage in (Stage.INPUT, Stage.SYNTAX, Stage.RESOLVE) or needed.code in earlier
            ), f"{rule.name} requires {needed}, which no earlier stage or rule reports"


def test_a_rule_sees_only_the_earlier_diagnostics_it_requires(tmp_path: Path) -> None:
    spec = tmp_path / "x.flow"
    spec.write_text(
        "flow x version 1.0.0\nevent A { id: uuid  key id }\nexternal E { publishes A }\n"
        "service S {\n  on A -> run { retry 3 backoff fixed 1s  idempotent by idd }\n}\n"
        "service T {\n  on A -> go { retry 3 backoff fixed 1s  timeout 0s }\n}\n"
    )
    seen: list[tuple[str, ...]] = []
    rule = next(r for r in RULES if r.name == "delivery.check_idempotency")
    spy = Rule(lambda ctx: seen.append(tuple(d.code for d in ctx.earlier)), rule.emits, rule.requires)
    reporter = Reporter()
    loaded = load(spec, reporter)
    assert loaded.root is not None
    spy.run(resolve(loaded.root, loaded.modules, reporter), loaded.modules, reporter)
    assert seen == [("FLOW201",)]  # not the FLOW506 of `timeout 0s`: the rule does not require it
    result = check_file(spec)
    # `run` lost its `idempotent by` to an error already reported: it is not also called not idempotent.
    assert sorted((d.code, d.span.line) for d in result.diagnostics) == [
        ("FLOW201", 5),
        ("FLOW301", 8),
        ("FLOW506", 8),
    ]


# ---- selection ----------------------------------------------------------------


def test_selection_ignores_and_promotes(tmp_path: Path) -> None:
    case = next(p for p in CASE_FILES if p.stem == "published-never-consumed")
    plain = check_file(case)
    assert {d.code for d in plain.diagnostics} == {"FLOW602"} and plain.ok
    assert check_file(case, build(["FLOW602"])).diagnostics == []
    assert check_file(case, build(["published-never-consumed"])).diagnostics == []
    promoted = check_file(case, build(error=["FLOW602"]))
    assert [d.severity for d in promoted.diagnostics] == [Severity.ERROR] and not promoted.ok


def test_the_command_line_adjusts_the_project_lists() -> None:
    assert build(["FLOW602"], enable=["FLOW602"]) == Selection()
    assert build(disable=["flow602"]).ignore == {"FLOW602"}
    assert build(["FLOW602"], promote=["FLOW602"]) == Selection(error=frozenset({"FLOW602"}))
    assert build(["FLOW401"]).ignore == {"FLOW401"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ignore": ["FLOW60"]}, "[tool.flowgen] ignore: unknown diagnostic code `FLOW60`; did you mean"),
        ({"disable": ["published-never-consumd"]}, "did you mean `published-never-consumed`?"),
        ({"promote": ["nothing-like-it"]}, "--error: unknown diagnostic code `nothing-like-it`"),
        ({"ignore": ["FLOW101"]}, "FLOW101 (undefined-name) cannot be ignored"),
        ({"disable": ["syntax-error"]}, "FLOW010 (syntax-error) cannot be ignored"),
        ({"disable": ["FLOW104"]}, "the generated code or infrastructure would break on it"),
    ],
)
def test_unknown_or_unignorable_codes_are_usage_errors(kwargs: dict[str, list[str]], message: str) -> None:
    with pytest.raises(SelectionError, match=None) as caught:
        build(**kwargs)  # type: ignore[arg-type]
    assert message in str(caught.value)


IGNORABLE_ERRORS = sorted(c.code for c in CODES.values() if c.severity is Severity.ERROR and c.can_ignore)


@pytest.mark.slow  # runs every target (black, dot) once per ignorable code
@pytest.mark.parametrize("code", IGNORABLE_ERRORS)
def test_an_ignorable_error_leaves_a_model_every_target_generates_from(code: str, tmp_path: Path) -> None:
    """The proof behind `ignorable=True`: with the error ignored, its case files check clean of
    errors and every target but the review page (which needs `dot`) builds without a flowgen bug."""
    cases = [p for p in CASE_FILES if code in {e.code for e in expectations(p)}]
    assert cases
    targets = all_targets()
    for case in cases:
        result = check_file(case, build([code]))
        assert result.ok and result.flow is not None, [f"{d.code} {d.message}" for d in result.diagnostics]
        for name in ("python", "lambda", "cloudformation", "asyncapi", "diagrams"):
            assert targets[name].build(result.flow, GenerateOptions(out_dir=tmp_path)), (code, name)


# ---- the command line and pyproject.toml -----------------------------------------

WARNS = """\
flow shop version 1.0.0

event OrderShipped { order_id: uuid  key order_id }

service Shipping {
  publishes OrderShipped
}
"""


def _project(tmp_path: Path, flowgen: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f'[tool.flowgen]\nspecs = ["specs"]\n{flowgen}\n')
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "shop.flow").write_text(WARNS)
    return tmp_path


def test_pyproject_ignore_and_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(_project(tmp_path, 'ignore = ["FLOW602"]'))
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["check"]) == 0
    assert capsys.readouterr().out == "checked 1 file: 0 errors, 0 warnings\n"
    assert main(["check", "--enable", "FLOW602"]) == 0
    assert "warning[FLOW602]" in capsys.readouterr().out
    assert main(["check", "--error", "published-never-consumed"]) == 1
    assert "error[FLOW602]" in capsys.readouterr().out


def test_pyproject_error_fails_check_and_generate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(_project(tmp_path, 'error = ["published-never-consumed"]\nout = "generated"'))
    assert main(["check"]) == 1
    assert main(["generate", "--target", "asyncapi"]) == 1
    assert "error[FLOW602]" in capsys.readouterr().err
    assert main(["generate", "--target", "asyncapi", "--disable", "FLOW602"]) == 0


def test_unknown_codes_in_pyproject_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(_project(tmp_path, 'ignore = ["FLOW6022"]'))
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "pyproject.toml [tool.flowgen] ignore: unknown diagnostic code `FLOW6022`; did you mean `FLOW602`?" in err
    assert main(["check", "--disable", "FLOW010"]) == 2


def test_list_codes_names_every_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--list-codes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(CODES)
    assert "FLOW101  error    undefined-name" in lines[[*CODES].index("FLOW101")]
