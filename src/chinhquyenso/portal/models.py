from django.conf import settings
from django.db import models


class IdpAccount(models.Model):
    """An identity of the *local* identity provider (the development stand-in for VNeID).
    It belongs to the simulated provider, not to the portal: the portal's users have no
    password, they sign in through OpenID Connect. A real deployment turns the local provider
    off (CQS_LOCAL_IDP=0) and these rows are never used."""

    id_number = models.CharField("Số định danh cá nhân", max_length=12, unique=True)
    full_name = models.CharField(max_length=150)
    birth_date = models.DateField(null=True, blank=True)
    address = models.CharField(max_length=500, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    email = models.CharField(max_length=150, blank=True)
    # "citizen" or "business" (an organisation's legal representative).
    kind = models.CharField(max_length=10, default="citizen")
    password = models.CharField(max_length=128)
    is_demo = models.BooleanField(default=False, help_text="Danh tính mẫu (không có thật)")

    def __str__(self):
        return f"{self.id_number} {self.full_name}"


class Draft(models.Model):
    """A submission in progress, saved as the citizen types (survives closing the browser)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    procedure_code = models.CharField(max_length=40)
    data = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "procedure_code"], name="draft_unique")
        ]
