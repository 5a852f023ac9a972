"""The typed pydantic models of the results' JSON forms (`Result.model()`), for
notebooks: the SPEC §9 JSON keys with types. Money and ratios are `Decimal`s of the
printed (rounded) figures, so `model().model_dump(mode="json")` is exactly `as_json()`.
Loaded only when a result is asked for its model: a command that prints figures never
needs pydantic.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Figures(BaseModel):
    model_config = ConfigDict(frozen=True, validate_by_name=True, serialize_by_alias=True)


class ReportModel(Figures):
    """SPEC §9 `report`: point-in-time figures as of the end of `as_of`."""

    as_of: date
    position: int
    currency: str
    fx_policy: str
    mrr: Decimal
    arr: Decimal
    active_customers: int
    active_contracts: int
    arpa: Decimal | None
    acv: Decimal | None
    acv_policy: Literal["recurring", "including_fees"]
    acv_arr_ratio: Decimal | None
    trialing_contracts: int = 0  # SPEC §11
    paused_customers: int = 0
    discounts: Decimal = Decimal(0)


class MovementsModel(Figures):
    """SPEC §9 `movements` over `(from, to]`: `from` and `to` are `start` and `end` here."""

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    position: int
    currency: str
    fx_policy: str
    start_mrr: Decimal
    end_mrr: Decimal
    new: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    reactivation: Decimal
    paused: Decimal = Decimal(0)  # SPEC §11
    resumed: Decimal = Decimal(0)
    fx: Decimal
    net_new: Decimal
    net_expansion: Decimal
    nrr: Decimal | None
    grr: Decimal | None
    logo_churn_rate: Decimal | None
    bookings: int
    bookings_acv: Decimal | None
    bookings_tcv: Decimal
    one_time_fees: Decimal
    trials_started: int = 0
    trials_converted: int = 0


class SeriesRowModel(MovementsModel, ReportModel):
    """One `series` row: the report on a period end and the movements since the last."""

    nrr_12m: Decimal | None = None  # SPEC §13: over the 12 months to the row's day
    grr_12m: Decimal | None = None
    logo_churn_rate_12m: Decimal | None = None


class CohortModel(Figures):
    """SPEC §13 `cohorts`: one cohort at one period end."""

    cohort: str
    as_of: date
    position: int
    currency: str
    fx_policy: str
    customers: int
    mrr: Decimal
    nrr: Decimal | None


class FigureChangeModel(Figures):
    """One restated figure, as printed before and after, and the change."""

    before: str | int | None
    after: str | int | None
    change: str | int | None


class CauseModel(Figures):
    """An event recorded between the two states of knowledge, and its effect on MRR."""

    event_id: str
    type: str
    customer_id: str | None  # None: a rate's, which is no customer's
    effective_date: date | None
    recorded_at: datetime
    position: int
    mrr_effect: Decimal
    reason: str | None = None
    note: str | None = None


class RestatementModel(Figures):
    """SPEC §9 `restatement`: the figures for `as_of` at two states of knowledge."""

    as_of: date
    known_at: datetime
    known_at_2: datetime
    position: int
    figures: dict[str, FigureChangeModel]
    events: list[CauseModel]
