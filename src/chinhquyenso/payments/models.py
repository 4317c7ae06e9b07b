from django.conf import settings
from django.db import models


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Chờ thanh toán"
    PAID = "paid", "Đã thanh toán"
    FAILED = "failed", "Không thành công"
    EXPIRED = "expired", "Hết hạn"
    REFUNDED = "refunded", "Đã hoàn tiền"


class PaymentOrder(models.Model):
    """One attempt to pay a dossier's fee at a gateway. Money is an integer number of đồng."""

    txn_ref = models.CharField(max_length=40, unique=True)
    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.PROTECT,
                                related_name="payment_orders")
    agency = models.ForeignKey("directory.Agency", on_delete=models.PROTECT, related_name="+")
    gateway = models.CharField(max_length=20)
    amount = models.PositiveBigIntegerField()
    status = models.CharField(max_length=10, choices=OrderStatus.choices,
                              default=OrderStatus.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    gateway_txn_no = models.CharField(max_length=40, blank=True)
    bank_code = models.CharField(max_length=20, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"], name="payment_pending_idx")]

    def __str__(self):
        return self.txn_ref


class EntryKind(models.TextChoices):
    INITIATED = "initiated", "Khởi tạo"
    CONFIRMED = "confirmed", "Xác nhận"
    FAILED = "failed", "Không thành công"
    REFUNDED = "refunded", "Hoàn tiền"


class LedgerEntry(models.Model):
    """An immutable entry of an order's ledger, with the gateway's raw answer."""

    order = models.ForeignKey(PaymentOrder, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=EntryKind.choices)
    amount = models.PositiveBigIntegerField()
    at = models.DateTimeField()
    raw = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["order", "at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order"], name="one_confirmation_per_order",
                                    condition=models.Q(kind="confirmed")),
        ]

    def __str__(self):
        return f"{self.order_id} {self.kind}"


class CallbackLog(models.Model):
    """Every server-to-server callback as received, with what the platform answered and
    why: rejected ones change nothing else."""

    gateway = models.CharField(max_length=20)
    received_at = models.DateTimeField()
    txn_ref = models.CharField(max_length=40, blank=True, db_index=True)
    params = models.JSONField(default=dict)
    answer = models.CharField(max_length=4)
    reason = models.CharField(max_length=255)

    def __str__(self):
        return f"{self.txn_ref} {self.answer}"
