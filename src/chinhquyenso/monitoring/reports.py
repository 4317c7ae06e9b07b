"""The monthly PDF report of the index (fpdf2, DejaVu fonts for Vietnamese)."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF

FONT_DIR = Path(__file__).resolve().parent.parent / "core" / "fonts"
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _num(x) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{x:,}".replace(",", ".")


def monthly_pdf(idx: dict, advice: list, *, generated: datetime) -> bytes:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", FONT_DIR / "DejaVuSans.ttf")
    pdf.add_font("DejaVu", "B", FONT_DIR / "DejaVuSans-Bold.ttf")
    pdf.set_title(f"Báo cáo Bộ chỉ số 766 – {idx['unit_name']} – {idx['period_label']}")
    pdf.set_creator("Chính quyền số")
    pdf.set_lang("vi-VN")
    pdf.set_creation_date(generated)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(0, 7, "BÁO CÁO CHỈ SỐ CHẤT LƯỢNG PHỤC VỤ NGƯỜI DÂN, DOANH NGHIỆP "
                   "(Quyết định 766/QĐ-TTg)", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 11)
    pdf.multi_cell(0, 6, f"Đơn vị: {idx['unit_name']} ({idx['unit']}) — Kỳ: "
                   f"{idx['period_label']} — số liệu đến ngày {idx['as_of']}",
                   align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 13)
    pdf.cell(0, 8, f"Tổng điểm: {_num(idx['total'])}/100", new_x="LMARGIN", new_y="NEXT")
    widths = (14, 92, 22, 22, 20)
    for g in idx["groups"]:
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 8, f"{g['code']}. {g['name']}: {_num(g['score'])}/{_num(g['max'])}",
                 new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 8.5)
        with pdf.table(col_widths=widths, text_align=("LEFT", "LEFT", "RIGHT", "RIGHT",
                                                      "RIGHT")) as table:
            table.row(["Mã", "Chỉ số", "Tử/mẫu số", "Tỷ lệ (%)", "Điểm"])
            for i in g["indicators"]:
                table.row([i["code"], i["name"],
                           f"{_num(i['numerator'])}/{_num(i['denominator'])}",
                           _num(i["ratio"]), f"{_num(i['score'])}/{_num(i['max'])}"])
    if advice:
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 9, "Để đạt điểm tối đa", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9)
        for a in advice[:12]:
            pdf.multi_cell(0, 5, f"• {a['code']} {a['name']}: {a['text']}",
                           new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("DejaVu", "", 8)
    pdf.multi_cell(0, 4, "Cách tính theo hành vi của Cổng Dịch vụ công quốc gia (nền tảng "
                   "2026); chỉ số 1.1, 1.2, 4.4, 4.5 chưa có dữ liệu trên nền tảng nên không "
                   f"được chấm. Lập lúc {generated.astimezone(VN):%H:%M %d/%m/%Y}.",
                   new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
