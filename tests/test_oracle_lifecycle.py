"""Trials, pauses, discounts (SPEC §11) and reasons (§12): the naive oracle alone.

The oracle (`tests/oracle.py`) is fed the literal input events of SPEC §8's worked examples
13-16 and smaller cases, one for each rule of §11 and §12, and must give the figures the SPEC
states. Every expected number is read from the SPEC's text (or worked out by hand from its
rules, as the comment next to it says), never from the oracle's output.
"""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import pytest

from tests.conftest import rate
from tests.oracle import ZERO, Oracle

UNTIL = date(2025, 12, 31)
_ids = itertools.count(1)


def _event(kind: str, sub: str, day: str, customer: str = "acme", **fields: str) -> dict[str, str]:
    base = {"event_id": f"{kind}-{sub}-{day}-{next(_ids)}", "type": kind}
    return base | {"customer_id": customer, "subscription_id": sub, "effective_date": day, **fields}


def _oracle(rows: list[dict[str, str]]) -> Oracle:
    return Oracle([dict(r) for r in rows], until=UNTIL, lifecycle_keys=True)


def _d(text: str) -> date:
    return date.fromisoformat(text)


def _moved(oracle: Oracle, start: str, end: str, **kwargs: Any) -> dict[str, Any]:
    return oracle.movements(_d(start), _d(end), **kwargs)


def _on(oracle: Oracle, day: str, **kwargs: Any) -> dict[str, Any]:
    """The movements of one day: `(day - 1, day]`."""
    end = _d(day)
    return oracle.movements(end - timedelta(days=1), end, **kwargs)


def _quiet(figures: dict[str, Any], *except_: str) -> None:
    """Every movement but `except_` is 0."""
    kinds = ("new", "expansion", "contraction", "churn", "reactivation", "fx", "paused")
    for kind in (*kinds, "resumed"):
        if kind not in except_:
            assert figures[kind] == "0.00", (kind, figures[kind])


# SPEC §8 example 13: trials.

EXAMPLE_13 = [
    _event("trial", "s1", "2024-01-01", trial_end="2024-01-15"),
    _event("new", "s1", "2024-01-10", amount="100"),
]
EXAMPLE_13_UNCONVERTED = [_event("trial", "s2", "2024-01-01", "beta", trial_end="2024-01-15")]


def test_worked_example_13_a_trial_converted_by_new() -> None:
    oracle = _oracle(EXAMPLE_13)
    on_5th = oracle.report(_d("2024-01-05"))
    assert on_5th["mrr"] == "0.00"
    assert on_5th["trialing_contracts"] == 1
    assert on_5th["active_customers"] == 0
    january = _moved(oracle, "2023-12-31", "2024-01-31")
    assert january["new"] == "100.00"
    assert (january["trials_started"], january["trials_converted"]) == (1, 1)
    _quiet(january, "new")
    # The trial ends on the day of the `new` (§11): no longer trialing, now active.
    after = oracle.report(_d("2024-01-10"))
    assert (after["trialing_contracts"], after["active_contracts"], after["mrr"]) == (
        0,
        1,
        "100.00",
    )
    assert _on(oracle, "2024-01-10")["new"] == "100.00"  # the day it converts


def test_worked_example_13_an_unconverted_trial_expires_and_moves_nothing() -> None:
    oracle = _oracle(EXAMPLE_13_UNCONVERTED)
    assert oracle.status_on("s2", _d("2024-01-14")) == "trialing"
    assert oracle.status_on("s2", _d("2024-01-15")) != "trialing"
    assert oracle.report(_d("2024-01-14"))["trialing_contracts"] == 1
    assert oracle.report(_d("2024-01-15"))["trialing_contracts"] == 0
    january = _moved(oracle, "2023-12-31", "2024-01-31")
    _quiet(january)
    assert (january["trials_started"], january["trials_converted"]) == (1, 0)
    for day in ("2024-01-01", "2024-01-14", "2024-01-15", "2024-02-01"):
        figures = oracle.report(_d(day))
        assert (figures["mrr"], figures["active_customers"], figures["active_contracts"]) == (
            "0.00",
            0,
            0,
        )


