"""Random valid multi-currency ledgers (SPEC §10), to check the ledger against the oracle.

A ledger of `ledger.app.sample.sample_events` (realistic) or `tests.edge_ledger.edge_events`
(awkward) in the reporting currency USD is given currencies: about a quarter of the
customers bill in EUR or GBP (the `currency` on their `new` rows; a few of them keep a
second subscription in USD), their later events sometimes naming the currency again and
sometimes not, and a few fees name no subscription and their own currency. Daily `fx_rate`
rows for EUR and GBP, moving a little each day, cover every day from before the first
event to after the last, recorded on their day among the events, except:

* GBP's first months are recorded in one late batch (until then no GBP rate exists at all:
  an early position may legitimately miss a rate);
* a few days are left without a rate at first, their rates appended at the end of the file;
* a few rates are voided and replaced (a void, then a new rate for the same currency and
  day, later in the file, some at its end), and a few voided and never replaced (the day
  before's rate then holds).

At the head every needed rate exists. Rows come in recording order.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from ledger.app.sample import sample_events
from tests.edge_ledger import edge_events

REPORTING = "USD"
FOREIGN = ("EUR", "GBP")
START_RATES = {"EUR": Decimal("1.0850123456"), "GBP": Decimal("1.2650432109")}
TEN_DIGITS = Decimal("0.0000000001")
Row = dict[str, str]


def _customer_of(row: Row) -> str | None:
    return row.get("customer_id")


def _currencies(rng: random.Random, rows: list[Row]) -> dict[str, str]:
    """Each foreign subscription's currency: ~25% of customers, some only on their first."""
    subs_of: dict[str, list[str]] = {}
    for row in rows:
        customer, sub = row.get("customer_id"), row.get("subscription_id")
        if customer and sub and row["type"] == "new" and sub not in subs_of.get(customer, []):
            subs_of.setdefault(customer, []).append(sub)
    currency_of: dict[str, str] = {}
    for _customer, subs in sorted(subs_of.items()):
        if rng.random() >= 0.26:
            continue
        currency = rng.choice(FOREIGN)
        mixed = len(subs) > 1 and rng.random() < 0.4  # one subscription in EUR, one in USD
        for sub in subs[:1] if mixed else subs:
            currency_of[sub] = currency
    return currency_of


def _with_currency(rng: random.Random, rows: list[Row], currency_of: dict[str, str]) -> None:
    """Puts `currency` on the rows of foreign subscriptions: always on the first `new`,
    sometimes on the others; and now and then an explicit USD on a USD subscription."""
    started: set[str] = set()
    for row in rows:
        sub = row.get("subscription_id")
        if not sub or row["type"] == "void":
            continue
        currency = currency_of.get(sub)
        first_new = row["type"] == "new" and sub not in started
        if row["type"] == "new":
            started.add(sub)
        if currency is None:
            if rng.random() < 0.05:
                row["currency"] = REPORTING
        elif first_new or rng.random() < (0.5 if row["type"] == "new" else 0.2):
            row["currency"] = currency


def _rate_walk(rng: random.Random, first: date, last: date) -> dict[str, dict[date, Decimal]]:
    walks: dict[str, dict[date, Decimal]] = {}
    for currency in FOREIGN:
        rate, walk, day = START_RATES[currency], {}, first
        while day <= last:
            walk[day] = rate
            step = Decimal(str(round(rng.gauss(0, 0.0025), 6)))
            rate = (rate * (1 + step)).quantize(TEN_DIGITS)
            day += timedelta(days=1)
        walks[currency] = walk
    return walks


def _rate_row(currency: str, day: date, rate: Decimal, suffix: str = "") -> Row:
    row = {
        "event_id": f"R-{currency}-{day.isoformat()}{suffix}",
        "type": "fx_rate",
        "currency": currency,
        "effective_date": day.isoformat(),
        "rate": str(rate),
    }
    if day.day == 1:
        row["source"] = "ECB"
    return row


