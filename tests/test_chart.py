"""`arr chart`: one offline HTML file that renders in a real headless Chromium, and a PNG.

The ledger of these tests, worked out by hand (SPEC §4-6):
* acme: $1,000/month from 2024-01-01; bolt: $500/month from 2024-02-01, churned 2024-03-01.
* Month ends: ARR 12,000 (Jan), 18,000 (Feb), 12,000 (Mar).
* Movements: new 1,000 in Jan, new 500 in Feb, churn 500 in Mar.
* NRR/GRR: Jan undefined (nobody active on 2023-12-31); Feb 1.0000 (acme 1,000 → 1,000);
  Mar 1000/1500 = 0.6667 for both.
* Quick ratio: Jan and Feb undefined (nothing flowed out); Mar 0 / 500 = 0.0000.

The `bridged` ledger moves MRR every way in March 2024, the period its bridge shows:
* acme $1,000/month, bolt $500, cora $400, dash $250, all from 2024-01-01; dash churns
  2024-02-01. On 2024-03-01 acme upgrades to $1,200 (expansion 200), bolt downgrades to
  $300 (contraction 200), cora churns (churn 400), dash comes back at $350 (reactivation
  350); eve starts at $150 on 2024-03-15 (new 150).
* MRR 2,150 (Jan), 1,900 (Feb), 2,000 (Mar); active customers 4, 3, 4; ARPA 537.50,
  633.33 (1900/3), 500.00.
* March's bridge: 1,900 + 150 + 200 + 350 − 200 − 400 = 2,000.
* Quick ratio: Jan undefined (2,150 in, nothing out); Feb 0 / 250 = 0.0000; Mar
  (150 + 200 + 350) / (200 + 400) = 700/600 = 1.1667.

The `paused` ledger has SPEC §11's trials, pauses and discounts in 2024-Q1:
* acme $1,000/month from 2024-01-01, 25% off from 2024-02-01 (no end): MRR 750 from Feb
  (contraction 250 in Feb; discounts 250).
* bolt $300/month from 2024-01-01, paused 2024-02-01 with resume_date 2024-03-01: paused
  300 in Feb, resumed 300 in Mar (not a reactivation).
* cora $200/month from 2024-01-01, paused 2024-03-10 with no resume date: paused 200 in
  Mar; paused at 2024-03-31 (MRR 0, a paused subscription).
* dash on a trial from 2024-03-20 to 2024-04-19: trialing on 2024-03-31, MRR 0.
* MRR 1,500 (Jan), 950 (Feb: 750 + 0 + 200), 1,050 (Mar: 750 + 300 + 0); net new 1,500,
  −550 (−250 − 300), +100 (+300 − 200).
* As of 2024-03-31: active customers 2 (acme, bolt), trialing contracts 1 (dash), paused
  customers 1 (cora), discounts 250.00 (acme's 1,000 list less 750 net).
* March's bridge: 950 + 300 (resumed) − 200 (paused) = 1,050.

The `retained` ledger has a year behind 2024-Q1, for the 12-month lines and the cohorts:
* acme $1,000/month from 2023-01-01, $1,200 from 2023-06-01; bolt $500/month from
  2023-02-01, churned 2024-02-01; cora $300/month from 2024-01-10, $450 from 2024-03-01;
  dash $200/month from 2024-02-05.
* NRR 12m at 2024-01-31: acme, the only customer active on 2023-01-31, 1,000 → 1,200:
  1.2000; GRR 12m 1000/1000 = 1.0000. At 2024-02-29 and 2024-03-31: acme and bolt were
  active 12 months before (1,500); now acme 1,200 and bolt 0: NRR 12m 1200/1500 = 0.8000,
  GRR 12m (1000 + 0)/1500 = 0.6667.
* Cohorts by month started in the range: 2024-01 (cora, 300: 100%, 100%, then 450/300 =
  150% in March) and 2024-02 (dash, 200: 100%, 100%); acme and bolt started before it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from ledger import Ledger, LedgerError
from ledger.cli import chart as chart_cli
from ledger.cli.main import app
from projections.render.chart import bridge_steps, headline, movements_chart, quick_ratio
from projections.render.png import figure, limits, pyplot, write_png
from projections.render.svg import brief, compact, ticks
from tests.conftest import event, new, rate, record

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


def arr(db_url: str, command: str) -> Result:
    return CliRunner().invoke(app, [*command.split(), "--db", db_url])


def chart_q1(db_url: str, page: Path) -> Result:
    """`arr chart` of 2024-Q1, every month, into `page`."""
    result = arr(db_url, f"chart --from 2024-01-01 --to 2024-03-31 --every month -o {page}")
    assert result.exit_code == 0, result.output
    return result


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
    assert chart_q1(db_url, page).stdout == f"wrote {page}: 3 periods, every month\n"
    return page


@pytest.fixture
def bridged(db_url: str, tmp_path: Path) -> Path:
    """The HTML report of the `bridged` ledger above, every month of 2024-Q1."""
    with Ledger.init(db_url) as ledger:
        record(
            ledger,
            new("acme", "a1", "2024-01-01", "1000"),
            new("bolt", "b1", "2024-01-01", "500"),
            new("cora", "c1", "2024-01-01", "400"),
            new("dash", "d1", "2024-01-01", "250"),
            event("churn", "dash", "2024-02-01", subscription_id="d1"),
            event("upgrade", "acme", "2024-03-01", subscription_id="a1", amount="1200"),
            event("downgrade", "bolt", "2024-03-01", subscription_id="b1", amount="300"),
            event("churn", "cora", "2024-03-01", subscription_id="c1"),
            new("dash", "d1", "2024-03-01", "350"),
            new("eve", "e1", "2024-03-15", "150"),
        )
    page = tmp_path / "bridged.html"
    chart_q1(db_url, page)
    return page


@pytest.fixture
def paused(db_url: str, tmp_path: Path) -> Path:
    """The HTML report of the `paused` ledger above, every month of 2024-Q1."""
    with Ledger.init(db_url) as ledger:
        record(
            ledger,
            new("acme", "a1", "2024-01-01", "1000"),
            event("discount", "acme", "2024-02-01", subscription_id="a1", percent_off="25"),
            new("bolt", "b1", "2024-01-01", "300"),
            event("pause", "bolt", "2024-02-01", subscription_id="b1", resume_date="2024-03-01"),
            new("cora", "c1", "2024-01-01", "200"),
            event("pause", "cora", "2024-03-10", subscription_id="c1", reason="seasonal"),
            event("trial", "dash", "2024-03-20", subscription_id="d1", trial_end="2024-04-19"),
        )
    page = tmp_path / "paused.html"
    chart_q1(db_url, page)
    return page


BRIDGED_ROWS: list[dict[str, Any]] = [
    {
        "as_of": "2024-01-31", "position": 10, "currency": "USD", "mrr": "2150.00",
        "arr": "25800.00", "from": "2023-12-31", "to": "2024-01-31", "start_mrr": "0.00",
        "end_mrr": "2150.00", "new": "2150.00", "expansion": "0.00", "contraction": "0.00",
        "churn": "0.00", "reactivation": "0.00", "net_new": "2150.00",
    },
    {
        "as_of": "2024-02-29", "position": 10, "currency": "USD", "mrr": "1900.00",
        "arr": "22800.00", "from": "2024-01-31", "to": "2024-02-29", "start_mrr": "2150.00",
        "end_mrr": "1900.00", "new": "0.00", "expansion": "0.00", "contraction": "0.00",
        "churn": "250.00", "reactivation": "0.00", "net_new": "-250.00",
    },
    {
        "as_of": "2024-03-31", "position": 10, "currency": "USD", "mrr": "2000.00",
        "arr": "24000.00", "from": "2024-02-29", "to": "2024-03-31", "start_mrr": "1900.00",
        "end_mrr": "2000.00", "new": "150.00", "expansion": "200.00", "contraction": "200.00",
        "churn": "400.00", "reactivation": "350.00", "net_new": "100.00",
    },
]  # fmt: skip
"""The JSON rows `arr series` prints for the `bridged` ledger (the keys the PNG plots)."""


def svg_of(html: str, name: str) -> str:
    found = re.search(rf'<svg class="chart" id="{name}".*?</svg>', html)
    assert found is not None, name
    return found.group(0)


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
    assert ticks(Decimal(0), Decimal(2), whole=True) == [0, 1, 2]  # a count: never 0.5 apart


def test_bar_labels_are_short_and_the_tooltips_exact() -> None:
    assert brief(Decimal("1826160.14")) == "1.83M"
    assert brief(Decimal("47724.41")) == "47.7k"
    assert brief(Decimal("-8212.40")) == "−8.21k"
    assert brief(Decimal("49.00")) == "49"
    assert brief(Decimal("-0.01")) == "−0.01"
    assert brief(Decimal("0.00")) == "0"


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
    assert "<title>2024-01-31: NRR" not in html  # undefined: a gap, not a zero
    figures = re.search(r'<table class="figures">(.*?)</table>', html)
    assert figures is not None
    assert '<tr><th>ARR</th><td class="num">12,000.00 USD</td></tr>' in figures.group(1)
    # Nothing asked of --known-at: no empty "· ·" in the line under the title.
    assert '<p class="meta">Every month · USD · ledger position 3</p>' in html


@pytest.fixture
def retained(db_url: str, tmp_path: Path) -> Path:
    """The HTML report of the `retained` ledger above, every month of 2024-Q1."""
    with Ledger.init(db_url) as ledger:
        record(
            ledger,
            new("acme", "a1", "2023-01-01", "1000"),
            new("bolt", "b1", "2023-02-01", "500"),
            event("upgrade", "acme", "2023-06-01", subscription_id="a1", amount="1200"),
            new("cora", "c1", "2024-01-10", "300"),
            event("churn", "bolt", "2024-02-01", subscription_id="b1"),
            new("dash", "d1", "2024-02-05", "200"),
            event("upgrade", "cora", "2024-03-01", subscription_id="c1", amount="450"),
        )
    page = tmp_path / "retained.html"
    chart_q1(db_url, page)
    return page


def test_the_12_month_lines_hold_the_figures_worked_out_by_hand(retained: Path) -> None:
    chart = svg_of(retained.read_text(encoding="utf-8"), "retention-chart")
    assert "<title>NRR and GRR by period and over 12 months</title>" in chart
    tips = re.findall(r"<title>(\d{4}-[^<]*12m[^<]*)</title>", chart)
    assert tips == [
        "2024-01-31: NRR 12m 1.2000",
        "2024-02-29: NRR 12m 0.8000",
        "2024-03-31: NRR 12m 0.8000",
        "2024-01-31: GRR 12m 1.0000",
        "2024-02-29: GRR 12m 0.6667",
        "2024-03-31: GRR 12m 0.6667",
    ]


def test_the_cohorts_heat_map_holds_the_figures_worked_out_by_hand(retained: Path) -> None:
    html = retained.read_text(encoding="utf-8")
    heat = re.search(r'<table class="heat"[^>]*>(.*?)</table>', html)
    assert heat is not None
    rows = re.findall(r"<tr>(.*?)</tr>", heat.group(1))
    shown = [re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row) for row in rows]
    assert shown == [
        ["cohort", "customers", "starting MRR (USD)", "month 0", "month 1", "month 2"],
        ["2024-01", "1", "300.00", "100.00%", "100.00%", "150.00%"],
        ["2024-02", "1", "200.00", "100.00%", "100.00%", ""],
    ]
    assert (
        'style="background:#afd0e3" title="2024-01 cohort at 2024-03-31: NRR 1.5000; '
        'active customers 1; MRR 450.00 USD" data-nrr="1.5000">150.00%</td>'
    ) in html


def test_the_page_uses_the_window_width(charted: Path) -> None:
    """At most 1400 px wide (not 920), the period table as wide as the page, the charts
    two to a row where they fit, each scaling with its column."""
    html = charted.read_text(encoding="utf-8")
    assert "max-width:1400px" in html and "920px" not in html
    assert ".series{font-size:12px;width:100%}" in html
    assert '<div class="scroll"><table class="series">' in html
    assert "grid-template-columns:repeat(auto-fit,minmax(min(100%,520px),1fr))" in html
    assert "svg.chart{width:100%;height:auto;display:block}" in html


def test_the_new_charts_hold_the_figures_worked_out_by_hand(bridged: Path) -> None:
    html = bridged.read_text(encoding="utf-8")
    expected = {
        "mrr-chart": [
            "2024-01-31: MRR 2,150.00 USD",
            "2024-02-29: MRR 1,900.00 USD",
            "2024-03-31: MRR 2,000.00 USD",
        ],
        "customers-chart": [
            "2024-01-31: active customers 4",
            "2024-02-29: active customers 3",
            "2024-03-31: active customers 4",
        ],
        "arpa-chart": [
            "2024-01-31: ARPA 537.50 USD",
            "2024-02-29: ARPA 633.33 USD",
            "2024-03-31: ARPA 500.00 USD",
        ],
        "quick-ratio-chart": [
            "2024-01-31: quick ratio — (no contraction or churn; "
            "inflows 2,150.00 USD ÷ outflows 0.00 USD)",
            "2024-02-29: quick ratio 0.0000 (inflows 0.00 USD ÷ outflows 250.00 USD)",
            "2024-03-31: quick ratio 1.1667 (inflows 700.00 USD ÷ outflows 600.00 USD)",
        ],
    }
    for name, tips in expected.items():
        chart = svg_of(html, name)
        assert re.findall(r"<title>(\d{4}-[^<]*)</title>", chart) == tips, name
    # The quick ratio is defined where the chart is: in its caption.
    assert (
        "Quick ratio = (new + expansion + reactivation) ÷ (contraction + churn) of each period"
        in html
    )


def test_the_bridge_adds_up_to_the_end_mrr_exactly(bridged: Path) -> None:
    bridge = svg_of(bridged.read_text(encoding="utf-8"), "bridge-chart")
    bars = re.findall(r'data-key="([a-z_]+)" data-amount="(-?[0-9.]+)"', bridge)
    assert bars == [
        ("start_mrr", "1900.00"),
        ("new", "150.00"),
        ("expansion", "200.00"),
        ("reactivation", "350.00"),
        ("contraction", "-200.00"),
        ("churn", "-400.00"),
        ("end_mrr", "2000.00"),
    ]
    *steps, (_, end) = bars
    assert sum(Decimal(amount) for _, amount in steps) == Decimal(end) == Decimal("2000.00")
    for tip in (
        "2024-02-29: MRR at start 1,900.00 USD",
        "2024-02-29 to 2024-03-31: new +150.00 USD",
        "2024-02-29 to 2024-03-31: reactivation +350.00 USD",
        "2024-02-29 to 2024-03-31: churn −400.00 USD",
        "2024-03-31: MRR at end 2,000.00 USD",
    ):
        assert f"<title>{tip}</title>" in bridge, tip
    assert "(2024-02-29, 2024-03-31]" in bridge


MOVEMENTS_LEGEND = ["new", "expansion", "reactivation", "contraction", "churn", "net new"]


def legend_of(chart: str) -> list[str]:
    return re.findall(r'<text class="legend" x="[0-9.]+" y="18">([^<]*)</text>', chart)


def test_pauses_are_bars_of_their_own_and_the_figures_say_what_is_trialing_paused_discounted(
    paused: Path,
) -> None:
    html = paused.read_text(encoding="utf-8")
    movements = svg_of(html, "movements-chart")
    assert re.findall(r"<title>(\d{4}-[^<]*)</title>", movements) == [
        "2024-01-31: new 1,500.00 USD",
        "2024-02-29: contraction −250.00 USD",
        "2024-02-29: paused −300.00 USD",
        "2024-03-31: resumed 300.00 USD",
        "2024-03-31: paused −200.00 USD",
        "2024-01-31: net new 1,500.00 USD",
        "2024-02-29: net new −550.00 USD",
        "2024-03-31: net new 100.00 USD",
    ]
    assert legend_of(movements) == [
        "new", "expansion", "reactivation", "resumed", "contraction", "churn", "paused", "net new"
    ]  # fmt: skip
    # Eight keys do not fit at the usual spacing: set closer, still right of the unit.
    first = re.search(r'<rect x="([0-9.]+)" y="8"', movements)
    assert first is not None and float(first.group(1)) >= 64
    colours = dict(
        re.findall(r'fill="(#[0-9a-f]{6})"><title>2024-0[23]-[0-9]{2}: ([a-z]+)', movements)
    )
    assert colours["#8d6e63"] == "paused" and colours["#1e88e5"] == "resumed"
    # March's bars: resumed 300 stands on zero, paused 200 hangs from it.
    bars = re.findall(
        r'<rect class="mark" x="[0-9.]+" y="([0-9.]+)" width="[0-9.]+" height="([0-9.]+)" '
        r'fill="#[0-9a-f]{6}"><title>2024-03-31: ([a-z]+)',
        movements,
    )
    (up_y, up_h, up), (down_y, down_h, down) = bars
    assert (up, down) == ("resumed", "paused")
    assert float(up_y) + float(up_h) == pytest.approx(float(down_y), abs=0.11)  # both at 0
    assert float(up_h) == pytest.approx(float(down_h) * 3 / 2, abs=0.2)  # 300 : 200
    caption = "Paused down and resumed up: MRR of subscriptions that stopped billing"
    assert caption in html
    figures = re.search(r'<table class="figures">(.*?)</table>', html)
    assert figures is not None
    for line in (
        '<tr><th>MRR</th><td class="num">1,050.00 USD</td></tr>',
        '<tr><th>active customers</th><td class="num">2</td></tr>',
        '<tr><th>trialing contracts</th><td class="num">1</td></tr>',
        '<tr><th>paused customers</th><td class="num">1</td></tr>',
        '<tr><th>discounts</th><td class="num">250.00 USD</td></tr>',
    ):
        assert line in figures.group(1), line
    series = re.search(r'<table class="series">(.*?)</table>', html)
    assert series is not None
    head = re.findall(r"<th[^>]*>([^<]*)</th>", series.group(1))
    assert head[8:11] == ["reactivation (USD)", "paused (USD)", "resumed (USD)"]
    march = series.group(1).split("<td>2024-03-31</td>")[1]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", march)
    assert cells[7:10] == ["0.00", "−200.00", "300.00"]  # reactivation, paused, resumed


def test_a_bridge_shows_the_pauses_of_its_period(paused: Path) -> None:
    bridge = svg_of(paused.read_text(encoding="utf-8"), "bridge-chart")
    bars = re.findall(r'data-key="([a-z_]+)" data-amount="(-?[0-9.]+)"', bridge)
    assert bars == [
        ("start_mrr", "950.00"),
        ("new", "0.00"),
        ("expansion", "0.00"),
        ("reactivation", "0.00"),
        ("resumed", "300.00"),
        ("contraction", "0.00"),
        ("churn", "0.00"),
        ("paused", "-200.00"),
        ("end_mrr", "1050.00"),
    ]
    assert "2024-02-29 to 2024-03-31: resumed +300.00 USD" in bridge
    assert "2024-02-29 to 2024-03-31: paused −200.00 USD" in bridge


def no_pause_drawn(page: Path) -> None:
    """Most ledgers have no pause: no bar, legend, column or caption for one."""
    html = page.read_text(encoding="utf-8")
    movements = svg_of(html, "movements-chart")
    assert legend_of(movements) == MOVEMENTS_LEGEND
    first = re.search(r'<rect x="([0-9.]+)" y="8"', movements)
    assert first is not None and first.group(1) == "194.5"  # the usual spacing
    for part in (movements, svg_of(html, "bridge-chart")):
        assert "paused" not in part and "resumed" not in part
    series = re.search(r'<table class="series">(.*?)</table>', html)
    assert series is not None and "paused" not in series.group(1)
    assert "Paused down" not in html
    # The figures say so: none trialing, paused or discounted.
    for line in (
        '<tr><th>trialing contracts</th><td class="num">0</td></tr>',
        '<tr><th>paused customers</th><td class="num">0</td></tr>',
        '<tr><th>discounts</th><td class="num">0.00 USD</td></tr>',
    ):
        assert line in html, line


def test_a_ledger_without_a_pause_charts_none(charted: Path) -> None:
    no_pause_drawn(charted)


def test_a_busier_ledger_without_a_pause_charts_none(bridged: Path) -> None:
    no_pause_drawn(bridged)


def test_a_paused_subscription_that_ends_draws_its_paused_back_up(db_url: str) -> None:
    """bolt ($300/month) is paused on 2024-02-01 and churned on 2024-03-15 without resuming:
    March has churn 300 and paused −300 (SPEC §11), net new 0. The chart draws the −300 of
    paused up (it gave back what February took) and the churn down; the bridge has both."""
    with Ledger.init(db_url) as ledger:
        record(
            ledger,
            new("acme", "a1", "2024-01-01", "1000"),
            new("bolt", "b1", "2024-01-01", "300"),
            event("pause", "bolt", "2024-02-01", subscription_id="b1"),
            event("churn", "bolt", "2024-03-15", subscription_id="b1"),
        )
        rows = [r.as_json() for r in ledger.series(date(2024, 2, 1), date(2024, 3, 31), "month")]
    assert [(r["paused"], r["churn"], r["net_new"]) for r in rows] == [
        ("300.00", "0.00", "-300.00"),
        ("-300.00", "300.00", "0.00"),
    ]
    chart = movements_chart(rows, "month")
    assert re.findall(r"<title>(2024-03-31: (?!net)[^<]*)</title>", chart) == [
        "2024-03-31: churn −300.00 USD",
        "2024-03-31: paused 300.00 USD",
    ]
    steps = bridge_steps(rows[-1])
    assert [(k, f"{a:f}") for k, a in steps if a or k.endswith("_mrr")] == [
        ("start_mrr", "1000.00"),
        ("churn", "-300.00"),
        ("paused", "300.00"),
        ("end_mrr", "1000.00"),
    ]
    assert "rounding" not in [k for k, _ in steps]


def test_a_bridge_shows_what_the_rates_moved_as_fx_not_rounding(db_url: str) -> None:
    """SPEC example 10: EUR 1,000/month from 2024-01-01 at 1.10, then 1.20 from
    2024-02-01: February's bridge is 1,100 + fx 100 = 1,200, and nothing is rounding."""
    with Ledger.init(db_url) as ledger:
        record(
            ledger,
            rate("EUR", "2024-01-01", "1.10"),
            rate("EUR", "2024-02-01", "1.20"),
            new("acme", "a1", "2024-01-01", "1000", currency="EUR"),
        )
        rows = [r.as_json() for r in ledger.series(date(2024, 1, 1), date(2024, 2, 29), "month")]
    steps = bridge_steps(rows[-1])
    assert [(k, f"{a:f}") for k, a in steps] == [
        ("start_mrr", "1100.00"),
        ("new", "0.00"),
        ("expansion", "0.00"),
        ("reactivation", "0.00"),
        ("contraction", "0.00"),
        ("churn", "0.00"),
        ("fx", "100.00"),
        ("end_mrr", "1200.00"),
    ]