def test_a_new_on_the_trial_end_date_converts_it_and_a_later_one_does_not() -> None:
    on_the_day = _oracle(
        [
            _event("trial", "s1", "2024-01-01", trial_end="2024-01-15"),
            _event("new", "s1", "2024-01-15", amount="100"),
        ]
    )
    assert _moved(on_the_day, "2023-12-31", "2024-01-31")["trials_converted"] == 1
    assert _on(on_the_day, "2024-01-15")["new"] == "100.00"
    later = _oracle(
        [
            _event("trial", "s1", "2024-01-01", trial_end="2024-01-15"),
            _event("new", "s1", "2024-01-16", amount="100"),  # the trial was over: a restart
        ]
    )
    january = _moved(later, "2023-12-31", "2024-01-31")
    assert (january["trials_converted"], january["new"]) == (0, "100.00")


def test_a_trial_without_trial_end_runs_until_converted_or_churned() -> None:
    oracle = _oracle(
        [
            _event("trial", "s1", "2024-01-01"),
            _event("new", "s1", "2024-03-01", amount="100"),
            _event("trial", "s2", "2024-01-01", "beta"),
            _event("churn", "s2", "2024-02-10", "beta"),  # §11: churn ends a trial
        ]
    )
    assert oracle.report(_d("2024-02-09"))["trialing_contracts"] == 2
    assert oracle.report(_d("2024-02-10"))["trialing_contracts"] == 1
    assert oracle.report(_d("2024-03-01"))["trialing_contracts"] == 0
    # "A trial that reaches trial_end, or is ended by churn, ends with no movement."
    _quiet(_moved(oracle, "2024-01-31", "2024-02-29"))
    spring = _moved(oracle, "2023-12-31", "2024-03-31")
    assert (spring["new"], spring["churn"], spring["trials_started"]) == ("100.00", "0.00", 2)
    assert spring["trials_converted"] == 1
    assert spring["logo_churn_rate"] is None  # nobody was active at the start


def test_a_trial_may_restart_an_ended_subscription() -> None:
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="100"),
            _event("churn", "s1", "2024-02-01"),
            _event("trial", "s1", "2024-03-01", trial_end="2024-03-15"),
            _event("new", "s1", "2024-03-10", amount="120"),
        ]
    )
    march = _moved(oracle, "2024-02-29", "2024-03-31")
    # The customer was > 0 before: its return is a reactivation (§5), never a second `new`.
    assert (march["reactivation"], march["new"], march["trials_converted"]) == ("120.00", "0.00", 1)


# SPEC §8 example 14: pauses.

EXAMPLE_14 = [
    _event("new", "s1", "2024-01-01", amount="300"),
    _event("pause", "s1", "2024-03-01", resume_date="2024-05-01"),
]


def test_worked_example_14_a_pause_with_a_resume_date() -> None:
    oracle = _oracle(EXAMPLE_14)
    end_of_march = oracle.report(_d("2024-03-31"))
    assert (end_of_march["mrr"], end_of_march["paused_customers"]) == ("0.00", 1)
    march = _moved(oracle, "2024-02-29", "2024-03-31")
    assert march["paused"] == "300.00"
    assert (march["logo_churn_rate"], march["nrr"]) == ("0.0000", "0.0000")
    assert march["grr"] == "0.0000"  # §11: GRR too counts its MRR at `end` as 0
    _quiet(march, "paused")  # a pause is no churn
    may = _moved(oracle, "2024-04-30", "2024-05-31")
    assert may["resumed"] == "300.00"
    assert may["reactivation"] == "0.00"
    _quiet(may, "resumed")
    assert oracle.report(_d("2024-05-01"))["mrr"] == "300.00"  # resumes at the start of the day
    assert oracle.report(_d("2024-04-30"))["mrr"] == "0.00"
    assert oracle.report(_d("2024-05-01"))["paused_customers"] == 0
    # Paused, it is no active contract and no active customer (§11, §4).
    assert (end_of_march["active_contracts"], end_of_march["active_customers"]) == (0, 0)


