"""The quasi-definite KKT factorization (admm_operator.quasidefinite_factor) and its use in the kernel."""
import numpy as np
import pytest
import scipy.sparse as sp

from mathopt.feasibility import admm_operator as op
from mathopt.feasibility._admm_kernel import lu_solve, triangular_factors


def _quasidefinite(n=30, m=20, seed=0):
    rng = np.random.default_rng(seed)
    M = sp.random(n, n, 0.2, random_state=seed + 1)
    H = (M @ M.T + 0.1 * sp.eye(n)).tocsc()
    B = sp.random(m, n, 0.3, random_state=seed + 2)
    return sp.bmat([[H, B.T], [B, -sp.diags(rng.uniform(0.1, 2.0, m))]], format="csc"), rng


@pytest.mark.parametrize("seed", [0, 1])
def test_ldl_solves_like_dense_and_in_the_kernel(seed):
    K, rng = _quasidefinite(seed=seed)
    factor = op.quasidefinite_factor(K)
    assert isinstance(factor, op.LDLFactor)  # qdldl is a declared dependency
    b = rng.standard_normal(K.shape[0])
    expected = np.linalg.solve(K.toarray(), b)
    np.testing.assert_allclose(factor.solve(b), expected, rtol=1e-9, atol=1e-10)
    # the SuperLU-named attributes reproduce K: P_r K P_c = L U
    n = K.shape[0]
    Pr = sp.csc_matrix((np.ones(n), (factor.perm_r, np.arange(n))))
    Pc = sp.csc_matrix((np.ones(n), (np.arange(n), factor.perm_c)))
    np.testing.assert_allclose((Pr @ K @ Pc).toarray(), (factor.L @ factor.U).toarray(), atol=1e-10)
    out = np.empty(n)
    lu_solve(*triangular_factors(factor), b, np.empty(n), out)
    np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-10)


def _hide_qdldl(monkeypatch):
    """Make ``import qdldl`` fail for the rest of the test (the SuperLU fallback)."""
    import builtins

    real_import = builtins.__import__

    def no_qdldl(name, *args, **kwargs):
        if name == "qdldl":
            raise ImportError("qdldl hidden by the test")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_qdldl)


def test_superlu_fallback_gives_the_same_solution(monkeypatch):
    K, rng = _quasidefinite(seed=3)
    b = rng.standard_normal(K.shape[0])
    _hide_qdldl(monkeypatch)
    factor = op.quasidefinite_factor(K)
    assert not isinstance(factor, op.LDLFactor)
    np.testing.assert_allclose(factor.solve(b), np.linalg.solve(K.toarray(), b), rtol=1e-9, atol=1e-10)
    out = np.empty(K.shape[0])  # the kernel's solve on SuperLU's factors (U with a non-unit diagonal: D and N = D^{-1} U - I)
    lu_solve(*triangular_factors(factor), b, np.empty(K.shape[0]), out)
    np.testing.assert_allclose(out, np.linalg.solve(K.toarray(), b), rtol=1e-9, atol=1e-10)


