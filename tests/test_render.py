"""Readable output: the SPEC's words, separators, the currency, outflows marked; JSON and
CSV unchanged; progress only on a terminal."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from ledger.cli.progress import steps, tracked
from projections.render.text import figures, grouped, money_cell, show, table
from tests.conftest import event, new, record


def arr(db_url: str, command: str) -> Any:
    return CliRunner().invoke(app, [*command.split(), "--db", db_url])


def printed(renderable: Any, width: int = 200, terminal: bool = False) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=terminal, no_color=True)
    show(console, renderable)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return text


def test_money_is_grouped_with_a_true_minus_sign() -> None:
    assert grouped("1234567.50") == "1,234,567.50"
    assert grouped("-1234.00") == "−1,234.00"
    assert grouped("0.00") == "0.00"


def test_outflows_read_negative_and_red_but_a_zero_is_not_marked() -> None:
    churn = money_cell("churn", "500.00", "USD")
    assert (churn.plain, str(churn.style)) == ("−500.00 USD", "red")
    assert money_cell("contraction", "0.00", "USD").plain == "0.00 USD"
    assert money_cell("net_new", "-1500.25", "USD").plain == "−1,500.25 USD"
    assert money_cell("new", "1500.25", "USD").plain == "1,500.25 USD"


def test_figures_use_the_spec_words_and_the_currency() -> None:
    text = printed(figures("Report", {"mrr": "1000.00", "arr": "12000.00", "acv": None}, "EUR"))
    assert "MRR" in text and "1,000.00 EUR" in text
    assert "ARR" in text and "12,000.00 EUR" in text
    assert "ACV" in text and "—" in text


def test_a_table_heads_money_with_the_currency_and_says_shared_context_once() -> None:
    rows = [
        {"as_of": "2024-01-31", "position": 7, "currency": "USD", "net_new": "-100.00"},
        {"as_of": "2024-02-29", "position": 7, "currency": "USD", "net_new": "2500.00"},
    ]
    text = printed(table("Series", rows, "USD"))
    assert "net new (USD)" in text
    assert "currency USD · position 7" in text
    assert "−100.00" in text and "2,500.00" in text
    assert "USD " not in text.split("net new (USD)")[1].split("currency")[0]


@pytest.mark.parametrize("terminal", [False, True])
def test_a_wide_table_is_printed_whole(terminal: bool) -> None:
    """Piped or on a narrow terminal: no figure cut short, folded, or dropped."""
    rows = [{f"figure_{n}": "1234567.89" for n in range(12)} | {"mrr": "1234567.89"}]
    text = printed(table("Wide", rows), width=80, terminal=terminal)
    assert text.count("1234567.89") == 12
    assert text.count("1,234,567.89") == 1
    assert "…" not in text


def test_report_table_reads_like_the_spec(db_url: str) -> None:
    """SPEC §8 example 1: a monthly $1,000 subscription is MRR 1,000, ARR 12,000."""
    with Ledger.init(db_url) as ledger:
        record(ledger, new("acme", "s1", "2024-01-01", "1000"))
    result = arr(db_url, "report --as-of 2024-06-30")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.split() == ["MRR", "1,000.00", "USD"] for line in lines)
    assert any(line.split() == ["ARR", "12,000.00", "USD"] for line in lines)
    assert any(line.split() == ["active", "customers", "1"] for line in lines)


def test_json_and_csv_are_unchanged_for_machines(db_url: str) -> None:
    with Ledger.init(db_url) as ledger:
        record(ledger, new("acme", "s1", "2024-01-01", "1000"))
    shown = json.loads(arr(db_url, "report --as-of 2024-06-30 --format json").stdout)
    assert (shown["mrr"], shown["arr"]) == ("1000.00", "12000.00")
    csv_lines = arr(db_url, "report --as-of 2024-06-30 --format csv").stdout.splitlines()
    assert csv_lines[0].startswith("as_of,position,currency,fx_policy,mrr,arr,")
    assert ",1000.00,12000.00," in csv_lines[1]


def test_a_churn_is_marked_negative_in_the_movements_table(db_url: str) -> None:
    """$100/month from 2024-01-01, churned 2024-03-01: a churn of 100 in (Jan 31, Mar 31]."""
    with Ledger.init(db_url) as ledger:
        record(
            ledger,
            new("acme", "s1", "2024-01-01", "100"),
            event("churn", "acme", "2024-03-01", subscription_id="s1"),
        )
    result = arr(db_url, "movements --from 2024-01-31 --to 2024-03-31")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.split() == ["churn", "−100.00", "USD"] for line in lines)
    assert any(line.split() == ["net", "new", "−100.00", "USD"] for line in lines)


def test_import_prints_no_progress_when_piped(db_url: str, tmp_path: Any) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(new("acme", "s1", "2024-01-01", "100")) + "\n")
    Ledger.init(db_url).close()
    result = arr(db_url, f"import {events}")
    assert result.exit_code == 0, result.output
    assert result.output == "imported 1 events, skipped 0 already recorded (positions 1-1)\n"


def test_progress_draws_a_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Console(file=io.StringIO(), force_terminal=True, width=100)
    assert list(tracked(range(5), "counting", 5, screen)) == [0, 1, 2, 3, 4]
    assert screen.file.getvalue() == ""  # type: ignore[attr-defined]  # stdout is piped here
    monkeypatch.setattr("ledger.cli.progress.on_terminal", lambda screen: True)
    with steps(screen) as stages:
        assert list(stages.track(range(5), "counting", 5, then="writing")) == [0, 1, 2, 3, 4]
    drawn = screen.file.getvalue()  # type: ignore[attr-defined]
    assert "counting" in drawn and "5/5" in drawn
