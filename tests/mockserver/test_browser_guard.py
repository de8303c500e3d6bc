"""The Host check's cache changes neither its answers nor the memory a hostile client can take."""

from __future__ import annotations

from mockserver.browser_guard import _SEEN_MAX, HostGuard


def test_answers_are_the_same_the_first_time_and_every_time_after() -> None:
    guard = HostGuard(["shop.test"])
    hosts = {
        "localhost:8080": True,
        "127.0.0.1:8080": True,
        "[::1]:80": True,
        "SHOP.test.": True,
        "evil.example": False,
        "127.0.0.1.evil.example": False,
    }
    for _ in range(3):
        assert {host: guard.allows(host) for host in hosts} == hosts


def test_a_client_sending_a_new_host_each_time_cannot_grow_the_cache() -> None:
    guard = HostGuard()
    for i in range(_SEEN_MAX * 10):
        assert not guard.allows(f"evil-{i}.example")
        assert guard.allows(f"10.0.{i // 256 % 256}.{i % 256}")
    assert len(guard._seen) == _SEEN_MAX
    assert not guard.allows("evil-late.example")
    assert guard.allows("localhost")
