"""Directory: administrative units, agencies, users and API tokens."""

import json
import logging
import secrets
import smtplib
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone
from vietnam_provinces import Province, ProvinceCode, VietNamDivisionType, Ward

from chinhquyenso.core import audit, fixedsql
from chinhquyenso.core.errors import NotAuthenticated, NotFound, ValidationFailed

from .models import (
    E_ID_USERNAME_PREFIX,
    OFFICER_ROLES,
    AdministrativeUnit,
    Agency,
    AgencyKind,
    ApiToken,
    Role,
    UnitKind,
    User,
)

logger = logging.getLogger(__name__)
DATA_DIR = Path(__file__).parent / "data"
DEFAULT_HOURS = [["07:30", "11:30"], ["13:30", "17:00"]]
WARD_KIND = {
    VietNamDivisionType.PHUONG: UnitKind.WARD,
    VietNamDivisionType.XA: UnitKind.COMMUNE,
    VietNamDivisionType.DAC_KHU: UnitKind.SPECIAL_ZONE,
}


def load_units(*, province: int) -> tuple[AdministrativeUnit, int]:
    """Load a province and its commune-level units from vietnam-provinces (idempotent)."""
    try:
        prov = Province.from_code(ProvinceCode(province))
    except ValueError as exc:
        raise NotFound(f"Không có tỉnh, thành phố mã {province}.") from exc
    root, _ = AdministrativeUnit.objects.update_or_create(
        code=str(province),
        defaults={"name": prov.name, "kind": UnitKind.PROVINCE, "codename": prov.codename},
    )
    wards = [w for w in Ward.iter_all() if int(w.province_code) == province]
    for w in wards:
        AdministrativeUnit.objects.update_or_create(
            code=f"{int(w.code):05d}",
            defaults={
                "name": w.name,
                "kind": WARD_KIND[w.division_type],
                "parent": root,
                "codename": w.codename,
            },
        )
    return root, len(wards)


def _agency_file(province: int) -> Path | None:
    path = DATA_DIR / f"agencies_{province}.json"
    return path if path.exists() else None


def commune_agency_code(province: int, ward_code: str, pattern: str | None = None) -> str:
    """The identity code of a commune People's Committee. Where the province's agency file
    gives no real codes, a placeholder of the QCVN 102 shape is built from the ward code."""
    pattern = pattern or "X{ward}.{province:02d}.H{province:02d}"
    return pattern.format(ward=ward_code, province=province)


