import uuid

from django.conf import settings
from django.db import models


class Status(models.IntegerChoices):
    """Dossier statuses with the codes synchronised to the National Public Service Portal
    (TrangThaiHoSo; ../shared/research/one-stop-rules.md §1.1, four codebases agree)."""

    NEW = 1, "Mới đăng ký"
    RECEIVED = 2, "Được tiếp nhận"
    REFUSED = 3, "Không được tiếp nhận"
    IN_PROGRESS = 4, "Đang xử lý"
    WAITING_SUPPLEMENT = 5, "Yêu cầu bổ sung giấy tờ"
    WAITING_PAYMENT = 6, "Yêu cầu thực hiện nghĩa vụ tài chính"
    WITHDRAWN = 7, "Công dân yêu cầu rút hồ sơ"
    STOPPED = 8, "Dừng xử lý"
    FINISHED = 9, "Đã xử lý xong"
    RETURNED = 10, "Đã trả kết quả"


# The sets of statuses the rules use, each defined once, from Status.
# Still in somebody's hands (the result not yet returned): the officers' queues.
OPEN_STATUSES = [Status.NEW, Status.RECEIVED, Status.IN_PROGRESS, Status.WAITING_SUPPLEMENT,
                 Status.WAITING_PAYMENT, Status.FINISHED]
# Handling is over, nothing is left to do: refused, withdrawn, stopped, or returned.
ENDED_STATUSES = frozenset(Status) - frozenset(OPEN_STATUSES)
# Over without a result: a fee paid for it is to be refunded (payments), an imported record of
# it has no result date.
ENDED_WITHOUT_RESULT = frozenset({Status.REFUSED, Status.WITHDRAWN, Status.STOPPED})
# Stopped after it was received (the withdrawal by the applicant, or the agency's stop): the
# stop notice, Mẫu 05, exists.
STOPPED_STATUSES = frozenset({Status.WITHDRAWN, Status.STOPPED})


class Action(models.TextChoices):
    """What can be done to a dossier, with its Vietnamese name: one vocabulary for the
    history, the officers' buttons, the API and the messages."""

    SUBMIT = "submit", "Nộp hồ sơ"
    RECEIVE = "receive", "Tiếp nhận hồ sơ"
    REFUSE = "refuse", "Từ chối tiếp nhận"
    REQUEST_SUPPLEMENT = "request-supplement", "Yêu cầu bổ sung, hoàn thiện"
    SUPPLEMENT = "supplement", "Bổ sung hồ sơ"
    REQUEST_PAYMENT = "request-payment", "Yêu cầu thực hiện nghĩa vụ tài chính"
    CONFIRM_PAYMENT = "confirm-payment", "Xác nhận thanh toán"
    PAY = "pay", "Thanh toán phí, lệ phí"
    FORWARD = "forward", "Chuyển xử lý"
    APPROVE = "approve", "Phê duyệt kết quả"
    REJECT = "reject", "Không giải quyết"
    RETURN_RESULT = "return-result", "Trả kết quả"
    WITHDRAW = "withdraw", "Rút hồ sơ"
    EXTEND = "extend", "Xin lỗi và hẹn lại ngày trả kết quả"
    RATE = "rate", "Đánh giá mức độ hài lòng"
    IMPORT = "import", "Chuyển từ hệ thống cũ"

    @property
    def done(self) -> str:
        """What the officer is told once it is done ("Đã tiếp nhận hồ sơ")."""
        return DONE.get(self) or f"Đã {self.label[0].lower()}{self.label[1:]}"

    @classmethod
    def label_of(cls, code: str) -> str:
        """The name of a recorded action (its code if it is no longer one)."""
        return cls(code).label if code in cls.values else code


# Where "Đã …" + the label does not read well.
DONE = {Action.REJECT: "Đã dừng giải quyết hồ sơ",
        Action.EXTEND: "Đã lập văn bản xin lỗi và hẹn lại ngày trả kết quả"}


class Channel(models.TextChoices):
    # KenhThucHien on the national portal: 1 trực tiếp, 2 trực tuyến, 3 bưu chính công ích.
    COUNTER = "counter", "Trực tiếp"
    ONLINE = "online", "Trực tuyến"
    POST = "post", "Qua bưu chính công ích"


class Rating(models.TextChoices):
    # The national portal's three levels of the applicant's assessment (Decision 766,
    # indicator 5.4 counts the "unsatisfied" ones; ../shared/research/766-index.md).
    SATISFIED = "satisfied", "Hài lòng"
    NORMAL = "normal", "Bình thường"
    UNSATISFIED = "unsatisfied", "Không hài lòng"


