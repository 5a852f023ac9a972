"""Problems are values: each carries where it was found, and is printed once, at the edge."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, and where: `FILE:LINE` or an event id."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class LedgerError(Exception):
    """An error a user can act on; the CLI prints it without a traceback.

    `parameters` are the Python API's names that the message uses (`known_at`, `start`),
    each once: the command line words them as its own flags (`worded`)."""

    def __init__(self, message: str, *parameters: str) -> None:
        super().__init__(message)
        self.message, self.parameters = message, parameters

    def worded(self, names: Mapping[str, str]) -> str:
        """The message with each parameter named as `names` says (a CLI flag)."""
        text = self.message
        for parameter in self.parameters:
            word = re.compile(rf"(?<![\w-]){re.escape(parameter)}(?![\w-])")
            text = word.sub(names.get(parameter, parameter).replace("\\", r"\\"), text, count=1)
        return text


class Refused(LedgerError):
    """The input was refused and nothing was written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(LedgerError):
    """The request itself is malformed (exit code 2)."""


class MissingRate(LedgerError):
    """A figure needs a rate the ledger does not have (SPEC §10): never a silent 0."""

    def __init__(self, currency: str, day: object, position: int, why: str = "") -> None:
        self.currency, self.day, self.position = currency, day, position
        super().__init__(
            f"no {currency} rate on or before {day}{why}, as known at position {position}: "
            f"record an fx_rate for {currency} effective on or before {day}"
        )


class StoreUnavailable(LedgerError):
    """The database could not be reached or written."""


class StoreDamaged(LedgerError):
    """Something stored that the ledger did not write that way, found at a read."""


def first_line(exc: BaseException) -> str:
    """A driver's message, first line only: one message, not a page of DETAIL."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
