"""Independent checks of infeasibility certificates (no mathopt solver code is used; the two checks are
:func:`mathopt.bench.qp.primal_certificate_ok` and :func:`~mathopt.bench.qp.dual_certificate_ok`, also the
criterion of ``mathopt bench --suite netlib-infeas``).

``check_certificate(problem, result)`` recomputes, from the problem data alone, the
conditions a certificate must meet (Banjac et al. 2019, Propositions 3.1-3.2), after
normalizing it to ``||.||_inf = 1``:

* primal infeasibility, ``y`` (length m): ``||A'y||_inf <= tol`` and
  ``u'y_+ + l'y_- <= -tol`` (``+inf`` when y has a positive entry on an infinite upper bound
  or a negative one on an infinite lower bound, which fails);
* dual infeasibility, ``x`` (length n): ``||Px||_inf <= tol``, ``q'x <= -tol``,
  ``(Ax)_i >= -tol`` where ``l_i`` is finite and ``(Ax)_i <= tol`` where ``u_i`` is finite.
"""
from mathopt import Status
# the checks themselves live with the benchmark's criteria (data-only code, no solver code)
from mathopt.bench.qp import CERTIFICATE_TOL as CHECK_TOL  # noqa: F401 - 1e-4 (OSQP's infeasibility tol is 1e-5)
from mathopt.bench.qp import dual_certificate_ok, primal_certificate_ok


def check_certificate(problem, result, tol=CHECK_TOL) -> tuple[bool, str]:
    """(ok, explanation) for the certificate of an infeasibility verdict in ``result``."""
    if result.status is Status.PRIMAL_INFEASIBLE:
        return primal_certificate_ok(problem.A, problem.l, problem.u, result.certificate, tol)
    if result.status is Status.DUAL_INFEASIBLE:
        return dual_certificate_ok(problem.P, problem.q, problem.A, problem.l, problem.u, result.certificate, tol)
    return False, f"no infeasibility verdict (status {result.status.name})"
