"""`arr chart`: one offline HTML file that renders in a real headless Chromium, and a PNG.

The ledger of these tests, worked out by hand (SPEC §4-6):
* acme: $1,000/month from 2024-01-01; bolt: $500/month from 2024-02-01, churned 2024-03-01.
* Month ends: ARR 12,000 (Jan), 18,000 (Feb), 12,000 (Mar).
* Movements: new 1,000 in Jan, new 500 in Feb, churn 500 in Mar.
* NRR/GRR: Jan undefined (nobody active on 2023-12-31); Feb 1.0000 (acme 1,000 → 1,000);
  Mar 1000/1500 = 0.6667 for both.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger import Ledger, LedgerError
from ledger.cli.main import app
from projections.render.png import pyplot
from projections.render.svg import compact, ticks
from tests.conftest import event, new, record

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)


def arr(db_url: str, command: str) -> Any:
    return CliRunner().invoke(app, [*command.split(), "--db", db_url])


@pytest.fixture
def charted(db_url: str, tmp_path: Path) -> Path:
    """The HTML report of the ledger above, every month of 2024-Q1."""
    with Ledger.init(db_url) as ledger:
        record(
            ledger,
            new("acme", "a1", "2024-01-01", "1000"),
            new("bolt", "b1", "2024-02-01", "500"),
            event("churn", "bolt", "2024-03-01", subscription_id="b1"),
        )
    page = tmp_path / "report.html"
    result = arr(db_url, f"chart --from 2024-01-01 --to 2024-03-31 --every month -o {page}")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {page}: 3 periods, every month\n"
    return page


def chromium(page: Path, profile: Path) -> tuple[str, str]:
    """Loads the page in headless Chromium: the DOM after scripts ran, and the log."""
    binary = shutil.which("chromium")
    assert binary, "Debian's chromium is needed (installed by .ci/run)"
    done = subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def console_messages(log: str) -> list[str]:
    """Every message the page wrote to the console, errors and blocked fetches included."""
    return [line for line in log.splitlines() if ":CONSOLE" in line]


def test_ticks_are_round_and_cover_the_figures() -> None:
    assert ticks(Decimal(0), Decimal(12000)) == [0, 5000, 10000, 15000]
    # span 0.3333 / 5 = 0.0667 → step 0.1 (the first of 0.01, 0.02, 0.05, 0.1 above it)
    tenths = [Decimal("0.6"), Decimal("0.7"), Decimal("0.8"), Decimal("0.9"), Decimal(1)]
    assert ticks(Decimal("0.6667"), Decimal(1)) == tenths
    assert compact(Decimal(1250000)) == "1.25M"
    assert compact(Decimal(-50000)) == "−50k"


def test_the_page_holds_the_figures_worked_out_by_hand(charted: Path) -> None:
    html = charted.read_text(encoding="utf-8")
    assert "<title>ARR report, 2024-01-01 to 2024-03-31</title>" in html
    for tip in (
        "2024-01-31: ARR 12,000.00 USD",
        "2024-02-29: ARR 18,000.00 USD",
        "2024-03-31: ARR 12,000.00 USD",
        "2024-01-31: new 1,000.00 USD",
        "2024-02-29: new 500.00 USD",
        "2024-03-31: churn −500.00 USD",
        "2024-03-31: net new −500.00 USD",
        "2024-02-29: NRR 1.0000",
        "2024-03-31: GRR 0.6667",
    ):
        assert f"<title>{tip}</title>" in html, tip
    assert "2024-01-31: NRR" not in html  # undefined: a gap, not a zero
    figures = re.search(r'<table class="figures">(.*?)</table>', html)
    assert figures is not None
    assert '<tr><th>ARR</th><td class="num">12,000.00 USD</td></tr>' in figures.group(1)


def test_the_page_fetches_nothing(charted: Path) -> None:
    html = charted.read_text(encoding="utf-8")
    assert "default-src 'none'" in html
    assert not re.search(r"\b(src|href)\s*=", html)
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://www.w3.org/2000/svg"] * 3


def test_chromium_renders_every_chart_without_console_errors(charted: Path, tmp_path: Path) -> None:
    dom, log = chromium(charted, tmp_path / "profile")
    assert console_messages(log) == []
    drawn = re.search(r'data-rendered="([^"]*)"', dom)
    assert drawn is not None, dom[:500]
    # ARR: area, line, 3 dots. Movements: 3 bars, the net line, 3 dots.
    # NRR and GRR: a line and 2 dots each (January is undefined).
    assert drawn.group(1) == "arr-chart:5 movements-chart:7 retention-chart:6"


def test_the_browser_check_catches_console_errors(tmp_path: Path) -> None:
    """The check above can fail: a page that logs an error or fetches is caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><html><head><meta http-equiv='Content-Security-Policy' "
        "content=\"default-src 'none'; script-src 'unsafe-inline'\"></head><body>"
        "<img src='https://example.com/a.png'><script>console.error('boom')</script>"
        "</body></html>"
    )
    _dom, log = chromium(page, tmp_path / "profile")
    messages = console_messages(log)
    assert len(messages) == 2 and any("boom" in m for m in messages)


def test_png_has_the_arr_and_movements_charts(charted: Path, db_url: str) -> None:
    picture = charted.with_name("chart.png")
    result = arr(db_url, f"chart --from 2024-01-01 --to 2024-03-31 -o {picture}")
    assert result.exit_code == 0, result.output
    data = picture.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1210, 825)  # 11 × 7.5 inches at 110 dpi


def test_without_matplotlib_a_png_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(LedgerError, match=r"pip install 'arr-ledger\[charts\]'"):
        pyplot()


def test_an_unknown_output_kind_is_a_usage_error(charted: Path, db_url: str) -> None:
    result = arr(
        db_url, f"chart --from 2024-01-01 --to 2024-03-31 -o {charted.with_suffix('.pdf')}"
    )
    assert result.exit_code == 2
    assert "--output suffix: 'pdf' is not one of html, png" in result.output


def test_from_after_to_is_a_usage_error(charted: Path, db_url: str) -> None:
    result = arr(db_url, f"chart --from 2024-04-01 --to 2024-03-31 -o {charted}")
    assert result.exit_code == 2
