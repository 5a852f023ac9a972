"""Random valid ledgers with trials, pauses, discounts and reasons (SPEC §11-§12).

Every subscription lives its life in effective order while a small simulator (`Sim`, read
from SPEC §3, §4, §11 and the `# Decision:` comments of `tests/oracle.py`) keeps its status
(trialing, active, paused, ended), its list price, its term, its discount and its pending
automatic changes (a term's end, a trial's end, a `resume_date`, a discount's end, all at
the start of their day). Each next event is drawn among those the status allows, so the
ledger is valid by construction:

* trials with and without `trial_end`, converted by a `new` while trialing or on the
  `trial_end` day, left to expire (then sometimes restarted later, or tried again), or
  churned;
* pauses with and without `resume_date`, explicit resumes (some at a new price, a few on
  the pause's own `resume_date`), churns and renewals of paused subscriptions, fixed terms
  that lapse while paused or active, renewals on and before the term end;
* discounts by `percent_off` ("20", "12.5", ...) or `amount_off` (less than the price),
  with and without `duration_months`, replaced, ended by `percent_off` "0";
* upgrades and downgrades that raise or lower NET MRR (a downgrade keeps it > 0), interval
  changes among them; one-time fees, some before go-live, some without a subscription;
* `reason` codes and `note` texts on a good share of the events.

Rows are then given recording days: their effective day, except whole customers recorded
late (a backfill), the last event of some subscriptions recorded late, and random events
moved later (backdated) or earlier (scheduled); a few fees and events are voided, some of
those appended again under a new id; a few rows are sent twice (idempotent retries). Every
move, void and copy is kept only if `subscription_problems` finds every prefix of the
subscription's recorded history valid, so that every prefix of the whole file is a valid
ledger. Everything is in the reporting currency, USD, unless `foreign` asks for a share of
EUR customers (and daily EUR rates).
"""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from tests.oracle import add_months

Row = dict[str, str]
"""An input event's fields, as `ledger.intake.rows.Row` carries them (`Row(location, row)`)."""

TRIALING, ACTIVE, PAUSED, ENDED = "trialing", "active", "paused", "ended"
NAMED = {"month": 1, "quarter": 3, "year": 12}
ZERO = Fraction(0)
CENT = Decimal("0.01")

PLANS = (
    ("starter", "49", "month"),
    ("team", "299", "month"),
    ("team", "249.5", "month"),
    ("growth", "850", "quarter"),
    ("business", "12000", "year"),
    ("business", "9999.99", "year"),
    ("scale", "3000", "6"),
)
TERMS = (None, None, None, 3, 6, 12, 12, 24)
PERCENTS = ("10", "12.5", "15", "20", "25", "33.3333", "50", "5.25", "75")
DURATIONS = (1, 2, 3, 3, 6, 12)
REASONS = (
    "price", "product_gap", "non_payment", "budget_cut", "competitor", "seasonal",
    "upsell", "seat_growth", "downsell", "data_fix", "migration-2023", "support_issue",
    "promo_q3", "win-back", "v2", "churn_risk", "holiday", "a",
)  # fmt: skip
NOTES = (
    "asked by the CFO",
    "Kunde möchte pausieren — «zu teuer»",
    'said "we will be back in spring", see ticket #4411',
    "seasonal business, closed in winter",
    "agreed on the call, 10% off, commas, and; semicolons",
    "line one\nline two",
    "x" * 300,
    "🙂 renewal signed",
    "  spaces around  ",
)
FEES = ("250", "1500", "999.9999", "10000")
WHY = {
    "churn": 0.7, "downgrade": 0.6, "pause": 0.6, "discount": 0.5, "upgrade": 0.4,
    "resume": 0.4, "renewal": 0.3, "trial": 0.3, "new": 0.25, "one_time_fee": 0.2,
    "void": 0.3,
}  # fmt: skip


