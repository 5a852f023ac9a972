"""Month-end MRR and month-netted movements agree to the cent with saas-metrics (PyPI,
MIT), given the same history: each customer's MRR at every month end, as its `analyze()`
reads it. The amounts are whole monthly prices, so every customer's MRR is exact in cents
and neither side rounds."""

from __future__ import annotations

import csv
import random
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import saas_metrics

from ledger import Ledger
from ledger.domain.dates import add_months, months_end
from ledger.intake.rows import Row


def history(seed: int, customers: int) -> list[dict[str, Any]]:
    """Customers starting, changing price, churning and coming back, in effective order."""
    rng, rows = random.Random(seed), []
    for n in range(customers):
        customer, day = (
            f"c{n}",
            date(2022, 1, 1) + (date(2022, 1, 1) - date(2021, 12, 1)) * rng.randrange(24),
        )
        price, sub, active = rng.randrange(20, 500), f"s{n}", True
        rows.append(_row(rows, "new", customer, sub, day, price))
        for _ in range(rng.randrange(6)):
            day = add_months(day, rng.randrange(1, 7)).replace(day=rng.randrange(1, 28))
            if day > date(2025, 12, 1):
                break
            if not active:
                price = rng.randrange(20, 500)
                rows.append(_row(rows, "new", customer, sub, day, price))
                active = True
            elif rng.random() < 0.3:
                rows.append(_row(rows, "churn", customer, sub, day, None))
                active = False
            else:
                new_price = price + rng.choice((-1, 1)) * rng.randrange(1, 15)
                if new_price > 0 and new_price != price:
                    kind = "upgrade" if new_price > price else "downgrade"
                    rows.append(_row(rows, kind, customer, sub, day, new_price))
                    price = new_price
    return rows


def _row(
    rows: list[dict[str, Any]], kind: str, customer: str, sub: str, day: date, price: int | None
) -> dict[str, Any]:
    row = {"event_id": f"e{len(rows)}", "type": kind, "customer_id": customer}
    row |= {"subscription_id": sub, "effective_date": day.isoformat()}
    return row | ({"amount": str(price)} if price is not None else {})


def test_month_netted_movements_agree_with_saas_metrics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.init(url) as ledger:
        ledger.import_rows(Row(f"h:{n}", r) for n, r in enumerate(history(3, 400), 1))
        rows = ledger.series(date(2022, 1, 1), date(2025, 12, 31), netting="month")
        ends = [r.report.as_of for r in rows]
        lines = tmp_path / "mrr.csv"
        with lines.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(("customer_id", "period", "revenue"))
            for day in ends:
                for line in ledger.by_customer(day):
                    writer.writerow(
                        (line.as_json()["customer_id"], day.isoformat(), line.as_json()["mrr"])
                    )
    result = saas_metrics.analyze(str(lines), allow_warnings=True)
    assert result.ok, result.checks
    theirs = {
        months_end(date.fromisoformat(str(row["period_end"])[:10])): row
        for row in result.waterfall.to_dict("records")
    }
    compared = 0
    for row in rows:
        mine = row.as_json()
        them = theirs.get(row.report.as_of)
        if them is None:  # saas-metrics starts at the first month with revenue
            assert mine["mrr"] == "0.00"
            continue
        pairs = {
            "new": "new_logo",
            "reactivation": "reactivation",
            "expansion": "expansion",
            "contraction": "contraction",
            "churn": "churn",
            "mrr": "ending",
        }
        for key, their_key in pairs.items():
            assert Decimal(mine[key]) == Decimal(str(them[their_key])).quantize(Decimal("0.01")), (
                mine["as_of"],
                key,
            )
        compared += 1
    assert compared >= 40
