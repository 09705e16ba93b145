import numpy as np
import pytest
import scipy.sparse as sp

import mathopt
from mathopt import ProblemError
from mathopt.problems.qp import maros_meszaros
from tests.feasibility.conftest import data_file


def _qp(**changes):
    data = dict(P=np.eye(2), q=[1.0, -1.0], A=np.array([[1.0, 1.0]]), l=[0.0], u=[1.0])
    data.update(changes)
    return mathopt.QP(data.pop("P"), data.pop("q"), data.pop("A"), data.pop("l"), data.pop("u"), **data)


def test_dense_and_sparse_inputs_are_stored_as_csc():
    dense, sparse = _qp(), _qp(P=sp.eye(2), A=sp.csr_matrix([[1.0, 1.0]]))
    for problem in (dense, sparse):
        assert sp.isspmatrix_csc(problem.P) and sp.isspmatrix_csc(problem.A)
        assert (problem.n, problem.m, problem.is_lp) == (2, 1, False)
    assert _qp(P=None).is_lp
    assert _qp(A=None, l=[], u=[]).m == 0
    assert _qp(r=2.5).objective([1.0, 0.0]) == pytest.approx(0.5 + 1.0 + 2.5)


@pytest.mark.parametrize("changes, field", [
    ({"q": [1.0, np.nan]}, "q"), ({"q": [[1.0, 2.0]]}, "q"),
    ({"P": np.eye(3)}, "P"), ({"P": [[1.0, 1.0], [0.0, 1.0]]}, "P"), ({"P": -np.eye(2)}, "P"),
    ({"P": [[1.0, 2.0], [2.0, 1.0]]}, "P"), ({"P": [[np.inf, 0], [0, 1]]}, "P"),
    ({"A": np.ones((1, 3))}, "A"), ({"A": [[1.0, np.nan]]}, "A"),
    ({"l": [0.0, 0.0]}, "l"), ({"l": [np.nan]}, "l"), ({"l": [np.inf]}, "l"), ({"u": [-np.inf]}, "u"),
    ({"l": [2.0]}, "l"), ({"r": np.nan}, "r"), ({"r": "x"}, "r"),
])
def test_invalid_data_names_the_field(changes, field):
    with pytest.raises(ProblemError) as err:
        _qp(**changes)
    assert err.value.field == field


def test_infinite_bounds_accepted():
    problem = _qp(l=[-np.inf], u=[np.inf])
    assert np.isinf(problem.l[0]) and np.isinf(problem.u[0])


def test_read_mps_matches_highs_and_keeps_bounds(needs_highs):
    import highspy

    from mathopt.problems.lp import read_mps

    path = data_file("netlib-lp", "afiro.mps.gz")
    problem = read_mps(path)
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.readModel(str(path))
    lp = highs.getLp()
    assert problem.n == lp.num_col_ and problem.is_lp
    assert problem.m == lp.num_row_ + int(np.sum(np.isfinite(lp.col_lower_) | (np.array(lp.col_upper_) < 1e20)))
    x = np.ones(problem.n)
    np.testing.assert_allclose(problem.A[:lp.num_row_] @ x, _highs_product(lp, x), rtol=1e-12)
    np.testing.assert_array_equal(problem.l[:lp.num_row_], np.where(np.array(lp.row_lower_) <= -1e20, -np.inf,
                                                                    lp.row_lower_))


def _highs_product(lp, x):
    rows = np.zeros(lp.num_row_)
    start, index, value = lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_
    for j in range(lp.num_col_):
        for k in range(start[j], start[j + 1]):
            rows[index[k]] += value[k] * x[j]
    return rows


def test_maros_meszaros_hs21():
    problem = maros_meszaros(data_file("maros-meszaros", "HS21.mat"))
    assert (problem.n, problem.m) == (2, 3)
    assert np.isinf(problem.u[0])  # 1e20 read as +inf
    assert problem.r == -100.0