def test_a_pause_without_resume_date_lasts_until_a_resume_at_a_new_price() -> None:
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="300"),
            _event("pause", "s1", "2024-03-01"),
            _event("resume", "s1", "2025-02-01", amount="450"),
        ]
    )
    assert oracle.report(_d("2025-01-31"))["paused_customers"] == 1
    assert oracle.report(_d("2025-01-31"))["mrr"] == "0.00"
    back = _on(oracle, "2025-02-01")
    # §11: `resumed` is the MRR at the end of d of the subscription that resumed: all 450.
    assert back["resumed"] == "450.00"
    _quiet(back, "resumed")
    assert oracle.report(_d("2025-02-01"))["mrr"] == "450.00"


def test_a_resume_without_amount_comes_back_at_the_price_before_the_pause() -> None:
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="3600", interval="year"),
            _event("pause", "s1", "2024-03-01"),
            _event("resume", "s1", "2024-04-15"),
        ]
    )
    assert _on(oracle, "2024-04-15")["resumed"] == "300.00"  # 3,600 a year: 300 a month
    assert oracle.report(_d("2024-04-15"))["mrr"] == "300.00"


def test_paused_and_resumed_are_split_off_before_the_table() -> None:
    """§11: §5's table classifies `(prev' − paused, cur − resumed)`."""
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="300"),
            _event("new", "s2", "2024-01-01", amount="100"),
            _event("pause", "s1", "2024-03-01"),
            _event("upgrade", "s2", "2024-03-01", amount="150"),
            _event("resume", "s1", "2024-04-01"),
            _event("downgrade", "s2", "2024-04-01", amount="80"),
        ]
    )
    pausing = _on(oracle, "2024-03-01")
    # prev 400, cur 150: paused 300, and the rest (100 -> 150) is an expansion of 50.
    assert (pausing["paused"], pausing["expansion"]) == ("300.00", "50.00")
    _quiet(pausing, "paused", "expansion")
    resuming = _on(oracle, "2024-04-01")
    # prev 150, cur 380: resumed 300, and the rest (150 -> 80) is a contraction of 70.
    assert (resuming["resumed"], resuming["contraction"]) == ("300.00", "70.00")
    _quiet(resuming, "resumed", "contraction")
    # The customer stays active all along (s2): never paused, never lost.
    assert oracle.report(_d("2024-03-15"))["paused_customers"] == 0
    spring = _moved(oracle, "2024-02-29", "2024-03-31")
    assert (spring["logo_churn_rate"], spring["nrr"]) == ("0.0000", "0.3750")  # 150 / 400


def test_a_paused_customer_is_not_lost_but_counts_zero_in_nrr_and_grr() -> None:
    oracle = _oracle(
        [
            _event("new", "a1", "2024-01-01", "a", amount="300"),
            _event("pause", "a1", "2024-03-01", "a"),
            _event("new", "b1", "2024-01-01", "b", amount="100"),
            _event("churn", "b1", "2024-03-01", "b"),
            _event("new", "c1", "2024-01-01", "c", amount="100"),
        ]
    )
    march = _moved(oracle, "2024-02-29", "2024-03-31")
    # C = {a, b, c}, S = 500; at the end a is paused (MRR 0, not lost), b is lost, c 100.
    assert march["logo_churn_rate"] == "0.3333"
    assert (march["nrr"], march["grr"]) == ("0.2000", "0.2000")
    assert (march["paused"], march["churn"]) == ("300.00", "100.00")
    assert oracle.report(_d("2024-03-31"))["paused_customers"] == 1
    assert oracle.report(_d("2024-03-31"))["active_customers"] == 1


