from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "chinhquyenso.backoffice"
    label = "backoffice"
    verbose_name = "Hệ thống một cửa (cán bộ)"
