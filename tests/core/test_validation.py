"""Input validation shared by every problem class: complex values, strings and empty vectors are
ProblemErrors naming the field (never a silent loss of the imaginary part)."""
import numpy as np
import pytest

import mathopt
from mathopt import ProblemError


def _lower(x, y):
    return 0.5 * ((y - x) ** 2).sum()


def _upper(x, y):
    return (x ** 2).sum() + (y ** 2).sum()


CASES = {
    "nlp x0 complex": (lambda: mathopt.NLP(lambda x: float(np.real(x @ x)), [1 + 1j, 2.0]), "x0"),
    "nlp x0 empty": (lambda: mathopt.NLP(lambda x: 0.0, []), "x0"),
    "nlp x0 string": (lambda: mathopt.NLP(lambda x: 0.0, "12"), "x0"),
    "transport cost complex": (lambda: mathopt.TransportProblem([0.5, 0.5], [0.5, 0.5], cost=np.eye(2) * (1 + 1j)),
                               "cost"),
    "transport a complex": (lambda: mathopt.TransportProblem([0.5 + 1j, 0.5], [0.5, 0.5], cost=np.eye(2)), "a"),
    "bilevel x0 complex": (lambda: mathopt.BilevelProblem(_upper, _lower, np.array([1 + 1j]), np.zeros(1)), "x0"),
    "bilevel y0 empty": (lambda: mathopt.BilevelProblem(_upper, _lower, np.zeros(1), np.zeros(0)), "y0"),
    "qp q complex": (lambda: mathopt.QP(None, np.array([1 + 1j, 1.0]), np.eye(2), [0, 0], [1, 1]), "q"),
    "qp l complex": (lambda: mathopt.QP(None, [1.0, 1.0], np.eye(2), [1j, 0], [1, 1]), "l"),
    "box lower complex": (lambda: mathopt.sets.Box([1j], [1.0]), "lower"),
    "metric complex": (lambda: mathopt.MetricProblem(np.eye(3) * (1 + 1j)), "dissimilarity"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_names_the_field(case):
    build, field = CASES[case]
    with pytest.raises(ProblemError) as caught:
        build()
    assert caught.value.field == field
