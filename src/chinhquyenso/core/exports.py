"""Every table on a screen can be taken away: CSV (UTF-8 with BOM, so that Excel reads the
diacritics) or XLSX (openpyxl)."""

import csv
import io

from django.http import HttpResponse

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_response(name: str, header: list, rows, fmt: str = "csv") -> HttpResponse:
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = name[:31]
        ws.append(header)
        for r in rows:
            ws.append(list(r))
        buf = io.BytesIO()
        wb.save(buf)
        resp = HttpResponse(buf.getvalue(), content_type=XLSX)
        resp["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return resp
    resp = HttpResponse(content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    resp.write("\ufeff")
    w = csv.writer(resp)
    w.writerow(header)
    w.writerows(rows)
    return resp
