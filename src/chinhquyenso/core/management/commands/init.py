from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Khởi tạo (lặp lại an toàn): migration, đơn vị hành chính, cơ quan, danh mục thủ tục."

    def add_arguments(self, parser):
        parser.add_argument("--province", type=int, default=settings.CQS_PROVINCE)
        parser.add_argument("--catalog", default=None, help="Tệp danh mục thủ tục (JSON)")

    def handle(self, *args, province, catalog, **opts):
        from chinhquyenso.catalog.services import DEFAULT_CATALOG, load_catalog
        from chinhquyenso.directory.services import load_agencies, load_units

        call_command("migrate", interactive=False, verbosity=0)
        root, wards = load_units(province=province)
        agencies = load_agencies(province=province)
        procedures = load_catalog(path=catalog or DEFAULT_CATALOG)
        from chinhquyenso.portal.idp import ensure_local_client

        ensure_local_client()
        from chinhquyenso.planning.services import load_targets

        load_targets()
        self.stdout.write(
            f"{root.name}: {wards} đơn vị cấp xã, {agencies} cơ quan, {procedures} thủ tục."
        )
