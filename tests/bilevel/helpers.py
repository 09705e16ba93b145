"""Shared checks of the bilevel solver tests."""
import numpy as np

import mathopt


def solve_and_check(problem, method, *, x_tol, y_tol=None, status=mathopt.Status.CONVERGED, **options):
    """Solve and assert the status (CONVERGED unless the test says which other status it expects
    and why) and that x (and y) are within the tolerances of the known solution."""
    result = mathopt.solve(problem, method=method, **options)
    assert result.status is status, (result.status, result.message, result.residuals)
    known = problem.known_solution
    np.testing.assert_allclose(result.x, known["x"], atol=x_tol, rtol=0)
    if y_tol is not None:
        np.testing.assert_allclose(result.y, known["y"], atol=y_tol, rtol=0)
    return result
