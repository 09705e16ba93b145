import numpy as np
import pytest

import mathopt
from mathopt import OptionError, UnknownMethodError
from mathopt.core.options import CommonOptions
from mathopt.core.registry import _REGISTRY, default_method, get_solver
from mathopt.problems import hs


class OtherProblem(mathopt.Problem):
    pass


def test_unknown_method_lists_registered_ones():
    with pytest.raises(UnknownMethodError, match="registered methods: .*scipy-slsqp"):
        mathopt.solve(hs.load("HS28"), method="no-such-method")


def test_unknown_option_lists_valid_ones():
    with pytest.raises(OptionError, match="unknown option.*'tolerance'.*valid options: .*stationarity_tol"):
        mathopt.solve(hs.load("HS28"), method="scipy-slsqp", tolerance=1e-3)


@pytest.mark.parametrize("options, match", [
    (dict(max_iter=-1), "max_iter"), (dict(max_iter=2.5), "max_iter"), (dict(max_time=0.0), "max_time"),
    (dict(callback=3), "callback"), (dict(seed="a"), "seed"), (dict(stationarity_tol=-1.0), "stationarity_tol"),
    (dict(hessian="newton"), "hessian"),
])
def test_invalid_option_values(options, match):
    with pytest.raises(OptionError, match=match):
        mathopt.solve(hs.load("HS28"), method="scipy-trust-constr", **options)


def test_wrong_problem_type_is_a_clear_error():
    with pytest.raises(UnknownMethodError, match="solves NLP problems, not OtherProblem"):
        mathopt.solve(OtherProblem(), method="scipy-slsqp")
    with pytest.raises(UnknownMethodError, match="no registered method handles OtherProblem"):
        mathopt.solve(OtherProblem())


def test_unsupported_constraint_kind_is_rejected():
    @mathopt.register("test-unconstrained-only", problem=mathopt.NLP)
    def unconstrained(problem, options):  # pragma: no cover - never called
        raise AssertionError

    try:
        with pytest.raises(UnknownMethodError, match=r"does not handle constraints of type \['eq'\]"):
            mathopt.solve(hs.load("HS28"), method="test-unconstrained-only")
        with pytest.raises(ValueError, match="already registered"):
            mathopt.register("test-unconstrained-only", problem=mathopt.NLP)(lambda p, o: None)
    finally:
        _REGISTRY.pop("test-unconstrained-only")


def test_register_requires_options_dataclass():
    with pytest.raises(TypeError, match="subclass of CommonOptions"):
        mathopt.register("bad", problem=mathopt.NLP, options=dict)


def test_default_method_and_listing():
    problem = hs.load("HS28")
    assert default_method(problem) == "scipy-slsqp"
    assert mathopt.solve(problem).solver == "scipy-slsqp"
    names = [s.name for s in mathopt.list_solvers(mathopt.NLP)]
    assert {"scipy-slsqp", "scipy-trust-constr"} <= set(names)
    assert names == sorted(names)
    assert mathopt.list_solvers(OtherProblem) == []
    spec = get_solver("scipy-slsqp")
    assert spec.available() and spec.default and spec.constraints == {"eq", "ineq", "bounds"}


def test_show_options_prints_own_family_and_common_options(capsys):
    text = mathopt.show_options("scipy-slsqp", disp=False)
    for name in ("ftol", "stationarity_tol", "feasibility_tol", "max_iter", "callback", "seed"):
        assert f"{name} :" in text
    assert mathopt.show_options("scipy-slsqp") is None
    assert "ftol" in capsys.readouterr().out


def test_solve_lets_exceptions_through_unchanged():
    """solve() turns nothing into a status: numerical failures are the driver's job (it keeps the
    last good iterate, see tests/core/test_driver.py); anything else reaches the caller as raised."""
    @mathopt.register("test-singular", problem=mathopt.NLP, constraints=("eq",))
    def singular(problem, options):
        np.linalg.solve(np.zeros((2, 2)), np.ones(2))

    try:
        with pytest.raises(np.linalg.LinAlgError):
            mathopt.solve(hs.load("HS28"), method="test-singular")
    finally:
        _REGISTRY.pop("test-singular")


def test_seed_none_becomes_a_fresh_recorded_seed():
    seen = []

    @mathopt.register("test-seeded", problem=mathopt.NLP, stochastic=True)
    def seeded(problem, options):
        seen.append(options.seed)
        return mathopt.Result(x=problem.x0, fun=0.0, status=mathopt.Status.CONVERGED)

    try:
        problem = mathopt.NLP(lambda x: float(x @ x), [1.0])
        first, second = mathopt.solve(problem, method="test-seeded"), mathopt.solve(problem, method="test-seeded")
        assert all(isinstance(s, int) and s >= 0 for s in seen) and seen[0] != seen[1]
        assert (first.extra["seed"], second.extra["seed"]) == tuple(seen)
        assert mathopt.solve(problem, method="test-seeded", seed=np.int64(5)).extra["seed"] == 5
    finally:
        _REGISTRY.pop("test-seeded")


def test_common_options_defaults():
    opts = CommonOptions()
    assert (opts.max_iter, opts.history, opts.verbose, opts.seed, opts.progress_every) == (1000, False, False, None, 0)
    assert CommonOptions(verbose=True).progress_every == 1 and CommonOptions(verbose=5).progress_every == 5
