"""What the QP solvers share: the termination test, the reported point and the result."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..core.driver import IterationInfo, IterativeSolver, make_result
from ..core.status import CONTINUE, Status, from_code
from . import admm_operator as op
from .problem import QPResult


def _rung(iteration: int, interval: int, growth: float) -> int:
    """The largest j with ``interval * growth^j <= iteration`` (-1 below ``interval``)."""
    if iteration < interval:
        return -1
    return int(math.floor(math.log(iteration / interval) / math.log(growth) + 1e-9))


def polishes_at(iteration: int, interval: int, check_interval: int, growth: float = 2.0) -> bool:
    """Certificate polishing at the first test at or after each of the iterations ``interval * growth^j``
    (tests come every ``check_interval``): at most log(max_iter / interval) / log(growth) + 1 tries in a
    run, and at every test while ``interval * growth^j`` is closer than ``check_interval``."""
    if interval <= 0 or iteration < interval:
        return False
    return _rung(iteration, interval, growth) != _rung(iteration - check_interval, interval, growth)


def polish_scheduled(options, iteration: int) -> bool:
    """Whether the test at ``iteration`` is one of :func:`polishes_at`'s, with the options
    ``polish_interval`` (0 when absent) and ``polish_growth`` (2 when absent) of ``options``."""
    return polishes_at(iteration, getattr(options, "polish_interval", 0), options.check_interval,
                       getattr(options, "polish_growth", 2.0))


def termination_test(setup, image: op.Image, iteration: int = 0, polish: bool | None = None
                     ) -> tuple[int, np.ndarray | None]:
    """(status code, certificate) of the termination test at ``image`` (see admm_operator.check), with
    certificate polishing when ``polish`` (None: at the iterations of :func:`polishes_at`, options
    ``polish_interval`` and ``polish_growth``)."""
    options = setup.options
    if polish is None:
        polish = polish_scheduled(options, iteration)
    verdict = op.check(setup.problem, setup.scaled, image, options.residual_tolerances(), options.rel_tol,
                       options.infeasibility_tol, polish=polish)
    return verdict.code, verdict.certificate


#: :func:`early_solution`: solution polishing is tried during a run only at a point whose residuals are
#: all within this factor of their tolerances (1e-3 at the default 1e-6: OSQP's default accuracy, which
#: OSQP reaches and then polishes).
EARLY_POLISH_GATE = 1e3


def _worst_ratio(setup, point: op.Unscaled) -> tuple[float, dict]:
    """The largest residual at ``point`` relative to its tolerance (<= 1: converged), and the residuals."""
    options = setup.options
    tols = options.residual_tolerances()
    values, scales = op.residuals(setup.problem, point)
    return max(values[k] / (tols[k] + options.rel_tol * scales[k]) for k in values), values


def early_solution(setup, image: op.Image, polish: bool) -> op.Unscaled | None:
    """Solution polishing during the run: at the tests where certificate polishing is tried (``polish``:
    the caller's schedule, :func:`polish_scheduled` with the ADMM methods' ``polish_budget``), with
    option ``polish``, a point whose residuals are within :data:`EARLY_POLISH_GATE` of their
    tolerances is polished (:func:`admm_operator.polish_solution`); the polished point is returned when it meets every
    tolerance (the run then ends CONVERGED with it), else None.

    Own addition (OSQP polishes only after its own, looser, termination test): plain ADMM reaches the
    1e-6 tolerances slowly on LPs whose solution is a vertex (random 60 x 100 LPs: 9 of 24 not in
    10 000 iterations; OSQP 1.1.3 with ``polish=False`` did not solve 15 of them), while the active set is right long
    before; the polished point passes the same test as any other, so this can end a run earlier but
    not accept a worse point."""
    options = setup.options
    if not options.polish or not polish:
        return None
    start = op.unscale(setup.scaled, image.x, image.z, image.y)
    if not _worst_ratio(setup, start)[0] <= EARLY_POLISH_GATE:
        return None
    point = op.polish_solution(setup.problem, start)
    if point is None or not _worst_ratio(setup, point)[0] <= 1.0:
        return None
    return point


def initial_code(setup, image: op.Image) -> int:
    """The test at the starting point: only convergence can be claimed before any iteration."""
    code, _ = termination_test(setup, image)
    return code if code == op.CODE_CONVERGED else CONTINUE


class CertifyingSolver(IterativeSolver):
    """A fixed-point QP solver whose state carries ``setup`` (problem, scaled data, options),
    ``image`` (T at the previous iterate: the reported point and the differences), ``code``,
    ``certificate`` and ``restarts``. Subclasses give ``init``, ``advance`` and ``displacement``."""

    def __init__(self, halpern: bool = False):
        self.halpern = halpern

    def displacement(self, state) -> float:
        """Norm of the last fixed-point residual, in the metric of the operator."""
        raise NotImplementedError

    def extra(self, state) -> dict:
        """Method-specific entries of ``result.extra``."""
        return {}

    def terminate(self, state) -> Status | None:
        return from_code(state.code)

    def info(self, state, nit: int, elapsed: float) -> IterationInfo:
        setup = state.setup
        point = op.unscale(setup.scaled, state.image.x, state.image.z, state.image.y)
        values, _ = op.residuals(setup.problem, point)
        values["displacement"] = self.displacement(state)
        return IterationInfo(nit=nit, x=point.x, fun=setup.problem.objective(point.x), residuals=values,
                             elapsed=elapsed, extra={"y": point.y, "z": point.z})

    def polished(self, state, info: IterationInfo) -> IterationInfo | None:
        """The reported point after solution polishing (:func:`admm_operator.polish_solution`), or None
        when polishing fails or does not lower the largest residual relative to its tolerance."""
        setup = state.setup
        problem = setup.problem
        start = op.Unscaled(x=info.x, z=info.extra["z"], y=info.extra["y"])
        point = getattr(state, "polished_point", None)  # found by early_solution: the run's verdict
        if point is None:
            point = op.polish_solution(problem, start)
        if point is None:
            return None
        before, _ = _worst_ratio(setup, start)
        after, values = _worst_ratio(setup, point)
        if not (np.isfinite(after) and after < before):
            return None
        values["displacement"] = info.residuals["displacement"]
        return replace(info, x=point.x, fun=problem.objective(point.x), residuals=values,
                       extra={"y": point.y, "z": point.z})

    def finalize(self, state, status: Status, info: IterationInfo, history) -> QPResult:
        infeasible = status in (Status.PRIMAL_INFEASIBLE, Status.DUAL_INFEASIBLE)
        polished = None
        if status is Status.CONVERGED and state.setup.options.polish:
            polished = self.polished(state, info)
            info = polished or info
        y = info.extra["y"]
        extra = {"multipliers": y, "z": info.extra["z"], "polished": polished is not None, **self.extra(state)}
        if self.halpern:
            extra["restarts"] = state.restarts
        return make_result(info, status, history, result_cls=QPResult, y=y,
                           certificate=state.certificate if infeasible else None, extra=extra)
