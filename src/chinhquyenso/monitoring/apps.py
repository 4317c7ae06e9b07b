from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "chinhquyenso.monitoring"
    label = "monitoring"
    verbose_name = "Giám sát, đánh giá"
