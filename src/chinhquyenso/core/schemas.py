"""Schemas shared by every app's API."""

from datetime import datetime
from zoneinfo import ZoneInfo

from ninja import Schema

PROBLEM_TYPE = "about:blank"
VN = ZoneInfo("Asia/Ho_Chi_Minh")


class Problem(Schema):
    """RFC 9457 problem details, with a Vietnamese `detail`."""

    type: str = PROBLEM_TYPE
    title: str
    status: int
    detail: str


ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem}


def vn(dt: datetime | None) -> datetime | None:
    """Times in the API are ISO 8601 in Vietnam time (+07:00)."""
    return dt.astimezone(VN) if dt is not None else None