def load_agencies(*, province: int) -> int:
    """Create the province's agencies from data/agencies_<province>.json (when present) and
    one People's Committee for every commune-level unit. Idempotent."""
    root = AdministrativeUnit.objects.get(code=str(province))
    spec = {}
    path = _agency_file(province)
    if path:
        spec = json.loads(path.read_text(encoding="utf-8"))
    count = 0
    with transaction.atomic():
        by_key = {}
        for a in spec.get("agencies", []):
            agency, _ = Agency.objects.update_or_create(
                key=a["key"],
                defaults={
                    "code": a["identity_code"],
                    "name": a["name"],
                    "short_name": a.get("short_name") or a["name"],
                    "kind": a.get("kind", AgencyKind.DEPARTMENT),
                    "unit": root,
                    "code_is_placeholder": bool(a.get("identity_code_placeholder")),
                    "code_source": a.get("identity_code_source") or "",
                    "address": a.get("address") or "",
                    "phone": a.get("phone") or "",
                    "email": a.get("email") or "",
                    "working_hours": a.get("working_hours") or DEFAULT_HOURS,
                },
            )
            by_key[a["key"]] = (agency, a.get("parent"))
            count += 1
        if not by_key:
            # No agency file for this province: the People's Committee and its centre,
            # with clearly marked placeholder codes.
            for key, name, kind in [
                ("UBND_TP", f"Ủy ban nhân dân {root.name}", AgencyKind.PEOPLE_COMMITTEE),
                ("TTPVHCC", f"Trung tâm Phục vụ hành chính công {root.name}",
                 AgencyKind.SERVICE_CENTRE),
            ]:
                agency, _ = Agency.objects.update_or_create(
                    key=key,
                    defaults={
                        "code": f"000.00.{len(by_key) + 1:02d}.P{province:02d}",
                        "name": name, "short_name": name, "kind": kind, "unit": root,
                        "code_is_placeholder": True, "working_hours": DEFAULT_HOURS,
                    },
                )
                by_key[key] = (agency, None)
                count += 1
        # Departments receive and return at the provincial centre (Decree 118/2025 Art. 8).
        centre = by_key.get("TTPVHCC", (None,))[0]
        if centre is not None:
            Agency.objects.filter(pk__in=[a.pk for a, _ in by_key.values()]).exclude(
                pk=centre.pk).update(service_point=centre.name)
            Agency.objects.filter(pk=centre.pk).update(service_point=centre.name)
        for agency, parent_key in by_key.values():
            if parent_key and parent_key in by_key and agency.parent_id != by_key[parent_key][0].pk:
                agency.parent = by_key[parent_key][0]
                agency.save(update_fields=["parent"])
        commune = spec.get("commune_agency", {})
        placeholder = bool(commune.get("identity_code_placeholder", True))
        name_pattern = commune.get("name_pattern", "Ủy ban nhân dân {ward_name}")
        for unit in AdministrativeUnit.objects.filter(parent=root):
            Agency.objects.update_or_create(
                key=f"UBND_{unit.code}",
                defaults={
                    "code": commune_agency_code(
                        province, unit.code, commune.get("identity_code_pattern")
                    ),
                    "name": name_pattern.format(ward_name=_lower_first(unit.name)),
                    "short_name": f"UBND {_lower_first(unit.name)}",
                    "kind": AgencyKind.COMMUNE,
                    # The commune-level centre (Decree 118/2025 Art. 7).
                    "service_point": "Trung tâm Phục vụ hành chính công "
                    + _lower_first(unit.name),
                    "unit": unit,
                    "parent": by_key.get("UBND_TP", (None,))[0],
                    "code_is_placeholder": placeholder,
                    "code_source": commune.get("note", ""),
                    "working_hours": DEFAULT_HOURS,
                },
            )
            count += 1
    return count


def _lower_first(name: str) -> str:
    """«Xã Vĩnh Bảo» inside a sentence: «Ủy ban nhân dân xã Vĩnh Bảo»."""
    return name[:1].lower() + name[1:]


def get_agency(code_or_key: str) -> Agency:
    agency = (
        Agency.objects.filter(code=code_or_key).first()
        or Agency.objects.filter(key=code_or_key).first()
    )
    if agency is None:
        raise NotFound(f"Không tìm thấy cơ quan có mã «{code_or_key}».")
    return agency


def check_username_not_reserved(username: str) -> None:
    """Usernames beginning with the e-ID prefix belong to sign-in with the e-ID only."""
    if (username or "").strip().lower().startswith(E_ID_USERNAME_PREFIX):
        raise ValidationFailed(
            f"Tên đăng nhập bắt đầu bằng «{E_ID_USERNAME_PREFIX}» dành riêng cho tài khoản "
            "đăng nhập bằng định danh điện tử.", errors={"username": "Tên đăng nhập không hợp lệ."})


