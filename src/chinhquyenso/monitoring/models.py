"""Tables of the monitoring app: the per-dossier contribution to the index (`DossierFact`),
the aggregate the index is read from (`IndexCell`), the consumers' positions in the outbox
(`Cursor`) and the national-portal synchronisation state (`PortalSync`).

How they stay current: a consumer (`services.refresh`, `cqs monitoring refresh`) reads the
dossier events of the outbox after commit, recomputes each touched dossier's fact with
`rules.judge` and adds the difference to the cells, in one transaction with its cursor.
A pending dossier's on-time verdict depends on the day the index is read for; its cell
carries its due day (`pending_day`) so that the query decides, not the writer."""

from django.db import models


class Cursor(models.Model):
    """How far a consumer has read the outbox (its own position: the outbox's single
    `processed_at` belongs to no consumer in particular). `gaps`: ids below `last_id`
    not yet visible when read (a transaction still open), re-read until they appear or
    expire."""

    name = models.CharField(max_length=40, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    gaps = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


FACT_FLAGS = (
    "on_time", "late", "pending", "completed", "online", "online_ok", "paper", "eresult",
    "digitised", "reused", "fee", "paid", "synced", "rated", "unsatisfied",
    "ontime_unsatisfied",
)


class DossierFact(models.Model):
    """What one received dossier adds to the index (one row per received dossier)."""

    dossier_id = models.BigIntegerField(primary_key=True)
    agency = models.ForeignKey("directory.Agency", on_delete=models.DO_NOTHING,
                               db_constraint=False, related_name="+")
    procedure = models.ForeignKey("catalog.Procedure", on_delete=models.DO_NOTHING,
                                  db_constraint=False, related_name="+")
    month = models.DateField(help_text="Tháng tiếp nhận (ngày 1)")
    pending_day = models.IntegerField(default=0, help_text="Ngày hẹn trả (ordinal) khi đang xử lý")
    minutes = models.IntegerField(default=0, help_text="Thời gian giải quyết (phút, theo lịch)")
    on_time = models.BooleanField(default=False)
    late = models.BooleanField(default=False)
    pending = models.BooleanField(default=False)
    completed = models.BooleanField(default=False)
    online = models.BooleanField(default=False)
    online_ok = models.BooleanField(default=False)
    paper = models.BooleanField(default=False)
    eresult = models.BooleanField(default=False)
    digitised = models.BooleanField(default=False)
    reused = models.BooleanField(default=False)
    fee = models.BooleanField(default=False)
    paid = models.BooleanField(default=False)
    synced = models.BooleanField(default=False)
    rated = models.BooleanField(default=False)
    unsatisfied = models.BooleanField(default=False)
    ontime_unsatisfied = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["month", "agency"], name="mon_fact_month_idx")]


CELL_COUNTS = ("received", *FACT_FLAGS)


class IndexCell(models.Model):
    """Sums of the facts of one (agency, month of receipt, procedure, pending due day):
    `pending_day` is 0 for dossiers with a final verdict."""

    agency = models.ForeignKey("directory.Agency", on_delete=models.DO_NOTHING,
                               db_constraint=False, related_name="+")
    month = models.DateField()
    procedure = models.ForeignKey("catalog.Procedure", on_delete=models.DO_NOTHING,
                                  db_constraint=False, related_name="+")
    pending_day = models.IntegerField(default=0)
    received = models.IntegerField(default=0)
    minutes = models.BigIntegerField(default=0)
    on_time = models.IntegerField(default=0)
    late = models.IntegerField(default=0)
    pending = models.IntegerField(default=0)
    completed = models.IntegerField(default=0)
    online = models.IntegerField(default=0)
    online_ok = models.IntegerField(default=0)
    paper = models.IntegerField(default=0)
    eresult = models.IntegerField(default=0)
    digitised = models.IntegerField(default=0)
    reused = models.IntegerField(default=0)
    fee = models.IntegerField(default=0)
    paid = models.IntegerField(default=0)
    synced = models.IntegerField(default=0)
    rated = models.IntegerField(default=0)
    unsatisfied = models.IntegerField(default=0)
    ontime_unsatisfied = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["agency", "month", "procedure", "pending_day"], name="mon_cell_unique")]
        indexes = [models.Index(fields=["month", "agency"], name="mon_cell_month_idx")]


class PortalSync(models.Model):
    """The national portal's copy of one dossier: the last status it accepted."""

    dossier_id = models.BigIntegerField(primary_key=True)
    code = models.CharField(max_length=60)
    status = models.PositiveSmallIntegerField(help_text="TrangThaiHoSo đã đồng bộ")
    first_synced_at = models.DateTimeField()
    synced_at = models.DateTimeField()
    payload = models.JSONField(default=dict, help_text="Bản ghi DongBoHoSoMC gửi gần nhất")


class PortalSyncFailure(models.Model):
    """The last failed attempt of the sync consumer (it stops at the failing event and
    retries it on its next run, so nothing is skipped)."""

    event_id = models.BigIntegerField(primary_key=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField()
    last_at = models.DateTimeField()
