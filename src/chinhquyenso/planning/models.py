"""The city's digital-transformation targets (with their readings over time) and the yearly
task plan (tasks, budgets, deadlines, progress reports)."""

from django.conf import settings
from django.db import models


class Direction(models.TextChoices):
    AT_LEAST = "at_least", "Tối thiểu"
    AT_MOST = "at_most", "Tối đa"


class Target(models.Model):
    """One target of the city plan, e.g. "≥ 98 % dossiers on time". `measure` names the
    function of planning/measures.py that computes it live from platform data; empty when
    the platform does not hold the data and readings are entered with their source."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=300)
    group = models.CharField(max_length=100, blank=True)
    value = models.DecimalField(max_digits=12, decimal_places=2)
    unit = models.CharField(max_length=20, default="%")
    direction = models.CharField(max_length=10, choices=Direction.choices,
                                 default=Direction.AT_LEAST)
    deadline_year = models.PositiveSmallIntegerField()
    measure = models.CharField(max_length=40, blank=True)
    source = models.TextField(help_text="Văn bản/bài viết nêu mục tiêu (tệp seed, trích dẫn)")
    note = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self):
        return self.name


class TargetReading(models.Model):
    """One observed value of a target: entered by hand with its source, or a snapshot of
    the live measure (source "live")."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="readings")
    on = models.DateField()
    value = models.DecimalField(max_digits=12, decimal_places=2)
    source = models.TextField()
    live = models.BooleanField(default=False)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    is_demo = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["target", "on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["target", "on", "live"],
                                    name="target_reading_one_a_day"),
        ]


class PlanTask(models.Model):
    """A task of the yearly digital-transformation plan (in 2024: 81 tasks, about 400
    billion VND; seeds/002)."""

    year = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=500)
    owner = models.ForeignKey("directory.Agency", on_delete=models.PROTECT,
                              related_name="plan_tasks")
    budget = models.PositiveBigIntegerField(help_text="Kinh phí (đồng)")
    start = models.DateField()
    deadline = models.DateField()
    progress = models.PositiveSmallIntegerField(default=0, help_text="Tiến độ mới nhất (%)")
    reported_at = models.DateField(null=True, blank=True)
    source = models.TextField(blank=True)
    is_demo = models.BooleanField(default=False, help_text="Dữ liệu mẫu (không có thật)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["year", "deadline", "code"]
        constraints = [
            models.UniqueConstraint(fields=["year", "code"], name="plan_task_code_unique"),
            models.CheckConstraint(condition=models.Q(progress__lte=100),
                                   name="plan_task_progress_max_100"),
            models.CheckConstraint(condition=models.Q(deadline__gte=models.F("start")),
                                   name="plan_task_deadline_after_start"),
        ]
        indexes = [models.Index(fields=["owner", "year"], name="plan_task_owner_idx")]

    def __str__(self):
        return f"{self.code} {self.name}"


class TaskReport(models.Model):
    """A progress report on a task (tiến độ, %), by an officer of the owner agency."""

    task = models.ForeignKey(PlanTask, on_delete=models.CASCADE, related_name="reports")
    on = models.DateField()
    progress = models.PositiveSmallIntegerField()
    note = models.TextField(blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task", "on", "id"]
