"""Stripe's invoice line items (SPEC §14, "other shapes"): a preset in front of the
invoices shape (`shapes.from_invoices`), mapping Stripe's columns and values onto it.

Stripe's names are those of its API's line item object, flattened with dots
(`period.start`), as its own exports and the Sigma tables spell them (`invoice_id`,
`period_start`... are taken too). Each row becomes an invoices row; the invoices shape
then derives the events, so every rule of that shape (whole months, prorations left out,
a zero month, fees, stable ids, `as_of`) holds as it is.

What the preset decides:

* `amount` (and `discount_amounts`) are integers in the currency's smallest unit (cents):
  divided by 10 ** the currency's exponent (`EXPONENTS`: 0 for JPY and Stripe's other
  zero-decimal currencies, 3 for BHD, JOD, KWD, OMR and TND, else 2).
* The amount charged is `amount` less the sum of `discount_amounts` (a JSON list of
  `{"amount": ...}` objects as the API gives it, or one integer): a coupon lowers MRR.
* `currency` is lowercase in Stripe's; the ledger's is upper case.
* `period.start` and `period.end` are Unix timestamps (seconds) or ISO 8601 date-times
  (without an offset: UTC), taken as their UTC date; `period.end` is exclusive (the next
  period's start), as the invoices shape reads it.
* A line of `type` `invoiceitem` that is not a proration is a one-time charge (a fee),
  even when it names a subscription (an item added to a subscription's invoice).
* `price.id` (or `plan.id`) is the line's plan.
* `price.recurring.interval` `day` or `week` on a recurring line is refused: the ledger
  prices in whole months.
* A subscription's line charging 0 (a trial, a 100% coupon) is left out: it has no MRR,
  and the days it covers are a gap (the invoices shape's zero month), even when they are
  not a whole number of months (Stripe's trial lines are 14 days, say).
* Any other column of the export (livemode, metadata, tax_amounts...) is left out: a
  Stripe export has many, and the columns the preset needs are checked by the invoices
  shape (a missing one is a problem of every row).
* The invoices shape's problems are told in Stripe's column names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ledger.domain.errors import Problem
from ledger.domain.money import canonical
from ledger.domain.text import shown
from ledger.intake import shapes
from ledger.intake.rows import Row

ZERO_DECIMAL = frozenset(
    {
        *("BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"),
        *("PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"),
    }
)
"""Stripe's zero-decimal currencies: an amount of 500 JPY is 500 yen."""
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
"""Stripe's three-decimal currencies: 5124 KWD minor units are 5.124 KWD."""
STRIPE_COLUMNS = {
    "id": "the line item's id (il_...)",
    "invoice": "the invoice's id (in_...)",
    "customer": "the customer's id (cus_...)",
    "subscription": "the subscription's id (sub_...); empty for a one-time charge",
    "type": "subscription or invoiceitem",
    "amount": "an integer in the currency's smallest unit (cents); negative for a credit",
    "discount_amounts": "the discounts, in the smallest unit: a JSON list or an integer",
    "currency": "a three-letter ISO code, lowercase as Stripe gives it (eur)",
    "period.start": "a Unix timestamp or an ISO 8601 date-time (UTC without an offset)",
    "period.end": "the end of the period, exclusive: a Unix timestamp or date-time",
    "proration": "true or false",
    "price.id": "the price (the line's plan)",
    "price.recurring.interval": "day, week, month or year",
    "description": "any text",
}
"""The columns the preset reads, by Stripe's names, and what each takes."""
ALIASES = {
    "invoice_id": "invoice",
    "customer_id": "customer",
    "subscription_id": "subscription",
    "period_start": "period.start",
    "period_end": "period.end",
    "price_id": "price.id",
    "plan.id": "price.id",
    "plan_id": "price.id",
    "price_recurring_interval": "price.recurring.interval",
    "parent.subscription_item_details.subscription": "subscription",
    "parent.invoice_item_details.subscription": "subscription",
    "parent.subscription_item_details.proration": "proration",
    "parent.invoice_item_details.proration": "proration",
    "pricing.price_details.price": "price.id",
}
"""Other spellings of Stripe's columns (Sigma's and the flattened API's)."""
RENAMED = {
    "line_id": "id",
    "invoice_id": "invoice",
    "customer_id": "customer",
    "subscription_id": "subscription",
    "service_period_start": "period.start",
    "service_period_end": "period.end",
    "plan": "price.id",
}
"""The invoices shape's columns as Stripe names them, for telling its problems."""
_RENAMING = re.compile(r"\b(" + "|".join(RENAMED) + r")\b")
_TIMESTAMP = re.compile(r"^[0-9]{1,11}$")
_INTEGER = re.compile(r"^-?[0-9]{1,18}$")


