"""The pycutest adapter: error messages always; problems checked against mathopt.problems.hs and the SIF files.

The tests that need CUTEst skip (with the reason) when pycutest or a CUTEst
installation is missing; `.ci/run` builds CUTEst first where ../shared/cutest exists.
They build each problem once into $PYCUTEST_CACHE (about 3 s each the first time).
"""
import os
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import mathopt
from mathopt.bench.suites import AL_PAPER_NOT_IN_MASTSIF, AL_PAPER_PROBLEMS
from mathopt.problems import cutest, hs

UNAVAILABLE = cutest.unavailable_reason()
requires_cutest = pytest.mark.skipif(UNAVAILABLE is not None, reason=f"CUTEst/pycutest not available: {UNAVAILABLE}")


def test_missing_pycutest_gives_install_instructions(monkeypatch):
    monkeypatch.setitem(sys.modules, "pycutest", None)  # makes "import pycutest" raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'mathopt\[cutest\]'") as info:
        cutest.load("HS28")
    assert isinstance(info.value, cutest.CUTEstUnavailable)
    assert "MASTSIF" in str(info.value)
    with pytest.raises(cutest.CUTEstUnavailable):
        cutest.names("QQR2-AN-*-*")


def test_missing_environment_is_named(monkeypatch, tmp_path):
    for var in ("CUTEST", "SIFDECODE", "PYCUTEST_CACHE"):
        monkeypatch.setenv(var, str(tmp_path))
    monkeypatch.delenv("MASTSIF", raising=False)
    reason = cutest.unavailable_reason()
    installed = "pycutest is not installed" not in reason
    if installed:
        assert reason == "the environment variable MASTSIF is not set (see mathopt.problems.cutest)"
    with pytest.raises(cutest.CUTEstUnavailable, match="MASTSIF is not set" if installed else "not installed"):
        cutest.check_name("HS28")
    monkeypatch.setenv("MASTSIF", str(tmp_path / "nowhere"))
    if installed:
        assert cutest.unavailable_reason() == f"MASTSIF={tmp_path / 'nowhere'} is not a folder"


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


@requires_cutest
def test_missing_sif_file_is_named_not_undefined_symbol():
    with pytest.raises(cutest.NotInMASTSIF, match=r"^SINVALNE is not in MASTSIF .*close matches: SINEVAL"):
        cutest.load("SINVALNE")
    assert isinstance(cutest.NotInMASTSIF("x"), LookupError)


@requires_cutest
def test_paper_problems_not_in_mastsif_are_listed():
    missing = [name for name in AL_PAPER_PROBLEMS if not os.path.isfile(os.path.join(os.environ["MASTSIF"],
                                                                                     f"{name}.SIF"))]
    assert len(AL_PAPER_PROBLEMS) == 47
    assert missing == list(AL_PAPER_NOT_IN_MASTSIF)


def _points(problem, count=3, seed=0):
    rng = np.random.default_rng(seed)
    lb = np.where(np.isfinite(problem.lb), problem.lb, -3.0)
    ub = np.where(np.isfinite(problem.ub), problem.ub, 3.0)
    return [problem.x0] + [lb + (ub - lb) * rng.uniform(0.1, 0.9, problem.n) for _ in range(count - 1)]


@requires_cutest
@pytest.mark.parametrize("name, kinds", [("BT1", {"eq"}), ("HS21", {"ineq", "bounds"}),
                                         ("HS71", {"eq", "ineq", "bounds"}), ("HS76", {"ineq", "bounds"})])
def test_matches_builtin_hs(name, kinds):
    """Values and derivatives equal the built-in formulas (constraint rows may come in another order)."""
    problem, builtin = cutest.load(name), hs.load(name)
    assert problem.constraint_types == builtin.constraint_types == kinds
    assert (problem.n, problem.n_eq, problem.n_ineq) == (builtin.n, builtin.n_eq, builtin.n_ineq)
    np.testing.assert_allclose(problem.x0, builtin.x0)
    np.testing.assert_array_equal(problem.lb, builtin.lb)
    np.testing.assert_array_equal(problem.ub, builtin.ub)
    ev, ref = problem.evaluator(), builtin.evaluator()
    y_eq, y_ineq = np.full(problem.n_eq, 1.5), np.full(problem.n_ineq, 0.7)  # row order does not matter
    for x in _points(problem):
        assert ev.fun(x) == pytest.approx(ref.fun(x), rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(ev.gradient(x), ref.gradient(x), rtol=1e-10, atol=1e-10)
        for values, jac, values_ref, jac_ref in (
                [(ev.eq, ev.eq_jacobian, ref.eq, ref.eq_jacobian)] if problem.n_eq else []) + (
                [(ev.ineq, ev.ineq_jacobian, ref.ineq, ref.ineq_jacobian)] if problem.n_ineq else []):
            np.testing.assert_allclose(np.sort(values(x)), np.sort(values_ref(x)), rtol=1e-10, atol=1e-10)
            J, J_ref = np.asarray(jac(x)), np.asarray(jac_ref(x))
            np.testing.assert_allclose(J.T @ J, J_ref.T @ J_ref, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(ev.lagrangian_hessian(x, y_eq, y_ineq), ref.lagrangian_hessian(x, y_eq, y_ineq),
                                   rtol=1e-10, atol=1e-10)


@requires_cutest
def test_sif_optimal_values_agree_with_builtin():
    for name in ("BT1", "HS7", "HS21", "HS28", "HS35", "HS71"):
        stated, known = cutest.sif_optimum(name), hs.load(name).known_optimum
        assert stated == pytest.approx(known, rel=5e-6, abs=1e-12), name  # the files round to 6-10 digits
    assert cutest.sif_optimum("HS76") is None  # no SOLTN line in HS76.SIF


@requires_cutest
@pytest.mark.parametrize("name, method", [("HS71", "scipy-slsqp"), ("HS21", "scipy-slsqp"), ("BT1", "al-newton"),
                                          ("HS100LNP", "al-newton")])
def test_solutions_reach_the_sif_optimum(name, method):
    """Solved from the CUTEst x0 to the optimal value in the SIF file's comment (HS100LNP: not built in)."""
    problem = cutest.load(name)
    stated = cutest.sif_optimum(name)
    assert stated is not None
    result = mathopt.solve(problem, method=method)
    assert result.success, result.status
    assert result.fun == pytest.approx(stated, rel=1e-6, abs=1e-8)
    assert result.residuals["feasibility"] <= 1e-7


@requires_cutest
def test_sparse_derivatives_equal_dense():
    dense, sparse = cutest.load("HS71"), cutest.load("HS71", sparse=True)
    ev, evs = dense.evaluator(), sparse.evaluator()
    x, y_eq, y_ineq = np.array([1.2, 4.5, 3.9, 1.4]), np.array([-0.3]), np.array([0.8])
    for name, args in (("eq_jacobian", (x,)), ("ineq_jacobian", (x,)), ("lagrangian_hessian", (x, y_eq, y_ineq))):
        value = getattr(evs, name)(*args)
        assert sp.issparse(value), name
        np.testing.assert_allclose(value.toarray(), np.asarray(getattr(ev, name)(*args)), rtol=1e-13, atol=1e-13)
    result = mathopt.solve(sparse, method="scipy-slsqp")
    assert result.fun == pytest.approx(cutest.sif_optimum("HS71"), rel=1e-6)
