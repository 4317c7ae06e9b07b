from django.conf import settings
from django.db import models


class TotpDevice(models.Model):
    """An officer's authenticator app (TOTP, RFC 6238: 30-second steps, 6 digits, SHA-1).
    Unconfirmed until the officer has typed one code from it (enrolment)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="totp_device")
    secret = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last 30-second step a code was accepted for: a code is never accepted twice.
    last_step = models.BigIntegerField(default=0)
    is_demo = models.BooleanField(default=False, help_text="Khóa mẫu công khai (chỉ tài khoản mẫu)")
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


class LoginThrottle(models.Model):
    """Failed sign-ins per username, kept in the database so that every web process sees
    the same count: after 5 failures the username is locked for 15 minutes."""

    username = models.CharField(max_length=150, unique=True)
    failures = models.PositiveSmallIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
