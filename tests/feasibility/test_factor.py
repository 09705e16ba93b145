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


def test_singular_matrix_is_a_linalg_error():
    K = sp.csc_matrix(np.array([[1.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(np.linalg.LinAlgError):
        op.quasidefinite_factor(K)
