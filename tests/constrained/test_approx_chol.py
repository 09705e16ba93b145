"""Randomized approximate Cholesky (mathopt.constrained._approx_chol) and the MINRES inner solver."""
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from mathopt.constrained._approx_chol import approx_cholesky, check_sddm, pcg
from mathopt.constrained._krylov import minres
from mathopt.problems.pde import laplacian_2d, laplacian_3d


def _system(M, seed=1):
    b = np.random.default_rng(seed).standard_normal(M.shape[0])
    return b, spsolve(sp.csc_matrix(M), b)


@pytest.mark.parametrize("matrix, ratio", [
    (lambda: (-laplacian_2d(40) + 1e-3 * sp.identity(1600)).tocsr(), 0.25),  # 2-D + shift: CG 139 its
    (lambda: (-laplacian_3d(12)).tocsr(), 0.5),                               # 3-D: CG 57 its
])
def test_pcg_with_the_factor_converges_in_far_fewer_iterations_than_cg(matrix, ratio):
    M = matrix()
    b, x_star = _system(M)
    factor = approx_cholesky(M, seed=0)
    pre = pcg(M, b, factor, tol=1e-10)
    plain = pcg(M, b, None, tol=1e-10)
    assert pre.converged and plain.converged
    assert np.linalg.norm(M @ pre.x - b) <= 1e-10 * np.linalg.norm(b)
    np.testing.assert_allclose(pre.x, x_star, rtol=0, atol=1e-8 * np.max(np.abs(x_star)))
    assert pre.iterations <= ratio * plain.iterations, (pre.iterations, plain.iterations)


def test_factor_is_spd_and_seeded():
    M = (-laplacian_2d(10) + sp.identity(100)).tocsr()
    f1, f2, f3 = approx_cholesky(M, seed=5), approx_cholesky(M, seed=5), approx_cholesky(M, seed=6)
    eye = np.eye(100)
    inv = np.column_stack([f1.solve(e) for e in eye])
    np.testing.assert_allclose(inv, inv.T, atol=1e-12 * np.max(np.abs(inv)))
    assert np.min(np.linalg.eigvalsh(0.5 * (inv + inv.T))) > 0
    b = np.arange(100.0)
    np.testing.assert_array_equal(f1.solve(b), f2.solve(b))
    assert not np.array_equal(f1.solve(b), f3.solve(b))


def test_non_sddm_input_is_rejected_naming_the_argument():
    lap = -laplacian_2d(4)
    with pytest.raises(ValueError, match="M is not SDDM: it has positive off-diagonal"):
        approx_cholesky(laplacian_2d(4))
    with pytest.raises(ValueError, match="M is not symmetric"):
        approx_cholesky(lap + sp.triu(sp.random(16, 16, density=0.2, random_state=0), 1) * -1e-3)
    with pytest.raises(ValueError, match="not diagonally dominant"):
        approx_cholesky(lap - 0.1 * sp.identity(16) - 1e-2 * sp.diags(np.arange(16.0)) * 1e3)
    with pytest.raises(ValueError, match="square"):
        approx_cholesky(np.ones((2, 3)))
    with pytest.raises(ValueError, match="singular"):  # a pure graph Laplacian (no diagonal excess)
        approx_cholesky(sp.csr_matrix(np.array([[1.0, -1.0], [-1.0, 1.0]])))
    with pytest.raises(ValueError, match="A is not SDDM"):
        check_sddm(laplacian_2d(3), "A")


def test_minres_matches_a_direct_solve_and_stops_at_the_absolute_tolerance():
    rng = np.random.default_rng(0)
    n, m = 30, 10
    B = sp.diags(rng.uniform(1, 2, n))
    G = sp.random(m, n, density=0.3, random_state=1) + sp.hstack([sp.identity(m), sp.csr_matrix((m, n - m))])
    K = sp.bmat([[B, G.T], [G, None]], format="csr")
    b = rng.standard_normal(n + m)
    x_star = spsolve(sp.csc_matrix(K), b)
    out = minres(K, b, lambda r: r, tol=1e-10, maxiter=500)
    assert out.ok and out.residual <= 1e-10
    np.testing.assert_allclose(out.x, x_star, atol=1e-8)
    loose = minres(K, b, lambda r: r, tol=1e-2 * np.linalg.norm(b), maxiter=500)
    assert loose.iterations < out.iterations and loose.residual <= 1e-2 * np.linalg.norm(b)
    assert np.linalg.norm(K @ loose.x - b) == pytest.approx(loose.residual)
    bad = minres(K, b, lambda r: -r, tol=1e-10, maxiter=50)  # an indefinite "preconditioner"
    assert not bad.ok
