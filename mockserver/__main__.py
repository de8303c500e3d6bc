"""``python -m mockserver serve``: the same as ``marketap-mock serve``."""

from mockserver.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
