"""Phản ánh, kiến nghị (PAKN): what a citizen or business reports about a procedure, an
officer's conduct or the handling of a dossier, the agency's answer and the citizen's rating.

Decision 766/QĐ-TTg reads these rows for indicators 5.1 (share by category), 5.2 (answered
on time) and 5.3 (satisfaction with the handling); ../shared/research/766-index.md, group 5.
"""

from django.conf import settings
from django.db import models


class Category(models.TextChoices):
    # Indicator 5.1 classifies PAKN "về quy định/TTHC" and "về hành vi CBCCVC"; the third
    # kind is a PAKN about the receipt or handling of one dossier (indicator 5.4 counts the
    # dossiers that have one).
    PROCEDURE = "procedure", "Về quy định, thủ tục hành chính"
    STAFF = "staff", "Về hành vi, thái độ của cán bộ, công chức, viên chức"
    HANDLING = "handling", "Về việc tiếp nhận, giải quyết hồ sơ"
    OTHER = "other", "Nội dung khác"


class Channel(models.TextChoices):
    WEB = "web", "Cổng dịch vụ công"
    API = "api", "Ứng dụng (API)"
    COUNTER = "counter", "Trực tiếp tại Bộ phận Một cửa"
    PHONE = "phone", "Điện thoại, đường dây nóng"
    MAIL = "mail", "Thư, văn bản"


class ComplaintStatus(models.TextChoices):
    RECEIVED = "received", "Chờ xử lý"
    PROCESSING = "processing", "Đang xử lý"
    ANSWERED = "answered", "Đã trả lời"
    REJECTED = "rejected", "Không tiếp nhận"


OPEN_COMPLAINT_STATUSES = [ComplaintStatus.RECEIVED, ComplaintStatus.PROCESSING]


class ComplaintRating(models.TextChoices):
    # The same three levels as a dossier's rating (dossiers.models.Rating).
    SATISFIED = "satisfied", "Hài lòng"
    NORMAL = "normal", "Bình thường"
    UNSATISFIED = "unsatisfied", "Không hài lòng"


class Complaint(models.Model):
    code = models.CharField(max_length=30, unique=True)
    agency = models.ForeignKey(
        "directory.Agency", on_delete=models.PROTECT, related_name="complaints",
        help_text="Cơ quan có trách nhiệm trả lời",
    )
    dossier = models.ForeignKey(
        "dossiers.Dossier", null=True, blank=True, on_delete=models.PROTECT,
        related_name="complaints", help_text="Hồ sơ được phản ánh (nếu có)",
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups",
        help_text="Phản ánh trước mà phản ánh này tiếp tục (không đồng ý với câu trả lời)",
    )
    category = models.CharField(max_length=12, choices=Category.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    title = models.CharField(max_length=200)
    content = models.TextField()
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    contact_name = models.CharField(max_length=150)
    contact_phone = models.CharField(max_length=20, blank=True)
    contact_email = models.CharField(max_length=150, blank=True)
    # SHA-256 of the tracking key given once to a citizen who was not signed in.
    tracking_digest = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=ComplaintStatus.choices,
                              default=ComplaintStatus.RECEIVED)
    received_at = models.DateTimeField()
    due_at = models.DateTimeField(help_text="Hạn trả lời (15 ngày làm việc)")
    reject_due_at = models.DateTimeField(help_text="Hạn từ chối tiếp nhận (2 ngày làm việc)")
    answered_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    rating = models.CharField(max_length=12, choices=ComplaintRating.choices, blank=True,
                              default="")
    rating_comment = models.TextField(blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    followed_up = models.BooleanField(
        default=False, help_text="Có phản ánh tiếp theo về kết quả trả lời"
    )
    is_demo = models.BooleanField(default=False, help_text="Dữ liệu mẫu (không có thật)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["agency", "due_at", "id"], name="complaint_agency_due_idx"),
            models.Index(fields=["received_at"], name="complaint_received_idx"),
            models.Index(fields=["citizen", "-received_at"], name="complaint_citizen_idx"),
        ]

    def __str__(self):
        return self.code


class ComplaintSequence(models.Model):
    """The daily ordinal of complaint codes (PAKN-yymmdd-NNNN)."""

    day = models.DateField(unique=True)
    last = models.PositiveIntegerField(default=0)
