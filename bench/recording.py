"""What recording costs: a 1,000-event POST through the whole app in process, with a recorder
writing each exchange to a file (flushed per line), as a ratio to the same POST without one.

Run: ``python -m bench.recording``. The two are measured in alternating rounds, so each round's
ratio shares the machine's state of the moment; the target (at most 1.5x) is judged by the
median of the rounds' ratios.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.bodies import events_body
from bench.inprocess import HEADERS, URL
from bench.report import side_by_side, target
from mockserver import Backend, create_app
from mockserver.recording import Recorder


def client(recorder: Recorder | None) -> Any:
    backend = Backend({"journal_max_entries": 1000, "max_stored_events": 100_000})
    if recorder is not None:
        backend.listen(recorder)
    return create_app(backend=backend).test_client()


def main() -> int:
    body = events_body(1000, kind="purchase")
    with tempfile.TemporaryDirectory() as folder:
        # A large limit: the bench measures writing, not the recorder stopping.
        recorder = Recorder(Path(folder) / "bench.jsonl", max_bytes=1 << 40)
        plain, recorded = client(None), client(recorder)

        def post(app: Any) -> None:
            response = app.post(URL, data=body, headers=HEADERS)
            assert response.status_code == 202, response.data

        ratio, without, with_recorder = side_by_side(lambda: post(plain), lambda: post(recorded))
        recorder.close()
    print(
        f"1,000 purchase events ({len(body):,} B): {without:.3f} ms without, {with_recorder:.3f} ms recorded"
    )
    met = target("in-process 1,000-event POST recorded / not recorded", ratio, 1.5, at_most=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
