"""`arr demo` and the help: what a newcomer sees first, and every command it suggests works.

The demo always builds an embedded SQLite ledger (that is the point: nothing to set up),
so it runs on SQLite only; its suggested commands are run against it as printed.

Besides the random sample (which has no trial, pause or discount), the demo adds four
customers of 2024, worked out by hand from SPEC §11-§12, all monthly, in USD:
* umbrella: $1,000 from 2024-02-01 (new 1,000 in Feb); 20% off from 2024-10-01 for 3
  months (`retention_offer`): MRR 800 and discounts 200.00 from then to 2024-12-31 (the
  discount ends on 2025-01-01), a contraction of 200 in Oct, by reason `retention_offer`.
* initech: $500 from 2024-03-01 (new 500 in Mar); paused 2024-07-01 with resume_date
  2024-09-01 (`seasonal`): MRR 0 and paused in Jul and Aug (paused 500 in Jul), billing
  500 again from 2024-09-01 (resumed 500 in Sep, not a reactivation).
* northwind: a trial from 2024-05-20 to 2024-06-19 (trialing at 2024-05-31), converted by
  a $299 `new` on 2024-06-10 (new 299 and trials converted 1 in Jun; trialing until
  2024-06-09, not on 2024-06-10).
* globex: a trial from 2024-08-20 to 2024-09-19, never converted: trialing on 2024-09-18,
  not on 2024-09-19, and never an MRR or a movement.
So trials started: 1 in May, 1 in Aug; trialing contracts at month ends: 1 at May's and
Aug's; paused customers: 1 at Jul's and Aug's; discounts 200.00 at Oct's, Nov's and Dec's.
The late churn gives its reason, `non_payment`.

The sample is history: each month's events are recorded at its close, the 3rd of the
next month at 09:00 UTC (a late churn or a void at the close of the month it was
entered), up to November's close on 2024-12-03; the late churn on 2024-12-10; then the
rest. So as of 2024-11-30, the MRR now (1,930,586.85) was higher at the close by the
late churn (72,000.00) and by two of the sample's churns of November entered in
December, so recorded at January's close (C000276's 1,495.00 and C000222's 897.00):
2,004,978.85 known at 2024-12-03; 1,932,978.85 once the late churn arrived. June's
figures were complete at its close: 1,831,231.98 as known on 3 July, as now.
"""

from __future__ import annotations

import json
import shlex
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from ledger import Ledger
from ledger.app.sample import lifecycle_events, month_close, sample_events, sample_history
from ledger.cli.demo import AS_OF, CLOSE, LATE_RECORDED, RESTATED, YEAR_START
from ledger.cli.main import app
from ledger.cli.movements import SERIES_TABLE
from ledger.domain.dates import DAY
from ledger.intake.rows import Row
from projections.figures.movements import by_customer
from projections.render.text import grouped


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
    assert f"How the late churn restated the figures as of {RESTATED}, known at " in shown
    assert "caused by churn late-churn of " in shown
    assert "…" not in shown  # nothing cut short


def test_a_folder_that_holds_a_demo_is_refused(demo: tuple[str, Path]) -> None:
    _shown, folder = demo
    result = CliRunner().invoke(app, ["demo", "--folder", str(folder)])
    assert result.exit_code == 2
    assert "already holds a demo ledger" in result.output


