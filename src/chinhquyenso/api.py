"""The HTTP API under /api/v1 (django-ninja). Routers live in each app's api.py; errors are
problem+json (RFC 9457) with a Vietnamese `detail`, mapped here once."""

from django.http import Http404, HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from chinhquyenso.core.dates import OUT_OF_RANGE
from chinhquyenso.core.errors import DomainError, NotAuthenticated
from chinhquyenso.core.schemas import PROBLEM_TYPE


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str):
        from chinhquyenso.directory.services import user_for_token

        try:
            user = user_for_token(token)
        except NotAuthenticated:
            return None
        request.user = user
        return user


def session_auth(request: HttpRequest):
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return None


AUTH = [TokenAuth()]
PROBLEM_JSON = "application/problem+json"


class Api(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        """Error responses are documented as application/problem+json (RFC 9457)."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for item in schema.get("paths", {}).values():
            for op in item.values():
                for code, resp in op.get("responses", {}).items():
                    content = resp.get("content", {})
                    if str(code).startswith("4") and "application/json" in content:
                        content[PROBLEM_JSON] = content.pop("application/json")
        return schema


api = Api(
    title="Chính quyền số API",
    version="1",
    description="API của hệ thống một cửa điện tử: danh mục thủ tục, hồ sơ, tra cứu.",
    urls_namespace="api",
    docs_url="/docs",
)


def problem(request, status: int, title: str, detail: str, **extra):
    body = {"type": PROBLEM_TYPE, "title": title, "status": status, "detail": detail, **extra}
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = f"{PROBLEM_JSON}; charset=utf-8"
    return response


_VI_ERRORS = {
    "missing": "thiếu trường bắt buộc",
    "string_type": "phải là chuỗi ký tự",
    "int_type": "phải là số nguyên",
    "int_parsing": "phải là số nguyên",
    "bool_type": "phải là đúng/sai",
    "list_type": "phải là danh sách",
    "dict_type": "phải là đối tượng JSON",
    "model_type": "phải là đối tượng JSON",
    "string_too_long": "quá dài",
    "string_too_short": "quá ngắn",
    "datetime_type": "phải là ngày giờ ISO 8601",
    "datetime_parsing": "phải là ngày giờ ISO 8601",
    "datetime_from_date_parsing": "phải là ngày giờ ISO 8601",
    "greater_than_equal": "quá nhỏ",
    "less_than_equal": "quá lớn",
    "json_invalid": "không phải JSON hợp lệ",
    "enum": "không thuộc các giá trị cho phép",
    "literal_error": "không thuộc các giá trị cho phép",
    "date_type": "phải là ngày ISO 8601 (YYYY-MM-DD)",
    "date_parsing": "phải là ngày ISO 8601 (YYYY-MM-DD)",
    "date_from_datetime_parsing": "phải là ngày ISO 8601 (YYYY-MM-DD)",
    "date_out_of_range": OUT_OF_RANGE,
    "control_char": "chứa ký tự điều khiển không được phép",
}


@api.exception_handler(ValidationError)
def on_validation(request, exc: ValidationError):
    errors = []
    for e in exc.errors:
        loc = ".".join(str(p) for p in e.get("loc", []) if p not in ("body", "payload"))
        errors.append({"field": loc, "message": _VI_ERRORS.get(e.get("type"),
                                                               "không hợp lệ")})
    detail = "Dữ liệu gửi lên không hợp lệ: " + "; ".join(
        f"{e['field'] or 'nội dung'} {e['message']}" for e in errors
    )
    return problem(request, 422, "Dữ liệu không hợp lệ", detail, errors=errors)


@api.exception_handler(DomainError)
def on_domain(request, exc: DomainError):
    extra = {k: v for k, v in exc.extra.items()
             if isinstance(v, (str, int, list, dict)) and k not in {"type", "title", "status",
                                                                   "detail"}}
    response = problem(request, exc.status, exc.title, exc.detail, **extra)
    if getattr(exc, "retry_after", None):  # core.throttle.Throttled: 429 (RFC 6585 §4)
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(AuthenticationError)
def on_auth(request, exc):
    return problem(request, 401, "Chưa xác thực",
                   "Cần mã truy cập hợp lệ (Authorization: Bearer …).")


@api.exception_handler(Http404)
def on_404(request, exc):
    return problem(request, 404, "Không tìm thấy", "Không tìm thấy tài nguyên được yêu cầu.")


@api.exception_handler(HttpError)
def on_http(request, exc: HttpError):
    messages = {400: "Yêu cầu không hợp lệ.", 405: "Phương thức không được hỗ trợ.",
                413: "Nội dung gửi lên quá lớn.", 415: "Kiểu nội dung không được hỗ trợ."}
    return problem(request, exc.status_code, "Lỗi yêu cầu",
                   messages.get(exc.status_code, "Yêu cầu không hợp lệ."))


def _register():
    from chinhquyenso.catalog.api import router as catalog_router
    from chinhquyenso.complaints.api import router as complaints_router
    from chinhquyenso.directory.api import router as directory_router
    from chinhquyenso.dossiers.api import router as dossiers_router
    from chinhquyenso.monitoring.api import router as monitoring_router
    from chinhquyenso.payments.api import router as payments_router

    api.add_router("", catalog_router)
    api.add_router("", directory_router)
    api.add_router("", dossiers_router)
    api.add_router("", payments_router)
    api.add_router("", monitoring_router)
    api.add_router("", complaints_router)


_register()