def test_a_fixed_term_keeps_running_while_paused_and_lapses_at_its_end() -> None:
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="300", term_months="6"),  # ends 2024-07-01
            _event("pause", "s1", "2024-03-01", resume_date="2024-09-01", reason="cash_flow"),
        ]
    )
    lapse = _on(oracle, "2024-07-01")
    # §11: its pre-pause MRR counts as `churn` that day and as a negative `paused`.
    assert (lapse["churn"], lapse["paused"]) == ("300.00", "-300.00")
    _quiet(lapse, "churn", "paused")
    assert oracle.by_reason(_d("2024-06-30"), _d("2024-07-31")) == [
        {"reason": "lapsed", "churn": "300.00", "contraction": "0.00"}
    ]
    september = _moved(oracle, "2024-08-31", "2024-09-30")
    _quiet(september)  # it never resumes: it ended
    assert oracle.report(_d("2024-09-30"))["mrr"] == "0.00"
    assert oracle.report(_d("2024-06-30"))["paused_customers"] == 1
    assert oracle.report(_d("2024-07-01"))["paused_customers"] == 0
    whole = _moved(oracle, "2024-02-29", "2024-07-31")
    assert (whole["paused"], whole["churn"], whole["logo_churn_rate"]) == (
        "0.00",
        "300.00",
        "1.0000",
    )
    assert oracle.bridge(_d("2024-02-29"), _d("2024-07-31")) == -300


def test_a_renewal_while_paused_keeps_it_paused() -> None:
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="300", term_months="6"),
            _event("pause", "s1", "2024-03-01"),
            _event("renewal", "s1", "2024-05-01", term_months="12"),  # now ends 2025-05-01
        ]
    )
    assert oracle.report(_d("2024-07-15"))["paused_customers"] == 1
    assert oracle.report(_d("2024-07-15"))["mrr"] == "0.00"
    _quiet(_moved(oracle, "2024-04-30", "2024-12-31"))
    may = _moved(oracle, "2024-04-30", "2024-05-31")
    assert (may["bookings"], may["bookings_acv"]) == (1, "3600.00")  # 300 × 12
    assert _on(oracle, "2025-05-01")["churn"] == "300.00"  # the new term's end


def test_churning_a_paused_subscription() -> None:
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="300"),
            _event("pause", "s1", "2024-03-01"),
            _event("churn", "s1", "2024-04-10", reason="non_payment"),
        ]
    )
    day = _on(oracle, "2024-04-10")
    assert (day["churn"], day["paused"]) == ("300.00", "-300.00")
    _quiet(day, "churn", "paused")
    assert oracle.by_reason(_d("2024-03-31"), _d("2024-04-30")) == [
        {"reason": "non_payment", "churn": "300.00", "contraction": "0.00"}
    ]
    assert oracle.report(_d("2024-04-10"))["paused_customers"] == 0


def test_a_pause_at_d_s_rate_and_fx() -> None:
    """§10 with §11: `paused` is the MRR at the end of d-1 at d's rates (its part of prev')."""
    oracle = _oracle(
        [
            rate("EUR", "2024-01-01", "1.10"),
            rate("EUR", "2024-03-01", "1.20"),
            _event("new", "s1", "2024-01-01", amount="1000", currency="EUR"),
            _event("pause", "s1", "2024-03-01"),
        ]
    )
    day = _on(oracle, "2024-03-01")
    assert (day["paused"], day["fx"]) == ("1200.00", "100.00")  # 1000 × 1.20; 1000 × 0.10
    _quiet(day, "paused", "fx")
    assert oracle.bridge(_d("2024-02-29"), _d("2024-03-01")) == Fraction(-1100)


# SPEC §8 example 15: discounts.

EXAMPLE_15 = [
    _event("new", "s1", "2024-01-01", amount="1000"),
    _event("discount", "s1", "2024-01-01", percent_off="20", duration_months="3"),
]


