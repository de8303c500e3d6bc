"""Per-test cost of the fixtures, as a ratio to an empty test; and ``marketap_inprocess`` with
one ``requests`` post as a ratio to the same test with plain ``responses`` (no validation, no
state), the target: at most 1.2x.

Run: ``python -m bench.plugin_overhead``. One pytest run holds every kind of test, interleaved
(the kinds take turns, one test each), so they share the machine's noise. Each figure is the
median of setup + call + teardown over the run; the target's ratio is taken in rounds of
consecutive turns and printed as the median of the rounds with their spread.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from bench.report import Ratio, target

N = 200
#: the most marketap_inprocess may cost against plain responses
GOAL = 1.2
TESTS = """
import re
import httpx, requests, responses

BODY = {"events": [{"name": "mkt_login", "user_id": "u-1"}]}
URL = "https://event.marketap.io/v1/api/events?project_id=test-project"
HEADERS = {"Authorization": "Bearer test-api-key"}
# clients made once, as an application would: httpx builds an SSL context per client (~18 ms)
HTTPX = httpx.Client()
SESSION = requests.Session()

def test_empty(i):
    pass

def test_live(marketap, i):
    response = SESSION.post(marketap.url_for("/v1/api/events"), json=BODY, headers=marketap.headers)
    assert response.status_code == 202

def test_responses(i):
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, re.compile("https://event.marketap.io/.*"), status=202)
        response = SESSION.post(URL, json=BODY, headers=HEADERS)
    assert response.status_code == 202

def test_inprocess(marketap_inprocess, i):
    response = SESSION.post(URL, json=BODY, headers=HEADERS)
    assert response.status_code == 202

def test_respx(marketap_respx, i):
    response = HTTPX.post(marketap_respx.url_for("/v1/api/events"), json=BODY, headers=marketap_respx.headers)
    assert response.status_code == 202
"""
#: turns of the kinds per round of the ratio
ROUND = 20
CONFTEST = f"""
import pytest

@pytest.fixture(params=range({N}))
def i(request):
    return request.param

def pytest_collection_modifyitems(items):
    # the kinds take turns: each test of turn i, then each of turn i + 1 (a stable sort keeps
    # the kinds in file order within a turn)
    items.sort(key=lambda item: item.callspec.params["i"])
"""


class Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def pytest_runtest_logreport(self, report: Any) -> None:
        kind, _, turn = report.nodeid.split("::")[1].partition("[")
        self.seconds[kind][turn.rstrip("]")] += report.duration

    def rounds(self, kind: str, floor: str) -> Ratio:
        """``kind`` against ``floor``: per round of :data:`ROUND` turns, the ratio of their
        medians."""
        out = []
        for start in range(0, N, ROUND):
            turns = [str(i) for i in range(start, start + ROUND)]
            costs = [statistics.median(self.seconds[k][t] for t in turns) for k in (kind, floor)]
            out.append(costs[0] / costs[1])
        return Ratio(tuple(out))


def main() -> int:
    timer = Timer()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "test_overhead.py").write_text(TESTS)
        Path(tmp, "conftest.py").write_text(CONFTEST)
        code = pytest.main(
            [
                tmp,
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:randomly",
                "--no-header",
                "-o",
                "addopts=",
                "-W",
                "ignore",
            ],
            plugins=[timer],
        )
    if code != 0:
        return int(code)
    medians = {kind: statistics.median(per.values()) * 1000 for kind, per in timer.seconds.items()}
    empty = medians["test_empty"]
    print(f"\n{'test':<42} {'median ms':>10} {'x empty test':>13}")
    for kind, label in (
        ("test_empty", "empty test"),
        ("test_live", "marketap, one event (requests)"),
        ("test_respx", "marketap_respx, one event (httpx)"),
        ("test_responses", "plain responses, one post"),
        ("test_inprocess", "marketap_inprocess, one event (requests)"),
    ):
        print(f"{label:<42} {medians[kind]:>10.3f} {medians[kind] / empty:>12.1f}x")
    ratio = timer.rounds("test_inprocess", "test_responses")
    met = target("marketap_inprocess / plain responses, one requests post", ratio, GOAL, at_most=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