def test_a_bridge_the_rounding_misses_gets_a_rounding_step(db_url: str) -> None:
    """Two customers at 100 a quarter (MRR 33.333… each), one churns in March: printed,
    66.67 − 33.33 = 33.34, but the end is 33.33 (each figure is rounded on its own). The
    bridge says so with a step of −0.01, and still adds up to the end exactly."""
    with Ledger.init(db_url) as ledger:
        record(
            ledger,
            new("acme", "a1", "2024-01-01", "100", interval="quarter"),
            new("bolt", "b1", "2024-01-01", "100", interval="quarter"),
            event("churn", "bolt", "2024-03-01", subscription_id="b1"),
        )
        rows = [r.as_json() for r in ledger.series(date(2024, 1, 1), date(2024, 3, 31), "month")]
    steps = bridge_steps(rows[-1])
    assert [(key, f"{amount:f}") for key, amount in steps] == [
        ("start_mrr", "66.67"),
        ("new", "0.00"),
        ("expansion", "0.00"),
        ("reactivation", "0.00"),
        ("contraction", "0.00"),
        ("churn", "-33.33"),
        ("rounding", "-0.01"),
        ("end_mrr", "33.33"),
    ]
    assert sum(amount for _, amount in steps[:-1]) == steps[-1][1] == Decimal("33.33")