def test_worked_example_15_a_discount_for_three_months() -> None:
    oracle = _oracle(EXAMPLE_15)
    mid_feb = oracle.report(_d("2024-02-15"))
    assert (mid_feb["mrr"], mid_feb["discounts"]) == ("800.00", "200.00")
    first = _on(oracle, "2024-01-01")
    assert first["new"] == "800.00"
    _quiet(first, "new")
    ends = _on(oracle, "2024-04-01")
    assert ends["expansion"] == "200.00"
    _quiet(ends, "expansion")
    assert first["bookings_acv"] == "9600.00"
    assert _moved(oracle, "2023-12-31", "2024-12-31")["bookings_acv"] == "9600.00"
    assert oracle.report(_d("2024-03-31"))["mrr"] == "800.00"  # the last day of the discount
    assert oracle.report(_d("2024-04-01"))["discounts"] == "0.00"


def test_amount_off_is_per_interval_and_stays_that_monthly_amount() -> None:
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="3000", interval="quarter"),
            _event("discount", "s1", "2024-01-01", amount_off="300"),  # 100 a month off
            _event("upgrade", "s1", "2024-02-01", amount="1200", interval="month"),
        ]
    )
    january = oracle.report(_d("2024-01-31"))
    assert (january["mrr"], january["discounts"]) == ("900.00", "100.00")  # 1,000 − 100
    february = oracle.report(_d("2024-02-29"))
    assert (february["mrr"], february["discounts"]) == ("1100.00", "100.00")  # 1,200 − 100
    assert _on(oracle, "2024-02-01")["expansion"] == "200.00"  # net 900 -> 1,100


def test_amount_off_on_a_monthly_price() -> None:
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="1000"),
            _event("discount", "s1", "2024-02-01", amount_off="150"),
        ]
    )
    assert oracle.report(_d("2024-02-01"))["mrr"] == "850.00"
    assert _on(oracle, "2024-02-01")["contraction"] == "150.00"  # applying one is an MRR change


def test_duration_months_clamps_to_the_month_end() -> None:
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-31", amount="1000"),
            _event("discount", "s1", "2024-01-31", percent_off="10", duration_months="1"),
        ]
    )
    # 2024-01-31 + 1 month = 2024-02-29 (§4): the discount is over from that day on.
    assert oracle.report(_d("2024-02-28"))["mrr"] == "900.00"
    assert oracle.report(_d("2024-02-29"))["mrr"] == "1000.00"
    assert _on(oracle, "2024-02-29")["expansion"] == "100.00"


def test_percent_off_zero_ends_a_discount_and_a_new_one_replaces_it() -> None:
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="1000"),
            _event("discount", "s1", "2024-01-01", percent_off="20"),
            _event("discount", "s1", "2024-02-01", percent_off="10"),  # replaces it
            _event("discount", "s1", "2024-03-01", percent_off="0"),  # ends it
        ]
    )
    assert oracle.report(_d("2024-01-31"))["mrr"] == "800.00"
    assert oracle.report(_d("2024-02-29"))["mrr"] == "900.00"
    assert _on(oracle, "2024-02-01")["expansion"] == "100.00"
    assert oracle.report(_d("2024-03-01"))["mrr"] == "1000.00"
    assert oracle.report(_d("2024-03-01"))["discounts"] == "0.00"
    assert _on(oracle, "2024-03-01")["expansion"] == "100.00"


def test_a_price_change_keeps_the_discount_and_compares_net_mrr() -> None:
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="1000"),
            _event("discount", "s1", "2024-01-01", percent_off="20"),
            _event("upgrade", "s1", "2024-02-01", amount="1500"),
            _event("downgrade", "s1", "2024-03-01", amount="500"),
        ]
    )
    # §11: "a percentage applies to the new price"; the movements are net MRR changes.
    assert oracle.report(_d("2024-02-01"))["mrr"] == "1200.00"
    assert _on(oracle, "2024-02-01")["expansion"] == "400.00"  # 800 -> 1,200
    assert oracle.report(_d("2024-03-01"))["mrr"] == "400.00"
    assert _on(oracle, "2024-03-01")["contraction"] == "800.00"  # 1,200 -> 400
    assert oracle.report(_d("2024-03-01"))["discounts"] == "100.00"


