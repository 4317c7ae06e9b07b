"""Back-office services: the officer's sign-in (password, then a TOTP code), the one-stop
desk's paper intake, and batch approval. Views call these and nothing else writes.

Sign-in rules (issue 4, "Login → Officers"):
- username and password, then a time-based one-time code (TOTP, RFC 6238) from an
  authenticator app; the code is mandatory for leaders and administrators, offered to the
  other officers;
- after 5 failed attempts (wrong password or wrong code) the username is locked for 15
  minutes; the count lives in the database (LoginThrottle), not in a process;
- every success, failure and lock-out is an audit record (core.audit).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyotp
import segno
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from chinhquyenso.core import audit, throttle
from chinhquyenso.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.directory.models import (
    OFFICER_ROLES,
    PROVINCE_ROLES,
    ApiToken,
    Invitation,
    Role,
    User,
)
from chinhquyenso.directory.services import change_credentials

from .models import LoginThrottle, TotpDevice

MAX_FAILURES = 5
LOCK_MINUTES = 15
TOTP_REQUIRED_ROLES = {Role.LEADER, Role.AGENCY_ADMIN, Role.PROVINCE_ADMIN}
STAFF_ROLES = set(OFFICER_ROLES) | set(PROVINCE_ROLES)
ISSUER = "Chính quyền số Hải Phòng"
# DEMO ONLY: the published secret of the demo accounts' authenticator (see
# `cqs officer totp --demo`). Never used for any account that is not a demo account.
DEMO_TOTP_SECRET = "DEMODEMODEMODEMODEMODEMODEMODEMO"
DEMO_USERNAMES = ("tiepnhan", "chuyenvien", "lanhdao", "quantri", "ketoan", "tiepnhan_stp",
                  "chuyenvien_stp", "lanhdao_stp", "quantri_tinh", "giamsat")


class LoginFailed(DomainError):
    status = 400
    title = "Đăng nhập không thành công"


class LockedOut(DomainError):
    status = 429
    title = "Tài khoản tạm bị khóa"



# --- lock-out ---------------------------------------------------------------------------


def _lock_message(until: datetime) -> str:
    local = timezone.localtime(until)
    return (f"Tài khoản tạm bị khóa do nhập sai {MAX_FAILURES} lần. Vui lòng thử lại sau "
            f"{LOCK_MINUTES} phút (sau {local:%H:%M} ngày {local:%d/%m/%Y}).")


def locked_until(username: str, at: datetime | None = None) -> datetime | None:
    """When the username's lock ends, or None when it is not locked."""
    at = at or timezone.now()
    row = LoginThrottle.objects.filter(username=username.lower()).first()
    if row and row.locked_until and row.locked_until > at:
        return row.locked_until
    return None


# Per-address throttle (OWASP ASVS 4.0.3 §2.2.1: anti-automation against brute force *and*
# against account lock-out attacks). The design:
# - every attempt (password or code) on a username is first counted against the client
#   address, atomically in the database (core/throttle.py), before any check: at most
#   CQS_THROTTLE_LOGIN (4 per 15 min) failed attempts on one username from one address, and
#   CQS_THROTTLE_LOGIN_ADDRESS (30 per 15 min) over all usernames (password spraying). A
#   successful step gives its attempt back, so only failures use the allowance;
# - 4 is below the 5 failures that lock the account, so an attacker at one address is
#   answered 429 and never locks the officer out: the officer signs in from their own
#   address meanwhile;
# - the account lock (5 failures, 15 minutes) stays as the last guard against many
#   addresses at once: then the officer waits, but no more than 5 guesses are possible per
#   15 minutes whatever the number of addresses (ASVS: at most 100 failed attempts an hour).
LOGIN_SCOPE = "login"
LOGIN_ADDRESS_SCOPE = "login-address"
FAILURES_CAP = 32000  # the column is a small integer


class AddressThrottled(throttle.Throttled):
    title = "Tạm dừng đăng nhập từ địa chỉ này"


