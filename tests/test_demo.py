"""`arr demo` and the help: what a newcomer sees first, and every command it suggests works.

The demo always builds an embedded SQLite ledger (that is the point: nothing to set up),
so it runs on SQLite only; its suggested commands are run against it as printed.
"""

from __future__ import annotations

import shlex
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.demo import AS_OF, RESTATED
from ledger.cli.main import app


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The demo's output, once for the module, and the folder it built the sample in."""
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["demo", "--folder", str(folder)])
    assert result.exit_code == 0, result.output
    return result.stdout, folder


def test_demo_shows_the_report_the_movements_and_a_restatement(demo: tuple[str, Path]) -> None:
    shown, folder = demo
    url = f"sqlite:///{folder / 'demo.db'}"
    assert f"Built a sample ledger at {url}" in shown
    assert "300 customers" in shown and "backdated to 2024-11-01" in shown
    assert f"Report as of {AS_OF}" in shown
    assert "MRR movements, last 12 months (USD)" in shown
    assert all(f"2024-{month:02d}-" in shown for month in range(1, 13))
    assert f"How the late churn restated the figures as of {RESTATED}:" in shown
    assert "caused by churn late-churn of " in shown
    assert "…" not in shown  # nothing cut short


def test_a_folder_that_holds_a_demo_is_refused(demo: tuple[str, Path]) -> None:
    _shown, folder = demo
    result = CliRunner().invoke(app, ["demo", "--folder", str(folder)])
    assert result.exit_code == 2
    assert "already holds a demo ledger" in result.output


def test_the_restatement_shown_is_the_late_churn(demo: tuple[str, Path]) -> None:
    """Before: the ledger one position short of the late churn; after: now. The change of
    MRR is exactly the churned contract's MRR, shown as its (negative) MRR effect."""
    shown, folder = demo
    with Ledger.open(f"sqlite:///{folder / 'demo.db'}") as ledger:
        head = ledger.head()
        before = ledger.report(RESTATED, position=head - 1).as_json()
        after = ledger.report(RESTATED).as_json()
        (late,) = [e for e in ledger.entries() if e.position == head]
    assert late.event.event_id == "late-churn" and late.event.effective_date == date(2024, 11, 1)
    restated = shown.split("known at the close → now")[1].splitlines()
    mrr_line = next(line for line in restated if line.split()[:1] == ["MRR"])
    change = Decimal(after["mrr"]) - Decimal(before["mrr"])
    assert change < 0
    assert mrr_line.split() == [
        "MRR",
        f"{Decimal(before['mrr']):,}",
        f"{Decimal(after['mrr']):,}",
        f"−{-change:,}",
    ]


def test_every_suggested_command_runs_against_the_sample(
    demo: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown, _folder = demo
    after = shown.split("Try next, against the sample:")[1].splitlines()
    suggested = [line for line in after if line.startswith("  arr ")]
    assert len(suggested) == 7
    monkeypatch.chdir(tmp_path)
    for line in suggested:
        words = shlex.split(line)
        assert words[0] == "arr" and "--db" in words, line
        result = CliRunner().invoke(app, words[1:])
        assert result.exit_code == 0, f"{line}\n{result.output}"
    assert (tmp_path / "report.html").stat().st_size > 10_000


def test_the_suggested_python_gives_a_data_frame(demo: tuple[str, Path]) -> None:
    shown, _folder = demo
    lines = [line.split(">>> ", 1)[1] for line in shown.splitlines() if ">>> " in line]
    namespace: dict[str, object] = {}
    exec("\n".join([*lines[:-1], f"frame = {lines[-1]}"]), namespace)
    frame: Any = namespace["frame"]
    assert len(frame) == 12 and frame.index[-1].isoformat() == "2024-12-31T00:00:00"
    namespace["ledger"].close()  # type: ignore[attr-defined]


def leaves(group: TyperGroup, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """Every runnable command and its help text, through command groups."""
    found = []
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            found += leaves(command, (*path, name))
        else:
            found.append(((*path, name), command.help or ""))
    return found


def test_every_command_says_what_it_does_with_an_example() -> None:
    commands = leaves(typer.main.get_group(app))
    assert {"demo", "report", "chart", "import"} <= {path[-1] for path, _ in commands}
    for path, text in commands:
        assert f"Example: arr {' '.join(path)}" in text, path
        assert len(text.split("Example:")[0].strip()) > 20, path
    top = CliRunner().invoke(app, ["--help"])
    assert "Start with `arr demo`" in top.output and "Example: arr init" in top.output