def test_a_discount_ends_with_its_subscription() -> None:
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="1000"),
            _event("discount", "s1", "2024-01-01", percent_off="20"),
            _event("churn", "s1", "2024-03-01"),
            _event("new", "s1", "2024-04-01", amount="1000"),
        ]
    )
    assert _on(oracle, "2024-03-01")["churn"] == "800.00"
    assert _on(oracle, "2024-04-01")["reactivation"] == "1000.00"  # back at full price


def test_a_discount_keeps_running_while_paused() -> None:
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="1000"),
            _event("discount", "s1", "2024-01-01", percent_off="20", duration_months="3"),
            _event("pause", "s1", "2024-02-01", resume_date="2024-05-01"),
        ]
    )
    assert _on(oracle, "2024-02-01")["paused"] == "800.00"
    assert oracle.report(_d("2024-03-15"))["discounts"] == "0.00"  # paused: no active contract
    back = _on(oracle, "2024-05-01")  # the discount ran out on 2024-04-01, during the pause
    assert back["resumed"] == "1000.00"
    _quiet(back, "resumed")


def test_a_booking_is_priced_net_of_the_discount_at_the_end_of_its_date() -> None:
    same_day = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="12000", interval="year", term_months="12"),
            _event("discount", "s1", "2024-01-01", percent_off="25"),
        ]
    )
    january = _moved(same_day, "2023-12-31", "2024-01-31")
    assert (january["bookings_acv"], january["bookings_tcv"]) == ("9000.00", "9000.00")
    next_day = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="12000", interval="year", term_months="12"),
            _event("discount", "s1", "2024-01-02", percent_off="25"),
        ]
    )
    january = _moved(next_day, "2023-12-31", "2024-01-31")
    assert (january["bookings_acv"], january["bookings_tcv"]) == ("12000.00", "12000.00")
    renewed = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="12000", interval="year", term_months="12"),
            _event("discount", "s1", "2024-06-01", amount_off="1200"),  # 100 a month
            _event("renewal", "s1", "2024-12-01"),
        ]
    )
    renewal = _on(renewed, "2024-12-01")
    assert (renewal["bookings"], renewal["bookings_acv"]) == (1, "10800.00")  # 12,000 − 1,200
    assert renewal["bookings_tcv"] == "10800.00"


def test_decision_a_renewal_on_the_term_end_date_keeps_the_discount() -> None:
    """Not in the SPEC: renewed on the day its term ends, the subscription never stops
    (its MRR is never 0 at a day's end), so its discount does not end either."""
    oracle = _oracle(
        [
            _event("new", "s1", "2024-01-01", amount="12000", interval="year", term_months="12"),
            _event("discount", "s1", "2024-06-01", amount_off="1200"),
            _event("renewal", "s1", "2025-01-01"),
        ]
    )
    day = _on(oracle, "2025-01-01")
    _quiet(day)
    assert (day["bookings_acv"], oracle.report(_d("2025-01-01"))["mrr"]) == ("10800.00", "900.00")


# SPEC §8 example 16 and §12: reasons.

EXAMPLE_16 = [
    _event("new", "s1", "2024-01-01", amount="100"),
    _event("new", "s2", "2024-01-01", amount="50"),
    _event("churn", "s1", "2024-06-01", reason="price"),
    _event("churn", "s2", "2024-06-01", reason="product_gap"),
]
JUNE = (_d("2024-05-31"), _d("2024-06-30"))


def test_worked_example_16_churn_by_reason() -> None:
    oracle = _oracle(EXAMPLE_16)
    assert oracle.by_reason(*JUNE) == [
        {"reason": "price", "churn": "100.00", "contraction": "0.00"},
        {"reason": "product_gap", "churn": "50.00", "contraction": "0.00"},
    ]
    assert oracle.movements(*JUNE)["churn"] == "150.00"


