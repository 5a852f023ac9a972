"""arr-ledger: an event-sourced ledger of subscription revenue.

The package face is lazy (PEP 562): `import ledger` loads nothing of the application,
the figures or the database drivers until one of these names is first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger.app.ledger import Appended, Ledger
    from ledger.domain.errors import LedgerError, Problem, Refused

_HOMES = {
    "Appended": "ledger.app.ledger",
    "Ledger": "ledger.app.ledger",
    "LedgerError": "ledger.domain.errors",
    "Problem": "ledger.domain.errors",
    "Refused": "ledger.domain.errors",
}
__all__ = ["Appended", "Ledger", "LedgerError", "Problem", "Refused"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'ledger' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
