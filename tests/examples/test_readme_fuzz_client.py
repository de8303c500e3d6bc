import requests
from hypothesis import given, settings

from pytest_plugin.strategies import event_batches


def send_all(base_url: str, api_key: str, project_id: str, events: list[dict]) -> None:
    """The code under test: it sends any number of events, 1,000 per call at most."""
    with requests.Session() as session:
        for start in range(0, len(events), 1000):
            session.post(
                f"{base_url}/v1/api/events",
                params={"project_id": project_id},
                headers={"Authorization": f"Bearer {api_key}"},
                json={"events": events[start : start + 1000]},
                timeout=10,
            ).raise_for_status()


@settings(max_examples=20, deadline=None)
@given(first=event_batches(), second=event_batches())
def test_send_all_delivers_every_event(marketap_server, first, second):
    marketap_server.reset()  # function fixtures do not reset between examples
    events = first + second

    send_all(marketap_server.url, marketap_server.api_key, marketap_server.project_id, events)

    marketap_server.assert_no_rejected_requests()
    distinct = {e.get("id", i) for i, e in enumerate(events)}  # a repeated id is stored once
    assert len(marketap_server.events) == len(distinct)
