from django.core.management.base import BaseCommand, CommandError

from chinhquyenso.core.errors import DomainError


class Command(BaseCommand):
    help = "Danh mục thủ tục: cqs catalog load FILE (định dạng: docs/catalog-format.md)"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        load = sub.add_parser("load")
        load.add_argument("file")

    def handle(self, *args, sub, file, **o):
        from chinhquyenso.catalog.services import load_catalog

        try:
            n = load_catalog(path=file)
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"Đã nạp {n} thủ tục từ {file}.")
