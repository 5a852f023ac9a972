"""What a query knows: everything recorded so far, or as known at a moment or a position."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.domain.errors import UsageError


@dataclass(frozen=True)
class Knowledge:
    """`known_at` (a recorded time) or `position` (a ledger position), never both; neither
    is what the ledger knows now."""

    known_at: datetime | None = None
    position: int | None = None

    def __post_init__(self) -> None:
        if self.known_at is not None and self.position is not None:
            raise UsageError("give known_at or position, not both", "known_at", "position")
        if self.known_at is not None and self.known_at.utcoffset() is None:
            raise UsageError("known_at: give a moment with a UTC offset", "known_at")

    def describe(self) -> str:
        """How a chart or a title says it: "as known at …", or nothing for now."""
        if self.position is not None:
            return f"as known at position {self.position}"
        if self.known_at is not None:
            return f"as known at {self.known_at.isoformat()}"
        return ""
