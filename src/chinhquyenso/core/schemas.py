"""Schemas shared by every app's API."""

import re
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from ninja import Schema
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

PROBLEM_TYPE = "about:blank"
VN = ZoneInfo("Asia/Ho_Chi_Minh")


class Problem(Schema):
    """RFC 9457 problem details, with a Vietnamese `detail`."""

    type: str = PROBLEM_TYPE
    title: str
    status: int
    detail: str


ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem}

# Control characters (tab, line feed and carriage return excepted), NUL and lone surrogates:
# nothing a person types, and NUL cannot be stored by PostgreSQL at all.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise PydanticCustomError("control_char", "chứa ký tự điều khiển không được phép")
    return value


# Text typed by a person (names, addresses, titles, notes): 422 on a control character.
Text = Annotated[str, AfterValidator(_no_control)]


def vn(dt: datetime | None) -> datetime | None:
    """Times in the API are ISO 8601 in Vietnam time (+07:00)."""
    return dt.astimezone(VN) if dt is not None else None