def test_singular_matrix_is_a_linalg_error():
    K = sp.csc_matrix(np.array([[1.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(np.linalg.LinAlgError):
        op.quasidefinite_factor(K)


def _scipy_solve(K, b):
    from scipy.sparse.linalg import spsolve

    return spsolve(sp.csc_matrix(K), b)


def _banded(n=40, m=25, seed=0):
    """A quasi-definite matrix with a tridiagonal H and bidiagonal B: factors with the entry next to
    the diagonal in most columns (the register path of ``permuted_solve``), as on LISWET."""
    rng = np.random.default_rng(seed)
    H = sp.diags([rng.uniform(-0.5, 0.5, n - 1), rng.uniform(2.0, 3.0, n), rng.uniform(-0.5, 0.5, n - 1)],
                 [-1, 0, 1])
    H = ((H + H.T) / 2).tocsc()
    B = sp.diags([np.ones(m), -np.ones(m)], [0, 1], shape=(m, n))
    return sp.bmat([[H, B.T], [B, -sp.diags(rng.uniform(0.1, 2.0, m))]], format="csc"), rng


@pytest.mark.parametrize("qdldl", [True, False])
@pytest.mark.parametrize("seed", [0, 4, "banded"])
def test_kernel_solve_matches_a_direct_solve(seed, qdldl, monkeypatch):
    """The kernel's form (I + L) D (I + N) of either factorization reproduces K, and ``lu_solve`` (QDLDL's
    order; rounding differs from a column solve on U) agrees with scipy's and a dense solve to 1e-10
    relative."""
    K, rng = _banded() if seed == "banded" else _quasidefinite(seed=seed)
    if not qdldl:
        _hide_qdldl(monkeypatch)
    factor = op.quasidefinite_factor(K)
    assert isinstance(factor, op.LDLFactor) == qdldl
    tri = triangular_factors(factor)
    n = K.shape[0]
    lower = sp.csc_matrix((tri.l_val, tri.l_idx, tri.l_ptr), shape=(n, n))
    upper = sp.csr_matrix((tri.n_val, tri.n_idx, tri.n_ptr), shape=(n, n))
    assert sp.triu(lower).nnz == 0 and sp.tril(upper).nnz == 0  # strictly lower / upper: no diagonal entry
    rebuilt = (sp.eye(n) + lower) @ sp.diags(1.0 / tri.d_inv) @ (sp.eye(n) + upper)
    Pr = sp.csc_matrix((np.ones(n), (tri.perm_r, np.arange(n))))
    Pc = sp.csc_matrix((np.ones(n), (np.arange(n), tri.perm_c)))
    np.testing.assert_allclose(rebuilt.toarray(), (Pr @ K @ Pc).toarray(), rtol=0, atol=1e-12)
    b = rng.standard_normal(n)
    b[::7] = 0.0
    out = np.empty(n)
    lu_solve(*tri, b, np.empty(n), out)
    for expected in (_scipy_solve(K, b), np.linalg.solve(K.toarray(), b)):
        assert np.linalg.norm(out - expected) <= 1e-10 * np.linalg.norm(expected)
    # one right-hand side column of K: the solution is a unit vector
    unit = np.zeros(n)
    unit[3] = 1.0
    lu_solve(*tri, K[:, 3].toarray().ravel(), np.empty(n), out)
    np.testing.assert_allclose(out, unit, rtol=0, atol=1e-10)


@pytest.mark.parametrize("shape, density", [((40, 30), 0.1), ((5, 50), 0.0), ((60, 12), 0.5)])
def test_projection_kkt_is_the_bmat_matrix(shape, density):
    A_S = sp.random(*shape, density=density, random_state=7, format="csr")
    expected = sp.bmat([[sp.eye(shape[0]), A_S], [A_S.T, -1e-12 * sp.eye(shape[1])]], format="csc")
    kkt = op.projection_kkt(A_S, 1e-12)
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(kkt, name), getattr(expected, name), err_msg=name)
        assert getattr(kkt, name).dtype == getattr(expected, name).dtype, name
    assert kkt.shape == expected.shape


@pytest.mark.parametrize("method", ["admm-qp", "admm-qp-aa"])
def test_compiled_loop_on_superlu_factors_solves_like_qdldl(method, monkeypatch):
    """The compiled loop on the SuperLU fallback's factors (D and N = D^{-1} U - I) converges to the
    solution it finds on QDLDL's."""
    import mathopt
    from mathopt import Status
    from tests.feasibility.test_admm import _random_qp

    with_qdldl = mathopt.solve(_random_qp(1), method=method)
    _hide_qdldl(monkeypatch)
    fallback = mathopt.solve(_random_qp(1), method=method)
    assert with_qdldl.status is fallback.status is Status.CONVERGED
    np.testing.assert_allclose(fallback.x, with_qdldl.x, atol=1e-4)
    assert fallback.fun == pytest.approx(with_qdldl.fun, rel=1e-5, abs=1e-6)
