"""The FastAPI example run with a real-looking key of its own: whatever fails, no run of the key
is in what pytest prints (the Django shop's run is in test_django_shop.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.mockserver.test_secrets import SECRET, assert_hidden

EXAMPLE = Path(__file__).parent / "test_docs_fastapi.py"

FAILING = '''

@pytest.mark.anyio
async def test_another_user(shop, marketap_inprocess):
    await shop.post("/orders/o-1/shipped", params={"items": 1})
    marketap_inprocess.assert_event_sent("mkt_ship", user_id="u-2")


@pytest.mark.anyio
async def test_an_old_key(shop, marketap_inprocess, monkeypatch):
    monkeypatch.setitem(HEADERS, "Authorization", HEADERS["Authorization"] + "-old")
    assert (await shop.post("/orders/o-1/shipped", params={"items": 1})).status_code == 502
    marketap_inprocess.assert_event_sent("mkt_ship")
'''


@pytest.mark.slow
def test_the_fastapi_services_key_is_never_shown(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = EXAMPLE.read_text(encoding="utf-8")
    assert "Bearer test-api-key" in source
    pytester.makepyfile(test_service=source.replace("test-api-key", SECRET) + FAILING)
    for name in [name for name in os.environ if name.startswith("MARKETAP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MARKETAP_API_KEY", SECRET)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-vv", "-l", "-rA")
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(
        [
            "E         events[0] 'mkt_ship' user_id='u-1': user_id is 'u-1', expected 'u-2'",
            "E         #1 POST /v1/api/events -> 401: Authorization: unknown API key sk_l****",
        ]
    )
    assert_hidden("\n".join(result.outlines + result.errlines))
