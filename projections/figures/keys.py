"""The figures' keys, as their JSON forms name them: the one list that the figures, the
renderers (tables, CSV, the HTML page) and the command line all read."""

from __future__ import annotations

from typing import Literal

REPORT_KEYS = (
    "as_of",
    "position",
    "currency",
    "fx_policy",
    "mrr",
    "arr",
    "active_customers",
    "active_contracts",
    "arpa",
    "acv",
    "acv_policy",
    "acv_arr_ratio",
    "trialing_contracts",
    "paused_customers",
    "discounts",
)
MovementKind = Literal[
    "new", "expansion", "contraction", "churn", "reactivation", "paused", "resumed"
]
MOVEMENT_KINDS: tuple[MovementKind, ...] = (
    "new",
    "expansion",
    "contraction",
    "churn",
    "reactivation",
    "paused",
    "resumed",
)
"""SPEC §5's kinds, then §11's: `paused` and `resumed` are split off a customer's day
before §5's table classifies the rest."""
BRIDGE = ("start_mrr", *MOVEMENT_KINDS, "fx", "net_new")
"""The bridge, in the order people read it: where MRR started and what moved it."""
RETENTION_KEYS = ("nrr", "grr", "logo_churn_rate")
MOVEMENTS_KEYS = (
    "from",
    "to",
    "position",
    "currency",
    "fx_policy",
    "start_mrr",
    "end_mrr",
    *MOVEMENT_KINDS,
    "fx",
    "net_new",
    "net_expansion",
    *RETENTION_KEYS,
    "bookings",
    "bookings_acv",
    "bookings_tcv",
    "one_time_fees",
    "trials_started",
    "trials_converted",
)
MONEY_KEYS = frozenset(
    {
        "mrr",
        "arr",
        "arpa",
        "acv",
        "start_mrr",
        "end_mrr",
        *MOVEMENT_KINDS,
        "fx",
        "net_new",
        "net_expansion",
        "bookings_acv",
        "bookings_tcv",
        "one_time_fees",
        "discounts",
        "mrr_effect",
        "local_mrr",
        "before",
        "after",
        "change",
    }
)
RATIO_KEYS = frozenset({*RETENTION_KEYS, "acv_arr_ratio"})
OUTFLOW_KEYS = frozenset({"contraction", "churn", "paused"})
"""Movements stated as positive amounts that reduce MRR."""
CONTEXT_KEYS = ("currency", "position", "acv_policy", "fx_policy")
"""Keys that say where a figure comes from rather than what it is."""
