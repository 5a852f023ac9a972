"""Input files as located rows: CSV with a header, or JSON Lines (SPEC §9).

Files are read line by line, never whole, so an import of any size runs in bounded memory.
Lines are numbered as a text editor would show them once the file is decoded, the same for
a file read at once: a line ends at `\\n`, `\\r\\n` or a lone `\\r` (JSON Lines also end at
the other Unicode line boundaries of `str.splitlines`).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import suppress
from itertools import chain
from pathlib import Path
from typing import IO, Any, NamedTuple

from ledger.domain.errors import Problem
from ledger.domain.events import EVENT_TYPES
from ledger.domain.text import inert, shown
from ledger.intake.fields import FIELD_NAMES, nearest

STDIN = "<stdin>"
PIECE = 1 << 20
"""The most bytes read at once while looking for the end of a line."""

_LONE_CR = re.compile(r"(?<=\r)(?!\n)")


class Row(NamedTuple):
    """One input event's fields and where it came from (`FILE:LINE`). A named tuple: one
    is made for every row of an import."""

    location: str
    fields: dict[str, Any]


class _Unusable(Exception):
    """The file cannot be read as text from here on: its one problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def read(name: str) -> Iterator[Row | Problem]:
    """The rows of one input file (`-` is JSON Lines on stdin), or the problems found."""
    if name == "-":
        yield from _guarded(STDIN, sys.stdin.buffer, _jsonl)
        return
    path = Path(name)
    try:
        stream = path.open("rb")
    except OSError as exc:
        yield Problem(name, f"cannot read: {exc.strerror or exc}")
        return
    with stream:
        if path.suffix.lower() == ".csv":
            yield from _guarded(name, stream, _csv)
        elif path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            yield from _guarded(name, stream, _jsonl)
        else:
            yield Problem(name, "unknown file type: expected .csv or .jsonl")


def _guarded(name: str, stream: IO[bytes], parse: Any) -> Iterator[Row | Problem]:
    """The parsed rows until the text itself fails: then that one problem ends the file."""
    try:
        yield from parse(name, _lines(name, stream))
    except _Unusable as unusable:
        yield unusable.problem
    except OSError as exc:
        yield Problem(name, f"cannot read: {exc.strerror or exc}")


def _raw_lines(name: str, stream: IO[bytes]) -> Iterator[bytes]:
    """Lines split at `\\n` as bytes (a multi-byte UTF-8 character never holds that byte),
    read in bounded pieces so a binary file without line breaks is found, not loaded."""
    parts: list[bytes] = []
    while piece := stream.readline(PIECE):
        if b"\x00" in piece:
            raise _Unusable(Problem(name, "this is a binary file, not CSV or JSON Lines text"))
        if not piece.endswith(b"\n"):
            parts.append(piece)
            continue
        yield b"".join((*parts, piece)) if parts else piece
        parts = []
    if parts:
        yield b"".join(parts)


def _lines(name: str, stream: IO[bytes]) -> Iterator[str]:
    """The file's decoded lines, each with its line break."""
    raw = _raw_lines(name, stream)
    opening: list[bytes] = []  # blank lines, up to the first that is not
    for line in raw:
        opening.append(line)
        if line.strip():
            break
    else:
        raise _Unusable(Problem(name, "the file is empty"))
    for number, line in enumerate(chain(opening, raw), start=1):
        try:
            yield line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            deque(raw, maxlen=0)  # read on: a NUL byte anywhere makes it a binary file
            raise _Unusable(Problem(f"{name}:{number}", "not UTF-8 text")) from None