def months_of(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    return NAMED.get(text) or int(text)


def _day(text: str | None) -> date | None:
    return None if text is None or text == "" else date.fromisoformat(text)


# The simulator: one subscription's state in effective order.


@dataclass(frozen=True)
class Discount:
    """The discount in force: a percentage of the price, or an amount off each month (the
    `amount_off` of an interval of the price in force when given), until `end`."""

    percent: Fraction | None
    monthly_off: Fraction | None
    end: date | None

    def net(self, price: Fraction, interval: int) -> Fraction:
        if self.percent is not None:
            return price * (1 - self.percent / 100)
        assert self.monthly_off is not None
        return price - min(self.monthly_off * interval, price)


@dataclass
class Sim:
    """One subscription, SPEC §3/§4/§11: `advance(day)` applies what happens by itself at
    the start of each day up to `day`; `apply(row)` applies an event, or says why the
    ledger must refuse it (and then changes nothing)."""

    status: str = ""
    amount: Fraction = ZERO  # the list price per interval in force (kept while paused)
    interval: int = 1
    term_months: int | None = None
    term_end: date | None = None
    trial_end: date | None = None
    resume_date: date | None = None
    discount: Discount | None = None
    lapsed: tuple[date, str, Discount | None, date | None] | None = None
    expired_on: date | None = None  # the day its trial ended by itself
    resumed_on: date | None = None  # the day it resumed by itself
    converted: bool = False  # whether the last `new` applied converted a trial

    def net_mrr(self, amount: Fraction | None = None, interval: int | None = None) -> Fraction:
        """Its net MRR if it were active at that price (the one in force by default)."""
        price = self.amount if amount is None else amount
        months = self.interval if interval is None else interval
        net = price if self.discount is None else self.discount.net(price, months)
        return net / months

    def mrr(self) -> Fraction:
        return self.net_mrr() if self.status == ACTIVE else ZERO

    def _due(self) -> list[date]:
        due = []
        if self.status in (ACTIVE, PAUSED) and self.term_end is not None:
            due.append(self.term_end)
        if self.status == TRIALING and self.trial_end is not None:
            due.append(self.trial_end)
        if self.status == PAUSED and self.resume_date is not None:
            due.append(self.resume_date)
        if self.discount is not None and self.discount.end is not None:
            due.append(self.discount.end)
        return due

    def advance(self, day: date) -> None:
        while due := [d for d in self._due() if d <= day]:
            self._automatic(min(due))

    def _automatic(self, x: date) -> None:
        """The oracle's order on one day: a lapse, a trial's end, a resume, a discount's end."""
        if self.status in (ACTIVE, PAUSED) and self.term_end is not None and self.term_end <= x:
            self.lapsed = (x, self.status, self.discount, self.resume_date)
            self.status, self.term_end, self.discount, self.resume_date = ENDED, None, None, None
        if self.status == TRIALING and self.trial_end is not None and self.trial_end <= x:
            self.status, self.expired_on = ENDED, x
        if self.status == PAUSED and self.resume_date is not None and self.resume_date <= x:
            self.status, self.resume_date, self.resumed_on = ACTIVE, None, x
        if self.discount is not None and self.discount.end is not None and self.discount.end <= x:
            self.discount = None

    def apply(self, row: Row) -> str | None:
        kind, day = row["type"], date.fromisoformat(row["effective_date"])
        self.advance(day)
        status = self.status
        if kind in ("new", "trial", "churn"):
            self.lapsed = None  # a later renewal that day no longer undoes the lapse
        amount = Fraction(row["amount"]) if row.get("amount") else None
        interval = months_of(row.get("interval"))
        if kind == "trial":
            if status in (ACTIVE, TRIALING, PAUSED):
                return f"trial on a {status} subscription"
            trial_end = _day(row.get("trial_end"))
            if trial_end is not None and trial_end <= day:
                return "trial_end not after the effective date"
            self.status, self.trial_end = TRIALING, trial_end
            self.term_end, self.discount, self.resume_date = None, None, None
        elif kind == "new":
            if status in (ACTIVE, PAUSED):
                return f"new on a {status} subscription"
            if amount is None or amount <= 0:
                return "new without a positive amount"
            self.converted = status == TRIALING or self.expired_on == day
            self.status, self.amount, self.interval = ACTIVE, amount, interval or 1
            self.term_months = months_of(row.get("term_months"))
            self.term_end = add_months(day, self.term_months) if self.term_months else None
            self.discount, self.resume_date, self.trial_end = None, None, None
        elif kind in ("upgrade", "downgrade"):
            if status != ACTIVE:
                return f"{kind} on a {status or 'never started'} subscription"
            assert amount is not None
            before, after = self.net_mrr(), self.net_mrr(amount, interval or self.interval)
            if kind == "upgrade" and not after > before:
                return f"upgrade does not raise net MRR ({before} -> {after})"
            if kind == "downgrade" and not 0 < after < before:
                return f"downgrade does not lower net MRR and keep it > 0 ({before} -> {after})"
            self.amount, self.interval = amount, interval or self.interval
        elif kind == "churn":
            if status not in (ACTIVE, PAUSED, TRIALING):
                return f"churn on a {status or 'never started'} subscription"
            self.status, self.term_end, self.trial_end = ENDED, None, None
            self.discount, self.resume_date = None, None
        elif kind == "renewal":
            if status == ENDED and self.lapsed is not None and self.lapsed[0] == day:
                _, self.status, self.discount, self.resume_date = self.lapsed
                self.lapsed = None
                if self.status == PAUSED and self.resume_date and self.resume_date <= day:
                    self.status, self.resume_date = ACTIVE, None
            elif status not in (ACTIVE, PAUSED):
                return f"renewal on a {status or 'never started'} subscription"
            if (amount or interval) and self.net_mrr(amount, interval) <= 0:
                return "renewal at a price that makes net MRR 0"
            self.amount = amount or self.amount
            self.interval = interval or self.interval
            self.term_months = months_of(row.get("term_months")) or self.term_months
            self.term_end = add_months(day, self.term_months) if self.term_months else None
        elif kind == "pause":
            if status != ACTIVE:
                return f"pause on a {status or 'never started'} subscription"
            resume = _day(row.get("resume_date"))
            if resume is not None and resume <= day:
                return "resume_date not after the effective date"
            self.status, self.resume_date = PAUSED, resume
        elif kind == "resume":
            if status != PAUSED and not (status == ACTIVE and self.resumed_on == day):
                return f"resume on a {status or 'never started'} subscription"
            if (amount or interval) and self.net_mrr(amount, interval) <= 0:
                return "resume at a price that makes net MRR 0"
            self.status, self.resume_date = ACTIVE, None
            self.amount, self.interval = amount or self.amount, interval or self.interval
        elif kind == "discount":
            if status != ACTIVE:
                return f"discount on a {status or 'never started'} subscription"
            percent, off = row.get("percent_off"), row.get("amount_off")
            if (percent is None) == (off is None):
                return "discount needs exactly one of percent_off and amount_off"
            months = months_of(row.get("duration_months"))
            end = add_months(day, months) if months else None
            if percent is not None and Fraction(percent) == 0:
                self.discount = None
                return None
            if percent is not None and not 0 <= Fraction(percent) <= 100:
                return "percent_off outside 0-100"
            monthly = Fraction(off) / self.interval if off is not None else None
            found = Discount(Fraction(percent) if percent is not None else None, monthly, end)
            kept, self.discount = self.discount, found
            if self.net_mrr() <= 0:
                self.discount = kept
                return "discount makes net MRR 0"
        else:
            return f"{kind} is not a subscription event"
        return None


def subscription_problems(ops: list[Row]) -> list[str]:
    """What the ledger must refuse in one subscription's recorded history: `ops` are its
    events, its fees and the voids of either, in recording order. After each one, its live
    events are replayed in effective order (ties by recording order) and each must be
    valid; every live fee needs a live `new`; a void needs a live, earlier, non-void target.
    A repeated `event_id` is an idempotent retry (it must repeat the content exactly)."""
    problems: list[str] = []
    seen: dict[str, Row] = {}
    recorded: list[Row] = []
    voided: set[str] = set()
    for row in ops:
        if row["event_id"] in seen:
            if seen[row["event_id"]] != row:
                problems.append(f"{row['event_id']}: same id, other content")
            continue
        seen[row["event_id"]] = row
        if row["type"] == "void":
            target = row["target_event_id"]
            if target not in seen or target in voided or seen[target]["type"] == "void":
                problems.append(f"{row['event_id']}: void of an unknown or voided event")
            voided.add(target)
        else:
            recorded.append(row)
        live = [r for r in recorded if r["event_id"] not in voided]
        order = {r["event_id"]: n for n, r in enumerate(live)}
        sim = Sim()
        for r in sorted(
            (r for r in live if r["type"] != "one_time_fee"),
            key=lambda r: (r["effective_date"], order[r["event_id"]]),
        ):
            if (why := sim.apply(r)) is not None:
                problems.append(f"after {row['event_id']}: {r['event_id']} refused: {why}")
                break
        fees = [r for r in live if r["type"] == "one_time_fee"]
        if fees and not any(r["type"] == "new" for r in live):
            problems.append(f"after {row['event_id']}: a fee without a live new")
    return problems


def problems(rows: list[Row]) -> list[str]:
    """Every way `rows` (in recording order) would not be a valid ledger at some prefix,
    as far as SPEC §3/§11/§12 say: the generator's self-check."""
    found: list[str] = []
    ids: dict[str, Row] = {}
    of_sub: dict[str, list[Row]] = defaultdict(list)
    customer_of: dict[str, str] = {}
    sub_of: dict[str, str | None] = {}
    currency_of: dict[str, str] = {}
    for row in rows:
        eid = row["event_id"]
        if row["type"] == "fx_rate":
            if row.get("currency") in (None, "USD") or Decimal(row["rate"]) <= 0:
                found.append(f"{eid}: not a rate of a foreign currency")
            continue
        if eid in ids and ids[eid] != row:
            found.append(f"{eid}: reused with other content")
        ids.setdefault(eid, row)
        reason = row.get("reason")
        if reason is not None and (
            reason in ("lapsed", "unspecified")
            or not reason
            or len(reason) > 64
            or any(c not in "abcdefghijklmnopqrstuvwxyz0123456789_-" for c in reason)
        ):
            found.append(f"{eid}: bad reason {reason!r}")
        if len(row.get("note", "")) > 1000:
            found.append(f"{eid}: note too long")
        sub = row.get("subscription_id")
        if sub and row["type"] in ("new", "trial"):
            currency_of.setdefault(sub, row.get("currency") or "USD")
        if sub and row.get("currency") not in (None, currency_of.get(sub)):
            found.append(f"{eid}: in another currency than its subscription's")
        if row["type"] == "void":
            sub = sub_of.get(row["target_event_id"])
            target = ids.get(row["target_event_id"])
            if target is None or row.get("customer_id") != target.get("customer_id"):
                found.append(f"{eid}: void names another customer than its target's")
        sub_of.setdefault(eid, sub)
        if sub is None:
            continue
        if customer_of.setdefault(sub, row["customer_id"]) != row["customer_id"]:
            found.append(f"{eid}: {sub} under two customers")
        of_sub[sub].append(row)
    for sub, ops in of_sub.items():
        found += [f"{sub}: {p}" for p in subscription_problems(ops)]
    return found


# The generator.


@dataclass
class _Entry:
    recorded: date
    order: int
    row: Row


@dataclass
class _Writer:
    rng: random.Random
    seed: int
    entries: list[_Entry] = field(default_factory=list)
    count: int = 0

    def next_id(self) -> str:
        self.count += 1
        return f"L{self.seed}-{self.count:06d}"

    def add(self, row: Row, recorded: date | None = None) -> _Entry:
        entry = _Entry(recorded or date.fromisoformat(row["effective_date"]), self.count, row)
        self.entries.append(entry)
        return entry

    def explain(self, row: Row) -> Row:
        """A reason and a note on a good share of the events."""
        if self.rng.random() < WHY.get(row["type"], 0.3):
            row["reason"] = self.rng.choice(REASONS)
        if self.rng.random() < 0.25:
            row["note"] = self.rng.choice(NOTES)
        return row


def _money(value: Fraction | Decimal) -> str:
    """A price as a decimal string with at most 2 fraction digits (at least 0.01)."""
    exact = (
        Decimal(value.numerator) / Decimal(value.denominator)
        if isinstance(value, Fraction)
        else value
    )
    return str(max(exact.quantize(CENT, ROUND_HALF_EVEN), CENT))


@dataclass
class _Line:
    """One subscription's life, drawn event by event from what its status allows."""

    w: _Writer
    rng: random.Random
    customer: str
    sub: str
    horizon: date
    sim: Sim = field(default_factory=Sim)
    lives: int = 0
    plan: str = ""
    currency: str | None = None  # a foreign subscription's (SPEC §10)
    billing: random.Random = field(default_factory=random.Random)

    def emit(self, kind: str, day: date, recorded: date | None = None, /, **extra: str) -> Row:
        row = {
            "event_id": self.w.next_id(),
            "type": kind,
            "customer_id": self.customer,
            "subscription_id": self.sub,
            "effective_date": day.isoformat(),
            **extra,
        }
        if self.currency is not None and (kind in ("new", "trial") or self.billing.random() < 0.25):
            row["currency"] = self.currency  # always on a start: whichever is recorded first
        self.w.explain(row)
        if kind != "one_time_fee":
            why = self.sim.apply(row)
            assert why is None, (why, row)
        self.w.add(row, recorded)
        return row

    def live(self, start: date) -> None:
        day = start
        while day <= self.horizon:
            self.sim.advance(day)
            if not self.step(day):
                return
            day = self.next_day(day)

    def next_day(self, day: date) -> date:
        s, roll, rng = self.sim, self.rng.random(), self.rng
        if roll < 0.06:
            return day  # another event the same day
        if s.status == TRIALING and s.trial_end is not None and roll < 0.35:
            return s.trial_end  # converted (or churned) on the trial_end day
        if s.status in (ACTIVE, PAUSED) and s.term_end is not None and roll < 0.3:
            return s.term_end  # renewed (or not) on the day the term ends
        if s.status == PAUSED and s.resume_date is not None and roll < 0.45:
            return s.resume_date  # an explicit resume on the pause's own resume_date
        gap = {
            "": (1, 1), ENDED: (10, 240), TRIALING: (1, 25), ACTIVE: (7, 150), PAUSED: (5, 80)
        }[s.status]  # fmt: skip
        return day + timedelta(days=rng.randint(*gap))

    def step(self, day: date) -> bool:
        """One event (or none) on `day`; False when the subscription's story is over."""
        s, rng = self.sim, self.rng
        if s.status in ("", ENDED):
            if s.lapsed is not None and s.lapsed[0] == day and rng.random() < 0.6:
                self.renewal(day)
                return True
            if self.lives and (self.lives > 2 or rng.random() < 0.35):
                return False
            lapsed_today = s.lapsed is not None and s.lapsed[0] == day
            if s.expired_on == day or rng.random() < 0.7:
                self.start(day)
                if lapsed_today and rng.random() < 0.25:
                    self.emit("churn", day)  # restarted the day it lapsed, and ended again
            else:
                trial_end = day + timedelta(days=rng.randint(7, 45))
                extra = {"trial_end": trial_end.isoformat()} if rng.random() < 0.7 else {}
                self.emit("trial", day, plan=self.pick_plan(), **extra)
            self.lives += 1
            return True
        if s.status == TRIALING:
            roll = rng.random()
            if roll < (0.6 if s.trial_end else 0.7):
                self.start(day)
            elif roll < (0.8 if s.trial_end else 0.9):
                self.emit("churn", day)
            return True
        if s.status == PAUSED:
            roll = rng.random()
            if roll < 0.3:
                self.resume(day)
            elif roll < 0.42:
                self.emit("churn", day)
            elif (roll < 0.52 and s.term_months is not None) or roll < 0.55:
                self.renewal(day)
            return True
        if s.resumed_on == day:  # it resumed by itself this morning: its resume_date
            roll = rng.random()
            if roll < 0.35:
                self.resume(day)  # the same resume, maybe at a new price (a Decision)
                return True
            if roll < 0.5:
                self.emit("pause", day)  # paused again the day it resumed
                return True
            if roll < 0.65:
                self.emit("churn", day)  # ended the day it was to resume
                return True
        choices = ["upgrade", "downgrade", "discount", "pause", "renewal", "churn", "fee", ""]
        weights = [14, 9, 13, 10, 14 if s.term_months else 3, 6, 5, 10]
        kind = rng.choices(choices, weights)[0]
        if kind in ("upgrade", "downgrade"):
            self.change(kind, day)
        elif kind == "discount":
            self.discount(day)
        elif kind == "pause":
            extra = {}
            if rng.random() < 0.6:
                extra["resume_date"] = (day + timedelta(days=rng.randint(10, 120))).isoformat()
            self.emit("pause", day, **extra)
        elif kind == "renewal":
            self.renewal(day)
        elif kind == "churn":
            self.emit("churn", day)
        elif kind == "fee":
            self.emit("one_time_fee", day, amount=rng.choice(FEES), description="training")
        return True

    def pick_plan(self) -> str:
        self.plan = self.rng.choice(PLANS)[0]
        return self.plan

    def start(self, day: date) -> None:
        """A `new`: a first start, a restart, or a trial's conversion."""
        rng = self.rng
        plan, price, interval = rng.choice(PLANS)
        extra = {"amount": price, "interval": interval, "plan": plan}
        if (term := rng.choice(TERMS)) is not None:
            extra["term_months"] = str(term)
        if rng.random() < 0.2:
            extra["quantity"] = str(rng.randint(1, 40))
        first = self.lives == 0
        self.emit("new", day, **extra)
        if rng.random() < 0.3:  # a setup fee, maybe dated before go-live (recorded at it)
            early = rng.choice((0, 0, 10)) if first else 0
            fee = {"amount": rng.choice(FEES), "description": "setup"}
            self.emit("one_time_fee", day - timedelta(days=early), day, **fee)
        if rng.random() < 0.15:
            self.discount(day)  # a discount from the first day (SPEC §8 example 15)

    def change(self, kind: str, day: date) -> None:
        s, rng = self.sim, self.rng
        for _ in range(8):
            factors = (
                ("1.1", "1.25", "1.5", "2", "3")
                if kind == "upgrade"
                else ("0.5", "0.7", "0.85", "0.95", "0.3")
            )
            interval = s.interval
            extra: dict[str, str] = {}
            if rng.random() < 0.15:
                interval = rng.choice((1, 3, 12))
                extra["interval"] = {1: "month", 3: "quarter", 12: "year"}[interval]
            price = s.amount / s.interval * interval * Fraction(rng.choice(factors))
            amount = Fraction(_money(price))
            before, after = s.net_mrr(), s.net_mrr(amount, interval)
            if (kind == "upgrade" and after > before) or (
                kind == "downgrade" and 0 < after < before
            ):
                self.emit(kind, day, amount=_money(amount), **extra)
                return

    def discount(self, day: date) -> None:
        s, rng = self.sim, self.rng
        if s.discount is not None and rng.random() < 0.3:
            self.emit("discount", day, percent_off="0")  # ends the one in force
            return
        extra: dict[str, str] = {}
        if rng.random() < 0.6:
            extra["duration_months"] = str(rng.choice(DURATIONS))
        if rng.random() < 0.6:
            extra["percent_off"] = rng.choice(PERCENTS)
        else:
            off = s.amount * Fraction(rng.randint(5, 60), 100)
            if off < Fraction(1, 100) or Fraction(_money(off)) >= s.amount:
                return
            extra["amount_off"] = _money(off)
        self.emit("discount", day, **extra)

    def fits(self, kind: str, day: date, extra: dict[str, str]) -> bool:
        """Whether the event would be accepted now (tried on a copy of the state)."""
        probe = copy.copy(self.sim)
        return probe.apply({"type": kind, "effective_date": day.isoformat(), **extra}) is None

    def renewal(self, day: date) -> None:
        s, rng = self.sim, self.rng
        extra: dict[str, str] = {}
        if (s.term_months is None and rng.random() < 0.3) or rng.random() < 0.2:
            extra["term_months"] = str(rng.choice((6, 12, 24)))
        if rng.random() < 0.35:
            amount = _money(s.amount * Fraction(rng.choice(("1.05", "1.1", "0.9"))))
            if self.fits("renewal", day, extra | {"amount": amount}):
                extra["amount"] = amount
        self.emit("renewal", day, **extra)

    def resume(self, day: date) -> None:
        s, rng = self.sim, self.rng
        extra: dict[str, str] = {}
        if rng.random() < 0.35:
            amount = _money(s.amount * Fraction(rng.choice(("0.8", "1.2", "1.5"))))
            if self.fits("resume", day, {"amount": amount}):
                extra["amount"] = amount
        self.emit("resume", day, **extra)


def _subscriptions_of(entries: list[_Entry]) -> dict[str, list[_Entry]]:
    of: dict[str, list[_Entry]] = defaultdict(list)
    by_id = {e.row["event_id"]: e for e in entries}
    for e in entries:
        sub = e.row.get("subscription_id")
        if e.row["type"] == "void":
            sub = by_id[e.row["target_event_id"]].row.get("subscription_id")
        if sub:
            of[sub].append(e)
    return of


def _valid(entries: list[_Entry]) -> bool:
    ordered = sorted(entries, key=lambda e: (e.recorded, e.order))
    return not subscription_problems([e.row for e in ordered])


def lifecycle_events(
    seed: int,
    customers: int = 150,
    start: date = date(2022, 1, 1),
    horizon: date = date(2024, 12, 31),
    foreign: float = 0.0,
) -> list[Row]:
    """Event rows in recording order, every prefix a valid ledger (SPEC §3, §11, §12).

    With `foreign`, that share of the customers bills in EUR (drawn apart: the events are
    otherwise those of the same seed), and a EUR rate for every day from before the first
    event to after `horizon` is recorded first, in one go."""
    rng = random.Random(seed * 104729 + 3)
    billing = random.Random(seed * 7 + 1)
    w = _Writer(rng, seed)
    span = (horizon - start).days
    for number in range(1, customers + 1):
        customer = f"C{seed}-{number:04d}"
        currency = "EUR" if billing.random() < foreign else None
        first = start + timedelta(days=rng.randrange(span - 60))
        lines = rng.choice((1, 1, 1, 2, 2, 3))
        for line in range(1, lines + 1):
            begin = first + timedelta(days=0 if line == 1 else rng.choice((0, rng.randint(1, 300))))
            if begin < horizon:
                sub = f"{customer}-S{line}"
                _Line(w, rng, customer, sub, horizon, currency=currency, billing=billing).live(
                    begin
                )
        if rng.random() < 0.08:  # a fee of no subscription
            day = min(first + timedelta(days=rng.randint(0, 400)), horizon)
            row = {"event_id": w.next_id(), "type": "one_time_fee", "customer_id": customer}
            row |= {"effective_date": day.isoformat(), "amount": rng.choice(FEES)}
            if currency is not None and billing.random() < 0.5:
                row["currency"] = currency
            w.add(w.explain(row | {"description": "consulting"}))
    _record_late(rng, w)
    _void(rng, w)
    _retry(rng, w)
    w.entries.sort(key=lambda e: (e.recorded, e.order))
    rates = _rates(billing, start - timedelta(days=45), horizon + timedelta(days=130))
    return (rates if foreign else []) + [e.row for e in w.entries]


def _rates(rng: random.Random, first: date, last: date) -> list[Row]:
    """A EUR rate (US dollars for one euro, 10 fraction digits at most) for every day."""
    rows, rate, day = [], Decimal("1.0850123456"), first
    while day <= last:
        row = {"event_id": f"FX-EUR-{day.isoformat()}", "type": "fx_rate", "currency": "EUR"}
        rows.append(row | {"effective_date": day.isoformat(), "rate": str(rate)})
        step = Decimal(rng.randint(-30_000_000, 30_000_000)) * Decimal("0.0000000001")
        rate = (rate * (1 + step)).quantize(Decimal("0.0000000001"))
        day += timedelta(days=1)
    return rows


def _record_late(rng: random.Random, w: _Writer) -> None:
    """Backdated and scheduled events, kept only where every prefix stays valid."""
    by_customer: dict[str, list[_Entry]] = defaultdict(list)
    for e in w.entries:
        by_customer[e.row["customer_id"]].append(e)
    for entries in by_customer.values():  # whole customers recorded late, in one go
        if rng.random() < 0.07:
            when = max(e.recorded for e in entries) + timedelta(days=rng.randint(1, 120))
            for e in entries:
                e.recorded = when
    subs = _subscriptions_of(w.entries)
    for entries in subs.values():  # the last event of a subscription recorded late
        last = max(entries, key=lambda e: (e.recorded, e.order))
        if rng.random() < 0.12 and last.row["type"] != "one_time_fee":
            last.recorded += timedelta(days=rng.randint(3, 90))
    names = sorted(subs)
    for _ in range(len(names) // 3):  # any event moved later (backdated) or earlier
        entries = subs[rng.choice(names)]
        e = rng.choice(entries)
        was = e.recorded
        shift = rng.randint(3, 150) if rng.random() < 0.75 else -rng.randint(3, 60)
        e.recorded += timedelta(days=shift)
        if not _valid(entries):
            e.recorded = was


def _void(rng: random.Random, w: _Writer) -> None:
    """Voids of fees and of events whose removal keeps the timeline valid; some of the
    voided events appended again under a new id (and another reason)."""
    subs = _subscriptions_of(w.entries)
    names = sorted(subs)

    def void(target: _Entry, entries: list[_Entry] | None) -> _Entry | None:
        row = {"event_id": w.next_id(), "type": "void", "customer_id": target.row["customer_id"]}
        row["target_event_id"] = target.row["event_id"]
        entry = _Entry(
            target.recorded + timedelta(days=rng.randint(0, 90)), w.count, w.explain(row)
        )
        if entries is not None:
            entries.append(entry)
            if not _valid(entries):
                entries.pop()
                return None
        w.entries.append(entry)
        return entry

    for e in list(w.entries):
        if e.row["type"] == "one_time_fee" and rng.random() < 0.1:
            sub = e.row.get("subscription_id")
            void(e, subs[sub] if sub else None)
    voided = {e.row["target_event_id"] for e in w.entries if e.row["type"] == "void"}
    for _ in range(len(names) // 3):
        entries = subs[rng.choice(names)]
        candidates = [e for e in entries if e.row["type"] != "void"]
        if rng.random() < 0.5:  # the subscription's last event, most often
            target = max(candidates, key=lambda e: (e.row["effective_date"], e.order))
        else:
            target = rng.choice(candidates)
        if target.row["event_id"] in voided:
            continue
        done = void(target, entries)
        if done is None:
            continue
        voided.add(target.row["event_id"])
        if target.row["type"] != "one_time_fee" and rng.random() < 0.4:
            again = {k: v for k, v in target.row.items() if k not in ("reason", "note")}
            again = w.explain(again | {"event_id": w.next_id()})
            later = done.recorded + timedelta(days=rng.randint(0, 30))
            entry = _Entry(later, w.count, again)
            entries.append(entry)
            if _valid(entries):
                w.entries.append(entry)
            else:
                entries.pop()


def _retry(rng: random.Random, w: _Writer) -> None:
    """A few rows sent twice, identical: idempotent retries that get no new position."""
    voided = {e.row["target_event_id"] for e in w.entries if e.row["type"] == "void"}
    plain = [e for e in w.entries if e.row["event_id"] not in voided and e.row["type"] != "void"]
    for e in rng.sample(plain, min(6, len(plain))):
        w.count += 1
        w.entries.append(
            _Entry(e.recorded + timedelta(days=rng.randint(0, 20)), w.count, dict(e.row))
        )


def features(rows: list[Row]) -> dict[str, int]:
    """How often each corner of SPEC §11-§12 occurs among the live events at the head (a
    replay of each subscription with `Sim`), and how the rows were recorded: for the
    self-check that the ledgers exercise what they are meant to."""
    found: dict[str, int] = defaultdict(int)
    seen: dict[str, int] = {}
    for n, row in enumerate(rows):
        if row["event_id"] in seen:
            found["retried"] += 1
        seen.setdefault(row["event_id"], n)
    unique = [rows[n] for n in sorted(seen.values())]
    by_id = {r["event_id"]: r for r in unique}
    voids = [r for r in unique if r["type"] == "void"]
    voided = {r["target_event_id"] for r in voids}
    for r in voids:
        target = by_id[r["target_event_id"]]
        found["voided_fee" if target["type"] == "one_time_fee" else "voided_event"] += 1
    live = [r for r in unique if r["type"] != "void" and r["event_id"] not in voided]
    latest = date.min
    for r in unique:
        if "effective_date" in r and r["type"] != "fx_rate":
            day = date.fromisoformat(r["effective_date"])
            found["backdated"] += day < latest
            latest = max(latest, day)
    found["reason"] = sum(1 for r in live if "reason" in r)
    found["note"] = sum(1 for r in live if "note" in r)
    order = {r["event_id"]: n for n, r in enumerate(live)}
    of_sub: dict[str, list[Row]] = defaultdict(list)
    for r in sorted(live, key=lambda r: (r["effective_date"], order[r["event_id"]])):
        if r.get("subscription_id") and r["type"] != "one_time_fee":
            of_sub[r["subscription_id"]].append(r)
        elif r["type"] == "one_time_fee":
            found["fee" if r.get("subscription_id") else "fee_without_subscription"] += 1
    for events in of_sub.values():
        sim, previous, lapsed_on = Sim(), "", date.min
        for r in events:
            kind, day = r["type"], date.fromisoformat(r["effective_date"])
            before_lapse = sim.lapsed
            sim.advance(day)
            status = sim.status
            if sim.lapsed is not None and sim.lapsed != before_lapse:
                found[f"lapsed_while_{sim.lapsed[1]}"] += 1
                lapsed_on = sim.lapsed[0]
            found["same_day"] += previous == r["effective_date"]
            previous = r["effective_date"]
            if kind == "trial":
                found["trial_with_end" if r.get("trial_end") else "trial_without_end"] += 1
            elif kind == "new" and status == TRIALING:
                found["converted_while_trialing"] += 1
            elif kind == "new" and sim.expired_on == day:
                found["converted_on_trial_end"] += 1
            elif kind == "new" and status == ENDED:
                found["restarted"] += 1
            elif kind == "churn":
                found[f"churned_{status}"] += 1
                found["churned_on_resume_date"] += status == ACTIVE and sim.resumed_on == day
                restarted = status == ACTIVE and lapsed_on == day
                found["churned_the_day_it_lapsed_and_restarted"] += restarted
            elif kind == "pause":
                found["pause_with_resume_date" if r.get("resume_date") else "pause_open"] += 1
                found["paused_on_resume_date"] += sim.resumed_on == day
            elif kind == "resume":
                found["resume_on_resume_date" if status == ACTIVE else "resume"] += 1
                found["resume_with_amount"] += "amount" in r
            elif kind == "renewal":
                found[f"renewal_{'on_lapse_day' if status == ENDED else status}"] += 1
                found["renewal_with_amount"] += "amount" in r
            elif kind == "discount":
                if r.get("percent_off") == "0":
                    found["discount_ended"] += 1
                else:
                    found["discount_percent" if "percent_off" in r else "discount_amount"] += 1
                    found["discount_with_duration"] += "duration_months" in r
                    found["discount_replaced"] += sim.discount is not None
            elif kind in ("upgrade", "downgrade"):
                found[kind] += 1
                found[f"{kind}_discounted"] += sim.discount is not None
                found["interval_changed"] += "interval" in r
            was_discounted = sim.discount is not None
            assert sim.apply(r) is None, r
            found["discount_through_pause"] += was_discounted and sim.status == PAUSED
        sim.advance(date(2030, 12, 31))
        if sim.status == TRIALING and sim.trial_end is not None:
            found["trial_expired_later"] += 1
        if sim.status == ENDED and sim.expired_on is not None:
            found["trial_expired"] += 1
    return dict(found)
