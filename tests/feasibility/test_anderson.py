"""Anderson acceleration: ``admm-qp`` with ``acceleration="anderson"`` (the compiled kernel
``_anderson_kernel``) and ``fixed_point(..., "anderson")``, against Clarabel / HiGHS and the plain iteration."""
import numpy as np
import pytest

import mathopt
from mathopt import OptionError, Status
from mathopt.feasibility.fixed_point import fixed_point
from tests.feasibility.certificates import check_certificate
from tests.feasibility.test_admm import _cvxpy_value, _infeasible_lp, _random_qp
from tests.feasibility.test_defaults import _highs, _random_problem

ANDERSON = dict(method="admm-qp", acceleration="anderson")


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("anderson_type", [1, 2])
def test_small_qps_match_clarabel(seed, anderson_type):
    problem = _random_qp(seed)
    result = mathopt.solve(problem, anderson_type=anderson_type, **ANDERSON)
    assert result.status is Status.CONVERGED, result.message
    value, x = _cvxpy_value(problem)
    assert result.fun == pytest.approx(value, rel=1e-5, abs=1e-5)
    np.testing.assert_allclose(result.x, x, atol=1e-3)


@pytest.mark.parametrize("seed, m, n, equality", [(1, 60, 100, True), (2, 30, 50, False)])
def test_random_lps_match_highs(seed, m, n, equality, needs_highs):
    problem, data = _random_problem(seed, m, n, equality)
    value, x = _highs(data, equality)
    result = mathopt.solve(problem, **ANDERSON)
    assert result.status is Status.CONVERGED, (result.status, result.nit, result.message)
    assert result.fun == pytest.approx(value, rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(result.x, x, atol=1e-5)


def _ill_conditioned_qp(seed=0, n=20, m=15, condition=1e5):
    """min 1/2 x'Px + q'x, -r <= Ax <= r' with eig(P) log-spaced in [1, condition]."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    P = Q @ np.diag(np.logspace(0, np.log10(condition), n)) @ Q.T
    return mathopt.QP(P, 100.0 * rng.standard_normal(n), rng.standard_normal((m, n)), -rng.random(m), rng.random(m))


def test_fewer_iterations_than_plain_on_an_ill_conditioned_qp():
    """With a fixed, badly chosen penalty (1e-3) plain ADMM needs 3 525 iterations, Anderson 125 (measured,
    2026-12-02); the test asks for a factor 5."""
    problem = _ill_conditioned_qp()
    options = dict(polish=False, penalty=1e-3, penalty_interval=0, max_iter=20000)
    plain = mathopt.solve(problem, method="admm-qp", **options)
    accelerated = mathopt.solve(problem, **ANDERSON, **options)
    assert plain.status is Status.CONVERGED and accelerated.status is Status.CONVERGED
    assert 5 * accelerated.nit <= plain.nit, (accelerated.nit, plain.nit)
    assert accelerated.extra["anderson_accepted"] > 0
    assert accelerated.fun == pytest.approx(_cvxpy_value(problem)[0], rel=1e-5)


def test_infeasible_lp_certified_from_plain_iterations():
    problem = _infeasible_lp(0.5)
    result = mathopt.solve(problem, **ANDERSON)
    assert result.status is Status.PRIMAL_INFEASIBLE, result.message
    ok, why = check_certificate(problem, result)
    assert ok, why
    # the verdict is never taken while accelerating: the acceleration was switched off first
    assert result.extra["anderson_stopped"] > 0


def test_variant_method_is_admm_qp_with_anderson():
    problem = _random_qp(0)
    variant = mathopt.solve(problem, method="admm-qp-aa")
    direct = mathopt.solve(problem, **ANDERSON)
    assert variant.nit == direct.nit and np.array_equal(variant.x, direct.x)
    assert "anderson_accepted" not in mathopt.solve(problem, method="admm-qp").extra


@pytest.mark.parametrize("options, field", [
    (dict(acceleration="nesterov"), "acceleration"),
    (dict(acceleration="anderson", anderson_memory=0), "anderson_memory"),
    (dict(acceleration="anderson", anderson_type=3), "anderson_type"),
    (dict(acceleration="anderson", anderson_interval=0), "anderson_interval"),
    (dict(acceleration="anderson", anderson_safeguard=0.0), "anderson_safeguard"),
    (dict(acceleration="anderson", anderson_regularization=-1.0), "anderson_regularization"),
    (dict(acceleration="anderson", loop="python"), "loop"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(OptionError, match=field):
        mathopt.solve(_random_qp(0), method="admm-qp", **options)


def test_halpern_admm_has_no_anderson_option():
    with pytest.raises(OptionError, match="acceleration"):
        mathopt.solve(_random_qp(0), method="halpern-admm", acceleration="anderson")


def test_fixed_point_anderson_on_a_linear_contraction():
    """T z = Mz + b, eig(M) in [0.5, 0.999]: the plain iteration needs about 17 000 steps to 1e-8, Anderson
    (memory 10) 61 (measured); the fixed point is (I - M)^{-1} b."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    M = Q @ np.diag(np.linspace(0.5, 0.999, 20)) @ Q.T
    b = rng.standard_normal(20)
    out = fixed_point(lambda z: M @ z + b, np.zeros(20), "anderson", max_iter=1000, tol=1e-8)
    assert out.nit < 200
    np.testing.assert_allclose(out.z, np.linalg.solve(np.eye(20) - M, b), atol=1e-5)
    assert out.anderson[0] > 0


def test_fixed_point_anderson_keeps_the_displacement():
    out = fixed_point(lambda z: np.maximum(z + 1.0, 0.0), np.zeros(1), "anderson", max_iter=50)
    assert out.displacement[0] == pytest.approx(-1.0)


@pytest.mark.parametrize("options, field", [(dict(anderson_memory=0), "anderson_memory"),
                                            (dict(anderson_type=0), "anderson_type"),
                                            (dict(anderson_safeguard=-1.0), "anderson_safeguard")])
def test_fixed_point_bad_anderson_arguments(options, field):
    with pytest.raises(ValueError, match=field):
        fixed_point(lambda z: z, np.zeros(1), "anderson", **options)


@pytest.mark.parametrize("type_one", [True, False])
def test_cached_inner_products_give_the_recomputed_anderson_points(type_one):
    """``anderson_record_cached`` keeps the products of the memory between mixings (only new slots'
    computed, Y'WY's symmetry used): along the same plain iterations of an affine contraction it gives
    the Anderson points of ``anderson_record``, which recomputes every product, to 1e-10 relative."""
    from mathopt.feasibility._anderson_kernel import anderson_record, anderson_record_cached

    rng = np.random.default_rng(5)
    size, memory, interval = 40, 4, 3
    Q, _ = np.linalg.qr(rng.standard_normal((size, size)))
    M, c = 0.95 * Q, rng.standard_normal(size)
    metric = rng.uniform(0.5, 2.0, size)

    def state():
        return dict(steps_memory=np.zeros((memory, size)), changes_memory=np.zeros((memory, size)),
                    previous_point=np.zeros(size), previous_residual=np.zeros(size),
                    counters=np.zeros(7, dtype=np.int64))

    cached, plain = state(), state()
    gram, norms, fresh = np.empty((memory, memory)), np.empty((memory, 2)), np.zeros(memory, dtype=np.int64)
    point, mixings = rng.standard_normal(size), 0
    for _ in range(40):
        image = M @ point + c
        out_cached, out_plain = np.empty(size), np.empty(size)
        common = (np.empty(size), metric)
        ok_cached = anderson_record_cached(point, image, *common, *cached.values(), interval, 1e-10, 1e10,
                                           type_one, out_cached, gram, norms, fresh)
        ok_plain = anderson_record(point, image, *common, *plain.values(), interval, 1e-10, 1e10, type_one,
                                   out_plain)
        assert ok_cached == ok_plain
        if ok_cached:
            mixings += 1
            assert np.linalg.norm(out_cached - out_plain) <= 1e-10 * np.linalg.norm(out_plain)
        point = image  # the same plain sequence for both (the memory sees only plain evaluations)
    assert mixings >= 10
