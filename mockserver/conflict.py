"""Another distribution can install a package named ``mockserver`` too (``mockserver-client``,
the MockServer client that ``testcontainers-mockserver`` requires). Installed beside this one,
the last installed overwrites ``mockserver/__init__.py``, and ``pip check`` says nothing. The
pytest plugin and ``marketap-mock`` say so at once instead."""

from __future__ import annotations

import sys
from importlib import metadata

__all__ = ["MARKER", "conflict"]

#: set in this project's ``mockserver/__init__.py``; another ``mockserver`` lacks it
MARKER = "__marketap_mock__"


def conflict() -> str | None:
    """One sentence naming the distribution that replaced ``mockserver``, or None."""
    module = sys.modules.get("mockserver")
    if module is None or getattr(module, MARKER, False):
        return None
    others = [d for d in metadata.packages_distributions().get("mockserver", []) if d != "marketap-mock"]
    owner = ", ".join(sorted(set(others))) or "another distribution"
    return (
        f"marketap-mock: the package `mockserver` was replaced by {owner}, which installs a "
        "`mockserver` package too; install marketap-mock and it in separate virtual environments, "
        f"or uninstall {owner} and reinstall marketap-mock (pip install --force-reinstall marketap-mock)"
    )
