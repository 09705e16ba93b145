"""The benchmark runner on a Dask cluster (LocalCluster of worker processes), and solve_many."""
import os
import sys
import time

import numpy as np
import pytest

import mathopt
from mathopt.bench import run_benchmark
from mathopt.bench.report import complete
from mathopt.core import registry
from mathopt.core.nlp import NLP


def dask_hanging_solver(problem, options):
    """Test-only solver that ignores max_time and never returns."""
    time.sleep(3600)


def dask_dying_solver(problem, options):
    """Test-only solver that kills its interpreter."""
    os._exit(3)


@pytest.fixture(scope="module")
def cluster_executor():
    pytest.importorskip("distributed", reason="the Dask tests need dask.distributed (the test extra has it)")
    cloudpickle = pytest.importorskip("cloudpickle")
    from mathopt.bench.runner import dask_executor

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the test solvers travel by value
    executor, session = dask_executor("local", workers=2)
    yield executor
    session.close()


def test_dask_cluster_isolates_crashing_and_hanging_runs(cluster_executor):
    """Before: every run on a LocalCluster(processes=True) came back CRASHED ("daemonic processes are
    not allowed to have children"). Now each run goes to its own interpreter inside the worker."""
    names = {"test-dask-hangs": dask_hanging_solver, "test-dask-dies": dask_dying_solver}
    registry.list_solvers()
    for name, func in names.items():
        mathopt.register(name, problem=NLP, constraints=("eq", "ineq", "bounds"))(func)
    try:
        # a generous grace for the good runs (a fresh interpreter per run imports NumPy, SciPy, JAX)
        records = run_benchmark(["HS28", "BT9"], ["scipy-slsqp", "test-dask-dies"], executor=cluster_executor,
                                time_limit=30.0, grace=60.0, progress=False)
        start = time.perf_counter()
        hung = run_benchmark(["HS28"], ["test-dask-hangs"], executor=cluster_executor, time_limit=1.0,
                             grace=4.0, progress=False)[0]
        elapsed = time.perf_counter() - start
    finally:
        for name in names:
            registry._REGISTRY.pop(name)
    by_run = {(r["problem"], r["solver"]): r for r in complete(records)}
    for problem in ("HS28", "BT9"):
        good = by_run[(problem, "scipy-slsqp")]
        assert good["status"] == "CONVERGED" and good["solved"], good
        died = by_run[(problem, "test-dask-dies")]
        assert died["status"] == "CRASHED" and "exit code 3" in died["error"]
    assert hung["status"] == "TIMEOUT" and "killed after 5 s" in hung["error"]
    assert elapsed < 30  # the hung run was killed at its limit, not waited for


def test_cli_scheduler_local(tmp_path, capsys):
    pytest.importorskip("distributed")
    from mathopt.cli import main

    code = main(["bench", "--problems", "HS28,HS6", "--solvers", "scipy-slsqp", "--out", str(tmp_path),
                 "--no-progress", "--workers", "1", "--scheduler", "local"])
    assert code == 0
    assert "| scipy-slsqp | 2 | 2 (100%)" in capsys.readouterr().out


def _shifted(c):
    return mathopt.NLP(lambda x: float((x[0] - c) ** 2 + (x[1] + c) ** 2), x0=[0.0, 0.0],
                       eq=lambda x: np.array([x[0] + x[1] - 1.0]))


def test_solve_many_threads_in_order_and_exceptions():
    problems = [_shifted(c) for c in (0.0, 1.0, 2.0)]
    results = mathopt.solve_many(problems, "scipy-slsqp", workers=2)
    for c, result in zip((0.0, 1.0, 2.0), results):
        # min (x0-c)^2 + (x1+c)^2 s.t. x0 + x1 = 1: x0 = c + 1/2, x1 = 1/2 - c
        np.testing.assert_allclose(result.x, [c + 0.5, 0.5 - c], atol=1e-5)
        assert result.success
    def fails_away_from_x0(x):  # NLP evaluates the objective at x0 to validate it
        return float(x @ x) / (1.0 if np.array_equal(x, [1.0, 1.0]) else 0.0)

    failing = mathopt.NLP(fails_away_from_x0, x0=[1.0, 1.0], gradient=lambda x: 2.0 * x)
    with pytest.raises(ZeroDivisionError):
        mathopt.solve_many([problems[0], failing], "scipy-slsqp")
    mixed = mathopt.solve_many([problems[0], failing], "scipy-slsqp", return_exceptions=True)
    assert mixed[0].success and isinstance(mixed[1], ZeroDivisionError)


def test_solve_many_on_the_cluster(cluster_executor):
    """Problems holding lambdas travel to the worker processes by value (cloudpickle)."""
    results = mathopt.solve_many([_shifted(c) for c in (1.0, 3.0)], "scipy-slsqp", executor=cluster_executor)
    np.testing.assert_allclose([r.x for r in results], [[1.5, -0.5], [3.5, -2.5]], atol=1e-5)
    assert all(r.success for r in results)
