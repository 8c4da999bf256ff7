"""Barcodes: the check digit a scanner's code ends in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.barcodes import check_digit, ean13, is_valid


def test_a_printed_ean13_checks_out() -> None:
    assert check_digit("400638133393") == "1"
    assert is_valid("4006381333931") and not is_valid("4006381333932")
    assert is_valid("96385074")  # EAN-8


@given(st.text("0123456789", min_size=12, max_size=12), st.integers(1, 9))
def test_any_one_wrong_digit_is_caught(body: str, shift: int) -> None:
    code = ean13(body)
    for i in range(13):
        wrong = code[:i] + str((int(code[i]) + shift) % 10) + code[i + 1 :]
        assert not is_valid(wrong)


def test_a_body_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="12 digits"):
        ean13("123")
