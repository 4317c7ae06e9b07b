import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


def render() -> str:
    from chinhquyenso.api import api

    return json.dumps(api.get_openapi_schema(path_prefix="/api/v1"), ensure_ascii=False,
                      indent=2, sort_keys=True) + "\n"


class Command(BaseCommand):
    help = "Tài liệu OpenAPI: cqs openapi --write docs/openapi.json | --check docs/openapi.json"

    def add_arguments(self, parser):
        parser.add_argument("--write", default=None)
        parser.add_argument("--check", default=None)

    def handle(self, *args, write, check, **o):
        text = render()
        if write:
            Path(write).write_text(text, encoding="utf-8")
            self.stdout.write(f"Đã ghi {write}.")
        elif check:
            path = Path(check)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                raise CommandError(
                    f"{check} đã cũ so với mã nguồn: chạy `cqs openapi --write {check}`."
                )
            self.stdout.write(f"{check} khớp với mã nguồn.")
        else:
            self.stdout.write(text)
