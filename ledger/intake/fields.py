"""The event vocabulary of SPEC §3: pydantic models at the edge, one frozen `Event` inside."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from difflib import get_close_matches
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from ledger.domain.dates import LAST_DAY
from ledger.domain.events import (
    EVENT_TYPES,
    INTERVAL_MONTHS,
    RATES,
    Event,
    day_of,
    decimal_of,
    shared,
)
from ledger.domain.money import MAX_AMOUNT, parse_amount
from ledger.domain.text import inert, shown

"""The last date the ledger takes: effective dates, and the end of every fixed term, fall
on or before it, so that the day after and the month end of any of them are dates."""
MAX_ID = 200
"""The most characters an identifier may have, on every database (PostgreSQL cannot index
a long text that does not compress)."""
MAX_QUANTITY = 999_999_999_999
"""The largest quantity taken."""
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WHOLE = re.compile(r"^[0-9]+$")
_DIGITS = 18  # a whole number of more digits (leading zeros aside) is above every limit


def _iso_date(value: object) -> date:
    if isinstance(value, date):
        day = value
    elif not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
        raise ValueError(f"{shown(value)} is not a date in the form YYYY-MM-DD")
    else:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{shown(value)} is not a calendar date") from None
    if day > LAST_DAY:
        raise ValueError(f"{shown(value)} is after {LAST_DAY}, the last date the ledger takes")
    return day


def _whole(value: object) -> int | None:
    """The value as a whole number (digits, or an integer not below 0), else None. A
    number of more than `_DIGITS` digits counts as 10**_DIGITS: above every limit, and
    never converted (that is slow, and beyond 4,300 digits refused by Python)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    text = value.strip() if isinstance(value, str) else ""
    if not _WHOLE.match(text):
        return None
    digits = text.lstrip("0")
    return int(digits or "0") if len(digits) <= _DIGITS else 10**_DIGITS


def _months(value: object, *, named: bool) -> int:
    if named and isinstance(value, str) and value.strip() in INTERVAL_MONTHS:
        return INTERVAL_MONTHS[value.strip()]
    months = _whole(value)
    if months is None or not 1 <= months <= 120:
        expected = "month, quarter, year or a whole number of months 1-120"
        raise ValueError(f"{shown(value)} is not {expected if named else 'a whole number 1-120'}")
    return months


def _interval(value: object) -> int:
    return _months(value, named=True)


def _term(value: object) -> int:
    return _months(value, named=False)


def _quantity(value: object) -> int:
    quantity = _whole(value)
    if quantity is None:
        raise ValueError(f"{shown(value)} is not a whole number")
    if quantity > MAX_QUANTITY:
        raise ValueError(f"{shown(value)} is more than {MAX_QUANTITY}, the largest quantity")
    return quantity


def _storable(text: str) -> str:
    """Any text is kept as given, except what no database can store: PostgreSQL text
    cannot hold NUL, and a lone surrogate is not encodable as UTF-8 at all."""
    if "\x00" in text:
        raise ValueError(f"{shown(text)} contains a NUL character, which cannot be stored")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{shown(text)} is not valid Unicode text (a lone surrogate)") from None
    return text


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{shown(value)} is not text")
    return _storable(value)


def _identifier(value: object) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValueError(f"{shown(value)} is not a non-empty identifier")
    # an integer of over 700 bits has over 200 digits: too long, and not converted to text
    text = None if isinstance(value, int) and value.bit_length() > 700 else str(value)
    if text is not None and not text.strip():
        raise ValueError(f"{shown(value)} is not a non-empty identifier")
    if text is None or len(text) > MAX_ID:
        raise ValueError(
            f"{shown(value)} is longer than {MAX_ID} characters, the most an identifier may "
            "have: give a shorter one"
        )
    return _storable(text)


_CURRENCY = re.compile(r"[A-Z]{3}")
_RATE = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,10})?")


