from django.conf import settings
from django.db import models


class AuditRecord(models.Model):
    """One link of the tamper-evident audit chain: `hash` = SHA-256 over the record's
    content and `prev_hash`, the hash of the record before it (see core/audit.py).

    A writer inserts the record unlinked (`seq`, `prev_hash`, `hash` empty) in its own
    transaction; `audit.link_pending()` gives it its place `seq` in the chain later, in
    batches, under the head's lock (ADR 0004)."""

    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True, default="")
    hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    seq = models.BigIntegerField(unique=True, null=True, blank=True,
                                 help_text="Vị trí trong chuỗi (1, 2, …), gán khi nối chuỗi")

    class Meta:
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["id"], name="audit_unlinked_idx",
                         condition=models.Q(seq__isnull=True)),
        ]


class AuditHead(models.Model):
    """The single row that names the last link of the chain (`count` = its `seq`). Linking
    locks it, so batches are linked one after another; deleting the last record is caught by
    comparing it, and mending it too by the signed checkpoints outside the database."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    count = models.BigIntegerField(default=0)


class AccessRecord(models.Model):
    """One reading of a citizen's personal data by someone else (an officer opening a
    dossier, its files, its forms): who, when, whose data, what (Decree 13/2023/NĐ-CP on
    personal data protection). Written by `audit.record_access`, read per citizen by
    `audit.accesses_to`. A plain insert: no chain, no shared lock."""

    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="Tài khoản của người có dữ liệu (nếu có)",
    )
    citizen_id_number = models.CharField(max_length=20, blank=True)
    what = models.CharField(max_length=32)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["citizen", "-at"], name="access_citizen_idx"),
            models.Index(fields=["citizen_id_number", "-at"], name="access_id_number_idx",
                         condition=~models.Q(citizen_id_number="")),
        ]


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it reports.
    Consumers (notifications, national-portal sync, monitoring) read it after commit."""

    topic = models.CharField(max_length=64)
    aggregate_type = models.CharField(max_length=64)
    aggregate_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"],
                name="outbox_pending_idx",
                condition=models.Q(processed_at__isnull=True),
            )
        ]


class IdempotencyRecord(models.Model):
    """A POST that created something, by (caller, Idempotency-Key): replaying the same key
    with the same body returns the stored answer; another body gets 409."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    scope = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_unique_key")
        ]


class CalendarOverride(models.Model):
    """A local decision that turns a day into a day off or a working day (a province admin's
    change, audited). Takes precedence over the national calendar."""

    date = models.DateField(unique=True)
    working = models.BooleanField(help_text="True: ngày làm việc bù; False: ngày nghỉ")
    reason = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)


class Notification(models.Model):
    """A message to one person: the in-portal inbox row, written in the same transaction as
    the change it reports; e-mail and SMS/Zalo deliveries are recorded on it and retried by
    `cqs notifications send` until they succeed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notifications")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    email_to = models.CharField(max_length=150, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    phone_to = models.CharField(max_length=20, blank=True)
    texted_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_inbox_idx"),
            models.Index(fields=["id"], name="notification_undelivered_idx",
                         condition=models.Q(emailed_at__isnull=True) & ~models.Q(email_to="")),
        ]


class ThrottleCount(models.Model):
    """One counter of core/throttle.py: requests (or failures) of one key — a scope and a
    client address or username — in the current fixed window, which starts at `slot` (epoch
    seconds), and in the window before it (`previous`), from which the sliding-window estimate
    is made. Shared by every web process; updated with one atomic upsert. UNLOGGED on
    PostgreSQL (migration 0004): a lost count after a crash does no harm, and a commit that
    wrote only this table does not wait for the WAL flush."""

    name = models.CharField(max_length=200, primary_key=True)
    slot = models.BigIntegerField()
    count = models.IntegerField(default=0)
    previous = models.IntegerField(default=0)