def _guard_address(username: str, user: User | None, ip: str) -> None:
    """Count the attempt against the address; 429 when the address is over its allowance
    (the account's own count is not touched then)."""
    if not ip:  # not from the web (command line, tests of the services)
        return
    one = throttle.hit(LOGIN_SCOPE, f"{ip}|{username.lower()}",
                       throttle.rate("CQS_THROTTLE_LOGIN"))
    every = throttle.hit(LOGIN_ADDRESS_SCOPE, ip, throttle.rate("CQS_THROTTLE_LOGIN_ADDRESS"))
    if one.allowed and every.allowed:
        return
    refused = [d for d in (one, every) if not d.allowed]
    wait = max(d.retry_after for d in refused)
    if any(d.estimate - 1 <= throttle.rate(s).limit for d, s in (
            (one, "CQS_THROTTLE_LOGIN"), (every, "CQS_THROTTLE_LOGIN_ADDRESS"))
           if not d.allowed):
        # Recorded once, when the address goes over; not for every knock after that.
        with transaction.atomic():
            audit.record(actor=None, actor_label="anonymous", verb="login.throttled",
                         target=user, data={"username": username, "ip": ip})
    raise AddressThrottled(
        "Có quá nhiều lần đăng nhập không thành công từ địa chỉ mạng của bạn. "
        + throttle.wait_text(wait), retry_after=wait)


def _release_address(username: str, ip: str) -> None:
    """A step that passed gives back its attempt."""
    if not ip:
        return
    throttle.refund(LOGIN_SCOPE, f"{ip}|{username.lower()}", throttle.rate("CQS_THROTTLE_LOGIN"))
    throttle.refund(LOGIN_ADDRESS_SCOPE, ip, throttle.rate("CQS_THROTTLE_LOGIN_ADDRESS"))


def _check_not_locked(username: str, user: User | None, ip: str) -> None:
    """Refuse an attempt on a locked username before any check, and count it (one UPDATE
    failures = failures + 1). Attempts that pass this read while another request is locking
    the username are counted and refused by _fail, under the row lock."""
    _guard_address(username, user, ip)
    at = timezone.now()
    until = locked_until(username, at)
    if until is not None:
        with transaction.atomic():
            LoginThrottle.objects.filter(username=username.lower(),
                                         failures__lt=FAILURES_CAP).update(
                failures=F("failures") + 1, last_failure_at=at)
            audit.record(actor=None, actor_label="anonymous", verb="login.locked", target=user,
                         data={"username": username, "ip": ip})
        raise LockedOut(_lock_message(until))


def _fail(username: str, user: User | None, ip: str, reason: str, message: str) -> None:
    """Count one failure (locking the username at the fifth) and raise. The read, the
    increment and the decision happen under the row's lock (SELECT … FOR UPDATE), so 30
    parallel failures count 30 and exactly one of them locks."""
    at = timezone.now()
    with transaction.atomic():
        row, _ = LoginThrottle.objects.select_for_update().get_or_create(
            username=username.lower())
        if row.locked_until and row.locked_until <= at:
            row.failures, row.locked_until = 0, None  # an old lock has run out
        already = row.locked_until is not None  # locked by a parallel attempt meanwhile
        row.failures = min(row.failures + 1, FAILURES_CAP)
        row.last_failure_at = at
        locks_now = not already and row.failures >= MAX_FAILURES
        if locks_now:
            row.locked_until = at + timedelta(minutes=LOCK_MINUTES)
        row.save()
        audit.record(actor=None, actor_label="anonymous",
                     verb="login.locked" if already else "login.failure", target=user,
                     data={"username": username, "ip": ip, "reason": reason,
                           "failures": row.failures})
        if locks_now:
            audit.record(actor=None, actor_label="anonymous", verb="login.lockout", target=user,
                         data={"username": username, "ip": ip,
                               "until": row.locked_until.isoformat()})
    if row.locked_until is not None:
        raise LockedOut(_lock_message(row.locked_until))
    left = MAX_FAILURES - row.failures
    raise LoginFailed(f"{message} Còn {left} lần thử trước khi tài khoản bị khóa "
                      f"{LOCK_MINUTES} phút.")


# --- the two factors ---------------------------------------------------------------------


@dataclass
class PasswordResult:
    user: User
    next_step: str  # "done" (no code needed), "code" (enter a code), "enrol" (set up the app)
    extra: dict = field(default_factory=dict)


def totp_required(user: User) -> bool:
    return user.role in TOTP_REQUIRED_ROLES


def _device(user: User) -> TotpDevice | None:
    return TotpDevice.objects.filter(user=user).first()


