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

    txn_ref = models.CharField(max_length=40)  # unique: see Meta (no extra LIKE index)
    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.PROTECT,
                                related_name="payment_orders")
    agency = models.ForeignKey("directory.Agency", on_delete=models.PROTECT, related_name="+")
    gateway = models.CharField(max_length=20)
    amount = models.PositiveBigIntegerField()
    status = models.CharField(max_length=10, choices=OrderStatus.choices,
                              default=OrderStatus.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", db_index=False)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    gateway_txn_no = models.CharField(max_length=40, blank=True)
    bank_code = models.CharField(max_length=20, blank=True)
    # Money the gateway took that the dossier could not take (paid twice, or the dossier had
    # ended when a late success arrived): why it must go back. Empty for a normal payment.
    # Such orders are listed on the reconciliation page until refunded.
    refund_flag = models.CharField(max_length=255, blank=True)

    class Meta:
        # Every confirmation rewrites the row and so every index of it: only those a query
        # uses (txn_ref, status queue, dossier, agency), none for LIKE or the creator.
        indexes = [models.Index(fields=["status", "created_at"], name="payment_pending_idx"),
                   models.Index(fields=["agency", "paid_at"], name="payment_to_refund_idx",
                                condition=~models.Q(refund_flag=""))]
        constraints = [models.UniqueConstraint(fields=["txn_ref"], name="payment_txn_ref_key")]

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
    txn_ref = models.CharField(max_length=40, blank=True)
    params = models.JSONField(default=dict)
    answer = models.CharField(max_length=4)
    reason = models.CharField(max_length=255)

    class Meta:
        indexes = [models.Index(fields=["txn_ref"], name="callback_txn_ref_idx")]

    def __str__(self):
        return f"{self.txn_ref} {self.answer}"


class ReceiptSequence(models.Model):
    """The last number issued in one receipt series (ký hiệu biên lai) of one agency.
    Numbers are allocated by an upsert that holds this row until commit, so they are
    consecutive without gaps (a rolled-back payment gives its number back)."""

    agency = models.ForeignKey("directory.Agency", on_delete=models.CASCADE, related_name="+")
    series = models.CharField(max_length=8)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "series"],
                                               name="receipt_sequence_unique")]


class Receipt(models.Model):
    """Biên lai điện tử thu phí, lệ phí: issued when a payment pays a dossier's fee.

    Content required by Decree 123/2020/NĐ-CP, Art. 32(2) (see receipts.py for the list);
    symbols per Circular 78/2021/TT-BTC, Annex I.B. Every field printed is a snapshot taken
    at issue: the receipt does not change when the dossier or the agency does."""

    order = models.OneToOneField(PaymentOrder, on_delete=models.PROTECT, related_name="receipt")
    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.PROTECT,
                                related_name="receipts")
    agency = models.ForeignKey("directory.Agency", on_delete=models.PROTECT, related_name="+",
                               db_index=False)  # receipt_agency_day_idx leads with it
    form_symbol = models.CharField(max_length=10)  # ký hiệu mẫu biên lai, e.g. 01BLP0-001
    series = models.CharField(max_length=8)  # ký hiệu biên lai, e.g. AA-26E
    # Số biên lai, per agency and series: given right after the payment commits (receipts.
    # number_receipts), or inside the confirming transaction on the ORM path.
    number = models.PositiveIntegerField(null=True, blank=True)
    token = models.CharField(max_length=43)  # public verification link, unique (Meta)
    issued_at = models.DateTimeField()
    amount = models.PositiveBigIntegerField()
    fee_name = models.CharField(max_length=500)
    payer_name = models.CharField(max_length=150)
    payer_address = models.CharField(max_length=500, blank=True)
    issuer_name = models.CharField(max_length=255)
    issuer_tax_code = models.CharField(max_length=14, blank=True)
    dossier_code = models.CharField(max_length=60)
    txn_ref = models.CharField(max_length=40)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "series", "number"],
                                               name="receipt_number_unique"),
                       models.UniqueConstraint(fields=["token"], name="receipt_token_key")]
        indexes = [models.Index(fields=["agency", "issued_at"], name="receipt_agency_day_idx"),
                   models.Index(fields=["agency", "series", "id"], name="receipt_unnumbered_idx",
                                condition=models.Q(number__isnull=True))]

    def __str__(self):
        return f"{self.series} {self.number_label}"

    @property
    def number_label(self) -> str:
        return f"{self.number:07d}" if self.number is not None else "(đang cấp số)"


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", "Chờ lãnh đạo duyệt"
    APPROVED = "approved", "Đã hoàn tiền"
    REJECTED = "rejected", "Không duyệt"


class RefundRequest(models.Model):
    """An officer's request to refund a paid order; a leader of the agency decides."""

    order = models.ForeignKey(PaymentOrder, on_delete=models.PROTECT, related_name="refunds")
    agency = models.ForeignKey("directory.Agency", on_delete=models.PROTECT, related_name="+")
    amount = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=RefundStatus.choices,
                              default=RefundStatus.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    gateway_answer = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["order"], name="one_live_refund_per_order",
            condition=models.Q(status__in=["requested", "approved"]))]
        indexes = [models.Index(fields=["agency", "status", "requested_at"],
                                name="refund_agency_status_idx")]

    def __str__(self):
        return f"{self.order_id} {self.status}"


class PendingAuditLink(models.Model):
    """An audit record written by the former one-statement IPN (payments/fastpay.py, gone),
    waiting to be chained. No code writes these any more; the worker drains what a crash
    left (tasks.drain_pending_audit_links)."""

    at = models.DateTimeField()
    actor_label = models.CharField(max_length=150)
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
