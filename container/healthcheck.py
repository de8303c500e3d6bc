"""The image's health check: GET /_mock/health on the container's own port answers 200.

Sends the control token when one is set in the environment, as the control plane then asks.
"""

import os
import sys
import urllib.request

request = urllib.request.Request("http://127.0.0.1:8080/_mock/health")
token = os.environ.get("MARKETAP_MOCK_CONTROL_TOKEN")
if token:
    request.add_header("Authorization", f"Bearer {token}")
try:
    with urllib.request.urlopen(request, timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
