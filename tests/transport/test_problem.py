import numpy as np
import pytest

import mathopt
from mathopt import ProblemError, TransportProblem
from mathopt.transport.problem import TransportResult

A = np.full(3, 1 / 3)
C = np.ones((3, 3))


@pytest.mark.parametrize("a, field, match", [
    ([0.5, -0.1, 0.6], "a", "nonnegative"),
    ([0.5, np.nan, 0.5], "a", "NaN"),
    ([[1 / 3] * 3], "a", "1-D"),
    ([0.0, 0.0, 0.0], "a", "positive total mass"),
])
def test_bad_marginal_a(a, field, match):
    with pytest.raises(ProblemError, match=match) as err:
        TransportProblem(a, A, cost=C)
    assert err.value.field == field


def test_unequal_mass_names_b():
    with pytest.raises(ProblemError, match="total mass") as err:
        TransportProblem(A, [0.5, 0.5, 0.5], cost=C)
    assert err.value.field == "b"
    TransportProblem(A, A * (1 + 1e-12), cost=C)  # within mass_tol


def test_cost_shape_and_values():
    with pytest.raises(ProblemError, match="shape") as err:
        TransportProblem(A, [0.5, 0.5], cost=C)
    assert err.value.field == "cost"
    with pytest.raises(ProblemError, match="NaN") as err:
        TransportProblem(A, A, cost=np.full((3, 3), np.inf))
    assert err.value.field == "cost"


def test_exactly_one_of_cost_and_objective():
    with pytest.raises(ProblemError, match="neither") as err:
        TransportProblem(A, A)
    assert err.value.field == "cost"
    with pytest.raises(ProblemError, match="both"):
        TransportProblem(A, A, cost=C, objective=lambda p: 0.0)
    with pytest.raises(ProblemError, match="give objective") as err:
        TransportProblem(A, A, cost=C, gradient=lambda p: p)
    assert err.value.field == "gradient"


def test_exports_and_result_fields():
    assert mathopt.TransportProblem is TransportProblem and mathopt.TransportResult is TransportResult
    names = {f for f in TransportResult.__dataclass_fields__}
    assert {"plan", "f", "g", "regularized_objective", "dual_objective"} <= names


def test_max_nz_below_one_rejected():
    with pytest.raises(mathopt.OptionError, match="max_nz"):
        mathopt.solve(TransportProblem(A, A, cost=C), method="sparse-ot", max_nz=0)


def test_an_objective_returning_an_array_raises_naming_the_objective():
    a, b = np.full(3, 1 / 3), np.full(2, 0.5)
    cost = np.arange(6.0).reshape(3, 2)
    problem = TransportProblem(a, b, objective=lambda plan: cost * plan, gradient=lambda plan: cost)
    with pytest.raises(ProblemError, match="objective.*must return a scalar"):
        mathopt.solve(problem, method="mirror-sinkhorn", seed=0)
    one = TransportProblem(a, b, objective=lambda plan: np.array([np.sum(cost * plan)]), gradient=lambda plan: cost)
    assert one.value(np.outer(a, b)) == pytest.approx(np.sum(cost * np.outer(a, b)))  # a 1-element array is a scalar