def test_the_quick_ratio_is_rounded_half_to_even_and_null_over_zero() -> None:
    march = {"new": "150.00", "expansion": "200.00", "reactivation": "350.00"}
    march |= {"contraction": "200.00", "churn": "400.00"}
    assert quick_ratio(march) == Decimal("1.1667")  # 700/600 = 1.16666…
    assert str(quick_ratio({"new": "0.00", "churn": "250.00"})) == "0.0000"
    assert quick_ratio({"new": "2150.00", "contraction": "0.00", "churn": "0.00"}) is None
    assert quick_ratio({"new": "0.00", "churn": "0.00"}) is None
    assert quick_ratio({"new": "1.00", "churn": "20000.00"}) == Decimal("0.0000")  # 0.00005
    assert quick_ratio({"new": "3.00", "churn": "20000.00"}) == Decimal("0.0002")  # 0.00015


def test_the_page_fetches_nothing(charted: Path) -> None:
    html = charted.read_text(encoding="utf-8")
    assert "default-src 'none'" in html
    assert not re.search(r"\b(src|href)\s*=", html)
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://www.w3.org/2000/svg"] * 8


def rendered(page: Path, profile: Path) -> str:
    """What the page's scripts drew, chart by chart (`id:marks`), once it loaded in
    headless Chromium without a console message."""
    dom, log = chromium(page, profile)
    assert console_messages(log) == []
    drawn = re.search(r'data-rendered="([^"]*)"', dom)
    assert drawn is not None, dom[:500]
    return drawn.group(1)


