"""The benchmark runner: files written, crash/hang isolation, performance profile."""
import json
import math
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import mathopt
from mathopt.bench import performance_profile, run_benchmark, write_report
from mathopt.bench.cli import default_solvers
from mathopt.bench.report import complete, is_solved, summary_table
from mathopt.core import registry
from mathopt.core.nlp import NLP


def raising_solver(problem, options):
    """Test-only solver that raises."""
    raise RuntimeError("deliberate failure inside the solver")


def hanging_solver(problem, options):
    """Test-only solver that ignores max_time and never returns."""
    time.sleep(3600)


def dying_solver(problem, options):
    """Test-only solver that kills its interpreter."""
    os._exit(3)


def orphaning_solver(problem, options):
    """Test-only solver that starts a ``sleep`` process, writes its pid, and hangs."""
    child = subprocess.Popen(["sleep", "300"])
    with open(registry.get_solver("test-bench-orphans").extra["pid_file"], "w") as handle:
        handle.write(str(child.pid))
    time.sleep(3600)


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (an unreaped zombie is dead)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def bad_solvers():
    names = {"test-bench-raises": raising_solver, "test-bench-hangs": hanging_solver,
             "test-bench-dies": dying_solver}
    registry.list_solvers()
    for name, func in names.items():
        mathopt.register(name, problem=NLP, constraints=("eq", "ineq", "bounds"))(func)
    yield list(names)
    for name in names:
        registry._REGISTRY.pop(name, None)


def test_tiny_run_writes_every_file(tmp_path):
    records = run_benchmark(["HS28", "BT10"], ["scipy-slsqp", "scipy-trust-constr"], max_iter=200,
                            time_limit=30, workers=2, progress=False)
    assert [(r["problem"], r["solver"]) for r in records] == [
        ("HS28", "scipy-slsqp"), ("HS28", "scipy-trust-constr"), ("BT10", "scipy-slsqp"),
        ("BT10", "scipy-trust-constr")]
    rows = complete(records)
    assert all(r["solved"] for r in rows), rows
    assert all(r["nfev"] > 0 and r["wall_time"] >= 0 and r["error"] == "" for r in rows)
    paths = write_report(records, tmp_path, command="mathopt bench --problems HS28,BT10")
    assert set(paths) >= {"csv", "json", "summary"}
    for path in paths.values():
        assert path.exists() and path.stat().st_size > 0
    loaded = json.loads(paths["json"].read_text())
    assert len(loaded) == 4 and loaded[0]["known_optimum"] == 0.0
    header = paths["csv"].read_text().splitlines()[0].split(",")
    for column in ("problem", "solver", "status", "success", "fun", "known_optimum", "rel_error", "stationarity",
                   "feasibility", "nit", "nfev", "ngev", "wall_time", "error"):
        assert column in header
    summary = paths["summary"].read_text()
    assert "| scipy-slsqp | 2 | 2 (100%) | 0 |" in summary
    pytest.importorskip("matplotlib")
    assert paths["profile"].read_bytes()[:4] == b"\x89PNG"


def test_crashing_and_hanging_solvers_are_failures(bad_solvers):
    solvers = ["scipy-slsqp"] + bad_solvers
    start = time.perf_counter()
    records = run_benchmark(["HS28"], solvers, time_limit=1.0, grace=4.0, workers=2, progress=False)
    elapsed = time.perf_counter() - start
    by_solver = {r["solver"]: r for r in complete(records)}
    assert by_solver["scipy-slsqp"]["solved"]
    raised = by_solver["test-bench-raises"]
    assert raised["status"] == "ERROR" and "deliberate failure" in raised["error"] and not raised["solved"]
    hung = by_solver["test-bench-hangs"]
    assert hung["status"] == "TIMEOUT" and "killed after 5 s" in hung["error"] and not hung["solved"]
    died = by_solver["test-bench-dies"]
    assert died["status"] == "CRASHED" and "exit code 3" in died["error"]
    assert elapsed < 60  # the hanging run was killed, not waited for (generous bound)
    table = summary_table(records)
    assert "| test-bench-hangs | 1 | 0 (0%) | 1 |" in table


def test_runs_in_process_through_a_given_executor():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as executor:
        records = run_benchmark(["HS6"], ["scipy-slsqp"], executor=executor, isolate=False, progress=False)
    assert is_solved(records[0]) and records[0]["status"] == "CONVERGED"


def test_default_solvers_are_available_equality_capable_nlp_solvers():
    names = default_solvers()
    assert {"scipy-slsqp", "scipy-trust-constr"} <= set(names)
    for name in names:
        spec = registry.get_solver(name)
        assert spec.problem is NLP and "eq" in spec.constraints and spec.available()


def test_solved_criterion():
    base = {"stationarity": 1e-7, "feasibility": 1e-9, "fun": 1.0 + 1e-7, "known_optimum": 1.0}
    assert is_solved(base)
    assert not is_solved({**base, "fun": 1.01})                    # a different local minimum
    assert not is_solved({**base, "feasibility": 1e-6})
    assert not is_solved({**base, "stationarity": 1e-5})
    assert is_solved({**base, "known_optimum": None, "fun": 5.0})  # no known optimum: KKT only
    assert not is_solved({**base, "stationarity": math.nan})


