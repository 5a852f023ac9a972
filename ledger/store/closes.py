"""Named closes (SPEC §13): a board pack's or a month-end's mark at one ledger position.

A close is kept in the sealed settings (`layout.seal_settings`) as `close:NAME`, with the
position and the chain's digest there, so `arr audit verify` finds one altered, added or
removed behind the ledger's back, and one whose position no longer holds the history it
was taken on. It is recorded under the write lock, so its position is a commit's end:
what readers saw then.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ledger.domain.errors import LedgerError, UsageError
from ledger.store import layout
from ledger.store.chain import GENESIS
from ledger.store.recorders import recorded_now

if TYPE_CHECKING:
    from ledger.store.recorders import Recorder

PREFIX = "close:"


@dataclass(frozen=True, slots=True)
class Close:
    """A named mark: the ledger as it stood at `position`, closed at `recorded_at`."""

    name: str
    position: int
    recorded_at: datetime
    digest: str  # the chain's at `position`: which history the close was taken on
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "position": self.position,
            "recorded_at": self.recorded_at.isoformat(),
            "note": self.note,
            "digest": self.digest,
        }

    def stored(self) -> str:
        fields = {k: v for k, v in self.as_json().items() if k != "name"}
        return json.dumps(fields, sort_keys=True, ensure_ascii=False)


def record(recorder: Recorder, name: str, note: str | None) -> Close:
    """Records the close `name` at the ledger's head, in one write transaction."""
    with recorder.writing() as cursor:
        cursor.execute(recorder.q("SELECT value FROM {settings} WHERE key = ?"), (PREFIX + name,))
        if (found := cursor.fetchone()) is not None:
            was = _parsed(name, str(found[0]))
            raise LedgerError(
                f"name: a close named {name!r} already exists (position {was.position}, "
                f"{was.recorded_at.isoformat()}): names are unique, give another"
            )
        last = recorder.last_recorded(cursor)
        position, digest = (last[0], last[2]) if last else (0, GENESIS)
        moment = datetime.fromisoformat(recorded_now(last[1] if last else None))
        close = Close(name, position, moment, digest, note)
        sql = "INSERT INTO {settings} VALUES (?, ?)"
        cursor.execute(recorder.q(sql), (PREFIX + name, close.stored()))
        layout.seal_settings(recorder, cursor)
    return close


def every(recorder: Recorder) -> list[Close]:
    """Every close, by position then name."""
    found = layout.settings(recorder)
    closes = [_parsed(k[len(PREFIX) :], v) for k, v in found.items() if k.startswith(PREFIX)]
    return sorted(closes, key=lambda c: (c.position, c.name))


def named(recorder: Recorder, name: str) -> Close:
    for close in every(recorder):
        if close.name == name:
            return close
    raise UsageError(f"close: no close is named {name!r}; `arr closes` lists them", "close")


def _parsed(name: str, value: str) -> Close:
    try:
        fields = json.loads(value)
        return Close(
            name,
            int(fields["position"]),
            datetime.fromisoformat(fields["recorded_at"]),
            str(fields["digest"]),
            fields.get("note"),
        )
    except (ValueError, KeyError, TypeError):
        raise LedgerError(
            f"the close {name!r} is damaged ({value[:60]!r}): `arr audit verify` says more"
        ) from None


def mismatched(recorder: Recorder, digest_at: Callable[[int], str | None]) -> Iterator[str]:
    """Why a close no longer stands on the history it was taken on: the chain's digest at
    its position is not the one it recorded (or it cannot be read at all)."""
    try:
        found = every(recorder)
    except LedgerError as damaged:
        yield str(damaged)
        return
    for close in found:
        if digest_at(close.position) != close.digest:
            yield (
                f"the close {close.name!r} was taken at position {close.position} on a "
                "history that is no longer there"
            )