def test_worked_example_16_an_unrenewed_term_gives_lapsed() -> None:
    oracle = _oracle([_event("new", "s1", "2024-01-01", amount="100", term_months="5")])
    assert oracle.by_reason(*JUNE) == [
        {"reason": "lapsed", "churn": "100.00", "contraction": "0.00"}
    ]


def test_contraction_goes_to_the_last_reason_of_the_day_or_lapsed_or_unspecified() -> None:
    oracle = _oracle(
        [
            _event("new", "a1", "2024-01-01", "a", amount="100"),
            _event("new", "a2", "2024-01-01", "a", amount="100"),
            _event("downgrade", "a1", "2024-06-03", "a", amount="80", reason="seat_reduction"),
            _event("downgrade", "a2", "2024-06-03", "a", amount="90", reason="budget"),
            _event("new", "b1", "2024-01-01", "b", amount="100"),
            _event("discount", "b1", "2024-06-05", "b", percent_off="10", reason="retention"),
            _event("new", "c1", "2024-01-01", "c", amount="100"),
            _event("downgrade", "c1", "2024-06-07", "c", amount="60"),
            _event("new", "d1", "2024-01-01", "d", amount="100", term_months="5"),  # 06-01
            _event("new", "d2", "2024-01-01", "d", amount="40"),
            _event("churn", "c1", "2024-06-20", "c"),
        ]
    )
    rows = oracle.by_reason(*JUNE)
    assert rows == [
        {"reason": "budget", "churn": "0.00", "contraction": "30.00"},  # the later one: all
        {"reason": "lapsed", "churn": "0.00", "contraction": "100.00"},  # d1's term ended
        {"reason": "retention", "churn": "0.00", "contraction": "10.00"},
        {"reason": "unspecified", "churn": "60.00", "contraction": "40.00"},
    ]
    figures = oracle.movements(*JUNE)
    exact = oracle.by_reason_exact(*JUNE)
    # §12: "The rows add up to the period's totals exactly."
    assert sum((r["churn"] for r in exact.values()), ZERO) == 60
    assert sum((r["contraction"] for r in exact.values()), ZERO) == 180
    assert (figures["churn"], figures["contraction"]) == ("60.00", "180.00")


def test_a_churn_of_a_customer_splits_over_its_subscriptions_at_d_s_rates() -> None:
    oracle = _oracle(
        [
            rate("EUR", "2024-01-01", "1.10"),
            rate("EUR", "2024-06-01", "1.20"),
            _event("new", "s1", "2024-01-01", amount="100", currency="EUR"),
            _event("new", "s2", "2024-01-01", amount="50", currency="EUR"),
            _event("churn", "s1", "2024-06-01", reason="price"),
            _event("churn", "s2", "2024-06-01"),
        ]
    )
    assert oracle.by_reason(*JUNE) == [
        {"reason": "price", "churn": "120.00", "contraction": "0.00"},  # 100 × 1.20
        {"reason": "unspecified", "churn": "60.00", "contraction": "0.00"},  # 50 × 1.20
    ]
    assert oracle.movements(*JUNE)["churn"] == "180.00"


