"""The README's examples run as written: every `arr` line of its shell blocks and every
Python block under the headings below, in a fresh folder, against a sample ledger at the
default `sqlite:///arr.db` (so the lines need no `--db`). Every `--known-at` line of the
README runs against the demo's sample, as the README builds it: history, so each answers
with the figures known then, and November's as closed differ from a week later."""

from __future__ import annotations

import json
import re
import shlex
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.app.sample import sample_events
from ledger.cli.main import app
from ledger.intake.rows import Row

README = Path(__file__).resolve().parents[1] / "README.md"
HEADINGS = ("## Charts and notebooks",)
GET_GOING = "## Get going: two commands"
TABLE_MRR = re.compile(r"^\s*MRR\s+([\d,.]+) ", re.MULTILINE)
SAID_MRR = re.compile(r"#.*MRR ([\d,.]+)$")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def section(text: str, heading: str) -> str:
    """The text under a `## ` heading, up to the next heading of that level."""
    assert f"\n{heading}\n" in text, f"README.md has no {heading!r} section"
    return text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == language]


def examples(language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    return [b for heading in HEADINGS for b in blocks(section(text, heading), language)]


@pytest.fixture
def sample_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder holding a small sample ledger at the default `arr.db`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ARR_DB", raising=False)
    with Ledger.init("sqlite:///arr.db") as ledger:
        rows = sample_events(40, 4)
        ledger.import_rows(Row(f"sample:{n}", r) for n, r in enumerate(rows, start=1))
    return tmp_path


def test_the_readme_shell_lines_run(sample_folder: Path) -> None:
    lines = [
        line for block in examples("sh") for line in block.splitlines() if line.startswith("arr ")
    ]
    assert lines, "the sections show `arr` commands"
    for line in lines:
        result = CliRunner().invoke(app, shlex.split(line, comments=True)[1:])
        assert result.exit_code == 0, f"{line}\n{result.output}"
    assert (sample_folder / "report.html").exists() and (sample_folder / "chart.png").exists()


def test_the_readme_python_runs(sample_folder: Path) -> None:
    code = examples("python")
    assert code, "the sections show Python"
    namespace: dict[str, object] = {}
    for block in code:
        exec(compile(block, str(README), "exec"), namespace)


def known_at_lines() -> list[str]:
    """Every `arr` line of the README's shell blocks that asks `--known-at` (but the
    synopses, with their optional `[...]`)."""
    text = README.read_text(encoding="utf-8")
    lines = [line for block in blocks(text, "sh") for line in block.splitlines()]
    asked = [line for line in lines if line.startswith("arr ") and "--known-at" in line]
    return [line for line in asked if "[" not in line]


def mrr_of(output: str) -> Decimal:
    """The MRR a `report` printed, as JSON or as a table."""
    if output.startswith("{"):
        return Decimal(json.loads(output)["mrr"])
    found = TABLE_MRR.search(output)
    assert found, output
    return Decimal(found[1].replace(",", ""))


def build_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's `arr demo --folder demo && export ARR_DB=...`, in the current folder."""
    text = section(README.read_text(encoding="utf-8"), GET_GOING)
    lines = [line for block in blocks(text, "sh") for line in block.splitlines()]
    (line,) = [line for line in lines if line.startswith("arr demo --folder")]
    demo, export = line.split(" && ")
    result = CliRunner().invoke(app, shlex.split(demo)[1:])
    assert result.exit_code == 0, result.output
    name, value = export.removeprefix("export ").split("=", 1)
    monkeypatch.setenv(name, value)


def test_the_readme_known_at_lines_show_what_was_known_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    build_the_demo(monkeypatch)
    lines = known_at_lines()
    assert len(lines) == 6, lines
    reported: dict[str, dict[str, Decimal]] = {}
    for line in lines:
        words = shlex.split(line, comments=True)
        result = CliRunner().invoke(app, words[1:])
        assert result.exit_code == 0, f"{line}\n{result.output}"
        if words[1] == "report":
            mrr = mrr_of(result.stdout)
            assert mrr > 0, line  # figures, not the zeros of a ledger that knew nothing
            if said := SAID_MRR.search(line):  # the figure the comment gives
                assert f"{mrr:,}" == said[1], line
            as_of, known_at = (words[words.index(flag) + 1] for flag in ("--as-of", "--known-at"))
            reported.setdefault(as_of, {})[known_at] = mrr
        elif words[1] == "restatement":
            assert "late-churn" in result.stdout and "−72,000.00" in result.stdout
        else:
            assert re.search(r"MRR at end +1,831,231.98 USD", result.stdout), line
    assert reported == {
        "2024-06-30": {"2024-07-03": Decimal("1831231.98")},
        # November restated: the same as-of, known at the close and once the late churn arrived
        "2024-11-30": {"2024-12-03": Decimal("2004978.85"), "2024-12-10": Decimal("1932978.85")},
    }
