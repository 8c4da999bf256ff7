"""Barcodes on goods: EAN-13 and its check digit, and shelf scales' labels (prefix 2)."""

from __future__ import annotations

from dataclasses import dataclass


def check_digit(body: str) -> str:
    """The EAN-13 (or EAN-8, UPC-A) check digit of the digits before it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def ean13(body: str) -> str:
    """The 13-digit code of these 12 digits."""
    if len(body) != 12 or not body.isdigit():
        raise ValueError(f"an EAN-13 body is 12 digits, not {body!r}")
    return body + check_digit(body)


def is_valid(code: str) -> bool:
    """Whether the code's last digit is its check digit (EAN-8, UPC-A, EAN-13, ITF-14)."""
    return code.isdigit() and len(code) in (8, 12, 13, 14) and check_digit(code[:-1]) == code[-1]


# A shelf scale's label: EAN-13 with prefix 2 (in-store use), laid out as
#   2 | K | PPPPP | VVVVV | C
# K: 1 when V is the weight in grams, 2 when V is the price in fen; PPPPP: the item's scale
# code (PLU, the SKU's `plu`); VVVVV: the weight or the price; C: the check digit.
WEIGHT_LABEL, PRICE_LABEL = "1", "2"


@dataclass(frozen=True)
class ScaleLabel:
    plu: str
    grams: int | None = None  # the weight, when the label carries it
    price_amount: int | None = None  # the price in fen, when the label carries it instead

    def weight(self, price_per_kg: int) -> int:
        """The weighed grams: printed, or worked back from the price at `price_per_kg`."""
        if self.grams is not None:
            return self.grams
        assert self.price_amount is not None
        return (self.price_amount * 1000 + price_per_kg // 2) // max(1, price_per_kg)


def scale_label(code: str) -> ScaleLabel | None:
    """The scale label in `code`, or None when it is not one (any other barcode)."""
    if len(code) != 13 or code[0] != "2" or code[1] not in (WEIGHT_LABEL, PRICE_LABEL):
        return None
    if not is_valid(code):
        return None
    plu, value = code[2:7], int(code[7:12])
    if code[1] == WEIGHT_LABEL:
        return ScaleLabel(plu, grams=value)
    return ScaleLabel(plu, price_amount=value)


def scale_code(plu: str, *, grams: int | None = None, price_amount: int | None = None) -> str:
    """The label a scale prints (for the demo and the tests)."""
    kind, value = (WEIGHT_LABEL, grams) if grams is not None else (PRICE_LABEL, price_amount)
    assert value is not None and 0 <= value <= 99_999 and len(plu) == 5 and plu.isdigit()
    return ean13(f"2{kind}{plu}{value:05d}")
