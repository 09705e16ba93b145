"""F2SA on the strongly convex test problems (its assumptions), deterministic and stochastic."""
import numpy as np
import pytest

import mathopt
from mathopt import Status
from mathopt.problems import bilevel as problems

from .helpers import solve_and_check

# The paper's decaying schedule has no certified stop within these budgets (x-steps shrink like
# k^(-5/7), lower_gap like 1 / lambda_k): these runs are judged by their distance to the solution
# after max_iter iterations (expected status MAX_ITER).
BUDGET = Status.MAX_ITER
PAPER = dict(schedule="paper")
# constant steps and multiplier (a = c = 0): lambda = 0.5 / 0.005 = 100
CONSTANT = dict(schedule="paper", step_decay=0.0, value_step_decay=0.0, lower_step_size=0.005,
                value_step_size=0.5, step_size=0.1, max_iter=1000)


def test_quadratic_toy_defaults():
    result = solve_and_check(problems.quadratic_toy(2), "f2sa", x_tol=1e-5, y_tol=1e-5)
    assert result.residuals["penalty"] > 1e4


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_quadratic_toy_paper_schedule(momentum):
    solve_and_check(problems.quadratic_toy(2), "f2sa", x_tol=5e-3, y_tol=5e-3, max_iter=2000, momentum=momentum,
                    status=BUDGET, **PAPER)


def test_quadratic_toy_constant_steps():
    # the fixed point of the lambda-penalty: x = (1 + lambda)/(1 + 2 lambda)
    result = mathopt.solve(problems.quadratic_toy(1), "f2sa", **CONSTANT)
    np.testing.assert_allclose(result.x, [101 / 201], atol=1e-6)


def test_box_lower_level():
    solve_and_check(problems.box_toy(), "f2sa", x_tol=1e-5, y_tol=1e-6)


@pytest.mark.parametrize("momentum", [0.0, 0.3])
def test_stochastic_minibatches(momentum):
    # schedule "auto" takes the paper's decaying schedule for sampled oracles
    solve_and_check(problems.stochastic_quadratic(batch_size=8), "f2sa", x_tol=0.03, max_iter=1000, seed=0,
                    inner_steps=5, momentum=momentum, status=BUDGET)


def test_seed_changes_stochastic_path():
    problem = problems.stochastic_quadratic(batch_size=8)
    first = mathopt.solve(problem, "f2sa", max_iter=1000, inner_steps=5, seed=0)
    second = mathopt.solve(problem, "f2sa", max_iter=1000, inner_steps=5, seed=1)
    assert not np.array_equal(first.x, second.x)


def test_options_validated():
    with pytest.raises(mathopt.OptionError, match="value_step_decay"):
        mathopt.solve(problems.quadratic_toy(1), "f2sa", step_decay=0.1, value_step_decay=0.5)
    with pytest.raises(mathopt.OptionError, match="momentum"):
        mathopt.solve(problems.quadratic_toy(1), "f2sa", schedule="adaptive", momentum=0.5)
