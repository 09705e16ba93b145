"""The teaching examples: every example's runs are valid options, and the shared plotting module works."""
import importlib.util
import pathlib

import numpy as np
import pytest

from mathopt.core.options import build_options
from mathopt.core.registry import get_solver

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
METHODS = {"pbgd": "pbgd", "f2sa": "f2sa", "penalty_bo": "penalty-bo", "implicit": "implicit", "itd": "itd"}


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("stem", sorted(METHODS))
def test_example_runs_are_valid(stem):
    # running every example costs ~15 s each (compilations); here: its options build, its starts lie in X
    module = _load(f"bilevel_{stem}")
    method = METHODS[stem]
    assert set(module.RUNS) == {"pbgd_toy", "box_toy"}
    for runs in module.RUNS.values():
        for run in runs:
            build_options(get_solver(method).options, method, dict(run.options, max_iter=run.max_iter))
            assert all(0.0 <= x0 <= 3.0 for x0, _ in run.starts) and run.max_iter <= 2000


def test_shared_plot_module(tmp_path):
    """Local minimizers of the PBGD toy, and the figure drawn from stand-in trajectories (no compilation)."""
    plot = _load("_bilevel_plot")
    minima = plot.local_minimizers("pbgd_toy")
    assert len(minima) == 3
    np.testing.assert_allclose(minima[1], 1.215145, atol=2e-5)

    class Result:
        def __init__(self, path):
            self.x, self.y, self.nit = path[-1, :1], path[-1, 1:], len(path) - 1
            self.history = {"nit": np.arange(len(path)), "lower_gap": np.abs(path[:, 1] + path[:, 0])}

    def fake(name, method, options, start, max_iter):
        t = np.linspace(0.0, 1.0, max_iter + 1)[:, None]
        end = np.array([1.215145, -1.215145]) if name == "pbgd_toy" else np.array([2.0, 1.0])
        path = (1 - t) * np.asarray(start) + t * end
        return path, Result(path)

    runs = {"pbgd_toy": [plot.Run("a", {}, [(1.0, -1.0), (2.0, 0.0)], 10)], "box_toy": [plot.Run("b", {}, [(0.0, 0.0)], 10)]}
    summary = plot.show("pbgd", runs, tmp_path / "fig.png", "smoke test", scale=0.5, solver=fake)
    assert (tmp_path / "fig.png").stat().st_size > 20_000
    assert summary[("box_toy", "b", (0.0, 0.0))] == (2.0, 1.0, 5)


def test_slbamm_example(tmp_path, monkeypatch, capsys):
    """examples/bilevel_slbamm.py (its own layout: two convergence panels and the PBGD toy): valid
    options, starts in X, and its figure drawn from stand-in runs (no compilation)."""
    module = _load("bilevel_slbamm")
    assert set(module.RUNS) == {"merely_convex_toy", "quadratic_toy", "pbgd_toy"}
    for runs in module.RUNS.values():
        for run in runs:
            build_options(get_solver("slbamm").options, "slbamm", dict(run.options, max_iter=run.max_iter))
            assert run.max_iter <= 2000
    assert all(0.0 <= x0 <= 3.0 for x0, _ in module.RUNS["pbgd_toy"][0].starts)

    class Result:
        def __init__(self, n):
            self.status, self.nit, self.x = type("S", (), {"name": "CONVERGED"}), n - 1, np.array([1.2])
            self.history = {"nit": np.arange(n), "stationarity": np.logspace(0, -6, n)}

    monkeypatch.setattr(module, "errors", lambda name, options, max_iter: (np.logspace(0, -6, 11), Result(11)))
    monkeypatch.setattr(module, "trajectory", lambda name, method, options, start, max_iter:
                        (np.linspace(start, (1.2, -1.2), 11), Result(11)))
    module.main(["--out", str(tmp_path), "--scale", "0.01"])
    assert (tmp_path / "bilevel_slbamm.png").stat().st_size > 20_000
    assert "wrote" in capsys.readouterr().out


def test_lvhba_examples_build_their_problems():
    """bilevel_svm: one c_i and one constraint per training sample, a feasible start; the
    ClarkWesterberg1990a problem of bilevel_lvhba exists (running them costs minutes)."""
    svm = _load("bilevel_svm")
    train, val, test = svm.load(seed=0)
    assert [len(t) for _, t in (train, val, test)] == [200, 150, 219]
    problem = svm.problem(train, val)
    assert problem.dims == (200, 30 + 1 + 200) and problem.num_lower_constraints == 200
    assert np.all(np.asarray(problem.lower_constraints(problem.x0, problem.y0)) <= 1e-12)
    _load("bilevel_lvhba")
    from mathopt.problems.bilevel import constrained_problems
    assert "ClarkWesterberg1990a" in [p.name for p in constrained_problems()]
