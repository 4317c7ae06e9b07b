from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "chinhquyenso.core"
    label = "core"
    verbose_name = "Lõi nền tảng"

    def ready(self):
        from . import checks  # noqa: F401  (registers the start-up checks)
