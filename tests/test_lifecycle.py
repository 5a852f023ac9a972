"""Trials, pauses, discounts and reasons (SPEC §11-§12), on both databases.

The worked examples 13-16 of §8 hold exactly; each validation rule of §11-§12 refuses its
row at its location, naming the field or the recorded event, and writes nothing; the
figures from the read model equal a replay's; reasons and notes are content (idempotency,
the seal) and are shown where people look for them.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from projections.figures.movements import movements as replayed_movements
from projections.figures.report import report as replayed_report
from tests.conftest import accept, refused

S1 = {"customer_id": "acme", "subscription_id": "s1"}


def row(event_id: str, kind: str, day: str, **fields: Any) -> dict[str, Any]:
    """An event of customer acme's subscription s1, unless `fields` say otherwise."""
    return {"event_id": event_id, "type": kind, **S1, "effective_date": day, **fields}


def report(ledger: Ledger, day: str) -> dict[str, Any]:
    return ledger.report(date.fromisoformat(day)).as_json()


def movements(ledger: Ledger, start: str, end: str) -> dict[str, Any]:
    return ledger.movements(date.fromisoformat(start), date.fromisoformat(end)).as_json()


def moved(figures: dict[str, Any]) -> dict[str, Any]:
    """The movement keys that are not zero."""
    keys = ("new", "expansion", "contraction", "churn", "reactivation", "paused", "resumed")
    return {k: figures[k] for k in keys if figures[k] != "0.00"}


# SPEC §8, example 13: trials.


def test_example_13_a_trial_converted_by_a_new(ledger: Ledger) -> None:
    accept(
        ledger,
        row("t1", "trial", "2024-01-01", trial_end="2024-01-15"),
        row("n1", "new", "2024-01-10", amount="100"),
    )
    on_5th = report(ledger, "2024-01-05")
    assert (on_5th["mrr"], on_5th["trialing_contracts"], on_5th["active_customers"]) == (
        "0.00",
        1,
        0,
    )
    january = movements(ledger, "2023-12-31", "2024-01-31")
    assert moved(january) == {"new": "100.00"}
    assert (january["trials_started"], january["trials_converted"]) == (1, 1)


def test_example_13_a_trial_that_expires_moves_nothing(ledger: Ledger) -> None:
    accept(ledger, row("t1", "trial", "2024-01-01", trial_end="2024-01-15"))
    assert report(ledger, "2024-01-14")["trialing_contracts"] == 1
    assert report(ledger, "2024-01-15")["trialing_contracts"] == 0
    january = movements(ledger, "2023-12-31", "2024-01-31")
    assert moved(january) == {}
    assert (january["trials_started"], january["trials_converted"]) == (1, 0)


def test_a_new_on_the_trial_end_date_converts_it(ledger: Ledger) -> None:
    accept(
        ledger,
        row("t1", "trial", "2024-01-01", trial_end="2024-01-15"),
        row("n1", "new", "2024-01-15", amount="100"),
    )
    assert movements(ledger, "2023-12-31", "2024-01-31")["trials_converted"] == 1


def test_a_churned_trial_ends_with_no_movement(ledger: Ledger) -> None:
    accept(ledger, row("t1", "trial", "2024-01-01"), row("c1", "churn", "2024-01-05"))
    assert report(ledger, "2024-01-04")["trialing_contracts"] == 1
    assert report(ledger, "2024-01-05")["trialing_contracts"] == 0
    assert moved(movements(ledger, "2023-12-31", "2024-01-31")) == {}


# Example 14: a pause.

PAUSED = (
    row("n1", "new", "2024-01-01", amount="300"),
    row("p1", "pause", "2024-03-01", resume_date="2024-05-01"),
)


def test_example_14_a_pause_and_its_resume_date(ledger: Ledger) -> None:
    accept(ledger, *PAUSED)
    march_end = report(ledger, "2024-03-31")
    assert (march_end["mrr"], march_end["paused_customers"], march_end["active_contracts"]) == (
        "0.00",
        1,
        0,
    )
    march = movements(ledger, "2024-02-29", "2024-03-31")
    assert moved(march) == {"paused": "300.00"}
    assert (march["logo_churn_rate"], march["nrr"], march["grr"]) == ("0.0000", "0.0000", "0.0000")
    may = movements(ledger, "2024-04-30", "2024-05-31")
    assert moved(may) == {"resumed": "300.00"}
    assert report(ledger, "2024-05-01")["mrr"] == "300.00"


