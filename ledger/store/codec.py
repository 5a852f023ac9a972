"""The one home of the stored bytes: how a ledger event becomes the library's stored
event, and back. Each state is the library's JSON of the aggregate event with the ledger
event's fields as `entry`, a dict of strings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import encode_basestring as _quote
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent

from ledger.domain.errors import StoreDamaged
from ledger.domain.events import Event
from ledger.domain.timeline import Recorded
from ledger.store import STREAMS, library_event, stream_id


class StoredEvents:
    """Stored events exactly as the library's mapper (with `_Transcoder`) would make them
    from `domain_event`, without a domain event per ledger event: each state is the
    entry's JSON (`_entry_json`) inside a frame the mapper made once per batch for an
    empty entry. `tests/test_import.py` holds them equal to the mapper's and reads them
    back with the library's mapper, repository and notification log."""

    _HOLE = b'"entry":{}'

    def __init__(self, mapper: Mapper[UUID]) -> None:
        self.mapper = mapper
        transcoder = mapper.transcoder
        assert isinstance(transcoder, JSONTranscoder)
        # `_entry_json` spells out what this encoder makes of a dict of strings.
        assert transcoder.encoder.item_separator == "," and not transcoder.encoder.ensure_ascii
        assert transcoder.encoder.key_separator == ":"

    def build(
        self, events: Sequence[Event], versions: dict[str, int], timestamp: datetime
    ) -> list[StoredEvent]:
        """`events` as the next versions of their streams. `versions` holds the streams'
        current versions (absent: a new stream) and is moved on past these events."""
        frames = {first: self._frame(first, timestamp) for first in (True, False)}
        streams = {c: stream_id(c) for c in {e.customer_id for e in events}}
        out = []
        for event in events:
            customer = event.customer_id
            versions[customer] = version = versions.get(customer, 0) + 1
            topic, before, after = frames[version == 1]
            state = b"".join((before, _entry_json(event.entry()).encode(), after))
            out.append(StoredEvent(streams[customer], version, topic, state))
        return out

    def _frame(self, first: bool, timestamp: datetime) -> tuple[str, bytes, bytes]:
        template = library_event(STREAMS, 1 if first else 2, timestamp, {})
        empty = self.mapper.to_stored_event(template)
        before, hole, after = empty.state.partition(self._HOLE)
        assert hole and self._HOLE not in after, "the library's state layout changed"
        return empty.topic, before + b'"entry":', after


def _entry_json(entry: dict[str, str]) -> str:
    """The library's JSON of a dict of strings (compact, not ASCII-escaped), without the
    per-call setup of `JSONEncoder.encode`, which was half of building a stored event."""
    return "{" + ",".join([f"{_quote(k)}:{_quote(v)}" for k, v in entry.items()]) + "}"


class _Transcoder(JSONTranscoder):
    def _encode_obj(self, o: Any) -> dict[str, Any]:
        if type(o) not in self.types and isinstance(o, datetime):
            return {"_type_": "datetime_iso", "_data_": o.isoformat()}
        return super()._encode_obj(o)


class LedgerApplication(Application[UUID]):
    name = "arr"

    def construct_transcoder(self) -> JSONTranscoder:
        transcoder = _Transcoder()
        self.register_transcodings(transcoder)
        return transcoder


_ENTRY = '"entry":'
_JSON = json.JSONDecoder()


UNREAD = datetime.min.replace(tzinfo=UTC)
"""The recorded time of an event read without it (`Queries.histories(times=False)`)."""


def entry_of(state: bytes | str) -> dict[str, str]:
    """A stored state's ledger event fields. Only the entry is decoded, found after the
    frame the library writes before it (`StoredEvents`): histories are read for every
    import. Raises ValueError for a state the ledger did not write."""
    try:
        text = state if isinstance(state, str) else bytes(state).decode()
        entry, _ = _JSON.raw_decode(text, text.index(_ENTRY) + len(_ENTRY))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a stored ledger event: {exc}") from None
    if not isinstance(entry, dict):
        raise ValueError("not a stored ledger event: its entry is not an object")
    return entry


def decode(row: Sequence[Any]) -> Recorded:
    """A stored event read back: (position, recorded time or None, state)."""
    position, recorded_at, state = row
    try:
        return Recorded(int(position), _moment(recorded_at), Event.from_entry(entry_of(state)))
    except (ValueError, KeyError, TypeError):  # never what the ledger wrote
        raise StoreDamaged(
            f"the stored event at position {position} cannot be read: it was altered "
            "outside the ledger (run `arr audit verify`)"
        ) from None


@lru_cache(maxsize=1024)  # a batch of events shares one recorded time
def _moment(recorded_at: str | None) -> datetime:
    return UNREAD if recorded_at is None else datetime.fromisoformat(recorded_at)
