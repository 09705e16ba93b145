"""The solver contract, checked for every registered solver.

Each family's test folder has a ``contract.py`` with ``PROBLEM_CLASS``,
``make_problem(method)``, ``make_nan_problem(method)`` (None when the family's
validated inputs cannot produce a NaN, with the reason in its docstring) and
``solver_options(method)``. A registered solver whose problem class has no
contract module fails here.
"""
import importlib
import pathlib
from collections.abc import Mapping

import numpy as np
import pytest

import mathopt
from mathopt import OptionError, Result, Status

_HERE = pathlib.Path(__file__).parent
_CONTRACTS = [importlib.import_module(f"tests.{p.parent.name}.contract") for p in sorted(_HERE.glob("*/contract.py"))]
SOLVERS = [spec.name for spec in mathopt.list_solvers() if spec.available()]


def _contract(method):
    spec = mathopt.core.registry.get_solver(method)
    for module in _CONTRACTS:
        if issubclass(spec.problem, module.PROBLEM_CLASS) or issubclass(module.PROBLEM_CLASS, spec.problem):
            return module
    pytest.fail(f"no tests/<family>/contract.py covers {spec.problem.__name__} (method {method!r})")


def _solve(method, problem=None, **options):
    contract = _contract(method)
    problem = contract.make_problem(method) if problem is None else problem
    return mathopt.solve(problem, method=method, **{**contract.solver_options(method), **options})


@pytest.mark.parametrize("method", SOLVERS)
def test_result_fields_present_and_typed(method):
    result = _solve(method)
    assert isinstance(result, Result)
    assert isinstance(result.x, np.ndarray) and result.x.dtype == np.float64
    assert isinstance(result.fun, float)
    assert isinstance(result.status, Status)
    assert result.success is (result.status is Status.CONVERGED)
    assert isinstance(result.message, str) and result.message
    for counter in ("nit", "nfev", "ngev", "nhev"):
        value = getattr(result, counter)
        assert isinstance(value, int) and value >= 0, counter
    assert isinstance(result.residuals, Mapping) and result.residuals
    assert all(isinstance(k, str) and isinstance(v, float) for k, v in result.residuals.items())
    assert result.solver == method
    assert result.wall_time >= 0.0
    assert isinstance(result.extra, Mapping)


@pytest.mark.parametrize("method", SOLVERS)
def test_unknown_option_rejected_with_valid_names(method):
    with pytest.raises(OptionError, match="valid options: .*max_iter"):
        _solve(method, no_such_option=1)


@pytest.mark.parametrize("method", SOLVERS)
def test_nonfinite_objective_gives_nonfinite_status(method):
    problem = _contract(method).make_nan_problem(method)
    if problem is None:
        pytest.skip("validated inputs of this family cannot produce NaN (see its contract.py)")
    result = _solve(method, problem)
    assert result.status is Status.NONFINITE
    assert not result.success


@pytest.mark.parametrize("method", SOLVERS)
def test_max_iter_honoured(method):
    result = _solve(method, max_iter=2)
    assert result.nit <= 2
    assert result.status in (Status.MAX_ITER, Status.CONVERGED)


@pytest.mark.parametrize("method", SOLVERS)
def test_callback_can_stop(method):
    seen = []

    def callback(info):
        seen.append(info.nit)
        return True

    result = _solve(method, callback=callback)
    assert result.status is Status.CALLBACK
    assert len(seen) == 1


@pytest.mark.parametrize("method", SOLVERS)
def test_same_seed_same_result(method):
    first = _solve(method, seed=7)
    second = _solve(method, seed=7)
    np.testing.assert_array_equal(first.x, second.x)
    assert first.nit == second.nit
