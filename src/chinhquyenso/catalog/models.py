from django.db import models


class Level(models.TextChoices):
    PROVINCE = "province", "Cấp tỉnh"
    COMMUNE = "commune", "Cấp xã"


class OnlineMode(models.TextChoices):
    # Decree 42/2022/NĐ-CP Art. 11.1: toàn trình (a) / một phần (b).
    FULL = "full", "Toàn trình"
    PARTIAL = "partial", "Một phần"


class Field(models.Model):
    """Lĩnh vực: the sector a procedure belongs to."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=255)

    def __str__(self):
        return self.name


class Procedure(models.Model):
    """Thủ tục hành chính, with its national code from the national procedures database."""

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=500)
    search_text = models.TextField(blank=True, help_text="Tên không dấu, chữ thường, để tìm kiếm")
    field = models.ForeignKey(Field, on_delete=models.PROTECT, related_name="procedures")
    level = models.CharField(max_length=10, choices=Level.choices)
    agency_key = models.CharField(max_length=40, help_text="COMMUNE hoặc khóa cơ quan cấp tỉnh")
    legal_basis = models.JSONField(default=list)
    working_days = models.DecimalField(max_digits=7, decimal_places=2)
    fee = models.PositiveBigIntegerField(default=0, help_text="Đồng")
    fee_note = models.TextField(blank=True)
    result = models.TextField(blank=True)
    result_type = models.CharField(max_length=20, default="both")
    online_mode = models.CharField(max_length=10, choices=OnlineMode.choices)
    payment_before_processing = models.BooleanField(default=False)
    form = models.JSONField(default=list, help_text="Các trường của tờ khai")
    source = models.TextField(blank=True)
    note = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    agencies = models.ManyToManyField(
        "directory.Agency", related_name="procedures", blank=True,
        help_text="Cơ quan tiếp nhận thủ tục này",
    )
    # Liên thông: the agencies a dossier of this procedure may be forwarded to besides those
    # that receive it and those named by its steps (ProcessStep.agency_key), e.g. the
    # department that co-signs a commune's result. Nothing else may receive it.
    partners = models.ManyToManyField(
        "directory.Agency", related_name="partner_procedures", blank=True,
        help_text="Cơ quan phối hợp giải quyết liên thông",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class ProcessStep(models.Model):
    """One step of the internal process (quy trình nội bộ), with its share of the time."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=255)
    role = models.CharField(max_length=20)
    share = models.DecimalField(max_digits=6, decimal_places=4)
    agency_key = models.CharField(max_length=40, blank=True, help_text="Cơ quan liên thông")

    class Meta:
        ordering = ["procedure", "position"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "position"], name="step_position_unique")
        ]


class RequiredDocument(models.Model):
    """Thành phần hồ sơ."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="documents")
    code = models.CharField(max_length=40)
    name = models.TextField()
    required = models.BooleanField(default=True)
    template = models.TextField(blank=True)

    class Meta:
        ordering = ["procedure", "id"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "code"], name="document_code_unique")
        ]
