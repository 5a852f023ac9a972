"""Hostile and broken input: every row is accepted or refused with a located message,
never a traceback and never a partial write; strange text is kept exactly and printed
inertly; large amounts stay exact; broken files get one clear message each."""

from __future__ import annotations

import json
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from ledger.domain.errors import Refused
from ledger.domain.events import EVENT_TYPES
from ledger.intake.fields import FIELD_ORDER, parse_event
from ledger.intake.rows import Row
from tests.conftest import event, new, record

QUOTES = 'O\'Brien & "Sons", `Ltd`'
SQL = "x'); DROP TABLE arr_entries; -- ? %s {entries}"
CONTROL = "tab\there\nnew line\rreturn \x1b[31mred\x07bell \x7f"
MARKUP = "[bold red]not markup[/] :smile: [/x] $HOME"
NON_ASCII = "Société Générale 株式会社 🚀 \u202eevil\u202c"
LONG = "ü" * 190 + "-end"  # ids get a suffix or two: well under the 200 characters allowed
HOSTILE = (QUOTES, SQL, CONTROL, MARKUP, NON_ASCII, LONG)
runner = CliRunner()


def _stored_fields(ledger: Ledger) -> list[dict[str, Any]]:
    return [r.event.entry() for r in ledger.entries()]


def test_hostile_ids_and_descriptions_are_stored_exactly(ledger: Ledger) -> None:
    for text in HOSTILE:
        record(
            ledger,
            {
                "event_id": text,
                "type": "new",
                "customer_id": text,
                "subscription_id": text + "/sub",
                "effective_date": "2024-01-01",
                "amount": "100",
                "plan": text,
            },
            event("one_time_fee", text, "2024-01-02", amount="5", description=text),
        )
    stored = _stored_fields(ledger)
    assert [(e["event_id"], e["customer_id"], e["plan"]) for e in stored[::2]] == [
        (t, t, t) for t in HOSTILE
    ]
    assert [e["description"] for e in stored[1::2]] == list(HOSTILE)
    assert ledger.report(date(2024, 1, 31)).as_json()["mrr"] == "600.00"


def test_hostile_ids_are_printed_inertly_in_messages(db_url: str) -> None:
    Ledger.init(db_url).close()
    for position, text in enumerate(HOSTILE, start=1):
        fields = new(text, text + "/s", "2024-01-01", "100") | {"event_id": text}
        assert runner.invoke(app, ["append", json.dumps(fields), "--db", db_url]).exit_code == 0
        changed = json.dumps(fields | {"amount": "200"})
        result = runner.invoke(app, ["append", changed, "--db", db_url])
        assert result.exit_code == 1
        # the id is quoted as a Python literal: control characters escaped, one line
        assert result.stderr.splitlines() == [
            f"event: event_id {text!r} is already recorded (position {position}) with other "
            "content: amount '100' recorded, '200' here",
            "nothing was written",
        ]
        assert "\x1b" not in result.stderr and "\x07" not in result.stderr


def test_hostile_ids_are_printed_faithfully_in_json_and_inertly_in_tables(db_url: str) -> None:
    with Ledger.init(db_url) as ledger:
        for text in HOSTILE:
            record(ledger, new(text, text + "/s", "2024-01-01", "100") | {"event_id": text})
    for text in HOSTILE:
        as_json = runner.invoke(
            app, ["audit", "log", "--customer", text, "--db", db_url, "--format", "json"]
        )
        as_table = runner.invoke(app, ["audit", "log", "--customer", text, "--db", db_url])
        assert (as_json.exit_code, as_table.exit_code) == (0, 0)
        logged = json.loads(as_json.stdout)
        assert (logged["customer_id"], logged["events"][0]["event_id"]) == (text, text)
        for dangerous in ("\x1b", "\x07", "\u202e", "\r"):
            assert dangerous not in as_table.stdout
        if text in (MARKUP, QUOTES, SQL):
            assert f"History of {text}" in as_table.stdout
    shown = runner.invoke(app, ["audit", "log", "--customer", CONTROL, "--db", db_url]).stdout
    assert "History of tab\\there\\nnew line\\rreturn \\x1b[31mred\\x07bell \\x7f" in shown