def test_a_resume_at_a_new_price(ledger: Ledger) -> None:
    accept(ledger, *PAUSED[:1], row("p1", "pause", "2024-03-01"))
    accept(ledger, row("r1", "resume", "2024-04-01", amount="200"))
    assert moved(movements(ledger, "2024-03-31", "2024-04-30")) == {"resumed": "200.00"}
    assert report(ledger, "2024-04-30")["mrr"] == "200.00"


def test_a_paused_subscription_that_churns_is_churn_of_its_pre_pause_mrr(ledger: Ledger) -> None:
    accept(ledger, *PAUSED, row("c1", "churn", "2024-04-01", reason="non_payment"))
    april = movements(ledger, "2024-03-31", "2024-04-30")
    assert moved(april) == {"churn": "300.00", "paused": "-300.00"}
    assert april["net_new"] == "0.00"
    assert april["logo_churn_rate"] is None  # nobody was active at the start
    lines = ledger.by_reason(date(2024, 3, 31), date(2024, 4, 30))
    assert [(x.reason, x.as_json()["churn"]) for x in lines] == [("non_payment", "300.00")]


def test_a_fixed_term_lapses_while_paused(ledger: Ledger) -> None:
    accept(
        ledger,
        row("n1", "new", "2024-01-01", amount="100", term_months="6"),
        row("p1", "pause", "2024-05-01"),
    )
    july = movements(ledger, "2024-06-30", "2024-07-31")
    assert moved(july) == {"churn": "100.00", "paused": "-100.00"}
    lines = ledger.by_reason(date(2024, 6, 30), date(2024, 7, 31))
    assert [(x.reason, x.as_json()["churn"]) for x in lines] == [("lapsed", "100.00")]
    assert report(ledger, "2024-07-01")["paused_customers"] == 0


def test_a_renewal_while_paused_keeps_it_paused(ledger: Ledger) -> None:
    accept(
        ledger,
        row("n1", "new", "2024-01-01", amount="100", term_months="6"),
        row("p1", "pause", "2024-05-01"),
        row("r1", "renewal", "2024-07-01", amount="120"),
        row("u1", "resume", "2024-08-01"),
    )
    assert report(ledger, "2024-07-15")["paused_customers"] == 1
    assert moved(movements(ledger, "2024-06-30", "2024-07-31")) == {}
    assert moved(movements(ledger, "2024-07-31", "2024-08-31")) == {"resumed": "120.00"}


# Example 15: a discount.


def test_example_15_a_discount_for_three_months(ledger: Ledger) -> None:
    accept(
        ledger,
        row("n1", "new", "2024-01-01", amount="1000"),
        row("d1", "discount", "2024-01-01", percent_off="20", duration_months="3"),
    )
    mid_february = report(ledger, "2024-02-15")
    assert (mid_february["mrr"], mid_february["discounts"]) == ("800.00", "200.00")
    assert moved(movements(ledger, "2023-12-31", "2024-01-01")) == {"new": "800.00"}
    assert moved(movements(ledger, "2024-03-31", "2024-04-01")) == {"expansion": "200.00"}
    assert report(ledger, "2024-04-01")["discounts"] == "0.00"
    january = movements(ledger, "2023-12-31", "2024-01-31")
    assert january["bookings_acv"] == "9600.00"


def test_an_amount_off_stays_its_monthly_amount_when_the_interval_changes(
    ledger: Ledger,
) -> None:
    accept(
        ledger,
        row("n1", "new", "2024-01-01", amount="300", interval="quarter"),
        row("d1", "discount", "2024-01-01", amount_off="30"),
        row("u1", "upgrade", "2024-02-01", amount="150", interval="month"),
    )
    assert report(ledger, "2024-01-15")["mrr"] == "90.00"  # 100 - 30 / 3
    assert report(ledger, "2024-02-15")["mrr"] == "140.00"  # 150 - 10
    assert report(ledger, "2024-02-15")["discounts"] == "10.00"


def test_percent_off_zero_ends_the_discount(ledger: Ledger) -> None:
    accept(
        ledger,
        row("n1", "new", "2024-01-01", amount="100"),
        row("d1", "discount", "2024-01-01", percent_off="12.5"),
        row("d2", "discount", "2024-03-01", percent_off="0", reason="promo_over"),
    )
    assert report(ledger, "2024-02-01")["mrr"] == "87.50"
    assert moved(movements(ledger, "2024-02-29", "2024-03-31")) == {"expansion": "12.50"}