def _currency(value: object) -> str:
    """An ISO 4217 code: three upper-case letters (SPEC §10)."""
    text = value.strip() if isinstance(value, str) else None
    if text is None or not _CURRENCY.fullmatch(text):
        hint = ""
        if text is not None and len(text) == 3 and text.isascii() and text.isalpha():
            hint = f": did you mean {text.upper()!r}?"
        raise ValueError(f"{shown(value)} is not a three-letter currency code (ISO 4217){hint}")
    return text


def _rate(value: object) -> Decimal:
    """Units of the reporting currency for one unit: a decimal > 0, at most 10 fraction
    digits and 12 whole ones (SPEC §10)."""
    if isinstance(value, float):
        raise ValueError(f"{shown(value)} is a floating-point number; give a decimal string")
    text = (
        str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    )
    if not _RATE.fullmatch(text):
        raise ValueError(
            f"{shown(value)} is not a decimal rate with at most 10 fraction digits "
            "(units of the reporting currency for one unit of `currency`)"
        )
    rate = Decimal(text)
    if rate <= 0:
        raise ValueError(f"{shown(value)} is not greater than 0")
    return rate


_REASON = re.compile(r"[a-z0-9_-]{1,64}")
RESERVED_REASONS = ("lapsed", "unspecified")
"""The reasons the ledger gives a lapse at term end and a churn without one (SPEC §12)."""
MAX_NOTE = 1000


def _reason(value: object) -> str:
    """A short code (SPEC §12): 1-64 characters of a-z, 0-9, `_` and `-`."""
    text = value.strip() if isinstance(value, str) else None
    if text is None or not _REASON.fullmatch(text):
        hint = ""
        if text is not None and _REASON.fullmatch(lowered := re.sub(r"[\s]+", "_", text.lower())):
            hint = f": did you mean {lowered!r}?"
        raise ValueError(
            f"{shown(value)} is not a reason code (1-64 characters of a-z, 0-9, _ and -; "
            f"put words in `note`){hint}"
        )
    if text in RESERVED_REASONS:
        raise ValueError(
            f"{text!r} is reserved: the ledger gives it itself ({' and '.join(RESERVED_REASONS)}"
            "); give your own code"
        )
    return text


def _note(value: object) -> str:
    text = _text(value)
    if len(text) > MAX_NOTE:
        raise ValueError(
            f"{len(text):,} characters is more than {MAX_NOTE:,}, the most a note may have: "
            "give a shorter note"
        )
    return text


def _percent(value: object) -> Decimal:
    """A percentage 0-100 with at most 4 fraction digits (SPEC §11 `percent_off`)."""
    percent = parse_amount(value)
    if percent > 100:
        raise ValueError(f"{shown(value)} is more than 100 (percent)")
    return percent


def _positive_amount(value: object) -> Decimal:
    amount = parse_amount(value)
    if amount <= 0:
        raise ValueError(f"{value!r} is not greater than 0")
    return amount


Identifier = Annotated[str, BeforeValidator(_identifier)]
Text = Annotated[str, BeforeValidator(_text)]
Day = Annotated[date, BeforeValidator(_iso_date)]
Amount = Annotated[Decimal, BeforeValidator(_positive_amount)]
Interval = Annotated[int, BeforeValidator(_interval)]
Term = Annotated[int, BeforeValidator(_term)]
Quantity = Annotated[int, BeforeValidator(_quantity)]
Currency = Annotated[str, BeforeValidator(_currency)]
ExchangeRate = Annotated[Decimal, BeforeValidator(_rate)]
Reason = Annotated[str, BeforeValidator(_reason)]
Note = Annotated[str, BeforeValidator(_note)]
Percent = Annotated[Decimal, BeforeValidator(_percent)]
AmountOff = Annotated[Decimal, BeforeValidator(parse_amount)]