def add_user(*, actor=None, username: str, role: str, agency: str | None = None,
             password: str | None = None, full_name: str = "", id_number: str = "",
             email: str = "", phone: str = "", address: str = "") -> User:
    """Create or update a user. Officer roles need an agency."""
    if role not in Role.values:
        raise ValidationFailed(
            f"Vai trò «{role}» không hợp lệ; chọn một trong: {', '.join(Role.values)}."
        )
    check_username_not_reserved(username)
    agency_obj = get_agency(agency) if agency else None
    if role in OFFICER_ROLES and agency_obj is None:
        raise ValidationFailed("Cán bộ phải thuộc một cơ quan (--agency).")
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username)
        # Re-running a set-up with the same role and password changes nothing (and keeps the
        # tokens); a new role or a new password revokes them.
        new_password = bool(password) and not created and not user.check_password(password)
        if not created and (role != user.role or new_password):
            change_credentials(actor=actor, user=user, role=role,
                               password=password if new_password else None)
        user.role = role
        user.agency = agency_obj
        user.full_name = full_name or user.full_name or username
        user.id_number = id_number or user.id_number
        user.email = email or user.email
        user.phone = phone or user.phone
        user.address = address or user.address
        user.is_staff = role not in {Role.CITIZEN, Role.BUSINESS}
        if password and created:
            user.set_password(password)  # (an existing user's: change_credentials above)
        elif created:
            user.set_unusable_password()
        user.save()
        audit.record(
            actor=actor, verb="user.add" if created else "user.update", target=user,
            data={"role": role, "agency": agency_obj.code if agency_obj else None},
        )
    return user


def create_token(*, actor=None, user: User, name: str = "", days: int | None = None) -> str:
    """Create a bearer token; return it once. Only its SHA-256 is stored. It expires after
    `days` (default CQS_API_TOKEN_DAYS, 90: NIST SP 800-63B §7.2 asks for a bounded
    session; a machine client renews its token with `cqs token create`)."""
    days = settings.CQS_API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= 3650:
        raise ValidationFailed("Thời hạn của mã truy cập phải từ 1 đến 3650 ngày.")
    token = "cqs_" + secrets.token_urlsafe(32)
    expires = timezone.now() + timedelta(days=days)
    with transaction.atomic():
        row = ApiToken.objects.create(user=user, digest=ApiToken.hash(token),
                                      prefix=token[4:12], name=name, expires_at=expires)
        audit.record(actor=actor, verb="token.create", target=user,
                     data={"name": name, "token": row.pk, "expires": expires.isoformat()})
    return token


def revoke_token(*, actor=None, token_id: int) -> ApiToken:
    """Revoke one token (by its id, as `cqs token list` shows it)."""
    with transaction.atomic():
        row = ApiToken.objects.select_for_update().select_related("user").filter(
            pk=token_id).first()
        if row is None:
            raise NotFound(f"Không có mã truy cập số {token_id}.")
        if not row.revoked:
            row.revoked, row.revoked_at = True, timezone.now()
            row.save(update_fields=["revoked", "revoked_at"])
            audit.record(actor=actor, verb="token.revoke", target=row.user,
                         data={"token": row.pk, "prefix": row.prefix})
    return row


def _revoke_all_tokens(*, actor, user: User, reason: str) -> int:
    """Inside the caller's transaction: every live token of the user stops working."""
    n = ApiToken.objects.filter(user=user, revoked=False).update(revoked=True,
                                                                  revoked_at=timezone.now())
    if n:
        audit.record(actor=actor, verb="token.revoke", target=user,
                     data={"count": n, "reason": reason})
    return n


def password_saved(sender, instance: User, created: bool, **kwargs) -> None:
    """post_save of User: a password set with set_password() and saved outside
    change_credentials (Django's `changepassword` command, its password forms) revokes the
    account's tokens too. AbstractBaseUser keeps the new raw password in `_password` until its
    save() has run, so this sees it; change_credentials updates rows without save() and
    revokes itself."""
    if created or getattr(instance, "_password", None) is None:
        return
    with transaction.atomic():
        _revoke_all_tokens(actor=None, user=instance, reason="password")


def change_credentials(*, actor=None, user: User, role: str | None = None,
                       password: str | None = None, reason: str = "") -> User:
    """The one place where an account's role or password changes: the change and the
    revocation of its API tokens in one transaction (a token carries the rights of the
    moment it was made; OWASP ASVS 4.0.3 §3.3.3 asks sessions to end when credentials
    change). Permission checks are the caller's (change_officer_role, add_user, the
    invitation)."""
    fields = []
    with transaction.atomic():
        if role is not None and role != user.role:
            user.role = role
            user.is_staff = role not in {Role.CITIZEN, Role.BUSINESS}
            fields += ["role", "is_staff"]
        if password is not None:
            user.set_password(password)
            fields.append("password")
        if fields:
            User.objects.filter(pk=user.pk).update(**{f: getattr(user, f) for f in fields})
            _revoke_all_tokens(actor=actor, user=user,
                               reason=reason or ("role" if "role" in fields else "password"))
    return user


