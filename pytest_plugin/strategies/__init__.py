"""Hypothesis strategies for Marketap Open API payloads, valid and invalid.

Valid data is valid by construction, from the rules in :mod:`mockserver.spec` (the module the
fake's validator reads), never by filtering through the validator. Each invalid example breaks
exactly one rule and says which, so a failing test reads like a sentence and shrinking ends
at one explainable defect::

    @given(case=invalid_bodies("/v1/api/events"))
    def test_my_client_reports_rejections(case):
        ...  # send case.content(); case.field == "events[0].timestamp", case.reason, case.status

Bulk batches draw a small pool of items and a size, then repeat the pool to that size, so
1,000-item batches are cheap to generate and sizes 1 and 1,000 come up often.

The modules divide the work: :mod:`.cases` holds the case types, :mod:`.times` the timestamps,
:mod:`.valid` valid data, :mod:`.defects` the defects of a body and :mod:`.request_defects`
those of a request's method, headers and query.
"""

from __future__ import annotations

from pytest_plugin.strategies.cases import InvalidCase, InvalidRequest, RawBody
from pytest_plugin.strategies.defects import invalid_bodies, oversized_bodies
from pytest_plugin.strategies.request_defects import invalid_requests
from pytest_plugin.strategies.times import invalid_timestamps, timestamps
from pytest_plugin.strategies.valid import (
    device_batches,
    devices,
    event_batches,
    events,
    profile_batches,
    properties,
    user_id_batches,
    user_ids,
    user_profiles,
    valid_bodies,
)

__all__ = [
    "InvalidCase",
    "InvalidRequest",
    "RawBody",
    "device_batches",
    "devices",
    "event_batches",
    "events",
    "invalid_bodies",
    "invalid_requests",
    "invalid_timestamps",
    "oversized_bodies",
    "profile_batches",
    "properties",
    "timestamps",
    "user_id_batches",
    "user_ids",
    "user_profiles",
    "valid_bodies",
]
