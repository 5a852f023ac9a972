"""User text as shown to people, wherever it is shown: messages, tables, findings."""

from __future__ import annotations


def inert(text: str) -> str:
    """Control and bidi characters escaped (`\\x1b`), so an id can neither drive the
    terminal (ESC sequences) nor reorder what is printed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


SHOWN = 40
"""Values longer than this are shown in messages by their start and their length."""


def shown(value: object) -> str:
    """A value as a message echoes it: its Python literal (control and bidi characters
    escaped, one line), or for a long value its first 20 characters and its length."""
    if isinstance(value, str):
        if len(value) <= SHOWN:
            return repr(value)
        start = repr(value[:20])
        return f"{start[:-1]}…{start[-1]} ({len(value):,} characters)"
    try:
        text = repr(value)
    except ValueError:  # an integer beyond Python's limit on digits converted to text
        return "a number of more than 4,300 digits"
    except RecursionError:  # a value nested deeper than Python can walk
        return "a value nested too deeply to show"
    if len(text) <= SHOWN:
        return text
    unit = "digits" if isinstance(value, int) else "characters"
    return f"{text[:20]}… ({len(text):,} {unit})"
