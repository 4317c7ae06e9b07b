from django.apps import AppConfig
from django.db.models.signals import post_save


class DirectoryConfig(AppConfig):
    name = "chinhquyenso.directory"
    label = "directory"

    def ready(self):
        from . import services  # noqa: PLC0415 (the app registry must be ready first)
        from .models import User  # noqa: PLC0415

        # Every way a password is set (`cqs changepassword`, Django's password forms) ends the
        # account's API tokens, as change_credentials does.
        post_save.connect(services.password_saved, sender=User,
                          dispatch_uid="directory.password_saved")
