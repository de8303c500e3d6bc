import asyncio

import httpx
import pytest
from fastapi import FastAPI, HTTPException

MARKETAP = "https://event.marketap.io"  # hard-coded, as production code often has it
HEADERS = {"Authorization": "Bearer test-api-key"}

app = FastAPI()
# retries=2 resends a request whose connection failed to open; not one already sent
marketap = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(retries=2), timeout=1.5)


async def report(event: dict) -> None:
    response = await marketap.post(
        f"{MARKETAP}/v1/api/events", params={"project_id": "test-project"}, headers=HEADERS,
        json={"events": [event]},
    )
    response.raise_for_status()


@app.post("/orders/{order_id}/shipped")
async def shipped(order_id: str, items: int) -> dict:
    """The code under test: one mkt_ship event per item, sent at once."""
    events = [
        {"id": f"{order_id}-{i}", "name": "mkt_ship", "user_id": "u-1", "properties": {"mkt_order_id": order_id}}
        for i in range(items)
    ]
    try:
        await asyncio.gather(*(report(event) for event in events))
    except httpx.HTTPError as exc:
        raise HTTPException(502, f"Marketap: {type(exc).__name__}") from None
    return {"reported": items}


@app.get("/health")
async def health() -> dict:
    return {"ok": True}


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def shop():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://shop") as client:
        yield client


@pytest.mark.anyio
async def test_eight_items_are_eight_events(shop, marketap_inprocess):
    response = await shop.post("/orders/o-1/shipped", params={"items": 8})

    assert response.json() == {"reported": 8}
    assert len(marketap_inprocess.requests) == 8
    assert sorted(e["id"] for e in marketap_inprocess.events) == [f"o-1-{i}" for i in range(8)]


@pytest.mark.anyio
async def test_latency_does_not_stop_the_service(shop, marketap_inprocess):
    marketap_inprocess.add_latency(1000)  # under the client's timeout of 1.5 s
    done = []

    async def call(name, request):
        await request
        done.append(name)

    shipping = asyncio.create_task(call("shipped", shop.post("/orders/o-1/shipped", params={"items": 8})))
    while len(marketap_inprocess.requests) < 8:  # all eight are sent before any answer comes
        await asyncio.sleep(0.01)
    await call("health", shop.get("/health"))  # the event loop is free while they wait
    await shipping

    assert done == ["health", "shipped"]
    marketap_inprocess.assert_event_sent("mkt_ship", count=8)


@pytest.mark.anyio
async def test_a_dropped_connection_is_not_resent_by_the_transport(shop, marketap_inprocess):
    marketap_inprocess.drop_next()

    response = await shop.post("/orders/o-1/shipped", params={"items": 1})

    assert response.status_code == 502 and response.json() == {"detail": "Marketap: RemoteProtocolError"}
    assert len(marketap_inprocess.requests) == 1 and marketap_inprocess.events == []


@pytest.mark.anyio
async def test_a_slow_answer_is_a_read_timeout(shop, marketap_inprocess):
    marketap_inprocess.add_latency(10_000)  # over the client's timeout

    response = await shop.post("/orders/o-1/shipped", params={"items": 1})

    assert response.json() == {"detail": "Marketap: ReadTimeout"}
    marketap_inprocess.assert_event_sent("mkt_ship", count=1)  # the fake processed it all the same