def test_reason_and_note_change_no_figure_and_are_kept() -> None:
    plain = [
        _event("new", "s1", "2024-01-01", amount="100"),
        _event("upgrade", "s1", "2024-02-01", amount="150"),
        _event("churn", "s1", "2024-03-01"),
    ]
    told = [
        dict(plain[0], reason="inbound", note="signed at the fair"),
        dict(plain[1], reason="price_increase", note="list price up 50%"),
        dict(plain[2], reason="non_payment", note="three invoices unpaid"),
    ]
    a, b = _oracle(plain), _oracle(told)
    for day in ("2024-01-15", "2024-02-15", "2024-03-15"):
        assert a.report(_d(day)) == b.report(_d(day))
    assert a.movements(_d("2023-12-31"), _d("2024-03-31")) == b.movements(
        _d("2023-12-31"), _d("2024-03-31")
    )
    assert [e["reason"] for e in b.events_of("acme")] == [
        "inbound",
        "price_increase",
        "non_payment",
    ]
    assert b.events_of("acme")[2]["note"] == "three invoices unpaid"
    assert a.by_reason(_d("2024-02-29"), _d("2024-03-31"))[0]["reason"] == "unspecified"
    assert b.by_reason(_d("2024-02-29"), _d("2024-03-31"))[0]["reason"] == "non_payment"


# The shape of the output, and the bridge over every §11 movement.


def test_the_lifecycle_keys_are_added_only_when_asked() -> None:
    old = Oracle([dict(r) for r in EXAMPLE_15], until=UNTIL, lifecycle_keys=False)
    assert "discounts" not in old.report(_d("2024-02-15"))
    assert "paused" not in old.movements(_d("2023-12-31"), _d("2024-12-31"))
    new = _oracle(EXAMPLE_15)
    assert {"trialing_contracts", "paused_customers", "discounts"} <= set(
        new.report(_d("2024-02-15"))
    )
    keys = {"paused", "resumed", "trials_started", "trials_converted"}
    assert keys <= set(new.movements(_d("2023-12-31"), _d("2024-12-31")))
    shared = old.report(_d("2024-02-15"))
    assert {k: v for k, v in new.report(_d("2024-02-15")).items() if k in shared} == shared


def _lifecycle_ledger(seed: int) -> list[dict[str, str]]:
    """A small random ledger using every §11 event, valid by construction."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    for c in range(12):
        customer, day = f"c{c}", date(2024, 1, 1) + timedelta(days=rng.randrange(60))
        sub = f"c{c}s"
        if rng.random() < 0.5:
            rows.append(_event("trial", sub, day.isoformat(), customer))
            day += timedelta(days=rng.randrange(1, 20))
        term = rng.choice(["", "3", "12"])
        rows.append(
            _event("new", sub, day.isoformat(), customer, amount=str(rng.randrange(50, 500)))
            | ({"term_months": term} if term else {})
        )
        if rng.random() < 0.6:
            day += timedelta(days=rng.randrange(1, 30))
            rows.append(
                _event("discount", sub, day.isoformat(), customer, percent_off="15")
                | {"duration_months": "2"}
            )
        if rng.random() < 0.7:
            day += timedelta(days=rng.randrange(1, 40))
            resume = (day + timedelta(days=rng.randrange(5, 90))).isoformat()
            rows.append(_event("pause", sub, day.isoformat(), customer, resume_date=resume))
        if rng.random() < 0.4 and not term:  # after the pause's resume_date: active again
            day += timedelta(days=rng.randrange(100, 200))
            rows.append(_event("churn", sub, day.isoformat(), customer, reason="price"))
    return rows


@pytest.mark.parametrize("seed", range(4))
def test_the_bridge_holds_with_pauses_trials_and_discounts(seed: int) -> None:
    oracle = _oracle(_lifecycle_ledger(seed))
    rng = random.Random(seed)
    ends = [date(2024, 12, 31), date(2025, 6, 30), *rng.sample(oracle.days[:-400], 6)]
    for end in ends:
        start = date(2023, 12, 31)
        assert oracle.bridge(start, end) == oracle.mrr(end) - oracle.mrr(start)
        exact = oracle.by_reason_exact(start, end)
        moved = oracle._classified(start, end)
        assert sum((r["churn"] for r in exact.values()), ZERO) == moved["churn"]
        assert sum((r["contraction"] for r in exact.values()), ZERO) == moved["contraction"]
        figures = oracle.report(end)
        paused = figures["paused_customers"]
        assert paused == sum(1 for c in oracle.customer_mrr if oracle.is_paused(c, end))
