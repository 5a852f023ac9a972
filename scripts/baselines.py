"""The analytics tools the benchmark is compared with, on the same history, in the same run.

* **saas-metrics** (PyPI, MIT, DuckDB inside): `analyze()` of the history's month-end MRR
  lines, one `customer_id,period,revenue` line per customer and month end with MRR > 0,
  the shape it reads. The lines come from the ledger's own replay and are written to a
  CSV before the clock starts: preparing its input is not timed, reading it is.
* **Plain DuckDB** (the analytic floor): a month-end MRR waterfall computed by SQL
  straight from the events file, with no validation, no audit and no bitemporality:
  voided events dropped, each price event's MRR (`amount / interval`) held until the
  subscription's next event or the end of a fixed term, month ends read off it, and
  each customer's change from one month end to the next classified as new, expansion,
  contraction, churn or reactivation. It is a floor, not a reference: it skips every
  rule a ledger checks.
"""

from __future__ import annotations

import csv
import time
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from ledger.domain.dates import add_months, months_end
from ledger.domain.money import money
from projections.figures.book import Book
from projections.figures.movements import MrrSteps


def month_ends(first: date, last: date) -> list[date]:
    """The month ends from `first`'s month to `last`'s."""
    ends, day = [], months_end(first)
    while day <= last:
        ends.append(day)
        day = months_end(add_months(day.replace(day=1), 1))
    return ends


def mrr_lines(
    book: Book, ends: list[date], path: Path
) -> tuple[dict[date, Fraction], dict[date, Decimal]]:
    """Writes the month-end MRR lines saas-metrics reads, each customer's MRR to the cent
    (its money type); returns the exact total per month end, and the lines' total."""
    totals, lines = dict.fromkeys(ends, Fraction(0)), dict.fromkeys(ends, Decimal(0))
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("customer_id", "period", "revenue"))
        for account in book.accounts:
            steps = MrrSteps.of(account)
            for day in ends:
                mrr = steps.mrr_on(day)
                if mrr > 0:
                    cents = Decimal(money(mrr).replace(",", ""))
                    totals[day] += mrr
                    lines[day] += cents
                    writer.writerow((account.customer_id, day.isoformat(), str(cents)))
    return totals, lines


def saas_metrics(lines: Path) -> tuple[float, dict[date, Decimal]]:
    """Seconds of `saas_metrics.analyze()` on the lines, and its month-end MRR."""
    import saas_metrics

    clock = time.perf_counter()
    result = saas_metrics.analyze(str(lines), allow_warnings=True)
    seconds = time.perf_counter() - clock
    if not result.ok:
        raise SystemExit(f"saas-metrics refused the lines: {result.checks}")
    waterfall = result.waterfall
    found = {
        date.fromisoformat(str(day)[:10]): Decimal(str(mrr)).quantize(Decimal("0.01"))
        for day, mrr in zip(waterfall["period_end"], waterfall["ending"], strict=True)
    }
    return seconds, found


_WATERFALL = """
WITH raw AS (
  SELECT row_number() OVER () AS position, * FROM read_csv('{path}', all_varchar = true)
), live AS (
  SELECT * FROM raw WHERE type <> 'void'
   AND event_id NOT IN (SELECT target_event_id FROM raw WHERE type = 'void')
   AND type IN ('new', 'upgrade', 'downgrade', 'renewal', 'churn')
), given AS (
  SELECT customer_id, subscription_id, type, CAST(effective_date AS DATE) AS day, position,
         CAST(NULLIF(amount, '') AS DECIMAL(18, 4)) AS amount,
         CAST(NULLIF(interval, '') AS INTEGER) AS every,
         CASE WHEN type IN ('new', 'renewal') THEN CAST(NULLIF(term_months, '') AS INTEGER) END
           AS term
    FROM live
), carried AS (  -- a price event that leaves out a field keeps the subscription's
  SELECT *, last_value(amount IGNORE NULLS) OVER w AS price,
         last_value(every IGNORE NULLS) OVER w AS months,
         last_value(CASE WHEN type IN ('new', 'renewal') THEN day END IGNORE NULLS) OVER w
           AS booked, last_value(term IGNORE NULLS) OVER w AS term_of
    FROM given
  WINDOW w AS (PARTITION BY subscription_id ORDER BY day, position
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
), spans AS (
  SELECT customer_id, day,
         CASE WHEN type = 'churn' THEN 0 ELSE price / months END AS mrr,
         lead(day) OVER (PARTITION BY subscription_id ORDER BY day, position) AS next_day,
         CASE WHEN term_of IS NOT NULL THEN booked + to_months(term_of) END AS ends
    FROM carried
), months AS (
  SELECT CAST(last_day(m) AS DATE) AS month_end
    FROM range(DATE '{first}', DATE '{last}' + INTERVAL 1 DAY, INTERVAL 1 MONTH) t(m)
), levels AS (
  SELECT s.customer_id, m.month_end, SUM(s.mrr) AS mrr
    FROM spans s JOIN months m ON s.day <= m.month_end
     AND (s.next_day IS NULL OR s.next_day > m.month_end)
     AND (s.ends IS NULL OR s.ends > m.month_end)
   GROUP BY ALL
), grid AS (
  SELECT c.customer_id, m.month_end, COALESCE(l.mrr, 0) AS mrr
    FROM (SELECT DISTINCT customer_id FROM levels) c CROSS JOIN months m
    LEFT JOIN levels l USING (customer_id, month_end)
), moved AS (
  SELECT *, COALESCE(lag(mrr) OVER (PARTITION BY customer_id ORDER BY month_end), 0) AS prev,
         MAX(CASE WHEN mrr > 0 THEN 1 ELSE 0 END) OVER (PARTITION BY customer_id ORDER BY month_end
           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS seen
    FROM grid
)
SELECT month_end, SUM(mrr) AS mrr,
       SUM(CASE WHEN prev = 0 AND mrr > 0 AND COALESCE(seen, 0) = 0 THEN mrr END) AS new,
       SUM(CASE WHEN prev = 0 AND mrr > 0 AND seen = 1 THEN mrr END) AS reactivation,
       SUM(CASE WHEN prev > 0 AND mrr > prev THEN mrr - prev END) AS expansion,
       SUM(CASE WHEN prev > 0 AND mrr > 0 AND mrr < prev THEN prev - mrr END) AS contraction,
       SUM(CASE WHEN prev > 0 AND mrr = 0 THEN prev END) AS churn
  FROM moved GROUP BY month_end ORDER BY month_end
"""


def duckdb_waterfall(events: Path, first: date, last: date) -> tuple[float, dict[date, Fraction]]:
    """Seconds of the plain-DuckDB waterfall over the events file, and its month-end MRR."""
    import duckdb

    query = _WATERFALL.format(path=events, first=first.isoformat(), last=last.isoformat())
    clock = time.perf_counter()
    rows = duckdb.connect().execute(query).fetchall()
    seconds = time.perf_counter() - clock
    return seconds, {day: Fraction(str(mrr)) for day, mrr, *_ in rows}