# Every API request pays this query, so it is one fixed statement (no ORM query compiled per
# request, issue 10 §7): the token by its unique digest, unrevoked and unexpired (one more
# condition on the same row), with only the columns of its user a request uses (the agency by
# id, no join to it), no ORDER BY.
_TOKEN_PARTS = (
    fixedsql.part(ApiToken, "t", only={"last_used_at"}),
    fixedsql.part(User, "u", only={"username", "role", "agency_id", "is_active", "full_name",
                                    "id_number", "email", "phone", "address"}),
)
_TOKEN_SQL = (
    f"SELECT {fixedsql.select_list(*_TOKEN_PARTS)}"
    " FROM directory_apitoken t JOIN directory_user u ON u.id = t.user_id"
    " WHERE t.digest = %s AND NOT t.revoked AND t.expires_at > %s"
)


def user_for_token(token: str) -> User:
    now = timezone.now()
    with connection.cursor() as cur:
        cur.execute(_TOKEN_SQL, [ApiToken.hash(token),
                                 connection.ops.adapt_datetimefield_value(now)])
        row = cur.fetchone()
    if row is None:
        raise NotAuthenticated()
    token_row, user = fixedsql.instances(row, *_TOKEN_PARTS)
    if not user.is_active:
        raise NotAuthenticated()
    token_id, last_used_at = token_row.pk, token_row.last_used_at
    if last_used_at is None or (now - last_used_at).total_seconds() > 300:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user


# --- officers and agencies, managed from the back office (issue 4) ---------------------------

ASSIGNABLE_ROLES = (Role.RECEIVER, Role.SPECIALIST, Role.LEADER, Role.ACCOUNTANT,
                    Role.AGENCY_ADMIN)
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


def _check_admin_of(actor: User, user: User | None = None) -> None:
    """Agency admins manage the officers of their own agency (others: 404, not 403, so that
    officers of other agencies are not even confirmed to exist)."""
    if actor is None or actor.role != Role.AGENCY_ADMIN or actor.agency_id is None:
        from chinhquyenso.core.errors import PermissionDenied

        raise PermissionDenied("Chỉ quản trị cơ quan được quản lý cán bộ.")
    if user is not None and (user.agency_id != actor.agency_id or user.role not in OFFICER_ROLES):
        raise NotFound("Không tìm thấy cán bộ trong cơ quan của bạn.")


def _check_role(role: str) -> None:
    if role not in ASSIGNABLE_ROLES:
        raise ValidationFailed(
            "Vai trò phải là một trong: " + ", ".join(Role(r).label for r in ASSIGNABLE_ROLES)
            + ".")


def add_officer(*, actor: User, username: str, full_name: str, role: str,
                password: str | None = None,
                email: str = "", phone: str = "") -> User:
    """Quản trị cơ quan thêm một cán bộ vào cơ quan của mình."""
    from chinhquyenso.core.errors import Conflict

    _check_admin_of(actor)
    username = (username or "").strip().lower()
    check_username_not_reserved(username)
    errors = {}
    if not (3 <= len(username) <= 150) or not set(username) <= USERNAME_CHARS:
        errors["username"] = ("Tên đăng nhập gồm 3–150 ký tự: chữ thường không dấu, chữ số, "
                              "dấu chấm, gạch dưới, gạch ngang.")
    if not (full_name or "").strip() or len(full_name) > 150:
        errors["full_name"] = "Vui lòng nhập họ và tên (tối đa 150 ký tự)."
    if role not in ASSIGNABLE_ROLES:
        errors["role"] = "Vai trò không hợp lệ."
    if password is not None and len(password) < 12:
        errors["password"] = "Mật khẩu ban đầu phải có ít nhất 12 ký tự."
    if errors:
        raise ValidationFailed("Thông tin cán bộ chưa hợp lệ: " + " ".join(errors.values()),
                               errors=errors)
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(f"Tên đăng nhập «{username}» đã được dùng.")
        user = User(username=username, full_name=full_name.strip(), role=role,
                    agency_id=actor.agency_id, email=(email or "").strip()[:150],
                    phone=(phone or "").strip()[:20], is_staff=True)
        if password is None:  # the officer sets it through an invitation link
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save()
        audit.record(actor=actor, verb="user.add", target=user,
                     data={"role": role, "agency": actor.agency.code})
    return user