def _recorded_on(rows: list[Row], source: int) -> list[tuple[date, int, int, Row]]:
    """When each row was recorded, roughly: the latest effective date so far (the rows are
    in recording order; a churn recorded late is recorded after later-dated rows)."""
    keyed, latest = [], date.min
    for n, row in enumerate(rows):
        if "effective_date" in row:
            latest = max(latest, date.fromisoformat(row["effective_date"]))
        keyed.append((latest, 1, source * 1_000_000 + n, row))
    return keyed


def fx_events(
    customers: int = 120,
    seed: int = 1,
    kind: str = "sample",
    years: int = 4,
    until: date = date(2025, 3, 31),
) -> list[Row]:
    """Event rows (rates among them) in recording order. `kind`: `sample` (realistic),
    `edge` (awkward), or `mixed` (`customers` realistic ones and half as many awkward ones,
    recorded side by side)."""
    rng = random.Random(seed * 7919 + 17)
    sources = []
    if kind in ("sample", "mixed"):
        sources.append(sample_events(customers, years=years, seed=seed))
    if kind in ("edge", "mixed"):
        sources.append(edge_events(customers // 2 if kind == "mixed" else customers, seed=seed))
    rows = [dict(r) for source in sources for r in source]
    currency_of = _currencies(rng, rows)
    _with_currency(rng, rows, currency_of)
    keyed = sorted(
        item
        for n, source in enumerate(sources)
        for item in _recorded_on(rows[sum(map(len, sources[:n])) :][: len(source)], n)
    )
    rows = [row for *_, row in keyed]
    dated = [date.fromisoformat(r["effective_date"]) for r in rows if "effective_date" in r]
    first_day, last_day = min(dated) - timedelta(days=45), max(max(dated), until) + timedelta(5)

    # A few fees that name no subscription, in a currency of their own (or none).
    customer_ids = sorted({c for r in rows if (c := _customer_of(r))})
    for n in range(max(3, customers // 20)):
        day = rng.choice(dated)
        fee = {
            "event_id": f"F{seed}-{n:04d}",
            "type": "one_time_fee",
            "customer_id": rng.choice(customer_ids),
            "effective_date": day.isoformat(),
            "amount": rng.choice(("750", "2500.5", "10000")),
            "description": "consulting",
        }
        if (currency := rng.choice((*FOREIGN, REPORTING, None))) is not None:
            fee["currency"] = currency
        keyed.append((day, 1, len(rows) + n, fee))

    walks = _rate_walk(rng, first_day, last_day)
    every_day = sorted(walks["EUR"])
    backfill = keyed[len(keyed) // 5][0]  # GBP's rates before this day come late, in a batch
    chosen = rng.sample(every_day[1:], 40)
    late, replaced, dropped = chosen[:14], chosen[14:34], chosen[34:]
    at_end: list[Row] = []
    order = len(rows) + 10_000
    for currency in FOREIGN:
        for day in every_day:
            rate = walks[currency][day]
            row = _rate_row(currency, day, rate)
            if day in late[:7] if currency == "EUR" else day in late[7:]:
                row["event_id"] += "-late"
                at_end.append(row)
                continue
            if currency == "GBP" and day < backfill:
                keyed.append((backfill, 2, order, row))  # after that day's events
            else:
                keyed.append((day, 0, order, row))  # before that day's events
            order += 1
            fix = replaced[:10] if currency == "EUR" else replaced[10:]
            if day in fix or day in dropped:
                void = {
                    "event_id": f"V-{row['event_id']}",
                    "type": "void",
                    "target_event_id": row["event_id"],
                }
                if day in dropped:
                    keyed.append((max(day, backfill) + timedelta(days=20), 0, order, void))
                    order += 1
                    continue
                better = _rate_row(currency, day, (rate * Decimal("1.01")).quantize(TEN_DIGITS))
                better["event_id"] += "-fixed"
                if rng.random() < 0.5:
                    at_end.extend((void, better))
                else:
                    when = max(day, backfill) + timedelta(days=rng.randint(1, 90))
                    keyed.append((when, 0, order, void))
                    keyed.append((when, 0, order + 1, better))
                    order += 2
    keyed.sort(key=lambda item: (item[0], item[1], item[2]))
    return [row for *_, row in keyed] + at_end
