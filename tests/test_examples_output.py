"""The examples write into the folder given by ``--out`` (default ./mathopt-figures), never into the checkout.

``examples/_output.py`` holds the convention, ``examples/make_figures.py`` runs
every example into one folder (``--out docs/figures`` regenerates the figures
of the documentation). A test run must leave ``git status`` of ``docs/`` and
``examples/`` as it found it.
"""
import argparse
import importlib.util
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def examples_path(monkeypatch):
    """examples/ on sys.path, as when a script runs (its shared modules ``_output``, ``_bilevel_plot``)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))


def _tracked_changes():
    """``git status --porcelain`` of docs/ and examples/ (None when this is not a git checkout)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    done = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "docs", "examples"],
                          capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


@pytest.fixture
def checkout_untouched():
    before = _tracked_changes()
    yield
    assert _tracked_changes() == before, "running an example changed files under docs/ or examples/"


def test_output_dir_default_and_given(tmp_path, monkeypatch, examples_path):
    output = _load("_output")
    monkeypatch.chdir(tmp_path)
    assert output.output_dir([]) == pathlib.Path("mathopt-figures")
    assert (tmp_path / "mathopt-figures").is_dir()
    assert output.output_dir(["--out", "a/b"]) == pathlib.Path("a/b") and (tmp_path / "a" / "b").is_dir()
    parser = output.add_out_argument(argparse.ArgumentParser())
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(["--scale", "2", "--out", str(tmp_path / "c")])
    assert output.output_dir(args) == tmp_path / "c" and (tmp_path / "c").is_dir()
    with pytest.raises(SystemExit):
        output.output_dir(["--bogus"])


def test_save_figure_prints_the_path(tmp_path, capsys, examples_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output = _load("_output")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = output.save_figure(fig, tmp_path / "new", "line.png", dpi=50)
    plt.close(fig)
    assert path == tmp_path / "new" / "line.png" and path.stat().st_size > 1000
    assert f"wrote {path}" in capsys.readouterr().out


def test_make_figures_runs_every_example():
    """Every script in examples/ (but the private modules, custom_solver and make_figures) is in the list."""
    make_figures = _load("make_figures")
    scripts = {p.stem for p in EXAMPLES.glob("*.py")} - {"custom_solver", "make_figures"}
    assert set(make_figures.EXAMPLES) == {s for s in scripts if not s.startswith("_")}
    assert all(figures and all(f.endswith(".png") for f in figures) for figures in make_figures.EXAMPLES.values())


@pytest.mark.parametrize("name", sorted(_load("make_figures").EXAMPLES))
def test_example_takes_out(name):
    """Each example parses ``--out`` through examples/_output.py and no longer names docs/figures."""
    source = (EXAMPLES / f"{name}.py").read_text()
    if name.startswith("transport_") and "_output" not in source:
        pytest.skip("examples/transport_*.py are switched to the --out convention on the transport branch")
    shared = (EXAMPLES / "_bilevel_plot.py").read_text() if name.startswith("bilevel_") else source
    assert "from _output import" in shared
    assert "docs/figures" not in shared.replace("make_figures.py --out docs/figures", "")
    assert 'with_suffix(".png")' not in source


def test_make_figures_checks_each_figure(tmp_path, monkeypatch, capsys):
    """A script that ignores --out (or fails) is reported and makes the command fail."""
    make_figures = _load("make_figures")
    (tmp_path / "good.py").write_text("import pathlib, sys\n"
                                      "out = pathlib.Path(sys.argv[sys.argv.index('--out') + 1])\n"
                                      "(out / 'good.png').write_bytes(b'png')\n")
    (tmp_path / "deaf.py").write_text("print('writes nothing')\n")
    monkeypatch.setattr(make_figures, "HERE", tmp_path)
    monkeypatch.setattr(make_figures, "EXAMPLES", {"good": ["good.png"], "deaf": ["deaf.png"]})
    out = tmp_path / "figs"
    assert make_figures.main(["--out", str(out), "good"]) == 0
    assert (out / "good.png").read_bytes() == b"png"
    assert make_figures.main(["--out", str(out)]) == 1
    assert f"deaf did not write {out / 'deaf.png'}" in capsys.readouterr().err
    assert make_figures.main(["--list"]) == 0
    listing = capsys.readouterr().out
    assert "python examples/good.py --out DIR" in listing and "bench_nlp_builtin.py --docs docs" in listing


def test_bilevel_example_command_line_writes_into_out(tmp_path, monkeypatch, capsys, examples_path,
                                                      checkout_untouched):
    """``python examples/bilevel_pbgd.py --out DIR``, the solver stubbed (no compilation): the figure lands in DIR."""
    import mathopt

    class Info:
        def __init__(self, x, y):
            self.x, self.extra = np.array([x]), {"y": np.array([y])}

    class Result:
        def __init__(self, x, y, nit):
            self.x, self.y, self.nit = np.array([x]), np.array([y]), nit
            # the driver's rule: history rows (and callback calls) for iterates 0..nit
            self.history = {"nit": np.arange(nit + 1.0), "lower_gap": np.geomspace(1.0, 1e-6, nit + 1)}

    def fake_solve(problem, method, max_iter, history, callback, **options):
        x, y = float(problem.x0[0]), float(problem.y0[0])
        callback(Info(x, y))
        for _ in range(max_iter):
            x, y = x + 0.5 * (1.2 - x), y + 0.5 * (-1.2 - y)
            callback(Info(x, y))
        return Result(x, y, max_iter)

    monkeypatch.setattr(mathopt, "solve", fake_solve)
    monkeypatch.chdir(tmp_path)
    summary = _load("bilevel_pbgd").main(["--out", "figs", "--scale", "0.01"])
    assert (tmp_path / "figs" / "bilevel_pbgd.png").stat().st_size > 20_000
    assert f"wrote {pathlib.Path('figs') / 'bilevel_pbgd.png'}" in capsys.readouterr().out
    assert summary and all(nit >= 2 for _, _, nit in summary.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figs"]


def test_metric_example_runs_into_out(tmp_path, checkout_untouched, examples_path):
    """A real example run (small size): its figure lands in the folder given, nothing else is written."""
    _load("metric_repair_digits").main(n=100, out=tmp_path / "figs")
    assert [p.name for p in (tmp_path / "figs").iterdir()] == ["metric_repair_digits.png"]
    assert (tmp_path / "figs" / "metric_repair_digits.png").stat().st_size > 20_000


def test_example_help_runs_nothing(tmp_path):
    """``--help`` of an example prints the --out option and exits before solving or writing."""
    done = subprocess.run([sys.executable, str(EXAMPLES / "metric_learning_knn.py"), "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    text = re.sub(r"-\s+", "-", done.stdout)  # argparse may wrap "mathopt-figures" at its hyphen
    assert done.returncode == 0 and "--out DIR" in text and "mathopt-figures" in text
    assert list(tmp_path.iterdir()) == []
