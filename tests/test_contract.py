"""The solver contract, checked for every registered solver (new solvers are covered automatically).

Each family's test folder has a ``contract.py`` with

* ``PROBLEM_CLASS``;
* ``make_problem(method)``: a small problem the method solves (default options
  plus ``solver_options(method)``) in more than 3 iterations;
* ``solver_options(method)``: options passed to every call;
* ``make_fault_problem(method, fault)`` for each fault of ``tests.faults.FAULTS``:
  a problem whose user functions turn bad mid-run, or a string saying why the
  family's validated inputs cannot pose that fault.

A registered solver whose problem class has no contract module fails here.
The rules checked are those of ``mathopt.core.driver`` (docs/architecture.md).
"""
import importlib
import pathlib
import threading
from collections.abc import Mapping

import numpy as np
import pytest

import mathopt
from mathopt import OptionError, Result, Status
from tests.faults import FAULTS, UserError

_HERE = pathlib.Path(__file__).parent
_CONTRACTS = [importlib.import_module(f"tests.{p.parent.name}.contract") for p in sorted(_HERE.glob("*/contract.py"))]
SOLVERS = [spec.name for spec in mathopt.list_solvers() if spec.available()]
STOCHASTIC = [spec.name for spec in mathopt.list_solvers() if spec.available() and spec.stochastic]


class CallbackError(RuntimeError):
    pass


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
    assert isinstance(result.x, np.ndarray) and result.x.dtype == np.float64 and result.x.ndim == 1
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
@pytest.mark.parametrize("max_iter", [0, 3])
def test_one_loop_rules(method, max_iter):
    """Iterate 0 and every later iterate are reported once: callback and history rows at
    nit = 0..result.nit; max_iter=k stops after exactly k iterations."""
    seen = []
    result = _solve(method, max_iter=max_iter, history=True, callback=lambda info: seen.append(info.nit))
    assert result.status in (Status.MAX_ITER, Status.CONVERGED), result.message
    if result.status is Status.MAX_ITER:
        assert result.nit == max_iter
    assert result.nit <= max_iter
    assert seen == list(range(result.nit + 1))
    assert result.history is not None
    np.testing.assert_array_equal(result.history["nit"], np.arange(result.nit + 1))
    for name, values in result.history.items():
        assert len(values) == result.nit + 1, name


@pytest.mark.parametrize("method", SOLVERS)
def test_without_callback_same_iterations(method):
    """The compiled path (no callback) and the callback path run the same iterations."""
    plain = _solve(method, max_iter=3, seed=3)
    driven = _solve(method, max_iter=3, seed=3, callback=lambda info: None)
    assert plain.nit == driven.nit and plain.status is driven.status
    np.testing.assert_allclose(plain.x, driven.x, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", SOLVERS)
def test_callback_stops_at_the_iterate_it_sees(method):
    seen = []

    def callback(info):
        seen.append(info.nit)
        return info.nit >= 1

    result = _solve(method, callback=callback)
    if result.status is Status.CONVERGED:  # the method's own test wins at the same iterate
        assert result.nit <= 1
    else:
        assert result.status is Status.CALLBACK
        assert result.nit == 1
    assert seen == list(range(result.nit + 1))


@pytest.mark.parametrize("method", SOLVERS)
def test_callback_exception_propagates(method):
    def callback(info):
        raise CallbackError("raised by the user's callback")

    with pytest.raises(CallbackError):
        _solve(method, callback=callback)


@pytest.mark.parametrize("method", SOLVERS)
@pytest.mark.parametrize("fault", FAULTS)
def test_fault_matrix(method, fault):
    """No silent wrong result, no success on NaN, no raw crash from inside mathopt, and the
    user's exceptions reach the caller unchanged."""
    problem = _contract(method).make_fault_problem(method, fault)
    if isinstance(problem, str):
        pytest.skip(problem)
    reference = type(_solve(method, max_iter=0))
    if fault == "user_error":
        with pytest.raises(UserError):
            _solve(method, problem)
        return
    if fault == "user_zero_division":
        with pytest.raises(ZeroDivisionError):
            _solve(method, problem)
        return
    result = _solve(method, problem, max_time=30.0)
    assert type(result) is reference
    assert not result.success
    assert np.all(np.isfinite(result.x)), "the result must keep the last finite iterate"
    if fault.startswith("nan"):
        assert result.status is Status.NONFINITE, result.message
    else:
        assert result.status in (Status.UNBOUNDED, Status.DUAL_INFEASIBLE, Status.NONFINITE,
                                 Status.MAX_ITER, Status.MAX_TIME), result.message


@pytest.mark.parametrize("method", SOLVERS)
def test_same_seed_same_result(method):
    first = _solve(method, seed=7)
    second = _solve(method, seed=np.int64(7))
    np.testing.assert_array_equal(first.x, second.x)
    assert first.nit == second.nit


@pytest.mark.parametrize("method", STOCHASTIC)
def test_seed_none_is_recorded_and_reproducible(method):
    first = _solve(method)
    seed = first.extra["seed"]
    assert isinstance(seed, int) and seed >= 0
    again = _solve(method, seed=seed)
    np.testing.assert_array_equal(first.x, again.x)


@pytest.mark.parametrize("method", SOLVERS)
def test_concurrent_solves_match_sequential(method):
    """No run state on the solver object or in a global RNG: two threads give the sequential results."""
    sequential = [_solve(method, seed=s).x for s in (1, 2)]
    results = [None, None]

    def work(i):
        results[i] = _solve(method, seed=i + 1).x

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for expected, got in zip(sequential, results):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", SOLVERS)
@pytest.mark.parametrize("options, field", [
    ({"max_time": "5"}, "max_time"), ({"max_iter": 2.5}, "max_iter"), ({"max_iter": "10"}, "max_iter"),
    ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"), ({"history": "no"}, "history"),
    ({"verbose": 2.5}, "verbose"), ({"callback": 3}, "callback"), ({"max_time": 1j}, "max_time"),
    ({"max_iter": True}, "max_iter"),
])
def test_bad_common_options_name_the_field(method, options, field):
    with pytest.raises(OptionError, match=field):
        _solve(method, **options)


@pytest.mark.parametrize("method", SOLVERS)
def test_numpy_scalars_accepted(method):
    result = _solve(method, max_iter=np.int64(2), max_time=np.float32(60.0), seed=np.uint8(3), verbose=np.int32(0))
    assert result.nit <= 2


@pytest.mark.parametrize("method", SOLVERS)
def test_show_options_documents_each_option_once_with_its_default(method):
    import dataclasses
    spec = mathopt.core.registry.get_solver(method)
    text = mathopt.show_options(method, disp=False)
    heads = [line.split(" : ", 1)[0] for line in text.splitlines() if line and not line[0].isspace() and " : " in line]
    names = mathopt.core.options.option_names(spec.options)
    assert sorted(heads) == sorted(names), "each option documented exactly once"
    for f in dataclasses.fields(spec.options):
        if f.default is dataclasses.MISSING or f.default is None or callable(f.default):
            continue
        line = next(line for line in text.splitlines() if line.startswith(f"{f.name} : "))
        if ", default " in line:
            shown = line.split(", default ", 1)[1]
            assert shown in (str(f.default), repr(f.default), "inf"), (f.name, shown, f.default)


def test_each_problem_class_has_one_marked_default():
    classes = {spec.problem for spec in mathopt.list_solvers()}
    for cls in classes:
        defaults = [s.name for s in mathopt.list_solvers() if s.problem is cls and s.default]
        assert len(defaults) == 1, (cls.__name__, defaults)