class Dossier(models.Model):
    code = models.CharField(max_length=60, unique=True)
    procedure = models.ForeignKey("catalog.Procedure", on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(
        "directory.Agency", on_delete=models.PROTECT, related_name="dossiers",
        help_text="Cơ quan tiếp nhận, chịu trách nhiệm giải quyết",
    )
    current_agency = models.ForeignKey(
        "directory.Agency", on_delete=models.PROTECT, related_name="+",
        help_text="Cơ quan đang xử lý (liên thông)",
    )
    applicant_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    applicant_name = models.CharField(max_length=150)
    applicant_id_number = models.CharField(max_length=20, blank=True)
    applicant_phone = models.CharField(max_length=20, blank=True)
    applicant_email = models.CharField(max_length=150, blank=True)
    applicant_address = models.CharField(max_length=500, blank=True)
    # Nộp thay: the signed-in account that filed an online dossier for the applicant above,
    # with the applicant's authorisation attached (giấy ủy quyền); empty when the applicant
    # filed it themselves or the one-stop desk entered it.
    submitter_name = models.CharField(max_length=150, blank=True, db_default="")
    submitter_id_number = models.CharField(max_length=20, blank=True, db_default="")
    form = models.JSONField(default=dict, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.ONLINE)
    status = models.PositiveSmallIntegerField(choices=Status.choices, default=Status.NEW)
    resume_status = models.PositiveSmallIntegerField(null=True, blank=True)
    current_step = models.PositiveSmallIntegerField(default=0)

    submitted_at = models.DateTimeField()
    received_at = models.DateTimeField(null=True, blank=True)
    clock_started_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    original_due_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="Kết thúc xử lý (NgayKetThucXuLy)"
    )
    supplement_count = models.PositiveSmallIntegerField(default=0)
    paused_minutes = models.IntegerField(default=0, help_text="Thời gian chờ bổ sung (phút)")

    fee = models.PositiveBigIntegerField(default=0)
    paid_online = models.BooleanField(default=False)
    digitised = models.BooleanField(default=False)
    electronic_result = models.BooleanField(default=False)
    reused_data = models.BooleanField(default=False)
    rating = models.CharField(max_length=12, choices=Rating.choices, blank=True, db_default="")
    rating_comment = models.TextField(blank=True, db_default="")
    rated_at = models.DateTimeField(null=True, blank=True)
    is_demo = models.BooleanField(default=False, help_text="Dữ liệu mẫu (không có thật)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The officer's queue in its own order (oldest due first), open dossiers only,
            # so that the first page reads 20 index entries however large the table is.
            models.Index(fields=["current_agency", "due_at", "id"], name="dossier_open_queue_idx",
                         condition=models.Q(status__in=OPEN_STATUSES)),
            models.Index(fields=["due_at", "id"], name="dossier_open_due_idx",
                         condition=models.Q(status__in=OPEN_STATUSES)),
            models.Index(fields=["applicant_user", "-submitted_at"], name="dossier_applicant_idx"),
            models.Index(fields=["received_at"], name="dossier_received_idx"),
        ]

    def __str__(self):
        return self.code

    @property
    def on_behalf(self) -> bool:
        """Filed by someone else for the applicant (nộp thay)."""
        return bool(self.submitter_id_number)


class DossierStep(models.Model):
    """One step of the dossier's processing, with its own due time (phiếu kiểm soát)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=255)
    role = models.CharField(max_length=20)
    agency = models.ForeignKey("directory.Agency", on_delete=models.PROTECT, related_name="+")
    share = models.DecimalField(max_digits=6, decimal_places=4)
    started_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["dossier", "position"]
        constraints = [
            models.UniqueConstraint(fields=["dossier", "position"], name="dossier_step_unique")
        ]


class DossierEvent(models.Model):
    """The dossier's history, as the applicant and officers read it."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    action = models.CharField(max_length=40)
    from_status = models.PositiveSmallIntegerField(null=True, blank=True)
    to_status = models.PositiveSmallIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["dossier", "at", "id"]


class Supplement(models.Model):
    """A request for supplementation (Mẫu 02) and its completion."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="supplements")
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    items = models.JSONField(default=list)
    note = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)


class Extension(models.Model):
    """The apology letter with a new date (Mẫu 04), at most once per dossier."""

    dossier = models.OneToOneField(Dossier, on_delete=models.CASCADE, related_name="extension")
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    old_due_at = models.DateTimeField()
    new_due_at = models.DateTimeField()
    reason = models.TextField()


class DossierSequence(models.Model):
    """The daily ordinal of dossier codes, per agency (Circular 01/2018/TT-VPCP Art. 19)."""

    agency = models.ForeignKey("directory.Agency", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "day"], name="dossier_sequence_unique")
        ]


class Attachment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    dossier = models.ForeignKey(
        Dossier, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    document_code = models.CharField(max_length=40, blank=True)
    storage_name = models.CharField(max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    purpose = models.CharField(max_length=20, default="submission")
    created_at = models.DateTimeField(auto_now_add=True)
