"""Timestamps in the forms a fake accepts, and the defects it refuses."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from mockserver import spec

__all__ = ["invalid_timestamps", "timestamps"]

_OFFSETS = st.one_of(
    st.just("Z"),
    st.sampled_from(["+09:00", "-03:30", "+05:30", "+00:00", "-08:00", "+14:00", "-12:00"]),
    st.builds(
        lambda sign, h, m: f"{sign}{h:02d}:{m:02d}",
        st.sampled_from("+-"),
        st.integers(0, 23),
        st.integers(0, 59),
    ),
)
_LEAP_DAYS = st.sampled_from([y for y in range(1904, 2100, 4) if y % 100 or y % 400 == 0]).map(
    lambda y: datetime(y, 2, 29)
)


def _format(moment: datetime, fraction: str, zone: str) -> str:
    # not strftime: it leaves years before 1000 unpadded on some platforms
    m = moment
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}{fraction}{zone}"
    )


def _iso8601(stamp: str, basic: bool, comma: bool, zone_form: str) -> str:
    """``stamp`` (RFC 3339) in one of ISO 8601's other forms, the same instant."""
    date, time, rest = stamp[:10], stamp[11:19], stamp[19:]
    fraction = rest[: len(rest) - len(rest.lstrip(".0123456789"))]
    zone = rest[len(fraction) :]
    if basic:
        date, time = date.replace("-", ""), time.replace(":", "")
    if comma:
        fraction = fraction.replace(".", ",")
    if zone not in ("", "Z") and zone_form != "extended":
        zone = zone[:3] if zone_form == "hours" and zone.endswith(":00") else zone.replace(":", "")
    return f"{date}T{time}{fraction}{zone}"


def _check_timestamp_settings(naive: object, timestamp_format: object) -> None:
    if not isinstance(naive, bool):
        raise InvalidArgument(f"naive={naive!r} must be True or False")
    if timestamp_format not in spec.TIMESTAMP_FORMATS:
        choices = " or ".join(map(repr, spec.TIMESTAMP_FORMATS))
        raise InvalidArgument(f"timestamp_format={timestamp_format!r} must be {choices}")


def timestamps(*, naive: bool = False, timestamp_format: str = "rfc3339") -> st.SearchStrategy[str]:
    """RFC 3339 date-times: ``Z`` or offsets such as ``+09:00`` and ``-03:30``, with and without
    fractional seconds, leap days included. ``naive=True`` also leaves the zone out sometimes
    (for a fake with ``allow_naive_timestamps``). ``timestamp_format="iso8601"`` also draws
    ISO 8601's other forms, as a fake with that setting accepts them: the basic form
    (``20250117T053922Z``), a comma before the fraction, and the offsets ``+0900`` and ``+09``.

    Shrinks towards ``2000-01-01T00:00:00Z``."""
    _check_timestamp_settings(naive, timestamp_format)
    moments = st.one_of(
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31)),
        _LEAP_DAYS,
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    )
    fractions = st.one_of(
        st.just(""), st.integers(1, 9).flatmap(lambda n: st.from_regex(rf"\.[0-9]{{{n}}}", fullmatch=True))
    )
    zones = st.one_of(_OFFSETS, st.just("")) if naive else _OFFSETS
    rfc3339 = st.builds(_format, moments, fractions, zones)
    if timestamp_format == "rfc3339":
        return rfc3339
    forms = st.sampled_from(["extended", "basic", "hours"])
    return st.one_of(rfc3339, st.builds(_iso8601, rfc3339, st.booleans(), st.booleans(), forms))


_BAD_TIMESTAMPS = [
    ("2025-13-01T00:00:00Z", "month 13"),
    ("2025-02-30T00:00:00Z", "February 30"),
    ("2023-02-29T00:00:00Z", "February 29 in a common year"),
    ("2025-04-31T00:00:00Z", "April 31"),
    ("2025-01-17T24:00:00Z", "hour 24"),
    ("2025-01-17T25:00:00Z", "hour 25"),
    ("2025-01-17T05:60:00Z", "minute 60"),
    ("2025-01-17T05:39:60Z", "second 60"),
    ("2025-01-17T05:39:22+25:00", "offset +25:00"),
    ("2025-01-17 05:39:22Z", "a space instead of T"),
    ("20250117T053922Z", "the basic form"),
    ("2025-01-17T05:39:22+0900", "an offset without a colon"),
    ("2025-01-17T05:39:22+09", "an offset without minutes"),
    ("2025-01-17", "a date alone"),
    ("05:39:22Z", "a time alone"),
    ("1700000000", "a digit string"),
    ("2025/01/17 05:39", "slashes"),
    ("17.01.2025 05:39:22", "a local format"),
    ("0000-01-01T00:00:00Z", "year 0"),
    ("2025-01-17T05:39:22", "no time zone"),
    ("", "an empty string"),
]


def invalid_timestamps(
    *, naive: bool = False, timestamp_format: str = "rfc3339"
) -> st.SearchStrategy[tuple[Any, str]]:
    """``(value, what is wrong with it)``: every timestamp defect the contract names, and
    non-string values (numbers, objects). The settings are those of :func:`timestamps`: what a
    fake with them accepts (the basic form under ``"iso8601"``, no zone with ``naive=True``) is
    left out. Shrinks towards the first listed defect."""
    _check_timestamp_settings(naive, timestamp_format)
    accepted = re.compile(spec.timestamp_pattern(timestamp_format, naive=naive))
    return st.one_of(
        st.sampled_from([case for case in _BAD_TIMESTAMPS if not accepted.fullmatch(case[0])]),
        st.integers(0, 2**40).map(lambda n: (n, "a number instead of a string")),
        st.just(({"at": "2025-01-17T05:39:22Z"}, "an object instead of a string")),
        st.just((True, "a boolean instead of a string")),
        timestamps().map(lambda t: (t.replace("T", " ", 1), "a space instead of T")),
    )