# --- invitations of new officers ---------------------------------------------------------------


def invitation_url(token: str) -> str:
    return f"{settings.CQS_PUBLIC_URL}/can-bo/loi-moi/{token}"


def _send_invitation(user: User, url: str, expires) -> None:
    local = timezone.localtime(expires)
    body = (f"Kính gửi {user.full_name or user.username},\n\n"
            f"Tài khoản cán bộ «{user.username}» đã được tạo trên hệ thống Chính quyền số. "
            f"Để kích hoạt, mở liên kết dưới đây, tự đặt mật khẩu và đăng ký ứng dụng xác "
            f"thực trên điện thoại:\n\n{url}\n\n"
            f"Liên kết chỉ dùng được một lần, đến {local:%H:%M} ngày {local:%d/%m/%Y}. "
            f"Không chuyển liên kết này cho người khác. Nếu bạn không chờ thư này, hãy báo "
            f"cho quản trị cơ quan.\n")
    try:
        send_mail("Kích hoạt tài khoản cán bộ — Chính quyền số", body, None, [user.email])
    except (smtplib.SMTPException, OSError):
        # The administrator sees the link on the page and can hand it over.
        logger.warning("invitation e-mail to %s not sent", user.pk, exc_info=True)


def create_invitation(*, actor=None, user: User) -> str:
    """A one-time link for an officer who has no password yet: through it the officer sets
    their own password and enrols their authenticator app (backoffice.services.
    accept_invitation). Only the SHA-256 of its token is kept; it works once, for
    CQS_INVITATION_HOURS; a newer invitation ends the older ones. E-mailed to the officer
    after commit when the account has an address; the URL is returned (shown to the
    administrator, printed by `cqs user add`)."""
    from .models import PROVINCE_ROLES, Invitation

    if user.role not in OFFICER_ROLES and user.role not in PROVINCE_ROLES:
        raise ValidationFailed("Chỉ mời được cán bộ; người dân, doanh nghiệp đăng nhập bằng "
                               "định danh điện tử.")
    if user.has_usable_password():
        from chinhquyenso.core.errors import Conflict

        raise Conflict("Cán bộ đã kích hoạt tài khoản (đã tự đặt mật khẩu).")
    if not user.is_active:
        raise ValidationFailed("Tài khoản đã bị khóa.")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    expires = now + timedelta(hours=settings.CQS_INVITATION_HOURS)
    url = invitation_url(token)
    with transaction.atomic():
        ended = Invitation.objects.filter(user=user, used_at__isnull=True,
                                          revoked_at__isnull=True).update(revoked_at=now)
        Invitation.objects.create(user=user, digest=ApiToken.hash(token),
                                  created_by=actor if getattr(actor, "pk", None) else None,
                                  created_at=now, expires_at=expires)
        audit.record(actor=actor, verb="invitation.create", target=user,
                     data={"expires": expires.isoformat(), "replaced": ended,
                           "emailed": bool(user.email)})
        if user.email:
            transaction.on_commit(lambda: _send_invitation(user, url, expires))
    return url


