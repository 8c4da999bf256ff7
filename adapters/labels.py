"""Shipping labels as PDF (fpdf2): 100 x 150 mm, the waybill number as a Code 39 barcode, the
recipient's and the sender's addresses, and the part's lines. Chinese text needs a CJK font:
`OMS_LABEL_FONT`, else the first of the usual system fonts (Debian's `fonts-wqy-microhei`, Noto
CJK); without one, DejaVu or the PDF core font, which print Latin only."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fpdf import FPDF

FONTS = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
]
CODE39 = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%")


@dataclass(frozen=True)
class Label:
    carrier: str
    waybill: str
    order_id: str
    fulfilment_id: str
    sender: dict[str, Any]  # name, province, city
    recipient: dict[str, Any]  # recipient, phone, province, city, line1
    lines: list[tuple[str, str, int]]  # sku, name, qty
    weight_g: int


def font_file() -> Path | None:
    wanted = os.environ.get("OMS_LABEL_FONT")
    for path in ([wanted] if wanted else []) + FONTS:
        if Path(path).exists():
            return Path(path)
    return None


def render(label: Label) -> bytes:
    pdf = FPDF(unit="mm", format=(100, 150))
    pdf.set_auto_page_break(auto=True, margin=6)
    pdf.set_margins(6, 6, 6)
    pdf.set_title(f"Shipping label {label.waybill}")  # readable by machines too
    pdf.add_page()
    family, latin_only = _font(pdf)

    def text(value: object) -> str:
        s = str(value)
        return s.encode("latin-1", "replace").decode("latin-1") if latin_only else s

    pdf.set_font(family, size=15)
    pdf.cell(0, 7, text(label.carrier), new_x="LMARGIN", new_y="NEXT")
    number = label.waybill.upper()
    if set(number) <= CODE39:
        pdf.code39(f"*{number}*", x=6, y=pdf.get_y() + 1, w=0.28, h=14)
        pdf.set_y(pdf.get_y() + 16)
    pdf.set_font(family, size=12)
    pdf.cell(0, 6, text(number), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(2)
    r = label.recipient
    _block(
        pdf,
        family,
        text,
        "To",
        [
            f"{r.get('recipient') or ''}  {r.get('phone') or ''}".strip(),
            f"{r.get('province', '')} {r.get('city', '')}".strip(),
            str(r.get("line1") or ""),
        ],
    )
    s = label.sender
    _block(
        pdf,
        family,
        text,
        "From",
        [str(s.get("name", "")), f"{s.get('province', '')} {s.get('city', '')}".strip()],
    )
    pdf.set_font(family, size=8)
    pdf.cell(
        0,
        4,
        text(f"Order {label.order_id}  part {label.fulfilment_id}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(0, 4, text(f"Weight {label.weight_g / 1000:.2f} kg"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    for sku, name, qty in label.lines:
        pdf.multi_cell(0, 4, text(f"{qty} x {name} ({sku})"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _font(pdf: FPDF) -> tuple[str, bool]:
    """The label's font family, and whether it prints Latin only."""
    path = font_file()
    if path is None:
        return "Helvetica", True
    pdf.add_font("Label", fname=str(path))
    return "Label", False


def _block(pdf: FPDF, family: str, text: Any, title: str, lines: list[str]) -> None:
    pdf.set_font(family, size=8)
    pdf.cell(0, 4, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=11)
    for line in lines:
        if line:
            pdf.multi_cell(0, 5, text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
