"""The house shows its flow: the layers are kept (import-linter's contracts in
pyproject.toml, run by .ci/run), the package face is lazy, and nothing below the command
line speaks in its flags."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAG = re.compile(r"""["'`][^"'`\n]*?(?<![\w-])--[a-z][a-z-]+""")


def test_import_ledger_loads_no_projection_and_no_database_driver() -> None:
    code = (
        "import sys, ledger; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('projections', 'sqlalchemy', 'psycopg', 'eventsourcing', 'typer', 'rich')))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"


def test_the_command_line_of_a_sqlite_ledger_loads_no_postgresql_driver(tmp_path: Path) -> None:
    code = (
        "import sys; from ledger.cli.main import main; sys.argv = ['arr', 'init', '--db', "
        f"'sqlite:///{tmp_path / 'l.db'}']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'psycopg'))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip().splitlines()[-1] == "[]"


def test_the_package_face_still_names_the_api() -> None:
    import ledger

    assert ledger.Ledger.__module__ == "ledger.app.ledger"
    assert {"Appended", "Ledger", "LedgerError", "Problem", "Refused"} <= set(dir(ledger))


def test_the_layer_contracts_hold() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    found = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True)
    assert found.returncode == 0, found.stdout
    assert "Contracts: 3 kept, 0 broken." in found.stdout


def test_nothing_below_the_command_line_names_a_flag() -> None:
    below = [
        path
        for package in ("ledger", "projections")
        for path in sorted((ROOT / package).rglob("*.py"))
        if "cli" not in path.relative_to(ROOT).parts
    ]
    named = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in below
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if FLAG.search(line) and not line.lstrip().startswith("#")
    ]
    assert named == []