def exponent(currency: str) -> int:
    """The number of fraction digits of a currency's smallest unit in Stripe's amounts."""
    if currency in ZERO_DECIMAL:
        return 0
    return 3 if currency in THREE_DECIMAL else 2


def from_stripe(
    rows: Iterable[Row | Problem], *, as_of: date | None = None
) -> Iterator[Row | Problem]:
    """The events of a Stripe invoice line items export, through the invoices shape."""
    converted_rows = (_row(row) for row in rows)
    kept = (row for row in converted_rows if row is not None)
    for converted in shapes.from_invoices(kept, as_of=as_of):
        yield _told(converted) if isinstance(converted, Problem) else converted


def _told(problem: Problem) -> Problem:
    """A problem of the invoices shape, in Stripe's column names."""
    message = _RENAMING.sub(lambda match: RENAMED[match.group(1)], problem.message)
    return Problem(problem.location, message)


def _row(row: Row | Problem) -> Row | Problem | None:
    """One Stripe row as an invoices row, or its problems as one; None for a subscription
    line charging nothing (a trial, a 100% coupon: no MRR, and the days it covers are a
    gap, as a zero month is to the invoices shape), which may cover part of a month."""
    if isinstance(row, Problem):
        return row
    given = _named(row.fields)
    said: list[str] = []
    currency = _currency(given, said)
    fields: dict[str, Any] = {
        target: given[source]
        for source, target in (
            ("id", "line_id"),
            ("invoice", "invoice_id"),
            ("customer", "customer_id"),
            ("description", "description"),
            ("price.id", "plan"),
            ("proration", "proration"),
        )
        if source in given
    }
    if currency is not None:
        fields["currency"] = currency
        if (amount := _charged(given, currency, said)) is not None:
            fields["amount"] = amount
    for column, target in (
        ("period.start", "service_period_start"),
        ("period.end", "service_period_end"),
    ):
        if (day := _day(given, column, said)) is not None:
            fields[target] = day
    if (subscription := _subscription(given, said)) is not None:
        fields["subscription_id"] = subscription
    if said:
        return Problem(row.location, "; ".join(said))
    if _free(fields):
        return None
    return Row(row.location, fields)


def _free(fields: Mapping[str, Any]) -> bool:
    """A recurring line (a subscription's, not a proration) charging 0."""
    prorated = str(fields.get("proration", "")).lower() in ("true", "1", "yes")
    recurring = "subscription_id" in fields and not prorated
    return recurring and Decimal(fields.get("amount", "1")) == 0