def test_chromium_renders_every_chart_without_console_errors(charted: Path, tmp_path: Path) -> None:
    # MRR and ARR: area, line, 3 dots. Movements: 3 bars, the net line, 3 dots. Bridge:
    # 7 bars (new, expansion, reactivation, contraction are 0: flat, but there). Customers
    # and ARPA: a line and 3 dots. NRR and GRR: a line and 2 dots each (January is
    # undefined). Quick ratio: March's dot alone (January and February are undefined).
    assert rendered(charted, tmp_path / "profile") == (
        "mrr-chart:5 arr-chart:5 movements-chart:7 bridge-chart:7 customers-chart:4 "
        "arpa-chart:4 retention-chart:6 quick-ratio-chart:1"
    )


def test_chromium_renders_the_new_charts_of_a_busier_ledger(bridged: Path, tmp_path: Path) -> None:
    # Movements: 1 + 1 + 5 bars, the net line, 3 dots. Bridge: 7 bars. Quick ratio: the
    # February-March line and its 2 dots (January is undefined: a "—", not a mark).
    assert rendered(bridged, tmp_path / "profile") == (
        "mrr-chart:5 arr-chart:5 movements-chart:11 bridge-chart:7 customers-chart:4 "
        "arpa-chart:4 retention-chart:6 quick-ratio-chart:3"
    )