def test_the_restatement_shown_is_the_late_churn(demo: tuple[str, Path]) -> None:
    """Before: the ledger as known at November's close, one position short of the late
    churn; after: once it arrived. The change of MRR is exactly the churned contract's
    MRR, shown as its (negative) MRR effect."""
    shown, folder = demo
    with Ledger.open(f"sqlite:///{folder / 'demo.db'}") as ledger:
        (late,) = [e for e in ledger.entries() if e.event.event_id == "late-churn"]
        closed = ledger.position(CLOSE)
        before = ledger.report(RESTATED, position=late.position - 1).as_json()
        after = ledger.report(RESTATED, position=late.position).as_json()
        now = ledger.report(RESTATED).as_json()
    assert late.event.effective_date == date(2024, 11, 1) and late.position == closed + 1
    assert (CLOSE, LATE_RECORDED, late.recorded_at) == (
        datetime(2024, 12, 3, 9, tzinfo=UTC),
        datetime(2024, 12, 10, 9, tzinfo=UTC),
        datetime(2024, 12, 10, 9, tzinfo=UTC),
    )
    assert (before["mrr"], after["mrr"], now["mrr"]) == (
        "2004978.85",
        "1932978.85",
        "1930586.85",  # less C000276's 1,495.00 and C000222's 897.00, recorded in January
    )
    restated = shown.split("known at the close → on 2024-12-10")[1].splitlines()
    mrr_line = next(line for line in restated if line.split()[:1] == ["MRR"])
    assert mrr_line.split() == ["MRR", "2,004,978.85", "1,932,978.85", "−72,000.00"]
    assert "recorded at 2024-12-10T09:00:00+00:00" in shown