def test_text_no_database_can_store_is_refused_not_crashed(ledger: Ledger) -> None:
    with pytest.raises(Refused) as refused:
        ledger.import_rows(
            [
                Row("f:1", new("acme", "s1", "2024-01-01", "1") | {"event_id": "a\x00b"}),
                Row(
                    "f:2",
                    event("one_time_fee", "acme", "2024-01-01", amount="1")
                    | {"description": "\ud800"},
                ),
            ]
        )
    assert [str(p) for p in refused.value.problems] == [
        "f:1: event_id: 'a\\x00b' contains a NUL character, which cannot be stored",
        "f:2: description: '\\ud800' is not valid Unicode text (a lone surrogate)",
    ]
    assert ledger.head() == 0


def test_amounts_up_to_a_trillion_with_four_decimals_stay_exact(ledger: Ledger) -> None:
    record(
        ledger,
        new("a", "s1", "2024-01-01", "999999999999.9999"),
        new("b", "s2", "2024-01-01", "0.0001"),
        new("c", "s3", "2024-01-01", "999999999999", interval="year"),
    )
    figures = ledger.report(date(2024, 1, 31))
    # 999,999,999,999.9999 + 0.0001 + 999,999,999,999 / 12 = 4,333,333,333,333 / 4
    assert figures.mrr == Fraction(4_333_333_333_333, 4)
    assert (figures.as_json()["mrr"], figures.as_json()["arr"]) == (
        "1083333333333.25",
        "12999999999999.00",
    )
    assert [e["amount"] for e in _stored_fields(ledger)] == [
        "999999999999.9999",
        "0.0001",
        "999999999999",
    ]


def test_too_precise_or_exotic_amounts_are_refused_where_they_are(ledger: Ledger) -> None:
    rows = [
        Row("f:2", new("a", "s1", "2024-01-01", "0.00001")),
        Row("f:3", new("a", "s2", "2024-01-01", "1e12")),
        Row("f:4", new("a", "s3", "2024-01-01", "Infinity")),
        Row("f:5", new("a", "s4", "2024-01-01", "999999999999.99999")),
    ]
    with pytest.raises(Refused) as refused:
        ledger.import_rows(rows)
    assert [str(p) for p in refused.value.problems] == [
        "f:2: amount: '0.00001' is not a decimal with at most 4 fraction digits",
        "f:3: amount: '1e12' is not a decimal with at most 4 fraction digits",
        "f:4: amount: 'Infinity' is not a decimal with at most 4 fraction digits",
        "f:5: amount: '999999999999.99999' is not a decimal with at most 4 fraction digits",
    ]
    assert ledger.head() == 0


# Broken files: each gets one clear message, and nothing is written.

HEADER = b"event_id,type,customer_id,subscription_id,effective_date,amount\n"
ROW = b"e1,new,acme,s1,2024-01-01,100\n"
JSON_ROW = json.dumps(new("acme", "s1", "2024-01-01", "100") | {"event_id": "e1"}).encode()
BROKEN = {
    "empty.csv": (b"", "empty.csv: the file is empty"),
    "blank.jsonl": (b"\n \n", "blank.jsonl: the file is empty"),
    "binary.csv": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "binary.csv: this is a binary file, not CSV or JSON Lines text",
    ),
    "latin1.csv": (
        HEADER + ROW + "e2,new,Société,s2,2024-01-01,5\n".encode("latin-1"),
        "latin1.csv:3: not UTF-8 text",
    ),
    "utf16.jsonl": (
        JSON_ROW.decode().encode("utf-16"),
        "utf16.jsonl: this is a binary file, not CSV or JSON Lines text",
    ),
    "no_header.csv": (
        ROW + b"e2,new,acme,s2,2024-01-01,100\n",
        "no_header.csv:1: the file has no header row: its first line is an event; put a "
        "header naming the fields above it (`arr template` prints one)",
    ),
    "cut.csv": (
        HEADER + ROW + b"e2,new,acme,s2,2024-0",
        "cut.csv:3: 5 cells, but the header names 6",
    ),
    "cut_quoted.csv": (
        HEADER + ROW + b'e2,new,"acme',
        "cut_quoted.csv:3: malformed CSV: unexpected end of data",
    ),
    "cut.jsonl": (
        JSON_ROW + b'\n{"event_id":"e2","type":"new","cust',
        "cut.jsonl:2: not a JSON object: Unterminated string starting at (column 31)",
    ),
    "events.txt": (ROW, "events.txt: unknown file type: expected .csv or .jsonl"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_file_gets_one_clear_message(db_url: str, tmp_path: Path, name: str) -> None:
    data, message = BROKEN[name]
    path = tmp_path / name
    path.write_bytes(data)
    with Ledger.init(db_url) as ledger:
        record(ledger, new("before", "s0", "2024-01-01", "10"))

    result = runner.invoke(app, ["import", str(path), "--db", db_url], catch_exceptions=False)

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        message.replace(name, str(path), 1),
        "nothing was written",
    ]
    with Ledger.open(db_url) as ledger:
        assert ledger.head() == 1