def test_chromium_renders_the_pauses(paused: Path, tmp_path: Path) -> None:
    # Movements: 1 + 2 + 2 bars, the net line, 3 dots. Bridge: 9 bars (resumed and paused
    # among them). Retention: NRR and GRR defined in Feb (950/1500) and Mar (750/950).
    # Quick ratio: February's 0 / 250 alone (resumed and paused are not in it).
    assert rendered(paused, tmp_path / "profile") == (
        "mrr-chart:5 arr-chart:5 movements-chart:9 bridge-chart:9 customers-chart:4 "
        "arpa-chart:4 retention-chart:6 quick-ratio-chart:1"
    )


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


def test_png_has_the_mrr_arr_movements_and_bridge_charts(
    charted: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    picture, asked = charted.with_name("chart.png"), []

    def spy(rows: Any, start: date, every: str, knowledge: str, file: Any) -> None:
        asked.append((start, every, knowledge))
        write_png(rows, start, every, knowledge, file)

    monkeypatch.setattr(chart_cli, "write_png", spy)
    result = arr(db_url, f"chart --from 2024-01-01 --to 2024-03-31 --position 3 -o {picture}")
    assert result.exit_code == 0, result.output
    assert asked == [(date(2024, 1, 1), "month", "as known at position 3")]  # for its title
    data = picture.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1540, 1045)  # 14 × 9.5 inches at 110 dpi


