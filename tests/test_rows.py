"""Input files are read as a stream, line by line, with the locations and messages a
whole-file read gave: bounded memory for any size of import."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from ledger.domain.errors import Problem
from ledger.intake import rows
from ledger.intake.rows import Row

HEADER = b"event_id,type,customer_id\r\n"


class Counting(io.BytesIO):
    """A byte stream that remembers how far it has been read."""

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.furthest = self.tell()
        return line


def _read(tmp_path: Path, name: str, data: bytes) -> list[tuple[str, object]]:
    path = tmp_path / name
    path.write_bytes(data)
    return [
        (
            item.location.replace(str(path), name),
            item.message if isinstance(item, Problem) else item.fields,
        )
        for item in rows.read(str(path))
    ]


def test_rows_are_read_as_they_are_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = b"".join(b'{"event_id":"e%d","type":"new"}\n' % n for n in range(100_000))
    stdin = Counting(lines)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stdin))

    first = next(rows.read("-"))

    assert first == Row("<stdin>:1", {"event_id": "e0", "type": "new"})
    assert stdin.furthest < 100  # one line, not the file


def test_lines_are_numbered_as_a_text_editor_shows_them(tmp_path: Path) -> None:
    data = HEADER + b"e1,new,a\r\n" + b'e2,new,"two\r\nlines"\r\n' + b"e3,new,c\re4,new,d\n"
    assert _read(tmp_path, "in.csv", data) == [
        ("in.csv:2", {"event_id": "e1", "type": "new", "customer_id": "a"}),
        ("in.csv:4", {"event_id": "e2", "type": "new", "customer_id": "two\r\nlines"}),
        ("in.csv:5", {"event_id": "e3", "type": "new", "customer_id": "c"}),
        ("in.csv:6", {"event_id": "e4", "type": "new", "customer_id": "d"}),
    ]
    jsonl = b'{"a":1}\r\n\n{"b":2}\r{"c":"\xe2\x80\xa8"}\n'  # U+2028 ends a line too
    assert [loc for loc, _ in _read(tmp_path, "in.jsonl", jsonl)] == [
        "in.jsonl:1",
        "in.jsonl:3",
        "in.jsonl:4",
        "in.jsonl:5",
    ]


def test_text_that_breaks_after_good_rows_ends_the_file_with_its_one_problem(
    tmp_path: Path,
) -> None:
    good = b"e1,new,a\r\n" * 3
    not_utf8 = _read(tmp_path, "bad.csv", b"\xef\xbb\xbf" + HEADER + good + b"e9,new,\xff\r\n")
    assert not_utf8[-1] == ("bad.csv:5", "not UTF-8 text")
    assert len(not_utf8) == 4
    nul_later = HEADER + good + b"e9,new,\xff\r\n" + b"x" * 10 + b"\x00"
    assert _read(tmp_path, "nul.csv", nul_later)[-1] == (
        "nul.csv",
        "this is a binary file, not CSV or JSON Lines text",
    )


def test_a_huge_line_is_read_in_pieces_until_it_proves_binary(tmp_path: Path) -> None:
    data = b"x" * (3 * rows.PIECE) + b"\x00" + b"y" * 10
    assert _read(tmp_path, "blob.jsonl", data) == [
        ("blob.jsonl", "this is a binary file, not CSV or JSON Lines text")
    ]


@pytest.mark.parametrize("data", [b"", b" \r\n\t\n", b"\n" * 5])
def test_blank_files_are_empty(tmp_path: Path, data: bytes) -> None:
    for name in ("in.csv", "in.jsonl"):
        assert _read(tmp_path, name, data) == [(name, "the file is empty")]


def test_a_file_that_vanishes_is_one_problem(tmp_path: Path) -> None:
    assert list(rows.read(str(tmp_path / "gone.csv"))) == [
        Problem(str(tmp_path / "gone.csv"), "cannot read: No such file or directory")
    ]
