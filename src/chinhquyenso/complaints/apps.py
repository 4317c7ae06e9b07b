from django.apps import AppConfig


class ComplaintsConfig(AppConfig):
    name = "chinhquyenso.complaints"
    label = "complaints"
    verbose_name = "Phản ánh, kiến nghị"
