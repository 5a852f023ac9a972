"""What a query knows: everything recorded so far, or as known at a moment or a position."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.domain.errors import UsageError


@dataclass(frozen=True)
class Knowledge:
    """`known_at` (a recorded time), `position` (a ledger position) or `close` (a named
    close), at most one; none is what the ledger knows now."""

    known_at: datetime | None = None
    position: int | None = None
    close: str | None = None  # a named close (SPEC §13): its position

    def __post_init__(self) -> None:
        given = [n for n in ("known_at", "position", "close") if getattr(self, n) is not None]
        if len(given) == 2:
            raise UsageError(f"give {given[0]} or {given[1]}, not both", *given)
        if len(given) == 3:
            raise UsageError("give one of known_at, position or close", *given)
        if self.known_at is not None and self.known_at.utcoffset() is None:
            raise UsageError("known_at: give a moment with a UTC offset", "known_at")

    def describe(self) -> str:
        """How a chart or a title says it: "as known at …", or nothing for now."""
        if self.close is not None:
            return f"as known at the close {self.close!r}"
        if self.position is not None:
            return f"as known at position {self.position}"
        if self.known_at is not None:
            return f"as known at {self.known_at.isoformat()}"
        return ""
