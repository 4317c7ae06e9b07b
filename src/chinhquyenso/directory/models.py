import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models


class UnitKind(models.TextChoices):
    PROVINCE = "province", "Tỉnh/thành phố"
    WARD = "ward", "Phường"
    COMMUNE = "commune", "Xã"
    SPECIAL_ZONE = "special_zone", "Đặc khu"


class AdministrativeUnit(models.Model):
    """A province or a commune-level unit (two-tier structure since 1 July 2025), from the
    PyPI package vietnam-provinces."""

    code = models.CharField(max_length=10, primary_key=True)
    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=20, choices=UnitKind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT)
    codename = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.name


class AgencyKind(models.TextChoices):
    PEOPLE_COMMITTEE = "people_committee", "Ủy ban nhân dân"
    OFFICE = "office", "Văn phòng"
    SERVICE_CENTRE = "service_centre", "Trung tâm Phục vụ hành chính công"
    DEPARTMENT = "department", "Sở, ban, ngành"
    POLICE = "police", "Công an"
    INSPECTORATE = "inspectorate", "Thanh tra"
    BOARD = "board", "Ban quản lý"
    COMMUNE = "commune", "UBND cấp xã"


class Agency(models.Model):
    """A state agency. `code` is the identity code it uses on the National Public Service
    Portal (QCVN 102:2016 style), which starts every dossier code it issues."""

    code = models.CharField(max_length=40, unique=True)
    key = models.CharField(max_length=40, unique=True, help_text="Khóa nội bộ, ví dụ SO_TP")
    name = models.CharField(max_length=255)
    short_name = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=20, choices=AgencyKind.choices)
    unit = models.ForeignKey(AdministrativeUnit, on_delete=models.PROTECT, related_name="agencies")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT)
    code_is_placeholder = models.BooleanField(default=False)
    code_source = models.TextField(blank=True)
    service_point = models.CharField(
        max_length=255, blank=True,
        help_text="Nơi tiếp nhận, trả kết quả (trung tâm phục vụ hành chính công)",
    )
    address = models.CharField(max_length=500, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    email = models.CharField(max_length=150, blank=True)
    # Working periods, e.g. [["07:30", "11:30"], ["13:30", "17:00"]].
    working_hours = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "agencies"

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    CITIZEN = "citizen", "Công dân"
    BUSINESS = "business", "Đại diện doanh nghiệp"
    RECEIVER = "receiver", "Cán bộ tiếp nhận"
    SPECIALIST = "specialist", "Chuyên viên"
    LEADER = "leader", "Lãnh đạo"
    AGENCY_ADMIN = "agency_admin", "Quản trị cơ quan"
    PROVINCE_ADMIN = "province_admin", "Quản trị cấp tỉnh"
    MONITOR = "monitor", "Giám sát"
    ACCOUNTANT = "accountant", "Kế toán"


APPLICANT_ROLES = {Role.CITIZEN, Role.BUSINESS}
# The usernames of accounts made by signing in with the e-ID (portal/oidc.py): a prefix with a
# colon, which neither Django's username rule nor the officer form's characters allow and
# which add_user refuses, so an officer's username can never take a citizen's.
E_ID_USERNAME_PREFIX = "vneid:"
OFFICER_ROLES = {Role.RECEIVER, Role.SPECIALIST, Role.LEADER, Role.AGENCY_ADMIN,
                 Role.ACCOUNTANT}
PROVINCE_ROLES = {Role.PROVINCE_ADMIN, Role.MONITOR}


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CITIZEN)
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="officers"
    )
    full_name = models.CharField(max_length=150, blank=True)
    # 12 digits for a person (số định danh cá nhân); 10 or 13 for an organisation (mã số
    # doanh nghiệp; 13 for a branch or dependent unit, Circular 105/2020/TT-BTC art. 5).
    id_number = models.CharField("Số định danh cá nhân", max_length=13, blank=True, db_index=True)
    phone = models.CharField(max_length=20, blank=True)
    address = models.CharField(max_length=500, blank=True)
    birth_date = models.DateField("Ngày sinh", null=True, blank=True)
    # The identity provider (its issuer) and the subject it knows the person by (VNeID / the
    # national portal's SSO) for citizens and businesses who sign in with OpenID Connect; they
    # have no password here. A subject is unique only within its issuer (OpenID Connect Core
    # §2: "locally unique and never reassigned within the Issuer").
    oidc_issuer = models.CharField(max_length=255, blank=True, default="")
    oidc_subject = models.CharField(max_length=255, null=True, blank=True)
    # Which of the person's data came from the identity provider (shown as prefilled).
    verified_fields = models.JSONField(default=list, blank=True)

    class Meta(AbstractUser.Meta):
        constraints = [
            models.UniqueConstraint(fields=["oidc_issuer", "oidc_subject"],
                                    condition=models.Q(oidc_subject__isnull=False),
                                    name="user_oidc_identity_unique"),
        ]

    @property
    def is_applicant(self) -> bool:
        return self.role in APPLICANT_ROLES

    @property
    def is_officer(self) -> bool:
        return self.role in OFFICER_ROLES


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the token is shown once at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Refused from this moment (CQS_API_TOKEN_DAYS after creation); checked in the same
    # indexed query that finds the token (directory.services.user_for_token).
    expires_at = models.DateTimeField(null=True, blank=True)
    # Written at most every 5 minutes, not on every request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """A one-time link through which a new officer sets their own password and enrols their
    authenticator app (no administrator ever knows the password). Only the SHA-256 of the
    link's token is stored; the link works once and until `expires_at`."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # A newer invitation of the same officer ends this one.
    revoked_at = models.DateTimeField(null=True, blank=True)

    @property
    def open(self) -> bool:
        return self.used_at is None and self.revoked_at is None
