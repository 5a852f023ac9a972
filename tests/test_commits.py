"""A reader sees the ledger only where a commit ended: what the read model keeps, and how
a position inside one import is still answered exactly (by replay).

The history below is three commits: an import of three events (positions 1-3), an
append (4) and a backdated import (5-6). By hand, MRR as of 2024-03-31:

* at position 2 (inside the first import): acme 1,000 + beta 500 = 1,500.00;
* at 3 (its end): gamma's 300 too, 1,800.00;
* at 4: acme upgraded to 1,200 on 2024-03-01, 2,000.00;
* at 6: beta churned on 2024-02-01 (recorded late), 1,500.00.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import date
from typing import Any

import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from ledger import Ledger
from ledger.app import ledger as application
from ledger.app.sample import sample_events
from ledger.cli.main import app
from ledger.domain.errors import Refused
from ledger.intake.rows import Row
from projections.figures.movements import movements_over
from projections.figures.report import report
from projections.figures.series import series
from tests.conftest import event, new

AS_OF = date(2024, 3, 31)


def imported(ledger: Ledger, *events: dict[str, Any]) -> None:
    ledger.import_rows(Row(f"file.csv:{n}", e) for n, e in enumerate(events, start=2))


def history(ledger: Ledger) -> None:
    imported(
        ledger,
        new("acme", "s1", "2024-01-01", "1000"),
        new("beta", "s2", "2024-01-15", "500"),
        new("gamma", "s3", "2024-02-10", "300"),
    )
    ledger.append(event("upgrade", "acme", "2024-03-01", subscription_id="s1", amount="1200"))
    imported(
        ledger,
        event("churn", "beta", "2024-02-01", subscription_id="s2"),
        new("delta", "s4", "2024-05-01", "50"),
    )


def test_the_ledger_was_seen_only_where_a_commit_ended(ledger: Ledger) -> None:
    history(ledger)
    assert [ledger.store.observed(p) for p in range(7)] == [
        *(True, False, False, True, True, False, True)
    ]
    assert ledger.store.commit_ends(0, 6) == [3, 4, 6]


def test_a_position_inside_an_import_is_answered_by_replay(ledger: Ledger) -> None:
    history(ledger)
    mrr = {p: ledger.report(AS_OF, position=p).as_json()["mrr"] for p in range(7)}
    assert mrr == {
        **{0: "0.00", 1: "1000.00", 2: "1500.00", 3: "1800.00"},
        **{4: "2000.00", 5: "1500.00", 6: "1500.00"},
    }
    bounds = [date(2023, 12, 31), date(2024, 1, 31), date(2024, 2, 29), AS_OF]
    for position in range(7):
        book = ledger.book(position=position)
        assert ledger.report(AS_OF, position=position) == report(book, AS_OF)
        assert ledger.movements_over(bounds, position=position) == movements_over(book, bounds)
        got = ledger.series(date(2024, 1, 1), AS_OF, "month", position=position)
        assert list(got) == series(book, date(2024, 1, 1), AS_OF, "month")


def test_the_cli_answers_inside_an_import_as_the_api_does(ledger: Ledger, db_url: str) -> None:
    history(ledger)
    asked = ["report", "--as-of", "2024-03-31", "--position", "2", "--db", db_url]
    result = CliRunner().invoke(app, [*asked, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["mrr"] == "1500.00"
    assert json.loads(result.stdout)["position"] == 2


def test_an_import_leaves_the_read_model_current(ledger: Ledger) -> None:
    history(ledger)
    model = ledger.read_model()
    assert model.status().as_json() == {"tracked": 6, "head": 6, "lag": 0}
    written = model.rows()
    model.rebuild()
    assert model.rows() == written


def test_each_commit_has_a_time_of_its_own_even_when_the_clock_stands_still(
    ledger: Ledger,
) -> None:
    with freeze_time("2024-04-01 09:00:00"):
        history(ledger)
    times = [str(r.recorded_at) for r in ledger.entries()]
    assert times == [
        *["2024-04-01 09:00:00+00:00"] * 3,
        "2024-04-01 09:00:00.000001+00:00",
        *["2024-04-01 09:00:00.000002+00:00"] * 2,
    ]


def test_rows_follow_positions_a_rolled_back_import_skipped(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a rolled-back import still draws positions from the sequence: the
    next import's events do not land where its fold foresaw, and its rows move with them."""
    monkeypatch.setattr(application, "CHUNK", 2)  # chunks written before the refusal
    ledger.append(new("acme", "s1", "2024-01-01", "1000"))
    refused = [new(f"c{n}", f"x{n}", "2024-01-01", "10") for n in range(5)]
    refused.append(event("churn", "nobody", "2024-01-01", subscription_id="nothing"))
    with pytest.raises(Refused, match="is not active"):
        imported(ledger, *refused)
    imported(ledger, new("beta", "s2", "2024-02-01", "500"), new("gamma", "s3", "2024-02-01", "7"))
    head = ledger.head()
    # SQLite reuses the numbers; PostgreSQL's sequence skipped the refused chunks' ones
    assert head == 3 if ledger.store.location.is_sqlite else head > 3
    model = ledger.read_model()
    assert model.status().as_json() == {"tracked": head, "head": head, "lag": 0}
    assert ledger.report(AS_OF).as_json()["mrr"] == "1507.00"
    assert not ledger.verify().findings
    written = model.rows()
    model.rebuild()
    assert model.rows() == written