def test_a_discount_is_a_contraction_and_its_reason_is_the_discounts(ledger: Ledger) -> None:
    accept(
        ledger,
        row("n1", "new", "2024-01-01", amount="100"),
        row("d1", "discount", "2024-02-01", percent_off="25", reason="retention_offer"),
    )
    assert moved(movements(ledger, "2024-01-31", "2024-02-29")) == {"contraction": "25.00"}
    lines = ledger.by_reason(date(2024, 1, 31), date(2024, 2, 29))
    assert [x.as_json() for x in lines] == [
        {
            "from": "2024-01-31",
            "to": "2024-02-29",
            "position": 2,
            "fx_policy": "spot",
            "reason": "retention_offer",
            "churn": "0.00",
            "contraction": "25.00",
        }
    ]


# Example 16: reasons.


def test_example_16_churn_by_reason(ledger: Ledger) -> None:
    accept(
        ledger,
        row("a1", "new", "2024-01-01", amount="100"),
        row("b1", "new", "2024-01-01", amount="50", subscription_id="s2"),
        row("x1", "new", "2024-01-01", amount="10", customer_id="beta", subscription_id="t"),
        row("x2", "new", "2024-01-01", amount="40", term_months="5", subscription_id="s3"),
        row("a2", "churn", "2024-06-01", reason="price"),
        row("b2", "churn", "2024-06-01", subscription_id="s2", reason="product_gap"),
        row("x3", "churn", "2024-06-15", customer_id="beta", subscription_id="t"),
    )
    lines = ledger.by_reason(date(2024, 5, 31), date(2024, 6, 30))
    assert [(x.reason, x.churn, x.contraction) for x in lines] == [
        ("lapsed", 40, 0),
        ("price", 100, 0),
        ("product_gap", 50, 0),
        ("unspecified", 10, 0),
    ]
    june = movements(ledger, "2024-05-31", "2024-06-30")
    assert june["churn"] == "200.00"  # the lines add up to the period's churn


def test_a_contraction_by_a_lapse_is_lapsed(ledger: Ledger) -> None:
    accept(
        ledger,
        row("a1", "new", "2024-01-01", amount="100"),
        row("b1", "new", "2024-01-01", amount="50", subscription_id="s2", term_months="3"),
        row("a2", "upgrade", "2024-04-01", amount="120", reason="price_increase"),
    )
    lines = ledger.by_reason(date(2024, 3, 31), date(2024, 4, 30))
    assert [(x.reason, x.churn, x.contraction) for x in lines] == [("lapsed", 0, 30)]


def test_reserved_and_malformed_reasons_are_refused(ledger: Ledger) -> None:
    assert refused(ledger, row("n1", "new", "2024-01-01", amount="100", reason="lapsed")) == [
        "row1: reason: 'lapsed' is reserved: the ledger gives it itself (lapsed and "
        "unspecified); give your own code"
    ]
    assert refused(ledger, row("n1", "new", "2024-01-01", amount="100", reason="Price Up")) == [
        "row1: reason: 'Price Up' is not a reason code (1-64 characters of a-z, 0-9, _ and -; "
        "put words in `note`): did you mean 'price_up'?"
    ]
    assert refused(ledger, row("n1", "new", "2024-01-01", amount="100", note="x" * 1001)) == [
        "row1: note: 1,001 characters is more than 1,000, the most a note may have: give a "
        "shorter note"
    ]


def test_reason_and_note_are_content(ledger: Ledger) -> None:
    first = row("n1", "new", "2024-01-01", amount="100", reason="won_deal", note="via Jo")
    accept(ledger, first)
    accept(ledger, first)  # an identical retry is a no-op
    assert ledger.head() == 1
    problems = refused(ledger, {**first, "note": "via Sam"})
    assert problems == [
        "row1: event_id 'n1' is already recorded (position 1) with other content: note "
        "'via Jo' recorded, 'via Sam' here"
    ]
    assert ledger.verify().ok


# Every rule of §11, refused at its row with nothing written.

