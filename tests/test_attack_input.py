"""Input the ledger could not compute with, or took wrongly (found by an attack): each is
refused at its row with a message naming the field, the value (shortened when long) and
the limit, nothing is written, and no error is `unexpected`. One test per finding."""

from __future__ import annotations

import json
import random
import string
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from ledger import Ledger
from ledger.cli.main import app
from ledger.domain.dates import add_months
from ledger.intake.fields import _quick_event, parse_event
from ledger.intake.rows import Row
from tests.conftest import refused

LIMIT = "999999999999.9999, the largest amount: give at most 12 digits before the decimal point"
TOO_LATE = "after 9998-12-31, the last date the ledger takes"
ID_LIMIT = "is longer than 200 characters, the most an identifier may have: give a shorter one"
NINES = "9" * 20  # how a long run of nines starts when shown


def base(event_id: str = "e1", **fields: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "new",
        "customer_id": "acme",
        "subscription_id": f"s-{event_id}",
        "effective_date": "2024-01-01",
        "amount": "100",
        **fields,
    }


def arr(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert "unexpected" not in result.output
    assert "Traceback" not in result.output
    return result


def refused_by_cli(*args: str) -> list[str]:
    """The lines a refused command prints: exit code 1, never an unexpected error."""
    result = arr(*args)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    return result.stderr.splitlines()


def test_an_amount_above_the_largest_is_refused_and_queries_still_answer(
    ledger: Ledger,
) -> None:
    huge = "9" * 4299  # was taken, and then every query failed converting it
    rows = [
        base("e1", amount=huge),
        base("e2", amount="1000000000000"),
        base("e3", amount=1_000_000_000_000),
        base("e4", amount=int("9" * 4000)),
        base("e5", amount=" 1000000000000.0000 "),
    ]
    assert refused(ledger, *rows) == [
        f"row1: amount: '{NINES}…' (4,299 characters) is more than {LIMIT}",
        f"row2: amount: '1000000000000' is more than {LIMIT}",
        f"row3: amount: 1000000000000 is more than {LIMIT}",
        f"row4: amount: {NINES}… (4,000 digits) is more than {LIMIT}",
        f"row5: amount: ' 1000000000000.0000 ' is more than {LIMIT}",
    ]
    # the quick path takes none of them: it leaves them to the models, which refuse
    for row in rows:
        assert _quick_event({k: str(v) for k, v in row.items()}, "USD") is None
        with pytest.raises(ValueError, match="the largest amount"):
            parse_event(row, "USD")

    ledger.append(base("e6", amount="999999999999.9999"))
    ledger.append(base("e7", amount="000999999999999.9999"))  # leading zeros: the same value
    assert ledger.report(date(2024, 1, 31)).mrr == Fraction("1999999999999.9998")


def test_json_numbers_too_long_or_nesting_too_deep_are_located_problems(
    db_url: str, tmp_path: Path
) -> None:
    Ledger.init(db_url).close()
    good = json.dumps(base("ok"))
    long_number = '{"event_id":"e2","type":"new","amount":' + "9" * 4400 + "}"
    deep = "[" * 100_000
    thousands = int("9" * 4000)  # within what JSON is read with: refused by its field
    lines = [
        good,
        long_number,
        deep,
        json.dumps(base("e4", quantity=thousands)),
        json.dumps(base("e5", term_months=thousands)),
        json.dumps(base("e6", interval=thousands)),
        json.dumps(base("e7", amount=thousands)),
        json.dumps(base(event_id=thousands, subscription_id="s8")),  # type: ignore[arg-type]
        json.dumps(base("e9"))[:-1] + ', "plan": ' + "[" * 500 + "]" * 500 + "}",
    ]
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    shown = f"{NINES}… (4,000 digits)"
    too_long = (
        "not a usable JSON object: a number of 4,400 digits; no field takes a number that long"
    )
    too_deep = (
        "not a usable JSON object: arrays or objects nested too deeply; "
        "an event's fields are plain strings and numbers"
    )

    lines_out = refused_by_cli("import", str(events), "--db", db_url)

    assert lines_out[:8] == [
        f"{events}:2: {too_long}",
        f"{events}:3: {too_deep}",
        f"{events}:4: quantity: {shown} is more than 999999999999, the largest quantity",
        f"{events}:5: term_months: {shown} is not a whole number 1-120",
        f"{events}:6: interval: {shown} is not month, quarter, year or a whole number of "
        "months 1-120",
        f"{events}:7: amount: {shown} is more than {LIMIT}",
        f"{events}:8: event_id: {shown} {ID_LIMIT}",
        # a nesting Python can read is refused by its field, shown shortened
        f"{events}:9: plan: {'[' * 20}… (1,000 characters) is not text",
    ]
    # `arr append` reads its JSON as a JSON Lines row is read, and words it the same
    assert refused_by_cli("append", long_number, "--db", db_url) == [
        f"event: {too_long}",
        "nothing was written",
    ]
    assert refused_by_cli("append", deep, "--db", db_url) == [
        f"event: {too_deep}",
        "nothing was written",
    ]
    assert refused_by_cli("append", lines[3], "--db", db_url) == [
        f"event: quantity: {shown} is more than 999999999999, the largest quantity",
        "nothing was written",
    ]
    with Ledger.open(db_url) as ledger:
        assert ledger.head() == 0


def test_no_date_or_term_end_after_9998_12_31_is_taken_and_queries_near_it_answer(
    ledger: Ledger, db_url: str
) -> None:
    assert refused(
        ledger,
        base("e1", effective_date="9999-06-01", term_months="12"),
        base("e2", effective_date="9999-12-31"),
        {**base("e3", type="one_time_fee", effective_date="9999-01-01"), "subscription_id": None},
    ) == [
        f"row1: effective_date: '9999-06-01' is {TOO_LATE}",
        f"row2: effective_date: '9999-12-31' is {TOO_LATE}",
        f"row3: effective_date: '9999-01-01' is {TOO_LATE}",
    ]
    assert refused(
        ledger,
        base("e4", effective_date="9998-06-01", term_months="12"),
        base("e5", effective_date="9998-12-31", term_months=120),
    ) == [
        f"row1: new on 9998-06-01: its 12-month term would end on 9999-06-01, {TOO_LATE}: "
        "give a shorter term_months",
        f"row2: new on 9998-12-31: its 120-month term would end in the year 10008, {TOO_LATE}: "
        "give a shorter term_months",
    ]
    # a renewal that takes its term over from the subscription pushes the end past it
    ledger.append(base("t1", subscription_id="term", effective_date="9998-01-01", term_months=6))
    renewal = {"event_id": "t2", "type": "renewal", "effective_date": "9998-07-01"}
    assert refused(ledger, base() | {"subscription_id": "term", "amount": None} | renewal) == [
        f"row1: renewal on 9998-07-01: its 6-month term would end on 9999-01-01, {TOO_LATE}: "
        "give a shorter term_months",
    ]

    # up to the last day, everything is taken, and every query near the end answers
    fee = {"type": "one_time_fee", "effective_date": "9998-12-31", "amount": "10"}
    ledger.import_rows(
        Row(f"r{n}", fields)
        for n, fields in enumerate(
            [
                base() | renewal | {"subscription_id": "term", "amount": None, "term_months": 5},
                base("last", effective_date="9998-12-31"),
                base("dec", effective_date="9998-12-01"),
                base("f1", subscription_id="s-dec") | fee,
                base("f2", subscription_id="s-last") | fee,
            ]
        )
    )
    assert ledger.head() == 6
    for query in (
        "report --as-of 9998-12-31 --acv-policy including_fees",
        "report --as-of 9999-12-30 --acv-policy including_fees",
        "movements --from 9998-01-01 --to 9999-12-30 --by month",
        "series --from 9997-12-31 --to 9999-12-30 --every month",
        "series --from 9990-12-31 --to 9999-12-30 --every year",
        "restatement --as-of 9999-12-30 --known-at 2020-01-01 --from 9998-11-30 "
        "--acv-policy including_fees",
    ):
        assert arr(*query.split(), "--db", db_url, "--format", "json").exit_code == 0, query
    assert ledger.report(date(9998, 12, 31)).as_json()["mrr"] == "200.00"
    # month arithmetic past year 9999 stops at date.max instead of failing
    assert add_months(date(9998, 12, 31), 120) == date.max


def test_a_csv_header_naming_a_column_twice_is_refused_at_line_1(
    db_url: str, tmp_path: Path
) -> None:
    Ledger.init(db_url).close()
    events = tmp_path / "events.csv"
    events.write_text(
        "event_id,type,customer_id,subscription_id,effective_date,amount,amount\n"
        "e1,new,acme,s1,2024-01-01,1000,5\n"
    )
    assert refused_by_cli("import", str(events), "--db", db_url) == [
        f"{events}:1: the header row names amount more than once: name each column once",
        "nothing was written",
    ]
    events.write_text(
        "event_id,type,customer_id, plan,subscription_id,effective_date,amount,plan ,\x1b[2J,"
        "\x1b[2J\n"
        "e1,new,acme,a,s1,2024-01-01,1000,b,,\n"
    )
    assert refused_by_cli("import", str(events), "--db", db_url) == [
        f"{events}:1: the header row names plan, \\x1b[2J more than once: name each column once",
        "nothing was written",
    ]
    with Ledger.open(db_url) as ledger:
        assert ledger.head() == 0


def test_identifiers_have_at_most_200_characters_on_every_database(ledger: Ledger) -> None:
    rng = random.Random(7)
    scrambled = "".join(rng.choice(string.ascii_letters) for _ in range(4000))  # no compressing
    long_id = "x" * 201
    rows = [
        base("e1", customer_id=scrambled),
        base(long_id, subscription_id="s2"),
        base("e3", subscription_id=long_id),
        {"event_id": "v1", "type": "void", "customer_id": "acme", "target_event_id": long_id},
    ]
    shown = f"'{'x' * 20}…' (201 characters)"
    assert refused(ledger, *rows) == [
        f"row1: customer_id: '{scrambled[:20]}…' (4,000 characters) {ID_LIMIT}",
        f"row2: event_id: {shown} {ID_LIMIT}",
        f"row3: subscription_id: {shown} {ID_LIMIT}",
        f"row4: target_event_id: {shown} {ID_LIMIT}",
    ]
    for row in rows:
        assert _quick_event(row, "USD") is None

    # 200 characters are taken everywhere, even of four bytes each that do not compress
    wide = "".join(chr(0x1F600 + rng.randrange(80)) for _ in range(200))
    event_id, customer, sub = "e" + wide[1:], "c" + wide[1:], "s" + wide[1:]
    ledger.append(base(event_id, customer_id=customer, subscription_id=sub))
    void = {"event_id": wide, "type": "void", "customer_id": customer}
    ledger.append(void | {"target_event_id": event_id})
    assert [r.event.event_id for r in ledger.entries()] == [event_id, wide]


def test_field_names_and_values_are_echoed_escaped(db_url: str, tmp_path: Path) -> None:
    Ledger.init(db_url).close()
    events = tmp_path / "events.jsonl"
    rows = [
        base("e1") | {"\x1b]0;PWNED\x07\x1b[2J": 1},
        base("e2") | {"\u202eevil\u202c": "\x1b[31mred"},
        base("e3") | {"k" * 5000: 1},
        base("e4", amount="\x1b[2J"),
    ]
    events.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    csv_file = tmp_path / "events.csv"
    csv_file.write_text(
        "event_id,type,customer_id,subscription_id,effective_date,amount,\x1b[2J\u202e\n"
        "e1,new,acme,s1,2024-01-01,100,1\n"
    )

    printed = refused_by_cli("import", str(events), str(csv_file), "--db", db_url)

    assert printed == [
        f"{events}:1: \\x1b]0;PWNED\\x07\\x1b[2J: not a field of this event type (value 1); "
        "see `arr fields new`",
        f"{events}:2: \\u202eevil\\u202c: not a field of this event type (value '\\x1b[31mred'); "
        "see `arr fields new`",
        f"{events}:3: kkkkkkkkkkkkkkkkkkkk… (5,000 characters): not a field of this event type "
        "(value 1); see `arr fields new`",
        f"{events}:4: amount: '\\x1b[2J' is not a decimal with at most 4 fraction digits",
        f"{csv_file}:2: \\x1b[2J\\u202e: not a field of this event type (value '1'); "
        "see `arr fields new`",
        "nothing was written",
    ]
    for raw in ("\x1b", "\x07", "\u202e", "\u202c"):
        assert raw not in "\n".join(printed)
    with Ledger.open(db_url) as ledger:
        assert ledger.head() == 0
