"""The teaching example runs and draws both figures (short rate runs)."""
import importlib.util
import pathlib

import numpy as np
import pytest

import mathopt

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "feasibility_certificate.py"


def _load():
    spec = importlib.util.spec_from_file_location("feasibility_certificate", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_figures(tmp_path):
    pytest.importorskip("matplotlib")
    module = _load()
    module.main(["--out", str(tmp_path), "--iterations", "100"])
    assert (tmp_path / "feasibility_certificate.png").stat().st_size > 10000
    assert (tmp_path / "feasibility_rates.png").stat().st_size > 10000


def test_example_steps_change_status_where_the_set_empties():
    module = _load()
    statuses = [mathopt.solve(module.lp(k), method="halpern-admm").status for k in module.STEPS]
    assert statuses == [mathopt.Status.CONVERGED] * 2 + [mathopt.Status.PRIMAL_INFEASIBLE] * 2


def test_spread_operator_displacement():
    T, z0, v = _load().spread_operator(blocks=20)
    w = T(z0 + 1.0)
    assert w[-1] == pytest.approx(0.0) and np.linalg.norm(v) == 1.0