def _csv(name: str, lines: Iterator[str]) -> Iterator[Row | Problem]:
    reader = csv.reader(_csv_lines(lines), strict=True)
    try:
        header = [cell.strip() for cell in next(reader, [])]
        if "type" not in header or "event_id" not in header:
            yield Problem(f"{name}:1", _header_problem(header))
            return
        twice = [column for column, count in Counter(header).items() if count > 1]
        if twice:
            named = ", ".join(inert(column) or "(empty)" for column in twice)
            yield Problem(
                f"{name}:1",
                f"the header row names {named} more than once: name each column once",
            )
            return
        for cells in reader:
            if not "".join(cells).strip():
                continue
            location = f"{name}:{reader.line_num}"
            if len(cells) != len(header):
                yield Problem(location, f"{len(cells)} cells, but the header names {len(header)}")
                continue
            yield Row(location, {k: v for k, v in zip(header, cells, strict=True) if v != ""})
    except csv.Error as exc:
        yield Problem(f"{name}:{reader.line_num}", f"malformed CSV: {exc}")


def _header_problem(header: list[str]) -> str:
    """What is wrong with a header that names no `event_id` or `type`, and what to do."""
    if len(header) == 1:
        for separator in (";", "\t", "|"):
            if separator in header[0]:
                return (
                    f"the header row is {separator!r}-separated ({shown(header[0])}): "
                    "separate the columns with commas"
                )
    if any(cell in EVENT_TYPES for cell in header) and not FIELD_NAMES & set(header):
        return (
            "the file has no header row: its first line is an event; put a header naming "
            "the fields above it (`arr template` prints one)"
        )
    hints = [
        f"{shown(cell)} — did you mean {field}?"
        for cell in header
        if cell not in FIELD_NAMES and (field := nearest(cell)) is not None
    ]
    if hints:
        return "the header row must name the fields; " + "; ".join(hints)
    found = ", ".join(shown(cell) for cell in header[:6]) + (", …" if len(header) > 6 else "")
    return (
        f"the header row must name the fields (event_id, type, customer_id, …), but it has "
        f"{found}: see `arr fields`, or `arr template` for a file to fill in"
    )


def _csv_lines(lines: Iterator[str]) -> Iterator[str]:
    """Lines as the csv module counts them: a lone `\\r` ends a line too."""
    for line in lines:
        if "\r" in line and (line.count("\r") > 1 or not line.endswith("\r\n")):
            yield from (part for part in _LONE_CR.split(line) if part)
        else:
            yield line


def _jsonl(name: str, lines: Iterator[str]) -> Iterator[Row | Problem]:
    number = 0
    for text in lines:
        for line in text.splitlines():
            number += 1
            if not line.strip():
                continue
            if name == STDIN and number == 1 and _looks_like_csv(line):
                yield Problem(
                    f"{name}:1",
                    "standard input takes JSON Lines (one JSON object per line), and this "
                    "looks like CSV: give the file's name instead (arr import events.csv)",
                )
                return
            try:
                yield Row(f"{name}:{number}", json_object(line))
            except ValueError as exc:
                yield Problem(f"{name}:{number}", str(exc))


def _looks_like_csv(line: str) -> bool:
    return not line.lstrip().startswith(("{", "[")) and ("," in line or ";" in line)


def json_object(text: str) -> dict[str, Any]:
    """One event given as a JSON object (a JSON Lines row, `arr append`'s argument); a
    ValueError says what is wrong with it, the same for both."""
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a JSON object: {exc.msg} (column {exc.colno})") from None
    except ValueError:  # only an integer of more digits than Python converts: find it
        raise ValueError(
            f"not a usable JSON object: a number of {_longest(text):,} digits; no field "
            "takes a number that long"
        ) from None
    except RecursionError:
        raise ValueError(
            "not a usable JSON object: arrays or objects nested too deeply; "
            "an event's fields are plain strings and numbers"
        ) from None
    if not isinstance(fields, dict):
        raise ValueError("not a JSON object")
    return fields


def _longest(text: str) -> int:
    """The most digits of an integer in the JSON text: read again, integers not converted."""
    digits = [0]

    def count(number: str) -> int:
        digits.append(len(number) - number.startswith("-"))
        return 0

    with suppress(ValueError, RecursionError):
        json.JSONDecoder(parse_int=count).decode(text)
    return max(digits)
