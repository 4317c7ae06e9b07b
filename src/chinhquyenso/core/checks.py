"""Start-up checks (Django's system-check framework): outside demo mode the platform refuses to
start with a secret published in this source tree, with the local identity provider, with a
demo key it would make itself (audit checkpoints, receipt signatures) or with the payment
gateway left at the local sandbox, and says which environment variable to set.

Every `cqs` command that serves or processes runs them before it does anything (`cqs serve`,
`cqs init`, `cqs demo`, `cqs migrate`, …: BaseCommand's system checks), and so does
wsgi.py when a WSGI server imports the application (`refuse_unsafe_start`). Demo mode is
explicit: `CQS_DEMO=1` (`make run` and the tests set it)."""

from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

# The variable that sets each secret, and what it protects (for the message).
SECRETS = {
    "SECRET_KEY": "khóa ký phiên đăng nhập, CSRF và liên kết đặt lại mật khẩu",
    "VNPAY_HASH_SECRET": "khóa kiểm tra chữ ký thông báo thanh toán IPN của VNPAY",
    "CQS_OIDC_CLIENT_SECRET": "khóa bí mật của cổng với nhà cung cấp định danh OpenID Connect",
}


@checks.register(checks.Tags.security)
def production_secrets(app_configs=None, **kwargs):
    """cqs.E001–E003: public default secrets, the local identity provider, an issuer that
    points at the switched-off local provider."""
    if settings.CQS_DEMO:
        return []
    errors = []
    published = getattr(settings, "CQS_DEMO_SECRETS", {})
    for name, purpose in SECRETS.items():
        value = getattr(settings, name, "")
        if not value or value == published.get(name):
            errors.append(
                checks.Error(
                    f"{name} ({purpose}) đang là giá trị mặc định công khai trong mã nguồn: "
                    "ai cũng biết, ai cũng giả mạo được.",
                    hint=f"Đặt biến môi trường {name} bằng một giá trị bí mật riêng của tỉnh "
                    "(hoặc CQS_DEMO=1 khi chỉ chạy thử).",
                    id="cqs.E001",
                )
            )
    if settings.CQS_LOCAL_IDP:
        errors.append(
            checks.Error(
                "Nhà cung cấp định danh cục bộ (/idp/, tài khoản công dân mẫu) đang bật: ai cũng "
                "đăng nhập được bằng tài khoản mẫu.",
                hint="Đặt biến môi trường CQS_LOCAL_IDP=0 và khai báo nhà cung cấp định danh thật "
                "(VNeID / SSO Cổng DVC quốc gia): CQS_OIDC_ISSUER, CQS_OIDC_CLIENT_ID, "
                "CQS_OIDC_CLIENT_SECRET (hoặc CQS_DEMO=1 khi chỉ chạy thử).",
                id="cqs.E002",
            )
        )
    elif settings.CQS_OIDC_ISSUER == f"{settings.CQS_PUBLIC_URL}/idp":
        errors.append(
            checks.Error(
                "CQS_OIDC_ISSUER trỏ tới nhà cung cấp định danh cục bộ đã tắt.",
                hint="Đặt biến môi trường CQS_OIDC_ISSUER bằng địa chỉ nhà cung cấp định danh thật "
                "(VNeID / SSO Cổng DVC quốc gia).",
                id="cqs.E003",
            )
        )
    return errors