def test_performance_profile_hand_made_example():
    # 4 problems, costs of three solvers (inf = failed). Best per problem: 1, 2, 3, (none).
    costs = {"a": [1.0, 2.0, 6.0, math.inf], "b": [2.0, 8.0, 3.0, math.inf], "c": [math.inf, 4.0, 3.0, math.nan]}
    taus, rho = performance_profile(costs)
    # ratios: a = [1, 1, 2, inf], b = [2, 4, 1, inf], c = [inf, 2, 1, inf]
    np.testing.assert_allclose(taus, [1.0, 2.0, 4.0])
    np.testing.assert_allclose(rho["a"], [0.50, 0.75, 0.75])
    np.testing.assert_allclose(rho["b"], [0.25, 0.50, 0.75])
    np.testing.assert_allclose(rho["c"], [0.25, 0.50, 0.50])
    _, rho_at = performance_profile(costs, taus=[1.5, 100.0])
    np.testing.assert_allclose(rho_at["a"], [0.5, 0.75])


def test_cli_bench_end_to_end(tmp_path, capsys):
    from mathopt.cli import main

    code = main(["bench", "--problems", "HS28", "--solvers", "scipy-slsqp", "--out", str(tmp_path),
                 "--no-progress", "--workers", "1", "--max-iter", "100"])
    assert code == 0
    assert "| scipy-slsqp | 1 | 1 (100%)" in capsys.readouterr().out
    assert (tmp_path / "runs.csv").exists() and (tmp_path / "summary.md").exists()
    assert main(["bench", "--solvers", "no-such-solver", "--out", str(tmp_path), "--no-progress"]) == 2


def test_process_pool_executor_with_isolated_runs():
    """Any Executor: here worker processes that themselves start one child per run."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                          else "spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as executor:
        records = run_benchmark(["BT9"], ["scipy-slsqp"], executor=executor, progress=False)
    assert records[0]["status"] == "CONVERGED" and is_solved(records[0]), records[0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_timeout_kills_processes_the_solver_started(tmp_path):
    pid_file = tmp_path / "sleep.pid"
    registry.list_solvers()
    mathopt.register("test-bench-orphans", problem=NLP, constraints=("eq",), pid_file=str(pid_file))(orphaning_solver)
    try:
        records = run_benchmark(["HS28"], ["test-bench-orphans"], time_limit=1.0, grace=8.0, workers=1,
                                progress=False)
    finally:
        registry._REGISTRY.pop("test-bench-orphans", None)
    assert records[0]["status"] == "TIMEOUT"
    assert pid_file.exists(), "the solver did not start within the 9 s limit (a very slow machine)"
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10.0
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(pid), f"the solver's sleep process {pid} outlived the run"


def test_unknown_problem_or_unfit_solver_fail_before_any_run(tmp_path, capsys):
    from mathopt.bench.suites import UnknownProblemError
    from mathopt.cli import main

    with pytest.raises(UnknownProblemError, match=r"unknown builtin problem\(s\) HS999; valid names: HS6, HS7"):
        run_benchmark(["HS6", "HS999"], ["scipy-slsqp"], progress=False)
    out = tmp_path / "out"
    assert main(["bench", "--problems", "HS999", "--solvers", "scipy-slsqp", "--out", str(out), "--no-progress"]) == 2
    assert "HS999" in capsys.readouterr().err and not out.exists()
    assert main(["bench", "--problems", "HS6", "--solvers", "sinkhorn", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "'sinkhorn' solves TransportProblem problems" in err and "scipy-slsqp" in err and not out.exists()


def test_cutest_suite_without_cutest_fails_before_any_run(tmp_path, monkeypatch, capsys):
    from mathopt.cli import main

    monkeypatch.delenv("MASTSIF", raising=False)
    out = tmp_path / "out"
    assert main(["bench", "--suite", "cutest", "--problems", "HS28", "--solvers", "scipy-slsqp", "--out", str(out),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and ("MASTSIF" in err or "pycutest is not installed" in err) and not out.exists()


def test_progress_lines_when_not_a_terminal(monkeypatch, capsys):
    from mathopt.bench import runner

    monkeypatch.setattr(runner, "PROGRESS_INTERVAL", 0.2)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    run_benchmark(["HS6", "HS28"], ["scipy-slsqp"], workers=1, progress=None)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("mathopt bench:")]
    assert len(lines) >= 2, lines  # at least one while running (each run takes > 0.2 s) and the last
    assert lines[-1].startswith("mathopt bench: 2/2 runs done,") and lines[-1].endswith(", 0 failed")


def test_script_without_main_guard_is_stopped_in_the_workers(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent("""
        from mathopt.bench import run_benchmark
        records = run_benchmark(["HS28"], ["scipy-slsqp"], workers=1, progress=False, grace=60)
        print("STATUS", records[0]["status"], records[0]["error"])
    """))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert 'if __name__ == "__main__":' in done.stderr and "RuntimeError" in done.stderr
    assert done.stdout.count("STATUS") == 1 and "STATUS CRASHED" in done.stdout  # the worker did not run a benchmark
    assert "add that guard to" in done.stdout
    guarded = tmp_path / "guarded.py"
    guarded.write_text(textwrap.dedent(f"""
        if __name__ == "__main__":
            exec({script.read_text()!r})
    """))
    done = subprocess.run([sys.executable, str(guarded)], capture_output=True, text=True, env=env, timeout=300,
                          cwd=tmp_path)
    assert "STATUS CONVERGED" in done.stdout, done.stderr