def invite_officer(*, actor: User, username: str, full_name: str, role: str, email: str = "",
                   phone: str = "") -> tuple[User, str]:
    """Quản trị cơ quan thêm cán bộ và nhận liên kết mời (không bao giờ thấy mật khẩu)."""
    with transaction.atomic():
        user = add_officer(actor=actor, username=username, full_name=full_name, role=role,
                           email=email, phone=phone)
        url = create_invitation(actor=actor, user=user)
    return user, url


def reinvite_officer(*, actor: User, user: User) -> str:
    """A new link for an officer who has not used theirs (lost, expired)."""
    _check_admin_of(actor, user)
    return create_invitation(actor=actor, user=user)


def change_officer_role(*, actor: User, user: User, role: str) -> User:
    _check_admin_of(actor, user)
    _check_role(role)
    if user.pk == actor.pk:
        raise ValidationFailed("Không tự đổi vai trò của chính mình.")
    with transaction.atomic():
        old = user.role
        change_credentials(actor=actor, user=user, role=role, reason="role")
        audit.record(actor=actor, verb="user.role", target=user, data={"from": old, "to": role})
    return user


def deactivate_officer(*, actor: User, user: User) -> User:
    """Cán bộ nghỉ việc, chuyển công tác: the account can no longer sign in (kept for the
    history it signed)."""
    _check_admin_of(actor, user)
    if user.pk == actor.pk:
        raise ValidationFailed("Không tự khóa tài khoản của chính mình.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        ApiToken.objects.filter(user=user, revoked=False).update(revoked=True)
        audit.record(actor=actor, verb="user.deactivate", target=user)
    return user


def _check_hours(hours) -> list[list[str]]:
    from datetime import time

    try:
        periods = [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in hours]
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Giờ làm việc phải theo dạng GG:PP (ví dụ 07:30).") from exc
    if not periods:
        raise ValidationFailed("Cần ít nhất một ca làm việc.")
    for (a, b), nxt in zip(periods, periods[1:] + [None], strict=True):
        if a >= b:
            raise ValidationFailed("Giờ kết thúc ca phải sau giờ bắt đầu.")
        if nxt is not None and nxt[0] < b:
            raise ValidationFailed("Các ca làm việc phải theo thứ tự và không chồng nhau.")
    return [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in periods]


def update_agency(*, actor: User, agency: Agency, name: str, short_name: str = "",
                  address: str = "", phone: str = "", email: str = "",
                  working_hours=None) -> Agency:
    """Quản trị cấp tỉnh sửa tên, liên hệ và giờ làm việc của một cơ quan (giờ làm việc
    dùng để tính hạn giải quyết)."""
    from chinhquyenso.core.errors import PermissionDenied

    if actor is None or actor.role != Role.PROVINCE_ADMIN:
        raise PermissionDenied("Chỉ quản trị cấp tỉnh được sửa thông tin cơ quan.")
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise ValidationFailed("Vui lòng nhập tên cơ quan (tối đa 255 ký tự).")
    limits = {"short_name": (short_name, 150), "address": (address, 500), "phone": (phone, 50),
              "email": (email, 150)}
    for label, (value, limit) in limits.items():
        if len((value or "").strip()) > limit:
            raise ValidationFailed(f"Trường «{label}» dài quá {limit} ký tự.")
    hours = _check_hours(working_hours) if working_hours is not None else agency.working_hours
    with transaction.atomic():
        before = {"name": agency.name, "short_name": agency.short_name,
                  "address": agency.address, "phone": agency.phone, "email": agency.email,
                  "working_hours": agency.working_hours}
        agency.name, agency.short_name = name, (short_name or "").strip()
        agency.address, agency.phone = (address or "").strip(), (phone or "").strip()
        agency.email, agency.working_hours = (email or "").strip(), hours
        agency.save(update_fields=["name", "short_name", "address", "phone", "email",
                                   "working_hours"])
        audit.record(actor=actor, verb="agency.update", target=agency,
                     data={"before": before, "after": {
                         "name": agency.name, "short_name": agency.short_name,
                         "address": agency.address, "phone": agency.phone,
                         "email": agency.email, "working_hours": hours}})
    return agency
