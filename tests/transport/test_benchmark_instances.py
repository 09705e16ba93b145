"""The transport benchmarks' own code paths (issue 17 §2/§3): the token-to-expert objectives of
``benchmarks/bench_transport_general.py`` and the method / reg selection of ``bench_transport_online.py``.
Small sizes only; the measured runs are in docs/transport.md."""
import importlib
import json
import pathlib
import sys

import numpy as np
import pytest

import mathopt
from mathopt.transport.mirror_sinkhorn import round_to_polytope

BENCHMARKS = pathlib.Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name):
    """The benchmark script as a module (benchmarks/ is not a package: imported from its folder)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def general():
    return _load("bench_transport_general")


def test_token_instance_marginals_cost_and_graph_laplacian(general):
    a, b, C, incidence = general.make_token_instance(30, 4, seed=1, dim=8, neighbours=3)
    assert C.shape == (30, 4) and a.shape == (30,) and b.shape == (4,)
    np.testing.assert_allclose([a.sum(), b.sum()], [1.0, 1.0])
    np.testing.assert_allclose(b, 0.25)
    assert C.min() == 0.0 and C.max() == 1.0
    # B^T B is the Laplacian D - W of the symmetric 3-nearest-neighbour graph (each token has >= 3 neighbours)
    laplacian = (incidence.T @ incidence).toarray()
    adjacency = -laplacian.copy()
    np.fill_diagonal(adjacency, 0.0)
    assert set(np.unique(adjacency)) <= {0.0, 1.0}
    np.testing.assert_allclose(np.diag(laplacian), adjacency.sum(axis=1))
    assert adjacency.sum(axis=1).min() >= 3 and np.allclose(adjacency, adjacency.T)
    P = np.random.default_rng(0).random(C.shape)
    B_P = incidence @ P
    np.testing.assert_allclose(np.vdot(B_P, B_P), np.trace(P.T @ laplacian @ P))


def test_token_graph_objective_gradient_matches_finite_differences(general):
    a, b, C, incidence = general.make_token_instance(20, 3, seed=0, dim=6, neighbours=4)
    lam = 2.0
    f, g = general.objective_functions("tokens-graph", C, lam, 0.0, incidence, mu=0.7)
    rng = np.random.default_rng(2)
    P, D = rng.random(C.shape), rng.standard_normal(C.shape)
    h = 1e-6
    assert abs((f(P + h * D) - f(P - h * D)) / (2 * h) - np.vdot(g(P), D)) < 1e-6
    f0, g0 = general.objective_functions("tokens", C, lam, 0.0)
    ftg0, gtg0 = general.objective_functions("tokens-graph", C, lam, 0.0, incidence, mu=0.0)
    assert f0(P) == pytest.approx(ftg0(P)) and np.allclose(g0(P), gtg0(P))


@pytest.mark.parametrize("kind", ["tokens", "tokens-graph"])
def test_token_objectives_mirror_sinkhorn_reaches_the_cvxpy_optimum(general, kind):
    a, b, C, incidence = general.make_token_instance(24, 4, seed=0, dim=8, neighbours=4)
    lam = 0.1 * 24
    mu = 0.1 * lam if kind == "tokens-graph" else 0.0
    f, g = general.objective_functions(kind, C, lam, 0.0, incidence, mu)
    _, P_cvx = general.run_cvxpy(a, b, C, kind, lam, 0.0, incidence, mu)
    optimum = f(round_to_polytope(P_cvx, a, b))
    result = mathopt.solve(mathopt.TransportProblem(a, b, objective=f, gradient=g), method="mirror-sinkhorn")
    assert result.status is mathopt.Status.CONVERGED
    plan = round_to_polytope(result.plan, a, b)
    assert abs(f(plan) - optimum) <= 1e-6 * abs(optimum)
    # the benchmark's certified lower bound (Frank-Wolfe, exact EMD step) brackets the optimum
    lower = f(plan) + general.frank_wolfe_bound(a, b, g, plan)
    assert lower <= optimum + 1e-12 and optimum - lower <= 1e-5 * abs(optimum)


def test_online_benchmark_runs_only_the_requested_methods_regs_and_budgets(tmp_path):
    online = _load("bench_transport_online")
    online.main(["--n", "8", "--batch", "4", "--budgets", "5", "10", "--pot-max-budget", "5",
                 "--method-max-budget", "sgd-dual=10", "--methods", "sag", "sgd-dual",
                 "--regs", "0.1", "0.03", "--pot-regs", "0.1", "--out", str(tmp_path), "--tag", "_t"])
    data = json.loads((tmp_path / "transport_online_bench_n8_t.json").read_text())
    assert sorted(data["floors"]) == ["0.03", "0.1"]
    results = data["results"]
    assert [row[0] for row in results["mirror-sinkhorn (online)"]] == [5, 10]
    assert [row[0] for row in results["POT sag"]] == [5]  # --pot-max-budget
    assert [row[0] for row in results["POT sgd-dual"]] == [5, 10]  # --method-max-budget overrides it
    assert {row[3] for row in results["POT sag"] + results["POT sgd-dual"]} == {0.1}  # --pot-regs
    assert [row[4] for row in results["POT sag"]] == [5 * 8]  # one row of 8 entries per iteration
    assert [row[4] for row in results["POT sgd-dual"]] == [5 * 64 // 16, 10 * 64 // 16]  # batch^2 entries
    table = (tmp_path / "transport_online_bench_n8_t.md").read_text()
    assert "| 10 |" in table and "not run" in table
    assert (tmp_path / "transport_online_bench_n8_t.png").stat().st_size > 0
    with pytest.raises(SystemExit):
        online.main(["--methods", "sag", "--method-max-budget", "asgd=10", "--out", str(tmp_path)])


def test_single_timed_mirror_run_records_every_iterate_and_a_certified_bound(general):
    a, b, C, incidence = general.make_token_instance(24, 4, seed=0, dim=8, neighbours=4)
    f, g = general.objective_functions("tokens", C, 2.4, 0.0)
    _, P_cvx = general.run_cvxpy(a, b, C, "tokens", 2.4, 0.0)
    optimum = f(round_to_polytope(P_cvx, a, b))
    points, plan, lower = general.run_mirror_once(a, b, f, g, time_limit=60.0)
    assert [p[2] for p in points] == list(range(len(points)))  # iterate 0, 1, ..., nit
    assert all(p1[0] >= p0[0] for p0, p1 in zip(points, points[1:]))  # elapsed time never decreases
    assert points[-1][1] == pytest.approx(f(plan), rel=1e-12)  # F at the rounded iterate
    assert lower <= optimum + 1e-12 and optimum - lower <= 1e-6 * abs(optimum)  # certified, and tight here


def test_online_benchmark_one_run_snapshots_equal_separate_runs(tmp_path):
    """--pot-one-run reads SAG's / ASGD's iterate at the smaller budgets from one run: the same
    sub-optimality, to the last bit, as one run per budget (same seeds)."""
    online = _load("bench_transport_online")
    common = ["--n", "8", "--budgets", "3", "7", "12", "--pot-max-budget", "12", "--methods", "sag", "asgd",
              "--regs", "0.1", "--out", str(tmp_path)]
    online.main(common + ["--tag", "_sep"])
    online.main(common + ["--tag", "_one", "--pot-one-run"])
    separate, one = ({k: v for k, v in json.loads((tmp_path / f"transport_online_bench_n8_{tag}.json")
                                                  .read_text())["results"].items() if k.startswith("POT")}
                     for tag in ("sep", "one"))
    assert sorted(separate) == sorted(one) == ["POT asgd", "POT sag"]
    for name in separate:
        assert [row[0] for row in one[name]] == [3, 7, 12]
        assert [row[1] for row in one[name]] == [row[1] for row in separate[name]]
        assert len({row[1] for row in one[name]}) == 3  # the budgets give different plans
    # the two runs' files merged into one table and figure (one POT method per process, side by side)
    online.main(["--merge", str(tmp_path / "transport_online_bench_n8_one.json"),
                 str(tmp_path / "transport_online_bench_n8_sep.json"), "--out", str(tmp_path), "--tag", "_m"])
    table = (tmp_path / "transport_online_bench_n8_m.md").read_text()
    assert "| 12 |" in table and "POT asgd" in table and "merged from" in table
    assert (tmp_path / "transport_online_bench_n8_m.png").stat().st_size > 0