NEW = row("n1", "new", "2024-01-01", amount="100")
PAUSE = row("p1", "pause", "2024-02-01")
TRIAL = row("t1", "trial", "2024-01-01")
RULES = [
    (
        [NEW, row("t1", "trial", "2024-02-01")],
        "row2: trial on 2024-02-01: subscription 's1' is already active on 2024-02-01: a trial "
        "starts a subscription",
    ),
    (
        [TRIAL, row("t2", "trial", "2024-01-05")],
        "row2: trial on 2024-01-05: subscription 's1' is already trialing on 2024-01-05: a trial "
        "starts a subscription",
    ),
    (
        [NEW, PAUSE, row("t1", "trial", "2024-03-01")],
        "row3: trial on 2024-03-01: subscription 's1' is paused on 2024-03-01: a trial starts a "
        "subscription",
    ),
    (
        [row("t1", "trial", "2024-01-01", trial_end="2024-01-01")],
        "row1: trial_end: 2024-01-01 is not after effective_date 2024-01-01: give a later date, "
        "or leave it empty",
    ),
    *[
        (
            [TRIAL, row("x1", kind, "2024-01-05", **fields)],
            f"row2: {kind} on 2024-01-05: subscription 's1' is trialing on 2024-01-05: convert it "
            "with a `new` first",
        )
        for kind, fields in (
            ("upgrade", {"amount": "200"}),
            ("downgrade", {"amount": "50"}),
            ("renewal", {}),
            ("pause", {}),
            ("discount", {"percent_off": "10"}),
        )
    ],
    (
        [row("p1", "pause", "2024-01-05")],
        "row1: pause on 2024-01-05: subscription 's1' is not active on 2024-01-05",
    ),
    (
        [NEW, PAUSE, row("p2", "pause", "2024-03-01")],
        "row3: pause on 2024-03-01: subscription 's1' is already paused on 2024-03-01",
    ),
    (
        [NEW, row("r1", "resume", "2024-02-01")],
        "row2: resume on 2024-02-01: subscription 's1' is not paused on 2024-02-01: only a paused "
        "subscription resumes",
    ),
    *[
        (
            [NEW, PAUSE, row("x1", kind, "2024-03-01", **fields)],
            f"row3: {kind} on 2024-03-01: subscription 's1' is paused on 2024-03-01: `resume` it "
            "first",
        )
        for kind, fields in (
            ("upgrade", {"amount": "200"}),
            ("downgrade", {"amount": "50"}),
            ("discount", {"percent_off": "10"}),
        )
    ],
    (
        [NEW, PAUSE, row("n2", "new", "2024-03-01", amount="200")],
        "row3: new on 2024-03-01: subscription 's1' is paused on 2024-03-01: `resume` it, or "
        "`churn` it before starting it again",
    ),
    (
        [NEW, row("p1", "pause", "2024-02-01", resume_date="2024-02-01")],
        "row2: resume_date: 2024-02-01 is not after effective_date 2024-02-01: give a later "
        "date, or leave it empty",
    ),
    (
        [NEW, row("d1", "discount", "2024-02-01", percent_off="100")],
        "row2: discount on 2024-02-01: percent_off 100 would make net MRR 0 (list MRR 100.00): "
        "use `churn` or `pause` instead",
    ),
    (
        [NEW, row("d1", "discount", "2024-02-01", amount_off="150")],
        "row2: discount on 2024-02-01: amount_off 150 would make net MRR 0 (list MRR 100.00): "
        "use `churn` or `pause` instead",
    ),
    (
        [NEW, row("d1", "discount", "2024-02-01", amount_off="10", percent_off="5")],
        "row2: percent_off, amount_off: both given; give exactly one (percent_off 0 ends the "
        "discount in force)",
    ),
    (
        [NEW, row("d1", "discount", "2024-02-01")],
        "row2: percent_off, amount_off: neither given; give exactly one (percent_off 0 ends the "
        "discount in force)",
    ),
    (
        [NEW, row("d1", "discount", "2024-02-01", percent_off="100.5")],
        "row2: percent_off: '100.5' is more than 100 (percent)",
    ),
    (
        [
            NEW,
            row("d1", "discount", "2024-02-01", amount_off="50"),
            row("w1", "downgrade", "2024-03-01", amount="40"),
        ],
        "row3: downgrade on 2024-03-01: it would make net MRR 0 (the discount takes all of the "
        "price): use `churn` or `pause`",
    ),
    (
        [
            NEW,
            row("d1", "discount", "2024-02-01", amount_off="50"),
            row("u1", "upgrade", "2024-03-01", amount="110"),
            row("w1", "downgrade", "2024-04-01", amount="105"),
            row("u2", "upgrade", "2024-05-01", amount="120", interval="quarter"),
        ],
        "row5: upgrade on 2024-05-01: an upgrade must raise MRR, but 0.00 is not above 55.00",
    ),
    (
        [NEW, row("d1", "discount", "9998-01-01", percent_off="10", duration_months="24")],
        "row2: discount on 9998-01-01: its 24-month discount would end in the year 10000, after "
        "9998-12-31, the last date the ledger takes: give a shorter duration_months",
    ),
]


