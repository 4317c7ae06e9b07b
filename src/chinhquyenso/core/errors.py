"""Domain errors. Each carries an HTTP status and a Vietnamese message; the API maps them
once to problem+json (RFC 9457). Handlers never catch Exception to hide a bug."""


class DomainError(Exception):
    status = 400
    title = "Yêu cầu không hợp lệ"
    type = "about:blank"

    def __init__(self, detail: str | None = None, **extra):
        self.detail = detail or self.title
        self.extra = extra
        super().__init__(self.detail)


class ValidationFailed(DomainError):
    status = 422
    title = "Dữ liệu không hợp lệ"


class NotFound(DomainError):
    status = 404
    title = "Không tìm thấy"


class PermissionDenied(DomainError):
    status = 403
    title = "Không có quyền thực hiện"


class NotAuthenticated(DomainError):
    status = 401
    title = "Chưa đăng nhập hoặc mã truy cập không hợp lệ"


class Conflict(DomainError):
    status = 409
    title = "Xung đột trạng thái"


class InvalidTransition(Conflict):
    title = "Thao tác không được phép ở trạng thái hiện tại của hồ sơ"


class IdempotencyConflict(Conflict):
    title = "Idempotency-Key đã được dùng cho một yêu cầu khác"