# Keys that the platform would otherwise make itself as demo keys (they are on the server's
# disk, made by anyone who starts it, and the receipt's says it has no legal value), and the
# payment settings that point at the local sandbox: (settings, what it is, what to set).
RECEIPT_PAIR = (
    "CQS_SIGNING_KEY và CQS_SIGNING_CERT (tệp PEM của chứng thư số do Ban Cơ yếu Chính phủ cấp)"
)
KEYS = (
    (
        ("CQS_AUDIT_SIGNING_KEY", "CQS_AUDIT_SIGNING_KEY_FILE"),
        "khóa Ed25519 ký điểm kiểm tra nhật ký kiểm toán (cqs audit checkpoint)",
        "CQS_AUDIT_SIGNING_KEY_FILE (tệp PEM Ed25519, giữ ngoài cơ sở dữ liệu) hoặc "
        "CQS_AUDIT_SIGNING_KEY",
    ),
    (("CQS_SIGNING_KEY",), "khóa ký số biên lai điện tử (PDF)", RECEIPT_PAIR),
    (("CQS_SIGNING_CERT",), "chứng thư số ký biên lai điện tử (PDF)", RECEIPT_PAIR),
)
FILES = {"CQS_AUDIT_SIGNING_KEY_FILE", "CQS_SIGNING_KEY", "CQS_SIGNING_CERT"}
SANDBOX_HOSTS = {"127.0.0.1", "localhost", "::1"}
DEMO_MERCHANT = "CQSDEMO1"


@checks.register(checks.Tags.security)
def production_keys_and_gateway(app_configs=None, **kwargs):
    """cqs.E004–E006: a demo key would be made (audit checkpoints, receipt signatures), a key
    file that does not exist, the payment gateway left at the local sandbox."""
    if settings.CQS_DEMO:
        return []
    errors = []
    for names, what, setting in KEYS:
        given = [n for n in names if getattr(settings, n, "")]
        if not given:
            errors.append(
                checks.Error(
                    f"Chưa có {what}: nền tảng sẽ tự tạo khóa mẫu, không có giá trị pháp lý.",
                    hint=f"Đặt biến môi trường {setting}.",
                    id="cqs.E004",
                )
            )
            continue
        for name in given:
            path = getattr(settings, name)
            if name in FILES and not Path(path).is_file():
                errors.append(
                    checks.Error(
                        f"{name} trỏ tới tệp không tồn tại hoặc không đọc được: {path}",
                        hint=f"Đặt biến môi trường {name} bằng đường dẫn tệp PEM có thật.",
                        id="cqs.E005",
                    )
                )
    urls = {n: getattr(settings, n, "") for n in ("VNPAY_PAYMENT_URL", "VNPAY_API_URL")}
    local = [n for n, url in urls.items() if urlsplit(url).hostname in SANDBOX_HOSTS]
    if local or settings.VNPAY_TMN_CODE == DEMO_MERCHANT:
        named = local + (["VNPAY_TMN_CODE"] if settings.VNPAY_TMN_CODE == DEMO_MERCHANT else [])
        errors.append(
            checks.Error(
                "Cổng thanh toán đang trỏ tới cổng thử nghiệm cục bộ (cqs payments sandbox): tiền "
                "của công dân không đi đâu cả.",
                hint="Đặt biến môi trường " + ", ".join(named) + " theo hợp đồng của tỉnh với "
                "VNPAY (mã website, địa chỉ thanh toán và địa chỉ API của cổng).",
                id="cqs.E006",
            )
        )
    return errors


@checks.register(checks.Tags.security, deploy=True)
def demo_mode(app_configs=None, **kwargs):
    """cqs.W001 (`check --deploy` only): demo mode is on."""
    if not settings.CQS_DEMO:
        return []
    return [
        checks.Warning(
            "Đang chạy ở chế độ trình diễn (CQS_DEMO=1): chấp nhận khóa bí mật mặc định công khai "
            "và nhà cung cấp định danh cục bộ.",
            hint="Bỏ CQS_DEMO khi triển khai thật.",
            id="cqs.W001",
        )
    ]


def refuse_unsafe_start() -> None:
    """For wsgi.py: raise (the WSGI server does not start) when a check above fails."""
    errors = [m for m in checks.run_checks(tags=[checks.Tags.security]) if m.is_serious()]
    if errors:
        raise ImproperlyConfigured(
            "Nền tảng không khởi động:\n" + "\n".join(str(e) for e in errors)
        )