def check_password(*, username: str, password: str, ip: str = "") -> PasswordResult:
    """First factor. Citizens and businesses are refused here (they sign in with the
    national identity at /dang-nhap) with the same message as a wrong password."""
    username = (username or "").strip()
    if not username or not password:
        raise ValidationFailed("Vui lòng nhập tên đăng nhập và mật khẩu.")
    if len(username) > 150 or len(password) > 200:
        raise ValidationFailed("Tên đăng nhập hoặc mật khẩu dài quá mức cho phép.")
    known = User.objects.filter(username=username).first()
    _check_not_locked(username, known, ip)
    user = authenticate(username=username, password=password)
    if user is None or user.role not in STAFF_ROLES:
        _fail(username, known, ip, "password",
              "Tên đăng nhập hoặc mật khẩu không đúng.")
    _release_address(username, ip)
    device = _device(user)
    if device is not None and device.confirmed:
        return PasswordResult(user, "code")
    if totp_required(user):
        return PasswordResult(user, "enrol")
    return PasswordResult(user, "done")


def _verify(device: TotpDevice, code: str, at: datetime) -> bool:
    """A 6-digit code of the current step or the one before/after (clock drift), never a
    step that was already used."""
    code = (code or "").replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return False
    totp = pyotp.TOTP(device.secret)
    for drift in (0, -1, 1):
        moment = at + timedelta(seconds=30 * drift)
        step = totp.timecode(moment)
        if step > device.last_step and pyotp.utils.strings_equal(totp.at(moment), code):
            device.last_step = step
            return True
    return False


def check_code(*, user: User, code: str, ip: str = "", at: datetime | None = None) -> User:
    """Second factor for a user whose device is confirmed."""
    _check_not_locked(user.username, user, ip)
    at = at or timezone.now()
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user,
                                                               confirmed_at__isnull=False).first()
        ok = device is not None and _verify(device, code, at)
        if ok:
            device.save(update_fields=["last_step"])
    if not ok:
        _fail(user.username, user, ip, "totp", "Mã xác thực không đúng hoặc đã hết hạn.")
    _release_address(user.username, ip)
    return user


def record_login(*, user: User, ip: str = "", second_factor: bool) -> None:
    """Both factors passed: clear the failures and record the sign-in."""
    with transaction.atomic():
        LoginThrottle.objects.filter(username=user.username.lower()).update(
            failures=0, locked_until=None)
        audit.record(actor=user, verb="login.success", target=user,
                     data={"ip": ip, "second_factor": second_factor})


def record_logout(*, user: User, ip: str = "") -> None:
    with transaction.atomic():
        audit.record(actor=user, verb="logout", target=user, data={"ip": ip})


# --- enrolment ---------------------------------------------------------------------------


@dataclass
class Enrolment:
    secret: str
    uri: str
    qr_data_uri: str


