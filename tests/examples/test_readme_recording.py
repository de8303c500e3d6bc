"""Staging traffic, recorded once through `marketap-mock proxy --record`, held as a test:
the day the fake (or a new release of it) judges a recorded request otherwise than the real
service did, this fails and says which request and why."""

from pathlib import Path

from mockserver.recording import read_recording
from mockserver.replay import in_process, replay

RECORDING = Path(__file__).with_name("staging.jsonl")


def test_the_fake_agrees_with_what_staging_answered() -> None:
    exchanges = read_recording(RECORDING).exchanges
    result = replay(exchanges, in_process(), api_key="test-api-key", project_id="test-project")
    assert not result.disagreements, result.text()
    assert result.count("agree") == 3  # the 401 for a revoked key is the upstream's to judge
