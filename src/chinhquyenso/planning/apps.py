from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "chinhquyenso.planning"
    label = "planning"
    verbose_name = "Mục tiêu và kế hoạch chuyển đổi số"