def start_enrolment(*, user: User) -> Enrolment:
    """A new (unconfirmed) secret for the user's authenticator app, kept until confirmed;
    an existing confirmed device is not replaced here (an administrator resets it)."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is not None and device.confirmed:
            raise ValidationFailed("Tài khoản đã có ứng dụng xác thực.")
        if device is None:
            device = TotpDevice.objects.create(user=user, secret=pyotp.random_base32())
    return enrolment_for(device)


def enrolment_for(device: TotpDevice) -> Enrolment:
    uri = pyotp.TOTP(device.secret).provisioning_uri(name=device.user.username,
                                                     issuer_name=ISSUER)
    qr = segno.make(uri, error="m")
    return Enrolment(secret=device.secret, uri=uri,
                     qr_data_uri=qr.svg_data_uri(scale=4, border=2))


def confirm_enrolment(*, user: User, code: str, ip: str = "",
                      at: datetime | None = None) -> None:
    """The first code from the app proves it holds the secret; the device becomes active."""
    _check_not_locked(user.username, user, ip)
    at = at or timezone.now()
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is None:
            raise ValidationFailed("Chưa bắt đầu đăng ký ứng dụng xác thực.")
        ok = _verify(device, code, at)
        if ok:
            device.confirmed_at = at
            device.save(update_fields=["last_step", "confirmed_at"])
            audit.record(actor=user, verb="totp.enrol", target=user, data={"ip": ip})
    if not ok:
        _fail(user.username, user, ip, "totp-enrol",
              "Mã xác thực không đúng. Kiểm tra giờ trên điện thoại và nhập mã mới.")
    _release_address(user.username, ip)


# --- invitation of a new officer ------------------------------------------------------------


class InvitationClosed(DomainError):
    status = 410
    title = "Liên kết mời không còn hiệu lực"


def _check_invitation_open(inv, at: datetime) -> None:
    if inv is None or inv.revoked_at is not None or not inv.user.is_active:
        raise InvitationClosed("Liên kết mời không đúng hoặc đã được thay bằng một lời mời "
                               "mới. Vui lòng liên hệ quản trị cơ quan.")
    if inv.used_at is not None:
        raise InvitationClosed("Liên kết mời đã được dùng. Hãy đăng nhập bằng mật khẩu đã "
                               "đặt; nếu không phải bạn đã dùng, báo ngay cho quản trị cơ "
                               "quan.")
    if inv.expires_at <= at:
        raise InvitationClosed("Liên kết mời đã hết hạn. Vui lòng đề nghị quản trị cơ quan "
                               "gửi lời mời mới.")


def open_invitation(token: str) -> Invitation:
    """The invitation of a link (found by the SHA-256 of its token), if it can still be
    used; else InvitationClosed (410) saying why."""
    inv = None
    if token and len(token) <= 100:
        inv = Invitation.objects.select_related("user").filter(
            digest=ApiToken.hash(token)).first()
    _check_invitation_open(inv, timezone.now())
    return inv


def accept_invitation(*, token: str, password: str, password2: str, code: str,
                      ip: str = "") -> User:
    """The invited officer sets their own password and confirms their authenticator app
    (the secret shown on the invitation page, start_enrolment) with one code; then the link
    is dead. All or nothing, under the invitation's row lock, so two uses at once cannot
    both succeed."""
    inv = open_invitation(token)
    user = inv.user
    errors = {}
    if len(password or "") < 12 or len(password) > 200:
        errors["password"] = "Mật khẩu phải có từ 12 đến 200 ký tự."
    elif password != password2:
        errors["password2"] = "Hai lần nhập mật khẩu không khớp."
    else:
        try:
            validate_password(password, user)
        except DjangoValidationError as exc:
            errors["password"] = " ".join(exc.messages)
    if errors:
        raise ValidationFailed("Mật khẩu chưa hợp lệ: " + " ".join(errors.values()),
                               errors=errors)
    _guard_address(user.username, user, ip)  # guessing codes is throttled like sign-in
    at = timezone.now()
    with transaction.atomic():
        inv = Invitation.objects.select_for_update().select_related("user").get(pk=inv.pk)
        _check_invitation_open(inv, at)
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is None or device.confirmed or not _verify(device, code, at):
            raise ValidationFailed("Mã xác thực không đúng. Kiểm tra giờ trên điện thoại và "
                                   "nhập mã mới.", errors={"code": "Mã xác thực không đúng."})
        device.confirmed_at = at
        device.save(update_fields=["last_step", "confirmed_at"])
        change_credentials(actor=user, user=user, password=password, reason="invitation")
        inv.used_at = at
        inv.save(update_fields=["used_at"])
        LoginThrottle.objects.filter(username=user.username.lower()).update(
            failures=0, locked_until=None)
        audit.record(actor=user, verb="invitation.accept", target=user,
                     data={"ip": ip, "invitation": inv.pk})
        audit.record(actor=user, verb="totp.enrol", target=user, data={"ip": ip})
    _release_address(user.username, ip)
    return user


def reset_totp(*, actor: User, user: User) -> bool:
    """An administrator removes an officer's authenticator (lost phone): the officer enrols
    again at the next sign-in. Agency admins for their own agency, province admins for all."""
    if actor.role == Role.PROVINCE_ADMIN:
        pass
    elif actor.role == Role.AGENCY_ADMIN:
        if user.agency_id != actor.agency_id or user.role not in OFFICER_ROLES:
            raise NotFound("Không tìm thấy cán bộ trong cơ quan của bạn.")
    else:
        raise PermissionDenied("Chỉ quản trị mới được đặt lại mã xác thực.")
    with transaction.atomic():
        deleted, _ = TotpDevice.objects.filter(user=user).delete()
        audit.record(actor=actor, verb="totp.reset", target=user,
                     data={"had_device": bool(deleted)})
    return bool(deleted)


def set_demo_totp(*, actor=None, usernames=DEMO_USERNAMES) -> list[str]:
    """DEMO ONLY: give the demo accounts (full name marked «dữ liệu mẫu») the published
    secret DEMO_TOTP_SECRET, so that a newcomer can sign in as a leader or administrator."""
    from chinhquyenso.dossiers.demo import DEMO_MARK

    done = []
    with transaction.atomic():
        for user in User.objects.filter(username__in=usernames,
                                        full_name__endswith=DEMO_MARK).order_by("username"):
            TotpDevice.objects.update_or_create(
                user=user, defaults={"secret": DEMO_TOTP_SECRET, "confirmed_at": timezone.now(),
                                     "is_demo": True, "last_step": 0})
            done.append(user.username)
        audit.record(actor=actor, verb="totp.demo", data={"users": done})
    return done


def demo_totp_uri() -> str:
    return pyotp.TOTP(DEMO_TOTP_SECRET).provisioning_uri(name="tài khoản mẫu",
                                                        issuer_name=ISSUER + " (demo)")


# --- the one-stop desk -----------------------------------------------------------------------


def form_from_post(definition: list[dict], post) -> dict:
    """A procedure's form fields from an HTML form: text as typed, integers as numbers
    (left as text when not a number, so that validation names the field), checkboxes as
    true/false. Unknown fields are ignored."""
    data = {}
    for f in definition:
        name, kind = f["name"], f.get("type", "string")
        key = f"form_{name}"
        if kind == "boolean":
            data[name] = post.get(key) in {"1", "on", "true"}
            continue
        value = (post.get(key) or "").strip()
        if value == "":
            continue
        if kind == "integer":
            try:
                value = int(value)
            except ValueError:
                pass
        data[name] = value
    return data


def receive_paper_dossier(*, actor: User, procedure: str, applicant: dict, form: dict,
                          uploads: list[tuple[object, str]]):
    """Tiếp nhận trực tiếp: the desk enters a paper dossier for a citizen, attaches the
    scans (owned by the officer), submits it through the counter channel and receives it at
    once, all or nothing. Returns the received dossier (its receipt is Mẫu 01)."""
    from chinhquyenso.dossiers import services as dossiers

    if actor.role != Role.RECEIVER or actor.agency_id is None:
        raise PermissionDenied("Chỉ cán bộ tiếp nhận của cơ quan mới tiếp nhận hồ sơ giấy.")
    if len(uploads) > 30:
        raise ValidationFailed("Tối đa 30 tệp bản quét cho một hồ sơ.")
    with transaction.atomic():
        ids = [str(dossiers.store_attachment(actor=actor, upload=u, document_code=code).pk)
               for u, code in uploads]
        d = dossiers.submit_dossier(actor=actor, procedure=procedure, agency=actor.agency.code,
                                    applicant=applicant, form=form, attachments=ids,
                                    channel="counter", digitised=bool(ids))
        d = dossiers.receive_dossier(actor=actor, dossier=d, note="Tiếp nhận trực tiếp tại "
                                     "Bộ phận một cửa.")
    return d


# --- the leader's batch approval --------------------------------------------------------------


@dataclass
class BatchResult:
    code: str
    ok: bool
    message: str


def approve_many(*, actor: User, codes: list[str], note: str = "") -> list[BatchResult]:
    """Phê duyệt hàng loạt: each dossier through approve_dossier, in its own transaction,
    so one refusal does not undo the others; the result of each is reported."""
    from chinhquyenso.dossiers import services as dossiers
    from chinhquyenso.dossiers.queries import get_visible

    results = []
    for code in dict.fromkeys(c.strip() for c in codes if c.strip()):
        d = get_visible(actor, code) if len(code) <= 60 else None
        if d is None:
            results.append(BatchResult(code, False, "Không tìm thấy hồ sơ."))
            continue
        try:
            dossiers.approve_dossier(actor=actor, dossier=d, note=note)
        except DomainError as exc:
            results.append(BatchResult(code, False, exc.detail))
        else:
            results.append(BatchResult(code, True, "Đã phê duyệt."))
    return results
