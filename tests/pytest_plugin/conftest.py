from __future__ import annotations

import pytest


@pytest.fixture
def pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    # The tests run in a subprocess-free pytester; keep Hypothesis's database out of the tree,
    # and set pytest-asyncio's loop scope as a user's ini file would (it warns otherwise).
    pytester.makeini(
        "[pytest]\naddopts = -p no:cacheprovider\nasyncio_default_fixture_loop_scope = function\n"
    )
    return pytester