@pytest.mark.parametrize(("rows", "expected"), RULES, ids=[e[:40] for _, e in RULES])
def test_each_rule_is_refused_at_its_row(
    ledger: Ledger, rows: list[dict[str, Any]], expected: str
) -> None:
    assert refused(ledger, *rows) == [expected]


def test_a_backdated_pause_that_would_make_a_recorded_upgrade_invalid(ledger: Ledger) -> None:
    accept(ledger, NEW, row("u1", "upgrade", "2024-03-01", amount="200"))
    assert refused(ledger, PAUSE) == [
        "row1: would make recorded event 'u1' invalid: upgrade on 2024-03-01: subscription 's1' "
        "is paused on 2024-03-01: `resume` it first"
    ]
    accept(ledger, {**PAUSE, "resume_date": "2024-02-15"})  # resumed before it: valid
    assert moved(movements(ledger, "2024-01-31", "2024-02-29")) == {
        "paused": "100.00",
        "resumed": "100.00",
    }


def test_a_void_that_would_leave_a_resume_without_its_pause_is_refused(ledger: Ledger) -> None:
    accept(ledger, NEW, PAUSE, row("r1", "resume", "2024-03-01"))
    void = {"event_id": "v1", "type": "void", "customer_id": "acme", "target_event_id": "p1"}
    problems = refused(ledger, void)
    assert problems == [
        "row1: would make recorded event 'r1' invalid: resume on 2024-03-01: subscription 's1' "
        "is not paused on 2024-03-01: only a paused subscription resumes"
    ]


# The read model, and where reasons are shown.

HISTORY = (
    row("t1", "trial", "2024-01-01", trial_end="2024-01-20", subscription_id="t"),
    row("n1", "new", "2024-01-01", amount="300"),
    row("d1", "discount", "2024-02-01", percent_off="10", duration_months="2"),
    row("p1", "pause", "2024-05-01", resume_date="2024-07-01", reason="seasonal"),
    row("m1", "new", "2024-01-01", amount="100", customer_id="plain", subscription_id="m"),
)


def test_the_model_gives_a_replays_figures(ledger: Ledger) -> None:
    accept(ledger, *HISTORY[:3])
    accept(ledger, *HISTORY[3:])
    book = ledger.book()
    for day in ("2024-01-10", "2024-02-15", "2024-05-15", "2024-07-31"):
        as_of = date.fromisoformat(day)
        assert ledger.report(as_of).as_json() == replayed_report(book, as_of).as_json()
    bounds = (date(2023, 12, 31), date(2024, 12, 31))
    assert ledger.movements(*bounds).as_json() == replayed_movements(book, *bounds).as_json()
    earlier = ledger.report(date(2024, 5, 15), position=3).as_json()
    assert (earlier["mrr"], earlier["paused_customers"]) == ("300.00", 0)
    assert ledger.verify().ok


def test_reasons_and_notes_are_shown(db_url: str) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--db", db_url]).exit_code == 0
    with Ledger.open(db_url) as ledger:
        accept(ledger, *HISTORY, row("c1", "churn", "2024-09-01", reason="price", note="too dear"))
    logged = runner.invoke(
        app, ["audit", "log", "--customer", "acme", "--db", db_url, "--format", "json"]
    )
    events = json.loads(logged.output)["events"]
    assert [(e["event_id"], e["reason"], e["note"]) for e in events][-2:] == [
        ("p1", "seasonal", None),
        ("c1", "price", "too dear"),
    ]
    by_customer = runner.invoke(
        app,
        ["movements", "--period", "2024", "--by", "customer", "--db", db_url, "--format", "json"],
    )
    rows = {r["customer_id"]: r for r in json.loads(by_customer.output)}
    assert rows["acme"]["why"] == "seasonal; price: too dear"
    assert rows["plain"]["why"] == ""
    by_reason = runner.invoke(
        app, ["movements", "--period", "2024", "--by", "reason", "--db", db_url, "--format", "csv"]
    )
    assert by_reason.exit_code == 0
    assert by_reason.output.splitlines() == [
        "from,to,position,fx_policy,reason,churn,contraction",
        "2023-12-31,2024-12-31,6,spot,price,300.00,0.00",
        "2023-12-31,2024-12-31,6,spot,unspecified,0.00,30.00",
    ]
