"""Problem suites the benchmark runner knows: problems are loaded by name in each worker."""
from __future__ import annotations

SUITES = ("builtin", "cutest")


def load_problem(suite: str, name: str):
    """The NLP named ``name`` in ``suite`` ("builtin": :mod:`mathopt.problems.hs`; "cutest": pycutest)."""
    if suite == "builtin":
        from ..problems import hs

        return hs.load(name)
    if suite == "cutest":
        from ..problems import cutest

        return cutest.load(name)
    raise ValueError(f"unknown suite {suite!r}; choose one of {SUITES}")


def suite_problems(suite: str, classification: str | None = None) -> list[str]:
    """Problem names of a suite.

    ``builtin``: ``classification`` is ``"equality"`` (default), ``"general"``
    or ``"all"``. ``cutest``: a pycutest classification string such as
    ``"QQR2-AN-*-*"`` or a comma-separated ``key=value`` filter understood by
    :func:`mathopt.problems.cutest.names` (required: CUTEst has ~1500 problems).
    """
    if suite == "builtin":
        from ..problems import hs

        kind = classification or "equality"
        return hs.names(None if kind == "all" else kind)
    if suite == "cutest":
        from ..problems import cutest

        if not classification:
            raise ValueError("--suite cutest needs --problems or --classification")
        return cutest.names(classification)
    raise ValueError(f"unknown suite {suite!r}; choose one of {SUITES}")
