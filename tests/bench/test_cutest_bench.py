"""The runner on the cutest suite: parallel runs on a fresh pycutest cache, build once, build failures.

Skipped (with the reason) without pycutest/CUTEst. Every test here uses one
fresh cache (a temporary PYCUTEST_CACHE for this module), so each problem is
compiled once per test session (about 3 s each; 7 problems).
"""
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest

from mathopt.bench import run_benchmark
from mathopt.bench.report import complete, summary_table, write_report
from mathopt.bench.runner import BUILD_FAILED
from mathopt.bench.suites import UnknownProblemError
from mathopt.problems import cutest

UNAVAILABLE = cutest.unavailable_reason()
pytestmark = pytest.mark.skipif(UNAVAILABLE is not None, reason=f"CUTEst/pycutest not available: {UNAVAILABLE}")

PROBLEMS = ["HS6", "HS7", "HS28", "BT1"]
SOLVERS = ["scipy-slsqp", "scipy-trust-constr", "al-newton"]


@pytest.fixture(scope="module")
def fresh_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        cache = tmp_path_factory.mktemp("pycutest_cache")
        patch.setenv("PYCUTEST_CACHE", str(cache))
        yield cache


def test_parallel_runs_on_a_fresh_cache_build_each_problem_once(fresh_cache):
    records = run_benchmark(PROBLEMS, SOLVERS, suite="cutest", workers=2, time_limit=30, grace=60, progress=False)
    rows = complete(records)
    assert len(rows) == len(PROBLEMS) * len(SOLVERS)
    for row in rows:  # no run failed for another reason than the solver's own
        assert row["status"] not in ("ERROR", "CRASHED", "TIMEOUT", "UNSUPPORTED", BUILD_FAILED), row
        assert row["error"] == "" and row["nfev"] > 0, row
    for problem in PROBLEMS:  # built in this call (fresh cache), once: one build time shared by its runs
        times = {row["build_time"] for row in rows if row["problem"] == problem}
        assert len(times) == 1 and 0.5 < times.pop() < 120, problem
        assert (fresh_cache / "pycutest_cache_holder" / problem / "__init__.py").is_file()
    # solved to the built-in problems' optimal values (known_optimum comes from mathopt.problems.hs)
    solved = {(row["problem"], row["solver"]) for row in rows if row["solved"]}
    assert {(p, s) for p in PROBLEMS for s in ("scipy-trust-constr", "al-newton")} <= solved
    # a second benchmark finds every problem built: build time 0, not part of any run time
    again = run_benchmark(["HS28"], ["scipy-slsqp"], suite="cutest", workers=1, progress=False)
    assert again[0]["build_time"] == 0.0 and again[0]["status"] == "CONVERGED"


def _build_and_load(name, env):
    os.environ.update(env)
    seconds = cutest.build(name)
    problem = cutest.load(name)
    return seconds, problem.n, float(problem.evaluator().fun(problem.x0))


def test_concurrent_builds_of_one_problem_wait_for_each_other(fresh_cache):
    """Two processes build the same problem at once (no parent pre-build): one builds, the other waits."""
    context = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                          else "spawn")
    env = cutest.environment()
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        results = list(pool.map(_build_and_load, ["HS9", "HS9"], [env, env]))
    seconds = sorted(r[0] for r in results)
    assert seconds[0] == 0.0 and seconds[1] > 0.5, seconds  # built exactly once
    assert [r[1:] for r in results] == [(2, 0.0), (2, 0.0)]  # HS9: n = 2, f(x0) = sin(0) cos(0) = 0


def test_build_failure_is_reported_once_and_its_runs_recorded(fresh_cache, tmp_path, monkeypatch, capsys):
    sif = tmp_path / "sif"
    sif.mkdir()
    (sif / "HS6.SIF").symlink_to(os.path.join(os.environ["MASTSIF"], "HS6.SIF"))
    (sif / "BROKEN.SIF").write_text("NAME          BROKEN\n\nVARIABLES\n    X1\nNOT A SIF CARD\nENDATA\n")
    monkeypatch.setenv("MASTSIF", str(sif))
    records = run_benchmark(["BROKEN", "HS6"], ["scipy-slsqp", "al-newton"], suite="cutest", workers=2,
                            progress=False)
    err = capsys.readouterr().err
    assert err.count("failed to build") == 1 and "CUTEst problem BROKEN failed to build" in err
    broken = [r for r in records if r["problem"] == "BROKEN"]
    assert [r["status"] for r in broken] == [BUILD_FAILED, BUILD_FAILED]
    assert all("SIFDECODE failed" in r["error"] and "indicator card not recognised" in r["error"] for r in broken)
    assert all(r["status"] == "CONVERGED" for r in records if r["problem"] == "HS6")
    table = summary_table(records)  # build failures are not the solvers' runs or failures
    assert "| scipy-slsqp | 1 | 1 (100%) | 0 |" in table
    summary = write_report(records, tmp_path / "out")["summary"].read_text()
    assert "## Problems that could not be built" in summary and "* BROKEN: pycutest could not build" in summary


def test_unknown_cutest_problem_fails_before_any_run(fresh_cache):
    with pytest.raises(UnknownProblemError, match="SINVALNE is not in MASTSIF"):
        run_benchmark(["HS6", "SINVALNE"], ["scipy-slsqp"], suite="cutest", progress=False)
    assert not (fresh_cache / "pycutest_cache_holder" / "SINVALNE").exists()
