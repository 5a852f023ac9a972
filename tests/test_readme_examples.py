"""The README's examples run as written: every `arr` line of its shell blocks and every
Python block under the headings below, in a fresh folder, against a sample ledger at the
default `sqlite:///arr.db` (so the lines need no `--db`)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.app.sample import sample_events
from ledger.cli.main import app
from ledger.intake.rows import Row

README = Path(__file__).resolve().parents[1] / "README.md"
HEADINGS = ("## Charts and notebooks",)
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
