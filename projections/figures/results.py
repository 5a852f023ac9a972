"""Results for notebooks: each figure dataclass gives a typed pydantic model of its JSON
form (`.model()`, from `models`) and, when pandas is installed, a DataFrame
(`.to_pandas()`). The exact `Fraction`s stay on the dataclasses themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from projections.figures.frames import frame, listing

if TYPE_CHECKING:
    from projections.figures.models import RestatementModel

T = TypeVar("T", bound="Result")


class Result:
    """Mixed into a figure dataclass with `as_json()`: its model and its DataFrame."""

    model_name: ClassVar[str]
    """The name of its model in `models` (e.g. `ReportModel`)."""

    def as_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def model(self) -> Any:
        """The typed pydantic model of `as_json()` (e.g. a `ReportModel`)."""
        from projections.figures import models  # pydantic, loaded by notebooks alone

        return getattr(models, self.model_name).model_validate(self.as_json())

    def to_pandas(self) -> Any:
        """A one-row DataFrame (needs pandas: pip install 'arr-ledger[notebook]')."""
        return frame([self.model()])


class Rows(list[T]):
    """A list of results (a `series`): one DataFrame row each, indexed by date."""

    def model(self) -> list[Any]:
        return [row.model() for row in self]

    def to_pandas(self) -> Any:
        return frame(self.model())


class RestatementResult(Result):
    """A restatement's DataFrame is its figures: one row per figure, before/after/change."""

    def to_pandas(self) -> Any:
        model: RestatementModel = self.model()
        return listing({key: change.model_dump() for key, change in model.figures.items()})
