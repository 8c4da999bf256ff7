"""Barcodes on goods: EAN-13 and its check digit."""

from __future__ import annotations


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
