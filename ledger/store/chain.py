"""The hash chain that makes every stored event tamper-evident.

Each event is sealed when it is recorded: its content hash covers a canonical encoding of
what is stored (the library's topic and state bytes, the index row, both clocks, and the
positions of its predecessors). The stream hash links it to its customer's previous event;
the ledger digest links it to the previous event of the whole ledger, so the digest at a
position, checkpointed outside the database, vouches for all history up to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256
from json.encoder import encode_basestring_ascii as _quoted

GENESIS = "0" * 64
"""What the first event of the ledger, and of each stream, links to."""


@dataclass(frozen=True, slots=True)
class Content:
    """Everything stored of one event that the seal vouches for."""

    position: int
    prev_position: int
    stream_prev: int
    recorded_at: str
    event_id: str
    customer_id: str
    stream_id: str
    version: int
    topic: str
    state: bytes

    def digest(self) -> str:
        return content_digest(
            self.position,
            self.prev_position,
            self.stream_prev,
            self.recorded_at,
            self.event_id,
            self.customer_id,
            self.stream_id,
            self.version,
            self.topic,
            sha256(self.state).hexdigest(),
        )


def content_digest(
    position: int,
    prev_position: int,
    stream_prev: int,
    recorded_at: str,
    event_id: str,
    customer_id: str,
    stream_id: str,
    version: int,
    topic: str,
    state_digest: str,
) -> str:
    """The content hash of `Content`: sha256 of its fields' canonical JSON (keys sorted,
    compact, ASCII; the state by its own sha256, `state_digest`). Spelled out, not
    `json.dumps`, as it runs for every event recorded; `tests/test_import.py` holds the
    two equal."""
    encoded = (
        f'{{"customer_id":{_quoted(customer_id)},"event_id":{_quoted(event_id)},'
        f'"position":{int(position)},"prev_position":{int(prev_position)},'
        f'"recorded_at":{_quoted(recorded_at)},"state":"{state_digest}",'
        f'"stream_id":{_quoted(stream_id)},"stream_prev":{int(stream_prev)},'
        f'"topic":{_quoted(topic)},"version":{int(version)}}}'
    )
    return sha256(encoded.encode()).hexdigest()


def link(previous: str, current: str) -> str:
    """One step of a chain: the hash of what came before and of this."""
    return sha256(f"{previous}:{current}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Seal:
    """The chain columns of one `arr_entries` row."""

    content_hash: str
    stream_hash: str
    digest: str


def seal(content: Content, stream_prev_hash: str, prev_digest: str) -> Seal:
    content_hash = content.digest()
    stream_hash = link(stream_prev_hash, content_hash)
    return Seal(content_hash, stream_hash, link(prev_digest, stream_hash))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The ledger's head as `DIGEST@POSITION`: proof of everything up to the position."""

    digest: str
    position: int

    def __str__(self) -> str:
        return f"{self.digest}@{self.position}"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        digest, at, position = text.strip().partition("@")
        valid_digest = len(digest) == 64 and all(c in "0123456789abcdef" for c in digest.lower())
        if not (at and valid_digest and position.isdigit()):
            raise ValueError(f"{text!r} is not DIGEST@POSITION (64 hex digits, @, a position)")
        return cls(digest.lower(), int(position))
