"""The LP/QP suites of ``mathopt bench`` (maros-meszaros, netlib-lp, netlib-infeas) on 2-3 small instances."""
import math
import pathlib

import numpy as np
import pytest

import mathopt
from mathopt.bench import qp, run_benchmark
from mathopt.bench.report import complete, is_solved

DATA = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture
def data(monkeypatch):
    """Point $MATHOPT_DATA_DIR at ../shared/data, or skip with the reason."""
    if not DATA.is_dir():
        pytest.skip(f"{DATA} is absent (the shared test-problem collections, see ../shared/data/README.md)")
    pytest.importorskip("highspy", reason="highspy (HiGHS) reads the MPS files: pip install highspy")
    monkeypatch.setenv(qp.DATA_ENV, str(DATA))
    return DATA


def test_names_sizes_and_filter(data):
    names = qp.names("netlib-infeas")
    assert len(names) == 23 and "itest2" in names
    assert qp.size("maros-meszaros", "HS21") == (2, 3)  # from the .mat header, without loading
    small = qp.names("maros-meszaros", "max-size=5")
    assert "HS21" in small and all(sum(qp.size("maros-meszaros", n)) <= 5 for n in small)
    with pytest.raises(ValueError, match="max-size=N"):
        qp.names("netlib-lp", "size<10")


def test_unknown_names_missing_data_and_wrong_solvers_exit_2_before_any_run(data, tmp_path, monkeypatch, capsys):
    from mathopt.cli import main

    out = tmp_path / "out"
    base = ["bench", "--out", str(out), "--no-progress", "--workers", "1"]
    assert main(base + ["--suite", "netlib-infeas", "--problems", "itest2,nosuch", "--solvers", "admm-qp"]) == 2
    assert "nosuch" in capsys.readouterr().err
    assert main(base + ["--suite", "maros-meszaros", "--problems", "HS21", "--solvers", "scipy-slsqp"]) == 2
    assert "QP" in capsys.readouterr().err
    assert main(base + ["--suite", "maros-meszaros", "--problems", "HS21", "--solvers", "admm-qp",
                        "--data-dir", str(tmp_path / "empty")]) == 2
    assert "--data-dir" in capsys.readouterr().err
    assert not out.exists()  # nothing ran, nothing was written


def test_netlib_infeas_certificates_are_checked(data):
    records = complete(run_benchmark(["itest2", "itest6"], ["halpern-admm", "osqp"], suite="netlib-infeas",
                                     max_iter=5000, time_limit=30, workers=1, isolate=False, progress=False))
    for r in records:
        assert r["status"] == "PRIMAL_INFEASIBLE", r
        assert r["certified"] and r["solved"], r
    # a verdict whose certificate fails the check is not solved
    fake = dict(records[0], certified=False)
    assert not is_solved(fake)


def test_maros_meszaros_residuals_from_every_solver(data):
    records = complete(run_benchmark(["HS21", "HS35"], ["admm-qp", "osqp", "scs"], suite="maros-meszaros",
                                     max_iter=20000, time_limit=30, workers=1, isolate=False, progress=False))
    known = {"HS21": -99.96, "HS35": 1.0 / 9.0}  # Maros & Meszaros' optimal values
    for r in records:
        assert r["solved"], r
        assert r["fun"] == pytest.approx(known[r["problem"]], rel=1e-4, abs=1e-5)
        assert max(r["feasibility"], r["stationarity"], r["gap"]) <= qp.RESIDUAL_TOL


def test_netlib_lp_objective_against_highs(data):
    assert qp.reference_optimum("netlib-lp", "afiro") == pytest.approx(-464.7531428571, rel=1e-9)  # Netlib's value
    records = complete(run_benchmark(["afiro"], ["highs", "admm-qp"], suite="netlib-lp", max_iter=200,
                                     time_limit=30, workers=1, isolate=False, progress=False))
    by = {r["solver"]: r for r in records}
    assert by["highs"]["solved"] and by["highs"]["rel_error"] < 1e-9
    assert by["admm-qp"]["status"] == "MAX_ITER" and not by["admm-qp"]["solved"]  # 200 iterations are too few


def test_evaluate_and_criteria_on_a_hand_made_qp():
    # min 1/2 x^2 - x  s.t. 0 <= x <= 0.5: x* = 0.5, y* = 0.5 (upper bound active)
    problem = mathopt.QP([[1.0]], [-1.0], [[1.0]], [0.0], [0.5])
    good = qp.evaluate(problem, [0.5], [0.5])
    assert good["feasibility"] == 0.0 and good["stationarity"] == 0.0 and good["gap"] == pytest.approx(0.0, abs=1e-15)
    wrong_sign = qp.evaluate(problem, [0.5], [-0.5])  # a multiplier pushing the wrong way
    assert wrong_sign["stationarity"] > 0.1 and wrong_sign["gap"] > 0.1
    outside = qp.evaluate(problem, [0.7], [0.3])
    assert outside["feasibility"] == pytest.approx(0.2 / 1.7)
    record = {"suite": "maros-meszaros", "feasibility": 1e-7, "stationarity": 1e-7, "gap": 2e-6}
    assert not is_solved(record) and is_solved(dict(record, gap=1e-7))
    lp = {"suite": "netlib-lp", "fun": 100.0 + 2e-4, "known_optimum": 100.0, "feasibility": 0.0}
    assert not is_solved(lp) and is_solved(dict(lp, fun=100.0 + 5e-5))
    assert not is_solved(dict(lp, fun=math.nan))


def test_dual_certificate_check_from_data_alone():
    # min -x1 s.t. x1 + x2 >= 0, x2 <= 1: the ray (1, 0) certifies unboundedness; (0, -1) does not
    problem = mathopt.QP(None, [-1.0, 0.0], np.array([[1.0, 1.0], [0.0, 1.0]]), [0.0, -np.inf], [np.inf, 1.0])
    assert qp.certified(problem, "DUAL_INFEASIBLE", np.array([2.0, 0.0]))
    assert not qp.certified(problem, "DUAL_INFEASIBLE", np.array([0.0, -1.0]))
    assert not qp.certified(problem, "CONVERGED", np.array([1.0, 0.0]))
