from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "chinhquyenso.directory"
    label = "directory"
