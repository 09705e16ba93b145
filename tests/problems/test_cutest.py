"""The pycutest adapter (skipped without pycutest/CUTEst) and its error message."""
import sys

import numpy as np
import pytest

import mathopt
from mathopt.problems import cutest


def test_missing_pycutest_gives_install_instructions(monkeypatch):
    monkeypatch.setitem(sys.modules, "pycutest", None)  # makes "import pycutest" raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'mathopt\[cutest\]'") as info:
        cutest.load("HS28")
    assert isinstance(info.value, cutest.CUTEstUnavailable)
    assert "MASTSIF" in str(info.value)
    with pytest.raises(cutest.CUTEstUnavailable):
        cutest.names("QQR2-AN-*-*")


def test_classification_filter_parsing():
    assert cutest.classification_filter("QQR2-AN-*-*") == {
        "objective": "Q", "constraints": "Q", "regular": True, "degree": [2, 2], "origin": "A", "internal": False}
    assert cutest.classification_filter("*O**-**-5-3") == {"constraints": "O", "n": [5, 5], "m": [3, 3]}
    assert cutest.classification_filter("objective=qo, m=1:10, regular=true") == {
        "objective": "QO", "m": [1, 10], "regular": True}
    with pytest.raises(ValueError, match="unknown classification key"):
        cutest.classification_filter("colour=red")
    with pytest.raises(ValueError):
        cutest.classification_filter("QQ")


def _require_cutest():
    pytest.importorskip("pycutest")
    try:
        return cutest.load("HS28")
    except Exception as exc:  # noqa: BLE001 - CUTEst not configured on this machine
        pytest.skip(f"CUTEst not usable here: {exc}")


def test_hs28_from_cutest_matches_builtin():
    problem = _require_cutest()
    from mathopt.problems import hs

    builtin = hs.load("HS28")
    assert problem.n == 3 and problem.n_eq == 1 and problem.n_ineq == 0
    np.testing.assert_allclose(problem.x0, builtin.x0)
    ev, ev_ref = problem.evaluator(), builtin.evaluator()
    x = np.array([0.3, -0.2, 0.7])
    assert ev.fun(x) == pytest.approx(ev_ref.fun(x))
    np.testing.assert_allclose(ev.gradient(x), ev_ref.gradient(x), atol=1e-12)
    np.testing.assert_allclose(ev.eq_jacobian(x), ev_ref.eq_jacobian(x), atol=1e-12)
    np.testing.assert_allclose(ev.lagrangian_hessian(x, np.array([2.0])),
                               ev_ref.lagrangian_hessian(x, np.array([2.0])), atol=1e-12)
    result = mathopt.solve(problem, method="scipy-slsqp")
    assert result.success and result.fun == pytest.approx(0.0, abs=1e-10)


def test_inequalities_and_bounds_split():
    _require_cutest()
    problem = cutest.load("HS71")
    assert problem.n_eq == 1 and problem.n_ineq == 1
    np.testing.assert_allclose(problem.lb, 1.0)
    result = mathopt.solve(problem, method="scipy-slsqp")
    assert result.fun == pytest.approx(17.0140172891, rel=1e-6)
