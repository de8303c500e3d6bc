from datetime import datetime

import requests
from django.conf import settings


def report_order(order_id: str, user_id: str, total: int, paid_at: datetime) -> None:
    """The code under test: a paid order becomes Marketap's mkt_purchase event."""
    response = requests.post(
        f"{settings.MARKETAP_URL}/v1/api/events",
        params={"project_id": settings.MARKETAP_PROJECT_ID},
        headers={"Authorization": f"Bearer {settings.MARKETAP_API_KEY}"},
        json={
            "events": [
                {
                    "id": order_id,  # a retry with the same id is stored once
                    "name": "mkt_purchase",
                    "user_id": user_id,
                    "timestamp": paid_at.isoformat(),  # with its time zone: USE_TZ = True
                    "properties": {"mkt_order_id": order_id, "mkt_revenue": total},
                }
            ]
        },
        timeout=5,
    )
    response.raise_for_status()