def test_png_limits_leave_a_margin_around_the_figures() -> None:
    # 8% of the span beyond the highest and the lowest; bars standing on 0 stay on it.
    assert limits([Decimal("700.00"), Decimal("-600.00"), Decimal("100.00")]) == (-704.0, 804.0)
    assert limits([Decimal("2150.00"), Decimal("1900.00")]) == (0.0, 2322.0)
    assert limits([Decimal("1900"), Decimal("2600")], Decimal("1000")) == (1000.0, 2728.0)
    assert limits([]) == (0.0, 1.0)  # nothing moved: still an axis


def plotted(axes: Any) -> tuple[float, float, float, float]:
    """An axes' y limits, and the lowest and highest edge of its bars and lines."""
    edges = [e for p in axes.patches for e in (p.get_y(), p.get_y() + p.get_height())]
    edges += [float(v) for line in axes.lines for v in line.get_ydata()]
    assert edges, axes.get_title(loc="left")
    low, high = axes.get_ylim()
    return low, high, min(edges), max(edges)


def test_png_axes_hold_every_bar_and_line_and_the_title_says_what_it_shows() -> None:
    note = "as known at 2024-04-01T00:00:00+00:00"
    drawn = figure(BRIDGED_ROWS, date(2024, 1, 1), "month", note)
    try:
        title = drawn.get_suptitle()
        assert "ARR report, 2024-01-01 to 2024-03-31" in title
        assert "Every month · USD · as known at 2024-04-01T00:00:00+00:00" in title
        names = [axes.get_title(loc="left") for axes in drawn.axes]
        assert names == [
            "MRR over time",
            "MRR movements",
            "ARR over time",
            "MRR bridge, (2024-02-29, 2024-03-31]",
        ]
        found = {axes.get_title(loc="left"): plotted(axes) for axes in drawn.axes}
        for name, (low, high, lowest, highest) in found.items():
            assert low <= lowest and highest < high, name
        # The extremes are the figures, whole: January's 2,150 of new; March's outflows,
        # 200 + 400 stacked down to −600; the bridge's peak, 1,900 + 150 + 200 + 350 = 2,600.
        assert {name: (lowest, highest) for name, (_, _, lowest, highest) in found.items()} == {
            "MRR over time": (1900.0, 2150.0),
            "MRR movements": (-600.0, 2150.0),
            "ARR over time": (22800.0, 25800.0),
            "MRR bridge, (2024-02-29, 2024-03-31]": (0.0, 2600.0),
        }
        bridge = drawn.axes[3]
        heights = [p.get_height() for p in bridge.patches]
        assert heights == [1900.0, 150.0, 200.0, 350.0, -200.0, -400.0, 2000.0]
        assert sum(heights[:-1]) == heights[-1]
    finally:
        pyplot().close(drawn)


def test_png_movements_axis_holds_the_stacks_not_just_the_net_line() -> None:
    """March alone: inflows stack to 700 and outflows to −600, while net new is 100."""
    drawn = figure(BRIDGED_ROWS[2:], date(2024, 3, 1), "month", "")
    try:
        low, high, lowest, highest = plotted(drawn.axes[1])
        assert (lowest, highest) == (-600.0, 700.0)
        assert (low, high) == pytest.approx((-704.0, 804.0))  # 8% of 1,300 beyond each
        assert "as known" not in drawn.get_suptitle()
    finally:
        pyplot().close(drawn)


def test_the_title_leaves_out_what_was_not_asked() -> None:
    title, meta = headline(BRIDGED_ROWS, date(2024, 1, 1), "quarter", "")
    assert (title, meta) == (
        "ARR report, 2024-01-01 to 2024-03-31",
        "Every quarter · USD · ledger position 10",
    )


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
