"""The quick path of `parse_event` accepts only what the pydantic models accept, and
builds exactly the event they build; everything else is worded by the models."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.events import RATES, Event
from ledger.intake import fields as events
from ledger.intake.fields import parse_event

BASES = {
    "new": {"subscription_id": "s", "effective_date": "2024-01-31", "amount": "100"},
    "upgrade": {"subscription_id": "s", "effective_date": "2024-01-31", "amount": "100"},
    "downgrade": {"subscription_id": "s", "effective_date": "2024-01-31", "amount": "100"},
    "renewal": {"subscription_id": "s", "effective_date": "2024-01-31"},
    "churn": {"subscription_id": "s", "effective_date": "2024-01-31"},
    "one_time_fee": {"effective_date": "2024-01-31", "amount": "100"},
    "void": {"target_event_id": "e0"},
}
FIELDS = (
    *("event_id", "customer_id", "subscription_id", "effective_date", "amount", "interval"),
    *("term_months", "plan", "quantity", "description", "target_event_id", "currency", "x"),
)
VALUES = (
    *("", " ", "e1", " e1 ", "2024-01-31", "2024-02-30", " 2024-01-01 ", "2024-1-01"),
    *("20240101", "１２", "٣", "12", "0", "121", "120", "007", "month", "quarter", "year"),
    *(" year", "Month", "1.5", "1.50000", "1.0000", "-1", "+5", "0.0", "0.0001", "1e3"),
    *("NaN", "Infinity", "1_000", "1.", ".5", " 49 ", "\n12\n", "USD", "EUR", "usd"),
    *("a\x00b", "é", "x\ud800", 5, 12, None, True, 1.5),
)


def _by_models(fields: dict[str, Any]) -> Event | None:
    """What the pydantic models make of the row, or None when they refuse it."""
    present = {k: v for k, v in fields.items() if v is not None and v != ""}
    try:
        model = events._ADAPTER.validate_python(present)
    except ValueError:
        return None
    return Event(**{"customer_id": RATES} | model.model_dump(exclude_none=True))


@settings(max_examples=3000, deadline=None)
@given(
    st.sampled_from(sorted(BASES)),
    st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(VALUES), max_size=3),
)
def test_the_quick_path_builds_what_the_models_build_or_leaves_the_row_to_them(
    kind: str, changes: dict[str, Any]
) -> None:
    fields = {"event_id": "e1", "customer_id": "c", "type": kind, **BASES[kind], **changes}

    quick = events._quick_event(fields, "USD")

    if quick is not None:
        slow = _by_models(fields)
        assert slow is not None, fields
        assert [repr(getattr(quick, k)) for k in Event.__slots__] == [
            repr(getattr(slow, k)) for k in Event.__slots__
        ]


def test_plain_rows_take_the_quick_path_and_odd_ones_the_models() -> None:
    plain = {"event_id": "e1", "customer_id": "c", "type": "new", **BASES["new"]}
    assert events._quick_event(plain, "USD") == parse_event(plain, "USD")
    assert events._quick_event(plain | {"interval": "year", "plan": "pro"}, "USD") is not None
    for odd in ({"amount": 100}, {"plan": "Société"}, {"amount": "1e3"}, {"currency": "eur"}):
        assert events._quick_event(plain | odd, "USD") is None
