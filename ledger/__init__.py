"""arr-ledger: an event-sourced ledger of subscription revenue."""

from ledger.application import Appended, Ledger
from ledger.errors import LedgerError, Problem, Refused

__all__ = ["Appended", "Ledger", "LedgerError", "Problem", "Refused"]
