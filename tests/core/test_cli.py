import mathopt.cli
from mathopt.cli import main
from mathopt.core.registry import SolverSpec, list_solvers
from mathopt.core.options import CommonOptions


def _rows(text):
    """The table of ``mathopt solvers`` as dicts, cut at the header's column starts (cells may be empty)."""
    lines = text.splitlines()
    header, rule = lines[0], lines[1]
    starts = [0] + [i + 2 for i in range(len(rule) - 2) if rule[i:i + 2] == "  " and rule[i + 2] == "-"]
    names = [header[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
    return [{name: line[a:b].strip() for name, a, b in zip(names, starts, starts[1:] + [None])} for line in lines[2:]]


def test_solvers_table(capsys):
    assert main(["solvers"]) == 0
    out = capsys.readouterr().out
    assert "scipy-slsqp" in out and "scipy-trust-constr" in out and "method" in out
    rows = {row["method"]: row for row in _rows(out)}
    specs = {spec.name: spec for spec in list_solvers()}
    assert set(rows) == set(specs)
    for name, spec in specs.items():  # the default column is the registry's flag, one default per problem class
        assert rows[name]["default"] == ("yes" if spec.default else ""), name
    assert rows["scipy-slsqp"]["default"] == "yes" and rows["auglag"]["default"] == ""
    for problem in {spec.problem for spec in specs.values()}:
        assert sum(spec.default for spec in specs.values() if spec.problem is problem) <= 1, problem


def test_solvers_table_marks_the_default_of_each_problem_class(capsys, monkeypatch):
    class ProblemA:
        pass

    class ProblemB:
        pass

    def spec(name, problem, default):
        return SolverSpec(name=name, func=None, problem=problem, options=CommonOptions, summary=f"{name} solver",
                          default=default)

    specs = [spec("a-one", ProblemA, False), spec("a-two", ProblemA, True), spec("b-only", ProblemB, True),
             spec("b-other", ProblemB, False)]
    monkeypatch.setattr(mathopt.cli, "list_solvers", lambda: specs)
    assert main(["solvers"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert [(r["method"], r["problem"], r["default"]) for r in rows] == [
        ("a-one", "ProblemA", ""), ("a-two", "ProblemA", "yes"), ("b-only", "ProblemB", "yes"),
        ("b-other", "ProblemB", "")]
    assert rows[0]["summary"] == "a-one solver"


def test_show_options(capsys):
    assert main(["show-options", "scipy-trust-constr"]) == 0
    assert "gtol :" in capsys.readouterr().out
    assert main(["show-options", "nope"]) == 2
    assert "unknown method 'nope'" in capsys.readouterr().err
