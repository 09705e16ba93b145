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


def test_superlu_fallback_gives_the_same_solution(monkeypatch):
    import builtins

    K, rng = _quasidefinite(seed=3)
    b = rng.standard_normal(K.shape[0])
    real_import = builtins.__import__

    def no_qdldl(name, *args, **kwargs):
        if name == "qdldl":
            raise ImportError("qdldl hidden by the test")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_qdldl)
    factor = op.quasidefinite_factor(K)
    assert not isinstance(factor, op.LDLFactor)
    np.testing.assert_allclose(factor.solve(b), np.linalg.solve(K.toarray(), b), rtol=1e-9, atol=1e-10)
    out = np.empty(K.shape[0])  # the kernel's solve on SuperLU's factors (U with a non-unit diagonal)
    lu_solve(*triangular_factors(factor), b, np.empty(K.shape[0]), out)
    np.testing.assert_allclose(out, np.linalg.solve(K.toarray(), b), rtol=1e-9, atol=1e-10)


def test_singular_matrix_is_a_linalg_error():
    K = sp.csc_matrix(np.array([[1.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(np.linalg.LinAlgError):
        op.quasidefinite_factor(K)


def _reference_solve(factor, b):
    """The kernel's solve before the factors were passed without their diagonals: column-oriented
    solves on the full CSC factors, each diagonal entry divided by, off-diagonal entries selected by
    their row index (same operations in the same order as :func:`lu_solve` now does)."""
    L, U = factor.L.tocsc(), factor.U.tocsc()
    n = b.shape[0]
    work = np.empty(n)
    work[factor.perm_r] = b
    for j in range(n):
        wj = work[j] / L[j, j]
        work[j] = wj
        if wj != 0.0:
            for p in range(L.indptr[j], L.indptr[j + 1]):
                if L.indices[p] > j:
                    work[L.indices[p]] -= L.data[p] * wj
    for j in range(n - 1, -1, -1):
        wj = work[j] / U[j, j]
        work[j] = wj
        if wj != 0.0:
            for p in range(U.indptr[j], U.indptr[j + 1]):
                if U.indices[p] < j:
                    work[U.indices[p]] -= U.data[p] * wj
    return work[factor.perm_c]


@pytest.mark.parametrize("seed", [0, 4])
def test_kernel_solve_on_strict_factors_is_bitwise_the_full_one(seed):
    K, rng = _quasidefinite(seed=seed)
    factor = op.quasidefinite_factor(K)
    tri = triangular_factors(factor)
    n = K.shape[0]
    for name, ptr, idx, strict in (("L", tri.l_ptr, tri.l_idx, np.greater), ("U", tri.u_ptr, tri.u_idx, np.less)):
        columns = np.repeat(np.arange(n), np.diff(ptr))
        assert np.all(strict(idx, columns)), name  # no diagonal (nor wrong-side) entry is passed
        full = getattr(factor, name).tocsc()
        rebuilt = sp.csc_matrix((getattr(tri, name.lower() + "_val"), idx, ptr), shape=(n, n)) + sp.diags(
            getattr(tri, name.lower() + "_diag"))
        assert abs(rebuilt - full).max() == 0.0, name
    assert np.all(tri.l_diag == 1.0)  # QDLDL's L is unit: the kernel skips the division
    b = rng.standard_normal(n)
    b[::7] = 0.0
    out = np.empty(n)
    lu_solve(*tri, b, np.empty(n), out)
    np.testing.assert_array_equal(out, _reference_solve(factor, b))


@pytest.mark.parametrize("shape, density", [((40, 30), 0.1), ((5, 50), 0.0), ((60, 12), 0.5)])
def test_projection_kkt_is_the_bmat_matrix(shape, density):
    A_S = sp.random(*shape, density=density, random_state=7, format="csr")
    expected = sp.bmat([[sp.eye(shape[0]), A_S], [A_S.T, -1e-12 * sp.eye(shape[1])]], format="csc")
    kkt = op.projection_kkt(A_S, 1e-12)
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(kkt, name), getattr(expected, name), err_msg=name)
        assert getattr(kkt, name).dtype == getattr(expected, name).dtype, name
    assert kkt.shape == expected.shape