class _Explained(BaseModel):
    """Every event may say why it happened (SPEC §12)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: Reason | None = None
    note: Note | None = None


class _Input(_Explained):
    event_id: Identifier
    customer_id: Identifier
    currency: Currency | None = None


class _Priced(_Input):
    subscription_id: Identifier
    effective_date: Day
    plan: Text | None = None
    quantity: Quantity | None = None


class NewInput(_Priced):
    type: Literal["new"]
    amount: Amount
    interval: Interval = 1
    term_months: Term | None = None


class UpgradeInput(_Priced):
    type: Literal["upgrade"]
    amount: Amount
    interval: Interval | None = None


class DowngradeInput(_Priced):
    type: Literal["downgrade"]
    amount: Amount
    interval: Interval | None = None


class RenewalInput(_Priced):
    type: Literal["renewal"]
    amount: Amount | None = None
    interval: Interval | None = None
    term_months: Term | None = None


class ChurnInput(_Input):
    type: Literal["churn"]
    subscription_id: Identifier
    effective_date: Day


class OneTimeFeeInput(_Input):
    type: Literal["one_time_fee"]
    effective_date: Day
    amount: Amount
    subscription_id: Identifier | None = None
    description: Text | None = None


class VoidInput(_Explained):
    """A void names its target's customer; a void of an `fx_rate` names none."""

    type: Literal["void"]
    event_id: Identifier
    customer_id: Identifier | None = None
    target_event_id: Identifier
    currency: Currency | None = None  # taken, as it always was; it changes nothing


class FxRateInput(_Explained):
    type: Literal["fx_rate"]
    event_id: Identifier
    currency: Currency
    effective_date: Day
    rate: ExchangeRate
    source: Text | None = None


class _OfSubscription(_Input):
    subscription_id: Identifier
    effective_date: Day


class TrialInput(_OfSubscription):
    """SPEC §11: a free trial from `effective_date`, over from `trial_end` on."""

    type: Literal["trial"]
    trial_end: Day | None = None
    plan: Text | None = None
    quantity: Quantity | None = None


class PauseInput(_OfSubscription):
    type: Literal["pause"]
    resume_date: Day | None = None


class ResumeInput(_Priced):
    type: Literal["resume"]
    amount: Amount | None = None
    interval: Interval | None = None


class DiscountInput(_OfSubscription):
    type: Literal["discount"]
    percent_off: Percent | None = None
    amount_off: AmountOff | None = None
    duration_months: Term | None = None


