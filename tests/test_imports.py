"""Imports: paths relative to the importing file, one namespace, cycles, diamonds, missing files."""

from __future__ import annotations

import json
from pathlib import Path

from flowgen_design.dsl.compiler import CheckResult, check_file
from tests.conftest import Runner

MONEY = """\
flow shared version 1.0.0

type Money {
  amount: int
  currency: Currency
}
"""

CURRENCY = """\
flow shared version 1.0.0

enum Currency { EUR USD }
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def spec(imports: list[str], body: str = "") -> str:
    lines = "".join(f'import "{i}"\n' for i in imports)
    return f"flow shop version 1.0.0\n{lines}\n{body}"


def summary(result: CheckResult) -> list[tuple[str, str, int]]:
    return [(d.code, Path(d.span.file).name, d.span.line) for d in result.diagnostics]


def test_paths_are_relative_to_the_importing_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": "",  # the project folder: `..` may climb up to it
            "shared/money.flow": MONEY.replace(
                "flow shared version 1.0.0\n", 'flow shared version 1.0.0\nimport "currency/codes.flow"\n'
            ),
            "shared/currency/codes.flow": CURRENCY,
            "orders/shop.flow": spec(["../shared/money.flow"], "type Order { total: Money  currency: Currency }\n"),
        },
    )
    result = check_file(tmp_path / "orders" / "shop.flow")
    assert result.diagnostics == []
    assert result.flow is not None
    assert [r.name for r in result.flow.records] == ["Money", "Order"]
    assert [e.name for e in result.flow.enums] == ["Currency"]
    assert result.flow.name == "shop"


def test_two_specs_share_the_types_of_one_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "money.flow": MONEY,
            "currency.flow": CURRENCY,
            "shop.flow": spec(["money.flow", "currency.flow"], "type Order { total: Money }\n"),
            "billing.flow": spec(["money.flow", "currency.flow"], "type Invoice { due: Money }\n"),
        },
    )
    shop, billing = check_file(tmp_path / "shop.flow"), check_file(tmp_path / "billing.flow")
    assert shop.diagnostics == billing.diagnostics == []
    assert shop.flow is not None and billing.flow is not None
    money = [r for r in shop.flow.records if r.name == "Money"]
    assert money == [r for r in billing.flow.records if r.name == "Money"]


def test_the_money_import_of_the_example_specs_resolves(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent / "specs"
    for name in ("checkout.flow", "travel.flow"):
        result = check_file(root / name)
        assert [d for d in result.diagnostics if d.is_error] == []
        assert result.flow is not None and "Money" in {r.name for r in result.flow.records}


def test_a_cycle_is_reported_with_its_chain_at_the_import_that_closes_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.flow": spec(["b.flow"], "type A { id: uuid }\n"),
            "b.flow": spec(["a.flow"], "type B { a: A }\n"),
        },
    )
    result = check_file(tmp_path / "a.flow")
    assert summary(result) == [("FLOW021", "b.flow", 2)]
    message = result.diagnostics[0].message
    assert message.startswith("import cycle: ")
    chain = [Path(part).name for part in message.removeprefix("import cycle: ").split(" -> ")]
    assert chain == ["a.flow", "b.flow", "a.flow"]


def test_a_longer_cycle_names_every_file(tmp_path: Path) -> None:
    write(tmp_path, {"a.flow": spec(["b.flow"]), "b.flow": spec(["c.flow"]), "c.flow": spec(["a.flow"])})
    result = check_file(tmp_path / "a.flow")
    assert summary(result) == [("FLOW021", "c.flow", 2)]
    chain = [Path(p).name for p in result.diagnostics[0].message.removeprefix("import cycle: ").split(" -> ")]
    assert chain == ["a.flow", "b.flow", "c.flow", "a.flow"]


def test_a_diamond_loads_the_shared_file_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "currency.flow": CURRENCY,
            "money.flow": spec(["currency.flow"], "type Money { amount: int  currency: Currency }\n"),
            "price.flow": spec(["currency.flow"], "type Price { net: int  currency: Currency }\n"),
            "shop.flow": spec(["money.flow", "price.flow"], "type Order { total: Money  price: Price }\n"),
        },
    )
    result = check_file(tmp_path / "shop.flow")
    assert result.diagnostics == []
    assert [Path(m.path).name for m in result.modules] == ["currency.flow", "money.flow", "price.flow", "shop.flow"]
    assert result.flow is not None and [e.name for e in result.flow.enums] == ["Currency"]


def test_a_missing_import_points_at_its_path(tmp_path: Path) -> None:
    write(tmp_path, {"shop.flow": spec(["shared/money.flow"], "type Order { id: uuid }\n")})
    result = check_file(tmp_path / "shop.flow")
    assert summary(result) == [("FLOW020", "shop.flow", 2)]
    d = result.diagnostics[0]
    assert (d.span.column, d.span.end_column) == (8, 8 + len('"shared/money.flow"'))
    assert d.message.startswith('cannot import "shared/money.flow": no such file ')
    assert d.message.endswith(str(Path("shared") / "money.flow"))
    assert d.hint == "import paths are relative to the importing file"


def test_importing_a_folder_is_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "money.flow").mkdir()
    write(tmp_path, {"shop.flow": spec(["money.flow"])})
    assert summary(check_file(tmp_path / "shop.flow")) == [("FLOW020", "shop.flow", 2)]


def test_errors_in_an_imported_file_are_located_there(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"money.flow": "flow shared version 1.0.0\ntype Money { amount: int;\n}\n", "shop.flow": spec(["money.flow"])},
    )
    result = check_file(tmp_path / "shop.flow")
    assert summary(result) == [("FLOW010", "money.flow", 2)]


def test_a_name_declared_in_two_files_is_a_duplicate(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "money.flow": MONEY + "\n" + CURRENCY.split("\n", 1)[1],
            "shop.flow": spec(["money.flow"], "type Money { cents: int }\n"),
        },
    )
    result = check_file(tmp_path / "shop.flow")
    assert summary(result) == [("FLOW102", "shop.flow", 4)]
    assert "money.flow:3:6" in (result.diagnostics[0].hint or "")


def test_checking_a_folder_checks_every_file_and_reports_shared_problems_once(flowgen: Runner, tmp_path: Path) -> None:
    broken_money = MONEY.replace("currency: Currency", "currency: Curency")
    write(
        tmp_path,
        {
            "specs/shared/money.flow": broken_money,
            "specs/shared/currency.flow": CURRENCY,
            "specs/shop.flow": spec(["shared/money.flow", "shared/currency.flow"], "type Order { total: Money }\n"),
            "specs/billing.flow": spec(["shared/money.flow", "shared/currency.flow"], "type Invoice { id: uuid }\n"),
        },
    )
    result = flowgen("check", "--format", "json", "specs", cwd=tmp_path)
    rows = json.loads(result.stdout)
    assert [(r["code"], r["file"], r["line"], r["hint"]) for r in rows] == [
        ("FLOW101", str(Path("specs/shared/money.flow")), 5, "did you mean `Currency`?")
    ]
    assert result.returncode == 1
    text = flowgen("check", "specs", cwd=tmp_path)
    assert text.stdout.splitlines()[-1] == "checked 4 files: 1 error, 0 warnings"


def test_impossible_import_paths_are_located_errors(tmp_path: Path) -> None:
    long_name = "a" * 5000 + ".flow"
    write(tmp_path, {"shop.flow": spec([long_name, "", "sub"])})
    (tmp_path / "sub").mkdir()
    result = check_file(tmp_path / "shop.flow")
    assert summary(result) == [("FLOW001", "shop.flow", 2), ("FLOW020", "shop.flow", 3), ("FLOW020", "shop.flow", 4)]
    too_long, empty, folder = result.diagnostics
    assert too_long.message.endswith('...": File name too long') and len(too_long.message) < 120
    assert empty.message.endswith("is a folder, not a spec file")
    assert folder.message.endswith(f"{Path('sub')} is a folder, not a spec file")


def test_imports_stay_inside_the_project_and_never_quote_another_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.flow"
    secret.write_text("TOP SECRET first line\n")
    project = tmp_path / "project"
    write(
        project,
        {
            "pyproject.toml": "",
            "specs/shop.flow": spec(["../../secret.flow", str(secret), "link.flow", "../specs/ok.flow"]),
            "specs/ok.flow": "flow ok version 1.0.0\n",
        },
    )
    (project / "specs" / "link.flow").symlink_to(secret)
    result = check_file(project / "specs" / "shop.flow")
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("FLOW022", 2), ("FLOW022", 3), ("FLOW022", 4)]
    assert all("TOP SECRET" not in d.message + (d.hint or "") for d in result.diagnostics)
    assert all("TOP SECRET" not in text for text in result.sources.values())


def test_without_a_pyproject_the_spec_folder_is_the_project(tmp_path: Path) -> None:
    write(tmp_path, {"a/shop.flow": spec(["../b/lib.flow"]), "b/lib.flow": "flow lib version 1.0.0\n"})
    result = check_file(tmp_path / "a" / "shop.flow")
    assert [d.code for d in result.diagnostics] == ["FLOW022"]


def test_an_import_that_is_a_loop_of_links_is_a_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "loop.flow").symlink_to(tmp_path / "loop.flow")
    write(tmp_path, {"shop.flow": spec(["loop.flow"])})
    result = check_file(tmp_path / "shop.flow")
    assert [d.code for d in result.diagnostics] == ["FLOW001"]
    assert "loop" in result.diagnostics[0].message or "symbolic" in result.diagnostics[0].message


def test_a_spec_that_is_a_loop_of_links_is_a_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "loop.flow").symlink_to(tmp_path / "loop.flow")
    result = check_file(tmp_path / "loop.flow")
    assert [d.code for d in result.diagnostics] == ["FLOW001"]
