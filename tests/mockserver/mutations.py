"""Hypothesis edits of a valid body's text, shared by the fuzz tests."""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["mutations"]


def mutations(raw: bytes) -> st.SearchStrategy[bytes]:
    """Flip, cut, duplicate or insert bytes of a valid body."""
    size = len(raw)
    return st.one_of(
        st.tuples(st.integers(0, size - 1), st.integers(0, 255)).map(
            lambda p: raw[: p[0]] + bytes([p[1]]) + raw[p[0] + 1 :]
        ),
        st.integers(0, size).map(lambda n: raw[:n]),
        st.tuples(st.integers(0, size), st.binary(min_size=1, max_size=20)).map(
            lambda p: raw[: p[0]] + p[1] + raw[p[0] :]
        ),
        st.tuples(
            st.integers(0, size),
            st.sampled_from([b"NaN", b"1e999", b"\\ud800", b"\\u0000", b"[[[[", b'"', b"null"]),
        ).map(lambda p: raw[: p[0]] + p[1] + raw[p[0] :]),
    )
