"""Phone numbers as member keys."""

from __future__ import annotations

import pytest

from domain.errors import InvalidRequest
from domain.members import normalise_phone

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "raw",
    [
        "13800000001",
        "138 0000 0001",
        "138-0000-0001",
        "+86 138 0000 0001",
        "0086 13800000001",
        "8613800000001",
        " (138) 0000-0001 ",
    ],
)
def test_the_same_mobile_written_many_ways_is_one_number(raw: str) -> None:
    assert normalise_phone(raw) == "13800000001"


def test_landlines_keep_their_digits() -> None:
    assert normalise_phone("0571-8888 6666") == "057188886666"


@pytest.mark.parametrize("raw", ["", "abc", "12", "1380000000x"])
def test_things_that_are_not_phones_are_refused(raw: str) -> None:
    with pytest.raises(InvalidRequest):
        normalise_phone(raw)
