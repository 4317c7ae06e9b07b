from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "chinhquyenso.catalog"
    label = "catalog"
