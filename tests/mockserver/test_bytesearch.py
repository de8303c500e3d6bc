"""The search through a needle's rarest byte finds exactly what Python's own search finds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.bytesearch import occurs


@given(st.data())
def test_the_search_through_the_rarest_byte_finds_what_a_plain_search_finds(data: st.DataObject) -> None:
    alphabet = data.draw(st.sampled_from([b"ab", b"aQ", b"kK-e", b"\x00\xff", bytes(range(256))]))
    letters = st.sampled_from(list(alphabet))
    needle = bytes(data.draw(st.lists(letters, max_size=6)))
    haystack = bytes(data.draw(st.lists(letters, max_size=300)))
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(haystack)))
        haystack = haystack[:at] + needle + haystack[at:]
    assert occurs(needle, haystack, plain_below=0) == (needle in haystack)


@pytest.mark.parametrize(
    ("needle", "haystack", "found"),
    [
        (b"Qxyz", b"Q" * 100 + b"Qxyz", True),  # past the places tried one by one
        (b"Qxyz", b"Q" * 16 + b"Qxyz", True),  # at the first place not tried one by one
        (b"xQyz", b"xQ" * 16 + b"xQyz", True),  # the same, the rare byte inside the needle
        (b"Qxyz", b"Q" * 100 + b"Qxy", False),
        (b"Qxyz", b"Qxyz" + b"Q" * 100, True),
        (b"Qxyz", b"xyzQ" * 30 + b"Qxyz", True),  # each try one byte short
        (b"Qxyz", b"", False),
    ],
)
def test_a_rare_byte_met_often_hands_over_to_the_plain_search(
    needle: bytes, haystack: bytes, found: bool
) -> None:
    assert occurs(needle, haystack, plain_below=0) is found
