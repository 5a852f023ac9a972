"""Input files as located rows: CSV with a header, or JSON Lines (SPEC §9)."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import Problem


@dataclass(frozen=True, slots=True)
class Row:
    """One input event's fields and where it came from (`FILE:LINE`)."""

    location: str
    fields: dict[str, Any]


def read(name: str) -> Iterator[Row | Problem]:
    """The rows of one input file (`-` is JSON Lines on stdin), or the problems found."""
    if name == "-":
        yield from _jsonl("<stdin>", sys.stdin.buffer.read())
        return
    path = Path(name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Problem(name, f"cannot read: {exc.strerror or exc}")
        return
    if path.suffix.lower() == ".csv":
        yield from _csv(name, data)
    elif path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        yield from _jsonl(name, data)
    else:
        yield Problem(name, "unknown file type: expected .csv or .jsonl")


def _text(name: str, data: bytes) -> str | Problem:
    if not data.strip():
        return Problem(name, "the file is empty")
    if b"\x00" in data:
        return Problem(name, "this is a binary file, not CSV or JSON Lines text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return Problem(f"{name}:{line}", "not UTF-8 text")


def _csv(name: str, data: bytes) -> Iterator[Row | Problem]:
    text = _text(name, data)
    if isinstance(text, Problem):
        yield text
        return
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [cell.strip() for cell in next(reader)]
        if "type" not in header or "event_id" not in header:
            yield Problem(
                f"{name}:1", "the header row must name the fields, e.g. event_id,type,..."
            )
            return
        for cells in reader:
            location = f"{name}:{reader.line_num}"
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                yield Problem(location, f"{len(cells)} cells, but the header names {len(header)}")
                continue
            yield Row(location, {k: v for k, v in zip(header, cells, strict=True) if v != ""})
    except csv.Error as exc:
        yield Problem(f"{name}:{reader.line_num}", f"malformed CSV: {exc}")


def _jsonl(name: str, data: bytes) -> Iterator[Row | Problem]:
    text = _text(name, data)
    if isinstance(text, Problem):
        yield text
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        location = f"{name}:{number}"
        try:
            fields = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Problem(location, f"not a JSON object: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(fields, dict):
            yield Problem(location, "not a JSON object")
            continue
        yield Row(location, fields)
