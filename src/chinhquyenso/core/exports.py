"""Every table on a screen can be taken away: CSV (UTF-8 with BOM, so that Excel reads the
diacritics) or XLSX (openpyxl). The one way out for tables: every export goes through
`table_response`, which neutralises text that a spreadsheet would run as a formula."""

import csv
import io
import re

from django.http import HttpResponse

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# OWASP "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection): a cell that
# begins with one of these is read by Excel / LibreOffice as a formula (=HYPERLINK(...) sends
# the officer's click, and the row's data, to another site); prefixed with a single quote it
# is shown as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Characters that XML 1.0 (and so an XLSX file) cannot hold: openpyxl raises on them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_cell(value):
    """The value as a spreadsheet must receive it: text beginning like a formula gets a
    leading single quote; numbers and dates are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _xlsx_row(ws, values) -> None:
    ws.append([_XML_ILLEGAL.sub("", v) if isinstance(v, str) else v
               for v in map(safe_cell, values)])
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"  # text is text: never a formula, whatever it begins with


def table_response(name: str, header: list, rows, fmt: str = "csv") -> HttpResponse:
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = name[:31]
        _xlsx_row(ws, header)
        for r in rows:
            _xlsx_row(ws, r)
        buf = io.BytesIO()
        wb.save(buf)
        resp = HttpResponse(buf.getvalue(), content_type=XLSX)
        resp["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return resp
    resp = HttpResponse(content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    resp.write("\ufeff")
    w = csv.writer(resp)
    w.writerow([safe_cell(v) for v in header])
    w.writerows([safe_cell(v) for v in r] for r in rows)
    return resp
