"""User text as shown to people, wherever it is shown: messages, tables, findings."""

from __future__ import annotations


def inert(text: str) -> str:
    """Control and bidi characters escaped (`\\x1b`), so an id can neither drive the
    terminal (ESC sequences) nor reorder what is printed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
