"""Bounded dates: every date the platform accepts (API, back-office forms, imports, the
calendar) lies within the working-day calendar's horizon, years 2000–2100. Outside it the
answer is 422 with a Vietnamese message, never a 500 later on a page that computes with it.

`check_date` is for services, views and importers; `BoundedDate` / `BoundedDateTime` are for
API schemas (pydantic), whose error `date_out_of_range` the API turns into Vietnamese."""

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.core.workcalendar import FIRST_YEAR, LAST_YEAR, in_horizon

OUT_OF_RANGE = f"phải nằm trong các năm {FIRST_YEAR}–{LAST_YEAR}"


def check_date(value: date | datetime | None, label: str = "Ngày") -> None:
    """422 (ValidationFailed) when a date is outside the years 2000–2100."""
    if value is not None and not in_horizon(value):
        raise ValidationFailed(f"{label} {OUT_OF_RANGE}.")


def _bounded(value):
    if value is not None and not in_horizon(value):
        raise PydanticCustomError("date_out_of_range", OUT_OF_RANGE)
    return value


BoundedDate = Annotated[date, AfterValidator(_bounded)]
BoundedDateTime = Annotated[datetime, AfterValidator(_bounded)]
