"""The learned-proximal-network examples run at a tiny size and write their figure into --out."""
import importlib.util
import pathlib

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["prox_lpn_laplace", "prox_lpn_digits"])
def test_example_runs_small(name, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    curves = _load(name).main(["--scale", "0.005", "--out", str(tmp_path)])
    assert (tmp_path / f"{name}.png").stat().st_size > 20_000
    assert curves and all(np.all(np.isfinite(np.asarray(v, dtype=float))) for v in curves.values())
