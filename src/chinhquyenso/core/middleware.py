"""Bounded input, for every request before any view or database read.

PostgreSQL cannot store the NUL character (U+0000) in text, and a lone UTF-16 surrogate
(`"\\ud800"` in JSON) cannot be encoded as UTF-8: either one, anywhere in a path, a query
string, a form, a JSON body, a cookie or a header, used to reach a query and end as a 500.
One guard for the whole class: such a request is answered 400 with a Vietnamese message
(problem+json under /api/, the Vietnamese 400 page elsewhere) before anything reads it."""

import json
import logging
import re

from django.conf import settings
from django.db import DataError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from chinhquyenso.core.schemas import PROBLEM_TYPE

# NUL and the surrogate code points: text that PostgreSQL (UTF-8) cannot store.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# The JSON escapes that decode to one of them (`\u0000`, `\ud800`…`\udfff`).
_JSON_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89abAB][0-9a-fA-F]{2})")
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
DATA_ERROR_DETAIL = (
    "Dữ liệu gửi lên không lưu được: có giá trị quá dài hoặc sai định dạng. Vui lòng kiểm tra lại."
)
logger = logging.getLogger(__name__)
BAD_TEXT_DETAIL = (
    "Dữ liệu gửi lên không hợp lệ: có ký tự không được phép (ký tự NUL hoặc "
    "mã Unicode không hợp lệ)."
)


def has_unstorable(value) -> bool:
    """True when a string, or any string inside a JSON value, cannot be stored."""
    if isinstance(value, str):
        return UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(has_unstorable(k) or has_unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_unstorable(v) for v in value)
    return False


def _json_unstorable(body: bytes) -> bool:
    if b"\x00" in body:
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    if not _JSON_ESCAPE.search(body):  # the common case: nothing to decode
        return False
    try:
        return has_unstorable(json.loads(body))
    except ValueError:
        return False  # not JSON at all: the API answers 422 itself


def _unstorable_request(request) -> bool:
    if UNSTORABLE.search(request.path_info):
        return True
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:
        if any(has_unstorable(k) or any(map(has_unstorable, vs)) for k, vs in request.GET.lists()):
            return True
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            return True
    if any(has_unstorable(k) or has_unstorable(v) for k, v in request.COOKIES.items()):
        return True
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    content_type = request.content_type or ""
    if content_type.startswith(_FORMS):
        if any(has_unstorable(k) or any(map(has_unstorable, vs)) for k, vs in request.POST.lists()):
            return True
        return any(has_unstorable(f.name or "") for f in request.FILES.values())
    if "json" in content_type and request.META.get("CONTENT_LENGTH") not in (None, "", "0"):
        return _json_unstorable(request.body)
    return False


def refuse(request, status: int, title: str, detail: str) -> HttpResponse:
    """The answer to a request refused before any view: problem+json (RFC 9457) under
    /api/, the Vietnamese error page elsewhere. No session, no user, no database."""
    if request.path_info.startswith("/api/"):
        response = JsonResponse(
            {"type": PROBLEM_TYPE, "title": title, "status": status, "detail": detail},
            status=status,
        )
        response["Content-Type"] = "application/problem+json; charset=utf-8"
        return response
    html = render_to_string("400.html", {"title": title, "detail": detail, "status": status})
    return HttpResponse(html, status=status, content_type="text/html; charset=utf-8")


def _too_large(request) -> HttpResponse | None:
    """The body's declared size, checked before one byte of it is read: over
    CQS_MAX_REQUEST_BYTES is 413. A body without a length (chunked) is 411: Django would
    read it as empty, and nothing else would bound it."""
    raw = request.META.get("CONTENT_LENGTH") or ""
    if not raw:
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return refuse(
                request,
                411,
                "Cần độ dài nội dung",
                "Yêu cầu phải có tiêu đề Content-Length (không nhận gửi theo khối).",
            )
        return None
    try:
        length = int(raw)
    except ValueError:
        return refuse(request, 400, "Yêu cầu không hợp lệ", "Tiêu đề Content-Length không hợp lệ.")
    limit = settings.CQS_MAX_REQUEST_BYTES
    if length > limit:
        return refuse(
            request,
            413,
            "Nội dung gửi lên quá lớn",
            f"Nội dung gửi lên quá lớn: tối đa {limit / 1024 / 1024:.0f} MB mỗi lần "
            f"gửi (tệp đính kèm tối đa "
            f"{settings.CQS_MAX_UPLOAD_BYTES / 1024 / 1024:.0f} MB).",
        )
    return None


class BoundedInputMiddleware:
    """First in MIDDLEWARE: nothing (session, user, view) reads the request before it. The
    body's size first (413), then text the database cannot store (400)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refused = _too_large(request)
        if refused is not None:
            return refused
        if _unstorable_request(request):
            return refuse(request, 400, "Yêu cầu không hợp lệ", BAD_TEXT_DETAIL)
        return self.get_response(request)

    def process_exception(self, request, exception):
        """The database refused a value that got past validation (a text longer than its
        column on PostgreSQL, a number out of range): the sender's data is at fault, so a
        422 with a Vietnamese message, logged for the developers, not a 500."""
        if isinstance(exception, DataError):
            logger.warning(
                "Dữ liệu bị cơ sở dữ liệu từ chối: %s %s: %s",
                request.method,
                request.path,
                exception,
            )
            return refuse(request, 422, "Dữ liệu không hợp lệ", DATA_ERROR_DETAIL)
        return None
