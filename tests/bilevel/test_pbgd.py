"""PBGD (V-PBGD and G-PBGD) on the bilevel test problems with known solutions."""
import numpy as np
import pytest

import mathopt
from mathopt.problems import bilevel as problems

from .helpers import solve_and_check

# penalty 100: the penalized solution of the toy is x = (1 + g) / (1 + 2 g), 2.5e-3 from 0.5
STRONG = dict(penalty=100.0, step_size=0.004, max_iter=5000)
# the penalized fixed point is not a lower-level solution: y - y*(x) = O(1 / gamma), so its lower_gap
# stays about |grad_y F| / gamma (7e-3 on the toy with gamma = 100, 2e-2 on the others below)
# and the stopping test takes a lower_gap_tol above that bias
TOY_GAP = dict(lower_gap_tol=1e-2)
GAP = dict(lower_gap_tol=3e-2)


@pytest.mark.parametrize("variant", ["value", "gradient"])
def test_quadratic_toy(variant):
    result = solve_and_check(problems.quadratic_toy(2), "pbgd", variant=variant, x_tol=4e-3, y_tol=4e-3,
                             **TOY_GAP, **STRONG)
    assert result.residuals["lower_gap"] < 1e-2


def test_penalty_bias_matches_closed_form():
    # V-PBGD's fixed point on the toy: x = (1 + g)/(1 + 2g), y = g x / (1 + g)
    result = mathopt.solve(problems.quadratic_toy(1), "pbgd", **STRONG)
    np.testing.assert_allclose(result.x, [101 / 201], atol=1e-5)


def test_random_quadratic():
    solve_and_check(problems.random_quadratic(2, 3, seed=1), "pbgd", x_tol=2e-2,
                    penalty=100.0, step_size=0.0005, max_iter=6000, **GAP)


def test_box_lower_level():
    solve_and_check(problems.box_toy(), "pbgd", x_tol=1e-3, y_tol=1e-6, **STRONG)


def test_nonconvex_toy_reaches_global_minimizer():
    solve_and_check(problems.pbgd_toy(x0=1.0, y0=-1.0), "pbgd", x_tol=1e-2,
                    penalty=50.0, step_size=0.004, inner_steps=50, max_iter=3000, **GAP)


def test_merely_convex_lower_level_optimistic_solution():
    solve_and_check(problems.convex_lower(), "pbgd", x_tol=1e-3, y_tol=1e-3, **STRONG)


def test_penalty_schedule_grows_to_the_cap():
    # growing penalty ends closer to the solution than the initial penalty alone would
    result = mathopt.solve(problems.quadratic_toy(1), "pbgd", penalty=10.0, penalty_growth=1.01,
                           penalty_max=100.0, step_size=0.004, max_iter=3000)
    np.testing.assert_allclose(result.x, [101 / 201], atol=1e-4)


def test_linear_penalty_ramp_of_the_authors_code():
    # gamma_k = min(1 + 0.1 k, 100): constant 100 after 990 iterations, then the fixed point of gamma = 100
    result = mathopt.solve(problems.quadratic_toy(1), "pbgd", penalty=1.0, penalty_increment=0.1,
                           penalty_max=100.0, step_size=0.004, max_iter=3000)
    np.testing.assert_allclose(result.x, [101 / 201], atol=1e-4)


def test_gradient_variant_rejects_lower_set():
    with pytest.raises(mathopt.OptionError, match="unconstrained"):
        mathopt.solve(problems.box_toy(), "pbgd", variant="gradient")


def test_stochastic_minibatches():
    # PBGD is analysed deterministically; with batches of 32 it still lands near x*
    # (|x*| ~ 0.08, so a 0.06 tolerance rules out the start x0 = 0 and wrong answers)
    # constant steps on sampled gradients: the iterates keep moving by O(step * noise), so the
    # step test never fires and the run ends at max_iter
    solve_and_check(problems.stochastic_quadratic(batch_size=32), "pbgd", x_tol=0.06, penalty=20.0,
                    step_size=0.01, max_iter=2000, seed=3, status=mathopt.Status.MAX_ITER)


def test_separate_lower_step_keeps_the_penalized_fixed_point():
    result = mathopt.solve(problems.quadratic_toy(1), "pbgd", penalty=100.0, step_size=0.008, lower_step_size=0.004,
                           max_iter=3000)
    np.testing.assert_allclose(result.x, [101 / 201], atol=1e-5)


def test_paper_toy_defaults_reach_the_local_solution():
    # the defaults are the authors' toy settings (gamma = 10, alpha = 0.1 / gamma): from (1, -1) V-PBGD
    # ends within the O(1/gamma) offset of the global solution x* = 1.2151 (0.027 measured); with
    # gamma = 10 the lower_gap of the penalized point is about 0.11 (converged in 278 iterations)
    result = solve_and_check(problems.pbgd_toy(x0=1.0, y0=-1.0), "pbgd", x_tol=0.05, max_iter=1500,
                             lower_gap_tol=0.2)
    assert abs(result.x[0] + result.y[0]) < 0.05