def test_a_missing_file_is_one_clear_message(db_url: str, tmp_path: Path) -> None:
    Ledger.init(db_url).close()
    missing = tmp_path / "nowhere.csv"
    result = runner.invoke(app, ["import", str(missing), "--db", db_url])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{missing}: cannot read: No such file or directory",
        "nothing was written",
    ]


# Property-based: random rows and random files.

FIELDS = FIELD_ORDER
PLAUSIBLE = (
    *EVENT_TYPES,
    "2024-01-01",
    "2024-02-29",
    "2023-02-29",
    "2024-13-01",
    "0",
    "100",
    "-5",
    "1e3",
    "12.34567",
    "NaN",
    "month",
    "year",
    "121",
    "USD",
    "EUR",
    "a",
    "b",
    " ",
    "a\x00b",
    "\ud800",
)
VALUES = st.one_of(
    st.sampled_from(PLAUSIBLE),
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
BASES = (
    new("a", "sa", "2024-01-01", "100"),
    event("upgrade", "a", "2024-02-01", subscription_id="sa", amount="150"),
    event("churn", "a", "2024-03-01", subscription_id="sa"),
    event("one_time_fee", "b", "2024-01-05", amount="50", description="setup"),
    {"event_id": "v", "type": "void", "customer_id": "a", "target_event_id": "x"},
)
ROWS = st.builds(
    lambda base, changes: {**base, **changes},
    st.sampled_from(BASES),
    st.dictionaries(st.sampled_from((*FIELDS, "bogus")), VALUES, max_size=4),
)
PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@settings(max_examples=300, deadline=None)
@given(ROWS)
def test_any_row_parses_or_is_refused_with_a_message(fields: dict[str, Any]) -> None:
    try:
        parsed = parse_event(fields, "USD")
    except ValueError as exc:
        assert str(exc).strip()
    else:
        assert parsed.type in EVENT_TYPES


@PROPERTY
@given(st.lists(ROWS, min_size=1, max_size=4))
def test_any_batch_is_appended_whole_or_refused_whole(
    ledger: Ledger, rows: list[dict[str, Any]]
) -> None:
    before, recorded = ledger.head(), len(list(ledger.entries()))
    located = [Row(f"rows.csv:{n}", fields) for n, fields in enumerate(rows, start=2)]
    try:
        done = ledger.import_rows(located)
    except Refused as refused:
        assert refused.problems
        assert {p.location for p in refused.problems} <= {r.location for r in located}
        assert ledger.head() == before
    else:
        assert done.appended + done.skipped == len(rows)
        assert len(list(ledger.entries())) == recorded + done.appended


@PROPERTY
@given(
    st.sampled_from(("in.csv", "in.jsonl")),
    st.one_of(
        st.binary(max_size=200),
        st.lists(st.text(max_size=40), max_size=5).map(lambda lines: "\n".join(lines).encode()),
        st.lists(ROWS, max_size=3).map(
            lambda rows: b"\n".join(json.dumps(r, default=str).encode() for r in rows)
        ),
    ),
)
def test_any_file_is_imported_or_refused_with_located_messages(
    db_url: str, tmp_path: Path, name: str, data: bytes
) -> None:
    Ledger.init(db_url).close()
    path = tmp_path / name
    path.write_bytes(HEADER + data if name.endswith(".csv") else data)
    with Ledger.open(db_url) as ledger:
        before = ledger.head()

    result = runner.invoke(app, ["import", str(path), "--db", db_url], catch_exceptions=False)

    if result.exit_code == 0:
        assert result.stdout.startswith("imported ")
    else:
        assert result.exit_code == 1, result.output
        *problems, last = result.stderr.splitlines()
        assert last == "nothing was written"
        assert problems and all(p.startswith(f"{path}") for p in problems), problems
        with Ledger.open(db_url) as ledger:
            assert ledger.head() == before
