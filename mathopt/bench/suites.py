"""Problem suites the benchmark runner knows: problems are loaded by name in each worker."""
from __future__ import annotations

NLP_SUITES = ("builtin", "cutest")
#: The LP/QP suites (files of the shared collections; see :mod:`mathopt.bench.qp`).
QP_SUITES = ("maros-meszaros", "netlib-lp", "netlib-infeas")
SUITES = NLP_SUITES + QP_SUITES

#: Hong, Na, Mahoney & Kolar (ICML 2023, arXiv:2305.18379): their 47 equality-constrained CUTEst
#: problems, in the order of the authors' released ``CUTEst/Parameter/problems.txt``.
AL_PAPER_PROBLEMS = (
    "HS6", "BT5", "BT9", "HS28", "BT10", "HIMMELBA", "BT12", "HS40", "BT3", "BT6", "BT11", "HS7", "GENHS28",
    "HS51", "SINVALNE", "BOOTH", "HS52", "HS47", "WAYSEA1NE", "HS48", "HS50", "RSNBRNE", "CUBENE", "HS77",
    "MWRIGHT", "ZANGWIL3", "TRIGON1NE", "BA-L1SP", "HS78", "HS56", "HELIXNE", "HS42", "HS79", "ORTHREGB",
    "HS100LNP", "GOTTFR", "HIMMELBE", "MOREBVNE", "WAYSEA2NE", "DENSCHNCNE", "DENSCHNFNE", "HIMMELBC",
    "PRICE4NE", "INTEQNE", "BA-L1", "MANCINONE", "BT2",
)
#: The problems of :data:`AL_PAPER_PROBLEMS` that have no SIF file in the MASTSIF set CUTEst is
#: built with here (``../shared/cutest/mastsif.tar.gz``, 1,060 problems): unavailable.
AL_PAPER_NOT_IN_MASTSIF = ("SINVALNE", "TRIGON1NE", "BA-L1SP", "HIMMELBE", "MOREBVNE", "DENSCHNCNE", "BA-L1")


class UnknownProblemError(ValueError):
    """Problem names that are not in the suite (the message lists the valid names)."""


def check_problems(suite: str, names) -> None:
    """Raise before any run if a suite cannot be used or a problem name is not in it.

    ``builtin``: :class:`UnknownProblemError` listing the valid names. LP/QP suites:
    :class:`~mathopt.bench.qp.DataUnavailable` (an OSError) without the data folder,
    :class:`UnknownProblemError` listing the valid names. ``cutest``:
    :class:`~mathopt.problems.cutest.CUTEstUnavailable` without pycutest/CUTEst,
    :class:`UnknownProblemError` naming the problems with no ``$MASTSIF/<NAME>.SIF``.
    """
    names = list(names)
    if not names:
        raise UnknownProblemError(f"no problems given for suite {suite!r}")
    if suite == "builtin":
        from ..problems import hs

        valid = hs.names()
        unknown = [n for n in names if n not in valid]
        if unknown:
            raise UnknownProblemError(f"unknown builtin problem(s) {', '.join(unknown)}; valid names: "
                                      f"{', '.join(valid)}")
        return
    if suite in QP_SUITES:
        from . import qp

        qp.check_problems(suite, names)
        return
    if suite == "cutest":
        from ..problems import cutest

        cutest.check_installation()
        messages = []
        for name in names:
            try:
                cutest.check_name(name)
            except cutest.NotInMASTSIF as exc:
                messages.append(str(exc))
        if messages:
            raise UnknownProblemError("; ".join(messages) + " (valid names: the *.SIF files of $MASTSIF)")
        return
    raise ValueError(f"unknown suite {suite!r}; choose one of {SUITES}")


def load_problem(suite: str, name: str):
    """The problem named ``name`` in ``suite`` ("builtin": :mod:`mathopt.problems.hs`; "cutest": pycutest;
    the LP/QP suites: :func:`mathopt.bench.qp.load`)."""
    if suite in QP_SUITES:
        from . import qp

        return qp.load(suite, name)
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
    LP/QP suites: every file of the suite's folder, or ``"max-size=N"`` for those with n + m <= N.
    """
    if suite in QP_SUITES:
        from . import qp

        return qp.names(suite, classification)
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