def test_every_suggested_command_runs_against_the_sample(
    demo: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown, _folder = demo
    after = shown.split("Try next, against the sample:")[1].splitlines()
    suggested = [line for line in after if line.startswith("  arr ")]
    assert len(suggested) == 9
    monkeypatch.chdir(tmp_path)
    for line in suggested:
        words = shlex.split(line, comments=True)
        assert words[0] == "arr" and "--db" in words, line
        result = CliRunner().invoke(app, words[1:])
        assert result.exit_code == 0, f"{line}\n{result.output}"
    assert (tmp_path / "report.html").stat().st_size > 10_000


def test_the_suggested_known_at_reports_show_what_was_known_then(
    demo: tuple[str, Path],
) -> None:
    """What we told the board on 3 July, November as closed, and November restated a
    week later by the late churn: figures of the history, not zeros."""
    shown, _folder = demo
    after = shown.split("Try next, against the sample:")[1].splitlines()
    known = [shlex.split(line, comments=True) for line in after if "report" in line]
    known = [words for words in known if "--known-at" in words]
    found = {}
    for words in known:
        result = CliRunner().invoke(app, [*words[1:], "--format", "json"])
        assert result.exit_code == 0, result.output
        figures = json.loads(result.stdout)
        found[(figures["as_of"], words[words.index("--known-at") + 1])] = figures["mrr"]
    assert found == {
        ("2024-06-30", "2024-07-03"): "1831231.98",
        ("2024-11-30", "2024-12-03"): "2004978.85",
        ("2024-11-30", "2024-12-10"): "1932978.85",
    }


MONTHS = {
    # month end: trials started, trials converted, trialing contracts, paused customers,
    # discounts, paused, resumed (the sample itself has none of them)
    "2024-01-31": (0, 0, 0, 0, "0.00", "0.00", "0.00"),
    "2024-02-29": (0, 0, 0, 0, "0.00", "0.00", "0.00"),
    "2024-03-31": (0, 0, 0, 0, "0.00", "0.00", "0.00"),
    "2024-04-30": (0, 0, 0, 0, "0.00", "0.00", "0.00"),
    "2024-05-31": (1, 0, 1, 0, "0.00", "0.00", "0.00"),
    "2024-06-30": (0, 1, 0, 0, "0.00", "0.00", "0.00"),
    "2024-07-31": (0, 0, 0, 1, "0.00", "500.00", "0.00"),
    "2024-08-31": (1, 0, 1, 1, "0.00", "0.00", "0.00"),
    "2024-09-30": (0, 0, 0, 0, "0.00", "0.00", "500.00"),
    "2024-10-31": (0, 0, 0, 0, "200.00", "0.00", "0.00"),
    "2024-11-30": (0, 0, 0, 0, "200.00", "0.00", "0.00"),
    "2024-12-31": (0, 0, 0, 0, "200.00", "0.00", "0.00"),
}
FIGURES = (
    "trials_started",
    "trials_converted",
    "trialing_contracts",
    "paused_customers",
    "discounts",
    "paused",
    "resumed",
)
JULY = (date(2024, 6, 30), date(2024, 7, 31))
SEPT = (date(2024, 8, 31), date(2024, 9, 30))
MOVED = ("new", "expansion", "contraction", "churn", "reactivation", "paused", "resumed")


def test_the_demo_has_a_trial_won_a_trial_lost_a_pause_and_a_discount(
    demo: tuple[str, Path],
) -> None:
    _shown, folder = demo
    with Ledger.open(f"sqlite:///{folder / 'demo.db'}") as ledger:
        rows = [r.as_json() for r in ledger.series(YEAR_START, AS_OF, "month")]
        assert {r["as_of"]: tuple(r[k] for k in FIGURES) for r in rows} == MONTHS
        # The days the trials, the pause and the discount begin and end (SPEC §11).
        for day, key, expected in (
            ("2024-05-19", "trialing_contracts", 0),
            ("2024-05-20", "trialing_contracts", 1),
            ("2024-06-09", "trialing_contracts", 1),  # northwind, until its new
            ("2024-06-10", "trialing_contracts", 0),
            ("2024-09-18", "trialing_contracts", 1),  # globex, until its trial_end
            ("2024-09-19", "trialing_contracts", 0),
            ("2024-06-30", "paused_customers", 0),
            ("2024-07-01", "paused_customers", 1),
            ("2024-08-31", "paused_customers", 1),
            ("2024-09-01", "paused_customers", 0),  # resumed at the start of the day
            ("2024-09-30", "discounts", "0.00"),
            ("2024-10-01", "discounts", "200.00"),
        ):
            assert ledger.report(date.fromisoformat(day)).as_json()[key] == expected, day
        segments = {
            day: {
                line.as_json()["customer_id"]: line.as_json()["mrr"]
                for line in ledger.by_customer(date.fromisoformat(day))
            }
            for day in ("2024-06-09", "2024-07-15", "2024-10-15", "2024-12-31")
        }
        book = ledger.book()
        year = {
            r.as_json()["customer_id"]: r.as_json()
            for r in by_customer(book, YEAR_START - timedelta(days=1), AS_OF)
        }
        july = {r.as_json()["customer_id"]: r.as_json() for r in by_customer(book, *JULY)}
        september = {r.as_json()["customer_id"]: r.as_json() for r in by_customer(book, *SEPT)}
    ours = ("northwind", "globex", "initech", "umbrella")
    assert {
        day: {c: m for c, m in found.items() if c in ours} for day, found in segments.items()
    } == {
        "2024-06-09": {"initech": "500.00", "umbrella": "1000.00"},  # northwind: trialing
        "2024-07-15": {"northwind": "299.00", "umbrella": "1000.00"},  # initech: paused
        "2024-10-15": {"initech": "500.00", "northwind": "299.00", "umbrella": "800.00"},
        "2024-12-31": {"initech": "500.00", "northwind": "299.00", "umbrella": "800.00"},
    }
    assert "globex" not in year  # a trial that expires moves nothing
    moved = {c: {k: v for k in MOVED if (v := year[c][k]) != "0.00"} for c in ours if c in year}
    assert moved == {
        "northwind": {"new": "299.00"},
        "initech": {"new": "500.00", "paused": "500.00", "resumed": "500.00"},
        "umbrella": {"new": "1000.00", "contraction": "200.00"},
    }
    assert [year[c]["end_mrr"] for c in ("northwind", "initech", "umbrella")] == [
        "299.00",
        "500.00",
        "800.00",
    ]
    assert (july["initech"]["paused"], july["initech"]["end_mrr"]) == ("500.00", "0.00")
    sept = september["initech"]
    assert (sept["resumed"], sept["reactivation"], sept["end_mrr"]) == ("500.00", "0.00", "500.00")
    assert "seasonal: closed for the summer" in year["initech"]["why"]


def test_the_demo_shows_trials_pauses_discounts_and_reasons(demo: tuple[str, Path]) -> None:
    shown, folder = demo
    assert "and 4 more customers in 2024, each event with a reason:" in shown
    assert "northwind's trial converts, globex's expires, initech pauses" in shown
    lines = [line.split() for line in shown.splitlines()]
    table = shown.split("Trials, pauses and discounts, last 12 months (USD)")[1]
    for day, (started, converted, trialing, paused, discounts, _, _) in MONTHS.items():
        row = next(line.split() for line in table.splitlines() if line.split()[:1] == [day])
        assert row == [day, str(started), str(converted), str(trialing), str(paused), discounts]
    movements = shown.split("MRR movements, last 12 months (USD)")[1]
    by_day = {line.split()[0]: line.split() for line in movements.splitlines()[3:15]}
    assert by_day["2024-07-31"][SERIES_TABLE.index("paused")] == "−500.00"
    assert by_day["2024-09-30"][SERIES_TABLE.index("resumed")] == "500.00"
    assert "Churn and contraction by reason (USD)" in shown
    with Ledger.open(f"sqlite:///{folder / 'demo.db'}") as ledger:
        span = (YEAR_START - timedelta(days=1), AS_OF)
        reasons = {line.reason: line.as_json() for line in ledger.by_reason(*span)}
        totals = ledger.movements(*span).as_json()
        (late,) = [e for e in ledger.entries() if e.event.event_id == "late-churn"]
        before = ledger.report(date(2024, 11, 1), position=late.position - 1).as_json()["mrr"]
        after = ledger.report(date(2024, 11, 1), position=late.position).as_json()["mrr"]
    assert (late.event.reason, late.event.note) == (
        "non_payment",
        "card declined since October; recorded after the close",
    )
    assert (reasons["retention_offer"]["churn"], reasons["retention_offer"]["contraction"]) == (
        "0.00",
        "200.00",
    )
    assert ["retention_offer", "0.00", "−200.00"] in lines
    churned = reasons["non_payment"]["churn"]
    assert Decimal(churned) > 0 and reasons["non_payment"]["contraction"] == "0.00"
    assert ["non_payment", f"−{grouped(churned)}", "0.00"] in lines
    assert {"lapsed", "non_payment", "retention_offer", "unspecified"} == set(reasons)
    for key in ("churn", "contraction"):  # the rows add up to the year's totals: exactly
        added = sum(Decimal(r[key]) for r in reasons.values())  # before rounding, not printed
        assert abs(added - Decimal(totals[key])) <= Decimal("0.01") * len(reasons) / 2
    assert Decimal(before) - Decimal(after) == Decimal(churned)  # the late churn, all of it
    assert "why: non_payment: card declined since October; recorded after the close" in shown


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


def test_the_sample_as_history_is_known_close_by_close(ledger: Ledger) -> None:
    """`sample_history`, as the demo records it, on both databases: the rows of
    `sample_events` and of `lifecycle_events`, each at the close of the month it was
    entered in (the 3rd of the next, 09:00 UTC), in order; known at a close, and until the
    next, the ledger holds exactly the rows recorded by it."""
    rows = sample_history(18, 2, more=lifecycle_events())
    bare = [{k: v for k, v in r.items() if k != "recorded_at"} for r in rows]
    assert sorted(map(str, bare)) == sorted(map(str, sample_events(18, 2) + lifecycle_events()))
    assert [r["recorded_at"] for r in rows] == sorted(r["recorded_at"] for r in rows)
    lifecycle = {r["event_id"]: r["recorded_at"] for r in rows if "-" in r["event_id"]}
    assert (lifecycle["umbrella-new"], lifecycle["initech-pause"]) == (
        "2024-03-03T09:00:00+00:00",  # effective 2024-02-01: February's close
        "2024-08-03T09:00:00+00:00",  # effective 2024-07-01: July's close
    )
    ledger.import_rows((Row(f"row {n}", r) for n, r in enumerate(rows, 1)), historical=True)
    times = [datetime.fromisoformat(r["recorded_at"]) for r in rows]
    for closed in sorted(set(times)):  # every close: the rows up to it, and none of the next
        known = sum(1 for moment in times if moment <= closed)
        before = ledger.position(closed - timedelta(seconds=1))
        assert before < known == ledger.position(closed) == ledger.position(closed + DAY)
    closed = month_close(date(2022, 11, 30))
    assert closed == datetime(2022, 12, 3, 9, tzinfo=UTC)
    assert Decimal(ledger.report(date(2022, 11, 30), known_at=closed).as_json()["mrr"]) > 0