EventInput = Annotated[
    NewInput
    | UpgradeInput
    | DowngradeInput
    | RenewalInput
    | ChurnInput
    | OneTimeFeeInput
    | VoidInput
    | FxRateInput
    | TrialInput
    | PauseInput
    | ResumeInput
    | DiscountInput,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[EventInput] = TypeAdapter(EventInput)


def _describe(error: Any) -> str:
    # A field name is the input's own (a JSON key, a CSV header): escaped and shortened.
    field = ".".join(str(part) for part in error["loc"][1:] or error["loc"]) or "event"
    field = inert(field if len(field) <= 40 else f"{field[:20]}… ({len(field):,} characters)")
    kind, value = error["type"], error.get("input")
    if kind == "missing":
        return f"{field}: missing"
    if kind == "extra_forbidden":
        tag = error["loc"][0] if error["loc"] else None
        allowed = _TYPES[tag][1] - {"type"} if tag in _TYPES else FIELD_NAMES
        hint = nearest(str(error["loc"][-1]), allowed)
        said = f"{field}: not a field of this event type (value {shown(value)})"
        listed = f"arr fields {tag}" if tag in _TYPES else "arr fields"
        return said + (f"; did you mean {hint}?" if hint else f"; see `{listed}`")
    if kind == "union_tag_not_found":
        return "type: missing"
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        return f"type: {shown(tag)} is not one of {', '.join(EVENT_TYPES)}"
    if kind == "model_type":
        return f"event: {shown(value)} is not an object"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{field}: {message}"


def parse_event(fields: dict[str, Any], currency: str, historical: bool = False) -> Event:
    """Validates one input row; raises ValueError listing every problem with the row. Of
    history (`historical`, SPEC §14) each row gives the time it was recorded, `recorded_at`;
    otherwise the ledger sets it and a row may not."""
    given = fields.get("recorded_at")
    if given is None or given == "":
        if historical:
            raise ValueError(
                "recorded_at: missing: history gives the time each event was recorded, "
                "ISO 8601 with an offset (2024-03-05T09:00:00+00:00)"
            )
        return _parsed(fields, currency)
    if not historical:
        raise ValueError(
            f"recorded_at: {shown(given)}: the ledger records the time itself; leave it out, "
            "or import the file as history, recorded at its own times"
        )
    rest = {k: v for k, v in fields.items() if k != "recorded_at"}
    problems, moment, event = [], None, None
    try:
        moment = recorded_time(given)
    except ValueError as exc:
        problems.append(str(exc))
    try:
        event = _parsed(rest, currency)
    except ValueError as exc:
        problems.append(str(exc))
    if problems or event is None or moment is None:
        raise ValueError("; ".join(problems))
    return replace(event, historical=moment)


def recorded_time(value: object) -> str:
    """A recorded time of history: ISO 8601 with a UTC offset, as the ledger keeps it (UTC,
    to the microsecond)."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise ValueError(
            f"recorded_at: {shown(value)} is not a time with a UTC offset "
            "(2024-03-05T09:00:00+00:00)"
        )
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parsed(fields: dict[str, Any], currency: str) -> Event:
    quick = _quick_event(fields, currency)
    if quick is not None:
        return quick
    present = {k: v for k, v in fields.items() if v is not None and v != ""}
    try:
        model = _ADAPTER.validate_python(present)
    except ValidationError as exc:
        problems = [_describe(e) for e in exc.errors()]
        raise ValueError("; ".join(problems)) from None
    if isinstance(model, FxRateInput) and model.currency == currency:
        raise ValueError(
            f"currency: {currency!r} is the ledger's reporting currency, whose rate is always "
            "1: give a rate of another currency"
        )
    _check_dates(model)
    data = model.model_dump(exclude_none=True)
    return Event(**{"customer_id": RATES} | data)


def _check_dates(model: BaseModel) -> None:
    """What one field of a row says about another (SPEC §11)."""
    day = getattr(model, "effective_date", None)
    for name in ("trial_end", "resume_date"):
        later = getattr(model, name, None)
        if later is not None and day is not None and later <= day:
            raise ValueError(
                f"{name}: {later} is not after effective_date {day}: give a later date, "
                "or leave it empty"
            )
    if isinstance(model, DiscountInput):
        given = [n for n in ("percent_off", "amount_off") if getattr(model, n) is not None]
        if len(given) != 1:
            said = "both" if given else "neither"
            raise ValueError(
                f"percent_off, amount_off: {said} given; give exactly one "
                "(percent_off 0 ends the discount in force)"
            )


# The quick path: plain rows, as nearly every row of a large import is, are checked and
# built here without pydantic (its per-field Python validators were a sixth of an
# import's time). It only ever accepts what the models above accept, building the same
# `Event` (tests/test_events.py compares the two on generated rows); anything else, valid
# or not, goes to the models, which alone word the problems.

_IDS = ("event_id", "customer_id", "subscription_id", "target_event_id")
_COMMON = frozenset(("event_id", "customer_id", "currency", "type", "reason", "note"))
# (a void and a rate, which may name no customer, are left to the models)
_PRICED = _COMMON | {"subscription_id", "effective_date", "plan", "quantity"}
_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # type: (required, allowed)
    "new": (
        frozenset(("subscription_id", "effective_date", "amount")),
        _PRICED | {"amount", "interval", "term_months"},
    ),
    "upgrade": (
        frozenset(("subscription_id", "effective_date", "amount")),
        _PRICED | {"amount", "interval"},
    ),
    "downgrade": (
        frozenset(("subscription_id", "effective_date", "amount")),
        _PRICED | {"amount", "interval"},
    ),
    "renewal": (
        frozenset(("subscription_id", "effective_date")),
        _PRICED | {"amount", "interval", "term_months"},
    ),
    "churn": (
        frozenset(("subscription_id", "effective_date")),
        _COMMON | {"subscription_id", "effective_date"},
    ),
    "one_time_fee": (
        frozenset(("effective_date", "amount")),
        _COMMON | {"effective_date", "amount", "subscription_id", "description"},
    ),
    "void": (frozenset(("customer_id", "target_event_id")), _COMMON | {"target_event_id"}),
}
_TYPES = {
    **_FIELDS,
    "void": (frozenset(("target_event_id",)), _COMMON | {"target_event_id"}),
    "fx_rate": (
        frozenset(("currency", "effective_date", "rate")),
        frozenset(
            ("event_id", "type", "currency", "effective_date", "rate", "source", "reason", "note")
        ),
    ),
    "trial": (
        frozenset(("subscription_id", "effective_date")),
        _PRICED | {"trial_end"},
    ),
    "pause": (
        frozenset(("subscription_id", "effective_date")),
        _COMMON | {"subscription_id", "effective_date", "resume_date"},
    ),
    "resume": (
        frozenset(("subscription_id", "effective_date")),
        _PRICED | {"amount", "interval"},
    ),
    "discount": (
        frozenset(("subscription_id", "effective_date")),
        _COMMON
        | {"subscription_id", "effective_date", "percent_off", "amount_off", "duration_months"},
    ),
}
"""What each type takes (`arr fields`); `_FIELDS` is what the quick path takes."""
_QUICK_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]{1,4})?")
_QUICK_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _quick_event(fields: dict[str, Any], currency: str) -> Event | None:
    """The row's event if it is plainly valid: ASCII text values, known fields, no doubt."""
    kind = fields.get("type")
    spec = _FIELDS.get(kind) if type(kind) is str else None
    if spec is None:
        return None
    values: dict[str, str] = {}
    for key, value in fields.items():
        if value is None or value == "":
            continue
        if type(value) is not str or not value.isascii() or "\x00" in value:
            return None
        values[key] = value
    required, allowed = spec
    if not (required <= values.keys() <= allowed) or not _customer_in(values):
        return None
    for key in _IDS:
        if key in values and (not values[key].strip() or len(values[key]) > MAX_ID):
            return None
    try:
        return Event(
            event_id=values["event_id"],
            type=values["type"],
            customer_id=sys.intern(values["customer_id"]),
            subscription_id=shared(values.get("subscription_id")),
            effective_date=_quick_day(values.get("effective_date")),
            amount=_quick_amount(values.get("amount")),
            interval=_quick_months(values.get("interval"), 1 if kind == "new" else None, True),
            term_months=_quick_months(values.get("term_months"), None, False),
            plan=shared(values.get("plan")),
            quantity=_quick_whole(values.get("quantity")),
            description=shared(values.get("description")),
            target_event_id=values.get("target_event_id"),
            currency=values.get("currency"),
            reason=_quick_reason(values.get("reason")),
            note=_quick_note(values.get("note")),
        )
    except (KeyError, ValueError):
        return None


def _customer_in(values: dict[str, str]) -> bool:
    """Whether a plain row names a customer and, if any, a currency as the models take
    it (an ISO code, as is)."""
    code = values.get("currency")
    return "customer_id" in values and (code is None or _CURRENCY.fullmatch(code) is not None)


def _quick_day(value: str | None) -> date | None:
    if value is None:
        return None
    text = value.strip()
    if not _QUICK_DAY.fullmatch(text) or (day := day_of(text)) > LAST_DAY:
        raise ValueError(value)
    return day


def _quick_amount(value: str | None) -> Decimal | None:
    if value is None:
        return None
    text = value.strip()
    if len(text) > 17 or not _QUICK_DECIMAL.fullmatch(text):  # 17: 12 digits . 4 digits
        raise ValueError(value)
    if not 0 < (amount := decimal_of(text)) <= MAX_AMOUNT:
        raise ValueError(value)
    return amount


def _quick_months(value: str | None, default: int | None, named: bool) -> int | None:
    if value is None:
        return default
    text = value.strip()
    if named and text in INTERVAL_MONTHS:
        return INTERVAL_MONTHS[text]
    months = _quick_whole(text)
    if months is None or not 1 <= months <= 120:
        raise ValueError(value)
    return months


def _quick_reason(value: str | None) -> str | None:
    if value is None:
        return None
    if not _REASON.fullmatch(text := value.strip()) or text in RESERVED_REASONS:
        raise ValueError(value)
    return shared(text)


def _quick_note(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_NOTE:
        raise ValueError(value)
    return value


def _quick_whole(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if not text.isdigit() or len(text) > 12 or (whole := int(text)) > MAX_QUANTITY:
        raise ValueError(value)  # (months, at most 120, are checked by the caller)
    return whole


FIELD_NAMES = frozenset().union(*(allowed for _, allowed in _TYPES.values()))
"""Every field of every event type."""


def nearest(name: str, among: Iterable[str] = FIELD_NAMES) -> str | None:
    """The field a misspelt or differently spelt name most likely means: `Event ID` is
    `event_id`, `term` is `term_months`, `ammount` is `amount`."""
    names = sorted(among)
    key = re.sub(r"[\s-]+", "_", name.strip().lower())
    if key in names:
        return key
    if len(key) >= 3:
        for candidate in names:
            if candidate.startswith(key) or (len(candidate) >= 3 and key.startswith(candidate)):
                return candidate
    close = get_close_matches(key, names, n=1, cutoff=0.75)
    return close[0] if close else None


FIELD_ORDER = (
    "event_id",
    "type",
    "customer_id",
    "subscription_id",
    "effective_date",
    "amount",
    "interval",
    "term_months",
    "plan",
    "quantity",
    "description",
    "target_event_id",
    "currency",
    "rate",
    "source",
    "trial_end",
    "resume_date",
    "percent_off",
    "amount_off",
    "duration_months",
    "reason",
    "note",
)
"""The fields in the order people fill them in (`arr fields`, `arr template`)."""
FIELD_RULES = {
    "event_id": "your unique id, at most 200 characters; the same event again does nothing",
    "type": ", ".join(EVENT_TYPES),
    "customer_id": "the account, at most 200 characters (none on fx_rate, or on a void of one)",
    "subscription_id": "one contract line, at most 200 characters; owned by its first `new`",
    "effective_date": "YYYY-MM-DD up to 9998-12-31: when it happens in the business",
    "amount": "a decimal > 0, at most 4 fraction digits, up to 999999999999.9999",
    "interval": "month, quarter, year, or 1-120 months: what `amount` is charged for",
    "term_months": "1-120: a fixed term (without it, evergreen)",
    "plan": "any text, descriptive",
    "quantity": "a whole number 0-999999999999, descriptive",
    "description": "any text: what the fee is for",
    "target_event_id": "the event_id of the event this void cancels",
    "currency": (
        "ISO 4217 code (EUR); empty: the subscription's, or for a new one the ledger's; "
        "on fx_rate, the currency rated"
    ),
    "rate": "units of the ledger's currency for one unit of `currency`: > 0, 10 fraction digits",
    "source": "any text: where the rate comes from (ECB, your bank)",
    "trial_end": "YYYY-MM-DD after effective_date: the trial is over from that day on",
    "resume_date": "YYYY-MM-DD after effective_date: the pause ends at the start of that day",
    "percent_off": "0-100, at most 4 fraction digits: the discount's share (0 ends one)",
    "amount_off": "a decimal, at most the price: off each billing interval's charge",
    "duration_months": "1-120: how long the discount lasts (without it, until ended)",
    "reason": "why: a code of 1-64 characters a-z, 0-9, _ and - (not lapsed, unspecified)",
    "note": "any text up to 1,000 characters: why, in words",
}
"""What each field takes: the rules above, in one line each."""


def fields_of(kind: str) -> list[tuple[str, bool]]:
    """Each field an event type takes, in `FIELD_ORDER`, and whether it is required."""
    required, allowed = _TYPES[kind]
    named = {"customer_id"} if kind not in ("void", "fx_rate") else set()
    needed = required | {"event_id", "type"} | named
    return [(name, name in needed) for name in FIELD_ORDER if name in allowed]