def _named(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The row's values of the columns the preset reads, by Stripe's API names."""
    named: dict[str, Any] = {}
    for column, value in _flat(fields):
        name = ALIASES.get(column.strip(), column.strip())
        if name in STRIPE_COLUMNS and value is not None and value != "":
            named[name] = value.strip() if isinstance(value, str) else value
    return named


def _flat(fields: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """The fields of a row, an API object's nested ones (`period`) named with dots."""
    for column, value in fields.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{column}.")
        else:
            yield f"{prefix}{column}", value


def _currency(given: Mapping[str, Any], said: list[str]) -> str | None:
    value = given.get("currency")
    if value is None:
        said.append(f"currency: missing: give {STRIPE_COLUMNS['currency']}")
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
        said.append(f"currency: {shown(value)} is not a three-letter ISO code (eur)")
        return None
    return value.upper()


def _minor(value: object, column: str, said: list[str]) -> int | None:
    """An integer amount in the smallest unit, or None (and what is wrong, in `said`)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.match(value):
        return int(value)
    said.append(
        f"{column}: {shown(value)} is not a whole number of the currency's smallest unit "
        "(Stripe gives 1000 for 10.00 EUR)"
    )
    return None


def _charged(given: Mapping[str, Any], currency: str, said: list[str]) -> str | None:
    """The amount charged, in the currency's major unit: `amount` less its discounts."""
    if "amount" not in given:
        said.append(f"amount: missing: give {STRIPE_COLUMNS['amount']}")
        return None
    amount = _minor(given["amount"], "amount", said)
    discounts = _discounts(given.get("discount_amounts"), said)
    if amount is None or discounts is None:
        return None
    return canonical(Decimal(amount - discounts).scaleb(-exponent(currency)))


def _discounts(value: object, said: list[str]) -> int | None:
    """The sum of the discounts: of a JSON list of objects giving `amount`, or one integer."""
    if value is None:
        return 0
    if not isinstance(value, list) and not (isinstance(value, str) and value.startswith("[")):
        return _minor(value, "discount_amounts", said)
    amounts = _listed(value)
    if amounts is None:
        said.append(
            f'discount_amounts: {shown(value)} is not a JSON list of {{"amount": ...}} objects'
        )
        return None
    found = [_minor(amount, "discount_amounts", said) for amount in amounts]
    return sum(a for a in found if a is not None) if None not in found else None


def _listed(value: str | list[Any]) -> list[Any] | None:
    """The `amount` of each object of a JSON list, or None when it is not such a list."""
    try:
        listed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return None
    if not isinstance(listed, list):
        return None
    if not all(isinstance(d, dict) and "amount" in d for d in listed):
        return None
    return [d["amount"] for d in listed]


def _day(given: Mapping[str, Any], column: str, said: list[str]) -> str | None:
    """A period bound as its UTC date, YYYY-MM-DD; None when missing (the invoices shape
    says whether it may be) or wrong (said)."""
    value = given.get(column)
    if value is None:
        return None
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    try:
        if _TIMESTAMP.match(text):
            return datetime.fromtimestamp(int(text), UTC).date().isoformat()
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        moment = None
    if moment is None:
        said.append(
            f"{column}: {shown(value)} is not a Unix timestamp or an ISO 8601 date-time "
            "(1704067200 or 2024-01-01 00:00:00)"
        )
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date().isoformat()


def _subscription(given: Mapping[str, Any], said: list[str]) -> Any:
    """The line's subscription when it is recurring or a proration; None for a one-time
    charge (an invoice item, even on a subscription's invoice)."""
    kind = given.get("type")
    if kind is not None and kind not in ("subscription", "invoiceitem"):
        said.append(f"type: {shown(kind)} is not subscription or invoiceitem")
        return None
    proration = str(given.get("proration", "")).lower() in ("true", "1", "yes")
    interval = given.get("price.recurring.interval")
    if interval is not None and interval not in ("day", "week", "month", "year"):
        said.append(f"price.recurring.interval: {shown(interval)} is not day, week, month or year")
    if kind == "invoiceitem" and not proration:
        return None
    if interval in ("day", "week") and not proration and "subscription" in given:
        said.append(
            f"price.recurring.interval: {shown(interval)}: a price per {interval} is not "
            "a whole number of months; the ledger prices subscriptions by the month"
        )
    return given.get("subscription")
