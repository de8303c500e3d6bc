from __future__ import annotations

import pytest


@pytest.fixture
def pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    # The tests run in a subprocess-free pytester; keep Hypothesis's database out of the tree.
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    return pytester