def test_a_refused_import_leaves_the_read_model_as_it_was(ledger: Ledger) -> None:
    history(ledger)
    model = ledger.read_model()
    before = model.rows()
    refused = [
        new("epsilon", "s5", "2024-01-01", "10"),
        event("churn", "acme", "2023-01-01", subscription_id="s1"),  # before it started
    ]
    with pytest.raises(Refused, match=re.escape("file.csv:3: churn on 2023-01-01")):
        imported(ledger, *refused)
    assert model.rows() == before
    assert model.status().as_json() == {"tracked": 6, "head": 6, "lag": 0}


def test_an_import_into_a_lagging_read_model_leaves_it_to_the_next_query(
    ledger: Ledger, lagging: None
) -> None:
    history(ledger)  # imports that wrote nothing inline, as an earlier version's did
    model = ledger.read_model()
    assert model.status().as_json() == {"tracked": 0, "head": 6, "lag": 6}
    assert ledger.report(AS_OF).as_json()["mrr"] == "1500.00"  # caught up first
    assert model.status().as_json() == {"tracked": 6, "head": 6, "lag": 0}


def test_a_large_import_derives_its_rows_in_worker_processes_as_a_rebuild_would(
    ledger: Ledger,
) -> None:
    """2,100 new customers: a full chunk of them is handed to worker processes."""
    events = sample_events(customers=2_100, years=1)
    ledger.import_rows(Row(f"big.csv:{n}", e) for n, e in enumerate(events, start=2))
    model = ledger.read_model()
    assert model.status().as_json()["lag"] == 0
    written = model.rows()
    model.rebuild()
    assert model.rows() == written
    assert ledger.report(AS_OF) == report(ledger.book(), AS_OF)


def test_imports_written_inline_while_another_ledger_rebuilds_leave_it_exact(
    ledger: Ledger, db_url: str
) -> None:
    """Readers and writers at once: each import writes its rows inline (or, while a
    rebuild runs, leaves them to it) and the read model ends equal to the events."""
    failures: list[BaseException] = []

    def imports() -> None:
        try:
            with Ledger.open(db_url) as writer:
                for batch in range(15):
                    imported(
                        writer,
                        *(
                            new(f"w{batch}-{n}", f"s{batch}-{n}", "2024-01-01", "10")
                            for n in range(5)
                        ),
                    )
        except BaseException as exc:
            failures.append(exc)

    writer = threading.Thread(target=imports)
    writer.start()
    with Ledger.open(db_url) as rebuilder:
        while writer.is_alive():
            rebuilder.read_model().rebuild()
    writer.join()
    assert not failures
    assert not ledger.verify().findings
    assert ledger.report(AS_OF).as_json()["mrr"] == "750.00"
    model = ledger.read_model()
    written = model.rows()
    model.rebuild()
    assert model.rows() == written
